//! PEM helpers: certificate chains in and out of `-----BEGIN CERTIFICATE-----` text.

use crate::error::Rejection;

/// Most PEM blocks read from one text (bounds work on hostile input).
const MAX_BLOCKS: usize = 64;

/// Decodes every `CERTIFICATE` block of a PEM text into DER, in order. Other block types (keys,
/// parameters) are skipped; text outside blocks is ignored.
pub fn certs_from_pem(pem: &str) -> Result<Vec<Vec<u8>>, Rejection> {
    let mut out = Vec::new();
    let mut rest = pem;
    while let Some(start) = rest.find("-----BEGIN ") {
        let block = &rest[start..];
        let end_marker = block
            .find("-----END ")
            .ok_or_else(|| Rejection::malformed("PEM block without END line"))?;
        let after_end = &block[end_marker + 9..];
        let close = after_end
            .find("-----")
            .ok_or_else(|| Rejection::malformed("PEM END line not closed"))?;
        let len = end_marker + 9 + close + 5;
        let text = &block[..len];
        rest = &block[len..];
        if out.len() >= MAX_BLOCKS {
            return Err(Rejection::malformed("too many PEM blocks"));
        }
        let (label, der) = der::pem::decode_vec(text.as_bytes())
            .map_err(|e| Rejection::malformed(format!("PEM: {e}")))?;
        if label == "CERTIFICATE" {
            out.push(der);
        }
    }
    if out.is_empty() {
        return Err(Rejection::malformed("no CERTIFICATE block in PEM"));
    }
    Ok(out)
}

/// Encodes DER certificates as concatenated PEM `CERTIFICATE` blocks.
pub fn certs_to_pem(ders: &[Vec<u8>]) -> String {
    let mut out = String::new();
    for der in ders {
        if let Ok(block) = der::pem::encode_string("CERTIFICATE", der::pem::LineEnding::LF, der) {
            out.push_str(&block);
        }
    }
    out
}
