//! Arbitrary bytes as an envelope: parsing and opening must return an error, never panic.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let _ = veil_seal::parse_envelope(data);
    if let Ok(key) = veil_seal::RecipientKey::derive(b"fuzz recipient key material 0123") {
        let _ = veil_seal::open(data, &key, None);
    }
});
