//! App-wide state shared through Leptos context: connectivity, service-worker update status, and
//! the outbox's revision and upload progress (written by the background uploader, read by pages).

use std::collections::HashMap;

use leptos::prelude::*;

use crate::error::AppError;

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

/// The last audit entry that could not be recorded, shown to the person until dismissed: an
/// append to the audit chain is never dropped silently.
#[derive(Debug, Clone, Copy)]
pub struct AuditFailure(pub RwSignal<Option<AppError>>);

thread_local! {
    static AUDIT_FAILURE: std::cell::Cell<Option<AuditFailure>> = const { std::cell::Cell::new(None) };
}

impl AuditFailure {
    /// A fresh signal, also kept where [`AuditFailure::report`] finds it from any task.
    pub fn install() -> Self {
        let failure = AuditFailure(RwSignal::new(None));
        AUDIT_FAILURE.with(|f| f.set(Some(failure)));
        failure
    }

    /// Show `error` as the audit entry that was not recorded (from an event handler or a task,
    /// where no reactive context may be at hand). Also logged to the console.
    pub fn report(error: AppError) {
        web_sys::console::error_1(&format!("audit: {}: {}", error.code, error.message).into());
        if let Some(f) = AUDIT_FAILURE.with(std::cell::Cell::get) {
            f.0.set(Some(error));
        }
    }
}
