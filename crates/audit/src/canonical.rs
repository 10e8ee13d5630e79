//! Deterministic CBOR (RFC 8949 §4.2.1 "Core Deterministic Encoding Requirements") of JSON-shaped
//! values, which is what audit entries hash.
//!
//! - Preferred serialization: integers and lengths in their shortest form; floats in the shortest
//!   of half/single/double precision that represents the value exactly (§4.2.1, §3.3).
//! - Definite lengths only.
//! - Map keys sorted by the bytewise lexicographic order of their deterministic encodings (so
//!   shorter text keys come first).
//!
//! JSON numbers that fit `u64` / `i64` are CBOR integers (major types 0 and 1); all others are
//! floats. Integral floats are *not* turned into integers (that is an optional §4.2.2 rule this
//! profile does not use): `1.0` and `1` hash differently, as they read differently in JSON.

use serde_json::Value;
use veil_core::cbor::{ARRAY, MAP, NINT, UINT, put_head as head};

/// Append the shortest exact float encoding of `x`.
fn float(out: &mut Vec<u8>, x: f64) {
    let h = half::f16::from_f64(x);
    if h.to_f64() == x || (x.is_nan() && h.is_nan()) {
        out.push(0xf9);
        out.extend_from_slice(&h.to_bits().to_be_bytes());
        return;
    }
    let s = x as f32;
    if f64::from(s) == x {
        out.push(0xfa);
        out.extend_from_slice(&s.to_bits().to_be_bytes());
        return;
    }
    out.push(0xfb);
    out.extend_from_slice(&x.to_bits().to_be_bytes());
}

/// Text string.
pub(crate) fn text(out: &mut Vec<u8>, s: &str) {
    veil_core::cbor::put_text(out, s);
}

/// Unsigned integer.
pub(crate) fn uint(out: &mut Vec<u8>, n: u64) {
    head(out, UINT, n);
}

/// Append the deterministic encoding of a JSON value.
pub fn encode_value(out: &mut Vec<u8>, v: &Value) {
    match v {
        Value::Null => out.push(0xf6),
        Value::Bool(false) => out.push(0xf4),
        Value::Bool(true) => out.push(0xf5),
        Value::Number(n) => {
            if let Some(u) = n.as_u64() {
                head(out, UINT, u);
            } else if let Some(i) = n.as_i64() {
                // Negative integers: major type 1, argument -1 - n (RFC 8949 §3.1).
                head(out, NINT, (-1 - i128::from(i)) as u64);
            } else {
                float(out, n.as_f64().unwrap_or(f64::NAN));
            }
        }
        Value::String(s) => text(out, s),
        Value::Array(items) => {
            head(out, ARRAY, items.len() as u64);
            for item in items {
                encode_value(out, item);
            }
        }
        Value::Object(map) => {
            encode_map(
                out,
                map.iter().map(|(k, v)| (k.as_str(), MapValue::Json(v))),
            );
        }
    }
}

/// A map value: either a JSON value or pre-encoded bytes.
pub(crate) enum MapValue<'a> {
    /// Encode this JSON value.
    Json(&'a Value),
    /// Already encoded.
    Raw(Vec<u8>),
}

/// Encode a map with text keys in deterministic key order.
pub(crate) fn encode_map<'a>(
    out: &mut Vec<u8>,
    entries: impl Iterator<Item = (&'a str, MapValue<'a>)>,
) {
    let mut encoded: Vec<(Vec<u8>, Vec<u8>)> = entries
        .map(|(k, v)| {
            let mut key = Vec::with_capacity(k.len() + 2);
            text(&mut key, k);
            let val = match v {
                MapValue::Json(j) => {
                    let mut b = Vec::new();
                    encode_value(&mut b, j);
                    b
                }
                MapValue::Raw(b) => b,
            };
            (key, val)
        })
        .collect();
    encoded.sort_by(|a, b| a.0.cmp(&b.0));
    head(out, MAP, encoded.len() as u64);
    for (k, v) in encoded {
        out.extend_from_slice(&k);
        out.extend_from_slice(&v);
    }
}

/// The deterministic encoding of a JSON value.
pub fn to_canonical_cbor(v: &Value) -> Vec<u8> {
    let mut out = Vec::new();
    encode_value(&mut out, v);
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn hex(v: Value) -> String {
        hex::encode(to_canonical_cbor(&v))
    }

    // RFC 8949 Appendix A.
    #[test]
    fn appendix_a_examples() {
        assert_eq!(hex(json!(0)), "00");
        assert_eq!(hex(json!(23)), "17");
        assert_eq!(hex(json!(24)), "1818");
        assert_eq!(hex(json!(100)), "1864");
        assert_eq!(hex(json!(1000)), "1903e8");
        assert_eq!(hex(json!(1000000)), "1a000f4240");
        assert_eq!(hex(json!(1000000000000u64)), "1b000000e8d4a51000");
        assert_eq!(hex(json!(18446744073709551615u64)), "1bffffffffffffffff");
        assert_eq!(hex(json!(-1)), "20");
        assert_eq!(hex(json!(-10)), "29");
        assert_eq!(hex(json!(-100)), "3863");
        assert_eq!(hex(json!(-1000)), "3903e7");
        assert_eq!(hex(json!(-9223372036854775808i64)), "3b7fffffffffffffff");
        assert_eq!(hex(json!(0.0)), "f90000");
        assert_eq!(hex(json!(-0.0)), "f98000");
        assert_eq!(hex(json!(1.0)), "f93c00");
        assert_eq!(hex(json!(1.1)), "fb3ff199999999999a");
        assert_eq!(hex(json!(1.5)), "f93e00");
        assert_eq!(hex(json!(65504.0)), "f97bff");
        assert_eq!(hex(json!(100000.0)), "fa47c35000");
        assert_eq!(hex(json!(3.4028234663852886e+38)), "fa7f7fffff");
        assert_eq!(hex(json!(1.0e+300)), "fb7e37e43c8800759c");
        assert_eq!(hex(json!(5.960464477539063e-8)), "f90001");
        assert_eq!(hex(json!(0.00006103515625)), "f90400");
        assert_eq!(hex(json!(-4.0)), "f9c400");
        assert_eq!(hex(json!(-4.1)), "fbc010666666666666");
        assert_eq!(hex(json!(false)), "f4");
        assert_eq!(hex(json!(true)), "f5");
        assert_eq!(hex(json!(null)), "f6");
        assert_eq!(hex(json!("")), "60");
        assert_eq!(hex(json!("a")), "6161");
        assert_eq!(hex(json!("IETF")), "6449455446");
        assert_eq!(hex(json!("\u{00fc}")), "62c3bc");
        assert_eq!(hex(json!([])), "80");
        assert_eq!(hex(json!([1, [2, 3], [4, 5]])), "8301820203820405");
        assert_eq!(hex(json!({})), "a0");
        assert_eq!(hex(json!({"a": 1, "b": [2, 3]})), "a26161016162820203");
        assert_eq!(hex(json!(["a", {"b": "c"}])), "826161a161626163");
        assert_eq!(
            hex(json!({"a": "A", "b": "B", "c": "C", "d": "D", "e": "E"})),
            "a56161614161626142616361436164614461656145"
        );
    }

    #[test]
    fn keys_sort_by_encoded_bytes_shorter_first() {
        // RFC 8949 §4.2.1: "b" (0x6162) sorts before "aa" (0x626161).
        assert_eq!(hex(json!({"aa": 1, "b": 2})), "a261620262616101");
    }

    #[test]
    fn matches_ciborium_decoding() {
        let v = json!({"z": [1, -2, 3.25, "x", null, true], "a": {"k": 1e300}});
        let bytes = to_canonical_cbor(&v);
        let back: Value = ciborium::from_reader(bytes.as_slice()).unwrap();
        assert_eq!(back, v);
    }
}
