//! The signed reading on the wire: a tagged COSE_Sign1 (RFC 9052 §4.2) whose payload is the
//! reading's CBOR map.
//!
//! Decoding is done here over `ciborium` values rather than with `coset` 0.3, because coset 0.3
//! rejects a header whose `alg` is not in its IANA table, and ESP256 (-9, RFC 9864) is newer than
//! that table. The codec is small and strict: tag 18 required, exactly four items, protected
//! header a bstr-wrapped map, no duplicate labels, attached payload, no trailing bytes, and the
//! protected header's original bytes are what the Sig_structure covers (RFC 9052 §4.4).

use ciborium::value::{Integer, Value};

use crate::error::Rejection;

/// Largest signed reading accepted (a reading is a few hundred bytes; this bounds parsing work).
pub const MAX_COSE_LEN: usize = 16 * 1024;

/// CBOR tag of a COSE_Sign1 (RFC 9052 §2).
pub const COSE_SIGN1_TAG: u64 = 18;

const LABEL_ALG: i128 = 1;
const LABEL_CRIT: i128 = 2;
const LABEL_KID: i128 = 4;

/// The signature algorithms a reading may use: ECDSA over P-256 with SHA-256, under its
/// polymorphic (ES256) or fully-specified (ESP256) identifier. Same bytes either way.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub enum Algorithm {
    /// ES256, COSE algorithm -7 (RFC 9053 §2.1).
    #[serde(rename = "ES256")]
    Es256,
    /// ESP256, COSE algorithm -9 (RFC 9864 §2.1): ECDSA using P-256 curve and SHA-256.
    #[serde(rename = "ESP256")]
    Esp256,
}

impl Algorithm {
    /// The COSE algorithm identifier.
    pub fn cose_id(self) -> i64 {
        match self {
            Algorithm::Es256 => -7,
            Algorithm::Esp256 => -9,
        }
    }

    fn from_cose_id(id: i128) -> Option<Algorithm> {
        match id {
            -7 => Some(Algorithm::Es256),
            -9 => Some(Algorithm::Esp256),
            _ => None,
        }
    }
}

/// A decoded, not yet verified COSE_Sign1.
#[derive(Debug, Clone)]
pub struct CoseSign1 {
    /// The protected header exactly as received (the bstr's contents).
    pub protected: Vec<u8>,
    /// The signature algorithm from the protected header.
    pub alg: Algorithm,
    /// The key identifier (protected header, or unprotected if absent there).
    pub kid: Option<Vec<u8>>,
    /// The attached payload.
    pub payload: Vec<u8>,
    /// The signature: r || s, 32 bytes each, for ECDSA (RFC 9053 §2.1).
    pub signature: Vec<u8>,
}

pub(crate) fn read_cbor(bytes: &[u8], what: &str) -> Result<Value, Rejection> {
    let mut rest = bytes;
    let value: Value = ciborium::de::from_reader(&mut rest)
        .map_err(|e| Rejection::malformed(format!("{what}: invalid CBOR ({e})")))?;
    if !rest.is_empty() {
        return Err(Rejection::malformed(format!(
            "{what}: {} trailing bytes",
            rest.len()
        )));
    }
    Ok(value)
}

fn label(v: &Value) -> Result<Label, Rejection> {
    match v {
        Value::Integer(i) => Ok(Label::Int(i128::from(*i))),
        Value::Text(t) => Ok(Label::Text(t.clone())),
        _ => Err(Rejection::malformed("header label is not an int or text")),
    }
}

#[derive(PartialEq)]
enum Label {
    Int(i128),
    Text(String),
}

fn header_map(v: Value, which: &str) -> Result<Vec<(Label, Value)>, Rejection> {
    let Value::Map(entries) = v else {
        return Err(Rejection::malformed(format!("{which} header is not a map")));
    };
    let mut out: Vec<(Label, Value)> = Vec::with_capacity(entries.len());
    for (k, v) in entries {
        let k = label(&k)?;
        if out.iter().any(|(seen, _)| *seen == k) {
            return Err(Rejection::malformed(format!(
                "duplicate label in {which} header"
            )));
        }
        out.push((k, v));
    }
    Ok(out)
}

fn find(map: &[(Label, Value)], l: i128) -> Option<&Value> {
    map.iter()
        .find(|(k, _)| *k == Label::Int(l))
        .map(|(_, v)| v)
}

impl CoseSign1 {
    /// Decodes a tagged COSE_Sign1, checking the algorithm. Fails with `malformed` or
    /// `unsupported-algorithm`.
    pub fn decode(bytes: &[u8]) -> Result<CoseSign1, Rejection> {
        if bytes.len() > MAX_COSE_LEN {
            return Err(Rejection::malformed(format!(
                "reading is {} bytes, limit {MAX_COSE_LEN}",
                bytes.len()
            )));
        }
        let Value::Tag(tag, inner) = read_cbor(bytes, "COSE_Sign1")? else {
            return Err(Rejection::malformed(
                "not a tagged COSE_Sign1 (tag 18 missing)",
            ));
        };
        if tag != COSE_SIGN1_TAG {
            return Err(Rejection::malformed(format!(
                "CBOR tag {tag}, expected 18 (COSE_Sign1)"
            )));
        }
        let Value::Array(items) = *inner else {
            return Err(Rejection::malformed("COSE_Sign1 is not an array"));
        };
        let [protected, unprotected, payload, signature]: [Value; 4] = items
            .try_into()
            .map_err(|_| Rejection::malformed("COSE_Sign1 must have 4 items"))?;
        let Value::Bytes(protected) = protected else {
            return Err(Rejection::malformed("protected header is not a bstr"));
        };
        // RFC 9052 §3: a zero-length bstr stands for an empty map.
        let prot_map = if protected.is_empty() {
            Vec::new()
        } else {
            header_map(read_cbor(&protected, "protected header")?, "protected")?
        };
        let unprot_map = header_map(unprotected, "unprotected")?;
        for (k, _) in &prot_map {
            if unprot_map.iter().any(|(u, _)| u == k) {
                return Err(Rejection::malformed(
                    "label in both protected and unprotected headers",
                ));
            }
        }
        // RFC 9052 §3.1: crit lists labels the recipient must understand; we understand alg, kid.
        if let Some(crit) = find(&prot_map, LABEL_CRIT) {
            let Value::Array(labels) = crit else {
                return Err(Rejection::malformed("crit is not an array"));
            };
            for l in labels {
                match label(l)? {
                    Label::Int(LABEL_ALG | LABEL_KID) => {}
                    _ => {
                        return Err(Rejection::malformed(
                            "crit names a header parameter not understood",
                        ));
                    }
                }
            }
        }
        let alg = match find(&prot_map, LABEL_ALG) {
            None if find(&unprot_map, LABEL_ALG).is_some() => {
                return Err(Rejection::malformed("alg must be in the protected header"));
            }
            None => return Err(Rejection::malformed("protected header has no alg")),
            Some(Value::Integer(i)) => {
                let id = i128::from(*i);
                Algorithm::from_cose_id(id).ok_or_else(|| {
                    Rejection::UnsupportedAlgorithm(format!(
                        "COSE alg {id}; only ES256 (-7) and ESP256 (-9)"
                    ))
                })?
            }
            Some(Value::Text(t)) => {
                return Err(Rejection::UnsupportedAlgorithm(format!("COSE alg {t:?}")));
            }
            Some(_) => return Err(Rejection::malformed("alg is not an int or text")),
        };
        let kid = match find(&prot_map, LABEL_KID).or_else(|| find(&unprot_map, LABEL_KID)) {
            None => None,
            Some(Value::Bytes(b)) => Some(b.clone()),
            Some(_) => return Err(Rejection::malformed("kid is not a bstr")),
        };
        let payload = match payload {
            Value::Bytes(b) => b,
            Value::Null => return Err(Rejection::malformed("detached payload not supported")),
            _ => return Err(Rejection::malformed("payload is not a bstr")),
        };
        let Value::Bytes(signature) = signature else {
            return Err(Rejection::malformed("signature is not a bstr"));
        };
        Ok(CoseSign1 {
            protected,
            alg,
            kid,
            payload,
            signature,
        })
    }

    /// The bytes the signature covers: `["Signature1", protected, external_aad = h'', payload]`
    /// (RFC 9052 §4.4).
    pub fn to_be_signed(&self) -> Vec<u8> {
        veil_core::cose::sig_structure(&self.protected, &self.payload)
    }
}

pub(crate) fn to_vec(v: &Value) -> Vec<u8> {
    let mut out = Vec::new();
    // Serializing a ciborium Value into a Vec cannot fail (no I/O errors, no unsupported types).
    let _ = ciborium::ser::into_writer(v, &mut out);
    out
}

/// Builds the tagged COSE_Sign1 bytes from its parts: protected `{1: alg, 4: kid}`, empty
/// unprotected map, attached payload, signature. Only the simulator's signer writes readings.
#[cfg(feature = "sim")]
pub(crate) fn encode(protected: &[u8], payload: &[u8], signature: &[u8]) -> Vec<u8> {
    to_vec(&Value::Tag(
        COSE_SIGN1_TAG,
        Box::new(Value::Array(vec![
            Value::Bytes(protected.to_vec()),
            Value::Map(Vec::new()),
            Value::Bytes(payload.to_vec()),
            Value::Bytes(signature.to_vec()),
        ])),
    ))
}

/// The protected header a Veil device sends: `{1: alg, 4: kid}`.
#[cfg(feature = "sim")]
pub(crate) fn protected_header(alg: Algorithm, kid: &[u8]) -> Vec<u8> {
    to_vec(&Value::Map(vec![
        (
            Value::Integer(Integer::from(1)),
            Value::Integer(Integer::from(alg.cose_id())),
        ),
        (Value::Integer(Integer::from(4)), Value::Bytes(kid.to_vec())),
    ]))
}

/// The payload of a signed reading (the CBOR map with text keys of the device profile).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReadingPayload {
    /// Device serial, as in the device certificate's subject serialNumber.
    pub dev: String,
    /// Monotonic counter, strictly increasing per device.
    pub ctr: u64,
    /// Unix seconds when the reading was signed.
    pub ts: u64,
    /// The challenge this reading answers (32 bytes from the app).
    pub nonce: Vec<u8>,
    /// 16-bit Bluetooth SIG service UUID.
    pub svc: u16,
    /// 16-bit Bluetooth SIG characteristic UUID.
    pub chr: u16,
    /// The characteristic value exactly as the SIG specifies it.
    pub val: Vec<u8>,
}

/// Payload format version.
pub const PAYLOAD_VERSION: u64 = 1;

fn uint(v: &Value, key: &str) -> Result<u64, Rejection> {
    match v {
        Value::Integer(i) => {
            u64::try_from(*i).map_err(|_| Rejection::malformed(format!("{key} is not a uint")))
        }
        _ => Err(Rejection::malformed(format!("{key} is not a uint"))),
    }
}

impl ReadingPayload {
    /// Decodes the payload map. Unknown text keys are ignored (forward compatibility); missing or
    /// mistyped keys, duplicate keys, non-text keys and `v` other than 1 are `malformed`.
    pub fn decode(bytes: &[u8]) -> Result<ReadingPayload, Rejection> {
        let Value::Map(entries) = read_cbor(bytes, "payload")? else {
            return Err(Rejection::malformed("payload is not a map"));
        };
        let mut seen: Vec<String> = Vec::new();
        let (mut v, mut dev, mut ctr, mut ts, mut nonce, mut svc, mut chr, mut val) =
            (None, None, None, None, None, None, None, None);
        for (k, value) in entries {
            let Value::Text(k) = k else {
                return Err(Rejection::malformed("payload key is not text"));
            };
            if seen.contains(&k) {
                return Err(Rejection::malformed(format!("duplicate payload key {k:?}")));
            }
            match k.as_str() {
                "v" => v = Some(uint(&value, "v")?),
                "dev" => match value {
                    Value::Text(t) => dev = Some(t),
                    _ => return Err(Rejection::malformed("dev is not text")),
                },
                "ctr" => ctr = Some(uint(&value, "ctr")?),
                "ts" => ts = Some(uint(&value, "ts")?),
                "nonce" => match value {
                    Value::Bytes(b) => nonce = Some(b),
                    _ => return Err(Rejection::malformed("nonce is not bytes")),
                },
                "svc" => svc = Some(uint(&value, "svc")?),
                "chr" => chr = Some(uint(&value, "chr")?),
                "val" => match value {
                    Value::Bytes(b) => val = Some(b),
                    _ => return Err(Rejection::malformed("val is not bytes")),
                },
                _ => {}
            }
            seen.push(k);
        }
        let need = |name: &str| Rejection::malformed(format!("payload has no {name}"));
        let v = v.ok_or_else(|| need("v"))?;
        if v != PAYLOAD_VERSION {
            return Err(Rejection::malformed(format!(
                "payload version {v}, expected 1"
            )));
        }
        let uuid16 = |x: u64, name: &str| {
            u16::try_from(x)
                .map_err(|_| Rejection::malformed(format!("{name} is not a 16-bit UUID")))
        };
        Ok(ReadingPayload {
            dev: dev.ok_or_else(|| need("dev"))?,
            ctr: ctr.ok_or_else(|| need("ctr"))?,
            ts: ts.ok_or_else(|| need("ts"))?,
            nonce: nonce.ok_or_else(|| need("nonce"))?,
            svc: uuid16(svc.ok_or_else(|| need("svc"))?, "svc")?,
            chr: uuid16(chr.ok_or_else(|| need("chr"))?, "chr")?,
            val: val.ok_or_else(|| need("val"))?,
        })
    }

    /// Encodes the payload map, keys in the profile's order (`v, dev, ctr, ts, nonce, svc, chr,
    /// val`); verifiers accept any order, since the signature covers the bytes as sent.
    pub fn encode(&self) -> Vec<u8> {
        let t = |s: &str| Value::Text(s.into());
        let u = |n: u64| Value::Integer(Integer::from(n));
        to_vec(&Value::Map(vec![
            (t("v"), u(PAYLOAD_VERSION)),
            (t("dev"), Value::Text(self.dev.clone())),
            (t("ctr"), u(self.ctr)),
            (t("ts"), u(self.ts)),
            (t("nonce"), Value::Bytes(self.nonce.clone())),
            (t("svc"), u(u64::from(self.svc))),
            (t("chr"), u(u64::from(self.chr))),
            (t("val"), Value::Bytes(self.val.clone())),
        ]))
    }
}
