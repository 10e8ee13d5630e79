//! A tamper-evident, hash-chained, signed audit log.
//!
//! Every consent change, device verification (accepted or rejected), de-identification, seal,
//! upload, revocation and erasure appends an [`AuditEntry`]. Entry `i` is chained and signed:
//!
//! ```text
//! hash_i = SHA-256(hash_{i-1} || canonical_cbor(entry_i))      hash_{-1} = 32 zero bytes
//! sig_i  = ECDSA-P256-SHA256(client key, hash_i)                64 bytes r || s
//! entry  = {"seq": uint, "time": uint (ms since epoch), "actor": tstr, "event": tstr,
//!           "subject": tstr / null, "details": any}
//! ```
//!
//! `canonical_cbor` is RFC 8949 §4.2.1 deterministic encoding ([`canonical`]). Changing, removing,
//! inserting or reordering any entry breaks the chain at that entry and every later one;
//! [`AuditLog::verify`] reports the first break. Removing entries from the *end* is detectable
//! only against a head hash kept elsewhere ([`AuditLog::verify_head`]), e.g. the last one uploaded.
//!
//! A page that shows the chain's status as it grows verifies it with a [`ChainVerifier`], which
//! checks only the entries appended since its last call.
//!
//! Signing takes a small trait ([`EntrySigner`], implemented for `p256::ecdsa::SigningKey`) or two
//! phases ([`AuditLog::prepare`] then [`AuditLog::commit`]) so that a non-extractable WebCrypto key
//! can sign: `crypto.subtle.sign({name: "ECDSA", hash: "SHA-256"}, key, hash)`.
//!
//! ```
//! use veil_audit::{AuditEvent, AuditLog, NewEntry};
//! let key = p256::ecdsa::SigningKey::from_slice(&[7u8; 32]).unwrap();
//! let mut log = AuditLog::new(*key.verifying_key());
//! log.append(NewEntry::new(1_700_000_000_000, "outbox", AuditEvent::Seal)
//!     .subject("abcd").details(serde_json::json!({"artifact": "00ff"})), &key)?;
//! log.verify()?;
//! let lines = log.to_json_lines();
//! let again = AuditLog::from_json_lines(&lines, *key.verifying_key())?;
//! assert_eq!(again.head(), log.head());
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

pub mod canonical;

use core::fmt;

use p256::ecdsa::signature::{Signer, Verifier};
use p256::ecdsa::{Signature, SigningKey, VerifyingKey};
use serde_json::Value;
use sha2::{Digest, Sha256};

use canonical::MapValue;

/// The `p256` key types the log signs and verifies with (the same `p256` as `veil-seal`).
pub use p256::ecdsa::{SigningKey as ClientSigningKey, VerifyingKey as ClientVerifyingKey};
pub use veil_core::Coded;

/// The hash before the first entry.
pub const GENESIS_HASH: [u8; 32] = [0u8; 32];
/// Longest actor / event / subject text accepted, in bytes.
pub const MAX_TEXT_LEN: usize = 1024;
/// Longest JSON line accepted on import, in bytes.
pub const MAX_LINE_LEN: usize = 1 << 20;

/// What happened. Serialized as the stable kebab-case code ([`AuditEvent::as_str`]).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum AuditEvent {
    /// A consent decision was given, changed or withdrawn (`consent-change`).
    ConsentChange,
    /// A device reading and chain were verified, accepted or rejected (`device-verification`).
    DeviceVerification,
    /// A model was de-identified (`deidentification`).
    Deidentification,
    /// An artifact was sealed (`seal`).
    Seal,
    /// An artifact was uploaded (`upload`).
    Upload,
    /// The server refused an upload for good (`upload-failed`).
    UploadFailed,
    /// Consent was withdrawn for already-delivered artifacts (`revocation`).
    Revocation,
    /// A subject's identity secret was destroyed (`erasure`).
    Erasure,
    /// Any other event code (kept verbatim so that newer logs still verify).
    Other(String),
}

impl AuditEvent {
    /// The stable code.
    pub fn as_str(&self) -> &str {
        match self {
            Self::ConsentChange => "consent-change",
            Self::DeviceVerification => "device-verification",
            Self::Deidentification => "deidentification",
            Self::Seal => "seal",
            Self::Upload => "upload",
            Self::UploadFailed => "upload-failed",
            Self::Revocation => "revocation",
            Self::Erasure => "erasure",
            Self::Other(s) => s,
        }
    }

    /// From a code (unknown codes become [`AuditEvent::Other`]).
    pub fn from_code(code: &str) -> Self {
        match code {
            "consent-change" => Self::ConsentChange,
            "device-verification" => Self::DeviceVerification,
            "deidentification" => Self::Deidentification,
            "seal" => Self::Seal,
            "upload" => Self::Upload,
            "upload-failed" => Self::UploadFailed,
            "revocation" => Self::Revocation,
            "erasure" => Self::Erasure,
            other => Self::Other(other.to_owned()),
        }
    }
}

impl fmt::Display for AuditEvent {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One audit entry: the fields that are hashed.
#[derive(Debug, Clone, PartialEq)]
pub struct AuditEntry {
    /// Position in the log, from 0.
    pub seq: u64,
    /// When, in milliseconds since the Unix epoch (UTC).
    pub time_ms: u64,
    /// Who or what acted (e.g. `"outbox"`, `"user"`, `"ingest"`).
    pub actor: String,
    /// What happened.
    pub event: AuditEvent,
    /// The subject's pseudonym, if the event concerns one (never a name or handle).
    pub subject: Option<String>,
    /// Event details (JSON object by convention; e.g. `{"artifact": id, "outcome": "accepted"}`).
    pub details: Value,
}

impl AuditEntry {
    /// The RFC 8949 §4.2.1 deterministic CBOR encoding of this entry.
    pub fn canonical_cbor(&self) -> Vec<u8> {
        let mut out = Vec::new();
        let raw = |f: &dyn Fn(&mut Vec<u8>)| {
            let mut b = Vec::new();
            f(&mut b);
            MapValue::Raw(b)
        };
        let entries = vec![
            ("seq", raw(&|b| canonical::uint(b, self.seq))),
            ("time", raw(&|b| canonical::uint(b, self.time_ms))),
            ("actor", raw(&|b| canonical::text(b, &self.actor))),
            ("event", raw(&|b| canonical::text(b, self.event.as_str()))),
            (
                "subject",
                raw(&|b| match &self.subject {
                    Some(s) => canonical::text(b, s),
                    None => b.push(0xf6),
                }),
            ),
            ("details", MapValue::Json(&self.details)),
        ];
        canonical::encode_map(&mut out, entries.into_iter());
        out
    }

    /// `SHA-256(prev || canonical_cbor(self))`.
    pub fn chain_hash(&self, prev: &[u8; 32]) -> [u8; 32] {
        let mut h = Sha256::new();
        h.update(prev);
        h.update(self.canonical_cbor());
        h.finalize().into()
    }
}

/// An entry with its place in the chain and its signature.
#[derive(Debug, Clone, PartialEq)]
pub struct ChainedEntry {
    /// The hashed fields.
    pub entry: AuditEntry,
    /// The previous entry's hash ([`GENESIS_HASH`] for the first).
    pub prev: [u8; 32],
    /// This entry's hash.
    pub hash: [u8; 32],
    /// ECDSA P-256 / SHA-256 signature over `hash`, `r || s`.
    pub signature: [u8; 64],
}

/// The fields of an entry to append (seq and chaining are filled in by the log).
#[derive(Debug, Clone, PartialEq)]
pub struct NewEntry {
    /// Milliseconds since the Unix epoch.
    pub time_ms: u64,
    /// Who acted.
    pub actor: String,
    /// What happened.
    pub event: AuditEvent,
    /// Subject pseudonym, if any.
    pub subject: Option<String>,
    /// Details (defaults to `{}`).
    pub details: Value,
}

impl NewEntry {
    /// An entry with no subject and empty details.
    pub fn new(time_ms: u64, actor: &str, event: AuditEvent) -> Self {
        Self {
            time_ms,
            actor: actor.to_owned(),
            event,
            subject: None,
            details: Value::Object(Default::default()),
        }
    }

    /// Set the subject pseudonym.
    pub fn subject(mut self, pseudonym: &str) -> Self {
        self.subject = Some(pseudonym.to_owned());
        self
    }

    /// Set the details.
    pub fn details(mut self, details: Value) -> Self {
        self.details = details;
        self
    }
}

/// Errors of appending to, importing or checking a log.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AuditError {
    /// A text field is empty (actor, event) or longer than [`MAX_TEXT_LEN`].
    #[error("invalid entry field {0}")]
    BadField(&'static str),
    /// The signer failed.
    #[error("signing failed: {0}")]
    SigningFailed(String),
    /// A signature given to [`AuditLog::commit`] does not verify.
    #[error("signature does not verify")]
    BadSignature,
    /// The log moved on since [`AuditLog::prepare`]; prepare again.
    #[error("entry was prepared against an older head")]
    StaleEntry,
    /// A JSON line could not be imported.
    #[error("line {line}: {reason}")]
    BadLine {
        /// 1-based line number.
        line: usize,
        /// What is wrong with it.
        reason: String,
    },
    /// The chain is broken.
    #[error(transparent)]
    Broken(#[from] BrokenLink),
}

impl veil_core::Coded for AuditError {
    /// The stable machine code.
    fn code(&self) -> &'static str {
        match self {
            Self::BadField(_) => "bad-field",
            Self::SigningFailed(_) => "signing-failed",
            Self::BadSignature => "bad-signature",
            Self::StaleEntry => "stale-entry",
            Self::BadLine { .. } => "bad-line",
            Self::Broken(b) => b.fault.code(),
        }
    }
}

/// Why a link is broken.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum LinkFault {
    /// `seq` is not the entry's position (`seq-mismatch`).
    #[error("seq is not the entry's position")]
    SeqMismatch,
    /// `prev` is not the previous entry's hash (`prev-mismatch`): an entry was removed,
    /// inserted or reordered before this one.
    #[error("prev is not the previous entry's hash")]
    PrevMismatch,
    /// The stored hash is not `SHA-256(prev || canonical_cbor(entry))` (`hash-mismatch`): the
    /// entry's content was changed.
    #[error("the entry's hash does not match its content")]
    HashMismatch,
    /// The signature does not verify under the log's key (`bad-signature`).
    #[error("the signature does not verify")]
    BadSignature,
    /// The log does not end at the expected head (`head-mismatch`): entries were cut off.
    #[error("the log does not end at the expected head")]
    HeadMismatch,
}

impl veil_core::Coded for LinkFault {
    /// The stable machine code.
    fn code(&self) -> &'static str {
        match *self {
            Self::SeqMismatch => "seq-mismatch",
            Self::PrevMismatch => "prev-mismatch",
            Self::HashMismatch => "hash-mismatch",
            Self::BadSignature => "bad-signature",
            Self::HeadMismatch => "head-mismatch",
        }
    }
}

/// The first broken link of a chain: its index (0-based) and why.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error(
    "audit chain broken at entry {index}: {}",
    veil_core::Coded::code(fault)
)]
pub struct BrokenLink {
    /// Index of the first entry that does not verify.
    pub index: usize,
    /// Why.
    pub fault: LinkFault,
}

impl veil_core::Coded for BrokenLink {
    /// The stable machine code of the fault.
    fn code(&self) -> &'static str {
        self.fault.code()
    }
}

/// Something that can make an ES256 signature over a message (ECDSA P-256, SHA-256, `r || s`).
pub trait EntrySigner {
    /// Sign `message` (the 32-byte entry hash).
    fn sign_message(&self, message: &[u8]) -> Result<[u8; 64], AuditError>;
}

impl EntrySigner for SigningKey {
    fn sign_message(&self, message: &[u8]) -> Result<[u8; 64], AuditError> {
        let sig: Signature = self
            .try_sign(message)
            .map_err(|e| AuditError::SigningFailed(e.to_string()))?;
        Ok(sig.to_bytes().into())
    }
}

/// An entry chained onto the current head, waiting for its signature.
#[derive(Debug, Clone, PartialEq)]
pub struct PendingEntry {
    entry: AuditEntry,
    prev: [u8; 32],
    hash: [u8; 32],
}

impl PendingEntry {
    /// The 32 bytes to sign (ECDSA P-256 with SHA-256 over them).
    pub fn hash(&self) -> [u8; 32] {
        self.hash
    }

    /// The entry.
    pub fn entry(&self) -> &AuditEntry {
        &self.entry
    }
}

/// The audit log of one client key.
#[derive(Debug, Clone)]
pub struct AuditLog {
    key: VerifyingKey,
    entries: Vec<ChainedEntry>,
}

fn check_text(field: &'static str, s: &str, allow_empty: bool) -> Result<(), AuditError> {
    if (!allow_empty && s.is_empty()) || s.len() > MAX_TEXT_LEN {
        return Err(AuditError::BadField(field));
    }
    Ok(())
}

impl AuditLog {
    /// An empty log whose entries are signed by the client key `key`.
    pub fn new(key: VerifyingKey) -> Self {
        Self {
            key,
            entries: Vec::new(),
        }
    }

    /// A log from entries stored elsewhere (not verified: call [`Self::verify`]).
    pub fn from_entries(key: VerifyingKey, entries: Vec<ChainedEntry>) -> Self {
        Self { key, entries }
    }

    /// The key entries are verified against.
    pub fn key(&self) -> &VerifyingKey {
        &self.key
    }

    /// The entries, oldest first.
    pub fn entries(&self) -> &[ChainedEntry] {
        &self.entries
    }

    /// Number of entries.
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    /// True if there are no entries.
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// The hash of the last entry ([`GENESIS_HASH`] when empty).
    pub fn head(&self) -> [u8; 32] {
        self.entries.last().map_or(GENESIS_HASH, |e| e.hash)
    }

    /// Chain a new entry onto the head; sign [`PendingEntry::hash`] and pass it to [`Self::commit`].
    pub fn prepare(&self, new: NewEntry) -> Result<PendingEntry, AuditError> {
        check_text("actor", &new.actor, false)?;
        check_text("event", new.event.as_str(), false)?;
        if let Some(s) = &new.subject {
            check_text("subject", s, false)?;
        }
        let entry = AuditEntry {
            seq: self.entries.len() as u64,
            time_ms: new.time_ms,
            actor: new.actor,
            event: new.event,
            subject: new.subject,
            details: new.details,
        };
        let prev = self.head();
        let hash = entry.chain_hash(&prev);
        Ok(PendingEntry { entry, prev, hash })
    }

    /// Append a prepared entry with its 64-byte `r || s` signature (verified before it is kept).
    pub fn commit(
        &mut self,
        pending: PendingEntry,
        signature: &[u8],
    ) -> Result<&ChainedEntry, AuditError> {
        if pending.prev != self.head() || pending.entry.seq != self.entries.len() as u64 {
            return Err(AuditError::StaleEntry);
        }
        let sig = Signature::from_slice(signature).map_err(|_| AuditError::BadSignature)?;
        self.key
            .verify(&pending.hash, &sig)
            .map_err(|_| AuditError::BadSignature)?;
        let mut signature = [0u8; 64];
        signature.copy_from_slice(&sig.to_bytes());
        self.entries.push(ChainedEntry {
            entry: pending.entry,
            prev: pending.prev,
            hash: pending.hash,
            signature,
        });
        self.entries.last().ok_or(AuditError::StaleEntry)
    }

    /// Prepare, sign and commit in one step.
    pub fn append(
        &mut self,
        new: NewEntry,
        signer: &dyn EntrySigner,
    ) -> Result<&ChainedEntry, AuditError> {
        let pending = self.prepare(new)?;
        let sig = signer.sign_message(&pending.hash)?;
        self.commit(pending, &sig)
    }

    /// Verify every link; on success return the head hash, else the first broken link.
    pub fn verify(&self) -> Result<[u8; 32], BrokenLink> {
        verify_chain(&self.entries, &self.key)
    }

    /// [`Self::verify`], and that the log ends exactly at `expected_head` (detects truncation).
    pub fn verify_head(&self, expected_head: &[u8; 32]) -> Result<(), BrokenLink> {
        let head = self.verify()?;
        if &head != expected_head {
            return Err(BrokenLink {
                index: self.entries.len(),
                fault: LinkFault::HeadMismatch,
            });
        }
        Ok(())
    }

    /// Export as JSON lines, one entry per line (see [`ChainedEntry::to_json`]), each ending in `\n`.
    pub fn to_json_lines(&self) -> String {
        let mut out = String::new();
        for e in &self.entries {
            out.push_str(&e.to_json().to_string());
            out.push('\n');
        }
        out
    }

    /// Import JSON lines (blank lines ignored). The chain is not verified here: call [`Self::verify`].
    pub fn from_json_lines(text: &str, key: VerifyingKey) -> Result<Self, AuditError> {
        Ok(Self {
            key,
            entries: parse_json_lines(text, 0)?,
        })
    }
}

/// Verifies a log that grows by appends, over and over, without checking again what it has
/// checked: a page that shows the chain's status while the log is added to.
///
/// Verifying an entry costs a P-256 signature check (about a millisecond in WebAssembly), so
/// verifying a whole log of a few hundred entries every time it is shown keeps a page busy. The
/// verifier keeps the exact text it last verified, how many entries it held and the hash it ended
/// at. A later text that begins with those same bytes (followed by a line break) is the same
/// entries plus new ones: only the new lines are parsed and checked, from that head on. Any other
/// text (an entry changed, removed or reordered, another key) is verified from the first entry,
/// so the verdict is always the one [`AuditLog::from_json_lines`] and [`AuditLog::verify`] give.
/// Nothing is remembered from a text that does not verify.
///
/// ```
/// use veil_audit::{AuditEvent, AuditLog, ChainVerifier, NewEntry};
/// let key = p256::ecdsa::SigningKey::from_slice(&[7u8; 32]).unwrap();
/// let mut log = AuditLog::new(*key.verifying_key());
/// let mut verifier = ChainVerifier::new(*key.verifying_key());
/// log.append(NewEntry::new(1_700_000_000_000, "outbox", AuditEvent::Seal), &key)?;
/// assert_eq!(verifier.verify(&log.to_json_lines())?, (1, log.head()));
/// log.append(NewEntry::new(1_700_000_000_001, "outbox", AuditEvent::Upload), &key)?;
/// // Only the second entry's line is parsed and its signature checked.
/// assert_eq!(verifier.verify(&log.to_json_lines())?, (2, log.head()));
/// assert_eq!(verifier.entries_checked(), 2);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug, Clone)]
pub struct ChainVerifier {
    key: VerifyingKey,
    /// The text last verified, its entries and the hash they end at.
    text: String,
    entries: usize,
    head: [u8; 32],
    checked: u64,
}

impl ChainVerifier {
    /// A verifier for logs signed by `key`, with nothing verified yet.
    pub fn new(key: VerifyingKey) -> Self {
        Self {
            key,
            text: String::new(),
            entries: 0,
            head: GENESIS_HASH,
            checked: 0,
        }
    }

    /// The key entries are verified against.
    pub fn key(&self) -> &VerifyingKey {
        &self.key
    }

    /// How many entries this verifier has checked in all (each a hash and a signature), over
    /// every call: what it saved is the entries shown less this.
    pub fn entries_checked(&self) -> u64 {
        self.checked
    }

    /// Verify the log whose JSON lines are `text` (as [`AuditLog::to_json_lines`] writes them, or
    /// joined by `\n`): its number of entries and head hash, or the first fault (a line that does
    /// not parse, numbered in `text`; a broken link, indexed in the whole log).
    pub fn verify(&mut self, text: &str) -> Result<(usize, [u8; 32]), AuditError> {
        let pending = self.check_links(text)?;
        let valid = pending.check_signatures_here();
        self.settle(pending, &valid)
    }

    /// The first half of [`Self::verify`], for signatures checked elsewhere: the browser's
    /// WebCrypto verifies ECDSA P-256 about ten times faster than `p256` compiled to wasm, and
    /// without holding the page's thread. Parses the lines new since the last verified text and
    /// checks their links (position, previous hash, own hash); [`PendingCheck::signatures`] are
    /// then checked, and [`Self::settle`] gives the verdict.
    pub fn check_links(&self, text: &str) -> Result<PendingCheck, AuditError> {
        let known = self.text.as_str();
        // The verified text, then nothing or a line break and new lines.
        let after = match text.strip_prefix(known) {
            Some(tail) if known.is_empty() || known.ends_with('\n') || tail.is_empty() => {
                Some(tail)
            }
            Some(tail) => tail.strip_prefix('\n'),
            None => None,
        };
        let (rest, lines, first, prev) = match after {
            Some(rest) => (rest, known.lines().count(), self.entries, self.head),
            None => (text, 0, 0, GENESIS_HASH),
        };
        let mut entries = parse_json_lines(rest, lines)?;
        let mut broken = None;
        let mut head = prev;
        for (i, e) in entries.iter().enumerate() {
            if let Err(fault) = check_link(e, first + i, &head) {
                broken = Some(BrokenLink {
                    index: first + i,
                    fault,
                });
                entries.truncate(i);
                break;
            }
            head = e.hash;
        }
        Ok(PendingCheck {
            key: self.key,
            text: text.to_owned(),
            first,
            entries,
            broken,
            head,
        })
    }

    /// The second half of [`Self::verify`]: `valid[i]` says whether the `i`-th of
    /// [`PendingCheck::signatures`] verified (a missing answer counts as no). The verdict is the
    /// first entry whose link or signature fails, as [`AuditLog::verify`] reports it; when every
    /// one holds, the text is remembered as verified.
    pub fn settle(
        &mut self,
        pending: PendingCheck,
        valid: &[bool],
    ) -> Result<(usize, [u8; 32]), AuditError> {
        if pending.key != self.key {
            // Checked under another key: verify the same text under this one.
            return self.verify(&pending.text);
        }
        let bad = (0..pending.entries.len()).find(|&i| valid.get(i) != Some(&true));
        self.checked += bad.map_or(pending.entries.len(), |i| i + 1) as u64;
        if let Some(i) = bad {
            return Err(BrokenLink {
                index: pending.first + i,
                fault: LinkFault::BadSignature,
            }
            .into());
        }
        if let Some(b) = pending.broken {
            self.checked += 1;
            return Err(b.into());
        }
        self.entries = pending.first + pending.entries.len();
        self.head = pending.head;
        self.text = pending.text;
        Ok((self.entries, self.head))
    }
}

/// Entries whose links hold, waiting for their signatures to be checked ([`ChainVerifier::check_links`]).
#[derive(Debug, Clone)]
pub struct PendingCheck {
    key: VerifyingKey,
    text: String,
    /// Index in the whole log of `entries[0]`.
    first: usize,
    /// The new entries up to the first broken link.
    entries: Vec<ChainedEntry>,
    broken: Option<BrokenLink>,
    head: [u8; 32],
}

impl PendingCheck {
    /// The signatures to check, in order: each is ECDSA P-256 with SHA-256 by the log's key over
    /// the entry's 32-byte hash, given as `(hash, r || s)`.
    pub fn signatures(&self) -> impl ExactSizeIterator<Item = (&[u8; 32], &[u8; 64])> {
        self.entries.iter().map(|e| (&e.hash, &e.signature))
    }

    /// The answers [`ChainVerifier::settle`] takes, checked here with `p256`, stopping at the
    /// first that fails.
    pub fn check_signatures_here(&self) -> Vec<bool> {
        let mut valid = Vec::with_capacity(self.entries.len());
        for (hash, sig) in self.signatures() {
            let ok = signature_holds(&self.key, hash, sig);
            valid.push(ok);
            if !ok {
                break;
            }
        }
        valid
    }
}

/// The entries of JSON `lines` (blank lines skipped), numbering lines from `before + 1` in errors.
fn parse_json_lines(text: &str, before: usize) -> Result<Vec<ChainedEntry>, AuditError> {
    let mut entries = Vec::new();
    for (i, line) in text.lines().enumerate() {
        let line_no = before + i + 1;
        if line.trim().is_empty() {
            continue;
        }
        if line.len() > MAX_LINE_LEN {
            return Err(AuditError::BadLine {
                line: line_no,
                reason: "line too long".into(),
            });
        }
        let value: Value = serde_json::from_str(line).map_err(|e| AuditError::BadLine {
            line: line_no,
            reason: e.to_string(),
        })?;
        let entry = ChainedEntry::from_json(&value).map_err(|reason| AuditError::BadLine {
            line: line_no,
            reason,
        })?;
        entries.push(entry);
    }
    Ok(entries)
}

/// Verify a chain of entries against a key; return the head hash or the first broken link.
pub fn verify_chain(entries: &[ChainedEntry], key: &VerifyingKey) -> Result<[u8; 32], BrokenLink> {
    let mut prev = GENESIS_HASH;
    for (index, e) in entries.iter().enumerate() {
        let broken = |fault| BrokenLink { index, fault };
        check_link(e, index, &prev).map_err(broken)?;
        if !signature_holds(key, &e.hash, &e.signature) {
            return Err(broken(LinkFault::BadSignature));
        }
        prev = e.hash;
    }
    Ok(prev)
}

/// Whether `signature` (`r || s`) is `key`'s ECDSA P-256 / SHA-256 signature of an entry's `hash`.
fn signature_holds(key: &VerifyingKey, hash: &[u8; 32], signature: &[u8; 64]) -> bool {
    Signature::from_slice(signature).is_ok_and(|sig| key.verify(hash, &sig).is_ok())
}

/// Entry `e`'s link at position `index` after an entry ending at `prev`, all but its signature.
fn check_link(e: &ChainedEntry, index: usize, prev: &[u8; 32]) -> Result<(), LinkFault> {
    if e.entry.seq != index as u64 {
        return Err(LinkFault::SeqMismatch);
    }
    if &e.prev != prev {
        return Err(LinkFault::PrevMismatch);
    }
    if e.entry.chain_hash(prev) != e.hash {
        return Err(LinkFault::HashMismatch);
    }
    Ok(())
}

fn hex_array<const N: usize>(v: &Value, field: &str) -> Result<[u8; N], String> {
    let s = v
        .get(field)
        .and_then(Value::as_str)
        .ok_or_else(|| format!("{field} must be a hex string"))?;
    let mut out = [0u8; N];
    hex::decode_to_slice(s, &mut out)
        .map_err(|_| format!("{field} must be {} hex digits", 2 * N))?;
    Ok(out)
}

impl ChainedEntry {
    /// The JSON-lines form: `{"seq", "time", "actor", "event", "subject", "details", "prev",
    /// "hash", "sig"}`, with `prev`/`hash`/`sig` in lowercase hex.
    pub fn to_json(&self) -> Value {
        serde_json::json!({
            "seq": self.entry.seq,
            "time": self.entry.time_ms,
            "actor": self.entry.actor,
            "event": self.entry.event.as_str(),
            "subject": self.entry.subject,
            "details": self.entry.details,
            "prev": hex::encode(self.prev),
            "hash": hex::encode(self.hash),
            "sig": hex::encode(self.signature),
        })
    }

    /// Parse the JSON-lines form (the claimed hashes are kept as-is for [`verify_chain`] to judge).
    pub fn from_json(v: &Value) -> Result<Self, String> {
        if !v.is_object() {
            return Err("not a JSON object".into());
        }
        let uint = |f: &str| {
            v.get(f)
                .and_then(Value::as_u64)
                .ok_or_else(|| format!("{f} must be an unsigned integer"))
        };
        let text = |f: &str| {
            v.get(f)
                .and_then(Value::as_str)
                .map(str::to_owned)
                .ok_or_else(|| format!("{f} must be a string"))
        };
        let subject = match v.get("subject") {
            None | Some(Value::Null) => None,
            Some(Value::String(s)) => Some(s.clone()),
            Some(_) => return Err("subject must be a string or null".into()),
        };
        let entry = AuditEntry {
            seq: uint("seq")?,
            time_ms: uint("time")?,
            actor: text("actor")?,
            event: AuditEvent::from_code(&text("event")?),
            subject,
            details: v.get("details").cloned().unwrap_or(Value::Null),
        };
        Ok(Self {
            entry,
            prev: hex_array(v, "prev")?,
            hash: hex_array(v, "hash")?,
            signature: hex_array(v, "sig")?,
        })
    }
}
