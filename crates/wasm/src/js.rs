//! Reading JavaScript arguments and writing JavaScript results.
//!
//! Everything that crosses the boundary is checked here, so that a wrong type from a caller is a
//! `bad-argument` [`VeilError`] naming the argument, never a panic or a silent coercion.

use js_sys::{Array, ArrayBuffer, Function, Promise, Reflect, Uint8Array};
use serde::Serialize;
use serde::de::DeserializeOwned;
use wasm_bindgen::{JsCast, JsValue};

use crate::error::VeilError;

/// True for `undefined` and `null` (an omitted optional argument or field).
pub fn is_absent(v: &JsValue) -> bool {
    v.is_undefined() || v.is_null()
}

/// Bytes from a `Uint8Array` (Node's `Buffer` is one) or an `ArrayBuffer`.
pub fn bytes(v: &JsValue, what: &str) -> Result<Vec<u8>, VeilError> {
    if let Some(a) = v.dyn_ref::<Uint8Array>() {
        return Ok(a.to_vec());
    }
    if let Some(b) = v.dyn_ref::<ArrayBuffer>() {
        return Ok(Uint8Array::new(b).to_vec());
    }
    Err(VeilError::argument(format!("{what} must be a Uint8Array")))
}

/// Text from a string, or UTF-8 bytes from a `Uint8Array`.
pub fn text(v: &JsValue, what: &str) -> Result<String, VeilError> {
    if let Some(s) = v.as_string() {
        return Ok(s);
    }
    if v.is_instance_of::<Uint8Array>() || v.is_instance_of::<ArrayBuffer>() {
        return String::from_utf8(bytes(v, what)?)
            .map_err(|_| VeilError::argument(format!("{what} is not UTF-8 text")));
    }
    Err(VeilError::argument(format!(
        "{what} must be a string or a Uint8Array"
    )))
}

/// An array of byte arrays.
pub fn byte_list(v: &JsValue, what: &str) -> Result<Vec<Vec<u8>>, VeilError> {
    if !Array::is_array(v) {
        return Err(VeilError::argument(format!(
            "{what} must be an array of Uint8Array"
        )));
    }
    Array::from(v)
        .iter()
        .enumerate()
        .map(|(i, item)| bytes(&item, &format!("{what}[{i}]")))
        .collect()
}

/// Field `name` of an options object (`undefined` when the options are absent).
pub fn field(obj: &JsValue, name: &str) -> Result<JsValue, VeilError> {
    if is_absent(obj) {
        return Ok(JsValue::UNDEFINED);
    }
    if !obj.is_object() {
        return Err(VeilError::argument(format!(
            "options must be an object, not {}",
            type_name(obj)
        )));
    }
    Reflect::get(obj, &name.into())
        .map_err(|_| VeilError::argument(format!("cannot read option `{name}`")))
}

/// An optional function field (`onProgress`).
pub fn function_field(obj: &JsValue, name: &str) -> Result<Option<Function>, VeilError> {
    let v = field(obj, name)?;
    if is_absent(&v) {
        return Ok(None);
    }
    v.dyn_into::<Function>()
        .map(Some)
        .map_err(|_| VeilError::argument(format!("{name} must be a function")))
}

/// An optional string field.
pub fn string_field(obj: &JsValue, name: &str) -> Result<Option<String>, VeilError> {
    let v = field(obj, name)?;
    if is_absent(&v) {
        return Ok(None);
    }
    v.as_string()
        .map(Some)
        .ok_or_else(|| VeilError::argument(format!("{name} must be a string")))
}

/// An optional non-negative integer field, from a `number` (a safe integer) or a `bigint`.
pub fn u64_field(obj: &JsValue, name: &str) -> Result<Option<u64>, VeilError> {
    let v = field(obj, name)?;
    if is_absent(&v) {
        return Ok(None);
    }
    to_u64(&v, name).map(Some)
}

/// A non-negative integer from a `number` (a safe integer) or a `bigint` (up to 2^64 - 1).
pub fn to_u64(v: &JsValue, what: &str) -> Result<u64, VeilError> {
    let bad = || {
        VeilError::argument(format!(
            "{what} must be a non-negative integer (number or bigint)"
        ))
    };
    if let Some(n) = v.as_f64() {
        // Number.MAX_SAFE_INTEGER: above it a number no longer names one integer.
        if n.fract() == 0.0 && (0.0..=9_007_199_254_740_991.0).contains(&n) {
            return Ok(n as u64);
        }
        return Err(bad());
    }
    if v.is_bigint() {
        return u64::try_from(v.clone()).map_err(|_| bad());
    }
    Err(bad())
}

/// Deserialise a plain object with serde-wasm-bindgen; shape errors are `bad-argument`.
pub fn from_js<T: DeserializeOwned>(v: JsValue, what: &str) -> Result<T, VeilError> {
    serde_wasm_bindgen::from_value(v).map_err(|e| VeilError::argument(format!("{what}: {e}")))
}

/// A report as a plain object: exactly the JSON the CLI prints, parsed. The library's value goes
/// through `serde_json` (as in the CLI) and `JSON.parse`, so an `f32` such as Taubin's `mu` reads
/// `-0.53` as in `veil deid --report`, not its widened `-0.5299999713897705`.
pub fn to_js<T: Serialize + ?Sized>(value: &T) -> Result<JsValue, VeilError> {
    let json = serde_json::to_string(value)
        .map_err(|e| VeilError::new("internal", format!("result not serialisable: {e}")))?;
    js_sys::JSON::parse(&json).map_err(|_| VeilError::new("internal", "result is not JSON"))
}

/// A new `Uint8Array` holding a copy of `bytes`.
pub fn uint8(bytes: &[u8]) -> JsValue {
    Uint8Array::from(bytes).into()
}

/// Set `obj[name] = value` on an object this module created.
pub fn set(obj: &JsValue, name: &str, value: &JsValue) {
    // Fresh plain objects are extensible and not proxies: Reflect.set cannot fail on them.
    let _ = Reflect::set(obj, &name.into(), value);
}

/// A settled promise: resolved with the value or rejected with the error (a `VeilError`, or an
/// exception a caller's callback threw, unchanged).
pub fn settle<E: Into<JsValue>>(result: Result<JsValue, E>) -> Promise {
    match result {
        Ok(v) => Promise::resolve(&v),
        Err(e) => Promise::reject(&e.into()),
    }
}

/// `typeof`-like name of a value, for messages.
pub fn type_name(v: &JsValue) -> String {
    v.js_typeof()
        .as_string()
        .unwrap_or_else(|| "unknown".into())
}

/// The current time from the JavaScript clock, Unix seconds.
pub fn unix_now() -> u64 {
    (js_sys::Date::now() / 1000.0).floor().max(0.0) as u64
}
