//! Every subcommand family fails the same way: exactly one stderr line `veil: <code>: <message>`
//! with the code of what went wrong, exit 1 when the work failed or the input was refused, exit 2
//! for a usage error; and `veil --help` says so.
#![allow(missing_docs, clippy::unwrap_used, clippy::expect_used)]

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

fn veil(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_veil"))
        .args(args)
        .output()
        .unwrap()
}

/// A fresh scratch directory for one test.
fn scratch(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("veil-failures-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

fn path(dir: &Path, name: &str) -> String {
    dir.join(name).display().to_string()
}

/// `out` ran successfully; its stdout.
fn ok(out: Output) -> String {
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(0), "{stderr}");
    String::from_utf8(out.stdout).unwrap()
}

/// `out` failed with exit `status` and stderr exactly one line `veil: <code>: <message>`, a
/// kebab-case code that is `code` and a non-empty message that does not end in `[code]`.
fn fails_with(out: &Output, status: i32, code: &str) {
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(status), "{stderr}");
    let line = stderr
        .strip_suffix('\n')
        .unwrap_or_else(|| panic!("stderr does not end in a newline: {stderr:?}"));
    assert!(!line.contains('\n'), "more than one line: {stderr:?}");
    let rest = line.strip_prefix("veil: ").expect(&stderr);
    let (got, message) = rest.split_once(": ").expect(&stderr);
    assert!(
        !got.is_empty()
            && got
                .bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-'),
        "not a code: {stderr:?}"
    );
    assert!(!message.trim().is_empty(), "no message: {stderr:?}");
    assert!(!message.ends_with(']'), "a [code] suffix: {stderr:?}");
    assert_eq!(got, code, "{stderr}");
}

#[test]
fn deid_of_a_file_that_is_not_a_model() {
    let dir = scratch("deid");
    let notes = path(&dir, "notes.txt");
    std::fs::write(&notes, b"not a model, a note about a patient").unwrap();
    let out = veil(&["deid", &notes, "-o", &path(&dir, "out.stl")]);
    fails_with(&out, 1, "unknown-format");
    assert!(!dir.join("out.stl").exists());
    // Flags that cannot go together are a usage error: exit 2, same shape.
    let out = veil(&[
        "deid",
        &notes,
        &notes,
        "-o",
        &path(&dir, "out"),
        "--report",
        &path(&dir, "r.json"),
    ]);
    fails_with(&out, 2, "usage");
    std::fs::remove_dir_all(&dir).ok();
}

#[test]
fn device_verify_of_a_tampered_reading_prints_its_verdict_and_fails_with_its_reason() {
    let dir = scratch("device");
    let pki = path(&dir, "pki");
    ok(veil(&[
        "device",
        "provision",
        "--out",
        &pki,
        "--manufacturer",
        "Acme",
        "--now",
        "1790000000",
    ]));
    let key = path(&dir, "pki/DEV-000001.key.pem");
    let cert = path(&dir, "pki/DEV-000001.cert.pem");
    let reading = path(&dir, "r.cose");
    let sign = |nonce: &str| {
        veil(&[
            "device",
            "sign",
            "--key",
            &key,
            "--cert",
            &cert,
            "--counter",
            "1",
            "--nonce",
            nonce,
            "--measurement",
            "bp:120/80/93",
            "--ts",
            "1790000000",
            "-o",
            &reading,
        ])
    };
    ok(sign("00112233"));
    // The last byte is the signature's: the reading no longer verifies.
    let mut bytes = std::fs::read(&reading).unwrap();
    *bytes.last_mut().unwrap() ^= 1;
    std::fs::write(&reading, bytes).unwrap();
    let out = veil(&[
        "device",
        "verify",
        "--trust",
        &path(&dir, "pki/root.cert.pem"),
        "--chain",
        &path(&dir, "pki/DEV-000001.chain.pem"),
        &reading,
        "--now",
        "1790000000",
    ]);
    fails_with(&out, 1, "bad-signature");
    let verdict: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(verdict["status"], "rejected");
    assert_eq!(verdict["reason"], "bad-signature");
    // A nonce that is not hex is a usage error.
    fails_with(&sign("not-hex"), 2, "usage");
    std::fs::remove_dir_all(&dir).ok();
}

#[test]
fn consent_decide_with_an_unknown_jurisdiction() {
    let out = veil(&[
        "consent",
        "decide",
        "--jurisdiction",
        "ZZ",
        "--age",
        "34",
        "--purpose",
        "treatment",
    ]);
    fails_with(&out, 1, "unknown-jurisdiction");
    assert!(out.stdout.is_empty());
}

#[test]
fn seal_of_a_missing_file_and_open_with_a_wrong_key() {
    let dir = scratch("seal");
    let (keys, other) = (path(&dir, "keys"), path(&dir, "other"));
    ok(veil(&["seal", "--generate-keys", &keys]));
    ok(veil(&["seal", "--generate-keys", &other]));
    let payload = path(&dir, "reading.json");
    std::fs::write(&payload, br#"{"spo2": 97}"#).unwrap();
    let artifact = path(&dir, "a.veil");
    let seal = |file: &str| {
        veil(&[
            "seal",
            "--recipient",
            &path(&dir, "keys/recipient.pub.pem"),
            "--client-key",
            &path(&dir, "keys/client.pem"),
            "--purpose",
            "treatment",
            "--pseudonym-secret",
            &path(&dir, "keys/pseudonym.secret"),
            "-o",
            &artifact,
            file,
        ])
    };
    fails_with(&seal(&path(&dir, "missing.json")), 1, "io");
    assert!(!Path::new(&artifact).exists());
    ok(seal(&payload));
    let out = veil(&[
        "open",
        "--key",
        &path(&dir, "other/recipient.pem"),
        &artifact,
        "-o",
        &path(&dir, "opened"),
    ]);
    fails_with(&out, 1, "wrong-recipient");
    assert!(!dir.join("opened").exists());
    std::fs::remove_dir_all(&dir).ok();
}

#[test]
fn help_documents_the_exit_codes_and_the_stderr_line() {
    let help = ok(veil(&["--help"]));
    assert!(help.contains("Exit status:"), "{help}");
    for status in ["  0  ", "  1  ", "  2  "] {
        assert!(help.contains(status), "exit code {status:?} in {help}");
    }
    assert!(help.contains("veil: <code>: <message>"), "{help}");
    // The short help too.
    assert!(ok(veil(&["-h"])).contains("Exit status:"));
}
