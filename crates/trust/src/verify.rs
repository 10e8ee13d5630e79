//! The verifier: from a signed reading and the device's chain to a [`VerifiedReading`] or a
//! [`Rejection`]. Time, the expected challenge and the last counter are passed in, so the same
//! code runs in the browser (wasm32), in the ingest server and in the CLI.

use std::collections::{HashMap, HashSet};
use std::sync::{Arc, Mutex};

use p256::ecdsa::Signature;
use p256::ecdsa::signature::Verifier as _;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

use crate::chain::{DeviceIdentity, TrustStore, ValidatedChain};
use crate::cose::{Algorithm, CoseSign1, ReadingPayload};
use crate::error::Rejection;
use crate::measurement::{self, Measurement};

/// Device serials whose certificates must no longer be trusted.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RevocationList {
    serials: HashSet<String>,
}

impl RevocationList {
    /// An empty list.
    pub fn new() -> Self {
        Self::default()
    }

    /// One serial per line; blank lines and lines starting with `#` are ignored, surrounding
    /// whitespace trimmed.
    pub fn from_text(text: &str) -> Self {
        let serials = text
            .lines()
            .map(str::trim)
            .filter(|l| !l.is_empty() && !l.starts_with('#'))
            .map(str::to_string)
            .collect();
        RevocationList { serials }
    }

    /// Revokes a serial.
    pub fn insert(&mut self, serial: impl Into<String>) {
        self.serials.insert(serial.into());
    }

    /// True if the serial is revoked.
    pub fn contains(&self, serial: &str) -> bool {
        self.serials.contains(serial)
    }
}

/// How far a reading's `ts` may be from now.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct FreshnessWindow {
    /// Oldest accepted reading, in seconds before now.
    pub max_age_secs: u64,
    /// Furthest accepted reading in the future, in seconds after now (device clock skew).
    pub max_future_secs: u64,
}

impl Default for FreshnessWindow {
    /// 5 minutes back, 1 minute ahead: a reading answers a challenge sent seconds ago.
    fn default() -> Self {
        FreshnessWindow {
            max_age_secs: 300,
            max_future_secs: 60,
        }
    }
}

/// A reading proven to come, unmodified and fresh, from a certified device.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct VerifiedReading {
    /// The device that signed it.
    pub device: DeviceIdentity,
    /// The reading's counter (`ctr`); store it as the device's last seen counter.
    pub counter: u64,
    /// The reading's time (`ts`), Unix seconds.
    pub timestamp: u64,
    /// The challenge the reading answers, hex.
    #[serde(with = "hex_bytes")]
    pub nonce: Vec<u8>,
    /// 16-bit service UUID.
    pub service: u16,
    /// 16-bit characteristic UUID.
    pub characteristic: u16,
    /// The signature algorithm used.
    pub algorithm: Algorithm,
    /// The decoded measurement.
    pub measurement: Measurement,
    /// The original COSE_Sign1 bytes, base64, to forward so the backend can verify again.
    #[serde(with = "b64_bytes")]
    pub cose: Vec<u8>,
    /// The device's chain as received (DER, device first), base64.
    #[serde(with = "b64_chain")]
    pub chain: Vec<Vec<u8>>,
}

/// Bound on cached chains; the cache is cleared when full (devices per installation are few).
const CACHE_CAPACITY: usize = 256;

/// Verifies signed readings against a trust store, a revocation list and a freshness window.
///
/// Chain validation (parsing, issuer signatures, constraints) is cached per distinct chain, so a
/// paired device's readings cost one ECDSA verification plus CBOR decoding.
#[derive(Debug, Default)]
pub struct Verifier {
    store: TrustStore,
    revoked: RevocationList,
    window: FreshnessWindow,
    cache: Mutex<HashMap<[u8; 32], Arc<ValidatedChain>>>,
}

fn chain_key(chain: &[Vec<u8>]) -> [u8; 32] {
    let mut h = Sha256::new();
    for der in chain {
        h.update((der.len() as u64).to_be_bytes());
        h.update(der);
    }
    h.finalize().into()
}

impl Verifier {
    /// A verifier trusting `store`, with no revocations and the default window.
    pub fn new(store: TrustStore) -> Self {
        Verifier {
            store,
            ..Self::default()
        }
    }

    /// Sets the revocation list.
    pub fn with_revocations(mut self, revoked: RevocationList) -> Self {
        self.revoked = revoked;
        self
    }

    /// Sets the freshness window.
    pub fn with_window(mut self, window: FreshnessWindow) -> Self {
        self.window = window;
        self
    }

    /// The trust store (for listing roots).
    pub fn store(&self) -> &TrustStore {
        &self.store
    }

    /// Changes the trust store (import/remove a root); clears the chain cache.
    pub fn store_mut(&mut self) -> &mut TrustStore {
        self.cache.get_mut().map(HashMap::clear).unwrap_or(());
        &mut self.store
    }

    /// Changes the revocation list (checked on every reading, not cached).
    pub fn revocations_mut(&mut self) -> &mut RevocationList {
        &mut self.revoked
    }

    fn validated(&self, chain: &[Vec<u8>]) -> Result<Arc<ValidatedChain>, Rejection> {
        let key = chain_key(chain);
        if let Ok(cache) = self.cache.lock()
            && let Some(hit) = cache.get(&key)
        {
            return Ok(hit.clone());
        }
        let v = Arc::new(self.store.validate(chain)?);
        if let Ok(mut cache) = self.cache.lock() {
            if cache.len() >= CACHE_CAPACITY {
                cache.clear();
            }
            cache.insert(key, v.clone());
        }
        Ok(v)
    }

    /// Validates a device's chain at `now` (pairing: shows who the device is, or why it is not
    /// trusted). Checks everything about the chain that does not need a reading, including the
    /// revocation list.
    pub fn verify_chain(
        &self,
        chain_der: &[Vec<u8>],
        now: u64,
    ) -> Result<DeviceIdentity, Rejection> {
        let chain = self.validated(chain_der)?;
        chain.check_time(now, "now")?;
        if self.revoked.contains(&chain.identity.serial) {
            return Err(Rejection::Revoked(chain.identity.serial.clone()));
        }
        Ok(chain.identity.clone())
    }

    /// Verifies one signed reading.
    ///
    /// * `cose`: the tagged COSE_Sign1 bytes as read from the device.
    /// * `chain_der`: the device's certificate chain, device first (DER).
    /// * `expected_nonce`: the challenge written to the device, if this is a live exchange.
    /// * `last_counter`: the last counter accepted for this device, if any.
    /// * `now`: Unix seconds.
    ///
    /// Order of checks (the first failure is reported): decoding and algorithm (`malformed`,
    /// `unsupported-algorithm`), chain to a trusted root (`untrusted-chain`,
    /// `unsupported-algorithm`), validity now (`expired-certificate`), revocation (`revoked`),
    /// signature (`bad-signature`), `kid` (`untrusted-chain`), payload (`malformed`), validity
    /// at the reading's time (`expired-certificate`), `dev` (`serial-mismatch`), counter
    /// (`replayed-counter`), nonce (`nonce-mismatch`), timestamp (`stale`). Nothing from the
    /// payload is trusted before the signature has been checked. The counter comes before the
    /// nonce so that a replayed answer is reported as a replay, not as an unrelated challenge.
    pub fn verify(
        &self,
        cose: &[u8],
        chain_der: &[Vec<u8>],
        expected_nonce: Option<&[u8]>,
        last_counter: Option<u64>,
        now: u64,
    ) -> Result<VerifiedReading, Rejection> {
        let pending = self.begin(cose, chain_der, now)?;
        let valid = pending.verify_signature();
        pending.finish(valid, expected_nonce, last_counter)
    }

    /// First half of [`Verifier::verify`], for callers that check the reading's ECDSA signature
    /// with another implementation (the browser's WebCrypto, which runs natively and is much
    /// faster than P-256 arithmetic compiled to wasm32). Decodes the reading, validates the chain
    /// (cached), checks validity now and revocation. Then hand [`PendingReading::signed_data`],
    /// [`PendingReading::signature`] and [`PendingReading::device_public_key`] to
    /// `crypto.subtle.verify({name: "ECDSA", hash: "SHA-256"}, key, signature, data)` and pass its
    /// answer to [`PendingReading::finish`]. Nothing from the payload is used before that.
    pub fn begin(
        &self,
        cose: &[u8],
        chain_der: &[Vec<u8>],
        now: u64,
    ) -> Result<PendingReading, Rejection> {
        let sign1 = CoseSign1::decode(cose)?;
        let chain = self.validated(chain_der)?;
        chain.check_time(now, "now")?;
        if self.revoked.contains(&chain.identity.serial) {
            return Err(Rejection::Revoked(chain.identity.serial.clone()));
        }
        Ok(PendingReading {
            signed_data: sign1.to_be_signed(),
            sign1,
            chain,
            cose: cose.to_vec(),
            chain_der: chain_der.to_vec(),
            window: self.window,
            now,
        })
    }
}

/// A decoded reading from a trusted, unrevoked, currently valid device, whose signature has not
/// been checked yet. See [`Verifier::begin`].
#[derive(Debug)]
pub struct PendingReading {
    sign1: CoseSign1,
    signed_data: Vec<u8>,
    chain: Arc<ValidatedChain>,
    cose: Vec<u8>,
    chain_der: Vec<Vec<u8>>,
    window: FreshnessWindow,
    now: u64,
}

impl PendingReading {
    /// The bytes the device signed: the COSE Sig_structure (RFC 9052 §4.4).
    pub fn signed_data(&self) -> &[u8] {
        &self.signed_data
    }

    /// The signature as sent: r || s (RFC 9053 §2.1), which is also WebCrypto's ECDSA format.
    pub fn signature(&self) -> &[u8] {
        &self.sign1.signature
    }

    /// The device's public key as an uncompressed SEC1 point (65 bytes): WebCrypto
    /// `importKey("raw", ..., {name: "ECDSA", namedCurve: "P-256"}, ...)`.
    pub fn device_public_key(&self) -> Vec<u8> {
        self.chain
            .device_key
            .to_encoded_point(false)
            .as_bytes()
            .to_vec()
    }

    /// The device identity the chain vouches for (not yet tied to this reading).
    pub fn device(&self) -> &DeviceIdentity {
        &self.chain.identity
    }

    /// Checks the signature with the pure-Rust P-256 implementation.
    pub fn verify_signature(&self) -> bool {
        // RFC 9053 §2.1: the ECDSA signature is r || s, each 32 bytes for P-256.
        match Signature::from_slice(&self.sign1.signature) {
            Ok(sig) => self
                .chain
                .device_key
                .verify(&self.signed_data, &sig)
                .is_ok(),
            Err(_) => false,
        }
    }

    /// Second half of verification, given whether the signature verified: `kid`, payload,
    /// validity at the reading's time, serial, counter, nonce, freshness, measurement.
    pub fn finish(
        self,
        signature_valid: bool,
        expected_nonce: Option<&[u8]>,
        last_counter: Option<u64>,
    ) -> Result<VerifiedReading, Rejection> {
        let PendingReading {
            sign1,
            chain,
            cose,
            chain_der,
            window,
            now,
            ..
        } = self;
        if !signature_valid || sign1.signature.len() != 64 {
            return Err(Rejection::BadSignature);
        }
        match &sign1.kid {
            Some(kid) if bool::from(kid.as_slice().ct_eq(&chain.device_fingerprint)) => {}
            Some(_) => {
                return Err(Rejection::untrusted(
                    "kid is not the SHA-256 of the presented device certificate",
                ));
            }
            None => return Err(Rejection::malformed("COSE header has no kid")),
        }
        let payload = ReadingPayload::decode(&sign1.payload)?;
        chain.check_time(payload.ts, "the reading's time")?;
        if payload.dev != chain.identity.serial {
            return Err(Rejection::SerialMismatch {
                reading: payload.dev,
                certificate: chain.identity.serial.clone(),
            });
        }
        if let Some(last) = last_counter
            && payload.ctr <= last
        {
            return Err(Rejection::ReplayedCounter {
                counter: payload.ctr,
                last,
            });
        }
        if let Some(expected) = expected_nonce
            && !bool::from(payload.nonce.ct_eq(expected))
        {
            return Err(Rejection::NonceMismatch);
        }
        if payload.ts.saturating_add(window.max_age_secs) < now
            || payload.ts > now.saturating_add(window.max_future_secs)
        {
            return Err(Rejection::Stale {
                ts: payload.ts,
                now,
            });
        }
        let measurement = measurement::decode(payload.svc, payload.chr, &payload.val)
            .map_err(|e| Rejection::malformed(e.to_string()))?;
        Ok(VerifiedReading {
            device: chain.identity.clone(),
            counter: payload.ctr,
            timestamp: payload.ts,
            nonce: payload.nonce,
            service: payload.svc,
            characteristic: payload.chr,
            algorithm: sign1.alg,
            measurement,
            cose,
            chain: chain_der,
        })
    }
}

mod hex_bytes {
    use serde::{Deserialize, Deserializer, Serializer};
    pub fn serialize<S: Serializer>(b: &[u8], s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&hex::encode(b))
    }
    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<u8>, D::Error> {
        hex::decode(String::deserialize(d)?).map_err(serde::de::Error::custom)
    }
}

mod b64_bytes {
    use base64::Engine;
    use base64::engine::general_purpose::STANDARD;
    use serde::{Deserialize, Deserializer, Serializer};
    pub fn serialize<S: Serializer>(b: &[u8], s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&STANDARD.encode(b))
    }
    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<u8>, D::Error> {
        STANDARD
            .decode(String::deserialize(d)?)
            .map_err(serde::de::Error::custom)
    }
}

mod b64_chain {
    use base64::Engine;
    use base64::engine::general_purpose::STANDARD;
    use serde::ser::SerializeSeq;
    use serde::{Deserialize, Deserializer, Serializer};
    pub fn serialize<S: Serializer>(chain: &[Vec<u8>], s: S) -> Result<S::Ok, S::Error> {
        let mut seq = s.serialize_seq(Some(chain.len()))?;
        for der in chain {
            seq.serialize_element(&STANDARD.encode(der))?;
        }
        seq.end()
    }
    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<Vec<u8>>, D::Error> {
        Vec::<String>::deserialize(d)?
            .into_iter()
            .map(|s| STANDARD.decode(s).map_err(serde::de::Error::custom))
            .collect()
    }
}
