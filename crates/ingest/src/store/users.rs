//! Recipient users (`users`) and the nonces of their signed requests (`user_nonces`).
//!
//! A user is created by the operator with a role and purposes (`crate::reads::Role`) and is
//! identified by the key id of its ES256 key (SHA-256 of the uncompressed SEC1 point, as for
//! clients). A disabled user keeps its row: the access log names it.

use super::sql::{Row, Tx, Value};
use crate::ApiError;

/// A recipient user.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UserRecord {
    /// Its key id, hex.
    pub user_kid: String,
    /// Its ES256 key, uncompressed SEC1 hex.
    pub user_key: String,
    /// Its name (a person or a service).
    pub name: String,
    /// Its role (`crate::reads::Role::as_str`).
    pub role: String,
    /// The purposes it may read for.
    pub purposes: Vec<String>,
    /// When it was added, ms since the epoch.
    pub created_ms: u64,
    /// When it was disabled, if it was.
    pub disabled_ms: Option<u64>,
}

fn ms(v: i64) -> u64 {
    u64::try_from(v).unwrap_or(0)
}

fn ms_value(v: u64) -> Value {
    Value::Int(i64::try_from(v).unwrap_or(i64::MAX))
}

const COLUMNS: &str = "user_kid, user_key, name, role, purposes, created_ms, disabled_ms";

fn record(row: &Row) -> Result<UserRecord, ApiError> {
    Ok(UserRecord {
        user_kid: row.text(0)?,
        user_key: row.text(1)?,
        name: row.text(2)?,
        role: row.text(3)?,
        purposes: row.text(4)?.split_whitespace().map(str::to_owned).collect(),
        created_ms: ms(row.int(5)?),
        disabled_ms: row.opt_int(6)?.map(ms),
    })
}

/// Add a user; a key already added is refused (`bad-request`).
pub(crate) fn add_user(tx: &mut dyn Tx, user: &UserRecord) -> Result<(), ApiError> {
    if user_in(tx, &user.user_kid)?.is_some() {
        return Err(ApiError::BadRequest(format!(
            "a user with key {} already exists",
            user.user_kid
        )));
    }
    tx.execute(
        &format!("INSERT INTO users ({COLUMNS}) VALUES ($1, $2, $3, $4, $5, $6, NULL)"),
        &[
            (&user.user_kid).into(),
            (&user.user_key).into(),
            (&user.name).into(),
            (&user.role).into(),
            user.purposes.join(" ").into(),
            ms_value(user.created_ms),
        ],
    )?;
    Ok(())
}

/// The user with key id `kid`, if any.
pub(crate) fn user_in(tx: &mut dyn Tx, kid: &str) -> Result<Option<UserRecord>, ApiError> {
    tx.query_opt(
        &format!("SELECT {COLUMNS} FROM users WHERE user_kid = $1"),
        &[kid.into()],
    )?
    .map(|r| record(&r))
    .transpose()
}

/// Every user, oldest first.
pub(crate) fn all_users(tx: &mut dyn Tx) -> Result<Vec<UserRecord>, ApiError> {
    tx.query(
        &format!("SELECT {COLUMNS} FROM users ORDER BY created_ms, user_kid"),
        &[],
    )?
    .iter()
    .map(record)
    .collect()
}

/// Disable user `kid`. Returns the record, `None` if there is no such user.
pub(crate) fn disable_user(
    tx: &mut dyn Tx,
    kid: &str,
    now_ms: u64,
) -> Result<Option<UserRecord>, ApiError> {
    tx.execute(
        "UPDATE users SET disabled_ms = $1 WHERE user_kid = $2 AND disabled_ms IS NULL",
        &[ms_value(now_ms), kid.into()],
    )?;
    user_in(tx, kid)
}

/// Accept nonce `nonce` of user `kid` once: a second use is `nonce-reused`.
pub(crate) fn use_nonce(
    tx: &mut dyn Tx,
    kid: &str,
    nonce: &str,
    now_ms: u64,
) -> Result<(), ApiError> {
    if tx
        .query_opt(
            "SELECT 1 FROM user_nonces WHERE user_kid = $1 AND nonce = $2",
            &[kid.into(), nonce.into()],
        )?
        .is_some()
    {
        return Err(ApiError::NonceReused {
            nonce: nonce.to_owned(),
        });
    }
    tx.execute(
        "INSERT INTO user_nonces (user_kid, nonce, received_ms) VALUES ($1, $2, $3)",
        &[kid.into(), nonce.into(), ms_value(now_ms)],
    )?;
    Ok(())
}
