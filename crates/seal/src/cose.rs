//! The COSE_Sign1 (RFC 9052 §4.2) around a signed artifact: its tag, its protected header
//! (`{1: -7}`, ES256, RFC 9053 §2.1) and the streamed hash of its `Sig_structure`
//! ([`veil_core::cose`] builds the structure itself, shared with device readings).

use sha2::{Digest, Sha256};
use veil_core::cose::sig_structure_prefix;

/// The COSE_Sign1 CBOR tag (RFC 9052 §2).
pub(crate) const COSE_SIGN1_TAG: u64 = 18;

/// Hash the COSE `Sig_structure` (RFC 9052 §4.4) as a stream:
/// `["Signature1", body_protected, external_aad = h'', payload]`.
pub(crate) fn sig_structure_digest(protected: &[u8], payload: &[u8]) -> Sha256 {
    let mut h = Sha256::new();
    h.update(sig_structure_prefix(protected, payload.len()));
    h.update(payload);
    h
}
