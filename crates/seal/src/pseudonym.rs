//! The identity layer: per-subject secrets, pseudonyms derived from them, and erasure.
//!
//! A pseudonym is `base32(HMAC-SHA256(secret, lp("veil-pseudonym-v1") || lp(recipient) || lp(purpose)))`
//! where `lp(x)` is the 4-byte big-endian length of `x` followed by the UTF-8 bytes of `x`
//! (length prefixes make the split unambiguous: `("ab", "c")` and `("a", "bc")` differ), and
//! base32 is RFC 4648 §6 in lowercase without padding (52 characters). It is stable for one
//! (recipient, purpose) and unlinkable across recipients without the secret (HMAC is a PRF).
//!
//! Erasure (GDPR Art. 17) destroys the secret (crypto-shredding): the clinical record that
//! retention law requires (e.g. HIPAA 45 CFR 164.530(j), state medical-record laws) stays under its
//! pseudonym, but nothing can recompute that pseudonym or link it back to the subject.

use std::collections::BTreeMap;

use core::fmt;

use hmac::digest::KeyInit;
use hmac::{Hmac, Mac};
use serde::{Deserialize, Serialize};
use sha2::Sha256;
use zeroize::{Zeroize, Zeroizing};

use crate::{SealError, rng};

/// The domain-separation label of pseudonyms (version 1).
pub const PSEUDONYM_LABEL: &str = "veil-pseudonym-v1";

/// A per-subject 32-byte secret. Heap-allocated so that moving it never leaves copies behind;
/// zeroized on drop.
#[derive(Clone)]
pub struct PseudonymSecret(Box<Zeroizing<[u8; 32]>>);

impl fmt::Debug for PseudonymSecret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("PseudonymSecret(redacted)")
    }
}

impl PseudonymSecret {
    /// A fresh random secret.
    pub fn generate() -> Result<Self, SealError> {
        let bytes = rng::random32()?;
        Ok(Self(Box::new(bytes)))
    }

    /// From exactly 32 bytes.
    pub fn from_bytes(bytes: &[u8]) -> Result<Self, SealError> {
        let arr: [u8; 32] = bytes.try_into().map_err(|_| {
            SealError::BadPseudonymSecret(format!("{} bytes, expected 32", bytes.len()))
        })?;
        let mut boxed = Box::new(Zeroizing::new([0u8; 32]));
        boxed.copy_from_slice(&arr);
        let mut arr = arr;
        arr.zeroize();
        Ok(Self(boxed))
    }

    /// From a file's contents: exactly 32 raw bytes, or 64 hex digits (surrounding whitespace allowed).
    pub fn parse(contents: &[u8]) -> Result<Self, SealError> {
        if contents.len() == 32 {
            return Self::from_bytes(contents);
        }
        let text = core::str::from_utf8(contents)
            .map_err(|_| {
                SealError::BadPseudonymSecret("neither 32 raw bytes nor 64 hex digits".into())
            })?
            .trim();
        if text.len() != 64 {
            return Err(SealError::BadPseudonymSecret(
                "neither 32 raw bytes nor 64 hex digits".into(),
            ));
        }
        let mut bytes = Zeroizing::new([0u8; 32]);
        hex::decode_to_slice(text, bytes.as_mut())
            .map_err(|_| SealError::BadPseudonymSecret("not hex".into()))?;
        Self::from_bytes(bytes.as_ref())
    }

    /// The raw secret (for storing it in the identity layer only).
    pub fn expose_bytes(&self) -> &[u8; 32] {
        &self.0
    }

    /// Lowercase hex of the secret (zeroized on drop), the format `veil seal --pseudonym-secret` reads.
    pub fn to_hex(&self) -> Zeroizing<String> {
        Zeroizing::new(hex::encode(self.expose_bytes()))
    }

    /// The pseudonym of this subject for a recipient and purpose.
    pub fn pseudonym(&self, recipient_id: &str, purpose: &str) -> Pseudonym {
        // RFC 2104 §2: a key shorter than the block size (64 bytes for SHA-256) is padded with
        // zeros, so keying with the zero-padded block is HMAC with the 32-byte secret, and cannot fail.
        let mut block = Zeroizing::new([0u8; 64]);
        block[..32].copy_from_slice(self.expose_bytes());
        let mut mac = <Hmac<Sha256> as KeyInit>::new(
            hmac::digest::generic_array::GenericArray::from_slice(block.as_ref()),
        );
        mac.update(&pseudonym_input(recipient_id, purpose));
        let tag = mac.finalize().into_bytes();
        Pseudonym(
            data_encoding::BASE32_NOPAD
                .encode(&tag)
                .to_ascii_lowercase(),
        )
    }
}

/// The HMAC message of a pseudonym: `lp(label) || lp(recipient_id) || lp(purpose)`, `lp(x)` =
/// `u32` big-endian byte length of `x`, then `x` as UTF-8.
pub fn pseudonym_input(recipient_id: &str, purpose: &str) -> Vec<u8> {
    let mut msg =
        Vec::with_capacity(12 + PSEUDONYM_LABEL.len() + recipient_id.len() + purpose.len());
    for part in [PSEUDONYM_LABEL, recipient_id, purpose] {
        let len = u32::try_from(part.len()).unwrap_or(u32::MAX);
        msg.extend_from_slice(&len.to_be_bytes());
        msg.extend_from_slice(part.as_bytes());
    }
    msg
}

/// A pseudonym: 52 lowercase RFC 4648 base32 characters (256 bits), no padding.
#[derive(Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Debug, Serialize, Deserialize)]
#[serde(transparent)]
pub struct Pseudonym(String);

impl Pseudonym {
    /// The pseudonym text.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// Accept a pseudonym received from elsewhere, checking its form (52 chars of `a-z2-7`).
    pub fn parse(text: &str) -> Result<Self, SealError> {
        let ok = text.len() == 52
            && text
                .bytes()
                .all(|b| b.is_ascii_lowercase() || (b'2'..=b'7').contains(&b));
        if ok {
            Ok(Self(text.to_owned()))
        } else {
            Err(SealError::BadManifest(format!("not a pseudonym: {text:?}")))
        }
    }
}

impl fmt::Display for Pseudonym {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// The identity vault: subject handle -> secret. It lives only in the identity layer (the
/// browser's IndexedDB, never uploaded). The handle is whatever the app uses locally to name a
/// subject; it never leaves the vault.
#[derive(Debug, Default, Clone)]
pub struct IdentityVault {
    subjects: BTreeMap<String, PseudonymSecret>,
}

/// A (recipient, purpose) whose pseudonym an erasure record announces.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ErasedPseudonym {
    /// The recipient id the pseudonym was derived for.
    pub recipient: String,
    /// The purpose the pseudonym was derived for.
    pub purpose: String,
    /// The pseudonym, computed just before the secret was destroyed.
    pub pseudonym: Pseudonym,
}

/// The record of an erasure: when, and which pseudonyms' subject is now unlinkable. It names no
/// subject handle and holds no secret; it is what `POST /v1/erasures` carries to recipients.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ErasureRecord {
    /// Format marker, always `"veil-erasure-v1"`.
    pub format: String,
    /// When the secret was destroyed, milliseconds since the Unix epoch (UTC).
    pub erased_at_ms: u64,
    /// Pseudonyms for the (recipient, purpose) pairs the caller asked to notify.
    pub pseudonyms: Vec<ErasedPseudonym>,
}

impl IdentityVault {
    /// An empty vault.
    pub fn new() -> Self {
        Self::default()
    }

    /// Enroll a subject with a fresh random secret.
    pub fn enroll(&mut self, subject: &str) -> Result<(), SealError> {
        let secret = PseudonymSecret::generate()?;
        self.insert(subject, secret)
    }

    /// Enroll a subject with a known secret (restoring the vault from storage).
    pub fn insert(&mut self, subject: &str, secret: PseudonymSecret) -> Result<(), SealError> {
        if self.subjects.contains_key(subject) {
            return Err(SealError::AlreadyEnrolled);
        }
        self.subjects.insert(subject.to_owned(), secret);
        Ok(())
    }

    /// The secret of a subject, for persisting the vault.
    pub fn secret(&self, subject: &str) -> Option<&PseudonymSecret> {
        self.subjects.get(subject)
    }

    /// The enrolled subject handles.
    pub fn subjects(&self) -> impl Iterator<Item = &str> {
        self.subjects.keys().map(String::as_str)
    }

    /// The pseudonym of `subject` for `recipient_id` and `purpose`.
    pub fn pseudonym(
        &self,
        subject: &str,
        recipient_id: &str,
        purpose: &str,
    ) -> Result<Pseudonym, SealError> {
        self.subjects
            .get(subject)
            .map(|s| s.pseudonym(recipient_id, purpose))
            .ok_or(SealError::UnknownSubject)
    }

    /// Erase a subject: compute the pseudonyms to announce for `notify` (recipient, purpose)
    /// pairs, then destroy the secret (zeroized as it drops). Afterwards the vault holds nothing
    /// for the subject and [`Self::pseudonym`] answers `unknown-subject`.
    pub fn erase(
        &mut self,
        subject: &str,
        erased_at_ms: u64,
        notify: &[(&str, &str)],
    ) -> Result<ErasureRecord, SealError> {
        let secret = self
            .subjects
            .remove(subject)
            .ok_or(SealError::UnknownSubject)?;
        let pseudonyms = notify
            .iter()
            .map(|(recipient, purpose)| ErasedPseudonym {
                recipient: (*recipient).to_owned(),
                purpose: (*purpose).to_owned(),
                pseudonym: secret.pseudonym(recipient, purpose),
            })
            .collect();
        drop(secret);
        Ok(ErasureRecord {
            format: "veil-erasure-v1".into(),
            erased_at_ms,
            pseudonyms,
        })
    }
}
