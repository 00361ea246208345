//! What can go wrong in storage, in terms the API maps to statuses.

/// A storage failure. `NotFound`, `Conflict` and `Unavailable` are expected outcomes the API
/// reports to clients; `Database` and `Corrupt` are bugs or broken data and are logged.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("{0} not found")]
    NotFound(&'static str),
    /// A uniqueness rule or a state rule refused the write; `field` names what clashed.
    #[error("{message}")]
    Conflict {
        field: &'static str,
        message: String,
    },
    /// A referenced record does not exist (an unknown assignee, team, order).
    #[error("{message}")]
    Reference {
        field: &'static str,
        message: String,
    },
    /// A well-formed value that cannot be used: another record holds it (a slug taken).
    /// Unlike a conflict, retrying never helps; the value has to change.
    #[error("{message}")]
    Taken {
        field: &'static str,
        message: String,
    },
    /// The database is locked, down or overloaded; retrying later may work.
    #[error("the database is unavailable: {0}")]
    Unavailable(String),
    #[error("configuration: {0}")]
    Config(String),
    #[error("stored data is invalid: {0}")]
    Corrupt(String),
    #[error("database error: {0}")]
    Database(sqlx::Error),
    #[error("migration failed: {0}")]
    Migrate(#[from] sqlx::migrate::MigrateError),
}

impl StoreError {
    pub(crate) fn conflict(field: &'static str, message: impl Into<String>) -> Self {
        StoreError::Conflict {
            field,
            message: message.into(),
        }
    }

    pub(crate) fn taken(field: &'static str, message: impl Into<String>) -> Self {
        StoreError::Taken {
            field,
            message: message.into(),
        }
    }

    pub(crate) fn reference(field: &'static str, message: impl Into<String>) -> Self {
        StoreError::Reference {
            field,
            message: message.into(),
        }
    }

    pub(crate) fn corrupt(what: impl std::fmt::Display) -> Self {
        StoreError::Corrupt(what.to_string())
    }
}

impl From<sqlx::Error> for StoreError {
    fn from(e: sqlx::Error) -> Self {
        match &e {
            sqlx::Error::PoolTimedOut
            | sqlx::Error::PoolClosed
            | sqlx::Error::Io(_)
            | sqlx::Error::Tls(_) => StoreError::Unavailable(e.to_string()),
            sqlx::Error::Database(db) => {
                let code = db.code().unwrap_or_default();
                // SQLite: 5 SQLITE_BUSY, 6 SQLITE_LOCKED, 10 SQLITE_IOERR, 13 SQLITE_FULL,
                // 14 SQLITE_CANTOPEN (and their extended codes, whose low byte is the same).
                // PostgreSQL: class 08 connection, 53 resources, 57 operator intervention,
                // 55P03 lock not available, 40001/40P01 serialisation and deadlock.
                let sqlite_unavailable = code
                    .parse::<i32>()
                    .map(|c| matches!(c & 0xff, 5 | 6 | 10 | 13 | 14))
                    .unwrap_or(false);
                let pg_unavailable = ["08", "53", "57"].iter().any(|p| code.starts_with(p))
                    || matches!(code.as_ref(), "55P03" | "40001" | "40P01");
                if sqlite_unavailable || pg_unavailable {
                    StoreError::Unavailable(db.message().to_owned())
                } else if db.is_unique_violation() {
                    StoreError::Conflict {
                        field: "id",
                        message: "a record with that key already exists".into(),
                    }
                } else if db.is_foreign_key_violation() {
                    StoreError::Reference {
                        field: "id",
                        message: "a referenced record does not exist".into(),
                    }
                } else {
                    StoreError::Database(e)
                }
            }
            _ => StoreError::Database(e),
        }
    }
}
