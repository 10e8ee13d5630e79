//! Device trust: certified device identities and signed readings, verified where the data is
//! first seen (the browser) and again where it lands (the ingest server).
//!
//! A Veil device holds a unique P-256 key and an X.509 chain (manufacturer root -> optional
//! intermediate -> device certificate, after Matter's PAA/PAI/DAC). Each reading is a tagged
//! COSE_Sign1 (RFC 9052) over a CBOR payload carrying the device serial, a monotonic counter, a
//! timestamp, the app's challenge and the raw Bluetooth SIG characteristic value. The
//! [`Verifier`] checks the chain against a [`TrustStore`] of manufacturer roots, the revocation
//! list, the signature, freshness and the serial, and decodes the measurement into named fields
//! in fixed units; the result is a [`VerifiedReading`] or a [`Rejection`] with a stable code.
//! The wire profile is specified in `docs/device-profile.md`.
//!
//! Nothing here reads the clock or does I/O: time, the expected challenge and the last counter
//! are arguments, so the same code runs in wasm32 and natively.
//!
//! ```
//! use veil_trust::{Coded, Verifier};
//! // A development manufacturer's root (trusted) and its device BP7-000001, whose chain runs
//! // device -> intermediate -> root; the device signs a blood-pressure reading for a challenge.
//! let now = 1_790_000_000;
//! let (maker, device) = veil_trust::fixtures::demo_device(now)?;
//! let nonce = [7u8; 32];
//! let cose = device.reading("bp:120/80/93,pulse=70", 51, &nonce)?;
//! let verifier = Verifier::new(maker.store.clone());
//! let reading = verifier.verify(&cose, &device.chain, Some(&nonce), Some(50), now)?;
//! assert_eq!(reading.device.serial, "BP7-000001");
//! assert_eq!(verifier.verify(&cose, &device.chain, Some(&nonce), Some(51), now).unwrap_err().code(), "replayed-counter");
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

mod chain;
mod challenge;
mod cose;
mod error;
pub mod fhir_import;
#[cfg(feature = "fixtures")]
pub mod fixtures;
pub mod gatt;
pub mod ieee11073;
pub mod measurement;
#[cfg(feature = "sim")]
mod provision;
pub mod sig;
mod verify;

pub use chain::{DeviceIdentity, MAX_CERT_LEN, MAX_CHAIN_LEN, RootInfo, TrustStore};
pub use challenge::{CHALLENGE_SALT_LEN, bound_challenge};
pub use cose::{
    Algorithm, COSE_SIGN1_TAG, CoseSign1, MAX_COSE_LEN, PAYLOAD_VERSION, ReadingPayload,
};
pub use error::{ProvisionError, Rejection};
pub use ieee11073::Measure;
#[cfg(feature = "sim")]
pub use measurement::{EncodedMeasurement, encode_spec};
pub use measurement::{Measurement, MeasurementError, decode};
pub use p256::ecdsa::{SigningKey, VerifyingKey};
#[cfg(feature = "sim")]
pub use provision::{
    CertificateSpec, DeviceSigner, KeyUsageSpec, PemIdentity, ProvisionOptions, Provisioned,
    ProvisionedDevice, generate_key, issue_certificate, key_from_pem, key_to_pem, provision,
};
pub use veil_core::Coded;
pub use veil_core::pem::{PemError, certs_from_pem, certs_to_pem};
pub use verify::{FreshnessWindow, PendingReading, RevocationList, VerifiedReading, Verifier};

/// SHA-256 of a certificate's DER, hex: the fingerprint shown to users and the COSE `kid`.
pub fn fingerprint(der: &[u8]) -> String {
    use sha2::Digest;
    hex::encode(sha2::Sha256::digest(der))
}

/// 32 random bytes from the operating system's RNG (WebCrypto in the browser): a challenge for a
/// device, which its next reading must carry as `nonce`.
pub fn new_challenge() -> Result<[u8; 32], ProvisionError> {
    use rand_core::{OsRng, RngCore};
    let mut out = [0u8; 32];
    OsRng
        .try_fill_bytes(&mut out)
        .map_err(|_| ProvisionError::Rng)?;
    Ok(out)
}
