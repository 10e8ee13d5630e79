//! What the server checks before it stores anything: the receiving side trusts nothing it cannot
//! verify itself, and does no unbounded work for anyone it does not know.
//!
//! 1. [`ArtifactVerifier::open`]: open the `VEIL-1` envelope with the recipient key (structure,
//!    suite, `kid`, HPKE/AES-GCM tag) and read the signer's key id from the COSE protected header,
//!    without decoding the payload. The API then looks the key up among enrolled clients and
//!    refuses any other (`unknown-client`) before anything else is done.
//! 2. [`ArtifactVerifier::verify_opened`]: verify the ES256 signature under the enrolled key over
//!    the bytes, and only then decode the manifest (depth-limited) and check every content's size
//!    and SHA-256 (`veil_seal::verify_signed_artifact` with a pinned key). The manifest must be for
//!    this recipient, carry a consent decision that grants its purpose (`allow`:
//!    [`veil_seal::ConsentDecision`]; the legacy spelling `permit` is read as `allow`), and a
//!    de-identification report only in its shareable form, within [`MAX_REPORT_BYTES`] and
//!    [`MAX_REPORT_DEPTH`].
//! 3. Every device reading and its chain are verified again against the server's own trust store
//!    and revocation list (`veil_trust::Verifier`), at the time of arrival, with a window wide
//!    enough for an offline outbox, and its challenge must be bound to the uploading client:
//!    `nonce = SHA-256(client key || challenge_salt)` (`veil_trust::bound_challenge`), so a reading
//!    captured from another session is worthless. Counter replay across artifacts is checked at
//!    commit time against the counters already accepted (`crate::store`).
//! 4. Unverified readings (`unverified_readings`: a standard Bluetooth device's or an imported
//!    file's values, which nothing signed) are accepted within the same count bound, kept in the
//!    stored manifest with their status `unverified`, and never counted as verified evidence: they
//!    are not among [`VerifiedUpload::readings`] or the `verification.readings` summaries, and the
//!    manifest's decoder refuses any entry carrying a key beyond its schema (a `verified` flag, a
//!    signature, a chain), so no such claim reaches the store.
//!
//! The result, [`VerifiedUpload`], is everything the store needs; the decrypted contents are
//! dropped here and never stored in clear.

use veil_seal::{ArtifactId, ConsentDecision, KeyId, RecipientKey};
use veil_trust::Verifier;

use crate::ApiError;

/// A device reading that verified, reduced to what replay protection and the record need.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AcceptedReading {
    /// `<root fingerprint>/<serial>`: serials are unique per manufacturer, not globally.
    pub device: String,
    /// The reading's monotonic counter.
    pub counter: u64,
    /// The reading's time, Unix seconds.
    pub timestamp: u64,
}

/// An envelope this server could open, with the key id its signed artifact names; nothing inside
/// is decoded or trusted yet.
#[derive(Debug, Clone)]
pub struct OpenedUpload {
    /// SHA-256 of the envelope bytes.
    pub id: ArtifactId,
    /// The signed artifact (COSE_Sign1) bytes.
    pub signed: Vec<u8>,
    /// The `kid` of its protected header: which enrolled client must have signed it.
    pub signer: KeyId,
}

/// An upload that passed every check, ready to be stored.
#[derive(Debug, Clone)]
pub struct VerifiedUpload {
    /// SHA-256 of the envelope bytes.
    pub id: ArtifactId,
    /// SHA-256 of what the client signed (the COSE `Sig_structure`, RFC 9052 §4.4), to catch
    /// re-sealed replays. Not of the COSE_Sign1 bytes: an ECDSA signature is malleable (`s` and
    /// `n - s` both verify, and WebCrypto re-signing draws a fresh nonce), the signed content is not.
    pub tbs_sha256: [u8; 32],
    /// The client key id (SHA-256 of its uncompressed SEC1 point), hex.
    pub client_kid: String,
    /// The client key, uncompressed SEC1, hex.
    pub client_key: String,
    /// The subject's pseudonym for this recipient and purpose.
    pub pseudonym: String,
    /// The purpose.
    pub purpose: String,
    /// The recipient id in the manifest.
    pub recipient: String,
    /// The consent decision's id, always `allow` (a legacy `permit` is stored as `allow`).
    pub consent_decision: String,
    /// The consent event hash, hex, if the manifest has one.
    pub consent_event: Option<String>,
    /// When the client made the artifact, ms since the epoch.
    pub created_ms: u64,
    /// The verified readings (never the manifest's unverified ones).
    pub readings: Vec<AcceptedReading>,
    /// The verified manifest as stored (`manifest` + `verification`), JSON.
    pub manifest_json: serde_json::Value,
}

/// Largest `deid_report`, measured as compact JSON (what the stored manifest record holds). A
/// shareable report of a real model is a few KiB: a handful of steps, flags and channels.
pub const MAX_REPORT_BYTES: usize = 64 * 1024;

/// Deepest nesting of arrays and objects in a `deid_report` (a shareable report nests 3 deep).
pub const MAX_REPORT_DEPTH: usize = 8;

fn report_too_large(detail: String) -> ApiError {
    ApiError::Seal(veil_seal::SealError::BadManifest(format!(
        "deid_report: {detail}"
    )))
}

/// Bound a report before anything is built from it: its nesting depth (walked without
/// recursion), then its compact JSON size (counted, never allocated, stopping at the limit).
fn check_report_bounds(report: &serde_json::Value) -> Result<(), ApiError> {
    use serde_json::Value;
    let mut stack = vec![(report, 1usize)];
    while let Some((value, depth)) = stack.pop() {
        let children: Box<dyn Iterator<Item = &Value>> = match value {
            Value::Array(items) => Box::new(items.iter()),
            Value::Object(fields) => Box::new(fields.values()),
            _ => continue,
        };
        if depth > MAX_REPORT_DEPTH {
            return Err(report_too_large(format!(
                "nested deeper than {MAX_REPORT_DEPTH} levels"
            )));
        }
        stack.extend(children.map(|child| (child, depth + 1)));
    }

    /// Counts what is written and fails once past the limit.
    struct Bounded(usize);
    impl std::io::Write for Bounded {
        fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
            self.0 = self.0.saturating_add(buf.len());
            if self.0 > MAX_REPORT_BYTES {
                return Err(std::io::Error::other("over the limit"));
            }
            Ok(buf.len())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }
    serde_json::to_writer(Bounded(0), report)
        .map_err(|_| report_too_large(format!("larger than {MAX_REPORT_BYTES} bytes as JSON")))
}

/// A manifest's `deid_report` must be a [`veil_mesh::ShareableReport`]: marked shareable, with no
/// field the type does not have (a local report's `transform`, `detail`, `plane` are refused).
/// The error names the serde problem, never a value from the report.
fn check_shareable(report: &serde_json::Value) -> Result<(), ApiError> {
    use serde::Deserialize;
    let shareable = veil_mesh::ShareableReport::deserialize(report).map_err(|e| {
        ApiError::NotShareableReport(match e.classify() {
            serde_json::error::Category::Data => "fields or types of another report".into(),
            _ => "not a report".into(),
        })
    })?;
    if shareable.form != "shareable" {
        return Err(ApiError::NotShareableReport("not marked shareable".into()));
    }
    Ok(())
}

/// The envelope opener and verifier of one server.
#[derive(Debug)]
pub struct ArtifactVerifier {
    key: RecipientKey,
    devices: Verifier,
    recipient_id: Option<String>,
    max_readings: usize,
}

impl ArtifactVerifier {
    /// A verifier opening envelopes with `key` and checking readings with `devices`.
    pub fn new(
        key: RecipientKey,
        devices: Verifier,
        recipient_id: Option<String>,
        max_readings: usize,
    ) -> Self {
        ArtifactVerifier {
            key,
            devices,
            recipient_id,
            max_readings,
        }
    }

    /// The recipient key (its public half is published at `/v1/recipient-key`).
    pub fn recipient_key(&self) -> &RecipientKey {
        &self.key
    }

    /// The configured recipient id.
    pub fn recipient_id(&self) -> Option<&str> {
        self.recipient_id.as_deref()
    }

    /// Step 1, before anything is decoded: open the envelope (suite, `kid`, HPKE/AES-GCM tag) and
    /// read the protected-header `kid` of the signed artifact inside, naming the client key the
    /// signature must verify under. CPU-bound: call it off the async executor.
    pub fn open(&self, envelope: &[u8]) -> Result<OpenedUpload, ApiError> {
        let signed = veil_seal::decrypt_envelope(envelope, &self.key)?;
        let signer = veil_seal::signer_kid(&signed)?;
        Ok(OpenedUpload {
            id: ArtifactId::of_envelope(envelope),
            signed,
            signer,
        })
    }

    /// Step 2, once the signer is known to be an enrolled client with key `client_key`
    /// (uncompressed SEC1): verify the signature over the bytes before the manifest is decoded,
    /// then every content hash, the bounded manifest fields, and each device reading, bound to
    /// this client, at `now_ms` (ms since the epoch). CPU-bound: call it off the async executor.
    pub fn verify_opened(
        &self,
        opened: OpenedUpload,
        client_key: &[u8; 65],
        now_ms: u64,
    ) -> Result<VerifiedUpload, ApiError> {
        let pinned = veil_seal::VerifyingKey::from_sec1_bytes(client_key).map_err(|_| {
            ApiError::Internal("an enrolled client key is not a P-256 point".into())
        })?;
        let artifact = veil_seal::verify_signed_artifact(&opened.signed, Some(&pinned))?;
        let manifest = &artifact.manifest;

        if let Some(expected) = &self.recipient_id
            && &manifest.recipient != expected
        {
            return Err(ApiError::RecipientMismatch {
                found: manifest.recipient.clone(),
                expected: expected.clone(),
            });
        }
        // A client seals only on a grant, but the server trusts nothing it cannot check itself.
        if manifest.consent.decision != ConsentDecision::Allow {
            return Err(ApiError::ConsentNotGranted {
                decision: manifest.consent.decision,
                purpose: manifest.purpose.clone(),
            });
        }
        if let Some(report) = &manifest.deid_report {
            check_report_bounds(report)?;
            check_shareable(report)?;
        }
        let count = manifest.device_evidence.len();
        let unverified = manifest.unverified_readings.len();
        for count in [count, unverified] {
            if count > self.max_readings {
                return Err(ApiError::TooManyReadings {
                    count,
                    max: self.max_readings,
                });
            }
        }

        let now_s = now_ms / 1000;
        let mut readings = Vec::with_capacity(count);
        let mut summaries = Vec::with_capacity(count);
        for (index, evidence) in manifest.device_evidence.iter().enumerate() {
            // The challenge must commit to this client's key: a reading captured from someone
            // else's session cannot be carried in this client's artifact.
            let salt = evidence
                .challenge_salt
                .ok_or(ApiError::ReadingUnbound { index })?;
            let expected = veil_trust::bound_challenge(client_key, &salt);
            // No last counter here: replay across artifacts is decided atomically at commit.
            let reading = self
                .devices
                .verify(
                    &evidence.reading,
                    &evidence.chain,
                    Some(&expected),
                    None,
                    now_s,
                )
                .map_err(|rejection| ApiError::ReadingRejected { index, rejection })?;
            let device = format!(
                "{}/{}",
                reading.device.root_fingerprint, reading.device.serial
            );
            // Two readings with one counter inside one artifact is a replay too.
            if readings
                .iter()
                .any(|r: &AcceptedReading| r.device == device && r.counter == reading.counter)
            {
                return Err(ApiError::ReplayedCounter {
                    device,
                    counter: reading.counter,
                    artifact: opened.id.to_hex(),
                });
            }
            summaries.push(serde_json::json!({
                "device": reading.device,
                "counter": reading.counter,
                "timestamp": reading.timestamp,
                "algorithm": reading.algorithm,
                "service": reading.service,
                "characteristic": reading.characteristic,
                "measurement": reading.measurement,
            }));
            readings.push(AcceptedReading {
                device,
                counter: reading.counter,
                timestamp: reading.timestamp,
            });
        }

        let manifest_json = serde_json::json!({
            "id": opened.id.to_hex(),
            "manifest": manifest.to_json(),
            "verification": {
                "verified_at_ms": now_ms,
                "recipient_kid": self.key.kid().to_hex(),
                "client_signature": "ES256",
                "contents_hashed": manifest.contents.len(),
                "readings": summaries,
                // Stored as sent, with status `unverified`; nothing here vouches for them.
                "unverified_readings": unverified,
            },
        });
        Ok(VerifiedUpload {
            id: opened.id,
            tbs_sha256: signed_content_digest(&opened.signed)?,
            client_kid: manifest.client_kid().to_hex(),
            client_key: hex::encode(manifest.client_key),
            pseudonym: manifest.pseudonym.as_str().to_owned(),
            purpose: manifest.purpose.clone(),
            recipient: manifest.recipient.clone(),
            consent_decision: manifest.consent.decision.id().to_owned(),
            consent_event: manifest.consent.event_hash.map(hex::encode),
            created_ms: manifest.created_ms,
            readings,
            manifest_json,
        })
    }

    /// Both steps, for a caller that already knows the client key (tests, fuzzing, tools).
    pub fn verify(
        &self,
        envelope: &[u8],
        client_key: &[u8; 65],
        now_ms: u64,
    ) -> Result<VerifiedUpload, ApiError> {
        let opened = self.open(envelope)?;
        self.verify_opened(opened, client_key, now_ms)
    }
}

/// SHA-256 of the `Sig_structure` of a (verified) COSE_Sign1, read as the verifier read it: an
/// unprotected header the verifier skips (Veil writes it empty) cannot make a verified artifact
/// fail here.
fn signed_content_digest(signed: &[u8]) -> Result<[u8; 32], ApiError> {
    veil_seal::signed_content_sha256(signed)
        .map_err(|e| ApiError::Internal(format!("re-reading a verified artifact: {e}")))
}
