//! Decisions: may this purpose be served for this subject now, under every regime that applies?
//!
//! Each applicable regime is evaluated on its own; then the strictest outcome wins
//! (`deny` > `needs-consent` > `allow`), because a subject under several regimes (an EU resident
//! treated in the US) must have every regime's requirement met. The decision names every rule that
//! was applied, with its citation, so the patient, the clinic and an auditor see why.

use serde::{Deserialize, Serialize};

use crate::ledger::{GivenBy, Standing};
use crate::rules::{self, Jurisdiction, Regime, Requirement};
use crate::{ConsentError, ConsentLedger, PurposeScope, Timestamp};

/// Oldest accepted age.
const MAX_AGE: u32 = 150;

/// Who the decision is about.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Subject {
    /// Every jurisdiction whose law applies (residence, place of treatment, ...).
    pub jurisdictions: Vec<Jurisdiction>,
    /// Age in whole years.
    pub age: u32,
    /// A guardian's / legal representative's consent to this use is present (attested by the caller,
    /// e.g. the guardian co-signed on the kiosk). Counts as consent from the guardian for
    /// consent-based rules; it does not replace a HIPAA authorization, which must carry its elements.
    #[serde(default)]
    pub guardian_consent: bool,
}

/// A documented IRB / Privacy Board / ethics committee waiver of consent for research.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Waiver {
    /// The approving board and its reference (protocol number).
    pub reference: String,
}

/// What is asked.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DecisionRequest {
    /// The subject.
    pub subject: Subject,
    /// The use.
    pub scope: PurposeScope,
    /// The time of the use.
    pub at: Timestamp,
    /// A documented waiver, if research rests on one.
    #[serde(default)]
    pub waiver: Option<Waiver>,
}

/// The outcome of a decision, and the consent decision a sealed artifact's manifest carries
/// (`veil_seal::ConsentDecision` is this type): one contract from the decision to the server.
/// Its wire form everywhere is [`Outcome::id`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Outcome {
    /// The use is lawful now.
    Allow,
    /// The use needs consent (or an authorization) first.
    NeedsConsent,
    /// The use is refused (consent withdrawn or refused).
    Deny,
}

impl Outcome {
    /// Every outcome, least strict first.
    pub const ALL: [Outcome; 3] = [Self::Allow, Self::NeedsConsent, Self::Deny];

    /// The kebab-case id.
    #[must_use]
    pub fn id(self) -> &'static str {
        match self {
            Self::Allow => "allow",
            Self::NeedsConsent => "needs-consent",
            Self::Deny => "deny",
        }
    }

    /// The outcome with this exact id (`allow`, `needs-consent`, `deny`), if any.
    #[must_use]
    pub fn from_id(id: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|o| o.id() == id)
    }
}

impl std::fmt::Display for Outcome {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.id())
    }
}

/// From whom consent is needed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Party {
    /// The subject.
    Subject,
    /// The guardian / legal representative / personal representative.
    Guardian,
}

/// One thing that must happen before the use is allowed (an entry of `requires`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Needed {
    /// Regime id.
    pub regime: String,
    /// `consent`, `explicit-consent` or `hipaa-authorization`.
    pub what: String,
    /// From whom.
    pub from: Party,
    /// For which use (`research/this-study`, ...).
    pub scope: String,
    /// Why it is needed now (`no consent recorded`, `consent expired at ...`).
    pub reason: String,
    /// Elements a HIPAA authorization still lacks.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub missing: Vec<String>,
    /// Citation.
    pub citation: String,
}

/// A rule that was applied.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AppliedRule {
    /// Regime id.
    pub regime: String,
    /// Jurisdiction codes that brought the regime in.
    pub jurisdictions: Vec<String>,
    /// This regime's own outcome.
    pub outcome: Outcome,
    /// What the rule says, applied to this case.
    pub basis: String,
    /// Citations.
    pub citations: Vec<String>,
}

/// A decision.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Decision {
    /// The strictest outcome over all regimes.
    pub decision: Outcome,
    /// The legal basis (allow), what is needed (needs-consent) or why not (deny).
    pub basis: String,
    /// What must happen first (needs-consent only).
    pub requires: Vec<Needed>,
    /// Every citation of every rule applied, in order, without duplicates.
    pub citations: Vec<String>,
    /// Each regime's rule and outcome.
    pub rules: Vec<AppliedRule>,
}

struct Eval {
    outcome: Outcome,
    basis: String,
    citations: Vec<String>,
    requires: Vec<Needed>,
}

/// Decide a request against a ledger (`None`: nothing recorded).
///
/// # Errors
/// [`ConsentError::NoJurisdiction`], [`ConsentError::BadAge`], scope errors
/// ([`PurposeScope::validated`]); never an `allow` by default.
pub fn decide(
    req: &DecisionRequest,
    ledger: Option<&ConsentLedger>,
) -> Result<Decision, ConsentError> {
    if req.subject.age > MAX_AGE {
        return Err(ConsentError::BadAge(req.subject.age));
    }
    let scope = req.scope.clone().validated()?;
    let regimes = rules::applicable(&req.subject.jurisdictions)?;
    let standing = ledger.map_or(Standing::None, |l| l.standing(&scope, req.at));
    let mut rules_out = Vec::new();
    let mut evals = Vec::new();
    for (regime, hits) in regimes {
        let e = evaluate(regime, &hits, req, &scope, &standing, ledger)?;
        rules_out.push(AppliedRule {
            regime: regime.id.clone(),
            jurisdictions: hits.iter().map(|j| j.code().to_owned()).collect(),
            outcome: e.outcome,
            basis: e.basis.clone(),
            citations: e.citations.clone(),
        });
        evals.push((regime, e));
    }
    let decision = evals
        .iter()
        .map(|(_, e)| e.outcome)
        .max()
        .unwrap_or(Outcome::NeedsConsent);
    let mut citations: Vec<String> = Vec::new();
    for (_, e) in &evals {
        for c in &e.citations {
            if !citations.contains(c) {
                citations.push(c.clone());
            }
        }
    }
    let basis = evals
        .iter()
        .filter(|(_, e)| e.outcome == decision)
        .map(|(r, e)| format!("{}: {}", r.name, e.basis))
        .collect::<Vec<_>>()
        .join("; ");
    let requires = if decision == Outcome::NeedsConsent {
        evals.into_iter().flat_map(|(_, e)| e.requires).collect()
    } else {
        Vec::new()
    };
    Ok(Decision {
        decision,
        basis,
        requires,
        citations,
        rules: rules_out,
    })
}

fn evaluate(
    regime: &Regime,
    hits: &[Jurisdiction],
    req: &DecisionRequest,
    scope: &PurposeScope,
    standing: &Standing,
    ledger: Option<&ConsentLedger>,
) -> Result<Eval, ConsentError> {
    let rule = regime
        .purposes
        .get(&scope.purpose)
        .ok_or_else(|| ConsentError::BadBundledData {
            file: "rules",
            reason: format!("{} has no rule for {}", regime.id, scope.purpose),
        })?;
    let mut cites = vec![rule.citation.clone()];
    cites.extend(rule.also.iter().cloned());
    let allow = |basis: String, citations: Vec<String>| Eval {
        outcome: Outcome::Allow,
        basis,
        citations,
        requires: Vec::new(),
    };

    // Cross-border transfer: decided by destination.
    let (requirement, explicit, what_basis, cites) = if rule.requirement == Requirement::Transfer {
        let t = &regime.transfer;
        let dest = scope.country.as_deref().unwrap_or_default();
        if t.unrestricted {
            let b = t
                .unrestricted_basis
                .clone()
                .unwrap_or_else(|| rule.basis.clone());
            return Ok(allow(
                format!("transfer to {dest}: {b}"),
                vec![t.inside_citation.clone()],
            ));
        }
        if t.inside.iter().any(|c| c == dest) {
            return Ok(allow(
                format!("{dest} is not a transfer out of the area"),
                vec![t.inside_citation.clone()],
            ));
        }
        if t.adequate.iter().any(|c| c == dest) {
            let c = t
                .adequacy_citation
                .clone()
                .unwrap_or_else(|| rule.citation.clone());
            return Ok(allow(
                format!("transfer to {dest} under an adequacy decision"),
                vec![rule.citation.clone(), c],
            ));
        }
        let fb = t
            .fallback_citation
            .clone()
            .unwrap_or_else(|| rule.citation.clone());
        let basis = t
            .fallback_basis
            .clone()
            .unwrap_or_else(|| rule.basis.clone());
        (
            Requirement::Consent,
            true,
            format!("transfer to {dest}: {basis}"),
            vec![rule.citation.clone(), fb],
        )
    } else {
        (rule.requirement, rule.explicit, rule.basis.clone(), cites)
    };

    let withdrawal = |at: Timestamp, mut c: Vec<String>| {
        c.push(regime.withdrawal_citation.clone());
        Eval {
            outcome: Outcome::Deny,
            basis: format!(
                "consent for {} was withdrawn or refused at {at}",
                scope.label()
            ),
            citations: c,
            requires: Vec::new(),
        }
    };

    match requirement {
        Requirement::None | Requirement::Transfer => Ok(allow(what_basis, cites)),
        Requirement::Implied => match standing {
            Standing::Withdrawn { at, .. } => Ok(withdrawal(*at, cites)),
            _ => Ok(allow(what_basis, cites)),
        },
        Requirement::Consent => {
            let (age, age_cite) = regime.consent_age(hits);
            let minor = req.subject.age < age;
            let what = if explicit {
                "explicit-consent"
            } else {
                "consent"
            };
            let need = |reason: String, mut c: Vec<String>| {
                let from = if minor {
                    Party::Guardian
                } else {
                    Party::Subject
                };
                if minor {
                    c.push(age_cite.clone());
                }
                Eval {
                    outcome: Outcome::NeedsConsent,
                    basis: format!("{what} needed: {what_basis}"),
                    requires: vec![Needed {
                        regime: regime.id.clone(),
                        what: what.to_owned(),
                        from,
                        scope: scope.label(),
                        reason,
                        missing: Vec::new(),
                        citation: c.first().cloned().unwrap_or_default(),
                    }],
                    citations: c,
                }
            };
            // A documented waiver replaces consent only where the regime provides one (HRA Art. 34,
            // PIPEDA s. 7(3)(f), LGPD Art. 11, II, c) and the person has not withdrawn or refused.
            if let (Some(w), Some(wc), false) = (
                &req.waiver,
                &rule.waiver_citation,
                matches!(
                    standing,
                    Standing::Withdrawn { .. } | Standing::Active { .. }
                ),
            ) {
                let wb = rule.waiver_basis.clone().unwrap_or_default();
                return Ok(allow(format!("{wb} ({})", w.reference), vec![wc.clone()]));
            }
            match standing {
                Standing::Withdrawn { at, .. } => Ok(withdrawal(*at, cites)),
                Standing::Active { by, since, .. } => {
                    if minor && *by == GivenBy::Subject && !req.subject.guardian_consent {
                        Ok(need(
                            format!(
                                "the subject is {} and under {age}: a guardian must consent",
                                req.subject.age
                            ),
                            cites,
                        ))
                    } else {
                        let mut c = cites;
                        if minor {
                            c.push(age_cite.clone());
                        }
                        let who = if minor { "guardian's" } else { "subject's" };
                        Ok(allow(format!("{what_basis} ({who} consent of {since})"), c))
                    }
                }
                Standing::Expired { at } => {
                    if minor && req.subject.guardian_consent {
                        let mut c = cites;
                        c.push(age_cite.clone());
                        return Ok(allow(
                            format!("{what_basis} (guardian's consent present)"),
                            c,
                        ));
                    }
                    Ok(need(format!("consent expired at {at}"), cites))
                }
                Standing::None => {
                    if minor && req.subject.guardian_consent {
                        let mut c = cites;
                        c.push(age_cite.clone());
                        return Ok(allow(
                            format!("{what_basis} (guardian's consent present)"),
                            c,
                        ));
                    }
                    Ok(need("no consent recorded".to_owned(), cites))
                }
            }
        }
        Requirement::Authorization => {
            let (age, age_cite) = regime.consent_age(hits);
            let minor = req.subject.age < age;
            if let Standing::Withdrawn { at, .. } = standing {
                // Revocation is effective on receipt (164.508(b)(5)); Veil does not fall back to a
                // waiver for a person who revoked.
                return Ok(withdrawal(*at, cites));
            }
            let mut missing: Vec<String> = Vec::new();
            let mut reason = "no authorization recorded".to_owned();
            if let Standing::Active {
                event, by, since, ..
            } = standing
            {
                let ev = ledger.and_then(|l| l.events().get(*event));
                match ev.and_then(|e| e.authorization.as_ref()) {
                    None => {
                        reason = "the recorded consent carries no HIPAA authorization".to_owned();
                        missing.push("45 CFR 164.508(c) authorization content".to_owned());
                    }
                    Some(a) => {
                        missing = a
                            .missing_elements()
                            .into_iter()
                            .map(str::to_owned)
                            .collect();
                        let by_rep =
                            *by == GivenBy::Guardian || a.representative_authority.is_some();
                        if minor && !by_rep {
                            missing.push(format!(
                                "signature of the personal representative ({age_cite})"
                            ));
                        }
                        if missing.is_empty() {
                            let mut c = cites;
                            if minor {
                                c.push(age_cite.clone());
                            }
                            return Ok(allow(
                                format!("{what_basis}: valid authorization of {since}"),
                                c,
                            ));
                        }
                        reason = "the authorization lacks required elements".to_owned();
                    }
                }
            } else if let Standing::Expired { at } = standing {
                reason = format!("authorization expired at {at}");
            }
            if let (Some(w), Some(wc)) = (&req.waiver, &rule.waiver_citation) {
                let wb = rule.waiver_basis.clone().unwrap_or_default();
                return Ok(allow(format!("{wb} ({})", w.reference), vec![wc.clone()]));
            }
            let mut c = cites;
            if minor {
                c.push(age_cite.clone());
            }
            let mut needed = vec![Needed {
                regime: regime.id.clone(),
                what: "hipaa-authorization".to_owned(),
                from: if minor {
                    Party::Guardian
                } else {
                    Party::Subject
                },
                scope: scope.label(),
                reason,
                missing,
                citation: rule.citation.clone(),
            }];
            if let Some(wc) = &rule.waiver_citation {
                // Offer the alternative, clearly as an alternative.
                needed[0]
                    .reason
                    .push_str(&format!(" (or a documented waiver, {wc})"));
            }
            Ok(Eval {
                outcome: Outcome::NeedsConsent,
                basis: format!("authorization needed: {what_basis}"),
                citations: c,
                requires: needed,
            })
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn outcome_ids_round_trip_as_serde_writes_them() {
        for o in Outcome::ALL {
            assert_eq!(Outcome::from_id(o.id()), Some(o));
            assert_eq!(serde_json::to_string(&o).unwrap(), format!("\"{o}\""));
        }
        // Exact ids only; `permit`, the legacy VEIL-1 spelling, is read by the artifact parser.
        assert_eq!(Outcome::from_id("permit"), None);
        assert_eq!(Outcome::from_id("Allow"), None);
        assert!(Outcome::Allow < Outcome::NeedsConsent && Outcome::NeedsConsent < Outcome::Deny);
    }
}
