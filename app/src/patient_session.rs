//! The current person's consent session: who they are legally (jurisdictions, age, guardian) and
//! their consent ledger, kept only in this browser under the patient prefix (so a kiosk session's
//! end removes it). Pages read it; only the Consent page changes it. What is allowed is always
//! derived from the ledger by `veil_consent::decide`, never stored.

use serde::{Deserialize, Serialize};
use veil_consent::{
    Channel, ConsentLedger, Decision, DecisionRequest, GivenBy, Jurisdiction, Outcome,
    PurposeScope, Standing, Subject, Timestamp,
};
use veil_core::Coded;

use crate::error::AppError;
use crate::platform::patient;

/// The storage key of the session (under the patient prefix).
const SESSION_KEY: &str = "consent-session";

/// Everything about the current person that the app keeps; stored only in this browser.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct PatientSession {
    /// Every jurisdiction whose law applies, as confirmed by the person.
    pub jurisdictions: Vec<String>,
    /// Age in years.
    pub age: u32,
    /// Language of the consent texts.
    pub lang: String,
    /// The guardian's name when the person is a minor (kept on this device only).
    pub guardian: Option<String>,
    /// The staff member who started a kiosk session, if this is one.
    pub kiosk_staff: Option<String>,
    /// The ledger as JSON (the ledger is the only record; states are derived from it).
    pub ledger: String,
    /// Receipts issued after each change: (file name, JSON, HTML).
    #[serde(default)]
    pub receipts: Vec<(String, String, String)>,
    /// The research study the clinic named for this person (staff, Consent page): the study a
    /// consent "until the end of the study" ends with, and whose recorded end ends it
    /// (45 CFR 164.508(c)(1)(v)). Waivers and study ends themselves are ledger events.
    #[serde(default)]
    pub study: Option<String>,
}

impl PatientSession {
    /// The ledger, parsed.
    pub fn ledger(&self) -> Result<ConsentLedger, AppError> {
        Ok(ConsentLedger::from_json(self.ledger.as_bytes())?)
    }

    /// The confirmed jurisdictions, parsed by `veil_consent`'s one list parser (as the CLI and npm
    /// do): a code that does not parse is an error, never dropped, since a dropped jurisdiction
    /// could make a decision less strict.
    pub fn jurisdictions(&self) -> Result<Vec<Jurisdiction>, AppError> {
        Ok(Jurisdiction::parse_list(&self.jurisdictions)?)
    }

    /// Where events are captured: the person's own device or a clinic kiosk.
    pub fn channel(&self) -> Channel {
        match &self.kiosk_staff {
            Some(staff_id) => Channel::Kiosk {
                staff_id: staff_id.clone(),
            },
            None => Channel::OwnDevice,
        }
    }

    /// The decision for `scope` now, under every jurisdiction that applies.
    pub fn decide(
        &self,
        ledger: &ConsentLedger,
        scope: &PurposeScope,
    ) -> Result<Decision, AppError> {
        self.decide_at(ledger, scope, now())
    }

    /// When what allows `scope` now stops allowing it by itself: the first expiry (of the consent
    /// or the waiver it rests on) at which the decision is no longer `allow`. `None` when nothing
    /// ends by time (a withdrawal or a study's end is an event the page acts on).
    pub fn consent_until(&self, scope: &PurposeScope) -> Option<Timestamp> {
        let ledger = self.ledger().ok()?;
        let at = now();
        let mut ends: Vec<Timestamp> = Vec::new();
        if let Standing::Active {
            expires_at: Some(x),
            ..
        } = ledger.standing(scope, at)
        {
            ends.push(x);
        }
        if let Some((i, _)) = ledger.waiver_at(scope, at)
            && let Some(x) = ledger.events().get(i).and_then(|e| e.expires_at)
        {
            ends.push(x);
        }
        ends.sort();
        ends.into_iter().find(|t| {
            self.decide_at(&ledger, scope, *t)
                .is_ok_and(|d| d.decision != Outcome::Allow)
        })
    }

    /// The decision for `scope` at `at`.
    fn decide_at(
        &self,
        ledger: &ConsentLedger,
        scope: &PurposeScope,
        at: Timestamp,
    ) -> Result<Decision, AppError> {
        let request = DecisionRequest {
            subject: Subject {
                jurisdictions: self.jurisdictions()?,
                age: self.age,
                guardian_consent: self.guardian.is_some()
                    && matches!(
                        ledger.standing(scope, at),
                        Standing::Active {
                            by: GivenBy::Guardian,
                            ..
                        }
                    ),
            },
            scope: scope.clone(),
            at,
            // Research on a waiver rests on the `waived` event clinic staff recorded in the ledger
            // (45 CFR 164.512(i)(2) documentation), which `decide` weighs; nothing beside it.
            waiver: None,
        };
        // A transfer rests on the safeguard its recipients name (Settings, Recipients).
        let options = veil_consent::DecideOptions {
            transfer_mechanism: scope
                .country
                .as_deref()
                .and_then(crate::recipients::mechanism_for),
            ..Default::default()
        };
        Ok(veil_consent::decide_with(&request, Some(ledger), &options)?)
    }

    /// The grant an upload for `scope` rests on: the decision must be `allow` (otherwise
    /// `consent-not-granted`, the code `veil-seal` refuses such a seal with); the hash names the
    /// ledger event that gave the consent (absent for uses allowed without consent, e.g. treatment
    /// under HIPAA 164.506), and the sealed consent carries that event minimised, the person's
    /// jurisdictions and age band, so the recipient decides each read again
    /// ([`veil_consent::SealedConsent`]).
    pub fn grant(
        &self,
        scope: &PurposeScope,
    ) -> Result<(Decision, Option<[u8; 32]>, veil_consent::SealedConsent), AppError> {
        let ledger = self.ledger()?;
        let decision = self.decide(&ledger, scope)?;
        if decision.decision != Outcome::Allow {
            let refused = veil_seal::SealError::ConsentNotGranted(decision.decision);
            return Err(AppError::new(
                refused.code(),
                format!("{} is not allowed now: {}", scope.label(), decision.basis),
            ));
        }
        // The consent it rests on, else the waiver research rests on (the decision allowed on
        // one of them, or on neither for uses allowed without consent).
        let at = now();
        let index = match ledger.standing(scope, at) {
            Standing::Active { event, .. } => Some(event),
            _ => ledger.waiver_at(scope, at).map(|(event, _)| event),
        };
        let event = index.and_then(|event| ledger.events().get(event));
        let sealed = veil_consent::SealedConsent::new(
            event,
            scope.clone(),
            self.jurisdictions()?,
            veil_consent::AgeBand::of(self.age)?,
        )?;
        let event_hash = sealed.event_hash()?;
        Ok((decision, event_hash, sealed))
    }
}

/// The stored session, if the person has confirmed one.
pub fn load() -> Option<PatientSession> {
    serde_json::from_str(&patient::load(SESSION_KEY)?).ok()
}

/// Keep the session.
pub fn store(session: &PatientSession) {
    if let Ok(json) = serde_json::to_string(session) {
        patient::save(SESSION_KEY, &json);
    }
}

/// Now, from the browser's clock.
pub fn now() -> Timestamp {
    let secs = (js_sys::Date::now() / 1000.0) as i64;
    Timestamp::from_unix(secs).unwrap_or(Timestamp(0))
}
