//! The sealed envelope `VEIL-1`: the signed artifact encrypted to one recipient with HPKE
//! (RFC 9180) base mode, suite DHKEM(P-256, HKDF-SHA256) / HKDF-SHA256 / AES-256-GCM.
//!
//! ```text
//! envelope = [ "VEIL-1", [16, 1, 2], enc: bstr .size 65, kid: bstr .size 32, ciphertext: bstr ]
//! (enc, ciphertext) = SealBase(pkR, info = "veil artifact v1", aad = kid, pt = COSE_Sign1 bytes)
//! kid = SHA-256(SerializePublicKey(pkR))        ; the 65-byte uncompressed SEC1 point
//! artifact id = lowercase hex SHA-256(envelope bytes)
//! ```
//!
//! The envelope must be in CBOR preferred serialization (RFC 8949 §4.2.1); readers reject any
//! other encoding, so the artifact id is a function of (enc, kid, ciphertext) alone and serves
//! as the upload's idempotency key.

use core::fmt;

use hpke::aead::AeadTag;
use hpke::{Deserializable, OpModeR, OpModeS, Serializable};
use p256::ecdsa::VerifyingKey;
use subtle::ConstantTimeEq;
use zeroize::Zeroizing;

use crate::artifact::{SignedArtifact, VerifiedArtifact, verify_signed_artifact};
use crate::keys::{RecipientKey, RecipientPublicKey, VeilAead, VeilKdf, VeilKem};
pub use crate::wire::{
    ArtifactId, ENC_LEN, ENVELOPE_MAGIC, EnvelopeParts, HPKE_INFO, SUITE, TAG_LEN, parse_envelope,
};
use crate::wire::{envelope_prefix, envelope_prefix_len};
use crate::{SealError, rng};

/// A sealed envelope and its id.
#[derive(Clone, PartialEq, Eq)]
pub struct SealedEnvelope {
    bytes: Vec<u8>,
    id: ArtifactId,
}

impl fmt::Debug for SealedEnvelope {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "SealedEnvelope({} bytes, id {})",
            self.bytes.len(),
            self.id
        )
    }
}

impl SealedEnvelope {
    pub(crate) fn from_parts(bytes: Vec<u8>, id: ArtifactId) -> Self {
        Self { bytes, id }
    }

    /// The envelope bytes (what is uploaded).
    pub fn as_bytes(&self) -> &[u8] {
        &self.bytes
    }

    /// Take the envelope bytes.
    pub fn into_bytes(self) -> Vec<u8> {
        self.bytes
    }

    /// The artifact id (idempotency key).
    pub fn id(&self) -> ArtifactId {
        self.id
    }
}

/// RFC 9180 §6.1 `SealBase` for the Veil suite with the ephemeral key derived from `ikm_e`
/// (`DeriveKeyPair(ikmE)`), returning `(enc, ciphertext || tag)`. Consumes `plaintext` to encrypt
/// in place. Production code passes fresh random `ikm_e`; the RFC 9180 vectors pass theirs.
pub fn hpke_seal_base(
    recipient: &RecipientPublicKey,
    info: &[u8],
    aad: &[u8],
    mut plaintext: Vec<u8>,
    ikm_e: &[u8],
) -> Result<(Vec<u8>, Vec<u8>), SealError> {
    let mut rng = rng::IkmRng::new(ikm_e);
    let result = hpke::single_shot_seal_in_place_detached::<VeilAead, VeilKdf, VeilKem, _>(
        &OpModeS::Base,
        &recipient.hpke,
        info,
        &mut plaintext,
        aad,
        &mut rng,
    );
    if rng.overdrawn() {
        return Err(SealError::SealFailed(
            "HPKE asked for more randomness than supplied".into(),
        ));
    }
    let (enc, tag) = result.map_err(|e| SealError::SealFailed(e.to_string()))?;
    plaintext.extend_from_slice(&tag.to_bytes());
    Ok((enc.to_bytes().to_vec(), plaintext))
}

/// RFC 9180 §6.1 `OpenBase` for the Veil suite: `ciphertext` is `ct || tag`. Every failure is
/// the single [`SealError::DecryptFailed`]; the tag check is constant time inside `aes-gcm`.
pub fn hpke_open_base(
    key: &RecipientKey,
    enc: &[u8],
    info: &[u8],
    aad: &[u8],
    ciphertext: &[u8],
) -> Result<Vec<u8>, SealError> {
    let split = ciphertext
        .len()
        .checked_sub(TAG_LEN)
        .ok_or(SealError::DecryptFailed)?;
    let (ct, tag) = ciphertext.split_at(split);
    let enc = <VeilKem as hpke::Kem>::EncappedKey::from_bytes(enc)
        .map_err(|_| SealError::DecryptFailed)?;
    let tag = AeadTag::<VeilAead>::from_bytes(tag).map_err(|_| SealError::DecryptFailed)?;
    let mut buf = ct.to_vec();
    match hpke::single_shot_open_in_place_detached::<VeilAead, VeilKdf, VeilKem>(
        &OpModeR::Base,
        &key.hpke,
        &enc,
        info,
        &mut buf,
        aad,
        &tag,
    ) {
        Ok(()) => Ok(buf),
        Err(_) => {
            // Whatever was decrypted in place is unauthenticated: wipe it.
            zeroize::Zeroize::zeroize(&mut buf);
            Err(SealError::DecryptFailed)
        }
    }
}

/// Seal signed-artifact bytes (a COSE_Sign1) to a recipient, one-shot.
pub fn seal(
    signed_artifact: Vec<u8>,
    recipient: &RecipientPublicKey,
) -> Result<SealedEnvelope, SealError> {
    let ikm: Zeroizing<[u8; 32]> = rng::random32()?;
    seal_with_ephemeral_ikm(signed_artifact, recipient, ikm.as_ref())
}

/// [`seal`] with a caller-chosen ephemeral IKM. Deterministic: for test vectors only; a reused
/// IKM reuses the AES-GCM key and nonce and destroys confidentiality.
pub fn seal_with_ephemeral_ikm(
    signed_artifact: Vec<u8>,
    recipient: &RecipientPublicKey,
    ikm_e: &[u8],
) -> Result<SealedEnvelope, SealError> {
    let kid = recipient.kid();
    let (enc, ciphertext) = hpke_seal_base(recipient, HPKE_INFO, &kid.0, signed_artifact, ikm_e)?;
    let mut bytes = envelope_prefix(&enc, &kid, ciphertext.len())?;
    bytes.extend_from_slice(&ciphertext);
    let id = ArtifactId::of_envelope(&bytes);
    Ok(SealedEnvelope { bytes, id })
}

/// Seal a [`SignedArtifact`] in place: the artifact was laid out with room for the envelope
/// header, so the (possibly 50 MB) plaintext is encrypted where it is and never copied.
/// The result is the same as [`seal`] of [`SignedArtifact::into_bytes`].
pub fn seal_artifact(
    signed: SignedArtifact,
    recipient: &RecipientPublicKey,
) -> Result<SealedEnvelope, SealError> {
    let ikm: Zeroizing<[u8; 32]> = rng::random32()?;
    seal_artifact_with_ephemeral_ikm(signed, recipient, ikm.as_ref())
}

/// [`seal_artifact`] with a caller-chosen ephemeral IKM (test vectors only; see
/// [`seal_with_ephemeral_ikm`]).
pub fn seal_artifact_with_ephemeral_ikm(
    signed: SignedArtifact,
    recipient: &RecipientPublicKey,
    ikm_e: &[u8],
) -> Result<SealedEnvelope, SealError> {
    let (mut buf, start, _manifest) = signed.into_parts();
    let ct_len = buf.len().saturating_sub(start) + TAG_LEN;
    if start > buf.len() || envelope_prefix_len(ct_len) != start {
        let plaintext = buf.get(start..).unwrap_or_default().to_vec();
        return seal_with_ephemeral_ikm(plaintext, recipient, ikm_e);
    }
    let kid = recipient.kid();
    let mut rng = rng::IkmRng::new(ikm_e);
    let result = hpke::single_shot_seal_in_place_detached::<VeilAead, VeilKdf, VeilKem, _>(
        &OpModeS::Base,
        &recipient.hpke,
        HPKE_INFO,
        &mut buf[start..],
        &kid.0,
        &mut rng,
    );
    if rng.overdrawn() {
        return Err(SealError::SealFailed(
            "HPKE asked for more randomness than supplied".into(),
        ));
    }
    let (enc, tag) = result.map_err(|e| SealError::SealFailed(e.to_string()))?;
    buf.extend_from_slice(&tag.to_bytes());
    let prefix = envelope_prefix(&enc.to_bytes(), &kid, ct_len)?;
    match buf.get_mut(..start) {
        Some(head) if head.len() == prefix.len() => head.copy_from_slice(&prefix),
        _ => return Err(SealError::SealFailed("envelope header size".into())),
    }
    let id = ArtifactId::of_envelope(&buf);
    Ok(SealedEnvelope { bytes: buf, id })
}

/// Parse the envelope, check the suite and that it is addressed to `key`, and decrypt it,
/// returning the signed-artifact bytes (not yet verified).
pub fn decrypt_envelope(envelope: &[u8], key: &RecipientKey) -> Result<Vec<u8>, SealError> {
    let parts = parse_envelope(envelope)?;
    if parts.suite != SUITE.map(u64::from) {
        let [kem, kdf, aead] = parts.suite;
        return Err(SealError::UnsupportedSuite { kem, kdf, aead });
    }
    if !bool::from(parts.kid.0.ct_eq(&key.kid().0)) {
        return Err(SealError::WrongRecipient);
    }
    hpke_open_base(key, parts.enc, HPKE_INFO, &parts.kid.0, parts.ciphertext)
}

/// An opened envelope: its id and the verified artifact inside.
#[derive(Debug, Clone)]
pub struct OpenedArtifact {
    /// SHA-256 of the envelope bytes.
    pub id: ArtifactId,
    /// The verified manifest, contents and client key.
    pub artifact: VerifiedArtifact,
    /// The signed artifact (COSE_Sign1) bytes, for re-verification or archiving.
    pub signed_bytes: Vec<u8>,
}

/// Open an envelope: decrypt ([`decrypt_envelope`]), verify the client signature and every content
/// hash ([`verify_signed_artifact`]). `pinned_client`, if given, must be the signing key.
pub fn open(
    envelope: &[u8],
    key: &RecipientKey,
    pinned_client: Option<&VerifyingKey>,
) -> Result<OpenedArtifact, SealError> {
    let signed_bytes = decrypt_envelope(envelope, key)?;
    let artifact = verify_signed_artifact(&signed_bytes, pinned_client)?;
    Ok(OpenedArtifact {
        id: ArtifactId::of_envelope(envelope),
        artifact,
        signed_bytes,
    })
}

#[cfg(test)]
mod rfc9180 {
    //! RFC 9180 test vectors for exactly this suite (mode_base, KEM 0x0010, KDF 0x0001,
    //! AEAD 0x0002), taken from the CFRG `test-vectors.json` (see `tests/vectors/README.md`),
    //! run through the production sealing path ([`hpke_seal_base`] with the vector's `ikmE`).
    use super::*;

    const VECTORS: &str = include_str!("../tests/vectors/rfc9180-base-p256-sha256-aes256gcm.json");

    fn h(v: &serde_json::Value, k: &str) -> Vec<u8> {
        hex::decode(v[k].as_str().unwrap()).unwrap()
    }

    #[test]
    fn rfc9180_base_p256_sha256_aes256gcm() {
        let all: Vec<serde_json::Value> = serde_json::from_str(VECTORS).unwrap();
        assert_eq!(all.len(), 1);
        let v = &all[0];
        assert_eq!(
            (
                v["mode"].as_u64(),
                v["kem_id"].as_u64(),
                v["kdf_id"].as_u64(),
                v["aead_id"].as_u64()
            ),
            (
                Some(0),
                Some(u64::from(SUITE[0])),
                Some(u64::from(SUITE[1])),
                Some(u64::from(SUITE[2]))
            )
        );

        // DeriveKeyPair(ikmR) gives skRm / pkRm.
        let key = RecipientKey::derive(&h(v, "ikmR")).unwrap();
        assert_eq!(key.public_key().sec1_uncompressed().to_vec(), h(v, "pkRm"));
        assert_eq!(
            hpke::Serializable::to_bytes(&key.hpke).to_vec(),
            h(v, "skRm")
        );
        let pk = RecipientPublicKey::from_sec1_bytes(&h(v, "pkRm")).unwrap();
        let info = h(v, "info");
        let ikm_e = h(v, "ikmE");
        let encs = v["encryptions"].as_array().unwrap();
        assert!(encs.len() >= 257);

        // One-shot seal (sequence 0) through the production function.
        let e0 = &encs[0];
        let (enc, ct) = hpke_seal_base(&pk, &info, &h(e0, "aad"), h(e0, "pt"), &ikm_e).unwrap();
        assert_eq!(enc, h(v, "enc"));
        assert_eq!(ct, h(e0, "ct"));
        assert_eq!(
            hpke_open_base(&key, &enc, &info, &h(e0, "aad"), &ct).unwrap(),
            h(e0, "pt")
        );

        // The whole sequence and the exporter, through the same keys and RNG adapter.
        let mut rng = rng::IkmRng::new(&ikm_e);
        let (enc2, mut sender) = hpke::setup_sender::<VeilAead, VeilKdf, VeilKem, _>(
            &OpModeS::Base,
            &pk.hpke,
            &info,
            &mut rng,
        )
        .unwrap();
        assert!(!rng.overdrawn());
        assert_eq!(enc2.to_bytes().to_vec(), h(v, "enc"));
        let mut receiver = hpke::setup_receiver::<VeilAead, VeilKdf, VeilKem>(
            &OpModeR::Base,
            &key.hpke,
            &enc2,
            &info,
        )
        .unwrap();
        for (i, e) in encs.iter().enumerate() {
            let ct = sender.seal(&h(e, "pt"), &h(e, "aad")).unwrap();
            assert_eq!(ct, h(e, "ct"), "encryption {i}");
            assert_eq!(
                receiver.open(&ct, &h(e, "aad")).unwrap(),
                h(e, "pt"),
                "decryption {i}"
            );
        }
        for x in v["exports"].as_array().unwrap() {
            let mut out = vec![0u8; x["L"].as_u64().unwrap() as usize];
            sender.export(&h(x, "exporter_context"), &mut out).unwrap();
            assert_eq!(out, h(x, "exported_value"));
        }
    }

    #[test]
    fn a_flipped_ciphertext_bit_is_decrypt_failed() {
        let all: Vec<serde_json::Value> = serde_json::from_str(VECTORS).unwrap();
        let v = &all[0];
        let key = RecipientKey::derive(&h(v, "ikmR")).unwrap();
        let e0 = &v["encryptions"][0];
        for i in [0usize, 5, h(e0, "ct").len() - 1] {
            let mut ct = h(e0, "ct");
            ct[i] ^= 1;
            assert_eq!(
                hpke_open_base(&key, &h(v, "enc"), &h(v, "info"), &h(e0, "aad"), &ct),
                Err(SealError::DecryptFailed)
            );
        }
    }
}
