//! The wording of the HIPAA authorization form and of consent receipts, per language: versioned and
//! identified by content hash, like the consent texts of [`crate::text`].
//!
//! GDPR Art. 12(1) asks for information in clear and plain language the person understands, and
//! 45 CFR 164.508(c)(3) for an authorization in plain language; a person who reads French must get
//! the form and the receipt in French, with the statements of 164.508(c)(2) (the right to revoke and
//! how, conditioning, redisclosure) and those of Cal. Civ. Code § 56.11 carrying the same legal
//! meaning in every language. Each language's file (`texts/<lang>.toml`) holds, beside its consent
//! texts, one `[[form]]` and one `[[receipt]]` table per version: every string of that table, keyed
//! by a [`FormKey`] or [`ReceiptKey`] id. A version is immutable once published (the lock file
//! `texts/hashes.lock` and `tests/texts.rs` hold every published string to its hash): new wording is
//! a new version, and the older one stays so that a recorded [`WordingRef`] can still be verified.
//!
//! An authorization records the [`WordingRef`] of the form it was signed on (language, version and
//! the SHA-256 of all of that version's strings), so what the person read is provable later. A
//! lookup of a key a language lacks is a typed error ([`ConsentError::MissingTextKey`]);
//! [`Localized::text`] then falls back to English, which the tests keep from ever happening.

use std::collections::BTreeMap;
use std::marker::PhantomData;
use std::sync::OnceLock;

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::ConsentError;

/// The language every other falls back to where it lacks a string (never, while the tests pass).
pub const FALLBACK_LANG: &str = "en";

/// A key of one table of wording: an enum whose variants are the table's strings.
pub trait WordingKey: Copy + 'static {
    /// The table in the text files (`form`, `receipt`).
    const TABLE: &'static str;
    /// Every key of the table.
    const ALL: &'static [Self];
    /// The key's id in the text files.
    fn id(self) -> &'static str;
}

/// Declares a key enum: variants, ids and `ALL` in one place.
macro_rules! wording_keys {
    ($(#[$doc:meta])* $name:ident, $table:literal { $($(#[$vdoc:meta])* $variant:ident = $id:literal,)* }) => {
        $(#[$doc])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
        pub enum $name {
            $($(#[$vdoc])* $variant,)*
        }

        impl WordingKey for $name {
            const TABLE: &'static str = $table;
            const ALL: &'static [Self] = &[$(Self::$variant,)*];
            fn id(self) -> &'static str {
                match self {
                    $(Self::$variant => $id,)*
                }
            }
        }
    };
}

wording_keys! {
    /// The strings of the HIPAA authorization form (on screen and printed). `{name}` marks a value
    /// filled in at run time.
    FormKey, "form" {
        /// The form's heading on screen.
        Title = "title",
        /// The printed copy's heading.
        PrintTitle = "print-title",
        /// (c)(1)(i) field label.
        LabelInformation = "label-information",
        /// (c)(1)(ii) field label.
        LabelDisclosedBy = "label-disclosed-by",
        /// (c)(1)(iii) field label.
        LabelRecipients = "label-recipients",
        /// (c)(1)(iv) field label.
        LabelPurpose = "label-purpose",
        /// (c)(1)(v) legend.
        LegendEnds = "legend-ends",
        /// The end date input.
        LabelEndDate = "label-end-date",
        /// The "end of the research study" event checkbox.
        LabelEndOfStudy = "label-end-of-study",
        /// Heading of the (c)(2)(i) statement.
        HeadingRevoke = "heading-revoke",
        /// 164.508(c)(2)(i): the right to revoke in writing, how, and its exceptions.
        RightToRevoke = "right-to-revoke",
        /// Heading of the (c)(2)(ii) statement.
        HeadingConditioning = "heading-conditioning",
        /// 164.508(c)(2)(ii): treatment, payment, enrolment and eligibility are not conditioned.
        Conditioning = "conditioning",
        /// Heading of the (c)(2)(iii) statement.
        HeadingRedisclosure = "heading-redisclosure",
        /// 164.508(c)(2)(iii): redisclosure and the loss of protection.
        Redisclosure = "redisclosure",
        /// Heading of the CMIA copy statement.
        HeadingCopy = "heading-copy",
        /// Cal. Civ. Code § 56.11(e): the right to a copy.
        CmiaCopy = "cmia-copy",
        /// Cal. Civ. Code § 56.11(b)(8): a specific end date.
        CmiaEnd = "cmia-end",
        /// Legend of the representative's signature.
        LegendRepresentative = "legend-representative",
        /// Why the representative signs (164.502(g)).
        RepresentativeWhy = "representative-why",
        /// The representative's name input.
        LabelRepresentative = "label-representative",
        /// The representative's relationship / authority input.
        LabelRelationship = "label-relationship",
        /// Legend of the person's signature.
        LegendSignature = "legend-signature",
        /// The person's name input.
        LabelSignature = "label-signature",
        /// How signing dates the form.
        SignedWhen = "signed-when",
        /// The sign button.
        Sign = "sign",
        /// Suggested (c)(1)(i) description for research and AI training.
        InformationResearch = "information-research",
        /// Suggested (c)(1)(i) description otherwise.
        InformationOther = "information-other",
        /// Suggested (c)(1)(ii): `{controller}`.
        DisclosedBy = "disclosed-by",
        /// Suggested (c)(1)(iii) for the clinic's server: `{controller}`, `{origin}`.
        RecipientClinic = "recipient-clinic",
        /// The (c)(1)(v) expiration recorded for a date: `{date}`.
        ExpirationDate = "expiration-date",
        /// The (c)(1)(v) expiration recorded for the end-of-study event.
        ExpirationEndOfStudy = "expiration-end-of-study",
        /// The end date is not a date.
        ProblemDate = "problem-date",
        /// The end date is not in the future.
        ProblemPast = "problem-past",
        /// A specific end date is required: `{citation}`.
        ProblemSpecificDate = "problem-specific-date",
        /// Neither an end date nor an event was given.
        ProblemNoEnd = "problem-no-end",
        /// The representative's name or relationship is missing.
        ProblemRepresentative = "problem-representative",
        /// The signature is missing.
        ProblemSignature = "problem-signature",
        /// An element is missing: `{element}` (its 164.508(c) paragraph).
        ProblemIncomplete = "problem-incomplete",
        /// Printed row: the use.
        PrintUse = "print-use",
        /// Printed row: (c)(1)(i).
        PrintInformation = "print-information",
        /// Printed row: (c)(1)(ii).
        PrintDisclosedBy = "print-disclosed-by",
        /// Printed row: (c)(1)(iii).
        PrintRecipients = "print-recipients",
        /// Printed row: (c)(1)(iv).
        PrintPurpose = "print-purpose",
        /// Printed row: (c)(1)(v).
        PrintEnds = "print-ends",
        /// Printed row: (c)(1)(vi) signature.
        PrintSignature = "print-signature",
        /// Printed row: (c)(1)(vi) date.
        PrintDate = "print-date",
        /// Printed row: the representative's authority.
        PrintRepresentative = "print-representative",
        /// Printed row: jurisdictions.
        PrintJurisdictions = "print-jurisdictions",
        /// Printed row: the privacy contact.
        PrintContact = "print-contact",
        /// Printed row: the ledger event id.
        PrintEvent = "print-event",
        /// Printed row: the wording (language, version, hash) the form was signed on.
        PrintWording = "print-wording",
        /// Printed row: the consent text shown with it.
        PrintConsentText = "print-consent-text",
        /// Printed heading of the (c)(2) statements.
        PrintStatements = "print-statements",
        /// The card's button that opens the form.
        OpenForm = "open-form",
        /// The card's button that revokes an authorization (the statement of (c)(2)(i) names it).
        Revoke = "revoke",
        /// The timeline's button that offers the printable copy (the CMIA copy statement names it).
        PrintButton = "print-button",
    }
}

wording_keys! {
    /// The strings of a consent receipt (its values in JSON and its printable page). `{name}` marks
    /// a value filled in at run time.
    ReceiptKey, "receipt" {
        /// The page's title and heading.
        Title = "title",
        /// Row: the receipt id.
        RowReceipt = "row-receipt",
        /// Row: what happened.
        RowWhat = "row-what",
        /// Row: the purpose.
        RowPurpose = "row-purpose",
        /// Row: how the consent ends.
        RowEnds = "row-ends",
        /// Row: the recipient.
        RowRecipient = "row-recipient",
        /// Row: when.
        RowWhen = "row-when",
        /// Row: how it was collected.
        RowHow = "row-how",
        /// Row: who gave it.
        RowGivenBy = "row-given-by",
        /// Row: the pseudonym.
        RowPseudonym = "row-pseudonym",
        /// Row: jurisdictions.
        RowJurisdiction = "row-jurisdiction",
        /// Row: the language.
        RowLanguage = "row-language",
        /// Row: the consent text's hash.
        RowFingerprint = "row-fingerprint",
        /// Row: the controller.
        RowController = "row-controller",
        /// Row: the privacy policy.
        RowPolicy = "row-policy",
        /// Row: the specification.
        RowSpecification = "row-specification",
        /// Closing note: withdrawing is as easy as consenting (GDPR Art. 7(3)).
        WithdrawNote = "withdraw-note",
        /// Collected in the app on the person's own device.
        MethodOwnDevice = "method-own-device",
        /// Collected at a clinic kiosk: `{staff}`.
        MethodKiosk = "method-kiosk",
        /// Imported: `{source}`.
        MethodImported = "method-imported",
        /// Ends when withdrawn.
        EndsUntilWithdrawn = "ends-until-withdrawn",
        /// Ends at a date: `{date}`.
        EndsExpires = "ends-expires",
        /// Ends at the end of a research study: `{study}`.
        EndsStudy = "ends-study",
        /// Ends at a date or the study's end, whichever is first: `{date}`, `{study}`.
        EndsExpiresOrStudy = "ends-expires-or-study",
        /// A recipient abroad: `{country}`.
        RecipientCountry = "recipient-country",
        /// The print bureau.
        RecipientPrintBureau = "recipient-print-bureau",
        /// Personal data category: health data.
        CategoryHealth = "category-health",
        /// Personal data category: 3D models.
        CategoryModels = "category-models",
        /// Given by the person.
        ByPerson = "by-person",
        /// Given by the guardian: `{guardian}`.
        ByGuardian = "by-guardian",
        /// The minor's assent.
        ByMinorAssent = "by-minor-assent",
        /// Event: consent given.
        EventGiven = "event-given",
        /// Event: the guardian's consent.
        EventGuardianGiven = "event-guardian-given",
        /// Event: renewed.
        EventRenewed = "event-renewed",
        /// Event: the minor's assent.
        EventAssented = "event-assented",
        /// Event: withdrawn.
        EventWithdrawn = "event-withdrawn",
        /// Event: expired.
        EventExpired = "event-expired",
        /// Event: the research study ended.
        EventStudyEnded = "event-study-ended",
        /// Event: clinic staff recorded a research waiver.
        EventWaived = "event-waived",
        /// Event: the research waiver ended.
        EventWaiverEnded = "event-waiver-ended",
        /// Resulting status: active.
        StatusActive = "status-active",
        /// Resulting status: withdrawn.
        StatusWithdrawn = "status-withdrawn",
        /// Resulting status: expired.
        StatusExpired = "status-expired",
        /// Resulting status: a waiver in force.
        StatusWaived = "status-waived",
        /// Resulting status: the waiver ended.
        StatusWaiverEnded = "status-waiver-ended",
    }
}

/// One version of one table of wording in one language.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Wording {
    /// `form` or `receipt`.
    pub table: &'static str,
    /// BCP 47 language tag.
    pub lang: String,
    /// Version number (1, 2, ...); higher is newer.
    pub version: u32,
    /// Every string, by key id.
    pub strings: BTreeMap<String, String>,
    /// Lower-case hex SHA-256 of [`Wording::canonical_bytes`].
    pub sha256: String,
}

impl Wording {
    /// The bytes that are hashed: a domain tag, table, version and language, then each string as a
    /// JSON `"key":"value"` pair on its own line in key order (JSON escaping keeps it unambiguous).
    #[must_use]
    pub fn canonical_bytes(
        table: &str,
        version: u32,
        lang: &str,
        strings: &BTreeMap<String, String>,
    ) -> Vec<u8> {
        let mut out = format!("veil-consent-wording/1\n{table}\n{version}\n{lang}\n");
        for (k, v) in strings {
            // Serialising a string cannot fail.
            let k = serde_json::to_string(k).unwrap_or_default();
            let v = serde_json::to_string(v).unwrap_or_default();
            out.push_str(&format!("{k}:{v}\n"));
        }
        out.into_bytes()
    }

    /// The reference a ledger event stores for this wording.
    #[must_use]
    pub fn reference(&self) -> WordingRef {
        WordingRef {
            table: self.table.to_owned(),
            lang: self.lang.clone(),
            version: self.version,
            sha256: self.sha256.clone(),
        }
    }
}

/// What a ledger event records about the wording that was shown (e.g. the authorization form).
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct WordingRef {
    /// `form` or `receipt`.
    pub table: String,
    /// Its language.
    pub lang: String,
    /// Its version.
    pub version: u32,
    /// Its SHA-256 (lower-case hex).
    pub sha256: String,
}

impl WordingRef {
    /// Check this reference against the catalogue: the wording must exist and its hash must match.
    ///
    /// # Errors
    /// [`ConsentError::UnknownText`] or [`ConsentError::TextHashMismatch`].
    pub fn verify(&self) -> Result<&'static Wording, ConsentError> {
        let name = format!(
            "{}/v{}/{}",
            self.table.chars().take(16).collect::<String>(),
            self.version,
            self.lang.chars().take(16).collect::<String>()
        );
        let w = catalogue()?
            .iter()
            .find(|w| w.table == self.table && w.version == self.version && w.lang == self.lang)
            .ok_or_else(|| ConsentError::UnknownText(name.clone()))?;
        // Hashes are public; no constant-time comparison needed.
        if w.sha256.eq_ignore_ascii_case(&self.sha256) {
            Ok(w)
        } else {
            Err(ConsentError::TextHashMismatch(name))
        }
    }
}

/// The newest (or a recorded) version of a table in one language, looked up by typed key.
#[derive(Debug, Clone, Copy)]
pub struct Localized<K> {
    wording: &'static Wording,
    fallback: Option<&'static Wording>,
    key: PhantomData<K>,
}

impl<K: WordingKey> Localized<K> {
    /// The wording this reads from.
    #[must_use]
    pub fn wording(&self) -> &'static Wording {
        self.wording
    }

    /// The language actually shown.
    #[must_use]
    pub fn lang(&self) -> &'static str {
        &self.wording.lang
    }

    /// The string for `key` in this language.
    ///
    /// # Errors
    /// [`ConsentError::MissingTextKey`] if this language's version lacks it.
    pub fn get(&self, key: K) -> Result<&'static str, ConsentError> {
        self.wording
            .strings
            .get(key.id())
            .map(String::as_str)
            .ok_or_else(|| {
                ConsentError::MissingTextKey(format!(
                    "{}/v{}/{}/{}",
                    K::TABLE,
                    self.wording.version,
                    self.wording.lang,
                    key.id()
                ))
            })
    }

    /// The string for `key`, else English's, else the key's id (never empty-handed on screen).
    #[must_use]
    pub fn text(&self, key: K) -> &'static str {
        self.get(key)
            .ok()
            .or_else(|| {
                self.fallback
                    .and_then(|f| f.strings.get(key.id()).map(String::as_str))
            })
            .unwrap_or_else(|| key.id())
    }

    /// [`Localized::text`] with each `{name}` replaced by its value.
    #[must_use]
    pub fn fill(&self, key: K, values: &[(&str, &str)]) -> String {
        fill(self.text(key), values)
    }
}

/// Replace each `{name}` in `template` by its value (one pass: a value is never re-read).
#[must_use]
pub fn fill(template: &str, values: &[(&str, &str)]) -> String {
    let mut out = String::with_capacity(template.len());
    let mut rest = template;
    while let Some(open) = rest.find('{') {
        out.push_str(&rest[..open]);
        let after = &rest[open + 1..];
        let hit = after.find('}').and_then(|close| {
            let name = &after[..close];
            values
                .iter()
                .find(|(n, _)| *n == name)
                .map(|(_, v)| (close, *v))
        });
        match hit {
            Some((close, v)) => {
                out.push_str(v);
                rest = &after[close + 1..];
            }
            None => {
                out.push('{');
                rest = after;
            }
        }
    }
    out.push_str(rest);
    out
}

/// The `{name}` placeholders a string uses, sorted.
#[must_use]
pub fn placeholders(s: &str) -> Vec<&str> {
    let mut out: Vec<&str> = s
        .split('{')
        .skip(1)
        .filter_map(|p| p.split_once('}').map(|(name, _)| name))
        .filter(|n| !n.is_empty() && n.bytes().all(|b| b.is_ascii_lowercase() || b == b'-'))
        .collect();
    out.sort_unstable();
    out.dedup();
    out
}

#[derive(Deserialize)]
struct RawFile {
    lang: String,
    #[serde(default)]
    form: Vec<RawWording>,
    #[serde(default)]
    receipt: Vec<RawWording>,
}

#[derive(Deserialize)]
struct RawWording {
    version: u32,
    #[serde(flatten)]
    strings: BTreeMap<String, String>,
}

static CATALOGUE: OnceLock<Result<Vec<Wording>, ConsentError>> = OnceLock::new();

/// Every version of every table in every language, loaded once from the embedded files.
///
/// # Errors
/// [`ConsentError::BadBundledData`] if an embedded file is invalid (a build defect, caught by the
/// crate's tests).
pub fn catalogue() -> Result<&'static [Wording], ConsentError> {
    CATALOGUE
        .get_or_init(|| {
            let mut out = Vec::new();
            for raw in crate::text::parse_files::<RawFile>()? {
                for (table, versions) in [("form", raw.form), ("receipt", raw.receipt)] {
                    for w in versions {
                        let sha256 = hex::encode(Sha256::digest(Wording::canonical_bytes(
                            table, w.version, &raw.lang, &w.strings,
                        )));
                        out.push(Wording {
                            table,
                            lang: raw.lang.clone(),
                            version: w.version,
                            strings: w.strings,
                            sha256,
                        });
                    }
                }
            }
            Ok(out)
        })
        .as_ref()
        .map(Vec::as_slice)
        .map_err(Clone::clone)
}

fn newest(table: &str, lang: &str) -> Result<Option<&'static Wording>, ConsentError> {
    Ok(catalogue()?
        .iter()
        .filter(|w| w.table == table && w.lang == lang)
        .max_by_key(|w| w.version))
}

/// The newest wording of `K`'s table in `lang`.
///
/// # Errors
/// [`ConsentError::UnknownLanguage`] if the language has no such table.
pub fn current<K: WordingKey>(lang: &str) -> Result<Localized<K>, ConsentError> {
    let wording = newest(K::TABLE, lang)?
        .ok_or_else(|| ConsentError::UnknownLanguage(lang.chars().take(16).collect()))?;
    Ok(Localized {
        wording,
        fallback: newest(K::TABLE, FALLBACK_LANG)?,
        key: PhantomData,
    })
}

/// The newest wording in `lang`, else in English (for a language Veil has no wording in).
///
/// # Errors
/// [`ConsentError::BadBundledData`] or, if not even English has the table,
/// [`ConsentError::UnknownLanguage`].
pub fn current_or_english<K: WordingKey>(lang: &str) -> Result<Localized<K>, ConsentError> {
    current(lang).or_else(|_| current(FALLBACK_LANG))
}

/// The wording a [`WordingRef`] names, verified, for reading `K`'s keys.
///
/// # Errors
/// As [`WordingRef::verify`]; [`ConsentError::UnknownText`] if it is not `K`'s table.
pub fn recorded<K: WordingKey>(r: &WordingRef) -> Result<Localized<K>, ConsentError> {
    if r.table != K::TABLE {
        return Err(ConsentError::UnknownText(
            r.table.chars().take(16).collect(),
        ));
    }
    Ok(Localized {
        wording: r.verify()?,
        fallback: newest(K::TABLE, FALLBACK_LANG)?,
        key: PhantomData,
    })
}

/// The HIPAA authorization form's newest wording in `lang`.
///
/// # Errors
/// As [`current`].
pub fn form(lang: &str) -> Result<Localized<FormKey>, ConsentError> {
    current(lang)
}

/// The consent receipt's newest wording in `lang`.
///
/// # Errors
/// As [`current`].
pub fn receipt(lang: &str) -> Result<Localized<ReceiptKey>, ConsentError> {
    current(lang)
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use veil_core::Coded;

    #[test]
    fn fill_replaces_named_values_once() {
        assert_eq!(
            fill("{a} and {b} {c}", &[("a", "{b}"), ("b", "x")]),
            "{b} and x {c}"
        );
        assert_eq!(fill("no { brace", &[]), "no { brace");
        assert_eq!(placeholders("{date}, {staff} {date} {}"), ["date", "staff"]);
    }

    #[test]
    fn references_verify_and_bind_the_wording() {
        let f = form("fr").unwrap();
        assert_eq!(f.lang(), "fr");
        let r = f.wording().reference();
        assert_eq!(recorded::<FormKey>(&r).unwrap().wording(), f.wording());
        let mut forged = r.clone();
        forged.sha256 = form("es").unwrap().wording().sha256.clone();
        assert_eq!(forged.verify().unwrap_err().code(), "text-hash-mismatch");
        assert_eq!(
            recorded::<ReceiptKey>(&r).unwrap_err().code(),
            "unknown-text"
        );
        assert_eq!(form("xx").unwrap_err().code(), "unknown-language");
        assert_eq!(current_or_english::<FormKey>("xx").unwrap().lang(), "en");
    }

    #[test]
    fn a_missing_key_is_a_typed_error_and_falls_back_to_english() {
        let en = form("en").unwrap();
        let mut lacking = en.wording().clone();
        lacking.lang = "fr".into();
        lacking.strings.remove(FormKey::Sign.id());
        let l = Localized::<FormKey> {
            wording: Box::leak(Box::new(lacking)),
            fallback: Some(en.wording()),
            key: PhantomData,
        };
        assert_eq!(l.get(FormKey::Sign).unwrap_err().code(), "missing-text-key");
        assert_eq!(l.text(FormKey::Sign), en.get(FormKey::Sign).unwrap());
    }
}
