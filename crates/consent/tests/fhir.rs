//! FHIR R4 exchange: Veil's own export round-trips exactly; standard FHIR from other systems imports
//! with the documented meaning; unknown codes are errors.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use veil_consent::Coded;
use veil_consent::{
    Channel, ConsentEvent, ConsentLedger, DecisionRequest, EventKind, HipaaAuthorization,
    Jurisdiction, Outcome, Purpose, PurposeScope, ResearchTier, Standing, Subject, Timestamp,
    decide, export_bundle, import_bundle, text,
};

fn t(s: &str) -> Timestamp {
    Timestamp::parse(s).unwrap()
}

/// A ledger with every event kind, every qualifier, both channels, a guardian, an authorization and
/// localised texts.
pub fn rich_ledger() -> ConsentLedger {
    let mut l = ConsentLedger::new("p-9c2e.41").unwrap();
    let research = PurposeScope::research(ResearchTier::RelatedStudies);
    let mut e = ConsentEvent::new(
        EventKind::Given,
        research.clone(),
        t("2026-01-05T09:00:00Z"),
        Channel::OwnDevice,
    );
    e.text = Some(text::current(Purpose::Research, "de").unwrap().reference());
    e.expires_at = Some(t("2027-01-05T09:00:00Z"));
    e.authorization = Some(HipaaAuthorization {
        information: "knee scan".into(),
        disclosed_by: "Clinic".into(),
        recipients: "Study K-12".into(),
        purpose: "research".into(),
        expiration: "2027-01-05".into(),
        signature: "e-signed".into(),
        signed_at: Some(t("2026-01-05T09:00:00Z")),
        representative_authority: None,
        right_to_revoke_stated: true,
        conditioning_stated: true,
        redisclosure_stated: true,
        form: None,
    });
    l.append(e).unwrap();
    let mut m = ConsentEvent::new(
        EventKind::GuardianGiven,
        PurposeScope::plain(Purpose::Marketing),
        t("2026-01-05T09:00:00Z"),
        Channel::Kiosk {
            staff_id: "staff-17".into(),
        },
    );
    m.guardian = Some("RelatedPerson/mother-1".into());
    m.text = Some(text::current(Purpose::Marketing, "en").unwrap().reference());
    l.append(m).unwrap();
    let partner = PurposeScope {
        partner: Some("Acme Ortho Portal".into()),
        ..PurposeScope::plain(Purpose::PartnerSharing)
    };
    l.append(ConsentEvent::new(
        EventKind::Given,
        partner.clone(),
        t("2026-02-01T00:00:00Z"),
        Channel::OwnDevice,
    ))
    .unwrap();
    let transfer = PurposeScope {
        country: Some("US".into()),
        ..PurposeScope::plain(Purpose::CrossBorderTransfer)
    };
    let mut x = ConsentEvent::new(
        EventKind::Given,
        transfer,
        t("2026-02-02T00:00:00Z"),
        Channel::OwnDevice,
    );
    x.transfer_mechanism = Some(veil_consent::TransferMechanism::Scc);
    l.append(x).unwrap();
    l.append(ConsentEvent::new(
        EventKind::Withdrawn,
        partner,
        t("2026-03-01T12:00:00Z"),
        Channel::OwnDevice,
    ))
    .unwrap();
    l.append(ConsentEvent::new(
        EventKind::Expired,
        PurposeScope::plain(Purpose::Marketing),
        t("2026-04-01T00:00:00Z"),
        Channel::OwnDevice,
    ))
    .unwrap();
    let mut r = ConsentEvent::new(
        EventKind::Renewed,
        PurposeScope::plain(Purpose::Marketing),
        t("2026-04-02T00:00:00Z"),
        Channel::OwnDevice,
    );
    r.expires_at = Some(t("2026-10-02T00:00:00Z"));
    l.append(r).unwrap();
    l.append(ConsentEvent::new(
        EventKind::Withdrawn,
        PurposeScope::plain(Purpose::AiTraining),
        t("2026-04-03T00:00:00Z"),
        Channel::OwnDevice,
    ))
    .unwrap();
    l
}

#[test]
fn veil_export_round_trips_exactly() {
    let l = rich_ledger();
    let bundle = export_bundle(&l, None);
    let back = import_bundle(&serde_json::to_vec(&bundle).unwrap()).unwrap();
    assert_eq!(back, l);
    // And the ledger JSON, too (what `veil consent import-fhir` prints and `--ledger` reads).
    assert_eq!(
        ConsentLedger::from_json(back.to_json().unwrap().as_bytes()).unwrap(),
        l
    );
}

#[test]
fn a_transfer_consent_carries_its_mechanism_to_fhir_and_the_receipt() {
    let l = rich_ledger();
    let index = l
        .events()
        .iter()
        .position(|e| e.scope.purpose == Purpose::CrossBorderTransfer)
        .unwrap();
    let bundle = export_bundle(&l, None);
    let text = bundle.to_string();
    assert!(text.contains(veil_consent::fhir::EXT_TRANSFER_MECHANISM));
    assert!(text.contains("\"valueCode\":\"scc\""));
    let back = import_bundle(&serde_json::to_vec(&bundle).unwrap()).unwrap();
    assert_eq!(
        back.events()[index].transfer_mechanism,
        Some(veil_consent::TransferMechanism::Scc)
    );
    let controller = veil_consent::Controller {
        pii_controller: "Clinic A".into(),
        contact: "DPO".into(),
        address: "1 Main St".into(),
        email: "dpo@clinic-a.example".into(),
        phone: "+49 30 000000".into(),
        policy_url: "https://clinic-a.example/privacy".into(),
    };
    let receipt = veil_consent::receipt_for(&l, index, &[], &controller).unwrap();
    assert_eq!(receipt.transfer_mechanism.as_deref(), Some("scc"));
    // Other events say nothing of a transfer.
    let other = veil_consent::receipt_for(&l, 0, &[], &controller).unwrap();
    assert_eq!(other.transfer_mechanism, None);
}

#[test]
fn export_uses_fhir_status_and_codes() {
    let l = rich_ledger();
    let b = export_bundle(&l, None);
    assert_eq!(b["resourceType"], "Bundle");
    assert_eq!(b["type"], "collection");
    let entries = b["entry"].as_array().unwrap();
    assert_eq!(entries.len(), l.events().len());
    let status: Vec<&str> = entries
        .iter()
        .map(|e| e["resource"]["status"].as_str().unwrap())
        .collect();
    // research active; marketing (guardian) superseded by expiry; partner given then withdrawn;
    // transfer active; partner withdrawal inactive; expiry inactive; renewal active; AI refusal rejected.
    assert_eq!(
        status,
        [
            "active", "inactive", "inactive", "active", "inactive", "inactive", "active",
            "rejected"
        ]
    );
    let r0 = &entries[0]["resource"];
    assert_eq!(r0["patient"]["reference"], "Patient/p-9c2e.41");
    assert_eq!(r0["provision"]["purpose"][0]["code"], "HRESCH");
    assert_eq!(
        r0["provision"]["purpose"][0]["system"],
        "http://terminology.hl7.org/CodeSystem/v3-ActReason"
    );
    assert_eq!(r0["provision"]["period"]["end"], "2027-01-05T09:00:00Z");
    assert_eq!(entries[4]["resource"]["provision"]["type"], "deny");
    assert_eq!(
        entries[2]["resource"]["provision"]["actor"][0]["reference"]["display"],
        "Acme Ortho Portal"
    );
    // The text form puts resourceType first in every resource.
    let text = veil_consent::export_bundle_json(&l, None).unwrap();
    assert!(text.starts_with("{\n  \"resourceType\": \"Bundle\""));
    assert_eq!(
        text.matches("\"resource\": {\n        \"resourceType\": \"Consent\"")
            .count(),
        l.events().len()
    );
    assert_eq!(serde_json::from_str::<serde_json::Value>(&text).unwrap(), b);
    // With a time, expired consents are inactive too.
    let later = export_bundle(&l, Some(t("2028-01-01T00:00:00Z")));
    assert_eq!(later["entry"][0]["resource"]["status"], "inactive");
}

#[test]
fn foreign_fhir_imports_with_standard_meaning() {
    let bytes = include_bytes!("vectors/fhir/foreign-bundle.json");
    let l = import_bundle(bytes).unwrap();
    assert_eq!(l.subject(), "pat-1");
    let kinds: Vec<(EventKind, Purpose)> = l
        .events()
        .iter()
        .map(|e| (e.kind, e.scope.purpose))
        .collect();
    assert_eq!(
        kinds,
        [
            (EventKind::Given, Purpose::Treatment),
            (EventKind::Given, Purpose::Research),
            (EventKind::Withdrawn, Purpose::Marketing),
            (EventKind::Withdrawn, Purpose::Research),
        ]
    );
    assert_eq!(l.events()[0].at, t("2025-03-01T07:30:00Z"));
    assert_eq!(l.events()[0].expires_at, Some(t("2030-03-01T00:00:00Z")));
    assert_eq!(
        l.events()[1].scope.tier,
        Some(ResearchTier::ThisStudy),
        "foreign HRESCH reads as the narrowest tier"
    );
    assert!(matches!(l.events()[0].channel, Channel::Imported { .. }));
    // The decisions follow: research withdrawn -> deny; marketing denied -> deny.
    let subject = Subject {
        jurisdictions: vec![Jurisdiction::parse("DE").unwrap()],
        age: 30,
        guardian_consent: false,
    };
    for (scope, expect) in [
        (
            PurposeScope::research(ResearchTier::ThisStudy),
            Outcome::Deny,
        ),
        (PurposeScope::plain(Purpose::Marketing), Outcome::Deny),
        (
            PurposeScope::plain(Purpose::AiTraining),
            Outcome::NeedsConsent,
        ),
    ] {
        let req = DecisionRequest {
            subject: subject.clone(),
            scope,
            at: t("2025-07-01T00:00:00Z"),
            waiver: None,
        };
        assert_eq!(decide(&req, Some(&l)).unwrap().decision, expect);
    }
    assert!(matches!(
        l.standing(
            &PurposeScope::research(ResearchTier::ThisStudy),
            t("2025-05-01T00:00:00Z")
        ),
        Standing::Active { .. }
    ));
}

#[test]
fn unknown_codes_and_statuses_are_errors() {
    let consent = |status: &str, system: &str, code: &str| {
        serde_json::json!({"resourceType": "Consent", "status": status, "patient": {"reference": "Patient/x"},
            "dateTime": "2025-01-01T00:00:00Z",
            "provision": {"type": "permit", "purpose": [{"system": system, "code": code}]}})
    };
    let ar = "http://terminology.hl7.org/CodeSystem/v3-ActReason";
    let err = |v: serde_json::Value| {
        import_bundle(&serde_json::to_vec(&v).unwrap())
            .unwrap_err()
            .code()
    };
    assert_eq!(err(consent("active", ar, "HPAYMT")), "unknown-purpose-code");
    assert_eq!(
        err(consent("active", "http://example.org/purposes", "TREAT")),
        "unknown-purpose-code"
    );
    assert_eq!(err(consent("cancelled", ar, "TREAT")), "unknown-status");
    assert_eq!(
        err(consent(
            "active",
            "https://fhir.veil.invalid/CodeSystem/consent-purpose",
            "research/all"
        )),
        "unknown-tier"
    );
    assert_eq!(err(consent("active", ar, "PATRQT")), "missing-qualifier");
    assert_eq!(
        err(
            serde_json::json!({"resourceType": "Consent", "status": "active", "patient": {"reference": "Patient/x"}, "dateTime": "2025-01-01T00:00:00Z"})
        ),
        "bad-fhir"
    );
    assert_eq!(
        err(serde_json::json!({"resourceType": "Patient"})),
        "bad-fhir"
    );
    assert_eq!(import_bundle(b"{").unwrap_err().code(), "malformed-json");
    // Two patients in one bundle.
    let mut a = consent("active", ar, "TREAT");
    let mut b = a.clone();
    b["patient"]["reference"] = "Patient/y".into();
    a = serde_json::json!({"resourceType": "Bundle", "type": "collection", "entry": [{"resource": a}, {"resource": b}]});
    assert_eq!(err(a), "bad-fhir");
}

/// The committed ledger vectors (written by scripts/consent/make_ledgers.py, which hashes the
/// consent texts independently in Python) load, and each round-trips through FHIR.
#[test]
fn ledger_vectors_load_and_round_trip() {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/vectors/ledgers");
    let mut n = 0;
    for entry in std::fs::read_dir(&dir).unwrap() {
        let path = entry.unwrap().path();
        if path.extension().and_then(|e| e.to_str()) != Some("json") {
            continue;
        }
        let l = ConsentLedger::from_json(&std::fs::read(&path).unwrap())
            .unwrap_or_else(|e| panic!("{}: {e} [{}]", path.display(), e.code()));
        let bundle = export_bundle(&l, None);
        if l.events().is_empty() {
            assert!(
                bundle.get("entry").is_none(),
                "FHIR JSON has no empty arrays"
            );
        }
        assert_eq!(
            import_bundle(&serde_json::to_vec(&bundle).unwrap()).unwrap(),
            l,
            "{}",
            path.display()
        );
        n += 1;
    }
    assert!(n >= 5);
}

/// A US research authorization exported by another system: `policyRule` hipaa-research from the
/// consent-policy code system, the signed form in `sourceAttachment`, the expiry in
/// `provision.period`, the recipient as a `provision.actor` (role IRCP).
fn foreign_authorization(drop: Option<&str>) -> serde_json::Value {
    let mut c = serde_json::json!({
        "resourceType": "Consent",
        "id": "auth-77",
        "status": "active",
        "scope": {"coding": [{"system": "http://terminology.hl7.org/CodeSystem/consentscope", "code": "research"}]},
        "category": [{"coding": [{"system": "http://loinc.org", "code": "59284-0"}]}],
        "patient": {"reference": "Patient/p-ext-9"},
        "dateTime": "2026-02-01T10:00:00Z",
        "organization": [{"display": "Example Orthopedics LLC"}],
        "sourceAttachment": {"title": "HIPAA research authorization, signed", "creation": "2026-02-01T10:00:00Z"},
        "policyRule": {"coding": [{"system": "http://terminology.hl7.org/CodeSystem/consentpolicycodes", "code": "hipaa-research"}]},
        "provision": {
            "type": "permit",
            "period": {"start": "2026-02-01T10:00:00Z", "end": "2027-02-01T00:00:00Z"},
            "actor": [{"role": {"coding": [{"system": "http://terminology.hl7.org/CodeSystem/v3-ParticipationType", "code": "IRCP"}]},
                       "reference": {"display": "Knee Implant Study K-12"}}],
            "data": [{"meaning": "related", "reference": {"display": "3D knee scans and measurements"}}],
            "purpose": [{"system": "http://terminology.hl7.org/CodeSystem/v3-ActReason", "code": "HRESCH", "display": "healthcare research"}]
        }
    });
    match drop {
        Some("organization") => {
            c.as_object_mut().unwrap().remove("organization");
        }
        Some("sourceAttachment") => {
            c.as_object_mut().unwrap().remove("sourceAttachment");
        }
        Some("actor") => {
            c["provision"].as_object_mut().unwrap().remove("actor");
        }
        Some("period") => {
            c["provision"]["period"]
                .as_object_mut()
                .unwrap()
                .remove("end");
        }
        _ => {}
    }
    c
}

/// 45 CFR 164.508(a)(1), (c): a complete authorization allows the research it covers, until it
/// expires; each missing element is named.
#[test]
fn hipaa_authorizations_import_from_consent_policy_codes() {
    let bytes = serde_json::to_vec(&foreign_authorization(None)).unwrap();
    let l = import_bundle(&bytes).unwrap();
    let a = l.events()[0].authorization.clone().unwrap();
    assert!(a.missing_elements().is_empty(), "{a:?}");
    assert_eq!(a.recipients, "Knee Implant Study K-12");
    assert_eq!(a.disclosed_by, "Example Orthopedics LLC");
    let decide_at = |at: &str| {
        let req = DecisionRequest {
            subject: Subject {
                jurisdictions: vec![Jurisdiction::parse("US").unwrap()],
                age: 40,
                guardian_consent: false,
            },
            scope: PurposeScope::research(ResearchTier::ThisStudy),
            at: t(at),
            waiver: None,
        };
        decide(&req, Some(&l)).unwrap().decision
    };
    assert_eq!(decide_at("2026-06-01T00:00:00Z"), Outcome::Allow);
    assert_eq!(decide_at("2027-06-01T00:00:00Z"), Outcome::NeedsConsent);
    for (drop, names) in [
        ("organization", "164.508(c)(1)(ii)"),
        ("actor", "164.508(c)(1)(iii)"),
        ("period", "164.508(c)(1)(v)"),
        ("sourceAttachment", "164.508(c)(1)(vi)"),
    ] {
        let bytes = serde_json::to_vec(&foreign_authorization(Some(drop))).unwrap();
        let err = import_bundle(&bytes).unwrap_err();
        assert_eq!(err.code(), "bad-fhir");
        assert!(err.to_string().contains(names), "{drop}: {err}");
    }
    // Export writes the same shape: policyRule, organization, sourceAttachment, IRCP actor.
    let out = veil_consent::export_bundle(&l, None);
    let c = &out["entry"][0]["resource"];
    assert_eq!(c["policyRule"]["coding"][0]["code"], "hipaa-research");
    assert_eq!(c["organization"][0]["display"], "Example Orthopedics LLC");
    assert_eq!(
        c["provision"]["actor"][0]["reference"]["display"],
        "Knee Implant Study K-12"
    );
    assert!(c["sourceAttachment"]["title"].is_string());
    // Stripped of Veil's own extension, the standard shape alone imports to the same authorization.
    let mut std_only = c.clone();
    std_only["extension"] = serde_json::json!([]);
    let again = import_bundle(&serde_json::to_vec(&std_only).unwrap()).unwrap();
    let b = again.events()[0].authorization.clone().unwrap();
    assert!(b.missing_elements().is_empty(), "{b:?}");
    assert_eq!(b.recipients, a.recipients);
}

/// Guardian consent and a minor's assent travel through FHIR and back unchanged.
#[test]
fn guardian_consent_and_assent_round_trip() {
    let mut l = ConsentLedger::new("p-minor-3").unwrap();
    let s = PurposeScope::research(ResearchTier::ThisStudy);
    let mut g = ConsentEvent::new(
        EventKind::GuardianGiven,
        s.clone(),
        t("2026-03-01T09:00:00Z"),
        Channel::OwnDevice,
    );
    g.guardian = Some("RelatedPerson/mother-1".into());
    l.append(g).unwrap();
    l.append(ConsentEvent::new(
        EventKind::Assented,
        s,
        t("2026-03-01T09:05:00Z"),
        Channel::OwnDevice,
    ))
    .unwrap();
    let bundle = veil_consent::export_bundle_json(&l, None).unwrap();
    assert!(bundle.contains("\"assented\""));
    assert_eq!(import_bundle(bundle.as_bytes()).unwrap(), l);
    // Receipts say who gave it.
    let controller: veil_consent::Controller = serde_json::from_value(serde_json::json!({
        "piiController": "Clinic", "contact": "DPO", "address": "1 Main St",
        "email": "dpo@clinic.invalid", "phone": "+49 30 0", "policyUrl": "https://clinic.invalid/p"
    }))
    .unwrap();
    let js = [Jurisdiction::parse("DE").unwrap()];
    let g = veil_consent::receipt_for(&l, 0, &js, &controller).unwrap();
    assert_eq!(g.given_by, "guardian");
    assert_eq!(g.guardian.as_deref(), Some("RelatedPerson/mother-1"));
    let a = veil_consent::receipt_for(&l, 1, &js, &controller).unwrap();
    assert_eq!(
        (a.event_type.as_str(), a.given_by.as_str()),
        ("assented", "subject")
    );
    assert!(a.to_html().contains("the minor (assent)"));
}
