//! Unverified readings (issue 17: a standard Bluetooth device's, or imported from a FHIR file) are
//! accepted and stored with their status `unverified`, never counted as verified evidence; an
//! entry that claims more (a `verified` flag, a signature, a device chain) is refused, even signed
//! by the enrolled client, and nothing is stored.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use axum::http::StatusCode;
use ciborium::Value;
use common::*;
use coset::TaggedCborSerializable;
use p256::ecdsa::Signature;
use p256::ecdsa::signature::Signer;
use veil_ingest::{ArtifactVerifier, Coded, Limits};
use veil_seal::{DeviceClaims, UnverifiedReading, UnverifiedSource, UnverifiedValue};

fn cuff_reading(systolic: f64) -> UnverifiedReading {
    UnverifiedReading {
        kind: "blood_pressure".into(),
        values: vec![
            UnverifiedValue {
                name: "systolic".into(),
                value: systolic,
                unit: "mmHg".into(),
            },
            UnverifiedValue {
                name: "diastolic".into(),
                value: 81.0,
                unit: "mmHg".into(),
            },
        ],
        time: Some("2026-12-06T09:15:00".into()),
        source: UnverifiedSource::StandardGatt,
        device: DeviceClaims {
            manufacturer: Some("Omron Healthcare".into()),
            model: Some("HEM-7600T".into()),
            ..DeviceClaims::default()
        },
    }
}

/// Signed artifact bytes with `evidence` and `unverified` readings.
fn signed_with(
    f: &Fixture,
    evidence: Vec<veil_seal::DeviceEvidence>,
    unverified: Vec<UnverifiedReading>,
) -> Vec<u8> {
    let mut b = f.builder();
    for e in evidence {
        b.add_device_evidence(e);
    }
    for r in unverified {
        b.add_unverified_reading(r);
    }
    b.sign(&f.client).unwrap().into_bytes()
}

/// The stored manifest record of artifact `id`.
fn stored_manifest(f: &Fixture, id: &str) -> serde_json::Value {
    let path = f
        .config
        .data_dir
        .join("objects")
        .join(format!("artifacts/{}/{id}/manifest.json", &id[..2]));
    serde_json::from_slice(&std::fs::read(path).unwrap()).unwrap()
}

#[tokio::test]
async fn an_unverified_reading_is_stored_as_unverified_beside_a_verified_one() {
    let f = Fixture::new();
    let envelope = f.seal(signed_with(
        &f,
        vec![f.reading(3)],
        vec![
            cuff_reading(121.0),
            UnverifiedReading {
                source: UnverifiedSource::FhirImport,
                device: DeviceClaims {
                    name: Some("Cuff app export".into()),
                    ..DeviceClaims::default()
                },
                ..cuff_reading(118.0)
            },
        ],
    ));
    let id = id_of(&envelope);
    let (status, json) = post(&f.app(), envelope).await;
    assert_eq!(status, StatusCode::CREATED, "{json}");

    let record = stored_manifest(&f, &id);
    let unverified = record["manifest"]["unverified_readings"]
        .as_array()
        .unwrap();
    assert_eq!(unverified.len(), 2);
    for entry in unverified {
        assert_eq!(entry["status"], "unverified", "{entry}");
    }
    assert_eq!(unverified[0]["source"], "standard-gatt");
    assert_eq!(unverified[0]["values"][0]["value"], 121.0);
    assert_eq!(unverified[0]["device"]["model"], "HEM-7600T");
    assert_eq!(unverified[1]["source"], "fhir-import");
    // Only the signed reading is verified evidence.
    let verification = &record["verification"];
    assert_eq!(verification["readings"].as_array().unwrap().len(), 1);
    assert_eq!(verification["readings"][0]["counter"], 3);
    assert_eq!(verification["unverified_readings"], 2);
    assert_eq!(
        record["manifest"]["device_evidence"]
            .as_array()
            .unwrap()
            .len(),
        1
    );
}

#[tokio::test]
async fn unverified_readings_are_never_counted_as_verified_evidence() {
    let f = Fixture::new();
    let key = veil_seal::RecipientKey::derive(b"veil ingest unverified test key.").unwrap();
    let public = key.public_key().clone();
    let verifier = ArtifactVerifier::new(
        key,
        veil_trust::Verifier::new(f.maker.store.clone()),
        Some(RECIPIENT_ID.into()),
        4,
    );
    let now = now_ms();
    let seal = |signed: Vec<u8>| veil_seal::seal(signed, &public).unwrap().into_bytes();

    let only_unverified = seal(signed_with(&f, vec![], vec![cuff_reading(120.0); 4]));
    let upload = verifier
        .verify(&only_unverified, &sec1(&f.client), now)
        .unwrap();
    assert!(upload.readings.is_empty());
    assert_eq!(
        upload.manifest_json["verification"]["readings"],
        serde_json::json!([])
    );
    assert_eq!(
        upload.manifest_json["verification"]["unverified_readings"],
        4
    );

    let mixed = seal(signed_with(
        &f,
        vec![f.reading(9)],
        vec![cuff_reading(120.0)],
    ));
    let upload = verifier.verify(&mixed, &sec1(&f.client), now).unwrap();
    assert_eq!(upload.readings.len(), 1);
    assert_eq!(upload.readings[0].counter, 9);

    // The configured bound on readings holds for the unverified ones too.
    let too_many = seal(signed_with(&f, vec![], vec![cuff_reading(120.0); 5]));
    let refused = verifier
        .verify(&too_many, &sec1(&f.client), now)
        .unwrap_err();
    assert_eq!(refused.code(), "too-many-readings");
}

/// The signed artifact with `key: value` added to its first unverified reading, signed again by
/// the enrolled client (so only the manifest's schema can refuse it).
fn forged(f: &Fixture, key: &str, value: Value) -> Vec<u8> {
    let signed = signed_with(f, vec![], vec![cuff_reading(120.0)]);
    let mut sign1 = coset::CoseSign1::from_tagged_slice(&signed).unwrap();
    let mut payload: Value =
        ciborium::from_reader(sign1.payload.as_deref().unwrap_or_default()).unwrap();
    let entry = payload
        .as_map_mut()
        .and_then(|top| {
            top.iter_mut()
                .find(|(k, _)| k.as_text() == Some("manifest"))
        })
        .and_then(|(_, m)| m.as_map_mut())
        .and_then(|m| {
            m.iter_mut()
                .find(|(k, _)| k.as_text() == Some("unverified_readings"))
        })
        .and_then(|(_, list)| list.as_array_mut())
        .and_then(|list| list.first_mut())
        .and_then(Value::as_map_mut)
        .unwrap();
    entry.push((Value::Text(key.into()), value));
    let mut bytes = Vec::new();
    ciborium::into_writer(&payload, &mut bytes).unwrap();
    sign1.payload = Some(bytes);
    let signature: Signature = f.client.sign(&sign1.tbs_data(b""));
    sign1.signature = signature.to_bytes().to_vec();
    sign1.to_tagged_vec().unwrap()
}

#[tokio::test]
async fn a_forged_verified_claim_on_an_unverified_reading_is_refused_and_nothing_stored() {
    let f = Fixture::new();
    let app = f.app();
    // The same path, unforged, is accepted: the refusals below are the claims'.
    let plain = f.seal(signed_with(&f, vec![], vec![cuff_reading(120.0)]));
    let evidence = f.reading(11);
    for (key, value) in [
        ("verified", Value::Bool(true)),
        ("status", Value::Text("verified".into())),
        ("reading", Value::Bytes(evidence.reading.clone())),
        (
            "chain",
            Value::Array(evidence.chain.iter().cloned().map(Value::Bytes).collect()),
        ),
        ("challenge_salt", Value::Bytes(vec![1; 32])),
    ] {
        let envelope = f.seal(forged(&f, key, value));
        let (status, json) = post(&app, envelope).await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{key}: {json}");
        assert_eq!(json["error"], "bad-artifact", "{key}: {json}");
        assert_eq!(f.stored().await, (0, vec![]), "{key}: something was stored");
    }
    let (status, json) = post(&app, plain).await;
    assert_eq!(status, StatusCode::CREATED, "{json}");
}

#[tokio::test]
async fn the_servers_reading_bound_applies_to_unverified_readings() {
    let f = Fixture::with_limits(Limits {
        max_readings: 2,
        ..Limits::default()
    });
    let envelope = f.seal(signed_with(&f, vec![], vec![cuff_reading(120.0); 3]));
    let (status, json) = post(&f.app(), envelope).await;
    assert_eq!(json["error"], "too-many-readings", "{json}");
    assert!(status.is_client_error());
    assert_eq!(f.stored().await, (0, vec![]));
}
