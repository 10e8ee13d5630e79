//! The access log (`access_log`): a `veil_audit` chain kept by the server. Each row is one
//! [`ChainedEntry`] as its JSON-lines form, with its seq, subject pseudonym and artifact as
//! columns to select by. An append reads the head and inserts the next seq in the caller's
//! serializable transaction, so two instances appending at once conflict on the seq and one is
//! retried ([`super::Database::transaction`]): the chain never forks.
//!
//! Entries are signed with the server's log key (derived from its recipient key, so every
//! instance of one deployment signs alike); `veil_audit::verify_chain` checks an export.

use p256::ecdsa::signature::Signer as _;
use p256::ecdsa::{Signature, SigningKey};
use veil_audit::{AuditEntry, AuditEvent, ChainedEntry, GENESIS_HASH};

use super::sql::{Tx, Value};
use crate::ApiError;

/// Most entries one export answer carries.
pub const MAX_EXPORT: usize = 10_000;

fn parse(text: &str) -> Result<ChainedEntry, ApiError> {
    let value: serde_json::Value = serde_json::from_str(text)
        .map_err(|e| ApiError::Internal(format!("stored log entry: {e}")))?;
    ChainedEntry::from_json(&value)
        .map_err(|e| ApiError::Internal(format!("stored log entry: {e}")))
}

/// One entry to append.
#[derive(Debug, Clone)]
pub(crate) struct LogItem<'a> {
    pub time_ms: u64,
    pub actor: &'a str,
    pub event: &'a str,
    pub subject: Option<&'a str>,
    pub artifact: Option<&'a str>,
    pub details: serde_json::Value,
}

/// Append `item` to the chain, signed with `key`. Returns the chained entry.
pub(crate) fn append(
    tx: &mut dyn Tx,
    key: &SigningKey,
    item: &LogItem<'_>,
) -> Result<ChainedEntry, ApiError> {
    let last = tx.query_opt(
        "SELECT entry FROM access_log ORDER BY seq DESC LIMIT 1",
        &[],
    )?;
    let (seq, prev) = match last {
        Some(row) => {
            let last = parse(&row.text(0)?)?;
            (last.entry.seq + 1, last.hash)
        }
        None => (0, GENESIS_HASH),
    };
    let entry = AuditEntry {
        seq,
        time_ms: item.time_ms,
        actor: item.actor.to_owned(),
        event: AuditEvent::from_code(item.event),
        subject: item.subject.map(str::to_owned),
        details: item.details.clone(),
    };
    let hash = entry.chain_hash(&prev);
    let signed: Signature = key.sign(&hash);
    let mut signature = [0u8; 64];
    signature.copy_from_slice(&signed.to_bytes());
    let chained = ChainedEntry {
        entry,
        prev,
        hash,
        signature,
    };
    tx.execute(
        "INSERT INTO access_log (seq, subject, artifact_id, entry) VALUES ($1, $2, $3, $4)",
        &[
            Value::Int(i64::try_from(seq).unwrap_or(i64::MAX)),
            item.subject.into(),
            item.artifact.into(),
            chained.to_json().to_string().into(),
        ],
    )?;
    Ok(chained)
}

/// Entries with seq at least `from`, oldest first, at most `limit`.
pub(crate) fn entries(
    tx: &mut dyn Tx,
    from: u64,
    limit: usize,
) -> Result<Vec<ChainedEntry>, ApiError> {
    tx.query(
        "SELECT entry FROM access_log WHERE seq >= $1 ORDER BY seq LIMIT $2",
        &[
            Value::Int(i64::try_from(from).unwrap_or(i64::MAX)),
            limit.into(),
        ],
    )?
    .iter()
    .map(|r| parse(&r.text(0)?))
    .collect()
}

/// Every entry about `subject`, oldest first, at most [`MAX_EXPORT`].
pub(crate) fn for_subject(tx: &mut dyn Tx, subject: &str) -> Result<Vec<ChainedEntry>, ApiError> {
    tx.query(
        "SELECT entry FROM access_log WHERE subject = $1 ORDER BY seq LIMIT $2",
        &[subject.into(), MAX_EXPORT.into()],
    )?
    .iter()
    .map(|r| parse(&r.text(0)?))
    .collect()
}
