//! Blood Pressure Measurement 0x2A35 of the Blood Pressure service 0x1810 (BLS 1.1.1 §3.1,
//! GSS 3.31): its decoder and the simulator's encoder.

use serde::{Deserialize, Serialize};

#[cfg(feature = "sim")]
use super::spec::Spec;
use super::types::{Cursor, DateTime, MeasurementError, bit};
#[cfg(feature = "sim")]
use crate::ProvisionError;
use crate::ieee11073::Measure;

/// Blood Pressure service.
pub const SVC_BLOOD_PRESSURE: u16 = 0x1810;
/// Blood Pressure Measurement characteristic.
pub const CHR_BLOOD_PRESSURE: u16 = 0x2A35;

/// Blood pressure in mmHg (BLS 1.1.1 §3.1 / GSS 3.31).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct BloodPressure {
    /// Systolic pressure.
    pub systolic: Measure,
    /// Diastolic pressure.
    pub diastolic: Measure,
    /// Mean arterial pressure.
    pub mean_arterial: Measure,
    /// Always `"mmHg"`.
    pub unit: String,
    /// The unit the device sent: `"mmHg"` or `"kPa"` (converted, 1 kPa = 7.50062 mmHg).
    pub reported_unit: String,
    /// Pulse rate in beats per minute, if present.
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub pulse: Option<Measure>,
    /// The device's time stamp, if present.
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub time_stamp: Option<DateTime>,
    /// User ID, if present (255 = unknown user).
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub user_id: Option<u8>,
    /// Measurement status, if present.
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub status: Option<BloodPressureStatus>,
}

/// The Measurement Status field of 0x2A35.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct BloodPressureStatus {
    /// Bit 0: body movement during measurement.
    pub body_movement: bool,
    /// Bit 1: cuff too loose.
    pub cuff_too_loose: bool,
    /// Bit 2: irregular pulse detected.
    pub irregular_pulse: bool,
    /// Bits 3-4: `"within_range"`, `"above_upper_limit"`, `"below_lower_limit"` or `"reserved"`.
    pub pulse_rate_range: String,
    /// Bit 5: improper measurement position.
    pub improper_position: bool,
}

const MMHG_PER_KPA: f64 = 7.500_615_75;

pub(super) fn decode(c: &mut Cursor) -> Result<BloodPressure, MeasurementError> {
    let flags = u32::from(c.u8()?);
    let kpa = bit(flags, 0);
    let to_mmhg = |m: Measure| {
        if kpa {
            m.convert(|v| v * MMHG_PER_KPA, 1)
        } else {
            m
        }
    };
    let systolic = to_mmhg(c.sfloat()?);
    let diastolic = to_mmhg(c.sfloat()?);
    let mean_arterial = to_mmhg(c.sfloat()?);
    let time_stamp = if bit(flags, 1) {
        Some(c.date_time()?)
    } else {
        None
    };
    let pulse = if bit(flags, 2) {
        Some(c.sfloat()?)
    } else {
        None
    };
    let user_id = if bit(flags, 3) { Some(c.u8()?) } else { None };
    let status = if bit(flags, 4) {
        let s = u32::from(c.u16()?);
        Some(BloodPressureStatus {
            body_movement: bit(s, 0),
            cuff_too_loose: bit(s, 1),
            irregular_pulse: bit(s, 2),
            pulse_rate_range: match (s >> 3) & 0b11 {
                0 => "within_range",
                1 => "above_upper_limit",
                2 => "below_lower_limit",
                _ => "reserved",
            }
            .to_string(),
            improper_position: bit(s, 5),
        })
    } else {
        None
    };
    Ok(BloodPressure {
        systolic,
        diastolic,
        mean_arterial,
        unit: "mmHg".into(),
        reported_unit: if kpa { "kPa" } else { "mmHg" }.into(),
        pulse,
        time_stamp,
        user_id,
        status,
    })
}

/// `bp:SYS/DIA/MAP[,pulse=N][,user=N][,status=N][,kpa][,time=..]`, as a cuff sends it.
#[cfg(feature = "sim")]
pub(super) fn encode(s: &Spec) -> Result<Vec<u8>, ProvisionError> {
    let parts: Vec<&str> = s.main.split('/').collect();
    let [sys, dia, map] = parts[..] else {
        return Err(s.bad("bp:SYS/DIA/MAP"));
    };
    let mut flags = 0u8;
    if s.opt("kpa").is_some() {
        flags |= 1;
    }
    let mut body = Vec::new();
    for v in [sys, dia, map] {
        body.extend_from_slice(&s.sfloat(v)?);
    }
    s.time(&mut flags, 1, &mut body)?;
    if let Some(p) = s.opt("pulse") {
        flags |= 1 << 2;
        body.extend_from_slice(&s.sfloat(p)?);
    }
    if let Some(u) = s.opt("user") {
        flags |= 1 << 3;
        body.push(s.octet(u, "user is 0..=255")?);
    }
    if let Some(st) = s.opt("status") {
        flags |= 1 << 4;
        body.extend_from_slice(&s.int(st)?.to_le_bytes());
    }
    Ok([vec![flags], body].concat())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::measurement::spec::encoded;

    #[test]
    fn blood_pressure_from_spec_bytes() {
        // Flags 0x04 (pulse present), 120, 80, 93 mmHg, pulse 70: the bytes a cuff sends.
        let val = [0x04, 0x78, 0x00, 0x50, 0x00, 0x5D, 0x00, 0x46, 0x00];
        let bp = decode(&mut Cursor::new(CHR_BLOOD_PRESSURE, &val)).unwrap();
        assert_eq!(bp.systolic, Measure::Value(120.0));
        assert_eq!(bp.diastolic, Measure::Value(80.0));
        assert_eq!(bp.mean_arterial, Measure::Value(93.0));
        assert_eq!(bp.pulse, Some(Measure::Value(70.0)));
        assert_eq!(bp.unit, "mmHg");
        assert_eq!(encoded("bp:120/80/93,pulse=70", encode), val);
    }

    #[test]
    fn blood_pressure_kpa_all_fields() {
        // kPa, time stamp, pulse, user, status (irregular pulse + above range).
        let mut val = vec![0x1F];
        val.extend_from_slice(&0xF0A0u16.to_le_bytes()); // 16.0 kPa
        val.extend_from_slice(&0xF06Au16.to_le_bytes()); // 10.6 kPa
        val.extend_from_slice(&0x07FFu16.to_le_bytes()); // NaN
        val.extend_from_slice(&[0xEA, 0x07, 11, 23, 10, 30, 0]);
        val.extend_from_slice(&0x0048u16.to_le_bytes());
        val.push(3);
        val.extend_from_slice(&0b1100u16.to_le_bytes());
        let bp = decode(&mut Cursor::new(CHR_BLOOD_PRESSURE, &val)).unwrap();
        assert_eq!(bp.systolic, Measure::Value(120.0));
        assert_eq!(bp.diastolic, Measure::Value(79.5));
        assert_eq!(bp.mean_arterial, Measure::NaN);
        assert_eq!(bp.reported_unit, "kPa");
        assert_eq!(bp.time_stamp.unwrap().to_string(), "2026-11-23T10:30:00");
        assert_eq!(bp.user_id, Some(3));
        let st = bp.status.unwrap();
        assert!(st.irregular_pulse && !st.body_movement);
        assert_eq!(st.pulse_rate_range, "above_upper_limit");
    }
}
