//! The metadata database: [`Database`] opens SQLite or PostgreSQL, creates the schema, runs
//! transactions with retries (the dialect and the retry rule are in `store::sql`) and takes the
//! sweep lock that lets one instance at a time clean abandoned staging objects.

use std::fmt;
use std::path::Path;
use std::sync::Arc;

use super::schema::SCHEMA;
use super::sql::{Attempt, MAX_ATTEMPTS, Tx, backoff, detail};
use crate::config::{DATABASE_FILE, DatabaseLocation};
use crate::{ApiError, ServeError};

/// The backends behind [`Database`].
pub(crate) enum Backend {
    /// One SQLite file.
    Sqlite(super::sqlite::Sqlite),
    /// A PostgreSQL server shared by every instance.
    Postgres(Box<super::postgres::Postgres>),
}

/// The file beside a SQLite database whose exclusive lock the sweeping instance holds.
pub const SWEEP_LOCK_FILE: &str = "sweep.lock";

/// Held by the one instance sweeping abandoned staging objects; dropping it releases the lock.
#[derive(Debug)]
pub enum SweepLock {
    /// An exclusive lock on `sweep.lock` (SQLite).
    File(std::fs::File),
    /// A PostgreSQL session advisory lock on its own connection.
    Postgres(Box<super::postgres::SweepSession>),
}

/// The metadata database: a handle cheap to clone, shared by every request.
#[derive(Clone)]
pub struct Database {
    backend: Arc<Backend>,
}

impl fmt::Debug for Database {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // Never the connection string: it may carry a password.
        f.debug_struct("Database")
            .field("backend", &self.backend_name())
            .field("at", &self.describe())
            .finish()
    }
}

impl Database {
    /// Open the database `location` names (SQLite: `<data_dir>/veil-ingest.sqlite3`, created if
    /// needed) and create the schema. Blocking (it connects and runs DDL); it may be called from
    /// async code at start-up, where it runs on a thread of its own.
    pub fn open(location: &DatabaseLocation, data_dir: &Path) -> Result<Self, ServeError> {
        match location {
            DatabaseLocation::Sqlite => Self::open_sqlite(&data_dir.join(DATABASE_FILE)),
            DatabaseLocation::Postgres(url) => {
                let config = url.postgres_config()?;
                // rust-postgres' blocking client runs a runtime of its own, which must not start
                // on a thread already driving async tasks.
                std::thread::scope(|s| {
                    s.spawn(|| {
                        let db = Database {
                            backend: Arc::new(Backend::Postgres(Box::new(
                                super::postgres::Postgres::open(config)?,
                            ))),
                        };
                        db.create_schema()?;
                        Ok(db)
                    })
                    .join()
                    .unwrap_or_else(|_| {
                        Err(ServeError::Storage(
                            "the database start-up thread panicked".into(),
                        ))
                    })
                })
            }
        }
    }

    /// Open (creating if needed) the SQLite database file at `path`, with the schema.
    pub fn open_sqlite(path: &Path) -> Result<Self, ServeError> {
        let db = Database {
            backend: Arc::new(Backend::Sqlite(super::sqlite::Sqlite::open(path)?)),
        };
        db.create_schema()?;
        Ok(db)
    }

    /// Where the database is, for logs: the SQLite file, or `user@host:port/dbname` (never a
    /// password).
    pub fn describe(&self) -> String {
        match &*self.backend {
            Backend::Sqlite(db) => db.path().display().to_string(),
            Backend::Postgres(db) => db.describe(),
        }
    }

    /// Run every statement of [`SCHEMA`] (each idempotent) in one transaction.
    fn create_schema(&self) -> Result<(), ServeError> {
        let postgres = matches!(&*self.backend, Backend::Postgres(_));
        self.transaction_blocking(|tx| {
            if postgres {
                super::postgres::Postgres::lock_schema(tx)?;
            }
            for statement in SCHEMA {
                tx.execute(statement, &[])?;
            }
            Ok(())
        })
        .map_err(|e| ServeError::Storage(format!("creating the schema: {}", detail(&e))))
    }

    /// `"sqlite"` or `"postgres"`.
    pub fn backend_name(&self) -> &'static str {
        match &*self.backend {
            Backend::Sqlite(_) => "sqlite",
            Backend::Postgres(_) => "postgres",
        }
    }

    /// Run `f` in one serializable transaction, off the async executor: committed when it
    /// returns `Ok`, rolled back when it returns `Err`, and run again from the start (up to
    /// [`MAX_ATTEMPTS`] times, with jittered backoff) when the backend reports it lost a race with
    /// another transaction or instance.
    pub async fn transaction<T: Send + 'static>(
        &self,
        f: impl Fn(&mut dyn Tx) -> Result<T, ApiError> + Send + Sync + 'static,
    ) -> Result<T, ApiError> {
        let backend = self.backend.clone();
        tokio::task::spawn_blocking(move || run_with_retries(&backend, &f))
            .await
            .map_err(|e| ApiError::Internal(format!("database task: {e}")))?
    }

    /// Try to become the one instance that sweeps abandoned staging objects, without waiting:
    /// `None` when another holds the lock. PostgreSQL: a session advisory lock
    /// (`pg_try_advisory_lock`) on a connection of its own; SQLite: an exclusive lock on
    /// `sweep.lock` beside the database file. The lock is released when the returned guard is
    /// dropped, or when the process dies. Blocking.
    pub fn try_sweep_lock(&self) -> Result<Option<SweepLock>, ApiError> {
        match &*self.backend {
            Backend::Sqlite(db) => {
                let path = db
                    .path()
                    .parent()
                    .unwrap_or_else(|| Path::new("."))
                    .join(SWEEP_LOCK_FILE);
                let file = std::fs::File::options()
                    .create(true)
                    .truncate(false)
                    .write(true)
                    .open(&path)
                    .map_err(|e| ApiError::Storage(format!("{}: {e}", path.display())))?;
                match file.try_lock() {
                    Ok(()) => Ok(Some(SweepLock::File(file))),
                    Err(std::fs::TryLockError::WouldBlock) => Ok(None),
                    Err(std::fs::TryLockError::Error(e)) => {
                        Err(ApiError::Storage(format!("{}: {e}", path.display())))
                    }
                }
            }
            Backend::Postgres(db) => Ok(db
                .try_sweep_lock()?
                .map(|session| SweepLock::Postgres(Box::new(session)))),
        }
    }

    /// [`Database::transaction`] on the calling thread (for start-up and tools that have no
    /// async runtime; never call it from async code).
    pub fn transaction_blocking<T>(
        &self,
        f: impl Fn(&mut dyn Tx) -> Result<T, ApiError>,
    ) -> Result<T, ApiError> {
        run_with_retries(&self.backend, &f)
    }
}

fn run_with_retries<T>(
    backend: &Backend,
    f: &dyn Fn(&mut dyn Tx) -> Result<T, ApiError>,
) -> Result<T, ApiError> {
    let mut attempt = 0;
    loop {
        let outcome = match backend {
            Backend::Sqlite(db) => db.attempt(f),
            Backend::Postgres(db) => db.attempt(f),
        };
        match outcome {
            Attempt::Done(result) => return result,
            Attempt::Retry(e) => {
                attempt += 1;
                if attempt >= MAX_ATTEMPTS {
                    return Err(e);
                }
                std::thread::sleep(backoff(attempt));
            }
        }
    }
}
