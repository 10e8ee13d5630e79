//! Fuzz the whole pipeline (sniffed format, strict profile, fixed seed): never a panic.
//! `cargo +nightly fuzz run deidentify -- -max_total_time=60`
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let mut o = veil_mesh::Options::default();
    o.seed = Some(0);
    o.limits = veil_mesh::Limits { max_triangles: 1 << 16, max_vertices: 1 << 16 };
    let _ = veil_mesh::deidentify(data, veil_mesh::FormatHint::Auto, &o);
});
