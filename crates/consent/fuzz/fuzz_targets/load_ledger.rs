//! Arbitrary bytes as a ledger file: loading must return a ledger or an error, never panic, and
//! replaying an accepted ledger must not panic either.
#![no_main]

use libfuzzer_sys::fuzz_target;
use veil_consent::{ConsentLedger, Timestamp};

fuzz_target!(|data: &[u8]| {
    if let Ok(ledger) = ConsentLedger::from_json(data) {
        let _ = ledger.states(Timestamp(i64::from(i32::MAX)));
    }
});
