//! The consent ledger: append-only events; the current state is derived by replay, never stored.
//!
//! Giving and withdrawing are each one event (GDPR Art. 7(3): withdrawing must be as easy as giving).
//! A HIPAA revocation takes effect when received (45 CFR 164.508(b)(5)): the `withdrawn` event's
//! `at` is the time of receipt, and every decision at or after it sees the withdrawal.
//!
//! Replay rules (one scope = purpose + tier + partner + country):
//! - `given`, `guardian-given`: the scope becomes active (until `expires_at`, if set);
//! - `renewed`: a scope given earlier becomes active again with the new expiry;
//! - `expired`: the scope ends (needs a new consent, not a refusal);
//! - `withdrawn` of scope W ends every scope that covers W (W itself and broader research tiers), so
//!   after withdrawing nothing that would allow W remains. A withdrawal with nothing before it is a
//!   refusal;
//! - `study-ended` for study S ends every consent given "until the end of the research study" S
//!   (its `study`) and every waiver covering S: an expiry by event, which HIPAA allows for research
//!   (45 CFR 164.508(c)(1)(v)) and California does not (Cal. Civ. Code § 56.11(b)(8) asks for a
//!   date: see [`crate::rules::check_study_end`]).
//!
//! Research may also rest on a documented IRB / Privacy Board waiver (45 CFR 164.512(i)): clinic
//! staff record it as a `waived` event carrying the 164.512(i)(2) documentation, and end it with
//! `waiver-ended` (or the study's end, or its `expires_at`). A waiver is not the person's consent:
//! it never makes a consent `Active` in [`ConsentLedger::standing`]; [`ConsentLedger::waiver_at`]
//! finds it and the decision weighs it where the regime provides one.
//!
//! Events must be appended in non-decreasing time; later events win.

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::transfer::TransferMechanism;
use crate::wording::{FormKey, WordingKey};
use crate::{ConsentError, Purpose, PurposeScope, TextRef, Timestamp, WordingRef};

/// Format tag of the ledger JSON.
pub const LEDGER_FORMAT: &str = "veil-consent-ledger/1";
/// Most events a ledger may hold (a file's count is a claim; this bounds replay work).
pub const MAX_EVENTS: usize = 100_000;
/// Largest ledger JSON accepted, in bytes.
pub const MAX_LEDGER_BYTES: usize = 16 * 1024 * 1024;
/// Longest free-text field (staff id, guardian reference, authorization elements).
pub const MAX_FIELD: usize = 2_000;

/// What happened.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum EventKind {
    /// The subject gave consent.
    Given,
    /// The subject (or guardian) withdrew consent, or refused it.
    Withdrawn,
    /// A consent reached its end and was recorded as expired.
    Expired,
    /// An earlier consent was renewed (new expiry, possibly a new text version).
    Renewed,
    /// A guardian / legal / personal representative gave consent for a minor (national capacity
    /// law, e.g. EU CTR Art. 32(1)(a), 45 CFR 164.502(g)): demonstrable as GDPR Art. 7(1) asks.
    GuardianGiven,
    /// The minor assented to a use their guardian consents to (EU CTR Art. 32(1)(b)-(c),
    /// CNS Resolution 466/2012 II.24, France CSP L1122-2). Not consent: it never allows a use on
    /// its own; a minor's refusal is a `withdrawn` event, which ends the use.
    Assented,
    /// Clinic staff recorded a documented IRB / Privacy Board waiver of consent or authorization
    /// for research in this scope (45 CFR 164.512(i)(1)(i)), with its documentation
    /// ([`ConsentEvent::waiver`], 164.512(i)(2)). Not the subject's consent.
    Waived,
    /// Clinic staff recorded that the waiver of this scope no longer applies (approval withdrawn,
    /// suspended or ended).
    WaiverEnded,
    /// The research study named in [`ConsentEvent::study`] ended: every consent given until its end
    /// expires now, and so does every waiver covering it.
    StudyEnded,
}

impl EventKind {
    /// The kebab-case id.
    #[must_use]
    pub fn id(self) -> &'static str {
        match self {
            Self::Given => "given",
            Self::Withdrawn => "withdrawn",
            Self::Expired => "expired",
            Self::Renewed => "renewed",
            Self::GuardianGiven => "guardian-given",
            Self::Assented => "assented",
            Self::Waived => "waived",
            Self::WaiverEnded => "waiver-ended",
            Self::StudyEnded => "study-ended",
        }
    }

    /// Every kind, in declaration order.
    pub const ALL: [EventKind; 9] = [
        Self::Given,
        Self::Withdrawn,
        Self::Expired,
        Self::Renewed,
        Self::GuardianGiven,
        Self::Assented,
        Self::Waived,
        Self::WaiverEnded,
        Self::StudyEnded,
    ];

    /// The kind with this exact id, if any.
    #[must_use]
    pub fn from_id(id: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|k| k.id() == id)
    }

    /// Whether clinic staff record this kind (a waiver, its end, a study's end), never the subject.
    #[must_use]
    pub fn by_staff(self) -> bool {
        matches!(self, Self::Waived | Self::WaiverEnded | Self::StudyEnded)
    }

    /// Whether this kind gives (or renews) a consent or an assent: the kinds a `study` may end.
    #[must_use]
    pub fn gives(self) -> bool {
        matches!(
            self,
            Self::Given | Self::GuardianGiven | Self::Renewed | Self::Assented
        )
    }
}

/// How the board reviewed and approved a waiver (45 CFR 164.512(i)(2)(iv)).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum ReviewProcedure {
    /// Reviewed at a convened meeting (164.512(i)(2)(iv)(A)-(B)).
    Normal,
    /// Expedited review (164.512(i)(2)(iv)(C), 45 CFR 46.110 / 21 CFR 56.110).
    Expedited,
}

impl ReviewProcedure {
    /// The kebab-case id.
    #[must_use]
    pub fn id(self) -> &'static str {
        match self {
            Self::Normal => "normal",
            Self::Expedited => "expedited",
        }
    }
}

/// The documentation of an IRB / Privacy Board waiver or alteration of authorization, element by
/// element of 45 CFR 164.512(i)(2), and the study it covers. Present on `waived` events.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize, Default)]
pub struct ResearchWaiver {
    /// (i)(2)(i): the identity of the approving IRB or Privacy Board.
    #[serde(default)]
    pub board: String,
    /// (i)(2)(i): the date on which the waiver was approved.
    #[serde(default)]
    pub approved_on: Option<Timestamp>,
    /// (i)(2)(ii): the statement that the waiver satisfies the criteria of 164.512(i)(2)(ii).
    #[serde(default)]
    pub criteria_stated: bool,
    /// (i)(2)(iii): a brief description of the PHI the board found necessary for the research.
    #[serde(default)]
    pub phi: String,
    /// (i)(2)(iv): the review procedure it was approved under.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub review: Option<ReviewProcedure>,
    /// (i)(2)(v): signature of the chair or another member designated by the chair.
    #[serde(default)]
    pub signed_by: String,
    /// The research study (protocol) the waiver covers.
    #[serde(default)]
    pub study: String,
}

impl ResearchWaiver {
    /// The documentation elements missing, each with its paragraph of 45 CFR 164.512(i)(2).
    #[must_use]
    pub fn missing_elements(&self) -> Vec<&'static str> {
        let blank = |s: &str| s.trim().is_empty();
        let mut m = Vec::new();
        if blank(&self.board) {
            m.push("45 CFR 164.512(i)(2)(i) identity of the IRB or Privacy Board");
        }
        if self.approved_on.is_none() {
            m.push("45 CFR 164.512(i)(2)(i) date of approval");
        }
        if !self.criteria_stated {
            m.push("45 CFR 164.512(i)(2)(ii) statement that the waiver criteria are met");
        }
        if blank(&self.phi) {
            m.push("45 CFR 164.512(i)(2)(iii) description of the PHI");
        }
        if self.review.is_none() {
            m.push("45 CFR 164.512(i)(2)(iv) review procedure");
        }
        if blank(&self.signed_by) {
            m.push("45 CFR 164.512(i)(2)(v) signature of the chair or designee");
        }
        if blank(&self.study) {
            m.push("the study the waiver covers");
        }
        m
    }

    fn check(&self, at: Timestamp) -> Result<(), ConsentError> {
        for f in [&self.board, &self.phi, &self.signed_by, &self.study] {
            if f.len() > MAX_FIELD {
                return Err(ConsentError::BadField("waiver"));
            }
        }
        if self.approved_on.is_some_and(|d| d > at) {
            // Recorded before the board approved it: not a documented waiver.
            return Err(ConsentError::BadField("waiver"));
        }
        Ok(())
    }
}

/// Where the event was captured.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "kebab-case")]
pub enum Channel {
    /// On the subject's own device.
    OwnDevice,
    /// On a clinic kiosk, in a session started by a staff member.
    Kiosk {
        /// The staff member's id.
        staff_id: String,
    },
    /// Imported from another system (FHIR), which recorded the capture.
    Imported {
        /// Where it came from (e.g. the FHIR Consent id or organization).
        source: String,
    },
}

/// A HIPAA authorization's content (45 CFR 164.508(c)). Present on events that must carry one.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize, Default)]
pub struct HipaaAuthorization {
    /// (c)(1)(i): a specific, meaningful description of the information to be used or disclosed.
    #[serde(default)]
    pub information: String,
    /// (c)(1)(ii): who is authorised to make the use or disclosure.
    #[serde(default)]
    pub disclosed_by: String,
    /// (c)(1)(iii): to whom the disclosure may be made.
    #[serde(default)]
    pub recipients: String,
    /// (c)(1)(iv): the purpose of each use or disclosure.
    #[serde(default)]
    pub purpose: String,
    /// (c)(1)(v): an expiration date or event (`none` is allowed for research databases).
    #[serde(default)]
    pub expiration: String,
    /// (c)(1)(vi): signature of the individual (or representative).
    #[serde(default)]
    pub signature: String,
    /// (c)(1)(vi): the date signed.
    #[serde(default)]
    pub signed_at: Option<Timestamp>,
    /// (c)(1)(vi): if signed by a personal representative, their authority to act.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub representative_authority: Option<String>,
    /// (c)(2)(i): the statement of the right to revoke in writing and how.
    #[serde(default)]
    pub right_to_revoke_stated: bool,
    /// (c)(2)(ii): the statement on conditioning treatment/payment on signing.
    #[serde(default)]
    pub conditioning_stated: bool,
    /// (c)(2)(iii): the statement that disclosed information may be redisclosed.
    #[serde(default)]
    pub redisclosure_stated: bool,
    /// The wording of the form the statements were read on: its language, version and the SHA-256
    /// of all its strings ([`crate::wording`]); absent for forms signed outside Veil.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub form: Option<WordingRef>,
}

impl HipaaAuthorization {
    /// The core elements and statements missing, each with its paragraph of 45 CFR 164.508(c).
    #[must_use]
    pub fn missing_elements(&self) -> Vec<&'static str> {
        let blank = |s: &str| s.trim().is_empty();
        let mut m = Vec::new();
        if blank(&self.information) {
            m.push("45 CFR 164.508(c)(1)(i) description of the information");
        }
        if blank(&self.disclosed_by) {
            m.push("45 CFR 164.508(c)(1)(ii) who may disclose");
        }
        if blank(&self.recipients) {
            m.push("45 CFR 164.508(c)(1)(iii) to whom");
        }
        if blank(&self.purpose) {
            m.push("45 CFR 164.508(c)(1)(iv) purpose");
        }
        if blank(&self.expiration) {
            m.push("45 CFR 164.508(c)(1)(v) expiration date or event");
        }
        if blank(&self.signature) || self.signed_at.is_none() {
            m.push("45 CFR 164.508(c)(1)(vi) signature and date");
        }
        if !self.right_to_revoke_stated {
            m.push("45 CFR 164.508(c)(2)(i) right to revoke");
        }
        if !self.conditioning_stated {
            m.push("45 CFR 164.508(c)(2)(ii) conditioning statement");
        }
        if !self.redisclosure_stated {
            m.push("45 CFR 164.508(c)(2)(iii) redisclosure statement");
        }
        m
    }

    /// Whether the (c)(1)(v) expiration is "none" or the end of a research study, in English or
    /// in the form's wording of any language: 164.508(c)(1)(v) accepts those only for research.
    #[must_use]
    pub fn open_ended_expiration(&self) -> bool {
        let norm = |s: &str| {
            s.trim()
                .trim_end_matches('.')
                .split_whitespace()
                .collect::<Vec<_>>()
                .join(" ")
                .to_lowercase()
        };
        let e = norm(&self.expiration);
        const OPEN: [&str; 14] = [
            "none",
            "no expiration",
            "no expiration date",
            "does not expire",
            "never",
            "never expires",
            "n/a",
            "na",
            "end of the research study",
            "end of research study",
            "end of the study",
            "end of study",
            "the end of the research study",
            "the end of the study",
        ];
        OPEN.contains(&e.as_str())
            || crate::wording::catalogue().is_ok_and(|all| {
                all.iter().any(|w| {
                    w.strings
                        .get(WordingKey::id(FormKey::ExpirationEndOfStudy))
                        .is_some_and(|t| norm(t) == e)
                })
            })
    }

    fn check_lengths(&self) -> Result<(), ConsentError> {
        for f in [
            &self.information,
            &self.disclosed_by,
            &self.recipients,
            &self.purpose,
            &self.expiration,
            &self.signature,
        ] {
            if f.len() > MAX_FIELD {
                return Err(ConsentError::BadField("authorization"));
            }
        }
        if self
            .representative_authority
            .as_ref()
            .is_some_and(|r| r.len() > MAX_FIELD)
        {
            return Err(ConsentError::BadField("authorization"));
        }
        Ok(())
    }
}

/// One ledger event.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct ConsentEvent {
    /// What happened.
    pub kind: EventKind,
    /// The scope it applies to.
    #[serde(flatten)]
    pub scope: PurposeScope,
    /// The exact consent text shown (absent only for events imported from systems that do not say).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub text: Option<TextRef>,
    /// When it happened (for a withdrawal: when it was received).
    pub at: Timestamp,
    /// Where it was captured.
    pub channel: Channel,
    /// When the consent ends by itself, if it does.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub expires_at: Option<Timestamp>,
    /// Reference to the guardian / personal representative (for `guardian-given`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub guardian: Option<String>,
    /// HIPAA authorization content, when the consent doubles as a 164.508 authorization.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub authorization: Option<HipaaAuthorization>,
    /// For a cross-border transfer: the safeguard the subject was told it rests on (the
    /// destination is the scope's country). Shown on the receipt and exported in FHIR.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub transfer_mechanism: Option<TransferMechanism>,
    /// The research study this event is tied to: on a consent, it ends at that study's end ("end
    /// of the research study", 45 CFR 164.508(c)(1)(v)); on `study-ended`, the study that ended.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub study: Option<String>,
    /// On `waived` events: the waiver's documentation (45 CFR 164.512(i)(2)).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub waiver: Option<ResearchWaiver>,
}

impl ConsentEvent {
    /// A consent event with the given kind, scope, time and channel and nothing else.
    #[must_use]
    pub fn new(kind: EventKind, scope: PurposeScope, at: Timestamp, channel: Channel) -> Self {
        Self {
            kind,
            scope,
            text: None,
            at,
            channel,
            expires_at: None,
            guardian: None,
            authorization: None,
            transfer_mechanism: None,
            study: None,
            waiver: None,
        }
    }
}

/// The append-only ledger of one subject (identified by pseudonym only).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ConsentLedger {
    format: &'static str,
    subject: String,
    events: Vec<ConsentEvent>,
}

#[derive(Deserialize)]
struct RawLedger {
    #[serde(default)]
    format: Option<String>,
    subject: String,
    events: Vec<ConsentEvent>,
}

/// Check a pseudonym is a valid FHIR id (R4 `id`: `[A-Za-z0-9\-\.]{1,64}`).
fn check_pseudonym(p: &str) -> Result<(), ConsentError> {
    if p.is_empty()
        || p.len() > 64
        || !p
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'.')
    {
        return Err(ConsentError::BadPseudonym(p.chars().take(64).collect()));
    }
    Ok(())
}

impl ConsentLedger {
    /// An empty ledger for a subject pseudonym.
    ///
    /// # Errors
    /// [`ConsentError::BadPseudonym`].
    pub fn new(subject: &str) -> Result<Self, ConsentError> {
        check_pseudonym(subject)?;
        Ok(Self {
            format: LEDGER_FORMAT,
            subject: subject.to_owned(),
            events: Vec::new(),
        })
    }

    /// Parse and validate a ledger from JSON (each event is re-appended, so every rule of
    /// [`ConsentLedger::append`] holds for loaded ledgers too).
    ///
    /// # Errors
    /// [`ConsentError::TooLarge`], [`ConsentError::Json`], or any append error.
    pub fn from_json(bytes: &[u8]) -> Result<Self, ConsentError> {
        if bytes.len() > MAX_LEDGER_BYTES {
            return Err(ConsentError::TooLarge(format!(
                "ledger of {} bytes",
                bytes.len()
            )));
        }
        let raw: RawLedger = serde_json::from_slice(bytes)?;
        if let Some(f) = &raw.format
            && f != LEDGER_FORMAT
        {
            return Err(ConsentError::Json(format!(
                "unknown ledger format `{}`",
                f.chars().take(40).collect::<String>()
            )));
        }
        let mut ledger = Self::new(&raw.subject)?;
        if raw.events.len() > MAX_EVENTS {
            return Err(ConsentError::TooLarge(format!(
                "{} events",
                raw.events.len()
            )));
        }
        for e in raw.events {
            ledger.append(e)?;
        }
        Ok(ledger)
    }

    /// The ledger as pretty JSON.
    ///
    /// # Errors
    /// [`ConsentError::Json`] (not expected for a valid ledger).
    pub fn to_json(&self) -> Result<String, ConsentError> {
        Ok(serde_json::to_string_pretty(self)?)
    }

    /// The subject's pseudonym.
    #[must_use]
    pub fn subject(&self) -> &str {
        &self.subject
    }

    /// All events, oldest first.
    #[must_use]
    pub fn events(&self) -> &[ConsentEvent] {
        &self.events
    }

    /// A stable id of the event at `index`: hex of the first 16 bytes of SHA-256 over the subject,
    /// the index and the event's canonical JSON. Used for receipts and FHIR ids.
    #[must_use]
    pub fn event_id(&self, index: usize) -> Option<String> {
        let e = self.events.get(index)?;
        let json = serde_json::to_vec(e).ok()?;
        let mut h = Sha256::new();
        h.update(b"veil-consent-event/1\n");
        h.update(self.subject.as_bytes());
        h.update(b"\n");
        h.update(index.to_string().as_bytes());
        h.update(b"\n");
        h.update(&json);
        Some(hex::encode(&h.finalize()[..16]))
    }

    /// Append an event. Returns its index.
    ///
    /// # Errors
    /// [`ConsentError::OutOfOrder`] if earlier than the last event, [`ConsentError::RenewWithoutConsent`],
    /// [`ConsentError::BadExpiry`], text errors ([`TextRef::verify`]) and scope errors.
    pub fn append(&mut self, mut event: ConsentEvent) -> Result<usize, ConsentError> {
        let index = self.events.len();
        if index >= MAX_EVENTS {
            return Err(ConsentError::TooLarge(format!(
                "more than {MAX_EVENTS} events"
            )));
        }
        event.scope = event.scope.validated()?;
        if let Some(last) = self.events.last()
            && event.at < last.at
        {
            return Err(ConsentError::OutOfOrder {
                index,
                at: event.at.to_rfc3339(),
            });
        }
        if let Some(exp) = event.expires_at
            && exp <= event.at
        {
            return Err(ConsentError::BadExpiry(index));
        }
        if let Some(text) = &event.text {
            if text.purpose != event.scope.purpose {
                return Err(ConsentError::UnknownText(format!(
                    "{} text used for purpose {}",
                    text.purpose.id(),
                    event.scope.purpose.id()
                )));
            }
            text.verify()?;
        }
        match &event.channel {
            Channel::Kiosk { staff_id } if staff_id.trim().is_empty() || staff_id.len() > 200 => {
                return Err(ConsentError::BadField("staff_id"));
            }
            Channel::Imported { source } if source.len() > 200 => {
                return Err(ConsentError::BadField("source"));
            }
            _ => {}
        }
        if event.guardian.as_ref().is_some_and(|g| g.len() > MAX_FIELD) {
            return Err(ConsentError::BadField("guardian"));
        }
        if let Some(a) = &event.authorization {
            a.check_lengths()?;
        }
        if event.kind == EventKind::Renewed
            && !self.events.iter().any(|e| {
                matches!(e.kind, EventKind::Given | EventKind::GuardianGiven)
                    && e.scope == event.scope
            })
        {
            return Err(ConsentError::RenewWithoutConsent(index));
        }
        if event.kind == EventKind::Assented && event.authorization.is_some() {
            return Err(ConsentError::BadField("authorization"));
        }
        check_staff_event(&event)?;
        self.events.push(event);
        Ok(index)
    }

    /// The standing of a use at time `at`, by replaying every event at or before `at`. An
    /// `assented` event is not consent and never makes a use active here.
    #[must_use]
    pub fn standing(&self, used: &PurposeScope, at: Timestamp) -> Standing {
        self.replay(used, at, |kind, _| kind != EventKind::Assented)
    }

    /// The standing of one voice's agreement to a use at `at`: the guardian's consent, the
    /// subject's own consent, or the subject's assent (their own consent counts as assent).
    /// Withdrawals and expiries end every voice's agreement, whoever recorded them: a minor's
    /// refusal stands against their guardian's consent (EU CTR Art. 32(1)(c)).
    #[must_use]
    pub fn standing_of(&self, used: &PurposeScope, at: Timestamp, voice: Voice) -> Standing {
        self.replay(used, at, |kind, by| match voice {
            Voice::Guardian => kind != EventKind::Assented && by == GivenBy::Guardian,
            Voice::Subject => kind != EventKind::Assented && by == GivenBy::Subject,
            Voice::SubjectAssent => by == GivenBy::Subject,
        })
    }

    fn replay(
        &self,
        used: &PurposeScope,
        at: Timestamp,
        counts: impl Fn(EventKind, GivenBy) -> bool,
    ) -> Standing {
        // Per exact scope that covers `used`: the last state. Then the best of them.
        let mut states: Vec<(PurposeScope, Standing)> = Vec::new();
        for (i, e) in self.events.iter().enumerate() {
            if e.at > at {
                break; // sorted by time: nothing later is in effect yet
            }
            match e.kind {
                EventKind::Given
                | EventKind::GuardianGiven
                | EventKind::Renewed
                | EventKind::Assented => {
                    if !e.scope.covers(used) {
                        continue;
                    }
                    // A renewal keeps who originally gave consent.
                    let by = match e.kind {
                        EventKind::GuardianGiven => GivenBy::Guardian,
                        EventKind::Renewed => states
                            .iter()
                            .find(|(s, _)| *s == e.scope)
                            .and_then(|(_, st)| match st {
                                Standing::Active { by, .. } => Some(*by),
                                _ => None,
                            })
                            .or_else(|| self.original_giver(&e.scope, i))
                            .unwrap_or(GivenBy::Subject),
                        _ => GivenBy::Subject,
                    };
                    if !counts(e.kind, by) {
                        continue;
                    }
                    set(
                        &mut states,
                        &e.scope,
                        Standing::Active {
                            event: i,
                            since: e.at,
                            by,
                            expires_at: e.expires_at,
                        },
                    );
                }
                EventKind::Expired => {
                    if e.scope.covers(used) {
                        set(&mut states, &e.scope, Standing::Expired { at: e.at });
                    }
                }
                EventKind::StudyEnded => {
                    // Every consent given until this study's end expires now.
                    for (_, st) in &mut states {
                        if let Standing::Active { event, .. } = *st
                            && self.events.get(event).and_then(|g| g.study.as_ref())
                                == e.study.as_ref()
                        {
                            *st = Standing::Expired { at: e.at };
                        }
                    }
                }
                // Not the subject's consent: see `waiver_at`.
                EventKind::Waived | EventKind::WaiverEnded => {}
                EventKind::Withdrawn => {
                    // A withdrawal of scope W ends every consent whose scope covers W (W itself and
                    // broader research tiers), then records W as withdrawn: nothing that would allow
                    // W survives it. Research tiers always overlap, so a refusal of one tier also
                    // stands against the others unless a narrower consent remains in force.
                    if overlaps(&e.scope, used) {
                        for (s, st) in &mut states {
                            if s.covers(&e.scope) {
                                *st = Standing::Withdrawn { at: e.at, event: i };
                            }
                        }
                        set(
                            &mut states,
                            &e.scope,
                            Standing::Withdrawn { at: e.at, event: i },
                        );
                    }
                }
            }
        }
        // Apply expiry at `at`.
        for (_, st) in &mut states {
            if let Standing::Active {
                expires_at: Some(exp),
                ..
            } = *st
                && exp <= at
            {
                *st = Standing::Expired { at: exp };
            }
        }
        let pick = |f: fn(&Standing) -> bool| {
            states
                .iter()
                .filter(|(_, s)| f(s))
                .max_by_key(|(_, s)| s.time())
                .map(|(_, s)| s.clone())
        };
        pick(|s| matches!(s, Standing::Active { .. }))
            .or_else(|| pick(|s| matches!(s, Standing::Withdrawn { .. })))
            .or_else(|| pick(|s| matches!(s, Standing::Expired { .. })))
            .unwrap_or(Standing::None)
    }

    /// The documented waiver research in `used` may rest on at `at`: the latest `waived` event
    /// whose scope covers `used`, not ended by a later `waiver-ended` of its scope, by the end of
    /// the study it covers, or by its own `expires_at`. Returns its index and documentation.
    #[must_use]
    pub fn waiver_at(
        &self,
        used: &PurposeScope,
        at: Timestamp,
    ) -> Option<(usize, &ResearchWaiver)> {
        let mut live: Vec<usize> = Vec::new();
        for (i, e) in self.events.iter().enumerate() {
            if e.at > at {
                break;
            }
            match e.kind {
                EventKind::Waived if e.scope.covers(used) => {
                    live.retain(|&w| self.events[w].scope != e.scope);
                    live.push(i);
                }
                EventKind::WaiverEnded => live.retain(|&w| self.events[w].scope != e.scope),
                EventKind::StudyEnded => live.retain(|&w| {
                    self.events[w].waiver.as_ref().map(|d| d.study.trim())
                        != e.study.as_deref().map(str::trim)
                }),
                _ => {}
            }
        }
        live.into_iter()
            .rev()
            .filter(|&w| self.events[w].expires_at.is_none_or(|x| x > at))
            .find_map(|w| self.events[w].waiver.as_ref().map(|d| (w, d)))
    }

    fn original_giver(&self, scope: &PurposeScope, before: usize) -> Option<GivenBy> {
        self.events[..before]
            .iter()
            .rev()
            .find(|e| {
                matches!(e.kind, EventKind::Given | EventKind::GuardianGiven) && e.scope == *scope
            })
            .map(|e| {
                if e.kind == EventKind::GuardianGiven {
                    GivenBy::Guardian
                } else {
                    GivenBy::Subject
                }
            })
    }

    /// The current state of every scope that appears in the ledger, at `at` (for the Consent page).
    #[must_use]
    pub fn states(&self, at: Timestamp) -> Vec<(PurposeScope, Standing)> {
        let mut scopes: Vec<PurposeScope> = self.events.iter().map(|e| e.scope.clone()).collect();
        scopes.sort();
        scopes.dedup();
        scopes
            .into_iter()
            .map(|s| {
                let st = self.standing(&s, at);
                (s, st)
            })
            .collect()
    }
}

/// The rules of waivers and study ends: who records them, what they carry, which scopes.
fn check_staff_event(event: &ConsentEvent) -> Result<(), ConsentError> {
    let kind = event.kind;
    if kind.by_staff() {
        if event.channel == Channel::OwnDevice {
            return Err(ConsentError::StaffOnly(kind.id()));
        }
        if event.scope.purpose != Purpose::Research {
            return Err(ConsentError::BadField("scope"));
        }
        if event.authorization.is_some() || event.text.is_some() || event.guardian.is_some() {
            return Err(ConsentError::BadField("authorization"));
        }
    }
    match (&event.waiver, kind) {
        (Some(w), EventKind::Waived) => w.check(event.at)?,
        (None, EventKind::Waived) | (Some(_), _) => return Err(ConsentError::BadField("waiver")),
        (None, _) => {}
    }
    match (&event.study, kind) {
        (Some(s), k) if k == EventKind::StudyEnded || k.gives() => {
            if s.trim().is_empty() || s.len() > 200 || event.scope.purpose != Purpose::Research {
                return Err(ConsentError::BadField("study"));
            }
        }
        (None, EventKind::StudyEnded) | (Some(_), _) => {
            return Err(ConsentError::BadField("study"));
        }
        (None, _) => {}
    }
    if kind == EventKind::StudyEnded && event.expires_at.is_some() {
        return Err(ConsentError::BadField("expires_at"));
    }
    Ok(())
}

/// Research tiers always overlap; other scopes overlap only when equal.
fn overlaps(a: &PurposeScope, b: &PurposeScope) -> bool {
    a.purpose == b.purpose && a.partner == b.partner && a.country == b.country
}

fn set(states: &mut Vec<(PurposeScope, Standing)>, scope: &PurposeScope, st: Standing) {
    if let Some(slot) = states.iter_mut().find(|(s, _)| s == scope) {
        slot.1 = st;
    } else {
        states.push((scope.clone(), st));
    }
}

/// Whose agreement [`ConsentLedger::standing_of`] replays.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Voice {
    /// The guardian's / representative's consent (`guardian-given`).
    Guardian,
    /// The subject's own consent (`given`).
    Subject,
    /// The subject's assent (`assented`) or own consent (`given`).
    SubjectAssent,
}

/// Who gave an active consent.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum GivenBy {
    /// The subject.
    Subject,
    /// A guardian / personal representative.
    Guardian,
}

/// Where a use stands after replay.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "state", rename_all = "kebab-case")]
pub enum Standing {
    /// Nothing in the ledger covers the use.
    None,
    /// A consent covering the use is in force.
    Active {
        /// Index of the event that gave (or renewed) it.
        event: usize,
        /// When.
        since: Timestamp,
        /// By whom.
        by: GivenBy,
        /// When it ends by itself.
        expires_at: Option<Timestamp>,
    },
    /// Consent was withdrawn (or refused).
    Withdrawn {
        /// When the withdrawal was received.
        at: Timestamp,
        /// Index of the withdrawal event.
        event: usize,
    },
    /// Consent expired.
    Expired {
        /// When.
        at: Timestamp,
    },
}

impl Standing {
    fn time(&self) -> Timestamp {
        match self {
            Self::None => Timestamp(i64::MIN),
            Self::Active { since, .. } => *since,
            Self::Withdrawn { at, .. } | Self::Expired { at } => *at,
        }
    }
}
