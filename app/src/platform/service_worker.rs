//! Registers `/sw.js` (generated at build time with the precache list of this exact build) and turns its
//! lifecycle into app state: `offline_ready` once it controls the page, `update_ready` when a newer
//! build has been installed and waits. Activating the waiting worker reloads the page into the new
//! version, only when the person asked for it.

use std::cell::Cell;

use leptos::task::spawn_local;
use wasm_bindgen::JsCast;
use wasm_bindgen::prelude::*;
use wasm_bindgen_futures::JsFuture;
use web_sys::{
    ServiceWorker, ServiceWorkerContainer, ServiceWorkerRegistration, ServiceWorkerState,
};

use leptos::prelude::Set;

use crate::state::AppState;

thread_local! {
    static RELOAD_REQUESTED: Cell<bool> = const { Cell::new(false) };
}

fn container() -> Option<ServiceWorkerContainer> {
    let navigator = web_sys::window()?.navigator();
    // Absent in insecure contexts and some embedded browsers: the app still works, just not offline.
    let present = js_sys::Reflect::has(&navigator, &JsValue::from_str("serviceWorker")).ok()?;
    present.then(|| navigator.service_worker())
}

fn log(message: &str) {
    web_sys::console::warn_1(&JsValue::from_str(message));
}

/// Register the service worker and follow its lifecycle.
pub fn register(state: AppState) {
    let Some(container) = container() else {
        log("service workers are unavailable: Veil will not work offline here");
        return;
    };
    state.offline_ready.set(container.controller().is_some());

    let on_controller_change = Closure::<dyn FnMut()>::new(move || {
        if RELOAD_REQUESTED.with(Cell::get) {
            if let Some(window) = web_sys::window() {
                let _ = window.location().reload();
            }
        } else {
            state.offline_ready.set(true);
        }
    });
    container.set_oncontrollerchange(Some(on_controller_change.as_ref().unchecked_ref()));
    on_controller_change.forget();

    spawn_local(async move {
        match JsFuture::from(container.register("/sw.js")).await {
            Ok(registration) => follow(registration.unchecked_into(), container.clone(), state),
            Err(e) => {
                log(&format!("service worker registration failed: {e:?}"));
                return;
            }
        }
        claim_when_ready(container).await;
    });
}

/// A first install claims the open page when it activates, but `clients.claim()` passes over a page
/// that is still loading (a reload during the install), which then stays uncontrolled, and so not
/// offline-ready, until its next navigation. Once a worker is active and this page is running, ask it
/// to claim again; a page it already controls is left as it is. The request names the page's
/// scripts (content-hashed, so they name its build): a worker of another build (an old one still
/// active after a reload that bypassed it) does not claim a page it did not build.
async fn claim_when_ready(container: ServiceWorkerContainer) {
    let Ok(ready) = container.ready() else { return };
    let Ok(registration) = JsFuture::from(ready).await else {
        return;
    };
    let Ok(registration) = registration.dyn_into::<ServiceWorkerRegistration>() else {
        return;
    };
    if container.controller().is_some() {
        return;
    }
    let scripts = js_sys::Array::new();
    if let Some(list) = web_sys::window()
        .and_then(|w| w.document())
        .and_then(|d| d.query_selector_all("script[src]").ok())
    {
        for i in 0..list.length() {
            if let Some(src) = list
                .item(i)
                .and_then(|n| n.dyn_into::<web_sys::Element>().ok())
                .and_then(|e| e.get_attribute("src"))
            {
                scripts.push(&JsValue::from_str(&src));
            }
        }
    }
    let message = js_sys::Object::new();
    let _ = js_sys::Reflect::set(&message, &"kind".into(), &"claim".into());
    let _ = js_sys::Reflect::set(&message, &"scripts".into(), &scripts);
    if let Some(active) = registration.active()
        && let Err(e) = active.post_message(&message)
    {
        log(&format!(
            "could not ask the service worker to control this page: {e:?}"
        ));
    }
}

fn follow(
    registration: ServiceWorkerRegistration,
    container: ServiceWorkerContainer,
    state: AppState,
) {
    if registration.waiting().is_some() && container.controller().is_some() {
        state.update_ready.set(true);
    }
    let reg = registration.clone();
    let on_update_found = Closure::<dyn FnMut()>::new(move || {
        let Some(installing) = reg.installing() else {
            return;
        };
        let worker = installing.clone();
        let container = container.clone();
        let on_state = Closure::<dyn FnMut()>::new(move || {
            // A worker that installs while another controls the page is a new version.
            if worker.state() == ServiceWorkerState::Installed && container.controller().is_some() {
                state.update_ready.set(true);
            }
        });
        installing.set_onstatechange(Some(on_state.as_ref().unchecked_ref()));
        on_state.forget();
    });
    registration.set_onupdatefound(Some(on_update_found.as_ref().unchecked_ref()));
    on_update_found.forget();
}

/// Ask the waiting service worker to take over; the page reloads when it does.
pub fn activate_waiting() {
    let Some(container) = container() else { return };
    spawn_local(async move {
        let Ok(registration) = JsFuture::from(container.get_registration()).await else {
            return;
        };
        let Ok(registration) = registration.dyn_into::<ServiceWorkerRegistration>() else {
            return;
        };
        if let Some(waiting) = registration.waiting() {
            RELOAD_REQUESTED.with(|r| r.set(true));
            post_skip_waiting(&waiting);
        }
    });
}

fn post_skip_waiting(worker: &ServiceWorker) {
    if let Err(e) = worker.post_message(&JsValue::from_str("skip-waiting")) {
        log(&format!("could not activate the new version: {e:?}"));
    }
}
