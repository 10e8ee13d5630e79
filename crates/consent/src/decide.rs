//! Decisions: may this purpose be served for this subject now, under every regime that applies?
//!
//! Each applicable regime is evaluated on its own; then the strictest outcome wins
//! (`deny` > `needs-consent` > `allow`), because a subject under several regimes (an EU resident
//! treated in the US) must have every regime's requirement met. The decision names every rule that
//! was applied, with its citation, so the patient, the clinic and an auditor see why.

use serde::{Deserialize, Serialize};

use crate::ledger::{GivenBy, Standing, Voice};
use crate::rules::{self, BelowCapacity, Capacity, Jurisdiction, PurposeRule, Regime, Requirement};
use crate::sharing::SharingBasis;
pub use crate::transfer::TransferMechanism;
use crate::{ConsentError, ConsentLedger, PurposeScope, Timestamp};

/// Oldest accepted age.
pub(crate) const MAX_AGE: u32 = 150;

/// Who the decision is about.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Subject {
    /// Every jurisdiction whose law applies (residence, place of treatment, ...).
    pub jurisdictions: Vec<Jurisdiction>,
    /// Age in whole years.
    pub age: u32,
    /// The caller's claim that a guardian consented. **Not evidence**: guardian consent and a
    /// minor's assent count only as ledger events (`guardian-given`, `assented`), which are
    /// demonstrable (GDPR Art. 7(1)); a decision never allows on this flag. Kept so older callers
    /// still parse; when set without a ledger event, the requirement says so.
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

/// What a decision needs besides the request, for callers that know it. `Default` is what
/// [`decide`] uses: no controller named, no transfer mechanism named.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct DecideOptions {
    /// The controller's (clinic's) jurisdiction: its law applies too (GDPR Art. 3(1): a
    /// controller established in the Union, wherever the subject lives).
    #[serde(default)]
    pub controller: Option<Jurisdiction>,
    /// The safeguard a cross-border transfer rests on.
    #[serde(default)]
    pub transfer_mechanism: Option<TransferMechanism>,
    /// A category of data with its own law on top of the others: `substance-use` (records of a
    /// federally assisted substance use disorder program, 42 CFR Part 2), `consumer-health-data`
    /// (health data that is not HIPAA PHI: Washington's My Health My Data Act).
    #[serde(default)]
    pub data_category: Option<String>,
    /// Why health data is shared with another controller, where a regime bars sharing it for
    /// economic advantage (LGPD Art. 11 §4); `None`: not named, and such a bar is not lifted.
    #[serde(default)]
    pub sharing_basis: Option<SharingBasis>,
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
    /// The controller (e.g. naming the safeguard of a transfer).
    Controller,
}

/// One thing that must happen before the use is allowed (an entry of `requires`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Needed {
    /// Regime id.
    pub regime: String,
    /// `consent`, `explicit-consent`, `assent`, `hipaa-authorization`, `transfer-mechanism` or
    /// `sharing-basis`.
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

/// Decide a request against a ledger (`None`: nothing recorded), with no controller and no
/// transfer mechanism named ([`decide_with`] with [`DecideOptions::default`]).
///
/// # Errors
/// [`ConsentError::NoJurisdiction`], [`ConsentError::BadAge`], scope errors
/// ([`PurposeScope::validated`]); never an `allow` by default.
pub fn decide(
    req: &DecisionRequest,
    ledger: Option<&ConsentLedger>,
) -> Result<Decision, ConsentError> {
    decide_with(req, ledger, &DecideOptions::default())
}

/// Decide a request with the controller's jurisdiction and the transfer mechanism, when known.
/// The controller's regimes are added to the subject's (never removing one, so naming the
/// controller never makes a decision more permissive).
///
/// # Errors
/// As [`decide`].
pub fn decide_with(
    req: &DecisionRequest,
    ledger: Option<&ConsentLedger>,
    opts: &DecideOptions,
) -> Result<Decision, ConsentError> {
    if req.subject.age > MAX_AGE {
        return Err(ConsentError::BadAge(req.subject.age));
    }
    let scope = req.scope.clone().validated()?;
    let mut js = req.subject.jurisdictions.clone();
    if !js.is_empty()
        && let Some(c) = &opts.controller
        && !js.contains(c)
    {
        js.push(c.clone());
    }
    if let Some(c) = &opts.data_category
        && !rules::data_categories()?.contains(&c.as_str())
    {
        return Err(ConsentError::UnknownCategory(c.chars().take(32).collect()));
    }
    let regimes: Vec<_> = rules::applicable(&js)?
        .into_iter()
        .filter(|(r, _)| r.decides(opts.data_category.as_deref()) && r.in_force(req.at))
        .collect();
    let standing = ledger.map_or(Standing::None, |l| l.standing(&scope, req.at));
    let mut rules_out = Vec::new();
    let mut evals = Vec::new();
    for (regime, hits) in regimes {
        let ctx = Ctx {
            regime,
            hits: &hits,
            req,
            scope: &scope,
            standing: &standing,
            ledger,
            opts,
        };
        let e = evaluate(&ctx)?;
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

struct Ctx<'a> {
    regime: &'a Regime,
    hits: &'a [Jurisdiction],
    req: &'a DecisionRequest,
    scope: &'a PurposeScope,
    standing: &'a Standing,
    ledger: Option<&'a ConsentLedger>,
    opts: &'a DecideOptions,
}

fn allow(basis: String, citations: Vec<String>) -> Eval {
    Eval {
        outcome: Outcome::Allow,
        basis,
        citations,
        requires: Vec::new(),
    }
}

/// The transfer rule: `Some(eval)` when the destination or mechanism decides, `None` when the
/// subject's explicit consent decides (the derogation, or a regime that needs consent besides the
/// mechanism, PIPL Art. 39), with its basis and citations.
fn transfer(c: &Ctx<'_>, cites: &mut Vec<String>, basis: &mut String) -> Option<Eval> {
    let t = &c.regime.transfer;
    let dest = c.scope.country.as_deref().unwrap_or_default();
    if let (Some(cc), Some(TransferMechanism::Derogation)) =
        (&t.consent_also_citation, c.opts.transfer_mechanism)
        && !t.unrestricted
        && !t.inside.iter().any(|x| x == dest)
    {
        // Consent is required besides a mechanism, never instead of one (PIPL Art. 38-39).
        let mut cs = vec![cites.first().cloned().unwrap_or_default(), cc.clone()];
        cs.dedup();
        return Some(Eval {
            outcome: Outcome::Deny,
            basis: format!(
                "transfer to {dest}: {}",
                t.derogation_note
                    .clone()
                    .unwrap_or_else(|| "consent is no transfer mechanism here".into())
            ),
            citations: cs,
            requires: Vec::new(),
        });
    }
    let e = transfer_mechanism(c, cites, basis)?;
    let abroad = !t.unrestricted
        && !t
            .inside
            .iter()
            .any(|x| Some(x.as_str()) == c.scope.country.as_deref());
    match (&t.consent_also_citation, e.outcome) {
        (Some(cc), Outcome::Allow) if abroad => {
            *basis = format!("{}; and the subject's separate consent to it", e.basis);
            let mut cs = e.citations;
            cs.push(cc.clone());
            *cites = cs;
            None
        }
        _ => Some(e),
    }
}

fn transfer_mechanism(c: &Ctx<'_>, cites: &mut Vec<String>, basis: &mut String) -> Option<Eval> {
    let rule_cite = cites.first().cloned().unwrap_or_default();
    let t = &c.regime.transfer;
    let dest = c.scope.country.as_deref().unwrap_or_default();
    if t.unrestricted {
        let b = t
            .unrestricted_basis
            .clone()
            .unwrap_or_else(|| basis.clone());
        return Some(allow(
            format!("transfer to {dest}: {b}"),
            vec![t.inside_citation.clone()],
        ));
    }
    if t.inside.iter().any(|x| x == dest) {
        return Some(allow(
            format!("{dest} is not a transfer out of the area"),
            vec![t.inside_citation.clone()],
        ));
    }
    let adequate = t.adequate.iter().any(|x| x == dest);
    let adequacy_cite = t
        .adequacy_citation
        .clone()
        .unwrap_or_else(|| rule_cite.clone());
    let limit = t
        .adequacy_limits
        .get(dest)
        .map(|l| format!(" ({l})"))
        .unwrap_or_default();
    let refuse = |why: String, mut cs: Vec<String>| {
        cs.insert(0, rule_cite.clone());
        Eval {
            outcome: Outcome::Deny,
            basis: format!("transfer to {dest}: {why}"),
            citations: cs,
            requires: Vec::new(),
        }
    };
    let safeguard = |name: &str, cite: &Option<String>| match cite {
        Some(x) => allow(
            format!("transfer to {dest} under {name}"),
            vec![rule_cite.clone(), x.clone()],
        ),
        None => refuse(format!("{} provides no {name}", c.regime.name), Vec::new()),
    };
    match c.opts.transfer_mechanism {
        None if adequate => Some(allow(
            format!("transfer to {dest} under an adequacy decision{limit}"),
            vec![rule_cite.clone(), adequacy_cite],
        )),
        None => Some(Eval {
            outcome: Outcome::NeedsConsent,
            basis: format!(
                "transfer to {dest}: no adequacy decision; the controller must name the safeguard"
            ),
            citations: cites.clone(),
            requires: vec![Needed {
                regime: c.regime.id.clone(),
                what: "transfer-mechanism".into(),
                from: Party::Controller,
                scope: c.scope.label(),
                reason: format!(
                    "no adequacy decision covers {dest}: name the mechanism (scc, bcr{}), or for an occasional transfer the subject's explicit consent (derogation)",
                    if t.dpf.iter().any(|x| x == dest) {
                        ", dpf"
                    } else {
                        ""
                    }
                ),
                missing: Vec::new(),
                citation: rule_cite.clone(),
            }],
        }),
        Some(TransferMechanism::Adequacy) if adequate => Some(allow(
            format!("transfer to {dest} under an adequacy decision{limit}"),
            vec![rule_cite.clone(), adequacy_cite],
        )),
        Some(TransferMechanism::Adequacy) => Some(refuse(
            format!("no adequacy decision covers {dest}"),
            vec![adequacy_cite],
        )),
        Some(TransferMechanism::Dpf) => match (&t.dpf_citation, t.dpf.iter().any(|x| x == dest)) {
            (Some(x), true) => Some(allow(
                format!(
                    "transfer to {dest} to an importer certified under the Data Privacy Framework"
                ),
                vec![rule_cite.clone(), x.clone()],
            )),
            _ => Some(refuse(
                format!(
                    "no Data Privacy Framework of {} covers {dest}",
                    c.regime.name
                ),
                Vec::new(),
            )),
        },
        Some(TransferMechanism::Scc) => {
            Some(safeguard("standard contractual clauses", &t.scc_citation))
        }
        Some(TransferMechanism::Bcr) => Some(safeguard("binding corporate rules", &t.bcr_citation)),
        Some(TransferMechanism::Derogation) if t.no_derogation_citation.is_some() => Some(refuse(
            format!(
                "{} has no consent derogation: name the safeguard (scc)",
                c.regime.name
            ),
            t.no_derogation_citation.iter().cloned().collect(),
        )),
        Some(TransferMechanism::Derogation) => {
            let fb = t
                .fallback_citation
                .clone()
                .unwrap_or_else(|| rule_cite.clone());
            let b = t.fallback_basis.clone().unwrap_or_else(|| basis.clone());
            let note = t
                .derogation_note
                .as_ref()
                .map(|n| format!(" ({n})"))
                .unwrap_or_default();
            *basis = format!("transfer to {dest}: {b}{note}");
            *cites = vec![rule_cite.clone(), fb];
            None
        }
    }
}

/// The request's bare waiver reference, as the allowing evaluation: only where the rule provides
/// a waiver and names no documentation that Veil checks (where it does, only the recorded event
/// with every element allows, [`recorded_waiver`]).
fn bare_waiver(req: &DecisionRequest, rule: &PurposeRule) -> Option<Eval> {
    match (
        &req.waiver,
        &rule.waiver_citation,
        &rule.waiver_documentation_citation,
    ) {
        (Some(w), Some(wc), None) => {
            let wb = rule.waiver_basis.clone().unwrap_or_default();
            Some(allow(format!("{wb} ({})", w.reference), vec![wc.clone()]))
        }
        _ => None,
    }
}

/// The documented waiver recorded in the ledger that research in the scope may rest on at the
/// time of the use, where the rule provides a waiver: `Ok` the allowing evaluation (the waiver's
/// citation and what its documentation rests on), `Err` the documentation elements it lacks.
fn recorded_waiver(c: &Ctx<'_>, rule: &PurposeRule) -> Option<Result<Eval, Vec<&'static str>>> {
    let wc = rule.waiver_citation.as_ref()?;
    let (_, w) = c.ledger?.waiver_at(c.scope, c.req.at)?;
    let lacks = w.missing_elements();
    if !lacks.is_empty() {
        return Some(Err(lacks));
    }
    let mut cites = vec![wc.clone()];
    cites.extend(rule.waiver_documentation_citation.iter().cloned());
    let approved = w
        .approved_on
        .map(|d| d.to_rfc3339().chars().take(10).collect::<String>())
        .unwrap_or_default();
    Some(Ok(allow(
        format!(
            "{}: waiver by {} approved {approved} for the study {}",
            rule.waiver_basis.clone().unwrap_or_default(),
            w.board.trim(),
            w.study.trim()
        ),
        cites,
    )))
}

fn evaluate(c: &Ctx<'_>) -> Result<Eval, ConsentError> {
    let (regime, req, scope, standing) = (c.regime, c.req, c.scope, c.standing);
    let rule = regime
        .purposes
        .get(&scope.purpose)
        .ok_or_else(|| ConsentError::BadBundledData {
            file: "rules",
            reason: format!("{} has no rule for {}", regime.id, scope.purpose),
        })?;
    let mut cites = vec![rule.citation.clone()];
    cites.extend(rule.also.iter().cloned());
    let mut what_basis = rule.basis.clone();

    // Cross-border transfer: decided by destination and mechanism; the derogation is consent.
    let (requirement, explicit) = if rule.requirement == Requirement::Transfer {
        if let Some(e) = transfer(c, &mut cites, &mut what_basis) {
            return Ok(e);
        }
        (Requirement::Consent, true)
    } else {
        (rule.requirement, rule.explicit)
    };

    let withdrawal = |at: Timestamp, mut cs: Vec<String>| {
        cs.push(regime.withdrawal_citation.clone());
        Eval {
            outcome: Outcome::Deny,
            basis: format!(
                "consent for {} was withdrawn or refused at {at}",
                scope.label()
            ),
            citations: cs,
            requires: Vec::new(),
        }
    };
    // A bar consent does not lift (LGPD Art. 11 §4): only a named exception does. A withdrawal
    // still denies first.
    if let Some(bar) = &rule.bar
        && !matches!(standing, Standing::Withdrawn { .. })
    {
        match c
            .opts
            .sharing_basis
            .and_then(|b| bar.exceptions.get(b.id()).map(|x| (b, x)))
        {
            Some((b, x)) => {
                what_basis = format!("{what_basis}; {} ({})", bar.basis, b.id());
                cites.push(x.clone());
            }
            None => {
                let named = c.opts.sharing_basis;
                return Ok(Eval {
                    outcome: if named.is_some() {
                        Outcome::Deny
                    } else {
                        Outcome::NeedsConsent
                    },
                    basis: match named {
                        Some(b) => format!("{}: `{}` is none of its exceptions", bar.basis, b.id()),
                        None => format!("{}: the controller must name its basis", bar.basis),
                    },
                    citations: vec![bar.citation.clone()],
                    requires: if named.is_some() {
                        Vec::new()
                    } else {
                        vec![Needed {
                            regime: regime.id.clone(),
                            what: "sharing-basis".into(),
                            from: Party::Controller,
                            scope: scope.label(),
                            reason: format!(
                                "{}: consent does not lift it; name the basis ({})",
                                bar.basis,
                                bar.exceptions
                                    .keys()
                                    .cloned()
                                    .collect::<Vec<_>>()
                                    .join(", ")
                            ),
                            missing: Vec::new(),
                            citation: bar.citation.clone(),
                        }]
                    },
                });
            }
        }
    }
    let cap: Capacity = regime.capacity(c.hits, scope.purpose, req.subject.age);

    match requirement {
        Requirement::None | Requirement::Transfer => Ok(allow(what_basis, cites)),
        Requirement::Implied => match standing {
            Standing::Withdrawn { at, .. } => Ok(withdrawal(*at, cites)),
            _ => Ok(allow(what_basis, cites)),
        },
        Requirement::Consent => {
            let what = if explicit {
                "explicit-consent"
            } else {
                "consent"
            };
            // A documented waiver replaces consent only where the regime provides one (HRA Art. 34,
            // PIPEDA s. 7(3)(f), LGPD Art. 11, II, c) and the person has not withdrawn or refused.
            if !matches!(
                standing,
                Standing::Withdrawn { .. } | Standing::Active { .. }
            ) {
                if let Some(Ok(e)) = recorded_waiver(c, rule) {
                    return Ok(e);
                }
                if let Some(e) = bare_waiver(req, rule) {
                    return Ok(e);
                }
            }
            if let Standing::Withdrawn { at, .. } = standing {
                return Ok(withdrawal(*at, cites));
            }
            let needed = |from: Party, what: &str, reason: String, citation: String| Needed {
                regime: regime.id.clone(),
                what: what.to_owned(),
                from,
                scope: scope.label(),
                reason,
                missing: Vec::new(),
                citation,
            };
            let Some(below) = cap.below else {
                // The subject decides alone.
                return Ok(match standing {
                    Standing::Active { since, by, .. } => {
                        let who = if *by == GivenBy::Guardian {
                            "guardian's"
                        } else {
                            "subject's"
                        };
                        allow(format!("{what_basis} ({who} consent of {since})"), cites)
                    }
                    other => {
                        let reason = match other {
                            Standing::Expired { at } => format!("consent expired at {at}"),
                            _ => "no consent recorded".to_owned(),
                        };
                        let first = cites.first().cloned().unwrap_or_default();
                        Eval {
                            outcome: Outcome::NeedsConsent,
                            basis: format!("{what} needed: {what_basis}"),
                            requires: vec![needed(Party::Subject, what, reason, first)],
                            citations: cites,
                        }
                    }
                });
            };
            // Below capacity for this purpose under this regime's national law.
            let at = req.at;
            let active = |v: Voice| {
                c.ledger
                    .map(|l| l.standing_of(scope, at, v))
                    .unwrap_or(Standing::None)
            };
            let cap_cite = cap.citations.join("; ");
            let age = req.subject.age;
            let mut cs = cites.clone();
            for x in &cap.citations {
                if !cs.contains(x) {
                    cs.push(x.clone());
                }
            }
            let mut requires = Vec::new();
            let guardian = active(Voice::Guardian);
            if !matches!(guardian, Standing::Active { .. }) {
                let mut reason = match guardian {
                    Standing::Expired { at } => format!("the guardian's consent expired at {at}"),
                    _ => format!(
                        "the subject is {age}, under {} for this use: the guardian or legal representative must consent (a guardian-given ledger event)",
                        cap.age
                    ),
                };
                if req.subject.guardian_consent {
                    reason.push_str(
                        "; a guardian_consent flag is not demonstrable consent (GDPR Art. 7(1)): record the guardian's consent in the ledger",
                    );
                }
                requires.push(needed(Party::Guardian, what, reason, cap_cite.clone()));
            }
            match below {
                BelowCapacity::Guardian => {}
                BelowCapacity::GuardianAndAssent => {
                    if !matches!(active(Voice::SubjectAssent), Standing::Active { .. }) {
                        requires.push(needed(
                            Party::Subject,
                            "assent",
                            format!("the minor's assent is required besides the guardian's consent ({cap_cite})"),
                            cap_cite.clone(),
                        ));
                    }
                }
                BelowCapacity::Joint => {
                    if !matches!(active(Voice::Subject), Standing::Active { .. }) {
                        requires.push(needed(
                            Party::Subject,
                            what,
                            format!("joint consent: the minor consents together with the guardian ({cap_cite})"),
                            cap_cite.clone(),
                        ));
                    }
                }
            }
            if requires.is_empty() {
                return Ok(allow(
                    format!(
                        "{what_basis} (the guardian's consent{} recorded; {})",
                        match below {
                            BelowCapacity::Guardian => "",
                            BelowCapacity::GuardianAndAssent => " and the minor's assent",
                            BelowCapacity::Joint => " and the minor's own consent",
                        },
                        below.id()
                    ),
                    cs,
                ));
            }
            Ok(Eval {
                outcome: Outcome::NeedsConsent,
                basis: format!(
                    "{what} needed: {what_basis} ({} below {})",
                    below.id(),
                    cap.age
                ),
                requires,
                citations: cs,
            })
        }
        Requirement::Authorization => {
            let minor = cap.below.is_some();
            let age_cite = cap.citations.join("; ");
            if let Standing::Withdrawn { at, .. } = standing {
                // Revocation is effective on receipt (164.508(b)(5)); Veil does not fall back to a
                // waiver for a person who revoked.
                return Ok(withdrawal(*at, cites));
            }
            let mut missing: Vec<String> = Vec::new();
            let mut subject_missing = false;
            let mut reason = "no authorization recorded".to_owned();
            if let Standing::Active {
                event, by, since, ..
            } = standing
            {
                let ev = c.ledger.and_then(|l| l.events().get(*event));
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
                        if let Some(ec) = &rule.end_date_citation
                            && ev.is_some_and(|e| e.expires_at.is_none())
                        {
                            missing.push(format!("{ec} a specific end date"));
                        }
                        if *by == GivenBy::Guardian
                            && a.representative_authority
                                .as_deref()
                                .is_none_or(|r| r.trim().is_empty())
                        {
                            missing.push(
                                "45 CFR 164.508(c)(1)(vi) description of the representative's authority to act for the individual".to_owned(),
                            );
                        }
                        if c.scope.purpose != crate::Purpose::Research
                            && ev.is_some_and(|e| e.expires_at.is_none())
                            && a.open_ended_expiration()
                        {
                            missing.push(
                                "45 CFR 164.508(c)(1)(v) an expiration date or event (\"none\" or \"end of the research study\" suffices only for research)".to_owned(),
                            );
                        }
                        // An adult under one applicable law and a minor under another
                        // (`joint`): the individual's own complete authorization is needed
                        // besides the representative's, whichever was recorded last.
                        let joint = cap.below == Some(BelowCapacity::Joint);
                        let complete_by = |v: Voice| {
                            c.ledger
                                .is_some_and(|l| match l.standing_of(scope, req.at, v) {
                                    Standing::Active { event, .. } => l
                                        .events()
                                        .get(event)
                                        .and_then(|e| e.authorization.as_ref())
                                        .is_some_and(|x| {
                                            x.missing_elements().is_empty()
                                                && (v != Voice::Guardian
                                                    || x.representative_authority
                                                        .as_deref()
                                                        .is_some_and(|r| !r.trim().is_empty()))
                                        }),
                                    _ => false,
                                })
                        };
                        let by_rep = *by == GivenBy::Guardian
                            || a.representative_authority.is_some()
                            || (joint && complete_by(Voice::Guardian));
                        if minor && !by_rep {
                            missing.push(format!(
                                "signature of the personal representative ({age_cite})"
                            ));
                        }
                        if joint && !complete_by(Voice::Subject) {
                            subject_missing = true;
                            missing.push(format!(
                                "45 CFR 164.508(c)(1)(vi) signature of the individual, who has capacity under another applicable law ({age_cite})"
                            ));
                        }
                        if missing.is_empty() {
                            let mut cs = cites;
                            if minor {
                                cs.extend(cap.citations.iter().cloned());
                            }
                            return Ok(allow(
                                format!("{what_basis}: valid authorization of {since}"),
                                cs,
                            ));
                        }
                        reason = "the authorization lacks required elements".to_owned();
                    }
                }
            } else if let Standing::Expired { at } = standing {
                reason = format!("authorization expired at {at}");
            }
            // A documented waiver recorded in the ledger by clinic staff (45 CFR 164.512(i)).
            match recorded_waiver(c, rule) {
                Some(Ok(e)) => return Ok(e),
                Some(Err(lacks)) => {
                    reason = format!("{reason}; the recorded waiver lacks {}", lacks.join(", "));
                }
                None => {}
            }
            // A bare reference where the law names documentation Veil checks: only the recorded
            // event with every element allows.
            if let Some(e) = bare_waiver(req, rule) {
                return Ok(e);
            }
            let mut undocumented = None;
            if let (Some(w), Some(_), Some(doc)) = (
                &req.waiver,
                &rule.waiver_citation,
                &rule.waiver_documentation_citation,
            ) {
                reason = format!(
                    "{reason}; the waiver reference {} alone is not its documentation ({doc}): \
                     clinic staff record the waiver with every element",
                    w.reference
                );
                undocumented = Some(doc.clone());
            }
            let mut cs = cites;
            cs.extend(undocumented);
            if minor {
                cs.extend(cap.citations.iter().cloned());
            }
            let mut needed = vec![Needed {
                regime: regime.id.clone(),
                what: "hipaa-authorization".to_owned(),
                from: if minor && !subject_missing {
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
                citations: cs,
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
