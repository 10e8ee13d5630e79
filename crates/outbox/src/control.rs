//! Control messages: what the client tells the server about artifacts it already sent.
//!
//! - a **revocation** (`POST /v1/revocations`, `veil-revocation-v1`): consent for a purpose was
//!   withdrawn, or an item the person cancelled may have left; the server marks the artifacts
//!   revoked. One that asks only "if stored" ([`ControlKind::Revocation::if_stored`]) names one
//!   artifact whose fate is unknown; the server's `unknown-artifact` then means there is nothing to
//!   revoke, not a failure, once [`crate::REVOCATION_GRACE_MS`] has passed since the withdrawal:
//!   before that, an upload sent earlier may still be committed, so it is asked again then.
//! - an **erasure** (`POST /v1/erasures`, `veil-erasure-v1`): the identity layer was destroyed;
//!   the server marks every artifact under the listed pseudonyms as belonging to an erased subject.
//!
//! Both are JSON signed by the client key over their exact bytes (the transport signs: it holds
//! the key), and both are queued, persisted and retried like uploads. A message's key (its `id`,
//! sent as `Idempotency-Key`) is the SHA-256 of what it asks, so queueing the same request twice
//! keeps one message. Each body also carries `timestamp_ms` (when the message was made) and a
//! random `nonce` (16 bytes, hex), both fixed when the message is queued and persisted with it:
//! every retry sends the byte-identical body, which the server recognises as a replay (by the
//! body's SHA-256) and answers with its first answer, storing it once; the server never accepts
//! one nonce from one client for two different bodies. Both operations are idempotent at the
//! server as well (already revoked, already erased).

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::item::ItemState;

/// Most artifacts one revocation names, and most pseudonyms one erasure lists (the server's bound).
pub const MAX_CONTROL_ITEMS: usize = 10_000;
/// Longest revocation reason, in bytes (the server's bound).
pub const MAX_REASON_BYTES: usize = 4096;
/// Longest recipient, purpose or pseudonym in an erasure entry, in bytes.
pub const MAX_FIELD_BYTES: usize = 256;
/// Bytes of a control message's nonce (hex in the body: twice as many digits).
pub const NONCE_BYTES: usize = 16;

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
        /// the answer "nothing to revoke" (after [`crate::REVOCATION_GRACE_MS`]).
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
    /// When the message was made, ms since the epoch: the body's `timestamp_ms`. Fixed once.
    #[serde(default)]
    pub timestamp_ms: u64,
    /// The body's `nonce`: [`NONCE_BYTES`] bytes, lowercase hex, drawn when the message was queued
    /// and fixed from then on. Empty in a message stored before nonces existed: it gets one before
    /// it is next sent.
    #[serde(default)]
    pub nonce: String,
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
            timestamp_ms: ms(now_ms),
            nonce: String::new(),
            attempts: 0,
            next_at_ms: 0.0,
            created_ms: now_ms,
        }
    }

    /// Whether the message has its nonce (every message queued by this version has).
    #[must_use]
    pub fn has_nonce(&self) -> bool {
        !self.nonce.is_empty()
    }

    /// Give the message its nonce, from `random` (fresh random bytes) and the message's own id and
    /// time: SHA-256 over the three, cut to [`NONCE_BYTES`]. Two messages of one client never share
    /// a nonce even if a generator repeats itself (their ids differ), and with a good generator the
    /// nonce is as unpredictable as `random`. A message made before nonces existed gets its
    /// `timestamp_ms` from when it was queued.
    pub(crate) fn set_nonce(&mut self, random: &[u8; NONCE_BYTES]) {
        if self.timestamp_ms == 0 {
            self.timestamp_ms = ms(self.created_ms);
        }
        let mut hash = Sha256::new();
        hash.update(b"veil-outbox-nonce-v1");
        hash.update(self.id.as_bytes());
        hash.update(self.timestamp_ms.to_be_bytes());
        hash.update(random);
        self.nonce = hex::encode(&hash.finalize()[..NONCE_BYTES]);
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
    /// public key of the client, hex) that signs it. The transport signs exactly these bytes; the
    /// same message and key always give the same bytes (keys in a fixed order, the time and nonce
    /// stored with the message), so a retry is the byte-identical request.
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
                "timestamp_ms": self.timestamp_ms,
                "nonce": self.nonce,
            }),
            ControlKind::Erasure {
                pseudonyms,
                erased_at_ms,
            } => serde_json::json!({
                "format": "veil-erasure-v1",
                "erased_at_ms": erased_at_ms,
                "pseudonyms": pseudonyms,
                "client_key": client_key,
                "timestamp_ms": self.timestamp_ms,
                "nonce": self.nonce,
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
        let mut r = ControlMessage::revocations(
            vec!["bb".into(), "aa".into(), "aa".into()],
            "research",
            "consent withdrawn",
            1_700_000_000_123.9,
        )
        .remove(0);
        r.set_nonce(&[7; NONCE_BYTES]);
        assert_eq!(r.path(), "/v1/revocations");
        assert_eq!(r.nonce.len(), 2 * NONCE_BYTES);
        assert!(
            r.nonce
                .bytes()
                .all(|b| b.is_ascii_hexdigit() && !b.is_ascii_uppercase())
        );
        let body: serde_json::Value = serde_json::from_str(&r.body("04ab")).unwrap();
        assert_eq!(
            body,
            serde_json::json!({"format": "veil-revocation-v1", "artifacts": ["aa", "bb"],
                "purpose": "research", "withdrawn_at_ms": 1_700_000_000_123u64,
                "reason": "consent withdrawn", "client_key": "04ab",
                "timestamp_ms": 1_700_000_000_123u64, "nonce": r.nonce})
        );
        let mut e = ControlMessage::erasures(vec![entry(2), entry(1)], 5.0).remove(0);
        e.set_nonce(&[7; NONCE_BYTES]);
        assert_eq!(e.path(), "/v1/erasures");
        let body: serde_json::Value = serde_json::from_str(&e.body("04ab")).unwrap();
        assert_eq!(body["format"], "veil-erasure-v1");
        assert_eq!(body["erased_at_ms"], 5);
        assert_eq!(body["timestamp_ms"], 5);
        assert_eq!(body["nonce"], e.nonce.as_str());
        assert_ne!(
            e.nonce, r.nonce,
            "same random bytes, other message: another nonce"
        );
        assert_eq!(body["pseudonyms"][0]["pseudonym"], "p1");
        assert_eq!(body["pseudonyms"][1]["recipient"], "veil-ingest");
        // The same message gives the same bytes, as a retry must send them; stored and read
        // back, too.
        assert_eq!(e.body("04ab"), e.body("04ab"));
        let stored: ControlMessage =
            serde_json::from_str(&serde_json::to_string(&e).unwrap()).unwrap();
        assert_eq!(stored.body("04ab"), e.body("04ab"));
    }

    #[test]
    fn nonces_come_from_the_random_bytes() {
        let make = |random: u8| {
            let mut m = ControlMessage::revocation_if_stored("aa", "research", "r", "", 9.0);
            m.set_nonce(&[random; NONCE_BYTES]);
            m.nonce
        };
        assert_eq!(make(1), make(1));
        assert_ne!(make(1), make(2));
    }

    #[test]
    fn messages_stored_before_nonces_read_and_get_one() {
        // As the app stored a revocation before bodies carried a time and a nonce.
        let stored = r#"{"id":"ab","kind":"revocation","artifacts":["aa"],"purpose":"research","reason":"r","withdrawn_at_ms":4,"if_stored":false,"state":{"state":"queued"},"attempts":1,"next_at_ms":0.0,"created_ms":1712345670000.0}"#;
        let mut m: ControlMessage = serde_json::from_str(stored).unwrap();
        assert!(!m.has_nonce());
        assert_eq!(m.timestamp_ms, 0);
        m.set_nonce(&[0; NONCE_BYTES]);
        assert!(m.has_nonce());
        assert_eq!(m.timestamp_ms, 1_712_345_670_000, "the time it was queued");
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
        let mut m = ControlMessage::revocation_if_stored("aa", "research", "r", "", 3.0);
        m.set_nonce(&[1; NONCE_BYTES]);
        let json = serde_json::to_string(&m).unwrap();
        assert!(json.contains(r#""kind":"revocation""#), "{json}");
        assert!(json.contains(r#""state":{"state":"queued"}"#), "{json}");
        assert!(json.contains(r#""timestamp_ms":3,"#), "{json}");
        assert_eq!(serde_json::from_str::<ControlMessage>(&json).unwrap(), m);
    }
}
