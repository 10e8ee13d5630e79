//! A device reading bound to the client that uploads it, from the command line
//! (`docs/device-profile.md` §5): `veil device sign` answers the challenge
//! SHA-256(client key || salt) given `--client-pub` and `--challenge-salt`, `veil device verify`
//! checks it the same way (and a reading answered for another client is `nonce-mismatch`), and
//! `veil seal --evidence-salt` carries the salt beside the reading into the manifest.
#![allow(missing_docs, clippy::unwrap_used, clippy::expect_used)]

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use sha2::{Digest, Sha256};

const NOW: &str = "1790000000";
const SALT: &str = "000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f";

fn veil(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_veil"))
        .args(args)
        .output()
        .unwrap()
}

fn ok(out: Output) -> serde_json::Value {
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(0), "{stderr}");
    serde_json::from_slice(&out.stdout).unwrap_or(serde_json::Value::Null)
}

/// Exit `status`, and the one stderr line names `code`.
fn fails(out: &Output, status: i32, code: &str) {
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(status), "{stderr}");
    assert!(
        stderr.starts_with(&format!("veil: {code}: ")) || (status == 2 && code == "usage"),
        "{stderr}"
    );
}

fn scratch(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("veil-bound-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

fn p(dir: &Path, name: &str) -> String {
    dir.join(name).display().to_string()
}

/// A provisioned device and two clients' keys (`a/`, `b/`) in `dir`.
fn setup(dir: &Path) {
    ok(veil(&[
        "device",
        "provision",
        "--out",
        &p(dir, "dev"),
        "--manufacturer",
        "Acme Medical",
        "--prefix",
        "BP7",
        "--now",
        NOW,
    ]));
    for client in ["a", "b"] {
        ok(veil(&["seal", "--generate-keys", &p(dir, client)]));
    }
}

fn sign(dir: &Path, out: &str, challenge: &[&str]) -> Output {
    let mut args = vec![
        "device".to_string(),
        "sign".into(),
        "--key".into(),
        p(dir, "dev/BP7-000001.key.pem"),
        "--cert".into(),
        p(dir, "dev/BP7-000001.cert.pem"),
        "--counter".into(),
        "7".into(),
        "--measurement".into(),
        "bp:120/80/93".into(),
        "--ts".into(),
        NOW.into(),
        "-o".into(),
        p(dir, out),
    ];
    args.extend(challenge.iter().map(|s| s.to_string()));
    veil(&args.iter().map(String::as_str).collect::<Vec<_>>())
}

fn verify(dir: &Path, reading: &str, challenge: &[&str]) -> Output {
    let mut args = vec![
        "device".to_string(),
        "verify".into(),
        "--trust".into(),
        p(dir, "dev/root.cert.pem"),
        "--chain".into(),
        p(dir, "dev/BP7-000001.chain.pem"),
        "--now".into(),
        "1790000010".into(),
        p(dir, reading),
    ];
    args.extend(challenge.iter().map(|s| s.to_string()));
    veil(&args.iter().map(String::as_str).collect::<Vec<_>>())
}

/// SHA-256(uncompressed point of the PEM public key || salt), computed here without veil-trust.
fn expected_challenge(pub_pem: &Path, salt_hex: &str) -> String {
    let key =
        veil_seal::verifying_key_from_pem(&std::fs::read_to_string(pub_pem).unwrap()).unwrap();
    let point = key.to_encoded_point(false);
    let mut h = Sha256::new();
    h.update(point.as_bytes());
    h.update(hex::decode(salt_hex).unwrap());
    hex::encode(h.finalize())
}

#[test]
fn a_reading_signed_for_one_client_verifies_for_it_and_no_other() {
    let dir = scratch("verify");
    setup(&dir);
    let a_pub = p(&dir, "a/client.pub.pem");
    let b_pub = p(&dir, "b/client.pub.pem");
    ok(sign(
        &dir,
        "r.cose",
        &["--client-pub", &a_pub, "--challenge-salt", SALT],
    ));
    let verified = ok(verify(
        &dir,
        "r.cose",
        &["--client-pub", &a_pub, "--challenge-salt", SALT],
    ));
    assert_eq!(verified["status"], "verified");
    let want = expected_challenge(&dir.join("a/client.pub.pem"), SALT);
    assert_eq!(verified["nonce"], want);
    // The same challenge given as a plain nonce.
    ok(verify(&dir, "r.cose", &["--nonce", &want]));
    // Another client, or another salt: not the challenge this reading answers.
    let other = verify(
        &dir,
        "r.cose",
        &["--client-pub", &b_pub, "--challenge-salt", SALT],
    );
    fails(&other, 1, "nonce-mismatch");
    let verdict: serde_json::Value = serde_json::from_slice(&other.stdout).unwrap();
    assert_eq!(verdict["reason"], "nonce-mismatch");
    let salt2 = "ff".repeat(32);
    fails(
        &verify(
            &dir,
            "r.cose",
            &["--client-pub", &a_pub, "--challenge-salt", &salt2],
        ),
        1,
        "nonce-mismatch",
    );
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn the_salt_travels_beside_its_reading_into_the_manifest() {
    let dir = scratch("seal");
    setup(&dir);
    let a_pub = p(&dir, "a/client.pub.pem");
    ok(sign(
        &dir,
        "r.cose",
        &["--client-pub", &a_pub, "--challenge-salt", SALT],
    ));
    std::fs::write(dir.join("note.txt"), "x").unwrap();
    let seal = |extra: &[&str]| {
        let mut args = vec![
            "seal".to_string(),
            "--recipient".into(),
            p(&dir, "a/recipient.pub.pem"),
            "--client-key".into(),
            p(&dir, "a/client.pem"),
            "--purpose".into(),
            "treatment".into(),
            "--pseudonym-secret".into(),
            p(&dir, "a/pseudonym.secret"),
            "-o".into(),
            p(&dir, "a.veil"),
            "--evidence".into(),
            p(&dir, "r.cose"),
            "--evidence-chain".into(),
            p(&dir, "dev/BP7-000001.chain.pem"),
        ];
        args.extend(extra.iter().map(|s| s.to_string()));
        args.push(p(&dir, "note.txt"));
        veil(&args.iter().map(String::as_str).collect::<Vec<_>>())
    };
    ok(seal(&["--evidence-salt", SALT]));
    let opened = ok(veil(&[
        "open",
        "--key",
        &p(&dir, "a/recipient.pem"),
        "--client-pub",
        &a_pub,
        &p(&dir, "a.veil"),
    ]));
    let evidence = &opened["device_evidence"][0];
    assert_eq!(evidence["challenge_salt"], SALT);
    // What a recipient checks: the reading answers SHA-256(manifest client_key || salt).
    let key = hex::decode(opened["client_key"].as_str().unwrap()).unwrap();
    let mut h = Sha256::new();
    h.update(&key);
    h.update(hex::decode(SALT).unwrap());
    assert_eq!(
        hex::encode(h.finalize()),
        expected_challenge(&dir.join("a/client.pub.pem"), SALT)
    );
    // Without a salt the entry has no challenge_salt at all.
    ok(seal(&[]));
    let opened = ok(veil(&[
        "open",
        "--key",
        &p(&dir, "a/recipient.pem"),
        &p(&dir, "a.veil"),
    ]));
    assert!(opened["device_evidence"][0].get("challenge_salt").is_none());
    // A salt that is not 32 bytes, or more salts than readings: usage errors, nothing written.
    std::fs::remove_file(dir.join("a.veil")).unwrap();
    fails(&seal(&["--evidence-salt", "abcd"]), 2, "usage");
    fails(
        &seal(&["--evidence-salt", SALT, "--evidence-salt", SALT]),
        2,
        "usage",
    );
    assert!(!dir.join("a.veil").exists());
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn a_challenge_is_either_a_nonce_or_a_client_and_salt() {
    let dir = scratch("usage");
    setup(&dir);
    let a_pub = p(&dir, "a/client.pub.pem");
    let nonce = "ab".repeat(32);
    for challenge in [
        vec![],
        vec!["--client-pub", a_pub.as_str()],
        vec!["--challenge-salt", SALT],
        vec![
            "--nonce",
            nonce.as_str(),
            "--client-pub",
            a_pub.as_str(),
            "--challenge-salt",
            SALT,
        ],
        vec!["--client-pub", a_pub.as_str(), "--challenge-salt", "xyz"],
    ] {
        fails(&sign(&dir, "u.cose", &challenge), 2, "usage");
    }
    assert!(!dir.join("u.cose").exists());
    // A client key that is not a public key PEM is the key error it is.
    fails(
        &sign(
            &dir,
            "u.cose",
            &[
                "--client-pub",
                &p(&dir, "a/pseudonym.secret"),
                "--challenge-salt",
                SALT,
            ],
        ),
        1,
        "bad-key",
    );
    let _ = std::fs::remove_dir_all(&dir);
}
