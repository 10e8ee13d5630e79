//! Arbitrary bytes through the passkey ceremonies' parsers and checks (`veil_ingest::webauthn`):
//! a registration's `clientDataJSON` and attestation object (CBOR decoded with a depth limit, the
//! authenticator data walked with every length checked, the COSE key), and an assertion's client
//! data, authenticator data and DER signature under a fixed key. Each must end in a typed error
//! (or a verified result) and never panic. The first byte splits the input between the parts.
#![no_main]

use libfuzzer_sys::fuzz_target;
use std::sync::OnceLock;
use veil_ingest::Coded;
use veil_ingest::webauthn::{self, RelyingParty};

fn rp() -> &'static RelyingParty {
    static RP: OnceLock<RelyingParty> = OnceLock::new();
    RP.get_or_init(|| RelyingParty::from_origin("https://veil.example").expect("origin"))
}

/// The registered key: the uncompressed point of the secret scalar 0x22..22.
fn key() -> &'static [u8; 65] {
    static KEY: OnceLock<[u8; 65]> = OnceLock::new();
    KEY.get_or_init(|| {
        let key = veil_seal::SigningKey::from_slice(&[0x22; 32]).expect("key");
        veil_seal::keys::sec1_uncompressed(key.verifying_key())
    })
}

fuzz_target!(|data: &[u8]| {
    let Some((&split, rest)) = data.split_first() else {
        return;
    };
    let at = usize::from(split).min(rest.len());
    let (first, second) = rest.split_at(at);
    if let Err(e) = webauthn::verify_registration(rp(), first, second) {
        let _ = (e.code(), e.to_string());
    }
    // A fixed, valid client data so the assertion's own parts are reached.
    let client = br#"{"type":"webauthn.get","challenge":"AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA","origin":"https://veil.example"}"#;
    let client = webauthn::client_data(rp(), client, "webauthn.get").expect("client data");
    let sig_at = second.len().min(72);
    let (signature, auth) = second.split_at(sig_at);
    for stored in [0, u32::MAX] {
        // Backup eligibility unknown (registered before it was stored), stored false, stored true.
        for eligible in [None, Some(false), Some(true)] {
            if let Err(e) =
                webauthn::verify_assertion(rp(), &client, auth, signature, key(), stored, eligible)
            {
                let _ = (e.code(), e.to_string());
            }
        }
    }
    if let Err(e) = webauthn::client_data(rp(), first, "webauthn.create") {
        let _ = e.code();
    }
});
