//! `veil-mesh` in a real browser page (wasm32, headless Chromium).
#![cfg(target_arch = "wasm32")]
wasm_bindgen_test::wasm_bindgen_test_configure!(run_in_browser);
// The mesh pipeline in the browser: the same library the Models page's worker runs, with
// `getrandom` backed by `crypto.getRandomValues`.

use veil_core::Coded;
use veil_mesh::{FormatHint, Options, Profile, synth};
use wasm_bindgen_test::wasm_bindgen_test;

#[wasm_bindgen_test]
#[allow(clippy::unwrap_used)]
fn head_is_defaced_in_the_browser() {
    let head = synth::head(&synth::HeadSpec {
        neck: true,
        lon: 100,
        lat: 50,
        ..Default::default()
    });
    let posed = synth::transformed(
        &head.mesh,
        synth::rotation_from_quaternion([0.3, -0.5, 0.2, 0.7]),
        [10.0, 20.0, 300.0],
    );
    let stl = veil_mesh::write::write_stl(&posed);
    let mut progress = Vec::new();
    let mut cb = |f: f32| progress.push(f);
    let out = veil_mesh::deidentify_with(
        &stl,
        FormatHint::Stl,
        &Options::for_profile(Profile::Strict),
        &mut cb,
        &|| false,
    )
    .unwrap();
    assert_eq!(out.report.deface.outcome, "defaced");
    assert!(out.report.utility.watertight_out);
    let h = out.report.utility.hausdorff.unwrap();
    assert!(h.samples > 0 && h.mean <= h.p95 && h.p95 <= h.max);
    let flagged = out
        .report
        .flags
        .iter()
        .any(|f| f.code == "hausdorff-over-bound");
    assert_eq!(flagged, h.max > out.report.bound_mm);
    assert_eq!(progress.last(), Some(&1.0));
    // Fresh randomness from crypto.getRandomValues: a second release differs.
    let again = veil_mesh::deidentify(&stl, FormatHint::Stl, &Options::default()).unwrap();
    assert_ne!(out.bytes, again.0);
}

#[wasm_bindgen_test]
#[allow(clippy::unwrap_used)]
fn bad_input_is_a_typed_error_in_the_browser() {
    let err = veil_mesh::deidentify(
        b"solid x\nfacet normal 0 0 1\n",
        FormatHint::Stl,
        &Options::default(),
    )
    .unwrap_err();
    assert_eq!(err.code(), "truncated-file");
}
