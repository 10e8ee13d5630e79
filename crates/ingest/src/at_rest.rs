//! Encryption at rest under per-artifact keys (crypto-shredding on the recipient side).
//!
//! The server must open each envelope to verify it, and whoever holds the recipient key could
//! open a stored envelope forever. So the stored object is not the envelope as uploaded: it is
//! the envelope encrypted with AES-256-GCM under a random key of its own (a data-encryption key,
//! DEK), generated for each upload attempt and kept only in the metadata database
//! (`artifact_keys`, committed in the same transaction as the artifact). Revoking consent for an
//! artifact or erasing its subject overwrites the DEK with NULL in the transaction that records
//! the request; from then on the stored bytes decrypt under no key anyone holds, the recipient
//! key included.
//!
//! Stored object: `VEIL-REST-1` (11 bytes) || 12-byte random nonce || ciphertext || 16-byte tag,
//! the additional data being the artifact id (hex), so an object moved under another id does not
//! decrypt. Keys are zeroized when dropped. Objects stored before encryption at rest (they start
//! with the envelope's own magic) are recognised by [`is_sealed_at_rest`].

use aes_gcm::aead::{Aead, KeyInit, Payload};
use aes_gcm::{Aes256Gcm, Nonce};
use zeroize::Zeroizing;

use crate::ApiError;

/// The prefix of an object encrypted at rest.
pub const AT_REST_MAGIC: &[u8] = b"VEIL-REST-1";
const NONCE_LEN: usize = 12;
const TAG_LEN: usize = 16;

/// A per-artifact data-encryption key (32 random bytes), zeroized on drop.
pub struct ArtifactKey(Zeroizing<[u8; 32]>);

impl std::fmt::Debug for ArtifactKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("ArtifactKey(redacted)")
    }
}

impl ArtifactKey {
    /// A fresh random key.
    pub fn generate() -> Result<Self, ApiError> {
        let mut key = Zeroizing::new([0u8; 32]);
        getrandom::getrandom(key.as_mut())
            .map_err(|e| ApiError::Internal(format!("random key: {e}")))?;
        Ok(ArtifactKey(key))
    }

    /// The key as stored in the metadata database (64 hex digits).
    pub fn to_hex(&self) -> Zeroizing<String> {
        Zeroizing::new(hex::encode(self.0.as_ref()))
    }

    /// A key read back from the metadata database.
    pub fn from_hex(text: &str) -> Result<Self, ApiError> {
        let mut key = Zeroizing::new([0u8; 32]);
        hex::decode_to_slice(text, key.as_mut()).map_err(|_| {
            ApiError::Internal("a stored artifact key is not 32 bytes of hex".into())
        })?;
        Ok(ArtifactKey(key))
    }

    fn cipher(&self) -> Result<Aes256Gcm, ApiError> {
        Aes256Gcm::new_from_slice(self.0.as_ref())
            .map_err(|_| ApiError::Internal("AES-256-GCM key length".into()))
    }

    /// Encrypt the envelope of artifact `id` (hex) for storage.
    pub fn seal(&self, id: &str, envelope: &[u8]) -> Result<Vec<u8>, ApiError> {
        let mut nonce = [0u8; NONCE_LEN];
        getrandom::getrandom(&mut nonce)
            .map_err(|e| ApiError::Internal(format!("random nonce: {e}")))?;
        let sealed = self
            .cipher()?
            .encrypt(
                Nonce::from_slice(&nonce),
                Payload {
                    msg: envelope,
                    aad: id.as_bytes(),
                },
            )
            .map_err(|_| ApiError::Internal("AES-256-GCM encryption failed".into()))?;
        let mut out = Vec::with_capacity(AT_REST_MAGIC.len() + NONCE_LEN + sealed.len());
        out.extend_from_slice(AT_REST_MAGIC);
        out.extend_from_slice(&nonce);
        out.extend_from_slice(&sealed);
        Ok(out)
    }

    /// Decrypt a stored object of artifact `id`; `None` when it is not an object of this key and
    /// id (another attempt's key, another artifact, damaged bytes).
    pub fn open(&self, id: &str, stored: &[u8]) -> Result<Option<Zeroizing<Vec<u8>>>, ApiError> {
        let Some(rest) = stored.strip_prefix(AT_REST_MAGIC) else {
            return Ok(None);
        };
        if rest.len() < NONCE_LEN + TAG_LEN {
            return Ok(None);
        }
        let (nonce, sealed) = rest.split_at(NONCE_LEN);
        Ok(self
            .cipher()?
            .decrypt(
                Nonce::from_slice(nonce),
                Payload {
                    msg: sealed,
                    aad: id.as_bytes(),
                },
            )
            .ok()
            .map(Zeroizing::new))
    }
}

/// Whether a stored object is encrypted at rest (else it predates encryption at rest and is the
/// envelope as uploaded).
pub fn is_sealed_at_rest(stored: &[u8]) -> bool {
    stored.starts_with(AT_REST_MAGIC)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip_bound_to_key_and_id() {
        let key = ArtifactKey::generate().unwrap();
        let id = "ab".repeat(32);
        let sealed = key.seal(&id, b"VEIL-1 envelope").unwrap();
        assert!(is_sealed_at_rest(&sealed));
        assert!(!sealed.windows(6).any(|w| w == b"VEIL-1"));
        assert_eq!(
            key.open(&id, &sealed).unwrap().unwrap().as_slice(),
            b"VEIL-1 envelope"
        );
        // Another key, another id, damaged bytes or a short object: not this artifact's.
        let other = ArtifactKey::generate().unwrap();
        assert!(other.open(&id, &sealed).unwrap().is_none());
        assert!(key.open(&"cd".repeat(32), &sealed).unwrap().is_none());
        let mut damaged = sealed.clone();
        let last = damaged.len() - 1;
        damaged[last] ^= 1;
        assert!(key.open(&id, &damaged).unwrap().is_none());
        assert!(key.open(&id, AT_REST_MAGIC).unwrap().is_none());
        // Stored and read back as hex.
        let again = ArtifactKey::from_hex(&key.to_hex()).unwrap();
        assert!(again.open(&id, &sealed).unwrap().is_some());
        assert!(ArtifactKey::from_hex("zz").is_err());
    }
}
