//! The breach clock: who must be told, by when, under every regime that applies.
//!
//! Deadlines come from the rule files (GDPR Art. 33(1): 72 hours to the supervisory authority;
//! 45 CFR 164.404(b): 60 days to individuals, 164.408: HHS with or without the 500 threshold; ...).
//! Duties without a fixed deadline are listed with `deadline: null`; those the law words "as soon
//! as possible / feasible" (nFADP Art. 24(1), PIPEDA s. 10.1) carry `asap: true` and lead whenever
//! present, so a later fixed deadline (HIPAA's 60 days) never reads as the leading one. Otherwise
//! the earliest fixed deadline leads. Thresholds that count the residents of one region (45 CFR
//! 164.406: more than 500 residents of a State; Cal. Civ. Code § 1798.82(f): more than 500
//! Californians) are counted per region when [`Affected`] carries per-region counts.

use std::collections::BTreeMap;

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
    /// "As soon as possible / feasible": no fixed deadline, and it leads whenever present.
    pub asap: bool,
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
    /// Affected subjects per region (`US-CA` = 612), when given.
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub by_region: BTreeMap<String, u64>,
    /// `asap` duties first, then fixed deadlines (earliest first), then the other open-ended ones.
    pub notices: Vec<Notice>,
    /// The duty that leads (the first `asap` duty, else the earliest fixed deadline), if any.
    pub leading: Option<Notice>,
}

/// How many subjects a breach affects: a total, and per region where known.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Affected {
    /// The total.
    pub total: u64,
    /// Per region (a country or a subdivision such as `US-CA`).
    pub by_region: Vec<(Jurisdiction, u64)>,
}

/// Largest count accepted (more people than live on Earth is a typo).
const MAX_AFFECTED: u64 = 10_000_000_000;

impl Affected {
    /// A total only (per-region thresholds then count the total: an upper bound).
    #[must_use]
    pub fn total(n: u64) -> Self {
        Self {
            total: n,
            by_region: Vec::new(),
        }
    }

    /// Read `--affected` values: each a total `N` or a region count `CODE=N` (repeatable; a code
    /// twice adds up). With no total, the total is the sum of the regions.
    ///
    /// # Errors
    /// [`ConsentError::BadAffected`] for anything else, two totals, or regions summing to more than
    /// the total; [`ConsentError::UnknownJurisdiction`] for a code Veil does not know.
    pub fn parse<S: AsRef<str>>(values: impl IntoIterator<Item = S>) -> Result<Self, ConsentError> {
        let bad = |v: &str, why: &str| {
            ConsentError::BadAffected(format!(
                "`{}`: {why}",
                v.chars().take(32).collect::<String>()
            ))
        };
        let count = |v: &str, n: &str| -> Result<u64, ConsentError> {
            let n: u64 = n
                .trim()
                .parse()
                .map_err(|_| bad(v, "expected N or CODE=N, N a whole number"))?;
            if n > MAX_AFFECTED {
                return Err(bad(v, "more than 10^10"));
            }
            Ok(n)
        };
        let mut total: Option<u64> = None;
        let mut by_region: Vec<(Jurisdiction, u64)> = Vec::new();
        for v in values {
            let v = v.as_ref();
            match v.split_once('=') {
                None => {
                    if total.is_some() {
                        return Err(bad(v, "a second total"));
                    }
                    total = Some(count(v, v)?);
                }
                Some((code, n)) => {
                    let j = Jurisdiction::parse(code)?;
                    let n = count(v, n)?;
                    match by_region.iter_mut().find(|(x, _)| *x == j) {
                        Some(slot) => slot.1 = slot.1.saturating_add(n),
                        None => by_region.push((j, n)),
                    }
                }
            }
        }
        let sum = by_region
            .iter()
            .fold(0u64, |a, (_, n)| a.saturating_add(*n));
        let total = match total {
            Some(t) if t < sum => {
                return Err(ConsentError::BadAffected(format!(
                    "the regions add up to {sum}, more than the total {t}"
                )));
            }
            Some(t) => t,
            None if by_region.is_empty() => {
                return Err(ConsentError::BadAffected("no count given".into()));
            }
            None => sum,
        };
        Ok(Self { total, by_region })
    }

    /// The residents of one region a threshold counts, for a rule of `regime`: for a regime of a
    /// subdivision (`US-CA`), that subdivision's count; for a country regime (HIPAA, `US`), the
    /// largest count of one of its subdivisions. A count given for the bare country may be anyone
    /// in it and is added (an upper bound). Without per-region counts: the total (an upper bound).
    fn in_one_region(&self, regime: &rules::Regime) -> u64 {
        if self.by_region.is_empty() {
            return self.total;
        }
        let mut best = 0u64;
        for code in &regime.codes {
            let sub = code.contains('-');
            let country = code.split('-').next().unwrap_or(code);
            let bare: u64 = self
                .by_region
                .iter()
                .filter(|(j, _)| j.code() == country)
                .map(|(_, n)| *n)
                .sum();
            if sub {
                let n: u64 = self
                    .by_region
                    .iter()
                    .filter(|(j, _)| j.code() == code)
                    .map(|(_, n)| *n)
                    .sum();
                best = best.max(n.saturating_add(bare));
            } else {
                let max_sub = self
                    .by_region
                    .iter()
                    .filter(|(j, _)| j.country() == code && j.code() != code)
                    .map(|(_, n)| *n)
                    .max()
                    .unwrap_or(0);
                best = best.max(max_sub.saturating_add(bare));
            }
        }
        best
    }
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
    breach_schedule_for(discovered, jurisdictions, &Affected::total(affected))
}

/// [`breach_schedule`] with per-region counts: the regions' codes join the jurisdictions.
///
/// # Errors
/// [`ConsentError::NoJurisdiction`]; bundled-data errors.
pub fn breach_schedule_for(
    discovered: Timestamp,
    jurisdictions: &[Jurisdiction],
    affected: &Affected,
) -> Result<BreachSchedule, ConsentError> {
    breach_schedule_for_controller(discovered, jurisdictions, affected, None)
}

/// [`breach_schedule_for`] for a controller established in `controller`: its law joins the
/// affected subjects' laws, because the duty to notify binds the controller wherever the people
/// live (GDPR Art. 33 binds a controller established in the Union, Art. 3(1); the HIPAA breach
/// rule binds the covered entity), as [`crate::decide_with`] adds the controller's law.
///
/// # Errors
/// [`ConsentError::NoJurisdiction`]; bundled-data errors.
pub fn breach_schedule_for_controller(
    discovered: Timestamp,
    jurisdictions: &[Jurisdiction],
    affected: &Affected,
    controller: Option<&Jurisdiction>,
) -> Result<BreachSchedule, ConsentError> {
    let mut js = jurisdictions.to_vec();
    for j in affected.by_region.iter().map(|(j, _)| j).chain(controller) {
        if !js.contains(j) {
            js.push(j.clone());
        }
    }
    let mut notices = Vec::new();
    // A data-category regime (42 CFR Part 2) adds no breach duty of its own: § 2.16 applies the
    // HIPAA breach rules to those records.
    for (regime, _) in rules::applicable(&js)?
        .into_iter()
        .filter(|(r, _)| r.data_category.is_none() && r.in_force(discovered))
    {
        for b in &regime.breach {
            let n = if b.per_region {
                affected.in_one_region(regime)
            } else {
                affected.total
            };
            if b.min_affected.is_some_and(|m| n < m) || b.max_affected.is_some_and(|m| n > m) {
                continue;
            }
            let day = |d: &Option<String>| -> Result<Option<Timestamp>, ConsentError> {
                d.as_deref()
                    .map(|d| {
                        Timestamp::parse_rfc3339(&format!("{d}T00:00:00Z")).map_err(|_| {
                            ConsentError::BadBundledData {
                                file: "rules",
                                reason: format!("{}: bad in-force date `{d}`", regime.id),
                            }
                        })
                    })
                    .transpose()
            };
            if day(&b.in_force_from)?.is_some_and(|f| discovered < f)
                || day(&b.in_force_until)?.is_some_and(|u| discovered >= u)
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
                asap: b.asap,
                when: b.when.clone(),
                citation: b.citation.clone(),
            });
        }
    }
    // asap first (stable: regime order), then fixed deadlines earliest first, then the rest.
    notices.sort_by_key(|n| (!n.asap, n.deadline.is_none(), n.deadline));
    let leading = notices
        .first()
        .filter(|n| n.asap || n.deadline.is_some())
        .cloned();
    Ok(BreachSchedule {
        discovered,
        affected: affected.total,
        by_region: affected
            .by_region
            .iter()
            .map(|(j, n)| (j.code().to_owned(), *n))
            .collect(),
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
