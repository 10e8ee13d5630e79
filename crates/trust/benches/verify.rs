//! Verification latency per reading with the chain cached (the steady state of a paired
//! device), and the cost of a first, uncached chain validation. Target: under 2 ms native.
//! Run: `cargo bench -p veil-trust --bench verify`.
#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]

use criterion::{Criterion, black_box, criterion_group, criterion_main};
use veil_trust::Verifier;
use veil_trust::fixtures::demo_device;

const NOW: u64 = 1_790_000_000;

fn bench(c: &mut Criterion) {
    let (maker, device) = demo_device(NOW).unwrap();
    let nonce = [7u8; 32];
    let cose = device.reading("bp:120/80/93,pulse=70", 51, &nonce).unwrap();
    let chain = device.chain;
    let store = maker.store;
    let verifier = Verifier::new(store.clone());
    verifier
        .verify(&cose, &chain, Some(&nonce), Some(50), NOW)
        .unwrap();

    c.bench_function("verify reading (chain cached)", |b| {
        b.iter(|| {
            verifier
                .verify(black_box(&cose), &chain, Some(&nonce), Some(50), NOW)
                .unwrap()
        })
    });
    c.bench_function(
        "verify reading (chain uncached: 2 issuer signatures + 1 reading)",
        |b| {
            b.iter(|| {
                Verifier::new(store.clone())
                    .verify(black_box(&cose), &chain, Some(&nonce), Some(50), NOW)
                    .unwrap()
            })
        },
    );
}

criterion_group!(benches, bench);
criterion_main!(benches);
