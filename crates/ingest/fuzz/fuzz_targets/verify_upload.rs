//! Arbitrary request bodies through everything the server does before storing: envelope parsing,
//! HPKE open, the signer's `kid`, the signature under the enrolled key, COSE and manifest
//! decoding, content hashes, consent and device-evidence checks. It must return a typed error (or,
//! for a valid envelope, a verified upload) and never panic. Random bytes rarely get past the HPKE
//! tag; `verify_manifest` feeds valid envelopes with mutated manifests.
#![no_main]

use libfuzzer_sys::fuzz_target;
use std::sync::OnceLock;
use veil_ingest::{ArtifactVerifier, Coded};

fn verifier() -> &'static ArtifactVerifier {
    static VERIFIER: OnceLock<ArtifactVerifier> = OnceLock::new();
    VERIFIER.get_or_init(|| {
        let key =
            veil_seal::RecipientKey::derive(b"veil ingest fuzzing key material").expect("key");
        let devices = veil_trust::Verifier::new(veil_trust::TrustStore::new());
        ArtifactVerifier::new(key, devices, Some("clinic-a".into()), 16)
    })
}

/// The one enrolled client: the uncompressed point of the secret scalar 0x11..11.
fn client() -> &'static [u8; 65] {
    static CLIENT: OnceLock<[u8; 65]> = OnceLock::new();
    CLIENT.get_or_init(|| {
        let key = veil_seal::SigningKey::from_slice(&[0x11; 32]).expect("client key");
        veil_seal::keys::sec1_uncompressed(key.verifying_key())
    })
}

fuzz_target!(|data: &[u8]| {
    if let Err(e) = verifier().verify(data, client(), 1_790_000_000_000) {
        let _ = (e.code(), e.status(), e.to_json());
    }
});
