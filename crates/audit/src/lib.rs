//! A tamper-evident, hash-chained, signed audit log.
#![forbid(unsafe_code)]
