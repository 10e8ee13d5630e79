//! The COSE_Sign1 (RFC 9052 §4.2) around a signed artifact: its tag, its protected header
//! (`{1: -7, 4: client_kid}`, ES256, RFC 9053 §2.1), the streamed hash of its `Sig_structure`
//! ([`veil_core::cose`] builds the structure itself, shared with device readings), and the reading
//! of its structure.
//!
//! Reading is zero-copy and decodes nothing it does not need before the signature is checked: the
//! array's four items are located by their heads, the protected header (bounded to
//! [`MAX_PROTECTED_LEN`] bytes) is the only part decoded into values, the unprotected header is
//! skipped over without allocating, and the payload is returned as the byte slice it is. A
//! recipient can therefore verify the signature (and learn the signer's `kid`) before a single
//! byte of the attacker-sized payload is decoded (issue #14: a 30 MB envelope was fully decoded,
//! peaking at 1.86 GB, before its signature was checked).

use coset::CborSerializable;
use sha2::{Digest, Sha256};
use veil_core::cose::sig_structure_prefix;

use crate::SealError;
use crate::keys::KeyId;
use crate::manifest::bad;

/// The COSE_Sign1 CBOR tag (RFC 9052 §2).
pub(crate) const COSE_SIGN1_TAG: u64 = 18;

/// Largest protected header accepted, in bytes. Veil writes 40 (`{1: -7, 4: bstr .size 32}`);
/// this bounds the only part of the structure decoded into values before the signature is checked.
pub const MAX_PROTECTED_LEN: usize = 1024;

/// Deepest nesting skipped over in the unprotected header (which Veil writes empty).
const MAX_UNPROTECTED_DEPTH: usize = 16;

/// Hash the COSE `Sig_structure` (RFC 9052 §4.4) as a stream:
/// `["Signature1", body_protected, external_aad = h'', payload]`.
pub(crate) fn sig_structure_digest(protected: &[u8], payload: &[u8]) -> Sha256 {
    let mut h = Sha256::new();
    h.update(sig_structure_prefix(protected, payload.len()));
    h.update(payload);
    h
}

/// A COSE_Sign1's parts, borrowed from its bytes; only the protected header is decoded.
pub(crate) struct Sign1Parts<'a> {
    /// The protected header's bytes exactly as received (what the `Sig_structure` covers).
    pub(crate) protected: &'a [u8],
    /// The protected header, decoded (an empty bstr is the empty map, RFC 9052 §3).
    pub(crate) header: coset::Header,
    /// The attached payload, not decoded.
    pub(crate) payload: &'a [u8],
    /// The signature bytes (64 for ES256; checked by the verifier).
    pub(crate) signature: &'a [u8],
}

/// A cursor over CBOR heads that accepts any argument width (COSE does not require preferred
/// serialization, RFC 9052 §9) but only definite lengths: every length is checked against the
/// bytes that remain before anything is sliced, and nothing is allocated.
struct Heads<'a> {
    buf: &'a [u8],
    pos: usize,
}

fn not_sign1(why: &str) -> SealError {
    bad(format!("not a COSE_Sign1: {why}"))
}

impl<'a> Heads<'a> {
    fn take(&mut self, n: u64) -> Result<&'a [u8], SealError> {
        let n = usize::try_from(n).map_err(|_| not_sign1("truncated"))?;
        let end = self
            .pos
            .checked_add(n)
            .ok_or_else(|| not_sign1("truncated"))?;
        let s = self
            .buf
            .get(self.pos..end)
            .ok_or_else(|| not_sign1("truncated"))?;
        self.pos = end;
        Ok(s)
    }

    /// One head: (major type, additional information, argument).
    fn head(&mut self) -> Result<(u8, u8, u64), SealError> {
        let first = *self
            .take(1)?
            .first()
            .ok_or_else(|| not_sign1("truncated"))?;
        let (major, info) = (first >> 5, first & 0x1f);
        let width = match info {
            0..=23 => return Ok((major, info, u64::from(info))),
            24 => 1,
            25 => 2,
            26 => 4,
            27 => 8,
            31 => return Err(not_sign1("indefinite lengths are not accepted")),
            _ => return Err(not_sign1("reserved additional information")),
        };
        let arg = self
            .take(width)?
            .iter()
            .fold(0u64, |acc, b| (acc << 8) | u64::from(*b));
        Ok((major, info, arg))
    }

    fn expect(&mut self, major: u8, what: &str) -> Result<u64, SealError> {
        match self.head()? {
            (m, _, arg) if m == major => Ok(arg),
            _ => Err(not_sign1(what)),
        }
    }

    fn bstr(&mut self, what: &str) -> Result<&'a [u8], SealError> {
        let len = self.expect(veil_core::cbor::BSTR, what)?;
        self.take(len)
    }

    /// Skip one data item without decoding it. Each item takes at least one byte, so a claimed
    /// count larger than what remains fails as truncated after at most `remaining` steps.
    fn skip(&mut self, depth: usize) -> Result<(), SealError> {
        if depth > MAX_UNPROTECTED_DEPTH {
            return Err(not_sign1("unprotected header nested too deeply"));
        }
        let (major, _, arg) = self.head()?;
        match major {
            // Byte and text strings: their content.
            2 | 3 => self.take(arg).map(|_| ()),
            // Arrays and maps: their items (a map's count is of pairs).
            4 | 5 => {
                let items = if major == 5 {
                    arg.checked_mul(2)
                } else {
                    Some(arg)
                };
                let items = items.ok_or_else(|| not_sign1("truncated"))?;
                if items > (self.buf.len() - self.pos) as u64 {
                    return Err(not_sign1("truncated"));
                }
                (0..items).try_for_each(|_| self.skip(depth + 1))
            }
            // A tag: its one item.
            6 => self.skip(depth + 1),
            // Integers, simple values and floats: the head is the whole item.
            _ => Ok(()),
        }
    }
}

/// Read a COSE_Sign1 (tagged 18 or untagged) into its parts, decoding only the protected header:
/// exactly four items, a bstr protected header of at most [`MAX_PROTECTED_LEN`] bytes holding a
/// map, a map as unprotected header (skipped), an attached bstr payload, a bstr signature, and
/// nothing after it [`SealError::BadArtifact`].
pub(crate) fn read_sign1(bytes: &[u8]) -> Result<Sign1Parts<'_>, SealError> {
    let mut r = Heads { buf: bytes, pos: 0 };
    let mut head = r.head()?;
    if head.0 == veil_core::cbor::TAG {
        if head.2 != COSE_SIGN1_TAG {
            return Err(not_sign1("tagged, but not with tag 18"));
        }
        head = r.head()?;
    }
    if head.0 != veil_core::cbor::ARRAY || head.2 != 4 {
        return Err(not_sign1("not a four-item array"));
    }
    let protected = r.bstr("protected header is not a bstr")?;
    if protected.len() > MAX_PROTECTED_LEN {
        return Err(not_sign1("protected header too long"));
    }
    let unprotected = r.pos;
    if r.head()?.0 != veil_core::cbor::MAP {
        return Err(not_sign1("unprotected header is not a map"));
    }
    r.pos = unprotected;
    r.skip(0)?;
    let payload = match r.head()? {
        (2, _, len) => r.take(len)?,
        (7, 22, _) => return Err(bad("detached payload")),
        _ => return Err(not_sign1("payload is not a bstr")),
    };
    let signature = r.bstr("signature is not a bstr")?;
    if r.pos != bytes.len() {
        return Err(not_sign1("trailing bytes"));
    }
    let header = if protected.is_empty() {
        coset::Header::default()
    } else {
        coset::Header::from_slice(protected).map_err(|e| bad(format!("protected header: {e}")))?
    };
    Ok(Sign1Parts {
        protected,
        header,
        payload,
        signature,
    })
}

/// SHA-256 of a COSE_Sign1's `Sig_structure` (RFC 9052 §4.4): what its signature covers, read
/// from the same parts the verifier reads (the unprotected header is not decoded), so any artifact
/// that verifies has one.
///
/// # Errors
/// [`SealError::BadArtifact`] when `signed` is not a COSE_Sign1 (see [`crate::verify_signed_artifact`]).
pub fn signed_content_sha256(signed: &[u8]) -> Result<[u8; 32], SealError> {
    let parts = read_sign1(signed)?;
    Ok(sig_structure_digest(parts.protected, parts.payload)
        .finalize()
        .into())
}

/// The signer's key id: the `kid` (label 4) of a signed artifact's protected header, read without
/// decoding the payload (see the module docs), so that a recipient can look up which key it expects
/// before doing any work the signature has not paid for.
///
/// Veil's writers put the client key id there ([`KeyId::of_sec1`] of the manifest's `client_key`,
/// `docs/artifact-format.md` §3.3). The `kid` alone proves nothing; the caller then verifies with
/// the key it knows under that id ([`crate::verify_signed_artifact`] with `Some(key)`).
///
/// # Errors
/// [`SealError::BadArtifact`] if the bytes are not a COSE_Sign1 ([`read_sign1`]);
/// [`SealError::BadSignerKid`] if the protected header has no `kid` or one that is not 32 bytes.
///
/// ```
/// use veil_seal::{ArtifactBuilder, ConsentDecision, ConsentRef, KeyId, PseudonymSecret, generate_signing_key, signer_kid};
/// let client = generate_signing_key()?;
/// let pseudonym = PseudonymSecret::generate()?.pseudonym("clinic-a", "treatment");
/// let consent = ConsentRef { decision: ConsentDecision::Allow, event_hash: None, context: None };
/// let signed = ArtifactBuilder::new(pseudonym, "treatment", "clinic-a", consent, 0).sign(&client)?;
/// assert_eq!(signer_kid(signed.as_bytes())?, KeyId::of_verifying_key(client.verifying_key()));
/// # Ok::<(), veil_seal::SealError>(())
/// ```
pub fn signer_kid(signed: &[u8]) -> Result<KeyId, SealError> {
    let parts = read_sign1(signed)?;
    let kid = parts.header.key_id;
    if kid.is_empty() {
        return Err(SealError::BadSignerKid(
            "the protected header has no kid".into(),
        ));
    }
    let kid: [u8; 32] = kid.try_into().map_err(|k: Vec<u8>| {
        SealError::BadSignerKid(format!("the kid is {} bytes, not 32", k.len()))
    })?;
    Ok(KeyId(kid))
}
