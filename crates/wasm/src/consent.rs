//! `decideConsent`, `exportFhirConsent`, `importFhirConsent`, `consentErasure` and
//! `breachSchedule`: `veil-consent`'s decisions (with the controller, transfer mechanism, data
//! category and sharing basis the CLI takes), FHIR export and import over a ledger the portal holds
//! (JSON, `veil-consent-ledger/1`), the erasure answer by the controller's law, and breach clocks
//! counted per region.
//!
//! Inputs are parsed with the library's own parsers, the ones the CLI and the app use
//! ([`Jurisdiction::parse_list`], [`PurposeScope::parse_label`], [`PurposeScope::from_parts`],
//! [`Timestamp::parse`]), so an unknown purpose is `unknown-purpose`, an unknown jurisdiction
//! `unknown-jurisdiction` and a bare `research` is `research/this-study`, exactly as in the CLI.

use js_sys::Array;
use serde::Deserialize;
use veil_consent::{
    Affected, ConsentLedger, DecideOptions, DecisionRequest, Jurisdiction, PurposeScope,
    SharingBasis, Subject, Timestamp, TransferMechanism, Waiver,
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
    let opts = DecideOptions {
        controller: js::string_field(&options, "controller")?
            .as_deref()
            .map(Jurisdiction::parse)
            .transpose()?,
        transfer_mechanism: js::string_field(&options, "transferMechanism")?
            .as_deref()
            .map(str::parse::<TransferMechanism>)
            .transpose()?,
        data_category: js::string_field(&options, "dataCategory")?,
        sharing_basis: js::string_field(&options, "sharingBasis")?
            .as_deref()
            .map(str::parse::<SharingBasis>)
            .transpose()?,
    };
    let decision = veil_consent::decide_with(&req, ledger.as_ref(), &opts)?;
    js::to_js(&decision)
}

/// A list of jurisdiction codes (`string[]`), read by the library's one list parser.
fn jurisdictions(v: JsValue, what: &str) -> Result<Vec<Jurisdiction>, VeilError> {
    if !Array::is_array(&v) {
        return Err(VeilError::argument(format!(
            "{what} must be an array of jurisdiction codes"
        )));
    }
    let codes: Vec<String> = js::from_js(v, what)?;
    Ok(Jurisdiction::parse_list(&codes)?)
}

/// The answer to an erasure request by the controller's law (the JSON of `veil consent erasure
/// --jurisdiction ... --controller CODE`): steps per record, retention by the clinic's law, the
/// record kept identified and restricted where a duty keeps it.
///
/// Throws `unknown-jurisdiction`, `no-jurisdiction` or `bad-argument`.
#[wasm_bindgen(js_name = consentErasure, unchecked_return_type = "ControllerErasure")]
pub fn consent_erasure(
    #[wasm_bindgen(js_name = jurisdictions, unchecked_param_type = "string[]")] js_in: JsValue,
    #[wasm_bindgen(unchecked_param_type = "string")] controller: JsValue,
) -> Result<JsValue, VeilError> {
    let js_list = jurisdictions(js_in, "jurisdictions")?;
    let controller = controller
        .as_string()
        .ok_or_else(|| VeilError::argument("controller must be a jurisdiction code"))?;
    let controller = Jurisdiction::parse(&controller)?;
    js::to_js(&veil_consent::erasure_for_controller(
        &js_list,
        &controller,
    )?)
}

/// The affected counts: a total (number), the CLI's `--affected` values (`["600", "US-CA=612"]`),
/// or per-region counts (`{"US-CA": 612, "US-NV": 20}`, with an optional `total`).
fn affected(v: &JsValue) -> Result<Affected, VeilError> {
    if v.as_f64().is_some() {
        return Ok(Affected::total(js::to_u64(v, "affected")?));
    }
    let values: Vec<String> = if Array::is_array(v) {
        js::from_js(v.clone(), "affected")?
    } else if v.is_object() {
        let m: std::collections::BTreeMap<String, u64> = js::from_js(v.clone(), "affected")?;
        m.into_iter()
            .map(|(k, n)| {
                if k == "total" {
                    n.to_string()
                } else {
                    format!("{k}={n}")
                }
            })
            .collect()
    } else {
        return Err(VeilError::argument(
            "affected must be a number, an array such as [\"600\", \"US-CA=612\"] or an object {\"US-CA\": 612}",
        ));
    };
    Ok(Affected::parse(&values)?)
}

/// Breach notification duties (the JSON of `veil consent breach`): every notice with its
/// deadline (or `asap`), the leading one first; thresholds that count one region's residents
/// (HIPAA media notice, Cal. Civ. Code § 1798.82(f)) read the per-region counts.
///
/// `controller`, the controller's (clinic's) jurisdiction, adds its law's duties wherever the
/// affected people live, as `veil consent breach --controller`.
///
/// Throws `bad-affected`, `unknown-jurisdiction`, `no-jurisdiction`, `bad-time` or `bad-argument`.
#[wasm_bindgen(js_name = breachSchedule, unchecked_return_type = "BreachSchedule")]
pub fn breach_schedule(
    #[wasm_bindgen(unchecked_param_type = "TimeInput")] discovered: JsValue,
    #[wasm_bindgen(js_name = jurisdictions, unchecked_param_type = "string[]")] js_in: JsValue,
    #[wasm_bindgen(
        js_name = affected,
        unchecked_param_type = "number | string[] | Record<string, number>"
    )]
    affected_in: JsValue,
    controller: Option<String>,
) -> Result<JsValue, VeilError> {
    let t = timestamp(&discovered, "discovered")?;
    let a = affected(&affected_in)?;
    let controller = controller.as_deref().map(Jurisdiction::parse).transpose()?;
    // As the CLI: with per-region counts, the regions alone may name the jurisdictions.
    let empty = Array::is_array(&js_in)
        && Array::from(&js_in)
            .iter()
            .all(|v| v.as_string().is_some_and(|s| s.trim().is_empty()));
    let js_list = if empty && !a.by_region.is_empty() {
        Vec::new()
    } else {
        jurisdictions(js_in, "jurisdictions")?
    };
    js::to_js(&veil_consent::breach_schedule_for_controller(
        t,
        &js_list,
        &a,
        controller.as_ref(),
    )?)
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
