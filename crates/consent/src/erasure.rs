//! Retention as cited data, and the answer to an erasure request.
//!
//! [`erasure_for_controller`] is the current model: retention duties follow the **controller's**
//! law (the clinic's), and a record kept under a duty stays identified with processing restricted
//! (GDPR Art. 17(3)(b), Art. 18), because a retention duty exists so the record stays attributable
//! to the patient. [`erasure_plan`] is the earlier plan by the subject's jurisdictions, kept for
//! callers of the old API; it strips the identity, which defeats a retention duty: do not use it
//! for new work.
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
    /// A limitation period, not a duty to keep (Swiss OR Art. 128a): never keeps a record.
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub limitation_only: bool,
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
    for (regime, hits) in rules::applicable(jurisdictions)?
        .into_iter()
        .filter(|(r, _)| r.decides(None))
    {
        let applies = |r: &rules::RetentionRule| {
            r.code.as_ref().is_none_or(|code| {
                hits.iter()
                    .any(|j| j.code() == code.as_str() || j.country() == code.as_str())
            })
        };
        for r in &regime.retention {
            // A rule for a named jurisdiction replaces the regime's general rule for that record.
            if !applies(r)
                || (r.code.is_none()
                    && regime
                        .retention
                        .iter()
                        .any(|o| o.code.is_some() && o.record == r.record && applies(o)))
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
                limitation_only: r.limitation_only,
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
    let regimes: Vec<_> = rules::applicable(jurisdictions)?
        .into_iter()
        .filter(|(r, _)| r.decides(None))
        .collect();
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
        .filter(|r| is_clinical(&r.record) && !r.limitation_only)
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
    // A duty whose period Veil has not reviewed still keeps the record.
    let unreviewed: Vec<&&Retention> = clinical
        .iter()
        .filter(|r| r.years.is_none() && honoured_by_all(r))
        .collect();
    let mut cites: Vec<String> = regimes
        .iter()
        .filter(|(r, _)| r.erasure.right_citation.is_some())
        .map(|(r, _)| r.erasure.exception_citation.clone())
        .collect();
    cites.extend(honoured.iter().map(|r| r.citation.clone()));
    if max_years.is_none() {
        cites.extend(unreviewed.iter().map(|r| r.citation.clone()));
    }
    steps.push(ErasureStep {
        action: "retain-pseudonymised-record".into(),
        detail: match (max_years, unreviewed.first()) {
            (Some(y), _) => format!("keep the pseudonymised clinical record for {y} years under the cited retention law, then delete it; no new use"),
            (None, Some(r)) => format!("keep the pseudonymised clinical record for the period the cited law sets ({}), then delete it; no new use", r.from),
            (None, None) => "no honoured law requires keeping the clinical record: delete it (or keep it only anonymised)".into(),
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

/// A record an erasure request touches.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum ErasureRecord {
    /// Names, contact data and the pseudonym-to-person key.
    IdentityLayer,
    /// The clinical record the controller keeps about the patient.
    MedicalRecord,
    /// Copies made for consent-based uses (research, product improvement, AI training, sharing).
    SecondaryUseCopies,
    /// The consent ledger and authorizations.
    ConsentDocumentation,
    /// Raw device readings (scans, measurements) not entered in the medical record.
    DeviceReadings,
}

/// What happens to a record.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum ErasureAction {
    /// Delete it.
    Delete,
    /// Keep it identified, processing restricted to the legal duty (GDPR Art. 17(3)(b), Art. 18).
    RetainRestricted,
    /// Replace the identity by a pseudonym.
    Pseudonymise,
    /// Stop every processing that rests on consent.
    StopProcessing,
    /// Tell every recipient of the data (GDPR Art. 19).
    NotifyRecipients,
}

/// One step of a controller's answer to an erasure request, in the shape `veil consent erasure`
/// prints: `{"record", "action", "retain_years", "citations", "detail"}`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ErasureInstruction {
    /// The record.
    pub record: ErasureRecord,
    /// What happens to it.
    pub action: ErasureAction,
    /// How long it is kept, when kept under a duty with a fixed period.
    pub retain_years: Option<u32>,
    /// The sources.
    pub citations: Vec<String>,
    /// What to do, in words.
    pub detail: String,
}

/// A controller's answer to an erasure request.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ControllerErasure {
    /// The controller's jurisdiction, whose law sets the retention duties.
    pub controller: String,
    /// The subject's jurisdictions (which may grant the erasure right).
    pub jurisdictions: Vec<String>,
    /// The steps, in order.
    pub steps: Vec<ErasureInstruction>,
    /// Conflicts between a retention duty and an erasure right that does not honour it.
    pub conflicts: Vec<String>,
}

fn push_unique(v: &mut Vec<String>, c: &str) {
    if !v.iter().any(|x| x == c) {
        v.push(c.to_owned());
    }
}

/// Plan an erasure request by the controller's law: retention duties are the controller's (the
/// clinic's law, not the patient's residence), and a record kept under a duty stays identified —
/// a retention duty exists so the record remains attributable to the patient, so stripping the
/// identity would defeat it — with processing restricted to that duty. The erasure right comes
/// from every regime of the subject's jurisdictions and the controller's (GDPR Art. 3).
///
/// # Errors
/// [`ConsentError::NoJurisdiction`]; bundled-data errors.
pub fn erasure_for_controller(
    jurisdictions: &[Jurisdiction],
    controller: &Jurisdiction,
) -> Result<ControllerErasure, ConsentError> {
    if jurisdictions.is_empty() {
        return Err(ConsentError::NoJurisdiction);
    }
    let mut all = jurisdictions.to_vec();
    if !all.contains(controller) {
        all.push(controller.clone());
    }
    let regimes: Vec<_> = rules::applicable(&all)?
        .into_iter()
        .filter(|(r, _)| r.decides(None))
        .collect();
    let controller_regimes: Vec<_> = rules::applicable(std::slice::from_ref(controller))?
        .into_iter()
        .filter(|(r, _)| r.decides(None))
        .collect();
    // The duty to keep the clinical record: the controller's law, most specific code first.
    let mut duty: Option<(&rules::Regime, &rules::RetentionRule, u8)> = None;
    let mut limitations: Vec<&rules::RetentionRule> = Vec::new();
    let mut doc_duty: Option<(u32, String)> = None;
    for (regime, _) in &controller_regimes {
        for r in &regime.retention {
            let spec = match r.code.as_deref() {
                None => 0,
                Some(c) if c == controller.code() => 2,
                Some(c) if c == controller.country() => 1,
                Some(_) => continue,
            };
            if r.record.contains("documentation") {
                if let Some(y) = r.years
                    && doc_duty.as_ref().is_none_or(|(d, _)| y > *d)
                {
                    doc_duty = Some((y, r.citation.clone()));
                }
                continue;
            }
            if !is_clinical(&r.record) {
                continue;
            }
            if r.limitation_only {
                limitations.push(r);
                continue;
            }
            // A fixed period beats "set elsewhere"; then the more specific code; then the longer.
            let better = match &duty {
                None => true,
                Some((_, d, ds)) => {
                    (r.years.is_some(), spec, r.years) > (d.years.is_some(), *ds, d.years)
                }
            };
            if better {
                duty = Some((regime, r, spec));
            }
        }
    }
    let rights: Vec<&rules::Regime> = regimes
        .iter()
        .filter(|(r, _)| r.erasure.right_citation.is_some())
        .map(|(r, _)| *r)
        .collect();
    let mut steps = Vec::new();
    let mut conflicts = Vec::new();
    let no_right_detail = || {
        let why: Vec<String> = regimes
            .iter()
            .map(|(r, _)| format!("{}: {}", r.name, r.erasure.honours))
            .collect();
        format!("no erasure right reaches this record ({})", why.join("; "))
    };
    let limitation_note = if limitations.is_empty() {
        String::new()
    } else {
        format!(
            "; {} is a limitation period, not a duty to keep the record",
            limitations
                .iter()
                .map(|l| l.citation.as_str())
                .collect::<Vec<_>>()
                .join(", ")
        )
    };

    // Identity and medical record.
    match (&duty, rights.is_empty()) {
        (Some((regime, r, _)), _) => {
            let mut cites = vec![r.citation.clone()];
            if rights.is_empty() {
                // Why no erasure right reaches the record (HIPAA: none; CCPA: § 1798.146(a)).
                for (g, _) in &regimes {
                    push_unique(&mut cites, &g.erasure.exception_citation);
                }
            }
            for g in &rights {
                push_unique(&mut cites, &g.erasure.exception_citation);
                if let Some(rc) = &g.erasure.restriction_citation {
                    push_unique(&mut cites, rc);
                }
                if g.id != regime.id && !g.erasure.honours_foreign {
                    conflicts.push(format!(
                        "{} (controller {}) requires keeping the {} ({}), but {}: {} ({}); the controller is bound by its own law: state the conflict to the patient and the authority",
                        regime.name,
                        controller.code(),
                        r.record,
                        r.citation,
                        g.name,
                        g.erasure.honours,
                        g.erasure.exception_citation
                    ));
                }
            }
            let years = r.years;
            let period = match years {
                Some(y) => format!("{y} years from {}", r.from),
                None => format!("the period set by {}", r.citation),
            };
            let base = if rights.is_empty() {
                no_right_detail()
            } else {
                "erasure refused for this record under the retention exception".to_owned()
            };
            steps.push(ErasureInstruction {
                record: ErasureRecord::IdentityLayer,
                action: ErasureAction::RetainRestricted,
                retain_years: years,
                citations: cites.clone(),
                detail: format!(
                    "{base}: the retention duty keeps the record attributable to the patient, so the identity linked to it is kept too ({period}), used only for that duty and the patient's own care and access; contact data not needed for it is deleted"
                ),
            });
            steps.push(ErasureInstruction {
                record: ErasureRecord::MedicalRecord,
                action: ErasureAction::RetainRestricted,
                retain_years: years,
                citations: cites,
                detail: format!(
                    "{base}: keep the identified medical record for {period}, processing restricted to the legal duty, then delete it{limitation_note}"
                ),
            });
        }
        (None, false) => {
            let mut cites: Vec<String> = Vec::new();
            for g in &rights {
                if let Some(c) = &g.erasure.right_citation {
                    push_unique(&mut cites, c);
                }
            }
            for l in &limitations {
                push_unique(&mut cites, &l.citation);
            }
            steps.push(ErasureInstruction {
                record: ErasureRecord::IdentityLayer,
                action: ErasureAction::Delete,
                retain_years: None,
                citations: cites.clone(),
                detail: format!("no retention duty of the controller's law applies: delete names, contact data and the pseudonym-to-person key{limitation_note}"),
            });
            steps.push(ErasureInstruction {
                record: ErasureRecord::MedicalRecord,
                action: ErasureAction::Delete,
                retain_years: None,
                citations: cites,
                detail: format!("no retention duty of the controller's law applies: delete the medical record{limitation_note}"),
            });
        }
        (None, true) => {
            let cites: Vec<String> = regimes
                .iter()
                .map(|(r, _)| r.erasure.exception_citation.clone())
                .collect();
            for record in [ErasureRecord::IdentityLayer, ErasureRecord::MedicalRecord] {
                steps.push(ErasureInstruction {
                    record,
                    action: ErasureAction::RetainRestricted,
                    retain_years: None,
                    citations: cites.clone(),
                    detail: format!(
                        "{}: keep it for care and the retention the controller's law sets",
                        no_right_detail()
                    ),
                });
            }
        }
    }

    // Consent-based copies: stop, delete, tell the recipients.
    let mut stop: Vec<String> = Vec::new();
    for (r, _) in &regimes {
        push_unique(&mut stop, &r.withdrawal_citation);
    }
    steps.push(ErasureInstruction {
        record: ErasureRecord::SecondaryUseCopies,
        action: ErasureAction::StopProcessing,
        retain_years: None,
        citations: stop,
        detail: "end every use that rests on consent or authorization (research, product improvement, AI training, marketing, sharing): the request withdraws it".into(),
    });
    if !rights.is_empty() {
        let mut del: Vec<String> = Vec::new();
        for g in &rights {
            if let Some(c) = &g.erasure.right_citation {
                push_unique(&mut del, c);
            }
        }
        steps.push(ErasureInstruction {
            record: ErasureRecord::SecondaryUseCopies,
            action: ErasureAction::Delete,
            retain_years: None,
            citations: del,
            detail: "delete the copies made for consent-based uses: no legal duty keeps them"
                .into(),
        });
        let notify: Vec<String> = rights
            .iter()
            .filter_map(|g| g.erasure.recipients_citation.clone())
            .collect();
        if !notify.is_empty() {
            steps.push(ErasureInstruction {
                record: ErasureRecord::SecondaryUseCopies,
                action: ErasureAction::NotifyRecipients,
                retain_years: None,
                citations: notify,
                detail: "tell every recipient of the data about the erasure, unless impossible or disproportionate".into(),
            });
        }
    }

    // Consent documentation: proof of consent and of its withdrawal.
    let mut doc_cites: Vec<String> = Vec::new();
    if let Some((_, c)) = &doc_duty {
        doc_cites.push(c.clone());
    }
    for g in &rights {
        if g.id == "gdpr" {
            push_unique(&mut doc_cites, "GDPR Art. 7(1)");
            push_unique(&mut doc_cites, "GDPR Art. 17(3)(e)");
        } else if g.id == "uk-gdpr" {
            push_unique(&mut doc_cites, "UK GDPR Art. 7(1)");
            push_unique(&mut doc_cites, "UK GDPR Art. 17(3)(e)");
        }
    }
    steps.push(ErasureInstruction {
        record: ErasureRecord::ConsentDocumentation,
        action: ErasureAction::RetainRestricted,
        retain_years: doc_duty.as_ref().map(|(y, _)| *y),
        citations: doc_cites,
        detail: match &doc_duty {
            Some((y, _)) => format!("keep the consent ledger and authorizations (pseudonymised) for {y} years as documentation of consent and its withdrawal; no other use"),
            None => "keep the consent ledger (pseudonymised) only as proof of consent and its withdrawal, for as long as claims can be brought; no other use".into(),
        },
    });

    // Device readings not entered in the record.
    let mut dev: Vec<String> = Vec::new();
    for g in &rights {
        if let Some(c) = &g.erasure.right_citation {
            push_unique(&mut dev, c);
        }
    }
    steps.push(ErasureInstruction {
        record: ErasureRecord::DeviceReadings,
        action: if rights.is_empty() {
            ErasureAction::StopProcessing
        } else {
            ErasureAction::Delete
        },
        retain_years: None,
        citations: dev,
        detail: "raw device readings not entered in the medical record (values entered in it follow the medical-record step)".into(),
    });

    Ok(ControllerErasure {
        controller: controller.code().to_owned(),
        jurisdictions: jurisdictions.iter().map(|j| j.code().to_owned()).collect(),
        steps,
        conflicts,
    })
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
    fn a_member_state_without_a_reviewed_period_still_keeps_the_record() {
        // The regime's general rule, not reviewed: the record is kept, never "delete it".
        let plan = erasure_plan(&[j("IT")]).unwrap();
        let keep = plan
            .steps
            .iter()
            .find(|s| s.action == "retain-pseudonymised-record")
            .unwrap();
        assert_eq!(keep.retain_years, None);
        assert!(keep.detail.starts_with("keep "), "{}", keep.detail);
        assert!(
            keep.citations
                .contains(&"member-state health-records legislation (not reviewed by Veil)".into())
        );
        // A member state's own rule replaces the general one.
        let de = retention(&[j("DE")]).unwrap();
        let records: Vec<_> = de
            .iter()
            .filter(|r| r.record == "medical record")
            .map(|r| r.citation.as_str())
            .collect();
        assert_eq!(records, ["BGB § 630f(3)"]);
        let it = retention(&[j("IT")]).unwrap();
        assert!(
            it.iter()
                .any(|r| r.record == "medical record" && r.years.is_none())
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
