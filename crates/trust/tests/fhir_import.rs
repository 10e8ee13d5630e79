//! Readings imported from a FHIR R4 Observation Bundle (HL7 FHIR R4 §Observation, the vital
//! signs profile's LOINC codes), for browsers without Web Bluetooth: recognised, converted to
//! fixed units, everything else skipped with a reason, and a file that is not a Bundle refused.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use serde_json::json;
use veil_trust::Coded;
use veil_trust::fhir_import::{ImportedKind, import_observation_bundle};

fn obs(code: &str, value: serde_json::Value) -> serde_json::Value {
    let mut o = json!({
        "resourceType": "Observation", "status": "final", "id": format!("o-{code}"),
        "code": {"coding": [{"system": "http://loinc.org", "code": code}]},
        "effectiveDateTime": "2026-11-23T10:30:00+01:00",
        "device": {"display": "Omron M7"},
    });
    o.as_object_mut()
        .unwrap()
        .extend(value.as_object().unwrap().clone());
    json!({"resource": o})
}

fn q(value: f64, code: &str) -> serde_json::Value {
    json!({"valueQuantity": {"value": value, "unit": code, "system": "http://unitsofmeasure.org", "code": code}})
}

#[test]
fn a_bundle_of_every_supported_reading() {
    let bp = json!({"component": [
        {"code": {"coding": [{"system": "http://loinc.org", "code": "8480-6"}]}, "valueQuantity": {"value": 120, "code": "mm[Hg]"}},
        {"code": {"coding": [{"system": "http://loinc.org", "code": "8462-4"}]}, "valueQuantity": {"value": 80, "code": "mm[Hg]"}},
    ]});
    let bundle = json!({"resourceType": "Bundle", "type": "collection", "entry": [
        obs("85354-9", bp),
        obs("8310-5", q(98.6, "[degF]")),
        obs("29463-7", q(160.0, "[lb_av]")),
        obs("59408-5", q(97.0, "%")),
        obs("8867-4", q(64.0, "/min")),
        obs("2339-0", q(95.0, "mg/dL")),
        {"resource": {"resourceType": "Patient", "id": "p"}},
        obs("2339-0", q(5.2, "mmol/L")),
        obs("1234-5", q(1.0, "%")),
        {"resource": {"resourceType": "Observation", "status": "entered-in-error", "code": {"coding": [{"system": "http://loinc.org", "code": "8867-4"}]}}},
    ]});
    let import = import_observation_bundle(&bundle.to_string()).unwrap();
    let kinds: Vec<ImportedKind> = import.readings.iter().map(|r| r.kind).collect();
    assert_eq!(
        kinds,
        [
            ImportedKind::BloodPressure,
            ImportedKind::BodyTemperature,
            ImportedKind::BodyWeight,
            ImportedKind::Spo2,
            ImportedKind::HeartRate,
            ImportedKind::Glucose
        ]
    );
    let v = |i: usize| {
        import.readings[i]
            .values
            .iter()
            .map(|v| (v.name, v.value, v.unit))
            .collect::<Vec<_>>()
    };
    assert_eq!(
        v(0),
        [("systolic", 120.0, "mmHg"), ("diastolic", 80.0, "mmHg")]
    );
    assert_eq!(v(1), [("celsius", 37.0, "°C")]);
    assert_eq!(v(2), [("weight", 72.575, "kg")]);
    assert_eq!(v(5), [("concentration", 95.0, "mg/dL")]);
    assert_eq!(
        import.readings[0].effective.as_deref(),
        Some("2026-11-23T10:30:00+01:00")
    );
    assert_eq!(import.readings[0].device.as_deref(), Some("Omron M7"));
    assert_eq!(import.skipped.len(), 4);
    assert!(import.skipped[0].contains("Patient"));
    assert!(import.skipped[1].contains("unit mmol/L"));
    assert!(import.skipped[2].contains("1234-5"));
    assert!(import.skipped[3].contains("entered-in-error"));
}

#[test]
fn what_is_not_a_bundle_is_refused() {
    for text in [
        "",
        "{",
        "[]",
        r#"{"resourceType":"Observation"}"#,
        r#"{"resourceType":"Bundle","entry":{}}"#,
    ] {
        assert_eq!(
            import_observation_bundle(text).unwrap_err().code(),
            "bad-bundle",
            "{text}"
        );
    }
    let big = format!(
        r#"{{"resourceType":"Bundle","x":"{}"}}"#,
        "a".repeat(4 * 1024 * 1024)
    );
    assert_eq!(
        import_observation_bundle(&big).unwrap_err().code(),
        "bad-bundle"
    );
    let many = json!({"resourceType": "Bundle", "entry": vec![json!({}); 4097]});
    assert_eq!(
        import_observation_bundle(&many.to_string())
            .unwrap_err()
            .code(),
        "bad-bundle"
    );
    // Empty bundle: nothing, no error.
    assert!(
        import_observation_bundle(r#"{"resourceType":"Bundle"}"#)
            .unwrap()
            .readings
            .is_empty()
    );
    // A panel missing its diastolic, a value that is not a number: skipped.
    let half = json!({"resourceType": "Bundle", "entry": [
        obs("85354-9", json!({"component": [{"code": {"coding": [{"system": "http://loinc.org", "code": "8480-6"}]}, "valueQuantity": {"value": 120, "code": "mm[Hg]"}}]})),
        obs("8867-4", json!({"valueQuantity": {"value": "64", "code": "/min"}})),
    ]});
    let import = import_observation_bundle(&half.to_string()).unwrap();
    assert!(import.readings.is_empty());
    assert_eq!(import.skipped.len(), 2);
}
