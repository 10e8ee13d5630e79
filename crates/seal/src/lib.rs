//! Pseudonyms, signed artifacts and HPKE-sealed envelopes for uploads.
#![forbid(unsafe_code)]
