//! Table-driven decisions across regimes, ages, tiers, withdrawals, expiry and multi-jurisdiction
//! subjects. Each row names the case, the expected outcome and a citation the decision must carry.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use veil_consent::{
    Channel, ConsentEvent, ConsentLedger, DecisionRequest, EventKind, HipaaAuthorization,
    Jurisdiction, Outcome, Party, Purpose, PurposeScope, ResearchTier, Subject, Timestamp, Waiver,
    decide,
};

use EventKind::{Expired, Given, GuardianGiven, Renewed, Withdrawn};
use Outcome::{Allow, Deny, NeedsConsent};
use veil_consent::Coded;

/// Day `d` of 2026 (day 0 = 2026-01-01T00:00:00Z).
fn day(d: i64) -> Timestamp {
    Timestamp::parse("2026-01-01T00:00:00Z")
        .unwrap()
        .plus_secs(d * 86_400)
}

fn auth() -> HipaaAuthorization {
    HipaaAuthorization {
        information: "3D scan of the left knee and its measurements".into(),
        disclosed_by: "Example Clinic".into(),
        recipients: "Study team of protocol K-12".into(),
        purpose: "knee implant research".into(),
        expiration: "end of the research study".into(),
        signature: "signed electronically".into(),
        signed_at: Some(day(1)),
        representative_authority: None,
        right_to_revoke_stated: true,
        conditioning_stated: true,
        redisclosure_stated: true,
    }
}

#[derive(Clone)]
struct Ev {
    kind: EventKind,
    scope: PurposeScope,
    day: i64,
    expires: Option<i64>,
    auth: Option<HipaaAuthorization>,
}

fn ev(kind: EventKind, scope: PurposeScope, day: i64) -> Ev {
    Ev {
        kind,
        scope,
        day,
        expires: None,
        auth: None,
    }
}
fn with_auth(mut e: Ev) -> Ev {
    e.auth = Some(auth());
    e
}
fn expiring(mut e: Ev, on: i64) -> Ev {
    e.expires = Some(on);
    e
}

fn research(t: ResearchTier) -> PurposeScope {
    PurposeScope::research(t)
}
fn plain(p: Purpose) -> PurposeScope {
    PurposeScope::plain(p)
}
fn partner(name: &str) -> PurposeScope {
    PurposeScope {
        partner: Some(name.into()),
        ..plain(Purpose::PartnerSharing)
    }
}
fn transfer(to: &str) -> PurposeScope {
    PurposeScope {
        country: Some(to.into()),
        ..plain(Purpose::CrossBorderTransfer)
    }
}

const THIS: ResearchTier = ResearchTier::ThisStudy;
const RELATED: ResearchTier = ResearchTier::RelatedStudies;
const ANY: ResearchTier = ResearchTier::AnyResearch;

struct Case {
    name: &'static str,
    js: &'static [&'static str],
    age: u32,
    guardian: bool,
    scope: PurposeScope,
    ledger: Vec<Ev>,
    at: i64,
    waiver: bool,
    expect: Outcome,
    cites: &'static [&'static str],
    from: Option<Party>,
}

fn case(
    name: &'static str,
    js: &'static [&'static str],
    age: u32,
    scope: PurposeScope,
    expect: Outcome,
    cites: &'static [&'static str],
) -> Case {
    Case {
        name,
        js,
        age,
        guardian: false,
        scope,
        ledger: Vec::new(),
        at: 100,
        waiver: false,
        expect,
        cites,
        from: None,
    }
}

impl Case {
    fn ledger(mut self, l: Vec<Ev>) -> Self {
        self.ledger = l;
        self
    }
    fn guardian(mut self) -> Self {
        self.guardian = true;
        self
    }
    fn waiver(mut self) -> Self {
        self.waiver = true;
        self
    }
    fn at(mut self, d: i64) -> Self {
        self.at = d;
        self
    }
    fn from(mut self, p: Party) -> Self {
        self.from = Some(p);
        self
    }
}

fn cases() -> Vec<Case> {
    let r_this = || research(THIS);
    vec![
        // --- EU GDPR -------------------------------------------------------------------------
        case(
            "de-adult-treatment-needs-no-consent",
            &["DE"],
            40,
            plain(Purpose::Treatment),
            Allow,
            &["GDPR Art. 9(2)(h)", "GDPR Art. 9(3)"],
        ),
        case(
            "de-adult-care-operations",
            &["DE"],
            40,
            plain(Purpose::CareOperations),
            Allow,
            &["GDPR Art. 9(2)(h)"],
        ),
        case(
            "de-adult-research-no-consent",
            &["DE"],
            40,
            r_this(),
            NeedsConsent,
            &["GDPR Art. 9(2)(a)"],
        )
        .from(Party::Subject),
        case(
            "de-adult-research-given",
            &["DE"],
            40,
            r_this(),
            Allow,
            &["GDPR Art. 9(2)(a)"],
        )
        .ledger(vec![ev(Given, r_this(), 1)]),
        case(
            "de-adult-research-withdrawn",
            &["DE"],
            40,
            r_this(),
            Deny,
            &["GDPR Art. 9(2)(a)", "GDPR Art. 7(3)"],
        )
        .ledger(vec![ev(Given, r_this(), 1), ev(Withdrawn, r_this(), 2)]),
        case(
            "de-15-own-consent-needs-guardian",
            &["DE"],
            15,
            r_this(),
            NeedsConsent,
            &["GDPR Art. 8(1) (no derogation in Germany)"],
        )
        .ledger(vec![ev(Given, r_this(), 1)])
        .from(Party::Guardian),
        case(
            "de-15-guardian-given",
            &["DE"],
            15,
            r_this(),
            Allow,
            &[
                "GDPR Art. 9(2)(a)",
                "GDPR Art. 8(1) (no derogation in Germany)",
            ],
        )
        .ledger(vec![ev(GuardianGiven, r_this(), 1)]),
        case(
            "de-15-guardian-consent-flag",
            &["DE"],
            15,
            r_this(),
            Allow,
            &["GDPR Art. 8(1) (no derogation in Germany)"],
        )
        .guardian(),
        case(
            "fr-15-own-consent-suffices",
            &["FR"],
            15,
            r_this(),
            Allow,
            &["GDPR Art. 9(2)(a)"],
        )
        .ledger(vec![ev(Given, r_this(), 1)]),
        case(
            "fr-14-needs-guardian",
            &["FR"],
            14,
            r_this(),
            NeedsConsent,
            &["GDPR Art. 8(1); France Loi Informatique et Libertés, Art. 45"],
        )
        .ledger(vec![ev(Given, r_this(), 1)])
        .from(Party::Guardian),
        case(
            "at-14-own-consent-suffices",
            &["AT"],
            14,
            plain(Purpose::AiTraining),
            Allow,
            &["GDPR Art. 9(2)(a)"],
        )
        .ledger(vec![ev(Given, plain(Purpose::AiTraining), 1)]),
        case(
            "be-12-needs-guardian",
            &["BE"],
            12,
            plain(Purpose::AiTraining),
            NeedsConsent,
            &["GDPR Art. 8(1); Belgium Law of 30 July 2018, Art. 7"],
        )
        .ledger(vec![ev(Given, plain(Purpose::AiTraining), 1)]),
        case(
            "de-and-fr-15-strictest-age-wins",
            &["FR", "DE"],
            15,
            r_this(),
            NeedsConsent,
            &["GDPR Art. 8(1) (no derogation in Germany)"],
        )
        .ledger(vec![ev(Given, r_this(), 1)])
        .from(Party::Guardian),
        case(
            "de-broad-consent-covers-this-study",
            &["DE"],
            40,
            r_this(),
            Allow,
            &["GDPR Art. 9(2)(a)"],
        )
        .ledger(vec![ev(Given, research(ANY), 1)]),
        case(
            "de-narrow-consent-not-broad",
            &["DE"],
            40,
            research(ANY),
            NeedsConsent,
            &["GDPR Art. 9(2)(a)"],
        )
        .ledger(vec![ev(Given, r_this(), 1)]),
        case(
            "de-withdraw-this-study-ends-broad",
            &["DE"],
            40,
            research(RELATED),
            Deny,
            &["GDPR Art. 7(3)"],
        )
        .ledger(vec![
            ev(Given, research(ANY), 1),
            ev(Withdrawn, r_this(), 5),
        ]),
        case(
            "de-withdraw-broad-keeps-narrow",
            &["DE"],
            40,
            r_this(),
            Allow,
            &["GDPR Art. 9(2)(a)"],
        )
        .ledger(vec![
            ev(Given, r_this(), 1),
            ev(Given, research(ANY), 2),
            ev(Withdrawn, research(ANY), 3),
        ]),
        case(
            "de-consent-expired",
            &["DE"],
            40,
            plain(Purpose::Marketing),
            NeedsConsent,
            &["GDPR Art. 9(2)(a)", "GDPR Art. 21(2)"],
        )
        .ledger(vec![expiring(ev(Given, plain(Purpose::Marketing), 1), 50)]),
        case(
            "de-consent-before-expiry",
            &["DE"],
            40,
            plain(Purpose::Marketing),
            Allow,
            &["GDPR Art. 9(2)(a)"],
        )
        .ledger(vec![expiring(ev(Given, plain(Purpose::Marketing), 1), 50)])
        .at(49),
        case(
            "de-consent-renewed",
            &["DE"],
            40,
            plain(Purpose::Marketing),
            Allow,
            &["GDPR Art. 9(2)(a)"],
        )
        .ledger(vec![
            expiring(ev(Given, plain(Purpose::Marketing), 1), 50),
            expiring(ev(Renewed, plain(Purpose::Marketing), 60), 200),
        ]),
        case(
            "de-expired-event-recorded",
            &["DE"],
            40,
            plain(Purpose::Marketing),
            NeedsConsent,
            &["GDPR Art. 9(2)(a)"],
        )
        .ledger(vec![
            ev(Given, plain(Purpose::Marketing), 1),
            ev(Expired, plain(Purpose::Marketing), 40),
        ]),
        case(
            "de-future-consent-not-yet-in-effect",
            &["DE"],
            40,
            r_this(),
            NeedsConsent,
            &["GDPR Art. 9(2)(a)"],
        )
        .ledger(vec![ev(Given, r_this(), 120)]),
        case(
            "de-give-after-withdraw-allows-again",
            &["DE"],
            40,
            r_this(),
            Allow,
            &["GDPR Art. 9(2)(a)"],
        )
        .ledger(vec![
            ev(Given, r_this(), 1),
            ev(Withdrawn, r_this(), 2),
            ev(Given, r_this(), 3),
        ]),
        case(
            "de-transfer-to-adequate-ch",
            &["DE"],
            40,
            transfer("CH"),
            Allow,
            &["GDPR Art. 45(1)"],
        ),
        case(
            "de-transfer-inside-eea",
            &["DE"],
            40,
            transfer("NO"),
            Allow,
            &["GDPR Art. 1(3) (free movement within the Union; EEA Agreement)"],
        ),
        case(
            "de-transfer-to-us-needs-consent",
            &["DE"],
            40,
            transfer("US"),
            NeedsConsent,
            &["GDPR Art. 49(1)(a)"],
        ),
        case(
            "de-transfer-to-us-with-consent",
            &["DE"],
            40,
            transfer("US"),
            Allow,
            &["GDPR Art. 49(1)(a)"],
        )
        .ledger(vec![ev(Given, transfer("US"), 1)]),
        case(
            "de-partner-consent-is-per-partner",
            &["DE"],
            40,
            partner("Other Portal"),
            NeedsConsent,
            &["GDPR Art. 9(2)(a)"],
        )
        .ledger(vec![ev(Given, partner("Acme Portal"), 1)]),
        case(
            "de-third-party-printing-needs-consent",
            &["DE"],
            40,
            plain(Purpose::ThirdPartyPrinting),
            NeedsConsent,
            &["GDPR Art. 9(2)(a)"],
        ),
        // --- UK ------------------------------------------------------------------------------
        case(
            "gb-13-own-consent-suffices",
            &["GB"],
            13,
            r_this(),
            Allow,
            &["UK GDPR Art. 9(2)(a)"],
        )
        .ledger(vec![ev(Given, r_this(), 1)]),
        case(
            "gb-12-needs-guardian",
            &["UK"],
            12,
            r_this(),
            NeedsConsent,
            &["UK GDPR Art. 8(1); DPA 2018 s. 9"],
        )
        .ledger(vec![ev(Given, r_this(), 1)]),
        case(
            "gb-transfer-to-de-adequate",
            &["GB"],
            40,
            transfer("DE"),
            Allow,
            &["UK GDPR Art. 45(1); DPA 2018 s. 17A"],
        ),
        // --- HIPAA ---------------------------------------------------------------------------
        case(
            "us-treatment-no-authorization",
            &["US"],
            40,
            plain(Purpose::Treatment),
            Allow,
            &["45 CFR 164.506(c)(1)"],
        ),
        case(
            "us-research-needs-authorization",
            &["US"],
            40,
            r_this(),
            NeedsConsent,
            &["45 CFR 164.508(a)(1)"],
        ),
        case(
            "us-research-irb-waiver",
            &["US"],
            40,
            r_this(),
            Allow,
            &["45 CFR 164.512(i)(1)(i)"],
        )
        .waiver(),
        case(
            "us-research-valid-authorization",
            &["US"],
            40,
            r_this(),
            Allow,
            &["45 CFR 164.508(a)(1)", "45 CFR 164.508(c)"],
        )
        .ledger(vec![with_auth(ev(Given, r_this(), 1))]),
        case(
            "us-research-consent-without-authorization",
            &["US"],
            40,
            r_this(),
            NeedsConsent,
            &["45 CFR 164.508(c)"],
        )
        .ledger(vec![ev(Given, r_this(), 1)]),
        case(
            "us-marketing-authorization",
            &["US"],
            40,
            plain(Purpose::Marketing),
            Allow,
            &["45 CFR 164.508(a)(3)"],
        )
        .ledger(vec![with_auth(ev(Given, plain(Purpose::Marketing), 1))]),
        case(
            "us-marketing-revoked-on-receipt",
            &["US"],
            40,
            plain(Purpose::Marketing),
            Deny,
            &["45 CFR 164.508(b)(5)"],
        )
        .ledger(vec![
            with_auth(ev(Given, plain(Purpose::Marketing), 1)),
            ev(Withdrawn, plain(Purpose::Marketing), 100),
        ]),
        case(
            "us-revocation-not-before-receipt",
            &["US"],
            40,
            plain(Purpose::Marketing),
            Allow,
            &["45 CFR 164.508(a)(3)"],
        )
        .ledger(vec![
            with_auth(ev(Given, plain(Purpose::Marketing), 1)),
            ev(Withdrawn, plain(Purpose::Marketing), 101),
        ]),
        case(
            "us-16-own-authorization-needs-representative",
            &["US"],
            16,
            r_this(),
            NeedsConsent,
            &["45 CFR 164.502(g)(3)"],
        )
        .ledger(vec![with_auth(ev(Given, r_this(), 1))])
        .from(Party::Guardian),
        case(
            "us-16-representative-authorization",
            &["US"],
            16,
            r_this(),
            Allow,
            &["45 CFR 164.508(a)(1)", "45 CFR 164.502(g)(3)"],
        )
        .ledger(vec![with_auth(ev(GuardianGiven, r_this(), 1))]),
        case(
            "us-al-18-is-a-minor",
            &["US-AL"],
            18,
            r_this(),
            NeedsConsent,
            &["45 CFR 164.502(g)(3); Ala. Code § 26-1-1"],
        )
        .ledger(vec![with_auth(ev(Given, r_this(), 1))]),
        case(
            "us-transfer-unrestricted",
            &["US"],
            40,
            transfer("JP"),
            Allow,
            &["45 CFR 164.502(e)"],
        ),
        // --- California ----------------------------------------------------------------------
        case(
            "us-ca-treatment",
            &["US-CA"],
            40,
            plain(Purpose::Treatment),
            Allow,
            &["Cal. Civ. Code § 56.10(c)(1)", "45 CFR 164.506(c)(1)"],
        ),
        case(
            "us-ca-marketing-authorization",
            &["US-CA"],
            40,
            plain(Purpose::Marketing),
            Allow,
            &["Cal. Civ. Code § 56.10(d)", "45 CFR 164.508(a)(3)"],
        )
        .ledger(vec![with_auth(ev(Given, plain(Purpose::Marketing), 1))]),
        case(
            "us-ca-research-waiver",
            &["US-CA"],
            40,
            r_this(),
            Allow,
            &["Cal. Civ. Code § 56.10(c)(7)", "45 CFR 164.512(i)(1)(i)"],
        )
        .waiver(),
        // --- Canada --------------------------------------------------------------------------
        case(
            "ca-treatment-implied",
            &["CA"],
            40,
            plain(Purpose::Treatment),
            Allow,
            &["PIPEDA Sch. 1, Principle 4.3.6"],
        ),
        case(
            "ca-treatment-implied-withdrawn",
            &["CA-ON"],
            40,
            plain(Purpose::Treatment),
            Deny,
            &["PIPEDA Sch. 1, Principle 4.3.8"],
        )
        .ledger(vec![ev(Withdrawn, plain(Purpose::Treatment), 3)]),
        case(
            "ca-12-needs-parent",
            &["CA"],
            12,
            r_this(),
            NeedsConsent,
            &["OPC Guidelines for obtaining meaningful consent (2018), 'Consent and children'"],
        )
        .ledger(vec![ev(Given, r_this(), 1)]),
        case(
            "ca-research-waiver",
            &["CA"],
            40,
            r_this(),
            Allow,
            &["PIPEDA s. 7(3)(f)"],
        )
        .waiver(),
        case(
            "br-research-waiver-but-refused",
            &["BR"],
            40,
            r_this(),
            Deny,
            &["LGPD Art. 8 §5"],
        )
        .waiver()
        .ledger(vec![ev(Withdrawn, r_this(), 1)]),
        // --- Brazil --------------------------------------------------------------------------
        case(
            "br-treatment",
            &["BR"],
            40,
            plain(Purpose::Treatment),
            Allow,
            &["LGPD Art. 11, II, f"],
        ),
        case(
            "br-11-needs-parent",
            &["BR"],
            11,
            r_this(),
            NeedsConsent,
            &["LGPD Art. 14 §1; ECA Art. 2"],
        )
        .ledger(vec![ev(Given, r_this(), 1)]),
        case(
            "br-12-own-consent",
            &["BR"],
            12,
            r_this(),
            Allow,
            &["LGPD Art. 11, I"],
        )
        .ledger(vec![ev(Given, r_this(), 1)]),
        case(
            "br-transfer-needs-consent",
            &["BR"],
            40,
            transfer("US"),
            NeedsConsent,
            &["LGPD Art. 33, VIII"],
        ),
        // --- Switzerland ---------------------------------------------------------------------
        case(
            "ch-research-needs-consent",
            &["CH"],
            40,
            r_this(),
            NeedsConsent,
            &["HRA Art. 16"],
        ),
        case(
            "ch-research-ethics-waiver",
            &["CH"],
            40,
            r_this(),
            Allow,
            &["HRA Art. 34"],
        )
        .waiver(),
        case(
            "ch-partner-sharing",
            &["CH"],
            40,
            partner("Acme Portal"),
            NeedsConsent,
            &["nFADP Art. 30(2)(c)"],
        ),
        case(
            "ch-transfer-to-de",
            &["CH"],
            40,
            transfer("DE"),
            Allow,
            &["nFADP Art. 16(1); DPO Annex 1"],
        ),
        // --- Several regimes at once ---------------------------------------------------------
        case(
            "de-us-gdpr-consent-but-no-hipaa-authorization",
            &["DE", "US"],
            40,
            r_this(),
            NeedsConsent,
            &["GDPR Art. 9(2)(a)", "45 CFR 164.508(a)(1)"],
        )
        .ledger(vec![ev(Given, r_this(), 1)]),
        case(
            "de-us-consent-with-authorization",
            &["DE", "US"],
            40,
            r_this(),
            Allow,
            &["GDPR Art. 9(2)(a)", "45 CFR 164.508(a)(1)"],
        )
        .ledger(vec![with_auth(ev(Given, r_this(), 1))]),
        case(
            "de-us-waiver-does-not-satisfy-gdpr",
            &["DE", "US"],
            40,
            r_this(),
            NeedsConsent,
            &["GDPR Art. 9(2)(a)", "45 CFR 164.512(i)(1)(i)"],
        )
        .waiver(),
        case(
            "de-us-withdrawn-both-cited",
            &["DE", "US"],
            40,
            r_this(),
            Deny,
            &["GDPR Art. 7(3)", "45 CFR 164.508(b)(5)"],
        )
        .ledger(vec![
            with_auth(ev(Given, r_this(), 1)),
            ev(Withdrawn, r_this(), 2),
        ]),
        case(
            "gb-us-ca-17-uk-adult-us-minor",
            &["GB", "US-CA"],
            17,
            plain(Purpose::Marketing),
            NeedsConsent,
            &["Cal. Civ. Code § 56.11(c)(2); Cal. Fam. Code § 6500"],
        )
        .ledger(vec![with_auth(ev(Given, plain(Purpose::Marketing), 1))]),
        case(
            "de-br-treatment",
            &["DE", "BR"],
            40,
            plain(Purpose::Treatment),
            Allow,
            &["GDPR Art. 9(2)(h)", "LGPD Art. 11, II, f"],
        ),
        case(
            "de-us-transfer-to-us",
            &["DE", "US"],
            40,
            transfer("US"),
            NeedsConsent,
            &["GDPR Art. 49(1)(a)", "45 CFR 164.502(e)"],
        ),
    ]
}

#[test]
fn decision_table() {
    let cases = cases();
    assert!(
        cases.len() >= 40,
        "the table must hold at least 40 decisions"
    );
    let mut failures = Vec::new();
    for c in &cases {
        let mut ledger = ConsentLedger::new("p-table").unwrap();
        for e in &c.ledger {
            let mut ce = ConsentEvent::new(e.kind, e.scope.clone(), day(e.day), Channel::OwnDevice);
            ce.expires_at = e.expires.map(day);
            ce.authorization = e.auth.clone();
            if e.kind == GuardianGiven {
                ce.guardian = Some("parent".into());
            }
            ledger
                .append(ce)
                .unwrap_or_else(|err| panic!("{}: {err}", c.name));
        }
        let req = DecisionRequest {
            subject: Subject {
                jurisdictions: c
                    .js
                    .iter()
                    .map(|j| Jurisdiction::parse(j).unwrap())
                    .collect(),
                age: c.age,
                guardian_consent: c.guardian,
            },
            scope: c.scope.clone(),
            at: day(c.at),
            waiver: c.waiver.then(|| Waiver {
                reference: "IRB-2026-001".into(),
            }),
        };
        let d = decide(&req, Some(&ledger)).unwrap_or_else(|err| panic!("{}: {err}", c.name));
        let mut problems = Vec::new();
        if d.decision != c.expect {
            problems.push(format!(
                "decision {:?} != {:?} ({})",
                d.decision, c.expect, d.basis
            ));
        }
        for cite in c.cites {
            if !d.citations.iter().any(|x| x == cite) {
                problems.push(format!("missing citation `{cite}` in {:?}", d.citations));
            }
        }
        if d.decision == NeedsConsent && d.requires.is_empty() {
            problems.push("needs-consent without requirements".into());
        }
        if d.decision != NeedsConsent && !d.requires.is_empty() {
            problems.push("requirements outside needs-consent".into());
        }
        if let Some(p) = c.from
            && !d.requires.iter().any(|r| r.from == p)
        {
            problems.push(format!("no requirement from {p:?}: {:?}", d.requires));
        }
        // Every regime that applies is named.
        if d.rules.is_empty() {
            problems.push("no rule named".into());
        }
        if !problems.is_empty() {
            failures.push(format!("{}: {}", c.name, problems.join("; ")));
        }
    }
    assert!(
        failures.is_empty(),
        "{} failing cases:\n{}",
        failures.len(),
        failures.join("\n")
    );
}

#[test]
fn unknown_inputs_are_errors_not_allows() {
    assert_eq!(
        "advertising".parse::<Purpose>().unwrap_err().code(),
        "unknown-purpose"
    );
    assert_eq!(
        Jurisdiction::parse("JP").unwrap_err().code(),
        "unknown-jurisdiction"
    );
    let req = DecisionRequest {
        subject: Subject {
            jurisdictions: vec![],
            age: 30,
            guardian_consent: false,
        },
        scope: plain(Purpose::Treatment),
        at: day(1),
        waiver: None,
    };
    assert_eq!(decide(&req, None).unwrap_err().code(), "no-jurisdiction");
    let req = DecisionRequest {
        subject: Subject {
            jurisdictions: vec![Jurisdiction::parse("DE").unwrap()],
            age: 30,
            guardian_consent: false,
        },
        scope: plain(Purpose::PartnerSharing),
        at: day(1),
        waiver: None,
    };
    assert_eq!(decide(&req, None).unwrap_err().code(), "missing-qualifier");
}

#[test]
fn decision_json_shape() {
    let req = DecisionRequest {
        subject: Subject {
            jurisdictions: vec![Jurisdiction::parse("DE").unwrap()],
            age: 30,
            guardian_consent: false,
        },
        scope: research(THIS),
        at: day(1),
        waiver: None,
    };
    let v = serde_json::to_value(decide(&req, None).unwrap()).unwrap();
    assert_eq!(v["decision"], "needs-consent");
    assert!(v["basis"].is_string());
    assert_eq!(v["requires"][0]["from"], "subject");
    assert_eq!(v["citations"][0], "GDPR Art. 9(2)(a)");
    assert_eq!(v["rules"][0]["regime"], "gdpr");
}
