//! The shop's own wording for the chat assistant's replies. The store keeps only what the
//! shop changed, by reply key; which keys exist, our wording and the variables each reply may
//! use belong to the assistant (`concierge_assistant::words`), which checks a template before
//! it is stored here.

use crate::args::Batch;
use crate::{on_engine, At, Store, StoreError};
use chrono::{DateTime, Utc};
use concierge_domain::access::Actor;
use serde_json::json;

/// The shop's wording for one of the assistant's replies.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AssistantReply {
    /// The reply's key, e.g. `handover.asked`.
    pub key: String,
    /// The text with its `{{variables}}`, as the shop wrote it.
    pub template: String,
    pub updated_at: DateTime<Utc>,
}

impl Store {
    /// The shop's wording for every reply it changed, by key.
    pub async fn assistant_replies(&self) -> Result<Vec<AssistantReply>, StoreError> {
        let rows: Vec<(String, String, At)> = on_engine!(self, |pool, pg| sqlx::query_as(
            "SELECT key, template, updated_at FROM assistant_replies ORDER BY key"
        )
        .fetch_all(pool)
        .await?);
        Ok(rows
            .into_iter()
            .map(|(key, template, at)| AssistantReply {
                key,
                template,
                updated_at: at.0,
            })
            .collect())
    }

    /// Sets the shop's wording for one reply (a checked template), audited.
    pub async fn set_assistant_reply(
        &self,
        key: &str,
        template: &str,
        actor: &Actor,
    ) -> Result<AssistantReply, StoreError> {
        let now = At::now();
        let tx = self.begin().await?;
        let mut batch = Batch::default();
        batch
            .add(
                "INSERT INTO assistant_replies (key, template, updated_at) VALUES ($1, $2, $3) \
                 ON CONFLICT (key) DO UPDATE SET template = excluded.template, updated_at = excluded.updated_at",
            )
            .text(key)
            .text(template)
            .time(now);
        audit(&mut batch, actor, "assistant_reply.updated", key, now);
        tx.commit_with(batch).await?;
        Ok(AssistantReply {
            key: key.to_owned(),
            template: template.to_owned(),
            updated_at: now,
        })
    }

    /// Goes back to our wording for one reply, audited; nothing to undo is no error.
    pub async fn reset_assistant_reply(&self, key: &str, actor: &Actor) -> Result<(), StoreError> {
        let now = At::now();
        let tx = self.begin().await?;
        let mut batch = Batch::default();
        batch
            .add("DELETE FROM assistant_replies WHERE key = $1")
            .text(key);
        audit(&mut batch, actor, "assistant_reply.reset", key, now);
        tx.commit_with(batch).await
    }
}

fn audit(batch: &mut Batch, actor: &Actor, action: &'static str, key: &str, now: DateTime<Utc>) {
    crate::audit::record(
        batch,
        crate::audit::AuditEntry::new(actor, action, "assistant_reply", key, json!({})),
        now,
    );
}
