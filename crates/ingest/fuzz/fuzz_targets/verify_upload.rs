//! Arbitrary request bodies through everything the server does before storing: envelope parsing,
//! HPKE open, COSE and manifest decoding, content hashes, consent and device-evidence checks. It
//! must return a typed error (or, for a valid envelope, a verified upload) and never panic.
#![no_main]

use libfuzzer_sys::fuzz_target;
use std::sync::OnceLock;
use veil_ingest::{ArtifactVerifier, Coded};

fn verifier() -> &'static ArtifactVerifier {
    static VERIFIER: OnceLock<ArtifactVerifier> = OnceLock::new();
    VERIFIER.get_or_init(|| {
        let key = veil_seal::RecipientKey::derive(b"veil ingest fuzzing key material").expect("key");
        let devices = veil_trust::Verifier::new(veil_trust::TrustStore::new());
        ArtifactVerifier::new(key, devices, Some("clinic-a".into()), 16)
    })
}

fuzz_target!(|data: &[u8]| {
    if let Err(e) = verifier().verify(data, 1_790_000_000_000) {
        let _ = (e.code(), e.status(), e.to_json());
    }
});
