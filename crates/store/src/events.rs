//! The live event log: every change an open inbox or conversation view must see (a new
//! message, a status or assignment change), written in the same transaction as the change and
//! numbered in commit order, so a browser that lost its socket resumes after the last number
//! it saw and misses nothing.
//!
//! After a command that wrote events commits, the store bumps a counter that subscribers
//! watch ([`Store::event_signal`]); on PostgreSQL, other instances learn of commits through
//! `NOTIFY concierge_events`.

use crate::args::Batch;
use crate::{on_engine, At, Store, StoreError};
use chrono::{DateTime, Utc};
use concierge_domain::conversation::{ConversationStatus, EventKind};
use concierge_domain::ids::ConversationId;
use sqlx::types::Json;
use std::sync::Arc;
use tokio::sync::watch;

/// The PostgreSQL channel commits are announced on.
const CHANNEL: &str = "concierge_events";
/// The advisory lock event writers take on PostgreSQL, so sequence numbers become visible in
/// the order they were drawn (otherwise a reader could see 11 commit before 10 and skip 10).
const ORDER_LOCK: i64 = 0x636f_6e63_6965_7267;

/// One change, as numbered in the log.
#[derive(Debug, Clone)]
pub struct Event {
    pub seq: i64,
    pub kind: EventKind,
    pub conversation_id: ConversationId,
    pub data: serde_json::Value,
    pub created_at: DateTime<Utc>,
}

impl Event {
    /// Whether the event added or changed messages.
    pub fn touches_messages(&self) -> bool {
        self.kind.touches_messages()
    }

    /// The conversation's status after the event, when the event records the conversation's
    /// state (as `conversation.created`, `message.created` and most updates do).
    pub fn status(&self) -> Option<ConversationStatus> {
        self.data["status"]
            .as_str()
            .and_then(|s| ConversationStatus::parse(s).ok())
    }
}

#[derive(sqlx::FromRow)]
struct EventRow {
    seq: i64,
    kind: String,
    conversation_id: String,
    data: Json<serde_json::Value>,
    created_at: At,
}

/// The process's view of how far the log has grown; subscribers wait on it.
pub(crate) struct Signal {
    tx: watch::Sender<u64>,
    listening: tokio::sync::OnceCell<()>,
}

impl Default for Signal {
    fn default() -> Self {
        Signal {
            tx: watch::channel(0).0,
            listening: Default::default(),
        }
    }
}

impl Signal {
    fn bump(&self) {
        self.tx.send_modify(|n| *n = n.wrapping_add(1));
    }
}

/// Adds an event to a command's writes. Call it after the command's other statements: on
/// PostgreSQL it takes the ordering lock, which is held until the commit.
pub(crate) fn record(
    batch: &mut Batch,
    pg: bool,
    kind: EventKind,
    conversation_id: &ConversationId,
    data: serde_json::Value,
    now: DateTime<Utc>,
) {
    if pg {
        batch
            .add("SELECT pg_advisory_xact_lock($1)")
            .int(ORDER_LOCK);
    }
    batch
        .add("INSERT INTO events (kind, conversation_id, data, created_at) VALUES ($1, $2, $3, $4)")
        .text(kind.as_str())
        .text(conversation_id.as_str())
        .json(data)
        .time(now);
    if pg {
        batch.add("SELECT pg_notify($1, '')").text(CHANNEL);
    }
}

impl Store {
    /// Tells subscribers in this process that events were committed.
    pub(crate) fn events_committed(&self) {
        self.signal.bump();
    }

    /// A receiver that changes whenever events may have been committed — by this process, or
    /// on PostgreSQL by any instance. Read [`Store::events_after`] when it does.
    pub async fn event_signal(&self) -> Result<watch::Receiver<u64>, StoreError> {
        if let crate::Engine::Postgres(pool) = &self.engine {
            let pool = pool.clone();
            let signal = Arc::clone(&self.signal);
            self.signal
                .listening
                .get_or_try_init(|| async move {
                    let mut listener = sqlx::postgres::PgListener::connect_with(&pool).await?;
                    listener.listen(CHANNEL).await?;
                    tokio::spawn(async move {
                        loop {
                            // `recv` reconnects by itself after a dropped connection; what was
                            // missed meanwhile is read from the log on the next bump.
                            match listener.recv().await {
                                Ok(_) => signal.bump(),
                                Err(e) => {
                                    tracing::warn!(error = %e, "event listener failed; retrying");
                                    signal.bump();
                                    tokio::time::sleep(std::time::Duration::from_secs(1)).await;
                                }
                            }
                        }
                    });
                    Ok::<(), StoreError>(())
                })
                .await?;
        }
        Ok(self.signal.tx.subscribe())
    }

    /// Events numbered after `after`, oldest first, at most `limit`.
    pub async fn events_after(&self, after: i64, limit: u32) -> Result<Vec<Event>, StoreError> {
        let rows: Vec<EventRow> = on_engine!(self, |pool, pg| {
            sqlx::query_as(
            "SELECT seq, kind, conversation_id, data, created_at FROM events WHERE seq > $1 ORDER BY seq LIMIT $2"
        )
        .bind(after)
        .bind(i64::from(limit))
        .fetch_all(pool)
        .await?
        });
        rows.into_iter()
            .map(|r| {
                Ok(Event {
                    seq: r.seq,
                    kind: EventKind::parse(&r.kind).map_err(StoreError::corrupt)?,
                    conversation_id: ConversationId::from_trusted(r.conversation_id),
                    data: r.data.0,
                    created_at: r.created_at.0,
                })
            })
            .collect()
    }

    /// Deletes events older than `before`: a view that missed that much reloads anyway.
    /// Returns how many went.
    pub async fn prune_events(&self, before: DateTime<Utc>) -> Result<u64, StoreError> {
        let mut tx = self.begin().await?;
        let n = crate::on_tx!(&mut tx, |conn, pg| sqlx::query(
            "DELETE FROM events WHERE created_at < $1"
        )
        .bind(At(before))
        .execute(conn)
        .await?
        .rows_affected());
        tx.commit().await?;
        Ok(n)
    }

    /// The number of the newest event, or 0 when there is none.
    pub async fn last_event_seq(&self) -> Result<i64, StoreError> {
        Ok(on_engine!(self, |pool, pg| sqlx::query_scalar(
            "SELECT coalesce(max(seq), 0) FROM events"
        )
        .fetch_one(pool)
        .await?))
    }
}
