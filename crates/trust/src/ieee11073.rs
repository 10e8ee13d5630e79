//! IEEE 11073-20601 SFLOAT (16-bit) and FLOAT (32-bit) medical number formats, as the Bluetooth
//! SIG health characteristics carry them, with their special values.
//!
//! A value is `mantissa * 10^exponent`; SFLOAT has a 4-bit exponent and 12-bit mantissa, FLOAT an
//! 8-bit exponent and 24-bit mantissa, both two's complement. Special values (IEEE 11073-20601
//! §F.8, Bluetooth GSS "medfloat16/medfloat32"): NaN, NRes (not at this resolution), +INF, -INF
//! and one reserved code. They are kept as distinct states, never folded into a number, so a
//! "measurement failed" never shows as a plausible value.

use serde::de::{self, Visitor};
use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// A measured quantity in a fixed unit, or one of the IEEE 11073 special values.
///
/// Serialized as a JSON number when finite (an integer when it has no fractional part), and as
/// the strings `"NaN"`, `"NRes"`, `"+INF"`, `"-INF"`, `"reserved"` otherwise.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Measure {
    /// A finite value.
    Value(f64),
    /// Not a number: the device could not produce a value.
    NaN,
    /// Not at this resolution: the value does not fit the format's precision.
    NRes,
    /// Positive infinity (above the measurable range).
    PositiveInfinity,
    /// Negative infinity (below the measurable range).
    NegativeInfinity,
    /// The reserved special code (0x0801 / 0x00800001).
    Reserved,
}

impl Measure {
    /// The finite value, if any.
    pub fn value(&self) -> Option<f64> {
        match self {
            Measure::Value(v) => Some(*v),
            _ => None,
        }
    }

    /// Applies a unit conversion to a finite value (special values pass through), rounding to
    /// `decimals` places so converted values stay readable (98.6 °F shows as 37 °C, not
    /// 36.99999999999999).
    pub fn convert(self, f: impl Fn(f64) -> f64, decimals: i32) -> Measure {
        match self {
            Measure::Value(v) => Measure::Value(round_to(f(v), decimals)),
            other => other,
        }
    }
}

pub(crate) fn round_to(v: f64, decimals: i32) -> f64 {
    let scale = 10f64.powi(decimals);
    (v * scale).round() / scale
}

fn from_decimal(mantissa: i64, exponent: i32) -> f64 {
    // Dividing by an exact power of ten gives the nearest double to the decimal (36.6, not
    // 36.600000000000001 from multiplying by 0.1).
    if exponent >= 0 {
        mantissa as f64 * 10f64.powi(exponent)
    } else {
        mantissa as f64 / 10f64.powi(-exponent)
    }
}

/// Decodes an SFLOAT-Type (16-bit, little-endian on the wire, already assembled here).
pub fn decode_sfloat(raw: u16) -> Measure {
    match raw {
        0x07FF => Measure::NaN,
        0x0800 => Measure::NRes,
        0x07FE => Measure::PositiveInfinity,
        0x0802 => Measure::NegativeInfinity,
        0x0801 => Measure::Reserved,
        _ => {
            let mut mantissa = i64::from(raw & 0x0FFF);
            if mantissa >= 0x0800 {
                mantissa -= 0x1000;
            }
            let mut exponent = i32::from(raw >> 12);
            if exponent >= 0x8 {
                exponent -= 0x10;
            }
            Measure::Value(from_decimal(mantissa, exponent))
        }
    }
}

/// Decodes a FLOAT-Type (32-bit).
pub fn decode_float(raw: u32) -> Measure {
    match raw {
        0x007F_FFFF => Measure::NaN,
        0x0080_0000 => Measure::NRes,
        0x007F_FFFE => Measure::PositiveInfinity,
        0x0080_0002 => Measure::NegativeInfinity,
        0x0080_0001 => Measure::Reserved,
        _ => {
            let mut mantissa = i64::from(raw & 0x00FF_FFFF);
            if mantissa >= 0x0080_0000 {
                mantissa -= 0x0100_0000;
            }
            let exponent = i32::from((raw >> 24) as u8 as i8);
            Measure::Value(from_decimal(mantissa, exponent))
        }
    }
}

/// Splits a decimal string (`"120"`, `"36.6"`, `"-0.25"`) into mantissa and exponent, the form
/// the IEEE 11073 encoders take. `None` if it is not a plain decimal number.
pub fn parse_decimal(s: &str) -> Option<(i64, i32)> {
    let s = s.trim();
    let (neg, digits) = match s.strip_prefix('-') {
        Some(rest) => (true, rest),
        None => (false, s.strip_prefix('+').unwrap_or(s)),
    };
    let (int, frac) = match digits.split_once('.') {
        Some((i, f)) => (i, f),
        None => (digits, ""),
    };
    if int.is_empty() && frac.is_empty() {
        return None;
    }
    if !int.bytes().chain(frac.bytes()).all(|b| b.is_ascii_digit()) || int.len() + frac.len() > 15 {
        return None;
    }
    let all: String = format!("{int}{frac}");
    let mut mantissa: i64 = all.parse().ok()?;
    let mut exponent = -(frac.len() as i32);
    // Normalise trailing zeros into the exponent so more values fit the short mantissa.
    while mantissa != 0 && mantissa % 10 == 0 {
        mantissa /= 10;
        exponent += 1;
    }
    if mantissa == 0 {
        exponent = 0;
    }
    Some((if neg { -mantissa } else { mantissa }, exponent))
}

/// Encodes a decimal as SFLOAT, or `None` if it does not fit (mantissa beyond ±2047 after
/// scaling, exponent beyond -8..=7). Positive exponents are expanded into the mantissa first so
/// that `120` is sent as mantissa 120, exponent 0, as devices do.
pub fn encode_sfloat(mantissa: i64, exponent: i32) -> Option<u16> {
    let (m, e) = fit(mantissa, exponent, 2045, -2045, -8, 7)?;
    Some((((e as i16 as u16) & 0x0F) << 12) | ((m as i16 as u16) & 0x0FFF))
}

/// Encodes a decimal as FLOAT, or `None` if it does not fit.
pub fn encode_float(mantissa: i64, exponent: i32) -> Option<u32> {
    let (m, e) = fit(mantissa, exponent, 0x007F_FFFD, -0x007F_FFFD, -128, 127)?;
    Some((u32::from(e as i8 as u8) << 24) | ((m as i32 as u32) & 0x00FF_FFFF))
}

fn fit(mut m: i64, mut e: i32, max: i64, min: i64, emin: i32, emax: i32) -> Option<(i64, i32)> {
    while (m > max || m < min) && m % 10 == 0 {
        m /= 10;
        e += 1;
    }
    while e > 0 {
        match m.checked_mul(10) {
            Some(n) if n <= max && n >= min => {
                m = n;
                e -= 1;
            }
            _ => break,
        }
    }
    if m > max || m < min || e < emin || e > emax {
        return None;
    }
    Some((m, e))
}

impl Serialize for Measure {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        match self {
            Measure::Value(v) if v.fract() == 0.0 && v.abs() < 9.007_199_254_740_992e15 => {
                serializer.serialize_i64(*v as i64)
            }
            Measure::Value(v) => serializer.serialize_f64(*v),
            Measure::NaN => serializer.serialize_str("NaN"),
            Measure::NRes => serializer.serialize_str("NRes"),
            Measure::PositiveInfinity => serializer.serialize_str("+INF"),
            Measure::NegativeInfinity => serializer.serialize_str("-INF"),
            Measure::Reserved => serializer.serialize_str("reserved"),
        }
    }
}

impl<'de> Deserialize<'de> for Measure {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct MeasureVisitor;
        impl Visitor<'_> for MeasureVisitor {
            type Value = Measure;
            fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                f.write_str("a number or one of NaN, NRes, +INF, -INF, reserved")
            }
            fn visit_f64<E: de::Error>(self, v: f64) -> Result<Measure, E> {
                Ok(Measure::Value(v))
            }
            fn visit_i64<E: de::Error>(self, v: i64) -> Result<Measure, E> {
                Ok(Measure::Value(v as f64))
            }
            fn visit_u64<E: de::Error>(self, v: u64) -> Result<Measure, E> {
                Ok(Measure::Value(v as f64))
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<Measure, E> {
                match v {
                    "NaN" => Ok(Measure::NaN),
                    "NRes" => Ok(Measure::NRes),
                    "+INF" => Ok(Measure::PositiveInfinity),
                    "-INF" => Ok(Measure::NegativeInfinity),
                    "reserved" => Ok(Measure::Reserved),
                    other => Err(E::invalid_value(de::Unexpected::Str(other), &self)),
                }
            }
        }
        deserializer.deserialize_any(MeasureVisitor)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sfloat_examples_from_the_spec() {
        // 120 mmHg: exponent 0, mantissa 120 = 0x0078.
        assert_eq!(decode_sfloat(0x0078), Measure::Value(120.0));
        // 36.6: mantissa 366 (0x16E), exponent -1 (0xF).
        assert_eq!(decode_sfloat(0xF16E), Measure::Value(36.6));
        // negative mantissa: -1 * 10^0
        assert_eq!(decode_sfloat(0x0FFF), Measure::Value(-1.0));
        // positive exponent: 2 * 10^2
        assert_eq!(decode_sfloat(0x2002), Measure::Value(200.0));
        assert_eq!(decode_sfloat(0x07FF), Measure::NaN);
        assert_eq!(decode_sfloat(0x0800), Measure::NRes);
        assert_eq!(decode_sfloat(0x07FE), Measure::PositiveInfinity);
        assert_eq!(decode_sfloat(0x0802), Measure::NegativeInfinity);
        assert_eq!(decode_sfloat(0x0801), Measure::Reserved);
    }

    #[test]
    fn float_examples_and_specials() {
        // 36.4 = 364 * 10^-1
        assert_eq!(decode_float(0xFF00_016C), Measure::Value(36.4));
        assert_eq!(decode_float(0x00FF_FFFF), Measure::Value(-1.0));
        assert_eq!(decode_float(0x007F_FFFF), Measure::NaN);
        assert_eq!(decode_float(0x0080_0000), Measure::NRes);
        assert_eq!(decode_float(0x007F_FFFE), Measure::PositiveInfinity);
        assert_eq!(decode_float(0x0080_0002), Measure::NegativeInfinity);
        assert_eq!(decode_float(0x0080_0001), Measure::Reserved);
    }

    #[test]
    fn encoders_round_trip() {
        for s in ["120", "36.6", "-0.5", "0", "2000", "98.6", "1.25"] {
            let (m, e) = parse_decimal(s).unwrap();
            let want: f64 = s.parse().unwrap();
            assert_eq!(
                decode_sfloat(encode_sfloat(m, e).unwrap()),
                Measure::Value(want),
                "{s}"
            );
            assert_eq!(
                decode_float(encode_float(m, e).unwrap()),
                Measure::Value(want),
                "{s}"
            );
        }
        assert_eq!(encode_sfloat(120, 0), Some(0x0078));
        assert_eq!(encode_sfloat(5000, 0), Some(0x11F4));
        assert_eq!(encode_sfloat(123456, 0), None);
        assert_eq!(parse_decimal("abc"), None);
        assert_eq!(parse_decimal("."), None);
    }

    #[test]
    fn serializes_numbers_and_specials() {
        let json = serde_json::to_string(&[
            Measure::Value(120.0),
            Measure::Value(36.6),
            Measure::NaN,
            Measure::NegativeInfinity,
        ])
        .unwrap();
        assert_eq!(json, r#"[120,36.6,"NaN","-INF"]"#);
        let back: Vec<Measure> = serde_json::from_str(&json).unwrap();
        assert_eq!(back[1], Measure::Value(36.6));
        assert_eq!(back[3], Measure::NegativeInfinity);
    }
}
