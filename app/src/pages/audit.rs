//! The Audit page: the tamper-evident chain of everything this browser did with the person's data,
//! verified here (hash links and the client key's signatures), and exportable as JSON lines; and,
//! when this browser is connected to a clinic, who at the clinic read the person's artifacts and
//! when (the server's access log, `POST /v1/access-log`, asked with a body signed by this
//! browser's client key, the same key and signature as its control requests; `docs/ingest.md`).

use leptos::prelude::*;

use wasm_bindgen::{JsCast, JsValue};

use crate::components::ErrorText;
use crate::error::AppError;
use crate::outbox;
use crate::platform::http::{Answer, request};
use crate::platform::{download, idb, webcrypto};
use crate::state::OutboxRevision;

/// base64url without padding (the `Veil-Signature` encoding).
fn base64url(bytes: &[u8]) -> String {
    const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    let mut out = String::with_capacity(bytes.len().div_ceil(3) * 4);
    for chunk in bytes.chunks(3) {
        let at = |i: usize| u32::from(chunk.get(i).copied().unwrap_or(0));
        let n = (at(0) << 16) | (at(1) << 8) | at(2);
        for i in 0..=chunk.len() {
            out.push(char::from(ALPHABET[((n >> (18 - 6 * i)) & 63) as usize]));
        }
    }
    out
}

/// The outbox's database as it is (no version given: nothing is created or upgraded here; it
/// exists, since this browser is connected to a clinic).
async fn outbox_db() -> Result<web_sys::IdbDatabase, AppError> {
    let factory = web_sys::window()
        .and_then(|w| w.indexed_db().ok().flatten())
        .ok_or_else(|| AppError::browser("IndexedDB is unavailable"))?;
    let request = factory
        .open(outbox::DB_NAME)
        .map_err(|e| AppError::browser_js(&e))?;
    idb::wait(&request)
        .await?
        .dyn_into::<web_sys::IdbDatabase>()
        .map_err(|_| AppError::browser("not a database"))
}

/// One read of the person's artifacts, as the clinic's log has it.
#[derive(Debug, Clone)]
struct Read {
    time_ms: f64,
    who: String,
    artifact: String,
    purpose: String,
    decision: String,
    basis: String,
    /// The entry's hash recomputed from its fields and its predecessor's hash matches.
    hash_ok: bool,
}

/// The reads of this person's artifacts at the clinic; `None` when not connected to a clinic.
async fn reads_at_clinic() -> Result<Option<Vec<Read>>, AppError> {
    if outbox::clinic_connection().await?.is_none() {
        return Ok(None);
    }
    let db = outbox_db().await?;
    let key = webcrypto::client_key(&db).await;
    db.close();
    let key = key?;
    let mut nonce = [0u8; 16];
    getrandom::getrandom(&mut nonce)
        .map_err(|e| AppError::browser(format!("no random numbers: {e}")))?;
    let body = serde_json::json!({
        "format": "veil-access-log-v1",
        "client_key": hex::encode(&key.public_sec1),
        "timestamp_ms": js_sys::Date::now() as u64,
        "nonce": hex::encode(nonce),
    })
    .to_string();
    let signature = base64url(&key.sign(body.as_bytes()).await?);
    let headers = [
        ("Content-Type", "application/json"),
        ("Veil-Signature", signature.as_str()),
    ];
    let answer = request(
        "POST",
        "/v1/access-log",
        &headers,
        Some(&JsValue::from_str(&body)),
        None,
    )
    .await;
    let text = match answer {
        Answer::Answered { status: 200, body } => body,
        Answer::Answered { body, .. } => {
            let code = serde_json::from_str::<serde_json::Value>(&body)
                .ok()
                .and_then(|v| v["error"].as_str().map(str::to_owned))
                .unwrap_or_else(|| "bad-response".into());
            return Err(AppError::browser(format!("the clinic refused: {code}")));
        }
        Answer::NetworkError(e) => {
            return Err(AppError::browser(format!(
                "the clinic is not reachable: {e}"
            )));
        }
    };
    let json: serde_json::Value = serde_json::from_str(&text)
        .map_err(|e| AppError::browser(format!("the clinic's answer: {e}")))?;
    let reads = json["entries"]
        .as_array()
        .map(|entries| {
            entries
                .iter()
                .filter_map(|e| veil_audit::ChainedEntry::from_json(e).ok())
                .filter(|e| e.entry.event.as_str() == "read")
                .map(|e| {
                    let d = &e.entry.details;
                    let text = |k: &str| d[k].as_str().unwrap_or_default().to_owned();
                    Read {
                        time_ms: e.entry.time_ms as f64,
                        who: format!("{} ({})", text("user_name"), text("role")),
                        artifact: text("artifact").chars().take(16).collect(),
                        purpose: text("purpose"),
                        decision: match d["code"].as_str() {
                            Some(code) => format!("refused: {code}"),
                            None => text("decision"),
                        },
                        basis: text("basis"),
                        hash_ok: e.entry.chain_hash(&e.prev) == e.hash,
                    }
                })
                .collect()
        })
        .unwrap_or_default();
    Ok(Some(reads))
}

/// Who at the clinic read this person's artifacts, and when.
#[component]
fn ClinicReads() -> impl IntoView {
    let reads = LocalResource::new(reads_at_clinic);
    view! {
        <section aria-labelledby="clinic-reads-title" data-testid="clinic-reads">
            <h2 id="clinic-reads-title">"Who read your data at the clinic"</h2>
            <Suspense fallback=|| view! { <p>"Asking the clinic..."</p> }>
                {move || reads.get().map(|r| match r {
                    Err(error) => {
                        let code = error.code;
                        view! { <p class="error" data-code=code><ErrorText error/></p> }.into_any()
                    }
                    Ok(None) => view! { <p data-testid="clinic-reads-none">"This device is not connected to a clinic."</p> }.into_any(),
                    Ok(Some(reads)) if reads.is_empty() => view! { <p data-testid="clinic-reads-empty">"Nobody at the clinic has read your data."</p> }.into_any(),
                    Ok(Some(reads)) => {
                        let rows = reads.into_iter().map(|r| {
                            let time = js_sys::Date::new(&r.time_ms.into()).to_iso_string().as_string().unwrap_or_default();
                            let check = if r.hash_ok { "hash verified" } else { "hash mismatch" };
                            view! { <tr data-testid="clinic-read"><td>{time}</td><td>{r.who}</td><td><code>{r.artifact}</code></td><td>{r.purpose}</td><td>{r.decision}</td><td>{r.basis}</td><td>{check}</td></tr> }
                        }).collect_view();
                        view! {
                            <table><thead><tr><th scope="col">"When"</th><th scope="col">"Who"</th><th scope="col">"Artifact"</th><th scope="col">"Purpose"</th><th scope="col">"Decision"</th><th scope="col">"Basis"</th><th scope="col">"Check"</th></tr></thead>
                            <tbody>{rows}</tbody></table>
                        }.into_any()
                    }
                })}
            </Suspense>
        </section>
    }
}

/// The Audit page.
#[component]
pub fn Audit() -> impl IntoView {
    let revision = expect_context::<OutboxRevision>().0;
    let log = LocalResource::new(move || {
        revision.track();
        async move { outbox::audit_log().await }
    });
    view! {
        <section aria-labelledby="audit-title" data-testid="page-audit">
            <h1 id="audit-title">"Audit"</h1>
            <p>"A tamper-evident log of every consent change, device verification, de-identification, seal and upload, with its verification status and an export."</p>
            <Transition fallback=|| view! { <p>"Verifying..."</p> }>
                {move || log.get().map(|r| match r {
                    Err(e) => {
                        let error = e;
                        let code = error.code;
                        view! { <p class="error" data-code=code><ErrorText error/></p> }.into_any()
                    }
                    Ok((lines, verdict)) => {
                        let status = match &verdict {
                            Ok(n) => view! { <p data-testid="audit-status" data-valid="true"><span class="badge verified">"Chain intact"</span> {format!(" {n} entries, every link and signature verified.")}</p> }.into_any(),
                            Err(e) => view! { <p data-testid="audit-status" data-valid="false"><span class="badge rejected">"Chain broken"</span> {format!(" {e}")}</p> }.into_any(),
                        };
                        let rows = lines.lines().filter_map(|l| serde_json::from_str::<serde_json::Value>(l).ok()).map(|e| {
                            let field = |k: &str| e.get(k).map(|v| v.as_str().map(str::to_string).unwrap_or_else(|| v.to_string())).unwrap_or_default();
                            let time = e.get("time").and_then(|t| t.as_f64()).map(|ms| js_sys::Date::new(&ms.into()).to_iso_string().as_string().unwrap_or_default()).unwrap_or_default();
                            view! { <tr data-testid="audit-entry"><td>{field("seq")}</td><td>{time}</td><td>{field("event")}</td><td>{field("subject")}</td><td><code>{field("details")}</code></td></tr> }
                        }).collect_view();
                        let export = lines.clone();
                        view! {
                            {status}
                            <button type="button" data-testid="audit-export" on:click=move |_| download::offer("veil-audit.jsonl", "application/jsonl", export.as_bytes())>"Export (JSON lines)"</button>
                            <table><thead><tr><th scope="col">"#"</th><th scope="col">"Time"</th><th scope="col">"Event"</th><th scope="col">"Subject"</th><th scope="col">"Details"</th></tr></thead>
                            <tbody>{rows}</tbody></table>
                        }.into_any()
                    }
                })}
            </Transition>
            <ClinicReads/>
        </section>
    }
}
