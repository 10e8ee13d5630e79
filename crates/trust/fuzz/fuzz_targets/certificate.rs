//! Arbitrary bytes as certificates: the trust store and chain validation never panic. The input
//! is split at 0xFF 0x00 pairs into a chain of up to 5 certificates.
//! Run: `cargo +nightly fuzz run certificate` in `crates/trust/fuzz`.
#![no_main]

use libfuzzer_sys::fuzz_target;
use veil_trust::{TrustStore, Verifier};

const ROOTS: &str = include_str!("../../tests/vectors/trust-roots.pem");

fuzz_target!(|data: &[u8]| {
    let mut store = TrustStore::new();
    let _ = store.add_der(data);
    let chain: Vec<Vec<u8>> = data.split(|b| *b == 0xFF).take(5).map(<[u8]>::to_vec).collect();
    if let Ok(store) = TrustStore::from_pem(ROOTS) {
        let _ = Verifier::new(store).verify_chain(&chain, 1_790_000_000);
    }
    let _ = veil_trust::certs_from_pem(&String::from_utf8_lossy(data));
});
