//! Thin browser glue. Nothing here decides anything: it reports browser events into `AppState`,
//! talks GATT to devices and keeps what must survive a reload in IndexedDB.

pub mod barcode;
pub mod bluetooth;
pub mod connectivity;
pub mod download;
pub mod http;
pub mod idb;
pub mod patient;
pub mod service_worker;
pub mod storage;
pub mod uploader;
pub mod webcrypto;
pub mod worker;

use wasm_bindgen::JsValue;

/// A readable text for a JS exception or rejection value: `Name: message` for `Error` and
/// `DOMException` objects, the string itself for strings, a debug dump otherwise.
pub fn js_error_text(value: &JsValue) -> String {
    if let Some(s) = value.as_string() {
        return s;
    }
    let field = |name: &str| {
        js_sys::Reflect::get(value, &JsValue::from_str(name))
            .ok()
            .and_then(|v| v.as_string())
    };
    match (field("name"), field("message")) {
        (Some(name), Some(message)) => format!("{name}: {message}"),
        (None, Some(message)) => message,
        _ => format!("{value:?}"),
    }
}

/// The `name` of a JS exception (`NotFoundError`, `NetworkError`, ...), if it has one.
pub fn js_error_name(value: &JsValue) -> Option<String> {
    js_sys::Reflect::get(value, &JsValue::from_str("name"))
        .ok()
        .and_then(|v| v.as_string())
}
