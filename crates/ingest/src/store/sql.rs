//! The backend-neutral SQL vocabulary of the metadata: [`Value`], [`Row`] and [`Tx`], over which
//! `store::database::Database::transaction` runs a closure on SQLite (one file in the data
//! directory, one machine) or PostgreSQL (shared by any number of instances), so every query is
//! written once. This module is the leaf both backends build on.
//!
//! The dialect is the intersection of the two: parameters are `$1 … $n` (translated to SQLite's
//! `?1 … ?n`), column types are `TEXT` and `BIGINT` only (no blobs: bytes are hex or base64
//! text; no autoincrement: keys are natural or computed in the transaction), values are
//! [`Value`]s. Aggregates over `BIGINT` that PostgreSQL widens (`SUM` gives `NUMERIC`) are
//! written `CAST(SUM(x) AS BIGINT)`; scalar `MAX(a, b)` is written as a `CASE`.
//!
//! Isolation. A transaction is serializable on both backends: SQLite takes the write lock first
//! (`BEGIN IMMEDIATE`; one connection per process, other processes wait on the busy timeout),
//! PostgreSQL runs `SERIALIZABLE`. When a backend reports that the transaction lost a race (SQLite
//! busy or locked; PostgreSQL SQLSTATE 40001 serialization failure, 40P01 deadlock, 23505 unique
//! violation) it is rolled back and the closure runs again from the start, a bounded number of
//! times with jittered backoff. So check-then-insert logic ("is the id there? if not, insert")
//! is correct across instances as written, and the closure must be a pure function of the
//! database (it is a `Fn`, and any side effect outside the database may happen more than once).

use std::time::Duration;

use crate::ApiError;

/// A value bound to a `$n` parameter or read from a result column.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Value {
    /// SQL `NULL`.
    Null,
    /// A `BIGINT` (SQLite `INTEGER`).
    Int(i64),
    /// A `TEXT`.
    Text(String),
}

impl From<i64> for Value {
    fn from(v: i64) -> Self {
        Value::Int(v)
    }
}

impl From<u64> for Value {
    /// Saturating: `BIGINT` is signed, so values above `i64::MAX` are stored as `i64::MAX` (times
    /// in ms and byte sizes never get there; counters that may are stored as text).
    fn from(v: u64) -> Self {
        Value::Int(i64::try_from(v).unwrap_or(i64::MAX))
    }
}

impl From<usize> for Value {
    /// Saturating, as for `u64`.
    fn from(v: usize) -> Self {
        Value::Int(i64::try_from(v).unwrap_or(i64::MAX))
    }
}

impl From<&str> for Value {
    fn from(v: &str) -> Self {
        Value::Text(v.to_owned())
    }
}

impl From<&String> for Value {
    fn from(v: &String) -> Self {
        Value::Text(v.clone())
    }
}

impl From<String> for Value {
    fn from(v: String) -> Self {
        Value::Text(v)
    }
}

impl From<Option<String>> for Value {
    fn from(v: Option<String>) -> Self {
        v.map_or(Value::Null, Value::Text)
    }
}

impl From<Option<&str>> for Value {
    fn from(v: Option<&str>) -> Self {
        v.map_or(Value::Null, |s| Value::Text(s.to_owned()))
    }
}

impl From<Option<i64>> for Value {
    fn from(v: Option<i64>) -> Self {
        v.map_or(Value::Null, Value::Int)
    }
}

impl From<Option<u64>> for Value {
    fn from(v: Option<u64>) -> Self {
        v.map_or(Value::Null, Value::from)
    }
}

/// One result row: its columns in `SELECT` order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Row(pub(crate) Vec<Value>);

impl Row {
    /// Column `i`, if there is one.
    pub fn get(&self, i: usize) -> Option<&Value> {
        self.0.get(i)
    }

    /// The number of columns.
    pub fn len(&self) -> usize {
        self.0.len()
    }

    /// Whether the row has no columns.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    fn column(&self, i: usize) -> Result<&Value, ApiError> {
        self.0
            .get(i)
            .ok_or_else(|| ApiError::Internal(format!("database: no column {i} in the row")))
    }

    /// Column `i` as an integer (an error if it is `NULL` or text).
    pub fn int(&self, i: usize) -> Result<i64, ApiError> {
        match self.column(i)? {
            Value::Int(v) => Ok(*v),
            other => Err(type_error(i, "an integer", other)),
        }
    }

    /// Column `i` as text (an error if it is `NULL` or an integer).
    pub fn text(&self, i: usize) -> Result<String, ApiError> {
        match self.column(i)? {
            Value::Text(v) => Ok(v.clone()),
            other => Err(type_error(i, "text", other)),
        }
    }

    /// Column `i` as an integer or `NULL`.
    pub fn opt_int(&self, i: usize) -> Result<Option<i64>, ApiError> {
        match self.column(i)? {
            Value::Null => Ok(None),
            Value::Int(v) => Ok(Some(*v)),
            other => Err(type_error(i, "an integer or null", other)),
        }
    }

    /// Column `i` as text or `NULL`.
    pub fn opt_text(&self, i: usize) -> Result<Option<String>, ApiError> {
        match self.column(i)? {
            Value::Null => Ok(None),
            Value::Text(v) => Ok(Some(v.clone())),
            other => Err(type_error(i, "text or null", other)),
        }
    }
}

fn type_error(i: usize, wanted: &str, found: &Value) -> ApiError {
    let found = match found {
        Value::Null => "null",
        Value::Int(_) => "an integer",
        Value::Text(_) => "text",
    };
    ApiError::Internal(format!("database: column {i} is {found}, not {wanted}"))
}

/// A transaction under way: SQL with `$1 … $n` parameters, run on whichever backend holds the
/// metadata. Errors are [`ApiError::Storage`] (the detail is logged by the API layer, never
/// answered to a client).
pub trait Tx {
    /// Run a statement that returns rows (`SELECT`, or anything with `RETURNING`).
    fn query(&mut self, sql: &str, params: &[Value]) -> Result<Vec<Row>, ApiError>;

    /// Run a statement that changes rows; returns how many it changed.
    fn execute(&mut self, sql: &str, params: &[Value]) -> Result<u64, ApiError>;

    /// The first row of a query, if any.
    fn query_opt(&mut self, sql: &str, params: &[Value]) -> Result<Option<Row>, ApiError> {
        Ok(self.query(sql, params)?.into_iter().next())
    }
}

/// How many times a transaction is run before a lost race is given up as an error.
pub const MAX_ATTEMPTS: u32 = 12;

/// What one run of a transaction closure came to.
pub(crate) enum Attempt<T> {
    /// Committed (`Ok`) or rolled back for a reason running it again would not change (`Err`).
    Done(Result<T, ApiError>),
    /// Rolled back because it lost a race with another transaction: run it again.
    Retry(ApiError),
}

/// The statement errors a backend saw during one attempt, kept by its [`Tx`] so the retry
/// decision does not depend on what the closure did with the error it got.
#[derive(Debug, Default, Clone, Copy)]
pub(crate) struct Failures {
    /// Some statement failed (on PostgreSQL the transaction is then aborted: it cannot commit).
    pub failed: bool,
    /// Some statement failed because of a concurrent transaction.
    pub retryable: bool,
}

impl Failures {
    /// What to make of the closure's result: retry if any statement lost a race; an error if a
    /// statement failed but the closure returned `Ok` on a backend where that aborted the
    /// transaction (`aborts`).
    pub fn verdict<T>(self, result: Result<T, ApiError>, aborts: bool) -> Attempt<T> {
        match result {
            Err(e) if self.retryable => Attempt::Retry(e),
            Ok(_) if self.retryable => Attempt::Retry(ApiError::Storage(
                "database: transaction lost a race".into(),
            )),
            Ok(_) if self.failed && aborts => Attempt::Done(Err(ApiError::Storage(
                "database: a statement failed inside the transaction".into(),
            ))),
            other => Attempt::Done(other),
        }
    }
}

/// The detail of an error for an operator's log (a storage error's `Display` is deliberately
/// vague: it is what a client sees).
pub(crate) fn detail(e: &ApiError) -> String {
    match e {
        ApiError::Storage(d) | ApiError::Internal(d) => d.clone(),
        other => other.to_string(),
    }
}

/// Exponential backoff from 2 ms up to ~250 ms, each wait a random fraction (½ to 1) of it, so
/// instances that collided do not collide again in step.
pub(crate) fn backoff(attempt: u32) -> Duration {
    use std::hash::{BuildHasher, Hasher};
    let ceiling_us = 2_000u64 << attempt.min(7);
    let random = std::collections::hash_map::RandomState::new()
        .build_hasher()
        .finish();
    Duration::from_micros(ceiling_us / 2 + random % (ceiling_us / 2 + 1))
}

/// `$1 … $n` parameters as SQLite's numbered `?1 … ?n` (outside string literals and quoted
/// names), so SQLite binds them by number exactly as PostgreSQL does.
pub(crate) fn numbered_params(sql: &str) -> String {
    let mut out = String::with_capacity(sql.len());
    let mut quote: Option<char> = None;
    let mut chars = sql.chars().peekable();
    while let Some(c) = chars.next() {
        match quote {
            Some(q) => {
                if c == q {
                    quote = None;
                }
                out.push(c);
            }
            None if c == '\'' || c == '"' => {
                quote = Some(c);
                out.push(c);
            }
            None if c == '$' && chars.peek().is_some_and(char::is_ascii_digit) => out.push('?'),
            None => out.push(c),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parameters_are_numbered_outside_literals() {
        assert_eq!(
            numbered_params(
                "SELECT a FROM t WHERE b = $2 AND c = $1 AND d = '$3' AND \"$4\" = $10"
            ),
            "SELECT a FROM t WHERE b = ?2 AND c = ?1 AND d = '$3' AND \"$4\" = ?10"
        );
        assert_eq!(numbered_params("SELECT '$' || $1"), "SELECT '$' || ?1");
    }

    #[test]
    fn values_convert_saturating() {
        assert_eq!(Value::from(u64::MAX), Value::Int(i64::MAX));
        assert_eq!(Value::from(7u64), Value::Int(7));
        assert_eq!(Value::from(None::<String>), Value::Null);
        assert_eq!(Value::from(Some(3i64)), Value::Int(3));
        assert_eq!(Value::from("x"), Value::Text("x".into()));
    }

    #[test]
    fn typed_getters_refuse_the_wrong_type() {
        let row = Row(vec![Value::Int(1), Value::Text("a".into()), Value::Null]);
        assert_eq!(row.int(0).unwrap(), 1);
        assert_eq!(row.text(1).unwrap(), "a");
        assert_eq!(row.opt_int(2).unwrap(), None);
        assert_eq!(row.opt_text(2).unwrap(), None);
        assert!(row.int(1).is_err());
        assert!(row.text(0).is_err());
        assert!(row.text(2).is_err());
        assert!(row.int(3).is_err());
    }

    #[test]
    fn backoff_grows_and_stays_bounded() {
        for attempt in 0..40 {
            let d = backoff(attempt);
            assert!(
                d >= Duration::from_millis(1) && d <= Duration::from_millis(256),
                "{d:?}"
            );
        }
    }
}
