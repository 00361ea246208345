//! Agents' browser sessions: opened after a password check, looked up by the digest of the
//! cookie's secret (the secret itself is never stored), closed by signing out.

use crate::access::{Agent, AgentRow};
use crate::args::Batch;
use crate::audit::{self, AuditEntry};
use crate::{on_engine, At, Store, StoreError};
use chrono::{DateTime, Duration, Utc};
use concierge_domain::access::Actor;
use concierge_domain::ids::SessionId;
use serde_json::json;

/// A live session and the agent it is for.
#[derive(Debug, Clone)]
pub struct AgentSession {
    pub id: SessionId,
    pub agent: Agent,
    /// Must accompany every write made with the session's cookie (`X-CSRF-Token`).
    pub csrf_token: String,
    pub expires_at: DateTime<Utc>,
}

impl Store {
    /// Opens a session for an agent who has just proved who they are. `digest` is the digest
    /// of the cookie's secret ([`crate::access::token_digest`]).
    pub async fn open_session(
        &self,
        agent: &Agent,
        digest: &str,
        csrf_token: &str,
        lifetime: Duration,
    ) -> Result<AgentSession, StoreError> {
        let now = At::now();
        let id = SessionId::generate();
        let expires_at = now + lifetime;
        let tx = self.begin().await?;
        let mut batch = Batch::default();
        batch
            .add(
                "INSERT INTO agent_sessions (id, token_hash, agent_id, csrf_token, created_at, expires_at) \
                 VALUES ($1, $2, $3, $4, $5, $6)",
            )
            .text(id.as_str())
            .text(digest)
            .text(agent.id.as_str())
            .text(csrf_token)
            .time(now)
            .time(expires_at);
        let actor = Actor::Agent(agent.id.clone());
        audit::record(
            &mut batch,
            AuditEntry::new(&actor, "agent.signed_in", "session", id.as_str(), json!({})),
            now,
        );
        tx.commit_with(batch).await?;
        Ok(AgentSession {
            id,
            agent: agent.clone(),
            csrf_token: csrf_token.to_owned(),
            expires_at,
        })
    }

    /// The live session behind a cookie secret's digest: not signed out, not expired, and
    /// for an agent who is still active.
    pub async fn session_by_digest(
        &self,
        digest: &str,
    ) -> Result<Option<AgentSession>, StoreError> {
        type Row = (String, String, At, String, String, String, String, bool, At);
        let row: Option<Row> = on_engine!(self, |pool, pg| {
            sqlx::query_as(
                "SELECT s.id, s.csrf_token, s.expires_at, a.id, a.email, a.name, a.role, a.active, a.created_at \
                 FROM agent_sessions s JOIN agents a ON a.id = s.agent_id \
                 WHERE s.token_hash = $1 AND s.revoked_at IS NULL AND s.expires_at > $2 AND a.active",
            )
            .bind(digest)
            .bind(At(At::now()))
            .fetch_optional(pool)
            .await?
        });
        let Some((id, csrf_token, expires_at, agent_id, email, name, role, active, created_at)) =
            row
        else {
            return Ok(None);
        };
        let agent = AgentRow {
            id: agent_id,
            email,
            name,
            role,
            active,
            created_at,
        }
        .into_agent()?;
        Ok(Some(AgentSession {
            id: SessionId::from_trusted(id),
            agent,
            csrf_token,
            expires_at: expires_at.0,
        }))
    }

    /// Signs a session out; its cookie is refused from now on.
    pub async fn close_session(&self, session: &AgentSession) -> Result<(), StoreError> {
        let now = At::now();
        let tx = self.begin().await?;
        let mut batch = Batch::default();
        batch
            .add("UPDATE agent_sessions SET revoked_at = coalesce(revoked_at, $2) WHERE id = $1")
            .text(session.id.as_str())
            .time(now);
        let actor = Actor::Agent(session.agent.id.clone());
        audit::record(
            &mut batch,
            AuditEntry::new(
                &actor,
                "agent.signed_out",
                "session",
                session.id.as_str(),
                json!({}),
            ),
            now,
        );
        tx.commit_with(batch).await
    }
}
