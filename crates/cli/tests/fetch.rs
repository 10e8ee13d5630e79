//! `veil admin users` and `veil fetch` against a real `veil serve` process (issue 19): the
//! operator adds a clinician and a researcher; the clinician's batch export writes the contents
//! of what consent still covers and reports the withdrawn artifact refused with its code, with
//! progress on stderr; the researcher is refused every treatment artifact; each read the export
//! made is in the access log an auditor exports, and the chain verifies.
#![allow(missing_docs, clippy::unwrap_used, clippy::expect_used)]

mod common;

use base64::Engine;
use common::*;
use p256::ecdsa::signature::Signer;

fn add_user(server: &Server, role: &str, purposes: &str, keys: &Keys) -> std::process::Output {
    let data = arg(&server.data);
    let key = keys.file("client.pem");
    let mut args = vec!["admin", "users", "add", "--data", &data, "--role", role];
    if !purposes.is_empty() {
        args.extend_from_slice(&["--purposes", purposes]);
    }
    args.extend_from_slice(&["--key", &key, "--name", role]);
    veil(&args)
}

fn signing_key(keys: &Keys) -> p256::ecdsa::SigningKey {
    veil_seal::signing_key_from_pem(&std::fs::read_to_string(keys.dir.join("client.pem")).unwrap())
        .unwrap()
}

fn nonce() -> String {
    let mut bytes = [0u8; 16];
    getrandom::getrandom(&mut bytes).unwrap();
    hex::encode(bytes)
}

fn now_ms() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_millis() as u64
}

/// POST `body` signed with `key`; status and JSON answer.
fn post_signed(
    url: &str,
    body: serde_json::Value,
    key: &p256::ecdsa::SigningKey,
) -> (u16, serde_json::Value) {
    let bytes = serde_json::to_vec(&body).unwrap();
    let sig: p256::ecdsa::Signature = key.sign(&bytes);
    let response = reqwest::blocking::Client::new()
        .post(url)
        .header("content-type", "application/json")
        .header(
            "veil-signature",
            base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(sig.to_bytes()),
        )
        .body(bytes)
        .send()
        .unwrap();
    let status = response.status().as_u16();
    (
        status,
        serde_json::from_slice(&response.bytes().unwrap()).unwrap(),
    )
}

fn key_hex(key: &p256::ecdsa::SigningKey) -> String {
    hex::encode(key.verifying_key().to_encoded_point(false).as_bytes())
}

fn fetch(server: &Server, keys: &Keys, purpose: &str, out: &str) -> std::process::Output {
    veil(&[
        "fetch",
        "--server",
        &server.url,
        "--user-key",
        &keys.file("client.pem"),
        "--purpose",
        purpose,
        "-o",
        out,
    ])
}

#[test]
fn a_clinician_exports_what_consent_covers_and_every_read_is_logged() {
    let server = Server::start("fetch-clinician");
    let code = server.invite(&[])["code"].as_str().unwrap().to_owned();
    let kept = server.seal(&server.keys, "kept.veil", "letter still consented");
    let withdrawn = server.seal(&server.keys, "withdrawn.veil", "letter withdrawn");
    let up = server.upload(&server.keys, &["--invite", &code, &kept, &withdrawn]);
    assert_eq!(up.status.code(), Some(0), "{up:?}");

    let clinician = Keys::generate(server.dir.join("clinician"));
    let researcher = Keys::generate(server.dir.join("researcher"));
    let auditor = Keys::generate(server.dir.join("auditor"));
    let line: serde_json::Value =
        serde_json::from_str(ok(add_user(&server, "clinician", "treatment", &clinician)).trim())
            .unwrap();
    assert_eq!(line["role"], "clinician");
    assert_eq!(line["purposes"], serde_json::json!(["treatment"]));
    assert_eq!(line["user_kid"], clinician.client_kid());
    ok(add_user(&server, "researcher", "research", &researcher));
    ok(add_user(&server, "auditor", "", &auditor));
    // A role never gets a purpose outside its own, and the operator is told which it may have.
    fails_with(
        &add_user(
            &server,
            "researcher",
            "treatment",
            &Keys::generate(server.dir.join("x")),
        ),
        1,
        "bad-request",
    );
    let data = arg(&server.data);
    let users = json_lines(ok(veil(&["admin", "users", "list", "--data", &data])).as_bytes());
    assert_eq!(users.len(), 3);

    // The subject withdraws consent for one of the two letters.
    let client = signing_key(&server.keys);
    let (status, json) = post_signed(
        &format!("{}/v1/revocations", server.url),
        serde_json::json!({
            "format": "veil-revocation-v1", "artifacts": [id_of(&withdrawn)],
            "purpose": "treatment", "withdrawn_at_ms": now_ms(), "reason": "moved clinic",
            "client_key": key_hex(&client), "timestamp_ms": now_ms(), "nonce": nonce(),
        }),
        &client,
    );
    assert_eq!(status, 200, "{json}");

    let out_dir = server.path("export");
    let out = fetch(&server, &clinician, "treatment", &out_dir);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(0), "{stderr}");
    assert!(
        stderr.contains("veil fetch: 2 artifact(s) for purpose treatment"),
        "{stderr}"
    );
    assert!(
        stderr.contains("[1/2]") && stderr.contains("[2/2]"),
        "{stderr}"
    );
    let mut lines = json_lines(&out.stdout);
    lines.sort_by_key(|l| l["id"].as_str().unwrap().to_owned());
    let mut expected = vec![
        (id_of(&kept), "fetched", None),
        (id_of(&withdrawn), "refused", Some("consent-withdrawn")),
    ];
    expected.sort();
    for (line, (id, status, error)) in lines.iter().zip(&expected) {
        assert_eq!(line["id"], id.as_str(), "{line}");
        assert_eq!(line["status"], *status, "{line}");
        assert_eq!(line["error"].as_str(), *error, "{line}");
    }
    let dir = std::path::Path::new(&out_dir).join(id_of(&kept));
    let names: Vec<String> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    let letter = names
        .iter()
        .find(|n| n.ends_with(".pdf"))
        .unwrap_or_else(|| panic!("no letter in {names:?}"));
    assert_eq!(
        std::fs::read_to_string(dir.join(letter)).unwrap(),
        "letter still consented"
    );
    assert!(names.contains(&"manifest.json".to_owned()), "{names:?}");
    let decision: serde_json::Value =
        serde_json::from_slice(&std::fs::read(dir.join("decision.json")).unwrap()).unwrap();
    assert_eq!(decision["decision"], "allow");
    assert!(
        !std::path::Path::new(&out_dir)
            .join(id_of(&withdrawn))
            .exists()
    );

    // The researcher is refused both: its role does not cover treatment.
    let out = fetch(&server, &researcher, "treatment", &server.path("r"));
    assert_eq!(out.status.code(), Some(0));
    let lines = json_lines(&out.stdout);
    assert_eq!(lines.len(), 2);
    assert!(
        lines.iter().all(|l| l["error"] == "role-not-permitted"),
        "{lines:?}"
    );

    // The export's one read is in the access log once; the chain verifies under its key.
    let auditor_key = signing_key(&auditor);
    let (status, log) = post_signed(
        &format!("{}/v1/access-log/export", server.url),
        serde_json::json!({
            "format": "veil-access-log-export-v1", "user_key": key_hex(&auditor_key),
            "timestamp_ms": now_ms(), "nonce": nonce(),
        }),
        &auditor_key,
    );
    assert_eq!(status, 200, "{log}");
    let key =
        veil_seal::verifying_key_from_sec1(&hex::decode(log["key"].as_str().unwrap()).unwrap())
            .unwrap();
    let entries: Vec<_> = log["entries"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| veil_audit::ChainedEntry::from_json(e).unwrap())
        .collect();
    veil_audit::verify_chain(&entries, &key).unwrap();
    let reads: Vec<_> = entries
        .iter()
        .filter(|e| e.entry.event.as_str() == "read")
        .collect();
    assert_eq!(reads.len(), 1);
    assert_eq!(reads[0].entry.details["artifact"], id_of(&kept).as_str());
    assert_eq!(
        reads[0].entry.details["user"],
        clinician.client_kid().as_str()
    );
}
