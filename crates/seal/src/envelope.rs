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
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;
use zeroize::Zeroizing;

use crate::artifact::{SignedArtifact, VerifiedArtifact, verify_signed_artifact};
use crate::keys::{KeyId, RecipientKey, RecipientPublicKey, VeilAead, VeilKdf, VeilKem};
use crate::{SealError, rng};
use veil_core::cbor::{ARRAY, BSTR, Reader, TSTR, UINT, put_head};

/// The envelope's first element.
pub const ENVELOPE_MAGIC: &str = "VEIL-1";
/// The HPKE suite `[kem, kdf, aead]`: DHKEM(P-256, HKDF-SHA256), HKDF-SHA256, AES-256-GCM.
pub const SUITE: [u16; 3] = [0x0010, 0x0001, 0x0002];
/// The HPKE `info` string.
pub const HPKE_INFO: &[u8] = b"veil artifact v1";
/// Length of `enc` for DHKEM(P-256): an uncompressed SEC1 point (`Nenc`, RFC 9180 §7.1).
pub const ENC_LEN: usize = 65;
/// Length of the AES-GCM tag (`Nt`).
pub const TAG_LEN: usize = 16;

/// The artifact id: SHA-256 of the envelope bytes; shown as 64 lowercase hex digits.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ArtifactId(pub [u8; 32]);

impl ArtifactId {
    /// The id of envelope bytes.
    pub fn of_envelope(envelope: &[u8]) -> Self {
        Self(Sha256::digest(envelope).into())
    }

    /// Lowercase hex (64 characters), the `Idempotency-Key` form.
    pub fn to_hex(&self) -> String {
        hex::encode(self.0)
    }

    /// Parse 64 hex digits (either case).
    pub fn from_hex(text: &str) -> Result<Self, SealError> {
        let mut out = [0u8; 32];
        hex::decode_to_slice(text.trim(), &mut out)
            .map_err(|_| SealError::BadEnvelope("artifact id is not 64 hex digits".into()))?;
        Ok(Self(out))
    }
}

impl fmt::Display for ArtifactId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.to_hex())
    }
}

impl fmt::Debug for ArtifactId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "ArtifactId({})", self.to_hex())
    }
}

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

/// The fields of a parsed envelope, borrowed from its bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct EnvelopeParts<'a> {
    /// The HPKE suite `[kem, kdf, aead]` as found (only [`SUITE`] can be opened).
    pub suite: [u64; 3],
    /// The encapsulated key (65 bytes).
    pub enc: &'a [u8],
    /// The recipient key id.
    pub kid: KeyId,
    /// The AEAD ciphertext, tag last.
    pub ciphertext: &'a [u8],
}

fn bad_env(msg: &str) -> SealError {
    SealError::BadEnvelope(msg.to_owned())
}

/// Parse an envelope's structure (no cryptography). Rejects anything but the exact
/// `["VEIL-1", [k, f, a], bstr(65), bstr(32), bstr]` shape in preferred encoding, with nothing after.
pub fn parse_envelope(bytes: &[u8]) -> Result<EnvelopeParts<'_>, SealError> {
    let mut r = Reader::new(bytes);
    let map = |e: veil_core::cbor::ReadError| SealError::BadEnvelope(e.describe().into());
    if r.expect(ARRAY).map_err(map)? != 5 {
        return Err(bad_env("not a 5-element array"));
    }
    if r.string(TSTR).map_err(map)? != ENVELOPE_MAGIC.as_bytes() {
        return Err(bad_env("magic is not \"VEIL-1\""));
    }
    if r.expect(ARRAY).map_err(map)? != 3 {
        return Err(bad_env("suite is not a 3-element array"));
    }
    let mut suite = [0u64; 3];
    for s in &mut suite {
        *s = r.expect(UINT).map_err(map)?;
    }
    let enc = r.string(BSTR).map_err(map)?;
    let kid = r.string(BSTR).map_err(map)?;
    let ciphertext = r.string(BSTR).map_err(map)?;
    if !r.at_end() {
        return Err(bad_env("trailing bytes after the envelope"));
    }
    if enc.len() != ENC_LEN {
        return Err(bad_env("enc is not 65 bytes"));
    }
    let kid: [u8; 32] = kid.try_into().map_err(|_| bad_env("kid is not 32 bytes"))?;
    Ok(EnvelopeParts {
        suite,
        enc,
        kid: KeyId(kid),
        ciphertext,
    })
}

/// Length of the envelope bytes before a ciphertext of `ciphertext_len` bytes.
pub(crate) fn envelope_prefix_len(ciphertext_len: usize) -> usize {
    1 + 1
        + ENVELOPE_MAGIC.len()
        + 4
        + 2
        + ENC_LEN
        + 2
        + 32
        + veil_core::cbor::head_len(ciphertext_len as u64)
}

fn encode_envelope(enc: &[u8], kid: &KeyId, ciphertext: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(ciphertext.len() + enc.len() + 64);
    put_head(&mut out, ARRAY, 5);
    put_head(&mut out, TSTR, ENVELOPE_MAGIC.len() as u64);
    out.extend_from_slice(ENVELOPE_MAGIC.as_bytes());
    put_head(&mut out, ARRAY, 3);
    for id in SUITE {
        put_head(&mut out, UINT, u64::from(id));
    }
    put_head(&mut out, BSTR, enc.len() as u64);
    out.extend_from_slice(enc);
    put_head(&mut out, BSTR, 32);
    out.extend_from_slice(&kid.0);
    put_head(&mut out, BSTR, ciphertext.len() as u64);
    out.extend_from_slice(ciphertext);
    out
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
    let bytes = encode_envelope(&enc, &kid, &ciphertext);
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
    let prefix = crate::external::envelope_prefix(&enc.to_bytes(), &kid, ct_len)?;
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
