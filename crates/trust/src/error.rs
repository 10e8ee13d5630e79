//! The typed rejection of a reading, with the stable machine codes shared by the CLI's JSON, the
//! npm facade and the UI's badges.

use thiserror::Error;

/// Why a reading (or a device's certificate chain) was not accepted.
///
/// Every variant has a stable code ([`Rejection::code`]); the `String` carried by some variants is a
/// human-readable detail for logs and the UI, never something to match on. Signature failures carry
/// no detail on purpose: one opaque failure, no oracle.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum Rejection {
    /// The bytes are not a well-formed reading: bad CBOR or DER, a missing or mistyped field, a
    /// size over the limits, a measurement value that does not follow its Bluetooth SIG layout.
    #[error("malformed: {0}")]
    Malformed(String),
    /// The COSE `alg` is not ES256 (-7) or ESP256 (-9), or a certificate uses a curve or
    /// signature algorithm other than P-256 / ecdsa-with-SHA256.
    #[error("unsupported algorithm: {0}")]
    UnsupportedAlgorithm(String),
    /// The COSE signature does not verify with the device certificate's key.
    #[error("bad signature")]
    BadSignature,
    /// The chain does not lead to a trusted manufacturer root, or breaks a certificate profile
    /// rule (issuer signature, basicConstraints, keyUsage, pathLen, critical extensions).
    #[error("untrusted chain: {0}")]
    UntrustedChain(String),
    /// A certificate of the chain is outside its validity period at the reading's time or now.
    #[error("expired certificate: {0}")]
    ExpiredCertificate(String),
    /// The device serial is on the revocation list.
    #[error("revoked: device {0}")]
    Revoked(String),
    /// The payload's `dev` is not the serialNumber of the device certificate.
    #[error("serial mismatch: reading says {reading:?}, certificate says {certificate:?}")]
    SerialMismatch {
        /// `dev` in the signed payload.
        reading: String,
        /// The serialNumber attribute of the device certificate's subject.
        certificate: String,
    },
    /// The payload's `nonce` is not the challenge the app sent.
    #[error("nonce mismatch: the reading does not answer the challenge sent")]
    NonceMismatch,
    /// The counter is not strictly greater than the last one seen for this device.
    #[error("replayed counter: {counter} is not greater than the last seen {last}")]
    ReplayedCounter {
        /// `ctr` in the signed payload.
        counter: u64,
        /// The last counter accepted for this device.
        last: u64,
    },
    /// The reading's timestamp is outside the freshness window around now.
    #[error("stale: reading time {ts} is outside the window around now ({now})")]
    Stale {
        /// `ts` in the signed payload (Unix seconds).
        ts: u64,
        /// The verifier's notion of now (Unix seconds).
        now: u64,
    },
}

impl veil_core::Coded for Rejection {
    /// `malformed`, `unsupported-algorithm`, `bad-signature`, `untrusted-chain`,
    /// `expired-certificate`, `revoked`, `serial-mismatch`, `nonce-mismatch`, `replayed-counter`,
    /// `stale`.
    fn code(&self) -> &'static str {
        match self {
            Rejection::Malformed(_) => "malformed",
            Rejection::UnsupportedAlgorithm(_) => "unsupported-algorithm",
            Rejection::BadSignature => "bad-signature",
            Rejection::UntrustedChain(_) => "untrusted-chain",
            Rejection::ExpiredCertificate(_) => "expired-certificate",
            Rejection::Revoked(_) => "revoked",
            Rejection::SerialMismatch { .. } => "serial-mismatch",
            Rejection::NonceMismatch => "nonce-mismatch",
            Rejection::ReplayedCounter { .. } => "replayed-counter",
            Rejection::Stale { .. } => "stale",
        }
    }
}

impl From<veil_core::pem::PemError> for Rejection {
    fn from(e: veil_core::pem::PemError) -> Self {
        Rejection::Malformed(e.to_string())
    }
}

impl Rejection {
    /// Every code a rejection can carry, for documentation and exhaustive tests.
    pub const CODES: [&'static str; 10] = [
        "malformed",
        "unsupported-algorithm",
        "bad-signature",
        "untrusted-chain",
        "expired-certificate",
        "revoked",
        "serial-mismatch",
        "nonce-mismatch",
        "replayed-counter",
        "stale",
    ];

    pub(crate) fn malformed(detail: impl Into<String>) -> Self {
        Rejection::Malformed(detail.into())
    }

    pub(crate) fn untrusted(detail: impl Into<String>) -> Self {
        Rejection::UntrustedChain(detail.into())
    }
}

/// Why provisioning, signing or loading keys and certificates failed (tooling side: the CLI,
/// demos and tests, not the verifier).
#[derive(Debug, Error)]
pub enum ProvisionError {
    /// A PEM or DER input could not be decoded.
    #[error("bad PEM/DER input: {0}")]
    BadEncoding(String),
    /// A private key is not a P-256 PKCS#8 (or SEC1) key.
    #[error("bad private key: {0}")]
    BadKey(String),
    /// A certificate could not be built or encoded.
    #[error("certificate build failed: {0}")]
    Build(String),
    /// A measurement specification (`bp:120/80/93`) could not be parsed or encoded.
    #[error("bad measurement: {0}")]
    BadMeasurement(String),
    /// The operating system's random number generator failed.
    #[error("random number generator failed")]
    Rng,
}

impl veil_core::Coded for ProvisionError {
    fn code(&self) -> &'static str {
        match self {
            ProvisionError::BadEncoding(_) => "bad-encoding",
            ProvisionError::BadKey(_) => "bad-key",
            ProvisionError::Build(_) => "build-failed",
            ProvisionError::BadMeasurement(_) => "bad-measurement",
            ProvisionError::Rng => "rng-failed",
        }
    }
}
