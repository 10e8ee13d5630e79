//! What of a subject's consent travels inside a sealed artifact, so that its recipient can decide
//! again, under its own law, on every read ([`SealedConsent`]).
//!
//! A device decides a use with [`crate::decide_with`] before it seals; the recipient's server
//! holds neither the subject's ledger nor their age and jurisdictions, so without help it could
//! only trust the device's `allow`. A sealed artifact therefore carries, signed with it:
//!
//! - **the consent event** the decision rested on (the `given`, `guardian-given`, `renewed` or
//!   `waived` ledger entry), *minimised* ([`minimised`]); the manifest's `event_hash` is the
//!   SHA-256 of its canonical JSON ([`event_hash`]), so a recipient checks the event is the one the
//!   device's decision named, and the device can find it in its ledger by minimising its entries
//!   the same way;
//! - **the use decided** (its scope: `research/this-study`, `cross-border-transfer(US)`,
//!   `partner-sharing(Acme)`): a manifest names only the purpose, and a transfer's destination or
//!   a partner decides too; the event, when there is one, must cover it;
//! - **the subject's jurisdictions** (the laws that apply to them, as the device decided under);
//! - **an age band** ([`AgeBand`]) instead of the age.
//!
//! The server replays a one-event ledger, plus the withdrawals it holds, through
//! [`crate::decide_with`] with its own jurisdiction as [`crate::DecideOptions::controller`]
//! ([`SealedConsent::decide`]).
//!
//! **Data minimisation (GDPR Art. 5(1)(c)).** A decision reads only some of an event:
//!
//! - of the free-text fields that may name a person (a HIPAA authorization's `signature`, the
//!   personal representative's `representative_authority`, a `guardian` reference, a kiosk's
//!   `staff_id`, an import's `source`, a waiver's `signed_by`) and of the authorization's
//!   descriptive elements (`information`, `disclosed_by`, `recipients`, `purpose`, `expiration`)
//!   and a waiver's `phi` description, a decision reads only whether each is present and non-blank
//!   (45 CFR 164.508(c), 164.512(i)(2) elements). Each non-blank one is replaced by [`WITHHELD`]
//!   and a blank one stays blank, so the decision is the same and no name, signature or
//!   identifier of the subject, their guardian or staff reaches the recipient. A sealed artifact
//!   is pseudonymous; a signer's name beside the pseudonym would undo that.
//! - what a decision reads in full is kept: the kind, scope, times (`at`, `expires_at`, the
//!   authorization's `signed_at`, a waiver's approval date), the consent text's reference (its
//!   language, version and hash: which text, not the person), the form's reference, the transfer
//!   mechanism, the study id, and a waiver's board and study (they appear in the decision's basis;
//!   they name a committee and a protocol, not a person). The times are as precise as the ledger's
//!   because expiry and ordering depend on them; the manifest already carries its creation time.
//! - **The age band** is the least precise age that gives the same decision under every bundled
//!   rule: a decision reads the age only through capacity tiers ([`crate::rules::Regime::capacity`]:
//!   `age < tier.age`), so all ages between two consecutive tier ages of all rule files decide
//!   alike. The band is that interval: `16-17` (from 16, below 18) while a capacity threshold can
//!   still matter, `21+` (every threshold passed, an adult under every rule) after. A server whose
//!   rules have a threshold inside a band decides for each age the band may hide and takes the
//!   strictest ([`AgeBand::ages`]).

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::decide::MAX_AGE;
use crate::ledger::{Channel, ConsentEvent, EventKind};
use crate::{
    ConsentError, ConsentLedger, DecideOptions, Decision, DecisionRequest, Jurisdiction, Outcome,
    PurposeScope, Subject, Timestamp,
};

/// What a withheld free-text field reads as (see the module docs).
pub const WITHHELD: &str = "withheld";
/// Largest sealed consent event, canonical JSON, in bytes (a minimised event is under 2 KiB; its
/// kept fields are bounded by the ledger's own limits).
pub const MAX_SEALED_EVENT_BYTES: usize = 16 * 1024;
/// Most jurisdictions a sealed consent names.
pub const MAX_SEALED_JURISDICTIONS: usize = 16;

/// An age band: every age from `from` up to (not including) `below`, or from `from` on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AgeBand {
    /// The youngest age in the band.
    pub from: u32,
    /// The first age past it; `None`: no upper end (an adult under every rule).
    pub below: Option<u32>,
}

/// Every capacity age of every bundled rule file, ascending, without duplicates.
///
/// # Errors
/// [`ConsentError::BadBundledData`].
pub fn capacity_ages() -> Result<Vec<u32>, ConsentError> {
    let mut ages: Vec<u32> = crate::rules::regimes()?
        .iter()
        .flat_map(|r| r.capacity.iter().map(|c| c.age))
        .filter(|a| *a > 0)
        .collect();
    ages.sort_unstable();
    ages.dedup();
    Ok(ages)
}

impl AgeBand {
    /// The band of a subject of `age`: between the capacity ages around it.
    ///
    /// # Errors
    /// [`ConsentError::BadAge`] over the oldest accepted age, [`ConsentError::BadBundledData`].
    pub fn of(age: u32) -> Result<Self, ConsentError> {
        if age > MAX_AGE {
            return Err(ConsentError::BadAge(age));
        }
        let ages = capacity_ages()?;
        let from = ages.iter().rev().find(|t| **t <= age).copied().unwrap_or(0);
        let below = ages.iter().find(|t| **t > age).copied();
        Ok(Self { from, below })
    }

    /// Read a band as [`AgeBand::label`] writes it (`16-17`, `21+`), or an exact age (`34`),
    /// which is turned into its band.
    ///
    /// # Errors
    /// [`ConsentError::BadAge`] for anything else (the age is not echoed: `0`).
    pub fn parse(text: &str) -> Result<Self, ConsentError> {
        let bad = || ConsentError::BadAge(0);
        let num = |s: &str| {
            if s.is_empty() || s.len() > 3 || !s.bytes().all(|b| b.is_ascii_digit()) {
                return Err(bad());
            }
            s.parse::<u32>().map_err(|_| bad())
        };
        let text = text.trim();
        let band = if let Some(from) = text.strip_suffix('+') {
            Self {
                from: num(from)?,
                below: None,
            }
        } else if let Some((from, last)) = text.split_once('-') {
            Self {
                from: num(from)?,
                below: Some(num(last)?.checked_add(1).ok_or_else(bad)?),
            }
        } else {
            return Self::of(num(text)?);
        };
        band.check()?;
        Ok(band)
    }

    /// `from-last` (`16-17`), or `from+` (`21+`).
    #[must_use]
    pub fn label(self) -> String {
        match self.below {
            Some(b) => format!("{}-{}", self.from, b.saturating_sub(1)),
            None => format!("{}+", self.from),
        }
    }

    /// Checks the band holds an age and is within the accepted ages.
    ///
    /// # Errors
    /// [`ConsentError::BadAge`].
    pub fn check(self) -> Result<(), ConsentError> {
        if self.from > MAX_AGE {
            return Err(ConsentError::BadAge(self.from));
        }
        match self.below {
            Some(b) if b <= self.from || b > MAX_AGE + 1 => Err(ConsentError::BadAge(b)),
            _ => Ok(()),
        }
    }

    /// The ages a decision must be taken for so that no age in the band decides more
    /// permissively: the band's first age and every capacity age of this build's rules inside
    /// it (between two of them every age decides alike).
    ///
    /// # Errors
    /// [`ConsentError::BadAge`], [`ConsentError::BadBundledData`].
    pub fn ages(self) -> Result<Vec<u32>, ConsentError> {
        self.check()?;
        let mut out = vec![self.from];
        out.extend(
            capacity_ages()?
                .into_iter()
                .filter(|a| *a > self.from && self.below.is_none_or(|b| *a < b)),
        );
        Ok(out)
    }
}

/// A non-blank text replaced by [`WITHHELD`]; a blank one kept (its blankness is what is read).
fn withhold(text: &str) -> String {
    if text.trim().is_empty() {
        text.to_owned()
    } else {
        WITHHELD.to_owned()
    }
}

/// The event as a sealed artifact carries it: every field that may name a person replaced by
/// [`WITHHELD`] (see the module docs); what a decision reads is kept.
#[must_use]
pub fn minimised(event: &ConsentEvent) -> ConsentEvent {
    let mut e = event.clone();
    e.channel = match &e.channel {
        Channel::OwnDevice => Channel::OwnDevice,
        Channel::Kiosk { staff_id } => Channel::Kiosk {
            staff_id: withhold(staff_id),
        },
        Channel::Imported { source } => Channel::Imported {
            source: withhold(source),
        },
    };
    e.guardian = e.guardian.as_deref().map(withhold);
    if let Some(a) = &mut e.authorization {
        for field in [
            &mut a.information,
            &mut a.disclosed_by,
            &mut a.recipients,
            &mut a.purpose,
            &mut a.expiration,
            &mut a.signature,
        ] {
            *field = withhold(field);
        }
        a.representative_authority = a.representative_authority.as_deref().map(withhold);
    }
    if let Some(w) = &mut e.waiver {
        w.phi = withhold(&w.phi);
        w.signed_by = withhold(&w.signed_by);
    }
    e
}

/// The canonical JSON of a (minimised) event: what a manifest's event hash covers.
///
/// # Errors
/// [`ConsentError::Json`] (not expected).
pub fn event_json(event: &ConsentEvent) -> Result<Vec<u8>, ConsentError> {
    Ok(serde_json::to_vec(event)?)
}

/// SHA-256 of [`event_json`] of the minimised `event`: the `event_hash` a manifest names when it
/// carries the event.
///
/// # Errors
/// As [`event_json`].
pub fn event_hash(event: &ConsentEvent) -> Result<[u8; 32], ConsentError> {
    Ok(Sha256::digest(event_json(&minimised(event))?).into())
}

fn not_minimised() -> ConsentError {
    ConsentError::Json(format!(
        "a sealed consent event must be minimised (names, signatures and identifiers read \"{WITHHELD}\")"
    ))
}

/// The event as the first of a one-event ledger: a `renewed` event is replayed as `given` (the
/// ledger it renews is not carried). Who gave the renewed consent is then taken to be the subject,
/// which is never more permissive: a minor's renewed guardian consent decides as the minor's own,
/// which a capacity rule refuses.
fn replayable(event: &ConsentEvent) -> ConsentEvent {
    let mut e = event.clone();
    if e.kind == EventKind::Renewed {
        e.kind = EventKind::Given;
    }
    e
}

/// What a sealed artifact carries of its subject's consent (see the module docs).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SealedConsent {
    /// The minimised consent event the decision rested on; `None` for a use allowed without
    /// consent (treatment under HIPAA 45 CFR 164.506, ...).
    #[serde(default)]
    pub event: Option<ConsentEvent>,
    /// The use decided; its purpose is the manifest's, and the event covers it.
    pub scope: PurposeScope,
    /// Every jurisdiction whose law applies to the subject (1..=[`MAX_SEALED_JURISDICTIONS`]).
    pub jurisdictions: Vec<Jurisdiction>,
    /// The subject's age band.
    pub age_band: AgeBand,
}

impl SealedConsent {
    /// What a device seals for the use `scope`: `event` minimised, the jurisdictions, and the age
    /// band ([`AgeBand::of`] the subject's age).
    ///
    /// # Errors
    /// As [`SealedConsent::check`].
    pub fn new(
        event: Option<&ConsentEvent>,
        scope: PurposeScope,
        jurisdictions: Vec<Jurisdiction>,
        age_band: AgeBand,
    ) -> Result<Self, ConsentError> {
        let sealed = Self {
            event: event.map(minimised),
            scope: scope.validated()?,
            jurisdictions,
            age_band,
        };
        sealed.check()?;
        Ok(sealed)
    }

    /// Read a sealed event from its canonical JSON: at most [`MAX_SEALED_EVENT_BYTES`], exactly
    /// the bytes its own serialisation gives (so no unknown key, no other spelling of a time or
    /// order of keys), already minimised, and valid as a ledger's first event.
    ///
    /// # Errors
    /// [`ConsentError::TooLarge`], [`ConsentError::Json`] (also: not canonical, not minimised),
    /// and the ledger's append errors.
    pub fn read_event(bytes: &[u8]) -> Result<ConsentEvent, ConsentError> {
        if bytes.len() > MAX_SEALED_EVENT_BYTES {
            return Err(ConsentError::TooLarge(format!(
                "sealed consent event of {} bytes",
                bytes.len()
            )));
        }
        let event: ConsentEvent = serde_json::from_slice(bytes)?;
        if event_json(&event)? != bytes {
            return Err(ConsentError::Json(
                "a sealed consent event is not its own canonical JSON".into(),
            ));
        }
        if minimised(&event) != event {
            return Err(not_minimised());
        }
        ConsentLedger::new("sealed")?.append(replayable(&event))?;
        Ok(event)
    }

    /// Checks the bounds and that the event could stand in a ledger, is minimised, and is one a
    /// decision may rest on (a consent given, renewed or a documented waiver).
    ///
    /// # Errors
    /// [`ConsentError::NoJurisdiction`], [`ConsentError::TooLarge`], [`ConsentError::BadAge`],
    /// [`ConsentError::BadField`] (`event`: a kind no decision rests on), [`ConsentError::Json`]
    /// (not minimised), and the ledger's append errors.
    pub fn check(&self) -> Result<(), ConsentError> {
        if self.jurisdictions.is_empty() {
            return Err(ConsentError::NoJurisdiction);
        }
        if self.jurisdictions.len() > MAX_SEALED_JURISDICTIONS {
            return Err(ConsentError::TooLarge(format!(
                "{} jurisdictions",
                self.jurisdictions.len()
            )));
        }
        self.age_band.check()?;
        if self.scope.clone().validated()? != self.scope {
            return Err(ConsentError::BadField("scope"));
        }
        if let Some(e) = &self.event {
            if !e.scope.covers(&self.scope) {
                return Err(ConsentError::BadField("scope"));
            }
            if !(e.kind.gives() || e.kind == EventKind::Waived) || e.kind == EventKind::Assented {
                return Err(ConsentError::BadField("event"));
            }
            if minimised(e) != *e {
                return Err(not_minimised());
            }
            if event_json(e)?.len() > MAX_SEALED_EVENT_BYTES {
                return Err(ConsentError::TooLarge("a sealed consent event".into()));
            }
            ConsentLedger::new("sealed")?.append(replayable(e))?;
        }
        Ok(())
    }

    /// What `veil seal` and npm's `sealArtifact` seal from their inputs: a ledger event as its
    /// ledger's JSON holds it (minimised here), the use as a scope label
    /// ([`PurposeScope::parse_label`]; default: the event's scope, else `purpose`), jurisdiction
    /// codes, and an age band or exact age ([`AgeBand::parse`]).
    ///
    /// # Errors
    /// [`ConsentError::Json`] for an event that does not parse, [`PurposeScope::parse_label`]'s,
    /// [`AgeBand::parse`]'s, [`Jurisdiction::parse_list`]'s and [`SealedConsent::check`]'s errors.
    pub fn from_inputs<S: AsRef<str>>(
        event_json: Option<&[u8]>,
        scope: Option<&str>,
        purpose: &str,
        jurisdictions: impl IntoIterator<Item = S>,
        age_band: &str,
    ) -> Result<Self, ConsentError> {
        let event: Option<ConsentEvent> = match event_json {
            Some(bytes) if bytes.len() > crate::ledger::MAX_LEDGER_BYTES => {
                return Err(ConsentError::TooLarge(format!(
                    "event of {} bytes",
                    bytes.len()
                )));
            }
            Some(bytes) => Some(serde_json::from_slice(bytes)?),
            None => None,
        };
        let scope = match (scope, &event) {
            (Some(label), _) => PurposeScope::parse_label(label)?,
            (None, Some(e)) => e.scope.clone(),
            (None, None) => PurposeScope::parse_label(purpose)?,
        };
        Self::new(
            event.as_ref(),
            scope,
            Jurisdiction::parse_list(jurisdictions)?,
            AgeBand::parse(age_band)?,
        )
    }

    /// The manifest's `event_hash` for this consent: [`event_hash`] of its event, if any.
    ///
    /// # Errors
    /// As [`event_hash`].
    pub fn event_hash(&self) -> Result<Option<[u8; 32]>, ConsentError> {
        self.event.as_ref().map(event_hash).transpose()
    }

    /// The use a read of an artifact delivered for `purpose` is decided for: the sealed scope,
    /// whose purpose must be `purpose`.
    ///
    /// # Errors
    /// [`ConsentError::BadField`] (`scope`) when it is for another purpose.
    pub fn scope(&self, purpose: &str) -> Result<PurposeScope, ConsentError> {
        if self.scope.purpose.id() == purpose {
            Ok(self.scope.clone())
        } else {
            Err(ConsentError::BadField("scope"))
        }
    }

    /// Decide a use for `purpose` at `at` again: the one-event ledger of `subject` (a pseudonym)
    /// with, when consent was withdrawn at `withdrawn_at`, that withdrawal, replayed through
    /// [`crate::decide_with`] with `opts` (the recipient's jurisdiction as its controller), for
    /// every age [`AgeBand::ages`] names; the strictest decision is the answer.
    ///
    /// # Errors
    /// [`SealedConsent::scope`]'s and [`crate::decide_with`]'s errors, a bad pseudonym.
    pub fn decide(
        &self,
        subject: &str,
        purpose: &str,
        at: Timestamp,
        withdrawn_at: Option<Timestamp>,
        opts: &DecideOptions,
    ) -> Result<Decision, ConsentError> {
        let scope = self.scope(purpose)?;
        let mut ledger = ConsentLedger::new(subject)?;
        if let Some(e) = &self.event {
            ledger.append(replayable(e))?;
        }
        if let Some(w) = withdrawn_at {
            let after = self.event.as_ref().map_or(w, |e| e.at.max(w));
            ledger.append(ConsentEvent::new(
                EventKind::Withdrawn,
                scope.clone(),
                after,
                Channel::OwnDevice,
            ))?;
        }
        // A transfer rests on the safeguard the subject was told of (the event's), unless the
        // controller names one.
        let mut opts = opts.clone();
        if opts.transfer_mechanism.is_none() {
            opts.transfer_mechanism = self.event.as_ref().and_then(|e| e.transfer_mechanism);
        }
        let mut strictest: Option<Decision> = None;
        for age in self.age_band.ages()? {
            let request = DecisionRequest {
                subject: Subject {
                    jurisdictions: self.jurisdictions.clone(),
                    age,
                    guardian_consent: false,
                },
                scope: scope.clone(),
                at,
                waiver: None,
            };
            let d = crate::decide_with(&request, Some(&ledger), &opts)?;
            if strictest.as_ref().is_none_or(|s| d.decision > s.decision) {
                strictest = Some(d);
            }
        }
        strictest.ok_or(ConsentError::BadAge(self.age_band.from))
    }
}

/// Whether `decision` allows the use.
#[must_use]
pub fn allows(decision: &Decision) -> bool {
    decision.decision == Outcome::Allow
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{HipaaAuthorization, ResearchTier};

    fn t(s: &str) -> Timestamp {
        Timestamp::parse(s).unwrap_or(Timestamp(0))
    }

    #[test]
    fn a_band_holds_every_age_that_decides_alike() {
        let ages = capacity_ages().unwrap_or_default();
        let top = *ages.last().unwrap_or(&0);
        assert!(top >= 18, "{ages:?}");
        assert_eq!(
            AgeBand::of(top + 20).map(AgeBand::label),
            Ok(format!("{top}+"))
        );
        assert_eq!(AgeBand::of(17).map(|b| b.below), Ok(Some(18)));
        for age in 0..=40 {
            let band = AgeBand::of(age).unwrap_or(AgeBand {
                from: 999,
                below: None,
            });
            assert!(
                band.from <= age && band.below.is_none_or(|b| age < b),
                "{age}"
            );
            // No capacity age falls strictly inside a band, so its ages are one.
            assert_eq!(band.ages().map(|a| a.len()), Ok(1), "{age}");
            assert_eq!(AgeBand::parse(&band.label()), Ok(band));
        }
        assert_eq!(AgeBand::parse("34"), AgeBand::of(34));
        for bad in ["", "-", "17-16", "a+", "1000+", "12-", "+", "16-170"] {
            assert!(AgeBand::parse(bad).is_err(), "{bad}");
        }
        // A wider band (rules of another build) is decided at every threshold inside it.
        let wide = AgeBand {
            from: 0,
            below: None,
        };
        assert_eq!(wide.ages().map(|a| a.len()), Ok(ages.len() + 1));
    }

    fn given_with_names() -> ConsentEvent {
        let scope = PurposeScope::research(ResearchTier::ThisStudy);
        let mut e = ConsentEvent::new(
            EventKind::Given,
            scope,
            t("2026-01-10T09:00:00Z"),
            Channel::Kiosk {
                staff_id: "nurse Ann Lee".into(),
            },
        );
        e.authorization = Some(HipaaAuthorization {
            information: "all lab results of Jane Roe".into(),
            disclosed_by: "Clinic A".into(),
            recipients: "Study B".into(),
            purpose: "study B".into(),
            expiration: "2027-01-01".into(),
            signature: "Jane Roe".into(),
            signed_at: Some(t("2026-01-10T09:00:00Z")),
            representative_authority: None,
            right_to_revoke_stated: true,
            conditioning_stated: true,
            redisclosure_stated: false,
            form: None,
        });
        e
    }

    #[test]
    fn minimising_drops_names_and_keeps_the_decision() {
        let e = given_with_names();
        let m = minimised(&e);
        let json = String::from_utf8(event_json(&m).unwrap_or_default()).unwrap_or_default();
        for name in ["Jane", "Roe", "Ann", "Lee", "Clinic A", "Study B"] {
            assert!(!json.contains(name), "{name} in {json}");
        }
        let a = m.authorization.clone().unwrap_or_default();
        let original = e.authorization.clone().unwrap_or_default();
        assert_eq!(a.missing_elements(), original.missing_elements());
        // A blank element stays blank: it is still missing.
        let mut blank = e.clone();
        if let Some(a) = &mut blank.authorization {
            a.signature = " ".into();
        }
        assert!(
            minimised(&blank)
                .authorization
                .unwrap_or_default()
                .missing_elements()
                .iter()
                .any(|m| m.contains("(c)(1)(vi)"))
        );
        assert_eq!(minimised(&m), m);
        assert_eq!(event_hash(&e), event_hash(&m));
    }

    /// A German subject's research consent, given on their own device on the current text,
    /// without a HIPAA authorization.
    fn german_research_consent() -> SealedConsent {
        let scope = PurposeScope::research(ResearchTier::ThisStudy);
        let mut e = ConsentEvent::new(
            EventKind::Given,
            scope.clone(),
            t("2026-01-10T09:00:00Z"),
            Channel::OwnDevice,
        );
        e.text = crate::text::current(scope.purpose, "en")
            .ok()
            .map(|x| x.reference());
        let de = Jurisdiction::parse_list(["DE"]).unwrap_or_default();
        SealedConsent::new(
            Some(&e),
            scope,
            de,
            AgeBand::of(34).unwrap_or(AgeBand {
                from: 0,
                below: None,
            }),
        )
        .unwrap_or_else(|e| panic!("{e}"))
    }

    #[test]
    fn the_recipients_law_decides_again_and_a_withdrawal_denies() {
        let sealed = german_research_consent();
        let at = t("2026-02-01T00:00:00Z");
        let under = |code: &str| DecideOptions {
            controller: Jurisdiction::parse(code).ok(),
            ..DecideOptions::default()
        };
        let de = sealed.decide("p-1", "research", at, None, &under("DE"));
        assert_eq!(
            de.as_ref().map(|d| d.decision),
            Ok(Outcome::Allow),
            "{de:?}"
        );
        // A US controller: HIPAA asks a research use for an authorization (45 CFR 164.508),
        // which a GDPR consent event does not carry.
        let us = sealed
            .decide("p-1", "research", at, None, &under("US"))
            .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(us.decision, Outcome::NeedsConsent, "{us:?}");
        assert!(us.citations.iter().any(|c| c.contains("164.508")), "{us:?}");
        let withdrawn = sealed
            .decide(
                "p-1",
                "research",
                at,
                Some(t("2026-01-20T00:00:00Z")),
                &under("DE"),
            )
            .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(withdrawn.decision, Outcome::Deny, "{withdrawn:?}");
        // The event is for research: another purpose is not decided on it.
        assert!(
            sealed
                .decide("p-1", "treatment", at, None, &under("DE"))
                .is_err()
        );
    }

    #[test]
    fn a_sealed_event_is_read_only_in_its_canonical_minimised_form() {
        let m = minimised(&given_with_names());
        let bytes = event_json(&m).unwrap_or_default();
        assert_eq!(SealedConsent::read_event(&bytes), Ok(m.clone()));
        let original = event_json(&given_with_names()).unwrap_or_default();
        assert_eq!(
            SealedConsent::read_event(&original).map_err(|e| e.to_string()),
            Err(not_minimised().to_string())
        );
        let mut extra: serde_json::Value = serde_json::from_slice(&bytes).unwrap_or_default();
        extra["verified"] = true.into();
        let extra = serde_json::to_vec(&extra).unwrap_or_default();
        assert!(SealedConsent::read_event(&extra).is_err());
        let spaced = String::from_utf8(bytes.clone())
            .unwrap_or_default()
            .replace(",", ", ");
        assert!(SealedConsent::read_event(spaced.as_bytes()).is_err());
        assert!(SealedConsent::read_event(&vec![b' '; MAX_SEALED_EVENT_BYTES + 1]).is_err());
    }
}
