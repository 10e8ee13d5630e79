//! Benchmark fixtures for `cargo xtask bench trust|seal`, and thin wasm-bindgen exports of them for
//! the bench page (`e2e/bench/`).
//!
//! The same fixture code runs in both places, so the native figures (the `native` example) and the
//! browser figures (headless Chromium, side by side with WebCrypto on one page) measure the same
//! work: a reading signed by a provisioned device with its chain cached ([`trust`]), and a 50 MB
//! artifact built, ES256-signed and HPKE-sealed, in wasm or with WebCrypto's AES-256-GCM
//! ([`seal`]). Not a published API: nothing but the benchmarks uses this crate.

pub mod seal;
pub mod trust;

use wasm_bindgen::JsError;

/// Any error as a JavaScript `Error` carrying its message (the bench page prints it).
fn js_error(e: impl std::fmt::Display) -> JsError {
    JsError::new(&e.to_string())
}
