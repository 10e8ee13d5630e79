//! The audit chain, read as a specification: what verifies, and where and why it breaks.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use p256::ecdsa::SigningKey;
use proptest::prelude::*;
use serde_json::json;
use veil_audit::Coded;
use veil_audit::{
    AuditError, AuditEvent, AuditLog, EntrySigner, GENESIS_HASH, LinkFault, NewEntry, verify_chain,
};

fn key() -> SigningKey {
    SigningKey::from_slice(&[0x21; 32]).unwrap()
}

fn log_of(n: u64) -> AuditLog {
    let k = key();
    let mut log = AuditLog::new(*k.verifying_key());
    let events = [
        AuditEvent::ConsentChange,
        AuditEvent::DeviceVerification,
        AuditEvent::Deidentification,
        AuditEvent::Seal,
        AuditEvent::Upload,
        AuditEvent::Revocation,
        AuditEvent::Erasure,
    ];
    for i in 0..n {
        let e = NewEntry::new(1_700_000_000_000 + i, "outbox", events[i as usize % events.len()].clone())
            .subject("lwipqrvu62n2d4u2uxpe7qq6bspicvvbxhslhwignpcovod7uacq")
            .details(json!({"i": i, "outcome": if i % 2 == 0 { "accepted" } else { "rejected" }, "ratio": 0.5}));
        log.append(e, &k).unwrap();
    }
    log
}

fn broken(log: &AuditLog) -> (usize, LinkFault) {
    let b = log.verify().unwrap_err();
    (b.index, b.fault)
}

#[test]
fn an_untouched_chain_verifies_to_its_head() {
    let log = log_of(7);
    assert_eq!(log.verify().unwrap(), log.head());
    assert_eq!(log.entries()[0].prev, GENESIS_HASH);
    for w in log.entries().windows(2) {
        assert_eq!(w[1].prev, w[0].hash);
    }
    assert_eq!(
        AuditLog::new(*key().verifying_key()).verify().unwrap(),
        GENESIS_HASH
    );
}

#[test]
fn each_hash_is_sha256_of_prev_and_canonical_cbor() {
    let log = log_of(2);
    let e = &log.entries()[1];
    let mut data = e.prev.to_vec();
    data.extend_from_slice(&e.entry.canonical_cbor());
    assert_eq!(
        <sha2::Sha256 as sha2::Digest>::digest(&data).as_slice(),
        e.hash
    );
    // The canonical form decodes with a generic CBOR decoder to the same fields.
    let v: ciborium::Value = ciborium::from_reader(e.entry.canonical_cbor().as_slice()).unwrap();
    let keys: Vec<String> = v
        .as_map()
        .unwrap()
        .iter()
        .map(|(k, _)| k.as_text().unwrap().to_owned())
        .collect();
    assert_eq!(
        keys,
        ["seq", "time", "actor", "event", "details", "subject"]
    );
}

#[test]
fn a_changed_field_breaks_at_that_entry() {
    let mut entries = log_of(5).entries().to_vec();
    entries[2].entry.details = json!({"i": 2, "outcome": "accepted", "ratio": 0.75});
    let log = AuditLog::from_entries(*key().verifying_key(), entries);
    assert_eq!(broken(&log), (2, LinkFault::HashMismatch));
}

#[test]
fn a_recomputed_hash_without_the_key_breaks_the_signature() {
    let mut entries = log_of(5).entries().to_vec();
    entries[3].entry.actor = "mallory".into();
    entries[3].hash = entries[3].entry.chain_hash(&entries[3].prev);
    let log = AuditLog::from_entries(*key().verifying_key(), entries);
    assert_eq!(broken(&log), (3, LinkFault::BadSignature));
}

#[test]
fn a_resigned_entry_still_breaks_the_next_link() {
    // Even the key holder cannot rewrite history silently: the next entry's prev no longer matches.
    let k = key();
    let mut entries = log_of(5).entries().to_vec();
    entries[1].entry.actor = "rewritten".into();
    entries[1].hash = entries[1].entry.chain_hash(&entries[1].prev);
    entries[1].signature = k.sign_message(&entries[1].hash).unwrap();
    let log = AuditLog::from_entries(*k.verifying_key(), entries);
    assert_eq!(broken(&log), (2, LinkFault::PrevMismatch));
}

#[test]
fn removed_inserted_or_reordered_entries_break_there() {
    let vk = *key().verifying_key();
    let full = log_of(5).entries().to_vec();
    let mut removed = full.clone();
    removed.remove(1);
    assert_eq!(
        broken(&AuditLog::from_entries(vk, removed)),
        (1, LinkFault::SeqMismatch)
    );
    let mut swapped = full.clone();
    swapped.swap(2, 3);
    assert_eq!(
        broken(&AuditLog::from_entries(vk, swapped)),
        (2, LinkFault::SeqMismatch)
    );
    let mut renumbered = full.clone();
    renumbered.remove(1);
    for (i, e) in renumbered.iter_mut().enumerate() {
        e.entry.seq = i as u64;
    }
    assert_eq!(broken(&AuditLog::from_entries(vk, renumbered)).0, 1);
}

#[test]
fn truncation_is_caught_against_a_known_head() {
    let log = log_of(5);
    let head = log.head();
    let cut = AuditLog::from_entries(*key().verifying_key(), log.entries()[..4].to_vec());
    assert!(cut.verify().is_ok());
    let b = cut.verify_head(&head).unwrap_err();
    assert_eq!((b.index, b.code()), (4, "head-mismatch"));
    log.verify_head(&head).unwrap();
}

#[test]
fn another_key_fails_at_the_first_entry() {
    let other = SigningKey::from_slice(&[0x22; 32]).unwrap();
    let log = AuditLog::from_entries(*other.verifying_key(), log_of(3).entries().to_vec());
    assert_eq!(broken(&log), (0, LinkFault::BadSignature));
}

#[test]
fn json_lines_round_trip_and_tampering_shows_on_import() {
    let log = log_of(6);
    let text = log.to_json_lines();
    assert_eq!(text.lines().count(), 6);
    let back = AuditLog::from_json_lines(&text, *key().verifying_key()).unwrap();
    assert_eq!(back.entries(), log.entries());
    assert_eq!(back.verify().unwrap(), log.head());

    let tampered = text.replacen("\"actor\":\"outbox\"", "\"actor\":\"mallory\"", 4);
    let lines: Vec<&str> = tampered.lines().collect();
    let fixed: String = text
        .lines()
        .take(3)
        .chain(lines[3..].iter().copied())
        .map(|l| format!("{l}\n"))
        .collect();
    let t = AuditLog::from_json_lines(&fixed, *key().verifying_key()).unwrap();
    assert_eq!(broken(&t), (3, LinkFault::HashMismatch));
}

#[test]
fn import_errors_name_the_line() {
    let vk = *key().verifying_key();
    let text = log_of(2).to_json_lines() + "\n{not json}\n";
    let err = AuditLog::from_json_lines(&text, vk).unwrap_err();
    assert!(
        matches!(err, AuditError::BadLine { line: 4, .. }),
        "{err:?}"
    );
    assert_eq!(err.code(), "bad-line");
    let err = AuditLog::from_json_lines("{\"seq\":0}\n", vk).unwrap_err();
    assert_eq!(err.code(), "bad-line");
    let err = AuditLog::from_json_lines("[1,2]\n", vk).unwrap_err();
    assert_eq!(err.code(), "bad-line");
}

#[test]
fn two_phase_commit_checks_signature_and_staleness() {
    let k = key();
    let mut log = log_of(1);
    let pending = log
        .prepare(NewEntry::new(5, "user", AuditEvent::Upload))
        .unwrap();
    let other = SigningKey::from_slice(&[0x33; 32]).unwrap();
    let bad = other.sign_message(&pending.hash()).unwrap();
    assert_eq!(
        log.commit(pending.clone(), &bad).unwrap_err().code(),
        "bad-signature"
    );
    assert_eq!(
        log.commit(pending.clone(), &[0u8; 10]).unwrap_err().code(),
        "bad-signature"
    );
    // WebCrypto-style: sign the 32-byte hash with ECDSA P-256 / SHA-256.
    let sig = k.sign_message(&pending.hash()).unwrap();
    let stale = pending.clone();
    log.commit(pending, &sig).unwrap();
    assert_eq!(log.commit(stale, &sig).unwrap_err().code(), "stale-entry");
    assert_eq!(log.len(), 2);
    log.verify().unwrap();
}

#[test]
fn empty_actor_or_event_is_refused() {
    let mut log = log_of(0);
    let err = log
        .append(NewEntry::new(0, "", AuditEvent::Seal), &key())
        .unwrap_err();
    assert_eq!(err.code(), "bad-field");
    let err = log
        .append(
            NewEntry::new(0, "a", AuditEvent::Other(String::new())),
            &key(),
        )
        .unwrap_err();
    assert_eq!(err.code(), "bad-field");
    assert_eq!(AuditEvent::from_code("seal"), AuditEvent::Seal);
    assert_eq!(
        AuditEvent::from_code("custom-x"),
        AuditEvent::Other("custom-x".into())
    );
}

#[test]
fn verify_chain_reports_the_first_of_several_breaks() {
    let mut entries = log_of(6).entries().to_vec();
    entries[4].entry.time_ms += 1;
    entries[2].entry.time_ms += 1;
    let b = verify_chain(&entries, key().verifying_key()).unwrap_err();
    assert_eq!((b.index, b.fault), (2, LinkFault::HashMismatch));
    assert_eq!(
        b.to_string(),
        "audit chain broken at entry 2: hash-mismatch"
    );
}

fn json_value() -> impl Strategy<Value = serde_json::Value> {
    let leaf = prop_oneof![
        Just(serde_json::Value::Null),
        any::<bool>().prop_map(serde_json::Value::Bool),
        any::<i64>().prop_map(|i| json!(i)),
        any::<u64>().prop_map(|u| json!(u)),
        any::<f64>()
            .prop_filter("finite", |f| f.is_finite())
            .prop_map(|f| json!(f)),
        ".{0,12}".prop_map(serde_json::Value::String),
    ];
    leaf.prop_recursive(4, 32, 6, |inner| {
        prop_oneof![
            proptest::collection::vec(inner.clone(), 0..6).prop_map(serde_json::Value::Array),
            proptest::collection::btree_map(".{0,6}", inner, 0..6)
                .prop_map(|m| serde_json::Value::Object(m.into_iter().collect())),
        ]
    })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(128))]

    #[test]
    fn canonical_cbor_decodes_back_to_the_value(v in json_value()) {
        let bytes = veil_audit::canonical::to_canonical_cbor(&v);
        let back: serde_json::Value = ciborium::from_reader(bytes.as_slice()).unwrap();
        prop_assert_eq!(back, v);
    }

    #[test]
    fn details_survive_export_and_import(v in json_value()) {
        let k = key();
        let mut log = AuditLog::new(*k.verifying_key());
        log.append(NewEntry::new(1, "t", AuditEvent::Seal).details(v), &k).unwrap();
        let back = AuditLog::from_json_lines(&log.to_json_lines(), *k.verifying_key()).unwrap();
        prop_assert_eq!(back.verify().unwrap(), log.head());
    }

    #[test]
    fn arbitrary_text_never_panics_on_import(s in ".{0,400}") {
        let _ = AuditLog::from_json_lines(&s, *key().verifying_key()).map(|l| l.verify());
    }
}
