//! The outbox: what leaves this browser, and how.
//!
//! Nothing is queued unless the person's consent decision for its purpose is `allow` now; each
//! artifact is pseudonymised for its recipient, signed with the client's non-extractable WebCrypto
//! key and sealed with HPKE to the recipient's key (`veil-seal`) before it is stored. Only sealed
//! envelopes are ever stored or sent.
//!
//! What happens to them then is `veil-outbox`'s state machine, not this module's: this module gives
//! it IndexedDB as its store ([`IdbStore`]: envelopes, items and control messages wait there across
//! reloads and restarts) and `XMLHttpRequest` as its transport ([`Xhr`]: uploads with progress,
//! revocations and erasures signed with the client key), and writes the audit entries for what it
//! reports. So each envelope is uploaded exactly once (its id is the `Idempotency-Key`), network
//! failures are retried with capped, jittered backoff and refusals are final; withdrawing consent
//! cancels queued items for that purpose before they leave and revokes delivered ones, and the
//! revocation and erasure messages are queued and retried like uploads.
//!
//! The server only accepts what an enrolled client key sends. [`connect_clinic`] enrols this
//! browser's key with a clinic's invitation code (`veil_outbox::enrolment`), remembers the
//! connection beside the key, and sends what waited for it. The connection is of the key, and both
//! live in this patient database: ending a kiosk session deletes them together, so the next
//! patient starts with a new, unconnected key that links nothing to the previous one.
//!
//! Every step writes a signed entry to the audit chain (`veil-audit`).

use std::cell::{Cell, RefCell};
use std::collections::{BTreeSet, VecDeque};
use std::rc::Rc;
use std::thread::LocalKey;

use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use veil_consent::PurposeScope;
use veil_outbox::enrolment::{self, EnrolmentRequest, InviteCode};
use veil_outbox::{
    Answer, Change, ControlKind, ControlMessage, ErasedPseudonym, Event, NewItem, Outbox,
    OutboxStore, RngCore, StoreError, Transport, Verdict,
};
use veil_seal::{ArtifactBuilder, ConsentRef, DeviceEvidence, PseudonymSecret, RecipientPublicKey};
use wasm_bindgen::{JsCast, JsValue};
use web_sys::IdbDatabase;

use veil_audit::AuditEvent;

use crate::error::{
    AppError, NO_IDENTITY, NO_SESSION, NOT_DELIVERED, NOTHING_TO_SEAL, RAW_MODEL,
    RECIPIENT_UNKNOWN, WAITING,
};
use crate::patient_session;
use crate::platform::download;
use crate::platform::http::request;
use crate::platform::idb;
use crate::platform::webcrypto::{self, ClientKey};
use crate::state::AuditFailure;

pub use veil_outbox::{ItemState, OutboxItem};

/// The outbox database (a patient store: removed when a kiosk session ends).
pub const DB_NAME: &str = crate::platform::patient::OUTBOX_DB;
/// Version 2 added `controls` (queued revocations and erasures); the other stores are unchanged.
const DB_VERSION: u32 = 2;
const STORES: &[&str] = &[
    "items",
    "envelopes",
    "keys",
    "identity",
    "audit",
    "config",
    "controls",
];
const ITEMS: &str = "items";
const ENVELOPES: &str = "envelopes";
const CONTROLS: &str = "controls";
/// Where the connection to a clinic is kept (store `config`).
const CLINIC: &str = "clinic";
/// Why withdrawal cancels and revokes.
const WITHDRAWN: &str = "consent withdrawn";

/// The recipient's key as announced by `GET /v1/recipient-key`, kept for sealing offline.
#[derive(Debug, Clone, Serialize, Deserialize)]
struct RecipientInfo {
    kid: String,
    public_key: String,
    recipient: Option<String>,
}

async fn db() -> Result<idb::Connection, AppError> {
    idb::open(DB_NAME, DB_VERSION, STORES)
        .await
        .map_err(AppError::from)
}

fn now_ms() -> f64 {
    js_sys::Date::now()
}

/// The recipient key: fresh from the server when online, else the one seen last.
async fn recipient(db: &IdbDatabase) -> Result<RecipientInfo, AppError> {
    if let Answer::Answered { status: 200, body } =
        request("GET", "/v1/recipient-key", &[], None, None).await
        && let Ok(info) = serde_json::from_str::<RecipientInfo>(&body)
    {
        let json = to_js(&info)?;
        idb::put(db, "config", "recipient", &json)
            .await
            .map_err(AppError::from)?;
        return Ok(info);
    }
    idb::get(db, "config", "recipient")
        .await
        .map_err(AppError::from)?
        .as_ref()
        .and_then(from_js)
        .ok_or_else(|| {
            AppError::new(
                RECIPIENT_UNKNOWN,
                "the recipient's key is not known yet: connect once so Veil can fetch it",
            )
        })
}

/// Fetch and keep the recipient's key (so artifacts can be sealed while offline).
pub async fn refresh_recipient() -> Result<(), AppError> {
    let db = db().await?;
    recipient(&db).await.map(|_| ())
}

/// This browser's client public key (uncompressed SEC1, 65 bytes), created on first use: what a
/// device reading's challenge is bound to (`veil_trust::bound_challenge`) and what seals and signs.
pub async fn client_public_key() -> Result<[u8; 65], AppError> {
    let db = db().await?;
    let key = webcrypto::client_key(&db).await?;
    <[u8; 65]>::try_from(key.public_sec1.as_slice()).map_err(|_| {
        AppError::browser(format!(
            "the client public key is {} bytes, not 65",
            key.public_sec1.len()
        ))
    })
}

/// The subject's identity-layer secret, created on first use. Only this layer can compute pseudonyms.
async fn identity_secret(db: &IdbDatabase) -> Result<PseudonymSecret, AppError> {
    if let Some(v) = idb::get(db, "identity", "secret")
        .await
        .map_err(AppError::from)?
    {
        let bytes = js_sys::Uint8Array::new(&v).to_vec();
        return PseudonymSecret::from_bytes(&bytes).map_err(AppError::from);
    }
    let secret = PseudonymSecret::generate().map_err(AppError::from)?;
    let stored = js_sys::Uint8Array::from(&secret.expose_bytes()[..]);
    idb::put(db, "identity", "secret", &stored)
        .await
        .map_err(AppError::from)?;
    Ok(secret)
}

/// The outbox's store in IndexedDB: items and control messages as JSON strings (the shape the
/// first outbox stored, which the service worker reads too), envelopes as `Uint8Array`s that are
/// handed to `XMLHttpRequest` without a copy into wasm memory.
pub struct IdbStore {
    db: idb::Connection,
}

impl IdbStore {
    /// The database, for the audit chain and the keys kept beside the outbox.
    pub fn db(&self) -> &IdbDatabase {
        &self.db
    }

    async fn all<T: DeserializeOwned>(&self, store: &str) -> Result<Vec<T>, StoreError> {
        Ok(idb::all(&self.db, store)
            .await
            .map_err(stored)?
            .iter()
            .filter_map(from_js)
            .collect())
    }

    async fn one<T: DeserializeOwned>(
        &self,
        store: &str,
        id: &str,
    ) -> Result<Option<T>, StoreError> {
        Ok(idb::get(&self.db, store, id)
            .await
            .map_err(stored)?
            .as_ref()
            .and_then(from_js))
    }

    async fn insert<T: Serialize>(
        &self,
        store: &str,
        id: &str,
        value: &T,
    ) -> Result<bool, StoreError> {
        let value = to_js(value)?;
        let (_, written) = idb::update(&self.db, store, id, move |before| {
            before.is_none().then_some(value)
        })
        .await
        .map_err(stored)?;
        Ok(written.is_some())
    }

    async fn change<T, F>(
        &self,
        store: &str,
        id: &str,
        change: F,
    ) -> Result<Option<Change<T>>, StoreError>
    where
        T: Serialize + DeserializeOwned + 'static,
        F: FnOnce(&mut T) -> bool + 'static,
    {
        let (before, after) = idb::update(&self.db, store, id, move |before| {
            let mut value: T = from_js(&before?)?;
            change(&mut value).then(|| to_js(&value).ok()).flatten()
        })
        .await
        .map_err(stored)?;
        let Some(before) = before else {
            return Ok(None);
        };
        let before =
            from_js(&before).ok_or_else(|| StoreError(format!("{store} {id} does not read")))?;
        Ok(Some(Change {
            before,
            after: after.as_ref().and_then(from_js),
        }))
    }
}

fn stored(e: idb::IdbError) -> StoreError {
    StoreError(e.to_string())
}

fn from_js<T: DeserializeOwned>(value: &JsValue) -> Option<T> {
    serde_json::from_str(&value.as_string()?).ok()
}

fn to_js<T: Serialize>(value: &T) -> Result<JsValue, StoreError> {
    serde_json::to_string(value)
        .map(|json| JsValue::from_str(&json))
        .map_err(|e| StoreError(e.to_string()))
}

impl OutboxStore for IdbStore {
    type Envelope = JsValue;

    async fn items(&self) -> Result<Vec<OutboxItem>, StoreError> {
        self.all(ITEMS).await
    }

    async fn item(&self, id: &str) -> Result<Option<OutboxItem>, StoreError> {
        self.one(ITEMS, id).await
    }

    async fn insert_item(&self, item: &OutboxItem) -> Result<bool, StoreError> {
        self.insert(ITEMS, &item.id, item).await
    }

    async fn update_item<F>(
        &self,
        id: &str,
        change: F,
    ) -> Result<Option<Change<OutboxItem>>, StoreError>
    where
        F: FnOnce(&mut OutboxItem) -> bool + 'static,
    {
        self.change(ITEMS, id, change).await
    }

    async fn envelope(&self, id: &str) -> Result<Option<JsValue>, StoreError> {
        idb::get(&self.db, ENVELOPES, id).await.map_err(stored)
    }

    async fn put_envelope(&self, id: &str, envelope: JsValue) -> Result<(), StoreError> {
        idb::put(&self.db, ENVELOPES, id, &envelope)
            .await
            .map_err(stored)
    }

    async fn delete_envelope(&self, id: &str) -> Result<(), StoreError> {
        idb::delete(&self.db, ENVELOPES, id).await.map_err(stored)
    }

    async fn controls(&self) -> Result<Vec<ControlMessage>, StoreError> {
        self.all(CONTROLS).await
    }

    async fn control(&self, id: &str) -> Result<Option<ControlMessage>, StoreError> {
        self.one(CONTROLS, id).await
    }

    async fn insert_control(&self, message: &ControlMessage) -> Result<bool, StoreError> {
        self.insert(CONTROLS, &message.id, message).await
    }

    async fn update_control<F>(
        &self,
        id: &str,
        change: F,
    ) -> Result<Option<Change<ControlMessage>>, StoreError>
    where
        F: FnOnce(&mut ControlMessage) -> bool + 'static,
    {
        self.change(CONTROLS, id, change).await
    }
}

/// Upload progress: artifact id and the fraction sent.
type Progress = Rc<dyn Fn(&str, f64)>;

/// The outbox's transport: `XMLHttpRequest` to the ingest server on this origin. Control messages
/// are signed with the client key over their exact bytes, in `Veil-Signature` (base64url `r || s`),
/// as `docs/ingest.md` specifies.
pub struct Xhr {
    db: IdbDatabase,
    progress: Option<Progress>,
}

impl Transport<JsValue> for Xhr {
    async fn upload(&self, id: &str, envelope: &JsValue) -> Answer {
        let report = self.progress.clone().map(|progress| {
            let id = id.to_owned();
            Box::new(move |fraction| progress(&id, fraction)) as Box<dyn Fn(f64)>
        });
        let headers = [
            ("Idempotency-Key", id),
            ("Content-Type", "application/cbor"),
        ];
        request("POST", "/v1/artifacts", &headers, Some(envelope), report).await
    }

    async fn control(&self, message: &ControlMessage) -> Answer {
        // A key or signing failure is this browser's, not the message's: retried like no answer.
        let key = match webcrypto::client_key(&self.db).await {
            Ok(key) => key,
            Err(e) => return Answer::NetworkError(format!("the client key: {e}")),
        };
        let body = message.body(&hex::encode(&key.public_sec1));
        let signature = match key.sign(body.as_bytes()).await {
            Ok(signature) => base64url(&signature),
            Err(e) => return Answer::NetworkError(format!("signing: {e}")),
        };
        let headers = [
            ("Content-Type", "application/json"),
            ("Veil-Signature", signature.as_str()),
            ("Idempotency-Key", message.id.as_str()),
        ];
        let body = JsValue::from_str(&body);
        request("POST", message.path(), &headers, Some(&body), None).await
    }
}

/// The outbox engine over this browser's store and network.
type AppOutbox = Outbox<IdbStore, Xhr, rand_core::OsRng, fn() -> f64>;

fn engine_over(db: idb::Connection, progress: Option<Progress>) -> AppOutbox {
    let transport = Xhr {
        db: (*db).clone(),
        progress,
    };
    let now: fn() -> f64 = now_ms;
    Outbox::new(IdbStore { db }, transport, rand_core::OsRng, now)
}

async fn engine(progress: Option<Progress>) -> Result<AppOutbox, AppError> {
    Ok(engine_over(db().await?, progress))
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
    /// Readings nothing proves (standard devices, imported files): sealed in the manifest's
    /// `unverified_readings`, never as evidence, with the content [`UNVERIFIED_READINGS_FILE`].
    UnverifiedReadings {
        /// The readings.
        readings: Vec<veil_seal::UnverifiedReading>,
    },
}

/// The content an artifact of unverified readings carries (their JSON, status `unverified`): its
/// name tells the Outbox list to mark the item UNVERIFIED.
pub const UNVERIFIED_READINGS_FILE: &str = "unverified-readings.json";

/// What became of a sealed artifact.
#[derive(Debug, Clone)]
pub enum Sealed {
    /// Queued in the outbox, for this clinic's server.
    Queued(OutboxItem),
    /// Sealed to a recipient that receives elsewhere: offered as a file to hand over.
    HandedOver {
        /// The artifact id.
        id: String,
        /// The file name offered.
        file: String,
        /// The recipient's name.
        recipient: String,
        /// Where it receives, if known.
        server: Option<String>,
    },
}

/// Seal `content` for `scope` and queue the envelope. Refused unless consent allows the use now.
/// Contents are named by role (`model-1.stl`, `readings.json`), never after a person's file.
/// Partner sharing and transfers go to their recipient ([`seal_for`]); one that receives
/// elsewhere is refused here (`recipient-unknown`): choose it where a file can be handed over.
pub async fn seal_and_queue(
    content: Sealable,
    scope: PurposeScope,
) -> Result<OutboxItem, AppError> {
    match seal_for(content, scope, None).await? {
        Sealed::Queued(item) => Ok(item),
        Sealed::HandedOver { recipient, .. } => Err(AppError::new(
            RECIPIENT_UNKNOWN,
            format!(
                "{recipient} does not receive at this clinic's server: its artifact was offered as a file"
            ),
        )),
    }
}

/// Seal `content` for `scope` to its recipient and deliver it where that recipient receives.
/// Partner sharing and cross-border transfer go to `to` (or the recipient the scope names, or the
/// first in its country): sealed to that recipient's key, queued when it receives at this app's
/// server, else offered as a file to hand over. Other uses are sealed to this clinic server's key
/// and queued. Refused unless consent allows the use now.
pub async fn seal_for(
    content: Sealable,
    scope: PurposeScope,
    to: Option<crate::recipients::Recipient>,
) -> Result<Sealed, AppError> {
    let to = match (&scope.partner, &scope.country) {
        (None, None) => None,
        _ => Some(
            to.filter(|r| crate::recipients::for_scope(&scope).contains(r))
                .or_else(|| crate::recipients::for_scope(&scope).into_iter().next())
                .ok_or_else(|| {
                    AppError::new(
                        RECIPIENT_UNKNOWN,
                        format!(
                            "no recipient is set up for {} (Settings, Recipients)",
                            scope.label()
                        ),
                    )
                })?,
        ),
    };
    let session = patient_session::load().ok_or_else(|| {
        AppError::new(
            NO_SESSION,
            "confirm who you are and your consent choices on the Consent page first",
        )
    })?;
    let (decision, event_hash, sealed) = session.grant(&scope)?;
    let db = db().await?;
    let (recipient_id, public_hex) = match &to {
        Some(r) => (r.recipient_id(), r.public_key.clone()),
        None => {
            let server = recipient(&db).await?;
            (
                server
                    .recipient
                    .clone()
                    .unwrap_or_else(|| "veil-ingest".into()),
                server.public_key,
            )
        }
    };
    let public = hex::decode(&public_hex)
        .map_err(|_| AppError::storage("the stored recipient key is not hex"))
        .and_then(|b| RecipientPublicKey::from_sec1_bytes(&b).map_err(AppError::from))?;
    let key = webcrypto::client_key(&db).await?;
    let secret = identity_secret(&db).await?;
    let purpose = scope.purpose.id();
    let pseudonym = secret.pseudonym(&recipient_id, purpose);
    let consent = ConsentRef {
        decision: decision.decision,
        event_hash,
        context: Some(sealed),
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
            let format = veil_mesh::write::deidentified_format(&bytes).ok_or_else(|| {
                AppError::new(
                    RAW_MODEL,
                    "only a model de-identified on the Models page can be sealed",
                )
            })?;
            let report = serde_json::to_value(&report).map_err(AppError::from)?;
            builder.set_deid_report(report);
            let role = veil_seal::names::Role::Model(format.extension());
            vec![
                builder
                    .add_content_as(&role, bytes)
                    .map_err(AppError::from)?,
            ]
        }
        Sealable::Readings { summary, evidence } => {
            if evidence.is_empty() {
                return Err(AppError::new(
                    NOTHING_TO_SEAL,
                    "there are no verified readings to send",
                ));
            }
            for e in evidence {
                builder.add_device_evidence(e);
            }
            builder
                .add_file("readings.json", summary)
                .map_err(AppError::from)?;
            vec!["readings.json".to_string()]
        }
        Sealable::UnverifiedReadings { readings } => {
            if readings.is_empty() {
                return Err(AppError::new(
                    NOTHING_TO_SEAL,
                    "there are no unverified readings to send",
                ));
            }
            let summary = serde_json::to_vec_pretty(&serde_json::json!({
                "status": "unverified",
                "readings": readings,
            }))
            .map_err(AppError::from)?;
            for r in readings {
                builder.add_unverified_reading(r);
            }
            builder
                .add_file(UNVERIFIED_READINGS_FILE, summary)
                .map_err(AppError::from)?;
            vec![UNVERIFIED_READINGS_FILE.to_string()]
        }
    };
    let client = veil_seal::verifying_key_from_sec1(&key.public_sec1).map_err(AppError::from)?;
    let unsigned = builder.prepare(&client).map_err(AppError::from)?;
    let signature = key.sign(&unsigned.to_be_signed()).await?;
    let signed = unsigned.finish(&signature).map_err(AppError::from)?;
    // HPKE in wasm, the bulk AES-256-GCM in WebCrypto: byte-identical to `veil_seal::seal`, several
    // times faster for large models (docs/benchmarks.md).
    let signed = signed.into_bytes();
    let keys = veil_seal::begin_external_seal(&public).map_err(AppError::from)?;
    let ciphertext =
        webcrypto::aes_gcm_encrypt(&keys.key[..], &keys.nonce, &keys.kid.0, &signed).await?;
    drop(signed);
    let envelope =
        veil_seal::assemble_envelope(&keys.enc, &keys.kid, &ciphertext).map_err(AppError::from)?;
    let id = envelope.id().to_hex();
    if let Some(r) = &to
        && let crate::recipients::Delivery::HandOver(server) = r.delivery()
    {
        // The recipient receives elsewhere: the person hands the sealed file over. It opens only
        // with that recipient's key.
        let file = format!("veil-{}-{}.veil", scope.purpose.id(), &id[..12]);
        download::offer(&file, "application/octet-stream", envelope.as_bytes());
        audit_with(
            &db,
            &key,
            AuditEvent::Seal,
            Some(pseudonym.as_str().to_string()),
            serde_json::json!({
                "artifact": id, "purpose": scope.label(), "recipient": recipient_id,
                "bytes": envelope.as_bytes().len(), "handed-over": true, "server": server,
            }),
        )
        .await?;
        return Ok(Sealed::HandedOver {
            id,
            file,
            recipient: r.name.clone(),
            server,
        });
    }
    // The consent's own end travels with the item: past it, neither this page's outbox nor the
    // service worker sends it.
    let until = session
        .consent_until(&scope)
        .map(|t| t.unix() as f64 * 1000.0);
    let item =
        NewItem::new(&id, scope, &recipient_id, names, envelope.as_bytes().len()).until(until);
    let bytes = js_sys::Uint8Array::from(envelope.as_bytes());
    drop(envelope);
    let outbox = engine_over(db, None);
    let item = outbox
        .enqueue(item, bytes.into())
        .await
        .map_err(AppError::from)?;
    audit_with(outbox.store().db(), &key, AuditEvent::Seal, Some(pseudonym.as_str().to_string()), serde_json::json!({
        "artifact": id, "purpose": item.scope.label(), "recipient": item.recipient, "bytes": item.size,
    }))
    .await?;
    register_background_sync();
    Ok(Sealed::Queued(item))
}

/// Every item, newest first.
pub async fn items() -> Result<Vec<OutboxItem>, AppError> {
    engine(None).await?.items().await.map_err(AppError::from)
}

/// Every revocation and erasure message, newest first.
pub async fn controls() -> Result<Vec<ControlMessage>, AppError> {
    engine(None).await?.controls().await.map_err(AppError::from)
}

/// Upload every due item and send every due control message once; `progress(id, fraction)`
/// reports each upload. Returns how many uploads were delivered. One flush at a time on this page
/// (a second waits for the first), as `veil-outbox` requires.
pub async fn flush(progress: impl Fn(&str, f64) + 'static) -> Result<usize, AppError> {
    let _turn = Turn::take(&FLUSH_LINE).await;
    flush_in_turn(engine(Some(Rc::new(progress))).await?).await
}

/// Nothing leaves unless the person's consent decision allows it now: an item whose consent
/// expired (or no longer allows it for any other reason) since it was queued is cancelled before
/// it is sent, as a withdrawal cancels it.
async fn stop_unconsented(outbox: &AppOutbox) -> Result<(), AppError> {
    let Some(session) = patient_session::load() else {
        return Ok(());
    };
    let items = outbox.items().await.map_err(AppError::from)?;
    for item in items.iter().filter(|i| {
        matches!(
            i.state,
            ItemState::Queued | ItemState::AwaitingEnrolment { .. }
        )
    }) {
        if let Err(e) = session.grant(&item.scope) {
            outbox
                .cancel(
                    &item.id,
                    &format!("consent no longer allows it: {}", e.message),
                )
                .await
                .map_err(AppError::from)?;
        }
    }
    Ok(())
}

/// [`flush`], its turn taken.
async fn flush_in_turn(mut outbox: AppOutbox) -> Result<usize, AppError> {
    stop_unconsented(&outbox).await?;
    let report = outbox.flush().await.map_err(AppError::from)?;
    let db = outbox.store().db();
    if report.awaiting_enrolment() > 0 {
        // The server does not know this key (any more): the connection kept here is stale.
        idb::delete(db, "config", CLINIC)
            .await
            .map_err(AppError::from)?;
    }
    let mut key = None;
    for event in &report.events {
        let (name, details) = match event {
            Event::Upload {
                item,
                verdict: Verdict::Delivered,
            } => (
                AuditEvent::Upload,
                serde_json::json!({ "artifact": item.id, "detail": "" }),
            ),
            Event::Upload { item, .. } => match &item.state {
                ItemState::Failed { reason } => (
                    AuditEvent::UploadFailed,
                    serde_json::json!({ "artifact": item.id, "detail": reason }),
                ),
                _ => continue,
            },
            Event::Control {
                message:
                    ControlMessage {
                        kind: ControlKind::Revocation { artifacts, .. },
                        ..
                    },
                verdict: Verdict::Delivered,
            } => (
                AuditEvent::Revocation,
                serde_json::json!({ "artifacts": artifacts }),
            ),
            Event::Control { .. } => continue,
        };
        if key.is_none() {
            key = Some(webcrypto::client_key(db).await?);
        }
        if let Some(key) = &key {
            audit_with(db, key, name, None, details).await?;
        }
    }
    Ok(report.delivered())
}

/// This browser's connection to a clinic: its client key, enrolled at the clinic's server.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ClinicConnection {
    /// What the server said.
    #[serde(flatten)]
    pub enrolled: enrolment::Enrolled,
    /// When, ms since the epoch.
    pub at_ms: f64,
}

impl ClinicConnection {
    /// The first 16 hex digits of the key id, as shown to people.
    pub fn kid_prefix(&self) -> &str {
        self.enrolled
            .client_kid
            .get(..16)
            .unwrap_or(&self.enrolled.client_kid)
    }
}

/// The connection to a clinic, if this browser's key was enrolled (and the server has not said
/// since that it does not know the key).
pub async fn clinic_connection() -> Result<Option<ClinicConnection>, AppError> {
    let db = db().await?;
    Ok(idb::get(&db, "config", CLINIC)
        .await
        .map_err(AppError::from)?
        .as_ref()
        .and_then(from_js))
}

/// Connect this browser to a clinic: enrol its client key at the ingest server with the invitation
/// `code` (typed or scanned), signed with the key (proof of possession), remember the connection,
/// and send everything that waited for it. Returns the connection and how many uploads were
/// delivered then.
///
/// Errors carry the enrolment's codes: `invite-invalid` (a code that is not one, or unknown,
/// expired or used up), `client-revoked`, `offline`, `enrolment-refused`; and `browser` or
/// `storage` for this browser's own failures.
pub async fn connect_clinic(code: &str) -> Result<(ClinicConnection, usize), AppError> {
    let code = InviteCode::parse(code)?;
    // No flush runs meanwhile: one that was out before the server knew the key would park what it
    // sent after the release below.
    let _turn = Turn::take(&FLUSH_LINE).await;
    let outbox = engine(None).await?;
    let db = outbox.store().db();
    let key = webcrypto::client_key(db).await?;
    let mut nonce = [0u8; enrolment::NONCE_BYTES];
    rand_core::OsRng
        .try_fill_bytes(&mut nonce)
        .map_err(|e| AppError::browser(format!("no random numbers: {e}")))?;
    let body = EnrolmentRequest::new(&code, &key.public_sec1, None, now_ms() as u64, nonce).body();
    let signature = base64url(&key.sign(body.as_bytes()).await?);
    let headers = [
        ("Content-Type", "application/json"),
        ("Veil-Signature", signature.as_str()),
    ];
    let body = JsValue::from_str(&body);
    let answer = request("POST", enrolment::PATH, &headers, Some(&body), None).await;
    let enrolled = enrolment::read_answer(&answer, &key.public_sec1)?;
    let connection = ClinicConnection {
        enrolled,
        at_ms: now_ms(),
    };
    idb::put(db, "config", CLINIC, &to_js(&connection)?)
        .await
        .map_err(AppError::from)?;
    outbox.on_enrolled().await.map_err(AppError::from)?;
    let delivered = flush_in_turn(outbox).await?;
    Ok((connection, delivered))
}

/// Send the control messages `queued` now rather than at the uploader's next round, and say how
/// they ended: `Ok` when the server has them all, else what is left to do (`offline` is the text
/// for a message still waiting, `refused` gets the server's reason).
async fn send_now(queued: &[ControlMessage], offline: &str, refused: &str) -> Result<(), AppError> {
    let ids: BTreeSet<&str> = queued.iter().map(|m| m.id.as_str()).collect();
    let online = web_sys::window().is_none_or(|w| w.navigator().on_line());
    if online && queued.iter().any(|m| m.state.is_pending()) {
        flush(|_, _| {}).await?;
    }
    let now = controls().await?;
    let mut ours = now.iter().filter(|m| ids.contains(m.id.as_str()));
    if let Some(failed) = ours.clone().find_map(|m| match &m.state {
        ItemState::Failed { reason } => Some(reason),
        _ => None,
    }) {
        return Err(AppError::new(NOT_DELIVERED, format!("{refused}: {failed}")));
    }
    if ours.clone().any(|m| m.state.is_pending()) {
        return Err(AppError::new(WAITING, offline));
    }
    if ours.any(|m| matches!(m.state, ItemState::AwaitingEnrolment { .. })) {
        return Err(AppError::new(
            WAITING,
            "this device is not connected to a clinic: the server is told once it is (Settings, Connect to a clinic)",
        ));
    }
    Ok(())
}

/// Cancel an item that has not left yet.
pub async fn cancel(id: &str, reason: &str) -> Result<(), AppError> {
    engine(None)
        .await?
        .cancel(id, reason)
        .await
        .map(|_| ())
        .map_err(AppError::from)
}

/// Consent for `scope` was withdrawn: cancel its queued items and revoke its delivered ones (the
/// revocation is queued, and sent now when online).
pub async fn on_consent_withdrawn(scope: &PurposeScope) -> Result<(), AppError> {
    let outbox = engine(None).await?;
    let withdrawal = outbox
        .on_withdrawn(scope, WITHDRAWN)
        .await
        .map_err(AppError::from)?;
    let db = outbox.store().db();
    let key = webcrypto::client_key(db).await?;
    audit_with(
        db,
        &key,
        AuditEvent::ConsentChange,
        None,
        serde_json::json!({ "change": "withdrawn", "purpose": scope.label() }),
    )
    .await?;
    drop(outbox);
    send_now(
        &withdrawal.revocations,
        "offline: the revocation of delivered artifacts will be sent when back online",
        "the server did not accept the revocation",
    )
    .await
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
    event: AuditEvent,
    subject: Option<String>,
    details: serde_json::Value,
) -> Result<(), AppError> {
    let db = db().await?;
    let key = webcrypto::client_key(&db).await?;
    audit_with(&db, &key, event, subject, details).await
}

/// [`audit`] in the background, for a step that is already done: a failed append is shown to the
/// person ([`AuditFailure::report`]), never dropped.
pub fn audit_later(event: AuditEvent, details: serde_json::Value) {
    leptos::task::spawn_local(async move {
        if let Err(e) = audit(event, None, details).await {
            AuditFailure::report(e);
        }
    });
}

thread_local! {
    static AUDIT_LINE: Line = const { Line::new() };
    static FLUSH_LINE: Line = const { Line::new() };
}

/// Work on this page that must not interleave with itself (appending to the audit chain: two
/// interleaved appends would both extend the same head and fork it; flushing the outbox): one at a
/// time, the others wait their turn.
struct Line {
    busy: Cell<bool>,
    waiters: RefCell<VecDeque<js_sys::Function>>,
}

impl Line {
    const fn new() -> Self {
        Self {
            busy: Cell::new(false),
            waiters: RefCell::new(VecDeque::new()),
        }
    }
}

/// The right to do the work of a [`Line`]; the next waiter gets it when this is dropped.
struct Turn(&'static LocalKey<Line>);

impl Turn {
    async fn take(line: &'static LocalKey<Line>) -> Self {
        loop {
            if !line.with(|l| l.busy.replace(true)) {
                return Turn(line);
            }
            let wait = js_sys::Promise::new(&mut |resolve, _| {
                line.with(|l| l.waiters.borrow_mut().push_back(resolve));
            });
            let _ = wasm_bindgen_futures::JsFuture::from(wait).await;
        }
    }
}

impl Drop for Turn {
    fn drop(&mut self) {
        self.0.with(|l| l.busy.set(false));
        if let Some(next) = self.0.with(|l| l.waiters.borrow_mut().pop_front()) {
            let _ = next.call0(&JsValue::NULL);
        }
    }
}

async fn audit_with(
    db: &IdbDatabase,
    key: &ClientKey,
    event: AuditEvent,
    subject: Option<String>,
    details: serde_json::Value,
) -> Result<(), AppError> {
    // One append at a time (see `Line`).
    let _turn = Turn::take(&AUDIT_LINE).await;
    let log = audit_log_in(db, key).await?;
    let mut entry = veil_audit::NewEntry::new(now_ms() as u64, "browser", event).details(details);
    if let Some(s) = subject {
        entry = entry.subject(&s);
    }
    let pending = log.prepare(entry).map_err(AppError::from)?;
    let signature = key.sign(&pending.hash()).await?;
    let mut log = log;
    log.commit(pending, &signature).map_err(AppError::from)?;
    let Some(last) = log.entries().last() else {
        return Ok(());
    };
    let line = serde_json::to_string(&last.to_json()).map_err(AppError::from)?;
    idb::put(
        db,
        "audit",
        &format!("{:012}", log.len() - 1),
        &JsValue::from_str(&line),
    )
    .await
    .map_err(AppError::from)
}

async fn audit_log_in(db: &IdbDatabase, key: &ClientKey) -> Result<veil_audit::AuditLog, AppError> {
    let (text, verifying) = stored_audit(db, key).await?;
    veil_audit::AuditLog::from_json_lines(&text, verifying).map_err(AppError::from)
}

/// The stored audit chain as JSON lines (in order, joined by `\n`), and the key it is signed with.
async fn stored_audit(
    db: &IdbDatabase,
    key: &ClientKey,
) -> Result<(String, veil_audit::ClientVerifyingKey), AppError> {
    let lines: Vec<String> = idb::all(db, "audit")
        .await
        .map_err(AppError::from)?
        .into_iter()
        .filter_map(|v| v.as_string())
        .collect();
    let verifying = veil_seal::verifying_key_from_sec1(&key.public_sec1).map_err(AppError::from)?;
    Ok((lines.join("\n"), verifying))
}

/// The audit chain as JSON lines, and the result of verifying it.
pub async fn audit_log() -> Result<(String, Result<usize, AppError>), AppError> {
    let db = db().await?;
    let key = webcrypto::client_key(&db).await?;
    let (text, verifying) = stored_audit(&db, &key).await?;
    let verdict = match with_audit_verifier(verifying, |v| v.check_links(&text)) {
        Ok(pending) => {
            // The signatures in the browser's WebCrypto (off this thread, about ten times faster
            // than p256 in wasm); in p256 should WebCrypto fail.
            let pairs = pending
                .signatures()
                .map(|(hash, sig)| (hash.as_slice(), sig.as_slice()));
            let valid = match webcrypto::ecdsa_p256_verify_all(&key.public_sec1, pairs).await {
                Ok(valid) => valid,
                Err(_) => pending.check_signatures_here(),
            };
            with_audit_verifier(verifying, |v| v.settle(pending, &valid))
                .map(|(n, _)| n)
                .map_err(AppError::from)
        }
        Err(e) => Err(AppError::from(e)),
    };
    Ok((text, verdict))
}

/// `f` on this page's verifier of the audit chain under `key` (a new one if the key changed).
fn with_audit_verifier<T>(
    key: veil_audit::ClientVerifyingKey,
    f: impl FnOnce(&mut veil_audit::ChainVerifier) -> T,
) -> T {
    AUDIT_VERIFIER.with_borrow_mut(|known| match known {
        Some(v) if *v.key() == key => f(v),
        _ => f(known.insert(veil_audit::ChainVerifier::new(key))),
    })
}

thread_local! {
    /// What this page has verified of the audit chain: the Audit page shows it again after every
    /// uploader round (1.5 s), and only the entries appended since are checked.
    static AUDIT_VERIFIER: RefCell<Option<veil_audit::ChainVerifier>> = const { RefCell::new(None) };
}

/// GDPR Art. 17 erasure of the identity layer: destroy the pseudonym secret (crypto-shredding), tell
/// the server which pseudonyms are now unlinkable, and record it. The pseudonymised clinical record
/// the server holds can be retained where law requires (HIPAA 164.530(j); state record laws).
///
/// The erasure message is queued before the secret is destroyed, so it is never lost: when offline
/// it is sent once the connection returns (after any upload still waiting under those pseudonyms).
pub async fn erase_identity() -> Result<(), AppError> {
    let outbox = engine(None).await?;
    let db = outbox.store().db();
    let key = webcrypto::client_key(db).await?;
    let Some(v) = idb::get(db, "identity", "secret")
        .await
        .map_err(AppError::from)?
    else {
        return Err(AppError::new(
            NO_IDENTITY,
            "there is no identity layer to erase",
        ));
    };
    let secret = PseudonymSecret::from_bytes(&js_sys::Uint8Array::new(&v).to_vec())
        .map_err(AppError::from)?;
    let pseudonyms: Vec<ErasedPseudonym> = outbox
        .items()
        .await
        .map_err(AppError::from)?
        .iter()
        .map(|i| (i.recipient.clone(), i.scope.purpose.id()))
        .collect::<BTreeSet<_>>()
        .into_iter()
        .map(|(recipient, purpose)| ErasedPseudonym {
            pseudonym: secret.pseudonym(&recipient, purpose).as_str().to_owned(),
            recipient,
            purpose: purpose.to_owned(),
        })
        .collect();
    drop(secret);
    let count = pseudonyms.len();
    let queued = outbox
        .queue_erasure(pseudonyms)
        .await
        .map_err(AppError::from)?;
    idb::delete(db, "identity", "secret")
        .await
        .map_err(AppError::from)?;
    audit_with(
        db,
        &key,
        AuditEvent::Erasure,
        None,
        serde_json::json!({ "pseudonyms": count }),
    )
    .await?;
    drop(outbox);
    send_now(
        &queued,
        "the identity layer is destroyed here; the server will be told when back online",
        "the server did not record the erasure",
    )
    .await
}

/// "Forget me" on the person's own device, before everything of them is wiped from this browser:
/// cancel what has not left (it is about to be deleted unsent), then tell every recipient that
/// received something that its pseudonyms are now unlinkable (the erasure message of
/// [`erase_identity`], one entry per recipient and purpose), and wait until the server has it.
///
/// `Ok` only when nothing is left to tell: the erasure was delivered, or nothing was ever delivered.
/// Otherwise the error says why (offline, not connected, refused) and the caller must not wipe, or
/// the signed message and the key that signs it would go with the wipe; the message stays queued
/// and is retried like any other, and "Forget me" can be pressed again.
pub async fn forget_me() -> Result<(), AppError> {
    let outbox = engine(None).await?;
    let items = outbox.items().await.map_err(AppError::from)?;
    for item in items.iter().filter(|i| i.state.is_unsettled()) {
        outbox
            .cancel(&item.id, "forget me")
            .await
            .map_err(AppError::from)?;
    }
    let db = outbox.store().db();
    let has_secret = idb::get(db, "identity", "secret")
        .await
        .map_err(AppError::from)?
        .is_some();
    let delivered = items
        .iter()
        .any(|i| matches!(i.state, ItemState::Delivered { .. }));
    drop(outbox);
    if has_secret && delivered {
        return erase_identity().await;
    }
    // Nothing new to tell; an erasure queued before (say, while offline) must still get there.
    let waiting: Vec<ControlMessage> = controls()
        .await?
        .into_iter()
        .filter(|m| m.state.is_unsettled())
        .collect();
    if waiting.is_empty() {
        return Ok(());
    }
    send_now(
        &waiting,
        "offline: the erasure message has not reached the server yet; press Forget me again once online",
        "the server did not record the erasure",
    )
    .await
}
