//! Chrome shared by every page: navigation, connectivity badge, update prompt, the audit-failure
//! alert, and how an error is shown.

use leptos::prelude::*;
use leptos_router::components::A;

use crate::error::AppError;
use crate::platform;
use crate::state::{AppState, AuditFailure};

/// The primary navigation, a labelled landmark; the current page is marked with `aria-current`.
#[component]
pub fn NavBar() -> impl IntoView {
    view! {
        <nav aria-label="Main">
            <ul class="nav-list">
                <li><A href="/devices" attr:data-testid="nav-devices">"Devices"</A></li>
                <li><A href="/models" attr:data-testid="nav-models">"Models"</A></li>
                <li><A href="/consent" attr:data-testid="nav-consent">"Consent"</A></li>
                <li><A href="/outbox" attr:data-testid="nav-outbox">"Outbox"</A></li>
                <li><A href="/audit" attr:data-testid="nav-audit">"Audit"</A></li>
                <li><A href="/settings" attr:data-testid="nav-settings">"Settings"</A></li>
            </ul>
        </nav>
    }
}

/// "Online"/"Offline" status, announced politely to screen readers when it changes.
#[component]
pub fn ConnectivityBadge() -> impl IntoView {
    let state = expect_context::<AppState>();
    view! {
        <p class="connectivity" role="status" aria-live="polite" data-testid="connectivity"
            class:offline=move || !state.online.get()>
            {move || if state.online.get() { "Online" } else { "Offline: working locally" }}
        </p>
    }
}

/// Shown when a new version of the app has been installed in the background.
#[component]
pub fn UpdatePrompt() -> impl IntoView {
    let state = expect_context::<AppState>();
    view! {
        <Show when=move || state.update_ready.get()>
            <div class="update-prompt" role="alert" data-testid="update-prompt">
                <span>"A new version of Veil is available."</span>
                <button type="button" data-testid="update-reload"
                    on:click=move |_| platform::service_worker::activate_waiting()>
                    "Reload"
                </button>
            </div>
        </Show>
    }
}

/// Shown when an entry could not be appended to the audit chain: what happened was done, but
/// the log does not say so, and the person must know.
#[component]
pub fn AuditAlert() -> impl IntoView {
    let failure = expect_context::<AuditFailure>().0;
    view! {
        {move || failure.get().map(|e| view! {
            <div class="update-prompt" role="alert" data-testid="audit-failure" data-code=e.code>
                <span>"This step was not recorded in the audit log: " <ErrorText error=e.clone()/></span>
                <button type="button" on:click=move |_| failure.set(None)>"Dismiss"</button>
            </div>
        })}
    }
}

/// An error as every page shows it: its stable code as a badge beside its message. The caller's
/// element (an alert, a status line) carries the test id and `data-code`.
#[component]
pub fn ErrorText(
    /// The error to show.
    error: AppError,
) -> impl IntoView {
    view! {
        <span class="badge rejected">{error.code}</span>
        " "
        {error.message}
    }
}
