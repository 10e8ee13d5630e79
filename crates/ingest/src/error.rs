//! The errors of the ingest server: [`ServeError`] for starting it, [`ApiError`] for answering a
//! request. Every variant has a stable machine code; an [`ApiError`] also has its HTTP status and
//! becomes the JSON body `{"error": code, "detail": text}` (plus a few structured fields where
//! they help a client, e.g. `reason` for a rejected device reading).
//!
//! Status classes are chosen so a client can decide mechanically whether to retry: every 4xx
//! except 408 and 429 is final (the same bytes will never be accepted), 408, 429 and 5xx are
//! transient.

use std::path::PathBuf;

use axum::Json;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use veil_core::Coded;
use veil_seal::{ConsentDecision, SealError};
use veil_trust::Rejection;

/// How long a client over its storage quota is told to wait: an operator must raise the quota or
/// the client's artifacts must age out, which takes hours, not seconds.
pub const STORAGE_QUOTA_RETRY_S: u64 = 3600;

/// Errors starting or running the server.
#[derive(Debug, thiserror::Error)]
pub enum ServeError {
    /// The directory with the built app has no `index.html`.
    #[error("no built app at {0}: run `cargo xtask serve` (or `trunk build`) first")]
    MissingDist(PathBuf),
    /// Binding or serving failed, or the data directory could not be created.
    #[error("server i/o: {0}")]
    Io(#[from] std::io::Error),
    /// An explicitly named recipient key file does not exist.
    #[error("recipient key file {0} does not exist")]
    MissingRecipientKey(PathBuf),
    /// The recipient key (file or environment) is not a P-256 private key in PEM.
    #[error("recipient key from {origin} is not a P-256 private key (PKCS#8 or SEC1 PEM)")]
    BadRecipientKey {
        /// Where the key came from (a path or an environment variable name, never the key).
        origin: String,
    },
    /// The trust roots file could not be read or holds no usable certificate.
    #[error("trust roots {path}: {detail}")]
    BadTrustRoots {
        /// The file.
        path: PathBuf,
        /// What is wrong.
        detail: String,
    },
    /// The object store or the metadata database could not be opened.
    #[error("storage: {0}")]
    Storage(String),
    /// A configuration value is out of range or not understood.
    #[error("configuration: {0}")]
    Config(String),
}

impl veil_core::Coded for ServeError {
    /// A stable machine-readable code for this error.
    fn code(&self) -> &'static str {
        match self {
            ServeError::MissingDist(_) => "missing-dist",
            ServeError::Io(_) => "io",
            ServeError::MissingRecipientKey(_) => "missing-recipient-key",
            ServeError::BadRecipientKey { .. } => "bad-recipient-key",
            ServeError::BadTrustRoots { .. } => "bad-trust-roots",
            ServeError::Storage(_) => "storage",
            ServeError::Config(_) => "bad-config",
        }
    }
}

/// Why a request was refused. Each variant has a stable [`code`](ApiError::code) and an HTTP
/// [`status`](ApiError::status); nothing is stored when a request ends in one of these.
#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    /// `POST /v1/artifacts` without an `Idempotency-Key` header.
    #[error(
        "the Idempotency-Key header is required (the artifact id: lowercase hex SHA-256 of the body)"
    )]
    MissingIdempotencyKey,
    /// The `Idempotency-Key` is not 64 hex digits.
    #[error("the Idempotency-Key is not 64 hex digits")]
    BadIdempotencyKey,
    /// The `Idempotency-Key` is well formed but is not the SHA-256 of the body.
    #[error("the Idempotency-Key {key} is not the artifact id {id} of the body")]
    IdempotencyKeyMismatch {
        /// The key sent.
        key: String,
        /// The id of the body received.
        id: String,
    },
    /// The request had no body.
    #[error("the request body is empty")]
    EmptyBody,
    /// The body (or its declared `Content-Length`) exceeds the configured limit.
    #[error("the request body exceeds the limit of {limit} bytes")]
    BodyTooLarge {
        /// The limit in bytes.
        limit: usize,
    },
    /// The body could not be read (connection closed mid-upload).
    #[error("reading the request body failed: {0}")]
    BodyRead(String),
    /// The request took longer than the configured timeout.
    #[error("the request took longer than {secs} s")]
    Timeout {
        /// The timeout in seconds.
        secs: u64,
    },
    /// The envelope could not be opened or the artifact inside does not verify (bad envelope,
    /// wrong recipient, failed decryption, bad client signature, content hash mismatch, ...).
    /// The code is `veil-seal`'s.
    #[error("{0}")]
    Seal(#[from] SealError),
    /// The manifest names another recipient id than the one this server is configured as.
    #[error("the artifact is addressed to recipient {found:?}, this server is {expected:?}")]
    RecipientMismatch {
        /// The recipient id in the manifest.
        found: String,
        /// This server's recipient id.
        expected: String,
    },
    /// The manifest's consent decision for its purpose is not a grant (`allow`; the artifact
    /// parser reads the legacy `permit` as `allow`, and refuses any other word as `bad-manifest`).
    #[error("consent decision `{decision}` for purpose {purpose:?} does not permit this upload")]
    ConsentNotGranted {
        /// The decision in the manifest.
        decision: ConsentDecision,
        /// The manifest's purpose.
        purpose: String,
    },
    /// The manifest's `deid_report` is not a shareable report (e.g. the local report, which
    /// names what was removed and holds the scanner frame): nothing identifying is stored.
    #[error("the de-identification report is not a shareable report: {0}")]
    NotShareableReport(String),
    /// More device readings than the configured bound.
    #[error("the artifact carries {count} device readings; at most {max} are accepted")]
    TooManyReadings {
        /// Readings carried.
        count: usize,
        /// The bound.
        max: usize,
    },
    /// A device reading does not verify against this server's trust store.
    #[error("device reading {index} rejected: {rejection}")]
    ReadingRejected {
        /// Position of the reading in the manifest's `device_evidence`.
        index: usize,
        /// Why (`veil-trust`'s code is the `reason` field of the JSON answer).
        rejection: Rejection,
    },
    /// A device reading (device, counter) was already accepted in another artifact.
    #[error("device {device} counter {counter} was already accepted (artifact {artifact})")]
    ReplayedCounter {
        /// `root fingerprint/serial` of the device.
        device: String,
        /// The replayed counter.
        counter: u64,
        /// The artifact that carried it first.
        artifact: String,
    },
    /// The same signed artifact was already delivered inside another envelope (re-sealed replay).
    #[error("this signed artifact was already delivered as artifact {original}")]
    ReplayedArtifact {
        /// The id under which it was first stored.
        original: String,
    },
    /// A JSON request body (revocation, erasure) is malformed or out of range.
    #[error("invalid request: {0}")]
    BadRequest(String),
    /// A revocation or erasure without the `Veil-Signature` header.
    #[error("the Veil-Signature header is required (base64url ES256 signature of the body)")]
    MissingSignature,
    /// The `Veil-Signature` does not verify under the request's `client_key`.
    #[error("the Veil-Signature does not verify under client_key")]
    BadRequestSignature,
    /// A revocation names an artifact this server does not hold.
    #[error("artifact {0} is not known here")]
    UnknownArtifact(String),
    /// A revocation's purpose is not the purpose of an artifact it names.
    #[error("artifact {id} was delivered for purpose {expected:?}, not {found:?}")]
    PurposeMismatch {
        /// The artifact.
        id: String,
        /// Its purpose.
        expected: String,
        /// The purpose in the revocation.
        found: String,
    },
    /// The key that signed the upload or request is not an enrolled client of this server (never
    /// enrolled, or revoked by the operator): nothing is stored for it.
    #[error(
        "client key {kid} is not enrolled here: connect it to the clinic with an invitation code"
    )]
    UnknownClient {
        /// The key id (SHA-256 of the uncompressed SEC1 key), hex.
        kid: String,
    },
    /// An enrolment names a key the operator revoked.
    #[error("client key {kid} was revoked by the operator")]
    ClientRevoked {
        /// The key id, hex.
        kid: String,
    },
    /// An invitation code that is unknown, expired or used up (one answer for all three).
    #[error("the invitation code is not valid (unknown, expired or already used)")]
    InviteInvalid,
    /// The signing client is not among the keys a pseudonym belongs to.
    #[error("pseudonym {pseudonym} belongs to other client keys")]
    PseudonymNotOwned {
        /// The pseudonym.
        pseudonym: String,
    },
    /// A device reading without the salt that binds its challenge to the uploading client.
    #[error("device reading {index} is not bound to the uploading client (no challenge_salt)")]
    ReadingUnbound {
        /// Position of the reading in the manifest's `device_evidence`.
        index: usize,
    },
    /// A control request reuses a nonce of the same client with different bytes.
    #[error("nonce {nonce} was already used by this client for another request")]
    NonceReused {
        /// The nonce, hex.
        nonce: String,
    },
    /// A control request's `timestamp_ms` is too far in the future.
    #[error("timestamp_ms {timestamp_ms} is more than {skew_s} s ahead of this server's clock")]
    BadTimestamp {
        /// The request's timestamp.
        timestamp_ms: u64,
        /// The allowed skew in seconds.
        skew_s: u64,
    },
    /// The client sent more requests than its rate allows.
    #[error("too many requests from this client; retry in {retry_after_s} s")]
    RateLimited {
        /// Seconds until a request will be accepted again.
        retry_after_s: u64,
    },
    /// The client's stored bytes would exceed its quota.
    #[error("this client's storage quota of {quota} bytes is used up")]
    StorageQuota {
        /// The quota in bytes.
        quota: u64,
    },
    /// A read request signed by a key that is no active recipient user of this server.
    #[error("key {kid} is not an active user of this server: ask the operator to add it")]
    UnknownUser {
        /// The key id, hex.
        kid: String,
    },
    /// A user's signed request is older than the freshness window (a read is live, never queued).
    #[error("timestamp_ms {timestamp_ms} is more than {window_s} s old")]
    StaleRequest {
        /// The request's timestamp.
        timestamp_ms: u64,
        /// The window in seconds.
        window_s: u64,
    },
    /// A passkey registration, sign-in or session refused (`crate::webauthn`).
    #[error(transparent)]
    Passkey(#[from] crate::webauthn::PasskeyError),
    /// A read refused by the decision on it (`crate::reads`); the refusal is in the access log.
    #[error(transparent)]
    ReadRefused(#[from] crate::reads::ReadRefusal),
    /// No API route at this path.
    #[error("no such API route")]
    NotFound,
    /// The route exists but not for this method.
    #[error("method not allowed on this route")]
    MethodNotAllowed,
    /// Too many uploads are being processed; retry later.
    #[error("too many uploads in progress; retry later")]
    Busy,
    /// The object store or the metadata database failed (transient from the client's view).
    #[error("storage failure")]
    Storage(String),
    /// An internal task failed.
    #[error("internal error")]
    Internal(String),
}

impl veil_core::Coded for ApiError {
    /// The stable machine code, the `error` field of the JSON answer.
    fn code(&self) -> &'static str {
        match self {
            ApiError::MissingIdempotencyKey => "missing-idempotency-key",
            ApiError::BadIdempotencyKey => "bad-idempotency-key",
            ApiError::IdempotencyKeyMismatch { .. } => "idempotency-key-mismatch",
            ApiError::EmptyBody => "empty-body",
            ApiError::BodyTooLarge { .. } => "body-too-large",
            ApiError::BodyRead(_) => "body-read-failed",
            ApiError::Timeout { .. } => "timeout",
            ApiError::Seal(e) => e.code(),
            ApiError::RecipientMismatch { .. } => "recipient-mismatch",
            ApiError::ConsentNotGranted { .. } => "consent-not-granted",
            ApiError::NotShareableReport(_) => "not-shareable-report",
            ApiError::TooManyReadings { .. } => "too-many-readings",
            ApiError::ReadingRejected { .. } => "reading-rejected",
            ApiError::ReplayedCounter { .. } => "replayed-counter",
            ApiError::ReplayedArtifact { .. } => "replayed-artifact",
            ApiError::BadRequest(_) => "bad-request",
            ApiError::MissingSignature => "missing-signature",
            ApiError::BadRequestSignature => "bad-request-signature",
            ApiError::UnknownArtifact(_) => "unknown-artifact",
            ApiError::PurposeMismatch { .. } => "purpose-mismatch",
            ApiError::UnknownClient { .. } => "unknown-client",
            ApiError::ClientRevoked { .. } => "client-revoked",
            ApiError::InviteInvalid => "invite-invalid",
            ApiError::PseudonymNotOwned { .. } => "pseudonym-not-owned",
            ApiError::ReadingUnbound { .. } => "reading-unbound",
            ApiError::NonceReused { .. } => "nonce-reused",
            ApiError::BadTimestamp { .. } => "bad-timestamp",
            ApiError::RateLimited { .. } => "rate-limited",
            ApiError::StorageQuota { .. } => "storage-quota",
            ApiError::UnknownUser { .. } => "unknown-user",
            ApiError::StaleRequest { .. } => "stale-request",
            ApiError::ReadRefused(e) => e.code(),
            ApiError::Passkey(e) => e.code(),
            ApiError::NotFound => "not-found",
            ApiError::MethodNotAllowed => "method-not-allowed",
            ApiError::Busy => "busy",
            ApiError::Storage(_) => "storage",
            ApiError::Internal(_) => "internal",
        }
    }
}

impl ApiError {
    /// The HTTP status of the answer.
    pub fn status(&self) -> StatusCode {
        match self {
            ApiError::MissingIdempotencyKey
            | ApiError::BadIdempotencyKey
            | ApiError::EmptyBody
            | ApiError::BadRequest(_)
            | ApiError::BodyRead(_) => StatusCode::BAD_REQUEST,
            ApiError::Seal(e) => match e {
                SealError::BadEnvelope(_) | SealError::UnsupportedSuite { .. } => {
                    StatusCode::BAD_REQUEST
                }
                SealError::ClientKeyMismatch | SealError::ConsentNotGranted(_) => {
                    StatusCode::FORBIDDEN
                }
                SealError::RngFailed(_) | SealError::EncodeFailed(_) | SealError::SealFailed(_) => {
                    StatusCode::INTERNAL_SERVER_ERROR
                }
                _ => StatusCode::UNPROCESSABLE_ENTITY,
            },
            ApiError::IdempotencyKeyMismatch { .. }
            | ApiError::RecipientMismatch { .. }
            | ApiError::TooManyReadings { .. }
            | ApiError::NotShareableReport(_)
            | ApiError::ReadingRejected { .. }
            | ApiError::ReadingUnbound { .. }
            | ApiError::PurposeMismatch { .. } => StatusCode::UNPROCESSABLE_ENTITY,
            ApiError::BadTimestamp { .. } => StatusCode::BAD_REQUEST,
            ApiError::UnknownClient { .. } | ApiError::UnknownUser { .. } => {
                StatusCode::UNAUTHORIZED
            }
            ApiError::StaleRequest { .. } => StatusCode::BAD_REQUEST,
            ApiError::ReadRefused(_) => StatusCode::FORBIDDEN,
            ApiError::Passkey(e) => {
                use crate::webauthn::PasskeyError as P;
                match e {
                    P::UnknownCredential | P::SessionInvalid | P::BadSignature => {
                        StatusCode::UNAUTHORIZED
                    }
                    P::RegistrationCodeInvalid
                    | P::UserNotVerified
                    | P::UserNotPresent
                    | P::SignCount { .. }
                    | P::BackupEligibility { .. } => StatusCode::FORBIDDEN,
                    P::CredentialExists => StatusCode::CONFLICT,
                    _ => StatusCode::BAD_REQUEST,
                }
            }
            ApiError::ClientRevoked { .. }
            | ApiError::InviteInvalid
            | ApiError::PseudonymNotOwned { .. } => StatusCode::FORBIDDEN,
            ApiError::NonceReused { .. } => StatusCode::CONFLICT,
            ApiError::RateLimited { .. } | ApiError::StorageQuota { .. } => {
                StatusCode::TOO_MANY_REQUESTS
            }
            ApiError::BodyTooLarge { .. } => StatusCode::PAYLOAD_TOO_LARGE,
            ApiError::Timeout { .. } => StatusCode::REQUEST_TIMEOUT,
            ApiError::ConsentNotGranted { .. } => StatusCode::FORBIDDEN,
            ApiError::ReplayedCounter { .. } | ApiError::ReplayedArtifact { .. } => {
                StatusCode::CONFLICT
            }
            ApiError::MissingSignature | ApiError::BadRequestSignature => StatusCode::UNAUTHORIZED,
            ApiError::UnknownArtifact(_) | ApiError::NotFound => StatusCode::NOT_FOUND,
            ApiError::MethodNotAllowed => StatusCode::METHOD_NOT_ALLOWED,
            ApiError::Busy => StatusCode::SERVICE_UNAVAILABLE,
            ApiError::Storage(_) | ApiError::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    /// Seconds a client should wait before retrying (the `Retry-After` header), for the answers
    /// that are worth retrying later.
    pub fn retry_after(&self) -> Option<u64> {
        match self {
            ApiError::Busy => Some(5),
            ApiError::RateLimited { retry_after_s } => Some((*retry_after_s).max(1)),
            ApiError::StorageQuota { .. } => Some(STORAGE_QUOTA_RETRY_S),
            _ => None,
        }
    }

    /// The JSON body of the answer. Internal details (storage paths, database messages) are
    /// logged by the caller, not sent.
    pub fn to_json(&self) -> serde_json::Value {
        let mut body = serde_json::json!({ "error": self.code(), "detail": self.to_string() });
        match self {
            ApiError::ReadingRejected { index, rejection } => {
                body["reason"] = rejection.code().into();
                body["index"] = (*index).into();
            }
            ApiError::ReplayedCounter { artifact, .. } => {
                body["artifact"] = artifact.clone().into()
            }
            ApiError::ReplayedArtifact { original } => body["artifact"] = original.clone().into(),
            ApiError::BodyTooLarge { limit } => body["limit"] = (*limit).into(),
            ApiError::UnknownClient { kid } | ApiError::ClientRevoked { kid } => {
                body["client_kid"] = kid.clone().into()
            }
            ApiError::ReadingUnbound { index } => body["index"] = (*index).into(),
            ApiError::UnknownUser { kid } => body["user_kid"] = kid.clone().into(),
            ApiError::ReadRefused(refusal) => {
                body["decision"] = "refuse".into();
                body["citations"] = refusal.citations().into();
                if let crate::reads::ReadRefusal::ConsentWithdrawn { reason, .. } = refusal {
                    body["reason"] = reason.clone().into();
                }
                if let crate::reads::ReadRefusal::ConsentNotAllowed { outcome, under, .. } = refusal
                {
                    body["outcome"] = outcome.clone().into();
                    body["under"] = under.clone().into();
                }
            }
            _ => {}
        }
        body
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        if let ApiError::Storage(detail) | ApiError::Internal(detail) = &self {
            eprintln!("veil-ingest: {}: {detail}", self.code());
        }
        let mut response = (self.status(), Json(self.to_json())).into_response();
        if let Some(seconds) = self.retry_after() {
            response.headers_mut().insert(
                axum::http::header::RETRY_AFTER,
                axum::http::HeaderValue::from(seconds),
            );
        }
        response
    }
}
