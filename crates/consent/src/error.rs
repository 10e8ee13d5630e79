//! The one error type of `veil-consent`, with stable machine codes.
//!
//! Every refusal to decide is an error, never a silent `allow`: an unknown purpose, jurisdiction or
//! FHIR code stops the caller with a code the CLI, the npm facade and the UI all show unchanged.

use thiserror::Error;

/// Why a consent operation could not be carried out.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum ConsentError {
    /// A purpose id is not in the catalogue (`treatment`, `research`, ...).
    #[error("unknown purpose `{0}`")]
    UnknownPurpose(String),
    /// A research tier is not one of `this-study`, `related-studies`, `any-research`.
    #[error("unknown research tier `{0}`")]
    UnknownTier(String),
    /// A tier was given for a purpose other than `research`, or none was given for `research`.
    #[error("{0}")]
    BadTier(String),
    /// A jurisdiction code is malformed or Veil has no reviewed rules for it.
    #[error("unknown jurisdiction `{0}` (no reviewed rule file covers it)")]
    UnknownJurisdiction(String),
    /// No jurisdiction was given: a decision needs at least one.
    #[error("no jurisdiction given")]
    NoJurisdiction,
    /// `partner-sharing` needs the partner's name; `cross-border-transfer` needs the destination.
    #[error("{0}")]
    MissingQualifier(String),
    /// A timestamp is not RFC 3339 (or is out of range).
    #[error("bad time `{0}` (expected RFC 3339, e.g. 2026-11-23T10:00:00Z, or unix seconds)")]
    BadTime(String),
    /// The subject's age is implausible.
    #[error("bad age {0}")]
    BadAge(u32),
    /// Ledger events must be appended in time order (replay order is the legal order).
    #[error("event {index} at {at} is earlier than the event before it")]
    OutOfOrder {
        /// Zero-based index of the offending event.
        index: usize,
        /// Its time (RFC 3339).
        at: String,
    },
    /// A `renewed` event has no earlier `given`/`guardian-given` event for the same purpose.
    #[error("event {0} renews a consent that was never given")]
    RenewWithoutConsent(usize),
    /// An expiry is not after the event's own time.
    #[error("event {0} expires before it was given")]
    BadExpiry(usize),
    /// A consent text reference names a text version Veil does not know.
    #[error("unknown consent text {0}")]
    UnknownText(String),
    /// A consent text reference carries a hash that does not match the catalogued text.
    #[error("consent text {0} hash does not match the catalogue")]
    TextHashMismatch(String),
    /// The pseudonym is not usable as a FHIR id (`[A-Za-z0-9-.]{1,64}`).
    #[error("bad subject pseudonym `{0}` (1-64 of A-Z a-z 0-9 - .)")]
    BadPseudonym(String),
    /// A free-text field is empty or too long.
    #[error("field `{0}` is empty or longer than the limit")]
    BadField(&'static str),
    /// The input is larger than Veil accepts (bytes or events).
    #[error("input too large: {0}")]
    TooLarge(String),
    /// The JSON does not have the expected shape.
    #[error("malformed JSON: {0}")]
    Json(String),
    /// A FHIR resource is not what Veil can import.
    #[error("FHIR: {0}")]
    Fhir(String),
    /// A FHIR purpose code (or code system) has no meaning in Veil's catalogue.
    #[error("unknown FHIR purpose code `{0}`")]
    UnknownPurposeCode(String),
    /// A FHIR Consent carries a status Veil cannot map.
    #[error("unknown FHIR Consent status `{0}`")]
    UnknownStatus(String),
    /// A bundled rule or text file failed to parse (a build defect, reported instead of panicking).
    #[error("bundled data `{file}` is invalid: {reason}")]
    BadBundledData {
        /// The embedded file.
        file: &'static str,
        /// The parser's message.
        reason: String,
    },
    /// A language's wording of the authorization form or the receipt lacks a key
    /// (`table/vN/lang/key`).
    #[error("no text for `{0}` in this language")]
    MissingTextKey(String),
    /// A language has no consent texts.
    #[error("no consent text in language `{0}`")]
    UnknownLanguage(String),
    /// A transfer mechanism is not one of `adequacy`, `scc`, `bcr`, `dpf`, `derogation`.
    #[error("unknown transfer mechanism `{0}` (adequacy, scc, bcr, dpf or derogation)")]
    UnknownMechanism(String),
    /// A destination country is not an ISO 3166-1 alpha-2 code.
    #[error("unknown country `{0}` (not an ISO 3166-1 alpha-2 code)")]
    UnknownCountry(String),
    /// A data category is not one a rule file applies to (`substance-use`, `consumer-health-data`).
    #[error("unknown data category `{0}` (substance-use or consumer-health-data)")]
    UnknownCategory(String),
    /// A sharing basis that is not one of [`crate::SharingBasis`].
    #[error(
        "unknown sharing basis `{0}` (no-economic-advantage, health-services, pharmaceutical-assistance, health-care, portability or transactions)"
    )]
    UnknownSharingBasis(String),
    /// An affected count is not `N` or `CODE=N`, or the per-region counts exceed the total.
    #[error("bad affected count: {0}")]
    BadAffected(String),
    /// A waiver, its end or a study's end was recorded on the subject's own device: clinic staff
    /// record these (kiosk, or imported from the clinic's system).
    #[error("a `{0}` event is recorded by clinic staff, not on the person's own device")]
    StaffOnly(&'static str),
    /// An expiry by event ("end of the research study") where the law asks for a specific date.
    #[error("an authorization here must end on a specific date, not at the end of the study ({0})")]
    EndDateRequired(String),
}

impl veil_core::Coded for ConsentError {
    /// The stable machine code of this error (shown by the CLI, the npm module and the UI).
    fn code(&self) -> &'static str {
        match self {
            Self::UnknownPurpose(_) => "unknown-purpose",
            Self::UnknownTier(_) => "unknown-tier",
            Self::BadTier(_) => "bad-tier",
            Self::UnknownJurisdiction(_) => "unknown-jurisdiction",
            Self::NoJurisdiction => "no-jurisdiction",
            Self::MissingQualifier(_) => "missing-qualifier",
            Self::BadTime(_) => "bad-time",
            Self::BadAge(_) => "bad-age",
            Self::OutOfOrder { .. } => "out-of-order",
            Self::RenewWithoutConsent(_) => "renew-without-consent",
            Self::BadExpiry(_) => "bad-expiry",
            Self::UnknownText(_) => "unknown-text",
            Self::TextHashMismatch(_) => "text-hash-mismatch",
            Self::BadPseudonym(_) => "bad-pseudonym",
            Self::BadField(_) => "bad-field",
            Self::TooLarge(_) => "too-large",
            Self::Json(_) => "malformed-json",
            Self::Fhir(_) => "bad-fhir",
            Self::UnknownPurposeCode(_) => "unknown-purpose-code",
            Self::UnknownStatus(_) => "unknown-status",
            Self::BadBundledData { .. } => "bad-bundled-data",
            Self::UnknownLanguage(_) => "unknown-language",
            Self::MissingTextKey(_) => "missing-text-key",
            Self::UnknownMechanism(_) => "unknown-mechanism",
            Self::UnknownCountry(_) => "unknown-country",
            Self::BadAffected(_) => "bad-affected",
            Self::UnknownCategory(_) => "unknown-category",
            Self::UnknownSharingBasis(_) => "unknown-sharing-basis",
            Self::StaffOnly(_) => "staff-only",
            Self::EndDateRequired(_) => "end-date-required",
        }
    }
}

impl From<serde_json::Error> for ConsentError {
    fn from(e: serde_json::Error) -> Self {
        Self::Json(e.to_string())
    }
}
