//! Canned replies: saved answers agents insert by shortcut. Their `{{variables}}` are filled
//! at insertion time, from the conversation (see `concierge_domain::replies`).

use crate::audit::{self, AuditEntry};
use crate::{on_engine, on_tx, At, Store, StoreError};
use chrono::{DateTime, Utc};
use concierge_domain::access::Actor;
use concierge_domain::ids::CannedReplyId;
use concierge_domain::replies::Shortcut;
use concierge_domain::text::{Label, MessageBody};
use serde_json::json;

#[derive(Debug, Clone)]
pub struct CannedReply {
    pub id: CannedReplyId,
    pub shortcut: String,
    pub title: String,
    pub body: String,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

/// A reply to save; the body's variables are checked by the caller.
#[derive(Debug, Clone)]
pub struct NewCannedReply {
    pub shortcut: Shortcut,
    pub title: Label,
    pub body: MessageBody,
}

#[derive(sqlx::FromRow)]
struct Row {
    id: String,
    shortcut: String,
    title: String,
    body: String,
    created_at: At,
    updated_at: At,
}

impl From<Row> for CannedReply {
    fn from(r: Row) -> Self {
        CannedReply {
            id: CannedReplyId::from_trusted(r.id),
            shortcut: r.shortcut,
            title: r.title,
            body: r.body,
            created_at: r.created_at.0,
            updated_at: r.updated_at.0,
        }
    }
}

fn shortcut_taken(e: sqlx::Error) -> StoreError {
    match StoreError::from(e) {
        StoreError::Conflict { .. } => {
            StoreError::conflict("shortcut", "another canned reply has this shortcut")
        }
        other => other,
    }
}

impl Store {
    /// Saves a new canned reply, or replaces the one `id` names.
    pub async fn save_canned_reply(
        &self,
        id: Option<&CannedReplyId>,
        reply: NewCannedReply,
        actor: &Actor,
    ) -> Result<CannedReply, StoreError> {
        let now = At::now();
        let mut tx = self.begin().await?;
        // One statement either way, with the same values: the row is replaced or added.
        let (id, created_at, sql) = match id {
            Some(id) => {
                let created: Option<At> = on_tx!(read &mut tx, |conn, pg| sqlx::query_scalar(
                    "SELECT created_at FROM canned_replies WHERE id = $1"
                )
                .bind(id.as_str())
                .fetch_optional(conn)
                .await?);
                let created = created.ok_or(StoreError::NotFound("canned reply"))?;
                (
                    id.clone(),
                    created.0,
                    "UPDATE canned_replies SET shortcut = $2, title = $3, body = $4, updated_at = $5 WHERE id = $1",
                )
            }
            None => (
                CannedReplyId::generate(),
                now,
                "INSERT INTO canned_replies (id, shortcut, title, body, created_at, updated_at) VALUES ($1, $2, $3, $4, $5, $5)",
            ),
        };
        on_tx!(&mut tx, |conn, pg| sqlx::query(sql)
            .bind(id.as_str())
            .bind(reply.shortcut.as_str())
            .bind(reply.title.as_str())
            .bind(reply.body.as_str())
            .bind(At(now))
            .execute(conn)
            .await
            .map(|r| r.rows_affected())
            .map_err(shortcut_taken)?);
        audit::write(
            &mut tx,
            AuditEntry::new(
                actor,
                "canned_reply.saved",
                "canned_reply",
                id.as_str(),
                json!({ "shortcut": reply.shortcut.as_str() }),
            ),
            now,
        )
        .await?;
        tx.commit().await?;
        Ok(CannedReply {
            id,
            shortcut: reply.shortcut.into_string(),
            title: reply.title.into_string(),
            body: reply.body.into_string(),
            created_at,
            updated_at: now,
        })
    }

    /// Every canned reply, by shortcut.
    pub async fn canned_replies(&self) -> Result<Vec<CannedReply>, StoreError> {
        let rows: Vec<Row> = on_engine!(self, |pool, pg| {
            sqlx::query_as(
            "SELECT id, shortcut, title, body, created_at, updated_at FROM canned_replies ORDER BY shortcut"
        )
        .fetch_all(pool)
        .await?
        });
        Ok(rows.into_iter().map(CannedReply::from).collect())
    }

    pub async fn canned_reply(&self, id: &CannedReplyId) -> Result<CannedReply, StoreError> {
        let row: Option<Row> = on_engine!(self, |pool, pg| {
            sqlx::query_as(
            "SELECT id, shortcut, title, body, created_at, updated_at FROM canned_replies WHERE id = $1"
        )
        .bind(id.as_str())
        .fetch_optional(pool)
        .await?
        });
        row.map(CannedReply::from)
            .ok_or(StoreError::NotFound("canned reply"))
    }

    pub async fn delete_canned_reply(
        &self,
        id: &CannedReplyId,
        actor: &Actor,
    ) -> Result<(), StoreError> {
        let now = At::now();
        let mut tx = self.begin().await?;
        let n = on_tx!(&mut tx, |conn, pg| sqlx::query(
            "DELETE FROM canned_replies WHERE id = $1"
        )
        .bind(id.as_str())
        .execute(conn)
        .await?
        .rows_affected());
        if n == 0 {
            return Err(StoreError::NotFound("canned reply"));
        }
        audit::write(
            &mut tx,
            AuditEntry::new(
                actor,
                "canned_reply.deleted",
                "canned_reply",
                id.as_str(),
                json!({}),
            ),
            now,
        )
        .await?;
        tx.commit().await
    }
}
