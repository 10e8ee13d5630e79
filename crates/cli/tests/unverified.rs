//! Unverified readings from the command line (issue 17): `veil seal --unverified-readings` carries
//! a standard device's or an imported file's readings into the manifest's `unverified_readings`,
//! apart from the device evidence; `veil open` prints them with their status `unverified`, in a
//! form `veil seal` reads back; a reading out of the manifest's ranges is refused, nothing written.
#![allow(missing_docs, clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::path::Path;
use std::process::Output;

use common::{fails_with, scratch, veil};

/// `out` exited 0; its stdout as JSON (null when it printed none).
fn ok(out: Output) -> serde_json::Value {
    serde_json::from_str(&common::ok(out)).unwrap_or(serde_json::Value::Null)
}

fn p(dir: &Path, name: &str) -> String {
    dir.join(name).display().to_string()
}

fn seal(dir: &Path, readings: &str, out: &str) -> Output {
    veil(&[
        "seal",
        "--recipient",
        &p(dir, "k/recipient.pub.pem"),
        "--client-key",
        &p(dir, "k/client.pem"),
        "--purpose",
        "treatment",
        "--pseudonym-secret",
        &p(dir, "k/pseudonym.secret"),
        "--unverified-readings",
        &p(dir, readings),
        "-o",
        &p(dir, out),
        &p(dir, "note.txt"),
    ])
}

fn open(dir: &Path, artifact: &str) -> serde_json::Value {
    ok(veil(&[
        "open",
        "--key",
        &p(dir, "k/recipient.pem"),
        &p(dir, artifact),
    ]))
}

#[test]
fn unverified_readings_seal_open_and_seal_again_as_unverified() {
    let dir = scratch("unverified");
    ok(veil(&["seal", "--generate-keys", &p(&dir, "k")]));
    std::fs::write(dir.join("note.txt"), "x").unwrap();
    let readings = serde_json::json!([
        {
            "kind": "blood_pressure",
            "values": [
                {"name": "systolic", "value": 131, "unit": "mmHg"},
                {"name": "diastolic", "value": 84.5, "unit": "mmHg"}
            ],
            "time": "2026-12-06T09:15:00",
            "source": "standard-gatt",
            "device": {"manufacturer": "Omron Healthcare", "model": "M7 Intelli IT"}
        },
        {
            "kind": "temperature",
            "values": [{"name": "celsius", "value": 37.2, "unit": "°C"}],
            "source": "fhir-import"
        }
    ]);
    std::fs::write(dir.join("r.json"), readings.to_string()).unwrap();
    ok(seal(&dir, "r.json", "a.veil"));
    let opened = open(&dir, "a.veil");
    assert_eq!(opened["device_evidence"], serde_json::json!([]));
    let got = opened["unverified_readings"].as_array().unwrap();
    assert_eq!(got.len(), 2);
    assert!(got.iter().all(|r| r["status"] == "unverified"));
    assert_eq!(got[0]["values"][1]["value"], 84.5);
    assert_eq!(got[0]["device"]["model"], "M7 Intelli IT");
    assert_eq!(got[1]["source"], "fhir-import");
    assert!(got[1]["time"].is_null());

    // What `veil open` prints seals again to the same readings.
    std::fs::write(
        dir.join("again.json"),
        opened["unverified_readings"].to_string(),
    )
    .unwrap();
    ok(seal(&dir, "again.json", "b.veil"));
    assert_eq!(
        open(&dir, "b.veil")["unverified_readings"],
        opened["unverified_readings"]
    );

    // Out of range (no value; an unknown source): refused with its code, nothing written.
    for bad in [
        serde_json::json!([{"kind": "weight", "values": [], "source": "fhir-import"}]),
        serde_json::json!([{"kind": "weight", "values": [{"name": "weight", "value": 70, "unit": "kg"}], "source": "veil-signed"}]),
        serde_json::json!({"kind": "weight"}),
    ] {
        std::fs::write(dir.join("bad.json"), bad.to_string()).unwrap();
        fails_with(&seal(&dir, "bad.json", "c.veil"), 1, "bad-manifest");
        assert!(!dir.join("c.veil").exists(), "{bad}");
    }
    let _ = std::fs::remove_dir_all(&dir);
}
