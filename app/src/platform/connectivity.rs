//! Online/offline status from `navigator.onLine` and the window's `online`/`offline` events.

use leptos::prelude::*;

use crate::state::AppState;

/// Keep `state.online` in step with the browser.
pub fn watch(state: AppState) {
    if let Some(window) = web_sys::window() {
        state.online.set(window.navigator().on_line());
    }
    let on = window_event_listener_untyped("online", move |_| state.online.set(true));
    let off = window_event_listener_untyped("offline", move |_| state.online.set(false));
    // The listeners live as long as the app.
    std::mem::forget(on);
    std::mem::forget(off);
}
