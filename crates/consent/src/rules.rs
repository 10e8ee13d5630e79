//! Jurisdiction rules as data: one reviewed TOML file per regime under `rules/`, embedded at build.
//!
//! Adding a regime is adding a file (and a line to [`FILES`]); the engine in [`mod@crate::decide`] knows
//! no law by name. Every rule carries its citation, which the decision repeats verbatim.

use std::collections::BTreeMap;
use std::sync::OnceLock;

use serde::{Deserialize, Serialize};

pub use crate::country::{ISO_3166_1, is_country};
use crate::{ConsentError, Purpose};

/// The embedded rule files: (file name, contents).
pub const FILES: [(&str, &[u8]); 20] = [
    ("rules/gdpr.toml", bundled!("rules/gdpr")),
    ("rules/uk-gdpr.toml", bundled!("rules/uk-gdpr")),
    ("rules/hipaa.toml", bundled!("rules/hipaa")),
    ("rules/us-ca.toml", bundled!("rules/us-ca")),
    ("rules/pipeda.toml", bundled!("rules/pipeda")),
    ("rules/lgpd.toml", bundled!("rules/lgpd")),
    ("rules/nfadp.toml", bundled!("rules/nfadp")),
    ("rules/au.toml", bundled!("rules/au")),
    ("rules/sg.toml", bundled!("rules/sg")),
    ("rules/part2.toml", bundled!("rules/part2")),
    ("rules/us-tx.toml", bundled!("rules/us-tx")),
    ("rules/kr.toml", bundled!("rules/kr")),
    ("rules/cn.toml", bundled!("rules/cn")),
    ("rules/us-wa.toml", bundled!("rules/us-wa")),
    ("rules/ca-qc.toml", bundled!("rules/ca-qc")),
    ("rules/ca-on.toml", bundled!("rules/ca-on")),
    ("rules/ca-ab.toml", bundled!("rules/ca-ab")),
    ("rules/jp.toml", bundled!("rules/jp")),
    ("rules/in-spdi.toml", bundled!("rules/in-spdi")),
    ("rules/in-dpdp.toml", bundled!("rules/in-dpdp")),
];

/// One regime (a law, or a law with the acts that implement it).
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Regime {
    /// Stable id (`gdpr`, `uk-gdpr`, `hipaa`, `us-ca`, `pipeda`, `lgpd`, `nfadp`, `jp`, `in-dpdp`, ...).
    pub id: String,
    /// Human name.
    pub name: String,
    /// The legal instrument(s).
    pub instrument: String,
    /// Date the file was last reviewed.
    pub reviewed: String,
    /// Jurisdiction codes it covers (ISO 3166-1 alpha-2, or ISO 3166-2 subdivisions such as `US-CA`).
    /// A country code also covers its subdivisions.
    pub codes: Vec<String>,
    /// Codes inside `codes` where another law displaces this regime (PIPEDA in Quebec, and for
    /// health custodians in Ontario and Alberta): the regime does not apply there; the displacing
    /// law's own file decides (`ca-qc`, `ca-on`, `ca-ab`), and without one the code is
    /// `unknown-jurisdiction`, never a silent fallback to this regime.
    #[serde(default)]
    pub excludes: Vec<String>,
    /// The regime governs uses and breaches on or after this day (`YYYY-MM-DD`, UTC): a law
    /// notified with a later commencement (India's DPDP Act ss. 3-17 and its Rules, from
    /// 2027-05-13). Before it, the regime does not apply to a decision or a breach.
    #[serde(default)]
    pub in_force_from: Option<String>,
    /// The regime governs uses and breaches before this day (`YYYY-MM-DD`, UTC): a law repealed
    /// or displaced on that day (India's SPDI Rules 2011 under IT Act s. 43A, omitted by DPDP Act
    /// s. 44(2)).
    #[serde(default)]
    pub in_force_until: Option<String>,
    /// The file adds breach duties only (e.g. a state breach law); uses are decided by the other
    /// regimes of the jurisdiction, and the file has no purposes.
    #[serde(default)]
    pub breach_only: bool,
    /// The regime applies only to data of this category (`substance-use`: 42 CFR Part 2 records),
    /// when the caller names it ([`crate::DecideOptions::data_category`]), on top of the others.
    #[serde(default)]
    pub data_category: Option<String>,
    /// Alternative spellings of codes (`UK` for `GB`, `EL` for `GR`).
    #[serde(default)]
    pub aliases: BTreeMap<String, String>,
    /// Citation for the effect of withdrawing / revoking.
    pub withdrawal_citation: String,
    /// The age from which a person consents alone to an information-society service's own
    /// consent-based processing (GDPR Art. 8(1) and its national ages; for regimes without such a
    /// rule, the general age of the file). It is **not** the capacity to consent to a health-data
    /// use: that is [`Regime::capacity`], per purpose and per national law.
    pub age: AgeRule,
    /// Capacity to consent to each use, per purpose and per national law (GDPR Art. 8(3) leaves
    /// it to national law). Every file has a `purposes = ["*"]` rule without `code`.
    #[serde(default)]
    pub capacity: Vec<CapacityRule>,
    /// What each catalogue purpose needs (every purpose, unless `breach_only`).
    #[serde(default)]
    pub purposes: BTreeMap<Purpose, PurposeRule>,
    /// Cross-border transfer rules.
    #[serde(default)]
    pub transfer: TransferRule,
    /// Breach notification duties.
    #[serde(default)]
    pub breach: Vec<BreachRule>,
    /// Retention periods.
    #[serde(default)]
    pub retention: Vec<RetentionRule>,
    /// Erasure: the right and its exception for legal retention.
    #[serde(default)]
    pub erasure: ErasureRule,
}

/// The age of consent in a regime, with per-code overrides (GDPR Art. 8 member-state ages).
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AgeRule {
    /// Default age.
    pub default: u32,
    /// Its citation.
    pub citation: String,
    /// Who consents below it (default: the guardian, GDPR Art. 8(1) "given or authorised by the
    /// holder of parental responsibility").
    #[serde(default)]
    pub below: Option<BelowCapacity>,
    /// Overrides by jurisdiction code.
    #[serde(default)]
    pub by_code: BTreeMap<String, AgeOverride>,
}

/// An age set by one jurisdiction within a regime.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AgeOverride {
    /// The age.
    pub age: u32,
    /// Its citation (the national act).
    pub citation: String,
    /// Who consents below it, where the national act says (France, Loi 78-17 Art. 45: jointly).
    #[serde(default)]
    pub below: Option<BelowCapacity>,
}

/// Who must agree to a use when the subject is below the capacity age for it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum BelowCapacity {
    /// The guardian / legal representative consents (a `guardian-given` ledger event).
    Guardian,
    /// The guardian consents and the minor assents (`guardian-given` plus `assented`, or the
    /// minor's own `given`), e.g. EU CTR Art. 32(1), CNS Resolution 466/2012.
    GuardianAndAssent,
    /// The guardian and the minor both consent (`guardian-given` plus the minor's own `given`),
    /// e.g. Brazil Civil Code Art. 4 (assisted minors), Loi 78-17 Art. 45.
    Joint,
}

impl BelowCapacity {
    /// The kebab-case id.
    #[must_use]
    pub fn id(self) -> &'static str {
        match self {
            Self::Guardian => "guardian",
            Self::GuardianAndAssent => "guardian-and-assent",
            Self::Joint => "joint",
        }
    }
}

/// One capacity rule: from `age` the subject decides alone on the listed purposes; below it,
/// `below` says who must agree. Rules of one file form tiers: for a subject, the most specific
/// rules (by `code`, then by purpose) apply, and the lowest tier above the subject's age decides.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CapacityRule {
    /// Purpose ids, or `*` for every purpose.
    pub purposes: Vec<String>,
    /// Only for this jurisdiction code (a country or subdivision) within the regime.
    #[serde(default)]
    pub code: Option<String>,
    /// The age from which the subject decides alone (for this tier).
    pub age: u32,
    /// Who must agree below it.
    pub below: BelowCapacity,
    /// The primary source (statute article, or regulator guidance by name and date).
    pub citation: String,
    /// A reviewer's note (limits, what Veil does not model).
    #[serde(default)]
    pub note: Option<String>,
}

/// The capacity that applies to one subject for one purpose under one regime.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Capacity {
    /// The age from which the subject decides alone (the highest that applies).
    pub age: u32,
    /// `None`: the subject decides alone; otherwise who must agree.
    pub below: Option<BelowCapacity>,
    /// The sources of the rules applied.
    pub citations: Vec<String>,
}

/// What a purpose needs under a regime.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Requirement {
    /// Lawful without consent (a legal basis other than consent).
    None,
    /// Lawful on implied consent unless the person withdrew it.
    Implied,
    /// Needs consent recorded in the ledger.
    Consent,
    /// Needs a HIPAA-style authorization with its core elements (or a waiver, if the rule has one).
    Authorization,
    /// Cross-border transfer: decided by the regime's [`TransferRule`].
    Transfer,
}

/// One purpose's rule.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PurposeRule {
    /// The requirement.
    pub requirement: Requirement,
    /// Whether consent must be explicit (GDPR Art. 9(2)(a) "explicit consent").
    #[serde(default)]
    pub explicit: bool,
    /// The legal basis in words.
    pub basis: String,
    /// The primary citation.
    pub citation: String,
    /// Further citations.
    #[serde(default)]
    pub also: Vec<String>,
    /// Citation of a documented waiver that can replace consent (IRB, ethics committee).
    #[serde(default)]
    pub waiver_citation: Option<String>,
    /// The waiver's basis in words.
    #[serde(default)]
    pub waiver_basis: Option<String>,
    /// Citation of what a recorded waiver must document (45 CFR 164.512(i)(2)), repeated with the
    /// waiver's citation when research rests on a waiver recorded in the ledger.
    #[serde(default)]
    pub waiver_documentation_citation: Option<String>,
    /// A reviewer's note.
    #[serde(default)]
    pub note: Option<String>,
    /// A bar on the use that no consent lifts unless the controller names one of its exceptions
    /// ([`crate::DecideOptions::sharing_basis`]): LGPD Art. 11 §4 on sharing health data between
    /// controllers for economic advantage.
    #[serde(default)]
    pub bar: Option<Bar>,
    /// The authorization must name a specific end date (not an event): its citation
    /// (Cal. Civ. Code § 56.11(b)(8)). Met by the event's `expires_at`.
    #[serde(default)]
    pub end_date_citation: Option<String>,
}

/// A bar consent does not lift (LGPD Art. 11 §4), with the exceptions the controller may name.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Bar {
    /// What is barred, in words.
    pub basis: String,
    /// The citation of the bar.
    pub citation: String,
    /// Each exception: a [`crate::SharingBasis`] id and its citation.
    pub exceptions: BTreeMap<String, String>,
}

/// Cross-border transfer rules of a regime.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TransferRule {
    /// The regime restricts nothing (the purpose governs).
    #[serde(default)]
    pub unrestricted: bool,
    /// Basis when unrestricted.
    #[serde(default)]
    pub unrestricted_basis: Option<String>,
    /// Destinations that are not a transfer at all.
    #[serde(default)]
    pub inside: Vec<String>,
    /// Citation for "inside" (or for "unrestricted").
    #[serde(default)]
    pub inside_citation: String,
    /// Destinations with an adequacy decision.
    #[serde(default)]
    pub adequate: Vec<String>,
    /// Citation of adequacy.
    #[serde(default)]
    pub adequacy_citation: Option<String>,
    /// Citation of the consent derogation used otherwise.
    #[serde(default)]
    pub fallback_citation: Option<String>,
    /// Basis of the consent derogation.
    #[serde(default)]
    pub fallback_basis: Option<String>,
    /// What limits the derogation (EDPB Guidelines 2/2018: occasional transfers only).
    #[serde(default)]
    pub derogation_note: Option<String>,
    /// Limits of an adequacy decision for one destination (e.g. Canada: PIPEDA organisations only).
    #[serde(default)]
    pub adequacy_limits: BTreeMap<String, String>,
    /// Destinations covered by a Data Privacy Framework for certified importers.
    #[serde(default)]
    pub dpf: Vec<String>,
    /// Its citation.
    #[serde(default)]
    pub dpf_citation: Option<String>,
    /// Citation of standard contractual clauses, if the regime provides them.
    #[serde(default)]
    pub scc_citation: Option<String>,
    /// Citation of binding corporate rules (or certification), if the regime provides them.
    #[serde(default)]
    pub bcr_citation: Option<String>,
    /// The regime has no consent derogation (Quebec, P-39.1 s. 17: a privacy impact assessment and
    /// a written agreement, never consent): its citation. A `derogation` is then refused.
    #[serde(default)]
    pub no_derogation_citation: Option<String>,
    /// The subject's separate consent is needed *besides* the mechanism (PIPL Art. 39): its citation.
    #[serde(default)]
    pub consent_also_citation: Option<String>,
}

/// A breach notification duty.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BreachRule {
    /// Who must be told.
    pub recipient: String,
    /// Deadline in hours after discovery.
    #[serde(default)]
    pub hours: Option<i64>,
    /// Deadline in calendar days after discovery.
    #[serde(default)]
    pub days: Option<i64>,
    /// Deadline in business days (Mon-Fri) after discovery.
    #[serde(default)]
    pub business_days: Option<i64>,
    /// Deadline in days after the end of the calendar year of discovery.
    #[serde(default)]
    pub days_after_year_end: Option<i64>,
    /// Applies only when at least this many are affected.
    #[serde(default)]
    pub min_affected: Option<u64>,
    /// Applies only when at most this many are affected.
    #[serde(default)]
    pub max_affected: Option<u64>,
    /// The thresholds count residents of one region (a State: 45 CFR 164.406; California:
    /// Civ. Code § 1798.82(f)), not the total.
    #[serde(default)]
    pub per_region: bool,
    /// "As soon as possible / feasible" with no fixed deadline (nFADP Art. 24(1), PIPEDA s. 10.1):
    /// such a notice leads whenever present.
    #[serde(default)]
    pub asap: bool,
    /// The duty applies to breaches discovered on or after this day (`YYYY-MM-DD`, UTC).
    #[serde(default)]
    pub in_force_from: Option<String>,
    /// The duty applies to breaches discovered before this day (`YYYY-MM-DD`, UTC).
    #[serde(default)]
    pub in_force_until: Option<String>,
    /// The condition / timing in words.
    pub when: String,
    /// Citation.
    pub citation: String,
}

/// A retention period.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RetentionRule {
    /// What record.
    pub record: String,
    /// Only for this jurisdiction code within the regime.
    #[serde(default)]
    pub code: Option<String>,
    /// Years (absent: no fixed period).
    #[serde(default)]
    pub years: Option<u32>,
    /// From when the period runs (or why there is none).
    pub from: String,
    /// Citation.
    pub citation: String,
    /// A reviewer's note.
    #[serde(default)]
    pub note: Option<String>,
    /// A limitation period (how long claims can be brought), not a duty to keep the record
    /// (Swiss OR Art. 128a): never a reason to refuse erasure.
    #[serde(default)]
    pub limitation_only: bool,
}

/// Erasure rules.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ErasureRule {
    /// Citation of the right to erasure, if the regime has one.
    #[serde(default)]
    pub right_citation: Option<String>,
    /// Citation of the retention exception.
    #[serde(default)]
    pub exception_citation: String,
    /// Which retention laws the exception honours, in words.
    #[serde(default)]
    pub honours: String,
    /// Citation of the duty to tell recipients.
    #[serde(default)]
    pub recipients_citation: Option<String>,
    /// Whether the retention exception honours another regime's law (GDPR Art. 17(3)(b): no).
    #[serde(default)]
    pub honours_foreign: bool,
    /// Citation of the restriction of processing for data kept under a legal duty (GDPR Art. 18).
    #[serde(default)]
    pub restriction_citation: Option<String>,
    /// A reviewer's note (e.g. why the regime's deletion right does not reach medical records).
    #[serde(default)]
    pub note: Option<String>,
}

static REGIMES: OnceLock<Result<Vec<Regime>, ConsentError>> = OnceLock::new();

/// All regimes, parsed once from the embedded files and checked: each defines every purpose.
///
/// # Errors
/// [`ConsentError::BadBundledData`] (a build defect, caught by the crate's tests).
pub fn regimes() -> Result<&'static [Regime], ConsentError> {
    REGIMES
        .get_or_init(|| {
            FILES
                .iter()
                .map(|(file, deflated)| {
                    let src = crate::bundle::json(file, deflated)?;
                    let r: Regime =
                        serde_json::from_str(&src).map_err(|e| ConsentError::BadBundledData {
                            file,
                            reason: e.to_string(),
                        })?;
                    for d in [&r.in_force_from, &r.in_force_until].into_iter().flatten() {
                        if crate::Timestamp::parse_rfc3339(&format!("{d}T00:00:00Z")).is_err() {
                            return Err(ConsentError::BadBundledData {
                                file,
                                reason: format!("bad in-force date `{d}`"),
                            });
                        }
                    }
                    if r.breach_only
                        && (!r.purposes.is_empty()
                            || !r.capacity.is_empty()
                            || r.data_category.is_some())
                    {
                        return Err(ConsentError::BadBundledData {
                            file,
                            reason: "a breach-only file decides no use".into(),
                        });
                    }
                    if r.breach_only {
                        return Ok(r);
                    }
                    if r.erasure.exception_citation.is_empty()
                        || r.transfer.inside_citation.is_empty()
                    {
                        return Err(ConsentError::BadBundledData {
                            file,
                            reason: "[transfer] and [erasure] are required".into(),
                        });
                    }
                    if let Some(p) = Purpose::ALL.iter().find(|p| !r.purposes.contains_key(p)) {
                        return Err(ConsentError::BadBundledData {
                            file,
                            reason: format!("no rule for purpose {p}"),
                        });
                    }
                    for b in r.purposes.values().filter_map(|p| p.bar.as_ref()) {
                        if let Some(x) = b
                            .exceptions
                            .keys()
                            .find(|x| x.parse::<crate::sharing::SharingBasis>().is_err())
                        {
                            return Err(ConsentError::BadBundledData {
                                file,
                                reason: format!("bar names unknown sharing basis `{x}`"),
                            });
                        }
                    }
                    check_capacity(&r)
                        .map_err(|reason| ConsentError::BadBundledData { file, reason })?;
                    Ok(r)
                })
                .collect()
        })
        .as_ref()
        .map(Vec::as_slice)
        .map_err(Clone::clone)
}

/// Every capacity rule names known purposes (or `*`), and a `*` rule without a code exists, so no
/// purpose and no jurisdiction is left without a capacity rule.
fn check_capacity(r: &Regime) -> Result<(), String> {
    for c in &r.capacity {
        if c.purposes.is_empty() {
            return Err("a capacity rule lists no purpose".into());
        }
        for p in &c.purposes {
            if p != "*" && p.parse::<Purpose>().is_err() {
                return Err(format!("capacity rule names unknown purpose `{p}`"));
            }
        }
    }
    if !r
        .capacity
        .iter()
        .any(|c| c.code.is_none() && c.purposes.iter().any(|p| p == "*"))
    {
        return Err("no default capacity rule (purposes = [\"*\"], no code)".into());
    }
    Ok(())
}

/// A jurisdiction code, normalised (upper case, aliases resolved), e.g. `DE`, `US-CA`.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct Jurisdiction(String);

impl Jurisdiction {
    /// Parse and normalise a code: two letters, optionally `-` and 1-3 letters or digits.
    /// The code must be covered by at least one regime.
    ///
    /// # Errors
    /// [`ConsentError::UnknownJurisdiction`].
    pub fn parse(code: &str) -> Result<Self, ConsentError> {
        let bad = || ConsentError::UnknownJurisdiction(code.chars().take(16).collect());
        let up = code.trim().to_ascii_uppercase();
        let (country, sub) = match up.split_once('-') {
            Some((c, s)) => (c.to_owned(), Some(s.to_owned())),
            None => (up.clone(), None),
        };
        if country.len() != 2 || !country.bytes().all(|b| b.is_ascii_uppercase()) {
            return Err(bad());
        }
        if let Some(s) = &sub
            && (s.is_empty() || s.len() > 3 || !s.bytes().all(|b| b.is_ascii_alphanumeric()))
        {
            return Err(bad());
        }
        let all = regimes()?;
        let country = all
            .iter()
            .find_map(|r| r.aliases.get(&country).cloned())
            .unwrap_or(country);
        let j = Self(match sub {
            Some(s) => format!("{country}-{s}"),
            None => country,
        });
        if all.iter().any(|r| r.covers(&j)) {
            Ok(j)
        } else {
            Err(bad())
        }
    }

    /// Parse the jurisdiction list of one subject as a caller receives it (repeated or
    /// comma-separated `--jurisdiction`, the npm `jurisdictions` array, the JSON API's list): each
    /// code as [`Jurisdiction::parse`], blank entries skipped, duplicates after normalisation
    /// (`de` and `DE`) dropped, order kept. The one list parser of the CLI, npm, JSON API and app.
    ///
    /// # Errors
    /// [`ConsentError::UnknownJurisdiction`] for the first code that does not parse (a bad code is
    /// never dropped: a dropped jurisdiction could make a decision less strict);
    /// [`ConsentError::NoJurisdiction`] when no code is left.
    pub fn parse_list<S: AsRef<str>>(
        codes: impl IntoIterator<Item = S>,
    ) -> Result<Vec<Self>, ConsentError> {
        let mut out: Vec<Self> = Vec::new();
        for code in codes {
            let code = code.as_ref();
            if code.trim().is_empty() {
                continue;
            }
            let j = Self::parse(code)?;
            if !out.contains(&j) {
                out.push(j);
            }
        }
        if out.is_empty() {
            return Err(ConsentError::NoJurisdiction);
        }
        Ok(out)
    }

    /// The normalised code.
    #[must_use]
    pub fn code(&self) -> &str {
        &self.0
    }

    /// The country part (`US` of `US-CA`).
    #[must_use]
    pub fn country(&self) -> &str {
        self.0.split('-').next().unwrap_or(&self.0)
    }
}

impl TryFrom<String> for Jurisdiction {
    type Error = ConsentError;
    fn try_from(s: String) -> Result<Self, Self::Error> {
        Self::parse(&s)
    }
}

impl From<Jurisdiction> for String {
    fn from(j: Jurisdiction) -> Self {
        j.0
    }
}

impl Regime {
    /// Whether the regime is in force at `at` ([`Regime::in_force_from`],
    /// [`Regime::in_force_until`]); a regime without dates always is.
    #[must_use]
    pub fn in_force(&self, at: crate::Timestamp) -> bool {
        let day = |d: &Option<String>| {
            d.as_deref()
                .and_then(|d| crate::Timestamp::parse_rfc3339(&format!("{d}T00:00:00Z")).ok())
        };
        day(&self.in_force_from).is_none_or(|f| at >= f)
            && day(&self.in_force_until).is_none_or(|u| at < u)
    }

    /// Whether this regime applies to a jurisdiction (exact code, or its country).
    #[must_use]
    pub fn covers(&self, j: &Jurisdiction) -> bool {
        !self.excludes.iter().any(|c| c == j.code())
            && self.codes.iter().any(|c| c == j.code() || c == j.country())
    }

    /// The age of consent for a subject under these jurisdictions (the highest that applies, with
    /// its citation).
    #[must_use]
    pub fn consent_age(&self, js: &[Jurisdiction]) -> (u32, String) {
        let mut best: Option<(u32, String)> = None;
        for j in js.iter().filter(|j| self.covers(j)) {
            let o = self
                .age
                .by_code
                .get(j.code())
                .or_else(|| self.age.by_code.get(j.country()))
                .map(|o| (o.age, o.citation.clone()))
                .unwrap_or_else(|| (self.age.default, self.age.citation.clone()));
            if best.as_ref().is_none_or(|b| o.0 > b.0) {
                best = Some(o);
            }
        }
        best.unwrap_or_else(|| (self.age.default, self.age.citation.clone()))
    }
}

impl Regime {
    /// The capacity that applies to a subject of `age` under these jurisdictions for `purpose`:
    /// per jurisdiction, the most specific rules (its own code, then its country, then the file's
    /// default; a rule naming the purpose before `*`) form tiers, and the lowest tier above the
    /// subject's age decides; over several jurisdictions the strictest answer wins. When one
    /// jurisdiction gives the subject capacity and another puts the decision with the guardian,
    /// both must agree ([`BelowCapacity::Joint`]): the subject's own consent is needed under the
    /// first, the guardian's under the second.
    #[must_use]
    pub fn capacity(&self, js: &[Jurisdiction], purpose: Purpose, age: u32) -> Capacity {
        let mut out = Capacity {
            age: 0,
            below: None,
            citations: Vec::new(),
        };
        let mut capable_somewhere = false;
        for j in js.iter().filter(|j| self.covers(j)) {
            let key = |c: &CapacityRule| -> Option<(u8, u8)> {
                let code = match c.code.as_deref() {
                    None => 0,
                    Some(x) if x == j.code() => 2,
                    Some(x) if x == j.country() => 1,
                    Some(_) => return None,
                };
                let p = if c.purposes.iter().any(|p| p == purpose.id()) {
                    1
                } else if c.purposes.iter().any(|p| p == "*") {
                    0
                } else {
                    return None;
                };
                Some((code, p))
            };
            let Some(best) = self.capacity.iter().filter_map(key).max() else {
                continue;
            };
            let mut tiers: Vec<&CapacityRule> = self
                .capacity
                .iter()
                .filter(|c| key(c) == Some(best))
                .collect();
            tiers.sort_by_key(|c| c.age);
            let full = tiers.last().map_or(0, |c| c.age);
            out.age = out.age.max(full);
            match tiers.iter().find(|c| age < c.age) {
                Some(t) => {
                    out.below = out.below.max(Some(t.below));
                    if !out.citations.contains(&t.citation) {
                        out.citations.push(t.citation.clone());
                    }
                }
                None => {
                    capable_somewhere = true;
                    if let Some(t) = tiers.last()
                        && !out.citations.contains(&t.citation)
                    {
                        out.citations.push(t.citation.clone());
                    }
                }
            }
        }
        if capable_somewhere && out.below.is_some() {
            out.below = Some(BelowCapacity::Joint);
        }
        out
    }
}

impl Regime {
    /// Who must agree to the app's own consent-based online processing (an information-society
    /// service offered directly to the person, GDPR Art. 8) for a subject of `age`: `below` is
    /// `None` from the ISS age on. Not the capacity for a health-data use ([`Regime::capacity`]).
    #[must_use]
    pub fn iss_capacity(&self, js: &[Jurisdiction], age: u32) -> Capacity {
        let mut out = Capacity {
            age: 0,
            below: None,
            citations: Vec::new(),
        };
        for j in js.iter().filter(|j| self.covers(j)) {
            let o = self
                .age
                .by_code
                .get(j.code())
                .or_else(|| self.age.by_code.get(j.country()));
            let (a, cite, below) = match o {
                Some(o) => (o.age, &o.citation, o.below.or(self.age.below)),
                None => (self.age.default, &self.age.citation, self.age.below),
            };
            out.age = out.age.max(a);
            if age < a {
                out.below = out
                    .below
                    .max(Some(below.unwrap_or(BelowCapacity::Guardian)));
                if !out.citations.contains(cite) {
                    out.citations.push(cite.clone());
                }
            }
        }
        out
    }

    /// Whether this regime decides uses (not a breach-only file) for data of `category`.
    #[must_use]
    pub fn decides(&self, category: Option<&str>) -> bool {
        !self.breach_only
            && match &self.data_category {
                None => true,
                Some(c) => category == Some(c.as_str()),
            }
    }
}

/// The data categories a regime file applies to (`substance-use`), for callers to validate input.
///
/// # Errors
/// Bundled-data errors.
pub fn data_categories() -> Result<Vec<&'static str>, ConsentError> {
    let mut out: Vec<&'static str> = regimes()?
        .iter()
        .filter_map(|r| r.data_category.as_deref())
        .collect();
    out.sort_unstable();
    out.dedup();
    Ok(out)
}

/// One entry of the jurisdiction picker.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct JurisdictionInfo {
    /// The code (`DE`, `US-CA`, ...).
    pub code: String,
    /// Ids of the regimes that apply there.
    pub regimes: Vec<String>,
    /// Age from which a person consents alone (the highest over those regimes).
    pub consent_age: u32,
}

/// Every jurisdiction code a rule file names (for the Consent page's picker), sorted by code.
/// Subdivisions not named (e.g. `DE-BY`, `US-NY`) are accepted too and follow their country.
///
/// # Errors
/// Bundled-data errors.
pub fn supported_jurisdictions() -> Result<Vec<JurisdictionInfo>, ConsentError> {
    let all = regimes()?;
    let mut codes: Vec<String> = all
        .iter()
        .flat_map(|r| r.codes.iter().cloned().chain(r.age.by_code.keys().cloned()))
        .collect();
    codes.sort();
    codes.dedup();
    let mut out = Vec::new();
    for code in codes {
        let j = Jurisdiction::parse(&code)?;
        let applicable: Vec<&Regime> = all
            .iter()
            .filter(|r| r.covers(&j) && r.data_category.is_none())
            .collect();
        out.push(JurisdictionInfo {
            consent_age: applicable
                .iter()
                .map(|r| r.consent_age(std::slice::from_ref(&j)).0)
                .max()
                .unwrap_or_default(),
            regimes: applicable.iter().map(|r| r.id.clone()).collect(),
            code,
        });
    }
    Ok(out)
}

/// The regimes that apply to a set of jurisdictions, in file order, each with the codes that
/// brought it in.
///
/// # Errors
/// [`ConsentError::NoJurisdiction`] for an empty set; bundled-data errors.
pub fn applicable(
    js: &[Jurisdiction],
) -> Result<Vec<(&'static Regime, Vec<Jurisdiction>)>, ConsentError> {
    if js.is_empty() {
        return Err(ConsentError::NoJurisdiction);
    }
    Ok(regimes()?
        .iter()
        .filter_map(|r| {
            let hits: Vec<Jurisdiction> = js.iter().filter(|j| r.covers(j)).cloned().collect();
            (!hits.is_empty()).then_some((r, hits))
        })
        .collect())
}

/// May a consent or authorization for `purpose` end "at the end of the research study" (an event)
/// rather than on a date, under every regime that applies at `at`? HIPAA allows an event
/// (45 CFR 164.508(c)(1)(v)); a regime that asks for a specific end date (Cal. Civ. Code
/// § 56.11(b)(8)) refuses it unless a date is set as well (`with_date`).
///
/// # Errors
/// [`ConsentError::EndDateRequired`] with the citation; [`ConsentError::BadField`] (`study`) for a
/// purpose other than research (a study's end ends only research); jurisdiction errors.
pub fn check_study_end(
    js: &[Jurisdiction],
    purpose: crate::Purpose,
    at: crate::Timestamp,
    with_date: bool,
) -> Result<(), ConsentError> {
    if purpose != crate::Purpose::Research {
        return Err(ConsentError::BadField("study"));
    }
    if with_date {
        return Ok(());
    }
    for (r, _) in applicable(js)? {
        if let Some(c) = r
            .purposes
            .get(&purpose)
            .filter(|_| r.in_force(at))
            .and_then(|p| p.end_date_citation.as_ref())
        {
            return Err(ConsentError::EndDateRequired(c.clone()));
        }
    }
    Ok(())
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use veil_core::Coded;

    const EU27: [&str; 27] = [
        "AT", "BE", "BG", "HR", "CY", "CZ", "DK", "EE", "FI", "FR", "DE", "GR", "HU", "IE", "IT",
        "LV", "LT", "LU", "MT", "NL", "PL", "PT", "RO", "SK", "SI", "ES", "SE",
    ];

    #[test]
    fn all_files_parse_and_cover_every_purpose() {
        assert_eq!(regimes().unwrap().len(), FILES.len());
    }

    #[test]
    fn every_member_state_has_a_reviewed_art8_age_within_13_to_16() {
        let gdpr = regimes().unwrap().iter().find(|r| r.id == "gdpr").unwrap();
        for c in EU27 {
            let o = gdpr
                .age
                .by_code
                .get(c)
                .unwrap_or_else(|| panic!("{c} missing"));
            assert!((13..=16).contains(&o.age), "{c}");
            assert!(o.citation.starts_with("GDPR Art. 8(1)"), "{c}");
            let j = Jurisdiction::parse(c).unwrap();
            assert_eq!(gdpr.consent_age(&[j]).0, o.age);
        }
    }

    /// GDPR Art. 8(1) and the national ISS ages: France below 15 asks for joint consent (Loi 78-17
    /// Art. 45); Germany below 16 the holder of parental responsibility (Art. 8(1)); the UK 13
    /// (DPA 2018 s. 9). The ISS age is not the research capacity (BGB § 2: 18).
    #[test]
    fn iss_consent_is_art_8_only() {
        let all = regimes().unwrap();
        let gdpr = all.iter().find(|r| r.id == "gdpr").unwrap();
        let uk = all.iter().find(|r| r.id == "uk-gdpr").unwrap();
        let j = |c: &str| [Jurisdiction::parse(c).unwrap()];
        assert_eq!(
            gdpr.iss_capacity(&j("FR"), 14).below,
            Some(BelowCapacity::Joint)
        );
        assert_eq!(gdpr.iss_capacity(&j("FR"), 15).below, None);
        assert_eq!(
            gdpr.iss_capacity(&j("DE"), 15).below,
            Some(BelowCapacity::Guardian)
        );
        assert_eq!(gdpr.iss_capacity(&j("DE"), 16).below, None);
        assert_eq!(uk.iss_capacity(&j("GB"), 13).below, None);
        assert!(
            gdpr.capacity(&j("DE"), Purpose::Research, 16)
                .below
                .is_some(),
            "16 is the ISS age, not research capacity"
        );
        // Treatment capacity is recorded per national law too.
        assert_eq!(gdpr.capacity(&j("ES"), Purpose::Treatment, 16).below, None);
        assert_eq!(uk.capacity(&j("GB"), Purpose::Treatment, 16).below, None);
        assert_eq!(
            gdpr.capacity(&j("DK"), Purpose::Treatment, 14).below,
            Some(BelowCapacity::Guardian)
        );
    }

    #[test]
    fn codes_resolve_and_unknown_fail() {
        assert_eq!(Jurisdiction::parse("uk").unwrap().code(), "GB");
        assert_eq!(Jurisdiction::parse("el").unwrap().code(), "GR");
        assert_eq!(Jurisdiction::parse("us-ca").unwrap().code(), "US-CA");
        assert_eq!(Jurisdiction::parse("DE-BY").unwrap().country(), "DE");
        // Displaced by provincial law (BC PIPA, SOR/2004-220; the Atlantic health acts) with no
        // reviewed file here: an error, not PIPEDA. Quebec, Ontario and Alberta have their own.
        for bad in [
            "XX", "ZZ", "", "D", "DEU", "US-", "US-CALI", "1E", "xx", "CA-BC", "ca-ns",
        ] {
            assert_eq!(
                Jurisdiction::parse(bad).unwrap_err().code(),
                "unknown-jurisdiction",
                "{bad}"
            );
        }
        let j = [Jurisdiction::parse("US-CA").unwrap()];
        let ids: Vec<&str> = applicable(&j)
            .unwrap()
            .iter()
            .map(|(r, _)| r.id.as_str())
            .collect();
        // Part 2 covers US too; decisions apply it only for its data category.
        assert_eq!(ids, ["hipaa", "us-ca", "part2"]);
        let info = supported_jurisdictions().unwrap();
        let us = info.iter().find(|i| i.code == "US").unwrap();
        assert_eq!(us.regimes, ["hipaa"]);
    }

    #[test]
    fn lists_normalise_skip_blanks_drop_duplicates_and_never_drop_a_bad_code() {
        let codes = |l: &[&str]| -> Vec<String> {
            Jurisdiction::parse_list(l)
                .unwrap()
                .iter()
                .map(|j| j.code().to_owned())
                .collect()
        };
        assert_eq!(codes(&["de", " ", "US", "DE", "uk"]), ["DE", "US", "GB"]);
        assert_eq!(codes(&["us-ca", "US-CA", "US"]), ["US-CA", "US"]);
        let code = |l: &[&str]| Jurisdiction::parse_list(l).unwrap_err().code();
        assert_eq!(code(&["DE", "XX"]), "unknown-jurisdiction");
        assert_eq!(code(&[]), "no-jurisdiction");
        assert_eq!(code(&["", "  "]), "no-jurisdiction");
        let owned = vec!["FR".to_owned()];
        assert_eq!(Jurisdiction::parse_list(&owned).unwrap()[0].code(), "FR");
    }
}
