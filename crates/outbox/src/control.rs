//! Control messages: what the client tells the server about artifacts it already sent.
//!
//! - a **revocation** (`POST /v1/revocations`, `veil-revocation-v1`): consent for a purpose was
//!   withdrawn, or an item the person cancelled may have left; the server marks the artifacts
//!   revoked. One that asks only "if stored" ([`ControlKind::Revocation::if_stored`]) names one
//!   artifact whose fate is unknown; the server's `unknown-artifact` then means there is nothing to
//!   revoke, not a failure.
//! - an **erasure** (`POST /v1/erasures`, `veil-erasure-v1`): the identity layer was destroyed;
//!   the server marks every artifact under the listed pseudonyms as belonging to an erased subject.
//!
//! Both are JSON signed by the client key over their exact bytes (the transport signs: it holds
//! the key), and both are queued, persisted and retried like uploads. A message's key (its `id`,
//! sent as `Idempotency-Key`) is the SHA-256 of what it asks, so queueing the same request twice
//! keeps one message, and a retry is recognisably the same request. Both operations are idempotent
//! at the server as well (already revoked, already erased).

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::item::ItemState;

/// Most artifacts one revocation names, and most pseudonyms one erasure lists (the server's bound).
pub const MAX_CONTROL_ITEMS: usize = 10_000;
/// Longest revocation reason, in bytes (the server's bound).
pub const MAX_REASON_BYTES: usize = 4096;
/// Longest recipient, purpose or pseudonym in an erasure entry, in bytes.
pub const MAX_FIELD_BYTES: usize = 256;

/// One pseudonym the server is told is erased: computed for (recipient, purpose) just before the
/// secret was destroyed.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
pub struct ErasedPseudonym {
    /// The recipient id the pseudonym was derived for.
    pub recipient: String,
    /// The purpose id the pseudonym was derived for.
    pub purpose: String,
    /// The pseudonym.
    pub pseudonym: String,
}

/// What a control message asks.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "kebab-case")]
pub enum ControlKind {
    /// Revoke delivered artifacts of one purpose.
    Revocation {
        /// Artifact ids, sorted.
        artifacts: Vec<String>,
        /// The purpose id they were delivered for.
        purpose: String,
        /// Why (`consent withdrawn`, `cancelled by you`).
        reason: String,
        /// When consent was withdrawn (or the item cancelled), ms since the epoch.
        withdrawn_at_ms: u64,
        /// The one artifact named may never have reached the server: `unknown-artifact` is then
        /// the answer "nothing to revoke".
        #[serde(default)]
        if_stored: bool,
    },
    /// The subject's identity layer was erased.
    Erasure {
        /// The pseudonyms now unlinkable, sorted.
        pseudonyms: Vec<ErasedPseudonym>,
        /// When the secret was destroyed, ms since the epoch.
        erased_at_ms: u64,
    },
}

impl ControlKind {
    /// The key of this request: SHA-256 over its parts (times excluded: the same request made
    /// twice is one request), hex.
    fn key(&self, salt: &str) -> String {
        let mut hash = Sha256::new();
        let mut part = |text: &str| {
            hash.update((text.len() as u64).to_be_bytes());
            hash.update(text.as_bytes());
        };
        part("veil-outbox-control-v1");
        part(salt);
        match self {
            Self::Revocation {
                artifacts,
                purpose,
                reason,
                if_stored,
                ..
            } => {
                part("revocation");
                part(purpose);
                part(reason);
                part(if *if_stored { "if-stored" } else { "delivered" });
                for a in artifacts {
                    part(a);
                }
            }
            Self::Erasure { pseudonyms, .. } => {
                part("erasure");
                for p in pseudonyms {
                    part(&p.recipient);
                    part(&p.purpose);
                    part(&p.pseudonym);
                }
            }
        }
        hex::encode(hash.finalize())
    }

    /// The name of the kind (`revocation`, `erasure`).
    #[must_use]
    pub fn id(&self) -> &'static str {
        match self {
            Self::Revocation { .. } => "revocation",
            Self::Erasure { .. } => "erasure",
        }
    }
}

/// A queued control message and where it is.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ControlMessage {
    /// The idempotency key (hex SHA-256 of the request).
    pub id: String,
    /// What it asks.
    #[serde(flatten)]
    pub kind: ControlKind,
    /// Where it is (never [`ItemState::Cancelled`]).
    pub state: ItemState,
    /// Attempts so far.
    pub attempts: u32,
    /// Not before this time (ms since the epoch), for backoff.
    pub next_at_ms: f64,
    /// When it was queued, ms since the epoch.
    pub created_ms: f64,
}

impl ControlMessage {
    /// A queued message; `salt` tells apart two messages that ask the same thing on purpose.
    pub(crate) fn queued(kind: ControlKind, salt: &str, now_ms: f64) -> Self {
        Self {
            id: kind.key(salt),
            kind,
            state: ItemState::Queued,
            attempts: 0,
            next_at_ms: 0.0,
            created_ms: now_ms,
        }
    }

    /// The API path it is posted to.
    #[must_use]
    pub fn path(&self) -> &'static str {
        match self.kind {
            ControlKind::Revocation { .. } => "/v1/revocations",
            ControlKind::Erasure { .. } => "/v1/erasures",
        }
    }

    /// The JSON body, as `docs/ingest.md` specifies it, naming `client_key` (the uncompressed SEC1
    /// public key of the client, hex) that signs it. The transport signs exactly these bytes.
    #[must_use]
    pub fn body(&self, client_key: &str) -> String {
        let value = match &self.kind {
            ControlKind::Revocation {
                artifacts,
                purpose,
                reason,
                withdrawn_at_ms,
                ..
            } => serde_json::json!({
                "format": "veil-revocation-v1",
                "artifacts": artifacts,
                "purpose": purpose,
                "withdrawn_at_ms": withdrawn_at_ms,
                "reason": reason,
                "client_key": client_key,
            }),
            ControlKind::Erasure {
                pseudonyms,
                erased_at_ms,
            } => serde_json::json!({
                "format": "veil-erasure-v1",
                "erased_at_ms": erased_at_ms,
                "pseudonyms": pseudonyms,
                "client_key": client_key,
            }),
        };
        value.to_string()
    }

    /// The revocations that ask the server to revoke `artifacts` (delivered ones), at most
    /// [`MAX_CONTROL_ITEMS`] each.
    pub(crate) fn revocations(
        mut artifacts: Vec<String>,
        purpose: &str,
        reason: &str,
        now_ms: f64,
    ) -> Vec<Self> {
        artifacts.sort();
        artifacts.dedup();
        artifacts
            .chunks(MAX_CONTROL_ITEMS)
            .map(|chunk| {
                let kind = ControlKind::Revocation {
                    artifacts: chunk.to_vec(),
                    purpose: purpose.to_owned(),
                    reason: clip(reason, MAX_REASON_BYTES),
                    withdrawn_at_ms: ms(now_ms),
                    if_stored: false,
                };
                Self::queued(kind, "", now_ms)
            })
            .collect()
    }

    /// The revocation of one artifact that may or may not have reached the server.
    pub(crate) fn revocation_if_stored(
        artifact: &str,
        purpose: &str,
        reason: &str,
        salt: &str,
        now_ms: f64,
    ) -> Self {
        let kind = ControlKind::Revocation {
            artifacts: vec![artifact.to_owned()],
            purpose: purpose.to_owned(),
            reason: clip(reason, MAX_REASON_BYTES),
            withdrawn_at_ms: ms(now_ms),
            if_stored: true,
        };
        Self::queued(kind, salt, now_ms)
    }

    /// The erasures telling the server `pseudonyms` are erased, at most [`MAX_CONTROL_ITEMS`] each.
    pub(crate) fn erasures(mut pseudonyms: Vec<ErasedPseudonym>, now_ms: f64) -> Vec<Self> {
        pseudonyms.sort();
        pseudonyms.dedup();
        pseudonyms
            .chunks(MAX_CONTROL_ITEMS)
            .map(|chunk| {
                let kind = ControlKind::Erasure {
                    pseudonyms: chunk.to_vec(),
                    erased_at_ms: ms(now_ms),
                };
                Self::queued(kind, "", now_ms)
            })
            .collect()
    }
}

/// Whole ms since the epoch, as the server's JSON wants them (negative and NaN read as 0).
fn ms(now_ms: f64) -> u64 {
    if now_ms.is_finite() && now_ms > 0.0 {
        now_ms as u64
    } else {
        0
    }
}

/// At most `max` bytes of `text`, cut at a character boundary.
pub(crate) fn clip(text: &str, max: usize) -> String {
    let mut end = text.len().min(max);
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    text[..end].to_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry(n: u32) -> ErasedPseudonym {
        ErasedPseudonym {
            recipient: "veil-ingest".into(),
            purpose: "treatment".into(),
            pseudonym: format!("p{n}"),
        }
    }

    #[test]
    fn bodies_are_what_the_server_reads() {
        let r = &ControlMessage::revocations(
            vec!["bb".into(), "aa".into(), "aa".into()],
            "research",
            "consent withdrawn",
            1_700_000_000_123.9,
        )[0];
        assert_eq!(r.path(), "/v1/revocations");
        let body: serde_json::Value = serde_json::from_str(&r.body("04ab")).unwrap();
        assert_eq!(
            body,
            serde_json::json!({"format": "veil-revocation-v1", "artifacts": ["aa", "bb"],
                "purpose": "research", "withdrawn_at_ms": 1_700_000_000_123u64,
                "reason": "consent withdrawn", "client_key": "04ab"})
        );
        let e = &ControlMessage::erasures(vec![entry(2), entry(1)], 5.0)[0];
        assert_eq!(e.path(), "/v1/erasures");
        let body: serde_json::Value = serde_json::from_str(&e.body("04ab")).unwrap();
        assert_eq!(body["format"], "veil-erasure-v1");
        assert_eq!(body["erased_at_ms"], 5);
        assert_eq!(body["pseudonyms"][0]["pseudonym"], "p1");
        assert_eq!(body["pseudonyms"][1]["recipient"], "veil-ingest");
    }

    #[test]
    fn keys_name_the_request_not_the_moment() {
        let a = ControlMessage::revocations(vec!["aa".into()], "research", "r", 1.0);
        let b = ControlMessage::revocations(vec!["aa".into()], "research", "r", 2.0);
        assert_eq!(a[0].id, b[0].id);
        assert_eq!(a[0].id.len(), 64);
        let other = ControlMessage::revocations(vec!["ab".into()], "research", "r", 1.0);
        assert_ne!(a[0].id, other[0].id);
        let if_stored = ControlMessage::revocation_if_stored("aa", "research", "r", "", 1.0);
        assert_ne!(a[0].id, if_stored.id);
        let salted = ControlMessage::revocation_if_stored("aa", "research", "r", "again", 1.0);
        assert_ne!(salted.id, if_stored.id);
        // Length-prefixed parts: moving a boundary changes the key.
        let x = ControlMessage::revocations(vec!["a".into()], "researcha", "", 1.0);
        let y = ControlMessage::revocations(vec!["aa".into()], "research", "", 1.0);
        assert_ne!(x[0].id, y[0].id);
    }

    #[test]
    fn large_requests_are_split_and_reasons_clipped() {
        let ids: Vec<String> = (0..MAX_CONTROL_ITEMS + 1)
            .map(|i| format!("{i:064}"))
            .collect();
        let parts = ControlMessage::revocations(ids, "research", &"é".repeat(5000), 0.0);
        assert_eq!(parts.len(), 2);
        let ControlKind::Revocation {
            artifacts, reason, ..
        } = &parts[0].kind
        else {
            panic!("a revocation");
        };
        assert_eq!(artifacts.len(), MAX_CONTROL_ITEMS);
        assert!(reason.len() <= MAX_REASON_BYTES && reason.len() >= MAX_REASON_BYTES - 1);
        let erasures =
            ControlMessage::erasures((0..=MAX_CONTROL_ITEMS as u32).map(entry).collect(), 0.0);
        assert_eq!(erasures.len(), 2);
        assert_ne!(erasures[0].id, erasures[1].id);
    }

    #[test]
    fn stored_messages_read_back() {
        let m = ControlMessage::revocation_if_stored("aa", "research", "r", "", 3.0);
        let json = serde_json::to_string(&m).unwrap();
        assert!(json.contains(r#""kind":"revocation""#), "{json}");
        assert!(json.contains(r#""state":{"state":"queued"}"#), "{json}");
        assert_eq!(serde_json::from_str::<ControlMessage>(&json).unwrap(), m);
    }
}
