//! The Veil PWA: a Leptos client-side app. Patients and clinics pair devices, de-identify models,
//! manage consent and send sealed artifacts, with every sensitive step done here in the browser.
//!
//! Layout: `pages/` holds one component per route, `components/` the shared chrome, `platform/` the
//! thin browser glue (service worker, connectivity, the mesh worker), `preview/` the 3D viewer of
//! the Models page, `state.rs` the app-wide state, `error.rs` the one error type (`AppError`: a
//! stable code and a message). All domain logic lives in the `crates/*` libraries.

pub mod components;
pub mod error;
pub mod kiosk_idle;
pub mod mesh_job;
pub mod outbox;
pub mod pages;
pub mod patient_session;
pub mod platform;
pub mod preview;
pub mod recipients;
pub mod report_view;
pub mod state;

// The unit tests run in headless Chromium (`cargo xtask test`, stage `wasm`): the app is a wasm32
// crate whose Web Bluetooth bindings exist only there.
#[cfg(test)]
wasm_bindgen_test::wasm_bindgen_test_configure!(run_in_browser);

use leptos::prelude::*;
use leptos_router::components::{Route, Router, Routes};
use leptos_router::path;

use crate::components::{AuditAlert, ConnectivityBadge, NavBar, UpdatePrompt};
use crate::pages::{Audit, Consent, Devices, Models, NotFound, Outbox, Settings};

/// The whole application: navigation landmarks, the routed page, and the PWA status chrome.
#[component]
pub fn App() -> impl IntoView {
    let app_state = state::AppState::new();
    provide_context(app_state);
    platform::service_worker::register(app_state);
    platform::connectivity::watch(app_state);
    let revision = state::OutboxRevision(RwSignal::new(0));
    let progress = state::UploadProgress(RwSignal::new(Default::default()));
    provide_context(revision);
    provide_context(progress);
    provide_context(state::AuditFailure::install());
    platform::uploader::start(app_state, revision, progress);

    view! {
        <Router>
            <a class="skip-link" href="#main">"Skip to main content"</a>
            <header class="app-header">
                <span class="brand" aria-label="Veil">"Veil"</span>
                <NavBar/>
                <ConnectivityBadge/>
            </header>
            <UpdatePrompt/>
            <AuditAlert/>
            <kiosk_idle::KioskIdle/>
            <main id="main" tabindex="-1">
                <Routes fallback=|| view! { <NotFound/> }>
                    <Route path=path!("/") view=Devices/>
                    <Route path=path!("/devices") view=Devices/>
                    <Route path=path!("/models") view=Models/>
                    <Route path=path!("/consent") view=Consent/>
                    <Route path=path!("/outbox") view=Outbox/>
                    <Route path=path!("/audit") view=Audit/>
                    <Route path=path!("/settings") view=Settings/>
                </Routes>
            </main>
            <footer class="app-footer">
                <p>"Everything sensitive is processed in this browser. Nothing identifying leaves it unencrypted."</p>
            </footer>
        </Router>
    }
}
