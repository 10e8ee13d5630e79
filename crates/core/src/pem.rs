//! PEM (RFC 7468) in and out, for the two things Veil keeps in PEM files: P-256 keys and X.509
//! certificate chains.
//!
//! - Private keys are read as PKCS#8 (`PRIVATE KEY`, RFC 5958) or SEC1 (`EC PRIVATE KEY`,
//!   RFC 5915, what `openssl ecparam -genkey` writes) and written as PKCS#8, in a buffer that is
//!   zeroized on drop.
//! - Public keys are SubjectPublicKeyInfo (`PUBLIC KEY`, RFC 5480).
//! - A chain is the `CERTIFICATE` blocks of one text, in order; other blocks are skipped and the
//!   number of blocks is bounded before anything is decoded.

use p256::pkcs8::{
    DecodePrivateKey, DecodePublicKey, EncodePrivateKey, EncodePublicKey, LineEnding,
};
use zeroize::Zeroizing;

/// Most PEM blocks read from one text (bounds work on hostile input).
pub const MAX_BLOCKS: usize = 64;

/// Why PEM text could not be read or written.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PemError {
    /// The text is not well-formed PEM.
    #[error("malformed PEM: {0}")]
    Malformed(String),
    /// More than [`MAX_BLOCKS`] blocks.
    #[error("too many PEM blocks (at most {MAX_BLOCKS})")]
    TooManyBlocks,
    /// No `CERTIFICATE` block.
    #[error("no CERTIFICATE block in PEM")]
    NoCertificate,
    /// Well-formed PEM, but not a P-256 key of the expected kind.
    #[error("not a P-256 {expected} PEM key")]
    NotP256Key {
        /// What was expected, e.g. `"PKCS#8 or SEC1 private"`.
        expected: &'static str,
    },
    /// Encoding a key failed.
    #[error("could not encode the key as PEM")]
    Encode,
}

impl crate::Coded for PemError {
    fn code(&self) -> &'static str {
        match self {
            Self::Malformed(_) | Self::TooManyBlocks | Self::NoCertificate => "malformed-pem",
            Self::NotP256Key { .. } | Self::Encode => "bad-key",
        }
    }
}

/// The DER of every `CERTIFICATE` block of a PEM text, in order. Other block types (keys,
/// parameters) are skipped; text outside blocks is ignored.
pub fn certs_from_pem(pem: &str) -> Result<Vec<Vec<u8>>, PemError> {
    let mut out = Vec::new();
    let mut rest = pem;
    let mut blocks = 0usize;
    while let Some(start) = rest.find("-----BEGIN ") {
        let block = rest.get(start..).unwrap_or_default();
        let end_marker = block
            .find("-----END ")
            .ok_or_else(|| PemError::Malformed("block without END line".into()))?;
        let after_end = block.get(end_marker + 9..).unwrap_or_default();
        let close = after_end
            .find("-----")
            .ok_or_else(|| PemError::Malformed("END line not closed".into()))?;
        let len = end_marker + 9 + close + 5;
        let text = block.get(..len).unwrap_or_default();
        rest = block.get(len..).unwrap_or_default();
        blocks += 1;
        if blocks > MAX_BLOCKS {
            return Err(PemError::TooManyBlocks);
        }
        let (label, der) = pem_rfc7468::decode_vec(text.as_bytes())
            .map_err(|e| PemError::Malformed(e.to_string()))?;
        if label == "CERTIFICATE" {
            out.push(der);
        }
    }
    if out.is_empty() {
        return Err(PemError::NoCertificate);
    }
    Ok(out)
}

/// A chain given as a file's bytes: PEM `CERTIFICATE` blocks (see [`certs_from_pem`]), or a
/// single DER certificate passed through as it is (bytes that are not UTF-8 text with a
/// `-----BEGIN` line). No X.509 parsing happens here.
pub fn certs_from_pem_or_der(bytes: &[u8]) -> Result<Vec<Vec<u8>>, PemError> {
    match std::str::from_utf8(bytes) {
        Ok(text) if text.contains("-----BEGIN") => certs_from_pem(text),
        _ => Ok(vec![bytes.to_vec()]),
    }
}

/// DER certificates as concatenated PEM `CERTIFICATE` blocks (LF line endings).
pub fn certs_to_pem(ders: &[Vec<u8>]) -> String {
    let mut out = String::new();
    for der in ders {
        if let Ok(block) = pem_rfc7468::encode_string("CERTIFICATE", LineEnding::LF, der) {
            out.push_str(&block);
        }
    }
    out
}

/// A P-256 private key from PKCS#8 (`PRIVATE KEY`) or SEC1 (`EC PRIVATE KEY`) PEM.
pub fn secret_key_from_pem(pem: &str) -> Result<p256::SecretKey, PemError> {
    let pem = pem.trim();
    let parsed = if pem.starts_with("-----BEGIN EC PRIVATE KEY") {
        p256::SecretKey::from_sec1_pem(pem).ok()
    } else {
        p256::SecretKey::from_pkcs8_pem(pem).ok()
    };
    parsed.ok_or(PemError::NotP256Key {
        expected: "PKCS#8 or SEC1 private",
    })
}

/// A P-256 private key as PKCS#8 PEM, zeroized on drop.
pub fn secret_key_to_pem(key: &p256::SecretKey) -> Result<Zeroizing<String>, PemError> {
    key.to_pkcs8_pem(LineEnding::LF)
        .map_err(|_| PemError::Encode)
}

/// A P-256 public key from `PUBLIC KEY` (SubjectPublicKeyInfo) PEM.
pub fn public_key_from_pem(pem: &str) -> Result<p256::PublicKey, PemError> {
    p256::PublicKey::from_public_key_pem(pem.trim()).map_err(|_| PemError::NotP256Key {
        expected: "SubjectPublicKeyInfo public",
    })
}

/// A P-256 public key as `PUBLIC KEY` (SubjectPublicKeyInfo) PEM.
pub fn public_key_to_pem(key: &p256::PublicKey) -> Result<String, PemError> {
    key.to_public_key_pem(LineEnding::LF)
        .map_err(|_| PemError::Encode)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Coded;
    use proptest::prelude::*;

    // RFC 9500 §2.3 `testECCP256` (a published P-256 test key), SEC1 form.
    const SEC1: &str = "-----BEGIN EC PRIVATE KEY-----
MHcCAQEEIObLW92AqkWunJXowVR2Z5/+yVPBaFHnEedDk5WJxk/BoAoGCCqGSM49
AwEHoUQDQgAEQiVI+I+3gv+17KN0RFLHKh5Vj71vc75eSOkyMsxFxbFsTNEMTLjV
uKFxOelIgsiZJXKZNCX0FBmrfpCkKklCcg==
-----END EC PRIVATE KEY-----
";

    #[test]
    fn sec1_and_pkcs8_read_the_same_key_and_round_trip() {
        let k = secret_key_from_pem(SEC1).unwrap();
        let pkcs8 = secret_key_to_pem(&k).unwrap();
        assert!(pkcs8.starts_with("-----BEGIN PRIVATE KEY-----"));
        assert_eq!(secret_key_from_pem(&pkcs8).unwrap(), k);
        let pk = k.public_key();
        let spki = public_key_to_pem(&pk).unwrap();
        assert_eq!(public_key_from_pem(&spki).unwrap(), pk);
        assert_eq!(
            secret_key_from_pem(&spki).unwrap_err().code(),
            "bad-key",
            "a public key is not a private key"
        );
    }

    #[test]
    fn chains_keep_order_skip_keys_and_bound_blocks() {
        let a = vec![0x30, 0x03, 0x02, 0x01, 0x01];
        let b = vec![0x30, 0x03, 0x02, 0x01, 0x02];
        let text = format!(
            "{}{SEC1}{}",
            certs_to_pem(std::slice::from_ref(&a)),
            certs_to_pem(std::slice::from_ref(&b))
        );
        assert_eq!(certs_from_pem(&text).unwrap(), vec![a.clone(), b]);
        assert_eq!(certs_from_pem(SEC1), Err(PemError::NoCertificate));
        let many = certs_to_pem(&vec![a; MAX_BLOCKS + 1]);
        assert_eq!(certs_from_pem(&many), Err(PemError::TooManyBlocks));
        assert_eq!(
            certs_from_pem("-----BEGIN CERTIFICATE-----\nAAA")
                .unwrap_err()
                .code(),
            "malformed-pem"
        );
    }

    #[test]
    fn a_lone_der_certificate_passes_through() {
        assert_eq!(
            certs_from_pem_or_der(&[0x30, 0x82, 0xff]).unwrap(),
            vec![vec![0x30, 0x82, 0xff]]
        );
        let pem = certs_to_pem(&[vec![0x30, 3]]);
        assert_eq!(
            certs_from_pem_or_der(pem.as_bytes()).unwrap(),
            vec![vec![0x30, 3]]
        );
    }

    proptest! {
        #[test]
        fn never_panics(s in "(-----(BEGIN|END) [A-Z ]{0,12}-----|[A-Za-z0-9+/=\n]{0,40}){0,6}") {
            let _ = certs_from_pem(&s);
            let _ = secret_key_from_pem(&s);
            let _ = public_key_from_pem(&s);
        }
    }
}
