//! Standard Bluetooth SIG health devices, driven with the octets a device sends: one test per
//! characteristic, each built field by field from the layout its service specification gives
//! (the section is named in each test; multi-octet fields little-endian, SFLOAT/FLOAT per IEEE
//! 11073-20601 §F.8), plus the stored-records sessions (RACP) of a glucose meter, a pulse
//! oximeter and a blood pressure cuff, and malformed or truncated values. The same byte
//! sequences run in wasm (`wasm-tests/tests/sig.rs`); the cases are in `cases/sig.rs`.
#![allow(clippy::unwrap_used, clippy::expect_used)]

include!("cases/sig.rs");
