//! Decoders (and, for device simulators, encoders) of the Bluetooth SIG health measurement
//! characteristics carried in a reading's `val`, into named fields in fixed units.
//!
//! Layouts follow the Bluetooth SIG GATT Specification Supplement (GSS) §3 and the service specs:
//! Blood Pressure Measurement 0x2A35 (BLS), Temperature Measurement 0x2A1C (HTS), Glucose
//! Measurement 0x2A18 (GLS), PLX Spot-Check Measurement 0x2A5E (PLXS), Weight Measurement 0x2A9D
//! (WSS), Heart Rate Measurement 0x2A37 (HRS). All multi-octet fields are little-endian.
//! Fixed output units: mmHg, °C, mg/dL (plus mmol/L), %, bpm, kg, m; a device's other unit (kPa,
//! °F, mol/L, kg/L, lb, in) is converted and recorded in `reported_unit`. Octets after the last
//! field a flag announces are ignored, as GSS allows characteristics to grow at the end.
//!
//! One private module per characteristic holds its decoder and, with the `sim` feature, the
//! simulator's encoder; they share only the leaf modules `types` (error, Date Time, byte cursor)
//! and `spec` (the short form's options). This module names them all ([`Measurement`],
//! [`decode`], and [`encode_spec`] with `sim`) and depends on them, never the reverse.

#[cfg(feature = "sim")]
use crate::ProvisionError;
use crate::fhir_import::ImportedValue;
use crate::ieee11073::Measure;

mod blood_pressure;
mod features;
mod glucose;
mod glucose_context;
mod heart_rate;
mod plx_continuous;
mod plx_spot_check;
#[cfg(feature = "sim")]
mod spec;
mod temperature;
mod types;
mod weight;

pub use blood_pressure::{
    BloodPressure, BloodPressureStatus, CHR_BLOOD_PRESSURE, SVC_BLOOD_PRESSURE,
};
pub use features::{
    CHR_BLOOD_PRESSURE_FEATURE, CHR_GLUCOSE_FEATURE, CHR_PLX_FEATURES, CHR_TEMPERATURE_TYPE,
    CHR_WEIGHT_SCALE_FEATURE, Features, decode_features,
};
pub use glucose::{CHR_GLUCOSE, Glucose, SVC_GLUCOSE};
pub use glucose_context::{CHR_GLUCOSE_CONTEXT, GlucoseContext};
pub use heart_rate::{CHR_HEART_RATE, HeartRate, SVC_HEART_RATE};
pub use plx_continuous::{CHR_PLX_CONTINUOUS, PulseOximetryContinuous, SpO2Pr};
pub use plx_spot_check::{CHR_PLX_SPOT_CHECK, PulseOximetry, SVC_PULSE_OXIMETER};
pub use temperature::{CHR_TEMPERATURE, SVC_HEALTH_THERMOMETER, Temperature};
pub use types::{DateTime, MeasurementError};
pub use weight::{CHR_WEIGHT, SVC_WEIGHT_SCALE, Weight};

/// Intermediate Cuff Pressure characteristic (BLS 1.1.1 §3.2): the Blood Pressure Measurement
/// layout, notified while the cuff inflates; the current cuff pressure is in the systolic field,
/// diastolic and mean arterial pressure are NaN.
pub const CHR_INTERMEDIATE_CUFF_PRESSURE: u16 = 0x2A36;
/// Intermediate Temperature characteristic (HTS 1.0 §3.3): the Temperature Measurement layout,
/// notified while the thermometer settles.
pub const CHR_INTERMEDIATE_TEMPERATURE: u16 = 0x2A1E;

/// The standard service of each decoded measurement characteristic.
pub const KNOWN_CHARACTERISTICS: [(u16, u16); 9] = [
    (SVC_BLOOD_PRESSURE, CHR_BLOOD_PRESSURE),
    (SVC_HEALTH_THERMOMETER, CHR_TEMPERATURE),
    (SVC_GLUCOSE, CHR_GLUCOSE),
    (SVC_PULSE_OXIMETER, CHR_PLX_SPOT_CHECK),
    (SVC_WEIGHT_SCALE, CHR_WEIGHT),
    (SVC_HEART_RATE, CHR_HEART_RATE),
    (SVC_BLOOD_PRESSURE, CHR_INTERMEDIATE_CUFF_PRESSURE),
    (SVC_HEALTH_THERMOMETER, CHR_INTERMEDIATE_TEMPERATURE),
    (SVC_PULSE_OXIMETER, CHR_PLX_CONTINUOUS),
];

/// A measurement decoded from a standard characteristic, tagged by `type` in JSON.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum Measurement {
    /// Blood Pressure Measurement 0x2A35.
    BloodPressure(BloodPressure),
    /// Temperature Measurement 0x2A1C.
    Temperature(Temperature),
    /// Glucose Measurement 0x2A18.
    Glucose(Glucose),
    /// PLX Spot-Check Measurement 0x2A5E.
    PulseOximetry(PulseOximetry),
    /// Weight Measurement 0x2A9D.
    Weight(Weight),
    /// Heart Rate Measurement 0x2A37.
    HeartRate(HeartRate),
    /// Intermediate Cuff Pressure 0x2A36 (a cuff inflating; not a result).
    IntermediateCuffPressure(BloodPressure),
    /// Intermediate Temperature 0x2A1E (a thermometer settling; not a result).
    IntermediateTemperature(Temperature),
    /// PLX Continuous Measurement 0x2A5F.
    PulseOximetryContinuous(PulseOximetryContinuous),
    /// A characteristic this crate does not decode; the signed bytes are still authentic.
    Unknown {
        /// 16-bit service UUID.
        service: u16,
        /// 16-bit characteristic UUID.
        characteristic: u16,
        /// The raw value, hex.
        value_hex: String,
    },
}

/// Decodes a characteristic value. Known characteristics under a service that does not define
/// them are rejected; unknown characteristics come back as [`Measurement::Unknown`].
pub fn decode(svc: u16, chr: u16, val: &[u8]) -> Result<Measurement, MeasurementError> {
    if let Some((expected, _)) = KNOWN_CHARACTERISTICS.iter().find(|(_, c)| *c == chr)
        && *expected != svc
    {
        return Err(MeasurementError::ServiceMismatch { svc, chr });
    }
    let c = &mut types::Cursor::new(chr, val);
    Ok(match chr {
        CHR_BLOOD_PRESSURE => Measurement::BloodPressure(blood_pressure::decode(c)?),
        CHR_TEMPERATURE => Measurement::Temperature(temperature::decode(c)?),
        CHR_GLUCOSE => Measurement::Glucose(glucose::decode(c)?),
        CHR_PLX_SPOT_CHECK => Measurement::PulseOximetry(plx_spot_check::decode(c)?),
        CHR_WEIGHT => Measurement::Weight(weight::decode(c)?),
        CHR_HEART_RATE => Measurement::HeartRate(heart_rate::decode(c)?),
        CHR_INTERMEDIATE_CUFF_PRESSURE => {
            Measurement::IntermediateCuffPressure(blood_pressure::decode(c)?)
        }
        CHR_INTERMEDIATE_TEMPERATURE => {
            Measurement::IntermediateTemperature(temperature::decode(c)?)
        }
        CHR_PLX_CONTINUOUS => Measurement::PulseOximetryContinuous(plx_continuous::decode(c)?),
        _ => Measurement::Unknown {
            service: svc,
            characteristic: chr,
            value_hex: hex::encode(val),
        },
    })
}

impl Measurement {
    /// The kind's id, as its JSON `type` says it (`blood_pressure`, `temperature`, ...): the
    /// vocabulary an unverified reading's `kind` uses too.
    pub fn kind(&self) -> &'static str {
        match self {
            Measurement::BloodPressure(_) => "blood_pressure",
            Measurement::Temperature(_) => "temperature",
            Measurement::Glucose(_) => "glucose",
            Measurement::PulseOximetry(_) => "pulse_oximetry",
            Measurement::Weight(_) => "weight",
            Measurement::HeartRate(_) => "heart_rate",
            Measurement::IntermediateCuffPressure(_) => "intermediate_cuff_pressure",
            Measurement::IntermediateTemperature(_) => "intermediate_temperature",
            Measurement::PulseOximetryContinuous(_) => "pulse_oximetry_continuous",
            Measurement::Unknown { .. } => "unknown",
        }
    }

    /// Its numbers in their fixed units, named as in its JSON (the shape an imported reading's
    /// values have, so a standard device's record and an imported one are sealed alike). Special
    /// values (NaN, NRes, ±INF) are left out: a failed measurement never becomes a number.
    pub fn values(&self) -> Vec<ImportedValue> {
        let mut out = Vec::new();
        let mut push = |name: &'static str, m: Option<Measure>, unit: &'static str| {
            if let Some(value) = m.and_then(|m| m.value()).filter(|v| v.is_finite()) {
                out.push(ImportedValue { name, value, unit });
            }
        };
        match self {
            Measurement::BloodPressure(b) | Measurement::IntermediateCuffPressure(b) => {
                push("systolic", Some(b.systolic), "mmHg");
                push("diastolic", Some(b.diastolic), "mmHg");
                push("mean_arterial", Some(b.mean_arterial), "mmHg");
                push("pulse", b.pulse, "bpm");
            }
            Measurement::Temperature(t) | Measurement::IntermediateTemperature(t) => {
                push("celsius", Some(t.celsius), "°C");
            }
            Measurement::Glucose(g) => {
                push("concentration", g.concentration, "mg/dL");
                push(
                    "time_offset",
                    g.time_offset_minutes.map(|m| Measure::Value(f64::from(m))),
                    "min",
                );
            }
            Measurement::PulseOximetry(p) => {
                push("spo2", Some(p.spo2), "%");
                push("pulse", Some(p.pulse), "bpm");
                push("pulse_amplitude_index", p.pulse_amplitude_index, "%");
            }
            Measurement::PulseOximetryContinuous(p) => {
                push("spo2", Some(p.normal.spo2), "%");
                push("pulse", Some(p.normal.pulse), "bpm");
            }
            Measurement::Weight(w) => {
                push("weight", Some(w.weight), "kg");
                push("bmi", w.bmi, "kg/m2");
                push("height", w.height_m, "m");
            }
            Measurement::HeartRate(h) => {
                push(
                    "heart_rate",
                    Some(Measure::Value(f64::from(h.heart_rate))),
                    "bpm",
                );
            }
            Measurement::Unknown { .. } => {}
        }
        out
    }

    /// When the device says it measured (its time stamp; a glucose record's base time, to which
    /// its `time_offset` value adds), as `YYYY-MM-DDTHH:MM:SS` device local time; `None` when it
    /// states none or an unknown date (year, month or day 0), or its clock is not set.
    pub fn stated_time(&self) -> Option<String> {
        let time = match self {
            Measurement::BloodPressure(b) | Measurement::IntermediateCuffPressure(b) => {
                b.time_stamp
            }
            Measurement::Temperature(t) | Measurement::IntermediateTemperature(t) => t.time_stamp,
            Measurement::Glucose(g) => Some(g.base_time),
            Measurement::PulseOximetry(p) if !p.device_clock_not_set => p.time_stamp,
            Measurement::Weight(w) => w.time_stamp,
            _ => None,
        }?;
        (time.year != 0 && time.month != 0 && time.day != 0).then(|| time.to_string())
    }

    /// An intermediate value (cuff inflating, thermometer settling, a continuous stream): shown
    /// live, never a result of its own.
    pub fn is_intermediate(&self) -> bool {
        matches!(
            self,
            Measurement::IntermediateCuffPressure(_)
                | Measurement::IntermediateTemperature(_)
                | Measurement::PulseOximetryContinuous(_)
                | Measurement::HeartRate(_)
        )
    }
}

/// Decodes a Glucose Measurement Context value (0x2A34).
pub fn decode_glucose_context(val: &[u8]) -> Result<GlucoseContext, MeasurementError> {
    glucose_context::decode(&mut types::Cursor::new(CHR_GLUCOSE_CONTEXT, val))
}

/// A characteristic value ready to sign: which service and characteristic, and the raw bytes.
#[cfg(feature = "sim")]
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EncodedMeasurement {
    /// 16-bit service UUID.
    pub svc: u16,
    /// 16-bit characteristic UUID.
    pub chr: u16,
    /// The characteristic value as the SIG specifies it.
    pub val: Vec<u8>,
}

/// Encodes a measurement written in the CLI's short form, as a device would send it.
///
/// Forms (options after commas):
/// `bp:SYS/DIA/MAP[,pulse=N][,user=N][,kpa][,time=YYYY-MM-DDTHH:MM:SS]`,
/// `temp:36.6[C|F][,site=N][,time=..]`, `glucose:95[,mmol][,seq=N][,time=..]` (mg/dL, or mmol/L
/// with `mmol`), `spo2:SPO2/PR[,pai=N][,time=..]`, `weight:72.5[,lb][,bmi=N,height=N][,user=N]`,
/// `hr:72[,rr=0.80/0.82][,energy=N][,contact=yes|no]`, `raw:SVC:CHR:HEX` (hex UUIDs).
/// `ts` (Unix seconds) supplies the glucose base time when `time=` is absent.
#[cfg(feature = "sim")]
pub fn encode_spec(spec: &str, ts: u64) -> Result<EncodedMeasurement, ProvisionError> {
    let (kind, rest) = spec
        .split_once(':')
        .ok_or_else(|| spec::bad(spec, "expected KIND:VALUE"))?;
    if kind == "raw" {
        return raw(spec, rest);
    }
    let s = spec::Spec::new(spec, rest);
    let (svc, chr, val) = match kind {
        "bp" => (
            SVC_BLOOD_PRESSURE,
            CHR_BLOOD_PRESSURE,
            blood_pressure::encode(&s)?,
        ),
        "temp" => (
            SVC_HEALTH_THERMOMETER,
            CHR_TEMPERATURE,
            temperature::encode(&s)?,
        ),
        "glucose" => (SVC_GLUCOSE, CHR_GLUCOSE, glucose::encode(&s, ts)?),
        "spo2" => (
            SVC_PULSE_OXIMETER,
            CHR_PLX_SPOT_CHECK,
            plx_spot_check::encode(&s)?,
        ),
        "weight" => (SVC_WEIGHT_SCALE, CHR_WEIGHT, weight::encode(&s)?),
        "hr" => (SVC_HEART_RATE, CHR_HEART_RATE, heart_rate::encode(&s)?),
        _ => {
            return Err(s.bad("unknown kind (bp, temp, glucose, spo2, weight, hr, raw)"));
        }
    };
    Ok(EncodedMeasurement { svc, chr, val })
}

/// `raw:SVC:CHR:HEX`: any characteristic, its value given in hex.
#[cfg(feature = "sim")]
fn raw(spec: &str, rest: &str) -> Result<EncodedMeasurement, ProvisionError> {
    let mut parts = rest.splitn(3, ':');
    let mut uuid = || {
        parts
            .next()
            .and_then(|p| u16::from_str_radix(p.trim_start_matches("0x"), 16).ok())
            .ok_or_else(|| spec::bad(spec, "raw:SVC:CHR:HEX with hex 16-bit UUIDs"))
    };
    let (svc, chr) = (uuid()?, uuid()?);
    let val =
        hex::decode(parts.next().unwrap_or("")).map_err(|_| spec::bad(spec, "bad hex value"))?;
    Ok(EncodedMeasurement { svc, chr, val })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn dec(spec: &str) -> Measurement {
        let e = encode_spec(spec, 1_790_000_000).unwrap();
        decode(e.svc, e.chr, &e.val).unwrap()
    }

    #[test]
    fn every_kind_reaches_its_characteristic() {
        for (spec, svc, chr) in [
            ("bp:120/80/93", SVC_BLOOD_PRESSURE, CHR_BLOOD_PRESSURE),
            ("temp:36.6", SVC_HEALTH_THERMOMETER, CHR_TEMPERATURE),
            ("glucose:95", SVC_GLUCOSE, CHR_GLUCOSE),
            ("spo2:98/72", SVC_PULSE_OXIMETER, CHR_PLX_SPOT_CHECK),
            ("weight:72.5", SVC_WEIGHT_SCALE, CHR_WEIGHT),
            ("hr:72", SVC_HEART_RATE, CHR_HEART_RATE),
            ("raw:1234:2BFF:0102", 0x1234, 0x2BFF),
        ] {
            let e = encode_spec(spec, 1_790_000_000).unwrap();
            assert_eq!((e.svc, e.chr), (svc, chr), "{spec}");
        }
        assert_eq!(
            decode(
                0x1810,
                0x2A35,
                &encode_spec("bp:120/80/93,pulse=70", 0).unwrap().val
            ),
            decode(
                0x1810,
                0x2A35,
                &[0x04, 0x78, 0x00, 0x50, 0x00, 0x5D, 0x00, 0x46, 0x00]
            )
        );
        assert_eq!(encode_spec("raw:0x1234:2BFF:0102", 0).unwrap().val, [1, 2]);
        for (spec, error) in [
            ("bp", "bp: expected KIND:VALUE"),
            (
                "pulse:70",
                "pulse:70: unknown kind (bp, temp, glucose, spo2, weight, hr, raw)",
            ),
            ("bp:120/80", "bp:120/80: bp:SYS/DIA/MAP"),
            ("temp:hot", "temp:hot: bad number"),
            (
                "bp:120/80/93,user=300",
                "bp:120/80/93,user=300: user is 0..=255",
            ),
            (
                "raw:18:zz",
                "raw:18:zz: raw:SVC:CHR:HEX with hex 16-bit UUIDs",
            ),
            ("raw:18:2A35:0g", "raw:18:2A35:0g: bad hex value"),
        ] {
            let e = encode_spec(spec, 0).unwrap_err();
            assert_eq!(e.to_string(), format!("bad measurement: {error}"));
        }
    }

    #[test]
    fn truncated_values_and_mismatches_are_typed() {
        assert_eq!(
            decode(0x1810, 0x2A35, &[0x04, 0x78, 0x00, 0x50, 0x00, 0x5D, 0x00])
                .unwrap_err()
                .code(),
            "truncated-value"
        );
        assert_eq!(
            decode(0x1810, 0x2A35, &[]).unwrap_err().code(),
            "truncated-value"
        );
        assert_eq!(
            decode(0x180D, 0x2A35, &[0; 7]).unwrap_err().code(),
            "service-mismatch"
        );
        let bad_month = [0x02, 0x78, 0, 0x50, 0, 0x5D, 0, 0xEA, 0x07, 13, 1, 0, 0, 0];
        assert_eq!(
            decode(0x1810, 0x2A35, &bad_month).unwrap_err().code(),
            "bad-date-time"
        );
        assert!(matches!(
            decode(0x1234, 0x2BFF, &[1, 2]).unwrap(),
            Measurement::Unknown { .. }
        ));
    }

    #[test]
    fn json_shape_of_blood_pressure() {
        let json = serde_json::to_value(dec("bp:120/80/93,pulse=70")).unwrap();
        assert_eq!(json["type"], "blood_pressure");
        assert_eq!(json["systolic"], 120);
        assert_eq!(json["mean_arterial"], 93);
        assert_eq!(json["pulse"], 70);
        assert_eq!(json["unit"], "mmHg");
        let back: Measurement = serde_json::from_value(json).unwrap();
        assert_eq!(back, dec("bp:120/80/93,pulse=70"));
    }
}
