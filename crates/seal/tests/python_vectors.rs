//! Envelopes sealed by an independent Python implementation (pyhpke, pycose, cbor2,
//! cryptography; `scripts/seal/make_vectors.py`) must open here, or fail with the named code.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::path::Path;

use veil_seal::Coded;
use veil_seal::{PseudonymSecret, RecipientKey, open, verifying_key_from_pem};

const DIR: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/vectors/python");

#[test]
fn python_sealed_vectors_open_or_fail_as_named() {
    let dir = Path::new(DIR);
    let expected: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(dir.join("expected.json")).unwrap()).unwrap();
    let key = RecipientKey::from_pem(&std::fs::read_to_string(dir.join("recipient.pem")).unwrap())
        .unwrap();
    let client =
        verifying_key_from_pem(&std::fs::read_to_string(dir.join("client.pub.pem")).unwrap())
            .unwrap();

    // The pseudonym derivation agrees with Python's.
    let secret = PseudonymSecret::parse(
        expected["pseudonym_secret_hex"]
            .as_str()
            .unwrap()
            .as_bytes(),
    )
    .unwrap();
    let pseudonym = secret.pseudonym(
        expected["recipient_id"].as_str().unwrap(),
        expected["purpose"].as_str().unwrap(),
    );
    assert_eq!(pseudonym.as_str(), expected["pseudonym"].as_str().unwrap());

    let cases = expected["cases"].as_object().unwrap();
    assert!(
        cases.len() >= 12,
        "expected the full case set, found {}",
        cases.len()
    );
    let mut oks = 0;
    for (name, case) in cases {
        let envelope = std::fs::read(dir.join(format!("{name}.veil"))).unwrap();
        assert_eq!(
            veil_seal::ArtifactId::of_envelope(&envelope).to_hex(),
            case["artifact_id"].as_str().unwrap(),
            "{name}"
        );
        let want = case["expect"].as_str().unwrap();
        match open(&envelope, &key, Some(&client)) {
            Ok(opened) => {
                assert_eq!(want, "ok", "{name}: opened, but Python expects {want}");
                let m = &opened.artifact.manifest;
                assert_eq!(m.pseudonym, pseudonym, "{name}");
                assert_eq!(m.purpose, expected["purpose"].as_str().unwrap());
                assert_eq!(m.recipient, expected["recipient_id"].as_str().unwrap());
                assert_eq!(m.created_ms, expected["created_ms"].as_u64().unwrap());
                // The vectors carry `"permit"`, the legacy spelling of `allow`: still read as the
                // grant it always meant (the signature covers the original bytes).
                assert_eq!(
                    m.consent.decision,
                    veil_seal::ConsentDecision::Allow,
                    "{name}"
                );
                assert!(
                    opened.signed_bytes.windows(7).any(|w| w == b"\x66permit"),
                    "{name}: the vector carries the legacy spelling"
                );
                let files = case["files"].as_object().unwrap();
                assert_eq!(opened.artifact.files.len(), files.len(), "{name}");
                for (file, sha) in files {
                    let bytes = &opened.artifact.files[file];
                    assert_eq!(
                        hex::encode(<sha2::Sha256 as sha2::Digest>::digest(bytes)),
                        sha.as_str().unwrap()
                    );
                }
                oks += 1;
            }
            Err(e) => assert_eq!(e.code(), want, "{name}: {e}"),
        }
    }
    assert!(oks >= 3);
}
