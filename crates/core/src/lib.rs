//! `veil-core`: the primitives every Veil crate shares, written once.
//!
//! Veil's data flow is device → trust → consent → mesh → seal → outbox → ingest (see
//! `docs/architecture.md`). Several of those steps speak the same low-level formats; this crate
//! is where each of them lives, as `age-core` is to `age`:
//!
//! - [`cbor`]: CBOR heads (RFC 8949), the exact bytes the VEIL-1 envelope, the COSE
//!   `Sig_structure` and the audit chain's deterministic encoding are built from.
//! - [`cose`]: the `COSE_Sign1` `Sig_structure` (RFC 9052 §4.4) that device readings and sealed
//!   artifacts are signed over.
//! - [`pem`]: P-256 keys and certificate chains in PEM.
//! - [`Coded`]: the stable error code every crate's error carries, printed the same way by the
//!   CLI, the npm package, the ingest server and the app.
//!
//! No web dependencies and no I/O: it builds for native and `wasm32-unknown-unknown` alike.

pub mod cbor;
mod coded;
pub mod cose;
pub mod pem;

pub use coded::{Coded, is_code};
