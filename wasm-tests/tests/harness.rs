//! The harness itself: these tests prove the suite really runs in a browser page (not Node, not
//! native), so the crate tests beside it exercise the same wasm32 environment as the PWA.
#![cfg(target_arch = "wasm32")]

use wasm_bindgen::JsValue;
use wasm_bindgen_test::*;

wasm_bindgen_test_configure!(run_in_browser);

#[wasm_bindgen_test]
fn runs_in_a_browser_page_with_web_crypto() {
    let global = js_sys::global();
    let has = |name: &str| js_sys::Reflect::has(&global, &JsValue::from_str(name)).unwrap_or(false);
    assert!(has("document"), "a page, not a worker or Node");
    assert!(has("crypto"), "WebCrypto is there for getrandom");
}

#[wasm_bindgen_test]
fn getrandom_draws_from_the_browser() {
    let mut a = [0u8; 32];
    let mut b = [0u8; 32];
    getrandom::fill(&mut a).unwrap();
    getrandom::fill(&mut b).unwrap();
    assert_ne!(a, b);
    assert_ne!(a, [0u8; 32]);
}
