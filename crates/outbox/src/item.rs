//! Outbox items: one sealed artifact each, and where it is.
//!
//! The serde shape is the one the browser app has stored in IndexedDB since the first outbox
//! (`{"id", "scope", "recipient", "files", "size", "state": {"state": "queued"}, "attempts",
//! "next_at_ms", "created_ms"}`, times as JS numbers), and the service worker reads it too: items
//! already stored keep reading, so these types only grow optional fields.

use serde::{Deserialize, Serialize};
use veil_consent::PurposeScope;

use crate::error::OutboxError;

/// Longest recipient id or file name an item keeps.
pub const MAX_NAME_BYTES: usize = 256;
/// Most file names an item lists.
pub const MAX_FILES: usize = 1024;

/// Where an outbox item (or a control message) is.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "state", rename_all = "kebab-case")]
pub enum ItemState {
    /// Waiting to be sent (first time, or again after a retryable failure).
    Queued,
    /// Being sent now, or being sent when the page went away (then sent again, same key).
    Uploading,
    /// The server stored it (or had already).
    Delivered {
        /// When, ms since the epoch.
        at_ms: f64,
    },
    /// The server does not know this device's client key (401 `unknown-client`: it was never
    /// enrolled, or the server forgot it): nothing was stored, and nothing is sent again until the
    /// device is connected to a clinic ([`crate::Outbox::on_enrolled`]), when it is queued again.
    AwaitingEnrolment {
        /// The server's error code and detail.
        reason: String,
    },
    /// The server refused it; it is not retried.
    Failed {
        /// The server's error code and detail.
        reason: String,
    },
    /// Withdrawn before it left (or while it was leaving: then a revocation follows it).
    Cancelled {
        /// Why.
        reason: String,
    },
}

impl ItemState {
    /// The state's name as stored (`queued`, `uploading`, `delivered`, `awaiting-enrolment`,
    /// `failed`, `cancelled`).
    #[must_use]
    pub fn id(&self) -> &'static str {
        match self {
            Self::Queued => "queued",
            Self::Uploading => "uploading",
            Self::Delivered { .. } => "delivered",
            Self::AwaitingEnrolment { .. } => "awaiting-enrolment",
            Self::Failed { .. } => "failed",
            Self::Cancelled { .. } => "cancelled",
        }
    }

    /// Whether it still has to be sent: queued, or caught uploading.
    #[must_use]
    pub fn is_pending(&self) -> bool {
        matches!(self, Self::Queued | Self::Uploading)
    }

    /// Whether it may still be sent: pending, or waiting for the device to be enrolled.
    #[must_use]
    pub fn is_unsettled(&self) -> bool {
        self.is_pending() || matches!(self, Self::AwaitingEnrolment { .. })
    }
}

/// One sealed artifact waiting in, or gone from, the outbox.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct OutboxItem {
    /// Artifact id (hex SHA-256 of the envelope): the idempotency key.
    pub id: String,
    /// What the artifact is for.
    pub scope: PurposeScope,
    /// The recipient.
    pub recipient: String,
    /// File names inside (the names only; the contents are sealed).
    pub files: Vec<String>,
    /// Envelope size in bytes.
    pub size: usize,
    /// Current state.
    pub state: ItemState,
    /// Upload attempts so far.
    pub attempts: u32,
    /// Not before this time (ms since the epoch), for backoff.
    pub next_at_ms: f64,
    /// When it was queued, ms since the epoch.
    pub created_ms: f64,
    /// When the consent it was sealed under ends by itself (its expiry, ms since the epoch), if it
    /// does: from then on it is never sent, and the next flush cancels it, as a withdrawal does.
    /// Read by the service worker too, which has no consent engine of its own.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub consent_until_ms: Option<f64>,
}

impl OutboxItem {
    /// Whether the consent it was sealed under has ended by `now_ms` (its expiry passed).
    #[must_use]
    pub fn consent_ended(&self, now_ms: f64) -> bool {
        self.consent_until_ms.is_some_and(|until| now_ms >= until)
    }

    /// Whether the server may hold it although it is not marked delivered: an attempt was made
    /// whose answer did not say it was refused (lost, retryable, or still in flight).
    #[must_use]
    pub fn may_have_left(&self) -> bool {
        self.attempts > 0 && !matches!(self.state, ItemState::Failed { .. })
    }
}

/// What the caller knows of a freshly sealed artifact; the outbox adds the state.
#[derive(Debug, Clone, PartialEq)]
pub struct NewItem {
    /// Artifact id: lowercase hex SHA-256 of the envelope (the server checks it).
    pub id: String,
    /// What the artifact is for.
    pub scope: PurposeScope,
    /// The recipient id.
    pub recipient: String,
    /// File names inside.
    pub files: Vec<String>,
    /// Envelope size in bytes.
    pub size: usize,
    /// When the consent it is sealed under expires, ms since the epoch ([`NewItem::until`]).
    pub consent_until_ms: Option<f64>,
}

impl NewItem {
    /// A new item.
    #[must_use]
    pub fn new(
        id: &str,
        scope: PurposeScope,
        recipient: &str,
        files: Vec<String>,
        size: usize,
    ) -> Self {
        Self {
            id: id.to_owned(),
            scope,
            recipient: recipient.to_owned(),
            files,
            size,
            consent_until_ms: None,
        }
    }

    /// The time (ms since the epoch) the consent it is sealed under expires, if it does.
    #[must_use]
    pub fn until(mut self, consent_until_ms: Option<f64>) -> Self {
        self.consent_until_ms = consent_until_ms;
        self
    }

    /// Check the id and the bounds, and make the queued item.
    pub(crate) fn into_item(self, now_ms: f64) -> Result<OutboxItem, OutboxError> {
        if !is_artifact_id(&self.id) {
            return Err(OutboxError::BadArtifactId(
                self.id.chars().take(80).collect(),
            ));
        }
        if self.recipient.is_empty() || self.recipient.len() > MAX_NAME_BYTES {
            return Err(OutboxError::BadItem(
                "the recipient id is empty or too long",
            ));
        }
        if self.files.len() > MAX_FILES || self.files.iter().any(|f| f.len() > MAX_NAME_BYTES) {
            return Err(OutboxError::BadItem("too many file names, or one too long"));
        }
        Ok(OutboxItem {
            id: self.id,
            scope: self.scope,
            recipient: self.recipient,
            files: self.files,
            size: self.size,
            state: ItemState::Queued,
            attempts: 0,
            next_at_ms: 0.0,
            created_ms: now_ms,
            consent_until_ms: self.consent_until_ms,
        })
    }
}

/// Whether `id` is an artifact id as the server expects it: 64 lowercase hex digits.
#[must_use]
pub fn is_artifact_id(id: &str) -> bool {
    id.len() == 64 && id.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'))
}

#[cfg(test)]
mod tests {
    use super::*;
    use veil_consent::{Purpose, ResearchTier};
    use veil_core::Coded;

    #[test]
    fn items_stored_by_the_first_app_still_read() {
        // As the app (and the service worker) wrote them: f64 times, the state as a tagged object.
        let stored = r#"{"id":"aa","scope":{"purpose":"research","tier":"this-study"},"recipient":"veil-ingest","files":["model-1.stl"],"size":1234,"state":{"state":"delivered","at_ms":1712345678901.0},"attempts":2,"next_at_ms":0.0,"created_ms":1712345670000.0}"#;
        let item: OutboxItem = serde_json::from_str(stored).unwrap();
        assert_eq!(item.scope, PurposeScope::research(ResearchTier::ThisStudy));
        assert_eq!(
            item.state,
            ItemState::Delivered {
                at_ms: 1_712_345_678_901.0
            }
        );
        // The service worker writes integer times.
        let from_worker = stored.replace("1712345678901.0", "1712345678901");
        assert_eq!(
            serde_json::from_str::<OutboxItem>(&from_worker).unwrap(),
            item
        );
        let again: OutboxItem =
            serde_json::from_str(&serde_json::to_string(&item).unwrap()).unwrap();
        assert_eq!(again, item);
        for (state, id) in [
            (r#"{"state":"queued"}"#, "queued"),
            (r#"{"state":"uploading"}"#, "uploading"),
            (r#"{"state":"failed","reason":"x"}"#, "failed"),
            (
                r#"{"state":"awaiting-enrolment","reason":"x"}"#,
                "awaiting-enrolment",
            ),
            (r#"{"state":"cancelled","reason":"x"}"#, "cancelled"),
        ] {
            let parsed: ItemState = serde_json::from_str(state).unwrap();
            assert_eq!(parsed.id(), id);
            assert_eq!(serde_json::to_string(&parsed).unwrap(), state);
        }
    }

    #[test]
    fn new_items_are_checked() {
        let scope = PurposeScope::plain(Purpose::Treatment);
        let ok = NewItem::new(&"0f".repeat(32), scope.clone(), "r", vec![], 1);
        assert_eq!(ok.into_item(5.0).unwrap().state, ItemState::Queued);
        for bad in [
            "",
            "AB".repeat(32).as_str(),
            &"0".repeat(63),
            &"g".repeat(64),
        ] {
            let e = NewItem::new(bad, scope.clone(), "r", vec![], 1)
                .into_item(0.0)
                .unwrap_err();
            assert_eq!(e.code(), "bad-artifact-id");
        }
        let long = "x".repeat(MAX_NAME_BYTES + 1);
        let e = NewItem::new(&"0f".repeat(32), scope, &long, vec![], 1)
            .into_item(0.0)
            .unwrap_err();
        assert_eq!(e.code(), "bad-item");
    }
}
