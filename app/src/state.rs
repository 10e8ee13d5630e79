//! App-wide state shared through Leptos context: connectivity and service-worker update status.

use leptos::prelude::*;

/// State every page may read; written only by `platform` glue.
#[derive(Debug, Clone, Copy)]
pub struct AppState {
    /// Whether the browser reports a network connection.
    pub online: RwSignal<bool>,
    /// A new service worker (a new app version) is installed and waiting.
    pub update_ready: RwSignal<bool>,
    /// The service worker controls this page (the app is available offline).
    pub offline_ready: RwSignal<bool>,
}

impl AppState {
    /// Fresh state: assume online until the browser says otherwise.
    pub fn new() -> Self {
        Self {
            online: RwSignal::new(true),
            update_ready: RwSignal::new(false),
            offline_ready: RwSignal::new(false),
        }
    }
}

impl Default for AppState {
    fn default() -> Self {
        Self::new()
    }
}
