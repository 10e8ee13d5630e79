//! `decideConsent` and `exportFhirConsent`: `veil-consent`'s decisions and FHIR export over a
//! ledger the portal holds (JSON, `veil-consent-ledger/1`).
//!
//! Inputs are parsed with the library's own parsers, the ones the CLI and the app use
//! ([`Jurisdiction::parse_list`], [`PurposeScope::parse_label`], [`PurposeScope::from_parts`],
//! [`Timestamp::parse`]), so an unknown purpose is `unknown-purpose`, an unknown jurisdiction
//! `unknown-jurisdiction` and a bare `research` is `research/this-study`, exactly as in the CLI.

use js_sys::Array;
use serde::Deserialize;
use veil_consent::{
    ConsentLedger, DecisionRequest, Jurisdiction, PurposeScope, Subject, Timestamp, Waiver,
};
use wasm_bindgen::prelude::wasm_bindgen;
use wasm_bindgen::{JsCast, JsValue};

use crate::error::VeilError;
use crate::js;

/// The purpose argument: a label string, or `{purpose, tier?, partner?, country?}`.
fn scope(v: &JsValue) -> Result<PurposeScope, VeilError> {
    if let Some(label) = v.as_string() {
        return Ok(PurposeScope::parse_label(&label)?);
    }
    if !v.is_object() {
        return Err(VeilError::argument(
            "purpose must be a string such as \"research/this-study\" or an object {purpose, tier?, partner?, country?}",
        ));
    }
    let purpose = js::string_field(v, "purpose")?
        .ok_or_else(|| VeilError::argument("purpose.purpose is required"))?;
    Ok(PurposeScope::from_parts(
        &purpose,
        js::string_field(v, "tier")?.as_deref(),
        js::string_field(v, "partner")?,
        js::string_field(v, "country")?,
    )?)
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
        jurisdictions: Jurisdiction::parse_list(&s.jurisdictions)?,
        age: s.age,
        guardian_consent: s.guardian_consent.unwrap_or(false),
    })
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
