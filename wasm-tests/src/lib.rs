//! Runs the pure crates' behaviour inside a real browser (wasm32 in headless Chromium), where
//! randomness, time and memory differ from native. The tests are in `tests/`.
