//! SQLite's WAL checkpoints, taken off the commit path.
//!
//! Left to itself, SQLite checkpoints inside the commit that pushes the WAL past a thousand
//! pages: that commit copies the WAL into the database file and syncs both, and every write
//! queued behind the one writer waits the while (a few milliseconds, every few dozen
//! commands). Instead the writer connection never checkpoints, and a connection of its own
//! here does, shortly after commits, in `PASSIVE` mode: it copies what it can without
//! blocking the writer or readers, so commits only ever append to the WAL.

use sqlx::SqliteConnection;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::{watch, Notify};
use tokio::task::JoinHandle;

/// How long after a commit the checkpoint runs: long enough to take a burst of commits in
/// one go, short enough that the WAL stays small.
const AFTER_COMMIT: Duration = Duration::from_millis(200);

/// The checkpointing task.
pub(crate) struct Checkpoints {
    stop: watch::Sender<bool>,
    task: std::sync::Mutex<Option<JoinHandle<()>>>,
}

impl Checkpoints {
    /// Checkpoints on `conn` after each burst of commits announced on `committed`, until
    /// stopped (or until every handle to the store is gone).
    pub(crate) fn spawn(mut conn: SqliteConnection, committed: Arc<Notify>) -> Checkpoints {
        let (stop, mut stopped) = watch::channel(false);
        let task = tokio::spawn(async move {
            loop {
                tokio::select! {
                    () = committed.notified() => {}
                    changed = stopped.changed() => if changed.is_err() || *stopped.borrow() { break },
                }
                tokio::select! {
                    () = tokio::time::sleep(AFTER_COMMIT) => {}
                    changed = stopped.changed() => if changed.is_err() || *stopped.borrow() { break },
                }
                if let Err(e) = sqlx::query("PRAGMA wal_checkpoint(PASSIVE)")
                    .execute(&mut conn)
                    .await
                {
                    tracing::warn!(error = %e, "WAL checkpoint failed; the next one retries");
                }
            }
            let _ = sqlx::Connection::close(conn).await;
        });
        Checkpoints {
            stop,
            task: std::sync::Mutex::new(Some(task)),
        }
    }

    /// Stops the task and waits for it.
    pub(crate) async fn stop(&self) {
        let _ = self.stop.send(true);
        let task = self.task.lock().expect("not poisoned").take();
        if let Some(task) = task {
            let _ = task.await;
        }
    }
}
