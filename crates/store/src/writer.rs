//! SQLite's one writer connection, and how commands share it.
//!
//! SQLite takes one writer at a time, so the process keeps one writer connection and queues
//! its commands here; readers use their own pool (WAL). Two things make that one connection
//! fast, both about what a command costs the writer rather than what its statements cost:
//!
//! - **Few round trips.** The driver runs each statement on its own thread, and the trip
//!   there and back costs far more than the statement. So a command's writes travel as one
//!   script ([`Batch`]), with `BEGIN`, its savepoint and `COMMIT` folded in; a typical command
//!   is one read and one script. Reads before a command's first write (`on_tx!(read …)`) need
//!   no transaction of their own: this is the only writer of a one-process database, so
//!   nothing else can change the data between them and the writes.
//! - **Group commit.** A commit writes every page the transaction touched to the WAL. When
//!   other commands are queued behind the one holding the writer, it does not commit: it
//!   leaves the transaction open, hands the writer on, and waits; the last command of the
//!   group (or the one that fills it) commits for all, and only then does any of them answer.
//!   Each command runs in its own savepoint, so one that fails takes back only its own writes.
//!
//! A [`SqliteWrite`] dropped before it finished (an error, a cancelled request) undoes its
//! savepoint and hands the writer on in a task of its own, so the next command always finds
//! the connection in a known state.

use crate::args::{bind_args, Batch};
use crate::StoreError;
use sqlx::{Connection, SqliteConnection};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::{watch, Mutex, Notify, OwnedMutexGuard};

/// The most commands that share one commit; past it the next command commits.
const MAX_GROUP: usize = 64;

/// What became of a group's commit, for the commands waiting on it.
type Outcome = Option<Result<(), Arc<str>>>;

/// The writer connection and the queue of commands waiting for it. Cheap to clone.
#[derive(Clone)]
pub(crate) struct Writer {
    slot: Arc<Mutex<Slot>>,
    /// Commands waiting for the slot: whether the holder should leave its transaction open
    /// for them.
    queued: Arc<AtomicUsize>,
    wait: Duration,
    /// Poked after every commit, for the checkpointer.
    committed: Arc<Notify>,
}

struct Slot {
    /// `None` once the store is closed.
    conn: Option<SqliteConnection>,
    /// The transaction shared by the commands since the last commit, while one is open.
    group: Option<Group>,
}

struct Group {
    /// Commands whose writes are in the open transaction, waiting for its commit.
    members: usize,
    outcome: watch::Sender<Outcome>,
}

impl Writer {
    pub(crate) fn new(conn: SqliteConnection, wait: Duration) -> Writer {
        Writer {
            slot: Arc::new(Mutex::new(Slot {
                conn: Some(conn),
                group: None,
            })),
            queued: Arc::new(AtomicUsize::new(0)),
            wait,
            committed: Arc::new(Notify::new()),
        }
    }

    /// What is poked after every commit.
    pub(crate) fn committed(&self) -> Arc<Notify> {
        Arc::clone(&self.committed)
    }

    /// Waits for the writer (at most the store's busy timeout) and starts a command on it.
    pub(crate) async fn begin(&self) -> Result<SqliteWrite, StoreError> {
        let (slot, queued, committed) = (
            self.slot.clone(),
            self.queued.clone(),
            self.committed.clone(),
        );
        queued.fetch_add(1, Ordering::SeqCst);
        // Taken in a task of its own: if the caller gives up waiting, the slot is still taken
        // and handed on properly (see `Drop`), never left with a group nobody will commit.
        let taking = tokio::spawn(async move {
            let slot = slot.lock_owned().await;
            queued.fetch_sub(1, Ordering::SeqCst);
            SqliteWrite {
                slot: Some(slot),
                queued,
                committed,
                savepoint: false,
            }
        });
        match tokio::time::timeout(self.wait, taking).await {
            Ok(Ok(write)) => Ok(write),
            Ok(Err(e)) => Err(StoreError::Unavailable(format!("writer task failed: {e}"))),
            Err(_) => Err(StoreError::Unavailable(
                "the database is busy: no write slot in time".into(),
            )),
        }
    }

    /// Copies the whole WAL into the database file and has the next commit write it again
    /// from its beginning. Under a steady stream of commits the checkpointer's passive
    /// checkpoints never catch the WAL's end, so it would only ever grow (hundreds of
    /// megabytes in a minute of chat traffic, every page of it new to the file system, and
    /// each read searching a longer index). Taken in turn like a command, it holds the writer
    /// only for the frames written since the last passive checkpoint and for readers still
    /// on the WAL to finish (new ones read the database file).
    pub(crate) async fn restart_wal(&self) -> Result<(), StoreError> {
        self.queued.fetch_add(1, Ordering::SeqCst);
        let mut slot = self.slot.clone().lock_owned().await;
        self.queued.fetch_sub(1, Ordering::SeqCst);
        // A group left open for this turn is committed first, as a command's hand-on would.
        commit_group(&mut slot, &self.committed).await;
        let conn = slot.conn.as_mut().ok_or_else(closed)?;
        sqlx::query("PRAGMA wal_checkpoint(RESTART)")
            .execute(conn)
            .await?;
        Ok(())
    }

    /// Runs `f` on the connection outside any command (migrations, shutdown).
    pub(crate) async fn with_conn<T>(
        &self,
        f: impl AsyncFnOnce(&mut SqliteConnection) -> Result<T, StoreError>,
    ) -> Result<T, StoreError> {
        let mut slot = self.slot.lock().await;
        let conn = slot.conn.as_mut().ok_or_else(closed)?;
        f(conn).await
    }

    /// Folds the WAL into the database file and closes the connection.
    pub(crate) async fn close(&self) {
        let mut slot = self.slot.lock().await;
        if let Some(g) = slot.group.take() {
            g.outcome
                .send_replace(Some(Err(Arc::from("the store was closed"))));
        }
        if let Some(mut conn) = slot.conn.take() {
            let _ = sqlx::query("PRAGMA wal_checkpoint(TRUNCATE)")
                .execute(&mut conn)
                .await;
            let _ = conn.close().await;
        }
    }
}

fn closed() -> StoreError {
    StoreError::Unavailable("the store is closed".into())
}

/// One command holding the writer.
pub(crate) struct SqliteWrite {
    slot: Option<OwnedMutexGuard<Slot>>,
    queued: Arc<AtomicUsize>,
    committed: Arc<Notify>,
    /// Whether this command's savepoint was opened (and so it may have written).
    savepoint: bool,
}

impl SqliteWrite {
    fn slot(&mut self) -> &mut Slot {
        self.slot
            .as_mut()
            .expect("the slot is held until the command ends")
    }

    pub(crate) fn conn(&mut self) -> Result<&mut SqliteConnection, StoreError> {
        self.slot().conn.as_mut().ok_or_else(closed)
    }

    /// The statements that open this command's savepoint — and the shared transaction first,
    /// if none is open — or nothing if it is open already.
    fn opening(&mut self) -> &'static str {
        if self.savepoint {
            return "";
        }
        self.savepoint = true;
        let slot = self.slot();
        if slot.group.is_some() {
            "SAVEPOINT command;\n"
        } else {
            slot.group = Some(Group {
                members: 0,
                outcome: watch::channel(None).0,
            });
            "BEGIN;\nSAVEPOINT command;\n"
        }
    }

    /// The connection inside this command's savepoint, opening it first if needed.
    pub(crate) async fn begun(&mut self) -> Result<&mut SqliteConnection, StoreError> {
        let opening = self.opening();
        if !opening.is_empty() {
            sqlx::query(opening).execute(self.conn()?).await?;
        }
        self.conn()
    }

    /// Runs writes inside this command's savepoint and returns the rows they affected. The
    /// savepoint is opened on its own first: SQLite reports a statement like `BEGIN` as
    /// having changed as many rows as the last insert or update did, which would falsify the
    /// count callers check.
    pub(crate) async fn script(&mut self, batch: Batch) -> Result<u64, StoreError> {
        self.begun().await?;
        let (sql, args) = batch.script("", "");
        Ok(bind_args!(sqlx::query(&sql), args)
            .execute(self.conn()?)
            .await?
            .rows_affected())
    }

    /// Runs the command's last writes and ends it: commits them with every command before it
    /// in the group, now or — when another command is queued to join — when the group's last
    /// command commits. Returns once they are committed.
    pub(crate) async fn commit_with(mut self, batch: Batch) -> Result<(), StoreError> {
        if batch.is_empty() && !self.savepoint {
            // Nothing written: hand the writer on. But what the command read may be the open
            // group's writes, not committed yet; like a writer, it answers only after them.
            let slot = self.slot.take().expect("held");
            let group = slot.group.as_ref().map(|g| g.outcome.subscribe());
            hand_on(slot, &self.queued, &self.committed).await;
            if let Some(mut outcome) = group {
                let result = outcome
                    .wait_for(Option::is_some)
                    .await
                    .map_err(|_| StoreError::Unavailable("the group commit was abandoned".into()))?
                    .clone()
                    .expect("waited for an outcome");
                result.map_err(|e| StoreError::Unavailable(format!("commit failed: {e}")))?;
            }
            return Ok(());
        }
        let members = self.slot().group.as_ref().map_or(0, |g| g.members);
        let join = self.queued.load(Ordering::SeqCst) > 0 && members + 1 < MAX_GROUP;
        let opening = self.opening();
        let closing = if join {
            "RELEASE command;\n"
        } else {
            "RELEASE command;\nCOMMIT;\n"
        };
        let (sql, args) = batch.script(opening, closing);
        bind_args!(sqlx::query(&sql), args)
            .execute(self.conn()?)
            .await?;
        self.savepoint = false;
        let mut slot = self.slot.take().expect("held");
        let group = if join { slot.group.as_mut() } else { None };
        let Some(group) = group else {
            // Committed: tell the group's earlier commands, and the checkpointer.
            if let Some(g) = slot.group.take() {
                g.outcome.send_replace(Some(Ok(())));
            }
            self.committed.notify_one();
            return Ok(());
        };
        group.members += 1;
        let mut outcome = group.outcome.subscribe();
        drop(slot);
        let result = outcome
            .wait_for(Option::is_some)
            .await
            .map_err(|_| StoreError::Unavailable("the group commit was abandoned".into()))?
            .clone()
            .expect("waited for an outcome");
        result.map_err(|e| StoreError::Unavailable(format!("commit failed: {e}")))
    }
}

/// Hands the writer to the next command. The open transaction is committed first unless a
/// queued command will join it (and commit it in turn).
async fn hand_on(mut slot: OwnedMutexGuard<Slot>, queued: &AtomicUsize, committed: &Notify) {
    let Some(group) = &slot.group else { return };
    if queued.load(Ordering::SeqCst) > 0 && group.members < MAX_GROUP {
        return;
    }
    commit_group(&mut slot, committed).await;
}

/// Commits the open transaction, if any, and tells its commands how that went.
async fn commit_group(slot: &mut Slot, committed: &Notify) {
    if slot.group.is_none() {
        return;
    }
    let result = match slot.conn.as_mut() {
        Some(conn) => {
            let r = sqlx::query("COMMIT").execute(&mut *conn).await;
            if r.is_err() {
                let _ = sqlx::query("ROLLBACK").execute(&mut *conn).await;
            }
            r.map(drop).map_err(|e| Arc::from(e.to_string()))
        }
        None => Err(Arc::from("the store is closed")),
    };
    if result.is_ok() {
        committed.notify_one();
    }
    if let Some(g) = slot.group.take() {
        g.outcome.send_replace(Some(result));
    }
}

/// Undoes what an unfinished command wrote (its savepoint) and hands the writer on.
async fn abandon(
    mut slot: OwnedMutexGuard<Slot>,
    undo: bool,
    queued: Arc<AtomicUsize>,
    committed: Arc<Notify>,
) {
    if let (true, Some(conn)) = (undo, slot.conn.as_mut()) {
        let undone = sqlx::query("ROLLBACK TO command;\nRELEASE command;")
            .execute(&mut *conn)
            .await;
        if undone.is_err() {
            // The savepoint is gone, so what failed was the group's COMMIT after this
            // command's writes were released into it: nothing of the group may stand.
            let _ = sqlx::query("ROLLBACK").execute(&mut *conn).await;
            if let Some(g) = slot.group.take() {
                g.outcome
                    .send_replace(Some(Err(Arc::from("the commit failed"))));
            }
        }
    }
    hand_on(slot, &queued, &committed).await;
}

impl Drop for SqliteWrite {
    fn drop(&mut self) {
        let Some(slot) = self.slot.take() else {
            return;
        };
        let (undo, queued) = (self.savepoint, self.queued.clone());
        // Async work cannot run in drop: a task takes the slot, undoes this command and hands
        // the writer on; nobody else gets the slot until it is done.
        let finish = abandon(slot, undo, queued, self.committed.clone());
        match tokio::runtime::Handle::try_current() {
            Ok(runtime) => {
                runtime.spawn(finish);
            }
            Err(_) => tracing::error!("a write ended outside the runtime; its slot is lost"),
        }
    }
}

#[cfg(test)]
mod tests {
    use crate::args::Batch;
    use crate::{Engine, Store, Tx};
    use chrono::Utc;

    async fn store(name: &str) -> (Store, std::path::PathBuf) {
        let dir =
            std::env::temp_dir().join(format!("concierge-writer-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        let store = Store::connect(
            &format!("sqlite://{}/t.db", dir.display()),
            &Default::default(),
        )
        .await
        .unwrap();
        store.migrate().await.unwrap();
        (store, dir)
    }

    fn tag(name: &str) -> Batch {
        let mut b = Batch::default();
        b.add("INSERT INTO tags (name, created_at) VALUES ($1, $2)")
            .text(name)
            .time(Utc::now());
        b
    }

    async fn tags(store: &Store) -> Vec<String> {
        let Engine::Sqlite { read, .. } = &store.engine else {
            unreachable!()
        };
        sqlx::query_scalar("SELECT name FROM tags ORDER BY name")
            .fetch_all(read)
            .await
            .unwrap()
    }

    /// Starts a second command and returns once it is queued behind the first.
    async fn queue_behind(store: &Store) -> tokio::task::JoinHandle<Tx> {
        let Engine::Sqlite { write, .. } = &store.engine else {
            unreachable!()
        };
        let before = write.queued.load(std::sync::atomic::Ordering::SeqCst);
        let s = store.clone();
        let next = tokio::spawn(async move { s.begin().await.unwrap() });
        while write.queued.load(std::sync::atomic::Ordering::SeqCst) == before {
            tokio::task::yield_now().await;
        }
        next
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_failed_command_takes_back_only_its_own_writes_from_the_group() {
        let (store, dir) = store("fail").await;
        let first = store.begin().await.unwrap();
        let second = queue_behind(&store).await;
        // With a command queued, the first leaves its transaction open for it and waits.
        let first = tokio::spawn(async move { first.commit_with(tag("first")).await });
        let mut second = second.await.unwrap();
        let Tx::Sqlite(w) = &mut second else {
            unreachable!()
        };
        assert_eq!(
            w.slot().group.as_ref().map(|g| g.members),
            Some(1),
            "the first command joined the group instead of committing alone"
        );
        let mut failing = tag("second");
        failing.add("INSERT INTO no_such_table VALUES (1)");
        assert!(second.commit_with(failing).await.is_err());
        first
            .await
            .unwrap()
            .expect("the first command's writes are committed");
        assert_eq!(tags(&store).await, vec!["first".to_owned()]);
        store.close().await;
        let _ = std::fs::remove_dir_all(&dir);
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn an_abandoned_command_leaves_nothing_and_the_next_one_commits() {
        let (store, dir) = store("drop").await;
        let mut first = store.begin().await.unwrap();
        tag("abandoned").run(&mut first).await.unwrap();
        let second = queue_behind(&store).await;
        drop(first);
        let second = second.await.unwrap();
        second.commit_with(tag("kept")).await.unwrap();
        assert_eq!(tags(&store).await, vec!["kept".to_owned()]);
        store.close().await;
        let _ = std::fs::remove_dir_all(&dir);
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn concurrent_commands_all_commit_exactly_once() {
        let (store, dir) = store("many").await;
        let tasks: Vec<_> = (0..200)
            .map(|i| {
                let s = store.clone();
                tokio::spawn(async move {
                    let tx = s.begin().await?;
                    tx.commit_with(tag(&format!("t{i:03}"))).await
                })
            })
            .collect();
        for t in tasks {
            t.await.unwrap().unwrap();
        }
        let expected: Vec<String> = (0..200).map(|i| format!("t{i:03}")).collect();
        assert_eq!(tags(&store).await, expected);
        store.close().await;
        let _ = std::fs::remove_dir_all(&dir);
    }
}
