//! Agents, teams and API tokens. Passwords arrive here already hashed (argon2id, by the
//! caller); API tokens are stored as SHA-256 digests, so a database leak reveals no token.

use crate::args::Batch;
use crate::audit::{self, AuditEntry};
use crate::{on_engine, on_tx, At, Cursor, Page, PageRequest, Store, StoreError};
use chrono::{DateTime, Duration, Utc};
use concierge_domain::access::{Actor, Role};
use concierge_domain::contact::EmailAddress;
use concierge_domain::ids::{AgentId, TeamId, TokenId};
use concierge_domain::text::{Label, PersonName};
use serde_json::json;
use sha2::{Digest, Sha256};
use std::collections::HashMap;
use std::sync::Mutex;
use std::time::Instant;

/// What signing in checks for one agent.
#[derive(Debug, Clone)]
pub struct Credentials {
    pub agent: Agent,
    /// An argon2id PHC string.
    pub password_hash: String,
    /// The confirmed TOTP secret (base32), when two-factor sign-in is on.
    pub totp_secret: Option<String>,
}

#[derive(Debug, Clone)]
pub struct Agent {
    pub id: AgentId,
    pub email: String,
    pub name: String,
    pub role: Role,
    pub active: bool,
    pub created_at: DateTime<Utc>,
}

#[derive(Debug, Clone)]
pub struct NewAgent {
    pub email: EmailAddress,
    pub name: PersonName,
    pub role: Role,
    /// An argon2id PHC string.
    pub password_hash: String,
}

#[derive(Debug, Clone)]
pub struct Team {
    pub id: TeamId,
    pub name: String,
    pub created_at: DateTime<Utc>,
}

#[derive(Debug, Clone)]
pub struct ApiToken {
    pub id: TokenId,
    pub name: String,
    pub role: Role,
    /// The first characters of the token, to tell tokens apart in lists.
    pub prefix: String,
    pub created_at: DateTime<Utc>,
    pub last_used_at: Option<DateTime<Utc>>,
    pub revoked_at: Option<DateTime<Utc>>,
}

#[derive(sqlx::FromRow)]
pub(crate) struct AgentRow {
    id: String,
    email: String,
    name: String,
    role: String,
    active: bool,
    created_at: At,
}

impl AgentRow {
    pub(crate) fn into_agent(self) -> Result<Agent, StoreError> {
        Ok(Agent {
            id: AgentId::from_trusted(self.id),
            email: self.email,
            name: self.name,
            role: Role::parse(&self.role).map_err(StoreError::corrupt)?,
            active: self.active,
            created_at: self.created_at.0,
        })
    }
}

#[derive(sqlx::FromRow)]
struct TokenRow {
    id: String,
    name: String,
    role: String,
    token_prefix: String,
    token_hash: String,
    created_at: At,
    last_used_at: Option<At>,
    revoked_at: Option<At>,
}

impl TokenRow {
    fn into_token(self) -> Result<ApiToken, StoreError> {
        Ok(ApiToken {
            id: TokenId::from_trusted(self.id),
            name: self.name,
            role: Role::parse(&self.role).map_err(StoreError::corrupt)?,
            prefix: self.token_prefix,
            created_at: self.created_at.0,
            last_used_at: self.last_used_at.map(|t| t.0),
            revoked_at: self.revoked_at.map(|t| t.0),
        })
    }
}

const TOKEN_COLUMNS: &str =
    "id, name, role, token_prefix, token_hash, created_at, last_used_at, revoked_at";

/// The digest a token is stored and looked up by.
pub fn token_digest(secret: &str) -> String {
    hex::encode(Sha256::digest(secret.as_bytes()))
}

/// How often `last_used_at` is refreshed: writing it on every request would turn every read
/// into a write.
fn last_used_resolution() -> Duration {
    Duration::minutes(1)
}

/// How long a verified token is trusted without asking the database again. A token revoked
/// through this process is forgotten at once; one revoked by another instance sharing the
/// PostgreSQL database is refused here within this time.
pub const TOKEN_CACHE_TTL: std::time::Duration = std::time::Duration::from_secs(5);

/// Recently verified tokens by digest, so an API request costs no database read for its
/// token. Only tokens that exist are kept, so guesses cannot grow it.
#[derive(Default)]
pub(crate) struct TokenCache(Mutex<HashMap<String, (ApiToken, String, Instant)>>);

impl TokenCache {
    fn get(&self, digest: &str) -> Option<(ApiToken, String)> {
        let map = self.0.lock().unwrap_or_else(|e| e.into_inner());
        map.get(digest)
            .filter(|(_, _, at)| at.elapsed() < TOKEN_CACHE_TTL)
            .map(|(t, stored, _)| (t.clone(), stored.clone()))
    }

    fn put(&self, digest: &str, token: &ApiToken, stored: &str) {
        let mut map = self.0.lock().unwrap_or_else(|e| e.into_inner());
        map.insert(
            digest.to_owned(),
            (token.clone(), stored.to_owned(), Instant::now()),
        );
    }

    fn forget(&self, id: &TokenId) {
        let mut map = self.0.lock().unwrap_or_else(|e| e.into_inner());
        map.retain(|_, (t, _, _)| &t.id != id);
    }
}

impl Store {
    pub async fn create_agent(&self, new: NewAgent, actor: &Actor) -> Result<Agent, StoreError> {
        let now = At::now();
        let mut tx = self.begin().await?;
        let id = AgentId::generate();
        let email = new.email.as_str().to_lowercase();
        let result = on_tx!(&mut tx, |conn, pg| {
            sqlx::query(
                "INSERT INTO agents (id, email, name, role, password_hash, active, created_at, updated_at) VALUES ($1, $2, $3, $4, $5, TRUE, $6, $6)",
            )
            .bind(id.as_str())
            .bind(&email)
            .bind(new.name.as_str())
            .bind(new.role.as_str())
            .bind(&new.password_hash)
            .bind(At(now))
            .execute(conn)
            .await.map(|r| r.rows_affected())
        });
        match result.map_err(StoreError::from) {
            Err(StoreError::Conflict { .. }) => {
                return Err(StoreError::conflict(
                    "email",
                    "an agent with this email already exists",
                ))
            }
            other => other?,
        };
        audit::write(
            &mut tx,
            AuditEntry::new(
                actor,
                "agent.created",
                "agent",
                id.as_str(),
                json!({ "email": email, "role": new.role.as_str() }),
            ),
            now,
        )
        .await?;
        tx.commit().await?;
        Ok(Agent {
            id,
            email,
            name: new.name.into_string(),
            role: new.role,
            active: true,
            created_at: now,
        })
    }

    pub async fn agents(&self) -> Result<Vec<Agent>, StoreError> {
        let rows: Vec<AgentRow> = on_engine!(self, |pool, pg| {
            sqlx::query_as(
                "SELECT id, email, name, role, active, created_at FROM agents ORDER BY name, id",
            )
            .fetch_all(pool)
            .await?
        });
        rows.into_iter().map(AgentRow::into_agent).collect()
    }

    /// Marks an agent as online now (the workspace is open): see
    /// [`Store::chat_staffing`].
    pub async fn agent_seen(&self, id: &AgentId) -> Result<(), StoreError> {
        let tx = self.begin().await?;
        let mut batch = Batch::default();
        batch
            .add("UPDATE agents SET seen_at = $2 WHERE id = $1")
            .text(id.as_str())
            .time(At::now());
        tx.commit_with(batch).await
    }

    pub async fn agent(&self, id: &AgentId) -> Result<Agent, StoreError> {
        let row: Option<AgentRow> = on_engine!(self, |pool, pg| {
            sqlx::query_as(
                "SELECT id, email, name, role, active, created_at FROM agents WHERE id = $1",
            )
            .bind(id.as_str())
            .fetch_optional(pool)
            .await?
        });
        row.ok_or(StoreError::NotFound("agent"))?.into_agent()
    }

    /// What signing in as an agent checks: their password hash and, when two-factor sign-in
    /// is on, their TOTP secret.
    pub async fn agent_credentials(
        &self,
        email: &EmailAddress,
    ) -> Result<Option<Credentials>, StoreError> {
        #[derive(sqlx::FromRow)]
        struct Row {
            #[sqlx(flatten)]
            agent: AgentRow,
            password_hash: String,
            totp_secret: Option<String>,
        }
        let row: Option<Row> = on_engine!(self, |pool, pg| {
            sqlx::query_as(
                "SELECT id, email, name, role, active, created_at, password_hash, totp_secret FROM agents WHERE email = $1",
            )
            .bind(email.as_str().to_lowercase())
            .fetch_optional(pool)
            .await?
        });
        row.map(|r| {
            Ok(Credentials {
                agent: r.agent.into_agent()?,
                password_hash: r.password_hash,
                totp_secret: r.totp_secret,
            })
        })
        .transpose()
    }

    pub async fn create_team(&self, name: &Label, actor: &Actor) -> Result<Team, StoreError> {
        let now = At::now();
        let mut tx = self.begin().await?;
        let id = TeamId::generate();
        let result = on_tx!(&mut tx, |conn, pg| {
            sqlx::query("INSERT INTO teams (id, name, created_at) VALUES ($1, $2, $3)")
                .bind(id.as_str())
                .bind(name.as_str())
                .bind(At(now))
                .execute(conn)
                .await
                .map(|r| r.rows_affected())
        });
        match result.map_err(StoreError::from) {
            Err(StoreError::Conflict { .. }) => {
                return Err(StoreError::conflict(
                    "name",
                    "a team with this name already exists",
                ))
            }
            other => other?,
        };
        audit::write(
            &mut tx,
            AuditEntry::new(
                actor,
                "team.created",
                "team",
                id.as_str(),
                json!({ "name": name.as_str() }),
            ),
            now,
        )
        .await?;
        tx.commit().await?;
        Ok(Team {
            id,
            name: name.as_str().to_owned(),
            created_at: now,
        })
    }

    pub async fn teams(&self) -> Result<Vec<Team>, StoreError> {
        let rows: Vec<(String, String, At)> = on_engine!(self, |pool, pg| sqlx::query_as(
            "SELECT id, name, created_at FROM teams ORDER BY name"
        )
        .fetch_all(pool)
        .await?);
        Ok(rows
            .into_iter()
            .map(|(id, name, at)| Team {
                id: TeamId::from_trusted(id),
                name,
                created_at: at.0,
            })
            .collect())
    }

    /// Stores a new API token by its digest. The caller generated `secret` and shows it once.
    pub async fn create_token(
        &self,
        name: &Label,
        role: Role,
        secret: &str,
        actor: &Actor,
    ) -> Result<ApiToken, StoreError> {
        let now = At::now();
        let mut tx = self.begin().await?;
        let id = TokenId::generate();
        let prefix: String = secret.chars().take(8).collect();
        on_tx!(&mut tx, |conn, pg| {
            sqlx::query(
                "INSERT INTO api_tokens (id, name, role, token_hash, token_prefix, created_at) VALUES ($1, $2, $3, $4, $5, $6)",
            )
            .bind(id.as_str())
            .bind(name.as_str())
            .bind(role.as_str())
            .bind(token_digest(secret))
            .bind(&prefix)
            .bind(At(now))
            .execute(conn)
            .await?.rows_affected()
        });
        audit::write(
            &mut tx,
            AuditEntry::new(
                actor,
                "token.created",
                "token",
                id.as_str(),
                json!({ "name": name.as_str(), "role": role.as_str() }),
            ),
            now,
        )
        .await?;
        tx.commit().await?;
        Ok(ApiToken {
            id,
            name: name.as_str().to_owned(),
            role,
            prefix,
            created_at: now,
            last_used_at: None,
            revoked_at: None,
        })
    }

    /// The live token whose digest is `digest`, and the stored digest itself so the caller can
    /// compare it in constant time. Refreshes `last_used_at` at most once a minute.
    pub async fn token_by_digest(
        &self,
        digest: &str,
    ) -> Result<Option<(ApiToken, String)>, StoreError> {
        let sql = format!(
            "SELECT {TOKEN_COLUMNS} FROM api_tokens WHERE token_hash = $1 AND revoked_at IS NULL"
        );
        if let Some(hit) = self.tokens.get(digest) {
            return Ok(Some(hit));
        }
        let row: Option<TokenRow> = on_engine!(self, |pool, pg| sqlx::query_as(&sql)
            .bind(digest)
            .fetch_optional(pool)
            .await?);
        let Some(row) = row else { return Ok(None) };
        let stored = row.token_hash.clone();
        let token = row.into_token()?;
        let now = At::now();
        if token
            .last_used_at
            .is_none_or(|t| now - t > last_used_resolution())
        {
            let mut tx = self.begin().await?;
            on_tx!(&mut tx, |conn, pg| {
                sqlx::query("UPDATE api_tokens SET last_used_at = $2 WHERE id = $1")
                    .bind(token.id.as_str())
                    .bind(At(now))
                    .execute(conn)
                    .await?
                    .rows_affected()
            });
            tx.commit().await?;
        }
        self.tokens.put(digest, &token, &stored);
        Ok(Some((token, stored)))
    }

    pub async fn tokens(&self, page: &PageRequest) -> Result<Page<ApiToken>, StoreError> {
        let limit = page.limit();
        let after = match &page.cursor {
            Some(Cursor::AfterId(id)) => Some(id.clone()),
            _ => None,
        };
        let sql = format!("SELECT {TOKEN_COLUMNS} FROM api_tokens WHERE ($1 IS NULL OR id < $1) ORDER BY id DESC LIMIT $2");
        let rows: Vec<TokenRow> = on_engine!(self, |pool, pg| {
            sqlx::query_as(&sql)
                .bind(after.as_deref())
                .bind(i64::from(limit) + 1)
                .fetch_all(pool)
                .await?
        });
        let items = rows
            .into_iter()
            .map(TokenRow::into_token)
            .collect::<Result<Vec<_>, _>>()?;
        Ok(Page::from_rows(items, limit, |t: &ApiToken| {
            Cursor::AfterId(t.id.to_string())
        }))
    }

    /// Revokes a token; it stops working at once. Revoking twice is harmless.
    pub async fn revoke_token(&self, id: &TokenId, actor: &Actor) -> Result<(), StoreError> {
        let now = At::now();
        let mut tx = self.begin().await?;
        let n = on_tx!(&mut tx, |conn, pg| {
            sqlx::query("UPDATE api_tokens SET revoked_at = coalesce(revoked_at, $2) WHERE id = $1")
                .bind(id.as_str())
                .bind(At(now))
                .execute(conn)
                .await?
                .rows_affected()
        });
        if n == 0 {
            return Err(StoreError::NotFound("token"));
        }
        audit::write(
            &mut tx,
            AuditEntry::new(actor, "token.revoked", "token", id.as_str(), json!({})),
            now,
        )
        .await?;
        tx.commit().await?;
        self.tokens.forget(id);
        Ok(())
    }

    /// How many agents exist (the demo seeder and first-run checks use it).
    pub async fn agent_count(&self) -> Result<i64, StoreError> {
        Ok(on_engine!(self, |pool, pg| sqlx::query_scalar(
            "SELECT count(*) FROM agents"
        )
        .fetch_one(pool)
        .await?))
    }

    /// Whether the database holds no conversations, orders or customers yet.
    pub async fn is_empty(&self) -> Result<bool, StoreError> {
        let n: i64 = on_engine!(self, |pool, pg| {
            sqlx::query_scalar("SELECT (SELECT count(*) FROM customers) + (SELECT count(*) FROM conversations) + (SELECT count(*) FROM orders)")
                .fetch_one(pool)
                .await?
        });
        Ok(n == 0)
    }
}
