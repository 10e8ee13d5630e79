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
//! use veil_trust::{provision, DeviceSigner, TrustStore, Verifier, Algorithm, encode_spec, ProvisionOptions};
//! let now = 1_790_000_000;
//! let dev = provision(&ProvisionOptions {
//!     manufacturer: "Acme Medical".into(), model: "BP7".into(), serial_prefix: "BP7".into(),
//!     devices: 1, intermediate: true, now, device_days: 365,
//! })?;
//! let verifier = Verifier::new(TrustStore::from_pem(&dev.root.cert_pem)?);
//! let d = &dev.devices[0];
//! let signer = DeviceSigner::from_pem(&d.identity.key_pem, &d.identity.cert_pem)?;
//! let nonce = [7u8; 32];
//! let cose = signer.sign(&encode_spec("bp:120/80/93,pulse=70", now)?, 51, now, &nonce, Algorithm::Es256);
//! let chain = veil_trust::certs_from_pem(&d.chain_pem)?;
//! let reading = verifier.verify(&cose, &chain, Some(&nonce), Some(50), now)?;
//! assert_eq!(reading.device.serial, "BP7-000001");
//! assert_eq!(verifier.verify(&cose, &chain, Some(&nonce), Some(51), now).unwrap_err().code(), "replayed-counter");
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
#![forbid(unsafe_code)]
#![warn(missing_docs)]
#![cfg_attr(test, allow(clippy::unwrap_used, clippy::expect_used))]

mod chain;
mod cose;
mod error;
pub mod gatt;
pub mod ieee11073;
pub mod measurement;
mod pem;
mod provision;
mod verify;

pub use chain::{DeviceIdentity, MAX_CERT_LEN, MAX_CHAIN_LEN, RootInfo, TrustStore};
pub use cose::{
    Algorithm, COSE_SIGN1_TAG, CoseSign1, MAX_COSE_LEN, PAYLOAD_VERSION, ReadingPayload,
};
pub use error::{ProvisionError, Rejection};
pub use ieee11073::Measure;
pub use measurement::{EncodedMeasurement, Measurement, MeasurementError, decode, encode_spec};
pub use p256::ecdsa::{SigningKey, VerifyingKey};
pub use pem::{certs_from_pem, certs_to_pem};
pub use provision::{
    CertificateSpec, DeviceSigner, KeyUsageSpec, PemIdentity, ProvisionOptions, Provisioned,
    ProvisionedDevice, generate_key, issue_certificate, key_from_pem, key_to_pem, new_challenge,
    provision,
};
pub use verify::{FreshnessWindow, PendingReading, RevocationList, VerifiedReading, Verifier};

/// SHA-256 of a certificate's DER, hex: the fingerprint shown to users and the COSE `kid`.
pub fn fingerprint(der: &[u8]) -> String {
    use sha2::Digest;
    hex::encode(sha2::Sha256::digest(der))
}
