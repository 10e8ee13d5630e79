//! Who may upload: invitations, enrolled clients, pseudonym owners and storage quotas.
//!
//! - An **invitation** is a one-time (or N-time) code an operator prints with `veil admin invite`.
//!   Only the SHA-256 of its normalised form is stored, so the database never holds a usable code.
//! - A client **enrols** its ES256 key with a code (`POST /v1/enrolments`, signed by that key: proof
//!   of possession). From then on the server knows the key; every upload, revocation, erasure and
//!   delegation signed by any other key is refused `unknown-client` before anything is stored.
//! - A **pseudonym belongs** to the enrolled keys that registered it: the first key that uploaded (or
//!   delegated) under it, plus the keys an owner added by a signed delegation. No other key can
//!   upload under it, revoke its artifacts or erase it, so a stranger who learns a pseudonym can
//!   neither add data to it nor block the patient's erasure.
//! - A client's stored envelope bytes are bounded by its **storage quota**, checked inside the commit
//!   transaction so that concurrent uploads on several instances cannot overshoot it.

use sha2::{Digest, Sha256};

use super::sql::{Tx, Value};
use crate::ApiError;

/// The symbols of an invitation code: no 0/O, 1/I/L or U, so a code read aloud or typed from a
/// printout survives.
pub const CODE_ALPHABET: &[u8; 30] = b"ABCDEFGHJKMNPQRSTVWXYZ23456789";
/// Symbols in a code (~98 bits), shown in groups of [`CODE_GROUP`].
pub const CODE_SYMBOLS: usize = 20;
/// Symbols per group of a printed code.
pub const CODE_GROUP: usize = 4;

/// A new invitation, as `veil admin invite` prints it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Invitation {
    /// The code to hand to the client (`ABCD-EFGH-…`). Shown once; only its hash is stored.
    pub code: String,
    /// When it stops working, ms since the epoch.
    pub expires_ms: u64,
    /// The operator's label (a clinic, a kiosk, a patient's registration).
    pub name: Option<String>,
    /// How many enrolments it allows.
    pub uses: u32,
}

/// An enrolled client.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClientRecord {
    /// SHA-256 of the uncompressed SEC1 key, hex.
    pub client_kid: String,
    /// The key, uncompressed SEC1, hex.
    pub client_key: String,
    /// The label the client gave itself, if any.
    pub name: Option<String>,
    /// The label of the invitation it enrolled with.
    pub invite_name: Option<String>,
    /// When it enrolled, ms since the epoch.
    pub enrolled_ms: u64,
    /// When the operator revoked it, if they did.
    pub revoked_ms: Option<u64>,
}

/// The outcome of an enrolment.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Enrolment {
    /// Enrolled now; one use of the invitation was consumed.
    Created(ClientRecord),
    /// The key was already enrolled; the invitation was not touched.
    Existing(ClientRecord),
}

/// The normalised form of a typed code: uppercase, without spaces and dashes.
pub fn normalise_code(code: &str) -> String {
    code.chars()
        .filter(|c| !c.is_whitespace() && *c != '-')
        .flat_map(char::to_uppercase)
        .collect()
}

fn code_hash(code: &str) -> String {
    hex::encode(Sha256::digest(normalise_code(code).as_bytes()))
}

/// A fresh random code in groups (`ABCD-EFGH-JKMN-PQRS-TVWX`), drawn without modulo bias.
pub(crate) fn new_code() -> Result<String, ApiError> {
    let mut symbols = Vec::with_capacity(CODE_SYMBOLS);
    let limit = 256 - 256 % CODE_ALPHABET.len();
    while symbols.len() < CODE_SYMBOLS {
        let mut buf = [0u8; 32];
        getrandom::getrandom(&mut buf)
            .map_err(|e| ApiError::Internal(format!("random source: {e}")))?;
        for b in buf {
            if usize::from(b) < limit && symbols.len() < CODE_SYMBOLS {
                symbols.push(CODE_ALPHABET[usize::from(b) % CODE_ALPHABET.len()]);
            }
        }
    }
    let groups: Vec<String> = symbols
        .chunks(CODE_GROUP)
        .map(|g| String::from_utf8_lossy(g).into_owned())
        .collect();
    Ok(groups.join("-"))
}

const CLIENT_COLUMNS: &str = "client_kid, client_key, name, invite_name, enrolled_ms, revoked_ms";

fn client_of(row: &super::sql::Row) -> Result<ClientRecord, ApiError> {
    Ok(ClientRecord {
        client_kid: row.text(0)?,
        client_key: row.text(1)?,
        name: row.opt_text(2)?,
        invite_name: row.opt_text(3)?,
        enrolled_ms: ms(row.int(4)?),
        revoked_ms: row.opt_int(5)?.map(ms),
    })
}

fn ms(v: i64) -> u64 {
    u64::try_from(v).unwrap_or(0)
}

fn ms_value(v: u64) -> Value {
    Value::Int(i64::try_from(v).unwrap_or(i64::MAX))
}

/// The client `kid`, enrolled or revoked, in a transaction.
pub(crate) fn client_in(tx: &mut dyn Tx, kid: &str) -> Result<Option<ClientRecord>, ApiError> {
    let rows = tx.query(
        &format!("SELECT {CLIENT_COLUMNS} FROM clients WHERE client_kid = $1"),
        &[Value::from(kid)],
    )?;
    rows.first().map(client_of).transpose()
}

/// Refuse `kid` unless it is an enrolled client that was not revoked.
pub(crate) fn require_client(tx: &mut dyn Tx, kid: &str) -> Result<ClientRecord, ApiError> {
    match client_in(tx, kid)? {
        Some(client) if client.revoked_ms.is_none() => Ok(client),
        _ => Err(ApiError::UnknownClient {
            kid: kid.to_owned(),
        }),
    }
}

/// The keys a pseudonym belongs to.
fn owners(tx: &mut dyn Tx, pseudonym: &str) -> Result<Vec<String>, ApiError> {
    tx.query(
        "SELECT client_kid FROM pseudonym_keys WHERE pseudonym = $1",
        &[Value::from(pseudonym)],
    )?
    .iter()
    .map(|r| r.text(0))
    .collect()
}

/// Check that `kid` may act for `pseudonym`: it owns it, or nobody does yet and `register` makes
/// `kid` its first owner (an upload or a delegation; an erasure or revocation of an unknown
/// pseudonym registers nothing).
pub(crate) fn claim_pseudonym(
    tx: &mut dyn Tx,
    pseudonym: &str,
    kid: &str,
    register: bool,
    now_ms: u64,
) -> Result<(), ApiError> {
    let owners = owners(tx, pseudonym)?;
    if owners.iter().any(|o| o == kid) {
        return Ok(());
    }
    if !owners.is_empty() {
        return Err(ApiError::PseudonymNotOwned {
            pseudonym: pseudonym.to_owned(),
        });
    }
    if register {
        tx.execute(
            "INSERT INTO pseudonym_keys (pseudonym, client_kid, added_ms, added_by) VALUES ($1, $2, $3, $4)",
            &[Value::from(pseudonym), Value::from(kid), ms_value(now_ms), Value::from(kid)],
        )?;
    }
    Ok(())
}

/// Refuse an upload of `size` more bytes by `kid` if its stored envelopes would exceed `quota`
/// (0 = no quota).
pub(crate) fn check_quota(
    tx: &mut dyn Tx,
    kid: &str,
    size: u64,
    quota: u64,
) -> Result<(), ApiError> {
    if quota == 0 {
        return Ok(());
    }
    let rows = tx.query(
        "SELECT COALESCE(SUM(envelope_size), 0) FROM artifacts WHERE client_kid = $1",
        &[Value::from(kid)],
    )?;
    let used = rows.first().map(|r| r.int(0)).transpose()?.map_or(0, ms);
    if used.saturating_add(size) > quota {
        return Err(ApiError::StorageQuota { quota });
    }
    Ok(())
}

/// Record an invitation (only the hash of its code).
pub(crate) fn insert_invite(
    tx: &mut dyn Tx,
    code: &str,
    name: Option<&str>,
    uses: u32,
    expires_ms: u64,
    now_ms: u64,
) -> Result<(), ApiError> {
    tx.execute(
        "INSERT INTO invites (code_sha256, name, uses_left, expires_ms, created_ms) VALUES ($1, $2, $3, $4, $5)",
        &[
            Value::from(code_hash(code)),
            Value::from(name),
            Value::Int(i64::from(uses)),
            ms_value(expires_ms),
            ms_value(now_ms),
        ],
    )?;
    Ok(())
}

/// Enrol `client_key` (uncompressed SEC1 hex, id `kid`) with invitation `code`: an existing
/// client is answered as it is (a revoked one refused), otherwise one use of a valid invitation
/// is consumed.
pub(crate) fn enrol(
    tx: &mut dyn Tx,
    code: &str,
    client_key: &str,
    kid: &str,
    name: Option<&str>,
    now_ms: u64,
) -> Result<Enrolment, ApiError> {
    if let Some(existing) = client_in(tx, kid)? {
        if existing.revoked_ms.is_some() {
            return Err(ApiError::ClientRevoked {
                kid: kid.to_owned(),
            });
        }
        return Ok(Enrolment::Existing(existing));
    }
    let hash = code_hash(code);
    let Some(invite) = tx.query_opt(
        "SELECT name, uses_left, expires_ms FROM invites WHERE code_sha256 = $1",
        &[Value::from(hash.as_str())],
    )?
    else {
        return Err(ApiError::InviteInvalid);
    };
    let invite_name = invite.opt_text(0)?;
    if invite.int(1)? <= 0 || ms(invite.int(2)?) <= now_ms {
        return Err(ApiError::InviteInvalid);
    }
    let used = tx.execute(
        "UPDATE invites SET uses_left = uses_left - 1 WHERE code_sha256 = $1 AND uses_left > 0",
        &[Value::from(hash.as_str())],
    )?;
    if used == 0 {
        return Err(ApiError::InviteInvalid);
    }
    let record = ClientRecord {
        client_kid: kid.to_owned(),
        client_key: client_key.to_owned(),
        name: name.map(str::to_owned),
        invite_name,
        enrolled_ms: now_ms,
        revoked_ms: None,
    };
    tx.execute(
        &format!("INSERT INTO clients ({CLIENT_COLUMNS}) VALUES ($1, $2, $3, $4, $5, NULL)"),
        &[
            Value::from(record.client_kid.as_str()),
            Value::from(record.client_key.as_str()),
            Value::from(record.name.clone()),
            Value::from(record.invite_name.clone()),
            ms_value(now_ms),
        ],
    )?;
    Ok(Enrolment::Created(record))
}

/// Every client, enrolled or revoked, oldest first.
pub(crate) fn all_clients(tx: &mut dyn Tx) -> Result<Vec<ClientRecord>, ApiError> {
    tx.query(
        &format!("SELECT {CLIENT_COLUMNS} FROM clients ORDER BY enrolled_ms, client_kid"),
        &[],
    )?
    .iter()
    .map(client_of)
    .collect()
}

/// Mark client `kid` revoked (the first revocation time stays); its record, if any.
pub(crate) fn revoke_client(
    tx: &mut dyn Tx,
    kid: &str,
    now_ms: u64,
) -> Result<Option<ClientRecord>, ApiError> {
    tx.execute(
        "UPDATE clients SET revoked_ms = $1 WHERE client_kid = $2 AND revoked_ms IS NULL",
        &[ms_value(now_ms), Value::from(kid)],
    )?;
    client_in(tx, kid)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_are_grouped_from_the_alphabet_and_normalise() {
        let code = new_code().unwrap();
        assert_eq!(code.len(), CODE_SYMBOLS + CODE_SYMBOLS / CODE_GROUP - 1);
        let bare = normalise_code(&code);
        assert_eq!(bare.len(), CODE_SYMBOLS);
        assert!(bare.bytes().all(|b| CODE_ALPHABET.contains(&b)));
        assert_eq!(
            code_hash(&code.to_lowercase().replace('-', " ")),
            code_hash(&code)
        );
        assert_ne!(new_code().unwrap(), code);
    }
}
