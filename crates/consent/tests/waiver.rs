//! Research on a documented IRB / Privacy Board waiver (45 CFR 164.512(i)) as a ledger event, and
//! consents that end "at the end of the research study" (45 CFR 164.508(c)(1)(v)): recorded by
//! staff, decided by `decide` with the citation, ended, refused where California asks for a date
//! (Cal. Civ. Code § 56.11(b)(8)), and carried through the FHIR export and back.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use veil_consent::{
    Channel, Coded, ConsentEvent, ConsentLedger, DecisionRequest, EventKind, HipaaAuthorization,
    Jurisdiction, Outcome, Purpose, PurposeScope, ResearchTier, ResearchWaiver, ReviewProcedure,
    Standing, Subject, Timestamp, check_study_end, decide, export_bundle, import_bundle,
    receipt_for,
};

fn day(d: i64) -> Timestamp {
    Timestamp::parse("2026-01-01T00:00:00Z")
        .unwrap()
        .plus_secs(d * 86_400)
}

fn staff() -> Channel {
    Channel::Kiosk {
        staff_id: "irb-desk-7".into(),
    }
}

fn this_study() -> PurposeScope {
    PurposeScope::research(ResearchTier::ThisStudy)
}

fn documentation() -> ResearchWaiver {
    ResearchWaiver {
        board: "Example University IRB (IRB00001234)".into(),
        approved_on: Some(day(2)),
        criteria_stated: true,
        phi: "3D knee scans and their measurements, without names or addresses".into(),
        review: Some(ReviewProcedure::Expedited),
        signed_by: "Dr. R. Chair, IRB chair".into(),
        study: "K-12 knee implant study".into(),
    }
}

fn waived(at: i64, w: ResearchWaiver) -> ConsentEvent {
    let mut e = ConsentEvent::new(EventKind::Waived, this_study(), day(at), staff());
    e.waiver = Some(w);
    e
}

fn request(js: &[&str], scope: PurposeScope, at: i64) -> DecisionRequest {
    DecisionRequest {
        subject: Subject {
            jurisdictions: js.iter().map(|j| Jurisdiction::parse(j).unwrap()).collect(),
            age: 40,
            guardian_consent: false,
        },
        scope,
        at: day(at),
        waiver: None,
    }
}

fn outcome(l: &ConsentLedger, js: &[&str], at: i64) -> veil_consent::Decision {
    decide(&request(js, this_study(), at), Some(l)).unwrap()
}

#[test]
fn a_recorded_waiver_allows_research_for_us_and_california_with_its_citations() {
    let mut l = ConsentLedger::new("p-w1").unwrap();
    // Before: an authorization is needed, and the waiver is named as the alternative.
    let before = outcome(&l, &["US"], 5);
    assert_eq!(before.decision, Outcome::NeedsConsent);
    l.append(waived(3, documentation())).unwrap();
    for js in [&["US"][..], &["US-CA"][..]] {
        let d = outcome(&l, js, 5);
        assert_eq!(d.decision, Outcome::Allow, "{js:?}: {}", d.basis);
        assert!(
            d.citations.contains(&"45 CFR 164.512(i)(1)(i)".to_owned()),
            "{:?}",
            d.citations
        );
        assert!(d.citations.contains(&"45 CFR 164.512(i)(2)".to_owned()));
        assert!(d.basis.contains("Example University IRB"), "{}", d.basis);
        assert!(d.basis.contains("K-12 knee implant study"));
        assert!(
            d.basis.contains("2026-01-03"),
            "approval date named: {}",
            d.basis
        );
    }
    let ca = outcome(&l, &["US-CA"], 5);
    assert!(
        ca.citations
            .contains(&"Cal. Civ. Code § 56.10(c)(7)".to_owned())
    );
    // A waiver is not consent: the person's standing is untouched, and other purposes still need
    // an authorization.
    assert_eq!(l.standing(&this_study(), day(5)), Standing::None);
    let marketing = decide(
        &request(&["US"], PurposeScope::plain(Purpose::Marketing), 5),
        Some(&l),
    )
    .unwrap();
    assert_eq!(marketing.decision, Outcome::NeedsConsent);
    // Before it was recorded, it does not count.
    assert_eq!(outcome(&l, &["US"], 2).decision, Outcome::NeedsConsent);
}

#[test]
fn a_waiver_covers_narrower_tiers_only() {
    let mut l = ConsentLedger::new("p-w2").unwrap();
    l.append(waived(3, documentation())).unwrap();
    let any = decide(
        &request(
            &["US"],
            PurposeScope::research(ResearchTier::AnyResearch),
            5,
        ),
        Some(&l),
    )
    .unwrap();
    assert_eq!(any.decision, Outcome::NeedsConsent, "{}", any.basis);
}

#[test]
fn each_missing_documentation_element_keeps_research_waiting_and_is_named() {
    type Strip = fn(&mut ResearchWaiver);
    let strips: [(Strip, &str); 7] = [
        (|w| w.board.clear(), "164.512(i)(2)(i) identity"),
        (|w| w.approved_on = None, "164.512(i)(2)(i) date"),
        (|w| w.criteria_stated = false, "164.512(i)(2)(ii)"),
        (|w| w.phi = "  ".into(), "164.512(i)(2)(iii)"),
        (|w| w.review = None, "164.512(i)(2)(iv)"),
        (|w| w.signed_by.clear(), "164.512(i)(2)(v)"),
        (|w| w.study.clear(), "the study"),
    ];
    for (strip, named) in strips {
        let mut w = documentation();
        strip(&mut w);
        let mut l = ConsentLedger::new("p-w3").unwrap();
        l.append(waived(3, w)).unwrap();
        let d = outcome(&l, &["US"], 5);
        assert_eq!(d.decision, Outcome::NeedsConsent, "{named}");
        let reason = &d.requires[0].reason;
        assert!(reason.contains("recorded waiver lacks"), "{reason}");
        assert!(reason.contains(named), "{named} not in {reason}");
    }
}

#[test]
fn a_waiver_ends_by_its_end_event_its_expiry_or_its_study_and_can_be_recorded_again() {
    let mut l = ConsentLedger::new("p-w4").unwrap();
    let mut w = waived(3, documentation());
    w.expires_at = Some(day(40));
    l.append(w).unwrap();
    l.append(ConsentEvent::new(
        EventKind::WaiverEnded,
        this_study(),
        day(10),
        staff(),
    ))
    .unwrap();
    assert_eq!(outcome(&l, &["US"], 9).decision, Outcome::Allow);
    assert_eq!(outcome(&l, &["US"], 10).decision, Outcome::NeedsConsent);
    // Recorded again (re-approved), until its own expiry.
    let mut again = waived(12, documentation());
    again.expires_at = Some(day(20));
    l.append(again).unwrap();
    assert_eq!(outcome(&l, &["US"], 19).decision, Outcome::Allow);
    assert_eq!(outcome(&l, &["US"], 20).decision, Outcome::NeedsConsent);
    // A third, open-ended: ended by its study's end.
    l.append(waived(21, documentation())).unwrap();
    let mut end = ConsentEvent::new(EventKind::StudyEnded, this_study(), day(30), staff());
    end.study = Some("K-12 knee implant study".into());
    l.append(end).unwrap();
    assert_eq!(outcome(&l, &["US"], 29).decision, Outcome::Allow);
    assert_eq!(outcome(&l, &["US"], 30).decision, Outcome::NeedsConsent);
}

#[test]
fn a_person_who_revoked_is_not_moved_onto_the_waiver() {
    let mut l = ConsentLedger::new("p-w5").unwrap();
    l.append(waived(3, documentation())).unwrap();
    l.append(ConsentEvent::new(
        EventKind::Withdrawn,
        this_study(),
        day(4),
        Channel::OwnDevice,
    ))
    .unwrap();
    let d = outcome(&l, &["US"], 5);
    assert_eq!(d.decision, Outcome::Deny, "{}", d.basis);
}

#[test]
fn waivers_and_study_ends_are_staff_events_with_their_documentation() {
    let mut l = ConsentLedger::new("p-w6").unwrap();
    let mut own = waived(3, documentation());
    own.channel = Channel::OwnDevice;
    let e = l.append(own).unwrap_err();
    assert_eq!(e.code(), "staff-only");
    let mut bare = waived(3, documentation());
    bare.waiver = None;
    assert_eq!(l.append(bare).unwrap_err().code(), "bad-field");
    let mut marketing = waived(3, documentation());
    marketing.scope = PurposeScope::plain(Purpose::Marketing);
    assert_eq!(l.append(marketing).unwrap_err().code(), "bad-field");
    // Approved after it was recorded: not documentation of an approval.
    let mut early = documentation();
    early.approved_on = Some(day(9));
    assert_eq!(l.append(waived(3, early)).unwrap_err().code(), "bad-field");
    // A consent carrying waiver documentation, a study end without its study.
    let mut given = ConsentEvent::new(EventKind::Given, this_study(), day(3), Channel::OwnDevice);
    given.waiver = Some(documentation());
    assert_eq!(l.append(given).unwrap_err().code(), "bad-field");
    let end = ConsentEvent::new(EventKind::StudyEnded, this_study(), day(3), staff());
    assert_eq!(l.append(end).unwrap_err().code(), "bad-field");
    // A study's end on a non-research consent.
    let mut mk = ConsentEvent::new(
        EventKind::Given,
        PurposeScope::plain(Purpose::Marketing),
        day(3),
        Channel::OwnDevice,
    );
    mk.study = Some("K-12".into());
    assert_eq!(l.append(mk).unwrap_err().code(), "bad-field");
    assert!(l.events().is_empty());
    // The ledger JSON refuses the same on load.
    let mut ok = ConsentLedger::new("p-w6").unwrap();
    ok.append(waived(3, documentation())).unwrap();
    let json = ok.to_json().unwrap().replace("\"kiosk\"", "\"own-device\"");
    assert_eq!(
        ConsentLedger::from_json(json.as_bytes())
            .unwrap_err()
            .code(),
        "staff-only"
    );
}

fn authorization() -> HipaaAuthorization {
    HipaaAuthorization {
        information: "3D knee scans".into(),
        disclosed_by: "Example Clinic".into(),
        recipients: "Study team of K-12".into(),
        purpose: "knee implant research".into(),
        expiration: "the end of the research study".into(),
        signature: "Alex Q. Patient".into(),
        signed_at: Some(day(1)),
        right_to_revoke_stated: true,
        conditioning_stated: true,
        redisclosure_stated: true,
        ..HipaaAuthorization::default()
    }
}

#[test]
fn an_authorization_until_the_end_of_the_study_ends_when_staff_record_the_end() {
    let mut l = ConsentLedger::new("p-s1").unwrap();
    let mut given = ConsentEvent::new(EventKind::Given, this_study(), day(1), Channel::OwnDevice);
    given.authorization = Some(authorization());
    given.study = Some("K-12".into());
    l.append(given).unwrap();
    // Another study's end does not touch it.
    let mut other = ConsentEvent::new(EventKind::StudyEnded, this_study(), day(5), staff());
    other.study = Some("K-13".into());
    l.append(other).unwrap();
    assert_eq!(outcome(&l, &["US"], 6).decision, Outcome::Allow);
    let mut end = ConsentEvent::new(EventKind::StudyEnded, this_study(), day(8), staff());
    end.study = Some("K-12".into());
    l.append(end).unwrap();
    assert_eq!(outcome(&l, &["US"], 7).decision, Outcome::Allow);
    let after = outcome(&l, &["US"], 8);
    assert_eq!(after.decision, Outcome::NeedsConsent);
    assert!(
        after.requires[0].reason.contains("expired"),
        "{}",
        after.requires[0].reason
    );
    assert_eq!(
        l.standing(&this_study(), day(9)),
        Standing::Expired { at: day(8) }
    );
    // A consent given afterwards (a new study) is not ended by the old study's end.
    let mut renewed = ConsentEvent::new(EventKind::Given, this_study(), day(9), Channel::OwnDevice);
    renewed.authorization = Some(authorization());
    renewed.study = Some("K-14".into());
    l.append(renewed).unwrap();
    assert_eq!(outcome(&l, &["US"], 10).decision, Outcome::Allow);
    // The receipt says how it ends.
    let r = receipt_for(
        &l,
        0,
        &[Jurisdiction::parse("US").unwrap()],
        &veil_consent::Controller {
            pii_controller: "Example Clinic".into(),
            contact: "Privacy office".into(),
            address: "1 Main St".into(),
            email: "privacy@clinic.test".into(),
            phone: "+1 555 0100".into(),
            policy_url: "https://clinic.test/privacy".into(),
        },
    )
    .unwrap();
    let json = r.to_json().unwrap();
    assert!(json.contains("end of the research study K-12"), "{json}");
}

#[test]
fn a_study_end_also_ends_a_guardians_consent_and_a_minors_assent() {
    let mut l = ConsentLedger::new("p-s2").unwrap();
    let scope = this_study();
    let mut g = ConsentEvent::new(EventKind::GuardianGiven, scope.clone(), day(1), staff());
    g.study = Some("K-12".into());
    g.guardian = Some("parent".into());
    l.append(g).unwrap();
    let mut a = ConsentEvent::new(EventKind::Assented, scope.clone(), day(1), staff());
    a.study = Some("K-12".into());
    l.append(a).unwrap();
    let mut end = ConsentEvent::new(EventKind::StudyEnded, scope.clone(), day(8), staff());
    end.study = Some("K-12".into());
    l.append(end).unwrap();
    for v in [
        veil_consent::Voice::Guardian,
        veil_consent::Voice::SubjectAssent,
    ] {
        assert!(
            matches!(l.standing_of(&scope, day(7), v), Standing::Active { .. }),
            "{v:?}"
        );
        assert_eq!(
            l.standing_of(&scope, day(9), v),
            Standing::Expired { at: day(8) },
            "{v:?}"
        );
    }
}

#[test]
fn end_of_study_is_refused_where_the_law_asks_for_a_date() {
    let us = [Jurisdiction::parse("US").unwrap()];
    let ca = [Jurisdiction::parse("US-CA").unwrap()];
    let de_ca = [
        Jurisdiction::parse("DE").unwrap(),
        Jurisdiction::parse("US-CA").unwrap(),
    ];
    assert!(check_study_end(&us, Purpose::Research, day(1), false).is_ok());
    assert!(
        check_study_end(
            &[Jurisdiction::parse("DE").unwrap()],
            Purpose::Research,
            day(1),
            false
        )
        .is_ok()
    );
    for js in [&ca[..], &de_ca[..]] {
        let e = check_study_end(js, Purpose::Research, day(1), false).unwrap_err();
        assert_eq!(e.code(), "end-date-required");
        assert!(
            e.to_string().contains("Cal. Civ. Code § 56.11(b)(8)"),
            "{e}"
        );
        // With a date as well ("whichever is first"), the date meets § 56.11(b)(8).
        assert!(check_study_end(js, Purpose::Research, day(1), true).is_ok());
    }
    // Only research ends with a study.
    assert_eq!(
        check_study_end(&us, Purpose::Marketing, day(1), false)
            .unwrap_err()
            .code(),
        "bad-field"
    );
    // And the decision agrees: a California authorization ending only with the study lacks its
    // specific end date.
    let mut l = ConsentLedger::new("p-s3").unwrap();
    let mut given = ConsentEvent::new(EventKind::Given, this_study(), day(1), Channel::OwnDevice);
    given.authorization = Some(authorization());
    given.study = Some("K-12".into());
    l.append(given).unwrap();
    assert_eq!(outcome(&l, &["US"], 2).decision, Outcome::Allow);
    let d = outcome(&l, &["US-CA"], 2);
    assert_eq!(d.decision, Outcome::NeedsConsent);
    assert!(
        d.requires
            .iter()
            .any(|r| r.missing.iter().any(|m| m.contains("56.11(b)(8)"))),
        "{:?}",
        d.requires
    );
}

#[test]
fn waivers_and_study_ends_round_trip_through_fhir() {
    let mut l = ConsentLedger::new("p-f1").unwrap();
    let mut given = ConsentEvent::new(EventKind::Given, this_study(), day(1), Channel::OwnDevice);
    given.authorization = Some(authorization());
    given.study = Some("K-12".into());
    l.append(given).unwrap();
    let k12 = ResearchWaiver {
        study: "K-12".into(),
        ..documentation()
    };
    let mut w = waived(3, k12.clone());
    w.expires_at = Some(day(300));
    l.append(w).unwrap();
    l.append(ConsentEvent::new(
        EventKind::WaiverEnded,
        this_study(),
        day(4),
        staff(),
    ))
    .unwrap();
    l.append(waived(5, k12)).unwrap();
    let mut end = ConsentEvent::new(EventKind::StudyEnded, this_study(), day(8), staff());
    end.study = Some("K-12".into());
    l.append(end).unwrap();
    let bundle = export_bundle(&l, Some(day(9)));
    let consents: Vec<&serde_json::Value> = bundle["entry"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| &e["resource"])
        .collect();
    let status: Vec<&str> = consents
        .iter()
        .map(|c| c["status"].as_str().unwrap())
        .collect();
    // Given until the study's end (ended), first waiver (ended), its end, second waiver (ended
    // with the study), the study's end.
    assert_eq!(
        status,
        ["inactive", "inactive", "inactive", "inactive", "inactive"]
    );
    let at_6 = export_bundle(&l, Some(day(6)));
    let waiver = &at_6["entry"][3]["resource"];
    assert_eq!(
        waiver["performer"][0]["display"],
        "Example University IRB (IRB00001234)"
    );
    assert_eq!(
        waiver["sourceAttachment"]["title"],
        "Dr. R. Chair, IRB chair"
    );
    assert_eq!(
        waiver["provision"]["data"][0]["reference"]["display"],
        "3D knee scans and their measurements, without names or addresses"
    );
    assert!(
        waiver["policyRule"]["text"]
            .as_str()
            .unwrap()
            .contains("164.512(i)")
    );
    let text = serde_json::to_string(&bundle).unwrap();
    let back = import_bundle(text.as_bytes()).unwrap();
    assert_eq!(back, l);
    // While the second waiver stood, its status was active.
    let mut until_7 = ConsentLedger::new("p-f1").unwrap();
    for e in l.events().iter().take(4) {
        until_7.append(e.clone()).unwrap();
    }
    let b7 = export_bundle(&until_7, Some(day(7)));
    assert_eq!(b7["entry"][3]["resource"]["status"], "active");
    assert_eq!(b7["entry"][0]["resource"]["status"], "active");
}

#[test]
fn a_recorded_waiver_carries_substance_use_research_and_a_bare_reference_does_not() {
    let mut l = ConsentLedger::new("p-w9").unwrap();
    let sud = veil_consent::DecideOptions {
        data_category: Some("substance-use".into()),
        ..veil_consent::DecideOptions::default()
    };
    // A board's reference alone, with no recorded documentation: still waiting, and it says why.
    let mut bare = request(&["US"], this_study(), 5);
    bare.waiver = Some(veil_consent::Waiver {
        reference: "IRB-2026-001".into(),
    });
    let d = veil_consent::decide_with(&bare, Some(&l), &sud).unwrap();
    assert_eq!(d.decision, Outcome::NeedsConsent, "{}", d.basis);
    assert!(
        d.citations.contains(&"45 CFR 164.512(i)(2)".to_owned()),
        "{:?}",
        d.citations
    );
    assert!(
        d.requires.iter().any(|r| r
            .reason
            .contains("IRB-2026-001 alone is not its documentation")),
        "{:?}",
        d.requires
    );
    // Recorded with every element, it allows under both Part 2 and HIPAA.
    l.append(waived(3, documentation())).unwrap();
    let d = veil_consent::decide_with(&request(&["US"], this_study(), 5), Some(&l), &sud).unwrap();
    assert_eq!(d.decision, Outcome::Allow, "{}", d.basis);
    for c in ["42 CFR 2.52", "45 CFR 164.512(i)(1)(i)"] {
        assert!(
            d.citations.contains(&c.to_owned()),
            "{c} in {:?}",
            d.citations
        );
    }
}
