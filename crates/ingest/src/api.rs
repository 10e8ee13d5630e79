//! The HTTP API under `/v1` (specified for clients in `docs/ingest.md`).
//!
//! - `GET  /v1/recipient-key`: the HPKE public key envelopes must be sealed to, and its kid.
//! - `POST /v1/artifacts`: a `VEIL-1` envelope; `Idempotency-Key` = its artifact id. 201 when
//!   stored, 200 with the same id when it already was, 4xx JSON and nothing stored otherwise.
//! - `GET  /v1/artifacts/{id}`: delivery status of one artifact.
//! - `POST /v1/revocations`: consent withdrawn for delivered artifacts (signed by their client key).
//! - `POST /v1/erasures`: a subject's identity layer was erased (signed by the client key).
//!
//! Revocations and erasures are JSON signed with the same ES256 client key that signed the
//! artifacts: `Veil-Signature` carries base64url(`r || s`) over the exact body bytes, which is
//! what WebCrypto's `sign({name: "ECDSA", hash: "SHA-256"}, key, body)` returns.

use std::sync::Arc;
use std::time::{SystemTime, UNIX_EPOCH};

use axum::Json;
use axum::Router;
use axum::body::Body;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use base64::Engine;
use bytes::{Bytes, BytesMut};
use futures::StreamExt;
use p256::ecdsa::signature::Verifier as _;
use p256::ecdsa::{Signature, VerifyingKey};
use serde::Deserialize;
use tokio::sync::Semaphore;
use veil_seal::{ArtifactId, KeyId};

use crate::config::{IngestConfig, Limits};
use crate::keys::{KeyOrigin, load_recipient_key};
use crate::store::{ArtifactStore, Committed, Revocation};
use crate::verify::ArtifactVerifier;
use crate::{ApiError, ServeError};

/// The header carrying the idempotency key of an upload (draft-ietf-httpapi-idempotency-key-header).
pub const IDEMPOTENCY_KEY: &str = "idempotency-key";
/// The header carrying the client's ES256 signature of a revocation or erasure body.
pub const VEIL_SIGNATURE: &str = "veil-signature";
/// Largest revocation or erasure body.
pub const MAX_CONTROL_BODY: usize = 1024 * 1024;
/// Most artifacts one revocation may name, and most pseudonyms one erasure may list.
pub const MAX_CONTROL_ITEMS: usize = 10_000;

/// The ingest service: the verifier, the store and the limits, shared by all requests.
#[derive(Debug)]
pub struct Ingest {
    verifier: ArtifactVerifier,
    store: ArtifactStore,
    limits: Limits,
    uploads: Arc<Semaphore>,
}

impl Ingest {
    /// Assemble a service from its parts.
    pub fn new(verifier: ArtifactVerifier, store: ArtifactStore, limits: Limits) -> Self {
        let permits = limits.max_concurrent_uploads.max(1);
        Ingest {
            verifier,
            store,
            limits,
            uploads: Arc::new(Semaphore::new(permits)),
        }
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
        Ok((Ingest::new(verifier, artifacts, config.limits), origin))
    }

    /// The artifact store.
    pub fn store(&self) -> &ArtifactStore {
        &self.store
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
        .route("/revocations", post(revoke))
        .route("/erasures", post(erase))
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
        let worker = ingest.clone();
        let bytes = envelope.clone();
        let task_permit = permit.clone();
        let verified = tokio::task::spawn_blocking(move || {
            let verified = worker.verifier.verify(&bytes, received);
            drop((bytes, task_permit));
            verified
        })
        .await
        .map_err(|e| ApiError::Internal(format!("verification task: {e}")))??;
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

/// Check `Veil-Signature` over `body` under the uncompressed SEC1 `client_key` (hex).
fn verify_body_signature(
    headers: &HeaderMap,
    body: &[u8],
    client_key_hex: &str,
) -> Result<KeyId, ApiError> {
    let value = headers
        .get(VEIL_SIGNATURE)
        .ok_or(ApiError::MissingSignature)?;
    let text = value
        .to_str()
        .map_err(|_| ApiError::BadRequestSignature)?
        .trim()
        .trim_end_matches('=');
    let raw = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(text)
        .or_else(|_| base64::engine::general_purpose::STANDARD_NO_PAD.decode(text))
        .map_err(|_| ApiError::BadRequestSignature)?;
    let sec1: [u8; 65] = hex::decode(client_key_hex)
        .ok()
        .and_then(|b| b.try_into().ok())
        .ok_or_else(|| {
            ApiError::BadRequest("client_key must be 65 bytes of uncompressed SEC1, hex".into())
        })?;
    let key = VerifyingKey::from_sec1_bytes(&sec1)
        .map_err(|_| ApiError::BadRequest("client_key is not a P-256 point".into()))?;
    let sig = Signature::from_slice(&raw).map_err(|_| ApiError::BadRequestSignature)?;
    key.verify(body, &sig)
        .map_err(|_| ApiError::BadRequestSignature)?;
    Ok(KeyId::of_sec1(&sec1))
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
    client_key: String,
}

fn parse_json<T: for<'de> Deserialize<'de>>(body: &[u8]) -> Result<T, ApiError> {
    serde_json::from_slice(body).map_err(|e| ApiError::BadRequest(format!("JSON: {e}")))
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
        if request.format != "veil-revocation-v1" {
            return Err(ApiError::BadRequest(
                "format must be \"veil-revocation-v1\"".into(),
            ));
        }
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
        let client_key = request.client_key.to_ascii_lowercase();
        let kid = verify_body_signature(&headers, &body, &client_key)?;
        let text = String::from_utf8_lossy(&body).into_owned();
        let _ = request.withdrawn_at_ms;
        let (revoked, already) = ingest
            .store
            .revoke(
                Revocation {
                    ids,
                    client_key,
                    client_kid: kid.to_hex(),
                    purpose: request.purpose,
                    reason: request.reason,
                    body: text,
                },
                now_ms(),
            )
            .await?;
        Ok(
            Json(serde_json::json!({ "revoked": revoked, "already_revoked": already }))
                .into_response(),
        )
    })
    .await
}

/// One pseudonym of an erasure record (`veil_seal::pseudonym::ErasedPseudonym`).
#[derive(Debug, Deserialize)]
struct ErasedEntry {
    recipient: String,
    purpose: String,
    pseudonym: String,
}

/// `POST /v1/erasures` body: `veil_seal::ErasureRecord` plus the signing `client_key`.
#[derive(Debug, Deserialize)]
struct ErasureRequest {
    format: String,
    erased_at_ms: u64,
    pseudonyms: Vec<ErasedEntry>,
    client_key: String,
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
        if request.format != "veil-erasure-v1" {
            return Err(ApiError::BadRequest(
                "format must be \"veil-erasure-v1\"".into(),
            ));
        }
        if request.pseudonyms.is_empty() || request.pseudonyms.len() > MAX_CONTROL_ITEMS {
            return Err(ApiError::BadRequest(format!(
                "pseudonyms must list 1..={MAX_CONTROL_ITEMS} entries"
            )));
        }
        let mut pseudonyms = Vec::with_capacity(request.pseudonyms.len());
        for entry in &request.pseudonyms {
            let p = veil_seal::Pseudonym::parse(&entry.pseudonym).map_err(|_| {
                ApiError::BadRequest(format!("{:?} is not a pseudonym", entry.pseudonym))
            })?;
            if entry.recipient.is_empty() || entry.purpose.is_empty() {
                return Err(ApiError::BadRequest(
                    "recipient and purpose must be non-empty".into(),
                ));
            }
            if !pseudonyms.iter().any(|known: &String| known == p.as_str()) {
                pseudonyms.push(p.as_str().to_owned());
            }
        }
        let client_key = request.client_key.to_ascii_lowercase();
        let kid = verify_body_signature(&headers, &body, &client_key)?;
        let text = String::from_utf8_lossy(&body).into_owned();
        let (erased, marked, unknown) = ingest
            .store
            .erase(
                pseudonyms,
                client_key,
                kid.to_hex(),
                request.erased_at_ms,
                text,
                now_ms(),
            )
            .await?;
        Ok(Json(serde_json::json!({
            "erased_pseudonyms": erased,
            "artifacts_marked": marked,
            "unknown_pseudonyms": unknown,
        }))
        .into_response())
    })
    .await
}
