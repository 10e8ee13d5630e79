//! The breach clock: who must be told, by when, under every regime that applies.
//!
//! Deadlines come from the rule files (GDPR Art. 33(1): 72 hours to the supervisory authority;
//! 45 CFR 164.404(b): 60 days to individuals, 164.408: HHS with or without the 500 threshold; ...).
//! Duties without a fixed deadline ("as soon as feasible") are listed with `deadline: null`. The
//! earliest fixed deadline leads: meeting it meets the stricter regime.

use serde::Serialize;

use crate::rules::{self, Jurisdiction};
use crate::{ConsentError, Timestamp};

/// One notification duty.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Notice {
    /// Regime id.
    pub regime: String,
    /// Who must be told.
    pub recipient: String,
    /// The last moment to notify, if the law fixes one.
    pub deadline: Option<Timestamp>,
    /// The timing and condition in words.
    pub when: String,
    /// Citation.
    pub citation: String,
}

/// All duties for one breach.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct BreachSchedule {
    /// When the breach was discovered.
    pub discovered: Timestamp,
    /// How many subjects are affected.
    pub affected: u64,
    /// Duties with a fixed deadline first (earliest first), then the open-ended ones.
    pub notices: Vec<Notice>,
    /// The duty that leads (the earliest fixed deadline), if any.
    pub leading: Option<Notice>,
}

/// Add `n` business days (Monday-Friday) to a time. Public holidays are not excluded, so the result
/// is never later than the true deadline.
fn add_business_days(t: Timestamp, n: i64) -> Timestamp {
    let mut out = t;
    let mut left = n;
    while left > 0 {
        out = out.plus_secs(86_400);
        if out.weekday() < 5 {
            left -= 1;
        }
    }
    out
}

/// Compute the notification duties for a breach discovered at `discovered`, affecting `affected`
/// subjects in `jurisdictions`.
///
/// # Errors
/// [`ConsentError::NoJurisdiction`]; bundled-data errors.
pub fn breach_schedule(
    discovered: Timestamp,
    jurisdictions: &[Jurisdiction],
    affected: u64,
) -> Result<BreachSchedule, ConsentError> {
    let mut notices = Vec::new();
    for (regime, _) in rules::applicable(jurisdictions)? {
        for b in &regime.breach {
            if b.min_affected.is_some_and(|m| affected < m)
                || b.max_affected.is_some_and(|m| affected > m)
            {
                continue;
            }
            let deadline = if let Some(h) = b.hours {
                Some(discovered.plus_secs(h.saturating_mul(3600)))
            } else if let Some(d) = b.days {
                Some(discovered.plus_secs(d.saturating_mul(86_400)))
            } else if let Some(d) = b.business_days {
                Some(add_business_days(discovered, d.clamp(0, 3650)))
            } else if let Some(d) = b.days_after_year_end {
                let (y, _, _) = discovered.civil();
                // End of the calendar year = start of the next year, minus one second.
                Some(Timestamp::from_civil(y + 1, 1, 1).plus_secs(d.saturating_mul(86_400) - 1))
            } else {
                None
            };
            notices.push(Notice {
                regime: regime.id.clone(),
                recipient: b.recipient.clone(),
                deadline,
                when: b.when.clone(),
                citation: b.citation.clone(),
            });
        }
    }
    notices.sort_by_key(|n| (n.deadline.is_none(), n.deadline));
    let leading = notices.first().filter(|n| n.deadline.is_some()).cloned();
    Ok(BreachSchedule {
        discovered,
        affected,
        notices,
        leading,
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
    fn gdpr_72h_leads_hipaa_60_days() {
        let t = Timestamp::parse_rfc3339("2026-11-23T10:00:00Z").unwrap();
        let s = breach_schedule(t, &[j("DE"), j("US")], 600).unwrap();
        let lead = s.leading.unwrap();
        assert_eq!(lead.citation, "GDPR Art. 33(1)");
        assert_eq!(lead.deadline.unwrap().to_rfc3339(), "2026-11-26T10:00:00Z");
        let hhs = s
            .notices
            .iter()
            .find(|n| n.citation == "45 CFR 164.408(b)")
            .unwrap();
        assert_eq!(hhs.deadline.unwrap().to_rfc3339(), "2027-01-22T10:00:00Z");
        assert!(s.notices.iter().all(|n| n.citation != "45 CFR 164.408(c)"));
    }

    #[test]
    fn small_hipaa_breach_goes_to_annual_log() {
        let t = Timestamp::parse_rfc3339("2026-11-23T10:00:00Z").unwrap();
        let s = breach_schedule(t, &[j("US")], 499).unwrap();
        let log = s
            .notices
            .iter()
            .find(|n| n.citation == "45 CFR 164.408(c)")
            .unwrap();
        assert_eq!(log.deadline.unwrap().to_rfc3339(), "2027-03-01T23:59:59Z");
        assert!(s.notices.iter().all(|n| n.citation != "45 CFR 164.408(b)"));
    }

    #[test]
    fn business_days_skip_weekends() {
        // Friday 2026-11-27 + 3 business days = Wednesday 2026-12-02.
        let t = Timestamp::parse_rfc3339("2026-11-27T09:00:00Z").unwrap();
        let s = breach_schedule(t, &[j("BR")], 1).unwrap();
        assert_eq!(
            s.leading.unwrap().deadline.unwrap().to_rfc3339(),
            "2026-12-02T09:00:00Z"
        );
    }
}
