//! The recipient side: who may read a stored artifact, and the decision on each read.
//!
//! A recipient user is created by the operator (`veil admin users add`) with a [`Role`] and the
//! purposes it may read for, and authenticates with an ES256 key (a service account) by signing
//! each request. A read releases an artifact's contents only when all of these hold, checked in
//! this order, the first that fails being the refusal (a [`ReadRefusal`], with a stable code):
//!
//! 1. the role reads contents at all (clinicians and researchers; auditors and operators do not)
//!    and the user's purposes include the purpose asked for: `role-not-permitted`;
//! 2. the artifact was delivered for that purpose (purpose limitation): `purpose-not-covered`;
//! 3. consent for it was not withdrawn: `consent-withdrawn` (with the reason the subject gave);
//! 4. its subject's identity layer was not erased: `subject-erased`;
//! 5. its key at rest still exists ([`crate::at_rest`]): `artifact-key-destroyed`;
//! 6. consent still allows the use under the law of the subject and of this server's controller:
//!    the manifest's sealed consent ([`veil_consent::SealedConsent`]: the minimised consent event,
//!    the subject's jurisdictions and age band) is replayed as a one-event ledger through
//!    [`veil_consent::decide_with`] with the server's `--jurisdiction` as
//!    [`veil_consent::DecideOptions::controller`], now: anything but `allow` is
//!    `consent-not-allowed`, with that decision's outcome, basis and citations.
//!
//! An artifact sealed before manifests carried their consent (no `consent.context`) cannot be
//! decided again: its read rests on the decision the device sealed, as before, and the answer
//! says so ([`Grant::redecided`] is `None`, and the basis begins "not re-decided").
//!
//! An allowed read carries its basis and citations; every decision, allowed or refused, is one
//! entry of the access log (`store::access_log`), written in the transaction that decides it.

use veil_consent::{DecideOptions, Decision, Jurisdiction, SealedConsent, Timestamp};
use veil_core::Coded;

/// What a recipient user is for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Role {
    /// Reads for care: treatment and care operations.
    Clinician,
    /// Reads for research (and model training).
    Researcher,
    /// Exports and verifies the access log; reads no contents.
    Auditor,
    /// Runs the server; reads no contents.
    Operator,
}

impl Role {
    /// Every role, for usage messages.
    pub const ALL: [Role; 4] = [
        Role::Clinician,
        Role::Researcher,
        Role::Auditor,
        Role::Operator,
    ];

    /// The role's name.
    pub fn as_str(self) -> &'static str {
        match self {
            Role::Clinician => "clinician",
            Role::Researcher => "researcher",
            Role::Auditor => "auditor",
            Role::Operator => "operator",
        }
    }

    /// Parse a role name.
    pub fn parse(text: &str) -> Option<Role> {
        Role::ALL.into_iter().find(|r| r.as_str() == text)
    }

    /// The purposes this role may be given (empty: it reads no contents).
    pub fn purposes(self) -> &'static [&'static str] {
        match self {
            Role::Clinician => &["treatment", "care-operations"],
            Role::Researcher => &["research", "ai-training"],
            Role::Auditor | Role::Operator => &[],
        }
    }
}

/// Why a read was refused. Each is answered 403 with its code; the decision is logged.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ReadRefusal {
    /// The user's role or purposes do not cover the purpose asked for.
    #[error("role {role} is not permitted to read for purpose {purpose:?}")]
    RoleNotPermitted {
        /// The user's role.
        role: String,
        /// The purpose asked for.
        purpose: String,
    },
    /// The artifact was delivered for another purpose.
    #[error("the artifact was delivered for purpose {delivered:?}, not {requested:?}")]
    PurposeNotCovered {
        /// Its purpose.
        delivered: String,
        /// The purpose asked for.
        requested: String,
    },
    /// Consent for the artifact was withdrawn.
    #[error("consent was withdrawn at {at_ms} (reason: {reason})")]
    ConsentWithdrawn {
        /// When the withdrawal reached the server.
        at_ms: u64,
        /// The reason the subject gave, or "none given".
        reason: String,
        /// The citations of the decision replayed with the withdrawal, when the manifest
        /// carries its consent.
        decided: Vec<String>,
    },
    /// Consent, decided again under the subject's and the controller's law now, does not allow
    /// the read (or cannot be decided).
    #[error("consent does not allow this read under {under}: {outcome}: {basis}")]
    ConsentNotAllowed {
        /// The decision's outcome (`needs-consent`, `deny`), or `undecidable`.
        outcome: String,
        /// The decision's basis (what is needed, or why not).
        basis: String,
        /// The decision's citations.
        citations: Vec<String>,
        /// The jurisdictions decided under, the controller's last (`DE, US`).
        under: String,
    },
    /// The subject's identity layer was erased.
    #[error("the subject was erased at {at_ms}")]
    SubjectErased {
        /// When the client erased it.
        at_ms: u64,
    },
    /// The artifact's key at rest was destroyed.
    #[error("the artifact's key was destroyed at {at_ms} ({cause})")]
    KeyDestroyed {
        /// When.
        at_ms: u64,
        /// Why (`revocation`, `erasure`).
        cause: String,
    },
}

impl Coded for ReadRefusal {
    fn code(&self) -> &'static str {
        match self {
            ReadRefusal::RoleNotPermitted { .. } => "role-not-permitted",
            ReadRefusal::PurposeNotCovered { .. } => "purpose-not-covered",
            ReadRefusal::ConsentWithdrawn { .. } => "consent-withdrawn",
            ReadRefusal::SubjectErased { .. } => "subject-erased",
            ReadRefusal::KeyDestroyed { .. } => "artifact-key-destroyed",
            ReadRefusal::ConsentNotAllowed { .. } => "consent-not-allowed",
        }
    }
}

impl ReadRefusal {
    /// The rules the refusal rests on.
    pub fn citations(&self) -> Vec<String> {
        if let ReadRefusal::ConsentNotAllowed { citations, .. } = self {
            return citations.clone();
        }
        let c: &[&str] = match self {
            ReadRefusal::RoleNotPermitted { .. } | ReadRefusal::PurposeNotCovered { .. } => &[
                "GDPR Art. 5(1)(b) (purpose limitation)",
                "HIPAA 45 CFR 164.502(b) (minimum necessary)",
            ],
            ReadRefusal::ConsentWithdrawn { .. } => &["GDPR Art. 7(3) (withdrawal of consent)"],
            ReadRefusal::ConsentNotAllowed { .. } => &[],
            ReadRefusal::SubjectErased { .. } => &["GDPR Art. 17(1) (right to erasure)"],
            ReadRefusal::KeyDestroyed { .. } => &[
                "GDPR Art. 7(3) (withdrawal of consent)",
                "GDPR Art. 17(1) (right to erasure)",
            ],
        };
        let mut out: Vec<String> = c.iter().map(|s| (*s).to_owned()).collect();
        if let ReadRefusal::ConsentWithdrawn { decided, .. } = self {
            for d in decided {
                if !out.contains(d) {
                    out.push(d.clone());
                }
            }
        }
        out
    }
}

/// What the store knows of an artifact, for a read decision.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReadFacts {
    /// The purpose it was delivered for.
    pub purpose: String,
    /// The consent decision the upload rested on (`allow`: the server stores nothing else).
    pub consent_decision: String,
    /// The hash of the consent event, hex, if the client sent it.
    pub consent_event: Option<String>,
    /// When consent was withdrawn, and the reason given.
    pub revoked: Option<(u64, Option<String>)>,
    /// When the subject was erased.
    pub subject_erased_ms: Option<u64>,
    /// When and why its key at rest was destroyed.
    pub key_destroyed: Option<(u64, String)>,
    /// The subject's pseudonym (the one-event ledger's subject).
    pub pseudonym: String,
    /// What the manifest carries of the subject's consent; `None` for an artifact sealed before
    /// manifests carried it.
    pub sealed_consent: Option<SealedConsent>,
}

/// What a read is decided under besides the artifact: the server's controller jurisdiction and
/// the time.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReadContext {
    /// The controller's jurisdiction (`veil serve --jurisdiction`), if configured.
    pub controller: Option<Jurisdiction>,
    /// Now, ms since the epoch.
    pub now_ms: u64,
}

/// The consent decision taken again on a read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Redecision {
    /// Its outcome (`allow` on a grant).
    pub outcome: String,
    /// Its basis.
    pub basis: String,
    /// Its citations.
    pub citations: Vec<String>,
    /// The jurisdictions decided under, the controller's last.
    pub under: Vec<String>,
}

/// An allowed read: its basis and citations.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Grant {
    /// The basis in words.
    pub basis: String,
    /// The rules it rests on.
    pub citations: Vec<String>,
    /// The consent decision taken again for this read; `None`: the artifact carries no sealed
    /// consent, and the read rests on the decision the device sealed.
    pub redecided: Option<Redecision>,
}

/// The consent decision for a read of an artifact with `facts` (and its sealed consent), with
/// the withdrawal replayed when there is one. `Err` is a refusal to answer with.
fn redecide(
    sealed: &SealedConsent,
    facts: &ReadFacts,
    context: &ReadContext,
) -> Result<(Decision, Vec<String>), ReadRefusal> {
    let mut under: Vec<String> = sealed
        .jurisdictions
        .iter()
        .map(|j| j.code().to_owned())
        .collect();
    if let Some(c) = &context.controller
        && !under.iter().any(|u| u == c.code())
    {
        under.push(c.code().to_owned());
    }
    let at = |ms: u64| Timestamp::from_unix(i64::try_from(ms / 1000).unwrap_or(i64::MAX));
    let now = at(context.now_ms);
    let withdrawn = facts.revoked.as_ref().map(|(ms, _)| at(*ms));
    let opts = DecideOptions {
        controller: context.controller.clone(),
        ..DecideOptions::default()
    };
    let decided = match (now, withdrawn.transpose()) {
        (Ok(now), Ok(withdrawn)) => {
            sealed.decide(&facts.pseudonym, &facts.purpose, now, withdrawn, &opts)
        }
        (Err(e), _) | (_, Err(e)) => Err(e),
    };
    decided
        .map(|d| (d, under.clone()))
        .map_err(|e| ReadRefusal::ConsentNotAllowed {
            outcome: "undecidable".into(),
            basis: format!("the sealed consent cannot be decided: {e}"),
            citations: vec!["GDPR Art. 7(1) (the controller demonstrates consent)".into()],
            under: under.join(", "),
        })
}

/// Decide a read of an artifact with `facts` for `purpose` by a user with `role` and `purposes`.
pub fn decide(
    role: Role,
    purposes: &[String],
    purpose: &str,
    facts: &ReadFacts,
    context: &ReadContext,
) -> Result<Grant, ReadRefusal> {
    if !role.purposes().contains(&purpose) || !purposes.iter().any(|p| p == purpose) {
        return Err(ReadRefusal::RoleNotPermitted {
            role: role.as_str().to_owned(),
            purpose: purpose.to_owned(),
        });
    }
    if facts.purpose != purpose {
        return Err(ReadRefusal::PurposeNotCovered {
            delivered: facts.purpose.clone(),
            requested: purpose.to_owned(),
        });
    }
    let redecided = facts
        .sealed_consent
        .as_ref()
        .map(|sealed| redecide(sealed, facts, context));
    if let Some((at_ms, reason)) = &facts.revoked {
        return Err(ReadRefusal::ConsentWithdrawn {
            at_ms: *at_ms,
            reason: reason.clone().unwrap_or_else(|| "none given".into()),
            decided: match &redecided {
                Some(Ok((d, _))) => d.citations.clone(),
                _ => Vec::new(),
            },
        });
    }
    if let Some(at_ms) = facts.subject_erased_ms {
        return Err(ReadRefusal::SubjectErased { at_ms });
    }
    if let Some((at_ms, cause)) = &facts.key_destroyed {
        return Err(ReadRefusal::KeyDestroyed {
            at_ms: *at_ms,
            cause: cause.clone(),
        });
    }
    let event = facts
        .consent_event
        .as_deref()
        .map_or_else(|| "no event hash".to_owned(), |e| format!("event {e}"));
    let purpose_limitation = "GDPR Art. 5(1)(b) (purpose limitation)".to_owned();
    let Some(redecided) = redecided else {
        return Ok(Grant {
            basis: format!(
                "not re-decided (sealed without its consent event, jurisdictions and age band): consent {} for {purpose} as sealed ({event}), not withdrawn, subject not erased; role {} covers {purpose}",
                facts.consent_decision,
                role.as_str()
            ),
            citations: vec![
                "GDPR Art. 9(2)(a) (explicit consent)".into(),
                purpose_limitation,
            ],
            redecided: None,
        });
    };
    let (decision, under) = redecided?;
    if decision.decision != veil_consent::Outcome::Allow {
        return Err(ReadRefusal::ConsentNotAllowed {
            outcome: decision.decision.id().to_owned(),
            basis: decision.basis,
            citations: decision.citations,
            under: under.join(", "),
        });
    }
    let mut citations = decision.citations.clone();
    if !citations.contains(&purpose_limitation) {
        citations.push(purpose_limitation);
    }
    Ok(Grant {
        basis: format!(
            "consent re-decided under {}: allow ({}; {event}), not withdrawn, subject not erased; role {} covers {purpose}",
            under.join(", "),
            decision.basis,
            role.as_str()
        ),
        citations,
        redecided: Some(Redecision {
            outcome: decision.decision.id().to_owned(),
            basis: decision.basis,
            citations: decision.citations,
            under,
        }),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn facts(purpose: &str) -> ReadFacts {
        ReadFacts {
            purpose: purpose.into(),
            consent_decision: "allow".into(),
            consent_event: Some("05".repeat(32)),
            revoked: None,
            subject_erased_ms: None,
            key_destroyed: None,
            pseudonym: "p-1".into(),
            sealed_consent: None,
        }
    }

    fn decide(
        role: Role,
        purposes: &[String],
        purpose: &str,
        facts: &ReadFacts,
    ) -> Result<Grant, ReadRefusal> {
        let context = ReadContext {
            controller: None,
            now_ms: 1_800_000_000_000,
        };
        super::decide(role, purposes, purpose, facts, &context)
    }

    #[test]
    fn each_condition_refuses_in_order() {
        let research = vec!["research".to_owned()];
        let f = facts("research");
        assert!(decide(Role::Researcher, &research, "research", &f).is_ok());
        // A researcher never reads for treatment, even if the purposes list says so.
        let both = vec!["research".to_owned(), "treatment".to_owned()];
        let e = decide(Role::Researcher, &both, "treatment", &facts("treatment")).unwrap_err();
        assert_eq!(e.code(), "role-not-permitted");
        assert_eq!(
            decide(Role::Auditor, &research, "research", &f)
                .unwrap_err()
                .code(),
            "role-not-permitted"
        );
        let e = decide(Role::Researcher, &research, "research", &facts("treatment")).unwrap_err();
        assert_eq!(e.code(), "purpose-not-covered");
        let mut g = f.clone();
        g.key_destroyed = Some((3, "revocation".into()));
        assert_eq!(
            decide(Role::Researcher, &research, "research", &g)
                .unwrap_err()
                .code(),
            "artifact-key-destroyed"
        );
        g.subject_erased_ms = Some(2);
        assert_eq!(
            decide(Role::Researcher, &research, "research", &g)
                .unwrap_err()
                .code(),
            "subject-erased"
        );
        g.revoked = Some((1, Some("changed my mind".into())));
        let e = decide(Role::Researcher, &research, "research", &g).unwrap_err();
        assert_eq!(e.code(), "consent-withdrawn");
        assert!(e.to_string().contains("changed my mind"));
        assert!(!e.citations().is_empty());
    }

    #[test]
    fn roles_round_trip() {
        for r in Role::ALL {
            assert_eq!(Role::parse(r.as_str()), Some(r));
        }
        assert_eq!(Role::parse("admin"), None);
    }
}
