//! `veil consent` end to end through the real binary: the clinic scenarios of issue 15 (a minor
//! under national law, erasure by the clinic's law, a transfer per mechanism, breach clocks counted
//! per State, a HIPAA authorization imported from FHIR), each answer one JSON line on stdout, exit
//! 0; refusals are one `veil: <code>: ...` line on stderr, exit 1. Each expected answer names its
//! source.
#![allow(missing_docs, clippy::unwrap_used, clippy::expect_used)]

use std::path::PathBuf;
use std::process::{Command, Output};

fn veil(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_veil"))
        .args(args)
        .output()
        .unwrap()
}

/// One line of JSON on stdout, exit 0.
fn json(args: &[&str]) -> serde_json::Value {
    let out = veil(args);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(0), "{args:?}: {stderr}");
    let text = String::from_utf8(out.stdout).unwrap();
    assert_eq!(text.trim_end().lines().count(), 1, "{text}");
    serde_json::from_str(&text).unwrap()
}

/// Exit 1 and `veil: <code>: ...` on stderr.
fn refused(args: &[&str], code: &str) {
    let out = veil(args);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{args:?}: {stderr}");
    assert!(
        stderr.starts_with(&format!("veil: {code}: ")),
        "{args:?}: {stderr}"
    );
    assert!(out.stdout.is_empty());
}

fn scratch(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("veil-consent-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

const AT: &str = "2026-06-01T00:00:00Z";

/// A 15-year-old in France asked for research: Loi 78-17 Art. 45 (15) is the ISS age only; CSP
/// L1122-2 asks the holders of parental authority and the minor's agreement. With both recorded in
/// the ledger, the research is allowed.
#[test]
fn a_minor_in_france_needs_parents_and_her_own_agreement() {
    let ask = |ledger: Option<&str>| {
        let mut args = vec![
            "consent",
            "decide",
            "--jurisdiction",
            "FR",
            "--age",
            "15",
            "--purpose",
            "research",
            "--at",
            AT,
        ];
        if let Some(l) = ledger {
            args.extend(["--ledger", l]);
        }
        json(&args)
    };
    let d = ask(None);
    assert_eq!(d["decision"], "needs-consent");
    assert_eq!(d["requires"][0]["from"], "guardian");
    assert_eq!(d["requires"][1]["what"], "assent");
    assert!(
        d["citations"]
            .as_array()
            .unwrap()
            .iter()
            .any(|c| c == "Code de la santé publique Art. L1122-2")
    );
    let dir = scratch("minor");
    let ledger = dir.join("ledger.json");
    std::fs::write(
        &ledger,
        r#"{"format":"veil-consent-ledger/1","subject":"p-fr-15","events":[
          {"kind":"guardian-given","purpose":"research","tier":"this-study","at":"2026-05-01T09:00:00Z",
           "channel":{"type":"kiosk","staff_id":"s-1"},"guardian":"RelatedPerson/mother"},
          {"kind":"assented","purpose":"research","tier":"this-study","at":"2026-05-01T09:02:00Z",
           "channel":{"type":"kiosk","staff_id":"s-1"}}]}"#,
    )
    .unwrap();
    let d = ask(Some(ledger.to_str().unwrap()));
    assert_eq!(d["decision"], "allow", "{d}");
    std::fs::remove_dir_all(&dir).ok();
}

/// A German clinic answers an erasure request from a Californian patient: BGB § 630f(3) keeps
/// the record 10 years, identified and restricted (GDPR Art. 17(3)(b), Art. 18).
#[test]
fn erasure_follows_the_clinics_law() {
    let v = json(&[
        "consent",
        "erasure",
        "--jurisdiction",
        "US-CA",
        "--controller",
        "DE",
    ]);
    let medical = v["steps"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["record"] == "medical-record")
        .unwrap();
    assert_eq!(medical["action"], "retain-restricted");
    assert_eq!(medical["retain_years"], 10);
    assert!(
        medical["citations"]
            .as_array()
            .unwrap()
            .iter()
            .any(|c| c == "BGB § 630f(3)")
    );
    refused(
        &[
            "consent",
            "erasure",
            "--jurisdiction",
            "DE",
            "--controller",
            "CA-BC",
        ],
        "unknown-jurisdiction",
    );
}

/// EU-US DPF for a certified importer (Decision (EU) 2023/1795) allows; "adequacy" for the US
/// does not exist (GDPR Art. 45); an unknown country is an error.
#[test]
fn transfers_are_checked_per_mechanism() {
    let ask = |mech: &str| {
        json(&[
            "consent",
            "decide",
            "--jurisdiction",
            "DE",
            "--age",
            "40",
            "--purpose",
            "cross-border-transfer",
            "--country",
            "US",
            "--transfer-mechanism",
            mech,
            "--at",
            AT,
        ])["decision"]
            .as_str()
            .unwrap()
            .to_owned()
    };
    assert_eq!(ask("dpf"), "allow");
    assert_eq!(ask("adequacy"), "deny");
    refused(
        &[
            "consent",
            "decide",
            "--jurisdiction",
            "DE",
            "--age",
            "40",
            "--purpose",
            "cross-border-transfer",
            "--country",
            "XQ",
        ],
        "unknown-country",
    );
}

/// 612 Californians and 20 Nevadans: Cal. Civ. Code § 1798.82(a) 30 days and (f) the Attorney
/// General; HIPAA media notice for more than 500 residents of one State (164.406(a)).
#[test]
fn breach_counts_residents_per_state() {
    let v = json(&[
        "consent",
        "breach",
        "--discovered",
        "2026-03-02T00:00:00Z",
        "--affected",
        "US-CA=612",
        "--affected",
        "US-NV=20",
    ]);
    let notice = |cite: &str| {
        v["notices"]
            .as_array()
            .unwrap()
            .iter()
            .find(|n| n["citation"] == cite)
            .cloned()
    };
    assert_eq!(
        notice("Cal. Civ. Code § 1798.82(a)").unwrap()["deadline"],
        "2026-04-01T00:00:00Z"
    );
    assert!(notice("Cal. Civ. Code § 1798.82(f)").is_some());
    assert!(notice("45 CFR 164.406(a)").is_some());
    assert_eq!(notice("45 CFR 164.404(b)").unwrap()["asap"], false);
    refused(
        &[
            "consent",
            "breach",
            "--discovered",
            "2026-03-02T00:00:00Z",
            "--affected",
            "many",
        ],
        "bad-affected",
    );
}

/// A research authorization from another system (policyRule hipaa-research) imports with every
/// 45 CFR 164.508(c) element and allows the research it covers; one without recipients is refused.
#[test]
fn a_foreign_hipaa_authorization_imports_and_allows() {
    let dir = scratch("fhir");
    let consent = |with_actor: bool| {
        let actor = if with_actor {
            r#""actor": [{"role": {"coding": [{"system": "http://terminology.hl7.org/CodeSystem/v3-ParticipationType", "code": "IRCP"}]}, "reference": {"display": "Study K-12"}}],"#
        } else {
            ""
        };
        format!(
            r#"{{"resourceType": "Consent", "status": "active", "patient": {{"reference": "Patient/p-9"}},
              "dateTime": "2026-02-01T10:00:00Z", "organization": [{{"display": "Example Clinic"}}],
              "sourceAttachment": {{"title": "signed authorization"}},
              "policyRule": {{"coding": [{{"system": "http://terminology.hl7.org/CodeSystem/consentpolicycodes", "code": "hipaa-research"}}]}},
              "provision": {{"type": "permit", "period": {{"start": "2026-02-01T10:00:00Z", "end": "2027-02-01T00:00:00Z"}}, {actor}
                "data": [{{"meaning": "related", "reference": {{"display": "knee scans"}}}}],
                "purpose": [{{"system": "http://terminology.hl7.org/CodeSystem/v3-ActReason", "code": "HRESCH"}}]}}}}"#
        )
    };
    let good = dir.join("good.json");
    std::fs::write(&good, consent(true)).unwrap();
    let out = veil(&["consent", "import-fhir", good.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(0));
    let ledger = dir.join("ledger.json");
    std::fs::write(&ledger, &out.stdout).unwrap();
    let d = json(&[
        "consent",
        "decide",
        "--jurisdiction",
        "US",
        "--age",
        "40",
        "--purpose",
        "research",
        "--ledger",
        ledger.to_str().unwrap(),
        "--at",
        AT,
    ]);
    assert_eq!(d["decision"], "allow", "{d}");
    let bad = dir.join("bad.json");
    std::fs::write(&bad, consent(false)).unwrap();
    refused(
        &["consent", "import-fhir", bad.to_str().unwrap()],
        "bad-fhir",
    );
    std::fs::remove_dir_all(&dir).ok();
}

/// Sharing a Brazilian patient's health data with a partner: LGPD Art. 11 §4 bars it for economic
/// advantage whatever the consent, so the controller names its basis (`--sharing-basis`); with the
/// health-care exception and the patient's consent in the ledger it is allowed; an unknown basis
/// is refused.
#[test]
fn lgpd_sharing_needs_a_named_basis() {
    let dir = scratch("lgpd");
    let ledger = dir.join("ledger.json");
    std::fs::write(
        &ledger,
        r#"{"format":"veil-consent-ledger/1","subject":"p-br-1","events":[
          {"kind":"given","purpose":"partner-sharing","partner":"Acme","at":"2026-01-02T00:00:00Z",
           "channel":{"type":"kiosk","staff_id":"s-1"}}]}"#,
    )
    .unwrap();
    let ledger = ledger.to_str().unwrap();
    let base = [
        "consent",
        "decide",
        "--jurisdiction",
        "BR",
        "--age",
        "40",
        "--purpose",
        "partner-sharing",
        "--partner",
        "Acme",
        "--ledger",
        ledger,
        "--at",
        AT,
    ];
    let d = json(&base);
    assert_eq!(d["decision"], "needs-consent", "{d}");
    assert_eq!(d["requires"][0]["what"], "sharing-basis");
    assert_eq!(d["requires"][0]["from"], "controller");
    assert_eq!(d["requires"][0]["citation"], "LGPD Art. 11 §4");
    let mut with = base.to_vec();
    with.extend(["--sharing-basis", "health-care"]);
    let d = json(&with);
    assert_eq!(d["decision"], "allow", "{d}");
    let mut bad = base.to_vec();
    bad.extend(["--sharing-basis", "economic-advantage"]);
    refused(&bad, "unknown-sharing-basis");
    std::fs::remove_dir_all(&dir).ok();
}

/// Quebec, Ontario and Alberta are decided under their own laws, not PIPEDA (SOR/2003-374,
/// SOR/2005-399): a 13-year-old in Quebec needs the holder of parental authority for marketing
/// (P-39.1 s. 4.1); Ontario marketing needs express consent (PHIPA s. 33); India switches from the
/// SPDI Rules to the DPDP Act on 2027-05-13.
#[test]
fn provinces_and_india_by_date() {
    let decide = |j: &str, age: &str, purpose: &str, at: &str| {
        json(&[
            "consent",
            "decide",
            "--jurisdiction",
            j,
            "--age",
            age,
            "--purpose",
            purpose,
            "--at",
            at,
        ])
    };
    let d = decide("CA-QC", "13", "marketing", AT);
    assert_eq!(d["rules"][0]["regime"], "ca-qc", "{d}");
    assert!(
        d["requires"]
            .as_array()
            .unwrap()
            .iter()
            .any(|r| r["from"] == "guardian")
    );
    let d = decide("CA-ON", "40", "marketing", AT);
    assert_eq!(d["citations"][0], "PHIPA s. 33", "{d}");
    let d = decide("IN", "40", "treatment", "2027-05-12T23:59:59Z");
    assert_eq!(d["rules"][0]["regime"], "in-spdi", "{d}");
    assert_eq!(d["decision"], "needs-consent");
    let d = decide("IN", "40", "treatment", "2027-05-13T00:00:00Z");
    assert_eq!(d["rules"][0]["regime"], "in-dpdp", "{d}");
    assert_eq!(d["decision"], "allow");
}
