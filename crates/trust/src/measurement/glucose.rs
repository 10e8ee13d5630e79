//! Glucose Measurement 0x2A18 of the Glucose service 0x1808 (GLS 1.0, GSS 3.103): its decoder
//! and the simulator's encoder.

use serde::{Deserialize, Serialize};

#[cfg(feature = "sim")]
use super::spec::Spec;
use super::types::{Cursor, DateTime, MeasurementError, bit, set_bits};
#[cfg(feature = "sim")]
use crate::ProvisionError;
#[cfg(feature = "sim")]
use crate::ieee11073;
use crate::ieee11073::Measure;

/// Glucose service.
pub const SVC_GLUCOSE: u16 = 0x1808;
/// Glucose Measurement characteristic.
pub const CHR_GLUCOSE: u16 = 0x2A18;

/// Blood glucose (GLS 1.0 / GSS 3.103).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Glucose {
    /// Sequence number of the record on the meter.
    pub sequence_number: u16,
    /// Base time of the record.
    pub base_time: DateTime,
    /// Time offset from base time in minutes, if present.
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub time_offset_minutes: Option<i16>,
    /// Concentration in mg/dL, if present.
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub concentration: Option<Measure>,
    /// Always `"mg/dL"`.
    pub unit: String,
    /// Concentration in mmol/L (glucose molar mass 180.156 g/mol: 1 mmol/L = 18.0156 mg/dL).
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub mmol_per_l: Option<Measure>,
    /// `"kg/L"` or `"mol/L"`: what the device sent.
    pub reported_unit: String,
    /// Sample type (capillary whole blood, ..., control solution), if present.
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub sample_type: Option<String>,
    /// Sample location (finger, alternate site, earlobe, control solution, not available).
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub sample_location: Option<String>,
    /// Sensor Status Annunciation: the names of the set bits, if present.
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub sensor_status: Option<Vec<String>>,
    /// A Glucose Measurement Context record follows (flag bit 4).
    pub context_follows: bool,
}

/// mg/dL per mmol/L for glucose (molar mass 180.156 g/mol).
const MG_DL_PER_MMOL_L: f64 = 18.0156;

pub(super) fn decode(c: &mut Cursor) -> Result<Glucose, MeasurementError> {
    let flags = u32::from(c.u8()?);
    let sequence_number = c.u16()?;
    let base_time = c.date_time()?;
    let time_offset_minutes = if bit(flags, 0) {
        Some(c.u16()? as i16)
    } else {
        None
    };
    let molar = bit(flags, 2);
    let (mut concentration, mut mmol_per_l, mut sample_type, mut sample_location) =
        (None, None, None, None);
    if bit(flags, 1) {
        let raw = c.sfloat()?;
        let (mg_dl, mmol) = if molar {
            let mmol = raw.convert(|v| v * 1000.0, 3);
            (mmol.convert(|v| v * MG_DL_PER_MMOL_L, 1), mmol)
        } else {
            // 1 kg/L = 10^6 mg / 10 dL.
            let mg = raw.convert(|v| v * 100_000.0, 3);
            (mg, mg.convert(|v| v / MG_DL_PER_MMOL_L, 2))
        };
        concentration = Some(mg_dl);
        mmol_per_l = Some(mmol);
        let ts = c.u8()?;
        sample_type = Some(
            match ts & 0x0F {
                1 => "capillary_whole_blood",
                2 => "capillary_plasma",
                3 => "venous_whole_blood",
                4 => "venous_plasma",
                5 => "arterial_whole_blood",
                6 => "arterial_plasma",
                7 => "undetermined_whole_blood",
                8 => "undetermined_plasma",
                9 => "interstitial_fluid",
                10 => "control_solution",
                _ => "reserved",
            }
            .to_string(),
        );
        sample_location = Some(
            match ts >> 4 {
                1 => "finger",
                2 => "alternate_site",
                3 => "earlobe",
                4 => "control_solution",
                15 => "not_available",
                _ => "reserved",
            }
            .to_string(),
        );
    }
    let sensor_status = if bit(flags, 3) {
        Some(set_bits(
            u32::from(c.u16()?),
            &[
                "battery_low",
                "sensor_malfunction",
                "sample_size_insufficient",
                "strip_insertion_error",
                "strip_type_incorrect",
                "result_too_high",
                "result_too_low",
                "temperature_too_high",
                "temperature_too_low",
                "read_interrupted",
                "general_device_fault",
                "time_fault",
            ],
        ))
    } else {
        None
    };
    Ok(Glucose {
        sequence_number,
        base_time,
        time_offset_minutes,
        concentration,
        unit: "mg/dL".into(),
        mmol_per_l,
        reported_unit: if molar { "mol/L" } else { "kg/L" }.into(),
        sample_type,
        sample_location,
        sensor_status,
        context_follows: bit(flags, 4),
    })
}

/// `glucose:95[,mmol][,seq=N][,status=N][,time=..]` (mg/dL, or mmol/L with `mmol`), a capillary
/// finger sample as a meter sends it; `ts` (Unix seconds) is the base time when `time=` is absent.
#[cfg(feature = "sim")]
pub(super) fn encode(s: &Spec, ts: u64) -> Result<Vec<u8>, ProvisionError> {
    let molar = s.opt("mmol").is_some();
    let (m, e) = s.decimal(s.main)?;
    // mg/dL -> kg/L is 10^-5; mmol/L -> mol/L is 10^-3.
    let raw = ieee11073::encode_sfloat(m, e - if molar { 3 } else { 5 })
        .ok_or_else(|| s.bad("value does not fit SFLOAT"))?;
    let mut flags = 0b10u8 | if molar { 0b100 } else { 0 };
    let seq = s.opt("seq").map(|n| s.int(n)).transpose()?.unwrap_or(1);
    let base = match s.opt("time") {
        Some(t) => s.date_time(t)?,
        None => DateTime::from_unix(ts),
    };
    let mut body = seq.to_le_bytes().to_vec();
    body.extend_from_slice(&base.to_bytes());
    body.extend_from_slice(&raw.to_le_bytes());
    body.push(0x11); // capillary whole blood, finger
    if let Some(st) = s.opt("status") {
        flags |= 1 << 3;
        body.extend_from_slice(&s.int(st)?.to_le_bytes());
    }
    Ok([vec![flags], body].concat())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::measurement::spec::round_trip;

    fn dec(text: &str) -> Glucose {
        round_trip(text, CHR_GLUCOSE, |s| encode(s, 1_790_000_000), decode)
    }

    #[test]
    fn glucose_units() {
        let g = dec("glucose:95,seq=7");
        assert_eq!(g.concentration, Some(Measure::Value(95.0)));
        assert_eq!(g.mmol_per_l, Some(Measure::Value(5.27)));
        assert_eq!(g.sequence_number, 7);
        assert_eq!(g.sample_location.as_deref(), Some("finger"));
        let g = dec("glucose:5.5,mmol");
        assert_eq!(g.mmol_per_l, Some(Measure::Value(5.5)));
        assert_eq!(g.concentration, Some(Measure::Value(99.1)));
    }
}
