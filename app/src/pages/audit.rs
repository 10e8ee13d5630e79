//! The Audit page: the tamper-evident chain of everything this browser did with the person's data,
//! verified here (hash links and the client key's signatures), and exportable as JSON lines.

use leptos::prelude::*;

use crate::components::ErrorText;
use crate::outbox;
use crate::platform::download;
use crate::state::OutboxRevision;

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
            <Suspense fallback=|| view! { <p>"Verifying..."</p> }>
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
            </Suspense>
        </section>
    }
}
