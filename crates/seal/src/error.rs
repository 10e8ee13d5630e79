//! The one error type of `veil-seal`, with a stable machine code per variant.
//!
//! Opening gives no decryption oracle: every AEAD or KEM failure is the single opaque
//! [`SealError::DecryptFailed`] (the tag itself is compared in constant time by `aes-gcm`).

/// Everything that can go wrong when making pseudonyms, sealing or opening an artifact.
#[derive(Debug, thiserror::Error, Clone, PartialEq, Eq)]
pub enum SealError {
    /// A key (PEM, PKCS#8, SEC1 or raw bytes) could not be parsed or is not a P-256 key.
    #[error("invalid key: {0}")]
    BadKey(String),
    /// The operating system (or the browser's `crypto.getRandomValues`) gave no randomness.
    #[error("no randomness available: {0}")]
    RngFailed(String),
    /// A pseudonym secret is not exactly 32 bytes (raw, or 64 hex digits).
    #[error("invalid pseudonym secret: {0}")]
    BadPseudonymSecret(String),
    /// The identity vault has no secret for this subject (never enrolled, or erased).
    #[error("unknown subject (never enrolled or erased)")]
    UnknownSubject,
    /// The subject is already enrolled in the identity vault.
    #[error("subject already enrolled")]
    AlreadyEnrolled,
    /// A content name is empty, too long, or could escape a directory (`/`, `\`, NUL, `.`, `..`).
    #[error("invalid content name {0:?}")]
    BadName(String),
    /// Two contents have the same name.
    #[error("duplicate content name {0:?}")]
    DuplicateName(String),
    /// A manifest field is out of its documented range (e.g. an empty purpose, a consent
    /// decision that is not `allow`, `needs-consent` or `deny`).
    #[error("invalid manifest: {0}")]
    BadManifest(String),
    /// The consent event a manifest carries is not the one its `event_hash` names (a forged or
    /// altered event).
    #[error("the consent event carried does not hash to the manifest's consent event_hash")]
    ConsentEventMismatch,
    /// Sealing was asked for a manifest whose consent decision is not `allow`: a seal rests on a
    /// grant, so nothing is signed or encrypted.
    #[error("consent decision `{0}` is not a grant: only an `allow` decision is sealed")]
    ConsentNotGranted(veil_consent::Outcome),
    /// CBOR encoding failed (should not happen for well-formed values).
    #[error("encoding failed: {0}")]
    EncodeFailed(String),
    /// HPKE encapsulation or encryption failed.
    #[error("sealing failed: {0}")]
    SealFailed(String),
    /// The bytes are not a `VEIL-1` envelope: wrong CBOR shape, magic, field sizes or trailing bytes.
    #[error("not a VEIL-1 envelope: {0}")]
    BadEnvelope(String),
    /// The envelope names an HPKE suite other than `[16, 1, 2]`.
    #[error("unsupported HPKE suite [{kem}, {kdf}, {aead}]")]
    UnsupportedSuite {
        /// KEM identifier found.
        kem: u64,
        /// KDF identifier found.
        kdf: u64,
        /// AEAD identifier found.
        aead: u64,
    },
    /// The envelope's `kid` is not the key id of the key trying to open it.
    #[error("envelope is sealed to another recipient")]
    WrongRecipient,
    /// Decapsulation or AEAD decryption failed (tampered ciphertext, wrong `enc`, wrong key).
    #[error("decryption failed")]
    DecryptFailed,
    /// The decrypted bytes are not a well-formed signed artifact (COSE_Sign1 or manifest).
    #[error("malformed artifact: {0}")]
    BadArtifact(String),
    /// The COSE_Sign1 names an algorithm other than ES256 (-7).
    #[error("unsupported signature algorithm (only ES256 is accepted)")]
    BadAlgorithm,
    /// The client's ES256 signature does not verify.
    #[error("client signature does not verify")]
    BadSignature,
    /// The COSE_Sign1's protected header has no `kid`, or one that is not 32 bytes (a client key
    /// id), so the signer cannot be looked up ([`crate::signer_kid`]).
    #[error("no signer key id: {0}")]
    BadSignerKid(String),
    /// The artifact was signed by a client key other than the one the caller pinned.
    #[error("artifact signed by an unexpected client key")]
    ClientKeyMismatch,
    /// A content's SHA-256 or size differs from its manifest entry.
    #[error("content {0:?} does not match its manifest hash")]
    HashMismatch(String),
    /// The manifest lists a content that the artifact does not carry.
    #[error("content {0:?} listed in the manifest is missing")]
    MissingFile(String),
    /// The artifact carries a content that the manifest does not list.
    #[error("content {0:?} is not listed in the manifest")]
    UnlistedFile(String),
}

impl veil_core::Coded for SealError {
    /// The stable machine code of this error (used in CLI output, HTTP answers and the UI).
    fn code(&self) -> &'static str {
        match self {
            Self::BadKey(_) => "bad-key",
            Self::RngFailed(_) => "rng-failed",
            Self::BadPseudonymSecret(_) => "bad-pseudonym-secret",
            Self::UnknownSubject => "unknown-subject",
            Self::AlreadyEnrolled => "already-enrolled",
            Self::BadName(_) => "bad-name",
            Self::DuplicateName(_) => "duplicate-name",
            Self::BadManifest(_) => "bad-manifest",
            Self::ConsentNotGranted(_) => "consent-not-granted",
            Self::ConsentEventMismatch => "consent-event-mismatch",
            Self::EncodeFailed(_) => "encode-failed",
            Self::SealFailed(_) => "seal-failed",
            Self::BadEnvelope(_) => "bad-envelope",
            Self::UnsupportedSuite { .. } => "unsupported-suite",
            Self::WrongRecipient => "wrong-recipient",
            Self::DecryptFailed => "decrypt-failed",
            Self::BadArtifact(_) => "bad-artifact",
            Self::BadAlgorithm => "bad-algorithm",
            Self::BadSignature => "bad-signature",
            Self::BadSignerKid(_) => "bad-signer-kid",
            Self::ClientKeyMismatch => "client-key-mismatch",
            Self::HashMismatch(_) => "hash-mismatch",
            Self::MissingFile(_) => "missing-file",
            Self::UnlistedFile(_) => "unlisted-file",
        }
    }
}
