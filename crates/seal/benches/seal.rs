//! Sealing and opening a 50 MB artifact (issue target: sealing at most 0.2 s native).
//!
//! `cargo bench -p veil-seal --bench seal`; results go to `docs/benchmarks.md`.
#![allow(missing_docs, clippy::unwrap_used, clippy::expect_used)]

use std::time::Duration;

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use veil_seal::fixtures::{CONTENT_NAME, Demo, pseudo_random};
use veil_seal::{ArtifactBuilder, open, seal_artifact};

const SIZE: usize = 50 * 1024 * 1024;

fn builder(demo: &Demo, model: Vec<u8>) -> ArtifactBuilder {
    let mut b = demo.builder(0);
    b.add_file(CONTENT_NAME, model).unwrap();
    b
}

fn bench(c: &mut Criterion) {
    let model = pseudo_random(SIZE);
    let demo = Demo::new().unwrap();
    let (client, recipient) = (&demo.client, &demo.recipient);
    let mut g = c.benchmark_group("seal_50mb");
    g.sample_size(10)
        .measurement_time(Duration::from_secs(15))
        .throughput(Throughput::Bytes(SIZE as u64));

    // The whole client-side step: hash contents, build CBOR, ES256-sign, HPKE-seal.
    g.bench_function("build+sign+seal", |b| {
        b.iter_batched(
            || builder(&demo, model.clone()),
            |bld| seal_artifact(bld.sign(client).unwrap(), recipient.public_key()).unwrap(),
            criterion::BatchSize::LargeInput,
        )
    });
    let signed = builder(&demo, model.clone()).sign(client).unwrap();
    g.bench_function("hpke-seal-only", |b| {
        b.iter_batched(
            || signed.clone(),
            |s| seal_artifact(s, recipient.public_key()).unwrap(),
            criterion::BatchSize::LargeInput,
        )
    });
    let envelope = seal_artifact(signed, recipient.public_key())
        .unwrap()
        .into_bytes();
    g.bench_function("open+verify", |b| {
        b.iter(|| open(&envelope, recipient, None).unwrap())
    });
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
