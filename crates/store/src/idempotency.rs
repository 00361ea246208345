//! Requests made again under the same `Idempotency-Key`: the first answer is kept for a day,
//! so a client that lost it and asks again gets it again instead of a second conversation.
//!
//! A key is claimed before its request runs, in its own row: a second request with the key
//! while the first runs is told so rather than run twice, and a first request cut off
//! before its answer was kept leaves the key claimed (refusing a retry, never repeating the
//! work) until it expires.

use crate::args::Batch;
use crate::{on_tx, At, Store, StoreError};
use chrono::Duration;

/// How long a key and its answer are kept.
pub const KEEP: Duration = Duration::hours(24);

/// What a claimed key found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Claimed {
    /// The key is new: run the request, then [`Store::keep_idempotent_answer`].
    New,
    /// The same request ran before: this was its answer.
    Answered(KeptAnswer),
    /// The key was used for a different request.
    OtherRequest,
    /// The request with this key has not finished (or was cut off before its answer was
    /// kept).
    Running,
}

/// An answer kept for a key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KeptAnswer {
    pub status: u16,
    pub content_type: Option<String>,
    pub body: String,
}

impl Store {
    /// Claims `key` for a request (`fingerprint`: a digest of what it asks) by the caller
    /// `scope` (a digest of its credential: keys of different callers never meet).
    pub async fn claim_idempotency_key(
        &self,
        scope: &str,
        key: &str,
        fingerprint: &str,
    ) -> Result<Claimed, StoreError> {
        let now = At::now();
        let mut tx = self.begin().await?;
        on_tx!(&mut tx, |conn, pg| sqlx::query(
            "DELETE FROM idempotency_keys WHERE created_at < $1"
        )
        .bind(At(now - KEEP))
        .execute(conn)
        .await?
        .rows_affected());
        let inserted = on_tx!(&mut tx, |conn, pg| sqlx::query(
            "INSERT INTO idempotency_keys (scope_digest, key, fingerprint, created_at) \
             VALUES ($1, $2, $3, $4) ON CONFLICT (scope_digest, key) DO NOTHING"
        )
        .bind(scope)
        .bind(key)
        .bind(fingerprint)
        .bind(At(now))
        .execute(conn)
        .await?
        .rows_affected());
        let claimed = if inserted == 1 {
            Claimed::New
        } else {
            let (kept_fingerprint, status, content_type, body): (
                String,
                Option<i64>,
                Option<String>,
                Option<String>,
            ) = on_tx!(&mut tx, |conn, pg| sqlx::query_as(
                "SELECT fingerprint, status, content_type, body FROM idempotency_keys \
                 WHERE scope_digest = $1 AND key = $2"
            )
            .bind(scope)
            .bind(key)
            .fetch_one(conn)
            .await?);
            match (status, body) {
                _ if kept_fingerprint != fingerprint => Claimed::OtherRequest,
                (Some(status), Some(body)) => Claimed::Answered(KeptAnswer {
                    status: u16::try_from(status).map_err(StoreError::corrupt)?,
                    content_type,
                    body,
                }),
                _ => Claimed::Running,
            }
        };
        tx.commit_with(Batch::default()).await?;
        Ok(claimed)
    }

    /// Keeps the answer to the request that claimed `key`.
    pub async fn keep_idempotent_answer(
        &self,
        scope: &str,
        key: &str,
        answer: &KeptAnswer,
    ) -> Result<(), StoreError> {
        let tx = self.begin().await?;
        let mut batch = Batch::default();
        batch
            .add(
                "UPDATE idempotency_keys SET status = $3, content_type = $4, body = $5 \
                 WHERE scope_digest = $1 AND key = $2",
            )
            .text(scope)
            .text(key)
            .int(i64::from(answer.status))
            .opt_text(answer.content_type.as_deref())
            .text(answer.body.as_str());
        tx.commit_with(batch).await
    }

    /// Gives a key back: its request failed in a way worth trying again (the service was
    /// unavailable), so a retry runs it afresh.
    pub async fn release_idempotency_key(&self, scope: &str, key: &str) -> Result<(), StoreError> {
        let tx = self.begin().await?;
        let mut batch = Batch::default();
        batch
            .add("DELETE FROM idempotency_keys WHERE scope_digest = $1 AND key = $2")
            .text(scope)
            .text(key);
        tx.commit_with(batch).await
    }
}
