//! Settings section: the trust store of manufacturer root certificates.
//!
//! A device is trusted when its certificate chain leads to one of these roots (`veil-trust`
//! checks it). Importing accepts PEM text, pasted or from a file; only P-256 CA certificates are
//! accepted as roots. Removing a root makes its devices untrusted from their next pairing.

use leptos::prelude::*;
use leptos::task::spawn_local;
use wasm_bindgen::JsCast;
use web_sys::HtmlInputElement;

use veil_trust::{RootInfo, TrustStore, certs_from_pem};

use crate::pages::devices::format;
use crate::platform::storage;
use veil_core::Coded;

/// Largest PEM text accepted for import (a root is about 1 KiB of PEM).
const MAX_PEM_LEN: usize = 256 * 1024;

/// The outcome of the last import or removal.
#[derive(Debug, Clone, PartialEq)]
struct Status {
    ok: bool,
    text: String,
}

/// Reads the stored roots back through a trust store, so what is listed is what is trusted.
async fn load(roots: RwSignal<Vec<RootInfo>>, status: RwSignal<Option<Status>>) {
    match storage::trust_store().await {
        Ok(store) => roots.set(store.roots()),
        Err(e) => status.set(Some(Status {
            ok: false,
            text: format!("Could not read the trusted manufacturers: {e}"),
        })),
    }
}

/// Validates every certificate of `pem` as a root and stores the acceptable ones.
async fn import(pem: String, roots: RwSignal<Vec<RootInfo>>, status: RwSignal<Option<Status>>) {
    if pem.len() > MAX_PEM_LEN {
        status.set(Some(Status {
            ok: false,
            text: format!("That file is larger than {} KiB.", MAX_PEM_LEN / 1024),
        }));
        return;
    }
    let ders = match certs_from_pem(&pem) {
        Ok(d) => d,
        Err(e) => {
            status.set(Some(Status {
                ok: false,
                text: format!("Not imported ({}): {e}", e.code()),
            }));
            return;
        }
    };
    let mut imported = Vec::new();
    let mut refused = Vec::new();
    for der in &ders {
        match TrustStore::new().add_der(der) {
            Ok(info) => match storage::put_root(&info.fingerprint, der).await {
                Ok(()) => imported.push(info.manufacturer),
                Err(e) => refused.push(e.to_string()),
            },
            Err(e) => refused.push(format!("{}: {e}", e.code())),
        }
    }
    let text = match (imported.is_empty(), refused.is_empty()) {
        (false, true) => format!("Now trusted: {}.", imported.join(", ")),
        (false, false) => format!(
            "Now trusted: {}. Not imported: {}.",
            imported.join(", "),
            refused.join("; ")
        ),
        _ => format!("Not imported: {}.", refused.join("; ")),
    };
    status.set(Some(Status {
        ok: !imported.is_empty() && refused.is_empty(),
        text,
    }));
    load(roots, status).await;
}

/// Trusted manufacturers: list, import (paste or file), remove.
#[component]
pub fn TrustedManufacturers() -> impl IntoView {
    let roots = RwSignal::new(Vec::<RootInfo>::new());
    let status = RwSignal::new(None::<Status>);
    let pem = RwSignal::new(String::new());
    let busy = RwSignal::new(false);
    spawn_local(load(roots, status));

    let on_import = move |_| {
        let text = pem.get_untracked();
        busy.set(true);
        spawn_local(async move {
            import(text, roots, status).await;
            pem.set(String::new());
            busy.set(false);
        });
    };
    let on_file = move |ev: web_sys::Event| {
        let Some(file) = ev
            .target()
            .and_then(|t| t.dyn_into::<HtmlInputElement>().ok())
            .and_then(|input| input.files())
            .and_then(|files| files.get(0))
        else {
            return;
        };
        if file.size() > MAX_PEM_LEN as f64 {
            status.set(Some(Status {
                ok: false,
                text: "That file is too large to be a certificate.".into(),
            }));
            return;
        }
        busy.set(true);
        spawn_local(async move {
            match wasm_bindgen_futures::JsFuture::from(file.text())
                .await
                .map(|v| v.as_string())
            {
                Ok(Some(text)) => import(text, roots, status).await,
                _ => status.set(Some(Status {
                    ok: false,
                    text: "The file could not be read.".into(),
                })),
            }
            busy.set(false);
        });
    };

    view! {
        <section class="card" aria-labelledby="roots-title" data-testid="roots-section"
            aria-busy=move || busy.get().to_string()>
            <h2 id="roots-title">"Trusted device manufacturers"</h2>
            <p>"Readings are verified only from devices whose certificate leads to one of these manufacturer root certificates. Import a manufacturer's root certificate (PEM) to trust its devices."</p>
            <RootList roots=roots status=status/>
            <label for="root-pem">"Root certificate (PEM)"</label>
            <textarea id="root-pem" class="pem" rows="6" spellcheck="false" data-testid="root-pem"
                prop:value=move || pem.get()
                on:input=move |ev| pem.set(event_target_value(&ev))
                placeholder="-----BEGIN CERTIFICATE-----"></textarea>
            <div class="root-actions">
                <button type="button" class="primary" data-testid="root-import"
                    disabled=move || pem.with(|p| p.trim().is_empty()) on:click=on_import>
                    "Import"
                </button>
                <label class="file">"or choose a file "
                    <input type="file" accept=".pem,.crt,.cer,application/x-pem-file" data-testid="root-file" on:change=on_file/>
                </label>
            </div>
            <p role="status" aria-live="polite" data-testid="root-status"
                class:error=move || status.with(|s| s.as_ref().is_some_and(|s| !s.ok))
                data-state=move || match status.get() { Some(s) if s.ok => "ok", Some(_) => "error", None => "" }>
                {move || status.get().map(|s| s.text).unwrap_or_default()}
            </p>
        </section>
    }
}

/// The trusted roots, each with a Remove button.
#[component]
fn RootList(
    /// The roots to list.
    roots: RwSignal<Vec<RootInfo>>,
    /// Where removal problems are reported.
    status: RwSignal<Option<Status>>,
) -> impl IntoView {
    view! {
        <Show when=move || roots.with(|r| !r.is_empty())
            fallback=|| view! { <p data-testid="root-empty">"No manufacturer is trusted yet: every signed reading will be rejected."</p> }>
            <ul class="root-list" data-testid="root-list">
                <For each=move || roots.get() key=|r| r.fingerprint.clone() let:root>
                    <RootItem root=root roots=roots status=status/>
                </For>
            </ul>
        </Show>
    }
}

/// One trusted root.
#[component]
fn RootItem(
    /// The root.
    root: RootInfo,
    /// The list, reloaded after removal.
    roots: RwSignal<Vec<RootInfo>>,
    /// Where the outcome is reported.
    status: RwSignal<Option<Status>>,
) -> impl IntoView {
    let fp = root.fingerprint.clone();
    let name = root.manufacturer.clone();
    let on_remove = move |_| {
        let (fp, name) = (fp.clone(), name.clone());
        spawn_local(async move {
            match storage::remove_root(&fp).await {
                Ok(()) => status.set(Some(Status {
                    ok: true,
                    text: format!("{name} is no longer trusted."),
                })),
                Err(e) => status.set(Some(Status {
                    ok: false,
                    text: format!("Could not remove {name}: {e}"),
                })),
            }
            load(roots, status).await;
        });
    };
    let validity = format!(
        "{} to {}",
        format::unix_time(root.not_before),
        format::unix_time(root.not_after)
    );
    view! {
        <li class="root-item" data-testid="root-item" data-fingerprint=root.fingerprint.clone()>
            <strong data-testid="root-manufacturer">{root.manufacturer.clone()}</strong>
            <span>{root.common_name.clone().map(|cn| format!(" ({cn})")).unwrap_or_default()}</span>
            <span class="fingerprint">{format::fingerprint(&root.fingerprint)}</span>
            <span class="validity">"Valid " {validity}</span>
            <button type="button" data-testid="root-remove" aria-label=format!("Remove {}", root.manufacturer)
                on:click=on_remove>
                "Remove"
            </button>
        </li>
    }
}
