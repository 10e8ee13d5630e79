//! Time the strict profile on an STL file, with and without the Hausdorff report, and each stage
//! of the run (native figures for docs/benchmarks.md).
//! `cargo run --release -p veil-mesh --example time_pipeline -- IN.stl [RUNS] [THREADS]`
#![allow(missing_docs)]

use std::process::ExitCode;
use std::time::Instant;

use veil_mesh::Coded;
use veil_mesh::{FormatHint, Options, Profile};

#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// Stage boundaries as `deidentify_with` reports them (see `pipeline.rs`).
const STAGES: [(f32, &str); 12] = [
    (0.0, "read + weld"),
    (0.2, "reframe"),
    (0.25, "deface detect"),
    (0.35, "deface cut + adjacency"),
    (0.4, "taubin"),
    (0.62, "noise"),
    (0.66, "quantise"),
    (0.67, "hausdorff: input to output"),
    (0.8, "area/volume out"),
    (0.81, "shuffle (draw)"),
    (0.85, "write (shuffled)"),
    (0.9, "hausdorff: output to input + report"),
];

fn main() -> ExitCode {
    let Some(path) = std::env::args().nth(1) else {
        eprintln!("usage: time_pipeline IN.stl [RUNS] [THREADS]");
        return ExitCode::FAILURE;
    };
    let runs: usize = std::env::args()
        .nth(2)
        .and_then(|r| r.parse().ok())
        .unwrap_or(3);
    if let Some(t) = std::env::args().nth(3).and_then(|t| t.parse().ok()) {
        veil_mesh::set_max_threads(t);
    }
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
        let mut best: Option<(f64, Vec<(f32, f64)>)> = None;
        // Fastest time of each stage over the runs (machines are noisy).
        let mut stage_min = vec![f64::INFINITY; STAGES.len()];
        for _ in 0..runs {
            let t = Instant::now();
            let mut marks: Vec<(f32, f64)> = Vec::new();
            let mut progress = |f: f32| {
                if STAGES.iter().any(|s| s.0 == f) || f == 1.0 {
                    marks.push((f, t.elapsed().as_secs_f64()));
                }
            };
            let r =
                veil_mesh::deidentify_with(&bytes, FormatHint::Stl, &o, &mut progress, &|| false);
            let total = t.elapsed().as_secs_f64();
            match r {
                Ok(d) => {
                    for w in marks.windows(2) {
                        if let Some(i) = STAGES.iter().position(|s| s.0 == w[0].0) {
                            stage_min[i] = stage_min[i].min(w[1].1 - w[0].1);
                        }
                    }
                    if best.as_ref().is_none_or(|b| total < b.0) {
                        best = Some((total, marks));
                    }
                    let r = d.report;
                    println!(
                        "strict hausdorff={hausdorff}: {total:.3} s, {} -> {} triangles, deface {}, out {} bytes, H={:?}",
                        r.triangles_in,
                        r.triangles_out,
                        r.deface.outcome,
                        d.bytes.len(),
                        r.utility.hausdorff.map(|h| (h.max, h.mean, h.p95))
                    );
                }
                Err(e) => {
                    eprintln!("time_pipeline: {}: {e}", e.code());
                    return ExitCode::FAILURE;
                }
            }
        }
        if let Some((total, _)) = best {
            let sum: f64 = stage_min.iter().filter(|t| t.is_finite()).sum();
            println!(
                "  best run {total:.3} s; fastest of each stage (sum {:.1} ms):",
                1000.0 * sum
            );
            for (i, t) in stage_min.iter().enumerate() {
                if t.is_finite() {
                    println!("    {:<26} {:>7.1} ms", STAGES[i].1, 1000.0 * t);
                }
            }
        }
    }
    ExitCode::SUCCESS
}
