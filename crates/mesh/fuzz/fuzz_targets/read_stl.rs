//! Fuzz the STL reader: any bytes give a model or a typed error, never a panic.
//! `cargo +nightly fuzz run read_stl -- -max_total_time=60`
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let limits = veil_mesh::Limits { max_triangles: 1 << 20, max_vertices: 1 << 20 };
    let _ = veil_mesh::read(data, veil_mesh::FormatHint::Stl, &limits);
});
