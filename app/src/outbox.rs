//! The outbox: what leaves this browser, and how.
//!
//! Nothing is queued unless the person's consent decision for its purpose is `allow` now; each
//! artifact is pseudonymised for its recipient, signed with the client's non-extractable WebCrypto
//! key and sealed with HPKE to the recipient's key (`veil-seal`) before it is stored. Only sealed
//! envelopes are ever stored or sent. Envelopes wait in IndexedDB (surviving reloads and restarts)
//! and are uploaded when online, each exactly once: the artifact id is the `Idempotency-Key`, so a
//! retry after a lost answer is recognised by the server. Failures of the network are retried with
//! exponential backoff and jitter; an answer refusing the artifact is final. Withdrawing consent
//! cancels queued items for that purpose before they leave and revokes delivered ones.
//!
//! Every step writes a signed entry to the audit chain (`veil-audit`).

use serde::{Deserialize, Serialize};
use veil_consent::PurposeScope;
use veil_seal::{ArtifactBuilder, ConsentRef, DeviceEvidence, PseudonymSecret, RecipientPublicKey};
use wasm_bindgen::{JsCast, JsValue};
use web_sys::IdbDatabase;

use crate::patient_session;
use crate::platform::http::{HttpOutcome, request};
use crate::platform::idb;
use crate::platform::webcrypto::{self, ClientKey};

/// The outbox database (a patient store: removed when a kiosk session ends).
pub const DB_NAME: &str = "veil-patient-outbox";
const STORES: &[&str] = &["items", "envelopes", "keys", "identity", "audit", "config"];
/// Longest wait between retries.
const MAX_BACKOFF_MS: f64 = 5.0 * 60.0 * 1000.0;

/// Where an outbox item is.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "state", rename_all = "kebab-case")]
pub enum ItemState {
    /// Waiting to be sent.
    Queued,
    /// Being sent now.
    Uploading,
    /// The server stored it (or had already).
    Delivered {
        /// When, ms since the epoch.
        at_ms: f64,
    },
    /// The server refused it; it is not retried.
    Failed {
        /// The server's error code and detail.
        reason: String,
    },
    /// Withdrawn before it left.
    Cancelled {
        /// Why.
        reason: String,
    },
}

/// One sealed artifact waiting in, or gone from, the outbox.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct OutboxItem {
    /// Artifact id (hex SHA-256 of the envelope): the idempotency key.
    pub id: String,
    /// What the artifact is for.
    pub scope: PurposeScope,
    /// The recipient.
    pub recipient: String,
    /// File names inside (the names only; the contents are sealed).
    pub files: Vec<String>,
    /// Envelope size in bytes.
    pub size: usize,
    /// Current state.
    pub state: ItemState,
    /// Upload attempts so far.
    pub attempts: u32,
    /// Not before this time (ms since the epoch), for backoff.
    pub next_at_ms: f64,
    /// When it was sealed.
    pub created_ms: f64,
}

/// The recipient's key as announced by `GET /v1/recipient-key`, kept for sealing offline.
#[derive(Debug, Clone, Serialize, Deserialize)]
struct RecipientInfo {
    kid: String,
    public_key: String,
    recipient: Option<String>,
}

async fn db() -> Result<idb::Connection, String> {
    idb::open(DB_NAME, 1, STORES)
        .await
        .map_err(|e| e.to_string())
}

fn now_ms() -> f64 {
    js_sys::Date::now()
}

async fn put_json<T: Serialize>(
    db: &IdbDatabase,
    store: &str,
    key: &str,
    value: &T,
) -> Result<(), String> {
    let json = serde_json::to_string(value).map_err(|e| e.to_string())?;
    idb::put(db, store, key, &JsValue::from_str(&json))
        .await
        .map_err(|e| e.to_string())
}

async fn get_json<T: for<'de> Deserialize<'de>>(
    db: &IdbDatabase,
    store: &str,
    key: &str,
) -> Result<Option<T>, String> {
    match idb::get(db, store, key).await.map_err(|e| e.to_string())? {
        Some(v) => serde_json::from_str(&v.as_string().unwrap_or_default())
            .map(Some)
            .map_err(|e| e.to_string()),
        None => Ok(None),
    }
}

/// The recipient key: fresh from the server when online, else the one seen last.
async fn recipient(db: &IdbDatabase) -> Result<RecipientInfo, String> {
    if let HttpOutcome::Answered { status: 200, body } =
        request("GET", "/v1/recipient-key", &[], None, None).await
        && let Ok(info) = serde_json::from_str::<RecipientInfo>(&body)
    {
        put_json(db, "config", "recipient", &info).await?;
        return Ok(info);
    }
    get_json(db, "config", "recipient").await?.ok_or_else(|| {
        "the recipient's key is not known yet: connect once so Veil can fetch it".into()
    })
}

/// Fetch and keep the recipient's key (so artifacts can be sealed while offline).
pub async fn refresh_recipient() -> Result<(), String> {
    let db = db().await?;
    recipient(&db).await.map(|_| ())
}

/// The subject's identity-layer secret, created on first use. Only this layer can compute pseudonyms.
async fn identity_secret(db: &IdbDatabase) -> Result<PseudonymSecret, String> {
    if let Some(v) = idb::get(db, "identity", "secret")
        .await
        .map_err(|e| e.to_string())?
    {
        let bytes = js_sys::Uint8Array::new(&v).to_vec();
        return PseudonymSecret::from_bytes(&bytes).map_err(|e| e.to_string());
    }
    let secret = PseudonymSecret::generate().map_err(|e| e.to_string())?;
    let stored = js_sys::Uint8Array::from(&secret.expose_bytes()[..]);
    idb::put(db, "identity", "secret", &stored)
        .await
        .map_err(|e| e.to_string())?;
    Ok(secret)
}

/// What the outbox may seal: pipeline outputs and verified readings, nothing else (a file picked
/// from disk could be a model that never went through de-identification).
#[derive(Debug, Clone)]
pub enum Sealable {
    /// A model de-identified in this browser, with the shareable form of its report.
    Model {
        /// The pipeline's output (binary STL or PLY with the neutral header).
        bytes: Vec<u8>,
        /// The shareable report (the local one never leaves).
        report: Box<veil_mesh::ShareableReport>,
    },
    /// Verified device readings: the original signed bytes travel as evidence.
    Readings {
        /// The decoded measurements, as JSON, for the recipient's convenience.
        summary: Vec<u8>,
        /// Each reading's COSE bytes and chain, as the device sent them.
        evidence: Vec<DeviceEvidence>,
    },
}

/// Seal `content` for `scope` and queue the envelope. Refused unless consent allows the use now.
/// Contents are named by role (`model-1.stl`, `readings.json`), never after a person's file.
pub async fn seal_and_queue(content: Sealable, scope: PurposeScope) -> Result<OutboxItem, String> {
    let session = patient_session::load()
        .ok_or("confirm who you are and your consent choices on the Consent page first")?;
    let (decision, event_hash) = session.grant(&scope)?;
    let db = db().await?;
    let recipient = recipient(&db).await?;
    let recipient_id = recipient
        .recipient
        .clone()
        .unwrap_or_else(|| "veil-ingest".into());
    let public = hex::decode(&recipient.public_key)
        .map_err(|_| "the recipient key is not hex".to_string())
        .and_then(|b| RecipientPublicKey::from_sec1_bytes(&b).map_err(|e| e.to_string()))?;
    let key = webcrypto::client_key(&db).await?;
    let secret = identity_secret(&db).await?;
    let purpose = scope.purpose.id();
    let pseudonym = secret.pseudonym(&recipient_id, purpose);
    let consent = ConsentRef {
        decision: decision.decision,
        event_hash,
    };
    let created = now_ms();
    let mut builder = ArtifactBuilder::new(
        pseudonym.clone(),
        purpose,
        &recipient_id,
        consent,
        created as u64,
    );
    let names = match content {
        Sealable::Model { bytes, report } => {
            let format = veil_mesh::write::deidentified_format(&bytes)
                .ok_or("only a model de-identified on the Models page can be sealed")?;
            let report = serde_json::to_value(&report).map_err(|e| e.to_string())?;
            builder.set_deid_report(report);
            let role = veil_seal::names::Role::Model(format.extension());
            vec![
                builder
                    .add_content_as(&role, bytes)
                    .map_err(|e| e.to_string())?,
            ]
        }
        Sealable::Readings { summary, evidence } => {
            if evidence.is_empty() {
                return Err("there are no verified readings to send".into());
            }
            for e in evidence {
                builder.add_device_evidence(e);
            }
            builder
                .add_file("readings.json", summary)
                .map_err(|e| e.to_string())?;
            vec!["readings.json".to_string()]
        }
    };
    let client = veil_seal::verifying_key_from_sec1(&key.public_sec1).map_err(|e| e.to_string())?;
    let unsigned = builder.prepare(&client).map_err(|e| e.to_string())?;
    let signature = key.sign(&unsigned.to_be_signed()).await?;
    let signed = unsigned.finish(&signature).map_err(|e| e.to_string())?;
    // HPKE in wasm, the bulk AES-256-GCM in WebCrypto: byte-identical to `veil_seal::seal`, several
    // times faster for large models (docs/benchmarks.md).
    let signed = signed.into_bytes();
    let keys = veil_seal::begin_external_seal(&public).map_err(|e| e.to_string())?;
    let ciphertext =
        webcrypto::aes_gcm_encrypt(&keys.key[..], &keys.nonce, &keys.kid.0, &signed).await?;
    drop(signed);
    let envelope = veil_seal::assemble_envelope(&keys.enc, &keys.kid, &ciphertext)
        .map_err(|e| e.to_string())?;
    let id = envelope.id().to_hex();
    let item = OutboxItem {
        id: id.clone(),
        scope,
        recipient: recipient_id,
        files: names,
        size: envelope.as_bytes().len(),
        state: ItemState::Queued,
        attempts: 0,
        next_at_ms: 0.0,
        created_ms: created,
    };
    let bytes = js_sys::Uint8Array::from(envelope.as_bytes());
    idb::put(&db, "envelopes", &id, &bytes)
        .await
        .map_err(|e| e.to_string())?;
    put_json(&db, "items", &id, &item).await?;
    audit_with(&db, &key, "seal", Some(pseudonym.as_str().to_string()), serde_json::json!({
        "artifact": id, "purpose": item.scope.label(), "recipient": item.recipient, "bytes": item.size,
    }))
    .await?;
    register_background_sync();
    Ok(item)
}

/// Every item, newest first.
pub async fn items() -> Result<Vec<OutboxItem>, String> {
    let db = db().await?;
    let mut items: Vec<OutboxItem> = idb::all(&db, "items")
        .await
        .map_err(|e| e.to_string())?
        .into_iter()
        .filter_map(|v| serde_json::from_str(&v.as_string()?).ok())
        .collect();
    items.sort_by(|a, b| b.created_ms.total_cmp(&a.created_ms));
    Ok(items)
}

/// The server's JSON error code, for a failed item's reason.
fn error_code(body: &str) -> String {
    serde_json::from_str::<serde_json::Value>(body)
        .ok()
        .and_then(|v| {
            Some(format!(
                "{}: {}",
                v.get("error")?.as_str()?,
                v.get("detail").and_then(|d| d.as_str()).unwrap_or("")
            ))
        })
        .unwrap_or_else(|| body.chars().take(200).collect())
}

/// Upload every due item once; `progress(id, fraction)` reports each upload. Returns how many were
/// delivered.
pub async fn flush(progress: impl Fn(&str, f64) + Clone + 'static) -> Result<usize, String> {
    let db = db().await?;
    let mut delivered = 0;
    for mut item in items().await? {
        if !matches!(item.state, ItemState::Queued | ItemState::Uploading)
            || item.next_at_ms > now_ms()
        {
            continue;
        }
        let Some(envelope) = idb::get(&db, "envelopes", &item.id)
            .await
            .map_err(|e| e.to_string())?
        else {
            continue;
        };
        item.state = ItemState::Uploading;
        item.attempts += 1;
        put_json(&db, "items", &item.id, &item).await?;
        let id = item.id.clone();
        let report = progress.clone();
        let outcome = request(
            "POST",
            "/v1/artifacts",
            &[
                ("Idempotency-Key", &item.id),
                ("Content-Type", "application/cbor"),
            ],
            Some(&envelope),
            Some(Box::new(move |f| report(&id, f))),
        )
        .await;
        // The item may have been cancelled (consent withdrawn) while it was being sent.
        let current: Option<OutboxItem> = get_json(&db, "items", &item.id).await?;
        let cancelled = matches!(current.map(|c| c.state), Some(ItemState::Cancelled { .. }));
        item.state = match &outcome {
            HttpOutcome::Answered {
                status: 200 | 201, ..
            } => {
                delivered += 1;
                ItemState::Delivered { at_ms: now_ms() }
            }
            HttpOutcome::Answered { status, body }
                if (400..500).contains(status) && *status != 408 && *status != 429 =>
            {
                ItemState::Failed {
                    reason: error_code(body),
                }
            }
            _ if cancelled => ItemState::Cancelled {
                reason: "consent withdrawn".into(),
            },
            _ => {
                // Exponential backoff with full jitter: 1 s, 2 s, 4 s, ... capped at 5 minutes.
                let base = (1000.0 * 2f64.powi(item.attempts.saturating_sub(1).min(20) as i32))
                    .min(MAX_BACKOFF_MS);
                item.next_at_ms = now_ms() + base * (0.5 + js_sys::Math::random());
                ItemState::Queued
            }
        };
        put_json(&db, "items", &item.id, &item).await?;
        if let ItemState::Delivered { .. } | ItemState::Failed { .. } = &item.state {
            let key = webcrypto::client_key(&db).await?;
            let (event, detail) = match &item.state {
                ItemState::Failed { reason } => ("upload-failed", reason.clone()),
                _ => ("upload", String::new()),
            };
            audit_with(
                &db,
                &key,
                event,
                None,
                serde_json::json!({ "artifact": item.id, "detail": detail }),
            )
            .await?;
        }
    }
    Ok(delivered)
}

/// Cancel an item that has not left yet.
pub async fn cancel(id: &str, reason: &str) -> Result<(), String> {
    let db = db().await?;
    if let Some(mut item) = get_json::<OutboxItem>(&db, "items", id).await?
        && matches!(item.state, ItemState::Queued | ItemState::Failed { .. })
    {
        item.state = ItemState::Cancelled {
            reason: reason.into(),
        };
        put_json(&db, "items", id, &item).await?;
        idb::delete(&db, "envelopes", id)
            .await
            .map_err(|e| e.to_string())?;
    }
    Ok(())
}

/// Consent for `scope` was withdrawn: cancel its queued items and revoke its delivered ones.
pub async fn on_consent_withdrawn(scope: &PurposeScope) -> Result<(), String> {
    let db = db().await?;
    let mut delivered = Vec::new();
    for item in items()
        .await?
        .into_iter()
        .filter(|i| scope.covers(&i.scope) || i.scope.covers(scope))
    {
        match item.state {
            ItemState::Queued | ItemState::Uploading | ItemState::Failed { .. } => {
                cancel(&item.id, "consent withdrawn").await?;
            }
            ItemState::Delivered { .. } => delivered.push(item.id),
            ItemState::Cancelled { .. } => {}
        }
    }
    let key = webcrypto::client_key(&db).await?;
    audit_with(
        &db,
        &key,
        "consent-change",
        None,
        serde_json::json!({ "change": "withdrawn", "purpose": scope.label() }),
    )
    .await?;
    if delivered.is_empty() {
        return Ok(());
    }
    let body = serde_json::json!({
        "format": "veil-revocation-v1",
        "artifacts": delivered,
        "purpose": scope.purpose.id(),
        "withdrawn_at_ms": now_ms() as u64,
        "reason": "consent withdrawn",
        "client_key": hex::encode(&key.public_sec1),
    });
    match post_signed(&key, "/v1/revocations", &body).await? {
        HttpOutcome::Answered {
            status: 200..=299, ..
        } => {
            audit_with(
                &db,
                &key,
                "revocation",
                None,
                serde_json::json!({ "artifacts": delivered }),
            )
            .await
        }
        HttpOutcome::Answered { body, .. } => Err(format!(
            "the server did not accept the revocation: {}",
            error_code(&body)
        )),
        HttpOutcome::NetworkError(_) => Err(
            "offline: the revocation of delivered artifacts will need to be sent again when online"
                .into(),
        ),
    }
}

/// POST a control message (revocation, erasure) as JSON, signed over its exact bytes with the client
/// key in `Veil-Signature` (base64url `r || s`), as `docs/ingest.md` specifies.
async fn post_signed(
    key: &ClientKey,
    path: &str,
    body: &serde_json::Value,
) -> Result<HttpOutcome, String> {
    let body = body.to_string();
    let signature = base64url(&key.sign(body.as_bytes()).await?);
    Ok(request(
        "POST",
        path,
        &[
            ("Content-Type", "application/json"),
            ("Veil-Signature", &signature),
        ],
        Some(&JsValue::from_str(&body)),
        None,
    )
    .await)
}

fn base64url(bytes: &[u8]) -> String {
    const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    let mut out = String::with_capacity(bytes.len().div_ceil(3) * 4);
    for chunk in bytes.chunks(3) {
        let n = (u32::from(chunk[0]) << 16)
            | (u32::from(*chunk.get(1).unwrap_or(&0)) << 8)
            | u32::from(*chunk.get(2).unwrap_or(&0));
        for i in 0..=chunk.len() {
            out.push(ALPHABET[((n >> (18 - 6 * i)) & 63) as usize] as char);
        }
    }
    out
}

/// Ask the service worker to upload in the background when the connection returns (Background Sync,
/// where the browser has it; elsewhere the open page uploads on its own).
fn register_background_sync() {
    let Some(window) = web_sys::window() else {
        return;
    };
    let container = window.navigator().service_worker();
    wasm_bindgen_futures::spawn_local(async move {
        let Ok(reg) = wasm_bindgen_futures::JsFuture::from(
            container
                .ready()
                .unwrap_or_else(|_| js_sys::Promise::resolve(&JsValue::NULL)),
        )
        .await
        else {
            return;
        };
        let Ok(sync) = js_sys::Reflect::get(&reg, &"sync".into()) else {
            return;
        };
        if sync.is_undefined() {
            return;
        }
        let Ok(register) = js_sys::Reflect::get(&sync, &"register".into())
            .and_then(|f| f.dyn_into::<js_sys::Function>())
        else {
            return;
        };
        if let Ok(p) = register
            .call1(&sync, &"veil-outbox".into())
            .and_then(|p| p.dyn_into::<js_sys::Promise>())
        {
            let _ = wasm_bindgen_futures::JsFuture::from(p).await;
        }
    });
}

/// Append an entry to the audit chain, signed with the client key.
pub async fn audit(
    event: &str,
    subject: Option<String>,
    details: serde_json::Value,
) -> Result<(), String> {
    let db = db().await?;
    let key = webcrypto::client_key(&db).await?;
    audit_with(&db, &key, event, subject, details).await
}

thread_local! {
    static AUDIT_BUSY: std::cell::Cell<bool> = const { std::cell::Cell::new(false) };
    static AUDIT_WAITERS: std::cell::RefCell<std::collections::VecDeque<js_sys::Function>> =
        std::cell::RefCell::new(std::collections::VecDeque::new());
}

/// The right to append to the audit chain; the next waiter gets it when this is dropped.
struct AuditTurn;

impl AuditTurn {
    async fn take() -> Self {
        loop {
            if !AUDIT_BUSY.with(|b| b.replace(true)) {
                return AuditTurn;
            }
            let wait = js_sys::Promise::new(&mut |resolve, _| {
                AUDIT_WAITERS.with(|w| w.borrow_mut().push_back(resolve));
            });
            let _ = wasm_bindgen_futures::JsFuture::from(wait).await;
        }
    }
}

impl Drop for AuditTurn {
    fn drop(&mut self) {
        AUDIT_BUSY.with(|b| b.set(false));
        if let Some(next) = AUDIT_WAITERS.with(|w| w.borrow_mut().pop_front()) {
            let _ = next.call0(&JsValue::NULL);
        }
    }
}

async fn audit_with(
    db: &IdbDatabase,
    key: &ClientKey,
    event: &str,
    subject: Option<String>,
    details: serde_json::Value,
) -> Result<(), String> {
    // One append at a time: two interleaved appends would both extend the same head and fork the chain.
    let _turn = AuditTurn::take().await;
    let log = audit_log_in(db, key).await?;
    let mut entry = veil_audit::NewEntry::new(
        now_ms() as u64,
        "browser",
        veil_audit::AuditEvent::from_code(event),
    )
    .details(details);
    if let Some(s) = subject {
        entry = entry.subject(&s);
    }
    let pending = log.prepare(entry).map_err(|e| e.to_string())?;
    let signature = key.sign(&pending.hash()).await?;
    let mut log = log;
    log.commit(pending, &signature).map_err(|e| e.to_string())?;
    let Some(last) = log.entries().last() else {
        return Ok(());
    };
    let line = serde_json::to_string(&last.to_json()).map_err(|e| e.to_string())?;
    idb::put(
        db,
        "audit",
        &format!("{:012}", log.len() - 1),
        &JsValue::from_str(&line),
    )
    .await
    .map_err(|e| e.to_string())
}

async fn audit_log_in(db: &IdbDatabase, key: &ClientKey) -> Result<veil_audit::AuditLog, String> {
    let lines: Vec<String> = idb::all(db, "audit")
        .await
        .map_err(|e| e.to_string())?
        .into_iter()
        .filter_map(|v| v.as_string())
        .collect();
    let verifying =
        veil_seal::verifying_key_from_sec1(&key.public_sec1).map_err(|e| e.to_string())?;
    veil_audit::AuditLog::from_json_lines(&lines.join("\n"), verifying).map_err(|e| e.to_string())
}

/// The audit chain as JSON lines, and the result of verifying it.
pub async fn audit_log() -> Result<(String, Result<usize, String>), String> {
    let db = db().await?;
    let key = webcrypto::client_key(&db).await?;
    let lines: Vec<String> = idb::all(&db, "audit")
        .await
        .map_err(|e| e.to_string())?
        .into_iter()
        .filter_map(|v| v.as_string())
        .collect();
    let text = lines.join("\n");
    let verifying =
        veil_seal::verifying_key_from_sec1(&key.public_sec1).map_err(|e| e.to_string())?;
    let verdict = match veil_audit::AuditLog::from_json_lines(&text, verifying) {
        Ok(log) => log.verify().map(|_| log.len()).map_err(|b| b.to_string()),
        Err(e) => Err(e.to_string()),
    };
    Ok((text, verdict))
}

/// GDPR Art. 17 erasure of the identity layer: destroy the pseudonym secret (crypto-shredding), tell
/// the server which pseudonyms are now unlinkable, and record it. The pseudonymised clinical record
/// the server holds can be retained where law requires (HIPAA 164.530(j); state record laws).
pub async fn erase_identity() -> Result<(), String> {
    let db = db().await?;
    let key = webcrypto::client_key(&db).await?;
    let Some(v) = idb::get(&db, "identity", "secret")
        .await
        .map_err(|e| e.to_string())?
    else {
        return Err("there is no identity layer to erase".into());
    };
    let secret = PseudonymSecret::from_bytes(&js_sys::Uint8Array::new(&v).to_vec())
        .map_err(|e| e.to_string())?;
    let pseudonyms: Vec<serde_json::Value> = items()
        .await?
        .iter()
        .map(|i| (i.recipient.clone(), i.scope.purpose.id()))
        .collect::<std::collections::BTreeSet<_>>()
        .into_iter()
        .map(|(r, p)| serde_json::json!({"recipient": r, "purpose": p, "pseudonym": secret.pseudonym(&r, p).as_str()}))
        .collect();
    drop(secret);
    idb::delete(&db, "identity", "secret")
        .await
        .map_err(|e| e.to_string())?;
    audit_with(
        &db,
        &key,
        "erasure",
        None,
        serde_json::json!({ "pseudonyms": pseudonyms.len() }),
    )
    .await?;
    if pseudonyms.is_empty() {
        return Ok(());
    }
    let body = serde_json::json!({
        "format": "veil-erasure-v1",
        "erased_at_ms": now_ms() as u64,
        "pseudonyms": pseudonyms,
        "client_key": hex::encode(&key.public_sec1),
    });
    match post_signed(&key, "/v1/erasures", &body).await? {
        HttpOutcome::Answered {
            status: 200..=299, ..
        } => Ok(()),
        HttpOutcome::Answered { body, .. } => Err(format!(
            "the server did not record the erasure: {}",
            error_code(&body)
        )),
        HttpOutcome::NetworkError(_) => Err(
            "the identity layer is destroyed here; the server must still be told when online"
                .into(),
        ),
    }
}
