//! `veil_trust::sig` and the standard measurement decoders in a real browser page (wasm32,
//! headless Chromium): the same SIG byte sequences and RACP sessions as the native tests
//! (`crates/trust/tests/cases/sig.rs`, included here), so the value path the Devices page's
//! `characteristicvaluechanged` handler feeds is proven where it runs.
#![cfg(target_arch = "wasm32")]
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
wasm_bindgen_test::wasm_bindgen_test_configure!(run_in_browser);

use wasm_bindgen_test::wasm_bindgen_test as test;

include!("../../crates/trust/tests/cases/sig.rs");
