//! The challenge an app writes to a device, bound to the client that will upload the reading.
//!
//! A reading signs the challenge it answers (`nonce`, `docs/device-profile.md`). If the challenge
//! were only random, a reading captured on its way (or lifted from someone's artifact) could be
//! wrapped in anyone's upload, and once the server had accepted it the patient's own upload was
//! refused as a replay (issue #14, finding 5). So the challenge commits to the uploader's key:
//!
//! ```text
//! nonce = SHA-256(client_key (65 bytes, uncompressed SEC1: 04 || X || Y) || challenge_salt (32 bytes))
//! ```
//!
//! The salt is drawn at random per reading ([`crate::new_challenge`] draws 32 bytes) and travels
//! in the artifact's manifest beside the reading (`DeviceEvidence.challenge_salt`); the recipient
//! recomputes the nonce from the key that signed the artifact and the salt, and compares it with
//! the reading's before it looks at counters. A reading answered for one client key verifies for
//! no other. This function is the one implementation: the app, the npm package, the `veil` CLI's
//! device simulator and the ingest server all call it.

use sha2::{Digest, Sha256};

/// Length of a challenge salt, in bytes.
pub const CHALLENGE_SALT_LEN: usize = 32;

/// The challenge that binds a device reading to the client key `client_key_sec1` (uncompressed
/// SEC1, `04 || X || Y`): `SHA-256(client_key_sec1 || salt)` (module docs).
///
/// ```
/// // The P-256 base point as the client key, the bytes 0..=31 as the salt.
/// let g = hex::decode("046b17d1f2e12c4247f8bce6e563a440f277037d812deb33a0f4a13945d898c2964fe342e2fe1a7f9b8ee7eb4a7c0f9e162bce33576b315ececbb6406837bf51f5")?;
/// let key: [u8; 65] = g.try_into().map_err(|_| "65 bytes")?;
/// let salt: [u8; 32] = core::array::from_fn(|i| i as u8);
/// assert_eq!(
///     hex::encode(veil_trust::bound_challenge(&key, &salt)),
///     "65f951cd6986a89f9b5e083379b8ea967435545f4f7fd396178f8ccdc0da00d9"
/// );
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub fn bound_challenge(client_key_sec1: &[u8; 65], salt: &[u8; CHALLENGE_SALT_LEN]) -> [u8; 32] {
    let mut h = Sha256::new();
    h.update(client_key_sec1);
    h.update(salt);
    h.finalize().into()
}

#[cfg(test)]
mod tests {
    use super::*;
    use p256::elliptic_curve::sec1::ToEncodedPoint;

    #[test]
    fn the_vector_of_the_docs_computed_from_a_real_key() {
        // Secret scalar 1: its public key is the base point G (the vector's key). The expected
        // value was computed with Python's hashlib over the same 97 bytes.
        let key = p256::SecretKey::from_slice(&{
            let mut one = [0u8; 32];
            one[31] = 1;
            one
        })
        .map(|k| k.public_key().to_encoded_point(false))
        .unwrap_or_else(|_| unreachable!());
        let key: [u8; 65] = key.as_bytes().try_into().unwrap_or([0; 65]);
        let salt: [u8; 32] = core::array::from_fn(|i| i as u8);
        assert_eq!(
            hex::encode(bound_challenge(&key, &salt)),
            "65f951cd6986a89f9b5e083379b8ea967435545f4f7fd396178f8ccdc0da00d9"
        );
    }

    #[test]
    fn another_key_or_salt_is_another_challenge() {
        let salt = [7u8; 32];
        let a = bound_challenge(&[4; 65], &salt);
        let mut other = [4u8; 65];
        other[64] = 5;
        assert_ne!(a, bound_challenge(&other, &salt));
        assert_ne!(a, bound_challenge(&[4; 65], &[8; 32]));
        assert_eq!(a, bound_challenge(&[4; 65], &salt));
    }
}
