//! Property tests: withdrawal always wins over an earlier give; replay respects order and time;
//! adding a jurisdiction (or naming the controller) never makes a decision more permissive; the
//! decision is the strictest rule (deny > needs-consent > allow); parsers of outside bytes never
//! panic.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use proptest::prelude::*;
use veil_consent::Coded;
use veil_consent::{
    Channel, ConsentEvent, ConsentLedger, DecideOptions, DecisionRequest, EventKind, Jurisdiction,
    Outcome, Purpose, PurposeScope, ResearchTier, ResearchWaiver, ReviewProcedure, Standing,
    Subject, Timestamp, TransferMechanism, decide, decide_with, import_bundle,
};

/// Every jurisdiction code a rule file knows, plus subdivisions with their own rules.
const CODES: [&str; 28] = [
    "DE", "FR", "ES", "AT", "GB", "US", "US-CA", "US-MS", "CA", "BR", "CH", "IT", "DK", "BE", "NO",
    "US-NY", "AU", "AU-NSW", "SG", "KR", "US-TX", "CN", "US-WA", "CA-QC", "CA-ON", "CA-AB", "JP",
    "IN",
];

fn any_scope_strategy() -> impl Strategy<Value = PurposeScope> {
    prop_oneof![
        scope_strategy(),
        prop::sample::select(vec![
            Purpose::Treatment,
            Purpose::CareOperations,
            Purpose::ThirdPartyPrinting
        ])
        .prop_map(PurposeScope::plain),
        prop::sample::select(vec!["US", "DE", "IN", "CA", "JP", "BR", "CH", "GB"]).prop_map(|c| {
            PurposeScope {
                country: Some(c.into()),
                ..PurposeScope::plain(Purpose::CrossBorderTransfer)
            }
        }),
    ]
}

fn scope_strategy() -> impl Strategy<Value = PurposeScope> {
    prop_oneof![
        prop::sample::select(ResearchTier::ALL.to_vec()).prop_map(PurposeScope::research),
        prop::sample::select(vec![
            Purpose::Marketing,
            Purpose::AiTraining,
            Purpose::ProductImprovement
        ])
        .prop_map(PurposeScope::plain),
        prop::sample::select(vec!["Acme", "Beta"]).prop_map(|p| PurposeScope {
            partner: Some(p.into()),
            ..PurposeScope::plain(Purpose::PartnerSharing)
        }),
    ]
}

fn kind_strategy() -> impl Strategy<Value = EventKind> {
    prop::sample::select(vec![
        EventKind::Given,
        EventKind::GuardianGiven,
        EventKind::Assented,
        EventKind::Renewed,
        EventKind::Expired,
        EventKind::Withdrawn,
        EventKind::Waived,
        EventKind::WaiverEnded,
        EventKind::StudyEnded,
    ])
}

/// A valid ledger built from arbitrary events (invalid ones, e.g. a renewal of nothing, are skipped).
fn ledger_from(events: &[(EventKind, PurposeScope, i64, Option<i64>)]) -> ConsentLedger {
    let mut l = ConsentLedger::new("p-prop").unwrap();
    let mut t = 1_700_000_000i64;
    for (k, s, dt, exp) in events {
        t += dt;
        // Waivers and study ends are staff's (kiosk), with complete 164.512(i)(2) documentation;
        // research consents given on even steps end with the study.
        let channel = if k.by_staff() {
            Channel::Kiosk {
                staff_id: "S1".into(),
            }
        } else {
            Channel::OwnDevice
        };
        let mut e = ConsentEvent::new(*k, s.clone(), Timestamp(t), channel);
        e.expires_at = exp
            .map(|x| Timestamp(t + x))
            .filter(|_| *k != EventKind::StudyEnded);
        if *k == EventKind::StudyEnded
            || (k.gives() && s.purpose == Purpose::Research && dt % 2 == 0)
        {
            e.study = Some("S".into());
        }
        if *k == EventKind::Waived {
            e.waiver = Some(ResearchWaiver {
                board: "IRB".into(),
                approved_on: Some(Timestamp(t)),
                criteria_stated: true,
                phi: "scans".into(),
                review: Some(ReviewProcedure::Normal),
                signed_by: "chair".into(),
                study: "S".into(),
            });
        }
        let _ = l.append(e);
    }
    l
}

fn events_strategy() -> impl Strategy<Value = Vec<(EventKind, PurposeScope, i64, Option<i64>)>> {
    prop::collection::vec(
        (
            kind_strategy(),
            scope_strategy(),
            0i64..100_000,
            prop::option::of(1i64..1_000_000),
        ),
        0..24,
    )
}

const CONSENT_BASED: [&str; 5] = ["DE", "GB", "BR", "CH", "CA"];

proptest! {
    /// However the history looks, a withdrawal of a scope, once received, leaves that scope not
    /// allowed under every consent-based regime, for any adult or minor, with or without the
    /// guardian flag, at any later time.
    #[test]
    fn withdrawal_after_giving_is_never_allowed(
        events in events_strategy(),
        scope in scope_strategy(),
        j in prop::sample::select(CONSENT_BASED.to_vec()),
        also_us in any::<bool>(),
        age in 0u32..100,
        guardian in any::<bool>(),
        later in 0i64..10_000_000,
    ) {
        let mut l = ledger_from(&events);
        let last = l.events().last().map_or(Timestamp(1_700_000_000), |e| e.at);
        let mut given = ConsentEvent::new(EventKind::Given, scope.clone(), last, Channel::OwnDevice);
        given.expires_at = None;
        l.append(given).unwrap();
        let w = last.plus_secs(1);
        l.append(ConsentEvent::new(EventKind::Withdrawn, scope.clone(), w, Channel::Kiosk { staff_id: "S1".into() })).unwrap();
        let mut js = vec![Jurisdiction::parse(j).unwrap()];
        if also_us {
            js.push(Jurisdiction::parse("US").unwrap());
        }
        let req = DecisionRequest {
            subject: Subject { jurisdictions: js, age, guardian_consent: guardian },
            scope: scope.clone(),
            at: w.plus_secs(later),
            waiver: None,
        };
        let d = decide(&req, Some(&l)).unwrap();
        prop_assert_eq!(d.decision, Outcome::Deny, "{:?}", d);
        prop_assert!(matches!(l.standing(&scope, req.at), Standing::Withdrawn { .. }), "{:?}", l.standing(&scope, req.at));
    }

    /// Replay at time t sees exactly the events at or before t: the standing equals the standing
    /// of the ledger cut at t.
    #[test]
    fn replay_sees_only_the_past(events in events_strategy(), scope in scope_strategy(), cut in 0usize..24) {
        let l = ledger_from(&events);
        let n = l.events().len();
        if n == 0 { return Ok(()); }
        let t = l.events()[cut % n].at;
        let mut prefix = ConsentLedger::new("p-prop").unwrap();
        for e in l.events().iter().filter(|e| e.at <= t) {
            prefix.append(e.clone()).unwrap();
        }
        prop_assert_eq!(l.standing(&scope, t), prefix.standing(&scope, t));
    }

    /// On one scope, the last event decides: order, not kind, wins.
    #[test]
    fn last_event_on_a_scope_decides(kinds in prop::collection::vec(kind_strategy(), 1..16)) {
        let scope = PurposeScope::plain(Purpose::Marketing);
        let events: Vec<_> = kinds.iter().map(|k| (*k, scope.clone(), 10, None)).collect();
        let l = ledger_from(&events);
        let Some(last) = l.events().last() else { return Ok(()); };
        let st = l.standing(&scope, last.at);
        match last.kind {
            EventKind::Given | EventKind::GuardianGiven | EventKind::Renewed => prop_assert!(matches!(st, Standing::Active { .. }), "{:?}", st),
            EventKind::Withdrawn => prop_assert!(matches!(st, Standing::Withdrawn { .. }), "{:?}", st),
            EventKind::Expired => prop_assert!(matches!(st, Standing::Expired { .. }), "{:?}", st),
            // An assent is not consent: it never makes a use active on its own.
            EventKind::Assented => prop_assert!(!matches!(st, Standing::Active { event, .. } if event + 1 == l.events().len()), "{:?}", st),
            // Staff's events are research-only: never on this scope (append refuses them).
            EventKind::Waived | EventKind::WaiverEnded | EventKind::StudyEnded => prop_assert!(false, "staff event on marketing"),
        }
    }

    /// Adding a jurisdiction, or naming the controller, never turns a decision more permissive:
    /// every regime already applied still applies, and the strictest outcome wins.
    #[test]
    fn adding_a_jurisdiction_is_never_more_permissive(
        events in prop::collection::vec((kind_strategy(), any_scope_strategy(), 0i64..100_000, prop::option::of(1i64..1_000_000)), 0..16),
        scope in any_scope_strategy(),
        base in prop::collection::vec(prop::sample::select(CODES.to_vec()), 1..3),
        extra in prop::sample::select(CODES.to_vec()),
        controller in prop::option::of(prop::sample::select(CODES.to_vec())),
        mechanism in prop::option::of(prop::sample::select(TransferMechanism::ALL.to_vec())),
        age in 0u32..40,
        // Late 2023, or around India's DPDP commencement (2027-05-13 = 1_809_993_600).
        later in prop_oneof![0i64..2_000_000, 105_000_000i64..125_000_000],
    ) {
        let l = ledger_from(&events);
        let js = Jurisdiction::parse_list(&base).unwrap();
        let mut more = js.clone();
        more.push(Jurisdiction::parse(extra).unwrap());
        let at = Timestamp(1_700_000_000 + later);
        let req = |js: Vec<Jurisdiction>| DecisionRequest {
            subject: Subject { jurisdictions: js, age, guardian_consent: false },
            scope: scope.clone(),
            at,
            waiver: None,
        };
        let opts = DecideOptions { controller: None, transfer_mechanism: mechanism, data_category: None, sharing_basis: None };
        let before = decide_with(&req(js.clone()), Some(&l), &opts).unwrap();
        let after = decide_with(&req(more), Some(&l), &opts).unwrap();
        prop_assert!(after.decision >= before.decision, "{:?} -> {:?}", before, after);
        if let Some(c) = controller {
            let with = DecideOptions { controller: Some(Jurisdiction::parse(c).unwrap()), ..opts.clone() };
            let named = decide_with(&req(js.clone()), Some(&l), &with).unwrap();
            prop_assert!(named.decision >= before.decision, "{:?} -> {:?}", before, named);
        }
        // Naming a data category with its own law (42 CFR Part 2) adds a regime, never removes one.
        for cat in ["substance-use", "consumer-health-data"] {
            let o = DecideOptions { data_category: Some(cat.into()), ..opts.clone() };
            let with = decide_with(&req(js.clone()), Some(&l), &o).unwrap();
            prop_assert!(with.decision >= before.decision, "{:?} -> {:?}", before, with);
        }
        // deny > needs-consent > allow: the decision is the strictest rule's outcome.
        for d in [&before, &after] {
            let strictest = d.rules.iter().map(|r| r.outcome).max().unwrap();
            prop_assert_eq!(d.decision, strictest);
            prop_assert_eq!(d.decision == Outcome::NeedsConsent, !d.requires.is_empty());
        }
    }

    /// A guardian_consent flag never turns a decision more permissive (consent is a ledger event).
    #[test]
    fn the_guardian_flag_never_allows(
        events in events_strategy(),
        scope in scope_strategy(),
        j in prop::sample::select(CODES.to_vec()),
        age in 0u32..25,
    ) {
        let l = ledger_from(&events);
        let at = Timestamp(1_800_000_000);
        let req = |flag| DecisionRequest {
            subject: Subject { jurisdictions: vec![Jurisdiction::parse(j).unwrap()], age, guardian_consent: flag },
            scope: scope.clone(),
            at,
            waiver: None,
        };
        prop_assert_eq!(decide(&req(true), Some(&l)).unwrap().decision, decide(&req(false), Some(&l)).unwrap().decision);
    }

    /// Appending an event earlier than the last one is refused.
    #[test]
    fn out_of_order_is_rejected(events in events_strategy(), back in 1i64..1_000_000) {
        let mut l = ledger_from(&events);
        let Some(last) = l.events().last().map(|e| e.at) else { return Ok(()); };
        let e = ConsentEvent::new(EventKind::Given, PurposeScope::plain(Purpose::Marketing), Timestamp(last.0 - back), Channel::OwnDevice);
        prop_assert_eq!(l.append(e).unwrap_err().code(), "out-of-order");
    }

    /// Ledger JSON round-trips through its own parser.
    #[test]
    fn ledger_json_round_trips(events in events_strategy()) {
        let l = ledger_from(&events);
        let back = ConsentLedger::from_json(l.to_json().unwrap().as_bytes()).unwrap();
        prop_assert_eq!(back, l);
    }

    #[test]
    fn ledger_parser_never_panics(bytes in prop::collection::vec(any::<u8>(), 0..512)) {
        let _ = ConsentLedger::from_json(&bytes);
    }

    #[test]
    fn fhir_import_never_panics(bytes in prop::collection::vec(any::<u8>(), 0..512)) {
        let _ = import_bundle(&bytes);
    }

    /// Structured garbage: JSON that looks like a Bundle of Consents with random fields.
    #[test]
    fn fhir_import_of_random_consents_never_panics(
        status in prop::sample::select(vec!["active", "inactive", "rejected", "proposed", "nonsense"]),
        code in prop::sample::select(vec!["TREAT", "HRESCH", "HMARKT", "MLTRAINING", "PATRQT", "COC", "X"]),
        date in prop::sample::select(vec!["2025-01-01T00:00:00Z", "2025-01-01", "bad", ""]),
        typ in prop::sample::select(vec!["permit", "deny", "other"]),
        nested in 0usize..12,
    ) {
        let mut prov = serde_json::json!({"type": typ, "purpose": [{"system": "http://terminology.hl7.org/CodeSystem/v3-ActReason", "code": code}]});
        for _ in 0..nested {
            prov = serde_json::json!({"type": "permit", "provision": [prov]});
        }
        let b = serde_json::json!({"resourceType": "Bundle", "type": "collection", "entry": [{"resource": {
            "resourceType": "Consent", "status": status, "patient": {"reference": "Patient/x"},
            "dateTime": date, "provision": prov}}]});
        if let Ok(l) = import_bundle(&serde_json::to_vec(&b).unwrap()) {
            // Whatever is accepted re-exports and re-imports to the same ledger.
            let again = import_bundle(&serde_json::to_vec(&veil_consent::export_bundle(&l, None)).unwrap()).unwrap();
            prop_assert_eq!(again, l);
        }
    }
}
