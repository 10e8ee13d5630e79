//! Why an outbox operation failed. Network failures are not errors here: they are answers the
//! retry rule handles.

/// A failure of the store (IndexedDB, memory, ...), as its text: stores give no more structure.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct StoreError(pub String);

/// Why an outbox operation failed. Each variant has a stable kebab-case [`code`](Self::code).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum OutboxError {
    /// The store failed; nothing after the failing step was done (an entry left `uploading` is
    /// sent again by the next flush, with the same key).
    #[error("outbox storage: {0}")]
    Store(#[from] StoreError),
    /// No item has this id.
    #[error("there is no outbox item {0}")]
    UnknownItem(String),
    /// Only a queued or failed item can be cancelled (a delivered one is revoked by withdrawing
    /// consent; one being sent has left).
    #[error("item {id} is {state}: only a queued or failed item can be cancelled")]
    NotCancellable {
        /// The item.
        id: String,
        /// Its state's name.
        state: &'static str,
    },
    /// An artifact id is not 64 lowercase hex digits (the envelope's SHA-256).
    #[error("{0:?} is not an artifact id (64 lowercase hex digits)")]
    BadArtifactId(String),
    /// A new item is out of bounds.
    #[error("the item is not accepted: {0}")]
    BadItem(&'static str),
    /// An erasure entry has an empty or over-long recipient, purpose or pseudonym.
    #[error(
        "an erasure entry needs a recipient, a purpose and a pseudonym of 1 to {max_bytes} bytes"
    )]
    BadErasureEntry {
        /// The longest field accepted.
        max_bytes: usize,
    },
}

impl veil_core::Coded for OutboxError {
    fn code(&self) -> &'static str {
        match self {
            Self::Store(_) => "store",
            Self::UnknownItem(_) => "unknown-item",
            Self::NotCancellable { .. } => "not-cancellable",
            Self::BadArtifactId(_) => "bad-artifact-id",
            Self::BadItem(_) => "bad-item",
            Self::BadErasureEntry { .. } => "bad-erasure-entry",
        }
    }
}
