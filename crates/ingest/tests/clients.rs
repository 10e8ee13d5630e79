//! Who may upload (issue #14, findings 1, 4, 5, 9 and the quotas): enrolment by invitation,
//! pseudonym ownership and delegation, readings bound to the uploading client, signed control
//! requests kept byte-exact and recognised when replayed, per-client rates and storage quotas.
//! Each test first reproduces the finding against the real router, then checks nothing was stored.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use axum::body::Body;
use axum::http::{Request, StatusCode, header};
use base64::Engine;
use common::*;
use p256::ecdsa::signature::Verifier;
use veil_ingest::Limits;
use veil_seal::SigningKey;

fn enrolment(code: &str, key: &SigningKey) -> serde_json::Value {
    serde_json::json!({
        "format": "veil-enrolment-v1", "code": code, "client_key": key_hex(key),
        "name": "kiosk 3", "timestamp_ms": now_ms(), "nonce": nonce(),
    })
}

async fn invite(f: &Fixture, uses: u32, expires_ms: u64) -> String {
    f.ingest
        .store()
        .create_invite(Some("front desk".into()), uses, expires_ms, now_ms())
        .await
        .unwrap()
        .code
}

/// A fixture whose own client is not enrolled, and a second key.
fn stranger() -> SigningKey {
    veil_seal::generate_signing_key().unwrap()
}

#[tokio::test]
async fn finding_1_an_unknown_key_stores_nothing_and_enrolment_by_invitation_lets_it_in() {
    let f = Fixture::new();
    let app = f.app();
    let key = stranger();
    let mut b = f.builder();
    b.add_file("note.txt", b"x".to_vec()).unwrap();
    let envelope = f.seal(b.sign(&key).unwrap().into_bytes());
    let before = f.stored().await;
    let (status, json) = post(&app, envelope.clone()).await;
    assert_eq!(
        (status, json["error"].as_str()),
        (StatusCode::UNAUTHORIZED, Some("unknown-client"))
    );
    assert_eq!(
        f.stored().await,
        before,
        "nothing stored for an unknown key"
    );

    // A wrong code, then the real one (typed in lower case with spaces), then again.
    let code = invite(&f, 1, now_ms() + 60_000).await;
    let (status, json) = send(
        &app,
        signed(
            "/v1/enrolments",
            &enrolment("ABCD-EFGH-JKMN-PQRS-TVWX", &key),
            &key,
        ),
    )
    .await;
    assert_eq!(
        (status, json["error"].as_str()),
        (StatusCode::FORBIDDEN, Some("invite-invalid"))
    );
    let typed = code.to_lowercase().replace('-', " ");
    let (status, json) = send(
        &app,
        signed("/v1/enrolments", &enrolment(&typed, &key), &key),
    )
    .await;
    assert_eq!(status, StatusCode::CREATED, "{json}");
    assert_eq!(json["status"], "enrolled");
    assert_eq!(
        json["client_kid"],
        veil_seal::KeyId::of_sec1(&sec1(&key)).to_hex()
    );
    let (status, json) = send(
        &app,
        signed("/v1/enrolments", &enrolment(&code, &key), &key),
    )
    .await;
    assert_eq!(
        (status, json["status"].as_str()),
        (StatusCode::OK, Some("already-enrolled"))
    );
    // The code had one use: another key cannot use it.
    let third = stranger();
    let (status, json) = send(
        &app,
        signed("/v1/enrolments", &enrolment(&code, &third), &third),
    )
    .await;
    assert_eq!(
        (status, json["error"].as_str()),
        (StatusCode::FORBIDDEN, Some("invite-invalid"))
    );
    // Proof of possession: a body naming a key but signed by another is refused.
    let code2 = invite(&f, 5, now_ms() + 60_000).await;
    let (status, json) = send(
        &app,
        signed("/v1/enrolments", &enrolment(&code2, &third), &key),
    )
    .await;
    assert_eq!(
        (status, json["error"].as_str()),
        (StatusCode::UNAUTHORIZED, Some("bad-request-signature"))
    );

    // Now the same envelope is accepted.
    assert_eq!(post(&app, envelope).await.0, StatusCode::CREATED);
}

#[tokio::test]
async fn expired_invitations_and_revoked_clients_are_refused() {
    let f = Fixture::new();
    let app = f.app();
    let key = stranger();
    let expired = invite(&f, 3, now_ms() - 1).await;
    let (status, json) = send(
        &app,
        signed("/v1/enrolments", &enrolment(&expired, &key), &key),
    )
    .await;
    assert_eq!(
        (status, json["error"].as_str()),
        (StatusCode::FORBIDDEN, Some("invite-invalid"))
    );

    // The operator revokes the fixture's client: its uploads and requests are refused, and it
    // cannot enrol again with a fresh code.
    let kid = veil_seal::KeyId::of_sec1(&sec1(&f.client)).to_hex();
    let revoked = f
        .ingest
        .store()
        .revoke_client(&kid, now_ms())
        .await
        .unwrap()
        .unwrap();
    assert!(revoked.revoked_ms.is_some());
    let before = f.stored().await;
    let (status, json) = post(&app, f.envelope(1)).await;
    assert_eq!(
        (status, json["error"].as_str()),
        (StatusCode::UNAUTHORIZED, Some("unknown-client"))
    );
    assert_eq!(f.stored().await, before);
    let fresh = invite(&f, 1, now_ms() + 60_000).await;
    let (status, json) = send(
        &app,
        signed("/v1/enrolments", &enrolment(&fresh, &f.client), &f.client),
    )
    .await;
    assert_eq!(
        (status, json["error"].as_str()),
        (StatusCode::FORBIDDEN, Some("client-revoked"))
    );
    let clients = f.ingest.store().clients().await.unwrap();
    assert_eq!(clients.len(), 1);
    assert_eq!(clients[0].client_kid, kid);
}

/// A one-file artifact under a new pseudonym, signed by `key` (not sealed).
fn signed_note(key: &SigningKey) -> Vec<u8> {
    let mut b = veil_seal::ArtifactBuilder::new(
        veil_seal::PseudonymSecret::generate()
            .unwrap()
            .pseudonym(RECIPIENT_ID, PURPOSE),
        PURPOSE,
        RECIPIENT_ID,
        veil_seal::ConsentRef {
            decision: veil_seal::ConsentDecision::Allow,
            event_hash: None,
            context: None,
        },
        1_790_000_000_000,
    );
    b.add_file("note.txt", b"x".to_vec()).unwrap();
    b.sign(key).unwrap().into_bytes()
}

fn erasure_of(f: &Fixture, key: &SigningKey) -> serde_json::Value {
    serde_json::json!({
        "format": "veil-erasure-v1", "erased_at_ms": now_ms(),
        "pseudonyms": [{"recipient": RECIPIENT_ID, "purpose": PURPOSE,
                        "pseudonym": f.subject.pseudonym(RECIPIENT_ID, PURPOSE).as_str()}],
        "client_key": key_hex(key), "timestamp_ms": now_ms(), "nonce": nonce(),
    })
}

#[tokio::test]
async fn finding_4_a_stranger_cannot_upload_under_a_pseudonym_nor_block_its_erasure() {
    let f = Fixture::new();
    let app = f.app();
    assert_eq!(post(&app, f.envelope(1)).await.0, StatusCode::CREATED);

    // An enrolled stranger who learnt the pseudonym uploads under it: refused, nothing stored.
    let mallory = stranger();
    f.enrol(&mallory);
    let mut b = f.builder();
    b.add_file("note.txt", b"planted".to_vec()).unwrap();
    let before = f.stored().await;
    let (status, json) = post(&app, f.seal(b.sign(&mallory).unwrap().into_bytes())).await;
    assert_eq!(
        (status, json["error"].as_str()),
        (StatusCode::FORBIDDEN, Some("pseudonym-not-owned"))
    );
    assert_eq!(f.stored().await, before);
    // Nor can the stranger erase it.
    let (status, json) = send(
        &app,
        signed("/v1/erasures", &erasure_of(&f, &mallory), &mallory),
    )
    .await;
    assert_eq!(
        (status, json["error"].as_str()),
        (StatusCode::FORBIDDEN, Some("pseudonym-not-owned"))
    );
    // The patient's erasure goes through.
    let (status, json) = send(
        &app,
        signed("/v1/erasures", &erasure_of(&f, &f.client), &f.client),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{json}");
    assert_eq!(json["artifacts_marked"], 1);
}

#[tokio::test]
async fn a_signed_delegation_adds_a_second_device_to_the_pseudonym() {
    let f = Fixture::new();
    let app = f.app();
    assert_eq!(post(&app, f.envelope(1)).await.0, StatusCode::CREATED);
    let tablet = stranger();
    f.enrol(&tablet);
    let pseudonym = f.subject.pseudonym(RECIPIENT_ID, PURPOSE);
    let delegation = |signer: &SigningKey| {
        serde_json::json!({
            "format": "veil-delegation-v1", "pseudonyms": [pseudonym.as_str()],
            "delegate_key": key_hex(&tablet), "client_key": key_hex(signer),
            "timestamp_ms": now_ms(), "nonce": nonce(),
        })
    };
    // The tablet cannot add itself.
    let (status, json) = send(
        &app,
        signed("/v1/delegations", &delegation(&tablet), &tablet),
    )
    .await;
    assert_eq!(
        (status, json["error"].as_str()),
        (StatusCode::FORBIDDEN, Some("pseudonym-not-owned"))
    );
    // The phone adds it; then the tablet uploads under the pseudonym and may erase it.
    let (status, json) = send(
        &app,
        signed("/v1/delegations", &delegation(&f.client), &f.client),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{json}");
    assert_eq!(json["delegated"][0], pseudonym.as_str());
    let mut b = f.builder();
    b.add_file("note.txt", b"from the tablet".to_vec()).unwrap();
    let (status, json) = post(&app, f.seal(b.sign(&tablet).unwrap().into_bytes())).await;
    assert_eq!(status, StatusCode::CREATED, "{json}");
    let (status, json) = send(
        &app,
        signed("/v1/erasures", &erasure_of(&f, &tablet), &tablet),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{json}");
    assert_eq!(json["artifacts_marked"], 2);
}

#[tokio::test]
async fn finding_5_a_captured_reading_is_worthless_to_anyone_else() {
    let f = Fixture::new();
    let app = f.app();
    // The patient's reading, captured (it is bound to the patient's client key).
    let captured = f.reading(7);
    // An enrolled attacker wraps it in an artifact of their own (another subject).
    let mallory = stranger();
    f.enrol(&mallory);
    let other_subject = veil_seal::PseudonymSecret::generate().unwrap();
    let mut b = veil_seal::ArtifactBuilder::new(
        other_subject.pseudonym(RECIPIENT_ID, PURPOSE),
        PURPOSE,
        RECIPIENT_ID,
        veil_seal::ConsentRef {
            decision: veil_seal::ConsentDecision::Allow,
            event_hash: None,
            context: None,
        },
        1_790_000_000_000,
    );
    b.add_device_evidence(captured.clone());
    let before = f.stored().await;
    let (status, json) = post(&app, f.seal(b.sign(&mallory).unwrap().into_bytes())).await;
    assert_eq!(
        (status, json["error"].as_str(), json["reason"].as_str()),
        (
            StatusCode::UNPROCESSABLE_ENTITY,
            Some("reading-rejected"),
            Some("nonce-mismatch")
        ),
        "{json}"
    );
    assert_eq!(f.stored().await, before);
    // A reading without a binding salt is refused too.
    let mut unbound = captured.clone();
    unbound.challenge_salt = None;
    let mut b = f.builder();
    b.add_device_evidence(unbound);
    let (status, json) = post(&app, f.seal(b.sign(&f.client).unwrap().into_bytes())).await;
    assert_eq!(
        (status, json["error"].as_str()),
        (StatusCode::UNPROCESSABLE_ENTITY, Some("reading-unbound"))
    );
    // The patient's own upload of that reading is accepted: the capture blocked nothing.
    let (status, json) = post(&app, f.seal(f.signed(vec![captured], 0))).await;
    assert_eq!(status, StatusCode::CREATED, "{json}");
}

#[tokio::test]
async fn finding_9_control_requests_are_kept_byte_exact_and_a_replay_is_stored_once() {
    let f = Fixture::new();
    let app = f.app();
    let envelope = f.envelope(1);
    let id = id_of(&envelope);
    assert_eq!(post(&app, envelope).await.0, StatusCode::CREATED);
    // Key order and spacing of the client's own serialisation are kept as sent.
    let body = format!(
        "{{\"format\":\"veil-revocation-v1\", \"artifacts\":[\"{id}\"],\"purpose\":\"{PURPOSE}\",\
         \"withdrawn_at_ms\":1790000000000,\"reason\":\"withdrawn in app\",\"client_key\":\"{}\",\
         \"timestamp_ms\":{},\"nonce\":\"{}\",\"extra\":{{\"kept\":true}}}}",
        key_hex(&f.client),
        now_ms(),
        nonce()
    );
    let (status, first) = send(
        &app,
        signed_bytes("/v1/revocations", body.clone().into_bytes(), &f.client),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{first}");
    assert_eq!(first["revoked"][0], id.as_str());
    // The same bytes again (a retry, or a replay by someone who captured them): the recorded
    // answer, and nothing applied or stored twice.
    let (status, again) = send(
        &app,
        signed_bytes("/v1/revocations", body.clone().into_bytes(), &f.client),
    )
    .await;
    assert_eq!((status, &again), (StatusCode::OK, &first));
    let records = f
        .ingest
        .store()
        .control_records("revocation")
        .await
        .unwrap();
    assert_eq!(records.len(), 1);
    let (stored_body, stored_sig) = &records[0];
    assert_eq!(stored_body, &body, "stored byte-exact");
    // Re-verifiable later with nothing but the client key.
    let sig = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(stored_sig)
        .unwrap();
    f.client
        .verifying_key()
        .verify(
            stored_body.as_bytes(),
            &p256::ecdsa::Signature::from_slice(&sig).unwrap(),
        )
        .unwrap();

    // The same nonce with other bytes is refused.
    let nonce_used: serde_json::Value = serde_json::from_str(&body).unwrap();
    let mut reuse = nonce_used.clone();
    reuse["reason"] = "another".into();
    let (status, json) = send(&app, signed("/v1/revocations", &reuse, &f.client)).await;
    assert_eq!(
        (status, json["error"].as_str()),
        (StatusCode::CONFLICT, Some("nonce-reused"))
    );
    // A request from the future is refused; one without a nonce or timestamp is malformed.
    let mut future = nonce_used.clone();
    future["nonce"] = nonce().into();
    future["timestamp_ms"] = (now_ms() + 3_600_000).into();
    let (status, json) = send(&app, signed("/v1/revocations", &future, &f.client)).await;
    assert_eq!(
        (status, json["error"].as_str()),
        (StatusCode::BAD_REQUEST, Some("bad-timestamp"))
    );
    let mut bare = nonce_used;
    bare.as_object_mut().unwrap().remove("nonce");
    let (status, json) = send(&app, signed("/v1/revocations", &bare, &f.client)).await;
    assert_eq!(
        (status, json["error"].as_str()),
        (StatusCode::BAD_REQUEST, Some("bad-request"))
    );
    assert_eq!(
        f.ingest
            .store()
            .control_records("revocation")
            .await
            .unwrap()
            .len(),
        1
    );
}

#[tokio::test]
async fn a_client_over_its_rate_gets_429_with_retry_after_and_others_do_not() {
    let f = Fixture::with_limits(Limits {
        client_rate: 3,
        ..Limits::default()
    });
    let app = f.app();
    for ctr in 1..=3 {
        assert_eq!(post(&app, f.envelope(ctr)).await.0, StatusCode::CREATED);
    }
    let envelope = f.envelope(4);
    let key = id_of(&envelope);
    let res = tower::ServiceExt::oneshot(
        app.clone(),
        Request::post("/v1/artifacts")
            .header("idempotency-key", key)
            .body(Body::from(envelope))
            .unwrap(),
    )
    .await
    .unwrap();
    assert_eq!(res.status(), StatusCode::TOO_MANY_REQUESTS);
    let retry: u64 = res.headers()[header::RETRY_AFTER]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!((1..=60).contains(&retry), "Retry-After {retry}");
    // The control endpoints share the client's rate.
    let (status, json) = send(
        &app,
        signed("/v1/erasures", &erasure_of(&f, &f.client), &f.client),
    )
    .await;
    assert_eq!(
        (status, json["error"].as_str()),
        (StatusCode::TOO_MANY_REQUESTS, Some("rate-limited"))
    );
    // Another client is not slowed down.
    let other = stranger();
    f.enrol(&other);
    assert_eq!(
        post(&app, f.seal(signed_note(&other))).await.0,
        StatusCode::CREATED
    );
}

#[tokio::test]
async fn a_forged_envelope_naming_a_client_does_not_spend_its_rate() {
    let f = Fixture::with_limits(Limits {
        client_rate: 2,
        ..Limits::default()
    });
    let app = f.app();
    // A stranger's signed artifact whose protected header names the enrolled client's key id:
    // the signature cannot verify under the client's key.
    let other = stranger();
    let mut signed = signed_note(&other);
    let theirs = veil_seal::KeyId::of_verifying_key(other.verifying_key()).0;
    let victim = veil_seal::KeyId::of_verifying_key(f.client.verifying_key()).0;
    let at = signed
        .windows(32)
        .position(|w| w == theirs)
        .expect("the signer's key id is in the protected header");
    signed[at..at + 32].copy_from_slice(&victim);
    for _ in 0..5 {
        let (status, json) = post(&app, f.seal(signed.clone())).await;
        assert_ne!(status, StatusCode::CREATED, "{json}");
        assert_ne!(status, StatusCode::TOO_MANY_REQUESTS, "{json}");
    }
    // The client's own uploads still have their whole rate.
    for ctr in 1..=2 {
        assert_eq!(post(&app, f.envelope(ctr)).await.0, StatusCode::CREATED);
    }
}

#[tokio::test]
async fn an_unprotected_header_the_verifier_skips_does_not_fail_the_upload() {
    // The unprotected header is not signed and the verifier skips it (Veil writes `{}`); a relay
    // that fills it (`{4: 0}`, which a full COSE decoder refuses) must get the same answer as
    // without it, not a 500 that the outbox would retry forever.
    let f = Fixture::new();
    let app = f.app();
    let signed = signed_note(&f.client);
    // Tag 18, a four-item array, then the protected bstr: its head gives where `{}` follows.
    assert_eq!(signed[..2], [0xD2, 0x84]);
    let (head, len) = match signed[2] {
        b @ 0x40..=0x57 => (1, usize::from(b - 0x40)),
        0x58 => (2, usize::from(signed[3])),
        b => panic!("protected header head {b:#x}"),
    };
    let at = 2 + head + len;
    assert_eq!(
        signed[at], 0xA0,
        "the unprotected header Veil writes is empty"
    );
    let mut filled = signed[..at].to_vec();
    filled.extend_from_slice(&[0xA1, 0x04, 0x00]);
    filled.extend_from_slice(&signed[at + 1..]);
    let (status, json) = post(&app, f.seal(filled)).await;
    assert_eq!(status, StatusCode::CREATED, "{json}");
}

#[tokio::test]
async fn a_client_over_its_storage_quota_gets_429_and_nothing_is_stored() {
    let first = Fixture::new().envelope(1).len() as u64;
    let f = Fixture::with_limits(Limits {
        client_quota: first * 2 + first / 2,
        ..Limits::default()
    });
    let app = f.app();
    assert_eq!(post(&app, f.envelope(1)).await.0, StatusCode::CREATED);
    assert_eq!(post(&app, f.envelope(2)).await.0, StatusCode::CREATED);
    let before = f.stored().await;
    let (status, json) = post(&app, f.envelope(3)).await;
    assert_eq!(
        (status, json["error"].as_str()),
        (StatusCode::TOO_MANY_REQUESTS, Some("storage-quota"))
    );
    assert_eq!(f.stored().await, before, "nothing stored over the quota");
}
