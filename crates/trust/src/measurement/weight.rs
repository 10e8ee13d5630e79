//! Weight Measurement 0x2A9D of the Weight Scale service 0x181D (WSS 1.0, GSS 3.246): its
//! decoder and the simulator's encoder.

use serde::{Deserialize, Serialize};

#[cfg(feature = "sim")]
use super::spec::Spec;
use super::types::{Cursor, DateTime, MeasurementError, bit};
#[cfg(feature = "sim")]
use crate::ProvisionError;
use crate::ieee11073::{self, Measure};

/// Weight Scale service.
pub const SVC_WEIGHT_SCALE: u16 = 0x181D;
/// Weight Measurement characteristic.
pub const CHR_WEIGHT: u16 = 0x2A9D;

/// Body weight (WSS 1.0 / GSS 3.246).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Weight {
    /// Weight in kg; NaN when the device reports "measurement unsuccessful" (0xFFFF).
    pub weight: Measure,
    /// Always `"kg"`.
    pub unit: String,
    /// `"kg"` or `"lb"`: what the device sent (resolution 0.005 kg or 0.01 lb).
    pub reported_unit: String,
    /// The device's time stamp, if present.
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub time_stamp: Option<DateTime>,
    /// User ID, if present (255 = unknown user).
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub user_id: Option<u8>,
    /// Body mass index in kg/m², if present.
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub bmi: Option<Measure>,
    /// Height in metres, if present.
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub height_m: Option<Measure>,
}

pub(super) fn decode(c: &mut Cursor) -> Result<Weight, MeasurementError> {
    let flags = u32::from(c.u8()?);
    let imperial = bit(flags, 0);
    let raw = c.u16()?;
    let weight = if raw == 0xFFFF {
        // WSS: 0xFFFF = "Measurement Unsuccessful".
        Measure::NaN
    } else if imperial {
        Measure::Value(ieee11073::round_to(
            f64::from(raw) / 100.0 * 0.453_592_37,
            3,
        ))
    } else {
        Measure::Value(f64::from(u32::from(raw) * 5) / 1000.0)
    };
    let time_stamp = if bit(flags, 1) {
        Some(c.date_time()?)
    } else {
        None
    };
    let user_id = if bit(flags, 2) { Some(c.u8()?) } else { None };
    let (mut bmi, mut height_m) = (None, None);
    if bit(flags, 3) {
        bmi = Some(Measure::Value(f64::from(c.u16()?) / 10.0));
        let h = f64::from(c.u16()?);
        height_m = Some(Measure::Value(if imperial {
            ieee11073::round_to(h / 10.0 * 0.0254, 4)
        } else {
            h / 1000.0
        }));
    }
    Ok(Weight {
        weight,
        unit: "kg".into(),
        reported_unit: if imperial { "lb" } else { "kg" }.into(),
        time_stamp,
        user_id,
        bmi,
        height_m,
    })
}

/// `weight:72.5[,lb][,bmi=N,height=N][,user=N][,time=..]` (kg and m, or lb and in with `lb`), as
/// a scale sends it.
#[cfg(feature = "sim")]
pub(super) fn encode(s: &Spec) -> Result<Vec<u8>, ProvisionError> {
    let imperial = s.opt("lb").is_some();
    let (num, _) = s.main.split_at(
        s.main
            .trim_end_matches(|c: char| c.is_ascii_alphabetic())
            .len(),
    );
    let (m, e) = s.decimal(num)?;
    let raw = if imperial {
        scaled(s, m, e, -2, 1)?
    } else {
        scaled(s, m, e, -3, 5)?
    };
    let mut flags = u8::from(imperial);
    let mut body = raw.to_le_bytes().to_vec();
    s.time(&mut flags, 1, &mut body)?;
    if let Some(u) = s.opt("user") {
        flags |= 1 << 2;
        body.push(s.octet(u, "user is 0..=255")?);
    }
    if let (Some(b), Some(h)) = (s.opt("bmi"), s.opt("height")) {
        flags |= 1 << 3;
        let (bm, be) = ieee11073::parse_decimal(b).ok_or_else(|| s.bad("bad bmi"))?;
        let (hm, he) = ieee11073::parse_decimal(h).ok_or_else(|| s.bad("bad height"))?;
        body.extend_from_slice(&scaled(s, bm, be, -1, 1)?.to_le_bytes());
        let hraw = if imperial {
            scaled(s, hm, he, -1, 1)?
        } else {
            scaled(s, hm, he, -3, 1)?
        };
        body.extend_from_slice(&hraw.to_le_bytes());
    }
    Ok([vec![flags], body].concat())
}

/// `m * 10^e` in units of `step * 10^step_exp`, exactly (truncated), as a 16-bit field.
#[cfg(feature = "sim")]
fn scaled(s: &Spec, m: i64, e: i32, step_exp: i32, step: i64) -> Result<u16, ProvisionError> {
    let shift = e - step_exp;
    let units = if shift >= 0 {
        m * 10i64.pow(shift as u32)
    } else {
        m / 10i64.pow((-shift) as u32)
    };
    u16::try_from(units / step).map_err(|_| s.bad("value out of range"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::measurement::spec::round_trip;

    #[test]
    fn weight_height_bmi_and_pounds() {
        let w = round_trip(
            "weight:72.5,bmi=22.4,height=1.8",
            CHR_WEIGHT,
            encode,
            decode,
        );
        assert_eq!(w.weight, Measure::Value(72.5));
        assert_eq!(w.height_m, Some(Measure::Value(1.8)));
        assert_eq!(w.bmi, Some(Measure::Value(22.4)));
        let w = round_trip("weight:160,lb", CHR_WEIGHT, encode, decode);
        assert_eq!(w.weight, Measure::Value(72.575));
    }

    #[test]
    fn weight_unsuccessful_is_nan() {
        let w = decode(&mut Cursor::new(CHR_WEIGHT, &[0, 0xFF, 0xFF])).unwrap();
        assert_eq!(w.weight, Measure::NaN);
    }
}
