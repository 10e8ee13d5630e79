//! The ingest API, driven through the real router (`tower::ServiceExt::oneshot`): every
//! unverifiable upload is a 4xx with a stable JSON code and leaves nothing in storage; a valid one
//! is stored once, however often it is retried.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use axum::body::Body;
use axum::http::{Request, StatusCode, header};
use ciborium::Value;
use common::*;
use coset::{CoseSign1, TaggedCborSerializable};
use p256::ecdsa::signature::Signer;
use sha2::Digest as _;
use veil_ingest::Limits;

/// Assert a JSON error answer with `status` and `code`, and that nothing is stored.
async fn refused(
    f: &Fixture,
    got: (StatusCode, serde_json::Value),
    status: StatusCode,
    code: &str,
) {
    assert_eq!(got.0, status, "{}", got.1);
    assert_eq!(got.1["error"], code, "{}", got.1);
    assert!(got.1["detail"].is_string(), "{}", got.1);
    assert_eq!(
        f.stored().await,
        (0, vec![]),
        "something was stored after {code}"
    );
}

#[tokio::test]
async fn recipient_key_publishes_the_public_key_and_its_kid() {
    let f = Fixture::new();
    let (status, json) = get(&f.app(), "/v1/recipient-key").await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(json["kid"], f.recipient.kid().to_hex());
    assert_eq!(json["suite"], serde_json::json!([16, 1, 2]));
    assert_eq!(json["format"], "VEIL-1");
    assert_eq!(json["info"], "veil artifact v1");
    assert_eq!(json["recipient"], RECIPIENT_ID);
    // A client that only knows this answer can seal to the server.
    let sec1 = hex::decode(json["public_key"].as_str().unwrap()).unwrap();
    let public = veil_seal::RecipientPublicKey::from_sec1_bytes(&sec1).unwrap();
    let from_pem = veil_seal::RecipientPublicKey::from_public_key_pem(
        json["public_key_pem"].as_str().unwrap(),
    )
    .unwrap();
    assert_eq!(public, from_pem);
    let envelope = veil_seal::seal(f.signed(vec![f.reading(1)], 0), &public)
        .unwrap()
        .into_bytes();
    assert_eq!(post(&f.app(), envelope).await.0, StatusCode::CREATED);
    // The private key never appears.
    assert!(!json.to_string().contains("PRIVATE"));
}

#[tokio::test]
async fn a_valid_upload_is_stored_once_and_a_retry_answers_200_with_the_same_id() {
    let f = Fixture::new();
    let app = f.app();
    let envelope = f.envelope(1);
    let id = id_of(&envelope);

    let (status, json) = post(&app, envelope.clone()).await;
    assert_eq!(status, StatusCode::CREATED, "{json}");
    assert_eq!(json["id"], id);
    assert_eq!(json["status"], "created");

    for _ in 0..3 {
        let (status, json) = post(&app, envelope.clone()).await;
        assert_eq!(status, StatusCode::OK, "{json}");
        assert_eq!(json["id"], id);
        assert_eq!(json["status"], "exists");
    }
    let (count, objects) = f.stored().await;
    assert_eq!(count, 1);
    assert_eq!(
        objects,
        vec![
            format!("artifacts/{}/{id}/envelope.veil", &id[..2]),
            format!("artifacts/{}/{id}/manifest.json", &id[..2])
        ]
    );
    // The stored envelope is the uploaded one; the device counter is recorded.
    assert_eq!(
        f.ingest
            .store()
            .open_envelope(&id)
            .await
            .unwrap()
            .unwrap()
            .as_slice(),
        envelope.as_slice()
    );
    let (status, json) = get(&app, &format!("/v1/artifacts/{id}")).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(json["status"], "delivered");
    assert_eq!(json["subject_erased"], false);
}

#[tokio::test]
async fn the_stored_manifest_is_the_verified_one_and_no_content_is_stored_in_clear() {
    let f = Fixture::new();
    let mut b = f.builder();
    b.add_file("notes.txt", PLANTED.as_bytes().to_vec())
        .unwrap();
    b.add_device_evidence(f.reading(7));
    let envelope = f.seal(b.sign(&f.client).unwrap().into_bytes());
    let id = id_of(&envelope);
    assert_eq!(post(&f.app(), envelope).await.0, StatusCode::CREATED);

    let root = f.config.data_dir.join("objects");
    let manifest: serde_json::Value = serde_json::from_slice(
        &std::fs::read(root.join(format!("artifacts/{}/{id}/manifest.json", &id[..2]))).unwrap(),
    )
    .unwrap();
    assert_eq!(manifest["id"], id);
    assert_eq!(manifest["manifest"]["purpose"], PURPOSE);
    assert_eq!(
        manifest["manifest"]["pseudonym"],
        f.subject.pseudonym(RECIPIENT_ID, PURPOSE).as_str()
    );
    let readings = manifest["verification"]["readings"].as_array().unwrap();
    assert_eq!(readings.len(), 1);
    assert_eq!(readings[0]["counter"], 7);
    assert_eq!(
        readings[0]["device"]["serial"],
        f.maker.devices[0].signer.serial()
    );
    assert_eq!(
        manifest["verification"]["recipient_kid"],
        f.recipient.kid().to_hex()
    );

    // Nothing under the data directory (objects, database, WAL) holds the planted plaintext.
    for entry in walk(&f.config.data_dir) {
        let bytes = std::fs::read(&entry).unwrap();
        assert!(
            !bytes
                .windows(PLANTED.len())
                .any(|w| w == PLANTED.as_bytes()),
            "{} holds plaintext",
            entry.display()
        );
    }
}

fn walk(dir: &std::path::Path) -> Vec<std::path::PathBuf> {
    let mut out = vec![];
    for e in std::fs::read_dir(dir).unwrap() {
        let p = e.unwrap().path();
        if p.is_dir() {
            out.extend(walk(&p))
        } else {
            out.push(p)
        }
    }
    out
}

#[tokio::test]
async fn a_forged_client_signature_is_refused() {
    let f = Fixture::new();
    let mut signed = f.signed(vec![f.reading(1)], 0);
    // The COSE_Sign1 ends with the 64-byte r || s: flip a bit of s.
    let last = signed.len() - 1;
    signed[last] ^= 0x01;
    refused(
        &f,
        post(&f.app(), f.seal(signed)).await,
        StatusCode::UNPROCESSABLE_ENTITY,
        "bad-signature",
    )
    .await;
}

#[tokio::test]
async fn an_artifact_signed_by_another_key_than_its_manifest_names_is_refused() {
    let f = Fixture::new();
    // Re-sign the victim's artifact with an attacker key, keeping the manifest's client_key.
    let signed = f.signed(vec![], 0);
    let mut sign1 = CoseSign1::from_tagged_slice(&signed).unwrap();
    let attacker = veil_seal::generate_signing_key().unwrap();
    let sig: p256::ecdsa::Signature = attacker.sign(&sign1.tbs_data(b""));
    sign1.signature = sig.to_bytes().to_vec();
    let forged = sign1.to_tagged_vec().unwrap();
    refused(
        &f,
        post(&f.app(), f.seal(forged)).await,
        StatusCode::UNPROCESSABLE_ENTITY,
        "bad-signature",
    )
    .await;
}

/// Re-sign `signed` after `edit` changed its payload, with the genuine client key: the client
/// signature is valid, so only the server's own checks can catch what `edit` did.
fn resign(f: &Fixture, signed: &[u8], edit: impl FnOnce(&mut Vec<(Value, Value)>)) -> Vec<u8> {
    let mut sign1 = CoseSign1::from_tagged_slice(signed).unwrap();
    let payload: Value = ciborium::from_reader(sign1.payload.as_deref().unwrap()).unwrap();
    let Value::Map(mut top) = payload else {
        panic!("payload is a map")
    };
    edit(&mut top);
    let mut bytes = vec![];
    ciborium::into_writer(&Value::Map(top), &mut bytes).unwrap();
    sign1.payload = Some(bytes);
    let sig: p256::ecdsa::Signature = f.client.sign(&sign1.tbs_data(b""));
    sign1.signature = sig.to_bytes().to_vec();
    sign1.to_tagged_vec().unwrap()
}

fn field<'a>(map: &'a mut [(Value, Value)], key: &str) -> &'a mut Value {
    &mut map
        .iter_mut()
        .find(|(k, _)| k.as_text() == Some(key))
        .unwrap()
        .1
}

#[tokio::test]
async fn a_tampered_reading_is_refused_even_when_the_client_signed_it() {
    let f = Fixture::new();
    let signed = f.signed(vec![f.reading(1)], 0);
    let tampered = resign(&f, &signed, |top| {
        let Value::Map(manifest) = field(top, "manifest") else {
            panic!()
        };
        let Value::Array(evidence) = field(manifest, "device_evidence") else {
            panic!()
        };
        let Value::Map(entry) = &mut evidence[0] else {
            panic!()
        };
        let Value::Bytes(reading) = field(entry, "reading") else {
            panic!()
        };
        // Change one byte of the device-signed payload (the reading's value), keep the rest.
        let mut cose = CoseSign1::from_tagged_slice(reading).unwrap();
        let payload = cose.payload.as_mut().unwrap();
        let last = payload.len() - 1;
        payload[last] ^= 0x01;
        *reading = cose.to_tagged_vec().unwrap();
    });
    let got = post(&f.app(), f.seal(tampered)).await;
    assert_eq!(got.1["reason"], "bad-signature", "{}", got.1);
    assert_eq!(got.1["index"], 0);
    refused(
        &f,
        got,
        StatusCode::UNPROCESSABLE_ENTITY,
        "reading-rejected",
    )
    .await;
}

#[tokio::test]
async fn a_content_that_does_not_match_its_manifest_hash_is_refused() {
    let f = Fixture::new();
    let signed = f.signed(vec![], 0);
    let tampered = resign(&f, &signed, |top| {
        let Value::Map(files) = field(top, "files") else {
            panic!()
        };
        let Value::Bytes(model) = &mut files[0].1 else {
            panic!()
        };
        model[0] ^= 0x20;
    });
    refused(
        &f,
        post(&f.app(), f.seal(tampered)).await,
        StatusCode::UNPROCESSABLE_ENTITY,
        "hash-mismatch",
    )
    .await;
}

#[tokio::test]
async fn a_reading_from_an_untrusted_manufacturer_is_refused() {
    let f = Fixture::new();
    let rogue = manufacturer("Rogue Devices", 1);
    let got = post(
        &f.app(),
        f.seal(f.signed(vec![Fixture::reading_from(&rogue, 0, 1, &f.client)], 0)),
    )
    .await;
    assert_eq!(got.1["reason"], "untrusted-chain", "{}", got.1);
    refused(
        &f,
        got,
        StatusCode::UNPROCESSABLE_ENTITY,
        "reading-rejected",
    )
    .await;
}

#[tokio::test]
async fn an_envelope_for_another_recipient_is_refused() {
    let f = Fixture::new();
    let other = veil_seal::RecipientKey::generate().unwrap();
    let envelope = veil_seal::seal(f.signed(vec![f.reading(1)], 0), other.public_key())
        .unwrap()
        .into_bytes();
    refused(
        &f,
        post(&f.app(), envelope).await,
        StatusCode::UNPROCESSABLE_ENTITY,
        "wrong-recipient",
    )
    .await;
}

#[tokio::test]
async fn a_manifest_for_another_recipient_id_is_refused() {
    let f = Fixture::new();
    let consent = veil_seal::ConsentRef {
        decision: veil_seal::ConsentDecision::Allow,
        event_hash: None,
        context: None,
    };
    let b = veil_seal::ArtifactBuilder::new(
        f.subject.pseudonym("clinic-b", PURPOSE),
        PURPOSE,
        "clinic-b",
        consent,
        1,
    );
    let envelope = f.seal(b.sign(&f.client).unwrap().into_bytes());
    refused(
        &f,
        post(&f.app(), envelope).await,
        StatusCode::UNPROCESSABLE_ENTITY,
        "recipient-mismatch",
    )
    .await;
}

#[tokio::test]
async fn a_tampered_ciphertext_is_refused() {
    let f = Fixture::new();
    let mut envelope = f.envelope(1);
    let mid = envelope.len() - 40;
    envelope[mid] ^= 0x80;
    refused(
        &f,
        post(&f.app(), envelope).await,
        StatusCode::UNPROCESSABLE_ENTITY,
        "decrypt-failed",
    )
    .await;
}

#[tokio::test]
async fn a_local_de_identification_report_is_refused_and_nothing_stored() {
    let f = Fixture::new();
    let (_, report) = deidentified();
    let local = serde_json::to_value(report).unwrap();
    let mut marked = local.clone();
    marked["form"] = "shareable".into();
    // A shareable report with a local report's fields nested in it.
    let shareable = serde_json::to_value(report.shareable()).unwrap();
    let mut nested_detail = shareable.clone();
    nested_detail["metadata_removed"][0]["detail"] = "vertex.JaneRoe_MRN448812".into();
    let mut named_channel = shareable.clone();
    named_channel["metadata_removed"][0]["channel"] = "JaneRoe_MRN448812".into();
    let mut nested_plane = shareable.clone();
    nested_plane["deface"]["plane"] = serde_json::json!({"point": [1, 2, 3], "normal": [0, 0, 1]});
    assert!(
        shareable["metadata_removed"][0].is_object(),
        "the model had metadata"
    );
    for bad in [
        local,
        marked,
        nested_detail,
        named_channel,
        nested_plane,
        serde_json::json!({"removed": ["face"]}),
        "x".into(),
    ] {
        let mut b = f.builder();
        b.set_deid_report(bad);
        let envelope = f.seal(b.sign(&f.client).unwrap().into_bytes());
        refused(
            &f,
            post(&f.app(), envelope).await,
            StatusCode::UNPROCESSABLE_ENTITY,
            "not-shareable-report",
        )
        .await;
    }
}

/// The artifact of [`Fixture::signed`] with its consent decision rewritten to `text` on the wire
/// and re-signed by the genuine client: what another (or an older) implementation may send;
/// veil-seal itself seals only `allow`.
fn with_decision(f: &Fixture, text: &str) -> Vec<u8> {
    resign(f, &f.signed(vec![], 0), |top| {
        let Value::Map(manifest) = field(top, "manifest") else {
            panic!()
        };
        let Value::Map(consent) = field(manifest, "consent") else {
            panic!()
        };
        *field(consent, "decision") = Value::Text(text.into());
    })
}

/// An artifact of the fixture's subject carrying a German research consent, its sealed consent
/// map rewritten by `edit` and re-signed by the genuine client.
fn with_consent_context(f: &Fixture, edit: impl FnOnce(&mut Vec<(Value, Value)>)) -> Vec<u8> {
    let pseudonym = f.subject.pseudonym(RECIPIENT_ID, "research");
    let consent = consent_with(Some(&research_consent_event()), &["DE"], 34);
    let mut b = veil_seal::ArtifactBuilder::new(
        pseudonym,
        "research",
        RECIPIENT_ID,
        consent,
        1_790_000_000_000,
    );
    b.add_file("file-1.txt", b"notes".to_vec()).unwrap();
    let signed = b.sign(&f.client).unwrap().into_bytes();
    resign(f, &signed, |top| {
        let Value::Map(manifest) = field(top, "manifest") else {
            panic!()
        };
        let Value::Map(consent) = field(manifest, "consent") else {
            panic!()
        };
        edit(consent);
    })
}

/// `edit` applied to the sealed event, written back in canonical form; with `rehash`, the
/// manifest's event_hash follows it.
fn with_event(
    f: &Fixture,
    rehash: bool,
    edit: impl FnOnce(&mut veil_consent::ConsentEvent),
) -> Vec<u8> {
    with_consent_context(f, |consent| {
        let Value::Map(context) = field(consent, "context") else {
            panic!()
        };
        let Value::Bytes(event) = field(context, "event") else {
            panic!()
        };
        let mut parsed: veil_consent::ConsentEvent = serde_json::from_slice(event).unwrap();
        edit(&mut parsed);
        *event = veil_consent::sealed::event_json(&parsed).unwrap();
        let hash = sha2::Sha256::digest(&*event).to_vec();
        if rehash {
            *field(consent, "event_hash") = Value::Bytes(hash);
        }
    })
}

#[tokio::test]
async fn a_sealed_consent_event_that_is_not_the_one_its_hash_names_is_refused() {
    let f = Fixture::new();
    // The client forges the event (a later consent, an expiry removed...) and re-signs: the
    // event no longer hashes to the manifest's event_hash.
    let forged = with_event(&f, false, |e| {
        e.at = veil_consent::Timestamp::parse("2026-01-11T09:00:00Z").unwrap();
    });
    refused(
        &f,
        post(&f.app(), f.seal(forged)).await,
        StatusCode::UNPROCESSABLE_ENTITY,
        "consent-event-mismatch",
    )
    .await;
    // An event that names a person (not minimised) is refused even with its own hash.
    let named = with_event(&f, true, |e| e.guardian = Some("Jane Roe".into()));
    let got = post(&f.app(), f.seal(named)).await;
    assert!(
        got.1["detail"].as_str().unwrap().contains("minimised"),
        "{}",
        got.1
    );
    refused(&f, got, StatusCode::UNPROCESSABLE_ENTITY, "bad-manifest").await;
    // A key outside the consent map's schema is refused.
    let extra = with_consent_context(&f, |consent| {
        consent.push((Value::Text("verified".into()), Value::Bool(true)));
    });
    refused(
        &f,
        post(&f.app(), f.seal(extra)).await,
        StatusCode::UNPROCESSABLE_ENTITY,
        "bad-artifact",
    )
    .await;
    // As sealed: stored.
    let (status, json) = post(&f.app(), f.seal(with_consent_context(&f, |_| {}))).await;
    assert_eq!(status, StatusCode::CREATED, "{json}");
}

#[tokio::test]
async fn an_upload_without_a_granting_consent_decision_is_refused() {
    let f = Fixture::new();
    for decision in ["deny", "needs-consent"] {
        let got = post(&f.app(), f.seal(with_decision(&f, decision))).await;
        let detail = got.1["detail"].as_str().unwrap_or_default().to_owned();
        assert!(detail.contains(&format!("`{decision}`")), "{detail}");
        refused(&f, got, StatusCode::FORBIDDEN, "consent-not-granted").await;
    }
    // A word that is no decision at all is a malformed manifest, not a refusal of consent.
    refused(
        &f,
        post(&f.app(), f.seal(with_decision(&f, "maybe"))).await,
        StatusCode::UNPROCESSABLE_ENTITY,
        "bad-manifest",
    )
    .await;
}

#[tokio::test]
async fn the_legacy_permit_spelling_is_a_grant_and_is_recorded_as_allow() {
    let f = Fixture::new();
    let envelope = f.seal(with_decision(&f, "permit"));
    let id = id_of(&envelope);
    let (status, json) = post(&f.app(), envelope).await;
    assert_eq!(status, StatusCode::CREATED, "{json}");
    let stored: serde_json::Value = serde_json::from_slice(
        &std::fs::read(
            f.config
                .data_dir
                .join("objects")
                .join(format!("artifacts/{}/{id}/manifest.json", &id[..2])),
        )
        .unwrap(),
    )
    .unwrap();
    assert_eq!(stored["manifest"]["consent"]["decision"], "allow");
    let db = rusqlite::Connection::open(f.config.data_dir.join("veil-ingest.sqlite3")).unwrap();
    let column: String = db
        .query_row(
            "SELECT consent_decision FROM artifacts WHERE id = ?1",
            [&id],
            |r| r.get(0),
        )
        .unwrap();
    assert_eq!(column, "allow");
}

#[tokio::test]
async fn a_replayed_reading_in_a_new_envelope_is_refused_and_stores_nothing_more() {
    let f = Fixture::new();
    let app = f.app();
    let reading = f.reading(5);
    assert_eq!(
        post(&app, f.seal(f.signed(vec![reading.clone()], 0)))
            .await
            .0,
        StatusCode::CREATED
    );
    let before = f.stored().await;

    // The same device reading (same counter) carried by another artifact.
    let (status, json) = post(&app, f.seal(f.signed(vec![reading.clone()], 10))).await;
    assert_eq!(status, StatusCode::CONFLICT, "{json}");
    assert_eq!(json["error"], "replayed-counter");
    // The same signed artifact re-sealed into a fresh envelope (new id).
    let signed = f.signed(vec![f.reading(6)], 0);
    assert_eq!(
        post(&app, f.seal(signed.clone())).await.0,
        StatusCode::CREATED
    );
    let after_second = f.stored().await;
    let (status, json) = post(&app, f.seal(signed)).await;
    assert_eq!(status, StatusCode::CONFLICT, "{json}");
    assert_eq!(json["error"], "replayed-artifact");
    assert_eq!(f.stored().await, after_second);
    assert_eq!(before.0 + 1, after_second.0);

    // The same content with a malleated signature (s -> n - s verifies too): still a replay.
    let signed = f.signed(vec![], 3);
    assert_eq!(
        post(&app, f.seal(signed.clone())).await.0,
        StatusCode::CREATED
    );
    let mut sign1 = CoseSign1::from_tagged_slice(&signed).unwrap();
    let sig = p256::ecdsa::Signature::from_slice(&sign1.signature).unwrap();
    let (r, s) = sig.split_scalars();
    let flipped = p256::ecdsa::Signature::from_scalars(r.to_bytes(), (-*s).to_bytes()).unwrap();
    sign1.signature = flipped.to_bytes().to_vec();
    let (status, json) = post(&app, f.seal(sign1.to_tagged_vec().unwrap())).await;
    assert_eq!(status, StatusCode::CONFLICT, "{json}");
    assert_eq!(json["error"], "replayed-artifact");

    // Two readings with one counter inside one artifact are a replay too.
    let (status, json) = post(&app, f.seal(f.signed(vec![f.reading(9), f.reading(9)], 0))).await;
    assert_eq!(
        (status, json["error"].as_str()),
        (StatusCode::CONFLICT, Some("replayed-counter"))
    );

    // The per-device last counter is kept in SQLite; older counters not yet seen still arrive
    // (an offline outbox may deliver out of order).
    let device = format!(
        "{}/{}",
        veil_trust::fingerprint(
            &veil_trust::certs_from_pem(&f.maker.provisioned.root.cert_pem).unwrap()[0]
        ),
        f.maker.devices[0].signer.serial()
    );
    assert_eq!(
        f.ingest.store().last_counter(&device).await.unwrap(),
        Some(6)
    );
    assert_eq!(
        post(&app, f.seal(f.signed(vec![f.reading(3)], 0))).await.0,
        StatusCode::CREATED
    );
    assert_eq!(
        f.ingest.store().last_counter(&device).await.unwrap(),
        Some(6)
    );
}

#[tokio::test]
async fn an_oversized_body_is_refused_with_413_declared_or_streamed() {
    let f = Fixture::with_limits(Limits {
        max_body: 4096,
        ..Limits::default()
    });
    let envelope = f.seal(f.signed(vec![], 8192));
    assert!(envelope.len() > 4096);
    let got = post(&f.app(), envelope.clone()).await;
    assert_eq!(got.1["limit"], 4096);
    refused(&f, got, StatusCode::PAYLOAD_TOO_LARGE, "body-too-large").await;

    // No Content-Length: the limit holds while streaming.
    let chunks: Vec<Result<Vec<u8>, std::io::Error>> =
        envelope.chunks(1000).map(|c| Ok(c.to_vec())).collect();
    let body = Body::from_stream(futures::stream::iter(chunks));
    let req = Request::post("/v1/artifacts")
        .header("idempotency-key", id_of(&envelope))
        .body(body)
        .unwrap();
    refused(
        &f,
        send(&f.app(), req).await,
        StatusCode::PAYLOAD_TOO_LARGE,
        "body-too-large",
    )
    .await;
}

#[tokio::test]
async fn garbage_and_malformed_requests_are_refused() {
    let f = Fixture::new();
    let app = f.app();
    let garbage = b"GET / HTTP/1.1 this is not an envelope".to_vec();
    refused(
        &f,
        post(&app, garbage.clone()).await,
        StatusCode::BAD_REQUEST,
        "bad-envelope",
    )
    .await;
    // A CBOR array shaped like an envelope but with another magic.
    let mut fake = f.envelope(1);
    fake[2..8].copy_from_slice(b"VEIL-2");
    refused(
        &f,
        post(&app, fake).await,
        StatusCode::BAD_REQUEST,
        "bad-envelope",
    )
    .await;
    refused(
        &f,
        post_with_key(&app, vec![], Some(&"0".repeat(64))).await,
        StatusCode::BAD_REQUEST,
        "empty-body",
    )
    .await;
    refused(
        &f,
        post_with_key(&app, garbage.clone(), None).await,
        StatusCode::BAD_REQUEST,
        "missing-idempotency-key",
    )
    .await;
    refused(
        &f,
        post_with_key(&app, garbage.clone(), Some("abc")).await,
        StatusCode::BAD_REQUEST,
        "bad-idempotency-key",
    )
    .await;
    // A key that is not the body's id: a client bug or a different payload under a reused key.
    let envelope = f.envelope(1);
    refused(
        &f,
        post_with_key(&app, envelope.clone(), Some(&"ab".repeat(32))).await,
        StatusCode::UNPROCESSABLE_ENTITY,
        "idempotency-key-mismatch",
    )
    .await;
    // The structured-field form of the key ("...") is accepted.
    let quoted = format!("\"{}\"", id_of(&envelope));
    assert_eq!(
        post_with_key(&app, envelope, Some(&quoted)).await.0,
        StatusCode::CREATED
    );
}

#[tokio::test]
async fn api_paths_answer_json_and_keep_the_security_headers_while_the_app_still_falls_back() {
    let f = Fixture::new();
    let app = f.app();
    let (status, json) = get(&app, "/v1/nope").await;
    assert_eq!(
        (status, json["error"].as_str()),
        (StatusCode::NOT_FOUND, Some("not-found"))
    );
    let (status, json) = get(&app, "/v1/artifacts").await;
    assert_eq!(
        (status, json["error"].as_str()),
        (StatusCode::METHOD_NOT_ALLOWED, Some("method-not-allowed"))
    );
    let (status, json) = get(&app, &format!("/v1/artifacts/{}", "cd".repeat(32))).await;
    assert_eq!(
        (status, json["error"].as_str()),
        (StatusCode::NOT_FOUND, Some("unknown-artifact"))
    );
    let (status, json) = get(&app, "/v1/artifacts/xyz").await;
    assert_eq!(
        (status, json["error"].as_str()),
        (StatusCode::BAD_REQUEST, Some("bad-request"))
    );

    let res = tower::ServiceExt::oneshot(
        app.clone(),
        Request::get("/v1/recipient-key")
            .body(Body::empty())
            .unwrap(),
    )
    .await
    .unwrap();
    assert_eq!(
        res.headers()[header::CONTENT_SECURITY_POLICY],
        veil_ingest::CONTENT_SECURITY_POLICY
    );
    assert_eq!(res.headers()[header::CACHE_CONTROL], "no-store");
    let (status, _) = get(&app, "/consent").await;
    assert_eq!(status, StatusCode::OK);
}

/// A revocation or erasure body signed like the browser does (WebCrypto ECDSA P-256/SHA-256).
fn signed_request(
    path: &str,
    mut body: serde_json::Value,
    key: &veil_seal::SigningKey,
) -> Request<Body> {
    // Every control request carries a time and a fresh nonce (unless the test sets its own).
    if body.get("timestamp_ms").is_none() {
        body["timestamp_ms"] = (now_s() * 1000).into();
    }
    if body.get("nonce").is_none() {
        body["nonce"] = nonce().into();
    }
    signed_bytes(path, serde_json::to_vec(&body).unwrap(), key)
}

#[tokio::test]
async fn revocations_must_be_signed_by_the_delivering_client_and_mark_the_artifacts() {
    let f = Fixture::new();
    let app = f.app();
    let envelope = f.envelope(1);
    let id = id_of(&envelope);
    assert_eq!(post(&app, envelope).await.0, StatusCode::CREATED);
    let body = |purpose: &str, key: &veil_seal::SigningKey, ids: Vec<String>| {
        serde_json::json!({
            "format": "veil-revocation-v1", "artifacts": ids, "purpose": purpose,
            "withdrawn_at_ms": 1_790_000_000_000u64, "reason": "withdrawn in app", "client_key": key_hex(key),
            "timestamp_ms": now_s() * 1000, "nonce": nonce(),
        })
    };

    // A key that is not enrolled is refused before anything else.
    let other = veil_seal::generate_signing_key().unwrap();
    let (status, json) = send(
        &app,
        signed_request(
            "/v1/revocations",
            body(PURPOSE, &other, vec![id.clone()]),
            &other,
        ),
    )
    .await;
    assert_eq!(
        (status, json["error"].as_str()),
        (StatusCode::UNAUTHORIZED, Some("unknown-client"))
    );
    // Another enrolled client cannot revoke someone else's artifact.
    f.enrol(&other);
    let (status, json) = send(
        &app,
        signed_request(
            "/v1/revocations",
            body(PURPOSE, &other, vec![id.clone()]),
            &other,
        ),
    )
    .await;
    assert_eq!(
        (status, json["error"].as_str()),
        (StatusCode::FORBIDDEN, Some("pseudonym-not-owned"))
    );
    // A body whose signature is by another key than client_key.
    let (status, json) = send(
        &app,
        signed_request(
            "/v1/revocations",
            body(PURPOSE, &f.client, vec![id.clone()]),
            &other,
        ),
    )
    .await;
    assert_eq!(
        (status, json["error"].as_str()),
        (StatusCode::UNAUTHORIZED, Some("bad-request-signature"))
    );
    // Unsigned.
    let unsigned = Request::post("/v1/revocations")
        .body(Body::from(
            body(PURPOSE, &f.client, vec![id.clone()]).to_string(),
        ))
        .unwrap();
    let (status, json) = send(&app, unsigned).await;
    assert_eq!(
        (status, json["error"].as_str()),
        (StatusCode::UNAUTHORIZED, Some("missing-signature"))
    );
    // Wrong purpose, unknown artifact.
    let (status, json) = send(
        &app,
        signed_request(
            "/v1/revocations",
            body("research", &f.client, vec![id.clone()]),
            &f.client,
        ),
    )
    .await;
    assert_eq!(
        (status, json["error"].as_str()),
        (StatusCode::UNPROCESSABLE_ENTITY, Some("purpose-mismatch"))
    );
    let (status, json) = send(
        &app,
        signed_request(
            "/v1/revocations",
            body(PURPOSE, &f.client, vec!["ef".repeat(32)]),
            &f.client,
        ),
    )
    .await;
    assert_eq!(
        (status, json["error"].as_str()),
        (StatusCode::NOT_FOUND, Some("unknown-artifact"))
    );
    assert_eq!(
        get(&app, &format!("/v1/artifacts/{id}")).await.1["status"],
        "delivered"
    );

    let (status, json) = send(
        &app,
        signed_request(
            "/v1/revocations",
            body(PURPOSE, &f.client, vec![id.clone()]),
            &f.client,
        ),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{json}");
    assert_eq!(json["revoked"], serde_json::json!([id]));
    assert_eq!(
        get(&app, &format!("/v1/artifacts/{id}")).await.1["status"],
        "revoked"
    );
    // Idempotent.
    let (status, json) = send(
        &app,
        signed_request(
            "/v1/revocations",
            body(PURPOSE, &f.client, vec![id.clone()]),
            &f.client,
        ),
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(json["already_revoked"], serde_json::json!([id]));
    // Malformed JSON.
    let bad = Request::post("/v1/revocations")
        .header("veil-signature", "AA")
        .body(Body::from("{"))
        .unwrap();
    assert_eq!(send(&app, bad).await.1["error"], "bad-request");
}

#[tokio::test]
async fn erasures_mark_the_subjects_artifacts_and_keep_the_pseudonymised_record() {
    let f = Fixture::new();
    let app = f.app();
    let envelope = f.envelope(1);
    let id = id_of(&envelope);
    assert_eq!(post(&app, envelope).await.0, StatusCode::CREATED);

    let mut vault = veil_seal::IdentityVault::new();
    vault.insert("jane", f.subject.clone()).unwrap();
    let record = vault
        .erase(
            "jane",
            1_790_000_000_000,
            &[(RECIPIENT_ID, PURPOSE), (RECIPIENT_ID, "research")],
        )
        .unwrap();
    let mut body = serde_json::to_value(&record).unwrap();
    body["client_key"] = key_hex(&f.client).into();

    let other = veil_seal::generate_signing_key().unwrap();
    let mut forged = body.clone();
    forged["client_key"] = key_hex(&other).into();
    let (status, json) = send(&app, signed_request("/v1/erasures", forged.clone(), &other)).await;
    assert_eq!(
        (status, json["error"].as_str()),
        (StatusCode::UNAUTHORIZED, Some("unknown-client"))
    );
    f.enrol(&other);
    let (status, json) = send(&app, signed_request("/v1/erasures", forged, &other)).await;
    assert_eq!(
        (status, json["error"].as_str()),
        (StatusCode::FORBIDDEN, Some("pseudonym-not-owned"))
    );

    let (status, json) = send(&app, signed_request("/v1/erasures", body, &f.client)).await;
    assert_eq!(status, StatusCode::OK, "{json}");
    assert_eq!(json["artifacts_marked"], 1);
    assert_eq!(json["erased_pseudonyms"].as_array().unwrap().len(), 1);
    assert_eq!(json["unknown_pseudonyms"].as_array().unwrap().len(), 1);
    let (_, status) = get(&app, &format!("/v1/artifacts/{id}")).await;
    assert_eq!(status["subject_erased"], true);
    // Retention: the pseudonymised record is still there.
    assert_eq!(f.stored().await.0, 1);
}

#[tokio::test]
async fn artifacts_survive_a_restart_and_uncommitted_objects_are_swept() {
    let f = Fixture::new();
    let envelope = f.envelope(1);
    let id = id_of(&envelope);
    assert_eq!(
        post(&f.app(), envelope.clone()).await.0,
        StatusCode::CREATED
    );
    // A staging object of an upload that crashed before its commit, older than the lease.
    let orphan = f
        .config
        .data_dir
        .join("objects/staging")
        .join("0".repeat(64))
        .join("1-crashed");
    std::fs::create_dir_all(&orphan).unwrap();
    std::fs::write(orphan.join("envelope.veil"), b"partial").unwrap();
    age_file(
        &orphan.join("envelope.veil"),
        veil_ingest::store::STAGING_LEASE + std::time::Duration::from_secs(60),
    );

    let (reopened, _) = veil_ingest::Ingest::open(&f.config).unwrap();
    assert_eq!(reopened.store().sweep_orphans().await.unwrap(), 1);
    let reopened = std::sync::Arc::new(reopened);
    let app = veil_ingest::app(&f.dist, reopened.clone());
    let (status, json) = post(&app, envelope).await;
    assert_eq!(
        (status, json["id"].as_str()),
        (StatusCode::OK, Some(id.as_str()))
    );
    assert_eq!(reopened.store().list_objects().await.unwrap().len(), 2);
}

#[tokio::test]
async fn without_trust_roots_no_device_reading_is_accepted() {
    let f = Fixture::new();
    let mut config = f.config.clone();
    config.trust_roots = None;
    config.data_dir = f.dir.path().join("data2");
    let (ingest, _) = veil_ingest::Ingest::open(&config).unwrap();
    enrol_in(ingest.store(), &f.client);
    let app = veil_ingest::app(&f.dist, std::sync::Arc::new(ingest));
    let (status, json) = post(&app, f.envelope(1)).await;
    assert_eq!(
        (status, json["reason"].as_str()),
        (StatusCode::UNPROCESSABLE_ENTITY, Some("untrusted-chain"))
    );
    // An artifact without device evidence needs no roots.
    let (status, _) = post(&app, f.seal(f.signed(vec![], 0))).await;
    assert_eq!(status, StatusCode::CREATED);
}

#[tokio::test]
async fn a_reading_older_than_the_arrival_window_is_refused_as_stale() {
    let f = Fixture::new();
    let day = 24 * 3600;
    let old = veil_trust::fixtures::DemoManufacturer::with_options(&veil_trust::ProvisionOptions {
        manufacturer: "Acme Medical".into(),
        model: "BP7".into(),
        serial_prefix: "BP7".into(),
        devices: 1,
        intermediate: false,
        now: now_s() - 90 * day,
        device_days: 365,
    })
    .unwrap();
    let roots = f.dir.path().join("old-roots.pem");
    std::fs::write(&roots, &old.provisioned.root.cert_pem).unwrap();
    let mut config = f.config.clone();
    config.data_dir = f.dir.path().join("data-old");
    config.trust_roots = Some(roots);
    let (ingest, _) = veil_ingest::Ingest::open(&config).unwrap();
    enrol_in(ingest.store(), &f.client);
    let app = veil_ingest::app(&f.dist, std::sync::Arc::new(ingest));

    let d = &old.devices[0];
    let salt = [1u8; 32];
    let nonce = veil_trust::bound_challenge(&sec1(&f.client), &salt);
    let reading = |ctr: u64, age_days: u64| {
        let ts = now_s() - age_days * day;
        veil_seal::DeviceEvidence {
            reading: d.reading_at("bp:120/80/93", ctr, ts, &nonce).unwrap(),
            chain: d.chain.clone(),
            challenge_salt: Some(salt),
        }
    };
    // 29 days in the outbox: accepted (default window 30 days); 31 days: stale.
    assert_eq!(
        post(&app, f.seal(f.signed(vec![reading(1, 29)], 0)))
            .await
            .0,
        StatusCode::CREATED
    );
    let (status, json) = post(&app, f.seal(f.signed(vec![reading(2, 31)], 0))).await;
    assert_eq!(
        (status, json["reason"].as_str()),
        (StatusCode::UNPROCESSABLE_ENTITY, Some("stale")),
        "{json}"
    );
}

mod arbitrary_bodies {
    use super::*;
    use proptest::prelude::*;

    proptest! {
        #![proptest_config(ProptestConfig { cases: 48, ..ProptestConfig::default() })]
        /// Arbitrary bytes (and arbitrary bytes behind a valid envelope prefix) never panic the
        /// server, always answer a 4xx JSON error, and never store anything.
        #[test]
        fn never_panic_never_store(body in proptest::collection::vec(any::<u8>(), 0..2048), cut in 0usize..4096) {
            let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
            rt.block_on(async {
                let f = Fixture::new();
                let app = f.app();
                let mut prefixed = f.envelope(1);
                let whole = prefixed.len();
                prefixed.truncate(cut.min(whole));
                prefixed.extend_from_slice(&body);
                if prefixed.len() == whole {
                    prefixed.push(0); // never the valid envelope itself: trailing byte
                }
                for candidate in [body.clone(), prefixed] {
                    let (status, json) = post(&app, candidate).await;
                    prop_assert!(status.is_client_error(), "{status} {json}");
                    prop_assert!(json["error"].is_string());
                }
                prop_assert_eq!(f.stored().await, (0, vec![]));
                Ok(())
            })?;
        }
    }
}
