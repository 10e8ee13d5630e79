//! `veil-seal` in a real browser page (wasm32, headless Chromium).
#![cfg(target_arch = "wasm32")]
wasm_bindgen_test::wasm_bindgen_test_configure!(run_in_browser);

// veil-seal and veil-audit inside a browser page: keys and HPKE ephemeral keys drawn from
// WebCrypto's getRandomValues, the Python-made envelopes open exactly as natively, a sealed
// artifact round-trips, the audit chain verifies and reports tampering, and sealing a large
// artifact is timed in wasm (printed to the console).

use veil_audit::{AuditEvent, AuditLog, LinkFault, NewEntry};
use veil_core::Coded;
use veil_seal::{
    ArtifactBuilder, ConsentRef, IdentityVault, RecipientKey, generate_signing_key, open, seal,
    seal_artifact, verifying_key_from_pem,
};
use wasm_bindgen_test::{console_log, wasm_bindgen_test};

const PY_RECIPIENT: &str = include_str!("../../crates/seal/tests/vectors/python/recipient.pem");
const PY_CLIENT: &str = include_str!("../../crates/seal/tests/vectors/python/client.pub.pem");
const PY_OK: &[u8] = include_bytes!("../../crates/seal/tests/vectors/python/ok-basic.veil");
const PY_FORGED: &[u8] =
    include_bytes!("../../crates/seal/tests/vectors/python/forged-client-signature.veil");
const PY_TAMPERED: &[u8] =
    include_bytes!("../../crates/seal/tests/vectors/python/tampered-ciphertext.veil");

fn now_ms() -> f64 {
    js_sys::Date::now()
}

#[wasm_bindgen_test]
fn seal_and_open_round_trip_with_browser_randomness() {
    let recipient = RecipientKey::generate().expect("recipient key");
    let client = generate_signing_key().expect("client key");
    let mut vault = IdentityVault::new();
    vault.enroll("local-subject").expect("enroll");
    let pseudonym = vault
        .pseudonym("local-subject", "clinic-a", "treatment")
        .expect("pseudonym");

    let consent = ConsentRef {
        decision: veil_seal::ConsentDecision::Allow,
        event_hash: Some([7; 32]),
        context: None,
    };
    let mut b = ArtifactBuilder::new(
        pseudonym.clone(),
        "treatment",
        "clinic-a",
        consent,
        now_ms() as u64,
    );
    b.add_file("model.stl", b"solid anon\nendsolid anon\n".to_vec())
        .expect("file");
    b.add_file("reading.json", br#"{"spo2":97}"#.to_vec())
        .expect("file");
    let envelope = seal(
        b.sign(&client).expect("sign").into_bytes(),
        recipient.public_key(),
    )
    .expect("seal");

    let opened = open(
        envelope.as_bytes(),
        &recipient,
        Some(client.verifying_key()),
    )
    .expect("open");
    assert_eq!(opened.id, envelope.id());
    assert_eq!(opened.artifact.manifest.pseudonym, pseudonym);
    assert_eq!(opened.artifact.files["reading.json"], br#"{"spo2":97}"#);

    // A second seal of the same content uses a fresh ephemeral key: different bytes, different id.
    let mut b2 = ArtifactBuilder::new(
        pseudonym,
        "treatment",
        "clinic-a",
        ConsentRef {
            decision: veil_seal::ConsentDecision::Allow,
            event_hash: None,
            context: None,
        },
        0,
    );
    b2.add_file("x", vec![1]).expect("file");
    let signed = b2.sign(&client).expect("sign").into_bytes();
    let a = seal(signed.clone(), recipient.public_key()).expect("seal a");
    let c = seal(signed, recipient.public_key()).expect("seal c");
    assert_ne!(a.id(), c.id());

    let other = RecipientKey::generate().expect("other");
    assert_eq!(
        open(envelope.as_bytes(), &other, None).unwrap_err().code(),
        "wrong-recipient"
    );
}

#[wasm_bindgen_test]
fn python_sealed_envelopes_open_or_fail_as_natively() {
    let key = RecipientKey::from_pem(PY_RECIPIENT).expect("python recipient key");
    let client = verifying_key_from_pem(PY_CLIENT).expect("python client key");
    let opened = open(PY_OK, &key, Some(&client)).expect("python envelope opens");
    assert_eq!(opened.artifact.manifest.purpose, "treatment");
    assert!(opened.artifact.files.contains_key("model.stl"));
    assert_eq!(
        open(PY_FORGED, &key, None).unwrap_err().code(),
        "bad-signature"
    );
    assert_eq!(
        open(PY_TAMPERED, &key, None).unwrap_err().code(),
        "decrypt-failed"
    );
}

#[wasm_bindgen_test]
fn audit_chain_verifies_exports_and_reports_the_first_break() {
    let key = generate_signing_key().expect("client key");
    let mut log = AuditLog::new(*key.verifying_key());
    for (i, event) in [
        AuditEvent::ConsentChange,
        AuditEvent::DeviceVerification,
        AuditEvent::Seal,
        AuditEvent::Upload,
    ]
    .into_iter()
    .enumerate()
    {
        log.append(
            NewEntry::new(now_ms() as u64 + i as u64, "outbox", event).subject("abc"),
            &key,
        )
        .expect("append");
    }
    let head = log.verify().expect("chain verifies");
    let lines = log.to_json_lines();
    let back = AuditLog::from_json_lines(&lines, *key.verifying_key()).expect("import");
    assert_eq!(back.verify().expect("imported chain verifies"), head);

    let tampered = lines.replacen("\"event\":\"seal\"", "\"event\":\"erasure\"", 1);
    let broken = AuditLog::from_json_lines(&tampered, *key.verifying_key())
        .expect("import")
        .verify()
        .unwrap_err();
    assert_eq!((broken.index, broken.fault), (2, LinkFault::HashMismatch));
}

#[wasm_bindgen_test]
fn sealing_8_mb_in_wasm_is_timed() {
    // 8 MB keeps the test quick; `cargo xtask bench seal` measures 50 MB against WebCrypto.
    let size = 8 * 1024 * 1024;
    let data: Vec<u8> = (0..size).map(|i| (i * 31 % 251) as u8).collect();
    let recipient = RecipientKey::generate().expect("recipient key");
    let client = generate_signing_key().expect("client key");
    let mut vault = IdentityVault::new();
    vault.enroll("s").expect("enroll");
    let mut b = ArtifactBuilder::new(
        vault.pseudonym("s", "r", "p").expect("pseudonym"),
        "p",
        "r",
        ConsentRef {
            decision: veil_seal::ConsentDecision::Allow,
            event_hash: None,
            context: None,
        },
        0,
    );
    b.add_file("big.bin", data).expect("file");
    // Step by step: the in-wasm path (SHA-256 and AES-GCM in software) against which the
    // WebCrypto path (`veil_seal::external`, two-phase signing) is compared by `cargo xtask bench seal`.
    let start = now_ms();
    let unsigned = b.prepare(client.verifying_key()).expect("prepare");
    let t_prepare = now_ms() - start;
    let t = now_ms();
    let signed = unsigned.sign(&client).expect("sign");
    let t_sign = now_ms() - t;
    let t = now_ms();
    let env = seal_artifact(signed, recipient.public_key()).expect("seal");
    let t_seal = now_ms() - t;
    let took = now_ms() - start;
    console_log!(
        "veil-seal wasm: {} MB: prepare (content SHA-256 + Sig_structure SHA-256 + CBOR) {:.0} ms, ES256 sign {:.0} ms, HPKE AES-256-GCM seal + id SHA-256 {:.0} ms; total {:.0} ms ({:.1} MB/s)",
        size >> 20,
        t_prepare,
        t_sign,
        t_seal,
        took,
        (size >> 20) as f64 / (took / 1000.0)
    );
    let start = now_ms();
    open(env.as_bytes(), &recipient, None).expect("open");
    console_log!(
        "veil-seal wasm: opened {} MB in {:.0} ms",
        size >> 20,
        now_ms() - start
    );
}
