//! Unverified readings (a standard Bluetooth device's, a FHIR file's) travel in the manifest's
//! `unverified_readings`, apart from the device evidence: they seal, sign and open unchanged, any
//! out-of-range one is refused before anything is signed, and nothing in them reads as verified.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use proptest::prelude::*;
use veil_seal::{
    ArtifactBuilder, Coded, ConsentRef, DeviceClaims, DeviceEvidence, MAX_CLAIM_LEN,
    MAX_UNVERIFIED_TOKEN, MAX_UNVERIFIED_VALUES, PseudonymSecret, RecipientKey, SigningKey,
    UnverifiedReading, UnverifiedSource, UnverifiedValue, open, seal_artifact,
    verify_signed_artifact,
};

fn client() -> SigningKey {
    SigningKey::from_slice(&[0x11; 32]).unwrap()
}

fn builder() -> ArtifactBuilder {
    let secret = PseudonymSecret::from_bytes(&[5; 32]).unwrap();
    let consent = ConsentRef {
        decision: veil_seal::ConsentDecision::Allow,
        event_hash: Some([1; 32]),
        context: None,
    };
    ArtifactBuilder::new(
        secret.pseudonym("clinic-a", "treatment"),
        "treatment",
        "clinic-a",
        consent,
        1_790_000_000_000,
    )
}

fn cuff_reading() -> UnverifiedReading {
    UnverifiedReading {
        kind: "blood_pressure".into(),
        values: [("systolic", 120.0), ("diastolic", 80.0), ("pulse", 70.0)]
            .into_iter()
            .map(|(name, value)| UnverifiedValue {
                name: name.into(),
                value,
                unit: if name == "pulse" { "bpm" } else { "mmHg" }.into(),
            })
            .collect(),
        time: Some("2026-12-06T09:15:00".into()),
        source: UnverifiedSource::StandardGatt,
        device: DeviceClaims {
            manufacturer: Some("Omron Healthcare".into()),
            model: Some("HEM-7600T".into()),
            firmware: Some("1.0.3".into()),
            ..DeviceClaims::default()
        },
    }
}

#[test]
fn a_standard_cuffs_reading_seals_and_opens_as_unverified() {
    let recipient = RecipientKey::derive(b"veil unverified tests recipient.").unwrap();
    let mut b = builder();
    b.add_unverified_reading(cuff_reading());
    b.add_file("unverified-readings.json", b"[]".to_vec())
        .unwrap();
    let envelope = seal_artifact(b.sign(&client()).unwrap(), recipient.public_key()).unwrap();
    let opened = open(envelope.as_bytes(), &recipient, None).unwrap();
    let manifest = &opened.artifact.manifest;
    assert_eq!(manifest.unverified_readings, vec![cuff_reading()]);
    assert!(manifest.device_evidence.is_empty());
    let json = manifest.to_json();
    assert_eq!(json["unverified_readings"][0]["status"], "unverified");
    assert_eq!(
        json["unverified_readings"][0]["device"]["model"],
        "HEM-7600T"
    );
    assert_eq!(json["device_evidence"], serde_json::json!([]));
}

#[test]
fn verified_evidence_and_unverified_readings_stay_apart() {
    let mut b = builder();
    b.add_device_evidence(DeviceEvidence {
        reading: vec![0xd2, 1],
        chain: vec![vec![0x30]],
        challenge_salt: Some([3; 32]),
    });
    b.add_unverified_reading(UnverifiedReading {
        source: UnverifiedSource::FhirImport,
        ..cuff_reading()
    });
    let signed = b.sign(&client()).unwrap().into_bytes();
    let m = verify_signed_artifact(&signed, None).unwrap().manifest;
    assert_eq!(m.device_evidence.len(), 1);
    assert_eq!(m.unverified_readings.len(), 1);
    assert_eq!(m.unverified_readings[0].source.id(), "fhir-import");
}

#[test]
fn an_out_of_range_unverified_reading_is_refused_before_signing() {
    let mut b = builder();
    b.add_unverified_reading(UnverifiedReading {
        values: vec![],
        ..cuff_reading()
    });
    assert_eq!(b.sign(&client()).unwrap_err().code(), "bad-manifest");
}

fn token(max: usize) -> impl Strategy<Value = String> {
    proptest::string::string_regex(&format!("[a-z0-9_]{{0,{}}}", max + 2)).unwrap()
}

fn any_text(max: usize) -> impl Strategy<Value = String> {
    proptest::collection::vec(any::<char>(), 0..max).prop_map(|c| c.into_iter().collect())
}

prop_compose! {
    fn any_value()(
        name in any_text(MAX_UNVERIFIED_TOKEN + 4),
        unit in prop_oneof![Just("mmHg".to_string()), Just("°C".to_string()), any_text(MAX_UNVERIFIED_TOKEN + 4)],
        value in prop_oneof![any::<f64>(), -1e6f64..1e6, Just(f64::NAN), Just(0.0)],
    ) -> UnverifiedValue {
        UnverifiedValue { name, value, unit }
    }
}

prop_compose! {
    fn any_reading()(
        kind in prop_oneof![token(MAX_UNVERIFIED_TOKEN), any_text(12)],
        values in proptest::collection::vec(any_value(), 0..MAX_UNVERIFIED_VALUES + 3),
        time in proptest::option::of(any_text(MAX_UNVERIFIED_TOKEN + 4)),
        gatt in any::<bool>(),
        manufacturer in proptest::option::of(any_text(40)),
        serial in proptest::option::of(prop_oneof![any_text(8), Just("s".repeat(MAX_CLAIM_LEN + 1))]),
    ) -> UnverifiedReading {
        UnverifiedReading {
            kind,
            values,
            time,
            source: if gatt { UnverifiedSource::StandardGatt } else { UnverifiedSource::FhirImport },
            device: DeviceClaims { manufacturer, serial, ..DeviceClaims::default() },
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    /// Any unverified readings: either every one is within its ranges and the artifact signs,
    /// verifies and reads back exactly (same values, bit for bit), or sealing is refused with
    /// `bad-manifest` and nothing is signed.
    #[test]
    fn unverified_readings_seal_exactly_or_are_refused(readings in proptest::collection::vec(any_reading(), 0..6)) {
        let valid = readings.iter().all(|r| r.validate().is_ok());
        let mut b = builder();
        for r in &readings {
            b.add_unverified_reading(r.clone());
        }
        match b.sign(&client()) {
            Ok(signed) => {
                prop_assert!(valid);
                let m = verify_signed_artifact(signed.as_bytes(), None).unwrap().manifest;
                prop_assert_eq!(m.unverified_readings.len(), readings.len());
                for (got, want) in m.unverified_readings.iter().zip(&readings) {
                    prop_assert_eq!(got, want);
                    for (g, w) in got.values.iter().zip(&want.values) {
                        prop_assert_eq!(g.value.to_bits(), w.value.to_bits());
                    }
                }
                prop_assert!(m.device_evidence.is_empty());
            }
            Err(e) => {
                prop_assert!(!valid);
                prop_assert_eq!(e.code(), "bad-manifest");
            }
        }
    }

    /// Any single byte changed in a signed artifact carrying unverified readings is refused.
    #[test]
    fn a_changed_byte_in_unverified_readings_is_refused(pos in 0usize..10_000, xor in 1u8..=255) {
        let mut b = builder();
        b.add_unverified_reading(cuff_reading());
        let mut signed = b.sign(&client()).unwrap().into_bytes();
        let i = pos % signed.len();
        signed[i] ^= xor;
        prop_assert!(verify_signed_artifact(&signed, None).is_err());
    }
}
