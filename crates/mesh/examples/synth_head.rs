//! Write a synthetic head as binary STL (benchmark and demo input; no patient data).
//!
//! `cargo run --release -p veil-mesh --example synth_head -- OUT.stl [TRIANGLES] [--neck]`
#![allow(missing_docs)]

use std::process::ExitCode;

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let Some(out) = args.first() else {
        eprintln!("usage: synth_head OUT.stl [TRIANGLES] [--neck]");
        return ExitCode::FAILURE;
    };
    let triangles: u64 = args
        .get(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or(1_000_000);
    let spec = veil_mesh::synth::HeadSpec {
        neck: args.iter().any(|a| a == "--neck"),
        ..Default::default()
    }
    .with_triangles(triangles);
    let head = veil_mesh::synth::head(&spec);
    let bytes = veil_mesh::write::write_stl(&head.mesh);
    if let Err(e) = std::fs::write(out, &bytes) {
        eprintln!("synth_head: cannot write {out}: {e}");
        return ExitCode::FAILURE;
    }
    println!(
        "{out}: {} triangles, {} bytes",
        head.mesh.triangles.len(),
        bytes.len()
    );
    ExitCode::SUCCESS
}
