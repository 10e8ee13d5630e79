//! What a conformant client does with each standard health service, from the SIG service
//! specifications: which characteristics carry measurements and how (indicate or notify: the
//! measurements are never readable), which are readable descriptions, and whether the service
//! keeps stored records behind a Record Access Control Point. Plus Device Information and Current
//! Time. The app subscribes and reads exactly by this table; `docs/device-profile.md` §7 shows it.

use super::error::SigError;
use crate::measurement::{
    CHR_BLOOD_PRESSURE, CHR_BLOOD_PRESSURE_FEATURE, CHR_GLUCOSE, CHR_GLUCOSE_CONTEXT,
    CHR_GLUCOSE_FEATURE, CHR_HEART_RATE, CHR_INTERMEDIATE_CUFF_PRESSURE,
    CHR_INTERMEDIATE_TEMPERATURE, CHR_PLX_CONTINUOUS, CHR_PLX_FEATURES, CHR_PLX_SPOT_CHECK,
    CHR_TEMPERATURE, CHR_TEMPERATURE_TYPE, CHR_WEIGHT, CHR_WEIGHT_SCALE_FEATURE,
    SVC_BLOOD_PRESSURE, SVC_GLUCOSE, SVC_HEALTH_THERMOMETER, SVC_HEART_RATE, SVC_PULSE_OXIMETER,
    SVC_WEIGHT_SCALE,
};

/// Record Access Control Point (GLS 1.0.1 §3.4, PLXS 1.0.1 §3.4): write with response, and
/// indicate (CCCD) for its answers.
pub const CHR_RACP: u16 = 0x2A52;
/// Device Information service (DIS 1.1).
pub const SVC_DEVICE_INFORMATION: u16 = 0x180A;
/// Manufacturer Name String (DIS 1.1 §3.1), read.
pub const CHR_MANUFACTURER_NAME: u16 = 0x2A29;
/// Model Number String (DIS 1.1 §3.2), read.
pub const CHR_MODEL_NUMBER: u16 = 0x2A24;
/// Serial Number String (DIS 1.1 §3.3), read.
pub const CHR_SERIAL_NUMBER: u16 = 0x2A25;
/// Firmware Revision String (DIS 1.1 §3.5), read.
pub const CHR_FIRMWARE_REVISION: u16 = 0x2A26;
/// The Device Information strings the app reads, in display order.
pub const DEVICE_INFORMATION: [u16; 4] = [
    CHR_MANUFACTURER_NAME,
    CHR_MODEL_NUMBER,
    CHR_SERIAL_NUMBER,
    CHR_FIRMWARE_REVISION,
];
/// Current Time service (CTS 1.1).
pub const SVC_CURRENT_TIME: u16 = 0x1805;
/// Current Time characteristic (CTS 1.1 §3.1): read and notify mandatory, write optional.
pub const CHR_CURRENT_TIME: u16 = 0x2A2B;
/// Client Characteristic Configuration descriptor (Core v5.4 Vol 3 Part G §3.3.3.3): every
/// indicate or notify characteristic has one; subscribing writes 0x0001 / 0x0002 to it.
pub const CCCD: u16 = 0x2902;

/// How a characteristic's values reach the client.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Delivery {
    /// Indicate only (acknowledged); not readable.
    Indicate,
    /// Notify only; not readable.
    Notify,
}

/// One measurement characteristic of a service.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Channel {
    /// 16-bit characteristic UUID.
    pub characteristic: u16,
    /// How it is delivered.
    pub delivery: Delivery,
    /// The service specification requires it (else the device may lack it).
    pub mandatory: bool,
}

/// A standard health service as the client treats it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ServiceProfile {
    /// 16-bit service UUID.
    pub service: u16,
    /// What people call such a device.
    pub device_kind: &'static str,
    /// The measurement characteristics, to subscribe to.
    pub channels: &'static [Channel],
    /// The readable description characteristic (features / type), if the service has one.
    pub features: Option<u16>,
    /// The service may have a Record Access Control Point (0x2A52) for stored records: used
    /// when the device has it (glucose: mandatory; pulse oximeter: with measurement storage).
    pub racp: bool,
}

const fn ch(characteristic: u16, delivery: Delivery, mandatory: bool) -> Channel {
    Channel {
        characteristic,
        delivery,
        mandatory,
    }
}

/// The standard health services, in the order the app looks for them.
pub const PROFILES: [ServiceProfile; 6] = [
    // BLS 1.1.1 §3.1-3.3: measurement indicate, intermediate cuff pressure notify (optional),
    // feature read.
    ServiceProfile {
        service: SVC_BLOOD_PRESSURE,
        device_kind: "blood pressure monitor",
        channels: &[
            ch(CHR_BLOOD_PRESSURE, Delivery::Indicate, true),
            ch(CHR_INTERMEDIATE_CUFF_PRESSURE, Delivery::Notify, false),
        ],
        features: Some(CHR_BLOOD_PRESSURE_FEATURE),
        racp: false,
    },
    // HTS 1.0 §3.1-3.3: measurement indicate, type read (optional), intermediate notify.
    ServiceProfile {
        service: SVC_HEALTH_THERMOMETER,
        device_kind: "thermometer",
        channels: &[
            ch(CHR_TEMPERATURE, Delivery::Indicate, true),
            ch(CHR_INTERMEDIATE_TEMPERATURE, Delivery::Notify, false),
        ],
        features: Some(CHR_TEMPERATURE_TYPE),
        racp: false,
    },
    // GLS 1.0.1 §3.1-3.4: measurement notify, context notify (optional), feature read, RACP.
    ServiceProfile {
        service: SVC_GLUCOSE,
        device_kind: "glucose meter",
        channels: &[
            ch(CHR_GLUCOSE, Delivery::Notify, true),
            ch(CHR_GLUCOSE_CONTEXT, Delivery::Notify, false),
        ],
        features: Some(CHR_GLUCOSE_FEATURE),
        racp: true,
    },
    // PLXS 1.0.1 §3.1-3.4: spot-check indicate, continuous notify (one of them at least),
    // features read, RACP with measurement storage.
    ServiceProfile {
        service: SVC_PULSE_OXIMETER,
        device_kind: "pulse oximeter",
        channels: &[
            ch(CHR_PLX_SPOT_CHECK, Delivery::Indicate, false),
            ch(CHR_PLX_CONTINUOUS, Delivery::Notify, false),
        ],
        features: Some(CHR_PLX_FEATURES),
        racp: true,
    },
    // WSS 1.0 §3.1-3.2: feature read, measurement indicate.
    ServiceProfile {
        service: SVC_WEIGHT_SCALE,
        device_kind: "scale",
        channels: &[ch(CHR_WEIGHT, Delivery::Indicate, true)],
        features: Some(CHR_WEIGHT_SCALE_FEATURE),
        racp: false,
    },
    // HRS 1.0 §3.1: measurement notify.
    ServiceProfile {
        service: SVC_HEART_RATE,
        device_kind: "heart rate monitor",
        channels: &[ch(CHR_HEART_RATE, Delivery::Notify, true)],
        features: None,
        racp: false,
    },
];

/// The profile of a standard service, if it is one of [`PROFILES`].
pub fn profile(service: u16) -> Option<&'static ServiceProfile> {
    PROFILES.iter().find(|p| p.service == service)
}

/// A Device Information string (UTF-8, DIS 1.1 §3): trailing NULs, which some devices pad with,
/// are dropped. Not UTF-8 or over 512 octets is [`SigError::BadString`].
pub fn device_information_string(chr: u16, val: &[u8]) -> Result<String, SigError> {
    if val.len() > crate::gatt::MAX_ATTRIBUTE_LEN {
        return Err(SigError::BadString(chr));
    }
    let end = val.iter().rposition(|b| *b != 0).map_or(0, |i| i + 1);
    let s = std::str::from_utf8(&val[..end]).map_err(|_| SigError::BadString(chr))?;
    Ok(s.trim().to_string())
}
