//! Consent texts: versioned, localised, identified by content hash.
//!
//! A consent is only informed if we can show what the person read (GDPR Art. 7(1): the controller
//! must be able to demonstrate consent; Art. 4(11): "informed"). Each text is immutable: new wording
//! is a new `version`. Ledger events carry a [`TextRef`] with the SHA-256 of the exact text, so a
//! later edit of the catalogue cannot silently change what someone agreed to.
//!
//! The catalogue is embedded at build time from `texts/<lang>.toml` (English, German, French,
//! Spanish: GDPR Art. 12(1), a language the person understands). Every language holds the same
//! purposes and versions, and no published text changes: `tests/texts.rs` checks both against
//! `texts/hashes.lock`. The same files carry the authorization form's and the receipts' wording
//! ([`crate::wording`]).

use std::sync::OnceLock;

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::{ConsentError, Purpose};

/// The embedded text files, one per language: (file name, contents).
const FILES: [(&str, &[u8]); 4] = [
    ("texts/en.toml", bundled!("texts/en")),
    ("texts/de.toml", bundled!("texts/de")),
    ("texts/fr.toml", bundled!("texts/fr")),
    ("texts/es.toml", bundled!("texts/es")),
];

/// One version of one purpose's consent text in one language.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ConsentText {
    /// The purpose the text explains.
    pub purpose: Purpose,
    /// Version number (1, 2, ...); higher is newer.
    pub version: u32,
    /// BCP 47 language tag (`en`, `de`, `fr`, `es`).
    pub lang: String,
    /// Short title for the purpose card.
    pub title: String,
    /// The plain-language text.
    pub body: String,
    /// Lower-case hex SHA-256 of [`ConsentText::canonical_bytes`].
    pub sha256: String,
}

impl ConsentText {
    /// The bytes that are hashed: a domain tag, then purpose, version, language, title and body,
    /// each on its own line (the body last, so it may contain anything).
    #[must_use]
    pub fn canonical_bytes(
        purpose: Purpose,
        version: u32,
        lang: &str,
        title: &str,
        body: &str,
    ) -> Vec<u8> {
        format!(
            "veil-consent-text/1\n{}\n{version}\n{lang}\n{title}\n{body}",
            purpose.id()
        )
        .into_bytes()
    }

    /// The reference a ledger event stores for this text.
    #[must_use]
    pub fn reference(&self) -> TextRef {
        TextRef {
            purpose: self.purpose,
            version: self.version,
            lang: self.lang.clone(),
            sha256: self.sha256.clone(),
        }
    }
}

/// What a ledger event records about the text that was shown.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct TextRef {
    /// The purpose of the text.
    pub purpose: Purpose,
    /// Its version.
    pub version: u32,
    /// Its language.
    pub lang: String,
    /// Its SHA-256 (lower-case hex).
    pub sha256: String,
}

impl TextRef {
    /// A URN naming the text, used as FHIR `Consent.policy.uri`:
    /// `urn:veil:consent-text:<purpose>:<version>:<lang>:sha256:<hex>`.
    #[must_use]
    pub fn urn(&self) -> String {
        format!(
            "urn:veil:consent-text:{}:{}:{}:sha256:{}",
            self.purpose.id(),
            self.version,
            self.lang,
            self.sha256
        )
    }

    /// Parse [`TextRef::urn`]. `None` if the URI is not one of Veil's.
    #[must_use]
    pub fn from_urn(uri: &str) -> Option<Self> {
        let rest = uri.strip_prefix("urn:veil:consent-text:")?;
        let mut it = rest.split(':');
        let purpose = it.next()?.parse().ok()?;
        let version = it.next()?.parse().ok()?;
        let lang = it.next()?.to_owned();
        if it.next()? != "sha256" {
            return None;
        }
        let sha256 = it.next()?.to_owned();
        if it.next().is_some()
            || sha256.len() != 64
            || !sha256.bytes().all(|b| b.is_ascii_hexdigit())
        {
            return None;
        }
        Some(Self {
            purpose,
            version,
            lang,
            sha256,
        })
    }

    /// Check this reference against the catalogue: the text must exist and its hash must match.
    ///
    /// # Errors
    /// [`ConsentError::UnknownText`] or [`ConsentError::TextHashMismatch`].
    pub fn verify(&self) -> Result<&'static ConsentText, ConsentError> {
        let name = format!("{}/v{}/{}", self.purpose.id(), self.version, self.lang);
        let text = catalogue()?
            .iter()
            .find(|t| t.purpose == self.purpose && t.version == self.version && t.lang == self.lang)
            .ok_or_else(|| ConsentError::UnknownText(name.clone()))?;
        // Hashes are public; no constant-time comparison needed.
        if text.sha256.eq_ignore_ascii_case(&self.sha256) {
            Ok(text)
        } else {
            Err(ConsentError::TextHashMismatch(name))
        }
    }
}

#[derive(Deserialize)]
struct RawFile {
    lang: String,
    #[serde(default)]
    text: Vec<RawText>,
}

#[derive(Deserialize)]
struct RawText {
    purpose: Purpose,
    version: u32,
    title: String,
    body: String,
}

/// Every embedded text file parsed as `T`: the consent texts and [`crate::wording`] each read their
/// own tables of the same files.
///
/// # Errors
/// [`ConsentError::BadBundledData`], naming the file.
pub(crate) fn parse_files<T: serde::de::DeserializeOwned>() -> Result<Vec<T>, ConsentError> {
    FILES
        .iter()
        .map(|(file, deflated)| {
            let src = crate::bundle::json(file, deflated)?;
            serde_json::from_str(&src).map_err(|e| ConsentError::BadBundledData {
                file,
                reason: e.to_string(),
            })
        })
        .collect()
}

static CATALOGUE: OnceLock<Result<Vec<ConsentText>, ConsentError>> = OnceLock::new();

/// Every consent text of every language, loaded once from the embedded files.
///
/// # Errors
/// [`ConsentError::BadBundledData`] if an embedded file is invalid (a build defect, caught by the
/// crate's tests).
pub fn catalogue() -> Result<&'static [ConsentText], ConsentError> {
    CATALOGUE
        .get_or_init(|| {
            let mut out = Vec::new();
            for raw in parse_files::<RawFile>()? {
                for t in raw.text {
                    let sha256 = hex::encode(Sha256::digest(ConsentText::canonical_bytes(
                        t.purpose, t.version, &raw.lang, &t.title, &t.body,
                    )));
                    out.push(ConsentText {
                        purpose: t.purpose,
                        version: t.version,
                        lang: raw.lang.clone(),
                        title: t.title,
                        body: t.body,
                        sha256,
                    });
                }
            }
            Ok(out)
        })
        .as_ref()
        .map(Vec::as_slice)
        .map_err(Clone::clone)
}

/// The languages texts exist in.
///
/// # Errors
/// As [`catalogue`].
pub fn languages() -> Result<Vec<&'static str>, ConsentError> {
    let mut langs: Vec<&str> = catalogue()?.iter().map(|t| t.lang.as_str()).collect();
    langs.sort_unstable();
    langs.dedup();
    Ok(langs)
}

/// The newest text for a purpose in a language.
///
/// # Errors
/// [`ConsentError::UnknownLanguage`] if the language has no texts, [`ConsentError::UnknownText`] if
/// the purpose has none in it.
pub fn current(purpose: Purpose, lang: &str) -> Result<&'static ConsentText, ConsentError> {
    let all = catalogue()?;
    if !all.iter().any(|t| t.lang == lang) {
        return Err(ConsentError::UnknownLanguage(
            lang.chars().take(16).collect(),
        ));
    }
    all.iter()
        .filter(|t| t.purpose == purpose && t.lang == lang)
        .max_by_key(|t| t.version)
        .ok_or_else(|| ConsentError::UnknownText(format!("{}/{lang}", purpose.id())))
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use veil_core::Coded;

    #[test]
    fn every_purpose_has_text_in_every_language() {
        let langs = languages().unwrap();
        assert_eq!(langs, ["de", "en", "es", "fr"]);
        for lang in langs {
            for p in Purpose::ALL {
                let t = current(p, lang).unwrap();
                assert_eq!(t.reference().verify().unwrap(), t);
            }
        }
    }

    #[test]
    fn versions_are_distinct_and_hash_binds_wording() {
        let v1 = catalogue()
            .unwrap()
            .iter()
            .find(|t| t.purpose == Purpose::Research && t.version == 1 && t.lang == "en")
            .unwrap();
        let v2 = current(Purpose::Research, "en").unwrap();
        assert_eq!(v2.version, 2);
        assert_ne!(v1.sha256, v2.sha256);
        let mut forged = v1.reference();
        forged.sha256 = v2.sha256.clone();
        assert_eq!(forged.verify().unwrap_err().code(), "text-hash-mismatch");
        assert_eq!(
            current(Purpose::Research, "xx").unwrap_err().code(),
            "unknown-language"
        );
    }

    #[test]
    fn urn_round_trips() {
        let r = current(Purpose::Marketing, "de").unwrap().reference();
        assert_eq!(TextRef::from_urn(&r.urn()).unwrap(), r);
        assert!(TextRef::from_urn("urn:veil:consent-text:x:1:en:sha256:00").is_none());
    }
}
