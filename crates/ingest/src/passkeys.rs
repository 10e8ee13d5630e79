//! Passkeys for human recipient users, as operations on the store: the operator creates a user
//! with a one-time registration code (`veil admin users add --passkey`), the person registers a
//! passkey with it on the server's `/recipient/` page, then signs in with it and gets a session,
//! a short-lived opaque token that authenticates their reads exactly as a service account's signed
//! requests do (same decision, same access log).
//!
//! The ceremonies are verified by [`crate::webauthn`]; the challenge each one answers is issued
//! here, stored (as its hash) with an expiry, and taken by the transaction that checks the
//! answer, which commits the taking even when the answer is refused there: a challenge works
//! once. (An answer whose client data or attestation is refused before it reaches the store
//! leaves its challenge to expire.)
//! A passkey user has no ES256 key (its `user_key` is empty) and its id is random, so no signed
//! request can ever authenticate as it.

use p256::ecdsa::SigningKey;
use zeroize::Zeroizing;

use crate::ApiError;
use crate::store::ArtifactStore;
use crate::store::access_log::{self, LogItem};
use crate::store::passkeys::{self as sql, Credential};
use crate::store::users::{self, UserRecord};
use crate::webauthn::{self, PasskeyError, RelyingParty};

/// How long a registration or sign-in challenge can be answered.
pub const CHALLENGE_TTL_MS: u64 = 5 * 60 * 1000;
/// How long a session lasts after signing in (it is not extended: sign in again).
pub const SESSION_TTL_MS: u64 = 15 * 60 * 1000;
/// Challenge length in bytes.
pub const CHALLENGE_LEN: usize = 32;

fn random<const N: usize>() -> Result<[u8; N], ApiError> {
    let mut bytes = [0u8; N];
    getrandom::getrandom(&mut bytes)
        .map_err(|e| ApiError::Internal(format!("random source: {e}")))?;
    Ok(bytes)
}

/// A passkey user just created, with its registration code (shown once).
#[derive(Debug, Clone)]
pub struct PasskeyInvitation {
    /// The user.
    pub user: UserRecord,
    /// The one-time code the person registers a passkey with.
    pub code: String,
    /// When the code stops working.
    pub expires_ms: u64,
}

/// What a registration needs from the server (`PublicKeyCredentialCreationOptions`).
#[derive(Debug, Clone)]
pub struct RegistrationStart {
    /// The user being registered.
    pub user: UserRecord,
    /// The challenge.
    pub challenge: [u8; CHALLENGE_LEN],
}

/// A signed-in session.
#[derive(Debug, Clone)]
pub struct Session {
    /// The bearer token (shown once; only its hash is stored).
    pub token: Zeroizing<String>,
    /// Its user.
    pub user: UserRecord,
    /// When it ends.
    pub expires_ms: u64,
}

/// An assertion as the browser returns it (raw bytes, decoded from base64url by the API).
#[derive(Debug, Clone)]
pub struct AssertionResponse {
    /// The credential id.
    pub credential_id: Vec<u8>,
    /// `clientDataJSON`.
    pub client_data_json: Vec<u8>,
    /// `authenticatorData`.
    pub authenticator_data: Vec<u8>,
    /// The DER signature.
    pub signature: Vec<u8>,
    /// `userHandle`, if the authenticator returned one.
    pub user_handle: Option<Vec<u8>>,
}

impl ArtifactStore {
    /// Add a passkey user (`user.user_kid` and `user_key` are ignored: a random id is drawn, and
    /// it has no key) with a registration code valid for `code_ttl_ms`.
    pub async fn add_passkey_user(
        &self,
        mut user: UserRecord,
        code_ttl_ms: u64,
        now_ms: u64,
    ) -> Result<PasskeyInvitation, ApiError> {
        crate::recipients::check_role_purposes(&user)?;
        user.user_kid = hex::encode(random::<32>()?);
        user.user_key = String::new();
        let code = crate::store::clients::new_code()?;
        let expires_ms = now_ms.saturating_add(code_ttl_ms);
        let (stored, stored_code) = (user.clone(), code.clone());
        self.database()
            .transaction(move |tx| {
                users::add_user(tx, &stored)?;
                sql::insert_code(tx, &stored_code, &stored.user_kid, now_ms, expires_ms)
            })
            .await?;
        Ok(PasskeyInvitation {
            user,
            code,
            expires_ms,
        })
    }

    /// A new registration code for passkey user `kid` (another device, or a lost code).
    pub async fn new_passkey_code(
        &self,
        kid: &str,
        code_ttl_ms: u64,
        now_ms: u64,
    ) -> Result<PasskeyInvitation, ApiError> {
        let code = crate::store::clients::new_code()?;
        let expires_ms = now_ms.saturating_add(code_ttl_ms);
        let (kid, stored_code) = (kid.to_owned(), code.clone());
        let user = self
            .database()
            .transaction(move |tx| {
                let user = users::user_in(tx, &kid)?
                    .filter(|u| u.disabled_ms.is_none() && u.user_key.is_empty())
                    .ok_or_else(|| ApiError::UnknownUser { kid: kid.clone() })?;
                sql::insert_code(tx, &stored_code, &kid, now_ms, expires_ms)?;
                Ok(user)
            })
            .await?;
        Ok(PasskeyInvitation {
            user,
            code,
            expires_ms,
        })
    }

    /// Start a registration with code `code`: the user it is for and a challenge bound to it.
    pub async fn registration_challenge(
        &self,
        code: &str,
        now_ms: u64,
    ) -> Result<RegistrationStart, ApiError> {
        let challenge = random::<CHALLENGE_LEN>()?;
        let code = code.to_owned();
        let user = self
            .database()
            .transaction(move |tx| {
                let (user, code_hash) = sql::code_user(tx, &code, now_ms)?;
                sql::issue_challenge(
                    tx,
                    &challenge,
                    "create",
                    Some(&code_hash),
                    now_ms,
                    now_ms.saturating_add(CHALLENGE_TTL_MS),
                )?;
                Ok(user)
            })
            .await?;
        Ok(RegistrationStart { user, challenge })
    }

    /// Finish a registration: verify it ([`webauthn::verify_registration`]), take its challenge,
    /// use up the code it was bound to and store the credential. Returns the user and the
    /// credential id (hex).
    pub async fn register_passkey(
        &self,
        rp: &RelyingParty,
        client_data_json: &[u8],
        attestation_object: &[u8],
        now_ms: u64,
    ) -> Result<(UserRecord, String), ApiError> {
        let credential = webauthn::verify_registration(rp, client_data_json, attestation_object)?;
        let answer = self
            .database()
            .transaction(move |tx| {
                let code_hash =
                    match sql::take_challenge(tx, &credential.challenge, "create", now_ms)? {
                        Ok(Some(hash)) => hash,
                        Ok(None) => return Ok(Err(PasskeyError::UnknownChallenge)),
                        Err(e) => return Ok(Err(e)),
                    };
                let id = hex::encode(&credential.credential_id);
                if sql::credential(tx, &id)?.is_some() {
                    return Ok(Err(PasskeyError::CredentialExists));
                }
                let user = match sql::use_code(tx, &code_hash, now_ms)? {
                    Ok(user) => user,
                    Err(e) => return Ok(Err(e)),
                };
                sql::insert_credential(
                    tx,
                    &id,
                    &user.user_kid,
                    &credential.public_key,
                    credential.sign_count,
                    credential.backup_eligible,
                    now_ms,
                )?;
                Ok(Ok((user, id)))
            })
            .await?;
        Ok(answer?)
    }

    /// A sign-in challenge (for any registered passkey: discoverable credentials).
    pub async fn sign_in_challenge(&self, now_ms: u64) -> Result<[u8; CHALLENGE_LEN], ApiError> {
        let challenge = random::<CHALLENGE_LEN>()?;
        self.database()
            .transaction(move |tx| {
                sql::issue_challenge(
                    tx,
                    &challenge,
                    "get",
                    None,
                    now_ms,
                    now_ms.saturating_add(CHALLENGE_TTL_MS),
                )
            })
            .await?;
        Ok(challenge)
    }

    /// Sign in with an assertion: take its challenge, verify it under the credential's stored key
    /// and counter ([`webauthn::verify_assertion`]), store the new counter, open a session and log
    /// the sign-in, in one transaction.
    pub async fn sign_in(
        &self,
        rp: &RelyingParty,
        assertion: AssertionResponse,
        log_key: SigningKey,
        now_ms: u64,
    ) -> Result<Session, ApiError> {
        let client = webauthn::client_data(rp, &assertion.client_data_json, "webauthn.get")?;
        let token = Zeroizing::new(webauthn::to_b64url(&random::<32>()?));
        let stored_token = token.clone();
        let rp = rp.clone();
        let expires_ms = now_ms.saturating_add(SESSION_TTL_MS);
        let answer = self
            .database()
            .transaction(move |tx| {
                if let Err(e) = sql::take_challenge(tx, &client.challenge, "get", now_ms)? {
                    return Ok(Err(e));
                }
                let id = hex::encode(&assertion.credential_id);
                let Some(Credential {
                    user_kid,
                    public_key,
                    sign_count,
                    backup_eligible,
                }) = sql::credential(tx, &id)?
                else {
                    return Ok(Err(PasskeyError::UnknownCredential));
                };
                let Some(user) = users::user_in(tx, &user_kid)?.filter(|u| u.disabled_ms.is_none())
                else {
                    return Ok(Err(PasskeyError::UnknownCredential));
                };
                // §7.2 step 6: the user was not identified before the ceremony (no
                // allowCredentials), so the response must carry the user handle, the
                // credential's user's.
                if assertion
                    .user_handle
                    .as_ref()
                    .is_none_or(|h| hex::encode(h) != user.user_kid)
                {
                    return Ok(Err(PasskeyError::UnknownCredential));
                }
                let verified = match webauthn::verify_assertion(
                    &rp,
                    &client,
                    &assertion.authenticator_data,
                    &assertion.signature,
                    &public_key,
                    sign_count,
                    backup_eligible,
                ) {
                    Ok(v) => v,
                    Err(e) => return Ok(Err(e)),
                };
                if backup_eligible.is_none() {
                    sql::insert_backup_eligible(tx, &id, verified.backup_eligible)?;
                }
                sql::used_credential(tx, &id, verified.sign_count, now_ms)?;
                sql::insert_session(tx, &stored_token, &user.user_kid, &id, now_ms, expires_ms)?;
                let actor = format!("user:{}", user.user_kid);
                access_log::append(
                    tx,
                    &log_key,
                    &LogItem {
                        time_ms: now_ms,
                        actor: &actor,
                        event: "sign-in",
                        subject: None,
                        artifact: None,
                        details: serde_json::json!({
                            "user_name": user.name,
                            "role": user.role,
                            "credential": id,
                            "method": "passkey",
                        }),
                    },
                )?;
                Ok(Ok(user))
            })
            .await?;
        Ok(Session {
            token,
            user: answer?,
            expires_ms,
        })
    }

    /// The active user of session `token` and when the session ends, or `session-invalid`.
    pub async fn session_user(
        &self,
        token: &str,
        now_ms: u64,
    ) -> Result<(UserRecord, u64), ApiError> {
        let token = Zeroizing::new(token.to_owned());
        self.database()
            .transaction(move |tx| sql::session_user(tx, &token, now_ms))
            .await
    }

    /// End session `token`.
    pub async fn sign_out(&self, token: &str) -> Result<(), ApiError> {
        let token = Zeroizing::new(token.to_owned());
        self.database()
            .transaction(move |tx| sql::delete_session(tx, &token))
            .await
    }

    /// How many passkeys user `kid` registered.
    pub async fn passkey_count(&self, kid: &str) -> Result<u64, ApiError> {
        let kid = kid.to_owned();
        self.database()
            .transaction(move |tx| sql::count_for(tx, &kid))
            .await
    }
}
