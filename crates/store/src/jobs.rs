//! The durable job queue (the outbox): work enqueued in the same transaction as the change
//! that causes it, claimed by workers with a lease, retried with backoff and dead-lettered
//! after too many failures.
//!
//! Every job carries a typed [`Payload`] ([`payloads`]), which names its [`JobKind`].
//!
//! Claiming: on PostgreSQL with `FOR UPDATE SKIP LOCKED`, so several instances share the
//! queue without taking the same job; on SQLite the single writer connection makes the
//! claim atomic within the one process that owns the file. A worker that dies keeps its
//! jobs only until their lease runs out.

use crate::args::{bind_args, Args, Batch};
use crate::{on_engine, on_tx, At, Cursor, Page, PageRequest, Store, StoreError};
use chrono::{DateTime, Utc};
use concierge_domain::ids::JobId;
use concierge_domain::jobs::{lease, retry_delay, JobKind, DEFAULT_MAX_ATTEMPTS};
use concierge_domain::vocabulary;
use sqlx::types::Json;

pub mod payloads;

use payloads::Payload;

vocabulary! {
    pub enum JobStatus {
        Queued = "queued",
        Running = "running",
        Done = "done",
        /// Failed too often; kept for inspection and manual retry.
        Dead = "dead",
    }
}

/// Work to enqueue: a typed [`Payload`], which names its kind.
#[derive(Debug, Clone)]
pub struct NewJob {
    kind: JobKind,
    payload: serde_json::Value,
    pub run_at: Option<DateTime<Utc>>,
    pub max_attempts: i32,
    /// Enqueuing a job whose key is already queued or done does nothing: retried requests
    /// don't do the work twice.
    pub dedupe_key: Option<String>,
}

impl NewJob {
    /// A job of `payload`'s kind, due now.
    pub fn now<P: Payload>(payload: P) -> Self {
        NewJob {
            kind: P::KIND,
            payload: serde_json::to_value(payload)
                .expect("a payload is a struct of plain fields, which always serializes"),
            run_at: None,
            max_attempts: DEFAULT_MAX_ATTEMPTS,
            dedupe_key: None,
        }
    }

    /// A job of `payload`'s kind, due at `run_at`.
    pub fn at<P: Payload>(payload: P, run_at: DateTime<Utc>) -> Self {
        NewJob {
            run_at: Some(run_at),
            ..NewJob::now(payload)
        }
    }

    pub fn dedupe(mut self, key: impl Into<String>) -> Self {
        self.dedupe_key = Some(key.into());
        self
    }
}

#[derive(Debug, Clone)]
pub struct Job {
    pub id: JobId,
    /// The kind's word as stored: one of [`JobKind`], or (on jobs long done or dead) a kind
    /// an older version queued and none runs any more, kept for the record.
    pub kind: String,
    pub payload: serde_json::Value,
    pub status: JobStatus,
    pub run_at: DateTime<Utc>,
    pub attempts: i32,
    pub max_attempts: i32,
    pub last_error: Option<String>,
    pub locked_by: Option<String>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

#[derive(sqlx::FromRow)]
struct JobRow {
    id: String,
    kind: String,
    payload: Json<serde_json::Value>,
    status: String,
    run_at: At,
    attempts: i32,
    max_attempts: i32,
    last_error: Option<String>,
    locked_by: Option<String>,
    created_at: At,
    updated_at: At,
}

impl Job {
    /// The job's kind, unless it is one no handler runs any more (see [`Job::kind`]).
    pub fn known_kind(&self) -> Option<JobKind> {
        JobKind::parse(&self.kind).ok()
    }
}

const JOB_COLUMNS: &str = "id, kind, payload, status, run_at, attempts, max_attempts, last_error, locked_by, created_at, updated_at";

impl JobRow {
    fn into_job(self) -> Result<Job, StoreError> {
        Ok(Job {
            id: JobId::from_trusted(self.id),
            kind: self.kind,
            payload: self.payload.0,
            status: JobStatus::parse(&self.status).map_err(StoreError::corrupt)?,
            run_at: self.run_at.0,
            attempts: self.attempts,
            max_attempts: self.max_attempts,
            last_error: self.last_error,
            locked_by: self.locked_by,
            created_at: self.created_at.0,
            updated_at: self.updated_at.0,
        })
    }
}

/// Enqueues a job inside the caller's transaction: it exists exactly when the change that
/// asked for it was committed.
pub(crate) fn enqueue(batch: &mut Batch, job: NewJob, now: DateTime<Utc>) {
    batch
        .add(
            "INSERT INTO jobs (id, kind, payload, status, run_at, attempts, max_attempts, dedupe_key, created_at, updated_at) \
             VALUES ($1, $2, $3, 'queued', $4, 0, $5, $6, $7, $7) ON CONFLICT (dedupe_key) DO NOTHING",
        )
        .text(JobId::generate().into_string())
        .text(job.kind.as_str())
        .json(job.payload)
        .time(job.run_at.unwrap_or(now))
        .int(job.max_attempts.into())
        .opt_text(job.dedupe_key.as_deref())
        .time(now);
}

/// What became of a failed job.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FailOutcome {
    RetryAt(DateTime<Utc>),
    Dead,
}

impl Store {
    /// Enqueues a job on its own.
    pub async fn enqueue(&self, job: NewJob) -> Result<(), StoreError> {
        let tx = self.begin().await?;
        let mut batch = Batch::default();
        enqueue(&mut batch, job, At::now());
        tx.commit_with(batch).await
    }

    /// Claims up to `limit` due jobs of the given kinds for `worker`, leasing them. Jobs of
    /// kinds no worker handles yet (a channel not configured) wait, durable, until one does.
    /// Jobs whose lease ran out (their worker died) are due again.
    pub async fn claim_jobs(
        &self,
        kinds: &[JobKind],
        worker: &str,
        limit: u32,
        now: DateTime<Utc>,
    ) -> Result<Vec<Job>, StoreError> {
        if kinds.is_empty() {
            return Ok(vec![]);
        }
        let mut tx = self.begin().await?;
        let mut args = Args::default();
        let p_now = args.time(At(now));
        let p_until = args.time(At(now + lease()));
        let p_worker = args.text(worker);
        let p_kinds = args.texts(kinds.iter().map(|k| k.as_str()));
        let p_limit = args.int(i64::from(limit));
        let lock = if tx.is_postgres() {
            " FOR UPDATE SKIP LOCKED"
        } else {
            ""
        };
        let sql = format!(
            "UPDATE jobs SET status = 'running', locked_until = {p_until}, locked_by = {p_worker}, \
             attempts = attempts + 1, updated_at = {p_now} \
             WHERE id IN (SELECT id FROM jobs WHERE kind IN ({p_kinds}) AND \
             ((status = 'queued' AND run_at <= {p_now}) OR (status = 'running' AND locked_until < {p_now})) \
             ORDER BY run_at LIMIT {p_limit}{lock}) \
             RETURNING {JOB_COLUMNS}"
        );
        let rows: Vec<JobRow> = on_tx!(&mut tx, |conn, pg| bind_args!(sqlx::query_as(&sql), args)
            .fetch_all(conn)
            .await?);
        tx.commit().await?;
        let mut jobs = rows
            .into_iter()
            .map(JobRow::into_job)
            .collect::<Result<Vec<_>, _>>()?;
        jobs.sort_by_key(|j| j.run_at);
        Ok(jobs)
    }

    /// Marks claimed jobs done, in one statement: a worker that ran a batch together
    /// records it with one write. Only the worker holding their leases can.
    pub async fn complete_jobs(&self, ids: &[JobId], worker: &str) -> Result<(), StoreError> {
        if ids.is_empty() {
            return Ok(());
        }
        let tx = self.begin().await?;
        let mut batch = Batch::default();
        let ids_in = (3..ids.len() + 3)
            .map(|n| format!("${n}"))
            .collect::<Vec<_>>()
            .join(", ");
        let bind = batch
            .add(format!(
                "UPDATE jobs SET status = 'done', locked_until = NULL, last_error = NULL, updated_at = $2 \
                 WHERE id IN ({ids_in}) AND locked_by = $1 AND status = 'running'"
            ))
            .text(worker)
            .time(At::now());
        ids.iter().fold(bind, |b, id| b.text(id.as_str()));
        tx.commit_with(batch).await
    }

    /// Records a failed attempt: the job runs again after a backoff, or is dead-lettered once
    /// it has used its attempts (or at once when `permanent`).
    pub async fn fail_job(
        &self,
        id: &JobId,
        worker: &str,
        error: &str,
        permanent: bool,
        now: DateTime<Utc>,
    ) -> Result<FailOutcome, StoreError> {
        let mut tx = self.begin().await?;
        let row: Option<(i32, i32)> = on_tx!(&mut tx, |conn, pg| {
            sqlx::query_as("SELECT attempts, max_attempts FROM jobs WHERE id = $1 AND locked_by = $2 AND status = 'running'")
                .bind(id.as_str())
                .bind(worker)
                .fetch_optional(conn)
                .await?
        });
        let Some((attempts, max_attempts)) = row else {
            return Err(StoreError::NotFound("running job"));
        };
        let error: String = error.chars().take(2000).collect();
        let outcome = if permanent || attempts >= max_attempts {
            FailOutcome::Dead
        } else {
            FailOutcome::RetryAt(now + retry_delay(attempts))
        };
        let (status, run_at) = match outcome {
            FailOutcome::Dead => (JobStatus::Dead, now),
            FailOutcome::RetryAt(t) => (JobStatus::Queued, t),
        };
        on_tx!(&mut tx, |conn, pg| {
            sqlx::query(
                "UPDATE jobs SET status = $2, run_at = $3, locked_until = NULL, last_error = $4, updated_at = $5 WHERE id = $1",
            )
            .bind(id.as_str())
            .bind(status.as_str())
            .bind(At(run_at))
            .bind(&error)
            .bind(At(now))
            .execute(conn)
            .await?.rows_affected()
        });
        tx.commit().await?;
        Ok(outcome)
    }

    /// Puts a dead job back in the queue with fresh attempts.
    pub async fn retry_job(&self, id: &JobId) -> Result<Job, StoreError> {
        let now = At::now();
        let mut tx = self.begin().await?;
        let sql = format!(
            "UPDATE jobs SET status = 'queued', attempts = 0, run_at = $2, updated_at = $2 WHERE id = $1 AND status = 'dead' RETURNING {JOB_COLUMNS}"
        );
        let row: Option<JobRow> = on_tx!(&mut tx, |conn, pg| sqlx::query_as(&sql)
            .bind(id.as_str())
            .bind(At(now))
            .fetch_optional(conn)
            .await?);
        tx.commit().await?;
        match row {
            Some(r) => r.into_job(),
            None => {
                self.job(id).await?;
                Err(StoreError::conflict(
                    "status",
                    "only dead jobs can be retried",
                ))
            }
        }
    }

    pub async fn job(&self, id: &JobId) -> Result<Job, StoreError> {
        let sql = format!("SELECT {JOB_COLUMNS} FROM jobs WHERE id = $1");
        let row: Option<JobRow> = on_engine!(self, |pool, pg| sqlx::query_as(&sql)
            .bind(id.as_str())
            .fetch_optional(pool)
            .await?);
        row.ok_or(StoreError::NotFound("job"))?.into_job()
    }

    /// Jobs, newest first, optionally of one status.
    pub async fn jobs(
        &self,
        status: Option<JobStatus>,
        page: &PageRequest,
    ) -> Result<Page<Job>, StoreError> {
        let limit = page.limit();
        let mut args = Args::default();
        let mut sql = format!("SELECT {JOB_COLUMNS} FROM jobs WHERE 1 = 1");
        if let Some(s) = status {
            sql += &format!(" AND status = {}", args.text(s.as_str()));
        }
        if let Some(Cursor::AfterId(after)) = &page.cursor {
            sql += &format!(" AND id < {}", args.text(after.as_str()));
        }
        sql += &format!(" ORDER BY id DESC LIMIT {}", args.int(i64::from(limit) + 1));
        let rows: Vec<JobRow> = on_engine!(self, |pool, pg| bind_args!(sqlx::query_as(&sql), args)
            .fetch_all(pool)
            .await?);
        let items = rows
            .into_iter()
            .map(JobRow::into_job)
            .collect::<Result<Vec<_>, _>>()?;
        Ok(Page::from_rows(items, limit, |j: &Job| {
            Cursor::AfterId(j.id.to_string())
        }))
    }

    /// When the next queued job of these kinds is due, so an idle worker can sleep until then.
    pub async fn next_job_due(
        &self,
        kinds: &[JobKind],
    ) -> Result<Option<DateTime<Utc>>, StoreError> {
        if kinds.is_empty() {
            return Ok(None);
        }
        let mut args = Args::default();
        let sql = format!(
            "SELECT min(CASE WHEN status = 'queued' THEN run_at ELSE locked_until END) FROM jobs \
             WHERE kind IN ({}) AND status IN ('queued', 'running')",
            args.texts(kinds.iter().map(|k| k.as_str()))
        );
        let next: Option<At> =
            on_engine!(self, |pool, pg| bind_args!(sqlx::query_scalar(&sql), args)
                .fetch_one(pool)
                .await?);
        Ok(next.map(|t| t.0))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// What a test database leaves behind.
    enum Leftover {
        Folder(std::path::PathBuf),
        Database { admin: String, name: String },
    }

    impl Leftover {
        async fn remove(self) {
            match self {
                Leftover::Folder(dir) => {
                    let _ = std::fs::remove_dir_all(dir);
                }
                Leftover::Database { admin, name } => {
                    use sqlx::Connection;
                    let mut conn = sqlx::PgConnection::connect(&admin).await.unwrap();
                    sqlx::query(&format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
                        .execute(&mut conn)
                        .await
                        .unwrap();
                }
            }
        }
    }

    /// A fresh database on each engine there is (PostgreSQL when
    /// `CONCIERGE_TEST_POSTGRES_URL` names a server), not yet migrated.
    async fn fresh_databases() -> Vec<(Store, Leftover)> {
        let name = format!("concierge_s_{}", uuid::Uuid::now_v7().simple());
        let dir = std::env::temp_dir().join(&name);
        let sqlite = Store::connect(
            &format!("sqlite://{}/t.db", dir.display()),
            &Default::default(),
        )
        .await
        .unwrap();
        let mut stores = vec![(sqlite, Leftover::Folder(dir))];
        if let Ok(admin) = std::env::var("CONCIERGE_TEST_POSTGRES_URL") {
            use sqlx::Connection;
            let mut conn = sqlx::PgConnection::connect(&admin).await.unwrap();
            sqlx::query(&format!("CREATE DATABASE {name}"))
                .execute(&mut conn)
                .await
                .unwrap();
            let base = admin.rsplit_once('/').map_or(admin.as_str(), |(b, _)| b);
            let pg = Store::connect(&format!("{base}/{name}"), &Default::default())
                .await
                .unwrap();
            stores.push((pg, Leftover::Database { admin, name }));
        }
        stores
    }

    /// Queues a job as an older version did: its kind's word as it was then.
    async fn queue_as_before(store: &Store, kind: &str, status: &str, payload: serde_json::Value) {
        let now = At::now();
        let tx = store.begin().await.unwrap();
        let mut batch = Batch::default();
        batch
            .add(
                "INSERT INTO jobs (id, kind, payload, status, run_at, attempts, max_attempts, dedupe_key, created_at, updated_at) \
                 VALUES ($1, $2, $3, $4, $5, 0, 8, NULL, $5, $5)",
            )
            .text(JobId::generate().into_string())
            .text(kind)
            .json(payload)
            .text(status)
            .time(now);
        tx.commit_with(batch).await.unwrap();
    }

    #[tokio::test]
    async fn assistant_jobs_queued_before_the_rename_run_after_it() {
        use concierge_domain::ids::{ChatSessionId, MessageId};
        for (store, leftover) in fresh_databases().await {
            store.migrate_until(20).await.unwrap();
            let session = ChatSessionId::generate();
            let message = MessageId::generate();
            let payload = serde_json::json!({
                "session_id": session.as_str(),
                "message_id": message.as_str(),
            });
            queue_as_before(&store, "assist.answer", "queued", payload.clone()).await;
            queue_as_before(&store, "assist.answer", "dead", payload).await;

            store.migrate().await.unwrap();
            let all = store.jobs(None, &PageRequest::default()).await.unwrap();
            assert_eq!(all.items.len(), 2);
            assert!(
                all.items
                    .iter()
                    .all(|j| j.known_kind() == Some(JobKind::AssistantAnswer)),
                "{:?}",
                all.items
            );
            let claimed = store
                .claim_jobs(&[JobKind::AssistantAnswer], "w", 10, chrono::Utc::now())
                .await
                .unwrap();
            assert_eq!(claimed.len(), 1, "the queued one runs under the new word");
            let read: payloads::AssistantAnswer =
                serde_json::from_value(claimed[0].payload.clone()).unwrap();
            assert_eq!((read.session_id, read.message_id), (session, message));

            store.close().await;
            leftover.remove().await;
        }
    }
}
