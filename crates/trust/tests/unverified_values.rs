//! What a standard device's record becomes when it is sealed as an unverified reading: its kind in
//! one vocabulary with imported readings, its numbers in fixed units with the IEEE 11073 special
//! values left out, and the time it states (none when its date is unknown or its clock not set).
#![allow(clippy::unwrap_used, clippy::expect_used)]

use veil_trust::fhir_import::{ImportedKind, import_observation_bundle};
use veil_trust::measurement::{
    CHR_BLOOD_PRESSURE, CHR_GLUCOSE, CHR_PLX_SPOT_CHECK, SVC_BLOOD_PRESSURE, SVC_GLUCOSE,
    SVC_PULSE_OXIMETER, decode,
};

fn values(m: &veil_trust::Measurement) -> Vec<(&'static str, f64, &'static str)> {
    m.values()
        .into_iter()
        .map(|v| (v.name, v.value, v.unit))
        .collect()
}

#[test]
fn a_cuffs_record_keeps_its_numbers_and_time_and_drops_special_values() {
    // BLS 1.1.1 §3.1: flags time stamp + pulse (0x06), 120/80/NaN mmHg, 2026-12-06 09:15:00,
    // pulse NRes.
    let value = [
        0x06, 0x78, 0x00, 0x50, 0x00, 0xFF, 0x07, 0xEA, 0x07, 12, 6, 9, 15, 0, 0x00, 0x08,
    ];
    let m = decode(SVC_BLOOD_PRESSURE, CHR_BLOOD_PRESSURE, &value).unwrap();
    assert_eq!(m.kind(), "blood_pressure");
    assert_eq!(
        values(&m),
        vec![("systolic", 120.0, "mmHg"), ("diastolic", 80.0, "mmHg")]
    );
    assert_eq!(m.stated_time().as_deref(), Some("2026-12-06T09:15:00"));
    // An unknown date (year 0) is no time at all.
    let mut unknown = value;
    unknown[7..9].copy_from_slice(&[0, 0]);
    let m = decode(SVC_BLOOD_PRESSURE, CHR_BLOOD_PRESSURE, &unknown).unwrap();
    assert_eq!(m.stated_time(), None);
}

#[test]
fn a_glucose_record_states_its_base_time_and_offset() {
    // GLS 1.0.1 §3.2.1: flags time offset + concentration kg/L (0x03), sequence 7,
    // base time 2026-12-06 07:00:00, offset +30 min, 95 mg/dL (SFLOAT 95e-5 kg/L), capillary
    // whole blood, finger.
    let value = [
        0x03, 7, 0, 0xEA, 0x07, 12, 6, 7, 0, 0, 30, 0, 0x5F, 0xB0, 0x11,
    ];
    let m = decode(SVC_GLUCOSE, CHR_GLUCOSE, &value).unwrap();
    assert_eq!(m.kind(), "glucose");
    assert_eq!(
        values(&m),
        vec![
            ("concentration", 95.0, "mg/dL"),
            ("time_offset", 30.0, "min")
        ]
    );
    assert_eq!(m.stated_time().as_deref(), Some("2026-12-06T07:00:00"));
}

#[test]
fn an_oximeter_whose_clock_is_not_set_states_no_time() {
    // PLXS 1.0.1 §3.1: flags time stamp + device clock not set (0x11), SpO2 98 %, pulse 72.
    let value = [0x11, 98, 0, 72, 0, 0xEA, 0x07, 12, 6, 9, 0, 0];
    let m = decode(SVC_PULSE_OXIMETER, CHR_PLX_SPOT_CHECK, &value).unwrap();
    assert_eq!(
        values(&m),
        vec![("spo2", 98.0, "%"), ("pulse", 72.0, "bpm")]
    );
    assert_eq!(m.stated_time(), None);
}

#[test]
fn imported_kinds_use_the_same_vocabulary_as_decoded_measurements() {
    let bundle = r#"{"resourceType":"Bundle","entry":[{"resource":{"resourceType":"Observation",
      "status":"final","code":{"coding":[{"system":"http://loinc.org","code":"8310-5"}]},
      "valueQuantity":{"value":37.2,"unit":"Cel","code":"Cel"}}}]}"#;
    let import = import_observation_bundle(bundle).unwrap();
    assert_eq!(import.readings[0].kind.measurement_kind(), "temperature");
    let kinds = [
        (ImportedKind::BloodPressure, "blood_pressure"),
        (ImportedKind::BodyTemperature, "temperature"),
        (ImportedKind::BodyWeight, "weight"),
        (ImportedKind::Spo2, "pulse_oximetry"),
        (ImportedKind::HeartRate, "heart_rate"),
        (ImportedKind::Glucose, "glucose"),
    ];
    for (kind, id) in kinds {
        assert_eq!(kind.measurement_kind(), id);
    }
}
