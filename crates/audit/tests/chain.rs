//! The audit chain, read as a specification: what verifies, and where and why it breaks.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use p256::ecdsa::SigningKey;
use proptest::prelude::*;
use serde_json::json;
use veil_audit::Coded;
use veil_audit::{
    AuditError, AuditEvent, AuditLog, ChainVerifier, EntrySigner, GENESIS_HASH, LinkFault,
    NewEntry, verify_chain,
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

/// `text` (JSON lines of `log_of`) with the actor of entry `index` rewritten in place, its hash
/// left as it was.
fn with_actor_changed(text: &str, index: usize) -> String {
    text.lines()
        .enumerate()
        .map(|(i, l)| {
            let l = if i == index {
                l.replacen("\"actor\":\"outbox\"", "\"actor\":\"mallory\"", 1)
            } else {
                l.to_owned()
            };
            format!("{l}\n")
        })
        .collect()
}

#[test]
fn json_lines_round_trip_and_tampering_shows_on_import() {
    let log = log_of(6);
    let text = log.to_json_lines();
    assert_eq!(text.lines().count(), 6);
    let back = AuditLog::from_json_lines(&text, *key().verifying_key()).unwrap();
    assert_eq!(back.entries(), log.entries());
    assert_eq!(back.verify().unwrap(), log.head());

    let fixed = with_actor_changed(&text, 3);
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

/// What a whole import and verification of `text` says: entries and head, or the error.
fn from_scratch(text: &str) -> Result<(usize, [u8; 32]), AuditError> {
    let log = AuditLog::from_json_lines(text, *key().verifying_key())?;
    Ok((log.len(), log.verify()?))
}

/// The lines of `text` joined by `\n` with no line break at the end (how the app joins the lines
/// it keeps one per record).
fn joined(text: &str) -> String {
    text.lines().collect::<Vec<_>>().join("\n")
}

#[test]
fn a_verifier_checks_only_what_was_appended_since_its_last_call() {
    let k = key();
    let full = log_of(9);
    for form in [AuditLog::to_json_lines as fn(&AuditLog) -> String, |l| {
        joined(&l.to_json_lines())
    }] {
        let mut v = ChainVerifier::new(*k.verifying_key());
        let mut log = AuditLog::new(*k.verifying_key());
        assert_eq!(v.verify(&form(&log)).unwrap(), (0, GENESIS_HASH));
        let mut shown = 0;
        for (n, e) in [(4, 0), (1, 4), (0, 5), (3, 5), (1, 8)] {
            for entry in &full.entries()[e..e + n] {
                log = AuditLog::from_entries(
                    *k.verifying_key(),
                    [log.entries(), std::slice::from_ref(entry)].concat(),
                );
            }
            let text = form(&log);
            assert_eq!(v.verify(&text).unwrap(), from_scratch(&text).unwrap());
            shown += log.len() as u64;
            // Each entry was checked once, however often the log was shown.
            assert_eq!(v.entries_checked(), log.len() as u64, "{n} {e} {text:?}");
        }
        assert_eq!(v.verify(&form(&log)).unwrap(), (9, full.head()));
        assert!(shown > 2 * v.entries_checked());
    }
}

#[test]
fn a_verifier_catches_a_change_to_what_it_had_verified() {
    let text = log_of(6).to_json_lines();
    let mut v = ChainVerifier::new(*key().verifying_key());
    v.verify(&text).unwrap();
    // The fourth entry's actor changed in place: the text no longer begins with the verified
    // one, so the chain is checked again from the start and breaks where the import does.
    let changed = with_actor_changed(&text, 3);
    let err = v.verify(&changed).unwrap_err();
    assert_eq!(err, from_scratch(&changed).unwrap_err());
    assert_eq!(err.code(), "hash-mismatch");
    assert!(matches!(err, AuditError::Broken(b) if b.index == 3));
    assert_eq!(
        v.verify(&changed).unwrap_err(),
        err,
        "a failed text is not remembered"
    );

    // Entries removed from the front, or the log cut back: checked again from the start.
    let shorter: String = text.lines().take(4).map(|l| format!("{l}\n")).collect();
    assert_eq!(v.verify(&shorter).unwrap(), from_scratch(&shorter).unwrap());
    let front: String = text.lines().skip(1).map(|l| format!("{l}\n")).collect();
    assert_eq!(v.verify(&front).unwrap_err().code(), "seq-mismatch");

    // Another key's verifier refuses the same text at its first signature.
    let other = SigningKey::from_slice(&[0x44; 32]).unwrap();
    let mut w = ChainVerifier::new(*other.verifying_key());
    assert!(
        matches!(w.verify(&text).unwrap_err(), AuditError::Broken(b) if b.index == 0 && b.fault == LinkFault::BadSignature)
    );
}

#[test]
fn a_verifier_names_a_bad_appended_line_by_its_place_in_the_whole_text() {
    let text = log_of(3).to_json_lines();
    let mut v = ChainVerifier::new(*key().verifying_key());
    v.verify(&text).unwrap();
    let bad = format!("{text}\n{{not json}}\n");
    let err = v.verify(&bad).unwrap_err();
    assert!(
        matches!(err, AuditError::BadLine { line: 5, .. }),
        "{err:?}"
    );
    assert_eq!(err, from_scratch(&bad).unwrap_err());
    // A line glued onto the last verified one is not an append: the whole text is parsed again.
    let glued = format!("{}x\n", text.trim_end());
    assert_eq!(
        v.verify(&glued).unwrap_err(),
        from_scratch(&glued).unwrap_err()
    );
    // An appended entry that does not link is reported at its index in the whole log.
    let log = log_of(5);
    let mut skipped = log.entries()[..3].to_vec();
    skipped.push(log.entries()[4].clone());
    let skip_text = AuditLog::from_entries(*key().verifying_key(), skipped).to_json_lines();
    assert!(
        matches!(v.verify(&skip_text).unwrap_err(), AuditError::Broken(b) if b.index == 3 && b.fault == LinkFault::SeqMismatch)
    );
}

#[test]
fn signatures_checked_elsewhere_settle_to_the_same_verdict() {
    let log = log_of(5);
    let text = log.to_json_lines();
    let mut v = ChainVerifier::new(*key().verifying_key());
    let pending = v.check_links(&text).unwrap();
    let sigs: Vec<_> = pending.signatures().map(|(h, s)| (*h, *s)).collect();
    assert_eq!(sigs.len(), 5);
    assert_eq!(sigs[2], (log.entries()[2].hash, log.entries()[2].signature));
    // A "no" for the third signature is a bad signature there; the text is not remembered.
    let err = v
        .settle(pending.clone(), &[true, true, false, true, true])
        .unwrap_err();
    assert!(
        matches!(err, AuditError::Broken(b) if b.index == 2 && b.fault == LinkFault::BadSignature)
    );
    // Answers missing count as no.
    let err = v.settle(pending.clone(), &[true]).unwrap_err();
    assert!(matches!(err, AuditError::Broken(b) if b.index == 1));
    assert_eq!(v.settle(pending, &[true; 5]).unwrap(), (5, log.head()));

    // After a verified text only the appended entries are pending.
    let longer = log_of(7).to_json_lines();
    let pending = v.check_links(&longer).unwrap();
    assert_eq!(pending.signatures().len(), 2);
    assert_eq!(pending.check_signatures_here(), [true, true]);
    assert_eq!(
        v.settle(pending, &[true, true]).unwrap(),
        (7, log_of(7).head())
    );

    // A broken link is reported after the signatures before it hold, and only then.
    let mut entries = log_of(6).entries().to_vec();
    entries[4].entry.time_ms += 1;
    let tampered = AuditLog::from_entries(*key().verifying_key(), entries).to_json_lines();
    let mut w = ChainVerifier::new(*key().verifying_key());
    let pending = w.check_links(&tampered).unwrap();
    assert_eq!(pending.signatures().len(), 4);
    let err = w
        .settle(pending.clone(), &[true, false, true, true])
        .unwrap_err();
    assert!(
        matches!(err, AuditError::Broken(b) if b.index == 1 && b.fault == LinkFault::BadSignature)
    );
    let err = w.settle(pending, &[true; 4]).unwrap_err();
    assert!(
        matches!(err, AuditError::Broken(b) if b.index == 4 && b.fault == LinkFault::HashMismatch)
    );

    // Settled on a verifier of another key: judged under that key.
    let other = SigningKey::from_slice(&[0x44; 32]).unwrap();
    let pending = ChainVerifier::new(*key().verifying_key())
        .check_links(&text)
        .unwrap();
    let err = ChainVerifier::new(*other.verifying_key())
        .settle(pending, &[true; 5])
        .unwrap_err();
    assert!(
        matches!(err, AuditError::Broken(b) if b.index == 0 && b.fault == LinkFault::BadSignature)
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

    /// Whatever the texts shown to a verifier one after another (a log growing, cut back, an
    /// entry altered, a line broken), each verdict is the one a fresh import gives.
    #[test]
    fn a_verifier_agrees_with_a_fresh_import_on_every_text(
        steps in proptest::collection::vec((0usize..8, 0u8..4, any::<proptest::sample::Index>()), 1..8),
    ) {
        let full = log_of(8).to_json_lines();
        let lines: Vec<&str> = full.lines().collect();
        let mut v = ChainVerifier::new(*key().verifying_key());
        for (n, how, at) in steps {
            let mut shown: Vec<String> = lines[..n].iter().map(|l| (*l).to_string()).collect();
            if !shown.is_empty() {
                let i = at.index(shown.len());
                match how {
                    0 => {}
                    1 => shown[i] = shown[i].replacen("\"outbox\"", "\"mallory\"", 1),
                    2 => {
                        let half = shown[i].len() / 2;
                        shown[i].truncate(half);
                    }
                    _ => { shown.remove(i); }
                }
            }
            let text = shown.join("\n");
            prop_assert_eq!(v.verify(&text), from_scratch(&text));
        }
    }

    #[test]
    fn arbitrary_text_never_panics_on_import(s in ".{0,400}") {
        let _ = AuditLog::from_json_lines(&s, *key().verifying_key()).map(|l| l.verify());
    }
}
