//! Pseudonyms, signed artifacts and HPKE-sealed envelopes for uploads.
//!
//! Nothing leaves the browser unless it is pseudonymised, covered by a consent decision, signed
//! and encrypted to its recipient. This crate is that last step, in pure Rust (it builds for
//! `wasm32-unknown-unknown`):
//!
//! - [`pseudonym`]: the identity vault; per-subject secrets, `HMAC-SHA256` pseudonyms per
//!   (recipient, purpose), and erasure by destroying the secret (crypto-shredding).
//! - [`artifact`]: the manifest and contents as CBOR, signed by the client as a COSE_Sign1 (ES256).
//!   The manifest's consent decision is typed, [`ConsentDecision`] (`veil-consent`'s outcome), and
//!   only an `allow` is sealed.
//! - [`envelope`]: `VEIL-1`, the artifact sealed with HPKE (RFC 9180) to the recipient's P-256 key.
//! - [`external`]: the same envelope with the bulk AES-256-GCM done by WebCrypto (fast in browsers).
//! - [`names`]: contents are named by role (`model-1.stl`, `reading-1.cose`), never by the
//!   person's file names.
//!
//! The byte formats are specified in `docs/artifact-format.md`.
//!
//! ```
//! use veil_seal::{ArtifactBuilder, ConsentDecision, ConsentRef, PseudonymSecret, RecipientKey, generate_signing_key, open, seal_artifact};
//!
//! let recipient = RecipientKey::generate()?;              // the ingest server's key
//! let client = generate_signing_key()?;                   // the browser's key
//! let secret = PseudonymSecret::generate()?;              // the subject's identity-layer secret
//! let pseudonym = secret.pseudonym("clinic-a", "treatment");
//!
//! // A seal rests on a grant: only `allow` (veil-consent's outcome) is sealed.
//! let consent = ConsentRef { decision: ConsentDecision::Allow, event_hash: Some([0u8; 32]), context: None };
//! let mut builder = ArtifactBuilder::new(pseudonym, "treatment", "clinic-a", consent, 1_700_000_000_000);
//! let name = builder.add_content("Jane Roe skull.stl", b"solid veil\nendsolid veil\n".to_vec())?;
//! assert_eq!(name, "model-1.stl");
//! let signed = builder.sign(&client)?;
//! let envelope = seal_artifact(signed, recipient.public_key())?;   // in place, no copy
//!
//! let opened = open(envelope.as_bytes(), &recipient, None)?;
//! assert_eq!(opened.id, envelope.id());
//! assert_eq!(opened.artifact.files["model-1.stl"], b"solid veil\nendsolid veil\n");
//! # Ok::<(), veil_seal::SealError>(())
//! ```

pub mod artifact;
mod cose;
pub mod envelope;
mod error;
pub mod external;
#[cfg(feature = "fixtures")]
pub mod fixtures;
pub mod keys;
pub mod manifest;
pub mod names;
pub mod pseudonym;
mod rng;
pub mod wire;

pub use artifact::{
    ArtifactBuilder, SignedArtifact, UnsignedArtifact, VerifiedArtifact, verify_signed_artifact,
};
pub use cose::{MAX_PROTECTED_LEN, signed_content_sha256, signer_kid};
pub use envelope::{OpenedArtifact, SealedEnvelope, decrypt_envelope, open, seal, seal_artifact};
pub use error::SealError;
pub use external::{ExternalSealKeys, assemble_envelope, begin_external_seal};
pub use keys::{
    KeyId, RecipientKey, RecipientPublicKey, generate_signing_key, signing_key_from_pem,
    signing_key_to_pem, verifying_key_from_pem, verifying_key_from_sec1, verifying_key_to_pem,
};
pub use manifest::{
    ConsentContext, ConsentDecision, ConsentRef, ContentEntry, DeviceClaims, DeviceEvidence,
    LEGACY_ALLOW, MAX_CERT_BYTES, MAX_CHAIN_LEN, MAX_CLAIM_LEN, MAX_CONTENTS, MAX_EVIDENCE,
    MAX_NAME_LEN, MAX_READING_BYTES, MAX_TEXT_LEN, MAX_UNVERIFIED, MAX_UNVERIFIED_TOKEN,
    MAX_UNVERIFIED_VALUES, Manifest, UnverifiedReading, UnverifiedSource, UnverifiedValue,
    parse_consent_decision,
};
pub use p256::ecdsa::{SigningKey, VerifyingKey};
pub use pseudonym::{ErasureRecord, IdentityVault, Pseudonym, PseudonymSecret};
pub use veil_core::Coded;
pub use wire::{ArtifactId, EnvelopeParts, envelope_prefix, parse_envelope};
