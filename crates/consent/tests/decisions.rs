//! Table-driven decisions across regimes, ages, tiers, withdrawals, expiry and multi-jurisdiction
//! subjects. Each row names the case, the expected outcome and a citation the decision must carry.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use veil_consent::{
    Channel, ConsentEvent, ConsentLedger, DecideOptions, DecisionRequest, EventKind,
    HipaaAuthorization, Jurisdiction, Outcome, Party, Purpose, PurposeScope, ResearchTier,
    SharingBasis, Subject, Timestamp, TransferMechanism, Waiver, decide, decide_with,
};

use EventKind::{Assented, Expired, Given, GuardianGiven, Renewed, Withdrawn};
use Outcome::{Allow, Deny, NeedsConsent};
use TransferMechanism::{Adequacy, Bcr, Derogation, Dpf, Scc};
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
        expiration: "31 December 2027".into(),
        signature: "signed electronically".into(),
        signed_at: Some(day(1)),
        representative_authority: None,
        right_to_revoke_stated: true,
        conditioning_stated: true,
        redisclosure_stated: true,
        form: None,
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
/// `e` with the authorization `auth()` changed by `f`.
fn with_auth_where(mut e: Ev, f: impl FnOnce(&mut HipaaAuthorization)) -> Ev {
    let mut a = auth();
    f(&mut a);
    e.auth = Some(a);
    e
}
fn by_parent(a: &mut HipaaAuthorization) {
    a.representative_authority = Some("parent of the minor (45 CFR 164.502(g)(3))".into());
}
fn expiry_none(a: &mut HipaaAuthorization) {
    a.expiration = "None".into();
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
    mechanism: Option<TransferMechanism>,
    controller: Option<&'static str>,
    category: Option<&'static str>,
    sharing: Option<SharingBasis>,
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
        mechanism: None,
        controller: None,
        category: None,
        sharing: None,
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
    fn mechanism(mut self, m: TransferMechanism) -> Self {
        self.mechanism = Some(m);
        self
    }
    fn controller(mut self, c: &'static str) -> Self {
        self.controller = Some(c);
        self
    }
    fn category(mut self, c: &'static str) -> Self {
        self.category = Some(c);
        self
    }
    fn sharing(mut self, b: SharingBasis) -> Self {
        self.sharing = Some(b);
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
        // Minors: GDPR Art. 8 (ISS consent, 16 in DE) is not the capacity for Art. 9(2)(a)
        // health-data consent; Art. 8(3) leaves that to national law (BGB § 2: majority at 18).
        // Source: GDPR Art. 8(3); Regulation (EU) No 536/2014 Art. 32(1); BGB § 2.
        case(
            "de-15-own-consent-needs-guardian",
            &["DE"],
            15,
            r_this(),
            NeedsConsent,
            &["Regulation (EU) No 536/2014 Art. 32(1); BGB § 2"],
        )
        .ledger(vec![ev(Given, r_this(), 1)])
        .from(Party::Guardian),
        // Source: Regulation (EU) No 536/2014 Art. 32(1)(a)-(b): the representative consents AND
        // the minor is involved; Veil asks for the assent as its own ledger event.
        case(
            "de-15-guardian-alone-needs-the-minors-assent",
            &["DE"],
            15,
            r_this(),
            NeedsConsent,
            &["Regulation (EU) No 536/2014 Art. 32(1); BGB § 2"],
        )
        .ledger(vec![ev(GuardianGiven, r_this(), 1)])
        .from(Party::Subject),
        // Source: Regulation (EU) No 536/2014 Art. 32(1); BGB § 2.
        case(
            "de-15-guardian-and-assent",
            &["DE"],
            15,
            r_this(),
            Allow,
            &[
                "GDPR Art. 9(2)(a)",
                "Regulation (EU) No 536/2014 Art. 32(1); BGB § 2",
            ],
        )
        .ledger(vec![ev(GuardianGiven, r_this(), 1), ev(Assented, r_this(), 1)]),
        // A bare flag is not demonstrable consent. Source: GDPR Art. 7(1).
        case(
            "de-15-guardian-consent-flag-is-not-evidence",
            &["DE"],
            15,
            r_this(),
            NeedsConsent,
            &["Regulation (EU) No 536/2014 Art. 32(1); BGB § 2"],
        )
        .guardian()
        .from(Party::Guardian),
        // A minor's refusal stands against the guardian's consent.
        // Source: Regulation (EU) No 536/2014 Art. 32(1)(c); GDPR Art. 7(3).
        case(
            "de-15-minor-refuses-after-guardian-consent",
            &["DE"],
            15,
            r_this(),
            Deny,
            &["GDPR Art. 7(3)"],
        )
        .ledger(vec![
            ev(GuardianGiven, r_this(), 1),
            ev(Assented, r_this(), 1),
            ev(Withdrawn, r_this(), 2),
        ]),
        // DE 16 is the Art. 8 ISS age, not capacity for research. Source: GDPR Art. 8(3); BGB § 2.
        case(
            "de-17-own-research-consent-needs-guardian",
            &["DE"],
            17,
            r_this(),
            NeedsConsent,
            &["Regulation (EU) No 536/2014 Art. 32(1); BGB § 2"],
        )
        .ledger(vec![ev(Given, r_this(), 1)])
        .from(Party::Guardian),
        // FR 15 (Loi 78-17 Art. 45) covers ISS only; research: CSP L1122-2 (parental authority
        // consents, the minor's agreement sought).
        case(
            "fr-15-own-research-consent-needs-parents",
            &["FR"],
            15,
            r_this(),
            NeedsConsent,
            &["Code de la santé publique Art. L1122-2"],
        )
        .ledger(vec![ev(Given, r_this(), 1)])
        .from(Party::Guardian),
        // Source: CSP L1122-2; the minor's own `given` counts as their agreement.
        case(
            "fr-15-research-parents-and-minor",
            &["FR"],
            15,
            r_this(),
            Allow,
            &["Code de la santé publique Art. L1122-2"],
        )
        .ledger(vec![ev(GuardianGiven, r_this(), 1), ev(Given, r_this(), 1)]),
        // Marketing: no capacity below majority. Source: Code civil Art. 388, 414.
        case(
            "fr-15-marketing-needs-parents",
            &["FR"],
            15,
            plain(Purpose::Marketing),
            NeedsConsent,
            &["Code civil Art. 388, 414 (majority at 18)"],
        )
        .ledger(vec![ev(Given, plain(Purpose::Marketing), 1)])
        .from(Party::Guardian),
        // AT 14 is the ISS age (DSG § 4(4)); AI training: majority. Source: GDPR Art. 8(3).
        case(
            "at-14-ai-training-needs-guardian",
            &["AT"],
            14,
            plain(Purpose::AiTraining),
            NeedsConsent,
            &["GDPR Art. 8(3) (national law governs minors); age of majority 18"],
        )
        .ledger(vec![ev(Given, plain(Purpose::AiTraining), 1)])
        .from(Party::Guardian),
        // Source: GDPR Art. 8(3): the guardian consents, the minor assents.
        case(
            "at-14-ai-training-guardian-and-assent",
            &["AT"],
            14,
            plain(Purpose::AiTraining),
            Allow,
            &["GDPR Art. 8(3) (national law governs minors); age of majority 18"],
        )
        .ledger(vec![
            ev(GuardianGiven, plain(Purpose::AiTraining), 1),
            ev(Assented, plain(Purpose::AiTraining), 2),
        ]),
        // Source: GDPR Art. 8(3); BE majority 18 (Code civil Art. 388).
        case(
            "be-13-ai-training-needs-guardian",
            &["BE"],
            13,
            plain(Purpose::AiTraining),
            NeedsConsent,
            &["GDPR Art. 8(3) (national law governs minors); age of majority 18"],
        )
        .ledger(vec![ev(Given, plain(Purpose::AiTraining), 1)]),
        // ES 14 (LOPDGDD Art. 7) is not relied on; research: Ley 41/2002 Art. 9(5).
        case(
            "es-14-research-needs-guardian",
            &["ES"],
            14,
            r_this(),
            NeedsConsent,
            &["Ley 41/2002 Art. 9(5); Regulation (EU) No 536/2014 Art. 32(1)"],
        )
        .ledger(vec![ev(Given, r_this(), 1)])
        .from(Party::Guardian),
        // Source: Ley 41/2002 Art. 9(5): clinical trials follow the age of majority (18).
        case(
            "es-17-research-needs-guardian",
            &["ES"],
            17,
            r_this(),
            NeedsConsent,
            &["Ley 41/2002 Art. 9(5); Regulation (EU) No 536/2014 Art. 32(1)"],
        )
        .ledger(vec![ev(Given, r_this(), 1)]),
        // Source: IT majority 18 (Codice civile Art. 2); GDPR Art. 8(3).
        case(
            "it-14-marketing-needs-guardian",
            &["IT"],
            14,
            plain(Purpose::Marketing),
            NeedsConsent,
            &["GDPR Art. 8(3) (national law governs minors); age of majority 18"],
        )
        .ledger(vec![ev(Given, plain(Purpose::Marketing), 1)]),
        // Source: DK majority 18; GDPR Art. 8(3) (DK's 13 is the ISS age).
        case(
            "dk-13-product-improvement-needs-guardian",
            &["DK"],
            13,
            plain(Purpose::ProductImprovement),
            NeedsConsent,
            &["GDPR Art. 8(3) (national law governs minors); age of majority 18"],
        )
        .ledger(vec![ev(Given, plain(Purpose::ProductImprovement), 1)]),
        // Adults decide alone. Source: GDPR Art. 9(2)(a).
        case(
            "de-18-own-research-consent",
            &["DE"],
            18,
            r_this(),
            Allow,
            &["GDPR Art. 9(2)(a)"],
        )
        .ledger(vec![ev(Given, r_this(), 1)]),
        // Two member states: both national rules are cited.
        case(
            "de-and-fr-15-both-national-rules",
            &["FR", "DE"],
            15,
            r_this(),
            NeedsConsent,
            &[
                "Code de la santé publique Art. L1122-2",
                "Regulation (EU) No 536/2014 Art. 32(1); BGB § 2",
            ],
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
        // Transfers: the controller names the mechanism (Chapter V). Source: GDPR Art. 44, 46.
        case(
            "de-transfer-to-us-no-mechanism-named",
            &["DE"],
            40,
            transfer("US"),
            NeedsConsent,
            &["GDPR Art. 44"],
        )
        .from(Party::Controller),
        // Consent alone is no longer read as the route: the derogation must be named.
        // Source: GDPR Art. 49(1)(a); EDPB Guidelines 2/2018.
        case(
            "de-transfer-to-us-consent-without-mechanism",
            &["DE"],
            40,
            transfer("US"),
            NeedsConsent,
            &["GDPR Art. 44"],
        )
        .ledger(vec![ev(Given, transfer("US"), 1)])
        .from(Party::Controller),
        // Source: GDPR Art. 49(1)(a) (occasional transfers, EDPB Guidelines 2/2018).
        case(
            "de-transfer-to-us-derogation-needs-explicit-consent",
            &["DE"],
            40,
            transfer("US"),
            NeedsConsent,
            &["GDPR Art. 49(1)(a)"],
        )
        .mechanism(Derogation)
        .from(Party::Subject),
        // Source: GDPR Art. 49(1)(a).
        case(
            "de-transfer-to-us-derogation-with-consent",
            &["DE"],
            40,
            transfer("US"),
            Allow,
            &["GDPR Art. 49(1)(a)"],
        )
        .mechanism(Derogation)
        .ledger(vec![ev(Given, transfer("US"), 1)]),
        // Source: Commission Implementing Decision (EU) 2023/1795 (EU-US DPF).
        case(
            "de-transfer-to-us-dpf",
            &["DE"],
            40,
            transfer("US"),
            Allow,
            &["GDPR Art. 45(3); Commission Implementing Decision (EU) 2023/1795 of 10 July 2023 (EU-US Data Privacy Framework, certified importers only)"],
        )
        .mechanism(Dpf),
        // There is no adequacy decision for the US as a country (the DPF covers certified
        // importers only). Source: GDPR Art. 45(1); Decision (EU) 2023/1795.
        case(
            "de-transfer-to-us-adequacy-claimed-is-refused",
            &["DE"],
            40,
            transfer("US"),
            Deny,
            &["GDPR Art. 45(1)"],
        )
        .mechanism(Adequacy),
        // Source: GDPR Art. 46(2)(c); Decision (EU) 2021/914.
        case(
            "de-transfer-to-in-scc",
            &["DE"],
            40,
            transfer("IN"),
            Allow,
            &["GDPR Art. 46(2)(c); Commission Implementing Decision (EU) 2021/914 of 4 June 2021"],
        )
        .mechanism(Scc),
        // Source: GDPR Art. 46(2)(b), 47.
        case(
            "de-transfer-to-in-bcr",
            &["DE"],
            40,
            transfer("IN"),
            Allow,
            &["GDPR Art. 46(2)(b), Art. 47"],
        )
        .mechanism(Bcr),
        // The DPF covers the US only. Source: Decision (EU) 2023/1795.
        case(
            "de-transfer-to-in-dpf-is-refused",
            &["DE"],
            40,
            transfer("IN"),
            Deny,
            &["GDPR Art. 44"],
        )
        .mechanism(Dpf),
        // Source: GDPR Art. 45(1); Decision 2002/2/EC (PIPEDA organisations).
        case(
            "de-transfer-to-ca-adequacy",
            &["DE"],
            40,
            transfer("CA"),
            Allow,
            &["GDPR Art. 45(1)"],
        )
        .mechanism(Adequacy),
        // Source: GDPR Art. 45(1) (Japan adequacy, Decision (EU) 2019/419).
        case(
            "de-transfer-to-jp-adequate-without-naming",
            &["DE"],
            40,
            transfer("JP"),
            Allow,
            &["GDPR Art. 45(1)"],
        ),
        // Source: GDPR Art. 45(1); Commission Implementing Decision (EU) 2026/179 (Brazil).
        case(
            "de-transfer-to-br-adequate",
            &["DE"],
            40,
            transfer("BR"),
            Allow,
            &["GDPR Art. 45(1)"],
        )
        .mechanism(Adequacy),
        // Source: LGPD Art. 33, I; Resolução CD/ANPD nº 32/2026 (the EU and the EEA).
        case(
            "br-transfer-to-no-adequate",
            &["BR"],
            40,
            transfer("NO"),
            Allow,
            &["LGPD Art. 33, I; Resolução CD/ANPD nº 32/2026"],
        )
        .mechanism(Adequacy),
        case(
            "br-transfer-to-us-not-adequate",
            &["BR"],
            40,
            transfer("US"),
            Deny,
            &[],
        )
        .mechanism(Adequacy),
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
        // UK 13 is the ISS age (DPA 2018 s. 9); research: SI 2004/1031 Sch. 1 (minor = under 16).
        case(
            "gb-13-research-needs-guardian",
            &["GB"],
            13,
            r_this(),
            NeedsConsent,
            &["Medicines for Human Use (Clinical Trials) Regulations 2004 (SI 2004/1031), Sch. 1 Part 4"],
        )
        .ledger(vec![ev(Given, r_this(), 1)])
        .from(Party::Guardian),
        // Source: SI 2004/1031 Sch. 1 Part 1 (16 and over consents alone).
        case(
            "gb-16-own-research-consent",
            &["UK"],
            16,
            r_this(),
            Allow,
            &["UK GDPR Art. 9(2)(a)"],
        )
        .ledger(vec![ev(Given, r_this(), 1)]),
        // Source: Family Law Reform Act 1969 s. 1 (majority at 18).
        case(
            "gb-16-marketing-needs-guardian",
            &["GB"],
            16,
            plain(Purpose::Marketing),
            NeedsConsent,
            &["Family Law Reform Act 1969 s. 1 (majority at 18)"],
        )
        .ledger(vec![ev(Given, plain(Purpose::Marketing), 1)])
        .from(Party::Guardian),
        // Source: UK GDPR Art. 45; SI 2023/1028 (UK Extension).
        case(
            "gb-transfer-to-us-dpf",
            &["GB"],
            40,
            transfer("US"),
            Allow,
            &["UK GDPR Art. 45; Data Protection (Adequacy) (United States of America) Regulations 2023 (SI 2023/1028), UK Extension to the EU-US DPF"],
        )
        .mechanism(Dpf),
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
        // A bare board reference is not the waiver's documentation (45 CFR 164.512(i)(2)): only
        // the recorded `waived` event with every element allows (tests/waiver.rs).
        case(
            "us-research-bare-waiver-reference-is-not-documentation",
            &["US"],
            40,
            r_this(),
            NeedsConsent,
            &["45 CFR 164.508(a)(1)", "45 CFR 164.512(i)(2)"],
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
        .ledger(vec![with_auth_where(ev(GuardianGiven, r_this(), 1), by_parent)]),
        // 164.508(c)(1)(vi): a representative's signature comes with a description of their
        // authority to act for the individual.
        case(
            "us-16-representative-authorization-without-authority",
            &["US"],
            16,
            r_this(),
            NeedsConsent,
            &["45 CFR 164.502(g)(3)"],
        )
        .ledger(vec![with_auth(ev(GuardianGiven, r_this(), 1))]),
        // 164.508(c)(1)(v): "none" or "end of the research study" is enough for research only.
        case(
            "us-research-authorization-expiring-none",
            &["US"],
            40,
            r_this(),
            Allow,
            &["45 CFR 164.508(a)(1)"],
        )
        .ledger(vec![with_auth_where(ev(Given, r_this(), 1), expiry_none)]),
        case(
            "us-marketing-authorization-expiring-none",
            &["US"],
            40,
            plain(Purpose::Marketing),
            NeedsConsent,
            &["45 CFR 164.508(a)(3)"],
        )
        .ledger(vec![with_auth_where(
            ev(Given, plain(Purpose::Marketing), 1),
            expiry_none,
        )]),
        case(
            "us-marketing-authorization-until-end-of-study",
            &["US"],
            40,
            plain(Purpose::Marketing),
            NeedsConsent,
            &["45 CFR 164.508(a)(3)"],
        )
        .ledger(vec![with_auth_where(
            ev(Given, plain(Purpose::Marketing), 1),
            |a| a.expiration = "la fin de l'étude de recherche".into(),
        )]),
        case(
            "us-marketing-authorization-expiring-none-with-a-date",
            &["US"],
            40,
            plain(Purpose::Marketing),
            Allow,
            &["45 CFR 164.508(a)(3)"],
        )
        .ledger(vec![expiring(
            with_auth_where(ev(Given, plain(Purpose::Marketing), 1), expiry_none),
            300,
        )]),
        // 18 in Alabama (majority 19) and in New York (18): an adult under one law, a minor under
        // the other; the stricter answer is both signatures, never the parent's alone.
        case(
            "us-al-ny-18-parent-alone-is-not-enough",
            &["US-AL", "US-NY"],
            18,
            r_this(),
            NeedsConsent,
            &["45 CFR 164.502(g)(3); Ala. Code § 26-1-1"],
        )
        .ledger(vec![with_auth_where(ev(GuardianGiven, r_this(), 1), by_parent)])
        .from(Party::Subject),
        case(
            "us-al-ny-18-own-authorization-alone-is-not-enough",
            &["US-AL", "US-NY"],
            18,
            r_this(),
            NeedsConsent,
            &["45 CFR 164.502(g)(3); Ala. Code § 26-1-1"],
        )
        .ledger(vec![with_auth(ev(Given, r_this(), 1))]),
        case(
            "us-al-ny-18-both-authorizations",
            &["US-AL", "US-NY"],
            18,
            r_this(),
            Allow,
            &["45 CFR 164.508(a)(1)"],
        )
        .ledger(vec![
            with_auth_where(ev(GuardianGiven, r_this(), 1), by_parent),
            with_auth(ev(Given, r_this(), 2)),
        ]),
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
        // CMIA § 56.11(b)(8): the authorization states a specific end date (an event, which
        // HIPAA 164.508(c)(1)(v) allows, does not do under the CMIA).
        case(
            "us-ca-marketing-authorization-without-end-date",
            &["US-CA"],
            40,
            plain(Purpose::Marketing),
            NeedsConsent,
            &["Cal. Civ. Code § 56.10(d)"],
        )
        .ledger(vec![with_auth(ev(Given, plain(Purpose::Marketing), 1))]),
        // Source: Cal. Civ. Code § 56.10(d), § 56.11(b)(8); 45 CFR 164.508(a)(3).
        case(
            "us-ca-marketing-authorization",
            &["US-CA"],
            40,
            plain(Purpose::Marketing),
            Allow,
            &["Cal. Civ. Code § 56.10(d)", "45 CFR 164.508(a)(3)"],
        )
        .ledger(vec![expiring(
            with_auth(ev(Given, plain(Purpose::Marketing), 1)),
            400,
        )]),
        // HIPAA alone accepts an expiration event (164.508(c)(1)(v)).
        case(
            "us-marketing-authorization-with-event-expiry",
            &["US"],
            40,
            plain(Purpose::Marketing),
            Allow,
            &["45 CFR 164.508(a)(3)"],
        )
        .ledger(vec![with_auth(ev(Given, plain(Purpose::Marketing), 1))]),
        case(
            "us-ca-research-bare-waiver-reference",
            &["US-CA"],
            40,
            r_this(),
            NeedsConsent,
            &["Cal. Civ. Code § 56.10(c)(7)", "45 CFR 164.512(i)(2)"],
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
            // CA-ON is refused now (PHIPA displaces PIPEDA for custodians, SOR/2005-399).
            &["CA"],
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
            // Source: OPC, Guidelines for obtaining meaningful consent (May 2018).
            &["OPC, Guidelines for obtaining meaningful consent (May 2018), 'Consent and children'"],
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
        // Source: Código Civil Art. 3; Resolução CNS nº 466/2012 II.24 (representative + assent).
        case(
            "br-11-research-needs-parent",
            &["BR"],
            11,
            r_this(),
            NeedsConsent,
            &["Resolução CNS nº 466/2012, II.24 and IV.6 (the legal representative consents, the minor assents); Código Civil Art. 3"],
        )
        .ledger(vec![ev(Given, r_this(), 1)])
        .from(Party::Guardian),
        // Source: Resolução CNS nº 466/2012 II.24; Código Civil Art. 3.
        case(
            "br-12-research-parent-and-assent",
            &["BR"],
            12,
            r_this(),
            Allow,
            &["LGPD Art. 11, I"],
        )
        .ledger(vec![ev(GuardianGiven, r_this(), 1), ev(Assented, r_this(), 1)]),
        // 16-17 are assisted: parent and minor act together. Source: Código Civil Art. 4, I.
        case(
            "br-17-marketing-parent-alone-is-not-enough",
            &["BR"],
            17,
            plain(Purpose::Marketing),
            NeedsConsent,
            &["Código Civil Art. 4, I (16-17: assisted)"],
        )
        .ledger(vec![ev(GuardianGiven, plain(Purpose::Marketing), 1)])
        .from(Party::Subject),
        // Source: Código Civil Art. 4, I (joint act).
        case(
            "br-17-marketing-joint",
            &["BR"],
            17,
            plain(Purpose::Marketing),
            Allow,
            &["Código Civil Art. 4, I (16-17: assisted)"],
        )
        .ledger(vec![
            ev(GuardianGiven, plain(Purpose::Marketing), 1),
            ev(Given, plain(Purpose::Marketing), 1),
        ]),
        // Source: Código Civil Art. 3 (represented: the parent alone).
        case(
            "br-15-marketing-parent",
            &["BR"],
            15,
            plain(Purpose::Marketing),
            Allow,
            &["Código Civil Art. 3 (under 16: represented); LGPD Art. 14 §1"],
        )
        .ledger(vec![ev(GuardianGiven, plain(Purpose::Marketing), 1)]),
        // Source: LGPD Art. 33.
        case(
            "br-transfer-needs-a-mechanism",
            &["BR"],
            40,
            transfer("US"),
            NeedsConsent,
            &["LGPD Art. 33"],
        )
        .from(Party::Controller),
        // Source: LGPD Art. 33, VIII.
        case(
            "br-transfer-derogation",
            &["BR"],
            40,
            transfer("US"),
            NeedsConsent,
            &["LGPD Art. 33, VIII"],
        )
        .mechanism(Derogation),
        // Source: LGPD Art. 33, II, b; Resolução CD/ANPD nº 19/2024.
        case(
            "br-transfer-scc",
            &["BR"],
            40,
            transfer("US"),
            Allow,
            &["LGPD Art. 33, II, b; Resolução CD/ANPD nº 19/2024 (standard contractual clauses)"],
        )
        .mechanism(Scc),
        // The ANPD recognised the EU as adequate. Source: LGPD Art. 33, I; Resolução CD/ANPD nº
        // 32, de 26 de janeiro de 2026, Art. 1.
        case(
            "br-transfer-to-de-adequate",
            &["BR"],
            40,
            transfer("DE"),
            Allow,
            &["LGPD Art. 33, I; Resolução CD/ANPD nº 32/2026"],
        )
        .mechanism(Adequacy),
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
            &["GDPR Art. 9(2)(a)", "45 CFR 164.512(i)(2)"],
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
            // Source: Cal. Civ. Code § 56.11(b)(3)(B); Fam. Code § 6500.
            &["Cal. Civ. Code § 56.11(b)(3)(B); Cal. Fam. Code § 6500"],
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
        // --- Australia -------------------------------------------------------------------------
        // Source: Privacy Act 1988 s. 16B(1); APP 6.1.
        case(
            "au-treatment",
            &["AU"],
            40,
            plain(Purpose::Treatment),
            Allow,
            &["Privacy Act 1988 s. 16B(1)"],
        ),
        // Source: APP 7.4 (sensitive information for direct marketing only with consent).
        case(
            "au-marketing-needs-consent",
            &["AU"],
            40,
            plain(Purpose::Marketing),
            NeedsConsent,
            &["APP 7.4"],
        ),
        // Source: OAIC APP Guidelines B.58-B.59 (under 15 presumed without capacity).
        case(
            "au-14-research-needs-parent",
            &["AU"],
            14,
            r_this(),
            NeedsConsent,
            &["OAIC, Australian Privacy Principles Guidelines, Chapter B, paras B.58-B.59"],
        )
        .ledger(vec![ev(Given, r_this(), 1)])
        .from(Party::Guardian),
        // Source: Privacy Act 1988 s. 16B(3) (research where consent is impracticable, s. 95A).
        case(
            "au-research-waiver",
            &["AU"],
            40,
            r_this(),
            Allow,
            &["Privacy Act 1988 s. 16B(3)"],
        )
        .waiver(),
        // Source: APP 8.1 with s. 16C (contract as reasonable steps).
        case(
            "au-transfer-by-contract",
            &["AU"],
            40,
            transfer("US"),
            Allow,
            &["APP 8.1 (reasonable steps: a contract binding the recipient to the APPs); Privacy Act 1988 s. 16C"],
        )
        .mechanism(Scc),
        // No official adequacy list (APP 8.2(a) is the entity's own belief).
        case(
            "au-transfer-adequacy-refused",
            &["AU"],
            40,
            transfer("NZ"),
            Deny,
            &["APP 8.2(a)"],
        )
        .mechanism(Adequacy),
        // --- Singapore -------------------------------------------------------------------------
        // Source: PDPA s. 15(1) (deemed consent).
        case(
            "sg-treatment-deemed-consent",
            &["SG"],
            40,
            plain(Purpose::Treatment),
            Allow,
            &["PDPA s. 15(1)"],
        ),
        // Source: PDPA s. 16 (withdrawal), s. 15(1).
        case(
            "sg-treatment-deemed-consent-withdrawn",
            &["SG"],
            40,
            plain(Purpose::Treatment),
            Deny,
            &["PDPA s. 16"],
        )
        .ledger(vec![ev(Withdrawn, plain(Purpose::Treatment), 2)]),
        // Source: PDPA s. 13.
        case(
            "sg-ai-training-given",
            &["SG"],
            30,
            plain(Purpose::AiTraining),
            Allow,
            &["PDPA s. 13"],
        )
        .ledger(vec![ev(Given, plain(Purpose::AiTraining), 1)]),
        // Source: PDPC Advisory Guidelines on Selected Topics (minors: 13).
        case(
            "sg-12-needs-parent",
            &["SG"],
            12,
            plain(Purpose::AiTraining),
            NeedsConsent,
            &["PDPC, Advisory Guidelines on the PDPA for Selected Topics, chapter on minors"],
        )
        .ledger(vec![ev(Given, plain(Purpose::AiTraining), 1)])
        .from(Party::Guardian),
        // Source: PDPA s. 26(1); Personal Data Protection Regulations 2021, Part 3.
        case(
            "sg-transfer-derogation",
            &["SG"],
            40,
            transfer("JP"),
            Allow,
            &["Personal Data Protection Regulations 2021, Part 3 (consent after a reasonable summary of the protection abroad)"],
        )
        .mechanism(Derogation)
        .ledger(vec![ev(Given, transfer("JP"), 1)]),
        // --- 42 CFR Part 2 (substance use disorder records) on top of HIPAA -------------------
        // Treatment needs no HIPAA authorization (164.506(c)) but Part 2 records need written
        // consent to be disclosed for it (42 CFR 2.33(a)).
        case(
            "us-sud-treatment-needs-part2-consent",
            &["US"],
            40,
            plain(Purpose::Treatment),
            NeedsConsent,
            &["42 CFR 2.33(a)", "45 CFR 164.506(c)(1)"],
        )
        .category("substance-use")
        .from(Party::Subject),
        // Source: 42 CFR 2.33(a), (b) (one consent for all future TPO).
        case(
            "us-sud-treatment-with-consent",
            &["US"],
            40,
            plain(Purpose::Treatment),
            Allow,
            &["42 CFR 2.33(a)"],
        )
        .category("substance-use")
        .ledger(vec![ev(Given, plain(Purpose::Treatment), 1)]),
        // Without the category, HIPAA alone: treatment needs no consent (164.506(c)).
        case(
            "us-treatment-without-sud-category",
            &["US"],
            40,
            plain(Purpose::Treatment),
            Allow,
            &["45 CFR 164.506(c)(1)"],
        ),
        // Source: 42 CFR 2.52 (IRB/privacy board waiver) with 45 CFR 164.512(i).
        case(
            "us-sud-research-bare-waiver-reference",
            &["US"],
            40,
            r_this(),
            NeedsConsent,
            &["42 CFR 2.52", "45 CFR 164.512(i)(2)"],
        )
        .category("substance-use")
        .waiver(),
        // Source: 42 CFR 2.14(c): the minor and the parent both sign.
        case(
            "us-sud-16-research-needs-minor-and-parent",
            &["US"],
            16,
            plain(Purpose::Marketing),
            NeedsConsent,
            &["42 CFR 2.14(c)"],
        )
        .category("substance-use")
        .ledger(vec![ev(GuardianGiven, plain(Purpose::Marketing), 1)])
        .from(Party::Subject),
        // Washington MHMDA for consumer health data (not PHI): sharing needs its own consent,
        // separate from the consent to collect. Source: RCW 19.373.030(1)(b).
        case(
            "us-wa-chd-sharing-needs-separate-consent",
            &["US-WA"],
            40,
            partner("Acme Portal"),
            NeedsConsent,
            &["RCW 19.373.030(1)(b)"],
        )
        .category("consumer-health-data")
        .ledger(vec![ev(Given, plain(Purpose::ProductImprovement), 1)]),
        // Source: RCW 19.373.030(1)(a): the requested service needs no consent.
        case(
            "us-wa-chd-requested-service",
            &["US-WA"],
            40,
            plain(Purpose::Treatment),
            Allow,
            &["RCW 19.373.030(1)(a)"],
        )
        .category("consumer-health-data"),
        // PHI under HIPAA is exempt (RCW 19.373.100): without the category, HIPAA decides.
        case(
            "us-wa-phi-under-hipaa",
            &["US-WA"],
            40,
            plain(Purpose::Treatment),
            Allow,
            &["45 CFR 164.506(c)(1)"],
        ),
        // Texas adds breach duties only: uses are decided under HIPAA (164.506(c)).
        case(
            "us-tx-treatment-under-hipaa",
            &["US-TX"],
            40,
            plain(Purpose::Treatment),
            Allow,
            &["45 CFR 164.506(c)(1)"],
        ),
        // --- South Korea ---------------------------------------------------------------------------
        // Source: PIPA Art. 23(1)(ii) with Medical Service Act Art. 22.
        case(
            "kr-treatment",
            &["KR"],
            40,
            plain(Purpose::Treatment),
            Allow,
            &["PIPA Art. 23(1)(ii)"],
        ),
        // Source: PIPA Art. 23(1)(i) (separate consent for sensitive information).
        case(
            "kr-ai-training-needs-separate-consent",
            &["KR"],
            40,
            plain(Purpose::AiTraining),
            NeedsConsent,
            &["PIPA Art. 23(1)(i)"],
        ),
        // Source: PIPA Art. 22-2(1) (under 14: the legal representative).
        case(
            "kr-13-needs-representative",
            &["KR"],
            13,
            r_this(),
            NeedsConsent,
            &["PIPA Art. 22-2(1)"],
        )
        .ledger(vec![ev(Given, r_this(), 1)])
        .from(Party::Guardian),
        // Source: PIPA Art. 22-2(1): 14 consents alone.
        case(
            "kr-14-own-consent",
            &["KR"],
            14,
            r_this(),
            Allow,
            &["PIPA Art. 23(1)(i)"],
        )
        .ledger(vec![ev(Given, r_this(), 1)]),
        // Source: PIPA Art. 28-8(1)(i) (separate consent to the overseas transfer).
        case(
            "kr-transfer-consent",
            &["KR"],
            40,
            transfer("US"),
            Allow,
            &["PIPA Art. 28-8(1)(i)"],
        )
        .mechanism(Derogation)
        .ledger(vec![ev(Given, transfer("US"), 1)]),
        // No SCCs in PIPA. Source: PIPA Art. 28-8(1).
        case(
            "kr-transfer-scc-refused",
            &["KR"],
            40,
            transfer("US"),
            Deny,
            &["PIPA Art. 28-8(1)"],
        )
        .mechanism(Scc),
        // --- China ---------------------------------------------------------------------------------
        // Source: PIPL Art. 13(1)(ii) (contract necessity) with Art. 28.
        case(
            "cn-treatment",
            &["CN"],
            40,
            plain(Purpose::Treatment),
            Allow,
            &["PIPL Art. 13(1)(ii)"],
        ),
        // Source: PIPL Art. 29 (separate consent for sensitive information).
        case(
            "cn-research-needs-separate-consent",
            &["CN"],
            40,
            r_this(),
            NeedsConsent,
            &["PIPL Art. 29"],
        ),
        // Source: PIPL Art. 31 (under 14: the parent or guardian).
        case(
            "cn-13-needs-guardian",
            &["CN"],
            13,
            plain(Purpose::Marketing),
            NeedsConsent,
            &["PIPL Art. 31"],
        )
        .ledger(vec![ev(Given, plain(Purpose::Marketing), 1)])
        .from(Party::Guardian),
        // The standard contract is not enough: separate consent besides (PIPL Art. 38(1)(iii), 39).
        case(
            "cn-transfer-standard-contract-needs-consent-too",
            &["CN"],
            40,
            transfer("DE"),
            NeedsConsent,
            &["PIPL Art. 39"],
        )
        .mechanism(Scc)
        .from(Party::Subject),
        // Source: PIPL Art. 38(1)(iii) and Art. 39.
        case(
            "cn-transfer-standard-contract-and-consent",
            &["CN"],
            40,
            transfer("DE"),
            Allow,
            &["PIPL Art. 38(1)(iii); CAC, Measures on the Standard Contract for Outbound Transfer of Personal Information (2023)", "PIPL Art. 39"],
        )
        .mechanism(Scc)
        .ledger(vec![ev(Given, transfer("DE"), 1)]),
        // Consent alone is no Art. 38 mechanism. Source: PIPL Art. 38-39.
        case(
            "cn-transfer-consent-alone-refused",
            &["CN"],
            40,
            transfer("DE"),
            Deny,
            &["PIPL Art. 39"],
        )
        .mechanism(Derogation)
        .ledger(vec![ev(Given, transfer("DE"), 1)]),
        // Source: GDPR Art. 44 (EU side needs a mechanism); 45 CFR 164.502(e) (none in HIPAA).
        case(
            "de-us-transfer-to-us",
            &["DE", "US"],
            40,
            transfer("US"),
            NeedsConsent,
            &["GDPR Art. 44", "45 CFR 164.502(e)"],
        ),
        // The controller's law applies too (GDPR Art. 3(1)): a US patient of a German clinic.
        // Source: GDPR Art. 3(1), 9(2)(a).
        case(
            "us-patient-of-de-controller-research",
            &["US"],
            40,
            r_this(),
            NeedsConsent,
            &["GDPR Art. 9(2)(a)", "45 CFR 164.508(a)(1)"],
        )
        .controller("DE"),
        // Source: nFADP Art. 16(1); DPO Annex 1 (Swiss-US DPF).
        case(
            "ch-transfer-to-us-dpf",
            &["CH"],
            40,
            transfer("US"),
            Allow,
            &["nFADP Art. 16(1); DPO Annex 1 (Swiss-US Data Privacy Framework, certified organisations only, since 15 September 2024)"],
        )
        .mechanism(Dpf),
        // Source: HRA Art. 22(1): child capable of judgment and representative both consent.
        case(
            "ch-13-research-needs-joint-consent",
            &["CH"],
            13,
            r_this(),
            NeedsConsent,
            &["HRA Art. 22(1) (children: the child capable of judgment and the legal representative consent)"],
        )
        .ledger(vec![ev(GuardianGiven, r_this(), 1), ev(Assented, r_this(), 1)])
        .from(Party::Subject),
        // Source: HRA Art. 22(1).
        case(
            "ch-13-research-joint",
            &["CH"],
            13,
            r_this(),
            Allow,
            &["HRA Art. 16"],
        )
        .ledger(vec![ev(GuardianGiven, r_this(), 1), ev(Given, r_this(), 1)]),
        // Source: 45 CFR 164.502(g)(3); Miss. Code § 1-3-27 (majority at 21).
        case(
            "us-ms-20-needs-personal-representative",
            &["US-MS"],
            20,
            r_this(),
            NeedsConsent,
            &["45 CFR 164.502(g)(3); Miss. Code § 1-3-27"],
        )
        .ledger(vec![with_auth(ev(Given, r_this(), 1))])
        .from(Party::Guardian),
        // --- LGPD Art. 11 §4: sharing health data between controllers for economic advantage ---
        // Source: LGPD Art. 11 §4: consent does not lift the bar; the controller names its basis.
        case(
            "br-partner-consent-alone-does-not-lift-the-bar",
            &["BR"],
            40,
            partner("Acme"),
            NeedsConsent,
            &["LGPD Art. 11 §4"],
        )
        .ledger(vec![ev(Given, partner("Acme"), 1)])
        .from(Party::Controller),
        // Source: LGPD Art. 11 §4 (health care exception) and Art. 11, I (specific consent).
        case(
            "br-partner-health-care-with-consent",
            &["BR"],
            40,
            partner("Acme"),
            Allow,
            &[
                "LGPD Art. 11, I",
                "LGPD Art. 11 §4 (health care, including auxiliary diagnosis and therapy services)",
            ],
        )
        .ledger(vec![ev(Given, partner("Acme"), 1)])
        .sharing(SharingBasis::HealthCare),
        // Source: LGPD Art. 11 §4, I: the exception lifts the bar, not the need for consent.
        case(
            "br-partner-portability-still-needs-consent",
            &["BR"],
            40,
            partner("Acme"),
            NeedsConsent,
            &["LGPD Art. 11, I"],
        )
        .sharing(SharingBasis::Portability)
        .from(Party::Subject),
        // Source: LGPD Art. 8 §5: a withdrawal denies whatever basis is named.
        case(
            "br-partner-withdrawn-denied-without-basis",
            &["BR"],
            40,
            partner("Acme"),
            Deny,
            &["LGPD Art. 8 §5"],
        )
        .ledger(vec![
            ev(Given, partner("Acme"), 1),
            ev(Withdrawn, partner("Acme"), 2),
        ]),
        // The bar concerns sharing between controllers, not the clinic's own marketing
        // (Art. 11, I decides it). Source: LGPD Art. 11, I.
        case(
            "br-own-marketing-is-not-barred",
            &["BR"],
            40,
            plain(Purpose::Marketing),
            Allow,
            &["LGPD Art. 11, I"],
        )
        .ledger(vec![ev(Given, plain(Purpose::Marketing), 1)]),
        // Naming a basis does not change another regime: PIPEDA still needs express consent.
        // Source: PIPEDA Sch. 1, Principle 4.3.6.
        case(
            "br-ca-partner-basis-named-pipeda-still-needs-consent",
            &["BR", "CA"],
            40,
            partner("Acme"),
            NeedsConsent,
            &["PIPEDA Sch. 1, Principle 4.3.6"],
        )
        .sharing(SharingBasis::NoEconomicAdvantage),
        // --- Quebec (P-39.1 as amended by Law 25; Civil Code of Québec) -------------------------
        // Source: P-39.1 s. 12 para. 1 (use for the purpose of collection).
        case(
            "qc-adult-treatment",
            &["CA-QC"],
            40,
            plain(Purpose::Treatment),
            Allow,
            &["P-39.1 s. 12 para. 1"],
        ),
        // Source: P-39.1 s. 4.1, s. 14 para. 3: under 14 the holder of parental authority consents.
        case(
            "qc-13-marketing-needs-parental-authority",
            &["CA-QC"],
            13,
            plain(Purpose::Marketing),
            NeedsConsent,
            &["P-39.1 s. 4.1, s. 14 para. 3"],
        )
        .ledger(vec![ev(Given, plain(Purpose::Marketing), 1)])
        .from(Party::Guardian),
        // Source: P-39.1 s. 14 para. 3: from 14 the minor consents.
        case(
            "qc-14-marketing-own-consent",
            &["CA-QC"],
            14,
            plain(Purpose::Marketing),
            Allow,
            &["P-39.1 s. 12 para. 3"],
        )
        .ledger(vec![ev(Given, plain(Purpose::Marketing), 1)]),
        // Source: Civil Code of Québec art. 21: the parent consents, the minor must not object.
        case(
            "qc-16-research-parent-and-assent",
            &["CA-QC"],
            16,
            r_this(),
            NeedsConsent,
            &["Civil Code of Québec art. 21"],
        )
        .ledger(vec![ev(GuardianGiven, r_this(), 1)])
        .from(Party::Subject),
        case(
            "qc-16-research-parent-and-assent-given",
            &["CA-QC"],
            16,
            r_this(),
            Allow,
            &["Civil Code of Québec art. 21"],
        )
        .ledger(vec![
            ev(GuardianGiven, r_this(), 1),
            ev(Assented, r_this(), 1),
        ]),
        // Source: P-39.1 s. 17: an assessment and a written agreement, no consent route.
        case(
            "qc-transfer-derogation-refused",
            &["CA-QC"],
            40,
            transfer("US"),
            Deny,
            &["P-39.1 s. 17 (no consent route)"],
        )
        .mechanism(Derogation),
        case(
            "qc-transfer-written-agreement",
            &["CA-QC"],
            40,
            transfer("US"),
            Allow,
            &["P-39.1 s. 17 paras. 2-3 (privacy impact assessment and written agreement)"],
        )
        .mechanism(Scc),
        // --- Ontario PHIPA ------------------------------------------------------------------------
        // Source: PHIPA s. 20(2): assumed implied consent in the circle of care.
        case(
            "on-treatment-implied",
            &["CA-ON"],
            40,
            plain(Purpose::Treatment),
            Allow,
            &["PHIPA s. 20(2)"],
        ),
        case(
            "on-treatment-consent-withdrawn",
            &["CA-ON"],
            40,
            plain(Purpose::Treatment),
            Deny,
            &["PHIPA s. 19(1)"],
        )
        .ledger(vec![
            ev(Given, plain(Purpose::Treatment), 1),
            ev(Withdrawn, plain(Purpose::Treatment), 2),
        ]),
        // Source: PHIPA s. 33: express consent for marketing.
        case(
            "on-marketing-needs-express-consent",
            &["CA-ON"],
            40,
            plain(Purpose::Marketing),
            NeedsConsent,
            &["PHIPA s. 33"],
        )
        .from(Party::Subject),
        // Source: PHIPA s. 23(1)2, s. 23(3): below 16 a parent may consent, a capable child prevails.
        case(
            "on-15-research-parent-alone-is-not-enough",
            &["CA-ON"],
            15,
            r_this(),
            NeedsConsent,
            &["PHIPA s. 21, s. 23(1)2, s. 23(3)"],
        )
        .ledger(vec![ev(GuardianGiven, r_this(), 1)])
        .from(Party::Subject),
        // Source: PHIPA s. 37(3), s. 44: research under an REB-approved plan.
        case(
            "on-research-reb-waiver",
            &["CA-ON"],
            40,
            r_this(),
            Allow,
            &["PHIPA s. 37(3), s. 44"],
        )
        .waiver(),
        // Not PIPEDA: SOR/2005-399 exempts Ontario health custodians.
        case(
            "on-not-decided-under-pipeda",
            &["CA-ON"],
            40,
            plain(Purpose::CareOperations),
            Allow,
            &["PHIPA s. 37(1)(a), (d), (e)"],
        ),
        // --- Alberta HIA ----------------------------------------------------------------------------
        // Source: HIA s. 27(1)(a).
        case(
            "ab-treatment-no-consent",
            &["CA-AB"],
            40,
            plain(Purpose::Treatment),
            Allow,
            &["HIA s. 27(1)(a)"],
        ),
        // Source: HIA s. 34(1)-(2): written consent to disclose.
        case(
            "ab-partner-needs-written-consent",
            &["CA-AB"],
            40,
            partner("Acme"),
            NeedsConsent,
            &["HIA s. 34(1)-(2)"],
        )
        .from(Party::Subject),
        // Source: HIA s. 104(1)(c): the guardian acts where the minor does not understand.
        case(
            "ab-17-ai-training-needs-guardian",
            &["CA-AB"],
            17,
            plain(Purpose::AiTraining),
            NeedsConsent,
            &["HIA s. 104(1)(c)"],
        )
        .ledger(vec![ev(Given, plain(Purpose::AiTraining), 1)])
        .from(Party::Guardian),
        // --- Japan (APPI) ---------------------------------------------------------------------------
        // Source: APPI Art. 20(2); PPC/MHLW medical Guidance (presenting for care).
        case(
            "jp-treatment-implied",
            &["JP"],
            40,
            plain(Purpose::Treatment),
            Allow,
            &["APPI Art. 20(2)"],
        ),
        // Source: APPI Art. 18(1): use beyond the published purpose needs prior consent.
        case(
            "jp-ai-training-needs-consent",
            &["JP"],
            40,
            plain(Purpose::AiTraining),
            NeedsConsent,
            &["APPI Art. 18(1)"],
        )
        .from(Party::Subject),
        // Source: APPI Art. 27(1), (2) proviso: no opt-out for special care-required information.
        case(
            "jp-partner-needs-consent",
            &["JP"],
            40,
            partner("Acme"),
            NeedsConsent,
            &["APPI Art. 27(1)"],
        ),
        // Source: APPI Art. 28(1); PPC Notification No. 1 of 2019 (EEA, UK).
        case(
            "jp-transfer-to-de-adequate",
            &["JP"],
            40,
            transfer("DE"),
            Allow,
            &["APPI Art. 28(1); PPC Notification No. 1 of 2019 (EEA member states and the UK)"],
        ),
        // Source: APPI Art. 28(1)-(2); Enforcement Rules Art. 17: consent after information.
        case(
            "jp-transfer-to-us-consent",
            &["JP"],
            40,
            transfer("US"),
            Allow,
            &["APPI Art. 28(1)-(2); Enforcement Rules Art. 17"],
        )
        .mechanism(Derogation)
        .ledger(vec![ev(Given, transfer("US"), 1)]),
        // Source: Civil Code Art. 4, 5(1): no capacity for marketing below 18.
        case(
            "jp-17-marketing-needs-guardian",
            &["JP"],
            17,
            plain(Purpose::Marketing),
            NeedsConsent,
            &["Civil Code Art. 4, Art. 5(1)"],
        )
        .ledger(vec![ev(Given, plain(Purpose::Marketing), 1)])
        .from(Party::Guardian),
        // Source: Ethical Guidelines for Life Science and Medical Research (2021), Ch. 4 No. 9.
        case(
            "jp-15-research-guardian-and-assent",
            &["JP"],
            15,
            r_this(),
            Allow,
            &["Ethical Guidelines for Life Science and Medical Research Involving Human Subjects (MEXT, MHLW, METI, 2021), Chapter 4, No. 9 (informed assent of minors)"],
        )
        .ledger(vec![
            ev(GuardianGiven, r_this(), 1),
            ev(Assented, r_this(), 1),
        ]),
        // --- India: SPDI Rules before 2027-05-13, DPDP from then -----------------------------------
        // Source: SPDI Rules r. 5(1) (written consent before collecting medical records); DPDP not
        // yet in force for obligations (G.S.R. 846(E) r. 1; DPDP commencement notification).
        case(
            "in-2026-treatment-needs-written-consent",
            &["IN"],
            40,
            plain(Purpose::Treatment),
            NeedsConsent,
            &["SPDI Rules r. 5(1)"],
        )
        .from(Party::Subject),
        // Source: DPDP Act s. 7(a) (voluntarily provided for the purpose), from 2027-05-13.
        case(
            "in-2027-treatment-legitimate-use",
            &["IN"],
            40,
            plain(Purpose::Treatment),
            Allow,
            &["DPDP Act s. 7(a)"],
        )
        .at(497),
        // The day before commencement the SPDI Rules still decide.
        case(
            "in-day-before-commencement-spdi",
            &["IN"],
            40,
            plain(Purpose::Treatment),
            NeedsConsent,
            &["SPDI Rules r. 5(1)"],
        )
        .at(496),
        // Source: SPDI r. 5(1); Indian Majority Act s. 3: a 17-year-old's own consent is not enough.
        case(
            "in-2026-17-research-needs-guardian",
            &["IN"],
            17,
            r_this(),
            NeedsConsent,
            &["Indian Majority Act, 1875, s. 3; Indian Contract Act, 1872, s. 11"],
        )
        .ledger(vec![ev(Given, r_this(), 1)])
        .from(Party::Guardian),
        // Source: DPDP Act s. 9(1); DPDP Rules r. 10: verifiable parental consent under 18.
        case(
            "in-2027-17-research-needs-parent",
            &["IN"],
            17,
            r_this(),
            NeedsConsent,
            &["DPDP Act s. 9(1); DPDP Rules r. 10 (verifiable consent of the parent)"],
        )
        .ledger(vec![ev(Given, r_this(), 1)])
        .at(500)
        .from(Party::Guardian),
        case(
            "in-2027-17-research-parent-given",
            &["IN"],
            17,
            r_this(),
            Allow,
            &["DPDP Act s. 6(1)"],
        )
        .ledger(vec![ev(GuardianGiven, r_this(), 1)])
        .at(500),
        // Source: DPDP Act s. 17(2)(b); Rules r. 16, Second Schedule (research exemption).
        case(
            "in-2027-research-exemption",
            &["IN"],
            40,
            r_this(),
            Allow,
            &["DPDP Act s. 17(2)(b); DPDP Rules r. 16, Second Schedule"],
        )
        .waiver()
        .at(500),
        // Source: SPDI Rules r. 7: same level of protection and consent (or a contract).
        case(
            "in-2026-transfer-needs-mechanism",
            &["IN"],
            40,
            transfer("US"),
            NeedsConsent,
            &["SPDI Rules r. 7"],
        )
        .from(Party::Controller),
        // Source: DPDP Act s. 16(1): allowed except to notified countries (none).
        case(
            "in-2027-transfer-allowed",
            &["IN"],
            40,
            transfer("US"),
            Allow,
            &["DPDP Act s. 16(1); DPDP Rules r. 15"],
        )
        .at(500),
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
        let opts = DecideOptions {
            controller: c.controller.map(|x| Jurisdiction::parse(x).unwrap()),
            transfer_mechanism: c.mechanism,
            data_category: c.category.map(str::to_owned),
            sharing_basis: c.sharing,
        };
        let d = decide_with(&req, Some(&ledger), &opts)
            .unwrap_or_else(|err| panic!("{}: {err}", c.name));
        if opts == DecideOptions::default() {
            assert_eq!(decide(&req, Some(&ledger)).unwrap(), d, "{}", c.name);
        }
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
        Jurisdiction::parse("XX").unwrap_err().code(),
        "unknown-jurisdiction"
    );
    assert_eq!(
        "economic-advantage"
            .parse::<SharingBasis>()
            .unwrap_err()
            .code(),
        "unknown-sharing-basis"
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
