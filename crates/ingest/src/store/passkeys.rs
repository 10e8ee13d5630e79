//! The SQL of recipient users' passkeys: one-time registration codes (`passkey_codes`),
//! registered credentials (`passkeys`), the single-use challenges the server issued
//! (`webauthn_challenges`) and sign-in sessions (`user_sessions`).
//!
//! Codes, challenges and session tokens are secrets handed to a browser: only their SHA-256 is
//! stored, so a copy of the database signs nobody in. A challenge is taken (deleted) by the
//! transaction that checks it, whether the ceremony then succeeds or not, so it works once.

use sha2::{Digest, Sha256};

use super::sql::{Tx, Value};
use super::users::{self, UserRecord};
use crate::ApiError;
use crate::webauthn::PasskeyError;

/// Most challenges outstanding at once (issued, not yet used or expired): a flood of sign-in
/// attempts cannot grow the table without bound.
pub const MAX_OPEN_CHALLENGES: u64 = 10_000;

/// SHA-256 of a secret, hex.
pub(crate) fn digest(secret: &[u8]) -> String {
    hex::encode(Sha256::digest(secret))
}

fn ms(v: i64) -> u64 {
    u64::try_from(v).unwrap_or(0)
}

fn ms_value(v: u64) -> Value {
    Value::Int(i64::try_from(v).unwrap_or(i64::MAX))
}

/// A registered credential.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Credential {
    /// Its user.
    pub user_kid: String,
    /// Its ES256 key, uncompressed SEC1.
    pub public_key: Vec<u8>,
    /// The last signature counter seen.
    pub sign_count: u32,
    /// The backup eligibility (BE) it was registered with; `None` for a passkey registered
    /// before it was stored, until its next sign-in records it.
    pub backup_eligible: Option<bool>,
}

/// Store the registration code `code` of user `kid`, usable until `expires_ms`.
pub(crate) fn insert_code(
    tx: &mut dyn Tx,
    code: &str,
    kid: &str,
    now_ms: u64,
    expires_ms: u64,
) -> Result<(), ApiError> {
    tx.execute(
        "INSERT INTO passkey_codes (code_sha256, user_kid, created_ms, expires_ms)
         VALUES ($1, $2, $3, $4)",
        &[
            digest(super::clients::normalise_code(code).as_bytes()).into(),
            kid.into(),
            ms_value(now_ms),
            ms_value(expires_ms),
        ],
    )?;
    Ok(())
}

/// The active user a live registration code `code` is for, and the code's hash.
pub(crate) fn code_user(
    tx: &mut dyn Tx,
    code: &str,
    now_ms: u64,
) -> Result<(UserRecord, String), ApiError> {
    let hash = digest(super::clients::normalise_code(code).as_bytes());
    let row = tx
        .query_opt(
            "SELECT user_kid, expires_ms FROM passkey_codes WHERE code_sha256 = $1",
            &[hash.as_str().into()],
        )?
        .ok_or(PasskeyError::RegistrationCodeInvalid)?;
    if ms(row.int(1)?) <= now_ms {
        return Err(PasskeyError::RegistrationCodeInvalid.into());
    }
    let user = users::user_in(tx, &row.text(0)?)?
        .filter(|u| u.disabled_ms.is_none())
        .ok_or(PasskeyError::RegistrationCodeInvalid)?;
    Ok((user, hash))
}

/// Record challenge `challenge` for `ceremony` (`create` or `get`; a registration's bound to the
/// code with hash `code_hash`), live until `expires_ms`. Expired challenges are deleted first; with
/// [`MAX_OPEN_CHALLENGES`] still live the request is `rate-limited`.
pub(crate) fn issue_challenge(
    tx: &mut dyn Tx,
    challenge: &[u8],
    ceremony: &str,
    code_hash: Option<&str>,
    now_ms: u64,
    expires_ms: u64,
) -> Result<(), ApiError> {
    tx.execute(
        "DELETE FROM webauthn_challenges WHERE expires_ms <= $1",
        &[ms_value(now_ms)],
    )?;
    let open = tx
        .query_opt("SELECT COUNT(*) FROM webauthn_challenges", &[])?
        .map_or(Ok(0), |r| r.int(0))?;
    if u64::try_from(open).unwrap_or(0) >= MAX_OPEN_CHALLENGES {
        return Err(ApiError::RateLimited { retry_after_s: 60 });
    }
    tx.execute(
        "INSERT INTO webauthn_challenges (challenge_sha256, ceremony, code_sha256, created_ms, expires_ms)
         VALUES ($1, $2, $3, $4, $5)",
        &[
            digest(challenge).into(),
            ceremony.into(),
            code_hash.map(str::to_owned).into(),
            ms_value(now_ms),
            ms_value(expires_ms),
        ],
    )?;
    Ok(())
}

/// Take challenge `challenge` of `ceremony`: deleted whatever follows; the registration code hash
/// it was bound to. Unknown, expired or of another ceremony: `webauthn-unknown-challenge`.
pub(crate) fn take_challenge(
    tx: &mut dyn Tx,
    challenge: &[u8],
    ceremony: &str,
    now_ms: u64,
) -> Result<Result<Option<String>, PasskeyError>, ApiError> {
    let hash = digest(challenge);
    let Some(row) = tx.query_opt(
        "SELECT ceremony, code_sha256, expires_ms FROM webauthn_challenges
         WHERE challenge_sha256 = $1",
        &[hash.as_str().into()],
    )?
    else {
        return Ok(Err(PasskeyError::UnknownChallenge));
    };
    tx.execute(
        "DELETE FROM webauthn_challenges WHERE challenge_sha256 = $1",
        &[hash.into()],
    )?;
    if row.text(0)? != ceremony || ms(row.int(2)?) <= now_ms {
        return Ok(Err(PasskeyError::UnknownChallenge));
    }
    Ok(Ok(row.opt_text(1)?))
}

/// The user of the registration code with hash `code_hash`, consuming the code.
pub(crate) fn use_code(
    tx: &mut dyn Tx,
    code_hash: &str,
    now_ms: u64,
) -> Result<Result<UserRecord, PasskeyError>, ApiError> {
    let Some(row) = tx.query_opt(
        "SELECT user_kid, expires_ms FROM passkey_codes WHERE code_sha256 = $1",
        &[code_hash.into()],
    )?
    else {
        return Ok(Err(PasskeyError::RegistrationCodeInvalid));
    };
    tx.execute(
        "DELETE FROM passkey_codes WHERE code_sha256 = $1",
        &[code_hash.into()],
    )?;
    if ms(row.int(1)?) <= now_ms {
        return Ok(Err(PasskeyError::RegistrationCodeInvalid));
    }
    Ok(users::user_in(tx, &row.text(0)?)?
        .filter(|u| u.disabled_ms.is_none())
        .ok_or(PasskeyError::RegistrationCodeInvalid))
}

/// The credential with id `id` (hex), if registered.
pub(crate) fn credential(tx: &mut dyn Tx, id: &str) -> Result<Option<Credential>, ApiError> {
    tx.query_opt(
        "SELECT p.user_kid, p.public_key, p.sign_count, b.backup_eligible
         FROM passkeys p LEFT JOIN passkey_backup b ON b.credential_id = p.credential_id
         WHERE p.credential_id = $1",
        &[id.into()],
    )?
    .map(|row| {
        Ok(Credential {
            user_kid: row.text(0)?,
            public_key: hex::decode(row.text(1)?)
                .map_err(|e| ApiError::Internal(format!("stored passkey key: {e}")))?,
            sign_count: u32::try_from(row.int(2)?).unwrap_or(u32::MAX),
            backup_eligible: row.opt_int(3)?.map(|b| b != 0),
        })
    })
    .transpose()
}

/// Record the backup eligibility of credential `id` (hex): at registration, or at the first
/// sign-in of a passkey registered before it was stored.
pub(crate) fn insert_backup_eligible(
    tx: &mut dyn Tx,
    id: &str,
    backup_eligible: bool,
) -> Result<(), ApiError> {
    tx.execute(
        "INSERT INTO passkey_backup (credential_id, backup_eligible) VALUES ($1, $2)",
        &[id.into(), Value::Int(i64::from(backup_eligible))],
    )?;
    Ok(())
}

/// Register credential `id` (hex) of user `kid`, with its backup eligibility.
pub(crate) fn insert_credential(
    tx: &mut dyn Tx,
    id: &str,
    kid: &str,
    public_key: &[u8],
    sign_count: u32,
    backup_eligible: bool,
    now_ms: u64,
) -> Result<(), ApiError> {
    insert_backup_eligible(tx, id, backup_eligible)?;
    tx.execute(
        "INSERT INTO passkeys (credential_id, user_kid, public_key, sign_count, created_ms, last_used_ms)
         VALUES ($1, $2, $3, $4, $5, NULL)",
        &[
            id.into(),
            kid.into(),
            hex::encode(public_key).into(),
            Value::Int(i64::from(sign_count)),
            ms_value(now_ms),
        ],
    )?;
    Ok(())
}

/// Record a sign-in with credential `id`: its new counter and when.
pub(crate) fn used_credential(
    tx: &mut dyn Tx,
    id: &str,
    sign_count: u32,
    now_ms: u64,
) -> Result<(), ApiError> {
    tx.execute(
        "UPDATE passkeys SET sign_count = $1, last_used_ms = $2 WHERE credential_id = $3",
        &[
            Value::Int(i64::from(sign_count)),
            ms_value(now_ms),
            id.into(),
        ],
    )?;
    Ok(())
}

/// How many passkeys user `kid` has registered.
pub(crate) fn count_for(tx: &mut dyn Tx, kid: &str) -> Result<u64, ApiError> {
    let n = tx
        .query_opt(
            "SELECT COUNT(*) FROM passkeys WHERE user_kid = $1",
            &[kid.into()],
        )?
        .map_or(Ok(0), |r| r.int(0))?;
    Ok(u64::try_from(n).unwrap_or(0))
}

/// Open a session with token `token` for user `kid` (signed in with credential `credential`).
pub(crate) fn insert_session(
    tx: &mut dyn Tx,
    token: &str,
    kid: &str,
    credential: &str,
    now_ms: u64,
    expires_ms: u64,
) -> Result<(), ApiError> {
    tx.execute(
        "DELETE FROM user_sessions WHERE expires_ms <= $1",
        &[ms_value(now_ms)],
    )?;
    tx.execute(
        "INSERT INTO user_sessions (token_sha256, user_kid, credential_id, created_ms, expires_ms)
         VALUES ($1, $2, $3, $4, $5)",
        &[
            digest(token.as_bytes()).into(),
            kid.into(),
            credential.into(),
            ms_value(now_ms),
            ms_value(expires_ms),
        ],
    )?;
    Ok(())
}

/// The active user of live session `token`, and when the session ends.
pub(crate) fn session_user(
    tx: &mut dyn Tx,
    token: &str,
    now_ms: u64,
) -> Result<(UserRecord, u64), ApiError> {
    let row = tx
        .query_opt(
            "SELECT user_kid, expires_ms FROM user_sessions WHERE token_sha256 = $1",
            &[digest(token.as_bytes()).into()],
        )?
        .ok_or(PasskeyError::SessionInvalid)?;
    let expires_ms = ms(row.int(1)?);
    if expires_ms <= now_ms {
        return Err(PasskeyError::SessionInvalid.into());
    }
    let user = users::user_in(tx, &row.text(0)?)?
        .filter(|u| u.disabled_ms.is_none())
        .ok_or(PasskeyError::SessionInvalid)?;
    Ok((user, expires_ms))
}

/// End session `token` (sign out). Ending an unknown one is not an error.
pub(crate) fn delete_session(tx: &mut dyn Tx, token: &str) -> Result<(), ApiError> {
    tx.execute(
        "DELETE FROM user_sessions WHERE token_sha256 = $1",
        &[digest(token.as_bytes()).into()],
    )?;
    Ok(())
}
