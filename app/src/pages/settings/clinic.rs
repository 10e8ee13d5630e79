//! Settings section: connecting this device to a clinic.
//!
//! The clinic's server stores nothing from a device it does not know. A clinic hands out
//! invitation codes (a patient gets one at registration; a kiosk is given one by staff); typed here,
//! or scanned with the camera where the browser can read QR codes, the code enrols this browser's
//! client key (`outbox::connect_clinic`). What waited in the outbox for the connection is sent at
//! once. The Outbox page points here while anything waits ([`AwaitingConnection`]).

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use leptos::prelude::*;
use leptos::task::spawn_local;
use leptos_router::components::A;
use wasm_bindgen::JsCast;

use crate::components::ErrorText;
use crate::error::AppError;
use crate::outbox::{self, ClinicConnection, ItemState};
use crate::pages::devices::format;
use crate::platform::barcode;
use crate::state::OutboxRevision;

/// Where the connection is at, as the section shows it.
#[derive(Debug, Clone, PartialEq)]
enum Phase {
    /// Nothing asked yet (the remembered connection, if any, is shown).
    Idle,
    /// The camera is looking for a code.
    Scanning,
    /// The enrolment request is out.
    Connecting,
    /// Connected now; this many waiting uploads went out.
    Connected {
        connection: ClinicConnection,
        delivered: usize,
    },
    /// The enrolment (or the scan) failed.
    Failed(AppError),
}

/// "Connect to a clinic": the connection, and the form to make one.
#[component]
pub fn ConnectClinic() -> impl IntoView {
    let revision = expect_context::<OutboxRevision>().0;
    let phase = RwSignal::new(Phase::Idle);
    let code = RwSignal::new(String::new());
    // Raised to end a scan: by its Stop button, or when this section goes away (the camera must
    // not stay on behind another page).
    let stop_scan = Arc::new(AtomicBool::new(false));
    on_cleanup({
        let stop_scan = stop_scan.clone();
        move || stop_scan.store(true, Ordering::Relaxed)
    });
    let video = NodeRef::<leptos::html::Video>::new();
    let remembered = LocalResource::new(move || {
        revision.track();
        outbox::clinic_connection()
    });

    let connect = move |text: String| {
        phase.set(Phase::Connecting);
        spawn_local(async move {
            phase.set(match outbox::connect_clinic(&text).await {
                Ok((connection, delivered)) => {
                    code.set(String::new());
                    Phase::Connected {
                        connection,
                        delivered,
                    }
                }
                Err(e) => Phase::Failed(e),
            });
            revision.update(|r| *r += 1);
        });
    };
    let on_submit = move |ev: web_sys::SubmitEvent| {
        ev.prevent_default();
        connect(code.get_untracked());
    };
    let on_scan = {
        let stop_scan = stop_scan.clone();
        move |_| {
            let Some(element) = video
                .get_untracked()
                .and_then(|v| v.dyn_into::<web_sys::HtmlElement>().ok())
            else {
                return;
            };
            phase.set(Phase::Scanning);
            stop_scan.store(false, Ordering::Relaxed);
            let stop_scan = stop_scan.clone();
            spawn_local(async move {
                let scan = match barcode::Scan::start(&element, stop_scan).await {
                    Ok(scan) => scan,
                    Err(e) => {
                        phase.set(Phase::Failed(e));
                        return;
                    }
                };
                let read = scan.read(&element).await;
                scan.stop();
                match read {
                    Ok(Some(text)) => {
                        code.set(text.clone());
                        connect(text);
                    }
                    Ok(None) => phase.set(Phase::Idle),
                    Err(e) => phase.set(Phase::Failed(e)),
                }
            });
        }
    };
    let on_cancel_scan = move |_| stop_scan.store(true, Ordering::Relaxed);
    let busy = move || matches!(phase.get(), Phase::Connecting | Phase::Scanning);
    let scanning = move || phase.get() == Phase::Scanning;

    view! {
        <section class="card" id="clinic" aria-labelledby="clinic-title" data-testid="clinic-section"
            aria-busy=move || busy().to_string()>
            <h2 id="clinic-title">"Connect to a clinic"</h2>
            <p>"The clinic's server accepts uploads only from devices it knows. Enter the invitation code your clinic gave you to connect this device; uploads that are waiting are sent right away."</p>
            <Transition fallback=|| ()>
                {move || remembered.get().map(|r| match r {
                    Ok(Some(c)) => view! {
                        <p data-testid="clinic-connection" data-state="connected">
                            "This device is connected to the clinic as "
                            <code data-testid="clinic-kid">{c.kid_prefix().to_owned()}</code>
                            {c.enrolled.name.clone().map(|n| format!(" ({n})"))}
                            ", since " {format::unix_time((c.at_ms / 1000.0) as u64)} "."
                        </p>
                    }.into_any(),
                    Ok(None) => view! {
                        <p data-testid="clinic-connection" data-state="not-connected">
                            "This device is not connected to a clinic: uploads wait until it is."
                        </p>
                    }.into_any(),
                    Err(e) => view! {
                        <p class="error" data-testid="clinic-connection" data-state="unknown" data-code=e.code>
                            <ErrorText error=e.clone()/>
                        </p>
                    }.into_any(),
                })}
            </Transition>
            <form on:submit=on_submit data-testid="clinic-form">
                <label for="clinic-code">"Invitation code"</label>
                <input id="clinic-code" type="text" data-testid="clinic-code" autocomplete="off"
                    autocapitalize="characters" spellcheck="false" aria-describedby="clinic-code-hint"
                    placeholder="ABCD-EFGH-JKMN-PQRS-TVWX"
                    prop:value=move || code.get()
                    on:input=move |ev| {
                        code.set(event_target_value(&ev));
                        // A new code: the last outcome no longer applies.
                        if matches!(phase.get_untracked(), Phase::Failed(_) | Phase::Connected { .. }) {
                            phase.set(Phase::Idle);
                        }
                    }/>
                <p id="clinic-code-hint" class="hint">"20 letters and digits; spaces and dashes do not matter."</p>
                <div class="root-actions">
                    <button type="submit" class="primary" data-testid="clinic-connect"
                        disabled=move || busy() || code.with(|c| c.trim().is_empty())>
                        "Connect"
                    </button>
                    {barcode::supported().then(|| view! {
                        <button type="button" data-testid="clinic-scan" on:click=on_scan
                            disabled=busy>"Scan the code with the camera"</button>
                    })}
                    <button type="button" data-testid="clinic-scan-cancel" on:click=on_cancel_scan
                        hidden=move || !scanning()>"Stop scanning"</button>
                </div>
            </form>
            <video node_ref=video class="scanner" data-testid="clinic-video" muted=true playsinline=true
                aria-label="Camera picture, looking for the invitation's QR code"
                hidden=move || !scanning()></video>
            <p role="status" aria-live="polite" data-testid="clinic-status"
                class:error=move || matches!(phase.get(), Phase::Failed(_))
                data-state=move || match phase.get() {
                    Phase::Idle => "",
                    Phase::Scanning => "scanning",
                    Phase::Connecting => "connecting",
                    Phase::Connected { .. } => "ok",
                    Phase::Failed(_) => "error",
                }
                data-code=move || match phase.get() { Phase::Failed(e) => e.code, _ => "" }>
                {move || match phase.get() {
                    Phase::Idle => ().into_any(),
                    Phase::Scanning => "Hold the invitation's QR code in front of the camera.".into_any(),
                    Phase::Connecting => "Connecting...".into_any(),
                    Phase::Connected { connection, delivered } => format!(
                        "Connected as {}.{}",
                        connection.kid_prefix(),
                        match delivered {
                            0 => String::new(),
                            1 => " 1 waiting upload was sent.".into(),
                            n => format!(" {n} waiting uploads were sent."),
                        }
                    ).into_any(),
                    Phase::Failed(e) => view! { <ErrorText error=e/> }.into_any(),
                }}
            </p>
        </section>
    }
}

/// On the Outbox page: how many entries wait for this device to be connected to a clinic, with the
/// way to Settings. Nothing when none waits.
#[component]
pub fn AwaitingConnection() -> impl IntoView {
    let revision = expect_context::<OutboxRevision>().0;
    let waiting = LocalResource::new(move || {
        revision.track();
        async {
            let awaiting = |s: &ItemState| matches!(s, ItemState::AwaitingEnrolment { .. });
            let items = outbox::items().await.unwrap_or_default();
            let controls = outbox::controls().await.unwrap_or_default();
            items.iter().filter(|i| awaiting(&i.state)).count()
                + controls.iter().filter(|m| awaiting(&m.state)).count()
        }
    });
    view! {
        <Transition fallback=|| ()>
            {move || waiting.get().filter(|n| *n > 0).map(|n| view! {
                <p class="card notice" role="status" data-testid="outbox-awaiting-connection" data-count=n>
                    {if n == 1 { "1 entry waits".to_owned() } else { format!("{n} entries wait") }}
                    " until this device is connected to a clinic: the server does not accept it before. "
                    <A href="/settings" attr:data-testid="outbox-connect-link">"Connect to a clinic in Settings"</A>
                </p>
            })}
        </Transition>
    }
}
