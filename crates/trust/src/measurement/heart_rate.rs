//! Heart Rate Measurement 0x2A37 of the Heart Rate service 0x180D (HRS 1.0, GSS 3.113): its
//! decoder and the simulator's encoder.

use serde::{Deserialize, Serialize};

#[cfg(feature = "sim")]
use super::spec::Spec;
use super::types::{Cursor, MeasurementError, bit};
#[cfg(feature = "sim")]
use crate::ProvisionError;

/// Heart Rate service.
pub const SVC_HEART_RATE: u16 = 0x180D;
/// Heart Rate Measurement characteristic.
pub const CHR_HEART_RATE: u16 = 0x2A37;

/// Heart rate (HRS 1.0 / GSS 3.113).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct HeartRate {
    /// Heart rate in beats per minute.
    pub heart_rate: u16,
    /// Always `"bpm"`.
    pub unit: String,
    /// Sensor contact: `Some(detected)` if the sensor supports contact detection.
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub sensor_contact: Option<bool>,
    /// Energy expended in kilojoules since the last reset, if present.
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub energy_expended_kj: Option<u16>,
    /// RR intervals in seconds (sent in units of 1/1024 s), oldest first.
    #[serde(skip_serializing_if = "Vec::is_empty", default)]
    pub rr_intervals_s: Vec<f64>,
}

pub(super) fn decode(c: &mut Cursor) -> Result<HeartRate, MeasurementError> {
    let flags = u32::from(c.u8()?);
    let heart_rate = if bit(flags, 0) {
        c.u16()?
    } else {
        u16::from(c.u8()?)
    };
    let sensor_contact = if bit(flags, 2) {
        Some(bit(flags, 1))
    } else {
        None
    };
    let energy_expended_kj = if bit(flags, 3) { Some(c.u16()?) } else { None };
    let mut rr_intervals_s = Vec::new();
    if bit(flags, 4) {
        // The RR intervals fill the rest of the value (at most (MTU-3)/2 of them).
        while c.remaining() >= 2 {
            rr_intervals_s.push(f64::from(c.u16()?) / 1024.0);
        }
    }
    Ok(HeartRate {
        heart_rate,
        unit: "bpm".into(),
        sensor_contact,
        energy_expended_kj,
        rr_intervals_s,
    })
}

/// `hr:72[,rr=0.80/0.82][,energy=N][,contact=yes|no]`, as a heart-rate sensor sends it.
#[cfg(feature = "sim")]
pub(super) fn encode(s: &Spec) -> Result<Vec<u8>, ProvisionError> {
    let bpm = s.int(s.main)?;
    let mut flags = 0u8;
    let mut body = Vec::new();
    if let Ok(small) = u8::try_from(bpm) {
        body.push(small);
    } else {
        flags |= 1;
        body.extend_from_slice(&bpm.to_le_bytes());
    }
    match s.opt("contact") {
        Some("yes") => flags |= 0b110,
        Some("no") => flags |= 0b100,
        _ => {}
    }
    if let Some(e) = s.opt("energy") {
        flags |= 1 << 3;
        body.extend_from_slice(&s.int(e)?.to_le_bytes());
    }
    if let Some(rr) = s.opt("rr") {
        flags |= 1 << 4;
        for interval in rr.split('/') {
            let secs: f64 = interval.parse().map_err(|_| s.bad("rr in seconds"))?;
            let units = (secs * 1024.0).round();
            if !(0.0..=65535.0).contains(&units) {
                return Err(s.bad("rr out of range"));
            }
            body.extend_from_slice(&(units as u16).to_le_bytes());
        }
    }
    Ok([vec![flags], body].concat())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::measurement::spec::round_trip;

    #[test]
    fn heart_rate_wide_with_rr_and_contact() {
        let h = round_trip(
            "hr:300,rr=0.5/1,contact=yes",
            CHR_HEART_RATE,
            encode,
            decode,
        );
        assert_eq!(h.heart_rate, 300);
        assert_eq!(h.rr_intervals_s, vec![0.5, 1.0]);
        assert_eq!(h.sensor_contact, Some(true));
    }
}
