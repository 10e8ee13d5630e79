//! Readings imported from a file a device's own app exports: a FHIR R4 `Bundle` of
//! `Observation`s with the standard LOINC codes, for browsers without Web Bluetooth (Firefox,
//! Safari, iOS). Nothing proves who made such a reading: every one is UNVERIFIED, shown as
//! imported, never treated as a device-verified reading.
//!
//! Recognised (`Observation.code.coding` with system `http://loinc.org`): blood pressure panel
//! 85354-9 (components systolic 8480-6, diastolic 8462-4, mean 8478-0), body temperature 8310-5,
//! body weight 29463-7, SpO2 59408-5, heart rate 8867-4, glucose 2339-0. Values are
//! `valueQuantity` in UCUM units, converted to the fixed units of [`crate::measurement`] (mmHg,
//! °C, kg, %, bpm, mg/dL). Entries that are not such an Observation, are `entered-in-error`, or
//! carry another unit are skipped with a reason, not an error: a file from another app often
//! holds more than readings. A file that is not a Bundle is `bad-bundle`.

use serde_json::Value;
use thiserror::Error;

/// Largest file accepted, in bytes.
pub const MAX_BUNDLE_BYTES: usize = 4 * 1024 * 1024;
/// Most entries read from one Bundle.
pub const MAX_ENTRIES: usize = 4096;

const LOINC: &str = "http://loinc.org";

/// Why a file could not be imported at all.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum ImportError {
    /// Not JSON, not a FHIR `Bundle`, over [`MAX_BUNDLE_BYTES`] or [`MAX_ENTRIES`].
    #[error("not a FHIR R4 Observation Bundle: {0}")]
    BadBundle(String),
}

impl veil_core::Coded for ImportError {
    /// `bad-bundle`.
    fn code(&self) -> &'static str {
        match self {
            ImportError::BadBundle(_) => "bad-bundle",
        }
    }
}

/// What an imported reading measures.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ImportedKind {
    /// 85354-9.
    BloodPressure,
    /// 8310-5.
    BodyTemperature,
    /// 29463-7.
    BodyWeight,
    /// 59408-5.
    Spo2,
    /// 8867-4.
    HeartRate,
    /// 2339-0.
    Glucose,
}

impl ImportedKind {
    /// The kind in the vocabulary of [`crate::Measurement::kind`] (`blood_pressure`,
    /// `temperature`, `weight`, `pulse_oximetry`, `heart_rate`, `glucose`), so that imported and
    /// standard devices' readings are named alike when sealed.
    pub fn measurement_kind(self) -> &'static str {
        match self {
            ImportedKind::BloodPressure => "blood_pressure",
            ImportedKind::BodyTemperature => "temperature",
            ImportedKind::BodyWeight => "weight",
            ImportedKind::Spo2 => "pulse_oximetry",
            ImportedKind::HeartRate => "heart_rate",
            ImportedKind::Glucose => "glucose",
        }
    }
}

/// One value of a reading (imported, or a standard device's: [`crate::Measurement::values`]),
/// in its fixed unit.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct ImportedValue {
    /// `systolic`, `diastolic`, `mean_arterial`, `celsius`, `weight`, `spo2`, `heart_rate`,
    /// `concentration`.
    pub name: &'static str,
    /// The value, converted.
    pub value: f64,
    /// `mmHg`, `°C`, `kg`, `%`, `bpm`, `mg/dL`.
    pub unit: &'static str,
}

/// One imported reading: UNVERIFIED.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct ImportedReading {
    /// What it measures.
    pub kind: ImportedKind,
    /// Its LOINC code.
    pub loinc: &'static str,
    /// Its values in fixed units (blood pressure: systolic and diastolic, and mean if given).
    pub values: Vec<ImportedValue>,
    /// `effectiveDateTime` (or `effectivePeriod.start`) as written in the file.
    pub effective: Option<String>,
    /// `Observation.device.display`, as the exporting app names the device (unverified).
    pub device: Option<String>,
    /// `Observation.id`.
    pub id: Option<String>,
}

/// The result of reading a Bundle.
#[derive(Debug, Clone, PartialEq, Default, serde::Serialize)]
pub struct Import {
    /// The readings recognised, in the file's order.
    pub readings: Vec<ImportedReading>,
    /// Why each other entry was skipped (`entry 3: ...`).
    pub skipped: Vec<String>,
}

/// Reads a FHIR R4 Bundle (JSON text) of Observations.
pub fn import_observation_bundle(text: &str) -> Result<Import, ImportError> {
    if text.len() > MAX_BUNDLE_BYTES {
        return Err(ImportError::BadBundle(format!(
            "over {MAX_BUNDLE_BYTES} bytes"
        )));
    }
    let bundle: Value =
        serde_json::from_str(text).map_err(|e| ImportError::BadBundle(format!("JSON: {e}")))?;
    if bundle.get("resourceType").and_then(Value::as_str) != Some("Bundle") {
        return Err(ImportError::BadBundle("resourceType is not Bundle".into()));
    }
    let entries = match bundle.get("entry") {
        None => &[][..],
        Some(Value::Array(a)) => a.as_slice(),
        Some(_) => return Err(ImportError::BadBundle("entry is not an array".into())),
    };
    if entries.len() > MAX_ENTRIES {
        return Err(ImportError::BadBundle(format!(
            "more than {MAX_ENTRIES} entries"
        )));
    }
    let mut out = Import::default();
    for (i, entry) in entries.iter().enumerate() {
        match observation(entry.get("resource").unwrap_or(&Value::Null)) {
            Ok(r) => out.readings.push(r),
            Err(why) => out.skipped.push(format!("entry {i}: {why}")),
        }
    }
    Ok(out)
}

fn observation(r: &Value) -> Result<ImportedReading, String> {
    let rt = r.get("resourceType").and_then(Value::as_str).unwrap_or("");
    if rt != "Observation" {
        return Err(format!("a {} resource, not an Observation", short(rt)));
    }
    let status = r.get("status").and_then(Value::as_str).unwrap_or("");
    if matches!(status, "entered-in-error" | "cancelled") {
        return Err(format!("status {status}"));
    }
    let code = loinc(r.get("code")).ok_or("no LOINC code")?;
    let (kind, loinc, values) = match code.as_str() {
        "85354-9" => {
            let mut values = Vec::new();
            let components = r
                .get("component")
                .and_then(Value::as_array)
                .ok_or("a blood pressure panel without components")?;
            for c in components {
                let name = match loinc(c.get("code")).as_deref() {
                    Some("8480-6") => "systolic",
                    Some("8462-4") => "diastolic",
                    Some("8478-0") => "mean_arterial",
                    _ => continue,
                };
                let v = quantity(c, &[("mm[Hg]", 1.0), ("kPa", 7.500_615_75)])?;
                values.push(ImportedValue {
                    name,
                    value: round(v, 1),
                    unit: "mmHg",
                });
            }
            if !["systolic", "diastolic"]
                .iter()
                .all(|n| values.iter().any(|v| v.name == *n))
            {
                return Err("a blood pressure panel without systolic and diastolic".into());
            }
            (ImportedKind::BloodPressure, "85354-9", values)
        }
        "8310-5" => {
            let c = match unit_of(r) {
                Some("[degF]") => round((quantity(r, &[("[degF]", 1.0)])? - 32.0) * 5.0 / 9.0, 2),
                _ => quantity(r, &[("Cel", 1.0)])?,
            };
            (
                ImportedKind::BodyTemperature,
                "8310-5",
                one("celsius", c, "°C"),
            )
        }
        "29463-7" => {
            let kg = quantity(r, &[("kg", 1.0), ("g", 0.001), ("[lb_av]", 0.453_592_37)])?;
            (
                ImportedKind::BodyWeight,
                "29463-7",
                one("weight", round(kg, 3), "kg"),
            )
        }
        "59408-5" => (
            ImportedKind::Spo2,
            "59408-5",
            one("spo2", quantity(r, &[("%", 1.0)])?, "%"),
        ),
        "8867-4" => (
            ImportedKind::HeartRate,
            "8867-4",
            one(
                "heart_rate",
                quantity(r, &[("/min", 1.0), ("{beats}/min", 1.0)])?,
                "bpm",
            ),
        ),
        "2339-0" => (
            ImportedKind::Glucose,
            "2339-0",
            one("concentration", quantity(r, &[("mg/dL", 1.0)])?, "mg/dL"),
        ),
        other => return Err(format!("LOINC {} is not a supported reading", short(other))),
    };
    let effective = r
        .get("effectiveDateTime")
        .or_else(|| r.get("effectivePeriod").and_then(|p| p.get("start")))
        .or_else(|| r.get("effectiveInstant"))
        .and_then(Value::as_str)
        .map(|s| short(s).to_string());
    let device = r
        .get("device")
        .and_then(|d| d.get("display"))
        .and_then(Value::as_str)
        .map(|s| short(s).to_string());
    let id = r
        .get("id")
        .and_then(Value::as_str)
        .map(|s| short(s).to_string());
    Ok(ImportedReading {
        kind,
        loinc,
        values,
        effective,
        device,
        id,
    })
}

fn one(name: &'static str, value: f64, unit: &'static str) -> Vec<ImportedValue> {
    vec![ImportedValue { name, value, unit }]
}

/// The LOINC code of a CodeableConcept, if it has one.
fn loinc(concept: Option<&Value>) -> Option<String> {
    concept?
        .get("coding")?
        .as_array()?
        .iter()
        .find(|c| c.get("system").and_then(Value::as_str) == Some(LOINC))
        .and_then(|c| c.get("code")?.as_str())
        .map(str::to_string)
}

fn unit_of(r: &Value) -> Option<&str> {
    let q = r.get("valueQuantity")?;
    q.get("code")
        .or_else(|| q.get("unit"))
        .and_then(Value::as_str)
}

/// `valueQuantity.value` in one of `units` (UCUM `code`, else `unit`), times its factor.
fn quantity(r: &Value, units: &[(&str, f64)]) -> Result<f64, String> {
    let q = r.get("valueQuantity").ok_or("no valueQuantity")?;
    let value = q
        .get("value")
        .and_then(Value::as_f64)
        .filter(|v| v.is_finite())
        .ok_or("valueQuantity without a number")?;
    let unit = unit_of(r).ok_or("valueQuantity without a unit")?;
    let (_, factor) = units
        .iter()
        .find(|(u, _)| *u == unit)
        .ok_or_else(|| format!("unit {} not supported here", short(unit)))?;
    Ok(value * factor)
}

fn round(v: f64, decimals: i32) -> f64 {
    crate::ieee11073::round_to(v, decimals)
}

/// A string from the file, cut to 200 characters for display.
fn short(s: &str) -> &str {
    match s.char_indices().nth(200) {
        Some((i, _)) => &s[..i],
        None => s,
    }
}
