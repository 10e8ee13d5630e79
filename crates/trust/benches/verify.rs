//! Verification latency per reading with the chain cached (the steady state of a paired
//! device), and the cost of a first, uncached chain validation. Target: under 2 ms native.
//! Run: `cargo bench -p veil-trust --bench verify`.
#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]

use criterion::{Criterion, black_box, criterion_group, criterion_main};
use veil_trust::{
    Algorithm, DeviceSigner, ProvisionOptions, TrustStore, Verifier, certs_from_pem, encode_spec,
    provision,
};

const NOW: u64 = 1_790_000_000;

fn bench(c: &mut Criterion) {
    let p = provision(&ProvisionOptions {
        manufacturer: "Acme Medical".into(),
        model: "BP7".into(),
        serial_prefix: "BP7".into(),
        devices: 1,
        intermediate: true,
        now: NOW,
        device_days: 365,
    })
    .unwrap();
    let d = &p.devices[0];
    let signer = DeviceSigner::from_pem(&d.identity.key_pem, &d.identity.cert_pem).unwrap();
    let chain = certs_from_pem(&d.chain_pem).unwrap();
    let nonce = [7u8; 32];
    let cose = signer.sign(
        &encode_spec("bp:120/80/93,pulse=70", NOW).unwrap(),
        51,
        NOW,
        &nonce,
        Algorithm::Es256,
    );
    let store = TrustStore::from_pem(&p.root.cert_pem).unwrap();
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
