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

use serde::{Deserialize, Serialize};
use thiserror::Error;

use crate::ieee11073::{self, Measure};

/// Blood Pressure service.
pub const SVC_BLOOD_PRESSURE: u16 = 0x1810;
/// Health Thermometer service.
pub const SVC_HEALTH_THERMOMETER: u16 = 0x1809;
/// Glucose service.
pub const SVC_GLUCOSE: u16 = 0x1808;
/// Pulse Oximeter service.
pub const SVC_PULSE_OXIMETER: u16 = 0x1822;
/// Weight Scale service.
pub const SVC_WEIGHT_SCALE: u16 = 0x181D;
/// Heart Rate service.
pub const SVC_HEART_RATE: u16 = 0x180D;
/// Blood Pressure Measurement characteristic.
pub const CHR_BLOOD_PRESSURE: u16 = 0x2A35;
/// Temperature Measurement characteristic.
pub const CHR_TEMPERATURE: u16 = 0x2A1C;
/// Glucose Measurement characteristic.
pub const CHR_GLUCOSE: u16 = 0x2A18;
/// PLX Spot-Check Measurement characteristic.
pub const CHR_PLX_SPOT_CHECK: u16 = 0x2A5E;
/// Weight Measurement characteristic.
pub const CHR_WEIGHT: u16 = 0x2A9D;
/// Heart Rate Measurement characteristic.
pub const CHR_HEART_RATE: u16 = 0x2A37;

/// The standard service of each decoded characteristic.
pub const KNOWN_CHARACTERISTICS: [(u16, u16); 6] = [
    (SVC_BLOOD_PRESSURE, CHR_BLOOD_PRESSURE),
    (SVC_HEALTH_THERMOMETER, CHR_TEMPERATURE),
    (SVC_GLUCOSE, CHR_GLUCOSE),
    (SVC_PULSE_OXIMETER, CHR_PLX_SPOT_CHECK),
    (SVC_WEIGHT_SCALE, CHR_WEIGHT),
    (SVC_HEART_RATE, CHR_HEART_RATE),
];

/// Why a characteristic value could not be decoded.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum MeasurementError {
    /// The value ends before a field its flags announce.
    #[error("characteristic 0x{chr:04X}: value truncated at octet {at}")]
    Truncated {
        /// The characteristic.
        chr: u16,
        /// The offset where a field was expected.
        at: usize,
    },
    /// A Date Time field holds an impossible month, day or time.
    #[error("characteristic 0x{0:04X}: invalid date time")]
    BadDateTime(u16),
    /// A known characteristic was sent under a service that does not define it.
    #[error("characteristic 0x{chr:04X} does not belong to service 0x{svc:04X}")]
    ServiceMismatch {
        /// The service claimed.
        svc: u16,
        /// The characteristic claimed.
        chr: u16,
    },
}

impl MeasurementError {
    /// The stable machine code of this error.
    pub fn code(&self) -> &'static str {
        match self {
            MeasurementError::Truncated { .. } => "truncated-value",
            MeasurementError::BadDateTime(_) => "bad-date-time",
            MeasurementError::ServiceMismatch { .. } => "service-mismatch",
        }
    }
}

/// A GATT Date Time (GSS §3.70): year 0, month 0 and day 0 mean "not known".
/// Serialized as `"YYYY-MM-DDTHH:MM:SS"` (device local time, no zone: the SIG format has none).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DateTime {
    /// 1582..=9999, or 0 if unknown.
    pub year: u16,
    /// 1..=12, or 0 if unknown.
    pub month: u8,
    /// 1..=31, or 0 if unknown.
    pub day: u8,
    /// 0..=23.
    pub hours: u8,
    /// 0..=59.
    pub minutes: u8,
    /// 0..=59.
    pub seconds: u8,
}

impl DateTime {
    /// The UTC civil time of a Unix timestamp (for devices that stamp with UTC).
    pub fn from_unix(ts: u64) -> DateTime {
        let days = (ts / 86_400) as i64;
        let secs = ts % 86_400;
        // H. Hinnant, "chrono-Compatible Low-Level Date Algorithms", civil_from_days.
        let z = days + 719_468;
        let era = z.div_euclid(146_097);
        let doe = z.rem_euclid(146_097);
        let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
        let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
        let mp = (5 * doy + 2) / 153;
        let day = doy - (153 * mp + 2) / 5 + 1;
        let month = if mp < 10 { mp + 3 } else { mp - 9 };
        let year = yoe + era * 400 + i64::from(month <= 2);
        DateTime {
            year: u16::try_from(year).unwrap_or(0),
            month: month as u8,
            day: day as u8,
            hours: (secs / 3600) as u8,
            minutes: (secs / 60 % 60) as u8,
            seconds: (secs % 60) as u8,
        }
    }

    fn is_valid(&self) -> bool {
        (self.year == 0 || (1582..=9999).contains(&self.year))
            && self.month <= 12
            && self.day <= 31
            && self.hours <= 23
            && self.minutes <= 59
            && self.seconds <= 59
    }

    /// The 7-octet wire form.
    pub fn to_bytes(&self) -> [u8; 7] {
        let y = self.year.to_le_bytes();
        [
            y[0],
            y[1],
            self.month,
            self.day,
            self.hours,
            self.minutes,
            self.seconds,
        ]
    }

    fn parse(s: &str) -> Option<DateTime> {
        let b = s.as_bytes();
        if b.len() != 19
            || b[4] != b'-'
            || b[7] != b'-'
            || b[10] != b'T'
            || b[13] != b':'
            || b[16] != b':'
        {
            return None;
        }
        let n = |r: std::ops::Range<usize>| s.get(r)?.parse::<u16>().ok();
        let dt = DateTime {
            year: n(0..4)?,
            month: u8::try_from(n(5..7)?).ok()?,
            day: u8::try_from(n(8..10)?).ok()?,
            hours: u8::try_from(n(11..13)?).ok()?,
            minutes: u8::try_from(n(14..16)?).ok()?,
            seconds: u8::try_from(n(17..19)?).ok()?,
        };
        dt.is_valid().then_some(dt)
    }
}

impl std::fmt::Display for DateTime {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{:04}-{:02}-{:02}T{:02}:{:02}:{:02}",
            self.year, self.month, self.day, self.hours, self.minutes, self.seconds
        )
    }
}

impl Serialize for DateTime {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for DateTime {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        DateTime::parse(&s).ok_or_else(|| serde::de::Error::custom("expected YYYY-MM-DDTHH:MM:SS"))
    }
}

/// A measurement decoded from a standard characteristic, tagged by `type` in JSON.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
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

struct Cursor<'a> {
    chr: u16,
    bytes: &'a [u8],
    at: usize,
}

impl<'a> Cursor<'a> {
    fn take(&mut self, n: usize) -> Result<&'a [u8], MeasurementError> {
        let out = self.bytes.get(self.at..self.at.saturating_add(n)).ok_or(
            MeasurementError::Truncated {
                chr: self.chr,
                at: self.at,
            },
        )?;
        self.at += n;
        Ok(out)
    }
    fn u8(&mut self) -> Result<u8, MeasurementError> {
        Ok(self.take(1)?[0])
    }
    fn u16(&mut self) -> Result<u16, MeasurementError> {
        let b = self.take(2)?;
        Ok(u16::from_le_bytes([b[0], b[1]]))
    }
    fn u24(&mut self) -> Result<u32, MeasurementError> {
        let b = self.take(3)?;
        Ok(u32::from_le_bytes([b[0], b[1], b[2], 0]))
    }
    fn u32(&mut self) -> Result<u32, MeasurementError> {
        let b = self.take(4)?;
        Ok(u32::from_le_bytes([b[0], b[1], b[2], b[3]]))
    }
    fn sfloat(&mut self) -> Result<Measure, MeasurementError> {
        Ok(ieee11073::decode_sfloat(self.u16()?))
    }
    fn date_time(&mut self) -> Result<DateTime, MeasurementError> {
        let b = self.take(7)?;
        let dt = DateTime {
            year: u16::from_le_bytes([b[0], b[1]]),
            month: b[2],
            day: b[3],
            hours: b[4],
            minutes: b[5],
            seconds: b[6],
        };
        if dt.is_valid() {
            Ok(dt)
        } else {
            Err(MeasurementError::BadDateTime(self.chr))
        }
    }
    fn remaining(&self) -> usize {
        self.bytes.len().saturating_sub(self.at)
    }
}

fn bit(flags: u32, n: u32) -> bool {
    flags & (1 << n) != 0
}

fn set_bits(value: u32, names: &[&str]) -> Vec<String> {
    let mut out = Vec::new();
    for (i, name) in names.iter().enumerate() {
        if bit(value, i as u32) && !name.is_empty() {
            out.push((*name).to_string());
        }
    }
    out
}

/// Decodes a characteristic value. Known characteristics under a service that does not define
/// them are rejected; unknown characteristics come back as [`Measurement::Unknown`].
pub fn decode(svc: u16, chr: u16, val: &[u8]) -> Result<Measurement, MeasurementError> {
    if let Some((expected, _)) = KNOWN_CHARACTERISTICS.iter().find(|(_, c)| *c == chr)
        && *expected != svc
    {
        return Err(MeasurementError::ServiceMismatch { svc, chr });
    }
    let mut c = Cursor {
        chr,
        bytes: val,
        at: 0,
    };
    Ok(match chr {
        CHR_BLOOD_PRESSURE => Measurement::BloodPressure(blood_pressure(&mut c)?),
        CHR_TEMPERATURE => Measurement::Temperature(temperature(&mut c)?),
        CHR_GLUCOSE => Measurement::Glucose(glucose(&mut c)?),
        CHR_PLX_SPOT_CHECK => Measurement::PulseOximetry(spot_check(&mut c)?),
        CHR_WEIGHT => Measurement::Weight(weight(&mut c)?),
        CHR_HEART_RATE => Measurement::HeartRate(heart_rate(&mut c)?),
        _ => Measurement::Unknown {
            service: svc,
            characteristic: chr,
            value_hex: hex::encode(val),
        },
    })
}

const MMHG_PER_KPA: f64 = 7.500_615_75;

fn blood_pressure(c: &mut Cursor) -> Result<BloodPressure, MeasurementError> {
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

fn temperature(c: &mut Cursor) -> Result<Temperature, MeasurementError> {
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
        Some(match c.u8()? {
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
        })
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

/// mg/dL per mmol/L for glucose (molar mass 180.156 g/mol).
const MG_DL_PER_MMOL_L: f64 = 18.0156;

fn glucose(c: &mut Cursor) -> Result<Glucose, MeasurementError> {
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

fn spot_check(c: &mut Cursor) -> Result<PulseOximetry, MeasurementError> {
    let flags = u32::from(c.u8()?);
    let spo2 = c.sfloat()?;
    let pulse = c.sfloat()?;
    let time_stamp = if bit(flags, 0) {
        Some(c.date_time()?)
    } else {
        None
    };
    let measurement_status = if bit(flags, 1) {
        Some(set_bits(
            u32::from(c.u16()?),
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
        ))
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

fn weight(c: &mut Cursor) -> Result<Weight, MeasurementError> {
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

fn heart_rate(c: &mut Cursor) -> Result<HeartRate, MeasurementError> {
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

/// A characteristic value ready to sign: which service and characteristic, and the raw bytes.
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
pub fn encode_spec(spec: &str, ts: u64) -> Result<EncodedMeasurement, crate::ProvisionError> {
    use crate::ProvisionError::BadMeasurement as Bad;
    let bad = |m: &str| Bad(format!("{spec}: {m}"));
    let (kind, rest) = spec
        .split_once(':')
        .ok_or_else(|| bad("expected KIND:VALUE"))?;
    if kind == "raw" {
        let mut parts = rest.splitn(3, ':');
        let mut uuid = || {
            parts
                .next()
                .and_then(|p| u16::from_str_radix(p.trim_start_matches("0x"), 16).ok())
                .ok_or_else(|| bad("raw:SVC:CHR:HEX with hex 16-bit UUIDs"))
        };
        let (svc, chr) = (uuid()?, uuid()?);
        let val = hex::decode(parts.next().unwrap_or("")).map_err(|_| bad("bad hex value"))?;
        return Ok(EncodedMeasurement { svc, chr, val });
    }
    let mut items = rest.split(',');
    let main = items.next().unwrap_or("");
    let mut opts: Vec<(&str, &str)> = Vec::new();
    for item in items {
        opts.push(item.split_once('=').unwrap_or((item, "")));
    }
    let opt = |k: &str| opts.iter().find(|(key, _)| *key == k).map(|(_, v)| *v);
    let sfloat = |s: &str| -> Result<[u8; 2], crate::ProvisionError> {
        let (m, e) = ieee11073::parse_decimal(s).ok_or_else(|| bad("bad number"))?;
        Ok(ieee11073::encode_sfloat(m, e)
            .ok_or_else(|| bad("value does not fit SFLOAT"))?
            .to_le_bytes())
    };
    let int = |s: &str| s.parse::<u16>().map_err(|_| bad("bad integer"));
    let time = |flags: &mut u8, bitn: u8, out: &mut Vec<u8>| -> Result<(), crate::ProvisionError> {
        if let Some(t) = opt("time") {
            let dt = DateTime::parse(t).ok_or_else(|| bad("time is YYYY-MM-DDTHH:MM:SS"))?;
            *flags |= 1 << bitn;
            out.extend_from_slice(&dt.to_bytes());
        }
        Ok(())
    };
    let (svc, chr, val) = match kind {
        "bp" => {
            let parts: Vec<&str> = main.split('/').collect();
            let [s, d, m] = parts[..] else {
                return Err(bad("bp:SYS/DIA/MAP"));
            };
            let mut flags = 0u8;
            if opt("kpa").is_some() {
                flags |= 1;
            }
            let mut body = Vec::new();
            for v in [s, d, m] {
                body.extend_from_slice(&sfloat(v)?);
            }
            time(&mut flags, 1, &mut body)?;
            if let Some(p) = opt("pulse") {
                flags |= 1 << 2;
                body.extend_from_slice(&sfloat(p)?);
            }
            if let Some(u) = opt("user") {
                flags |= 1 << 3;
                body.push(u8::try_from(int(u)?).map_err(|_| bad("user is 0..=255"))?);
            }
            if let Some(st) = opt("status") {
                flags |= 1 << 4;
                body.extend_from_slice(&int(st)?.to_le_bytes());
            }
            (
                SVC_BLOOD_PRESSURE,
                CHR_BLOOD_PRESSURE,
                [vec![flags], body].concat(),
            )
        }
        "temp" => {
            let (num, f) = match main.strip_suffix(['F', 'f']) {
                Some(n) => (n, true),
                None => (main.strip_suffix(['C', 'c']).unwrap_or(main), false),
            };
            let (m, e) = ieee11073::parse_decimal(num).ok_or_else(|| bad("bad number"))?;
            let raw =
                ieee11073::encode_float(m, e).ok_or_else(|| bad("value does not fit FLOAT"))?;
            let mut flags = u8::from(f);
            let mut body = raw.to_le_bytes().to_vec();
            time(&mut flags, 1, &mut body)?;
            if let Some(site) = opt("site") {
                flags |= 1 << 2;
                body.push(u8::try_from(int(site)?).map_err(|_| bad("site is 0..=255"))?);
            }
            (
                SVC_HEALTH_THERMOMETER,
                CHR_TEMPERATURE,
                [vec![flags], body].concat(),
            )
        }
        "glucose" => {
            let molar = opt("mmol").is_some();
            let (m, e) = ieee11073::parse_decimal(main).ok_or_else(|| bad("bad number"))?;
            // mg/dL -> kg/L is 10^-5; mmol/L -> mol/L is 10^-3.
            let raw = ieee11073::encode_sfloat(m, e - if molar { 3 } else { 5 })
                .ok_or_else(|| bad("value does not fit SFLOAT"))?;
            let mut flags = 0b10u8 | if molar { 0b100 } else { 0 };
            let seq = opt("seq").map(int).transpose()?.unwrap_or(1);
            let base = match opt("time") {
                Some(t) => DateTime::parse(t).ok_or_else(|| bad("time is YYYY-MM-DDTHH:MM:SS"))?,
                None => DateTime::from_unix(ts),
            };
            let mut body = seq.to_le_bytes().to_vec();
            body.extend_from_slice(&base.to_bytes());
            body.extend_from_slice(&raw.to_le_bytes());
            body.push(0x11); // capillary whole blood, finger
            if let Some(st) = opt("status") {
                flags |= 1 << 3;
                body.extend_from_slice(&int(st)?.to_le_bytes());
            }
            (SVC_GLUCOSE, CHR_GLUCOSE, [vec![flags], body].concat())
        }
        "spo2" => {
            let (s, p) = main.split_once('/').ok_or_else(|| bad("spo2:SPO2/PR"))?;
            let mut flags = 0u8;
            let mut body = [sfloat(s)?, sfloat(p)?].concat();
            time(&mut flags, 0, &mut body)?;
            if let Some(pai) = opt("pai") {
                flags |= 1 << 3;
                body.extend_from_slice(&sfloat(pai)?);
            }
            (
                SVC_PULSE_OXIMETER,
                CHR_PLX_SPOT_CHECK,
                [vec![flags], body].concat(),
            )
        }
        "weight" => {
            let imperial = opt("lb").is_some();
            let (num, _) = main.split_at(
                main.trim_end_matches(|c: char| c.is_ascii_alphabetic())
                    .len(),
            );
            let (m, e) = ieee11073::parse_decimal(num).ok_or_else(|| bad("bad number"))?;
            let scaled =
                |m: i64, e: i32, step_exp: i32, step: i64| -> Result<u16, crate::ProvisionError> {
                    // value / (step * 10^step_exp), exactly.
                    let shift = e - step_exp;
                    let units = if shift >= 0 {
                        m * 10i64.pow(shift as u32)
                    } else {
                        m / 10i64.pow((-shift) as u32)
                    };
                    u16::try_from(units / step).map_err(|_| bad("value out of range"))
                };
            let raw = if imperial {
                scaled(m, e, -2, 1)?
            } else {
                scaled(m, e, -3, 5)?
            };
            let mut flags = u8::from(imperial);
            let mut body = raw.to_le_bytes().to_vec();
            time(&mut flags, 1, &mut body)?;
            if let Some(u) = opt("user") {
                flags |= 1 << 2;
                body.push(u8::try_from(int(u)?).map_err(|_| bad("user is 0..=255"))?);
            }
            if let (Some(b), Some(h)) = (opt("bmi"), opt("height")) {
                flags |= 1 << 3;
                let (bm, be) = ieee11073::parse_decimal(b).ok_or_else(|| bad("bad bmi"))?;
                let (hm, he) = ieee11073::parse_decimal(h).ok_or_else(|| bad("bad height"))?;
                body.extend_from_slice(&scaled(bm, be, -1, 1)?.to_le_bytes());
                let hraw = if imperial {
                    scaled(hm, he, -1, 1)?
                } else {
                    scaled(hm, he, -3, 1)?
                };
                body.extend_from_slice(&hraw.to_le_bytes());
            }
            (SVC_WEIGHT_SCALE, CHR_WEIGHT, [vec![flags], body].concat())
        }
        "hr" => {
            let bpm = int(main)?;
            let mut flags = 0u8;
            let mut body = Vec::new();
            if let Ok(small) = u8::try_from(bpm) {
                body.push(small);
            } else {
                flags |= 1;
                body.extend_from_slice(&bpm.to_le_bytes());
            }
            match opt("contact") {
                Some("yes") => flags |= 0b110,
                Some("no") => flags |= 0b100,
                _ => {}
            }
            if let Some(e) = opt("energy") {
                flags |= 1 << 3;
                body.extend_from_slice(&int(e)?.to_le_bytes());
            }
            if let Some(rr) = opt("rr") {
                flags |= 1 << 4;
                for s in rr.split('/') {
                    let secs: f64 = s.parse().map_err(|_| bad("rr in seconds"))?;
                    let units = (secs * 1024.0).round();
                    if !(0.0..=65535.0).contains(&units) {
                        return Err(bad("rr out of range"));
                    }
                    body.extend_from_slice(&(units as u16).to_le_bytes());
                }
            }
            (SVC_HEART_RATE, CHR_HEART_RATE, [vec![flags], body].concat())
        }
        _ => {
            return Err(bad(
                "unknown kind (bp, temp, glucose, spo2, weight, hr, raw)",
            ));
        }
    };
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
    fn blood_pressure_from_spec_bytes() {
        // Flags 0x04 (pulse present), 120, 80, 93 mmHg, pulse 70: the bytes a cuff sends.
        let val = [0x04, 0x78, 0x00, 0x50, 0x00, 0x5D, 0x00, 0x46, 0x00];
        let Measurement::BloodPressure(bp) = decode(0x1810, 0x2A35, &val).unwrap() else {
            panic!()
        };
        assert_eq!(bp.systolic, Measure::Value(120.0));
        assert_eq!(bp.diastolic, Measure::Value(80.0));
        assert_eq!(bp.mean_arterial, Measure::Value(93.0));
        assert_eq!(bp.pulse, Some(Measure::Value(70.0)));
        assert_eq!(bp.unit, "mmHg");
        assert_eq!(encode_spec("bp:120/80/93,pulse=70", 0).unwrap().val, val);
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
        let Measurement::BloodPressure(bp) = decode(0x1810, 0x2A35, &val).unwrap() else {
            panic!()
        };
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

    #[test]
    fn temperature_fahrenheit_is_converted() {
        let Measurement::Temperature(t) = dec("temp:98.6F,site=6") else {
            panic!()
        };
        assert_eq!(t.celsius, Measure::Value(37.0));
        assert_eq!(t.reported_value, Measure::Value(98.6));
        assert_eq!(t.site.as_deref(), Some("mouth"));
        let Measurement::Temperature(t) = dec("temp:36.6") else {
            panic!()
        };
        assert_eq!(t.celsius, Measure::Value(36.6));
    }

    #[test]
    fn glucose_units() {
        let Measurement::Glucose(g) = dec("glucose:95,seq=7") else {
            panic!()
        };
        assert_eq!(g.concentration, Some(Measure::Value(95.0)));
        assert_eq!(g.mmol_per_l, Some(Measure::Value(5.27)));
        assert_eq!(g.sequence_number, 7);
        assert_eq!(g.sample_location.as_deref(), Some("finger"));
        let Measurement::Glucose(g) = dec("glucose:5.5,mmol") else {
            panic!()
        };
        assert_eq!(g.mmol_per_l, Some(Measure::Value(5.5)));
        assert_eq!(g.concentration, Some(Measure::Value(99.1)));
    }

    #[test]
    fn spot_check_weight_heart_rate() {
        let Measurement::PulseOximetry(p) = dec("spo2:98/72,pai=2.5") else {
            panic!()
        };
        assert_eq!(
            (p.spo2, p.pulse),
            (Measure::Value(98.0), Measure::Value(72.0))
        );
        assert_eq!(p.pulse_amplitude_index, Some(Measure::Value(2.5)));
        let Measurement::Weight(w) = dec("weight:72.5,bmi=22.4,height=1.8") else {
            panic!()
        };
        assert_eq!(w.weight, Measure::Value(72.5));
        assert_eq!(w.height_m, Some(Measure::Value(1.8)));
        assert_eq!(w.bmi, Some(Measure::Value(22.4)));
        let Measurement::Weight(w) = dec("weight:160,lb") else {
            panic!()
        };
        assert_eq!(w.weight, Measure::Value(72.575));
        let Measurement::HeartRate(h) = dec("hr:300,rr=0.5/1,contact=yes") else {
            panic!()
        };
        assert_eq!(h.heart_rate, 300);
        assert_eq!(h.rr_intervals_s, vec![0.5, 1.0]);
        assert_eq!(h.sensor_contact, Some(true));
    }

    #[test]
    fn weight_unsuccessful_is_nan() {
        let Measurement::Weight(w) = decode(0x181D, 0x2A9D, &[0, 0xFF, 0xFF]).unwrap() else {
            panic!()
        };
        assert_eq!(w.weight, Measure::NaN);
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

    #[test]
    fn unix_to_civil() {
        assert_eq!(DateTime::from_unix(0).to_string(), "1970-01-01T00:00:00");
        assert_eq!(
            DateTime::from_unix(1_795_429_800).to_string(),
            "2026-11-23T10:30:00"
        );
        assert_eq!(
            DateTime::from_unix(951_782_400).to_string(),
            "2000-02-29T00:00:00"
        );
    }
}
