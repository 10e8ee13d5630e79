//! `veil-consent` in a real browser page (wasm32, headless Chromium).
#![cfg(target_arch = "wasm32")]
#![doc = "veil-consent inside a browser page: the embedded rule and text files load, decisions \
with citations, withdrawal, the breach clock and the FHIR round trip behave exactly as natively \
(no clock is read: every time is passed in)."]
wasm_bindgen_test::wasm_bindgen_test_configure!(run_in_browser);

use veil_consent::{
    Channel, ConsentEvent, ConsentLedger, DecisionRequest, EventKind, Jurisdiction, Outcome,
    Purpose, PurposeScope, ResearchTier, Subject, Timestamp, breach_schedule, decide,
    export_bundle, import_bundle, text,
};
use veil_core::Coded;
use wasm_bindgen_test::wasm_bindgen_test;

const LEDGER: &str = include_str!(
    "../../crates/consent/tests/vectors/ledgers/adult-research-given-then-withdrawn.json"
);

fn t(s: &str) -> Timestamp {
    Timestamp::parse(s).expect("time")
}

#[wasm_bindgen_test]
fn eu_resident_treated_in_us_needs_both_and_withdrawal_denies() {
    let scope = PurposeScope::research(ResearchTier::ThisStudy);
    let mut ledger = ConsentLedger::new("p-wasm").expect("ledger");
    let mut given = ConsentEvent::new(
        EventKind::Given,
        scope.clone(),
        t("2026-01-10T09:00:00Z"),
        Channel::Kiosk {
            staff_id: "staff-1".into(),
        },
    );
    given.text = Some(
        text::current(Purpose::Research, "de")
            .expect("text")
            .reference(),
    );
    ledger.append(given).expect("append");
    let req = DecisionRequest {
        subject: Subject {
            jurisdictions: vec![
                Jurisdiction::parse("DE").expect("DE"),
                Jurisdiction::parse("US").expect("US"),
            ],
            age: 40,
            guardian_consent: false,
        },
        scope: scope.clone(),
        at: t("2026-02-01T00:00:00Z"),
        waiver: None,
    };
    let d = decide(&req, Some(&ledger)).expect("decide");
    // GDPR is met by the consent; HIPAA still needs an authorization: the strictest wins.
    assert_eq!(d.decision, Outcome::NeedsConsent);
    assert!(d.citations.iter().any(|c| c == "GDPR Art. 9(2)(a)"));
    assert!(d.citations.iter().any(|c| c == "45 CFR 164.508(a)(1)"));

    ledger
        .append(ConsentEvent::new(
            EventKind::Withdrawn,
            scope,
            t("2026-01-20T00:00:00Z"),
            Channel::OwnDevice,
        ))
        .expect("withdraw");
    let d = decide(&req, Some(&ledger)).expect("decide");
    assert_eq!(d.decision, Outcome::Deny);
    assert!(d.citations.iter().any(|c| c == "GDPR Art. 7(3)"));
}

#[wasm_bindgen_test]
fn committed_ledger_round_trips_through_fhir_in_the_browser() {
    let ledger =
        ConsentLedger::from_json(LEDGER.as_bytes()).expect("vector (text hashes verified)");
    let bundle = export_bundle(&ledger, None);
    let bytes = bundle.to_string().into_bytes();
    assert_eq!(import_bundle(&bytes).expect("import"), ledger);
}

#[wasm_bindgen_test]
fn breach_clock_runs_without_a_clock() {
    let s = breach_schedule(
        t("2026-11-23T10:00:00Z"),
        &[
            Jurisdiction::parse("FR").expect("FR"),
            Jurisdiction::parse("US").expect("US"),
        ],
        1200,
    )
    .expect("schedule");
    let lead = s.leading.expect("a fixed deadline");
    assert_eq!(lead.citation, "GDPR Art. 33(1)");
    assert_eq!(
        lead.deadline.expect("deadline").to_rfc3339(),
        "2026-11-26T10:00:00Z"
    );
}

#[wasm_bindgen_test]
fn unknown_jurisdiction_is_an_error_not_an_allow() {
    assert_eq!(
        Jurisdiction::parse("XX")
            .expect_err("no rules for XX")
            .code(),
        "unknown-jurisdiction"
    );
}
