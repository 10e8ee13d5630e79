//! App-wide state shared through Leptos context: connectivity, service-worker update status, and
//! the outbox's revision and upload progress (written by the background uploader, read by pages).

use std::collections::HashMap;

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

/// Bumped whenever the outbox changes, so every view of it re-reads IndexedDB.
#[derive(Debug, Clone, Copy)]
pub struct OutboxRevision(pub RwSignal<u64>);

/// Upload progress per artifact id (0..1), while an upload runs.
#[derive(Debug, Clone, Copy)]
pub struct UploadProgress(pub RwSignal<HashMap<String, f64>>);
