//! Where a patient's data lives in this browser, and how a kiosk session removes all of it.
//!
//! Patient data is kept under one prefix in `localStorage` (`veil.patient.`), in IndexedDB databases
//! whose names start with `veil-patient`, and in caches whose names start with `veil-patient`; the app
//! shell cache (`veil-shell-*`) and device/manufacturer configuration hold nothing about a person.
//! Ending a kiosk session deletes every patient location and the whole `sessionStorage`, and empties
//! the readings kept beside the device trust configuration (`veil-devices`/`readings` and
//! `unverified`): they are the patient's measurements, while roots and counters stay (they
//! describe devices, not people).

use wasm_bindgen::JsCast;
use wasm_bindgen::prelude::*;
use wasm_bindgen_futures::JsFuture;

use super::js_error_text;
use crate::error::AppError;

/// Prefix of every patient key in `localStorage`.
pub const LOCAL_PREFIX: &str = "veil.patient.";
/// Prefix of patient IndexedDB databases and Cache Storage caches.
pub const STORE_PREFIX: &str = "veil-patient";

fn local_storage() -> Option<web_sys::Storage> {
    web_sys::window()?.local_storage().ok().flatten()
}

/// Read a patient value.
pub fn load(key: &str) -> Option<String> {
    local_storage()?
        .get_item(&format!("{LOCAL_PREFIX}{key}"))
        .ok()
        .flatten()
}

/// Store a patient value; `false` when the browser refused (private mode, quota).
pub fn save(key: &str, value: &str) -> bool {
    local_storage()
        .map(|s| s.set_item(&format!("{LOCAL_PREFIX}{key}"), value).is_ok())
        .unwrap_or(false)
}

/// End a kiosk patient session: every patient store wiped, then a clean document at the start
/// page ([`restart_clean`]). Staff's "End patient session" and the idle kiosk's end both do this.
pub async fn end_kiosk_session() -> Result<(), AppError> {
    wipe().await?;
    restart_clean()
}

/// Delete everything of the current patient from this browser's storage.
pub async fn wipe() -> Result<(), AppError> {
    let window = web_sys::window().ok_or_else(|| AppError::browser("no window"))?;
    if let Some(storage) = local_storage() {
        let len = storage.length().unwrap_or(0);
        let keys: Vec<String> = (0..len)
            .filter_map(|i| storage.key(i).ok().flatten())
            .collect();
        for key in keys.iter().filter(|k| k.starts_with(LOCAL_PREFIX)) {
            storage
                .remove_item(key)
                .map_err(|e| AppError::storage(js_error_text(&e)))?;
        }
    }
    if let Ok(Some(session)) = window.session_storage() {
        session
            .clear()
            .map_err(|e| AppError::storage(js_error_text(&e)))?;
    }
    if let Ok(Some(idb)) = window.indexed_db() {
        // A browser that cannot list its databases still loses every one the app creates.
        let names = database_names(&idb)
            .await?
            .unwrap_or_else(|| KNOWN_PATIENT_DATABASES.map(str::to_owned).to_vec());
        for name in names {
            if name.starts_with(STORE_PREFIX) {
                let request = idb
                    .delete_database(&name)
                    .map_err(|e| AppError::storage(js_error_text(&e)))?;
                super::idb::wait(&request).await?;
            }
        }
    }
    clear_device_readings().await?;
    if let Ok(caches) = window.caches() {
        let names = JsFuture::from(caches.keys())
            .await
            .map_err(|e| AppError::storage(js_error_text(&e)))?;
        for name in js_sys::Array::from(&names)
            .iter()
            .filter_map(|n| n.as_string())
        {
            if name.starts_with(STORE_PREFIX) {
                JsFuture::from(caches.delete(&name))
                    .await
                    .map_err(|e| AppError::storage(js_error_text(&e)))?;
            }
        }
    }
    Ok(())
}

/// After a wipe, start over in a fresh document at the start page (`/`), so nothing of the patient
/// stays in memory either: every page's signals, the paired devices and their readings, the
/// de-identified model and its report, the mesh worker and its heap, the outbox views all belong to
/// this document and its wasm instance, which a navigation discards. The navigation replaces the
/// current history entry; should the browser later restore this document from its back/forward
/// cache (the Back button), it reloads instead of showing what it held.
pub fn restart_clean() -> Result<(), AppError> {
    let window = web_sys::window().ok_or_else(|| AppError::browser("no window"))?;
    let on_show = Closure::<dyn Fn(web_sys::Event)>::new(|event: web_sys::Event| {
        let restored = js_sys::Reflect::get(&event, &JsValue::from_str("persisted"))
            .ok()
            .and_then(|p| p.as_bool())
            .unwrap_or(false);
        if restored && let Some(window) = web_sys::window() {
            let _ = window.location().replace("/");
        }
    });
    window
        .add_event_listener_with_callback("pageshow", on_show.as_ref().unchecked_ref())
        .map_err(|e| AppError::browser(js_error_text(&e)))?;
    // This document is being left; the listener must live as long as it does.
    on_show.forget();
    window
        .location()
        .replace("/")
        .map_err(|e| AppError::browser(js_error_text(&e)))
}

/// The names of this origin's IndexedDB databases.
/// The patient databases the app creates, for a browser that cannot list its databases
/// (`indexedDB.databases()` came to Firefox in version 126): deleting one that does not exist
/// does nothing.
const KNOWN_PATIENT_DATABASES: [&str; 1] = [OUTBOX_DB];

/// The outbox's database (`crate::outbox::DB_NAME`): named here, where patient storage is laid
/// out, so this module need not import the outbox.
pub const OUTBOX_DB: &str = "veil-patient-outbox";

/// The names of this origin's databases; `None` when the browser cannot list them.
async fn database_names(idb: &web_sys::IdbFactory) -> Result<Option<Vec<String>>, AppError> {
    // `indexedDB.databases()` is not in web-sys yet; call it by name.
    let Some(databases) = js_sys::Reflect::get(idb, &JsValue::from_str("databases"))
        .ok()
        .and_then(|f| f.dyn_into::<js_sys::Function>().ok())
    else {
        return Ok(None);
    };
    let promise: js_sys::Promise = databases
        .call0(idb)
        .map_err(|e| AppError::storage(js_error_text(&e)))?
        .dyn_into()
        .map_err(|_| AppError::browser("indexedDB.databases() returned no promise"))?;
    let list = JsFuture::from(promise)
        .await
        .map_err(|e| AppError::storage(js_error_text(&e)))?;
    Ok(Some(
        js_sys::Array::from(&list)
            .iter()
            .filter_map(|info| {
                js_sys::Reflect::get(&info, &JsValue::from_str("name"))
                    .ok()?
                    .as_string()
            })
            .collect(),
    ))
}

/// Empty the patient's readings (verified and unverified) in the device database, if it exists.
async fn clear_device_readings() -> Result<(), AppError> {
    use super::storage::DB_NAME;
    let Some(idb) = web_sys::window().and_then(|w| w.indexed_db().ok().flatten()) else {
        return Ok(());
    };
    // Opening a database that does not exist would create it empty: only touch an existing one
    // (where the browser cannot tell, an empty one is harmless: the Devices page sets it up).
    if database_names(&idb)
        .await?
        .is_some_and(|names| !names.iter().any(|n| n == DB_NAME))
    {
        return Ok(());
    }
    let request = idb
        .open(DB_NAME)
        .map_err(|e| AppError::storage(js_error_text(&e)))?;
    let db: web_sys::IdbDatabase = super::idb::wait(&request)
        .await
        .map_err(AppError::from)?
        .dyn_into()
        .map_err(|_| AppError::storage("not a database"))?;
    // The verified and the unverified readings.
    for name in super::storage::PATIENT_STORES {
        if !db.object_store_names().contains(name) {
            continue;
        }
        let store = db
            .transaction_with_str_and_mode(name, web_sys::IdbTransactionMode::Readwrite)
            .and_then(|t| t.object_store(name))
            .map_err(|e| AppError::storage(js_error_text(&e)))?;
        let cleared = store
            .clear()
            .map_err(|e| AppError::storage(js_error_text(&e)))?;
        super::idb::wait(&cleared).await.map_err(AppError::from)?;
    }
    db.close();
    Ok(())
}
