//! JSON in, JSON out: the surface the npm module (wasm-bindgen facade) and the ingest server call,
//! so every caller speaks exactly the shapes documented in `docs/consent.md`.
//!
//! Each function parses its inputs with the same validation as the typed API and returns compact
//! JSON text; errors are [`ConsentError`]s whose `code()` the facade passes on as `VeilError.code`.

use serde::Deserialize;

use crate::{
    ConsentError, ConsentLedger, Controller, DecideOptions, DecisionRequest, Jurisdiction,
    PurposeScope, Subject, Timestamp, TransferMechanism, Waiver, breach_schedule, decide_with,
    erasure_for_controller, erasure_plan, export_bundle_json, import_bundle, receipt_for,
    retention,
};

/// Largest JSON argument accepted (bytes).
const MAX_ARG: usize = 16 * 1024 * 1024;

fn bounded(s: &str) -> Result<&str, ConsentError> {
    if s.len() > MAX_ARG {
        return Err(ConsentError::TooLarge(format!(
            "argument of {} bytes",
            s.len()
        )));
    }
    Ok(s)
}

fn ledger(json: Option<&str>) -> Result<Option<ConsentLedger>, ConsentError> {
    json.map(|l| ConsentLedger::from_json(bounded(l)?.as_bytes()))
        .transpose()
}

#[derive(Deserialize)]
struct RawSubject {
    jurisdictions: Vec<String>,
    age: u32,
    #[serde(default)]
    guardian_consent: bool,
}

#[derive(Deserialize)]
struct RawScope {
    purpose: String,
    #[serde(default)]
    tier: Option<String>,
    #[serde(default)]
    partner: Option<String>,
    #[serde(default)]
    country: Option<String>,
}

#[derive(Deserialize)]
struct RawRequest {
    subject: RawSubject,
    scope: RawScope,
    at: Timestamp,
    #[serde(default)]
    waiver: Option<Waiver>,
    /// The controller's jurisdiction (optional).
    #[serde(default)]
    controller: Option<String>,
    /// The transfer mechanism (optional): `adequacy`, `scc`, `bcr`, `dpf`, `derogation`.
    #[serde(default)]
    transfer_mechanism: Option<String>,
    /// A data category with its own law (optional): `substance-use`.
    #[serde(default)]
    data_category: Option<String>,
    /// Why health data is shared with another controller (LGPD Art. 11 §4), a
    /// [`crate::SharingBasis`] id.
    #[serde(default)]
    sharing_basis: Option<String>,
}

/// Decide: `request` is a [`DecisionRequest`] as JSON
/// (`{"subject":{"jurisdictions":["DE","US"],"age":34,"guardian_consent":false},
/// "scope":{"purpose":"research","tier":"this-study"},"at":"2026-11-23T10:00:00Z","waiver":null}`,
/// optionally with `"controller":"DE"` and `"transfer_mechanism":"scc"`, see [`DecideOptions`]),
/// `ledger` the ledger JSON if any. Returns the decision JSON.
///
/// The scope is read with [`PurposeScope::from_parts`] (research without a `tier` is
/// `this-study`) and the jurisdictions with [`Jurisdiction::parse_list`], as the CLI and npm read
/// them.
///
/// # Errors
/// JSON shape errors, the errors of those two readers, and every error of [`decide()`].
pub fn decide_json(request: &str, ledger_json: Option<&str>) -> Result<String, ConsentError> {
    // Parse ids as strings first so an unknown purpose or jurisdiction reports its own code
    // (`unknown-purpose`, `unknown-jurisdiction`), not a generic JSON error.
    let raw: RawRequest = serde_json::from_str(bounded(request)?)?;
    let req = DecisionRequest {
        subject: Subject {
            jurisdictions: Jurisdiction::parse_list(&raw.subject.jurisdictions)?,
            age: raw.subject.age,
            guardian_consent: raw.subject.guardian_consent,
        },
        scope: PurposeScope::from_parts(
            &raw.scope.purpose,
            raw.scope.tier.as_deref(),
            raw.scope.partner,
            raw.scope.country,
        )?,
        at: raw.at,
        waiver: raw.waiver,
    };
    let opts = DecideOptions {
        controller: raw
            .controller
            .as_deref()
            .map(Jurisdiction::parse)
            .transpose()?,
        transfer_mechanism: raw
            .transfer_mechanism
            .as_deref()
            .map(str::parse::<TransferMechanism>)
            .transpose()?,
        data_category: raw.data_category,
        sharing_basis: raw
            .sharing_basis
            .as_deref()
            .map(str::parse::<crate::SharingBasis>)
            .transpose()?,
    };
    let l = ledger(ledger_json)?;
    Ok(serde_json::to_string(&decide_with(
        &req,
        l.as_ref(),
        &opts,
    )?)?)
}

/// Breach deadlines as JSON (see [`breach_schedule`]); `discovered` is RFC 3339 or unix seconds.
///
/// # Errors
/// Bad time or jurisdiction.
pub fn breach_json(
    discovered: &str,
    jurisdiction_codes: &[&str],
    affected: u64,
) -> Result<String, ConsentError> {
    let t = Timestamp::parse(discovered)?;
    Ok(serde_json::to_string(&breach_schedule(
        t,
        &Jurisdiction::parse_list(jurisdiction_codes)?,
        affected,
    )?)?)
}

/// Breach deadlines with per-region counts (see [`crate::breach_schedule_for`]): `affected` holds
/// `N` and/or `CODE=N` entries as `veil consent breach --affected` reads them.
///
/// # Errors
/// Bad time, jurisdiction or count.
pub fn breach_regions_json(
    discovered: &str,
    jurisdiction_codes: &[&str],
    affected: &[&str],
) -> Result<String, ConsentError> {
    let t = Timestamp::parse(discovered)?;
    let a = crate::Affected::parse(affected)?;
    let js = if jurisdiction_codes.iter().all(|c| c.trim().is_empty()) && !a.by_region.is_empty() {
        Vec::new()
    } else {
        Jurisdiction::parse_list(jurisdiction_codes)?
    };
    Ok(serde_json::to_string(&crate::breach_schedule_for(
        t, &js, &a,
    )?)?)
}

/// Erasure plan and retention periods as JSON: `{"plan": ..., "retention": [...]}`.
///
/// # Errors
/// Bad jurisdiction.
pub fn erasure_json(jurisdiction_codes: &[&str]) -> Result<String, ConsentError> {
    let js = Jurisdiction::parse_list(jurisdiction_codes)?;
    Ok(serde_json::to_string(&serde_json::json!({
        "plan": erasure_plan(&js)?,
        "retention": retention(&js)?,
    }))?)
}

/// The erasure answer by the controller's law as JSON: `{"controller", "jurisdictions", "steps":
/// [{"record", "action", "retain_years", "citations", "detail"}], "conflicts"}` (see
/// [`erasure_for_controller`]; what `veil consent erasure --controller` prints).
///
/// # Errors
/// Bad jurisdiction.
pub fn erasure_controller_json(
    jurisdiction_codes: &[&str],
    controller: &str,
) -> Result<String, ConsentError> {
    let js = Jurisdiction::parse_list(jurisdiction_codes)?;
    let c = Jurisdiction::parse(controller)?;
    Ok(serde_json::to_string(&erasure_for_controller(&js, &c)?)?)
}

/// The ledger as a FHIR R4 Bundle (pretty JSON); `at` (RFC 3339) also marks expired consents inactive.
///
/// # Errors
/// Ledger or time errors.
pub fn export_fhir_json(ledger_json: &str, at: Option<&str>) -> Result<String, ConsentError> {
    let l = ConsentLedger::from_json(bounded(ledger_json)?.as_bytes())?;
    let at = at.map(Timestamp::parse).transpose()?;
    export_bundle_json(&l, at)
}

/// A FHIR R4 Bundle (or Consent) to ledger JSON.
///
/// # Errors
/// Every error of [`import_bundle`].
pub fn import_fhir_json(bundle_json: &str) -> Result<String, ConsentError> {
    import_bundle(bounded(bundle_json)?.as_bytes())?.to_json()
}

#[derive(Deserialize)]
struct ReceiptArgs {
    index: usize,
    jurisdictions: Vec<String>,
    controller: Controller,
}

/// The receipt for one ledger event: `args` is `{"index": N, "jurisdictions": ["DE"], "controller":
/// {"piiController": ..., "contact": ..., "address": ..., "email": ..., "phone": ..., "policyUrl": ...}}`.
/// Returns `(receipt JSON, printable HTML)`.
///
/// # Errors
/// Ledger, argument or index errors.
pub fn receipt_json(ledger_json: &str, args: &str) -> Result<(String, String), ConsentError> {
    let l = ConsentLedger::from_json(bounded(ledger_json)?.as_bytes())?;
    let a: ReceiptArgs = serde_json::from_str(bounded(args)?)?;
    let r = receipt_for(
        &l,
        a.index,
        &Jurisdiction::parse_list(&a.jurisdictions)?,
        &a.controller,
    )?;
    Ok((r.to_json()?, r.to_html()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use veil_core::Coded;

    const LEDGER: &str =
        include_str!("../tests/vectors/ledgers/adult-research-given-then-withdrawn.json");

    #[test]
    fn decide_json_speaks_the_documented_shapes() {
        let req = r#"{"subject":{"jurisdictions":["DE","US"],"age":34},
            "scope":{"purpose":"ai-training"},"at":"2026-04-01T00:00:00Z"}"#;
        let v: serde_json::Value =
            serde_json::from_str(&decide_json(req, Some(LEDGER)).unwrap()).unwrap();
        assert_eq!(v["decision"], "needs-consent");
        assert_eq!(v["requires"][0]["regime"], "hipaa");
        let bad = r#"{"subject":{"jurisdictions":["XX"],"age":34},"scope":{"purpose":"treatment"},"at":0}"#;
        assert_eq!(
            decide_json(bad, None).unwrap_err().code(),
            "unknown-jurisdiction"
        );
        let bad =
            r#"{"subject":{"jurisdictions":["DE"],"age":34},"scope":{"purpose":"ads"},"at":0}"#;
        assert_eq!(
            decide_json(bad, None).unwrap_err().code(),
            "unknown-purpose"
        );
        let scc = r#"{"subject":{"jurisdictions":["DE"],"age":34},"scope":{"purpose":"cross-border-transfer","country":"IN"},"at":0,"transfer_mechanism":"scc","controller":"DE"}"#;
        assert!(
            decide_json(scc, None)
                .unwrap()
                .contains(r#""decision":"allow""#)
        );
        let bad = r#"{"subject":{"jurisdictions":["DE"],"age":34},"scope":{"purpose":"cross-border-transfer","country":"IN"},"at":0,"transfer_mechanism":"consent"}"#;
        assert_eq!(
            decide_json(bad, None).unwrap_err().code(),
            "unknown-mechanism"
        );
        let bad = r#"{"subject":{"jurisdictions":["DE"],"age":34},"scope":{"purpose":"cross-border-transfer","country":"XQ"},"at":0}"#;
        assert_eq!(
            decide_json(bad, None).unwrap_err().code(),
            "unknown-country"
        );
        let bad = r#"{"subject":{"jurisdictions":["DE"],"age":34},"scope":{"purpose":"research","tier":"all"},"at":0}"#;
        assert_eq!(decide_json(bad, None).unwrap_err().code(), "unknown-tier");
        assert_eq!(decide_json("{", None).unwrap_err().code(), "malformed-json");
        let none = r#"{"subject":{"jurisdictions":[" "],"age":34},"scope":{"purpose":"treatment"},"at":0}"#;
        assert_eq!(
            decide_json(none, None).unwrap_err().code(),
            "no-jurisdiction"
        );
    }

    #[test]
    fn research_without_a_tier_is_asked_as_this_study() {
        let ask = |scope: &str| {
            let req = format!(
                r#"{{"subject":{{"jurisdictions":["DE"],"age":34}},"scope":{scope},"at":"2026-01-15T00:00:00Z"}}"#
            );
            decide_json(&req, None).unwrap()
        };
        let bare = ask(r#"{"purpose":"research"}"#);
        assert_eq!(bare, ask(r#"{"purpose":"research","tier":"this-study"}"#));
        assert!(bare.contains(r#""scope":"research/this-study""#), "{bare}");
    }

    #[test]
    fn fhir_and_receipts_round_trip_as_text() {
        let bundle = export_fhir_json(LEDGER, None).unwrap();
        let back = import_fhir_json(&bundle).unwrap();
        assert_eq!(
            ConsentLedger::from_json(back.as_bytes()).unwrap(),
            ConsentLedger::from_json(LEDGER.as_bytes()).unwrap()
        );
        let args = r#"{"index":2,"jurisdictions":["DE"],"controller":{"piiController":"Clinic","contact":"DPO",
            "address":"1 Main St","email":"dpo@clinic.invalid","phone":"+49 30 0","policyUrl":"https://clinic.invalid/p"}}"#;
        let (json, html) = receipt_json(LEDGER, args).unwrap();
        assert!(json.contains("\"eventType\": \"withdrawn\""));
        assert!(html.starts_with("<!doctype html>"));
        assert!(
            breach_json("2026-11-23T10:00:00Z", &["DE"], 1)
                .unwrap()
                .contains("GDPR Art. 33(1)")
        );
        assert!(
            erasure_json(&["DE", "US"])
                .unwrap()
                .contains("destroy-identity-layer")
        );
    }
}
