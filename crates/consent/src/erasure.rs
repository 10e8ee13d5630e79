//! Retention as cited data, and the erasure plan that reconciles GDPR Art. 17 with HIPAA.
//!
//! HIPAA's six years (45 CFR 164.530(j)) bind *documentation* (authorizations, the consent ledger),
//! not the medical record, whose retention comes from state law. GDPR Art. 17(3)(b) honours only a
//! legal obligation under Union or member-state law. So the plan is: destroy the identity layer
//! (the link from pseudonym to person) at once, keep the pseudonymised clinical record only for
//! the periods a law the subject's regimes honour requires, and keep the consent documentation as
//! HIPAA and proof of consent (GDPR Art. 7(1)) require. Conflicts are stated, not resolved silently.

use serde::Serialize;

use crate::ConsentError;
use crate::rules::{self, Jurisdiction};

/// A retention period that applies to the subject.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Retention {
    /// Regime id.
    pub regime: String,
    /// The jurisdiction code it is specific to, if any.
    pub jurisdiction: Option<String>,
    /// What record.
    pub record: String,
    /// Years, if fixed.
    pub years: Option<u32>,
    /// From when.
    pub from: String,
    /// Citation.
    pub citation: String,
    /// Reviewer's note.
    pub note: Option<String>,
}

/// One step of an erasure plan.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ErasureStep {
    /// `destroy-identity-layer`, `stop-consent-based-processing`, `retain-pseudonymised-record`,
    /// `retain-consent-documentation`, `notify-recipients`.
    pub action: String,
    /// What to do, in words.
    pub detail: String,
    /// How long to keep, when keeping.
    pub retain_years: Option<u32>,
    /// Citations.
    pub citations: Vec<String>,
}

/// The plan for an erasure request.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ErasurePlan {
    /// The steps, in order.
    pub steps: Vec<ErasureStep>,
    /// Conflicts between regimes, stated for the record.
    pub conflicts: Vec<String>,
}

/// The retention periods that apply to a subject under these jurisdictions.
///
/// # Errors
/// [`ConsentError::NoJurisdiction`]; bundled-data errors.
pub fn retention(jurisdictions: &[Jurisdiction]) -> Result<Vec<Retention>, ConsentError> {
    let mut out = Vec::new();
    for (regime, hits) in rules::applicable(jurisdictions)? {
        for r in &regime.retention {
            if let Some(code) = &r.code
                && !hits.iter().any(|j| j.code() == code || j.country() == code)
            {
                continue;
            }
            out.push(Retention {
                regime: regime.id.clone(),
                jurisdiction: r.code.clone(),
                record: r.record.clone(),
                years: r.years,
                from: r.from.clone(),
                citation: r.citation.clone(),
                note: r.note.clone(),
            });
        }
    }
    Ok(out)
}

fn is_clinical(record: &str) -> bool {
    let r = record.to_ascii_lowercase();
    r.contains("medical record") || r.contains("health record") || r.contains("patient record")
}

/// Plan an erasure request for a subject under these jurisdictions.
///
/// # Errors
/// [`ConsentError::NoJurisdiction`]; bundled-data errors.
pub fn erasure_plan(jurisdictions: &[Jurisdiction]) -> Result<ErasurePlan, ConsentError> {
    let regimes = rules::applicable(jurisdictions)?;
    let retention = retention(jurisdictions)?;
    let mut steps = Vec::new();
    let mut conflicts = Vec::new();

    let right: Vec<String> = regimes
        .iter()
        .filter_map(|(r, _)| r.erasure.right_citation.clone())
        .collect();
    steps.push(ErasureStep {
        action: "destroy-identity-layer".into(),
        detail: "destroy the identity layer: names, contact data and the pseudonym-to-person key; what remains can no longer be linked to the person by the controller".into(),
        retain_years: None,
        citations: right.clone(),
    });
    steps.push(ErasureStep {
        action: "stop-consent-based-processing".into(),
        detail: "end every use that rests on consent (research, product improvement, AI training, marketing, sharing)".into(),
        retain_years: None,
        citations: regimes.iter().map(|(r, _)| r.withdrawal_citation.clone()).collect(),
    });

    // Clinical record: keep it only under retention laws every regime with an erasure right honours
    // (GDPR Art. 17(3)(b): Union or member-state law only; `honours_foreign` in the rule files).
    let honoured_by_all = |r: &Retention| {
        regimes
            .iter()
            .filter(|(g, _)| g.erasure.right_citation.is_some())
            .all(|(g, _)| g.id == r.regime || g.erasure.honours_foreign)
    };
    let clinical: Vec<&Retention> = retention
        .iter()
        .filter(|r| is_clinical(&r.record))
        .collect();
    let honoured: Vec<&&Retention> = clinical
        .iter()
        .filter(|r| r.years.is_some() && honoured_by_all(r))
        .collect();
    for r in clinical
        .iter()
        .filter(|r| r.years.is_some() && !honoured_by_all(r))
    {
        let refusing: Vec<String> = regimes
            .iter()
            .filter(|(g, _)| {
                g.erasure.right_citation.is_some() && g.id != r.regime && !g.erasure.honours_foreign
            })
            .map(|(g, _)| format!("{} ({})", g.erasure.exception_citation, g.erasure.honours))
            .collect();
        conflicts.push(format!(
            "{} requires keeping the {} {} years ({}), but {}: keep that copy only in the separate {} processing context, never for uses under the other regime",
            r.regime,
            r.record,
            r.years.unwrap_or_default(),
            r.citation,
            refusing.join("; "),
            r.regime
        ));
    }
    let max_years = honoured.iter().filter_map(|r| r.years).max();
    let mut cites: Vec<String> = regimes
        .iter()
        .filter(|(r, _)| r.erasure.right_citation.is_some())
        .map(|(r, _)| r.erasure.exception_citation.clone())
        .collect();
    cites.extend(honoured.iter().map(|r| r.citation.clone()));
    steps.push(ErasureStep {
        action: "retain-pseudonymised-record".into(),
        detail: match max_years {
            Some(y) => format!("keep the pseudonymised clinical record for {y} years under the cited retention law, then delete it; no new use"),
            None => "no honoured law requires keeping the clinical record: delete it (or keep it only anonymised)".into(),
        },
        retain_years: max_years,
        citations: cites,
    });

    let docs: Vec<&Retention> = retention
        .iter()
        .filter(|r| r.record.contains("documentation"))
        .collect();
    if let Some(doc_years) = docs.iter().filter_map(|r| r.years).max() {
        let mut c: Vec<String> = docs.iter().map(|r| r.citation.clone()).collect();
        if regimes
            .iter()
            .any(|(r, _)| r.id == "gdpr" || r.id == "uk-gdpr")
        {
            c.push("GDPR Art. 7(1)".into());
            c.push("GDPR Art. 17(3)(e)".into());
        }
        steps.push(ErasureStep {
            action: "retain-consent-documentation".into(),
            detail: format!("keep the consent ledger and authorizations (pseudonymised) for {doc_years} years as documentation of consent"),
            retain_years: Some(doc_years),
            citations: c,
        });
    }
    let notify: Vec<String> = regimes
        .iter()
        .filter_map(|(r, _)| r.erasure.recipients_citation.clone())
        .collect();
    if !notify.is_empty() {
        steps.push(ErasureStep {
            action: "notify-recipients".into(),
            detail: "tell every recipient of the data about the erasure, unless impossible or disproportionate".into(),
            retain_years: None,
            citations: notify,
        });
    }
    Ok(ErasurePlan { steps, conflicts })
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn j(c: &str) -> Jurisdiction {
        Jurisdiction::parse(c).unwrap()
    }

    #[test]
    fn eu_patient_treated_in_california() {
        let plan = erasure_plan(&[j("DE"), j("US-CA")]).unwrap();
        assert_eq!(plan.steps[0].action, "destroy-identity-layer");
        assert!(
            plan.steps[0]
                .citations
                .contains(&"GDPR Art. 17(1)".to_owned())
        );
        let keep = plan
            .steps
            .iter()
            .find(|s| s.action == "retain-pseudonymised-record")
            .unwrap();
        assert_eq!(keep.retain_years, Some(10), "BGB 630f: 10 years");
        assert!(keep.citations.contains(&"GDPR Art. 17(3)(b)".to_owned()));
        let docs = plan
            .steps
            .iter()
            .find(|s| s.action == "retain-consent-documentation")
            .unwrap();
        assert_eq!(docs.retain_years, Some(6));
        assert!(docs.citations.contains(&"45 CFR 164.530(j)(2)".to_owned()));
        assert!(
            plan.conflicts
                .iter()
                .any(|c| c.contains("Cal. Health & Safety Code § 123145(a)"))
        );
    }

    #[test]
    fn hipaa_has_no_medical_record_period() {
        let r = retention(&[j("US")]).unwrap();
        let mr = r.iter().find(|r| r.record == "medical record").unwrap();
        assert_eq!(mr.years, None);
        assert!(mr.from.contains("state law"));
    }
}
