//! Signed control requests: enrolments, revocations, erasures and delegations.
//!
//! Each is a JSON body signed with a client's ES256 key: `Veil-Signature` carries base64url(`r || s`)
//! over the exact body bytes (what WebCrypto's `sign({name: "ECDSA", hash: "SHA-256"}, key, body)`
//! returns). Every body names its `client_key`, a `timestamp_ms` and a random `nonce`, so that:
//!
//! - the request is kept byte-exact with its signature and can be re-verified later by anyone
//!   holding the client key (`store::controls` stores the body and the header value as received);
//! - a replay of the same bytes is recognised by the SHA-256 of the body and answered with the
//!   answer recorded the first time (200, stored once), which makes the client's retries safe;
//! - a nonce is never accepted twice from one client for different bytes (409 `nonce-reused`);
//! - a timestamp from the future (beyond [`MAX_CLOCK_SKEW_MS`]) is refused. An old one is not: an
//!   offline outbox may hold a withdrawal for weeks, and the withdrawal still counts.

use axum::http::HeaderMap;
use base64::Engine;
use bytes::Bytes;
use p256::ecdsa::signature::Verifier as _;
use p256::ecdsa::{Signature, VerifyingKey};
use sha2::{Digest, Sha256};
use veil_seal::KeyId;

use crate::ApiError;

/// The header carrying the client's ES256 signature of a control request body.
pub const VEIL_SIGNATURE: &str = "veil-signature";

/// How far ahead of this server's clock a request's `timestamp_ms` may be.
pub const MAX_CLOCK_SKEW_MS: u64 = 5 * 60 * 1000;

/// Shortest and longest nonce, in bytes (hex in the body).
pub const NONCE_BYTES: std::ops::RangeInclusive<usize> = 16..=64;

/// A control request whose signature verified under the key it names.
#[derive(Debug, Clone)]
pub struct SignedRequest {
    /// The body as received (UTF-8 JSON: it parsed).
    pub body: String,
    /// SHA-256 of the body, hex: the request's identity for replays.
    pub sha256: String,
    /// The `Veil-Signature` header value as received.
    pub signature: String,
    /// The signing key, uncompressed SEC1, lowercase hex.
    pub client_key: String,
    /// Its key id, hex.
    pub client_kid: String,
    /// The request's nonce, lowercase hex.
    pub nonce: String,
    /// The client's time of the request, ms since the epoch.
    pub timestamp_ms: u64,
}

/// Check the common fields and the signature of a control request body.
pub fn verify(
    headers: &HeaderMap,
    body: &Bytes,
    client_key_hex: &str,
    timestamp_ms: u64,
    nonce: &str,
    now_ms: u64,
) -> Result<SignedRequest, ApiError> {
    let nonce = nonce.to_ascii_lowercase();
    let nonce_ok = nonce.len().is_multiple_of(2)
        && NONCE_BYTES.contains(&(nonce.len() / 2))
        && nonce.bytes().all(|b| b.is_ascii_hexdigit());
    if !nonce_ok {
        return Err(ApiError::BadRequest(format!(
            "nonce must be {}..={} random bytes in hex",
            NONCE_BYTES.start(),
            NONCE_BYTES.end()
        )));
    }
    if timestamp_ms > now_ms.saturating_add(MAX_CLOCK_SKEW_MS) {
        return Err(ApiError::BadTimestamp {
            timestamp_ms,
            skew_s: MAX_CLOCK_SKEW_MS / 1000,
        });
    }
    let client_key = client_key_hex.to_ascii_lowercase();
    let (kid, signature) = verify_body_signature(headers, body, &client_key)?;
    let text = std::str::from_utf8(body)
        .map_err(|_| ApiError::BadRequest("the body is not UTF-8".into()))?
        .to_owned();
    Ok(SignedRequest {
        sha256: hex::encode(Sha256::digest(body)),
        body: text,
        signature,
        client_key,
        client_kid: kid.to_hex(),
        nonce,
        timestamp_ms,
    })
}

/// The uncompressed SEC1 point of a client key in hex, parsed.
pub fn client_key(client_key_hex: &str) -> Result<([u8; 65], VerifyingKey), ApiError> {
    let sec1: [u8; 65] = hex::decode(client_key_hex)
        .ok()
        .and_then(|b| b.try_into().ok())
        .ok_or_else(|| {
            ApiError::BadRequest("client_key must be 65 bytes of uncompressed SEC1, hex".into())
        })?;
    let key = VerifyingKey::from_sec1_bytes(&sec1)
        .map_err(|_| ApiError::BadRequest("client_key is not a P-256 point".into()))?;
    Ok((sec1, key))
}

/// Check `Veil-Signature` over `body` under the uncompressed SEC1 `client_key` (hex). Returns the
/// key id and the header value as sent.
fn verify_body_signature(
    headers: &HeaderMap,
    body: &[u8],
    client_key_hex: &str,
) -> Result<(KeyId, String), ApiError> {
    let value = headers
        .get(VEIL_SIGNATURE)
        .ok_or(ApiError::MissingSignature)?;
    let sent = value
        .to_str()
        .map_err(|_| ApiError::BadRequestSignature)?
        .trim();
    let text = sent.trim_end_matches('=');
    let raw = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(text)
        .or_else(|_| base64::engine::general_purpose::STANDARD_NO_PAD.decode(text))
        .map_err(|_| ApiError::BadRequestSignature)?;
    let (sec1, key) = client_key(client_key_hex)?;
    let sig = Signature::from_slice(&raw).map_err(|_| ApiError::BadRequestSignature)?;
    key.verify(body, &sig)
        .map_err(|_| ApiError::BadRequestSignature)?;
    Ok((KeyId::of_sec1(&sec1), sent.to_owned()))
}
