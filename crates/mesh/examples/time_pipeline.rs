//! Time each profile on an STL file, with and without the Hausdorff report (native figures for
//! docs/benchmarks.md). `cargo run --release -p veil-mesh --example time_pipeline -- IN.stl`
#![allow(missing_docs)]

use std::process::ExitCode;
use std::time::Instant;

use veil_mesh::{FormatHint, Options, Profile};

fn main() -> ExitCode {
    let Some(path) = std::env::args().nth(1) else {
        eprintln!("usage: time_pipeline IN.stl");
        return ExitCode::FAILURE;
    };
    let bytes = match std::fs::read(&path) {
        Ok(b) => b,
        Err(e) => {
            eprintln!("time_pipeline: {path}: {e}");
            return ExitCode::FAILURE;
        }
    };
    for hausdorff in [false, true] {
        let mut o = Options::for_profile(Profile::Strict);
        o.hausdorff = hausdorff;
        o.seed = Some(1);
        let t = Instant::now();
        match veil_mesh::deidentify(&bytes, FormatHint::Stl, &o) {
            Ok((out, r)) => println!(
                "strict hausdorff={hausdorff}: {:.3} s, {} -> {} triangles, deface {}, out {} bytes, H={:?}",
                t.elapsed().as_secs_f64(),
                r.triangles_in,
                r.triangles_out,
                r.deface.outcome,
                out.len(),
                r.utility.hausdorff.map(|h| (h.max, h.mean, h.p95))
            ),
            Err(e) => {
                eprintln!("time_pipeline: {}: {e}", e.code());
                return ExitCode::FAILURE;
            }
        }
    }
    ExitCode::SUCCESS
}
