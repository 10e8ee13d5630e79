//! Reads by recipient users, as operations on the store: users (added by the operator), the
//! read decision of [`crate::reads`] taken and logged in one transaction, listings, and the
//! access log for auditors and for patients.

use p256::ecdsa::SigningKey;
use veil_audit::ChainedEntry;
use zeroize::Zeroizing;

use crate::ApiError;
use crate::reads::{self, Grant, ReadContext, ReadFacts, ReadRefusal, Role};
use crate::store::access_log::{self, LogItem};
use crate::store::sql::Tx;
use crate::store::users::{self, UserRecord};
use crate::store::{ArtifactStore, controls, rest_keys};

/// Most artifacts one listing answer carries.
pub const MAX_LIST: usize = 1000;

/// The decision on one read, as logged.
#[derive(Debug)]
pub struct ReadAnswer {
    /// Allowed (with its basis) or refused.
    pub decision: Result<Grant, ReadRefusal>,
    /// Its entry in the access log.
    pub logged: ChainedEntry,
    /// The artifact's key at rest, when allowed.
    pub dek: Option<Zeroizing<String>>,
    /// The verified manifest the upload's commit recorded (JSON text).
    pub manifest_json: String,
}

/// One artifact of a listing, with the decision a read of it would get now.
#[derive(Debug, Clone)]
pub struct Listed {
    /// The artifact id.
    pub id: String,
    /// When it was stored.
    pub received_ms: u64,
    /// Allowed or refused.
    pub decision: Result<Grant, ReadRefusal>,
}

fn ms(v: i64) -> u64 {
    u64::try_from(v).unwrap_or(0)
}

/// The facts of artifact `id` and its pseudonym and manifest, if stored.
fn facts(tx: &mut dyn Tx, id: &str) -> Result<Option<(ReadFacts, String, String)>, ApiError> {
    let Some(row) = tx.query_opt(
        "SELECT purpose, consent_decision, consent_event, revoked_ms, revocation_reason,
                subject_erased_ms, pseudonym, manifest_json
         FROM artifacts WHERE id = $1",
        &[id.into()],
    )?
    else {
        return Ok(None);
    };
    let manifest_json = row.text(7)?;
    let pseudonym = row.text(6)?;
    let facts = ReadFacts {
        purpose: row.text(0)?,
        consent_decision: row.text(1)?,
        consent_event: row.opt_text(2)?,
        revoked: row
            .opt_int(3)?
            .map(|at| Ok::<_, ApiError>((ms(at), row.opt_text(4)?)))
            .transpose()?,
        subject_erased_ms: row.opt_int(5)?.map(ms),
        key_destroyed: rest_keys::destroyed(tx, id)?,
        pseudonym: pseudonym.clone(),
        sealed_consent: sealed_consent(id, &manifest_json)?,
    };
    Ok(Some((facts, pseudonym, manifest_json)))
}

/// The sealed consent of a stored manifest record (`manifest.consent.context`, written by
/// `veil_seal::Manifest::to_json` from a verified manifest), if it has one.
fn sealed_consent(
    id: &str,
    manifest_json: &str,
) -> Result<Option<veil_consent::SealedConsent>, ApiError> {
    let stored: serde_json::Value = serde_json::from_str(manifest_json)
        .map_err(|e| ApiError::Internal(format!("stored manifest of {id}: {e}")))?;
    match stored.pointer("/manifest/consent/context") {
        None | Some(serde_json::Value::Null) => Ok(None),
        Some(context) => serde_json::from_value(context.clone())
            .map(Some)
            .map_err(|e| ApiError::Internal(format!("stored consent context of {id}: {e}"))),
    }
}

fn role_of(user: &UserRecord) -> Result<Role, ApiError> {
    Role::parse(&user.role).ok_or_else(|| {
        ApiError::Internal(format!("user {} has role {:?}", user.user_kid, user.role))
    })
}

fn decision_details(
    user: &UserRecord,
    id: &str,
    purpose: &str,
    decision: &Result<Grant, ReadRefusal>,
) -> serde_json::Value {
    use veil_core::Coded as _;
    let mut details = serde_json::json!({
        "artifact": id,
        "purpose": purpose,
        "user": user.user_kid,
        "user_name": user.name,
        "role": user.role,
        "auth": if user.user_key.is_empty() { "passkey" } else { "es256" },
    });
    match decision {
        Ok(grant) => {
            details["decision"] = "allow".into();
            details["basis"] = grant.basis.clone().into();
            details["citations"] = grant.citations.clone().into();
            details["redecided"] = grant.redecided.is_some().into();
        }
        Err(refusal) => {
            details["decision"] = "refuse".into();
            details["code"] = refusal.code().into();
            details["basis"] = refusal.to_string().into();
            details["citations"] = refusal.citations().into();
        }
    }
    details
}

/// The role of a user about to be added, its purposes checked to be among the role's.
pub(crate) fn check_role_purposes(user: &UserRecord) -> Result<Role, ApiError> {
    let role = Role::parse(&user.role).ok_or_else(|| {
        ApiError::BadRequest(format!(
            "role must be one of {}",
            Role::ALL.map(Role::as_str).join(", ")
        ))
    })?;
    if let Some(p) = user
        .purposes
        .iter()
        .find(|p| !role.purposes().contains(&p.as_str()))
    {
        return Err(ApiError::BadRequest(format!(
            "role {} may not read for purpose {p:?} (it may: {})",
            role.as_str(),
            if role.purposes().is_empty() {
                "none".to_owned()
            } else {
                role.purposes().join(", ")
            }
        )));
    }
    Ok(role)
}

impl ArtifactStore {
    /// Add a recipient user (operator) authenticated by its ES256 key. Its purposes must be
    /// among its role's.
    pub async fn add_user(&self, user: UserRecord) -> Result<UserRecord, ApiError> {
        check_role_purposes(&user)?;
        let (sec1, _) = crate::control::client_key(&user.user_key)?;
        if veil_seal::KeyId::of_sec1(&sec1).to_hex() != user.user_kid {
            return Err(ApiError::BadRequest("user_kid is not the key's id".into()));
        }
        let stored = user.clone();
        self.database()
            .transaction(move |tx| users::add_user(tx, &stored))
            .await?;
        Ok(user)
    }

    /// Every user, oldest first.
    pub async fn users(&self) -> Result<Vec<UserRecord>, ApiError> {
        self.database().transaction(users::all_users).await
    }

    /// Disable user `kid` (its later requests are `unknown-user`).
    pub async fn disable_user(
        &self,
        kid: &str,
        now_ms: u64,
    ) -> Result<Option<UserRecord>, ApiError> {
        let kid = kid.to_owned();
        self.database()
            .transaction(move |tx| users::disable_user(tx, &kid, now_ms))
            .await
    }

    /// The active user `kid` after accepting its request's nonce, or `unknown-user`.
    pub async fn authenticate_user(
        &self,
        kid: &str,
        nonce: &str,
        now_ms: u64,
    ) -> Result<UserRecord, ApiError> {
        let (kid, nonce) = (kid.to_owned(), nonce.to_owned());
        self.database()
            .transaction(move |tx| {
                // A passkey user has no key: it signs in instead (`crate::passkeys`).
                let user = users::user_in(tx, &kid)?
                    .filter(|u| u.disabled_ms.is_none() && !u.user_key.is_empty())
                    .ok_or_else(|| ApiError::UnknownUser { kid: kid.clone() })?;
                users::use_nonce(tx, &kid, &nonce, now_ms)?;
                Ok(user)
            })
            .await
    }

    /// Decide a read of artifact `id` for `purpose` by `user`, and log the decision, in one
    /// transaction. An unknown artifact is `unknown-artifact` (not logged: there is no subject).
    pub async fn read_decision(
        &self,
        user: UserRecord,
        id: &str,
        purpose: &str,
        log_key: SigningKey,
        context: ReadContext,
    ) -> Result<ReadAnswer, ApiError> {
        let now_ms = context.now_ms;
        let (id, purpose) = (id.to_owned(), purpose.to_owned());
        self.database()
            .transaction(move |tx| {
                let role = role_of(&user)?;
                let (facts, pseudonym, manifest_json) =
                    facts(tx, &id)?.ok_or_else(|| ApiError::UnknownArtifact(id.clone()))?;
                let decision = reads::decide(role, &user.purposes, &purpose, &facts, &context);
                let dek = match decision {
                    Ok(_) => rest_keys::key_of(tx, &id)?,
                    Err(_) => None,
                };
                let actor = format!("user:{}", user.user_kid);
                let logged = access_log::append(
                    tx,
                    &log_key,
                    &LogItem {
                        time_ms: now_ms,
                        actor: &actor,
                        event: "read",
                        subject: Some(&pseudonym),
                        artifact: Some(&id),
                        details: decision_details(&user, &id, &purpose, &decision),
                    },
                )?;
                Ok(ReadAnswer {
                    decision,
                    logged,
                    dek,
                    manifest_json,
                })
            })
            .await
    }

    /// The artifacts delivered for `purpose` (ids after `after`, at most `limit`), each with the
    /// decision a read by `user` would get now. Nothing is logged: no contents are released.
    pub async fn list_for(
        &self,
        user: UserRecord,
        purpose: &str,
        after: Option<String>,
        limit: usize,
        context: ReadContext,
    ) -> Result<Vec<Listed>, ApiError> {
        let purpose = purpose.to_owned();
        let limit = limit.clamp(1, MAX_LIST);
        self.database()
            .transaction(move |tx| {
                let role = role_of(&user)?;
                let rows = tx.query(
                    "SELECT id, received_ms FROM artifacts WHERE purpose = $1 AND id > $2
                     ORDER BY id LIMIT $3",
                    &[
                        purpose.as_str().into(),
                        after.clone().unwrap_or_default().into(),
                        limit.into(),
                    ],
                )?;
                let mut out = Vec::with_capacity(rows.len());
                for row in rows {
                    let id = row.text(0)?;
                    let Some((facts, _, _)) = facts(tx, &id)? else {
                        continue;
                    };
                    out.push(Listed {
                        decision: reads::decide(role, &user.purposes, &purpose, &facts, &context),
                        received_ms: ms(row.int(1)?),
                        id,
                    });
                }
                Ok(out)
            })
            .await
    }

    /// Append an entry for an auditor's export, then the entries from seq `from` (at most
    /// [`access_log::MAX_EXPORT`]).
    pub async fn export_access_log(
        &self,
        auditor: UserRecord,
        from: u64,
        log_key: SigningKey,
        now_ms: u64,
    ) -> Result<Vec<ChainedEntry>, ApiError> {
        self.database()
            .transaction(move |tx| {
                if role_of(&auditor)? != Role::Auditor {
                    return Err(ReadRefusal::RoleNotPermitted {
                        role: auditor.role.clone(),
                        purpose: "audit".into(),
                    }
                    .into());
                }
                let actor = format!("user:{}", auditor.user_kid);
                access_log::append(
                    tx,
                    &log_key,
                    &LogItem {
                        time_ms: now_ms,
                        actor: &actor,
                        event: "access-log-export",
                        subject: None,
                        artifact: None,
                        details: serde_json::json!({"from": from, "user_name": auditor.name}),
                    },
                )?;
                access_log::entries(tx, from, access_log::MAX_EXPORT)
            })
            .await
    }

    /// The entries about `pseudonyms`, for a patient's client `kid` (key `client_key`), which
    /// must own each of them (or have delivered every artifact of one nobody owns). No
    /// pseudonyms: every pseudonym the key owns, and those of the artifacts it delivered that
    /// nobody owns (so a client that erased its identity layer can still ask).
    pub async fn access_log_for(
        &self,
        pseudonyms: Vec<String>,
        kid: &str,
        client_key: &str,
        nonce: &str,
        now_ms: u64,
    ) -> Result<Vec<ChainedEntry>, ApiError> {
        let (kid, client_key, nonce) = (kid.to_owned(), client_key.to_owned(), nonce.to_owned());
        self.database()
            .transaction(move |tx| {
                controls::use_read_nonce(tx, &kid, &nonce, now_ms)?;
                let mut out = Vec::new();
                let mine = if pseudonyms.is_empty() {
                    let rows = tx.query(
                        "SELECT pseudonym FROM pseudonym_keys WHERE client_kid = $1
                         UNION
                         SELECT DISTINCT pseudonym FROM artifacts WHERE client_kid = $1
                           AND pseudonym NOT IN (SELECT pseudonym FROM pseudonym_keys)",
                        &[kid.as_str().into()],
                    )?;
                    rows.iter()
                        .map(|r| r.text(0))
                        .collect::<Result<Vec<_>, _>>()?
                } else {
                    pseudonyms.clone()
                };
                for p in &mine {
                    controls::owns_or_delivered(tx, p, &kid, &client_key, now_ms)?;
                    out.extend(access_log::for_subject(tx, p)?);
                }
                out.sort_by_key(|e| e.entry.seq);
                out.truncate(access_log::MAX_EXPORT);
                Ok(out)
            })
            .await
    }
}
