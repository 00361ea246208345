//! SQLite's WAL checkpoints, taken off the commit path.
//!
//! Left to itself, SQLite checkpoints inside the commit that pushes the WAL past a thousand
//! pages: that commit copies the WAL into the database file and syncs both, and every write
//! queued behind the one writer waits the while (a few milliseconds, every few dozen
//! commands). Instead the writer connection never checkpoints, and a connection of its own
//! here does, shortly after commits, in `PASSIVE` mode: it copies what it can without
//! blocking the writer or readers, so commits only ever append to the WAL. Passive
//! checkpoints cannot start the WAL again from its beginning while commits keep coming, so
//! once it holds [`RESTART_FRAMES`] the writer does that in its turn ([`Writer::restart_wal`]).

use crate::writer::Writer;

use sqlx::SqliteConnection;
use std::time::Duration;
use tokio::sync::watch;
use tokio::task::JoinHandle;

/// How long after a commit the checkpoint runs: long enough to take a burst of commits in
/// one go, short enough that the WAL stays small.
const AFTER_COMMIT: Duration = Duration::from_millis(200);

/// The WAL's size, in frames (pages), past which it is started again: 16 MiB of 4 KiB pages,
/// about a second of heavy chat traffic (4 and 64 MiB both did worse).
const RESTART_FRAMES: i64 = 4096;

/// The checkpointing task.
pub(crate) struct Checkpoints {
    stop: watch::Sender<bool>,
    task: std::sync::Mutex<Option<JoinHandle<()>>>,
}

impl Checkpoints {
    /// Checkpoints on `conn` after each burst of commits announced on `committed`, until
    /// stopped (or until every handle to the store is gone).
    pub(crate) fn spawn(mut conn: SqliteConnection, writer: Writer) -> Checkpoints {
        let committed = writer.committed();
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
                // (busy, frames in the WAL, frames copied)
                match sqlx::query_as::<_, (i64, i64, i64)>("PRAGMA wal_checkpoint(PASSIVE)")
                    .fetch_one(&mut conn)
                    .await
                {
                    Ok((_, frames, _)) if frames >= RESTART_FRAMES => {
                        if let Err(e) = writer.restart_wal().await {
                            tracing::warn!(error = %e, "the WAL could not be restarted; the next checkpoint retries");
                        }
                    }
                    Ok(_) => {}
                    Err(e) => {
                        tracing::warn!(error = %e, "WAL checkpoint failed; the next one retries")
                    }
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
