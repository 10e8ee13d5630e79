//! Arbitrary GATT chain chunks (split at 0xFF) never panic the reassembler.
//! Run: `cargo +nightly fuzz run gatt_chain` in `crates/trust/fuzz`.
#![no_main]

use libfuzzer_sys::fuzz_target;
use veil_trust::gatt::{ChainAssembler, split_der_chain};

fuzz_target!(|data: &[u8]| {
    let mut asm = ChainAssembler::new();
    for chunk in data.split(|b| *b == 0xFF) {
        if asm.push(chunk).is_err() {
            break;
        }
    }
    let _ = asm.finish();
    let _ = split_der_chain(data);
});
