//! Arbitrary characteristic values for every decoded characteristic never panic.
//! Run: `cargo +nightly fuzz run measurement` in `crates/trust/fuzz`.
#![no_main]

use libfuzzer_sys::fuzz_target;
use veil_trust::measurement::{KNOWN_CHARACTERISTICS, decode};

fuzz_target!(|data: &[u8]| {
    for (svc, chr) in KNOWN_CHARACTERISTICS {
        let _ = decode(svc, chr, data);
    }
});
