//! The readable description characteristics of the health services: what a device supports,
//! read once after connecting (they are the only readable characteristics of these services;
//! the measurements themselves come by indication or notification).
//!
//! Blood Pressure Feature 0x2A49 (BLS 1.1.1 §3.3), Temperature Type 0x2A1D (HTS 1.0 §3.2),
//! Weight Scale Feature 0x2A9E (WSS 1.0 §3.1), PLX Features 0x2A60 (PLXS 1.0.1 §3.3), Glucose
//! Feature 0x2A51 (GLS 1.0.1 §3.3).

use serde::{Deserialize, Serialize};

use super::temperature::site_name;
use super::types::{Cursor, MeasurementError, bit, set_bits};

/// Blood Pressure Feature characteristic.
pub const CHR_BLOOD_PRESSURE_FEATURE: u16 = 0x2A49;
/// Temperature Type characteristic.
pub const CHR_TEMPERATURE_TYPE: u16 = 0x2A1D;
/// Weight Scale Feature characteristic.
pub const CHR_WEIGHT_SCALE_FEATURE: u16 = 0x2A9E;
/// PLX Features characteristic.
pub const CHR_PLX_FEATURES: u16 = 0x2A60;
/// Glucose Feature characteristic.
pub const CHR_GLUCOSE_FEATURE: u16 = 0x2A51;

/// A decoded feature characteristic, tagged by `type` in JSON.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum Features {
    /// Blood Pressure Feature: the names of the supported detections.
    BloodPressure {
        /// Names of the set bits (body_movement_detection, ...).
        supported: Vec<String>,
    },
    /// Temperature Type: where the thermometer measures.
    TemperatureType {
        /// armpit, body, ear, ...
        site: String,
    },
    /// Weight Scale Feature.
    WeightScale {
        /// Bit 0: measurements carry a time stamp.
        time_stamp: bool,
        /// Bit 1: several users.
        multiple_users: bool,
        /// Bit 2: BMI and height.
        bmi: bool,
        /// Bits 3-6: weight resolution in kilograms, `None` if not specified.
        weight_resolution_kg: Option<String>,
        /// Bits 7-9: height resolution in metres, `None` if not specified.
        height_resolution_m: Option<String>,
    },
    /// PLX Features.
    PulseOximeter {
        /// Names of the supported features (measurement_storage, timestamp, ...).
        supported: Vec<String>,
        /// Measurement Status Support bits, if present.
        measurement_status_support: Option<u16>,
        /// Device and Sensor Status Support bits (24), if present.
        device_sensor_status_support: Option<u32>,
    },
    /// Glucose Feature: the names of the supported detections.
    Glucose {
        /// Names of the set bits.
        supported: Vec<String>,
    },
}

impl Features {
    /// Whether the device keeps stored records to fetch through the Record Access Control
    /// Point (PLX Features bit 2; a glucose meter always does, GLS 1.0.1 §2).
    pub fn has_storage(&self) -> bool {
        match self {
            Features::PulseOximeter { supported, .. } => {
                supported.iter().any(|s| s == "measurement_storage")
            }
            Features::Glucose { .. } => true,
            _ => false,
        }
    }
}

/// Decodes the feature characteristic `chr`; `None` if `chr` is not one.
pub fn decode_features(chr: u16, val: &[u8]) -> Option<Result<Features, MeasurementError>> {
    let c = &mut Cursor::new(chr, val);
    Some(match chr {
        CHR_BLOOD_PRESSURE_FEATURE => c.u16().map(|b| Features::BloodPressure {
            supported: set_bits(
                u32::from(b),
                &[
                    "body_movement_detection",
                    "cuff_fit_detection",
                    "irregular_pulse_detection",
                    "pulse_rate_range_detection",
                    "measurement_position_detection",
                    "multiple_bond",
                ],
            ),
        }),
        CHR_TEMPERATURE_TYPE => c
            .u8()
            .map(|n| Features::TemperatureType { site: site_name(n) }),
        CHR_WEIGHT_SCALE_FEATURE => c.u32().map(|b| {
            let weight = ["", "0.5", "0.2", "0.1", "0.05", "0.02", "0.01", "0.005"];
            let height = ["", "0.01", "0.005", "0.001"];
            let pick = |table: &[&str], i: u32| {
                table
                    .get(i as usize)
                    .filter(|s| !s.is_empty())
                    .map(|s| (*s).to_string())
            };
            Features::WeightScale {
                time_stamp: bit(b, 0),
                multiple_users: bit(b, 1),
                bmi: bit(b, 2),
                weight_resolution_kg: pick(&weight, (b >> 3) & 0x0F),
                height_resolution_m: pick(&height, (b >> 7) & 0x07),
            }
        }),
        CHR_PLX_FEATURES => (|| {
            let b = u32::from(c.u16()?);
            let measurement_status_support = if bit(b, 0) { Some(c.u16()?) } else { None };
            let device_sensor_status_support = if bit(b, 1) { Some(c.u24()?) } else { None };
            Ok(Features::PulseOximeter {
                supported: set_bits(
                    b,
                    &[
                        "measurement_status",
                        "device_sensor_status",
                        "measurement_storage",
                        "timestamp",
                        "spo2pr_fast",
                        "spo2pr_slow",
                        "pulse_amplitude_index",
                        "multiple_bonds",
                    ],
                ),
                measurement_status_support,
                device_sensor_status_support,
            })
        })(),
        CHR_GLUCOSE_FEATURE => c.u16().map(|b| Features::Glucose {
            supported: set_bits(
                u32::from(b),
                &[
                    "low_battery_detection",
                    "sensor_malfunction_detection",
                    "sensor_sample_size",
                    "strip_insertion_error_detection",
                    "strip_type_error_detection",
                    "result_high_low_detection",
                    "temperature_high_low_detection",
                    "read_interrupt_detection",
                    "general_device_fault",
                    "time_fault",
                    "multiple_bond",
                ],
            ),
        }),
        _ => return None,
    })
}
