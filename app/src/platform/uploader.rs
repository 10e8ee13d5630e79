//! Runs the outbox in the background of the whole app: whenever the browser is online it uploads
//! what is due, on a short timer, at once when the connection returns, and when the service worker
//! relays a Background Sync. One flush runs at a time.

use std::cell::Cell;
use std::rc::Rc;
use std::time::Duration;

use leptos::prelude::*;
use leptos::task::spawn_local;
use wasm_bindgen::JsCast;
use wasm_bindgen::prelude::*;

use crate::outbox;
use crate::state::{AppState, OutboxRevision, UploadProgress};

/// Start the background uploader.
pub fn start(state: AppState, revision: OutboxRevision, progress: UploadProgress) {
    let running = Rc::new(Cell::new(false));
    let kick = {
        let running = running.clone();
        move || {
            if running.get() || !state.online.get_untracked() {
                return;
            }
            running.set(true);
            let running = running.clone();
            spawn_local(async move {
                let report = move |id: &str, f: f64| {
                    progress.0.update(|p| {
                        p.insert(id.to_string(), f);
                    });
                };
                let result = outbox::flush(report).await;
                running.set(false);
                if let Err(e) = result {
                    web_sys::console::warn_1(&JsValue::from_str(&format!("outbox: {e}")));
                }
                revision.0.update(|r| *r += 1);
            });
        }
    };
    let on_timer = kick.clone();
    // The interval lives as long as the app; its handle is never cleared.
    let _ = set_interval_with_handle(on_timer, Duration::from_millis(1500));
    Effect::new({
        let kick = kick.clone();
        move |_| {
            if state.online.get() {
                // Keep the recipient's key fresh so sealing works offline later.
                spawn_local(async {
                    let _ = outbox::refresh_recipient().await;
                });
                kick();
            }
        }
    });
    if let Some(window) = web_sys::window() {
        let container = window.navigator().service_worker();
        let on_message =
            Closure::<dyn FnMut(web_sys::MessageEvent)>::new(move |ev: web_sys::MessageEvent| {
                if ev.data().as_string().as_deref() == Some("veil-outbox-flush") {
                    kick();
                }
            });
        container.set_onmessage(Some(on_message.as_ref().unchecked_ref()));
        on_message.forget();
    }
}
