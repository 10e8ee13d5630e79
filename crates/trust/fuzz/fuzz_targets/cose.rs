//! Arbitrary bytes as a signed reading: decoding, payload decoding and full verification against
//! a real chain never panic. Run: `cargo +nightly fuzz run cose` in `crates/trust/fuzz`.
#![no_main]

use libfuzzer_sys::fuzz_target;
use veil_trust::{CoseSign1, ReadingPayload, TrustStore, Verifier, certs_from_pem};

const ROOTS: &str = include_str!("../../tests/vectors/trust-roots.pem");
const CHAIN: &str = include_str!("../../tests/vectors/chains/acme-bp.pem");

fuzz_target!(|data: &[u8]| {
    let _ = CoseSign1::decode(data);
    let _ = ReadingPayload::decode(data);
    if let (Ok(store), Ok(chain)) = (TrustStore::from_pem(ROOTS), certs_from_pem(CHAIN)) {
        let v = Verifier::new(store);
        let _ = v.verify(data, &chain, Some(&[0u8; 32]), Some(1), 1_790_000_000);
    }
});
