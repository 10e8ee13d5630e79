//! Revocations, erasures and delegations: applied and recorded in one transaction.
//!
//! Each request is kept byte-exact (`controls`: the body as received and its `Veil-Signature`),
//! keyed by the SHA-256 of the body, with the answer the server gave. A replay of the same bytes is
//! recognised inside the same transaction that would apply it, so two instances receiving one
//! retried request apply it once and both answer what was recorded. A client's nonce is unique:
//! another body with a used nonce is refused `nonce-reused`.
//!
//! Authority comes from pseudonym ownership (`store::clients`): the signer must own the pseudonym
//! of each artifact it revokes and each pseudonym it erases or delegates. Artifacts stored before
//! ownership was recorded have no owners; for them the signer must be the key that delivered them.

use super::clients::{claim_pseudonym, require_client};
use super::sql::{Tx, Value};
use crate::ApiError;
use crate::control::SignedRequest;

/// What a control request asks for, parsed and bounded by the API layer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ControlAction {
    /// Consent for `purpose` was withdrawn for these artifacts (lowercase hex ids).
    Revoke {
        /// The artifact ids.
        ids: Vec<String>,
        /// The purpose consent was withdrawn for.
        purpose: String,
        /// The reason given, if any.
        reason: Option<String>,
    },
    /// The subject's identity layer was erased at `erased_at_ms`; these are its pseudonyms.
    Erase {
        /// The pseudonyms, deduplicated.
        pseudonyms: Vec<String>,
        /// When the client destroyed the identity layer.
        erased_at_ms: u64,
    },
    /// Add `delegate_kid` (an enrolled client) to the owners of these pseudonyms.
    Delegate {
        /// The pseudonyms, deduplicated.
        pseudonyms: Vec<String>,
        /// The key id of the client being added.
        delegate_kid: String,
    },
}

impl ControlAction {
    fn kind(&self) -> &'static str {
        match self {
            ControlAction::Revoke { .. } => "revocation",
            ControlAction::Erase { .. } => "erasure",
            ControlAction::Delegate { .. } => "delegation",
        }
    }
}

/// The answer to a control request, and whether it is the recorded answer of an earlier identical
/// request.
#[derive(Debug, Clone, PartialEq)]
pub struct ControlAnswer {
    /// The JSON answer.
    pub body: serde_json::Value,
    /// True when the same bytes were applied before and nothing was done now.
    pub replayed: bool,
}

fn ms_value(v: u64) -> Value {
    Value::Int(i64::try_from(v).unwrap_or(i64::MAX))
}

/// Accept nonce `nonce` of client `kid`'s signed read request once: a second use is
/// `nonce-reused`, so a captured request cannot be replayed while it is still fresh. Nonces are
/// kept twice the clock-skew window (a request is fresh from `timestamp_ms` minus the window to
/// plus the window), then dropped.
pub(crate) fn use_read_nonce(
    tx: &mut dyn Tx,
    kid: &str,
    nonce: &str,
    now_ms: u64,
) -> Result<(), ApiError> {
    let keep = 2 * crate::control::MAX_CLOCK_SKEW_MS;
    tx.execute(
        "DELETE FROM client_read_nonces WHERE received_ms < $1",
        &[ms_value(now_ms.saturating_sub(keep))],
    )?;
    if tx
        .query_opt(
            "SELECT 1 FROM client_read_nonces WHERE client_kid = $1 AND nonce = $2",
            &[Value::from(kid), Value::from(nonce)],
        )?
        .is_some()
    {
        return Err(ApiError::NonceReused {
            nonce: nonce.to_owned(),
        });
    }
    tx.execute(
        "INSERT INTO client_read_nonces (client_kid, nonce, received_ms) VALUES ($1, $2, $3)",
        &[Value::from(kid), Value::from(nonce), ms_value(now_ms)],
    )?;
    Ok(())
}

/// The recorded answer of the same body, or `nonce-reused` for the same nonce with other bytes.
fn replayed(
    tx: &mut dyn Tx,
    request: &SignedRequest,
) -> Result<Option<serde_json::Value>, ApiError> {
    let same = tx.query(
        "SELECT answer FROM controls WHERE body_sha256 = $1",
        &[Value::from(request.sha256.as_str())],
    )?;
    if let Some(row) = same.first() {
        let answer = serde_json::from_str(&row.text(0)?)
            .map_err(|e| ApiError::Internal(format!("stored answer: {e}")))?;
        return Ok(Some(answer));
    }
    let nonce = tx.query(
        "SELECT 1 FROM controls WHERE client_kid = $1 AND nonce = $2",
        &[
            Value::from(request.client_kid.as_str()),
            Value::from(request.nonce.as_str()),
        ],
    )?;
    if !nonce.is_empty() {
        return Err(ApiError::NonceReused {
            nonce: request.nonce.clone(),
        });
    }
    Ok(None)
}

/// Refuse unless `kid` (key `client_key`) may act for the artifacts stored under `pseudonym`.
pub(crate) fn owns_or_delivered(
    tx: &mut dyn Tx,
    pseudonym: &str,
    kid: &str,
    client_key: &str,
    now_ms: u64,
) -> Result<(), ApiError> {
    let owned = tx.query(
        "SELECT 1 FROM pseudonym_keys WHERE pseudonym = $1",
        &[Value::from(pseudonym)],
    )?;
    if owned.is_empty() {
        // Stored before ownership was recorded: the delivering key is the only authority.
        let keys = tx.query(
            "SELECT DISTINCT client_key FROM artifacts WHERE pseudonym = $1",
            &[Value::from(pseudonym)],
        )?;
        for row in &keys {
            if row.text(0)? != client_key {
                return Err(ApiError::PseudonymNotOwned {
                    pseudonym: pseudonym.to_owned(),
                });
            }
        }
        return Ok(());
    }
    claim_pseudonym(tx, pseudonym, kid, false, now_ms)
}

fn apply(
    tx: &mut dyn Tx,
    request: &SignedRequest,
    action: &ControlAction,
    now_ms: u64,
) -> Result<serde_json::Value, ApiError> {
    let kid = request.client_kid.as_str();
    match action {
        ControlAction::Revoke {
            ids,
            purpose,
            reason,
        } => {
            let mut fresh: Vec<String> = Vec::new();
            let mut already = Vec::new();
            for id in ids {
                let rows = tx.query(
                    "SELECT purpose, pseudonym, revoked_ms FROM artifacts WHERE id = $1",
                    &[Value::from(id.as_str())],
                )?;
                let row = rows
                    .first()
                    .ok_or_else(|| ApiError::UnknownArtifact(id.clone()))?;
                let (stored_purpose, pseudonym, revoked) =
                    (row.text(0)?, row.text(1)?, row.opt_int(2)?);
                owns_or_delivered(tx, &pseudonym, kid, &request.client_key, now_ms)?;
                if &stored_purpose != purpose {
                    return Err(ApiError::PurposeMismatch {
                        id: id.clone(),
                        expected: stored_purpose,
                        found: purpose.clone(),
                    });
                }
                if revoked.is_some() {
                    already.push(id.clone());
                } else if !fresh.contains(id) {
                    fresh.push(id.clone());
                }
            }
            for id in &fresh {
                tx.execute(
                    "UPDATE artifacts SET revoked_ms = $1, revocation_reason = $2 WHERE id = $3 AND revoked_ms IS NULL",
                    &[ms_value(now_ms), Value::from(reason.clone()), Value::from(id.as_str())],
                )?;
                // Crypto-shredding: the stored envelope decrypts under no key from now on.
                super::rest_keys::destroy(tx, id, "revocation", now_ms)?;
            }
            Ok(serde_json::json!({ "revoked": fresh, "already_revoked": already }))
        }
        ControlAction::Erase {
            pseudonyms,
            erased_at_ms,
        } => {
            let mut erased = Vec::new();
            let mut unknown = Vec::new();
            let mut marked = 0u64;
            for p in pseudonyms {
                let known = tx.query(
                    "SELECT 1 FROM artifacts WHERE pseudonym = $1 UNION SELECT 1 FROM pseudonym_keys WHERE pseudonym = $1",
                    &[Value::from(p.as_str())],
                )?;
                if known.is_empty() {
                    unknown.push(p.clone());
                    continue;
                }
                owns_or_delivered(tx, p, kid, &request.client_key, now_ms)?;
                marked += tx.execute(
                    "UPDATE artifacts SET subject_erased_ms = $1 WHERE pseudonym = $2 AND subject_erased_ms IS NULL",
                    &[ms_value(*erased_at_ms), Value::from(p.as_str())],
                )?;
                super::rest_keys::destroy_pseudonym(tx, p, "erasure", now_ms)?;
                erased.push(p.clone());
            }
            Ok(serde_json::json!({
                "erased_pseudonyms": erased,
                "artifacts_marked": marked,
                "unknown_pseudonyms": unknown,
            }))
        }
        ControlAction::Delegate {
            pseudonyms,
            delegate_kid,
        } => {
            require_client(tx, delegate_kid)?;
            for p in pseudonyms {
                let owned = tx.query(
                    "SELECT 1 FROM pseudonym_keys WHERE pseudonym = $1",
                    &[Value::from(p.as_str())],
                )?;
                if owned.is_empty() {
                    owns_or_delivered(tx, p, kid, &request.client_key, now_ms)?;
                    claim_pseudonym(tx, p, kid, true, now_ms)?;
                } else {
                    claim_pseudonym(tx, p, kid, false, now_ms)?;
                }
                let present = tx.query(
                    "SELECT 1 FROM pseudonym_keys WHERE pseudonym = $1 AND client_kid = $2",
                    &[Value::from(p.as_str()), Value::from(delegate_kid.as_str())],
                )?;
                if present.is_empty() {
                    tx.execute(
                        "INSERT INTO pseudonym_keys (pseudonym, client_kid, added_ms, added_by) VALUES ($1, $2, $3, $4)",
                        &[
                            Value::from(p.as_str()),
                            Value::from(delegate_kid.as_str()),
                            ms_value(now_ms),
                            Value::from(kid),
                        ],
                    )?;
                }
            }
            Ok(serde_json::json!({ "delegated": pseudonyms, "delegate_kid": delegate_kid }))
        }
    }
}

/// Apply a verified control request from an enrolled client and record it byte-exact with its
/// answer; a replay of the same bytes returns the recorded answer and changes nothing.
pub(crate) fn apply_and_record(
    tx: &mut dyn Tx,
    request: &SignedRequest,
    action: &ControlAction,
    now_ms: u64,
) -> Result<ControlAnswer, ApiError> {
    require_client(tx, &request.client_kid)?;
    if let Some(body) = replayed(tx, request)? {
        return Ok(ControlAnswer {
            body,
            replayed: true,
        });
    }
    let answer = apply(tx, request, action, now_ms)?;
    tx.execute(
        "INSERT INTO controls (body_sha256, kind, client_kid, nonce, timestamp_ms, received_ms, body, signature, answer)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
        &[
            Value::from(request.sha256.as_str()),
            Value::from(action.kind()),
            Value::from(request.client_kid.as_str()),
            Value::from(request.nonce.as_str()),
            ms_value(request.timestamp_ms),
            ms_value(now_ms),
            Value::from(request.body.as_str()),
            Value::from(request.signature.as_str()),
            Value::from(answer.to_string()),
        ],
    )?;
    Ok(ControlAnswer {
        body: answer,
        replayed: false,
    })
}

/// The stored control requests of one kind, oldest first: (body, signature) byte-exact.
pub(crate) fn records(tx: &mut dyn Tx, kind: &str) -> Result<Vec<(String, String)>, ApiError> {
    tx.query(
        "SELECT body, signature FROM controls WHERE kind = $1 ORDER BY received_ms, body_sha256",
        &[Value::from(kind)],
    )?
    .iter()
    .map(|r| Ok((r.text(0)?, r.text(1)?)))
    .collect()
}
