//! Criterion benchmarks of the pipeline on a synthetic head (no patient data): strict without and
//! with the Hausdorff report, and reading alone. `cargo bench -p veil-mesh` (size with
//! `VEIL_BENCH_TRIANGLES`, default 200 000; the figure uses 1 000 000).
#![allow(missing_docs, clippy::unwrap_used)]

use criterion::{Criterion, criterion_group, criterion_main};
use veil_mesh::{FormatHint, Options, Profile, synth};

fn pipeline(c: &mut Criterion) {
    let n: u64 = std::env::var("VEIL_BENCH_TRIANGLES")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(200_000);
    let head = synth::head(&synth::HeadSpec::default().with_triangles(n));
    let stl = veil_mesh::write::write_stl(&head.mesh);
    let mut g = c.benchmark_group(format!("mesh-{}k", head.mesh.triangles.len() / 1000));
    g.sample_size(10);
    g.bench_function("read+weld", |b| {
        b.iter(|| veil_mesh::read(&stl, FormatHint::Stl, &Default::default()).unwrap())
    });
    for hausdorff in [false, true] {
        let mut o = Options::for_profile(Profile::Strict);
        o.hausdorff = hausdorff;
        o.seed = Some(1);
        let name = if hausdorff {
            "strict+hausdorff"
        } else {
            "strict"
        };
        g.bench_function(name, |b| {
            b.iter(|| veil_mesh::deidentify(&stl, FormatHint::Stl, &o).unwrap())
        });
    }
    g.finish();
}

criterion_group!(benches, pipeline);
criterion_main!(benches);
