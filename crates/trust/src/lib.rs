//! Device trust: X.509 device chains, COSE_Sign1 signed readings, freshness, Bluetooth SIG measurement decoding.
#![forbid(unsafe_code)]
