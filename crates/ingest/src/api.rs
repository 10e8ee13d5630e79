//! The HTTP API under `/v1` (specified for clients in `docs/ingest.md`).
//!
//! - `GET  /v1/recipient-key`: the HPKE public key envelopes must be sealed to, and its kid.
//! - `POST /v1/artifacts`: a `VEIL-1` envelope; `Idempotency-Key` = its artifact id. 201 when
//!   stored, 200 with the same id when it already was, 4xx JSON and nothing stored otherwise.
//! - `GET  /v1/artifacts/{id}`: delivery status of one artifact.
//! - `POST /v1/enrolments`: a client enrols its ES256 key with an invitation code.
//! - `POST /v1/revocations`: consent withdrawn for delivered artifacts.
//! - `POST /v1/erasures`: a subject's identity layer was erased.
//! - `POST /v1/delegations`: an owner of pseudonyms adds another enrolled key to them.
//! - `POST /v1/reads/list`, `POST /v1/reads/fetch`: a recipient user lists the artifacts of a
//!   purpose and reads one's contents, each read decided by [`crate::reads`] and logged.
//! - `POST /v1/passkeys/register/options`, `POST /v1/passkeys/register`: a recipient user
//!   registers a passkey with the one-time code the operator gave; `POST
//!   /v1/passkeys/sign-in/options`, `POST /v1/passkeys/sign-in`: signs in with it and gets a
//!   session token (`Authorization: Bearer`), good for the read routes; `GET`/`DELETE
//!   /v1/session`: who the session is, sign out ([`crate::passkeys`]).
//! - `POST /v1/access-log/export` (an auditor), `POST /v1/access-log` (a patient's client, for
//!   its own pseudonyms), `GET /v1/access-log/key`: the access log and the key it is signed with.
//!
//! Only enrolled clients are served: an upload or control request signed by any other key is
//! refused `401 unknown-client` before its manifest is decoded or anything is stored. Control
//! requests are JSON signed with the client key ([`crate::control`]): kept byte-exact, replays
//! recognised. Each enrolled client has a request rate ([`crate::quota`]) and a storage quota.

use std::sync::Arc;
use std::time::{SystemTime, UNIX_EPOCH};

use axum::Json;
use axum::Router;
use axum::body::Body;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use bytes::{Bytes, BytesMut};
use futures::StreamExt;
use serde::Deserialize;
use tokio::sync::Semaphore;
use veil_seal::{ArtifactId, KeyId};

use crate::config::{IngestConfig, Limits};
use crate::control::SignedRequest;
use crate::keys::{KeyOrigin, load_recipient_key};
use crate::quota::RateLimiter;
use crate::store::{ArtifactStore, Committed, ControlAction, Enrolment};
use crate::verify::ArtifactVerifier;
use crate::webauthn::{RelyingParty, b64url, to_b64url};
use crate::{ApiError, ServeError};

/// The header carrying the idempotency key of an upload (draft-ietf-httpapi-idempotency-key-header).
pub const IDEMPOTENCY_KEY: &str = "idempotency-key";
pub use crate::control::VEIL_SIGNATURE;
/// Largest enrolment body.
pub const MAX_ENROL_BODY: usize = 16 * 1024;
/// Longest invitation code accepted (a printed code is 24 characters).
pub const MAX_CODE_LEN: usize = 64;
/// Longest client or request label.
pub const MAX_NAME_LEN: usize = 200;
/// Largest revocation, erasure or delegation body.
pub const MAX_CONTROL_BODY: usize = 1024 * 1024;
/// Most artifacts one revocation may name, and most pseudonyms one erasure may list.
pub const MAX_CONTROL_ITEMS: usize = 10_000;

/// The origin passkeys are bound to when none is configured (`veil serve` adds its port).
pub const DEFAULT_ORIGIN: &str = "http://localhost";

/// The ingest service: the verifier, the store and the limits, shared by all requests.
#[derive(Debug)]
pub struct Ingest {
    verifier: ArtifactVerifier,
    store: ArtifactStore,
    limits: Limits,
    uploads: Arc<Semaphore>,
    rates: RateLimiter,
    enrolments: RateLimiter,
    /// Signs the access log (derived from the recipient key: every instance signs alike).
    log_key: p256::ecdsa::SigningKey,
    /// Recipient users' passkeys are for this relying party ([`crate::passkeys`]).
    relying_party: RelyingParty,
    /// The controller's jurisdiction reads are decided under (`veil serve --jurisdiction`).
    controller: Option<veil_consent::Jurisdiction>,
}

/// The access log's signing key of a server with recipient key `key`: SHA-256 of a label and the
/// key's PKCS#8 encoding, as a P-256 scalar. Whoever holds the recipient key can derive it; an
/// auditor needs only its public half ([`Ingest::log_public_key`]).
pub fn access_log_key(key: &veil_seal::RecipientKey) -> Result<p256::ecdsa::SigningKey, ApiError> {
    use sha2::{Digest, Sha256};
    let pem = key
        .to_pkcs8_pem()
        .map_err(|e| ApiError::Internal(format!("recipient key: {e}")))?;
    // A hash that is not a valid scalar (probability about 2^-128) moves on to the next counter.
    for counter in 0u8..=255 {
        let mut h = Sha256::new();
        h.update(b"veil-ingest access-log key v1\0");
        h.update([counter]);
        h.update(pem.as_bytes());
        let scalar = zeroize::Zeroizing::new(<[u8; 32]>::from(h.finalize()));
        if let Ok(key) = p256::ecdsa::SigningKey::from_slice(scalar.as_ref()) {
            return Ok(key);
        }
    }
    Err(ApiError::Internal("access-log key derivation".into()))
}

impl Ingest {
    /// Assemble a service from its parts (the access-log key is derived from the recipient key).
    pub fn new(
        verifier: ArtifactVerifier,
        store: ArtifactStore,
        limits: Limits,
    ) -> Result<Self, ApiError> {
        let permits = limits.max_concurrent_uploads.max(1);
        let log_key = access_log_key(verifier.recipient_key())?;
        Ok(Ingest {
            log_key,
            verifier,
            store,
            limits,
            uploads: Arc::new(Semaphore::new(permits)),
            rates: RateLimiter::new(limits.client_rate),
            enrolments: RateLimiter::new(limits.enrol_rate),
            relying_party: RelyingParty::from_origin(DEFAULT_ORIGIN).map_err(ApiError::Internal)?,
            controller: None,
        })
    }

    /// The same service deciding reads with `controller` as the controller's jurisdiction
    /// ([`veil_consent::DecideOptions::controller`]).
    pub fn with_controller(mut self, controller: Option<veil_consent::Jurisdiction>) -> Self {
        self.controller = controller;
        self
    }

    /// The controller's jurisdiction reads are decided under.
    pub fn controller(&self) -> Option<&veil_consent::Jurisdiction> {
        self.controller.as_ref()
    }

    fn read_context(&self) -> crate::reads::ReadContext {
        crate::reads::ReadContext {
            controller: self.controller.clone(),
            now_ms: now_ms(),
        }
    }

    /// The same service with recipient users' passkeys bound to `rp`.
    pub fn with_relying_party(mut self, rp: RelyingParty) -> Self {
        self.relying_party = rp;
        self
    }

    /// The relying party recipient users' passkeys are bound to.
    pub fn relying_party(&self) -> &RelyingParty {
        &self.relying_party
    }

    /// Open everything `config` names: the recipient key (generated on first start), the trust
    /// roots, the revocation list and the store. Returns the service and where its key came from.
    pub fn open(config: &IngestConfig) -> Result<(Self, KeyOrigin), ServeError> {
        crate::config::create_private_dir(&config.data_dir)?;
        let (key, origin) = load_recipient_key(&config.recipient_key, &config.data_dir)?;
        let store = match &config.trust_roots {
            Some(path) => {
                let pem = std::fs::read_to_string(path).map_err(|e| ServeError::BadTrustRoots {
                    path: path.clone(),
                    detail: e.to_string(),
                })?;
                let store = veil_trust::TrustStore::from_pem(&pem).map_err(|e| {
                    ServeError::BadTrustRoots {
                        path: path.clone(),
                        detail: e.to_string(),
                    }
                })?;
                if store.is_empty() {
                    return Err(ServeError::BadTrustRoots {
                        path: path.clone(),
                        detail: "no certificate".into(),
                    });
                }
                store
            }
            None => veil_trust::TrustStore::new(),
        };
        let mut devices = veil_trust::Verifier::new(store).with_window(config.reading_window);
        if let Some(path) = &config.revoked_devices {
            let text = std::fs::read_to_string(path)?;
            devices = devices.with_revocations(veil_trust::RevocationList::from_text(&text));
        }
        let verifier = ArtifactVerifier::new(
            key,
            devices,
            config.recipient_id.clone(),
            config.limits.max_readings,
        );
        let artifacts = ArtifactStore::open(config)?;
        let ingest = Ingest::new(verifier, artifacts, config.limits).map_err(|_| {
            ServeError::BadRecipientKey {
                origin: origin.to_string(),
            }
        })?;
        let rp =
            RelyingParty::from_origin(config.public_origin.as_deref().unwrap_or(DEFAULT_ORIGIN))
                .map_err(|e| ServeError::Config(format!("--public-origin: {e}")))?;
        let controller = config
            .jurisdiction
            .as_deref()
            .map(veil_consent::Jurisdiction::parse)
            .transpose()
            .map_err(|e| ServeError::Config(format!("--jurisdiction: {e}")))?;
        let ingest = ingest.with_relying_party(rp).with_controller(controller);
        Ok((ingest, origin))
    }

    /// The artifact store.
    pub fn store(&self) -> &ArtifactStore {
        &self.store
    }

    /// The public key the access log is signed with (uncompressed SEC1).
    pub fn log_public_key(&self) -> p256::ecdsa::VerifyingKey {
        *self.log_key.verifying_key()
    }

    /// The recipient key id envelopes must carry.
    pub fn recipient_kid(&self) -> KeyId {
        self.verifier.recipient_key().kid()
    }
}

/// The `/v1` routes (to be nested under `/v1`), with JSON 404/405 answers.
pub fn api_router(ingest: Arc<Ingest>) -> Router {
    Router::new()
        .route("/recipient-key", get(recipient_key))
        .route("/artifacts", post(upload))
        .route("/artifacts/{id}", get(artifact_status))
        .route("/enrolments", post(enrol))
        .route("/revocations", post(revoke))
        .route("/erasures", post(erase))
        .route("/delegations", post(delegate))
        .route("/reads/list", post(read_list))
        .route("/reads/fetch", post(read_fetch))
        .route("/access-log", post(subject_access_log))
        .route("/access-log/export", post(export_access_log))
        .route("/access-log/key", get(access_log_public_key))
        .route("/passkeys/register/options", post(passkey_register_options))
        .route("/passkeys/register", post(passkey_register))
        .route("/passkeys/sign-in/options", post(passkey_sign_in_options))
        .route("/passkeys/sign-in", post(passkey_sign_in))
        .route("/session", get(session_info).delete(sign_out))
        .fallback(|| async { ApiError::NotFound })
        .method_not_allowed_fallback(|| async { ApiError::MethodNotAllowed })
        .with_state(ingest)
}

fn now_ms() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX))
}

async fn recipient_key(State(ingest): State<Arc<Ingest>>) -> Result<Response, ApiError> {
    let public = ingest.verifier.recipient_key().public_key();
    let pem = public
        .to_public_key_pem()
        .map_err(|e| ApiError::Internal(e.to_string()))?;
    let body = serde_json::json!({
        "format": veil_seal::envelope::ENVELOPE_MAGIC,
        "suite": veil_seal::envelope::SUITE,
        "info": String::from_utf8_lossy(veil_seal::envelope::HPKE_INFO),
        "kid": public.kid().to_hex(),
        "public_key": hex::encode(public.sec1_uncompressed()),
        "public_key_pem": pem,
        "recipient": ingest.verifier.recipient_id(),
        "max_body": ingest.limits.max_body,
    });
    Ok(Json(body).into_response())
}

/// The `Idempotency-Key` value: 64 hex digits, bare or as a structured-field string (`"..."`).
fn idempotency_key(headers: &HeaderMap) -> Result<ArtifactId, ApiError> {
    let value = headers
        .get(IDEMPOTENCY_KEY)
        .ok_or(ApiError::MissingIdempotencyKey)?;
    let text = value
        .to_str()
        .map_err(|_| ApiError::BadIdempotencyKey)?
        .trim();
    let text = text
        .strip_prefix('"')
        .and_then(|t| t.strip_suffix('"'))
        .unwrap_or(text);
    if text.len() != 64 {
        return Err(ApiError::BadIdempotencyKey);
    }
    ArtifactId::from_hex(text).map_err(|_| ApiError::BadIdempotencyKey)
}

/// How much of an oversized body is read and discarded before answering 413, and for how long.
/// Answering while the client is still sending and then closing makes the kernel reset the
/// connection, and the client sees a network error (and retries forever) instead of the 413.
const DRAIN_BYTES: u64 = 256 * 1024 * 1024;
const DRAIN_TIME: std::time::Duration = std::time::Duration::from_secs(10);

/// Read a body of at most `limit` bytes, refusing early on a declared `Content-Length` over it.
async fn read_body(headers: &HeaderMap, body: Body, limit: usize) -> Result<Bytes, ApiError> {
    let declared = headers
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok());
    let mut stream = body.into_data_stream();
    if let Some(len) = declared
        && len > limit as u64
    {
        drain(&mut stream).await;
        return Err(ApiError::BodyTooLarge { limit });
    }
    // The declared length is a claim: it sizes the first allocation only up to the limit.
    let initial = declared.map_or(0, |l| usize::try_from(l).unwrap_or(limit).min(limit));
    let mut buf = BytesMut::with_capacity(initial);
    while let Some(chunk) = stream.next().await {
        let chunk = chunk.map_err(|e| ApiError::BodyRead(e.to_string()))?;
        if buf.len().saturating_add(chunk.len()) > limit {
            drop(buf);
            drain(&mut stream).await;
            return Err(ApiError::BodyTooLarge { limit });
        }
        buf.extend_from_slice(&chunk);
    }
    if buf.is_empty() {
        return Err(ApiError::EmptyBody);
    }
    Ok(buf.freeze())
}

/// Read and discard the rest of a body, bounded by [`DRAIN_BYTES`] and [`DRAIN_TIME`].
async fn drain(stream: &mut axum::body::BodyDataStream) {
    let discard = async {
        let mut seen = 0u64;
        while let Some(Ok(chunk)) = stream.next().await {
            seen = seen.saturating_add(chunk.len() as u64);
            if seen > DRAIN_BYTES {
                break;
            }
        }
    };
    let _ = tokio::time::timeout(DRAIN_TIME, discard).await;
}

async fn with_timeout<T>(
    limits: &Limits,
    work: impl Future<Output = Result<T, ApiError>>,
) -> Result<T, ApiError> {
    tokio::time::timeout(limits.request_timeout, work)
        .await
        .map_err(|_| ApiError::Timeout {
            secs: limits.request_timeout.as_secs(),
        })?
}

fn stored_response(status: StatusCode, record: &crate::store::ArtifactRecord) -> Response {
    let body = serde_json::json!({
        "id": record.id,
        "status": if status == StatusCode::CREATED { "created" } else { "exists" },
        "received_ms": record.received_ms,
    });
    let mut response = (status, Json(body)).into_response();
    if let Ok(location) = HeaderValue::from_str(&format!("/v1/artifacts/{}", record.id)) {
        response.headers_mut().insert(header::LOCATION, location);
    }
    response
}

async fn upload(
    State(ingest): State<Arc<Ingest>>,
    headers: HeaderMap,
    body: Body,
) -> Result<Response, ApiError> {
    let limits = ingest.limits;
    with_timeout(&limits, async move {
        let key = match idempotency_key(&headers) {
            Ok(key) => key,
            Err(e) => {
                // Read what the client is sending before answering, so it sees the 400.
                drain(&mut body.into_data_stream()).await;
                return Err(e);
            }
        };
        // The body is read first, bounded by `max_body` and the request's deadline (`with_timeout`
        // above): a client that stalls its body holds only its own connection, never a slot.
        let envelope = read_body(&headers, body, limits.max_body).await?;
        // Bound CPU and the memory of verification: at most `max_concurrent_uploads` complete
        // bodies are verified and stored at once. The verification task shares the permit, so a
        // request that times out keeps its slot until the (uncancellable) blocking verification
        // has really finished.
        let permit = Arc::new(
            ingest
                .uploads
                .clone()
                .acquire_owned()
                .await
                .map_err(|_| ApiError::Busy)?,
        );
        let id = ArtifactId::of_envelope(&envelope);
        if id != key {
            return Err(ApiError::IdempotencyKeyMismatch {
                key: key.to_hex(),
                id: id.to_hex(),
            });
        }
        // A retry of a stored envelope: same bytes, same id, already verified.
        if let Some(existing) = ingest.store.get(&id.to_hex()).await? {
            return Ok(stored_response(StatusCode::OK, &existing));
        }
        let received = now_ms();
        // Open the envelope and read who signed it, decoding nothing inside.
        let worker = ingest.clone();
        let bytes = envelope.clone();
        let task_permit = permit.clone();
        let opened = tokio::task::spawn_blocking(move || {
            let opened = worker.verifier.open(&bytes);
            drop((bytes, task_permit));
            opened
        })
        .await
        .map_err(|e| ApiError::Internal(format!("opening task: {e}")))??;
        // Only an enrolled client's upload is verified any further.
        let client = ingest.known_client(&opened.signer.to_hex()).await?;
        let (sec1, _) = crate::control::client_key(&client.client_key)?;
        let worker = ingest.clone();
        let task_permit = permit.clone();
        let verified = tokio::task::spawn_blocking(move || {
            let verified = worker.verifier.verify_opened(opened, &sec1, received);
            drop(task_permit);
            verified
        })
        .await
        .map_err(|e| ApiError::Internal(format!("verification task: {e}")))??;
        // Charged only now that the signature proved the key: naming a client's key id in a
        // forged envelope must not spend its tokens.
        ingest.rates.check(&client.client_kid)?;
        if let Some(existing) = ingest.store.precheck(&verified).await? {
            return Ok(stored_response(StatusCode::OK, &existing));
        }
        let outcome = match ingest.store.store(verified, envelope, received).await? {
            Committed::Created(record) => stored_response(StatusCode::CREATED, &record),
            Committed::Existing(record) => stored_response(StatusCode::OK, &record),
        };
        drop(permit);
        Ok(outcome)
    })
    .await
}

async fn artifact_status(
    State(ingest): State<Arc<Ingest>>,
    Path(id): Path<String>,
) -> Result<Response, ApiError> {
    let id = ArtifactId::from_hex(&id)
        .map_err(|_| ApiError::BadRequest("an artifact id is 64 hex digits".into()))?
        .to_hex();
    let record = ingest
        .store
        .get(&id)
        .await?
        .ok_or_else(|| ApiError::UnknownArtifact(id.clone()))?;
    Ok(Json(serde_json::json!({
        "id": record.id,
        "status": if record.revoked_ms.is_some() { "revoked" } else { "delivered" },
        "received_ms": record.received_ms,
        "revoked_ms": record.revoked_ms,
        "subject_erased": record.subject_erased_ms.is_some(),
    }))
    .into_response())
}

/// The common fields of every signed control request body.
#[derive(Debug, Deserialize)]
struct Signed {
    client_key: String,
    timestamp_ms: u64,
    nonce: String,
}

/// `POST /v1/enrolments` body.
#[derive(Debug, Deserialize)]
struct EnrolmentRequest {
    format: String,
    code: String,
    #[serde(default)]
    name: Option<String>,
    #[serde(flatten)]
    signed: Signed,
}

/// `POST /v1/revocations` body.
#[derive(Debug, Deserialize)]
struct RevocationRequest {
    format: String,
    artifacts: Vec<String>,
    purpose: String,
    withdrawn_at_ms: u64,
    #[serde(default)]
    reason: Option<String>,
    #[serde(flatten)]
    signed: Signed,
}

/// One pseudonym of an erasure record (`veil_seal::pseudonym::ErasedPseudonym`).
#[derive(Debug, Deserialize)]
struct ErasedEntry {
    recipient: String,
    purpose: String,
    pseudonym: String,
}

/// `POST /v1/erasures` body: `veil_seal::ErasureRecord` plus the signed fields.
#[derive(Debug, Deserialize)]
struct ErasureRequest {
    format: String,
    erased_at_ms: u64,
    pseudonyms: Vec<ErasedEntry>,
    #[serde(flatten)]
    signed: Signed,
}

/// `POST /v1/delegations` body.
#[derive(Debug, Deserialize)]
struct DelegationRequest {
    format: String,
    pseudonyms: Vec<String>,
    delegate_key: String,
    #[serde(flatten)]
    signed: Signed,
}

fn parse_json<T: for<'de> Deserialize<'de>>(body: &[u8]) -> Result<T, ApiError> {
    serde_json::from_slice(body).map_err(|e| ApiError::BadRequest(format!("JSON: {e}")))
}

fn check_format(found: &str, expected: &str) -> Result<(), ApiError> {
    if found == expected {
        Ok(())
    } else {
        Err(ApiError::BadRequest(format!(
            "format must be \"{expected}\""
        )))
    }
}

/// The pseudonyms of a request, parsed, each once (in first-seen order).
fn distinct_pseudonyms<'a>(
    texts: impl IntoIterator<Item = &'a str>,
) -> Result<Vec<String>, ApiError> {
    let mut out: Vec<String> = Vec::new();
    for text in texts {
        let p = veil_seal::Pseudonym::parse(text)
            .map(|p| p.as_str().to_owned())
            .map_err(|_| ApiError::BadRequest(format!("{text:?} is not a pseudonym")))?;
        if !out.contains(&p) {
            out.push(p);
        }
    }
    Ok(out)
}

impl Ingest {
    /// The enrolled, unrevoked client `kid`, or `unknown-client`.
    async fn known_client(&self, kid: &str) -> Result<crate::store::ClientRecord, ApiError> {
        self.store
            .active_client(kid)
            .await?
            .ok_or_else(|| ApiError::UnknownClient {
                kid: kid.to_owned(),
            })
    }

    /// Verify a control request's signature and fields, check its client is enrolled and within
    /// its rate, then apply and record it.
    async fn control(
        &self,
        headers: &HeaderMap,
        body: &Bytes,
        signed: &Signed,
        action: ControlAction,
    ) -> Result<Response, ApiError> {
        let now = now_ms();
        let request: SignedRequest = crate::control::verify(
            headers,
            body,
            &signed.client_key,
            signed.timestamp_ms,
            &signed.nonce,
            now,
        )?;
        self.known_client(&request.client_kid).await?;
        self.rates.check(&request.client_kid)?;
        let answer = self.store.control(request, action, now).await?;
        Ok(Json(answer.body).into_response())
    }
}

async fn enrol(
    State(ingest): State<Arc<Ingest>>,
    headers: HeaderMap,
    body: Body,
) -> Result<Response, ApiError> {
    let limits = ingest.limits;
    with_timeout(&limits, async move {
        let body = read_body(&headers, body, MAX_ENROL_BODY.min(limits.max_body)).await?;
        ingest.enrolments.check("enrolments")?;
        let request: EnrolmentRequest = parse_json(&body)?;
        check_format(&request.format, "veil-enrolment-v1")?;
        if request.code.len() > MAX_CODE_LEN {
            return Err(ApiError::InviteInvalid);
        }
        if request
            .name
            .as_ref()
            .is_some_and(|n| n.len() > MAX_NAME_LEN)
        {
            return Err(ApiError::BadRequest(format!(
                "name must be at most {MAX_NAME_LEN} bytes"
            )));
        }
        let now = now_ms();
        let signed = crate::control::verify(
            &headers,
            &body,
            &request.signed.client_key,
            request.signed.timestamp_ms,
            &request.signed.nonce,
            now,
        )?;
        let (status, record, word) = match ingest
            .store
            .enrol(
                &request.code,
                &signed.client_key,
                &signed.client_kid,
                request.name,
                now,
            )
            .await?
        {
            Enrolment::Created(record) => (StatusCode::CREATED, record, "enrolled"),
            Enrolment::Existing(record) => (StatusCode::OK, record, "already-enrolled"),
        };
        let answer = serde_json::json!({
            "status": word,
            "client_kid": record.client_kid,
            "name": record.name,
        });
        Ok((status, Json(answer)).into_response())
    })
    .await
}

async fn revoke(
    State(ingest): State<Arc<Ingest>>,
    headers: HeaderMap,
    body: Body,
) -> Result<Response, ApiError> {
    let limits = ingest.limits;
    with_timeout(&limits, async move {
        let body = read_body(&headers, body, MAX_CONTROL_BODY.min(limits.max_body)).await?;
        let request: RevocationRequest = parse_json(&body)?;
        check_format(&request.format, "veil-revocation-v1")?;
        if request.artifacts.is_empty() || request.artifacts.len() > MAX_CONTROL_ITEMS {
            return Err(ApiError::BadRequest(format!(
                "artifacts must list 1..={MAX_CONTROL_ITEMS} ids"
            )));
        }
        if request.purpose.is_empty() || request.reason.as_ref().is_some_and(|r| r.len() > 4096) {
            return Err(ApiError::BadRequest(
                "purpose must be non-empty, reason at most 4096 bytes".into(),
            ));
        }
        let ids = request
            .artifacts
            .iter()
            .map(|id| ArtifactId::from_hex(id).map(|a| a.to_hex()))
            .collect::<Result<Vec<_>, _>>()
            .map_err(|_| ApiError::BadRequest("artifact ids are 64 hex digits".into()))?;
        // Kept in the stored body; the server's own time of arrival is what it records.
        let _ = request.withdrawn_at_ms;
        let action = ControlAction::Revoke {
            ids,
            purpose: request.purpose,
            reason: request.reason,
        };
        ingest
            .control(&headers, &body, &request.signed, action)
            .await
    })
    .await
}

async fn erase(
    State(ingest): State<Arc<Ingest>>,
    headers: HeaderMap,
    body: Body,
) -> Result<Response, ApiError> {
    let limits = ingest.limits;
    with_timeout(&limits, async move {
        let body = read_body(&headers, body, MAX_CONTROL_BODY.min(limits.max_body)).await?;
        let request: ErasureRequest = parse_json(&body)?;
        check_format(&request.format, "veil-erasure-v1")?;
        if request.pseudonyms.is_empty() || request.pseudonyms.len() > MAX_CONTROL_ITEMS {
            return Err(ApiError::BadRequest(format!(
                "pseudonyms must list 1..={MAX_CONTROL_ITEMS} entries"
            )));
        }
        let pseudonyms =
            distinct_pseudonyms(request.pseudonyms.iter().map(|e| e.pseudonym.as_str()))?;
        if request
            .pseudonyms
            .iter()
            .any(|e| e.recipient.is_empty() || e.purpose.is_empty())
        {
            return Err(ApiError::BadRequest(
                "recipient and purpose must be non-empty".into(),
            ));
        }
        let action = ControlAction::Erase {
            pseudonyms,
            erased_at_ms: request.erased_at_ms,
        };
        ingest
            .control(&headers, &body, &request.signed, action)
            .await
    })
    .await
}

async fn delegate(
    State(ingest): State<Arc<Ingest>>,
    headers: HeaderMap,
    body: Body,
) -> Result<Response, ApiError> {
    let limits = ingest.limits;
    with_timeout(&limits, async move {
        let body = read_body(&headers, body, MAX_CONTROL_BODY.min(limits.max_body)).await?;
        let request: DelegationRequest = parse_json(&body)?;
        check_format(&request.format, "veil-delegation-v1")?;
        if request.pseudonyms.is_empty() || request.pseudonyms.len() > MAX_CONTROL_ITEMS {
            return Err(ApiError::BadRequest(format!(
                "pseudonyms must list 1..={MAX_CONTROL_ITEMS} entries"
            )));
        }
        let pseudonyms = distinct_pseudonyms(request.pseudonyms.iter().map(String::as_str))?;
        let (delegate, _) = crate::control::client_key(&request.delegate_key.to_ascii_lowercase())?;
        let action = ControlAction::Delegate {
            pseudonyms,
            delegate_kid: KeyId::of_sec1(&delegate).to_hex(),
        };
        ingest
            .control(&headers, &body, &request.signed, action)
            .await
    })
    .await
}

/// The common fields of a recipient user's signed request (a service account). A passkey user's
/// request carries none of them: its session token is in `Authorization: Bearer`.
#[derive(Debug, Deserialize)]
struct UserSigned {
    #[serde(default)]
    user_key: Option<String>,
    #[serde(default)]
    timestamp_ms: Option<u64>,
    #[serde(default)]
    nonce: Option<String>,
}

/// `POST /v1/reads/list` body.
#[derive(Debug, Deserialize)]
struct ReadListRequest {
    format: String,
    purpose: String,
    #[serde(default)]
    after: Option<String>,
    #[serde(default)]
    limit: Option<usize>,
    #[serde(flatten)]
    signed: UserSigned,
}

/// `POST /v1/reads/fetch` body.
#[derive(Debug, Deserialize)]
struct ReadFetchRequest {
    format: String,
    artifact: String,
    purpose: String,
    #[serde(flatten)]
    signed: UserSigned,
}

/// `POST /v1/access-log/export` body.
#[derive(Debug, Deserialize)]
struct ExportRequest {
    format: String,
    #[serde(default)]
    from: u64,
    #[serde(flatten)]
    signed: UserSigned,
}

/// `POST /v1/access-log` body (a patient's client).
#[derive(Debug, Deserialize)]
struct SubjectLogRequest {
    format: String,
    #[serde(default)]
    pseudonyms: Vec<String>,
    #[serde(flatten)]
    signed: Signed,
}

/// Largest body of a read or log request.
pub const MAX_READ_BODY: usize = 64 * 1024;
/// Most pseudonyms one access-log request may list.
pub const MAX_LOG_PSEUDONYMS: usize = 1000;

/// A read request is live: one older than this (or further ahead) is refused.
fn fresh(timestamp_ms: u64, now: u64) -> Result<(), ApiError> {
    let window = crate::control::MAX_CLOCK_SKEW_MS;
    if timestamp_ms.saturating_add(window) < now {
        return Err(ApiError::StaleRequest {
            timestamp_ms,
            window_s: window / 1000,
        });
    }
    Ok(())
}

/// The consent decision a grant was re-decided with (`"redecided": false` without one).
fn consent_json(grant: &crate::reads::Grant) -> serde_json::Value {
    match &grant.redecided {
        Some(d) => serde_json::json!({
            "redecided": true, "decision": d.outcome, "basis": d.basis,
            "citations": d.citations, "under": d.under,
        }),
        None => serde_json::json!({"redecided": false}),
    }
}

fn decision_json(
    decision: &Result<crate::reads::Grant, crate::reads::ReadRefusal>,
) -> serde_json::Value {
    use veil_core::Coded as _;
    match decision {
        Ok(grant) => serde_json::json!({
            "decision": "allow", "basis": grant.basis, "citations": grant.citations,
            "consent": consent_json(grant),
        }),
        Err(refusal) => serde_json::json!({
            "decision": "refuse", "code": refusal.code(), "basis": refusal.to_string(),
            "citations": refusal.citations(),
        }),
    }
}

impl Ingest {
    /// The user of a request: a passkey user's session (`Authorization: Bearer TOKEN`), or a
    /// service account's signed request (signature, freshness, nonce once).
    async fn user(
        &self,
        headers: &HeaderMap,
        body: &Bytes,
        signed: &UserSigned,
    ) -> Result<crate::store::UserRecord, ApiError> {
        let now = now_ms();
        if let Some(token) = bearer(headers)? {
            let (user, _) = self.store.session_user(&token, now).await?;
            self.rates.check(&user.user_kid)?;
            return Ok(user);
        }
        let (Some(user_key), Some(timestamp_ms), Some(nonce)) =
            (&signed.user_key, signed.timestamp_ms, &signed.nonce)
        else {
            return Err(ApiError::BadRequest(
                "sign the request (user_key, timestamp_ms, nonce and Veil-Signature) or send a passkey session (Authorization: Bearer)".into(),
            ));
        };
        fresh(timestamp_ms, now)?;
        let request = crate::control::verify(headers, body, user_key, timestamp_ms, nonce, now)?;
        self.rates.check(&request.client_kid)?;
        self.store
            .authenticate_user(&request.client_kid, &request.nonce, now)
            .await
    }

    /// The contents of artifact `id`, opened with its key at rest and the recipient key.
    async fn contents(
        self: &Arc<Self>,
        id: &str,
        dek: zeroize::Zeroizing<String>,
    ) -> Result<Vec<serde_json::Value>, ApiError> {
        use base64::Engine as _;
        let stored = self.store.envelope(id).await?;
        let envelope = if crate::at_rest::is_sealed_at_rest(&stored) {
            crate::at_rest::ArtifactKey::from_hex(&dek)?
                .open(id, &stored)?
                .ok_or_else(|| ApiError::Internal(format!("artifact {id} does not decrypt")))?
        } else {
            zeroize::Zeroizing::new(stored.to_vec())
        };
        let worker = self.clone();
        tokio::task::spawn_blocking(move || {
            let opened = worker.verifier.open(&envelope)?;
            let artifact = veil_seal::verify_signed_artifact(&opened.signed, None)?;
            Ok(artifact
                .files
                .iter()
                .map(|(name, data)| {
                    use sha2::{Digest, Sha256};
                    serde_json::json!({
                        "name": name,
                        "size": data.len(),
                        "sha256": hex::encode(Sha256::digest(data)),
                        "data": base64::engine::general_purpose::STANDARD.encode(data),
                    })
                })
                .collect())
        })
        .await
        .map_err(|e| ApiError::Internal(format!("opening task: {e}")))?
    }
}

async fn read_list(
    State(ingest): State<Arc<Ingest>>,
    headers: HeaderMap,
    body: Body,
) -> Result<Response, ApiError> {
    let limits = ingest.limits;
    with_timeout(&limits, async move {
        let body = read_body(&headers, body, MAX_READ_BODY.min(limits.max_body)).await?;
        let request: ReadListRequest = parse_json(&body)?;
        check_format(&request.format, "veil-read-list-v1")?;
        let user = ingest.user(&headers, &body, &request.signed).await?;
        let limit = request
            .limit
            .unwrap_or(crate::recipients::MAX_LIST)
            .clamp(1, crate::recipients::MAX_LIST);
        let listed = ingest
            .store
            .list_for(
                user,
                &request.purpose,
                request.after,
                limit,
                ingest.read_context(),
            )
            .await?;
        let next = (listed.len() == limit)
            .then(|| listed.last().map(|l| l.id.clone()))
            .flatten();
        let artifacts: Vec<serde_json::Value> = listed
            .iter()
            .map(|l| {
                let mut item = decision_json(&l.decision);
                item["id"] = l.id.clone().into();
                item["received_ms"] = l.received_ms.into();
                item
            })
            .collect();
        Ok(Json(serde_json::json!({
            "purpose": request.purpose,
            "artifacts": artifacts,
            "next": next,
        }))
        .into_response())
    })
    .await
}

async fn read_fetch(
    State(ingest): State<Arc<Ingest>>,
    headers: HeaderMap,
    body: Body,
) -> Result<Response, ApiError> {
    let limits = ingest.limits;
    with_timeout(&limits, async move {
        let body = read_body(&headers, body, MAX_READ_BODY.min(limits.max_body)).await?;
        let request: ReadFetchRequest = parse_json(&body)?;
        check_format(&request.format, "veil-read-v1")?;
        let id = ArtifactId::from_hex(&request.artifact)
            .map_err(|_| ApiError::BadRequest("an artifact id is 64 hex digits".into()))?
            .to_hex();
        let user = ingest.user(&headers, &body, &request.signed).await?;
        let answer = ingest
            .store
            .read_decision(
                user,
                &id,
                &request.purpose,
                ingest.log_key.clone(),
                ingest.read_context(),
            )
            .await?;
        let grant = answer.decision.clone()?;
        let dek = answer
            .dek
            .ok_or_else(|| ApiError::Internal(format!("artifact {id} has no key at rest")))?;
        let files = ingest.contents(&id, dek).await?;
        let manifest: serde_json::Value = serde_json::from_str(&answer.manifest_json)
            .map_err(|e| ApiError::Internal(format!("stored manifest: {e}")))?;
        Ok(Json(serde_json::json!({
            "id": id,
            "purpose": request.purpose,
            "decision": "allow",
            "basis": grant.basis,
            "citations": grant.citations,
            "consent": consent_json(&grant),
            "log_seq": answer.logged.entry.seq,
            "manifest": manifest,
            "files": files,
        }))
        .into_response())
    })
    .await
}

fn log_answer(ingest: &Ingest, entries: &[veil_audit::ChainedEntry]) -> Response {
    let key = ingest.log_public_key();
    Json(serde_json::json!({
        "key": hex::encode(key.to_encoded_point(false).as_bytes()),
        "entries": entries.iter().map(veil_audit::ChainedEntry::to_json).collect::<Vec<_>>(),
    }))
    .into_response()
}

async fn export_access_log(
    State(ingest): State<Arc<Ingest>>,
    headers: HeaderMap,
    body: Body,
) -> Result<Response, ApiError> {
    let limits = ingest.limits;
    with_timeout(&limits, async move {
        let body = read_body(&headers, body, MAX_READ_BODY.min(limits.max_body)).await?;
        let request: ExportRequest = parse_json(&body)?;
        check_format(&request.format, "veil-access-log-export-v1")?;
        let user = ingest.user(&headers, &body, &request.signed).await?;
        let entries = ingest
            .store
            .export_access_log(user, request.from, ingest.log_key.clone(), now_ms())
            .await?;
        Ok(log_answer(&ingest, &entries))
    })
    .await
}

async fn subject_access_log(
    State(ingest): State<Arc<Ingest>>,
    headers: HeaderMap,
    body: Body,
) -> Result<Response, ApiError> {
    let limits = ingest.limits;
    with_timeout(&limits, async move {
        let body = read_body(&headers, body, MAX_READ_BODY.min(limits.max_body)).await?;
        let request: SubjectLogRequest = parse_json(&body)?;
        check_format(&request.format, "veil-access-log-v1")?;
        if request.pseudonyms.len() > MAX_LOG_PSEUDONYMS {
            return Err(ApiError::BadRequest(format!(
                "pseudonyms must list at most {MAX_LOG_PSEUDONYMS} entries (none: all the key's)"
            )));
        }
        let pseudonyms = distinct_pseudonyms(request.pseudonyms.iter().map(String::as_str))?;
        let now = now_ms();
        fresh(request.signed.timestamp_ms, now)?;
        let signed = crate::control::verify(
            &headers,
            &body,
            &request.signed.client_key,
            request.signed.timestamp_ms,
            &request.signed.nonce,
            now,
        )?;
        ingest.known_client(&signed.client_kid).await?;
        ingest.rates.check(&signed.client_kid)?;
        let entries = ingest
            .store
            .access_log_for(
                pseudonyms,
                &signed.client_kid,
                &signed.client_key,
                &signed.nonce,
                now,
            )
            .await?;
        Ok(log_answer(&ingest, &entries))
    })
    .await
}

async fn access_log_public_key(State(ingest): State<Arc<Ingest>>) -> Response {
    let key = ingest.log_public_key();
    Json(serde_json::json!({
        "format": "veil-access-log-key-v1",
        "key": hex::encode(key.to_encoded_point(false).as_bytes()),
    }))
    .into_response()
}

/// Longest session token accepted (one is 43 characters).
const MAX_TOKEN_LEN: usize = 128;

/// The session token of `Authorization: Bearer TOKEN`, if the header is there.
fn bearer(headers: &HeaderMap) -> Result<Option<zeroize::Zeroizing<String>>, ApiError> {
    let Some(value) = headers.get(header::AUTHORIZATION) else {
        return Ok(None);
    };
    let token = value
        .to_str()
        .ok()
        .and_then(|v| v.strip_prefix("Bearer "))
        .map(str::trim)
        .filter(|t| !t.is_empty() && t.len() <= MAX_TOKEN_LEN)
        .ok_or(crate::webauthn::PasskeyError::SessionInvalid)?;
    Ok(Some(zeroize::Zeroizing::new(token.to_owned())))
}

/// A user as the passkey routes show it.
fn user_json(user: &crate::store::UserRecord) -> serde_json::Value {
    serde_json::json!({
        "user_kid": user.user_kid,
        "name": user.name,
        "role": user.role,
        "purposes": user.purposes,
    })
}

/// `POST /v1/passkeys/register/options` body.
#[derive(Debug, Deserialize)]
struct RegisterOptionsRequest {
    code: String,
}

/// `POST /v1/passkeys/register` body (base64url fields of the browser's `AuthenticatorAttestationResponse`).
#[derive(Debug, Deserialize)]
struct RegisterRequest {
    client_data_json: String,
    attestation_object: String,
}

/// `POST /v1/passkeys/sign-in` body (base64url fields of `AuthenticatorAssertionResponse`).
#[derive(Debug, Deserialize)]
struct SignInRequest {
    credential_id: String,
    client_data_json: String,
    authenticator_data: String,
    signature: String,
    #[serde(default)]
    user_handle: Option<String>,
}

fn field(text: &str, max: usize, what: &str) -> Result<Vec<u8>, ApiError> {
    b64url(text, max, what).map_err(|e| crate::webauthn::PasskeyError::BadClientData(e).into())
}

/// Largest body of a passkey ceremony.
const MAX_PASSKEY_BODY: usize = 64 * 1024;

async fn passkey_register_options(
    State(ingest): State<Arc<Ingest>>,
    headers: HeaderMap,
    body: Body,
) -> Result<Response, ApiError> {
    let body = read_body(&headers, body, MAX_ENROL_BODY).await?;
    ingest.enrolments.check("passkey-registration")?;
    let request: RegisterOptionsRequest = parse_json(&body)?;
    if request.code.len() > MAX_CODE_LEN {
        return Err(crate::webauthn::PasskeyError::RegistrationCodeInvalid.into());
    }
    let start = ingest
        .store
        .registration_challenge(&request.code, now_ms())
        .await?;
    let rp = &ingest.relying_party;
    let user_id = hex::decode(&start.user.user_kid)
        .map_err(|e| ApiError::Internal(format!("user id: {e}")))?;
    Ok(Json(serde_json::json!({
        "user": user_json(&start.user),
        "publicKey": {
            "challenge": to_b64url(&start.challenge),
            "rp": {"id": rp.id(), "name": "Veil"},
            "user": {"id": to_b64url(&user_id), "name": start.user.name, "displayName": start.user.name},
            "pubKeyCredParams": [{"type": "public-key", "alg": -7}],
            "timeout": crate::passkeys::CHALLENGE_TTL_MS,
            "attestation": "none",
            "authenticatorSelection": {"residentKey": "required", "requireResidentKey": true, "userVerification": "required"},
        },
    }))
    .into_response())
}

async fn passkey_register(
    State(ingest): State<Arc<Ingest>>,
    headers: HeaderMap,
    body: Body,
) -> Result<Response, ApiError> {
    let body = read_body(&headers, body, MAX_PASSKEY_BODY).await?;
    ingest.enrolments.check("passkey-registration")?;
    let request: RegisterRequest = parse_json(&body)?;
    let client_data = field(
        &request.client_data_json,
        crate::webauthn::MAX_CLIENT_DATA,
        "client_data_json",
    )?;
    let attestation = field(
        &request.attestation_object,
        crate::webauthn::MAX_ATTESTATION_OBJECT,
        "attestation_object",
    )?;
    let (user, credential) = ingest
        .store
        .register_passkey(&ingest.relying_party, &client_data, &attestation, now_ms())
        .await?;
    let mut answer = user_json(&user);
    answer["credential_id"] = credential.into();
    answer["status"] = "registered".into();
    Ok((StatusCode::CREATED, Json(answer)).into_response())
}

async fn passkey_sign_in_options(State(ingest): State<Arc<Ingest>>) -> Result<Response, ApiError> {
    ingest.enrolments.check("passkey-sign-in")?;
    let challenge = ingest.store.sign_in_challenge(now_ms()).await?;
    Ok(Json(serde_json::json!({
        "publicKey": {
            "challenge": to_b64url(&challenge),
            "rpId": ingest.relying_party.id(),
            "timeout": crate::passkeys::CHALLENGE_TTL_MS,
            "userVerification": "required",
            "allowCredentials": [],
        },
    }))
    .into_response())
}

async fn passkey_sign_in(
    State(ingest): State<Arc<Ingest>>,
    headers: HeaderMap,
    body: Body,
) -> Result<Response, ApiError> {
    let body = read_body(&headers, body, MAX_PASSKEY_BODY).await?;
    ingest.enrolments.check("passkey-sign-in")?;
    let request: SignInRequest = parse_json(&body)?;
    let assertion = crate::passkeys::AssertionResponse {
        credential_id: field(
            &request.credential_id,
            crate::webauthn::MAX_CREDENTIAL_ID,
            "credential_id",
        )?,
        client_data_json: field(
            &request.client_data_json,
            crate::webauthn::MAX_CLIENT_DATA,
            "client_data_json",
        )?,
        authenticator_data: field(
            &request.authenticator_data,
            crate::webauthn::MAX_AUTHENTICATOR_DATA,
            "authenticator_data",
        )?,
        signature: field(&request.signature, 72, "signature")?,
        user_handle: request
            .user_handle
            .as_deref()
            .map(|h| field(h, 64, "user_handle"))
            .transpose()?,
    };
    let session = ingest
        .store
        .sign_in(
            &ingest.relying_party,
            assertion,
            ingest.log_key.clone(),
            now_ms(),
        )
        .await?;
    Ok(Json(serde_json::json!({
        "token": session.token.as_str(),
        "expires_ms": session.expires_ms,
        "user": user_json(&session.user),
    }))
    .into_response())
}

async fn session_info(
    State(ingest): State<Arc<Ingest>>,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    let token = bearer(&headers)?.ok_or(crate::webauthn::PasskeyError::SessionInvalid)?;
    let (user, expires_ms) = ingest.store.session_user(&token, now_ms()).await?;
    let mut answer = user_json(&user);
    answer["expires_ms"] = expires_ms.into();
    Ok(Json(answer).into_response())
}

async fn sign_out(
    State(ingest): State<Arc<Ingest>>,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    let token = bearer(&headers)?.ok_or(crate::webauthn::PasskeyError::SessionInvalid)?;
    ingest.store.sign_out(&token).await?;
    Ok(StatusCode::NO_CONTENT.into_response())
}
