//! Agents' browser sessions: opened after a password check, looked up by the digest of the
//! cookie's secret (the secret itself is never stored), closed by signing out.

use crate::access::{Agent, AgentRow};
use crate::args::Batch;
use crate::audit::{self, AuditEntry};
use crate::{on_engine, At, Store, StoreError};
use chrono::{DateTime, Duration, Utc};
use concierge_domain::access::Actor;
use concierge_domain::ids::{AgentId, SessionId};
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
        #[derive(sqlx::FromRow)]
        struct Row {
            session_id: String,
            csrf_token: String,
            expires_at: At,
            #[sqlx(flatten)]
            agent: AgentRow,
        }
        let row: Option<Row> = on_engine!(self, |pool, pg| {
            sqlx::query_as(
                "SELECT s.id AS session_id, s.csrf_token, s.expires_at, a.id, a.email, a.name, a.role, a.active, \
                 a.created_at FROM agent_sessions s JOIN agents a ON a.id = s.agent_id \
                 WHERE s.token_hash = $1 AND s.revoked_at IS NULL AND s.expires_at > $2 AND a.active",
            )
            .bind(digest)
            .bind(At(At::now()))
            .fetch_optional(pool)
            .await?
        });
        row.map(|r| {
            Ok(AgentSession {
                id: SessionId::from_trusted(r.session_id),
                agent: r.agent.into_agent()?,
                csrf_token: r.csrf_token,
                expires_at: r.expires_at.0,
            })
        })
        .transpose()
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

/// Two-factor sign-in (TOTP, RFC 6238) for one agent.
impl Store {
    /// Starts enrolling: keeps `secret` (base32) until a code made from it is confirmed.
    pub async fn start_totp_enrollment(
        &self,
        agent: &AgentId,
        secret: &str,
    ) -> Result<(), StoreError> {
        let tx = self.begin().await?;
        let mut batch = Batch::default();
        batch
            .add("UPDATE agents SET totp_pending = $2 WHERE id = $1")
            .text(agent.as_str())
            .text(secret);
        tx.commit_with(batch).await
    }

    /// The secret being enrolled, if any.
    pub async fn pending_totp(&self, agent: &AgentId) -> Result<Option<String>, StoreError> {
        let pending: Option<Option<String>> = on_engine!(self, |pool, pg| {
            sqlx::query_scalar("SELECT totp_pending FROM agents WHERE id = $1")
                .bind(agent.as_str())
                .fetch_optional(pool)
                .await?
        });
        Ok(pending.flatten())
    }

    /// Turns two-factor sign-in on with the enrolled secret, whose code for time step `step`
    /// was just shown, and replaces the recovery codes (their digests) in one transaction.
    pub async fn confirm_totp(
        &self,
        agent: &AgentId,
        step: i64,
        recovery_digests: &[String],
    ) -> Result<(), StoreError> {
        let now = At::now();
        let tx = self.begin().await?;
        let mut batch = Batch::default();
        batch
            .add(
                "UPDATE agents SET totp_secret = totp_pending, totp_pending = NULL, totp_last_step = $2 \
                 WHERE id = $1 AND totp_pending IS NOT NULL",
            )
            .text(agent.as_str())
            .int(step);
        batch
            .add("DELETE FROM recovery_codes WHERE agent_id = $1")
            .text(agent.as_str());
        for digest in recovery_digests {
            batch
                .add("INSERT INTO recovery_codes (agent_id, code_hash) VALUES ($1, $2)")
                .text(agent.as_str())
                .text(digest.as_str());
        }
        let actor = Actor::Agent(agent.clone());
        audit::record(
            &mut batch,
            AuditEntry::new(
                &actor,
                "agent.two_factor_enabled",
                "agent",
                agent.as_str(),
                json!({}),
            ),
            now,
        );
        tx.commit_with(batch).await
    }

    /// Accepts a TOTP code's time step once: false when a code for this step or a later one
    /// was already accepted (a replayed code).
    pub async fn accept_totp_step(&self, agent: &AgentId, step: i64) -> Result<bool, StoreError> {
        let mut tx = self.begin().await?;
        let mut batch = Batch::default();
        batch
            .add(
                "UPDATE agents SET totp_last_step = $2 \
                 WHERE id = $1 AND (totp_last_step IS NULL OR totp_last_step < $2)",
            )
            .text(agent.as_str())
            .int(step);
        let accepted = batch.run(&mut tx).await? == 1;
        tx.commit().await?;
        Ok(accepted)
    }

    /// Uses up a recovery code (by digest): false when it is not one of the agent's or was
    /// used before.
    pub async fn use_recovery_code(
        &self,
        agent: &AgentId,
        digest: &str,
    ) -> Result<bool, StoreError> {
        let now = At::now();
        let mut tx = self.begin().await?;
        let mut batch = Batch::default();
        batch
            .add(
                "UPDATE recovery_codes SET used_at = $3 \
                 WHERE agent_id = $1 AND code_hash = $2 AND used_at IS NULL",
            )
            .text(agent.as_str())
            .text(digest)
            .time(now);
        let used = batch.run(&mut tx).await? == 1;
        tx.commit().await?;
        Ok(used)
    }
}

impl Store {
    /// Changes an agent's role or active flag, or resets their two-factor sign-in.
    /// Deactivating or resetting signs every session of theirs out at once, in the same
    /// transaction.
    pub async fn update_agent(
        &self,
        id: &AgentId,
        role: Option<concierge_domain::access::Role>,
        active: Option<bool>,
        reset_two_factor: bool,
        actor: &Actor,
    ) -> Result<crate::access::Agent, StoreError> {
        let now = At::now();
        let mut tx = self.begin().await?;
        let mut batch = Batch::default();
        batch
            .add(
                "UPDATE agents SET role = coalesce($2, role), active = coalesce($3, active), updated_at = $4 \
                 WHERE id = $1",
            )
            .text(id.as_str())
            .opt_text(role.map(|r| r.as_str()))
            .opt_bool(active)
            .time(now);
        if batch.run(&mut tx).await? == 0 {
            return Err(StoreError::NotFound("agent"));
        }
        let mut batch = Batch::default();
        if reset_two_factor {
            batch
                .add(
                    "UPDATE agents SET totp_secret = NULL, totp_pending = NULL, totp_last_step = NULL WHERE id = $1",
                )
                .text(id.as_str());
            batch
                .add("DELETE FROM recovery_codes WHERE agent_id = $1")
                .text(id.as_str());
        }
        if active == Some(false) || reset_two_factor {
            batch
                .add(
                    "UPDATE agent_sessions SET revoked_at = $2 WHERE agent_id = $1 AND revoked_at IS NULL",
                )
                .text(id.as_str())
                .time(now);
        }
        audit::record(
            &mut batch,
            AuditEntry::new(
                actor,
                "agent.updated",
                "agent",
                id.as_str(),
                json!({ "role": role.map(|r| r.as_str()), "active": active, "reset_two_factor": reset_two_factor }),
            ),
            now,
        );
        tx.commit_with(batch).await?;
        self.agent(id).await
    }
}
