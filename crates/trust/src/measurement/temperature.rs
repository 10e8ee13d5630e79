//! Temperature Measurement 0x2A1C of the Health Thermometer service 0x1809 (HTS 1.0,
//! GSS 3.216): its decoder and the simulator's encoder.

use serde::{Deserialize, Serialize};

#[cfg(feature = "sim")]
use super::spec::Spec;
use super::types::{Cursor, DateTime, MeasurementError, bit};
#[cfg(feature = "sim")]
use crate::ProvisionError;
use crate::ieee11073::{self, Measure};

/// Health Thermometer service.
pub const SVC_HEALTH_THERMOMETER: u16 = 0x1809;
/// Temperature Measurement characteristic.
pub const CHR_TEMPERATURE: u16 = 0x2A1C;

/// Body temperature in °C (HTS 1.0 / GSS 3.216).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Temperature {
    /// Temperature in degrees Celsius (converted from °F when the device reports °F).
    pub celsius: Measure,
    /// Always `"°C"`.
    pub unit: String,
    /// `"celsius"` or `"fahrenheit"`: what the device sent.
    pub reported_unit: String,
    /// The value as the device sent it, in `reported_unit`.
    pub reported_value: Measure,
    /// The device's time stamp, if present.
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub time_stamp: Option<DateTime>,
    /// Temperature Type (site), if present: armpit, body, ear, finger, gastrointestinal, mouth,
    /// rectum, toe, tympanum, or `reserved-N`.
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub site: Option<String>,
}

/// The Temperature Type code (HTS 1.0 §3.2, also the site field of 0x2A1C) by name.
pub(super) fn site_name(n: u8) -> String {
    match n {
        1 => "armpit".to_string(),
        2 => "body".to_string(),
        3 => "ear".to_string(),
        4 => "finger".to_string(),
        5 => "gastrointestinal".to_string(),
        6 => "mouth".to_string(),
        7 => "rectum".to_string(),
        8 => "toe".to_string(),
        9 => "tympanum".to_string(),
        n => format!("reserved-{n}"),
    }
}

pub(super) fn decode(c: &mut Cursor) -> Result<Temperature, MeasurementError> {
    let flags = u32::from(c.u8()?);
    let fahrenheit = bit(flags, 0);
    let reported_value = ieee11073::decode_float(c.u32()?);
    let celsius = if fahrenheit {
        reported_value.convert(|f| (f - 32.0) * 5.0 / 9.0, 2)
    } else {
        reported_value
    };
    let time_stamp = if bit(flags, 1) {
        Some(c.date_time()?)
    } else {
        None
    };
    let site = if bit(flags, 2) {
        Some(site_name(c.u8()?))
    } else {
        None
    };
    Ok(Temperature {
        celsius,
        unit: "°C".into(),
        reported_unit: if fahrenheit { "fahrenheit" } else { "celsius" }.into(),
        reported_value,
        time_stamp,
        site,
    })
}

/// `temp:36.6[C|F][,site=N][,time=..]`, as a thermometer sends it (FLOAT, °C or °F).
#[cfg(feature = "sim")]
pub(super) fn encode(s: &Spec) -> Result<Vec<u8>, ProvisionError> {
    let (num, fahrenheit) = match s.main.strip_suffix(['F', 'f']) {
        Some(n) => (n, true),
        None => (s.main.strip_suffix(['C', 'c']).unwrap_or(s.main), false),
    };
    let (m, e) = s.decimal(num)?;
    let raw = ieee11073::encode_float(m, e).ok_or_else(|| s.bad("value does not fit FLOAT"))?;
    let mut flags = u8::from(fahrenheit);
    let mut body = raw.to_le_bytes().to_vec();
    s.time(&mut flags, 1, &mut body)?;
    if let Some(site) = s.opt("site") {
        flags |= 1 << 2;
        body.push(s.octet(site, "site is 0..=255")?);
    }
    Ok([vec![flags], body].concat())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::measurement::spec::round_trip;

    #[test]
    fn temperature_fahrenheit_is_converted() {
        let t = round_trip("temp:98.6F,site=6", CHR_TEMPERATURE, encode, decode);
        assert_eq!(t.celsius, Measure::Value(37.0));
        assert_eq!(t.reported_value, Measure::Value(98.6));
        assert_eq!(t.site.as_deref(), Some("mouth"));
        let t = round_trip("temp:36.6", CHR_TEMPERATURE, encode, decode);
        assert_eq!(t.celsius, Measure::Value(36.6));
    }
}
