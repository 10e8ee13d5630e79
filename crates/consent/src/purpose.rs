//! The purpose catalogue: what data may be used for, each mapped to HL7 v3 ActReason for FHIR.
//!
//! A purpose id is a closed set: an id outside the catalogue is an error
//! ([`ConsentError::UnknownPurpose`]), never treated as some default purpose.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

use crate::ConsentError;

/// HL7 v3 ActReason code system (purpose of use), used in FHIR `Consent.provision.purpose`.
pub const ACT_REASON_SYSTEM: &str = "http://terminology.hl7.org/CodeSystem/v3-ActReason";

/// A purpose in Veil's catalogue.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Purpose {
    /// Diagnosis and treatment of the subject.
    Treatment,
    /// Running the clinic: quality, audit, administration of care.
    CareOperations,
    /// Scientific research, in one of three [`ResearchTier`]s.
    Research,
    /// Improving Veil (the product) itself.
    ProductImprovement,
    /// Training machine-learning models.
    AiTraining,
    /// Marketing communications.
    Marketing,
    /// Sharing with a named partner portal.
    PartnerSharing,
    /// Transfer to a named country.
    CrossBorderTransfer,
    /// Printing a model by a third-party print bureau.
    ThirdPartyPrinting,
}

impl Purpose {
    /// Every purpose, in catalogue order.
    pub const ALL: [Purpose; 9] = [
        Self::Treatment,
        Self::CareOperations,
        Self::Research,
        Self::ProductImprovement,
        Self::AiTraining,
        Self::Marketing,
        Self::PartnerSharing,
        Self::CrossBorderTransfer,
        Self::ThirdPartyPrinting,
    ];

    /// The catalogue id (`treatment`, `care-operations`, ...).
    #[must_use]
    pub fn id(self) -> &'static str {
        match self {
            Self::Treatment => "treatment",
            Self::CareOperations => "care-operations",
            Self::Research => "research",
            Self::ProductImprovement => "product-improvement",
            Self::AiTraining => "ai-training",
            Self::Marketing => "marketing",
            Self::PartnerSharing => "partner-sharing",
            Self::CrossBorderTransfer => "cross-border-transfer",
            Self::ThirdPartyPrinting => "third-party-printing",
        }
    }

    /// The HL7 v3 ActReason (purpose of use) code Veil exports for this purpose.
    ///
    /// `cross-border-transfer` has none: ActReason names *why* data is used, and a transfer is a
    /// processing operation whose purpose is another catalogue entry; Veil exports it with its own
    /// code system only ([`crate::fhir::VEIL_PURPOSE_SYSTEM`]). `third-party-printing` maps to `COC`
    /// (coordination of care): the print bureau produces a model for the subject's care.
    #[must_use]
    pub fn act_reason(self) -> Option<&'static str> {
        match self {
            Self::Treatment => Some("TREAT"),
            Self::CareOperations => Some("HOPERAT"),
            Self::Research => Some("HRESCH"),
            Self::ProductImprovement => Some("SYSDEV"),
            Self::AiTraining => Some("MLTRAINING"),
            Self::Marketing => Some("HMARKT"),
            Self::PartnerSharing => Some("PATRQT"),
            Self::CrossBorderTransfer => None,
            Self::ThirdPartyPrinting => Some("COC"),
        }
    }

    /// The display text of [`Self::act_reason`] as published in HL7 Terminology.
    #[must_use]
    pub fn act_reason_display(self) -> Option<&'static str> {
        match self {
            Self::Treatment => Some("treatment"),
            Self::CareOperations => Some("healthcare operations"),
            Self::Research => Some("healthcare research"),
            Self::ProductImprovement => Some("system development"),
            Self::AiTraining => Some("machine learning training"),
            Self::Marketing => Some("healthcare marketing"),
            Self::PartnerSharing => Some("patient requested"),
            Self::CrossBorderTransfer => None,
            Self::ThirdPartyPrinting => Some("coordination of care"),
        }
    }

    /// Map an incoming ActReason code (from another system's FHIR) to a purpose.
    ///
    /// Only codes with one unambiguous meaning in the catalogue are accepted; research codes map to
    /// the narrowest tier ([`ResearchTier::ThisStudy`]) because a foreign `HRESCH` permit does not say
    /// how broad it is, and the narrowest reading never allows more than was given.
    ///
    /// # Errors
    /// [`ConsentError::UnknownPurposeCode`] for any other code.
    pub fn from_act_reason(code: &str) -> Result<(Self, Option<ResearchTier>), ConsentError> {
        Ok(match code {
            "TREAT" | "ETREAT" | "ERTREAT" => (Self::Treatment, None),
            "HOPERAT" => (Self::CareOperations, None),
            "HRESCH" | "CLINTRCH" | "BIORCH" | "DSRCH" | "TRANSRCH" => {
                (Self::Research, Some(ResearchTier::ThisStudy))
            }
            "SYSDEV" => (Self::ProductImprovement, None),
            "MLTRAINING" => (Self::AiTraining, None),
            "HMARKT" => (Self::Marketing, None),
            "PATRQT" => (Self::PartnerSharing, None),
            "COC" => (Self::ThirdPartyPrinting, None),
            other => {
                return Err(ConsentError::UnknownPurposeCode(
                    other.chars().take(64).collect(),
                ));
            }
        })
    }
}

impl fmt::Display for Purpose {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.id())
    }
}

impl FromStr for Purpose {
    type Err = ConsentError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::ALL
            .into_iter()
            .find(|p| p.id() == s)
            .ok_or_else(|| ConsentError::UnknownPurpose(s.chars().take(64).collect()))
    }
}

/// How far a research consent reaches. Tiers nest: `any-research` covers `related-studies`, which
/// covers `this-study`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum ResearchTier {
    /// Only the study the subject was recruited into.
    ThisStudy,
    /// Studies related to it (same condition or question), GDPR Recital 33 "areas of research".
    RelatedStudies,
    /// Any research (broad consent).
    AnyResearch,
}

impl ResearchTier {
    /// Every tier, narrowest first.
    pub const ALL: [ResearchTier; 3] = [Self::ThisStudy, Self::RelatedStudies, Self::AnyResearch];

    /// The tier a research purpose named without one means: `this-study`, so that a grant or a
    /// question never widens silently ([`PurposeScope::from_parts`], [`PurposeScope::parse_label`]).
    pub const NARROWEST: ResearchTier = Self::ThisStudy;

    /// The tier id.
    #[must_use]
    pub fn id(self) -> &'static str {
        match self {
            Self::ThisStudy => "this-study",
            Self::RelatedStudies => "related-studies",
            Self::AnyResearch => "any-research",
        }
    }

    /// Whether a consent at this tier covers a use at `other`.
    #[must_use]
    pub fn covers(self, other: ResearchTier) -> bool {
        self >= other
    }
}

impl FromStr for ResearchTier {
    type Err = ConsentError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::ALL
            .into_iter()
            .find(|t| t.id() == s)
            .ok_or_else(|| ConsentError::UnknownTier(s.chars().take(64).collect()))
    }
}

impl fmt::Display for ResearchTier {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.id())
    }
}

/// Longest accepted partner name.
const MAX_QUALIFIER: usize = 200;

/// A fully qualified purpose: the purpose plus what it needs (tier, partner, destination country).
///
/// This is both the scope of a ledger event and the use a decision is asked about.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct PurposeScope {
    /// The purpose.
    pub purpose: Purpose,
    /// The research tier (required for, and only for, `research`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tier: Option<ResearchTier>,
    /// The partner portal's name (required for, and only for, `partner-sharing`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub partner: Option<String>,
    /// Destination, ISO 3166-1 alpha-2 (required for, and only for, `cross-border-transfer`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub country: Option<String>,
}

impl PurposeScope {
    /// A scope for a purpose that needs no qualifier.
    #[must_use]
    pub fn plain(purpose: Purpose) -> Self {
        Self {
            purpose,
            tier: None,
            partner: None,
            country: None,
        }
    }

    /// A research scope.
    #[must_use]
    pub fn research(tier: ResearchTier) -> Self {
        Self {
            purpose: Purpose::Research,
            tier: Some(tier),
            partner: None,
            country: None,
        }
    }

    /// Check that exactly the qualifiers the purpose needs are present and well-formed; the
    /// destination country is upper-cased.
    ///
    /// # Errors
    /// [`ConsentError::BadTier`], [`ConsentError::MissingQualifier`], [`ConsentError::BadField`].
    pub fn validated(mut self) -> Result<Self, ConsentError> {
        match (self.purpose, self.tier) {
            (Purpose::Research, None) => {
                return Err(ConsentError::BadTier(
                    "research needs a tier (this-study, related-studies, any-research)".into(),
                ));
            }
            (p, Some(_)) if p != Purpose::Research => {
                return Err(ConsentError::BadTier(format!("purpose `{p}` has no tiers")));
            }
            _ => {}
        }
        match (self.purpose, &self.partner) {
            (Purpose::PartnerSharing, None) => {
                return Err(ConsentError::MissingQualifier(
                    "partner-sharing needs the partner portal's name".into(),
                ));
            }
            (Purpose::PartnerSharing, Some(p))
                if p.trim().is_empty() || p.len() > MAX_QUALIFIER =>
            {
                return Err(ConsentError::BadField("partner"));
            }
            (p, Some(_)) if p != Purpose::PartnerSharing => {
                return Err(ConsentError::MissingQualifier(format!(
                    "purpose `{p}` takes no partner"
                )));
            }
            _ => {}
        }
        match (self.purpose, self.country.take()) {
            (Purpose::CrossBorderTransfer, None) => {
                return Err(ConsentError::MissingQualifier(
                    "cross-border-transfer needs the destination country (ISO 3166-1 alpha-2)"
                        .into(),
                ));
            }
            (Purpose::CrossBorderTransfer, Some(c)) => {
                // An unknown destination is an error, never a silent "not a transfer".
                let up = match c.trim().to_ascii_uppercase().as_str() {
                    "UK" => "GB".to_owned(),
                    "EL" => "GR".to_owned(),
                    other => other.to_owned(),
                };
                if !crate::country::is_country(&up) {
                    return Err(ConsentError::UnknownCountry(c.chars().take(16).collect()));
                }
                self.country = Some(up);
            }
            (p, Some(_)) => {
                return Err(ConsentError::MissingQualifier(format!(
                    "purpose `{p}` takes no country"
                )));
            }
            (_, None) => {}
        }
        Ok(self)
    }

    /// Whether a consent with this scope covers a use with scope `used`: same purpose, partner and
    /// country, and a tier at least as broad.
    #[must_use]
    pub fn covers(&self, used: &PurposeScope) -> bool {
        self.purpose == used.purpose
            && self.partner == used.partner
            && self.country == used.country
            && match (self.tier, used.tier) {
                (Some(a), Some(b)) => a.covers(b),
                (None, None) => true,
                _ => false,
            }
    }

    /// Build a validated scope from its parts as a caller receives them: the CLI's `--purpose`,
    /// `--tier`, `--partner`, `--country`, the npm object `{purpose, tier?, partner?, country?}`,
    /// the JSON API's `scope`. This and [`PurposeScope::parse_label`] are the one place such input
    /// is read, so every surface accepts and refuses the same things with the same codes.
    ///
    /// `research` without a tier is `research/this-study`, the narrowest tier
    /// ([`ResearchTier::NARROWEST`]): a grant recorded or a question asked without a tier never
    /// reaches further than the study at hand. A tier for any other purpose is `bad-tier`.
    ///
    /// # Errors
    /// [`ConsentError::UnknownPurpose`], [`ConsentError::UnknownTier`], and the errors of
    /// [`PurposeScope::validated`].
    pub fn from_parts(
        purpose: &str,
        tier: Option<&str>,
        partner: Option<String>,
        country: Option<String>,
    ) -> Result<Self, ConsentError> {
        Self::build(purpose.parse()?, tier, partner, country)
    }

    fn build(
        purpose: Purpose,
        tier: Option<&str>,
        partner: Option<String>,
        country: Option<String>,
    ) -> Result<Self, ConsentError> {
        let tier = match (tier, purpose) {
            (Some(t), _) => Some(t.parse::<ResearchTier>()?),
            (None, Purpose::Research) => Some(ResearchTier::NARROWEST),
            (None, _) => None,
        };
        Self {
            purpose,
            tier,
            partner,
            country,
        }
        .validated()
    }

    /// Parse a [`PurposeScope::label`] (`research/this-study`, `partner-sharing(Acme)`,
    /// `cross-border-transfer(US)`, `treatment`) back into a validated scope. Surrounding
    /// whitespace is ignored; a bare `research` is `research/this-study`, as in
    /// [`PurposeScope::from_parts`].
    ///
    /// # Errors
    /// [`ConsentError::UnknownPurpose`] for an unknown purpose or a malformed label (an unclosed
    /// qualifier), [`ConsentError::UnknownTier`], and the errors of [`PurposeScope::validated`]
    /// (a tier or qualifier the purpose does not take, a missing partner or country).
    pub fn parse_label(label: &str) -> Result<Self, ConsentError> {
        let label = label.trim();
        let (head, qualifier) = match label.split_once('(') {
            Some((h, rest)) => match rest.strip_suffix(')') {
                Some(q) => (h, Some(q.to_owned())),
                None => {
                    return Err(ConsentError::UnknownPurpose(
                        label.chars().take(64).collect(),
                    ));
                }
            },
            None => (label, None),
        };
        let (purpose, tier) = match head.split_once('/') {
            Some((p, t)) => (p.parse::<Purpose>()?, Some(t)),
            None => (head.parse::<Purpose>()?, None),
        };
        let (partner, country) = match purpose {
            Purpose::CrossBorderTransfer => (None, qualifier),
            _ => (qualifier, None),
        };
        Self::build(purpose, tier, partner, country)
    }

    /// A short label, e.g. `research/this-study`, `partner-sharing(Acme)`, `cross-border-transfer(US)`.
    #[must_use]
    pub fn label(&self) -> String {
        let mut s = self.purpose.id().to_owned();
        if let Some(t) = self.tier {
            s.push('/');
            s.push_str(t.id());
        }
        if let Some(p) = &self.partner {
            s.push_str(&format!("({p})"));
        }
        if let Some(c) = &self.country {
            s.push_str(&format!("({c})"));
        }
        s
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use veil_core::Coded;

    #[test]
    fn ids_round_trip_and_unknown_is_error() {
        for p in Purpose::ALL {
            assert_eq!(p.id().parse::<Purpose>().unwrap(), p);
            let json = serde_json::to_string(&p).unwrap();
            assert_eq!(json, format!("\"{}\"", p.id()));
        }
        assert_eq!(
            "advertising".parse::<Purpose>().unwrap_err().code(),
            "unknown-purpose"
        );
        assert_eq!(
            "HPAYMT".parse::<Purpose>().unwrap_err().code(),
            "unknown-purpose"
        );
        assert_eq!(
            Purpose::from_act_reason("HPAYMT").unwrap_err().code(),
            "unknown-purpose-code"
        );
    }

    #[test]
    fn act_reason_codes_map_back() {
        for p in Purpose::ALL {
            if let Some(code) = p.act_reason() {
                assert_eq!(Purpose::from_act_reason(code).unwrap().0, p);
            }
        }
    }

    #[test]
    fn tiers_nest() {
        let any = PurposeScope::research(ResearchTier::AnyResearch);
        let this = PurposeScope::research(ResearchTier::ThisStudy);
        assert!(any.covers(&this));
        assert!(!this.covers(&any));
    }

    #[test]
    fn labels_round_trip() {
        let scopes = [
            PurposeScope::research(ResearchTier::RelatedStudies),
            PurposeScope::plain(Purpose::Treatment),
            PurposeScope {
                partner: Some("Acme Print".into()),
                ..PurposeScope::plain(Purpose::PartnerSharing)
            },
            PurposeScope {
                country: Some("US".into()),
                ..PurposeScope::plain(Purpose::CrossBorderTransfer)
            },
        ];
        for s in scopes {
            assert_eq!(PurposeScope::parse_label(&s.label()).unwrap(), s);
        }
        assert_eq!(
            PurposeScope::parse_label(" cross-border-transfer(us) ")
                .unwrap()
                .label(),
            "cross-border-transfer(US)"
        );
    }

    #[test]
    fn bare_research_is_the_narrowest_tier_in_both_parsers() {
        let narrowest = PurposeScope::research(ResearchTier::ThisStudy);
        assert_eq!(ResearchTier::NARROWEST, ResearchTier::ThisStudy);
        assert_eq!(PurposeScope::parse_label("research").unwrap(), narrowest);
        assert_eq!(
            PurposeScope::from_parts("research", None, None, None).unwrap(),
            narrowest
        );
        // A grant for bare `research` covers only this study, never a broader use.
        let bare = PurposeScope::parse_label("research").unwrap();
        assert!(!bare.covers(&PurposeScope::research(ResearchTier::RelatedStudies)));
        // The struct itself keeps its invariant: only the parsers fill the tier in.
        assert_eq!(
            PurposeScope::plain(Purpose::Research)
                .validated()
                .unwrap_err()
                .code(),
            "bad-tier"
        );
    }

    #[test]
    fn labels_and_parts_agree_and_refuse_with_the_same_codes() {
        let cases = [
            (
                "advertising",
                ("advertising", None, None, None),
                "unknown-purpose",
            ),
            (
                "research/everything",
                ("research", Some("everything"), None, None),
                "unknown-tier",
            ),
            (
                "treatment/this-study",
                ("treatment", Some("this-study"), None, None),
                "bad-tier",
            ),
            (
                "partner-sharing",
                ("partner-sharing", None, None, None),
                "missing-qualifier",
            ),
            (
                "treatment(Acme)",
                ("treatment", None, Some("Acme"), None),
                "missing-qualifier",
            ),
            (
                "cross-border-transfer",
                ("cross-border-transfer", None, None, None),
                "missing-qualifier",
            ),
            (
                "cross-border-transfer(USA)",
                ("cross-border-transfer", None, None, Some("USA")),
                "unknown-country",
            ),
            (
                // Two letters, but no ISO 3166-1 country: an error, never "not a transfer".
                "cross-border-transfer(ZZ)",
                ("cross-border-transfer", None, None, Some("ZZ")),
                "unknown-country",
            ),
            (
                "partner-sharing( )",
                ("partner-sharing", None, Some(" "), None),
                "bad-field",
            ),
            (
                "marketing/any-research",
                ("marketing", Some("any-research"), None, None),
                "bad-tier",
            ),
        ];
        for (label, (p, t, partner, country), code) in cases {
            assert_eq!(
                PurposeScope::parse_label(label).unwrap_err().code(),
                code,
                "{label}"
            );
            let parts = PurposeScope::from_parts(
                p,
                t,
                partner.map(str::to_owned),
                country.map(str::to_owned),
            );
            assert_eq!(parts.unwrap_err().code(), code, "{label} as parts");
        }
        // A malformed label (unclosed qualifier) is an unknown purpose, not a partner named `Acme`.
        assert_eq!(
            PurposeScope::parse_label("partner-sharing(Acme")
                .unwrap_err()
                .code(),
            "unknown-purpose"
        );
        for label in [
            "treatment",
            "research/any-research",
            "partner-sharing(Acme Print)",
            "cross-border-transfer(US)",
            "third-party-printing",
        ] {
            let s = PurposeScope::parse_label(label).unwrap();
            assert_eq!(s.label(), label);
            let parts = PurposeScope::from_parts(
                s.purpose.id(),
                s.tier.map(ResearchTier::id),
                s.partner.clone(),
                s.country.clone(),
            );
            assert_eq!(parts.unwrap(), s);
        }
    }

    #[test]
    fn qualifiers_are_checked() {
        assert!(PurposeScope::plain(Purpose::Research).validated().is_err());
        assert!(
            PurposeScope::plain(Purpose::PartnerSharing)
                .validated()
                .is_err()
        );
        assert!(
            PurposeScope::plain(Purpose::CrossBorderTransfer)
                .validated()
                .is_err()
        );
        let mut s = PurposeScope::plain(Purpose::CrossBorderTransfer);
        s.country = Some("us".into());
        assert_eq!(s.validated().unwrap().country.as_deref(), Some("US"));
    }
}
