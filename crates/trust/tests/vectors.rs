//! Cross-implementation vectors: readings and chains made by Python's `cryptography` and
//! `pycose` (`scripts/trust/gen_vectors.py`), one file per case named after what it proves,
//! verified here by the Rust verifier. `manifest.json` holds each case's expectation.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::path::{Path, PathBuf};

use serde_json::Value;
use veil_trust::{
    Coded, FreshnessWindow, Rejection, RevocationList, TrustStore, Verifier, certs_from_pem,
};

fn dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/vectors")
}

fn manifest() -> Value {
    serde_json::from_str(&std::fs::read_to_string(dir().join("manifest.json")).unwrap()).unwrap()
}

fn verifier(m: &Value) -> Verifier {
    let store = TrustStore::from_pem(
        &std::fs::read_to_string(dir().join(m["trust"].as_str().unwrap())).unwrap(),
    )
    .unwrap();
    let mut revoked = RevocationList::new();
    for s in m["revoked"].as_array().unwrap() {
        revoked.insert(s.as_str().unwrap());
    }
    Verifier::new(store)
        .with_revocations(revoked)
        .with_window(FreshnessWindow {
            max_age_secs: m["max_age_secs"].as_u64().unwrap(),
            max_future_secs: m["max_future_secs"].as_u64().unwrap(),
        })
}

/// Runs one case; returns a description of the mismatch, if any.
fn run_case(v: &Verifier, now: u64, case: &Value) -> Option<String> {
    let name = case["name"].as_str().unwrap();
    let cose = std::fs::read(dir().join(case["cose"].as_str().unwrap())).unwrap();
    let chain_pem = std::fs::read_to_string(dir().join(case["chain"].as_str().unwrap())).unwrap();
    let nonce = case["nonce"].as_str().map(|h| hex::decode(h).unwrap());
    let last = case["last_counter"].as_u64();
    let expect = case["expect"].as_str().unwrap();
    let result = certs_from_pem(&chain_pem)
        .map_err(Rejection::from)
        .and_then(|chain| v.verify(&cose, &chain, nonce.as_deref(), last, now));
    match (expect, result) {
        ("verified", Ok(reading)) => {
            let got = serde_json::to_value(&reading.measurement).unwrap();
            if let Some(want) = case["measurement"].as_object() {
                for (k, w) in want {
                    let g = &got[k];
                    let same = match (w.as_f64(), g.as_f64()) {
                        (Some(a), Some(b)) => (a - b).abs() < 1e-9,
                        _ => w == g,
                    };
                    if !same {
                        return Some(format!("{name}: measurement.{k} = {g}, want {w}"));
                    }
                }
            }
            if reading.cose != cose {
                return Some(format!(
                    "{name}: VerifiedReading.cose is not the original bytes"
                ));
            }
            None
        }
        ("verified", Err(r)) => Some(format!(
            "{name}: rejected {} ({r}), want verified",
            r.code()
        )),
        (code, Ok(_)) => Some(format!("{name}: verified, want {code}")),
        (code, Err(r)) if r.code() == code => None,
        (code, Err(r)) => Some(format!("{name}: {} ({r}), want {code}", r.code())),
    }
}

#[test]
fn every_python_vector_gets_its_expected_outcome() {
    let m = manifest();
    let v = verifier(&m);
    let now = m["now"].as_u64().unwrap();
    let cases = m["cases"].as_array().unwrap();
    assert!(cases.len() >= 40, "vector set is incomplete");
    let failures: Vec<String> = cases.iter().filter_map(|c| run_case(&v, now, c)).collect();
    assert!(
        failures.is_empty(),
        "{} of {} vectors failed:\n{}",
        failures.len(),
        cases.len(),
        failures.join("\n")
    );
}

#[test]
fn vectors_cover_every_rejection_code() {
    let m = manifest();
    for code in veil_trust::Rejection::CODES {
        assert!(
            m["cases"]
                .as_array()
                .unwrap()
                .iter()
                .any(|c| c["expect"] == code),
            "no vector expects {code}"
        );
    }
}

#[test]
fn chain_cache_gives_the_same_answers_in_any_order() {
    // The verifier caches validated chains; running the cases in reverse on the same verifier
    // must not let one case's cached chain change another's outcome.
    let m = manifest();
    let v = verifier(&m);
    let now = m["now"].as_u64().unwrap();
    let cases = m["cases"].as_array().unwrap();
    for c in cases.iter().rev().chain(cases.iter()) {
        assert_eq!(run_case(&v, now, c), None);
    }
}

#[test]
fn pairing_shows_identity_or_why_not() {
    let m = manifest();
    let v = verifier(&m);
    let now = m["now"].as_u64().unwrap();
    let chain = |name: &str| {
        certs_from_pem(&std::fs::read_to_string(dir().join(format!("chains/{name}.pem"))).unwrap())
            .unwrap()
    };
    let id = v.verify_chain(&chain("acme-bp"), now).unwrap();
    assert_eq!(id.serial, "ACME-BP-000001");
    assert_eq!(id.manufacturer, "Acme Medical");
    assert_eq!(id.model.as_deref(), Some("BP7 Cuff"));
    assert_eq!(id.fingerprint.len(), 64);
    assert_eq!(
        v.verify_chain(&chain("initech-unknown-manufacturer"), now)
            .unwrap_err()
            .code(),
        "untrusted-chain"
    );
    assert_eq!(
        v.verify_chain(&chain("revoked-device"), now)
            .unwrap_err()
            .code(),
        "revoked"
    );
    assert_eq!(
        v.verify_chain(&chain("expired-device"), now)
            .unwrap_err()
            .code(),
        "expired-certificate"
    );
    assert_eq!(v.verify_chain(&[], now).unwrap_err().code(), "malformed");
}
