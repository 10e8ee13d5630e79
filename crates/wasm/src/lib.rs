//! `@veil/core`: Veil's core for partner web portals, as a WebAssembly npm package.
//!
//! Hospital portals, 3D-printing labs and research platforms embed this module in their own pages
//! (or Web Workers) instead of sending raw data to a server. It is a thin facade: every function
//! parses its JavaScript arguments, calls the same `crates/*` library the `veil` CLI and the app
//! call, and returns the library's result, so a portal gets byte-identical output and the same
//! stable error codes as the CLI. No logic lives here.
//!
//! | JavaScript | library |
//! |---|---|
//! | `deidentifyModel` | `veil-mesh` |
//! | `verifyReading`, `boundChallenge` | `veil-trust` |
//! | `decideConsent`, `exportFhirConsent`, `importFhirConsent`, `consentErasure`, `breachSchedule` | `veil-consent` |
//! | `pseudonym`, `sealArtifact`, `openArtifact` | `veil-seal` |
//! | `verifyAuditLog` | `veil-audit` |
//!
//! Where the host has WebCrypto (`globalThis.crypto.subtle`: browsers, Node >= 20),
//! `verifyReading` and `sealArtifact` hand their ECDSA, SHA-256 and AES-256-GCM steps to it and fall
//! back to the same primitives in Rust without it ([`webcrypto`]); the results do not depend on it.
//!
//! Errors: every function throws (or rejects with) a `VeilError`, an `Error` with `name ===
//! "VeilError"` and a stable `code` (see [`error`]). The package, its API with examples, the
//! error codes and the size budget are documented in `README.md`; it is built with `cargo xtask
//! npm` (wasm-pack for `web`, `bundler` and `nodejs`, then the pinned `wasm-opt`).

use wasm_bindgen::prelude::wasm_bindgen;

mod audit;
mod consent;
pub mod error;
mod js;
mod mesh;
mod seal;
mod trust;
mod webcrypto;

pub use error::VeilError;

/// The package version (the workspace version).
#[wasm_bindgen]
pub fn version() -> String {
    env!("CARGO_PKG_VERSION").to_owned()
}

/// True if `value` is a `VeilError` thrown by this package (an `Error` named `VeilError` with a
/// string `code`).
#[wasm_bindgen(js_name = isVeilError, unchecked_return_type = "value is VeilError")]
pub fn is_veil_error(
    #[wasm_bindgen(unchecked_param_type = "unknown")] value: wasm_bindgen::JsValue,
) -> bool {
    use wasm_bindgen::JsCast;
    value.dyn_ref::<js_sys::Error>().is_some_and(|e| {
        e.name() == "VeilError"
            && js_sys::Reflect::get(&value, &"code".into()).is_ok_and(|c| c.is_string())
    })
}

#[wasm_bindgen(typescript_custom_section)]
const TS_TYPES: &str = include_str!("types.d.ts");
