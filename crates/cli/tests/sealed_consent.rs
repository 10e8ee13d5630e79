//! `veil seal --consent-event-file --jurisdictions --age-band` (issue 19): the manifest carries
//! what the recipient needs to decide each read again, minimised: the ledger event with every
//! name and signature withheld, its hash as `consent.event_hash`, the jurisdictions, and the age
//! band, never the age.
#![allow(missing_docs, clippy::unwrap_used, clippy::expect_used)]

mod common;

use common::{Keys, fails_with, ok, scratch, veil};

fn seal(keys: &Keys, extra: &[&str], out: &str) -> std::process::Output {
    let mut args = vec![
        "seal".to_owned(),
        "--recipient".into(),
        keys.file("recipient.pub.pem"),
        "--client-key".into(),
        keys.file("client.pem"),
        "--purpose".into(),
        "research".into(),
        "--pseudonym-secret".into(),
        keys.file("pseudonym.secret"),
        "-o".into(),
        keys.file(out),
    ];
    args.extend(extra.iter().map(|s| (*s).to_owned()));
    args.push(keys.file("note.txt"));
    veil(&args.iter().map(String::as_str).collect::<Vec<_>>())
}

#[test]
fn the_consent_event_jurisdictions_and_age_band_are_sealed_minimised() {
    let dir = scratch("sealed-consent");
    let keys = Keys::generate(dir.join("k"));
    std::fs::write(keys.dir.join("note.txt"), "x").unwrap();
    // A kiosk consent with a HIPAA authorization the subject signed with their name.
    let event = serde_json::json!({
        "kind": "given", "purpose": "research", "tier": "this-study",
        "at": "2026-01-10T09:00:00Z",
        "channel": {"type": "kiosk", "staff_id": "nurse Ann Lee"},
        "authorization": {
            "information": "lab results of Jane Roe", "disclosed_by": "Clinic A",
            "recipients": "Study B", "purpose": "study B", "expiration": "2027-01-01",
            "signature": "Jane Roe", "signed_at": "2026-01-10T09:00:00Z",
            "right_to_revoke_stated": true, "conditioning_stated": true,
            "redisclosure_stated": true
        }
    });
    let event_file = keys.dir.join("event.json");
    std::fs::write(&event_file, event.to_string()).unwrap();
    let event_arg = event_file.display().to_string();
    let flags = [
        "--consent-event-file",
        &event_arg,
        "--jurisdictions",
        "de,US",
        "--age-band",
        "34",
    ];
    ok(seal(&keys, &flags, "a.veil"));
    let opened: serde_json::Value = serde_json::from_str(&ok(veil(&[
        "open",
        "--key",
        &keys.file("recipient.pem"),
        &keys.file("a.veil"),
    ])))
    .unwrap();
    let consent = &opened["consent"];
    assert_eq!(consent["event_hash"].as_str().map(str::len), Some(64));
    let context = &consent["context"];
    assert_eq!(context["jurisdictions"], serde_json::json!(["DE", "US"]));
    assert!(
        context["age_band"]["from"].as_u64().unwrap() < 34,
        "the age is not sealed"
    );
    assert_eq!(context["age_band"]["below"], serde_json::Value::Null);
    assert_eq!(
        context["scope"]["tier"], "this-study",
        "the event's scope by default"
    );
    let sealed_event = &context["event"];
    assert_eq!(sealed_event["authorization"]["signature"], "withheld");
    assert_eq!(sealed_event["channel"]["staff_id"], "withheld");
    assert_eq!(sealed_event["authorization"]["redisclosure_stated"], true);
    let text = opened.to_string();
    for name in ["Jane", "Roe", "Ann Lee", "Clinic A"] {
        assert!(!text.contains(name), "{name} sealed: {text}");
    }

    // Another event's hash beside this event: refused, nothing written.
    let wrong = "ab".repeat(32);
    let mut with_wrong = flags.to_vec();
    with_wrong.extend(["--consent-event", wrong.as_str()]);
    fails_with(
        &seal(&keys, &with_wrong, "b.veil"),
        1,
        "consent-event-mismatch",
    );
    assert!(!keys.dir.join("b.veil").exists());
    // A use the event does not cover (a broader research tier than consented to): refused.
    let mut broader = flags.to_vec();
    broader.extend(["--consent-scope", "research/any-research"]);
    fails_with(&seal(&keys, &broader, "b.veil"), 1, "bad-field");
    assert!(!keys.dir.join("b.veil").exists());
    // An unknown jurisdiction, a band that is none: refused; half the flags: usage.
    let unknown = ["--jurisdictions", "XX", "--age-band", "34"];
    fails_with(&seal(&keys, &unknown, "c.veil"), 1, "unknown-jurisdiction");
    let bad_band = ["--jurisdictions", "DE", "--age-band", "18-16"];
    fails_with(&seal(&keys, &bad_band, "c.veil"), 1, "bad-age");
    let half = seal(&keys, &["--age-band", "34"], "c.veil");
    assert_eq!(half.status.code(), Some(2), "{half:?}");
    let half = seal(&keys, &["--consent-event-file", &event_arg], "c.veil");
    assert_eq!(half.status.code(), Some(2), "{half:?}");
    assert!(!keys.dir.join("c.veil").exists());
    let _ = std::fs::remove_dir_all(&dir);
}
