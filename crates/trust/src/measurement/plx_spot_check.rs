//! PLX Spot-Check Measurement 0x2A5E of the Pulse Oximeter service 0x1822 (PLXS 1.0,
//! GSS 3.173): its decoder and the simulator's encoder.

use serde::{Deserialize, Serialize};

#[cfg(feature = "sim")]
use super::spec::Spec;
use super::types::{Cursor, DateTime, MeasurementError, bit, set_bits};
#[cfg(feature = "sim")]
use crate::ProvisionError;
use crate::ieee11073::Measure;

/// Pulse Oximeter service.
pub const SVC_PULSE_OXIMETER: u16 = 0x1822;
/// PLX Spot-Check Measurement characteristic.
pub const CHR_PLX_SPOT_CHECK: u16 = 0x2A5E;

/// Pulse oximetry spot check (PLXS 1.0 / GSS 3.173).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PulseOximetry {
    /// SpO2 in percent.
    pub spo2: Measure,
    /// Pulse rate in beats per minute.
    pub pulse: Measure,
    /// Always `"%"` for spo2 (pulse is in bpm).
    pub unit: String,
    /// The device's time stamp, if present.
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub time_stamp: Option<DateTime>,
    /// Measurement Status: the names of the set bits, if present.
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub measurement_status: Option<Vec<String>>,
    /// Device and Sensor Status (24 bits), if present.
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub device_sensor_status: Option<u32>,
    /// Pulse Amplitude Index in percent, if present.
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub pulse_amplitude_index: Option<Measure>,
    /// Flag bit 4: the device clock is not set, so its time stamp is not meaningful.
    pub device_clock_not_set: bool,
}

/// The names of the set bits of a PLX Measurement Status field (PLXS 1.0.1 §3.1.1.4; bits 0-4
/// are reserved).
pub(super) fn measurement_status(bits: u32) -> Vec<String> {
    set_bits(
        bits,
        &[
            "",
            "",
            "",
            "",
            "",
            "measurement_ongoing",
            "early_estimated_data",
            "validated_data",
            "fully_qualified_data",
            "data_from_storage",
            "data_for_demonstration",
            "data_for_testing",
            "calibration_ongoing",
            "measurement_unavailable",
            "questionable_measurement",
            "invalid_measurement",
        ],
    )
}

pub(super) fn decode(c: &mut Cursor) -> Result<PulseOximetry, MeasurementError> {
    let flags = u32::from(c.u8()?);
    let spo2 = c.sfloat()?;
    let pulse = c.sfloat()?;
    let time_stamp = if bit(flags, 0) {
        Some(c.date_time()?)
    } else {
        None
    };
    let measurement_status = if bit(flags, 1) {
        Some(measurement_status(u32::from(c.u16()?)))
    } else {
        None
    };
    let device_sensor_status = if bit(flags, 2) { Some(c.u24()?) } else { None };
    let pulse_amplitude_index = if bit(flags, 3) {
        Some(c.sfloat()?)
    } else {
        None
    };
    Ok(PulseOximetry {
        spo2,
        pulse,
        unit: "%".into(),
        time_stamp,
        measurement_status,
        device_sensor_status,
        pulse_amplitude_index,
        device_clock_not_set: bit(flags, 4),
    })
}

/// `spo2:SPO2/PR[,pai=N][,time=..]`, as an oximeter sends a spot check.
#[cfg(feature = "sim")]
pub(super) fn encode(s: &Spec) -> Result<Vec<u8>, ProvisionError> {
    let (spo2, pulse) = s
        .main
        .split_once('/')
        .ok_or_else(|| s.bad("spo2:SPO2/PR"))?;
    let mut flags = 0u8;
    let mut body = [s.sfloat(spo2)?, s.sfloat(pulse)?].concat();
    s.time(&mut flags, 0, &mut body)?;
    if let Some(pai) = s.opt("pai") {
        flags |= 1 << 3;
        body.extend_from_slice(&s.sfloat(pai)?);
    }
    Ok([vec![flags], body].concat())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::measurement::spec::round_trip;

    #[test]
    fn spot_check() {
        let p = round_trip("spo2:98/72,pai=2.5", CHR_PLX_SPOT_CHECK, encode, decode);
        assert_eq!(
            (p.spo2, p.pulse),
            (Measure::Value(98.0), Measure::Value(72.0))
        );
        assert_eq!(p.pulse_amplitude_index, Some(Measure::Value(2.5)));
    }
}
