//! The SQLite backend of [`Database`](super::database::Database): one file in the data directory, for
//! one machine. WAL with `synchronous = FULL` (a committed artifact survives power loss), one
//! connection per process behind a mutex, every transaction `BEGIN IMMEDIATE` (the write lock
//! taken first, so check-then-insert is atomic); another process on the same file (an operator's
//! `veil admin` command) waits on the busy timeout, and a transaction that still finds the file
//! busy or locked is run again.

use std::path::{Path, PathBuf};
use std::sync::Mutex;

use rusqlite::types::{ToSqlOutput, ValueRef};
use rusqlite::{Connection, ErrorCode, TransactionBehavior};

use super::sql::{Attempt, Failures, Row, Tx, Value, numbered_params};
use crate::{ApiError, ServeError};

/// How long a statement waits for another process's lock before it counts as busy.
const BUSY_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(10);

/// One SQLite database file.
pub(crate) struct Sqlite {
    conn: Mutex<Connection>,
    path: PathBuf,
}

impl Sqlite {
    /// Open (creating if needed) the database at `path` and create the schema.
    pub fn open(path: &Path) -> Result<Self, ServeError> {
        let storage = |e: rusqlite::Error| ServeError::Storage(format!("{}: {e}", path.display()));
        let conn = Connection::open(path).map_err(storage)?;
        conn.pragma_update(None, "journal_mode", "WAL")
            .map_err(storage)?;
        conn.pragma_update(None, "synchronous", "FULL")
            .map_err(storage)?;
        conn.pragma_update(None, "foreign_keys", "ON")
            .map_err(storage)?;
        // Deleted and overwritten content (a destroyed artifact key) is zeroed in the file, not
        // left in a free page: crypto-shredding must not be undone by reading the database file.
        conn.pragma_update(None, "secure_delete", "ON")
            .map_err(storage)?;
        conn.busy_timeout(BUSY_TIMEOUT).map_err(storage)?;
        Ok(Sqlite {
            conn: Mutex::new(conn),
            path: path.to_owned(),
        })
    }

    /// The database file.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Run `f` once in a `BEGIN IMMEDIATE` transaction.
    pub fn attempt<T>(&self, f: &dyn Fn(&mut dyn Tx) -> Result<T, ApiError>) -> Attempt<T> {
        let Ok(mut conn) = self.conn.lock() else {
            return Attempt::Done(Err(ApiError::Internal("database lock poisoned".into())));
        };
        let tx = match conn.transaction_with_behavior(TransactionBehavior::Immediate) {
            Ok(tx) => tx,
            Err(e) if is_busy(&e) => return Attempt::Retry(db_err(&e)),
            Err(e) => return Attempt::Done(Err(db_err(&e))),
        };
        let mut handle = SqliteTx {
            conn: &tx,
            failures: Failures::default(),
        };
        let result = f(&mut handle);
        let failures = handle.failures;
        match failures.verdict(result, false) {
            Attempt::Done(Ok(value)) => match tx.commit() {
                Ok(()) => Attempt::Done(Ok(value)),
                Err(e) if is_busy(&e) => Attempt::Retry(db_err(&e)),
                Err(e) => Attempt::Done(Err(db_err(&e))),
            },
            // Dropping the transaction rolls it back.
            other => other,
        }
    }
}

/// A statement error as the API sees it (the detail is logged, never answered).
fn db_err(e: &rusqlite::Error) -> ApiError {
    ApiError::Storage(format!("database: {e}"))
}

/// Another connection holds the lock past the busy timeout: worth running the transaction again.
fn is_busy(e: &rusqlite::Error) -> bool {
    matches!(
        e.sqlite_error_code(),
        Some(ErrorCode::DatabaseBusy | ErrorCode::DatabaseLocked)
    )
}

struct SqliteTx<'a> {
    conn: &'a Connection,
    failures: Failures,
}

impl SqliteTx<'_> {
    /// Record a failed statement (busy: the attempt is run again) and turn it into an error.
    fn note(&mut self, e: &rusqlite::Error) -> ApiError {
        self.failures.failed = true;
        self.failures.retryable |= is_busy(e);
        db_err(e)
    }
}

impl rusqlite::ToSql for Value {
    fn to_sql(&self) -> rusqlite::Result<ToSqlOutput<'_>> {
        Ok(match self {
            Value::Null => ToSqlOutput::Borrowed(ValueRef::Null),
            Value::Int(v) => ToSqlOutput::Borrowed(ValueRef::Integer(*v)),
            Value::Text(v) => ToSqlOutput::Borrowed(ValueRef::Text(v.as_bytes())),
        })
    }
}

fn value_of(v: ValueRef<'_>) -> Result<Value, String> {
    match v {
        ValueRef::Null => Ok(Value::Null),
        ValueRef::Integer(i) => Ok(Value::Int(i)),
        ValueRef::Text(t) => std::str::from_utf8(t)
            .map(|s| Value::Text(s.to_owned()))
            .map_err(|_| "a text column is not UTF-8".to_owned()),
        ValueRef::Real(_) => Err("a real column (the schema has only TEXT and BIGINT)".to_owned()),
        ValueRef::Blob(_) => Err("a blob column (the schema has only TEXT and BIGINT)".to_owned()),
    }
}

impl Tx for SqliteTx<'_> {
    fn query(&mut self, sql: &str, params: &[Value]) -> Result<Vec<Row>, ApiError> {
        let conn = self.conn;
        let mut stmt = conn
            .prepare(&numbered_params(sql))
            .map_err(|e| self.note(&e))?;
        let columns = stmt.column_count();
        let mut rows = stmt
            .query(rusqlite::params_from_iter(params.iter()))
            .map_err(|e| self.note(&e))?;
        let mut out = Vec::new();
        while let Some(row) = rows.next().map_err(|e| self.note(&e))? {
            let mut values = Vec::with_capacity(columns);
            for i in 0..columns {
                let value = row.get_ref(i).map_err(|e| db_err(&e))?;
                values.push(
                    value_of(value).map_err(|e| ApiError::Storage(format!("database: {e}")))?,
                );
            }
            out.push(Row(values));
        }
        Ok(out)
    }

    fn execute(&mut self, sql: &str, params: &[Value]) -> Result<u64, ApiError> {
        let conn = self.conn;
        let mut stmt = conn
            .prepare(&numbered_params(sql))
            .map_err(|e| self.note(&e))?;
        let changed = stmt
            .execute(rusqlite::params_from_iter(params.iter()))
            .map_err(|e| self.note(&e))?;
        Ok(u64::try_from(changed).unwrap_or(u64::MAX))
    }
}
