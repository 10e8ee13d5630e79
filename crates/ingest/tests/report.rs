//! Bounded work before trust (issue #14, finding 2): a validly signed artifact whose shareable
//! de-identification report is large must not make the server write many times the upload.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use axum::http::StatusCode;
use common::*;

/// Bytes of every file under `dir`.
fn bytes_under(dir: &std::path::Path) -> u64 {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return 0;
    };
    entries
        .map(|e| {
            let e = e.unwrap();
            let meta = e.metadata().unwrap();
            if meta.is_dir() {
                bytes_under(&e.path())
            } else {
                meta.len()
            }
        })
        .sum()
}

/// A sealed, validly signed artifact whose shareable report carries `steps` step records.
fn envelope_with_steps(f: &Fixture, steps: usize) -> Vec<u8> {
    let mut report = serde_json::to_value(deidentified().1.shareable()).unwrap();
    let step = serde_json::json!({"step": "scrub", "applied": true, "note": ""});
    report["steps"] = serde_json::Value::Array(vec![step; steps]);
    let mut b = f.builder();
    b.set_deid_report(report);
    b.add_device_evidence(f.reading(1));
    f.seal(b.sign(&f.client).unwrap().into_bytes())
}

#[tokio::test]
async fn a_large_report_is_refused_or_stored_compactly() {
    let f = Fixture::new();
    let data = f.config.data_dir.clone();
    let envelope = envelope_with_steps(&f, 30_000);
    let size = envelope.len() as u64;
    assert!(size > 512 * 1024, "{size}");
    let before = bytes_under(&data);
    let (status, json) = post(&f.app(), envelope).await;
    let written = bytes_under(&data).saturating_sub(before);
    assert!(
        written <= 2 * size,
        "a {size}-byte upload made the server write {written} bytes ({status} {json})"
    );
    if status != StatusCode::CREATED {
        assert_eq!(
            (status, json["error"].as_str()),
            (StatusCode::UNPROCESSABLE_ENTITY, Some("bad-manifest")),
            "{json}"
        );
        assert_eq!(f.stored().await, (0, vec![]));
    }
}

#[tokio::test]
async fn a_deeply_nested_report_is_refused_before_it_is_read() {
    let f = Fixture::new();
    let mut report = serde_json::to_value(deidentified().1.shareable()).unwrap();
    let mut nested = serde_json::json!(0);
    for _ in 0..40 {
        nested = serde_json::json!([nested]);
    }
    report["flags"] = nested;
    let mut b = f.builder();
    b.set_deid_report(report);
    b.add_device_evidence(f.reading(1));
    let (status, json) = post(&f.app(), f.seal(b.sign(&f.client).unwrap().into_bytes())).await;
    assert_eq!(
        (status, json["error"].as_str()),
        (StatusCode::UNPROCESSABLE_ENTITY, Some("bad-manifest")),
        "{json}"
    );
    assert!(
        json["detail"].as_str().unwrap().contains("nested"),
        "{json}"
    );
    assert_eq!(f.stored().await, (0, vec![]));
}

#[tokio::test]
async fn a_report_within_the_bounds_is_stored_as_compact_json() {
    let f = Fixture::new();
    let envelope = envelope_with_steps(&f, 500);
    let id = id_of(&envelope);
    assert_eq!(post(&f.app(), envelope).await.0, StatusCode::CREATED);
    let manifest = std::fs::read_to_string(
        f.config
            .data_dir
            .join(format!("objects/artifacts/{}/{id}/manifest.json", &id[..2])),
    )
    .unwrap();
    assert!(
        !manifest.contains('\n'),
        "the manifest record is re-indented"
    );
    let parsed: serde_json::Value = serde_json::from_str(&manifest).unwrap();
    assert_eq!(
        parsed["manifest"]["deid_report"]["steps"]
            .as_array()
            .unwrap()
            .len(),
        500
    );
}
