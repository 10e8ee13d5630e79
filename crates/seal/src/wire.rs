//! The VEIL-1 envelope on the wire, written and read in one place:
//!
//! ```text
//! envelope = [ "VEIL-1", [16, 1, 2], enc: bstr .size 65, kid: bstr .size 32, ciphertext: bstr ]
//! artifact id = SHA-256(envelope bytes)
//! ```
//!
//! Only structure lives here (no cryptography): the constants, the header that precedes a
//! ciphertext ([`envelope_prefix`], also what a browser joins to a WebCrypto ciphertext), its
//! length before the ciphertext exists ([`envelope_prefix_len`], so an artifact can be laid out
//! with room to be sealed in place), the strict parser and the artifact id. Everything is CBOR
//! preferred serialization (RFC 8949 §4.2.1), so the id is a function of the fields alone.

use core::fmt;

use sha2::{Digest, Sha256};
use veil_core::cbor::{ARRAY, BSTR, Reader, TSTR, UINT, put_head};

use crate::SealError;
use crate::keys::KeyId;

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
    let map = |e: veil_core::cbor::ReadError| SealError::BadEnvelope(e.to_string());
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
pub fn envelope_prefix_len(ciphertext_len: usize) -> usize {
    1 + 1
        + ENVELOPE_MAGIC.len()
        + 4
        + 2
        + ENC_LEN
        + 2
        + 32
        + veil_core::cbor::head_len(ciphertext_len as u64)
}

/// The envelope bytes that precede a ciphertext of `ciphertext_len` bytes (tag included):
/// `envelope = envelope_prefix(..) || ciphertext`, so a page can join them as Blob parts.
pub fn envelope_prefix(
    enc: &[u8],
    kid: &KeyId,
    ciphertext_len: usize,
) -> Result<Vec<u8>, SealError> {
    if enc.len() != ENC_LEN {
        return Err(SealError::BadEnvelope("enc is not 65 bytes".into()));
    }
    if ciphertext_len < TAG_LEN {
        return Err(SealError::BadEnvelope(
            "ciphertext shorter than the tag".into(),
        ));
    }
    let mut out = Vec::with_capacity(128);
    put_head(&mut out, ARRAY, 5);
    put_head(&mut out, TSTR, ENVELOPE_MAGIC.len() as u64);
    out.extend_from_slice(ENVELOPE_MAGIC.as_bytes());
    put_head(&mut out, ARRAY, 3);
    for id in SUITE {
        put_head(&mut out, UINT, u64::from(id));
    }
    put_head(&mut out, BSTR, ENC_LEN as u64);
    out.extend_from_slice(enc);
    put_head(&mut out, BSTR, 32);
    out.extend_from_slice(&kid.0);
    put_head(&mut out, BSTR, ciphertext_len as u64);
    Ok(out)
}
