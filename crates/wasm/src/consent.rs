//! `decideConsent` and `exportFhirConsent`: `veil-consent`'s decisions and FHIR export over a
//! ledger the portal holds (JSON, `veil-consent-ledger/1`).
//!
//! Inputs are parsed here into the library's types with the library's own parsers
//! ([`Jurisdiction::parse`], `Purpose::from_str`, [`Timestamp::parse`]), so an unknown purpose is
//! `unknown-purpose` and an unknown jurisdiction `unknown-jurisdiction`, exactly as in the CLI.

use js_sys::Array;
use serde::Deserialize;
use veil_consent::{
    ConsentLedger, DecisionRequest, Jurisdiction, Purpose, PurposeScope, ResearchTier, Subject,
    Timestamp, Waiver,
};
use wasm_bindgen::prelude::wasm_bindgen;
use wasm_bindgen::{JsCast, JsValue};

use crate::error::VeilError;
use crate::js;

/// Research without a tier means `this-study`, the narrowest, as in `veil consent decide`.
fn default_tier(purpose: Purpose, tier: Option<ResearchTier>) -> Option<ResearchTier> {
    match (tier, purpose) {
        (None, Purpose::Research) => Some(ResearchTier::ThisStudy),
        (t, _) => t,
    }
}

/// Parse a purpose label, the form [`PurposeScope::label`] prints: `treatment`,
/// `research/this-study`, `partner-sharing(Acme Print)`, `cross-border-transfer(US)`.
pub fn parse_scope_label(label: &str) -> Result<PurposeScope, veil_consent::ConsentError> {
    let label = label.trim();
    let (head, qualifier) = match label.split_once('(') {
        Some((h, rest)) => match rest.strip_suffix(')') {
            Some(q) => (h, Some(q.to_owned())),
            None => {
                return Err(veil_consent::ConsentError::UnknownPurpose(
                    label.chars().take(64).collect(),
                ));
            }
        },
        None => (label, None),
    };
    let (purpose, tier) = match head.split_once('/') {
        Some((p, t)) => (p, Some(t.parse::<ResearchTier>()?)),
        None => (head, None),
    };
    let purpose: Purpose = purpose.parse()?;
    let mut scope = PurposeScope {
        purpose,
        tier: default_tier(purpose, tier),
        partner: None,
        country: None,
    };
    match (purpose, qualifier) {
        (Purpose::CrossBorderTransfer, q) => scope.country = q,
        (_, q) => scope.partner = q,
    }
    scope.validated()
}

/// The purpose argument: a label string, or `{purpose, tier?, partner?, country?}`.
fn scope(v: &JsValue) -> Result<PurposeScope, VeilError> {
    if let Some(label) = v.as_string() {
        return Ok(parse_scope_label(&label)?);
    }
    if !v.is_object() {
        return Err(VeilError::argument(
            "purpose must be a string such as \"research/this-study\" or an object {purpose, tier?, partner?, country?}",
        ));
    }
    let purpose = js::string_field(v, "purpose")?
        .ok_or_else(|| VeilError::argument("purpose.purpose is required"))?;
    let tier = js::string_field(v, "tier")?
        .map(|t| t.parse::<ResearchTier>())
        .transpose()?;
    let purpose: Purpose = purpose.parse()?;
    let scope = PurposeScope {
        purpose,
        tier: default_tier(purpose, tier),
        partner: js::string_field(v, "partner")?,
        country: js::string_field(v, "country")?,
    };
    Ok(scope.validated()?)
}

/// The subject as the portal gives it (camelCase).
#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct SubjectInput {
    jurisdictions: Vec<String>,
    age: u32,
    /// `undefined` and absent both mean false.
    #[serde(default, alias = "guardian_consent")]
    guardian_consent: Option<bool>,
}

fn subject(v: JsValue) -> Result<Subject, VeilError> {
    if !v.is_object() || Array::is_array(&v) {
        return Err(VeilError::argument(
            "subject must be an object {jurisdictions, age, guardianConsent?}",
        ));
    }
    let s: SubjectInput = js::from_js(v, "subject")?;
    Ok(Subject {
        jurisdictions: jurisdictions(&s.jurisdictions)?,
        age: s.age,
        guardian_consent: s.guardian_consent.unwrap_or(false),
    })
}

/// Parse, normalise and de-duplicate jurisdiction codes (blank ones skipped), as the CLI does;
/// none at all is `no-jurisdiction`.
pub fn jurisdictions(codes: &[String]) -> Result<Vec<Jurisdiction>, veil_consent::ConsentError> {
    let mut out: Vec<Jurisdiction> = Vec::new();
    for c in codes.iter().filter(|c| !c.trim().is_empty()) {
        let j = Jurisdiction::parse(c)?;
        if !out.contains(&j) {
            out.push(j);
        }
    }
    if out.is_empty() {
        return Err(veil_consent::ConsentError::NoJurisdiction);
    }
    Ok(out)
}

/// The ledger: JSON text or bytes, or the parsed object; `null`/`undefined` when nothing is recorded.
fn ledger(v: &JsValue) -> Result<Option<ConsentLedger>, VeilError> {
    if js::is_absent(v) {
        return Ok(None);
    }
    let json = if v.is_string()
        || v.is_instance_of::<js_sys::Uint8Array>()
        || v.is_instance_of::<js_sys::ArrayBuffer>()
    {
        js::text(v, "ledger")?
    } else if v.is_object() {
        js_sys::JSON::stringify(v)
            .ok()
            .and_then(|s| s.as_string())
            .ok_or_else(|| VeilError::argument("ledger cannot be turned into JSON"))?
    } else {
        return Err(VeilError::argument(
            "ledger must be JSON text, a Uint8Array, an object or null",
        ));
    };
    Ok(Some(ConsentLedger::from_json(json.as_bytes())?))
}

/// A time: RFC 3339 text, Unix seconds, or a `Date`.
fn timestamp(v: &JsValue, what: &str) -> Result<Timestamp, VeilError> {
    if let Some(s) = v.as_string() {
        return Ok(Timestamp::parse(&s)?);
    }
    if let Some(d) = v.dyn_ref::<js_sys::Date>() {
        let ms = d.get_time();
        if !ms.is_finite() {
            return Err(VeilError::argument(format!("{what} is an invalid Date")));
        }
        return Ok(Timestamp::from_unix((ms / 1000.0).floor() as i64)?);
    }
    if let Some(n) = v.as_f64() {
        if n.fract() != 0.0 || !n.is_finite() {
            return Err(VeilError::argument(format!(
                "{what} must be whole Unix seconds"
            )));
        }
        return Ok(Timestamp::from_unix(n as i64)?);
    }
    Err(VeilError::argument(format!(
        "{what} must be RFC 3339 text, Unix seconds or a Date"
    )))
}

/// Decide whether a purpose may be served for a subject now, under every regime that applies.
///
/// Throws a `VeilError` with `veil-consent`'s code (`unknown-purpose`, `unknown-jurisdiction`,
/// `bad-age`, `malformed-json`, ...) or `bad-argument`.
#[wasm_bindgen(js_name = decideConsent, unchecked_return_type = "Decision")]
pub fn decide_consent(
    #[wasm_bindgen(js_name = subject, unchecked_param_type = "ConsentSubject")] subject_in: JsValue,
    #[wasm_bindgen(unchecked_param_type = "string | PurposeScope")] purpose: JsValue,
    #[wasm_bindgen(js_name = ledger, unchecked_optional_param_type = "ConsentLedgerInput | null")]
    ledger_in: JsValue,
    #[wasm_bindgen(unchecked_optional_param_type = "DecideConsentOptions")] options: JsValue,
) -> Result<JsValue, VeilError> {
    let subject = subject(subject_in)?;
    let scope = scope(&purpose)?;
    let ledger = ledger(&ledger_in)?;
    let at = match js::field(&options, "at")? {
        a if js::is_absent(&a) => Timestamp::from_unix(js::unix_now() as i64)?,
        a => timestamp(&a, "at")?,
    };
    let waiver = js::string_field(&options, "waiver")?.map(|reference| Waiver { reference });
    let req = DecisionRequest {
        subject,
        scope,
        at,
        waiver,
    };
    let decision = veil_consent::decide(&req, ledger.as_ref())?;
    js::to_js(&decision)
}

/// Export the ledger as a FHIR R4 `Bundle` of `Consent` resources (one per event), the JSON
/// `veil consent export-fhir` prints. With `options.at`, consents whose expiry passed by then are
/// marked inactive.
#[wasm_bindgen(js_name = exportFhirConsent, unchecked_return_type = "FhirBundle")]
pub fn export_fhir_consent(
    #[wasm_bindgen(js_name = ledger, unchecked_param_type = "ConsentLedgerInput")]
    ledger_in: JsValue,
    #[wasm_bindgen(unchecked_optional_param_type = "ExportFhirOptions")] options: JsValue,
) -> Result<JsValue, VeilError> {
    let ledger = ledger(&ledger_in)?.ok_or_else(|| VeilError::argument("ledger is required"))?;
    let at = match js::field(&options, "at")? {
        a if js::is_absent(&a) => None,
        a => Some(timestamp(&a, "at")?),
    };
    js::to_js(&veil_consent::export_bundle(&ledger, at))
}

/// Import a FHIR R4 `Bundle` of `Consent` resources (or a single `Consent`) into a ledger, the
/// JSON `veil consent import-fhir` prints (`veil-consent-ledger/1`).
#[wasm_bindgen(js_name = importFhirConsent, unchecked_return_type = "ConsentLedgerJson")]
pub fn import_fhir_consent(
    #[wasm_bindgen(unchecked_param_type = "string | Uint8Array | FhirBundle")] bundle: JsValue,
) -> Result<JsValue, VeilError> {
    let json = if bundle.is_string() || bundle.is_instance_of::<js_sys::Uint8Array>() {
        js::text(&bundle, "bundle")?
    } else if bundle.is_object() {
        js_sys::JSON::stringify(&bundle)
            .ok()
            .and_then(|s| s.as_string())
            .ok_or_else(|| VeilError::argument("bundle cannot be turned into JSON"))?
    } else {
        return Err(VeilError::argument(
            "bundle must be JSON text, a Uint8Array or an object",
        ));
    };
    let ledger = veil_consent::import_bundle(json.as_bytes())?;
    js::to_js(&ledger)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn labels_round_trip_through_the_library_label() {
        for label in [
            "treatment",
            "research/this-study",
            "research/any-research",
            "partner-sharing(Acme Print)",
            "cross-border-transfer(US)",
            "third-party-printing",
        ] {
            assert_eq!(parse_scope_label(label).unwrap().label(), label);
        }
        assert_eq!(
            parse_scope_label("cross-border-transfer(us)")
                .unwrap()
                .label(),
            "cross-border-transfer(US)"
        );
    }

    #[test]
    fn bad_labels_carry_the_library_codes() {
        let code = |l: &str| parse_scope_label(l).unwrap_err().code();
        assert_eq!(code("advertising"), "unknown-purpose");
        assert_eq!(code("research/everything"), "unknown-tier");
        assert_eq!(
            parse_scope_label("research").unwrap().label(),
            "research/this-study"
        );
        assert_eq!(code("treatment/this-study"), "bad-tier");
        assert_eq!(code("partner-sharing"), "missing-qualifier");
        assert_eq!(code("treatment(Acme)"), "missing-qualifier");
        assert_eq!(code("cross-border-transfer(USA)"), "unknown-jurisdiction");
        assert_eq!(code("partner-sharing(Acme"), "unknown-purpose");
    }
}
