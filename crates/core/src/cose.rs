//! The COSE `Sig_structure` for `COSE_Sign1` (RFC 9052 §4.4), the bytes an ES256 signature covers:
//!
//! ```text
//! Sig_structure = [ "Signature1", body_protected : bstr, external_aad : bstr, payload : bstr ]
//! ```
//!
//! Device readings (`veil-trust`) and sealed artifacts (`veil-seal`) are both `COSE_Sign1` with an
//! empty `external_aad`. A large artifact hashes its `Sig_structure` as a stream (the prefix, then
//! the payload as it is laid out), so the prefix is available on its own.

use crate::cbor::{ARRAY, BSTR, put_bytes, put_head, put_text};

/// The context string of a `COSE_Sign1` signature.
pub const SIGNATURE1: &str = "Signature1";

/// Everything of the `Sig_structure` before the payload's content: the array head, the context,
/// the protected header, the empty `external_aad` and the payload's byte-string head.
pub fn sig_structure_prefix(protected: &[u8], payload_len: usize) -> Vec<u8> {
    let mut out = Vec::with_capacity(protected.len() + 32);
    put_head(&mut out, ARRAY, 4);
    put_text(&mut out, SIGNATURE1);
    put_bytes(&mut out, protected);
    put_bytes(&mut out, &[]);
    put_head(&mut out, BSTR, payload_len as u64);
    out
}

/// The whole `Sig_structure` with an attached payload and an empty `external_aad`.
pub fn sig_structure(protected: &[u8], payload: &[u8]) -> Vec<u8> {
    let mut out = sig_structure_prefix(protected, payload.len());
    out.reserve(payload.len());
    out.extend_from_slice(payload);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rfc9052_appendix_c_2_1_to_be_signed() {
        // RFC 9052 Appendix C.2.1 (ECDSA 01, COSE_Sign1): protected {1: -7}, payload
        // "This is the content." — the ToBeSign bytes published with the example.
        let protected = hex::decode("a10126").unwrap_or_default();
        let tbs = sig_structure(&protected, b"This is the content.");
        assert_eq!(
            hex::encode(tbs),
            "846a5369676e61747572653143a101264054546869732069732074686520636f6e74656e742e"
        );
    }

    #[test]
    fn prefix_then_payload_is_the_whole() {
        let payload = vec![7u8; 300];
        let mut streamed = sig_structure_prefix(b"\xa1\x01\x26", payload.len());
        streamed.extend_from_slice(&payload);
        assert_eq!(streamed, sig_structure(b"\xa1\x01\x26", &payload));
    }
}
