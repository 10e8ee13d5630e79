//! `veil upload` against a real `veil serve` process: an invited client enrols and uploads, a
//! second run finds its files stored, a corrupted file, an unknown key and a bad invitation are
//! refused with the server's code, a server that is down fails after the retries; one JSON line
//! per file, exit 0 only if every file is stored, never the key on any output.
#![allow(missing_docs, clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::io::{Read, Write};
use std::time::{Duration, Instant};

use common::*;

/// The JSON lines of `out`, checked against `expected` (file, status, error code or none); each
/// line's id is the file's SHA-256 and it has no other fields.
fn assert_lines(out: &std::process::Output, expected: &[(&str, &str, Option<&str>)]) {
    let lines = json_lines(&out.stdout);
    assert_eq!(
        lines.len(),
        expected.len(),
        "{lines:?} stderr: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    for (line, (file, status, error)) in lines.iter().zip(expected) {
        let mut fields: Vec<&String> = line.as_object().unwrap().keys().collect();
        fields.sort_unstable();
        let want: &[&str] = if error.is_some() {
            &["error", "file", "id", "status"]
        } else {
            &["file", "id", "status"]
        };
        assert_eq!(fields, want, "{line}");
        assert_eq!(line["file"], *file, "{line}");
        assert_eq!(line["id"], id_of(file), "{line}");
        assert_eq!(line["status"], *status, "{line}");
        assert_eq!(line["error"].as_str(), *error, "{line}");
    }
}

/// Neither output shows any part of the client key file.
fn never_shows_the_key(out: &std::process::Output, keys: &Keys) {
    let pem = std::fs::read_to_string(keys.dir.join("client.pem")).unwrap();
    let all = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    for line in pem.lines().filter(|l| !l.starts_with("-----")) {
        assert!(!all.contains(line.trim()), "the key leaked: {all}");
    }
}

#[test]
fn an_invited_client_uploads_once_and_a_second_run_finds_its_files_stored() {
    let server = Server::start("upload-twice");
    let invite = server.invite(&["--name", "batch job"]);
    let code = invite["code"].as_str().unwrap();
    let a = server.seal(&server.keys, "a.veil", "letter a");
    let b = server.seal(&server.keys, "b.veil", "letter b");

    let first = server.upload(
        &server.keys,
        &["--invite", code, "--name", "kiosk 3", &a, &b],
    );
    assert_eq!(first.status.code(), Some(0));
    assert!(first.stderr.is_empty(), "{first:?}");
    assert_lines(&first, &[(&a, "created", None), (&b, "created", None)]);
    never_shows_the_key(&first, &server.keys);

    // Enrolled now: no invitation needed, and nothing is stored twice.
    let again = server.upload(&server.keys, &[&b, &a]);
    assert_eq!(again.status.code(), Some(0));
    assert_lines(&again, &[(&b, "exists", None), (&a, "exists", None)]);
    let c = server.seal(&server.keys, "c.veil", "letter c");
    let more = server.upload(&server.keys, &[&c]);
    assert_lines(&more, &[(&c, "created", None)]);
}

#[test]
fn a_corrupted_file_is_rejected_and_the_other_files_still_go() {
    let server = Server::start("upload-corrupt");
    let code = server.invite(&[])["code"].as_str().unwrap().to_owned();
    let good = server.seal(&server.keys, "good.veil", "a good letter");
    let bad = server.seal(&server.keys, "bad.veil", "a letter damaged on the way");
    let mut bytes = std::fs::read(&bad).unwrap();
    let last = bytes.len() - 1;
    bytes[last] ^= 0x01; // the AES-GCM tag
    std::fs::write(&bad, &bytes).unwrap();

    let out = server.upload(&server.keys, &["--invite", &code, &bad, &good]);
    fails_with(&out, 1, "batch-failed");
    assert_lines(
        &out,
        &[
            (&bad, "rejected", Some("decrypt-failed")),
            (&good, "created", None),
        ],
    );
    never_shows_the_key(&out, &server.keys);
}

#[test]
fn an_unknown_key_without_an_invitation_is_refused() {
    let server = Server::start("upload-unknown");
    let stranger = Keys::generate(server.dir.join("stranger"));
    let a = server.seal(&stranger, "a.veil", "from a key nobody enrolled");
    let out = server.upload(&stranger, &[&a]);
    fails_with(&out, 1, "batch-failed");
    assert_lines(&out, &[(&a, "rejected", Some("unknown-client"))]);
}

#[test]
fn a_bad_invitation_is_every_files_refusal_and_enrols_nothing() {
    let server = Server::start("upload-bad-invite");
    let _real = server.invite(&[]);
    let a = server.seal(&server.keys, "a.veil", "letter a");
    let b = server.seal(&server.keys, "b.veil", "letter b");
    let out = server.upload(
        &server.keys,
        &["--invite", "ABCD-EFGH-JKMN-PQRS-TVWX", &a, &b],
    );
    fails_with(&out, 1, "batch-failed");
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("invite-invalid"),
        "{out:?}"
    );
    assert_lines(
        &out,
        &[
            (&a, "rejected", Some("invite-invalid")),
            (&b, "rejected", Some("invite-invalid")),
        ],
    );
    let after = server.upload(&server.keys, &[&a]);
    assert_lines(&after, &[(&a, "rejected", Some("unknown-client"))]);
}

#[test]
fn a_server_that_is_down_fails_after_the_retries() {
    let dir = scratch("upload-down");
    let keys = Keys::generate(dir.join("keys"));
    let letter = dir.join("letter.pdf");
    std::fs::write(&letter, "a letter").unwrap();
    let (a, b) = (arg(&dir.join("a.veil")), arg(&dir.join("b.veil")));
    for out in [&a, &b] {
        ok(veil(&[
            "seal",
            "--recipient",
            &keys.file("recipient.pub.pem"),
            "--client-key",
            &keys.file("client.pem"),
            "--purpose",
            "treatment",
            "--pseudonym-secret",
            &keys.file("pseudonym.secret"),
            "-o",
            out,
            &arg(&letter),
        ]));
    }
    let url = dead_url();
    let started = Instant::now();
    let out = veil(&[
        "upload",
        "--server",
        &url,
        "--client-key",
        &keys.file("client.pem"),
        &a,
        &b,
    ]);
    let took = started.elapsed();
    fails_with(&out, 1, "batch-failed");
    // The first file is tried 5 times (waits of at least 0.25 + 0.5 + 1 + 2 s); the second is
    // not tried once the first has failed.
    assert_lines(
        &out,
        &[
            (&a, "failed", Some("unreachable")),
            (&b, "failed", Some("unreachable")),
        ],
    );
    assert!(took >= Duration::from_millis(3750), "{took:?}");
    assert!(took < Duration::from_secs(15), "{took:?}");
    std::fs::remove_dir_all(&dir).ok();
}

/// What a real server cannot be made to do on cue, from a loopback listener speaking plain
/// HTTP/1.1: answer 503 `busy` with `Retry-After: 1` twice, then 201. The upload waits as told and
/// succeeds on its third attempt, each attempt carrying the same `Idempotency-Key`.
#[test]
fn busy_answers_are_retried_after_their_retry_after() {
    let dir = scratch("upload-busy");
    let file = arg(&dir.join("a.veil"));
    std::fs::write(&file, b"bytes the stand-in server does not look at").unwrap();
    let keys = Keys::generate(dir.join("keys"));
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    let server = std::thread::spawn(move || {
        let mut keys_seen = Vec::new();
        for attempt in 0..3 {
            let (mut conn, _) = listener.accept().unwrap();
            conn.set_read_timeout(Some(Duration::from_secs(10)))
                .unwrap();
            let mut request = Vec::new();
            let mut buf = [0u8; 4096];
            // Headers, then the declared body.
            let (head, body_len) = loop {
                let n = conn.read(&mut buf).unwrap();
                assert!(n > 0, "the client closed early");
                request.extend_from_slice(&buf[..n]);
                if let Some(end) = request.windows(4).position(|w| w == b"\r\n\r\n") {
                    let head = String::from_utf8_lossy(&request[..end]).to_lowercase();
                    let len: usize = head
                        .lines()
                        .find_map(|l| l.strip_prefix("content-length:"))
                        .map(|v| v.trim().parse().unwrap())
                        .unwrap_or(0);
                    break (head, end + 4 + len);
                }
            };
            while request.len() < body_len {
                let n = conn.read(&mut buf).unwrap();
                assert!(n > 0);
                request.extend_from_slice(&buf[..n]);
            }
            keys_seen.push(
                head.lines()
                    .find_map(|l| l.strip_prefix("idempotency-key:"))
                    .unwrap()
                    .trim()
                    .to_owned(),
            );
            let answer = if attempt < 2 {
                let body = r#"{"error":"busy","detail":"too many uploads in progress"}"#;
                format!(
                    "HTTP/1.1 503 Service Unavailable\r\nRetry-After: 1\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
                    body.len()
                )
            } else {
                let body = r#"{"status":"created"}"#;
                format!(
                    "HTTP/1.1 201 Created\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
                    body.len()
                )
            };
            conn.write_all(answer.as_bytes()).unwrap();
        }
        keys_seen
    });
    let started = Instant::now();
    let out = veil(&[
        "upload",
        "--server",
        &url,
        "--client-key",
        &keys.file("client.pem"),
        &file,
    ]);
    let took = started.elapsed();
    assert_eq!(out.status.code(), Some(0), "{out:?}");
    assert_lines(&out, &[(&file, "created", None)]);
    assert!(took >= Duration::from_secs(2), "{took:?}");
    assert_eq!(server.join().unwrap(), vec![id_of(&file); 3]);
    std::fs::remove_dir_all(&dir).ok();
}

#[test]
fn usage_and_unreadable_inputs_fail_before_anything_is_sent() {
    let dir = scratch("upload-usage");
    let keys = Keys::generate(dir.join("keys"));
    let key = keys.file("client.pem");
    let url = dead_url();
    let present = arg(&dir.join("present.veil"));
    std::fs::write(&present, b"x").unwrap();

    // --name only goes with --invite; a server that is not an http(s) URL; no files.
    let out = veil(&[
        "upload",
        "--server",
        &url,
        "--client-key",
        &key,
        "--name",
        "x",
        &present,
    ]);
    assert_eq!(out.status.code(), Some(2), "{out:?}");
    fails_with(
        &veil(&[
            "upload",
            "--server",
            "ftp://example.org",
            "--client-key",
            &key,
            &present,
        ]),
        2,
        "usage",
    );
    let out = veil(&["upload", "--server", &url, "--client-key", &key]);
    assert_eq!(out.status.code(), Some(2), "{out:?}");

    // An unreadable file or key fails at once (no retries against the dead server): nothing sent.
    let started = Instant::now();
    let missing = arg(&dir.join("missing.veil"));
    let out = veil(&[
        "upload",
        "--server",
        &url,
        "--client-key",
        &key,
        &present,
        &missing,
    ]);
    fails_with(&out, 1, "io");
    assert!(out.stdout.is_empty());
    let fake_key = dir.join("fake.pem");
    std::fs::write(
        &fake_key,
        "-----BEGIN PRIVATE KEY-----\nU0VDUkVUU0VDUkVUU0VDUkVU\n-----END PRIVATE KEY-----\n",
    )
    .unwrap();
    let out = veil(&[
        "upload",
        "--server",
        &url,
        "--client-key",
        &arg(&fake_key),
        &present,
    ]);
    assert_eq!(out.status.code(), Some(1), "{out:?}");
    assert!(out.stdout.is_empty());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.starts_with("veil: ") && !stderr.contains("U0VDUkVU"),
        "{stderr}"
    );
    assert!(started.elapsed() < Duration::from_secs(3));
    std::fs::remove_dir_all(&dir).ok();
}
