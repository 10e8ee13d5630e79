//! The keys at rest of stored envelopes (`artifact_keys`, see [`crate::at_rest`]): inserted in
//! the commit that makes an artifact exist, read to open it, and destroyed (the column overwritten
//! with NULL, the row kept as the record of when and why) in the transaction that records a
//! revocation or an erasure.

use zeroize::Zeroizing;

use super::sql::{Tx, Value};
use crate::ApiError;

fn ms_value(v: u64) -> Value {
    Value::Int(i64::try_from(v).unwrap_or(i64::MAX))
}

/// Record the key of newly committed artifact `id`.
pub(crate) fn insert(
    tx: &mut dyn Tx,
    id: &str,
    key_hex: &str,
    now_ms: u64,
) -> Result<(), ApiError> {
    tx.execute(
        "INSERT INTO artifact_keys (artifact_id, dek, created_ms) VALUES ($1, $2, $3)",
        &[id.into(), key_hex.into(), ms_value(now_ms)],
    )?;
    Ok(())
}

/// The key of artifact `id`, `None` when it was destroyed (or the artifact has none).
pub(crate) fn key_of(tx: &mut dyn Tx, id: &str) -> Result<Option<Zeroizing<String>>, ApiError> {
    let Some(row) = tx.query_opt(
        "SELECT dek FROM artifact_keys WHERE artifact_id = $1",
        &[id.into()],
    )?
    else {
        return Ok(None);
    };
    Ok(row.opt_text(0)?.map(Zeroizing::new))
}

/// When and why the key of artifact `id` was destroyed, if it was.
pub(crate) fn destroyed(tx: &mut dyn Tx, id: &str) -> Result<Option<(u64, String)>, ApiError> {
    let Some(row) = tx.query_opt(
        "SELECT destroyed_ms, destroyed_by FROM artifact_keys WHERE artifact_id = $1 AND dek IS NULL",
        &[id.into()],
    )?
    else {
        return Ok(None);
    };
    Ok(Some((
        u64::try_from(row.opt_int(0)?.unwrap_or(0)).unwrap_or(0),
        row.opt_text(1)?.unwrap_or_default(),
    )))
}

/// Destroy the key of artifact `id` (`cause`: `revocation` or `erasure`). Returns whether a key
/// was destroyed now.
pub(crate) fn destroy(
    tx: &mut dyn Tx,
    id: &str,
    cause: &str,
    now_ms: u64,
) -> Result<bool, ApiError> {
    let n = tx.execute(
        "UPDATE artifact_keys SET dek = NULL, destroyed_ms = $1, destroyed_by = $2
         WHERE artifact_id = $3 AND dek IS NOT NULL",
        &[ms_value(now_ms), cause.into(), id.into()],
    )?;
    Ok(n > 0)
}

/// Destroy the keys of every artifact stored under `pseudonym`. Returns how many.
pub(crate) fn destroy_pseudonym(
    tx: &mut dyn Tx,
    pseudonym: &str,
    cause: &str,
    now_ms: u64,
) -> Result<u64, ApiError> {
    tx.execute(
        "UPDATE artifact_keys SET dek = NULL, destroyed_ms = $1, destroyed_by = $2
         WHERE dek IS NOT NULL
           AND artifact_id IN (SELECT id FROM artifacts WHERE pseudonym = $3)",
        &[ms_value(now_ms), cause.into(), pseudonym.into()],
    )
}
