//! Sealing and opening a 50 MB artifact (issue target: sealing at most 0.2 s native).
//!
//! `cargo bench -p veil-seal --bench seal`; results go to `docs/benchmarks.md`.
#![allow(missing_docs, clippy::unwrap_used, clippy::expect_used)]

use std::time::Duration;

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use veil_seal::{
    ArtifactBuilder, ConsentRef, PseudonymSecret, RecipientKey, SigningKey, open, seal_artifact,
};

const SIZE: usize = 50 * 1024 * 1024;

fn content() -> Vec<u8> {
    // Pseudo-random bytes (xorshift), so nothing compresses or short-cuts.
    let mut x = 0x9e37_79b9_7f4a_7c15u64;
    let mut v = Vec::with_capacity(SIZE);
    while v.len() < SIZE {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        v.extend_from_slice(&x.to_le_bytes());
    }
    v.truncate(SIZE);
    v
}

fn builder(model: Vec<u8>) -> ArtifactBuilder {
    let secret = PseudonymSecret::from_bytes(&[1; 32]).unwrap();
    let consent = ConsentRef {
        decision: veil_seal::ConsentDecision::Allow,
        event_hash: Some([2; 32]),
    };
    let mut b = ArtifactBuilder::new(
        secret.pseudonym("clinic-a", "care"),
        "care",
        "clinic-a",
        consent,
        0,
    );
    b.add_file("model.stl", model).unwrap();
    b
}

fn bench(c: &mut Criterion) {
    let model = content();
    let client = SigningKey::from_slice(&[3; 32]).unwrap();
    let recipient = RecipientKey::derive(b"benchmark recipient key material").unwrap();
    let mut g = c.benchmark_group("seal_50mb");
    g.sample_size(10)
        .measurement_time(Duration::from_secs(15))
        .throughput(Throughput::Bytes(SIZE as u64));

    // The whole client-side step: hash contents, build CBOR, ES256-sign, HPKE-seal.
    g.bench_function("build+sign+seal", |b| {
        b.iter_batched(
            || builder(model.clone()),
            |bld| seal_artifact(bld.sign(&client).unwrap(), recipient.public_key()).unwrap(),
            criterion::BatchSize::LargeInput,
        )
    });
    let signed = builder(model.clone()).sign(&client).unwrap();
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
        b.iter(|| open(&envelope, &recipient, None).unwrap())
    });
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
