//! Concierge's storage: one repository, [`Store`], over two real engines — SQLite (the
//! embedded default: WAL, foreign keys on, one writer connection) and PostgreSQL (for many
//! app instances) — with versioned migrations per engine, full-text search on each engine's
//! own index (FTS5, tsvector + GIN) and the durable job queue.
//!
//! Architecture invariant: all SQL lives in this crate, and dialect differences stay inside
//! it. Callers pass domain types in and get records of domain types back; they never see
//! which engine answered. Each operation that writes more than one row runs in one
//! transaction, so a failure leaves nothing half-written.
//!
//! Most statements are written once and compiled for both engines by [`on_engine!`] and
//! [`on_tx!`]: both engines accept `$1`-style parameters, `ON CONFLICT`, and `RETURNING`.
//! Where they differ (search, row locks, `SKIP LOCKED`) the statement is chosen per engine.

mod at;
mod checkpoint;
mod error;
mod page;

pub mod access;
mod args;
pub mod articles;
pub mod assistant;
pub mod audit;
mod channels;
pub mod chat;
pub mod commerce;
pub mod conversations;
pub mod customers;
pub mod events;
pub mod files;
pub mod help;
pub mod hours;
pub mod idempotency;
pub mod inbound;
pub mod jobs;
pub mod mail;
pub mod notices;
pub mod platforms;
pub mod replies;
mod search;
pub mod sessions;
mod writer;

use args::Batch;

pub use at::At;
pub use error::StoreError;
pub use page::{Cursor, Page, PageRequest, DEFAULT_LIMIT, MAX_LIMIT};

use sqlx::postgres::{PgConnectOptions, PgPoolOptions};
use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions, SqliteSynchronous};
use sqlx::{ConnectOptions, PgPool, SqlitePool};
use std::path::PathBuf;
use std::str::FromStr;
use std::time::Duration;

/// Which database engine a URL names. Unknown schemes are refused rather than silently
/// creating a new empty SQLite file somewhere.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DatabaseUrl {
    Sqlite(PathBuf),
    Postgres(String),
}

impl DatabaseUrl {
    pub fn parse(url: &str) -> Result<Self, StoreError> {
        if let Some(path) = url.strip_prefix("sqlite://") {
            let path = path.split('?').next().unwrap_or(path);
            if path.is_empty() {
                return Err(StoreError::Config("sqlite:// URL needs a file path".into()));
            }
            Ok(DatabaseUrl::Sqlite(PathBuf::from(path)))
        } else if url.starts_with("postgres://") || url.starts_with("postgresql://") {
            Ok(DatabaseUrl::Postgres(url.to_owned()))
        } else {
            Err(StoreError::Config(format!(
                "unsupported database URL {:?}: use sqlite://PATH or postgres://…",
                redact(url)
            )))
        }
    }
}

fn redact(url: &str) -> String {
    match (url.find("://"), url.rfind('@')) {
        (Some(s), Some(at)) if at > s => format!("{}://…{}", &url[..s], &url[at..]),
        _ => url.to_owned(),
    }
}

/// Tunables for the connection pools.
#[derive(Debug, Clone)]
pub struct PoolOptions {
    /// Connections for readers (SQLite) or for everything (PostgreSQL).
    pub max_connections: u32,
    /// How long a statement waits for a lock or a connection before the store reports
    /// itself unavailable.
    pub busy_timeout: Duration,
}

impl Default for PoolOptions {
    fn default() -> Self {
        PoolOptions {
            max_connections: 8,
            busy_timeout: Duration::from_secs(5),
        }
    }
}

#[derive(Clone)]
pub(crate) enum Engine {
    /// SQLite allows one writer at a time; giving writes their own single connection queues
    /// them in the process instead of failing with SQLITE_BUSY, while readers run in parallel
    /// thanks to WAL.
    Sqlite {
        read: SqlitePool,
        write: writer::Writer,
        checkpoints: std::sync::Arc<checkpoint::Checkpoints>,
    },
    Postgres(PgPool),
}

/// The repository: every read and write of Concierge's data. Cheap to clone.
#[derive(Clone)]
pub struct Store {
    pub(crate) engine: Engine,
    pub(crate) tokens: std::sync::Arc<access::TokenCache>,
    pub(crate) signal: std::sync::Arc<events::Signal>,
}

/// Runs `$body` once per engine with `$pool` bound to that engine's pool (the reader pool on
/// SQLite) and `$pg` to whether it is PostgreSQL. The body is compiled twice, so it may use
/// statements that both engines accept.
macro_rules! on_engine {
    ($store:expr, |$pool:ident, $pg:ident| $body:expr) => {
        match &$store.engine {
            $crate::Engine::Sqlite { read, .. } => {
                #[allow(unused_variables)]
                let $pg = false;
                let $pool = read;
                $body
            }
            $crate::Engine::Postgres(pool) => {
                #[allow(unused_variables)]
                let $pg = true;
                let $pool = pool;
                $body
            }
        }
    };
}
pub(crate) use on_engine;

/// Like [`on_engine!`] inside a transaction: `$conn` is the transaction's connection. On
/// SQLite the transaction (and the command's savepoint) is opened here if it is not yet (see
/// the `writer` module).
///
/// `on_tx!(read tx, …)` is for a read that comes before the command's first write: on SQLite
/// it runs on the writer connection without opening the transaction yet.
macro_rules! on_tx {
    (read $tx:expr, |$conn:ident, $pg:ident| $body:expr) => {
        $crate::on_tx!(@ $tx, t => t.conn()?, |$conn, $pg| $body)
    };
    ($tx:expr, |$conn:ident, $pg:ident| $body:expr) => {
        $crate::on_tx!(@ $tx, t => t.begun().await?, |$conn, $pg| $body)
    };
    (@ $tx:expr, $t:ident => $sqlite:expr, |$conn:ident, $pg:ident| $body:expr) => {
        match $tx {
            $crate::Tx::Sqlite($t) => {
                #[allow(unused_variables)]
                let $pg = false;
                let $conn = $sqlite;
                $body
            }
            $crate::Tx::Postgres(t) => {
                #[allow(unused_variables)]
                let $pg = true;
                let $conn = &mut **t;
                $body
            }
        }
    };
}
pub(crate) use on_tx;

/// A transaction on either engine. Dropped without [`Tx::commit`], it rolls back.
pub(crate) enum Tx {
    Sqlite(writer::SqliteWrite),
    Postgres(sqlx::Transaction<'static, sqlx::Postgres>),
}

impl Tx {
    /// Commits what this transaction wrote.
    pub(crate) async fn commit(self) -> Result<(), StoreError> {
        self.commit_with(Batch::default()).await
    }

    /// Runs the command's last writes and commits: on SQLite in one round trip.
    pub(crate) async fn commit_with(self, batch: Batch) -> Result<(), StoreError> {
        match self {
            Tx::Sqlite(t) => t.commit_with(batch).await?,
            Tx::Postgres(mut t) => {
                batch.run_each(&mut t).await?;
                t.commit().await?;
            }
        }
        Ok(())
    }

    pub(crate) fn is_postgres(&self) -> bool {
        matches!(self, Tx::Postgres(_))
    }
}

static SQLITE_MIGRATIONS: sqlx::migrate::Migrator = sqlx::migrate!("./migrations/sqlite");
static POSTGRES_MIGRATIONS: sqlx::migrate::Migrator = sqlx::migrate!("./migrations/postgres");

impl Store {
    /// Opens the database a URL names, creating an SQLite file (and its folder) if needed.
    /// Does not migrate: call [`Store::migrate`].
    pub async fn connect(url: &str, options: &PoolOptions) -> Result<Store, StoreError> {
        match DatabaseUrl::parse(url)? {
            DatabaseUrl::Sqlite(path) => {
                if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
                    std::fs::create_dir_all(dir).map_err(|e| {
                        StoreError::Config(format!("cannot create {}: {e}", dir.display()))
                    })?;
                }
                let connect = SqliteConnectOptions::new()
                    .filename(&path)
                    .create_if_missing(true)
                    .journal_mode(SqliteJournalMode::Wal)
                    // With WAL, NORMAL is durable against application crashes; only an OS
                    // crash or power loss can lose the last transactions.
                    .synchronous(SqliteSynchronous::Normal)
                    .foreign_keys(true)
                    .busy_timeout(options.busy_timeout)
                    .pragma("cache_size", "-16000")
                    .pragma("temp_store", "memory");
                // The writer never checkpoints: a connection of its own does, off the commit
                // path (see `checkpoint`).
                let write = writer::Writer::new(
                    connect
                        .clone()
                        .pragma("wal_autocheckpoint", "0")
                        // A WAL that grew in a burst shrinks back when it starts again.
                        .pragma("journal_size_limit", "67108864")
                        .connect()
                        .await?,
                    options.busy_timeout,
                );
                let checkpoints = std::sync::Arc::new(checkpoint::Checkpoints::spawn(
                    connect.connect().await?,
                    write.clone(),
                ));
                // A file connection cannot go stale the way a socket can, and the ping sqlx
                // sends before lending a connection would cost a trip to its thread each time.
                let read = SqlitePoolOptions::new()
                    .test_before_acquire(false)
                    .max_connections(options.max_connections.max(1))
                    .acquire_timeout(options.busy_timeout)
                    .connect_with(connect.read_only(true))
                    .await?;
                Ok(Store {
                    engine: Engine::Sqlite {
                        read,
                        write,
                        checkpoints,
                    },
                    tokens: Default::default(),
                    signal: Default::default(),
                })
            }
            DatabaseUrl::Postgres(url) => {
                let connect = PgConnectOptions::from_str(&url)?
                    .application_name("concierge")
                    .options([("statement_timeout", "30s"), ("lock_timeout", "5s")]);
                let pool = PgPoolOptions::new()
                    .max_connections(options.max_connections.max(2))
                    .acquire_timeout(options.busy_timeout)
                    .connect_with(connect)
                    .await?;
                Ok(Store {
                    engine: Engine::Postgres(pool),
                    tokens: Default::default(),
                    signal: Default::default(),
                })
            }
        }
    }

    /// Applies pending migrations; returns how many were applied.
    pub async fn migrate(&self) -> Result<usize, StoreError> {
        let (migrator, before) = match &self.engine {
            Engine::Sqlite { write, .. } => {
                let before = write
                    .with_conn(async |conn| {
                        let before = applied_count_sqlite(&mut *conn).await;
                        SQLITE_MIGRATIONS.run(&mut *conn).await?;
                        Ok(before)
                    })
                    .await?;
                (&SQLITE_MIGRATIONS, before)
            }
            Engine::Postgres(pool) => {
                let before = applied_count_postgres(pool).await;
                POSTGRES_MIGRATIONS.run(pool).await?;
                (&POSTGRES_MIGRATIONS, before)
            }
        };
        Ok(migrator.iter().count().saturating_sub(before))
    }

    /// Whether the database answers.
    pub async fn health(&self) -> Result<(), StoreError> {
        on_engine!(self, |pool, pg| {
            sqlx::query("SELECT 1").execute(pool).await?;
        });
        Ok(())
    }

    /// Which engine this is, for logs and `/healthz`.
    pub fn engine_name(&self) -> &'static str {
        match self.engine {
            Engine::Sqlite { .. } => "sqlite",
            Engine::Postgres(_) => "postgres",
        }
    }

    /// Closes every connection, waiting for statements in flight.
    pub async fn close(&self) {
        match &self.engine {
            Engine::Sqlite {
                read,
                write,
                checkpoints,
            } => {
                checkpoints.stop().await;
                read.close().await;
                // Folds the WAL back into the main file so a stopped service leaves one file.
                write.close().await;
            }
            Engine::Postgres(pool) => pool.close().await,
        }
    }

    pub(crate) async fn begin(&self) -> Result<Tx, StoreError> {
        Ok(match &self.engine {
            Engine::Sqlite { write, .. } => Tx::Sqlite(write.begin().await?),
            Engine::Postgres(pool) => Tx::Postgres(pool.begin().await?),
        })
    }
}

#[cfg(test)]
impl Store {
    /// Applies the migrations up to `version` only: a database as an older version left it,
    /// to test that it upgrades.
    pub(crate) async fn migrate_until(&self, version: i64) -> Result<(), StoreError> {
        use sqlx::migrate::{Migration, MigrationSource, Migrator};

        /// The embedded migrations up to a version.
        #[derive(Debug)]
        struct Until(Vec<Migration>);

        impl MigrationSource<'static> for Until {
            fn resolve(
                self,
            ) -> futures::future::BoxFuture<'static, Result<Vec<Migration>, sqlx::error::BoxDynError>>
            {
                Box::pin(async move { Ok(self.0) })
            }
        }

        let until = |all: &Migrator| {
            Until(
                all.iter()
                    .filter(|m| m.version <= version)
                    .cloned()
                    .collect(),
            )
        };
        match &self.engine {
            Engine::Sqlite { write, .. } => {
                let migrator = Migrator::new(until(&SQLITE_MIGRATIONS)).await?;
                write
                    .with_conn(async |conn| Ok(migrator.run(&mut *conn).await?))
                    .await
            }
            Engine::Postgres(pool) => {
                let migrator = Migrator::new(until(&POSTGRES_MIGRATIONS)).await?;
                Ok(migrator.run(pool).await?)
            }
        }
    }
}

async fn applied_count_sqlite(pool: &mut sqlx::SqliteConnection) -> usize {
    sqlx::query_scalar::<_, i64>("SELECT count(*) FROM _sqlx_migrations WHERE success")
        .fetch_one(pool)
        .await
        .map(|n| n as usize)
        .unwrap_or(0)
}

async fn applied_count_postgres(pool: &PgPool) -> usize {
    sqlx::query_scalar::<_, i64>("SELECT count(*) FROM _sqlx_migrations WHERE success")
        .fetch_one(pool)
        .await
        .map(|n| n as usize)
        .unwrap_or(0)
}

/// A random secret for a link sent to a shopper (a tracking page, an unsubscribe link):
/// 122 random bits as 32 hex digits, too many to guess.
pub(crate) fn secret_token() -> String {
    uuid::Uuid::new_v4().simple().to_string()
}

/// Takes a lock on `key` for the rest of the transaction on PostgreSQL, where two workers
/// may apply two deliveries about one record at once; SQLite's one writer already orders
/// them.
pub(crate) async fn lock_key(tx: &mut Tx, key: &str) -> Result<(), StoreError> {
    if tx.is_postgres() {
        on_tx!(tx, |conn, pg| sqlx::query(
            "SELECT pg_advisory_xact_lock(hashtext($1))"
        )
        .bind(key)
        .execute(conn)
        .await?
        .rows_affected());
    }
    Ok(())
}

/// A migrated store on a fresh SQLite file in a folder of its own, for the store's unit
/// tests; the test removes the folder when done.
#[cfg(test)]
pub(crate) async fn sqlite_for_test(name: &str) -> (Store, PathBuf) {
    let dir = std::env::temp_dir().join(format!("concierge-{name}-{}", uuid::Uuid::now_v7()));
    let url = format!("sqlite://{}/t.db", dir.display());
    let store = Store::connect(&url, &Default::default()).await.unwrap();
    store.migrate().await.unwrap();
    (store, dir)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn database_urls_pick_the_engine_by_scheme() {
        assert_eq!(
            DatabaseUrl::parse("sqlite://./data/c.db").unwrap(),
            DatabaseUrl::Sqlite(PathBuf::from("./data/c.db"))
        );
        assert!(matches!(
            DatabaseUrl::parse("postgres://u@h/db").unwrap(),
            DatabaseUrl::Postgres(_)
        ));
        let err = DatabaseUrl::parse("mysql://root:hunter2@h/db")
            .unwrap_err()
            .to_string();
        assert!(err.contains("unsupported"), "{err}");
        assert!(
            !err.contains("hunter2"),
            "the password must not be echoed: {err}"
        );
        assert!(DatabaseUrl::parse("sqlite://").is_err());
    }
}
