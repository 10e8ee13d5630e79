//! The recipient side (issue #19): purpose-bound, consent-enforced reads by recipient users, each
//! logged once in the access log; contents encrypted at rest under per-artifact keys that a
//! withdrawal or an erasure destroys. Everything runs against the real router and a real SQLite
//! database and object directory.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use axum::http::StatusCode;
use base64::Engine;
use common::*;
use veil_ingest::UserRecord;
use veil_seal::SigningKey;

fn kid(key: &SigningKey) -> String {
    veil_seal::KeyId::of_sec1(&sec1(key)).to_hex()
}

/// Add a user with `role` and `purposes`; returns its key.
async fn user(f: &Fixture, role: &str, purposes: &[&str]) -> SigningKey {
    let key = veil_seal::generate_signing_key().unwrap();
    f.ingest
        .store()
        .add_user(UserRecord {
            user_kid: kid(&key),
            user_key: key_hex(&key),
            name: format!("{role} 1"),
            role: role.into(),
            purposes: purposes.iter().map(|p| (*p).to_owned()).collect(),
            created_ms: now_ms(),
            disabled_ms: None,
        })
        .await
        .unwrap();
    key
}

async fn fetch(
    app: &axum::Router,
    key: &SigningKey,
    id: &str,
    purpose: &str,
) -> (StatusCode, serde_json::Value) {
    let body = serde_json::json!({
        "format": "veil-read-v1", "artifact": id, "purpose": purpose,
        "user_key": key_hex(key), "timestamp_ms": now_ms(), "nonce": nonce(),
    });
    send(app, signed("/v1/reads/fetch", &body, key)).await
}

async fn export(app: &axum::Router, auditor: &SigningKey) -> (StatusCode, serde_json::Value) {
    let body = serde_json::json!({
        "format": "veil-access-log-export-v1", "user_key": key_hex(auditor),
        "timestamp_ms": now_ms(), "nonce": nonce(),
    });
    send(app, signed("/v1/access-log/export", &body, auditor)).await
}

/// Verify an exported log against the key it names; returns its entries.
fn verified(json: &serde_json::Value) -> Vec<veil_audit::ChainedEntry> {
    let key =
        veil_seal::verifying_key_from_sec1(&hex::decode(json["key"].as_str().unwrap()).unwrap())
            .unwrap();
    let entries: Vec<_> = json["entries"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| veil_audit::ChainedEntry::from_json(e).unwrap())
        .collect();
    veil_audit::verify_chain(&entries, &key).unwrap();
    entries
}

fn dek_of(f: &Fixture, id: &str) -> Option<String> {
    let db = rusqlite::Connection::open(f.config.data_dir.join("veil-ingest.sqlite3")).unwrap();
    db.query_row(
        "SELECT dek FROM artifact_keys WHERE artifact_id = ?1",
        [id],
        |r| r.get::<_, Option<String>>(0),
    )
    .unwrap()
}

#[tokio::test]
async fn a_researcher_reads_research_only_and_a_withdrawal_stops_the_read_with_its_reason() {
    let f = Fixture::new();
    let app = f.app();
    let research = stored(&f, &app, "research", 1).await;
    let treatment = stored(&f, &app, "treatment", 2).await;
    let researcher = user(&f, "researcher", &["research"]).await;
    let clinician = user(&f, "clinician", &["treatment"]).await;
    let auditor = user(&f, "auditor", &[]).await;

    // Allowed: the contents, as the subject's client sealed them, with the basis and citations.
    let (status, json) = fetch(&app, &researcher, &research, "research").await;
    assert_eq!(status, StatusCode::OK, "{json}");
    assert_eq!(json["decision"], "allow");
    assert!(!json["citations"].as_array().unwrap().is_empty());
    let file = &json["files"][0];
    assert_eq!(file["name"], "model-1.stl");
    let data = base64::engine::general_purpose::STANDARD
        .decode(file["data"].as_str().unwrap())
        .unwrap();
    assert_eq!(data, deidentified().0);
    assert_eq!(json["manifest"]["manifest"]["purpose"], "research");

    // Refused: a treatment artifact, whichever purpose the researcher names.
    let (status, json) = fetch(&app, &researcher, &treatment, "research").await;
    assert_eq!(
        (status, json["error"].as_str()),
        (StatusCode::FORBIDDEN, Some("purpose-not-covered"))
    );
    let (status, json) = fetch(&app, &researcher, &treatment, "treatment").await;
    assert_eq!(
        (status, json["error"].as_str()),
        (StatusCode::FORBIDDEN, Some("role-not-permitted"))
    );
    assert!(!json["citations"].as_array().unwrap().is_empty());
    // The clinician reads the treatment artifact; an auditor reads no contents.
    assert_eq!(
        fetch(&app, &clinician, &treatment, "treatment").await.0,
        StatusCode::OK
    );
    let (status, json) = fetch(&app, &auditor, &research, "research").await;
    assert_eq!(json["error"], "role-not-permitted", "{status}");

    // The subject withdraws consent for the research artifact: the same read is refused, with the
    // reason the subject gave, and the artifact's key at rest is gone.
    assert!(dek_of(&f, &research).is_some());
    let revocation = serde_json::json!({
        "format": "veil-revocation-v1", "artifacts": [research], "purpose": "research",
        "withdrawn_at_ms": now_ms(), "reason": "I no longer take part in the study",
        "client_key": key_hex(&f.client), "timestamp_ms": now_ms(), "nonce": nonce(),
    });
    let (status, json) = send(&app, signed("/v1/revocations", &revocation, &f.client)).await;
    assert_eq!(status, StatusCode::OK, "{json}");
    assert_eq!(dek_of(&f, &research), None);
    let (status, json) = fetch(&app, &researcher, &research, "research").await;
    assert_eq!(
        (status, json["error"].as_str()),
        (StatusCode::FORBIDDEN, Some("consent-withdrawn"))
    );
    assert_eq!(json["reason"], "I no longer take part in the study");

    // The listing gives the same answers.
    let list = serde_json::json!({
        "format": "veil-read-list-v1", "purpose": "research",
        "user_key": key_hex(&researcher), "timestamp_ms": now_ms(), "nonce": nonce(),
    });
    let (status, json) = send(&app, signed("/v1/reads/list", &list, &researcher)).await;
    assert_eq!(status, StatusCode::OK, "{json}");
    assert_eq!(json["artifacts"].as_array().unwrap().len(), 1);
    assert_eq!(json["artifacts"][0]["id"], research.as_str());
    assert_eq!(json["artifacts"][0]["code"], "consent-withdrawn");

    // Every read, allowed or refused, is in the log once, in order, and the chain verifies.
    let (status, json) = export(&app, &auditor).await;
    assert_eq!(status, StatusCode::OK, "{json}");
    let entries = verified(&json);
    let reads: Vec<_> = entries
        .iter()
        .filter(|e| e.entry.event.as_str() == "read")
        .map(|e| {
            (
                e.entry.details["artifact"].as_str().unwrap().to_owned(),
                e.entry.details["decision"].as_str().unwrap().to_owned(),
                e.entry.details["code"].as_str().unwrap_or("").to_owned(),
            )
        })
        .collect();
    assert_eq!(
        reads,
        vec![
            (research.clone(), "allow".into(), "".into()),
            (
                treatment.clone(),
                "refuse".into(),
                "purpose-not-covered".into()
            ),
            (
                treatment.clone(),
                "refuse".into(),
                "role-not-permitted".into()
            ),
            (treatment.clone(), "allow".into(), "".into()),
            (
                research.clone(),
                "refuse".into(),
                "role-not-permitted".into()
            ),
            (
                research.clone(),
                "refuse".into(),
                "consent-withdrawn".into()
            ),
        ]
    );
    let seqs: Vec<u64> = entries.iter().map(|e| e.entry.seq).collect();
    assert_eq!(seqs, (0..entries.len() as u64).collect::<Vec<_>>());
    // The export itself is logged; a tampered export does not verify.
    assert_eq!(
        entries.last().unwrap().entry.event.as_str(),
        "access-log-export"
    );
    let mut tampered = json.clone();
    tampered["entries"][0]["details"]["decision"] = "refuse".into();
    let key =
        veil_seal::verifying_key_from_sec1(&hex::decode(json["key"].as_str().unwrap()).unwrap())
            .unwrap();
    let forged: Vec<_> = tampered["entries"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| veil_audit::ChainedEntry::from_json(e).unwrap())
        .collect();
    assert!(veil_audit::verify_chain(&forged, &key).is_err());
    // Only an auditor exports.
    let (status, json) = export(&app, &researcher).await;
    assert_eq!(
        (status, json["error"].as_str()),
        (StatusCode::FORBIDDEN, Some("role-not-permitted"))
    );

    // The patient's client sees the reads of its own artifacts, each entry verifiable.
    let pseudonyms = [
        f.subject
            .pseudonym(RECIPIENT_ID, "research")
            .as_str()
            .to_owned(),
        f.subject
            .pseudonym(RECIPIENT_ID, "treatment")
            .as_str()
            .to_owned(),
    ];
    let mine = serde_json::json!({
        "format": "veil-access-log-v1", "pseudonyms": pseudonyms,
        "client_key": key_hex(&f.client), "timestamp_ms": now_ms(), "nonce": nonce(),
    });
    let request = signed("/v1/access-log", &mine, &f.client);
    let (status, json) = send(&app, request).await;
    assert_eq!(status, StatusCode::OK, "{json}");
    // The same signed bytes again, still fresh: a captured request cannot be replayed.
    let (status, replay) = send(&app, signed("/v1/access-log", &mine, &f.client)).await;
    assert_eq!(
        (status, replay["error"].as_str()),
        (StatusCode::CONFLICT, Some("nonce-reused")),
        "{replay}"
    );
    let key =
        veil_seal::verifying_key_from_sec1(&hex::decode(json["key"].as_str().unwrap()).unwrap())
            .unwrap();
    let own = json["entries"].as_array().unwrap();
    assert_eq!(own.len(), 6);
    for e in own {
        let e = veil_audit::ChainedEntry::from_json(e).unwrap();
        assert_eq!(e.entry.chain_hash(&e.prev), e.hash);
        use p256::ecdsa::signature::Verifier;
        key.verify(
            &e.hash,
            &p256::ecdsa::Signature::from_slice(&e.signature).unwrap(),
        )
        .unwrap();
    }
    // Without pseudonyms: every pseudonym the key owns, the same entries.
    let all = serde_json::json!({
        "format": "veil-access-log-v1",
        "client_key": key_hex(&f.client), "timestamp_ms": now_ms(), "nonce": nonce(),
    });
    let (status, json) = send(&app, signed("/v1/access-log", &all, &f.client)).await;
    assert_eq!(status, StatusCode::OK, "{json}");
    assert_eq!(json["entries"].as_array().unwrap(), own);
    // Another enrolled client does not see them, neither by naming them nor by default.
    let other = veil_seal::generate_signing_key().unwrap();
    f.enrol(&other);
    let theirs = serde_json::json!({
        "format": "veil-access-log-v1", "pseudonyms": pseudonyms,
        "client_key": key_hex(&other), "timestamp_ms": now_ms(), "nonce": nonce(),
    });
    let (status, json) = send(&app, signed("/v1/access-log", &theirs, &other)).await;
    assert_eq!(
        (status, json["error"].as_str()),
        (StatusCode::FORBIDDEN, Some("pseudonym-not-owned"))
    );
    let none = serde_json::json!({
        "format": "veil-access-log-v1",
        "client_key": key_hex(&other), "timestamp_ms": now_ms(), "nonce": nonce(),
    });
    let (status, json) = send(&app, signed("/v1/access-log", &none, &other)).await;
    assert_eq!(status, StatusCode::OK, "{json}");
    assert!(json["entries"].as_array().unwrap().is_empty(), "{json}");
}

#[tokio::test]
async fn after_erasure_the_stored_bytes_cannot_be_decrypted_by_anyone() {
    let f = Fixture::new();
    let app = f.app();
    let id = stored(&f, &app, "treatment", 1).await;
    let clinician = user(&f, "clinician", &["treatment"]).await;
    let dek = dek_of(&f, &id).unwrap();
    let object = f.ingest.store().envelope(&id).await.unwrap();
    // At rest the object is not the envelope: the recipient key alone does not open it.
    assert!(veil_ingest::at_rest::is_sealed_at_rest(&object));
    assert!(veil_seal::decrypt_envelope(&object, &f.recipient).is_err());
    assert_eq!(
        fetch(&app, &clinician, &id, "treatment").await.0,
        StatusCode::OK
    );

    // Whether the database files hold `dek` anywhere, after a checkpoint. Checked on the live
    // key first, so the check is seen to find one.
    let path = f.config.data_dir.join("veil-ingest.sqlite3");
    let contains_dek = |dek: &str| {
        let db = rusqlite::Connection::open(&path).unwrap();
        db.query_row("PRAGMA wal_checkpoint(TRUNCATE)", [], |_| Ok(()))
            .unwrap();
        drop(db);
        ["veil-ingest.sqlite3", "veil-ingest.sqlite3-wal"]
            .iter()
            .any(|file| {
                let bytes = std::fs::read(f.config.data_dir.join(file)).unwrap_or_default();
                bytes.windows(dek.len()).any(|w| w == dek.as_bytes())
            })
    };
    assert!(contains_dek(&dek));

    let erasure = serde_json::json!({
        "format": "veil-erasure-v1", "erased_at_ms": now_ms(),
        "pseudonyms": [{"recipient": RECIPIENT_ID, "purpose": "treatment",
                        "pseudonym": f.subject.pseudonym(RECIPIENT_ID, "treatment").as_str()}],
        "client_key": key_hex(&f.client), "timestamp_ms": now_ms(), "nonce": nonce(),
    });
    let (status, json) = send(&app, signed("/v1/erasures", &erasure, &f.client)).await;
    assert_eq!(status, StatusCode::OK, "{json}");
    let (status, json) = fetch(&app, &clinician, &id, "treatment").await;
    assert_eq!(
        (status, json["error"].as_str()),
        (StatusCode::FORBIDDEN, Some("subject-erased"))
    );

    // The object is unchanged and still there, but no key in the database opens it, the server
    // cannot open it, and the key is nowhere in the database files.
    let after = f.ingest.store().envelope(&id).await.unwrap();
    assert_eq!(after, object);
    assert_eq!(f.ingest.store().open_envelope(&id).await.unwrap(), None);
    assert!(veil_seal::decrypt_envelope(&after, &f.recipient).is_err());
    let db = rusqlite::Connection::open(&path).unwrap();
    let keys: Vec<Option<String>> = db
        .prepare("SELECT dek FROM artifact_keys")
        .unwrap()
        .query_map([], |r| r.get(0))
        .unwrap()
        .map(Result::unwrap)
        .collect();
    drop(db);
    for k in keys.iter().flatten() {
        let key = veil_ingest::at_rest::ArtifactKey::from_hex(k).unwrap();
        assert!(key.open(&id, &after).unwrap().is_none());
    }
    assert!(
        !contains_dek(&dek),
        "the destroyed key is still in the database files"
    );
    // A restart does not bring it back: the recovery writes nothing for a destroyed key.
    assert_eq!(f.ingest.store().recover_staged().await.unwrap(), 0);
}

#[tokio::test]
async fn reads_are_authenticated_fresh_and_once() {
    let f = Fixture::new();
    let app = f.app();
    let id = stored(&f, &app, "research", 1).await;
    // Not a user.
    let stranger = veil_seal::generate_signing_key().unwrap();
    let (status, json) = fetch(&app, &stranger, &id, "research").await;
    assert_eq!(
        (status, json["error"].as_str()),
        (StatusCode::UNAUTHORIZED, Some("unknown-user"))
    );
    // An enrolled client is not a user either.
    let (status, json) = fetch(&app, &f.client, &id, "research").await;
    assert_eq!(
        (status, json["error"].as_str()),
        (StatusCode::UNAUTHORIZED, Some("unknown-user"))
    );
    let researcher = user(&f, "researcher", &["research"]).await;
    // Stale, replayed, or signed by another key.
    let old = serde_json::json!({
        "format": "veil-read-v1", "artifact": id, "purpose": "research",
        "user_key": key_hex(&researcher), "timestamp_ms": now_ms() - 600_000, "nonce": nonce(),
    });
    let (status, json) = send(&app, signed("/v1/reads/fetch", &old, &researcher)).await;
    assert_eq!(
        (status, json["error"].as_str()),
        (StatusCode::BAD_REQUEST, Some("stale-request"))
    );
    let body = serde_json::json!({
        "format": "veil-read-v1", "artifact": id, "purpose": "research",
        "user_key": key_hex(&researcher), "timestamp_ms": now_ms(), "nonce": nonce(),
    });
    assert_eq!(
        send(&app, signed("/v1/reads/fetch", &body, &researcher))
            .await
            .0,
        StatusCode::OK
    );
    let (status, json) = send(&app, signed("/v1/reads/fetch", &body, &researcher)).await;
    assert_eq!(
        (status, json["error"].as_str()),
        (StatusCode::CONFLICT, Some("nonce-reused"))
    );
    let (status, _) = send(&app, signed("/v1/reads/fetch", &body, &stranger)).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    // A user may not be given purposes outside its role.
    let key = veil_seal::generate_signing_key().unwrap();
    let refused = f
        .ingest
        .store()
        .add_user(UserRecord {
            user_kid: kid(&key),
            user_key: key_hex(&key),
            name: "r".into(),
            role: "researcher".into(),
            purposes: vec!["treatment".into()],
            created_ms: now_ms(),
            disabled_ms: None,
        })
        .await
        .unwrap_err();
    assert_eq!(veil_core::Coded::code(&refused), "bad-request");
    // Only the one allowed read was logged, plus nothing for the refused authentications.
    let auditor = user(&f, "auditor", &[]).await;
    let entries = verified(&export(&app, &auditor).await.1);
    assert_eq!(
        entries
            .iter()
            .filter(|e| e.entry.event.as_str() == "read")
            .count(),
        1
    );
}

/// The router of a second instance of `f`'s server (same database and objects) whose controller
/// is in `jurisdiction` (`veil serve --jurisdiction`).
fn app_under(f: &Fixture, jurisdiction: &str) -> axum::Router {
    let mut config = f.config.clone();
    config.jurisdiction = Some(jurisdiction.into());
    let (ingest, _) = veil_ingest::Ingest::open(&config).unwrap();
    veil_ingest::app(&f.dist, std::sync::Arc::new(ingest))
}

async fn list(app: &axum::Router, key: &SigningKey, purpose: &str) -> serde_json::Value {
    let body = serde_json::json!({
        "format": "veil-read-list-v1", "purpose": purpose,
        "user_key": key_hex(key), "timestamp_ms": now_ms(), "nonce": nonce(),
    });
    let (status, json) = send(app, signed("/v1/reads/list", &body, key)).await;
    assert_eq!(status, StatusCode::OK, "{json}");
    json
}

#[tokio::test]
async fn a_read_is_decided_again_under_the_recipients_law_with_that_decisions_citations() {
    let f = Fixture::new();
    // A German subject's research consent (GDPR Art. 9(2)(a)), without a HIPAA authorization;
    // the client sealed `allow`.
    let event = research_consent_event();
    let consent = consent_with(Some(&event), &["DE"], 34);
    let id = stored_with(&f, &f.app(), "research", 1, consent).await;
    let researcher = user(&f, "researcher", &["research"]).await;
    // What the manifest carries: the event minimised, the jurisdictions, the age band (not 34).
    let stored = &fetch(&app_under(&f, "DE"), &researcher, &id, "research")
        .await
        .1;
    let context = &stored["manifest"]["manifest"]["consent"]["context"];
    assert_eq!(context["jurisdictions"], serde_json::json!(["DE"]));
    assert_eq!(context["age_band"]["below"], serde_json::Value::Null);
    assert!(
        context["age_band"]["from"].as_u64().unwrap() < 34,
        "{context}"
    );
    assert_eq!(context["event"]["kind"], "given");

    // A controller in Germany: the same law, the read is allowed, re-decided.
    let (status, json) = fetch(&app_under(&f, "DE"), &researcher, &id, "research").await;
    assert_eq!(status, StatusCode::OK, "{json}");
    assert_eq!(json["consent"]["redecided"], true);
    assert_eq!(json["consent"]["decision"], "allow");
    assert_eq!(json["consent"]["under"], serde_json::json!(["DE"]));
    let citations: Vec<String> = serde_json::from_value(json["citations"].clone()).unwrap();
    assert!(
        citations.iter().any(|c| c.contains("9(2)(a)")),
        "{citations:?}"
    );
    assert!(
        json["basis"]
            .as_str()
            .unwrap()
            .starts_with("consent re-decided under DE: allow")
    );

    // A controller in the US: HIPAA asks a research use for an authorization's elements
    // (45 CFR 164.508(a)(1), (c)), which the GDPR consent does not carry: refused, although the
    // client sealed `allow`, with the decision's outcome, basis and citations.
    let us = app_under(&f, "US");
    let (status, json) = fetch(&us, &researcher, &id, "research").await;
    assert_eq!(
        (status, json["error"].as_str()),
        (StatusCode::FORBIDDEN, Some("consent-not-allowed")),
        "{json}"
    );
    assert_eq!(json["outcome"], "needs-consent");
    assert_eq!(json["under"], "DE, US");
    let citations: Vec<String> = serde_json::from_value(json["citations"].clone()).unwrap();
    assert!(
        citations.iter().any(|c| c == "45 CFR 164.508(a)(1)"),
        "{citations:?}"
    );
    assert!(
        json["detail"].as_str().unwrap().contains("authorization"),
        "{json}"
    );
    // The listing gives the same answers, each under its server's law.
    let listed = list(&us, &researcher, "research").await;
    assert_eq!(listed["artifacts"][0]["code"], "consent-not-allowed");
    let listed = list(&app_under(&f, "DE"), &researcher, "research").await;
    assert_eq!(listed["artifacts"][0]["decision"], "allow");
    assert_eq!(listed["artifacts"][0]["consent"]["redecided"], true);

    // The refusal is logged with its code and the decision's citations.
    let auditor = user(&f, "auditor", &[]).await;
    let (_, log) = export(&us, &auditor).await;
    let refused = verified(&log)
        .into_iter()
        .find(|e| e.entry.details["code"] == "consent-not-allowed")
        .unwrap();
    assert!(
        refused.entry.details["citations"]
            .as_array()
            .unwrap()
            .iter()
            .any(|c| c.as_str().unwrap().contains("164.508"))
    );

    // A withdrawal refuses under any law, with the withdrawal's citations and the decision's.
    let revocation = serde_json::json!({
        "format": "veil-revocation-v1", "artifacts": [id], "purpose": "research",
        "withdrawn_at_ms": now_ms(), "reason": "no more",
        "client_key": key_hex(&f.client), "timestamp_ms": now_ms(), "nonce": nonce(),
    });
    let (status, json) = send(&f.app(), signed("/v1/revocations", &revocation, &f.client)).await;
    assert_eq!(status, StatusCode::OK, "{json}");
    let (status, json) = fetch(&app_under(&f, "DE"), &researcher, &id, "research").await;
    assert_eq!(
        (status, json["error"].as_str()),
        (StatusCode::FORBIDDEN, Some("consent-withdrawn"))
    );
    let citations: Vec<String> = serde_json::from_value(json["citations"].clone()).unwrap();
    assert!(
        citations.iter().any(|c| c.contains("7(3)")),
        "{citations:?}"
    );
}

#[tokio::test]
async fn an_artifact_sealed_without_its_consent_is_read_on_its_sealed_decision_marked_not_redecided()
 {
    let f = Fixture::new();
    let id = stored(&f, &f.app(), "research", 1).await;
    let researcher = user(&f, "researcher", &["research"]).await;
    // Even under a law that would refuse a GDPR consent: nothing to decide again with.
    let (status, json) = fetch(&app_under(&f, "US"), &researcher, &id, "research").await;
    assert_eq!(status, StatusCode::OK, "{json}");
    assert_eq!(json["consent"]["redecided"], false);
    assert!(
        json["basis"]
            .as_str()
            .unwrap()
            .starts_with("not re-decided"),
        "{json}"
    );
    let listed = list(&f.app(), &researcher, "research").await;
    assert_eq!(listed["artifacts"][0]["consent"]["redecided"], false);
    let auditor = user(&f, "auditor", &[]).await;
    let (_, log) = export(&f.app(), &auditor).await;
    let read = verified(&log)
        .into_iter()
        .find(|e| e.entry.event.as_str() == "read")
        .unwrap();
    assert_eq!(read.entry.details["redecided"], false);
}
