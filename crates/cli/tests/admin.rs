//! `veil admin` on a real server's data directory: an invitation is one JSON line with a
//! well-formed code and its expiry, clients are listed with their key and times, and a revoked
//! client's next upload is refused while the server keeps running.
#![allow(missing_docs, clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::time::{SystemTime, UNIX_EPOCH};

use common::*;

fn now_s() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64
}

/// Seconds since the epoch of an RFC 3339 UTC time to the second (`...Z`).
fn unix(time: &serde_json::Value) -> i64 {
    let text = time
        .as_str()
        .unwrap_or_else(|| panic!("not a time: {time}"));
    assert!(
        text.len() == 20 && text.ends_with('Z'),
        "not UTC to the second: {text}"
    );
    veil_consent::Timestamp::parse_rfc3339(text).unwrap().unix()
}

/// The field names of a JSON object, sorted.
fn keys_of(v: &serde_json::Value) -> Vec<&str> {
    let mut keys: Vec<&str> = v.as_object().unwrap().keys().map(String::as_str).collect();
    keys.sort_unstable();
    keys
}

#[test]
fn an_invitation_is_one_json_line_with_its_code_and_expiry() {
    let dir = scratch("admin-invite");
    let data = arg(&dir.join("data"));
    let alphabet = "ABCDEFGHJKMNPQRSTVWXYZ23456789";

    let before = now_s();
    let out = ok(veil(&[
        "admin",
        "invite",
        "--data",
        &data,
        "--name",
        "kiosk 3",
        "--uses",
        "2",
        "--expires",
        "30m",
    ]));
    let after = now_s();
    assert_eq!(out.lines().count(), 1, "{out}");
    let invite: serde_json::Value = serde_json::from_str(out.trim()).unwrap();
    assert_eq!(keys_of(&invite), ["code", "expires", "name", "uses"]);
    let code = invite["code"].as_str().unwrap();
    let groups: Vec<&str> = code.split('-').collect();
    assert_eq!(groups.len(), 5, "{code}");
    for g in groups {
        assert_eq!(g.len(), 4, "{code}");
        assert!(g.chars().all(|c| alphabet.contains(c)), "{code}");
    }
    assert_eq!(invite["name"], "kiosk 3");
    assert_eq!(invite["uses"], 2);
    let expires = unix(&invite["expires"]);
    assert!(
        (before + 1800 - 1..=after + 1800).contains(&expires),
        "{invite}"
    );
    // The database keeps only the code's hash.
    let mut db = std::fs::read(dir.join("data/veil-ingest.sqlite3")).unwrap();
    db.extend(std::fs::read(dir.join("data/veil-ingest.sqlite3-wal")).unwrap_or_default());
    let bare = code.replace('-', "");
    assert!(
        !db.windows(bare.len()).any(|w| w == bare.as_bytes())
            && !db.windows(code.len()).any(|w| w == code.as_bytes()),
        "the code is stored in clear"
    );

    // Defaults: one use, a week, no name; and every code is new.
    let out = ok(veil(&["admin", "invite", "--data", &data]));
    let second: serde_json::Value = serde_json::from_str(out.trim()).unwrap();
    assert_eq!(second["uses"], 1);
    assert_eq!(second["name"], serde_json::Value::Null);
    let week = unix(&second["expires"]) - now_s();
    assert!((7 * 86_400 - 60..=7 * 86_400).contains(&week), "{second}");
    assert_ne!(second["code"], invite["code"]);

    // Usage: a bad duration, no use at all, both or neither database flag.
    for bad in [
        &["admin", "invite", "--data", &data, "--expires", "7x"][..],
        &["admin", "invite", "--data", &data, "--expires", "0d"],
        &["admin", "invite", "--data", &data, "--uses", "0"],
        &["admin", "invite"],
        &[
            "admin",
            "invite",
            "--data",
            &data,
            "--database",
            "postgres://u@127.0.0.1:1/x",
        ],
        &["admin", "clients", "revoke", "not-a-kid", "--data", &data],
    ] {
        let out = veil(bad);
        assert_eq!(out.status.code(), Some(2), "{bad:?}: {out:?}");
        assert!(out.stdout.is_empty());
    }
    std::fs::remove_dir_all(&dir).ok();
}

#[test]
fn clients_are_listed_and_a_revoked_client_is_refused() {
    let server = Server::start("admin-clients");
    let data = arg(&server.data);
    let list = || -> Vec<serde_json::Value> {
        json_lines(ok(veil(&["admin", "clients", "list", "--data", &data])).as_bytes())
    };
    assert!(list().is_empty());

    let code = server.invite(&["--name", "front desk"])["code"]
        .as_str()
        .unwrap()
        .to_owned();
    let a = server.seal(&server.keys, "a.veil", "letter a");
    let before = now_s();
    let out = server.upload(&server.keys, &["--invite", &code, "--name", "kiosk 3", &a]);
    assert_eq!(out.status.code(), Some(0), "{out:?}");

    let clients = list();
    assert_eq!(clients.len(), 1, "{clients:?}");
    let client = &clients[0];
    assert_eq!(
        keys_of(client),
        [
            "client_key",
            "client_kid",
            "enrolled",
            "invite_name",
            "name",
            "revoked"
        ]
    );
    let kid = server.keys.client_kid();
    assert_eq!(client["client_kid"], kid);
    let key = client["client_key"].as_str().unwrap();
    assert!(key.len() == 130 && key.starts_with("04"), "{key}");
    assert_eq!(client["name"], "kiosk 3");
    assert_eq!(client["invite_name"], "front desk");
    assert!((before - 1..=now_s()).contains(&unix(&client["enrolled"])));
    assert_eq!(client["revoked"], serde_json::Value::Null);

    // Revoked while the server runs: its next upload is refused, and it cannot enrol again.
    let out = ok(veil(&["admin", "clients", "revoke", &kid, "--data", &data]));
    let revoked: serde_json::Value = serde_json::from_str(out.trim()).unwrap();
    assert_eq!(keys_of(&revoked), ["client_kid", "revoked"]);
    assert_eq!(revoked["client_kid"], kid);
    let at = unix(&revoked["revoked"]);
    assert_eq!(list()[0]["revoked"], revoked["revoked"]);
    // Revoking again keeps the first time.
    let again = ok(veil(&[
        "admin",
        "clients",
        "revoke",
        &kid.to_uppercase(),
        "--data",
        &data,
    ]));
    let again: serde_json::Value = serde_json::from_str(again.trim()).unwrap();
    assert_eq!(unix(&again["revoked"]), at);

    let b = server.seal(&server.keys, "b.veil", "letter b");
    let out = server.upload(&server.keys, &[&b]);
    fails_with(&out, 1, "batch-failed");
    let lines = json_lines(&out.stdout);
    assert_eq!(lines[0]["status"], "rejected");
    assert_eq!(lines[0]["error"], "unknown-client");
    let fresh = server.invite(&[])["code"].as_str().unwrap().to_owned();
    let out = server.upload(&server.keys, &["--invite", &fresh, &b]);
    let lines = json_lines(&out.stdout);
    assert_eq!(lines[0]["error"], "client-revoked", "{out:?}");

    // A key id nobody enrolled.
    let out = veil(&[
        "admin",
        "clients",
        "revoke",
        &"0".repeat(64),
        "--data",
        &data,
    ]);
    fails_with(&out, 1, "unknown-client");
}

#[test]
fn a_passkey_user_gets_a_one_time_registration_code_and_link() {
    let dir = scratch("admin-passkey");
    let data = arg(&dir.join("data"));
    let out = ok(veil(&[
        "admin",
        "users",
        "add",
        "--passkey",
        "--data",
        &data,
        "--role",
        "researcher",
        "--purposes",
        "research",
        "--name",
        "Dr Rivera",
        "--code-expires",
        "2h",
        "--origin",
        "https://veil.clinic.example/",
    ]));
    let line: serde_json::Value = serde_json::from_str(out.trim()).unwrap();
    assert_eq!(line["auth"], "passkey");
    assert_eq!(line["role"], "researcher");
    let code = line["registration"]["code"].as_str().unwrap();
    assert_eq!(code.len(), 24, "{code}");
    assert_eq!(
        line["registration"]["link"],
        format!("https://veil.clinic.example/recipient/#code={code}")
    );
    let ttl = unix(&line["registration"]["expires"]) - unix(&line["created"]);
    assert!((7199..=7201).contains(&ttl), "{ttl}");
    let kid = line["user_kid"].as_str().unwrap().to_owned();

    // Listed as a passkey user, without the code.
    let listed = json_lines(ok(veil(&["admin", "users", "list", "--data", &data])).as_bytes());
    assert_eq!(listed.len(), 1);
    assert_eq!(listed[0]["auth"], "passkey");
    assert!(listed[0].get("registration").is_none());

    // Another code, for the same user; none for a key user.
    let again = ok(veil(&[
        "admin",
        "users",
        "passkey-code",
        &kid,
        "--data",
        &data,
    ]));
    let again: serde_json::Value = serde_json::from_str(again.trim()).unwrap();
    assert_ne!(again["registration"]["code"], line["registration"]["code"]);
    assert_eq!(
        again["registration"]["link"],
        format!(
            "/recipient/#code={}",
            again["registration"]["code"].as_str().unwrap()
        )
    );
    fails_with(
        &veil(&[
            "admin",
            "users",
            "passkey-code",
            &"ab".repeat(32),
            "--data",
            &data,
        ]),
        1,
        "unknown-user",
    );
    // A key and a passkey at once is a usage error; so is neither.
    let pem = dir.join("k.pem");
    std::fs::write(&pem, "x").unwrap();
    let out = veil(&[
        "admin",
        "users",
        "add",
        "--passkey",
        "--key",
        &arg(&pem),
        "--data",
        &data,
        "--role",
        "researcher",
        "--purposes",
        "research",
        "--name",
        "x",
    ]);
    assert_eq!(out.status.code(), Some(2));
    let out = veil(&[
        "admin",
        "users",
        "add",
        "--data",
        &data,
        "--role",
        "researcher",
        "--purposes",
        "research",
        "--name",
        "x",
    ]);
    assert_eq!(out.status.code(), Some(2));
    std::fs::remove_dir_all(&dir).unwrap();
}
