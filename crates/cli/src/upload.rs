//! `veil upload`: the batch client of a Veil ingest server (clinics' batch uploads, and the tests'
//! real client of `veil serve`).
//!
//! `veil upload --server URL --client-key KEY.pem [--invite CODE] [--name NAME] FILES...`
//!
//! 1. Every file is hashed first: its artifact id is the SHA-256 of its bytes. A file that cannot
//!    be read, or a key that cannot be loaded, fails the command (`io`, the PEM's code) before
//!    anything is sent.
//! 2. With `--invite`, the client key is enrolled (`POST /v1/enrolments`, `docs/ingest.md`): the
//!    body carries the code, the key, a timestamp and a fresh nonce, and is signed with the key
//!    itself (ES256 over the exact body bytes, base64url `r || s` in `Veil-Signature`: proof of
//!    possession). `enrolled` (201) and `already-enrolled` (200) both go on to the uploads; a
//!    refusal (`invite-invalid`, `client-revoked`, ...) is every file's `rejected` answer.
//! 3. Each file goes to `POST /v1/artifacts` with its id as `Idempotency-Key`, streamed from disk,
//!    so a retry, or running the same batch again, never stores anything twice.
//!
//! What may pass on its own is retried, at most [`MAX_ATTEMPTS`] times in all: no answer (the
//! connection failed, was cut or timed out), 408, 429 and 5xx. A `Retry-After` in seconds is
//! honoured up to [`MAX_RETRY_AFTER`]; a longer one (a used-up storage quota asks for an hour) is
//! not waited for: the file is `failed` at once. Otherwise the waits double from [`FIRST_WAIT`]
//! up to [`MAX_WAIT`], with jitter so a room of kiosks does not retry in step. Every other answer
//! is final: `rejected` with the server's `error` code. Redirects are not followed (an envelope
//! is only ever sent to the URL given).
//!
//! Stdout gets one JSON line per file, in order, as each is settled:
//! `{"file": "...", "id": "<64 hex>", "status": "created|exists|rejected|failed", "error": "<code>"?}`.
//! Once a file is `failed` (the server is unreachable, overloaded or the client over its quota)
//! the rest are not tried and are reported `failed` with the same code; running the batch again
//! later is safe. The exit status is 0 only if every file is `created` or `exists`, else 1 with
//! one `veil: batch-failed: ...` line on stderr; 2 for usage errors. The key is never printed.

use std::fs::File;
use std::io::Read;
use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use base64::Engine;
use clap::Args;
use p256::ecdsa::signature::Signer;
use p256::ecdsa::{Signature, SigningKey};
use reqwest::StatusCode;
use reqwest::blocking::{Body, Client, RequestBuilder, Response};
use reqwest::header::{CONTENT_TYPE, RETRY_AFTER};
use serde::Serialize;
use sha2::{Digest, Sha256};

use crate::failure::{self, Failure};

/// The most requests one file (or the enrolment) is sent in, retries included.
pub const MAX_ATTEMPTS: u32 = 5;
/// The wait before the first retry when the server gives no `Retry-After`.
pub const FIRST_WAIT: Duration = Duration::from_millis(500);
/// The longest wait between two attempts without a `Retry-After`.
pub const MAX_WAIT: Duration = Duration::from_secs(8);
/// The longest `Retry-After` waited for; a longer one ends the file as `failed` at once.
pub const MAX_RETRY_AFTER: Duration = Duration::from_secs(60);
/// How long connecting may take.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);
/// How long one request may take in all, body included (an upload of the server's default 64 MiB
/// limit at ~1 Mbit/s).
const REQUEST_TIMEOUT: Duration = Duration::from_secs(600);
/// `POST /v1/enrolments`'s `format`.
const ENROLMENT_FORMAT: &str = "veil-enrolment-v1";
/// Random bytes in an enrolment's nonce (the contract allows 16..64).
const NONCE_BYTES: usize = 32;
/// The header carrying the ES256 signature of a signed JSON body.
const VEIL_SIGNATURE: &str = "veil-signature";
/// The header carrying an upload's artifact id.
const IDEMPOTENCY_KEY: &str = "idempotency-key";
/// Most bytes of an answer's body read (the API's JSON answers are small).
const MAX_ANSWER: u64 = 64 * 1024;

/// Arguments of `veil upload`.
#[derive(Debug, Args)]
pub struct UploadArgs {
    /// The ingest server's base URL (`https://ingest.example.org`, or `http://127.0.0.1:8080`).
    #[arg(long, value_name = "URL")]
    server: String,
    /// The client's ES256 signing key (PEM PKCS#8 `PRIVATE KEY` or SEC1 `EC PRIVATE KEY`), the
    /// key that signed the artifacts. It is never printed.
    #[arg(long, value_name = "KEY.pem")]
    client_key: PathBuf,
    /// Enrol the client key first with this invitation code (`veil admin invite`).
    #[arg(long, value_name = "CODE")]
    invite: Option<String>,
    /// The name the client enrols under (a kiosk, a clinic's batch job).
    #[arg(long, value_name = "NAME", requires = "invite")]
    name: Option<String>,
    /// The sealed envelopes (`veil seal` output) to upload.
    #[arg(value_name = "FILES", required = true)]
    files: Vec<PathBuf>,
}

/// What became of one file.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
enum Status {
    /// Stored now (201).
    Created,
    /// Already stored (200): by an earlier run, or another client with the same bytes.
    Exists,
    /// Refused with a final answer: the server's code.
    Rejected,
    /// Not stored after the retries (or untried after an earlier failure): the last code.
    Failed,
}

/// One stdout line.
#[derive(Debug, Serialize)]
struct FileLine<'a> {
    file: &'a str,
    id: &'a str,
    status: Status,
    #[serde(skip_serializing_if = "Option::is_none")]
    error: Option<&'a str>,
}

/// A file to upload: its path as given and its artifact id.
struct Upload {
    path: PathBuf,
    id: String,
    len: u64,
}

/// What one request came to, after any retries.
#[derive(Debug, PartialEq, Eq)]
enum Reply {
    /// A 2xx answer: its status and JSON body (`Null` if it had none).
    Done(u16, serde_json::Value),
    /// A final refusal: the server's code.
    Refused(String),
    /// Retries exhausted, or a wait longer than allowed asked for: the last code.
    GaveUp(String),
}

/// How one attempt's answer is handled.
#[derive(Debug, PartialEq, Eq)]
enum Attempt {
    /// Final, successful or not.
    Final(Reply),
    /// Worth another attempt: the code so far and the server's `Retry-After`, if it sent one.
    Retry {
        code: String,
        retry_after: Option<Duration>,
    },
}

/// Run `veil upload`.
pub fn run(args: UploadArgs) -> Result<(), Failure> {
    let server = server_url(&args.server)?;
    let key_pem =
        std::fs::read_to_string(&args.client_key).map_err(|e| Failure::io(&args.client_key, &e))?;
    let key = veil_seal::signing_key_from_pem(&key_pem)
        .map_err(|e| Failure::from(e).context(args.client_key.display()))?;
    drop(key_pem);
    let uploads = args
        .files
        .into_iter()
        .map(|path| {
            let (id, len) = hash_file(&path)?;
            Ok(Upload { path, id, len })
        })
        .collect::<Result<Vec<_>, Failure>>()?;
    let client = Client::builder()
        .connect_timeout(CONNECT_TIMEOUT)
        .timeout(REQUEST_TIMEOUT)
        .redirect(reqwest::redirect::Policy::none())
        .user_agent(concat!("veil/", env!("CARGO_PKG_VERSION")))
        .build()
        .map_err(|e| Failure::new(failure::IO, format!("cannot set up the HTTP client: {e}")))?;

    // A refused or failed enrolment is every file's answer: nothing is sent.
    let mut settled: Option<(Status, String)> = None;
    let mut enrolment_note = String::new();
    if let Some(code) = &args.invite {
        let body = enrolment_body(&key, code, args.name.as_deref())?;
        let signature = sign_body(&key, &body);
        let url = format!("{server}/v1/enrolments");
        let reply = send(|| {
            client
                .post(&url)
                .header(CONTENT_TYPE, "application/json")
                .header(VEIL_SIGNATURE, signature.as_str())
                .body(body.clone())
        });
        match reply {
            Reply::Done(..) => {}
            Reply::Refused(code) => {
                enrolment_note = format!(" (the enrolment was refused: {code})");
                settled = Some((Status::Rejected, code));
            }
            Reply::GaveUp(code) => {
                enrolment_note = format!(" (the enrolment failed: {code})");
                settled = Some((Status::Failed, code));
            }
        }
    }

    let url = format!("{server}/v1/artifacts");
    let mut not_stored = 0usize;
    for upload in &uploads {
        let (status, error) = match &settled {
            Some((status, code)) => (*status, Some(code.clone())),
            None => upload_one(&client, &url, upload),
        };
        if status == Status::Failed && settled.is_none() {
            settled = error.clone().map(|code| (Status::Failed, code));
        }
        if matches!(status, Status::Rejected | Status::Failed) {
            not_stored += 1;
        }
        let file = upload.path.display().to_string();
        let line = FileLine {
            file: &file,
            id: &upload.id,
            status,
            error: error.as_deref(),
        };
        let json = serde_json::to_string(&line)
            .map_err(|e| Failure::new(failure::IO, format!("cannot encode a line: {e}")))?;
        crate::print_line(json)?;
    }
    if not_stored == 0 {
        Ok(())
    } else {
        Err(Failure::new(
            failure::BATCH_FAILED,
            format!(
                "{not_stored} of {} files were not stored{enrolment_note}; each one's code is in its JSON line",
                uploads.len()
            ),
        ))
    }
}

/// `--server` without a trailing `/`: an `http` or `https` URL with a host, no query or fragment.
fn server_url(text: &str) -> Result<String, Failure> {
    let trimmed = text.trim().trim_end_matches('/');
    let url = reqwest::Url::parse(trimmed)
        .map_err(|e| Failure::usage(format!("--server {text:?} is not a URL: {e}")))?;
    if !matches!(url.scheme(), "http" | "https") || !url.has_host() {
        return Err(Failure::usage(format!(
            "--server {text:?} must be an http:// or https:// URL with a host"
        )));
    }
    if url.query().is_some() || url.fragment().is_some() {
        return Err(Failure::usage(format!(
            "--server {text:?} must not have a query or fragment"
        )));
    }
    Ok(trimmed.to_string())
}

/// The lowercase hex SHA-256 of a file and its length, read in blocks.
fn hash_file(path: &Path) -> Result<(String, u64), Failure> {
    let mut file = File::open(path).map_err(|e| Failure::io(path, &e))?;
    let mut hasher = Sha256::new();
    let mut buf = vec![0u8; 64 * 1024];
    let mut len = 0u64;
    loop {
        let n = file.read(&mut buf).map_err(|e| Failure::io(path, &e))?;
        if n == 0 {
            break;
        }
        hasher.update(&buf[..n]);
        len = len.saturating_add(n as u64);
    }
    Ok((hex::encode(hasher.finalize()), len))
}

/// `POST /v1/enrolments`'s body, fields in the contract's order.
#[derive(Debug, Serialize)]
struct EnrolmentRequest<'a> {
    format: &'a str,
    code: &'a str,
    client_key: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    name: Option<&'a str>,
    timestamp_ms: u64,
    nonce: String,
}

/// The enrolment body for `key` with invitation `code`: a fresh nonce and the time now.
fn enrolment_body(key: &SigningKey, code: &str, name: Option<&str>) -> Result<Vec<u8>, Failure> {
    let mut nonce = [0u8; NONCE_BYTES];
    getrandom::getrandom(&mut nonce).map_err(|e| veil_seal::SealError::RngFailed(e.to_string()))?;
    let timestamp_ms = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX));
    let request = EnrolmentRequest {
        format: ENROLMENT_FORMAT,
        code: code.trim(),
        client_key: hex::encode(key.verifying_key().to_encoded_point(false).as_bytes()),
        name,
        timestamp_ms,
        nonce: hex::encode(nonce),
    };
    serde_json::to_vec(&request)
        .map_err(|e| Failure::new(failure::IO, format!("cannot encode the enrolment: {e}")))
}

/// base64url (no padding) of the ES256 signature `r || s` of `body` under `key`.
fn sign_body(key: &SigningKey, body: &[u8]) -> String {
    let signature: Signature = key.sign(body);
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(signature.to_bytes())
}

/// Upload one file; its status and code.
fn upload_one(client: &Client, url: &str, upload: &Upload) -> (Status, Option<String>) {
    let mut unreadable = None;
    let reply = send(|| {
        let request = client
            .post(url)
            .header(CONTENT_TYPE, "application/octet-stream")
            .header(IDEMPOTENCY_KEY, upload.id.as_str());
        // Reopened for every attempt: the body is streamed from disk, never held in memory.
        match File::open(&upload.path) {
            Ok(file) => request.body(Body::sized(file, upload.len)),
            Err(e) => {
                unreadable = Some(e);
                request
            }
        }
    });
    if unreadable.is_some() {
        return (Status::Failed, Some(failure::IO.to_string()));
    }
    match reply {
        Reply::Done(201, _) => (Status::Created, None),
        Reply::Done(200, _) => (Status::Exists, None),
        Reply::Done(..) => (Status::Rejected, Some(failure::BAD_RESPONSE.to_string())),
        Reply::Refused(code) => (Status::Rejected, Some(code)),
        Reply::GaveUp(code) => (Status::Failed, Some(code)),
    }
}

/// Send the request `build` makes, retrying what is retryable (a fresh request each attempt).
fn send(mut build: impl FnMut() -> RequestBuilder) -> Reply {
    let mut attempt = 1;
    loop {
        let answer = match build().send() {
            Ok(response) => judge(response),
            Err(e) => transport_failure(&e),
        };
        let (code, retry_after) = match answer {
            Attempt::Final(reply) => return reply,
            Attempt::Retry { code, retry_after } => (code, retry_after),
        };
        if attempt >= MAX_ATTEMPTS {
            return Reply::GaveUp(code);
        }
        let wait = match retry_after {
            Some(wait) if wait > MAX_RETRY_AFTER => return Reply::GaveUp(code),
            Some(wait) => wait,
            None => backoff(attempt, jitter()),
        };
        std::thread::sleep(wait);
        attempt += 1;
    }
}

/// A request that got no answer: the connection failed, broke or timed out (retryable), or the
/// request could not even be built (final).
fn transport_failure(e: &reqwest::Error) -> Attempt {
    if e.is_builder() {
        return Attempt::Final(Reply::Refused(failure::BAD_RESPONSE.to_string()));
    }
    Attempt::Retry {
        code: failure::UNREACHABLE.to_string(),
        retry_after: None,
    }
}

/// Read an answer (its body bounded) and judge it.
fn judge(response: Response) -> Attempt {
    let status = response.status();
    let retry_after = response
        .headers()
        .get(RETRY_AFTER)
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned);
    let mut body = Vec::new();
    if response.take(MAX_ANSWER).read_to_end(&mut body).is_err() && status.is_success() {
        // The answer broke off: whether the request took effect is unknown, and asking again
        // is safe (uploads are idempotent, an enrolment is answered `already-enrolled`).
        return Attempt::Retry {
            code: failure::UNREACHABLE.to_string(),
            retry_after: None,
        };
    }
    classify(status, retry_after.as_deref(), &body)
}

/// The verdict on one answer: 2xx is done; 408, 429 and 5xx are worth retrying (after
/// `Retry-After` seconds if given); anything else is a final refusal with the server's `error`
/// code, or [`failure::BAD_RESPONSE`] when the answer is not the API's JSON.
fn classify(status: StatusCode, retry_after: Option<&str>, body: &[u8]) -> Attempt {
    let json: serde_json::Value = serde_json::from_slice(body).unwrap_or(serde_json::Value::Null);
    if status.is_success() {
        return Attempt::Final(Reply::Done(status.as_u16(), json));
    }
    let code = json
        .get("error")
        .and_then(serde_json::Value::as_str)
        .filter(|c| veil_core::is_code(c))
        .unwrap_or(failure::BAD_RESPONSE)
        .to_string();
    let retryable = status == StatusCode::REQUEST_TIMEOUT
        || status == StatusCode::TOO_MANY_REQUESTS
        || status.is_server_error();
    if retryable {
        let retry_after = retry_after
            .and_then(|v| v.trim().parse::<u64>().ok())
            .map(Duration::from_secs);
        Attempt::Retry { code, retry_after }
    } else {
        Attempt::Final(Reply::Refused(code))
    }
}

/// The wait after failed attempt `attempt` (1-based) without a `Retry-After`: [`FIRST_WAIT`]
/// doubled per attempt up to [`MAX_WAIT`], of which `jitter` (0..=1) takes up to half off.
fn backoff(attempt: u32, jitter: f64) -> Duration {
    let doubled = FIRST_WAIT.saturating_mul(1u32 << attempt.saturating_sub(1).min(16));
    let full = doubled.min(MAX_WAIT);
    full.mul_f64(1.0 - jitter.clamp(0.0, 1.0) / 2.0)
}

/// A uniform number in 0..=1 from the OS's randomness (0 if it has none: no jitter).
fn jitter() -> f64 {
    let mut b = [0u8; 2];
    match getrandom::getrandom(&mut b) {
        Ok(()) => f64::from(u16::from_le_bytes(b)) / f64::from(u16::MAX),
        Err(_) => 0.0,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn retry(code: &str, after: Option<u64>) -> Attempt {
        Attempt::Retry {
            code: code.into(),
            retry_after: after.map(Duration::from_secs),
        }
    }

    #[test]
    fn answers_are_done_retried_or_final() {
        let json = |code: &str| format!(r#"{{"error":"{code}","detail":"x"}}"#).into_bytes();
        let done = classify(StatusCode::CREATED, None, br#"{"status":"created"}"#);
        assert_eq!(
            done,
            Attempt::Final(Reply::Done(201, serde_json::json!({"status": "created"})))
        );
        assert_eq!(
            classify(
                StatusCode::TOO_MANY_REQUESTS,
                Some("7"),
                &json("rate-limited")
            ),
            retry("rate-limited", Some(7))
        );
        assert_eq!(
            classify(StatusCode::SERVICE_UNAVAILABLE, None, &json("busy")),
            retry("busy", None)
        );
        assert_eq!(
            classify(StatusCode::REQUEST_TIMEOUT, None, &json("timeout")),
            retry("timeout", None)
        );
        // An HTTP-date Retry-After is not read: the backoff applies.
        assert_eq!(
            classify(
                StatusCode::BAD_GATEWAY,
                Some("Wed, 21 Oct 2026 07:28:00 GMT"),
                b"<html>bad gateway</html>"
            ),
            retry("bad-response", None)
        );
        assert_eq!(
            classify(StatusCode::UNAUTHORIZED, None, &json("unknown-client")),
            Attempt::Final(Reply::Refused("unknown-client".into()))
        );
        assert_eq!(
            classify(StatusCode::FORBIDDEN, None, &json("invite-invalid")),
            Attempt::Final(Reply::Refused("invite-invalid".into()))
        );
        // A redirect is not followed, and a code that is not a code is not repeated.
        assert_eq!(
            classify(StatusCode::FOUND, None, b""),
            Attempt::Final(Reply::Refused("bad-response".into()))
        );
        assert_eq!(
            classify(StatusCode::BAD_REQUEST, None, &json("Not A Code\n")),
            Attempt::Final(Reply::Refused("bad-response".into()))
        );
    }

    #[test]
    fn waits_double_up_to_the_cap_and_jitter_takes_at_most_half() {
        assert_eq!(backoff(1, 0.0), FIRST_WAIT);
        assert_eq!(backoff(2, 0.0), FIRST_WAIT * 2);
        assert_eq!(backoff(3, 1.0), FIRST_WAIT * 2);
        assert_eq!(backoff(30, 0.0), MAX_WAIT);
        assert_eq!(backoff(u32::MAX, 0.0), MAX_WAIT);
        assert_eq!(backoff(1, 7.0), FIRST_WAIT / 2);
        let total: Duration = (1..MAX_ATTEMPTS).map(|a| backoff(a, 0.0)).sum();
        assert!(total <= Duration::from_secs(8), "{total:?}");
    }

    #[test]
    fn the_server_url_is_http_or_https_with_a_host() {
        assert_eq!(
            server_url("http://127.0.0.1:8080/").unwrap(),
            "http://127.0.0.1:8080"
        );
        assert_eq!(
            server_url(" https://ingest.example.org/veil ").unwrap(),
            "https://ingest.example.org/veil"
        );
        for bad in [
            "ftp://x",
            "127.0.0.1:8080",
            "",
            "http://x/?a=1",
            "file:///tmp",
        ] {
            assert_eq!(server_url(bad).unwrap_err().code(), failure::USAGE, "{bad}");
        }
    }

    #[test]
    fn the_enrolment_body_is_signed_over_its_exact_bytes() {
        use p256::ecdsa::signature::Verifier;
        let key = SigningKey::from_slice(&[7u8; 32]).unwrap();
        let body = enrolment_body(&key, " ABCD-EFGH-JKMN-PQRS-TVWX ", Some("kiosk 3")).unwrap();
        let json: serde_json::Value = serde_json::from_slice(&body).unwrap();
        assert_eq!(json["format"], "veil-enrolment-v1");
        assert_eq!(json["code"], "ABCD-EFGH-JKMN-PQRS-TVWX");
        assert_eq!(json["name"], "kiosk 3");
        let sec1 = key.verifying_key().to_encoded_point(false);
        assert_eq!(json["client_key"], hex::encode(sec1.as_bytes()));
        assert_eq!(json["nonce"].as_str().unwrap().len(), 2 * NONCE_BYTES);
        assert!(json["timestamp_ms"].as_u64().unwrap() > 1_700_000_000_000);
        let text = std::str::from_utf8(&body).unwrap();
        assert!(
            text.starts_with(r#"{"format":"veil-enrolment-v1","code":"#),
            "{text}"
        );
        let without_name = enrolment_body(&key, "X", None).unwrap();
        assert!(!String::from_utf8(without_name).unwrap().contains("name"));

        let raw = base64::engine::general_purpose::URL_SAFE_NO_PAD
            .decode(sign_body(&key, &body))
            .unwrap();
        let signature = Signature::from_slice(&raw).unwrap();
        assert!(key.verifying_key().verify(&body, &signature).is_ok());
        let mut other = body.clone();
        other.push(b' ');
        assert!(key.verifying_key().verify(&other, &signature).is_err());
    }
}
