//! The outbox: the step between sealing and the ingest server (device -> trust -> consent -> mesh
//! -> seal -> **outbox** -> ingest).
//!
//! Sealed envelopes and the control messages about them (revocations when consent is withdrawn,
//! erasures when the identity layer is destroyed) wait here, persisted, until the network lets them
//! leave, and each reaches the server exactly once. This crate is the state machine and the retry
//! rule of that, in pure Rust: no browser API, so it builds for `wasm32-unknown-unknown` and for
//! native targets, and the whole machine is tested natively with an in-memory store and a scripted
//! server. The browser app supplies IndexedDB as the [`OutboxStore`] and `XMLHttpRequest` as the
//! [`Transport`]; a command line can use [`MemoryStore`].
//!
//! Why each rule:
//! - **Exactly once.** Every upload carries its artifact id (the SHA-256 of the envelope) as the
//!   `Idempotency-Key`, every control message a key fixed when it was queued; an entry is marked
//!   [`ItemState::Uploading`] (and persisted) before it is sent, so an entry found `Uploading`
//!   after a reload is sent again with the same key and the server, which recognises the key,
//!   answers "already stored" instead of storing it twice.
//! - **Retry only what may succeed** ([`retry`]): a 2xx is delivered; a 4xx other than 408 and
//!   429 is the server refusing the content and is final ([`ItemState::Failed`]); anything else (a
//!   5xx, 408, 429, no answer at all) is retried after an exponential backoff with full jitter
//!   drawn from an injected generator, capped at [`retry::MAX_BACKOFF_MS`].
//! - **An unknown client waits for its enrolment** ([`ItemState::AwaitingEnrolment`]): the server
//!   stores nothing from a client key it does not know (401 `unknown-client`). That is neither the
//!   content's fault nor cured by waiting, so the entry is parked, visibly, until the device is
//!   connected to a clinic ([`enrolment`]: the signed request with an invitation code, and its
//!   answer), when [`Outbox::on_enrolled`] queues it again; a revoked client (403
//!   `client-revoked`) or a pseudonym another client owns (403 `pseudonym-not-owned`) is final.
//! - **Withdrawal wins** ([`Outbox::on_withdrawn`]): withdrawing consent for a purpose cancels its
//!   items that have not left; for those that reached the server it queues a revocation, and for
//!   those that may have (an earlier attempt whose answer was lost, one in flight) a revocation
//!   that only asks to revoke what the server holds. State changes go through the store's atomic
//!   update, so a withdrawal racing an upload never loses either.
//! - **Control messages are queued like uploads** ([`ControlMessage`]): a revocation or erasure
//!   typed while offline is not lost; it is persisted and retried under the same rule, and its
//!   body (with the time and random nonce fixed when it was queued) is byte-identical on every
//!   attempt, so the server recognises a retry as the same request. An erasure
//!   waits for older uploads under the pseudonyms it names, so none of them reaches the server
//!   after the erasure and escapes it.
//!
//! One [`Outbox::flush`] at a time per store: callers serialise flushes (the app holds a lock).
//! Two flushes over one store (two tabs) still store nothing twice, thanks to the keys, but may
//! send an entry twice.
//!
//! ```
//! use veil_outbox::{Answer, ControlMessage, ItemState, MemoryStore, NewItem, Outbox, Transport};
//! use veil_outbox::retry::SplitMix64;
//! use veil_consent::{Purpose, PurposeScope};
//!
//! struct AlwaysStored;
//! impl Transport<Vec<u8>> for AlwaysStored {
//!     async fn upload(&self, _id: &str, _envelope: &Vec<u8>) -> Answer {
//!         Answer::Answered { status: 201, body: String::new() }
//!     }
//!     async fn control(&self, _message: &ControlMessage) -> Answer {
//!         Answer::Answered { status: 200, body: String::new() }
//!     }
//! }
//!
//! # let run = async {
//! let clock = || 1_700_000_000_000.0;
//! let mut outbox = Outbox::new(MemoryStore::new(), AlwaysStored, SplitMix64(7), clock);
//! let id = "ab".repeat(32); // the envelope's SHA-256, hex
//! let item = NewItem::new(&id, PurposeScope::plain(Purpose::Treatment), "veil-ingest", vec!["model-1.stl".into()], 3);
//! outbox.enqueue(item, vec![1, 2, 3]).await?;
//! let report = outbox.flush().await?;
//! assert_eq!(report.delivered(), 1);
//! assert!(matches!(outbox.items().await?[0].state, ItemState::Delivered { .. }));
//! # Ok::<(), veil_outbox::OutboxError>(())
//! # };
//! # veil_outbox::block_on_ready(run).unwrap().unwrap();
//! ```

pub mod control;
pub mod engine;
pub mod enrolment;
pub mod error;
pub mod item;
pub mod retry;
pub mod store;

pub use control::{ControlKind, ControlMessage, ErasedPseudonym};
pub use engine::{
    CONSENT_EXPIRED, Clock, Event, FlushReport, Outbox, REVOCATION_GRACE_MS, Transport, Withdrawal,
};
pub use error::{OutboxError, StoreError};
pub use item::{ItemState, NewItem, OutboxItem};
pub use rand_core::RngCore;
pub use retry::{Answer, Verdict};
pub use store::{Change, MemoryStore, OutboxStore};
pub use veil_core::Coded;

/// Run a future whose every step is already ready (a [`MemoryStore`] and a transport that answers
/// at once), without an executor: `None` if it would wait. For tests and examples; a browser or a
/// command line drives the outbox with its own executor.
pub fn block_on_ready<F: std::future::Future>(future: F) -> Option<F::Output> {
    let mut future = std::pin::pin!(future);
    let mut context = std::task::Context::from_waker(std::task::Waker::noop());
    match future.as_mut().poll(&mut context) {
        std::task::Poll::Ready(out) => Some(out),
        std::task::Poll::Pending => None,
    }
}
