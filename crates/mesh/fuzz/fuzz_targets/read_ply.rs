//! Fuzz the PLY reader: any bytes give a model or a typed error, never a panic or an overflow.
//! `cargo +nightly fuzz run read_ply -- -max_total_time=60`
//!
//! The first byte picks a frame the rest is placed in: raw bytes, header lines between a valid
//! `ply`/`format` start and `end_header` (element counts, properties, keywords), or a body after a
//! valid header in each encoding. From an empty corpus the fuzzer would otherwise spend its time
//! before the magic and `end_header` and never reach the counts and the records.
#![no_main]

use libfuzzer_sys::fuzz_target;

const HEADER: &str = "element vertex 3\nproperty float x\nproperty float y\nproperty float z\n\
                      element face 1\nproperty list uchar int vertex_indices\nend_header\n";

fuzz_target!(|data: &[u8]| {
    let Some((&frame, rest)) = data.split_first() else {
        return;
    };
    let (head, tail): (String, &str) = match frame % 7 {
        0 => (String::new(), ""),
        1 => ("ply\nformat ascii 1.0\n".into(), "\nend_header\n"),
        2 => ("ply\nformat binary_little_endian 1.0\n".into(), "\nend_header\n"),
        3 => ("ply\nformat binary_big_endian 1.0\n".into(), "\nend_header\n"),
        4 => (format!("ply\nformat ascii 1.0\n{HEADER}"), ""),
        5 => (format!("ply\nformat binary_little_endian 1.0\n{HEADER}"), ""),
        _ => (format!("ply\nformat binary_big_endian 1.0\n{HEADER}"), ""),
    };
    let mut bytes = head.into_bytes();
    bytes.extend_from_slice(rest);
    bytes.extend_from_slice(tail.as_bytes());
    let limits = veil_mesh::Limits { max_triangles: 1 << 20, max_vertices: 1 << 20 };
    let _ = veil_mesh::read(&bytes, veil_mesh::FormatHint::Ply, &limits);
});
