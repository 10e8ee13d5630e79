//! PLX Continuous Measurement 0x2A5F of the Pulse Oximeter service 0x1822 (PLXS 1.0.1 §3.2,
//! GSS "PLX Continuous Measurement"): notify-only, a stream of SpO2 and pulse rate while the
//! finger is in the sensor. Decoder only: the simulator signs spot checks, not streams.

use serde::{Deserialize, Serialize};

use super::plx_spot_check::measurement_status;
use super::types::{Cursor, MeasurementError, bit};
use crate::ieee11073::Measure;

/// PLX Continuous Measurement characteristic.
pub const CHR_PLX_CONTINUOUS: u16 = 0x2A5F;

/// One SpO2 / pulse rate pair (the `SpO2PR-*` fields).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SpO2Pr {
    /// SpO2 in percent.
    pub spo2: Measure,
    /// Pulse rate in beats per minute.
    pub pulse: Measure,
}

/// Continuous pulse oximetry (PLXS 1.0.1 §3.2).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PulseOximetryContinuous {
    /// SpO2PR-Normal: always present.
    pub normal: SpO2Pr,
    /// SpO2PR-Fast (flag bit 0), if present.
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub fast: Option<SpO2Pr>,
    /// SpO2PR-Slow (flag bit 1), if present.
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub slow: Option<SpO2Pr>,
    /// Always `"%"` for SpO2 (pulse is in bpm).
    pub unit: String,
    /// Measurement Status (flag bit 2): the names of the set bits, if present.
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub measurement_status: Option<Vec<String>>,
    /// Device and Sensor Status, 24 bits (flag bit 3), if present.
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub device_sensor_status: Option<u32>,
    /// Pulse Amplitude Index in percent (flag bit 4), if present.
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub pulse_amplitude_index: Option<Measure>,
}

fn pair(c: &mut Cursor) -> Result<SpO2Pr, MeasurementError> {
    Ok(SpO2Pr {
        spo2: c.sfloat()?,
        pulse: c.sfloat()?,
    })
}

pub(super) fn decode(c: &mut Cursor) -> Result<PulseOximetryContinuous, MeasurementError> {
    let flags = u32::from(c.u8()?);
    let normal = pair(c)?;
    let fast = if bit(flags, 0) { Some(pair(c)?) } else { None };
    let slow = if bit(flags, 1) { Some(pair(c)?) } else { None };
    let measurement_status = if bit(flags, 2) {
        Some(measurement_status(u32::from(c.u16()?)))
    } else {
        None
    };
    let device_sensor_status = if bit(flags, 3) { Some(c.u24()?) } else { None };
    let pulse_amplitude_index = if bit(flags, 4) {
        Some(c.sfloat()?)
    } else {
        None
    };
    Ok(PulseOximetryContinuous {
        normal,
        fast,
        slow,
        unit: "%".into(),
        measurement_status,
        device_sensor_status,
        pulse_amplitude_index,
    })
}
