//! Concierge's background work: the [`Worker`] that claims due jobs from the durable queue
//! in [`concierge_store::jobs`], reads each one's typed payload, runs it with the [`Handler`]
//! for its kind, and records the outcome: done, retried after a backoff, or dead-lettered.
//!
//! Delivery is at least once. A job is leased to one worker while it runs; a worker that dies
//! mid-job loses the lease and the job runs again elsewhere, so handlers must be idempotent
//! (waking a conversation twice, or sending a message whose delivery is already recorded,
//! must do no harm).
//!
//! Architecture invariant: this crate knows nothing about HTTP or any channel's wire format.
//! Handlers for channels live with the channels and are registered with [`Worker::with`] by
//! the binary; [`WakeSnoozed`] lives here because it only touches the store.

use chrono::{DateTime, Utc};
use concierge_domain::ids::JobId;
use concierge_domain::jobs::JobKind;
use concierge_store::jobs::payloads::{ConversationWake, Payload};
use concierge_store::jobs::{FailOutcome, Job};
use concierge_store::{Store, StoreError};
use futures::future::BoxFuture;
use futures::FutureExt;
use std::collections::BTreeMap;
use std::panic::AssertUnwindSafe;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::{watch, Notify};
use tracing::Instrument;

/// Why a job failed, and so what becomes of it.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum JobError {
    /// Something that may work later (a relay that is down, a locked database): the job runs
    /// again after a backoff, until it has used its attempts.
    #[error("{0}")]
    Retry(String),
    /// Something that will never work (a payload naming no valid record): the job is
    /// dead-lettered at once, kept for inspection and manual retry.
    #[error("{0}")]
    Permanent(String),
}

impl JobError {
    /// Whether retrying cannot help.
    pub fn is_permanent(&self) -> bool {
        matches!(self, JobError::Permanent(_))
    }
}

/// A job's payload as its handler takes it. One that does not parse never will (a field
/// missing, an id that is not one), so that is permanent; the error names the field.
fn read_payload<P: Payload>(job: &Job) -> Result<P, JobError> {
    serde_path_to_error::deserialize(&job.payload).map_err(|e| {
        let field = e.path().to_string();
        let error = e.into_inner();
        JobError::Permanent(if field == "." {
            format!("payload: {error}")
        } else {
            format!("payload {field}: {error}")
        })
    })
}

impl From<StoreError> for JobError {
    /// A database that is unavailable or failing may recover, so those errors are retried;
    /// missing records, refused writes and broken data will not change by waiting.
    fn from(e: StoreError) -> Self {
        match e {
            StoreError::Unavailable(_) | StoreError::Database(_) => JobError::Retry(e.to_string()),
            StoreError::NotFound(_)
            | StoreError::Conflict { .. }
            | StoreError::Reference { .. }
            | StoreError::Taken { .. }
            | StoreError::Config(_)
            | StoreError::Corrupt(_)
            | StoreError::Migrate(_) => JobError::Permanent(e.to_string()),
        }
    }
}

/// Runs the jobs of one kind: the kind of its [`Handler::Payload`].
///
/// Handlers must be idempotent: a job may run more than once (see the crate docs).
pub trait Handler: Send + Sync + 'static {
    /// What the jobs this handler runs carry; its [`Payload::KIND`] is the kind this handler
    /// runs.
    type Payload: Payload;

    /// Does the job's work, with its payload read. `Ok` marks it done; see [`JobError`] for
    /// failures.
    fn run<'a>(
        &'a self,
        job: &'a Job,
        payload: Self::Payload,
    ) -> BoxFuture<'a, Result<(), JobError>>;

    /// Whether jobs of this kind may run at the same time as each other (a claimed batch
    /// runs together, and their commits are grouped). Only for work whose order does not
    /// matter: not mail to one shopper, whose messages must arrive in the order written.
    fn concurrent(&self) -> bool {
        false
    }
}

/// A [`Handler`] as the worker keeps it, whatever its payload: it reads the payload, then
/// runs the handler.
trait Runner: Send + Sync {
    fn run<'a>(&'a self, job: &'a Job) -> BoxFuture<'a, Result<(), JobError>>;
    fn concurrent(&self) -> bool;
}

impl<H: Handler> Runner for H {
    fn run<'a>(&'a self, job: &'a Job) -> BoxFuture<'a, Result<(), JobError>> {
        match read_payload::<H::Payload>(job) {
            Ok(payload) => Handler::run(self, job, payload),
            Err(e) => futures::future::ready(Err(e)).boxed(),
        }
    }

    fn concurrent(&self) -> bool {
        Handler::concurrent(self)
    }
}

/// How many jobs one claim takes. Small, so a stopping worker is not left holding a batch.
const CLAIM_BATCH: u32 = 32;

/// How long an idle worker waits before looking at the queue again when nothing is due and
/// nobody pokes it. Jobs enqueued by another process are picked up within this time.
const POLL_INTERVAL: Duration = Duration::from_secs(1);

/// The shortest pause between two loops, so that a job which is reported due but cannot be
/// claimed (clock skew between instances) does not make the worker spin.
const MIN_PAUSE: Duration = Duration::from_millis(10);

/// How long successes of jobs run one at a time may wait to be recorded together. A job done
/// but not yet recorded runs again if the worker dies first, which idempotent handlers
/// tolerate; one write per job would take the single SQLite writer from the jobs' own work.
const RECORD_EVERY: Duration = Duration::from_secs(1);

/// How long one job may run. It must end well before its lease does, or another worker
/// would claim it while it still runs.
fn run_limit() -> Duration {
    let lease = concierge_domain::jobs::lease()
        .to_std()
        .unwrap_or(Duration::from_secs(60));
    lease
        .saturating_sub(Duration::from_secs(10))
        .max(Duration::from_secs(1))
}

/// Claims due jobs of the kinds it has handlers for and runs them, one at a time.
///
/// Several workers (in one process or many) may share a queue: each claims with its own id,
/// and the store makes sure no two hold the same job.
pub struct Worker {
    store: Store,
    id: String,
    handlers: BTreeMap<JobKind, Box<dyn Runner>>,
    notify: Arc<Notify>,
}

impl Worker {
    /// A worker with no handlers yet, and a fresh id of the form `HOST-PID-RANDOM`.
    pub fn new(store: Store) -> Self {
        Worker {
            store,
            id: worker_id(),
            handlers: BTreeMap::new(),
            notify: Arc::new(Notify::new()),
        }
    }

    /// Adds the handler for one job kind.
    ///
    /// # Panics
    /// When a handler for the same kind was already added: which one runs would be
    /// ambiguous, so this is a wiring bug.
    pub fn with<H: Handler>(mut self, handler: H) -> Self {
        let kind = H::Payload::KIND;
        let previous = self.handlers.insert(kind, Box::new(handler));
        assert!(
            previous.is_none(),
            "two handlers registered for job kind {kind}"
        );
        self
    }

    /// The id this worker claims jobs under (it appears in `locked_by`).
    pub fn id(&self) -> &str {
        &self.id
    }

    /// The job kinds this worker runs, in order.
    pub fn kinds(&self) -> Vec<JobKind> {
        self.handlers.keys().copied().collect()
    }

    /// A handle that wakes an idle [`Worker::run`] at once: call `notify_one()` on it after
    /// enqueuing a job that is due now, so it does not wait for the next poll.
    pub fn notifier(&self) -> Arc<Notify> {
        Arc::clone(&self.notify)
    }

    /// Runs every job of this worker's kinds that is due at `now`, claiming them in small
    /// batches until none is left; returns how many ran (whether they succeeded or failed).
    ///
    /// Failures of single jobs are recorded on the job and logged, not returned; the error
    /// is for a queue that cannot be read at all.
    pub async fn run_due(&self, now: DateTime<Utc>) -> Result<usize, StoreError> {
        self.run_batches(now, None).await
    }

    /// Runs until `shutdown` holds `true` (or its sender is dropped): runs what is due, then
    /// sleeps until the next job is due, the poll interval passes or the
    /// [notifier](Worker::notifier) is poked. On shutdown the jobs already claimed finish
    /// first; nothing new is claimed.
    pub async fn run(self, mut shutdown: watch::Receiver<bool>) {
        let kinds = self.kinds();
        tracing::info!(worker = %self.id, kinds = ?kinds, "job worker started");
        loop {
            if *shutdown.borrow() {
                break;
            }
            if let Err(e) = self.run_batches(Utc::now(), Some(&shutdown)).await {
                tracing::warn!(error = %e, "cannot claim jobs; trying again shortly");
            }
            if *shutdown.borrow() {
                break;
            }
            let pause = match self.store.next_job_due(&kinds).await {
                Ok(Some(due)) => (due - Utc::now())
                    .to_std()
                    .unwrap_or(Duration::ZERO)
                    .min(POLL_INTERVAL),
                Ok(None) => POLL_INTERVAL,
                Err(e) => {
                    tracing::warn!(error = %e, "cannot read the job queue; trying again shortly");
                    POLL_INTERVAL
                }
            };
            tokio::select! {
                _ = tokio::time::sleep(pause.max(MIN_PAUSE)) => {}
                _ = self.notify.notified() => {}
                changed = shutdown.changed() => {
                    if changed.is_err() {
                        break;
                    }
                }
            }
        }
        tracing::info!(worker = %self.id, "job worker stopped");
    }

    /// Claims and runs batches until a claim comes back short (nothing more is due) or
    /// `stop` holds `true`. A claimed batch always runs to the end: abandoning it would leave
    /// its jobs leased, and so delayed, until the lease runs out.
    async fn run_batches(
        &self,
        now: DateTime<Utc>,
        stop: Option<&watch::Receiver<bool>>,
    ) -> Result<usize, StoreError> {
        let kinds = self.kinds();
        let mut ran = 0;
        loop {
            if stop.is_some_and(|s| *s.borrow()) {
                break;
            }
            let jobs = self
                .store
                .claim_jobs(&kinds, &self.id, CLAIM_BATCH, now)
                .await?;
            let (together, one_by_one): (Vec<&Job>, Vec<&Job>) = jobs
                .iter()
                .partition(|j| self.runner(j).is_some_and(|h| h.concurrent()));
            // Successes are recorded together, with one write (a failure is recorded as it
            // happens, with its own backoff): the group's at once, the others' at the end or
            // every [`RECORD_EVERY`] while slow ones run.
            let done: Vec<JobId> =
                futures::future::join_all(together.iter().map(|job| self.attempt(job, now)))
                    .await
                    .into_iter()
                    .flatten()
                    .collect();
            self.record_done(&done).await;
            let mut done = Vec::new();
            let mut recorded = std::time::Instant::now();
            for job in one_by_one {
                done.extend(self.attempt(job, now).await);
                if recorded.elapsed() >= RECORD_EVERY {
                    self.record_done(&std::mem::take(&mut done)).await;
                    recorded = std::time::Instant::now();
                }
            }
            self.record_done(&done).await;
            ran += jobs.len();
            if jobs.len() < CLAIM_BATCH as usize {
                break;
            }
        }
        Ok(ran)
    }

    /// Runs one claimed job. A failure is recorded here; a success is left to the caller to
    /// record (its id is the answer), so a group's successes take one write. A handler that
    /// panics or overruns its time is a failed attempt, retried like any other.
    async fn attempt(&self, job: &Job, now: DateTime<Utc>) -> Option<JobId> {
        let span =
            tracing::info_span!("job", id = %job.id, kind = %job.kind, attempt = job.attempts);
        async {
            let outcome = match self.runner(job) {
                None => Err(JobError::Permanent(format!("no handler for job kind {:?}", job.kind))),
                Some(handler) => {
                    let limit = run_limit();
                    match AssertUnwindSafe(tokio::time::timeout(limit, handler.run(job))).catch_unwind().await {
                        Ok(Ok(result)) => result,
                        Ok(Err(_elapsed)) => Err(JobError::Retry(format!("did not finish within {}s", limit.as_secs()))),
                        Err(panic) => Err(JobError::Retry(format!("handler panicked: {}", panic_message(&*panic)))),
                    }
                }
            };
            match outcome {
                Ok(()) => Some(job.id.clone()),
                Err(error) => {
                    match self.store.fail_job(&job.id, &self.id, &error.to_string(), error.is_permanent(), now).await {
                        Ok(FailOutcome::RetryAt(at)) => tracing::warn!(%error, retry_at = %at.to_rfc3339(), "job failed; will retry"),
                        Ok(FailOutcome::Dead) => tracing::error!(%error, "job failed; dead-lettered"),
                        Err(e) => tracing::error!(%error, store_error = %e, "job failed and the failure could not be recorded"),
                    }
                    None
                }
            }
        }
        .instrument(span)
        .await
    }

    /// The handler for a claimed job's kind.
    fn runner(&self, job: &Job) -> Option<&dyn Runner> {
        let kind = job.known_kind()?;
        self.handlers.get(&kind).map(|h| h.as_ref())
    }

    /// Records one job done at once, so that a crash later in the batch does not run it (and
    /// send its mail) again.
    async fn record_done(&self, ids: &[JobId]) {
        match self.store.complete_jobs(ids, &self.id).await {
            Ok(()) => tracing::debug!(jobs = ids.len(), "jobs done"),
            // The work is done but not recorded: the jobs run again once their leases run
            // out, which idempotent handlers tolerate.
            Err(e) => {
                tracing::warn!(jobs = ids.len(), error = %e, "jobs done but could not be marked done")
            }
        }
    }
}

fn panic_message(panic: &(dyn std::any::Any + Send)) -> &str {
    panic
        .downcast_ref::<&str>()
        .copied()
        .or_else(|| panic.downcast_ref::<String>().map(String::as_str))
        .unwrap_or("(no message)")
}

/// `HOST-PID-RANDOM`: readable in `locked_by`, and unique even for two workers in one
/// process.
fn worker_id() -> String {
    let host = std::fs::read_to_string("/proc/sys/kernel/hostname")
        .or_else(|_| std::fs::read_to_string("/etc/hostname"))
        .ok()
        .or_else(|| std::env::var("HOSTNAME").ok())
        .map(|h| h.trim().to_owned())
        .filter(|h| !h.is_empty())
        .unwrap_or_else(|| "host".to_owned());
    let random = uuid::Uuid::now_v7().simple().to_string();
    // The tail of a UUIDv7 is random; its head is the clock.
    let tail = &random[random.len() - 8..];
    format!("{host}-{}-{tail}", std::process::id())
}

/// Wakes a snoozed conversation when its snooze ends ([`ConversationWake`] jobs, enqueued
/// when the conversation is snoozed).
///
/// A conversation that was reopened, or snoozed again to a later time, in the meantime is
/// left as it is: each snooze has its own job, and the conversation wakes only once its own
/// snooze time has passed.
pub struct WakeSnoozed {
    store: Store,
}

impl WakeSnoozed {
    pub fn new(store: Store) -> Self {
        WakeSnoozed { store }
    }
}

impl Handler for WakeSnoozed {
    type Payload = ConversationWake;

    fn run<'a>(
        &'a self,
        job: &'a Job,
        payload: ConversationWake,
    ) -> BoxFuture<'a, Result<(), JobError>> {
        async move {
            let id = payload.conversation_id;
            // The job is due when the snooze ends, so that moment has come by the time it
            // runs, even when the worker's caller runs it early on a clock of its own (tests
            // pass `run_due` a time in the future).
            let as_of = job.run_at.max(Utc::now());
            let woke = self.store.wake_conversation(&id, as_of).await?;
            tracing::debug!(conversation = %id, woke, "snooze ended");
            Ok(())
        }
        .boxed()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::Duration as Span;
    use concierge_domain::access::Actor;
    use concierge_domain::contact::EmailAddress;
    use concierge_domain::conversation::{Channel, ConversationStatus, Priority};
    use concierge_domain::intents::{Intent, IntentReading};
    use concierge_domain::text::MessageBody;
    use concierge_store::conversations::{ConversationPatch, NewConversation, NewMessage};
    use concierge_store::customers::CustomerRef;
    use concierge_store::jobs::{JobStatus, NewJob};
    use concierge_store::{PageRequest, PoolOptions};
    use std::sync::atomic::{AtomicUsize, Ordering};

    /// A folder removed when the test ends.
    struct Scratch(std::path::PathBuf);

    impl Drop for Scratch {
        fn drop(&mut self) {
            let _ = std::fs::remove_dir_all(&self.0);
        }
    }

    /// A fresh SQLite store in its own folder under the system's temporary directory.
    async fn fresh_store() -> (Store, Scratch) {
        let dir =
            std::env::temp_dir().join(format!("concierge-jobs-{}", uuid::Uuid::now_v7().simple()));
        let url = format!("sqlite://{}", dir.join("test.db").display());
        let store = Store::connect(&url, &PoolOptions::default()).await.unwrap();
        store.migrate().await.unwrap();
        (store, Scratch(dir))
    }

    /// The payload of [`Flaky`]'s jobs. The kinds are a closed vocabulary with no words for
    /// tests, so the test handlers borrow real ones: each test's worker runs only its own.
    #[derive(serde::Serialize, serde::Deserialize)]
    struct FlakyJob {}

    impl Payload for FlakyJob {
        const KIND: JobKind = JobKind::WebhookApply;
    }

    /// The payload of [`Panics`]'s jobs (see [`FlakyJob`]).
    #[derive(serde::Serialize, serde::Deserialize)]
    struct PanicJob {}

    impl Payload for PanicJob {
        const KIND: JobKind = JobKind::DeliveryIssue;
    }

    /// A wake job as no version of the store writes it: its id is not one.
    #[derive(serde::Serialize, serde::Deserialize)]
    struct BadWake {
        conversation_id: String,
    }

    impl Payload for BadWake {
        const KIND: JobKind = JobKind::ConversationWake;
    }

    /// Fails the first `failures` runs with `error`, then succeeds; counts runs.
    struct Flaky {
        runs: Arc<AtomicUsize>,
        failures: usize,
        error: JobError,
    }

    impl Handler for Flaky {
        type Payload = FlakyJob;

        fn run<'a>(
            &'a self,
            _job: &'a Job,
            _payload: FlakyJob,
        ) -> BoxFuture<'a, Result<(), JobError>> {
            async move {
                let n = self.runs.fetch_add(1, Ordering::SeqCst);
                if n < self.failures {
                    Err(self.error.clone())
                } else {
                    Ok(())
                }
            }
            .boxed()
        }
    }

    struct Panics;

    impl Handler for Panics {
        type Payload = PanicJob;

        fn run<'a>(
            &'a self,
            _job: &'a Job,
            _payload: PanicJob,
        ) -> BoxFuture<'a, Result<(), JobError>> {
            async move { panic!("boom") }.boxed()
        }
    }

    async fn only_job(store: &Store) -> Job {
        let page = store.jobs(None, &PageRequest::default()).await.unwrap();
        assert_eq!(page.items.len(), 1);
        page.items.into_iter().next().unwrap()
    }

    #[tokio::test]
    async fn a_snoozed_conversation_wakes_when_its_job_runs() {
        let (store, _scratch) = fresh_store().await;
        let customer = CustomerRef {
            email: Some(EmailAddress::parse("ann@shop.example").unwrap()),
            ..CustomerRef::default()
        };
        let new = NewConversation {
            channel: Channel::Api,
            customer,
            subject: None,
            priority: Priority::Normal,
            tags: vec![],
            message: NewMessage::from_shopper(
                MessageBody::parse("Where is my parcel?").unwrap(),
                IntentReading {
                    intent: Intent::TrackOrder,
                    confidence: 0.9,
                },
            ),
        };
        let (c, _) = store
            .create_conversation(new, &Actor::System)
            .await
            .unwrap();
        let until = Utc::now() + Span::hours(1);
        let patch = ConversationPatch {
            status: Some(ConversationStatus::Snoozed),
            snooze_until: Some(until),
            ..Default::default()
        };
        store
            .update_conversation(&c.id, patch, &Actor::System)
            .await
            .unwrap();

        let worker = Worker::new(store.clone()).with(WakeSnoozed::new(store.clone()));
        assert_eq!(
            worker.run_due(Utc::now()).await.unwrap(),
            0,
            "not due before the snooze ends"
        );
        assert_eq!(
            store.conversation(&c.id).await.unwrap().lifecycle.status,
            ConversationStatus::Snoozed
        );

        assert_eq!(worker.run_due(until + Span::seconds(1)).await.unwrap(), 1);
        assert_eq!(
            store.conversation(&c.id).await.unwrap().lifecycle.status,
            ConversationStatus::Open
        );
        assert_eq!(only_job(&store).await.status, JobStatus::Done);
    }

    #[tokio::test]
    async fn a_wake_job_without_a_valid_id_is_dead_lettered_at_once() {
        let (store, _scratch) = fresh_store().await;
        store
            .enqueue(NewJob::now(BadWake {
                conversation_id: "nope".into(),
            }))
            .await
            .unwrap();
        let worker = Worker::new(store.clone()).with(WakeSnoozed::new(store.clone()));
        assert_eq!(worker.run_due(Utc::now()).await.unwrap(), 1);
        let job = only_job(&store).await;
        assert_eq!(job.status, JobStatus::Dead);
        assert!(job.last_error.unwrap().contains("conversation_id"));
    }

    #[tokio::test]
    async fn a_failed_job_runs_again_after_its_backoff() {
        let (store, _scratch) = fresh_store().await;
        let runs = Arc::new(AtomicUsize::new(0));
        let worker = Worker::new(store.clone()).with(Flaky {
            runs: runs.clone(),
            failures: 1,
            error: JobError::Retry("relay down".into()),
        });
        store.enqueue(NewJob::now(FlakyJob {})).await.unwrap();
        let now = Utc::now();
        assert_eq!(worker.run_due(now).await.unwrap(), 1);
        let job = only_job(&store).await;
        assert_eq!(job.status, JobStatus::Queued);
        assert_eq!(job.last_error.as_deref(), Some("relay down"));
        assert_eq!(
            worker.run_due(now).await.unwrap(),
            0,
            "not again before the backoff"
        );
        assert_eq!(worker.run_due(now + Span::minutes(1)).await.unwrap(), 1);
        assert_eq!(only_job(&store).await.status, JobStatus::Done);
        assert_eq!(runs.load(Ordering::SeqCst), 2);
    }

    #[tokio::test]
    async fn permanent_failures_and_panics_are_recorded_not_propagated() {
        let (store, _scratch) = fresh_store().await;
        let worker = Worker::new(store.clone())
            .with(Flaky {
                runs: Arc::default(),
                failures: 1,
                error: JobError::Permanent("no such order".into()),
            })
            .with(Panics);
        store.enqueue(NewJob::now(FlakyJob {})).await.unwrap();
        assert_eq!(worker.run_due(Utc::now()).await.unwrap(), 1);
        assert_eq!(only_job(&store).await.status, JobStatus::Dead);

        let (store, _scratch) = fresh_store().await;
        let worker = Worker::new(store.clone()).with(Panics);
        store.enqueue(NewJob::now(PanicJob {})).await.unwrap();
        assert_eq!(worker.run_due(Utc::now()).await.unwrap(), 1);
        let job = only_job(&store).await;
        assert_eq!(job.status, JobStatus::Queued);
        assert!(job.last_error.unwrap().contains("boom"));
    }

    #[tokio::test]
    async fn run_due_drains_more_than_one_batch() {
        let (store, _scratch) = fresh_store().await;
        let runs = Arc::new(AtomicUsize::new(0));
        let worker = Worker::new(store.clone()).with(Flaky {
            runs: runs.clone(),
            failures: 0,
            error: JobError::Retry(String::new()),
        });
        let total = CLAIM_BATCH as usize * 2 + 3;
        for _ in 0..total {
            store.enqueue(NewJob::now(FlakyJob {})).await.unwrap();
        }
        assert_eq!(worker.run_due(Utc::now()).await.unwrap(), total);
        assert_eq!(runs.load(Ordering::SeqCst), total);
    }

    #[tokio::test]
    async fn the_running_worker_picks_up_poked_jobs_and_stops_on_shutdown() {
        let (store, _scratch) = fresh_store().await;
        let runs = Arc::new(AtomicUsize::new(0));
        let worker = Worker::new(store.clone()).with(Flaky {
            runs: runs.clone(),
            failures: 0,
            error: JobError::Retry(String::new()),
        });
        let notify = worker.notifier();
        let (stop, stopped) = watch::channel(false);
        let task = tokio::spawn(worker.run(stopped));
        store.enqueue(NewJob::now(FlakyJob {})).await.unwrap();
        notify.notify_one();
        let deadline = tokio::time::Instant::now() + Duration::from_secs(5);
        while runs.load(Ordering::SeqCst) == 0 {
            assert!(
                tokio::time::Instant::now() < deadline,
                "the job did not run"
            );
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        stop.send(true).unwrap();
        tokio::time::timeout(Duration::from_secs(2), task)
            .await
            .expect("the worker stops promptly")
            .unwrap();
    }
}
