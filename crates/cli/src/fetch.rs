//! `veil fetch`: a recipient user's batch export from an ingest server (issue 19).
//!
//! `veil fetch --server URL --user-key KEY.pem --purpose P -o DIR`
//!
//! 1. Lists the artifacts delivered for purpose P (`POST /v1/reads/list`, page by page), each
//!    with the decision a read would get now: the same decision `POST /v1/reads/fetch` takes.
//! 2. Reads each allowed one (`POST /v1/reads/fetch`): the server decides again and logs the read
//!    in its access log; the contents are written to `DIR/<id>/<name>` (each file's SHA-256
//!    checked against the answer), with the verified manifest as `DIR/<id>/manifest.json` and the
//!    decision (basis, citations, its seq in the access log) as `DIR/<id>/decision.json`.
//!    An artifact refused in the listing is not asked for (nothing is released, nothing logged).
//!
//! Every request is signed with the user's ES256 key (base64url `r || s` over the exact body in
//! `Veil-Signature`) and carries the time and a fresh nonce, so the server accepts each once.
//! Connection errors, 408, 429 and 5xx are retried (a fresh nonce each attempt) up to
//! [`MAX_ATTEMPTS`] times with doubling waits; other answers are final.
//!
//! Progress goes to stderr (`veil fetch: [k/n] <id> fetched|refused <code>`); stdout gets one
//! JSON line per listed artifact, in order:
//! `{"id", "status": "fetched|refused|failed", "error": "<code>"?, "files": N?}`. The exit status
//! is 0 when nothing failed (a refusal is an answer, not a failure), 1 otherwise
//! (`batch-failed`), 2 for usage errors. The key is never printed.

use std::io::Read;
use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use base64::Engine;
use clap::Args;
use p256::ecdsa::SigningKey;
use reqwest::blocking::Client;
use reqwest::header::CONTENT_TYPE;
use serde::Serialize;
use sha2::{Digest, Sha256};

use crate::failure::{self, Failure};
use crate::upload::{server_url, sign_body};

/// Most attempts per request.
pub const MAX_ATTEMPTS: u32 = 5;
/// The first wait before a retry; doubled per attempt up to [`MAX_WAIT`].
const FIRST_WAIT: Duration = Duration::from_millis(500);
const MAX_WAIT: Duration = Duration::from_secs(8);
/// Largest answer read (an artifact's contents, base64 in JSON).
const MAX_ANSWER: u64 = 1 << 30;
/// Most listing pages followed.
const MAX_PAGES: usize = 10_000;

/// Arguments of `veil fetch`.
#[derive(Debug, Args)]
pub struct FetchArgs {
    /// The ingest server, e.g. `https://clinic.example`.
    #[arg(long, value_name = "URL")]
    server: String,
    /// The user's ES256 private key (PEM), as added with `veil admin users add`.
    #[arg(long, value_name = "KEY.pem")]
    user_key: PathBuf,
    /// The purpose to read for (one of the user's purposes).
    #[arg(long, value_name = "PURPOSE")]
    purpose: String,
    /// Where to write the artifacts (created if needed).
    #[arg(short = 'o', long = "out", value_name = "DIR")]
    out: PathBuf,
}

/// One stdout line.
#[derive(Debug, Serialize)]
struct Line<'a> {
    id: &'a str,
    status: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    error: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    files: Option<usize>,
}

/// A final answer: 2xx with its JSON body, or the server's (or our) code.
enum Reply {
    Done(serde_json::Value),
    Refused(String),
    Failed(String),
}

fn now_ms() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX))
}

fn nonce() -> Result<String, Failure> {
    let mut bytes = [0u8; 16];
    getrandom::getrandom(&mut bytes).map_err(|e| veil_seal::SealError::RngFailed(e.to_string()))?;
    Ok(hex::encode(bytes))
}

/// POST `fields` (plus the user's key, the time and a fresh nonce) signed with `key`, retrying
/// what is retryable.
fn post(
    client: &Client,
    url: &str,
    key: &SigningKey,
    fields: &serde_json::Value,
) -> Result<Reply, Failure> {
    let user_key = hex::encode(key.verifying_key().to_encoded_point(false).as_bytes());
    let mut wait = FIRST_WAIT;
    let mut attempt = 1;
    loop {
        let mut body = fields.clone();
        body["user_key"] = user_key.clone().into();
        body["timestamp_ms"] = now_ms().into();
        body["nonce"] = nonce()?.into();
        let bytes = serde_json::to_vec(&body)
            .map_err(|e| Failure::new(failure::IO, format!("cannot encode a request: {e}")))?;
        let signature = sign_body(key, &bytes);
        let outcome = client
            .post(url)
            .header(CONTENT_TYPE, "application/json")
            .header(veil_ingest::api::VEIL_SIGNATURE, signature)
            .body(bytes)
            .send();
        let retry_code = match outcome {
            Err(_) => failure::UNREACHABLE.to_string(),
            Ok(response) => {
                let status = response.status().as_u16();
                let mut text = Vec::new();
                let read = response.take(MAX_ANSWER).read_to_end(&mut text);
                let json: Option<serde_json::Value> = serde_json::from_slice(&text).ok();
                let code = json
                    .as_ref()
                    .and_then(|j| j["error"].as_str())
                    .filter(|c| veil_core::is_code(c))
                    .map_or_else(|| failure::BAD_RESPONSE.to_string(), str::to_owned);
                match status {
                    200..=299 => {
                        return Ok(match (read, json) {
                            (Ok(_), Some(json)) => Reply::Done(json),
                            _ => Reply::Failed(failure::BAD_RESPONSE.into()),
                        });
                    }
                    408 | 429 | 500..=599 => code,
                    _ => return Ok(Reply::Refused(code)),
                }
            }
        };
        if attempt >= MAX_ATTEMPTS {
            return Ok(Reply::Failed(retry_code));
        }
        std::thread::sleep(wait);
        wait = (wait * 2).min(MAX_WAIT);
        attempt += 1;
    }
}

/// The ids of the artifacts of `purpose` and, for each, `None` (allowed) or its refusal code.
fn list(
    client: &Client,
    server: &str,
    key: &SigningKey,
    purpose: &str,
) -> Result<Vec<(String, Option<String>)>, Failure> {
    let url = format!("{server}/v1/reads/list");
    let mut out = Vec::new();
    let mut after: Option<String> = None;
    for _ in 0..MAX_PAGES {
        let fields = serde_json::json!({
            "format": "veil-read-list-v1", "purpose": purpose, "after": after,
        });
        let page = match post(client, &url, key, &fields)? {
            Reply::Done(page) => page,
            Reply::Refused(code) | Reply::Failed(code) => {
                return Err(Failure::new(
                    failure::BATCH_FAILED,
                    format!("the listing was not answered: {code}"),
                ));
            }
        };
        for item in page["artifacts"].as_array().into_iter().flatten() {
            let Some(id) = item["id"].as_str() else {
                continue;
            };
            let refusal = (item["decision"] != "allow")
                .then(|| item["code"].as_str().unwrap_or("refused").to_owned());
            out.push((id.to_owned(), refusal));
        }
        match page["next"].as_str() {
            Some(next) if Some(next) != after.as_deref() => after = Some(next.to_owned()),
            _ => return Ok(out),
        }
    }
    Ok(out)
}

/// Write one fetched artifact under `dir/<id>`; returns how many files.
fn write_artifact(dir: &Path, id: &str, answer: &serde_json::Value) -> Result<usize, String> {
    if veil_seal::ArtifactId::from_hex(id).is_err() {
        return Err(failure::BAD_RESPONSE.into());
    }
    let target = dir.join(id);
    std::fs::create_dir_all(&target).map_err(|_| failure::IO.to_owned())?;
    let files = answer["files"].as_array().ok_or(failure::BAD_RESPONSE)?;
    for file in files {
        let name = file["name"].as_str().ok_or(failure::BAD_RESPONSE)?;
        // One path component, as veil-seal allows in a manifest: never a way out of DIR.
        veil_seal::manifest::validate_name(name).map_err(|_| failure::BAD_RESPONSE.to_owned())?;
        let data = base64::engine::general_purpose::STANDARD
            .decode(file["data"].as_str().ok_or(failure::BAD_RESPONSE)?)
            .map_err(|_| failure::BAD_RESPONSE.to_owned())?;
        if Some(hex::encode(Sha256::digest(&data)).as_str()) != file["sha256"].as_str() {
            return Err(failure::BAD_RESPONSE.into());
        }
        std::fs::write(target.join(name), data).map_err(|_| failure::IO.to_owned())?;
    }
    let pretty = |v: &serde_json::Value| serde_json::to_vec_pretty(v).unwrap_or_default();
    std::fs::write(target.join("manifest.json"), pretty(&answer["manifest"]))
        .map_err(|_| failure::IO.to_owned())?;
    let decision = serde_json::json!({
        "id": id, "purpose": answer["purpose"], "decision": answer["decision"],
        "basis": answer["basis"], "citations": answer["citations"], "log_seq": answer["log_seq"],
    });
    std::fs::write(target.join("decision.json"), pretty(&decision))
        .map_err(|_| failure::IO.to_owned())?;
    Ok(files.len())
}

fn progress(text: &str) {
    use std::io::Write;
    let _ = writeln!(std::io::stderr().lock(), "veil fetch: {text}");
}

/// Run `veil fetch`.
pub fn run(args: FetchArgs) -> Result<(), Failure> {
    let server = server_url(&args.server)?;
    let pem =
        std::fs::read_to_string(&args.user_key).map_err(|e| Failure::io(&args.user_key, &e))?;
    let key = veil_seal::signing_key_from_pem(&pem)
        .map_err(|e| Failure::from(e).context(args.user_key.display()))?;
    drop(pem);
    std::fs::create_dir_all(&args.out).map_err(|e| Failure::io(&args.out, &e))?;
    let client = Client::builder()
        .connect_timeout(Duration::from_secs(10))
        .timeout(Duration::from_secs(300))
        .redirect(reqwest::redirect::Policy::none())
        .user_agent(concat!("veil/", env!("CARGO_PKG_VERSION")))
        .build()
        .map_err(|e| Failure::new(failure::IO, format!("cannot set up the HTTP client: {e}")))?;

    let listed = list(&client, &server, &key, &args.purpose)?;
    let total = listed.len();
    progress(&format!("{total} artifact(s) for purpose {}", args.purpose));
    let url = format!("{server}/v1/reads/fetch");
    let mut failed = 0usize;
    for (k, (id, refusal)) in listed.iter().enumerate() {
        let (status, error, files) = match refusal {
            Some(code) => ("refused", Some(code.clone()), None),
            None => {
                let fields = serde_json::json!({
                    "format": "veil-read-v1", "artifact": id, "purpose": args.purpose,
                });
                match post(&client, &url, &key, &fields)? {
                    Reply::Done(answer) => match write_artifact(&args.out, id, &answer) {
                        Ok(n) => ("fetched", None, Some(n)),
                        Err(code) => ("failed", Some(code), None),
                    },
                    Reply::Refused(code) => ("refused", Some(code), None),
                    Reply::Failed(code) => ("failed", Some(code), None),
                }
            }
        };
        if status == "failed" {
            failed += 1;
        }
        progress(&format!(
            "[{}/{total}] {id} {status}{}",
            k + 1,
            error
                .as_deref()
                .map(|c| format!(" {c}"))
                .unwrap_or_default()
        ));
        let line = Line {
            id,
            status,
            error: error.as_deref(),
            files,
        };
        let json = serde_json::to_string(&line)
            .map_err(|e| Failure::new(failure::IO, format!("cannot encode a line: {e}")))?;
        crate::print_line(json)?;
    }
    if failed == 0 {
        Ok(())
    } else {
        Err(Failure::new(
            failure::BATCH_FAILED,
            format!(
                "{failed} of {total} artifacts could not be fetched; each one's code is in its JSON line"
            ),
        ))
    }
}
