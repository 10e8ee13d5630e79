//! Sealing with an external AEAD: the HPKE key schedule runs here, the bulk AES-256-GCM runs in
//! WebCrypto.
//!
//! In the browser, AES-GCM in wasm is software-only, while WebCrypto's uses the CPU's AES
//! instructions; for a 50 MB artifact that is the difference between seconds and tens of
//! milliseconds. HPKE's one-shot `SealBase` is exactly (RFC 9180 §5.1, §5.2):
//!
//! ```text
//! shared_secret, enc = Encap(pkR)
//! key, base_nonce    = KeySchedule(mode_base, shared_secret, info)
//! ciphertext         = AES-256-GCM.Seal(key, nonce = base_nonce XOR seq 0 = base_nonce, aad, pt)
//! ```
//!
//! so [`begin_external_seal`] returns `enc`, `key` and `base_nonce`, the page calls
//! `crypto.subtle.importKey("raw", key, "AES-GCM", false, ["encrypt"])` and
//! `crypto.subtle.encrypt({name: "AES-GCM", iv: nonce, additionalData: kid}, k, signedArtifact)`,
//! and the envelope is `envelope_prefix(enc, kid, ciphertext.length) || ciphertext`. The result is
//! byte-for-byte what [`crate::seal`] makes from the same ephemeral key (tested against the RFC 9180
//! vector, which lists `shared_secret`, `key` and `base_nonce`). The key is for one message only:
//! use it once, then drop it (it is zeroized) and let the `CryptoKey` go.

use hkdf::Hkdf;
use hpke::{Kem as _, Serializable};
use sha2::Sha256;
use zeroize::Zeroizing;

use crate::envelope::SealedEnvelope;
use crate::keys::{KeyId, RecipientPublicKey, VeilKem};
use crate::wire::{ArtifactId, ENC_LEN, HPKE_INFO, SUITE, envelope_prefix};
use crate::{SealError, rng};

/// What the page needs to encrypt one artifact with WebCrypto AES-256-GCM.
pub struct ExternalSealKeys {
    /// The encapsulated key (envelope field 3).
    pub enc: [u8; ENC_LEN],
    /// The recipient key id (envelope field 4, and the AEAD's additional data).
    pub kid: KeyId,
    /// The AES-256-GCM key (zeroized on drop).
    pub key: Zeroizing<[u8; 32]>,
    /// The nonce (HPKE `base_nonce`; the one message is sequence 0).
    pub nonce: [u8; 12],
}

impl core::fmt::Debug for ExternalSealKeys {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        write!(f, "ExternalSealKeys(kid {}, key redacted)", self.kid)
    }
}

/// `"HPKE" || I2OSP(kem_id, 2) || I2OSP(kdf_id, 2) || I2OSP(aead_id, 2)` (RFC 9180 §5.1).
fn suite_id() -> [u8; 10] {
    let mut s = [0u8; 10];
    s[..4].copy_from_slice(b"HPKE");
    for (i, id) in SUITE.iter().enumerate() {
        s[4 + 2 * i..6 + 2 * i].copy_from_slice(&id.to_be_bytes());
    }
    s
}

/// `LabeledExtract(salt, label, ikm) = Extract(salt, "HPKE-v1" || suite_id || label || ikm)`.
fn labeled_extract(salt: &[u8], label: &[u8], ikm: &[u8]) -> Zeroizing<[u8; 32]> {
    let mut labeled = Zeroizing::new(Vec::with_capacity(7 + 10 + label.len() + ikm.len()));
    labeled.extend_from_slice(b"HPKE-v1");
    labeled.extend_from_slice(&suite_id());
    labeled.extend_from_slice(label);
    labeled.extend_from_slice(ikm);
    let (prk, _) = Hkdf::<Sha256>::extract(Some(salt), &labeled);
    let mut out = Zeroizing::new([0u8; 32]);
    out.copy_from_slice(&prk);
    out
}

/// `LabeledExpand(prk, label, info, L) = Expand(prk, I2OSP(L, 2) || "HPKE-v1" || suite_id || label || info, L)`.
fn labeled_expand(
    prk: &[u8; 32],
    label: &[u8],
    info: &[u8],
    out: &mut [u8],
) -> Result<(), SealError> {
    let len =
        u16::try_from(out.len()).map_err(|_| SealError::SealFailed("expand length".into()))?;
    let mut labeled = Vec::with_capacity(2 + 7 + 10 + label.len() + info.len());
    labeled.extend_from_slice(&len.to_be_bytes());
    labeled.extend_from_slice(b"HPKE-v1");
    labeled.extend_from_slice(&suite_id());
    labeled.extend_from_slice(label);
    labeled.extend_from_slice(info);
    let hk =
        Hkdf::<Sha256>::from_prk(prk).map_err(|_| SealError::SealFailed("prk length".into()))?;
    hk.expand(&labeled, out)
        .map_err(|_| SealError::SealFailed("expand length".into()))
}

/// RFC 9180 §5.1 `KeySchedule` for mode_base (no PSK): `(key, base_nonce)`.
fn key_schedule(
    shared_secret: &[u8],
    info: &[u8],
) -> Result<(Zeroizing<[u8; 32]>, [u8; 12]), SealError> {
    let psk_id_hash = labeled_extract(b"", b"psk_id_hash", b"");
    let info_hash = labeled_extract(b"", b"info_hash", info);
    let mut context = Vec::with_capacity(65);
    context.push(0x00); // mode_base
    context.extend_from_slice(psk_id_hash.as_ref());
    context.extend_from_slice(info_hash.as_ref());
    let secret = labeled_extract(shared_secret, b"secret", b"");
    let mut key = Zeroizing::new([0u8; 32]);
    labeled_expand(&secret, b"key", &context, key.as_mut())?;
    let mut nonce = [0u8; 12];
    labeled_expand(&secret, b"base_nonce", &context, &mut nonce)?;
    Ok((key, nonce))
}

/// Encapsulate to `recipient` with a fresh ephemeral key and derive the AEAD key and nonce.
pub fn begin_external_seal(recipient: &RecipientPublicKey) -> Result<ExternalSealKeys, SealError> {
    let ikm = rng::random32()?;
    begin_external_seal_with_ikm(recipient, ikm.as_ref())
}

/// [`begin_external_seal`] with a caller-chosen ephemeral IKM (test vectors only).
pub fn begin_external_seal_with_ikm(
    recipient: &RecipientPublicKey,
    ikm_e: &[u8],
) -> Result<ExternalSealKeys, SealError> {
    let mut rng = rng::IkmRng::new(ikm_e);
    let encapped = VeilKem::encap(&recipient.hpke, None, &mut rng);
    if rng.overdrawn() {
        return Err(SealError::SealFailed(
            "HPKE asked for more randomness than supplied".into(),
        ));
    }
    let (shared_secret, enc) = encapped.map_err(|e| SealError::SealFailed(e.to_string()))?;
    let (key, nonce) = key_schedule(&shared_secret.0, HPKE_INFO)?;
    let mut enc_bytes = [0u8; ENC_LEN];
    let raw = enc.to_bytes();
    if raw.len() != ENC_LEN {
        return Err(SealError::SealFailed("unexpected enc length".into()));
    }
    enc_bytes.copy_from_slice(&raw);
    Ok(ExternalSealKeys {
        enc: enc_bytes,
        kid: recipient.kid(),
        key,
        nonce,
    })
}

/// Join `enc`, `kid` and an externally made ciphertext into an envelope (and compute its id).
pub fn assemble_envelope(
    enc: &[u8],
    kid: &KeyId,
    ciphertext: &[u8],
) -> Result<SealedEnvelope, SealError> {
    let mut bytes = envelope_prefix(enc, kid, ciphertext.len())?;
    bytes.extend_from_slice(ciphertext);
    let id = ArtifactId::of_envelope(&bytes);
    Ok(SealedEnvelope::from_parts(bytes, id))
}

#[cfg(test)]
mod tests {
    use aes_gcm::aead::{Aead, KeyInit, Payload};
    use aes_gcm::{Aes256Gcm, Nonce};
    use veil_core::Coded;

    use super::*;
    use crate::envelope::{hpke_seal_base, seal_with_ephemeral_ikm};
    use crate::keys::RecipientKey;

    const VECTORS: &str = include_str!("../tests/vectors/rfc9180-base-p256-sha256-aes256gcm.json");

    fn h(v: &serde_json::Value, k: &str) -> Vec<u8> {
        hex::decode(v[k].as_str().unwrap()).unwrap()
    }

    fn aes(key: &[u8; 32], nonce: &[u8; 12], aad: &[u8], pt: &[u8]) -> Vec<u8> {
        Aes256Gcm::new_from_slice(key)
            .unwrap()
            .encrypt(Nonce::from_slice(nonce), Payload { msg: pt, aad })
            .unwrap()
    }

    #[test]
    fn key_schedule_matches_rfc9180() {
        let all: Vec<serde_json::Value> = serde_json::from_str(VECTORS).unwrap();
        let v = &all[0];
        let (key, nonce) = key_schedule(&h(v, "shared_secret"), &h(v, "info")).unwrap();
        assert_eq!(key.to_vec(), h(v, "key"));
        assert_eq!(nonce.to_vec(), h(v, "base_nonce"));
        // And the encapsulation + schedule from ikmE, with an ordinary AES-256-GCM, give the vector's ct.
        let pk = RecipientPublicKey::from_sec1_bytes(&h(v, "pkRm")).unwrap();
        let mut rng = rng::IkmRng::new(&h(v, "ikmE"));
        let (ss, enc) = VeilKem::encap(&pk.hpke, None, &mut rng).unwrap();
        assert_eq!(ss.0.to_vec(), h(v, "shared_secret"));
        assert_eq!(enc.to_bytes().to_vec(), h(v, "enc"));
        let e0 = &v["encryptions"][0];
        assert_eq!(aes(&key, &nonce, &h(e0, "aad"), &h(e0, "pt")), h(e0, "ct"));
    }

    #[test]
    fn external_seal_is_byte_identical_to_seal() {
        let r = RecipientKey::derive(b"external seal test recipient....").unwrap();
        let pt = b"a signed artifact would be here".to_vec();
        let ikm = [7u8; 32];
        let ext = begin_external_seal_with_ikm(r.public_key(), &ikm).unwrap();
        let ct = aes(&ext.key, &ext.nonce, &ext.kid.0, &pt);
        let ct_len = ct.len();
        let env = assemble_envelope(&ext.enc, &ext.kid, &ct).unwrap();
        let reference = seal_with_ephemeral_ikm(pt.clone(), r.public_key(), &ikm).unwrap();
        assert_eq!(env, reference);
        let (enc, ct2) = hpke_seal_base(r.public_key(), HPKE_INFO, &r.kid().0, pt, &ikm).unwrap();
        assert_eq!((enc, ct2), (ext.enc.to_vec(), ct));
        let mut joined = envelope_prefix(&ext.enc, &ext.kid, ct_len).unwrap();
        joined.extend_from_slice(&env.as_bytes()[joined.len()..]);
        assert_eq!(joined, env.as_bytes());
    }

    #[test]
    fn external_seal_opens_with_open() {
        let r = RecipientKey::generate().unwrap();
        let key = p256::ecdsa::SigningKey::from_slice(&[9; 32]).unwrap();
        let secret = crate::PseudonymSecret::from_bytes(&[1; 32]).unwrap();
        let consent = crate::ConsentRef {
            decision: crate::ConsentDecision::Allow,
            event_hash: None,
            context: None,
        };
        let mut b = crate::ArtifactBuilder::new(secret.pseudonym("r", "p"), "p", "r", consent, 0);
        b.add_file("f", vec![1, 2, 3]).unwrap();
        let signed = b.sign(&key).unwrap().into_bytes();
        let ext = begin_external_seal(r.public_key()).unwrap();
        let env = assemble_envelope(
            &ext.enc,
            &ext.kid,
            &aes(&ext.key, &ext.nonce, &ext.kid.0, &signed),
        )
        .unwrap();
        let opened = crate::open(env.as_bytes(), &r, Some(key.verifying_key())).unwrap();
        assert_eq!(opened.artifact.files["f"], [1, 2, 3]);
        assert_eq!(
            envelope_prefix(&[0; 3], &ext.kid, 20).unwrap_err().code(),
            "bad-envelope"
        );
    }
}
