//! `veil upload`: the batch client of a Veil ingest server (clinics' batch uploads, and the tests'
//! real client of `veil serve`).
//!
//! `veil upload --server URL --client-key KEY.pem [--invite CODE] [--name NAME] FILES...`
//!
//! 1. Every file is hashed first: its artifact id is the SHA-256 of its bytes. A file that cannot
//!    be read, or a key that cannot be loaded, fails the command (`io`, the PEM's code) before
//!    anything is sent.
//! 2. With `--invite`, the client key is enrolled (`POST /v1/enrolments`, `docs/ingest.md`) with
//!    the app's own request and answer reading (`veil_outbox::enrolment`): the body carries the
//!    code, the key, a timestamp and a fresh nonce, and is signed with the key itself (ES256 over
//!    the exact body bytes, base64url `r || s` in `Veil-Signature`: proof of possession).
//!    `enrolled` (201) and `already-enrolled` (200) both go on to the uploads; a refusal
//!    (`invite-invalid`, also for a code that cannot be one, `client-revoked`, ...) is every
//!    file's `rejected` answer.
//! 3. Each file goes to `POST /v1/artifacts` with its id as `Idempotency-Key`, streamed from disk,
//!    so a retry, or running the same batch again, never stores anything twice.
//!
//! What an answer means is the outbox's retry rule (`veil_outbox::retry::classify`, the app's
//! too): 2xx is done; no answer (the connection failed, was cut or timed out), 408, 429, 5xx and
//! anything else that is not a 4xx are retried; every other 4xx is final, `rejected` with the
//! server's `error` code (401 `unknown-client` too: a batch does not wait for an enrolment). The
//! timing is this command's own, for a batch someone waits on: at most [`MAX_ATTEMPTS`] attempts;
//! a `Retry-After` in seconds is honoured up to [`MAX_RETRY_AFTER`], and a longer one (a used-up
//! storage quota asks for an hour) is not waited for: the file is `failed` at once; otherwise the
//! waits double from [`FIRST_WAIT`] up to [`MAX_WAIT`], with jitter so a room of kiosks does not
//! retry in step. Redirects are not followed (an envelope is only ever sent to the URL given).
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
use reqwest::blocking::{Body, Client, RequestBuilder, Response};
use reqwest::header::{CONTENT_TYPE, RETRY_AFTER};
use serde::Serialize;
use sha2::{Digest, Sha256};
use veil_core::Coded;
use veil_outbox::enrolment::{EnrolmentRequest, InviteCode};
use veil_outbox::retry::{classify, error_code};
use veil_outbox::{Answer, Verdict};

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
    /// A 2xx answer: its status and body.
    Done(u16, String),
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
        settled = enrol(&client, &server, &key, code, args.name.as_deref())?;
        if let Some((status, code)) = &settled {
            let what = if *status == Status::Rejected {
                "refused"
            } else {
                "failed"
            };
            enrolment_note = format!(" (the enrolment {what}: {code})");
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
pub(crate) fn server_url(text: &str) -> Result<String, Failure> {
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

/// Enrol `key` with invitation `code` (and `name`); `None` when enrolled (now or before), else
/// what every file's line says: `rejected` or `failed` with the code.
fn enrol(
    client: &Client,
    server: &str,
    key: &SigningKey,
    code: &str,
    name: Option<&str>,
) -> Result<Option<(Status, String)>, Failure> {
    let code = match InviteCode::parse(code) {
        Ok(code) => code,
        Err(e) => return Ok(Some((Status::Rejected, e.code().to_string()))),
    };
    let sec1 = key.verifying_key().to_encoded_point(false);
    let body = enrolment_body(&code, sec1.as_bytes(), name)?;
    let signature = sign_body(key, body.as_bytes());
    let url = format!("{server}{}", veil_outbox::enrolment::PATH);
    let reply = send(|| {
        client
            .post(&url)
            .header(CONTENT_TYPE, "application/json")
            .header(VEIL_SIGNATURE, signature.as_str())
            .body(body.clone())
    });
    Ok(match reply {
        Reply::Done(status, body) => {
            let answer = Answer::Answered { status, body };
            match veil_outbox::enrolment::read_answer(&answer, sec1.as_bytes()) {
                Ok(_) => None,
                Err(e) => Some((Status::Rejected, e.code().to_string())),
            }
        }
        Reply::Refused(code) => Some((Status::Rejected, code)),
        Reply::GaveUp(code) => Some((Status::Failed, code)),
    })
}

/// The enrolment body (`veil_outbox::enrolment`) for the key `sec1` with `code`: a fresh nonce
/// and the time now.
fn enrolment_body(code: &InviteCode, sec1: &[u8], name: Option<&str>) -> Result<String, Failure> {
    let mut nonce = [0u8; veil_outbox::enrolment::NONCE_BYTES];
    getrandom::getrandom(&mut nonce).map_err(|e| veil_seal::SealError::RngFailed(e.to_string()))?;
    let timestamp_ms = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX));
    Ok(EnrolmentRequest::new(code, sec1, name, timestamp_ms, nonce).body())
}

/// base64url (no padding) of the ES256 signature `r || s` of `body` under `key`.
pub(crate) fn sign_body(key: &SigningKey, body: &[u8]) -> String {
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
        let (answer, retry_after) = match build().send() {
            Ok(response) => read_response(response),
            Err(e) => (Answer::NetworkError(e.to_string()), None),
        };
        let (code, retry_after) = match judge(answer, retry_after) {
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

/// An answer as the retry rule reads it (its body bounded), and its `Retry-After`.
fn read_response(response: Response) -> (Answer, Option<String>) {
    let status = response.status().as_u16();
    let retry_after = response
        .headers()
        .get(RETRY_AFTER)
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned);
    let mut body = Vec::new();
    if let Err(e) = response.take(MAX_ANSWER).read_to_end(&mut body)
        && (200..300).contains(&status)
    {
        // The answer broke off: whether the request took effect is unknown, and asking again is
        // safe (uploads are idempotent, an enrolment is answered `already-enrolled`).
        return (Answer::NetworkError(e.to_string()), None);
    }
    let body = String::from_utf8_lossy(&body).into_owned();
    (Answer::Answered { status, body }, retry_after)
}

/// The verdict on one answer, by the outbox's retry rule: done, final with a code, or worth
/// another attempt (after `Retry-After` seconds if the server gave them; an HTTP-date is not
/// read, the backoff applies).
fn judge(answer: Answer, retry_after: Option<String>) -> Attempt {
    let code = match &answer {
        Answer::NetworkError(_) => failure::UNREACHABLE.to_string(),
        Answer::Answered { body, .. } => error_code(body)
            .filter(|c| veil_core::is_code(c))
            .unwrap_or_else(|| failure::BAD_RESPONSE.to_string()),
    };
    match classify(&answer) {
        Verdict::Delivered | Verdict::NothingToRevoke => match answer {
            Answer::Answered { status, body } => Attempt::Final(Reply::Done(status, body)),
            Answer::NetworkError(_) => Attempt::Final(Reply::GaveUp(code)),
        },
        Verdict::AwaitingEnrolment { .. } | Verdict::Refused { .. } => {
            Attempt::Final(Reply::Refused(code))
        }
        Verdict::Retry { .. } => Attempt::Retry {
            code,
            retry_after: retry_after
                .and_then(|v| v.trim().parse::<u64>().ok())
                .map(Duration::from_secs),
        },
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

    fn answered(status: u16, body: &str) -> Answer {
        Answer::Answered {
            status,
            body: body.into(),
        }
    }

    fn error(code: &str) -> String {
        format!(r#"{{"error":"{code}","detail":"x"}}"#)
    }

    fn retry(code: &str, after: Option<u64>) -> Attempt {
        Attempt::Retry {
            code: code.into(),
            retry_after: after.map(Duration::from_secs),
        }
    }

    fn refused(code: &str) -> Attempt {
        Attempt::Final(Reply::Refused(code.into()))
    }

    #[test]
    fn answers_are_done_retried_or_final() {
        let created = r#"{"status":"created"}"#;
        assert_eq!(
            judge(answered(201, created), None),
            Attempt::Final(Reply::Done(201, created.into()))
        );
        assert_eq!(
            judge(answered(429, &error("rate-limited")), Some("7".into())),
            retry("rate-limited", Some(7))
        );
        assert_eq!(
            judge(answered(503, &error("busy")), Some(" 1 ".into())),
            retry("busy", Some(1))
        );
        assert_eq!(
            judge(answered(408, &error("timeout")), None),
            retry("timeout", None)
        );
        assert_eq!(
            judge(Answer::NetworkError("connection refused".into()), None),
            retry("unreachable", None)
        );
        // An HTTP-date Retry-After is not read (the backoff applies); a proxy's page has no code.
        assert_eq!(
            judge(
                answered(502, "<html>bad gateway</html>"),
                Some("Wed, 21 Oct 2026 07:28:00 GMT".into())
            ),
            retry("bad-response", None)
        );
        // A batch does not wait for an enrolment: unknown-client is final.
        assert_eq!(
            judge(answered(401, &error("unknown-client")), None),
            refused("unknown-client")
        );
        assert_eq!(
            judge(answered(403, &error("invite-invalid")), Some("5".into())),
            refused("invite-invalid")
        );
        assert_eq!(
            judge(answered(422, &error("decrypt-failed")), None),
            refused("decrypt-failed")
        );
        // A code that is not a code is not repeated.
        assert_eq!(
            judge(answered(400, &error("Not A Code\n")), None),
            refused("bad-response")
        );
        assert_eq!(judge(answered(404, ""), None), refused("bad-response"));
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
        let sec1 = key.verifying_key().to_encoded_point(false);
        let code = InviteCode::parse(" abcd efgh-jkmn-pqrs-tvwx ").unwrap();
        let body = enrolment_body(&code, sec1.as_bytes(), Some("kiosk 3")).unwrap();
        let json: serde_json::Value = serde_json::from_str(&body).unwrap();
        assert_eq!(json["format"], "veil-enrolment-v1");
        assert_eq!(json["code"], "ABCD-EFGH-JKMN-PQRS-TVWX");
        assert_eq!(json["name"], "kiosk 3");
        assert_eq!(json["client_key"], hex::encode(sec1.as_bytes()));
        let nonce = json["nonce"].as_str().unwrap();
        assert!((32..=128).contains(&nonce.len()), "{nonce}");
        let again = enrolment_body(&code, sec1.as_bytes(), None).unwrap();
        assert!(!again.contains("name"), "{again}");
        assert!(!again.contains(nonce), "the nonce is fresh each time");
        let now_ms = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .unwrap()
            .as_millis() as u64;
        let ts = json["timestamp_ms"].as_u64().unwrap();
        assert!(ts <= now_ms && ts + 60_000 > now_ms, "{ts}");

        let raw = base64::engine::general_purpose::URL_SAFE_NO_PAD
            .decode(sign_body(&key, body.as_bytes()))
            .unwrap();
        let signature = Signature::from_slice(&raw).unwrap();
        assert!(
            key.verifying_key()
                .verify(body.as_bytes(), &signature)
                .is_ok()
        );
        let mut other = body.into_bytes();
        other.push(b' ');
        assert!(key.verifying_key().verify(&other, &signature).is_err());
    }
}
