//! Passkeys for human recipient users (issue #19): the operator adds a user with a one-time
//! registration code, the person registers a passkey and signs in with it, and their reads go
//! through the same decision and access log as a service account's. The authenticator here is a
//! software one written from the spec (W3C WebAuthn L2 §6.1 authenticator data, §6.5 attestation
//! object with fmt "none", §6.3.3 assertion signature over authenticatorData || SHA-256(clientDataJSON)),
//! independent of the server's parser; the e2e test (`e2e/tests/recipient.test.mjs`) does the same
//! with Chromium's virtual authenticator. Every refusal is reproduced, and the store's single-use
//! challenges and sessions run on SQLite and (with the services) PostgreSQL.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;
mod services;

use axum::http::{Request, StatusCode, header};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use common::*;
use coset::{CborSerializable, CoseKeyBuilder, iana};
use p256::ecdsa::signature::Signer;
use sha2::{Digest, Sha256};
use veil_ingest::passkeys::AssertionResponse;
use veil_ingest::webauthn::RelyingParty;
use veil_ingest::{ArtifactStore, Coded, UserRecord};

/// A change to an authenticator that makes its next assertion refused.
type Change = Box<dyn Fn(&mut Authenticator)>;

const ORIGIN: &str = "http://localhost";
const UP: u8 = 0x01;
const UV: u8 = 0x04;
const AT: u8 = 0x40;
const BS: u8 = 0x10;
const BE: u8 = 0x08;

fn b64(bytes: &[u8]) -> String {
    URL_SAFE_NO_PAD.encode(bytes)
}

/// A software authenticator holding one ES256 credential.
struct Authenticator {
    key: p256::ecdsa::SigningKey,
    id: Vec<u8>,
    user_handle: Vec<u8>,
    count: u32,
    rp_id: String,
    origin: String,
    flags: u8,
}

impl Authenticator {
    fn new() -> Self {
        let mut id = vec![0u8; 24];
        getrandom::getrandom(&mut id).unwrap();
        Authenticator {
            key: p256::ecdsa::SigningKey::random(&mut p256::elliptic_curve::rand_core::OsRng),
            id,
            user_handle: Vec::new(),
            count: 0,
            rp_id: "localhost".into(),
            origin: ORIGIN.into(),
            flags: UP | UV,
        }
    }

    fn client_data(&self, kind: &str, challenge: &str) -> Vec<u8> {
        serde_json::to_vec(&serde_json::json!({
            "type": kind, "challenge": challenge, "origin": self.origin, "crossOrigin": false,
        }))
        .unwrap()
    }

    fn auth_data(&self, flags: u8, attested: bool) -> Vec<u8> {
        let mut data = Sha256::digest(self.rp_id.as_bytes()).to_vec();
        data.push(flags);
        data.extend_from_slice(&self.count.to_be_bytes());
        if attested {
            data.extend_from_slice(&[0u8; 16]);
            data.extend_from_slice(&u16::try_from(self.id.len()).unwrap().to_be_bytes());
            data.extend_from_slice(&self.id);
            let point = self.key.verifying_key().to_encoded_point(false);
            let key = CoseKeyBuilder::new_ec2_pub_key(
                iana::EllipticCurve::P_256,
                point.x().unwrap().to_vec(),
                point.y().unwrap().to_vec(),
            )
            .algorithm(iana::Algorithm::ES256)
            .build();
            data.extend_from_slice(&key.to_vec().unwrap());
        }
        data
    }

    /// Another authenticator holding this one's key, under credential id `id`, answering with
    /// user handle `user_handle` from counter `count`.
    fn holding(&self, id: &[u8], user_handle: &[u8], count: u32) -> Self {
        Authenticator {
            key: self.key.clone(),
            id: id.to_vec(),
            user_handle: user_handle.to_vec(),
            count,
            ..Authenticator::new()
        }
    }

    /// `navigator.credentials.create` answering `options` (the server's JSON): the body of
    /// `POST /v1/passkeys/register`.
    fn create(&mut self, options: &serde_json::Value) -> serde_json::Value {
        let pk = &options["publicKey"];
        assert_eq!(pk["rp"]["id"], self.rp_id.as_str());
        assert_eq!(pk["pubKeyCredParams"][0]["alg"], -7);
        assert_eq!(pk["authenticatorSelection"]["userVerification"], "required");
        self.user_handle = URL_SAFE_NO_PAD
            .decode(pk["user"]["id"].as_str().unwrap())
            .unwrap();
        let client = self.client_data("webauthn.create", pk["challenge"].as_str().unwrap());
        let mut attestation = Vec::new();
        let object = ciborium::Value::Map(vec![
            ("fmt".into(), "none".into()),
            ("attStmt".into(), ciborium::Value::Map(vec![])),
            (
                "authData".into(),
                ciborium::Value::Bytes(self.auth_data(self.flags | AT, true)),
            ),
        ]);
        ciborium::into_writer(&object, &mut attestation).unwrap();
        serde_json::json!({
            "client_data_json": b64(&client), "attestation_object": b64(&attestation),
        })
    }

    /// `navigator.credentials.get` answering `options`: the body of `POST /v1/passkeys/sign-in`.
    fn get(&mut self, options: &serde_json::Value) -> serde_json::Value {
        let pk = &options["publicKey"];
        self.count += 1;
        let client = self.client_data("webauthn.get", pk["challenge"].as_str().unwrap());
        let data = self.auth_data(self.flags, false);
        let mut signed = data.clone();
        signed.extend_from_slice(&Sha256::digest(&client));
        let signature: p256::ecdsa::Signature = self.key.sign(&signed);
        serde_json::json!({
            "credential_id": b64(&self.id),
            "client_data_json": b64(&client),
            "authenticator_data": b64(&data),
            "signature": b64(signature.to_der().as_bytes()),
            "user_handle": b64(&self.user_handle),
        })
    }
}

fn post_json(path: &str, body: &serde_json::Value) -> Request<axum::body::Body> {
    Request::post(path)
        .header(header::CONTENT_TYPE, "application/json")
        .body(axum::body::Body::from(serde_json::to_vec(body).unwrap()))
        .unwrap()
}

fn with_token(path: &str, body: &serde_json::Value, token: &str) -> Request<axum::body::Body> {
    Request::post(path)
        .header(header::CONTENT_TYPE, "application/json")
        .header(header::AUTHORIZATION, format!("Bearer {token}"))
        .body(axum::body::Body::from(serde_json::to_vec(body).unwrap()))
        .unwrap()
}

/// A passkey user as `veil admin users add --passkey` makes it: its registration code.
async fn passkey_user(store: &ArtifactStore, role: &str, purposes: &[&str]) -> (String, String) {
    let invitation = store
        .add_passkey_user(
            UserRecord {
                user_kid: String::new(),
                user_key: String::new(),
                name: format!("Dr {role}"),
                role: role.into(),
                purposes: purposes.iter().map(|p| (*p).to_owned()).collect(),
                created_ms: now_ms(),
                disabled_ms: None,
            },
            86_400_000,
            now_ms(),
        )
        .await
        .unwrap();
    (invitation.user.user_kid, invitation.code)
}

/// A new registration code for passkey user `kid` (`veil admin users passkey-code`).
async fn another_code(store: &ArtifactStore, kid: &str) -> String {
    store
        .new_passkey_code(kid, 60_000, now_ms())
        .await
        .unwrap()
        .code
}

async fn register(app: &axum::Router, auth: &mut Authenticator, code: &str) -> serde_json::Value {
    let (status, options) = send(
        app,
        post_json(
            "/v1/passkeys/register/options",
            &serde_json::json!({ "code": code }),
        ),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{options}");
    let (status, json) = send(
        app,
        post_json("/v1/passkeys/register", &auth.create(&options)),
    )
    .await;
    assert_eq!(status, StatusCode::CREATED, "{json}");
    json
}

async fn register_options(app: &axum::Router, code: &str) -> (StatusCode, serde_json::Value) {
    send(
        app,
        post_json(
            "/v1/passkeys/register/options",
            &serde_json::json!({ "code": code }),
        ),
    )
    .await
}

async fn sign_in_options(app: &axum::Router) -> serde_json::Value {
    let (status, options) = send(
        app,
        post_json("/v1/passkeys/sign-in/options", &serde_json::json!({})),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{options}");
    options
}

async fn sign_in(app: &axum::Router, auth: &mut Authenticator) -> (StatusCode, serde_json::Value) {
    let options = sign_in_options(app).await;
    send(app, post_json("/v1/passkeys/sign-in", &auth.get(&options))).await
}

#[tokio::test]
async fn a_researcher_signs_in_with_a_passkey_reads_research_and_is_refused_treatment() {
    let f = Fixture::new();
    let app = f.app();
    let research = stored(&f, &app, "research", 1).await;
    let treatment = stored(&f, &app, "treatment", 2).await;
    let (kid, code) = passkey_user(f.ingest.store(), "researcher", &["research"]).await;

    let mut auth = Authenticator::new();
    let registered = register(&app, &mut auth, &code).await;
    assert_eq!(registered["user_kid"], kid.as_str());
    assert_eq!(registered["role"], "researcher");
    assert_eq!(hex::encode(&auth.user_handle), kid);

    let (status, session) = sign_in(&app, &mut auth).await;
    assert_eq!(status, StatusCode::OK, "{session}");
    let token = session["token"].as_str().unwrap().to_owned();
    assert_eq!(session["user"]["purposes"], serde_json::json!(["research"]));

    // The session: who it is.
    let who = Request::get("/v1/session")
        .header(header::AUTHORIZATION, format!("Bearer {token}"))
        .body(axum::body::Body::empty())
        .unwrap();
    let (status, json) = send(&app, who).await;
    assert_eq!(
        (status, json["user_kid"].as_str()),
        (StatusCode::OK, Some(kid.as_str()))
    );

    // The listing gives the same decisions a read would.
    let list = serde_json::json!({"format": "veil-read-list-v1", "purpose": "research"});
    let (status, json) = send(&app, with_token("/v1/reads/list", &list, &token)).await;
    assert_eq!(status, StatusCode::OK, "{json}");
    assert_eq!(json["artifacts"][0]["id"], research.as_str());
    assert_eq!(json["artifacts"][0]["decision"], "allow");

    // Allowed: the research artifact, its contents as sealed.
    let read = |id: &str, purpose: &str| serde_json::json!({"format": "veil-read-v1", "artifact": id, "purpose": purpose});
    let (status, json) = send(
        &app,
        with_token("/v1/reads/fetch", &read(&research, "research"), &token),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{json}");
    let data = base64::engine::general_purpose::STANDARD
        .decode(json["files"][0]["data"].as_str().unwrap())
        .unwrap();
    assert_eq!(data, deidentified().0);

    // Refused: the treatment artifact, under either purpose.
    let (status, json) = send(
        &app,
        with_token("/v1/reads/fetch", &read(&treatment, "research"), &token),
    )
    .await;
    assert_eq!(
        (status, json["error"].as_str()),
        (StatusCode::FORBIDDEN, Some("purpose-not-covered"))
    );
    let (status, json) = send(
        &app,
        with_token("/v1/reads/fetch", &read(&treatment, "treatment"), &token),
    )
    .await;
    assert_eq!(
        (status, json["error"].as_str()),
        (StatusCode::FORBIDDEN, Some("role-not-permitted"))
    );

    // Each read is in the access log once, by this user, signed in with its passkey.
    let auditor_key = veil_seal::generate_signing_key().unwrap();
    f.ingest
        .store()
        .add_user(UserRecord {
            user_kid: veil_seal::KeyId::of_sec1(&sec1(&auditor_key)).to_hex(),
            user_key: key_hex(&auditor_key),
            name: "auditor".into(),
            role: "auditor".into(),
            purposes: vec![],
            created_ms: now_ms(),
            disabled_ms: None,
        })
        .await
        .unwrap();
    let body = serde_json::json!({
        "format": "veil-access-log-export-v1", "user_key": key_hex(&auditor_key),
        "timestamp_ms": now_ms(), "nonce": nonce(),
    });
    let (status, log) = send(&app, signed("/v1/access-log/export", &body, &auditor_key)).await;
    assert_eq!(status, StatusCode::OK, "{log}");
    let entries: Vec<veil_audit::ChainedEntry> = log["entries"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| veil_audit::ChainedEntry::from_json(e).unwrap())
        .collect();
    let key =
        veil_seal::verifying_key_from_sec1(&hex::decode(log["key"].as_str().unwrap()).unwrap())
            .unwrap();
    veil_audit::verify_chain(&entries, &key).unwrap();
    let actor = format!("user:{kid}");
    let reads: Vec<_> = entries
        .iter()
        .filter(|e| e.entry.actor == actor && e.entry.details["artifact"].is_string())
        .map(|e| {
            (
                e.entry.details["artifact"].as_str().unwrap().to_owned(),
                e.entry.details["decision"].as_str().unwrap().to_owned(),
                e.entry.details["auth"].as_str().unwrap().to_owned(),
            )
        })
        .collect();
    assert_eq!(
        reads,
        [
            (research.clone(), "allow".into(), "passkey".into()),
            (treatment.clone(), "refuse".into(), "passkey".into()),
            (treatment.clone(), "refuse".into(), "passkey".into()),
        ]
    );
    assert_eq!(
        entries
            .iter()
            .filter(|e| e.entry.actor == actor && e.entry.details["method"] == "passkey")
            .count(),
        1,
        "one sign-in"
    );

    // Signed out, the token reads nothing.
    let out = Request::delete("/v1/session")
        .header(header::AUTHORIZATION, format!("Bearer {token}"))
        .body(axum::body::Body::empty())
        .unwrap();
    assert_eq!(send(&app, out).await.0, StatusCode::NO_CONTENT);
    let (status, json) = send(
        &app,
        with_token("/v1/reads/fetch", &read(&research, "research"), &token),
    )
    .await;
    assert_eq!(
        (status, json["error"].as_str()),
        (StatusCode::UNAUTHORIZED, Some("session-invalid"))
    );
}

#[tokio::test]
async fn codes_challenges_and_assertions_work_once_and_each_refusal_has_its_code() {
    let f = Fixture::new();
    let app = f.app();
    let (kid, code) = passkey_user(f.ingest.store(), "clinician", &["treatment"]).await;
    let mut auth = Authenticator::new();
    register(&app, &mut auth, &code).await;

    // The code is used up.
    let (status, json) = register_options(&app, &code).await;
    assert_eq!(
        (status, json["error"].as_str()),
        (StatusCode::FORBIDDEN, Some("registration-code-invalid"))
    );

    // An assertion replayed: its challenge was taken by the first use.
    let options = sign_in_options(&app).await;
    let assertion = auth.get(&options);
    let (status, _) = send(&app, post_json("/v1/passkeys/sign-in", &assertion)).await;
    assert_eq!(status, StatusCode::OK);
    let (status, json) = send(&app, post_json("/v1/passkeys/sign-in", &assertion)).await;
    assert_eq!(
        (status, json["error"].as_str()),
        (StatusCode::BAD_REQUEST, Some("webauthn-unknown-challenge"))
    );

    // A refused assertion uses its challenge up too: the good answer after a bad one is refused.
    let options = sign_in_options(&app).await;
    let mut bad = auth.get(&options);
    let mut sig = URL_SAFE_NO_PAD
        .decode(bad["signature"].as_str().unwrap())
        .unwrap();
    let last = sig.len() - 1;
    sig[last] ^= 1;
    bad["signature"] = b64(&sig).into();
    let (status, json) = send(&app, post_json("/v1/passkeys/sign-in", &bad)).await;
    assert_eq!(json["error"], "webauthn-bad-signature", "{status} {json}");
    auth.count -= 1;
    let good = auth.get(&options);
    let (_, json) = send(&app, post_json("/v1/passkeys/sign-in", &good)).await;
    assert_eq!(json["error"], "webauthn-unknown-challenge");

    // Each check, one refusal at a time (a fresh challenge each).
    let cases: Vec<(&str, Change)> = vec![
        (
            "webauthn-bad-origin",
            Box::new(|a| a.origin = "http://localhost:9".into()),
        ),
        (
            "webauthn-rp-mismatch",
            Box::new(|a| a.rp_id = "example.com".into()),
        ),
        ("webauthn-user-not-verified", Box::new(|a| a.flags = UP)),
        ("webauthn-user-not-present", Box::new(|a| a.flags = UV)),
        // Backed up (BS) but not backup eligible (BE): inconsistent flags (WebAuthn L3 §7.2).
        (
            "webauthn-bad-authenticator-data",
            Box::new(|a| a.flags = UP | UV | BS),
        ),
        // A counter that goes back: a cloned authenticator.
        ("webauthn-sign-count", Box::new(|a| a.count = 0)),
        // Registered not backup eligible, now answering as backup eligible (and backed up):
        // another authenticator (WebAuthn L3 §7.2).
        (
            "webauthn-backup-eligibility",
            Box::new(|a| a.flags = UP | UV | BE),
        ),
        (
            "webauthn-backup-eligibility",
            Box::new(|a| a.flags = UP | UV | BE | BS),
        ),
    ];
    for (code, change) in cases {
        let mut a = Authenticator {
            key: auth.key.clone(),
            id: auth.id.clone(),
            user_handle: auth.user_handle.clone(),
            ..Authenticator::new()
        };
        a.count = auth.count;
        change(&mut a);
        let (status, json) = sign_in(&app, &mut a).await;
        assert_eq!(json["error"], code, "{status} {json}");
    }
    // Someone else's passkey, and a user handle that is not the credential's user.
    let (_, json) = sign_in(&app, &mut Authenticator::new()).await;
    assert_eq!(json["error"], "webauthn-unknown-credential");
    let mut other = Authenticator {
        key: auth.key.clone(),
        id: auth.id.clone(),
        user_handle: vec![7; 32],
        ..Authenticator::new()
    };
    other.count = auth.count + 10;
    let (_, json) = sign_in(&app, &mut other).await;
    assert_eq!(json["error"], "webauthn-unknown-credential");
    // No user handle, or an empty one: the user was not identified before the ceremony (no
    // allowCredentials), so the response must name it (WebAuthn L2/L3 §7.2 step 6).
    for handle in [serde_json::Value::Null, "".into()] {
        let mut a = auth.holding(&auth.id, &auth.user_handle, auth.count + 10);
        let mut body = a.get(&sign_in_options(&app).await);
        body["user_handle"] = handle;
        let (status, json) = send(&app, post_json("/v1/passkeys/sign-in", &body)).await;
        assert_eq!(
            json["error"], "webauthn-unknown-credential",
            "{status} {json}"
        );
    }
    // The same credential registered twice (with a new code for the same user).
    let code2 = another_code(f.ingest.store(), &kid).await;
    let (_, options) = register_options(&app, &code2).await;
    let (_, json) = send(
        &app,
        post_json("/v1/passkeys/register", &auth.create(&options)),
    )
    .await;
    assert_eq!(json["error"], "webauthn-credential-exists");
    // A registration challenge does not sign in.
    let (_, options) = register_options(&app, &code2).await;
    let mut a = Authenticator {
        key: auth.key.clone(),
        id: auth.id.clone(),
        user_handle: auth.user_handle.clone(),
        ..Authenticator::new()
    };
    a.count = auth.count + 20;
    let (_, json) = send(&app, post_json("/v1/passkeys/sign-in", &a.get(&options))).await;
    assert_eq!(json["error"], "webauthn-unknown-challenge");
    // A sign-in whose client data says it is a registration.
    let mut wrong = a.get(&sign_in_options(&app).await);
    let client = String::from_utf8(
        URL_SAFE_NO_PAD
            .decode(wrong["client_data_json"].as_str().unwrap())
            .unwrap(),
    )
    .unwrap()
    .replace("webauthn.get", "webauthn.create");
    wrong["client_data_json"] = b64(client.as_bytes()).into();
    let (_, json) = send(&app, post_json("/v1/passkeys/sign-in", &wrong)).await;
    assert_eq!(json["error"], "webauthn-wrong-type");
    // Malformed fields are typed.
    let mut junk = auth.get(&sign_in_options(&app).await);
    junk["authenticator_data"] = "AAAA".into();
    let (_, json) = send(&app, post_json("/v1/passkeys/sign-in", &junk)).await;
    assert_eq!(json["error"], "webauthn-bad-authenticator-data");
    junk["client_data_json"] = "not base64!".into();
    let (_, json) = send(&app, post_json("/v1/passkeys/sign-in", &junk)).await;
    assert_eq!(json["error"], "webauthn-bad-client-data");

    // A passkey user is no service account: no signed request authenticates as it, and a
    // disabled user's session stops working.
    let (status, session) = sign_in(&app, &mut auth).await;
    assert_eq!(status, StatusCode::OK, "{session}");
    let token = session["token"].as_str().unwrap();
    let code3 = another_code(f.ingest.store(), &kid).await;
    f.ingest.store().disable_user(&kid, now_ms()).await.unwrap();
    // Disabled: its passkey no longer signs in, a code issued before no longer registers.
    let (_, json) = sign_in(&app, &mut auth).await;
    assert_eq!(json["error"], "webauthn-unknown-credential");
    let (_, json) = register_options(&app, &code3).await;
    assert_eq!(json["error"], "registration-code-invalid");
    let list = serde_json::json!({"format": "veil-read-list-v1", "purpose": "treatment"});
    let (status, json) = send(&app, with_token("/v1/reads/list", &list, token)).await;
    assert_eq!(
        (status, json["error"].as_str()),
        (StatusCode::UNAUTHORIZED, Some("session-invalid"))
    );
    let (_, json) = send(&app, with_token("/v1/reads/list", &list, "forged")).await;
    assert_eq!(json["error"], "session-invalid");
}

#[tokio::test]
async fn the_recipient_page_is_served_under_the_strict_csp() {
    let f = Fixture::new();
    let app = f.app();
    for (path, kind) in [
        ("/recipient/", "text/html"),
        ("/recipient/recipient.js", "text/javascript"),
        ("/recipient/recipient.css", "text/css"),
    ] {
        let response = tower::ServiceExt::oneshot(
            app.clone(),
            Request::get(path).body(axum::body::Body::empty()).unwrap(),
        )
        .await
        .unwrap();
        assert_eq!(response.status(), StatusCode::OK, "{path}");
        let headers = response.headers();
        assert!(
            headers[header::CONTENT_TYPE]
                .to_str()
                .unwrap()
                .starts_with(kind)
        );
        assert_eq!(
            headers[header::CONTENT_SECURITY_POLICY],
            veil_ingest::CONTENT_SECURITY_POLICY
        );
    }
    // No CORS and no cookies: another site's page can neither send a session (a preflight for
    // `Authorization` is not granted) nor read an answer, and nothing rides on ambient cookies.
    for method in ["OPTIONS", "GET", "POST"] {
        let request = Request::builder()
            .method(method)
            .uri("/v1/session")
            .header(header::ORIGIN, "https://evil.example")
            .header(header::ACCESS_CONTROL_REQUEST_METHOD, "GET")
            .header(header::ACCESS_CONTROL_REQUEST_HEADERS, "authorization")
            .body(axum::body::Body::empty())
            .unwrap();
        let response = tower::ServiceExt::oneshot(app.clone(), request)
            .await
            .unwrap();
        assert_ne!(response.status(), StatusCode::OK, "{method}");
        let headers = response.headers();
        for name in [
            header::ACCESS_CONTROL_ALLOW_ORIGIN,
            header::ACCESS_CONTROL_ALLOW_HEADERS,
            header::ACCESS_CONTROL_ALLOW_CREDENTIALS,
            header::SET_COOKIE,
        ] {
            assert!(!headers.contains_key(&name), "{method} {name}");
        }
    }
}

/// The store's ceremony on one backend: codes, challenges and sessions are single-use and expire.
async fn ceremonies_on(store: &ArtifactStore) {
    let rp = RelyingParty::from_origin(ORIGIN).unwrap();
    let (kid, code) = passkey_user(store, "researcher", &["research"]).await;
    let now = now_ms();
    let start = store.registration_challenge(&code, now).await.unwrap();
    let mut auth = Authenticator::new();
    let options = serde_json::json!({"publicKey": {
        "challenge": b64(&start.challenge), "rp": {"id": "localhost"},
        "user": {"id": b64(&hex::decode(&start.user.user_kid).unwrap())},
        "pubKeyCredParams": [{"alg": -7}], "authenticatorSelection": {"userVerification": "required"},
    }});
    let body = auth.create(&options);
    let decode = |v: &serde_json::Value| URL_SAFE_NO_PAD.decode(v.as_str().unwrap()).unwrap();
    let (user, _) = store
        .register_passkey(
            &rp,
            &decode(&body["client_data_json"]),
            &decode(&body["attestation_object"]),
            now,
        )
        .await
        .unwrap();
    assert_eq!(user.user_kid, kid);
    assert_eq!(store.passkey_count(&kid).await.unwrap(), 1);

    let assertion = |auth: &mut Authenticator, challenge: &[u8]| {
        let json = auth.get(&serde_json::json!({"publicKey": {
            "challenge": b64(challenge), "rpId": "localhost"}}));
        AssertionResponse {
            credential_id: decode(&json["credential_id"]),
            client_data_json: decode(&json["client_data_json"]),
            authenticator_data: decode(&json["authenticator_data"]),
            signature: decode(&json["signature"]),
            user_handle: Some(decode(&json["user_handle"])),
        }
    };
    let log_key = p256::ecdsa::SigningKey::random(&mut p256::elliptic_curve::rand_core::OsRng);
    // Expired: a challenge answered after its five minutes.
    let challenge = store.sign_in_challenge(now).await.unwrap();
    let late = now + veil_ingest::passkeys::CHALLENGE_TTL_MS + 1;
    let e = store
        .sign_in(&rp, assertion(&mut auth, &challenge), log_key.clone(), late)
        .await
        .unwrap_err();
    assert_eq!(e.code(), "webauthn-unknown-challenge");
    // In time: a session, until it ends.
    let challenge = store.sign_in_challenge(now).await.unwrap();
    let session = store
        .sign_in(&rp, assertion(&mut auth, &challenge), log_key.clone(), now)
        .await
        .unwrap();
    let (who, ends) = store.session_user(&session.token, now).await.unwrap();
    assert_eq!(
        (who.user_kid.as_str(), ends),
        (kid.as_str(), session.expires_ms)
    );
    let after = session.expires_ms;
    assert_eq!(
        store
            .session_user(&session.token, after)
            .await
            .unwrap_err()
            .code(),
        "session-invalid"
    );
    // Replayed on the same store: the challenge is gone.
    let again = store
        .sign_in(&rp, assertion(&mut auth, &challenge), log_key, now)
        .await
        .unwrap_err();
    assert_eq!(again.code(), "webauthn-unknown-challenge");
    store.sign_out(&session.token).await.unwrap();
    assert_eq!(
        store
            .session_user(&session.token, now)
            .await
            .unwrap_err()
            .code(),
        "session-invalid"
    );
}

#[tokio::test]
async fn single_use_challenges_and_sessions_on_sqlite() {
    let f = Fixture::new();
    ceremonies_on(f.ingest.store()).await;
}

#[tokio::test]
async fn single_use_challenges_and_sessions_on_postgres() {
    if !services::available("single_use_challenges_and_sessions_on_postgres") {
        return;
    }
    let pg = services::Postgres::start();
    pg.create_database("passkeys");
    let dir = tempfile::tempdir().unwrap();
    let mut config = veil_ingest::IngestConfig::new(dir.path().join("data"));
    config.database = veil_ingest::DatabaseLocation::parse(&pg.url("passkeys")).unwrap();
    let store = ArtifactStore::open(&config).unwrap();
    ceremonies_on(&store).await;
}

#[tokio::test]
async fn the_passkey_routes_are_rate_limited() {
    let f = Fixture::with_limits(veil_ingest::Limits {
        enrol_rate: 2,
        ..veil_ingest::Limits::default()
    });
    let app = f.app();
    for _ in 0..2 {
        sign_in_options(&app).await;
    }
    let (status, json) = send(
        &app,
        post_json("/v1/passkeys/sign-in/options", &serde_json::json!({})),
    )
    .await;
    assert_eq!(
        (status, json["error"].as_str()),
        (StatusCode::TOO_MANY_REQUESTS, Some("rate-limited"))
    );
    // The answers count too: a flood of made-up assertions is refused before any lookup.
    let (status, _) = send(
        &app,
        post_json("/v1/passkeys/sign-in", &serde_json::json!({})),
    )
    .await;
    assert_eq!(status, StatusCode::TOO_MANY_REQUESTS);
    // Registrations have their own bucket.
    let (status, json) = send(
        &app,
        post_json(
            "/v1/passkeys/register/options",
            &serde_json::json!({"code": "NOPE"}),
        ),
    )
    .await;
    assert_eq!(
        (status, json["error"].as_str()),
        (StatusCode::FORBIDDEN, Some("registration-code-invalid"))
    );
}

/// A credential registered to one user never signs in another: not with the other's user handle,
/// not under the other's credential id, and a session is its own user's (WebAuthn §7.2 step 6).
#[tokio::test]
async fn a_passkey_signs_in_its_own_user_only() {
    let f = Fixture::new();
    let app = f.app();
    let (kid_a, code_a) = passkey_user(f.ingest.store(), "clinician", &["treatment"]).await;
    let (kid_b, code_b) = passkey_user(f.ingest.store(), "researcher", &["research"]).await;
    let mut a = Authenticator::new();
    let mut b = Authenticator::new();
    register(&app, &mut a, &code_a).await;
    register(&app, &mut b, &code_b).await;
    // A's passkey claiming B's user handle.
    let mut claim = a.holding(&a.id, &b.user_handle, 5);
    let (_, json) = sign_in(&app, &mut claim).await;
    assert_eq!(json["error"], "webauthn-unknown-credential", "{json}");
    // A's key answering under B's credential id and handle.
    let mut forged = a.holding(&b.id, &b.user_handle, 5);
    let (_, json) = sign_in(&app, &mut forged).await;
    assert_eq!(json["error"], "webauthn-bad-signature", "{json}");
    // Each signs in as itself.
    for (auth, kid) in [(&mut a, &kid_a), (&mut b, &kid_b)] {
        let (status, session) = sign_in(&app, auth).await;
        assert_eq!(status, StatusCode::OK, "{session}");
        assert_eq!(session["user"]["user_kid"], kid.as_str());
    }
}

#[tokio::test]
async fn a_passkey_registered_before_its_backup_eligibility_was_stored_keeps_the_one_it_next_shows()
{
    let f = Fixture::new();
    let app = f.app();
    let (_, code) = passkey_user(f.ingest.store(), "researcher", &["research"]).await;
    let mut auth = Authenticator::new();
    register(&app, &mut auth, &code).await;
    // A database of the version before: the passkey has no stored BE flag.
    let db = rusqlite::Connection::open(f.config.data_dir.join("veil-ingest.sqlite3")).unwrap();
    assert_eq!(db.execute("DELETE FROM passkey_backup", []).unwrap(), 1);
    // Its next sign-in (as backup eligible) records the flag, and from then on it must repeat.
    auth.flags = UP | UV | BE;
    let (status, json) = sign_in(&app, &mut auth).await;
    assert_eq!(status, StatusCode::OK, "{json}");
    let stored: i64 = db
        .query_row("SELECT backup_eligible FROM passkey_backup", [], |r| {
            r.get(0)
        })
        .unwrap();
    assert_eq!(stored, 1);
    auth.flags = UP | UV;
    let (status, json) = sign_in(&app, &mut auth).await;
    assert_eq!(
        (status, json["error"].as_str()),
        (StatusCode::FORBIDDEN, Some("webauthn-backup-eligibility"))
    );
    auth.flags = UP | UV | BE | BS;
    let (status, json) = sign_in(&app, &mut auth).await;
    assert_eq!(status, StatusCode::OK, "{json}");
}
