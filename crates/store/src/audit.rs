//! The audit log: who did what to which record, written in the same transaction as the
//! change itself so the log and the data never disagree.

use crate::args::{bind_args, Args, Batch};
use crate::{on_engine, At, Cursor, Page, PageRequest, Store, StoreError, Tx};
use chrono::{DateTime, Utc};
use concierge_domain::access::Actor;
use concierge_domain::ids::AuditId;
use sqlx::types::Json;

/// One action to record.
pub struct AuditEntry<'a> {
    pub actor: &'a Actor,
    pub action: &'static str,
    pub subject_type: &'static str,
    pub subject_id: &'a str,
    pub details: serde_json::Value,
}

impl<'a> AuditEntry<'a> {
    pub fn new(
        actor: &'a Actor,
        action: &'static str,
        subject_type: &'static str,
        subject_id: &'a str,
        details: serde_json::Value,
    ) -> Self {
        AuditEntry {
            actor,
            action,
            subject_type,
            subject_id,
            details,
        }
    }
}

/// A recorded action.
#[derive(Debug, Clone)]
pub struct AuditRecord {
    pub id: String,
    pub actor_type: String,
    pub actor_id: Option<String>,
    pub action: String,
    pub subject_type: String,
    pub subject_id: Option<String>,
    pub details: serde_json::Value,
    pub created_at: DateTime<Utc>,
}

#[derive(sqlx::FromRow)]
struct AuditRow {
    id: String,
    actor_type: String,
    actor_id: Option<String>,
    action: String,
    subject_type: String,
    subject_id: Option<String>,
    details: Json<serde_json::Value>,
    created_at: At,
}

pub(crate) fn record(batch: &mut Batch, e: AuditEntry<'_>, now: DateTime<Utc>) {
    batch
        .add(
            "INSERT INTO audit_log (id, actor_type, actor_id, action, subject_type, subject_id, details, created_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
        )
        .text(AuditId::generate().into_string())
        .text(e.actor.kind())
        .opt_text(e.actor.id())
        .text(e.action)
        .text(e.subject_type)
        .text(e.subject_id)
        .json(e.details)
        .time(now);
}

/// Records an entry on its own, for commands whose other writes need answers one by one.
pub(crate) async fn write(
    tx: &mut Tx,
    e: AuditEntry<'_>,
    now: DateTime<Utc>,
) -> Result<(), StoreError> {
    let mut batch = Batch::default();
    record(&mut batch, e, now);
    batch.run(tx).await.map(drop)
}

impl Store {
    /// Records an action outside any other write (sign-ins, token use by the CLI).
    pub async fn audit(&self, entry: AuditEntry<'_>) -> Result<(), StoreError> {
        let mut tx = self.begin().await?;
        write(&mut tx, entry, At::now()).await?;
        tx.commit().await
    }

    /// The audit log, newest first, optionally for one subject.
    pub async fn audit_log(
        &self,
        subject: Option<(&str, &str)>,
        page: &PageRequest,
    ) -> Result<Page<AuditRecord>, StoreError> {
        let limit = page.limit();
        let mut args = Args::default();
        let mut sql = String::from(
            "SELECT id, actor_type, actor_id, action, subject_type, subject_id, details, created_at FROM audit_log WHERE 1 = 1",
        );
        if let Some((t, id)) = subject {
            sql += &format!(
                " AND subject_type = {} AND subject_id = {}",
                args.text(t),
                args.text(id)
            );
        }
        if let Some(Cursor::AfterId(after)) = &page.cursor {
            sql += &format!(" AND id < {}", args.text(after.as_str()));
        }
        sql += &format!(" ORDER BY id DESC LIMIT {}", args.int(i64::from(limit) + 1));
        let rows: Vec<AuditRow> =
            on_engine!(self, |pool, pg| bind_args!(sqlx::query_as(&sql), args)
                .fetch_all(pool)
                .await?);
        let items = rows
            .into_iter()
            .map(|r| AuditRecord {
                id: r.id,
                actor_type: r.actor_type,
                actor_id: r.actor_id,
                action: r.action,
                subject_type: r.subject_type,
                subject_id: r.subject_id,
                details: r.details.0,
                created_at: r.created_at.0,
            })
            .collect();
        Ok(Page::from_rows(items, limit, |r: &AuditRecord| {
            Cursor::AfterId(r.id.clone())
        }))
    }
}
