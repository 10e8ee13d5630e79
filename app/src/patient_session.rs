//! The current person's consent session: who they are legally (jurisdictions, age, guardian) and
//! their consent ledger, kept only in this browser under the patient prefix (so a kiosk session's
//! end removes it). Pages read it; only the Consent page changes it. What is allowed is always
//! derived from the ledger by `veil_consent::decide`, never stored.

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use veil_consent::{
    Channel, ConsentLedger, Decision, DecisionRequest, GivenBy, Jurisdiction, Outcome,
    PurposeScope, Standing, Subject, Timestamp, Waiver,
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
    /// A documented IRB / Privacy Board waiver of authorization for research, entered by clinic
    /// staff: research may rest on it where the rule provides one (45 CFR 164.512(i)).
    #[serde(default)]
    pub research_waiver: Option<RecordedWaiver>,
}

/// A research waiver as clinic staff entered it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RecordedWaiver {
    /// The approving board and its reference (protocol number).
    pub reference: String,
    /// The staff member who entered it.
    pub staff_id: String,
    /// When, RFC 3339.
    pub at: String,
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
        let request = DecisionRequest {
            subject: Subject {
                jurisdictions: self.jurisdictions()?,
                age: self.age,
                guardian_consent: self.guardian.is_some()
                    && matches!(
                        ledger.standing(scope, now()),
                        Standing::Active {
                            by: GivenBy::Guardian,
                            ..
                        }
                    ),
            },
            scope: scope.clone(),
            at: now(),
            waiver: self
                .research_waiver
                .as_ref()
                .filter(|_| scope.purpose == veil_consent::Purpose::Research)
                .map(|w| Waiver {
                    reference: format!(
                        "{}, entered by staff member {} at {}",
                        w.reference, w.staff_id, w.at
                    ),
                }),
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
    /// under HIPAA 164.506).
    pub fn grant(&self, scope: &PurposeScope) -> Result<(Decision, Option<[u8; 32]>), AppError> {
        let ledger = self.ledger()?;
        let decision = self.decide(&ledger, scope)?;
        if decision.decision != Outcome::Allow {
            let refused = veil_seal::SealError::ConsentNotGranted(decision.decision);
            return Err(AppError::new(
                refused.code(),
                format!("{} is not allowed now: {}", scope.label(), decision.basis),
            ));
        }
        let event_hash = match ledger.standing(scope, now()) {
            Standing::Active { event, .. } => ledger.events().get(event).map(|e| {
                let mut h = Sha256::new();
                h.update(b"veil-consent-event/1\n");
                h.update(ledger.subject().as_bytes());
                h.update(b"\n");
                h.update(event.to_string().as_bytes());
                h.update(b"\n");
                h.update(serde_json::to_vec(e).unwrap_or_default());
                h.finalize().into()
            }),
            _ => None,
        };
        Ok((decision, event_hash))
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
