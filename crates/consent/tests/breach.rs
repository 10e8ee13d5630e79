//! Breach clocks: one row per clinic scenario, each expected notice with its primary source.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use veil_consent::{
    Affected, Coded, Jurisdiction, Timestamp, breach_schedule_for, breach_schedule_for_controller,
};

struct Row {
    name: &'static str,
    discovered: &'static str,
    js: &'static [&'static str],
    affected: &'static [&'static str],
    /// (citation, deadline or None, asap)
    present: &'static [(&'static str, Option<&'static str>, bool)],
    absent: &'static [&'static str],
    /// Citation of the leading notice.
    leading: Option<&'static str>,
}

fn rows() -> Vec<Row> {
    vec![
        // GDPR Art. 33(1): 72 hours to the authority; HIPAA 164.404(b) 60 days to individuals,
        // 164.408(b) HHS at the same time when 500 or more. The 72 hours lead.
        Row {
            name: "de-us-600",
            discovered: "2026-11-23T10:00:00Z",
            js: &["DE", "US"],
            affected: &["600"],
            present: &[
                ("GDPR Art. 33(1)", Some("2026-11-26T10:00:00Z"), false),
                ("45 CFR 164.404(b)", Some("2027-01-22T10:00:00Z"), false),
                ("45 CFR 164.408(b)", Some("2027-01-22T10:00:00Z"), false),
            ],
            absent: &["45 CFR 164.408(c)"],
            leading: Some("GDPR Art. 33(1)"),
        },
        // nFADP Art. 24(1): "as soon as possible" leads; HIPAA's 60 days must not.
        Row {
            name: "ch-us-asap-leads",
            discovered: "2026-11-23T10:00:00Z",
            js: &["CH", "US"],
            affected: &["10"],
            present: &[
                ("nFADP Art. 24(1)", None, true),
                ("45 CFR 164.404(b)", Some("2027-01-22T10:00:00Z"), false),
                ("45 CFR 164.408(c)", Some("2027-03-01T23:59:59Z"), false),
            ],
            absent: &["45 CFR 164.408(b)", "45 CFR 164.406(a)"],
            leading: Some("nFADP Art. 24(1)"),
        },
        // PIPEDA s. 10.1: "as soon as feasible" leads.
        Row {
            name: "ca-us-asap-leads",
            discovered: "2026-05-04T08:00:00Z",
            js: &["CA", "US"],
            affected: &["50"],
            present: &[
                ("PIPEDA s. 10.1(1)-(2)", None, true),
                ("PIPEDA s. 10.1(3), (6)", None, true),
            ],
            absent: &[],
            leading: Some("PIPEDA s. 10.1(1)-(2)"),
        },
        // SB 446: Cal. Civ. Code § 1798.82(a) 30 calendar days; § 1798.82(f) the AG within 15
        // days after, when more than 500 Californians; HIPAA media 164.406(a): more than 500
        // residents of one State; HHS 164.408(b): 500 or more in total.
        Row {
            name: "us-ca-612-californians",
            discovered: "2026-03-02T00:00:00Z",
            js: &[],
            affected: &["US-CA=612", "US-NV=20"],
            present: &[
                (
                    "Cal. Civ. Code § 1798.82(a)",
                    Some("2026-04-01T00:00:00Z"),
                    false,
                ),
                (
                    "Cal. Civ. Code § 1798.82(f)",
                    Some("2026-04-16T00:00:00Z"),
                    false,
                ),
                ("45 CFR 164.406(a)", Some("2026-05-01T00:00:00Z"), false),
                ("45 CFR 164.408(b)", Some("2026-05-01T00:00:00Z"), false),
            ],
            absent: &[
                "45 CFR 164.408(c)",
                "Cal. Civ. Code § 1798.82(a) (before SB 446)",
            ],
            leading: Some("Cal. Health & Safety Code § 1280.15(b)"),
        },
        // 700 in total but no State with more than 500: HHS yes (164.408(b)), media no
        // (164.406(a)), Attorney General no (§ 1798.82(f)).
        Row {
            name: "us-700-spread-over-states",
            discovered: "2026-03-02T00:00:00Z",
            js: &[],
            affected: &["US-CA=400", "US-NY=300"],
            present: &[("45 CFR 164.408(b)", Some("2026-05-01T00:00:00Z"), false)],
            absent: &["45 CFR 164.406(a)", "Cal. Civ. Code § 1798.82(f)"],
            leading: Some("Cal. Health & Safety Code § 1280.15(b)"),
        },
        // Texas residents only: media when more than 500 in one State (164.406(a)); the Texas
        // Attorney General's 30 days (§ 521.053(i)) lead.
        Row {
            name: "us-tx-501",
            discovered: "2026-03-02T00:00:00Z",
            js: &[],
            affected: &["US-TX=501"],
            present: &[("45 CFR 164.406(a)", Some("2026-05-01T00:00:00Z"), false)],
            absent: &["Cal. Civ. Code § 1798.82(a)"],
            leading: Some("Tex. Bus. & Com. Code § 521.053(i)"),
        },
        // Discovered before SB 446 was in force: no fixed California deadline.
        Row {
            name: "us-ca-before-sb446",
            discovered: "2025-12-30T00:00:00Z",
            js: &["US-CA"],
            affected: &["10"],
            present: &[("Cal. Civ. Code § 1798.82(a) (before SB 446)", None, false)],
            absent: &["Cal. Civ. Code § 1798.82(a)"],
            leading: Some("Cal. Health & Safety Code § 1280.15(b)"),
        },
        // Australia: the assessment within 30 days (s. 26WH(2)); the Commissioner and the
        // individuals as soon as practicable (s. 26WK(2), 26WL(3)), which lead.
        Row {
            name: "au-ndb",
            discovered: "2026-03-02T00:00:00Z",
            js: &["AU"],
            affected: &["40"],
            present: &[
                (
                    "Privacy Act 1988 s. 26WH(2)",
                    Some("2026-04-01T00:00:00Z"),
                    false,
                ),
                ("Privacy Act 1988 s. 26WK(2)", None, true),
                ("Privacy Act 1988 s. 26WL(3)", None, true),
            ],
            absent: &[],
            leading: Some("Privacy Act 1988 s. 26WK(2)"),
        },
        // Singapore: the PDPC within 3 calendar days (s. 26D(1)); individuals as soon as
        // practicable (s. 26D(2)), which leads.
        Row {
            name: "sg-3-days",
            discovered: "2026-03-02T00:00:00Z",
            js: &["SG"],
            affected: &["600"],
            present: &[
                ("PDPA s. 26D(1)", Some("2026-03-05T00:00:00Z"), false),
                ("PDPA s. 26C(2)", Some("2026-04-01T00:00:00Z"), false),
                ("PDPA s. 26D(2)", None, true),
            ],
            absent: &[],
            leading: Some("PDPA s. 26D(2)"),
        },
        // Texas: individuals within 60 days (§ 521.053(b)); the Attorney General within 30 days
        // when at least 250 Texans (§ 521.053(i)), counted per State.
        Row {
            name: "us-tx-300-texans",
            discovered: "2026-03-02T00:00:00Z",
            js: &[],
            affected: &["US-TX=300", "US-CA=10"],
            present: &[
                (
                    "Tex. Bus. & Com. Code § 521.053(b)",
                    Some("2026-05-01T00:00:00Z"),
                    false,
                ),
                (
                    "Tex. Bus. & Com. Code § 521.053(i)",
                    Some("2026-04-01T00:00:00Z"),
                    false,
                ),
            ],
            absent: &["45 CFR 164.406(a)", "Cal. Civ. Code § 1798.82(f)"],
            leading: Some("Cal. Health & Safety Code § 1280.15(b)"),
        },
        Row {
            name: "us-tx-200-texans-no-ag",
            discovered: "2026-03-02T00:00:00Z",
            js: &[],
            affected: &["US-TX=200"],
            present: &[(
                "Tex. Bus. & Com. Code § 521.053(b)",
                Some("2026-05-01T00:00:00Z"),
                false,
            )],
            absent: &["Tex. Bus. & Com. Code § 521.053(i)"],
            // Same day as § 521.053(b); HIPAA comes first in file order.
            leading: Some("45 CFR 164.404(b)"),
        },
        // Korea: subjects and the PIPC within 72 hours (health data is sensitive information).
        Row {
            name: "kr-72-hours",
            discovered: "2026-03-02T08:00:00Z",
            js: &["KR"],
            affected: &["5"],
            present: &[
                (
                    "PIPA Art. 34(1); Enforcement Decree Art. 39(1)",
                    Some("2026-03-05T08:00:00Z"),
                    false,
                ),
                (
                    "PIPA Art. 34(3); Enforcement Decree Art. 40(1)",
                    Some("2026-03-05T08:00:00Z"),
                    false,
                ),
            ],
            absent: &[],
            leading: Some("PIPA Art. 34(1); Enforcement Decree Art. 39(1)"),
        },
        // China: the authorities and individuals immediately (PIPL Art. 57): asap leads.
        Row {
            name: "cn-immediately",
            discovered: "2026-03-02T08:00:00Z",
            js: &["CN", "DE"],
            affected: &["5"],
            present: &[
                ("PIPL Art. 57", None, true),
                ("GDPR Art. 33(1)", Some("2026-03-05T08:00:00Z"), false),
            ],
            absent: &[],
            leading: Some("PIPL Art. 57"),
        },
        // LGPD Art. 48 with Resolution CD/ANPD 15/2024 Art. 6: three working days.
        Row {
            name: "br-3-working-days",
            discovered: "2026-11-27T09:00:00Z",
            js: &["BR"],
            affected: &["1"],
            present: &[(
                "LGPD Art. 48; Resolution CD/ANPD nº 15/2024, Art. 6",
                Some("2026-12-02T09:00:00Z"),
                false,
            )],
            absent: &[],
            leading: Some("LGPD Art. 48; Resolution CD/ANPD nº 15/2024, Art. 6"),
        },
        // APPI Art. 26(1); Enforcement Rules Art. 8: preliminary report promptly (asap, leads),
        // final report within 30 days; principals promptly (Rules Art. 10).
        Row {
            name: "jp-preliminary-and-final",
            discovered: "2026-11-23T10:00:00Z",
            js: &["JP"],
            affected: &["1"],
            present: &[
                (
                    "APPI Art. 26(1); Enforcement Rules Art. 7(i), Art. 8(1)",
                    None,
                    true,
                ),
                (
                    "APPI Art. 26(1); Enforcement Rules Art. 8(2)",
                    Some("2026-12-23T10:00:00Z"),
                    false,
                ),
                ("APPI Art. 26(2); Enforcement Rules Art. 10", None, true),
            ],
            absent: &[],
            leading: Some("APPI Art. 26(1); Enforcement Rules Art. 7(i), Art. 8(1)"),
        },
        // Quebec: P-39.1 s. 3.5 promptly to the CAI and the persons; Ontario PHIPA s. 12(2)-(3)
        // at the first reasonable opportunity, O. Reg. 329/04 s. 6.4 annual report by March 1;
        // Alberta HIA s. 60.1(2) as soon as practicable. PIPEDA does not apply in these provinces.
        Row {
            name: "qc-on-ab-provincial-clocks",
            discovered: "2026-11-23T10:00:00Z",
            js: &["CA-QC", "CA-ON", "CA-AB"],
            affected: &["10"],
            present: &[
                (
                    "P-39.1 s. 3.5 para. 2; Regulation respecting confidentiality incidents, s. 3",
                    None,
                    true,
                ),
                ("PHIPA s. 12(2)", None, true),
                ("PHIPA s. 12(3); O. Reg. 329/04, s. 6.3", None, true),
                (
                    "O. Reg. 329/04, s. 6.4",
                    Some("2027-02-28T23:59:59Z"),
                    false,
                ),
                (
                    "HIA s. 60.1(2); Health Information Regulation, Alta. Reg. 70/2001, s. 8.1",
                    None,
                    true,
                ),
            ],
            absent: &["PIPEDA s. 10.1(1)-(2)"],
            leading: Some(
                "P-39.1 s. 3.5 para. 2; Regulation respecting confidentiality incidents, s. 3",
            ),
        },
        // India before 2027-05-13: no DPDP duty yet (G.S.R. 846(E) r. 1(2)); CERT-In Directions of
        // 28 April 2022: 6 hours.
        Row {
            name: "in-2026-cert-in-only",
            discovered: "2026-11-23T10:00:00Z",
            js: &["IN"],
            affected: &["100"],
            present: &[(
                "CERT-In Directions No. 20(3)/2022-CERT-In of 28 April 2022, para. (ii), under IT Act s. 70B(6)",
                Some("2026-11-23T16:00:00Z"),
                false,
            )],
            absent: &["DPDP Act s. 8(6); DPDP Rules r. 7(2)(a)"],
            leading: Some(
                "CERT-In Directions No. 20(3)/2022-CERT-In of 28 April 2022, para. (ii), under IT Act s. 70B(6)",
            ),
        },
        // India from 2027-05-13: DPDP Act s. 8(6), Rules r. 7: intimation to the Board and the
        // principals without delay (asap, leads), the detailed report within 72 hours.
        Row {
            name: "in-2027-dpdp-board",
            discovered: "2027-06-01T00:00:00Z",
            js: &["IN"],
            affected: &["100"],
            present: &[
                ("DPDP Act s. 8(6); DPDP Rules r. 7(2)(a)", None, true),
                (
                    "DPDP Act s. 8(6); DPDP Rules r. 7(2)(b)",
                    Some("2027-06-04T00:00:00Z"),
                    false,
                ),
                ("DPDP Act s. 8(6); DPDP Rules r. 7(1)", None, true),
            ],
            absent: &[],
            leading: Some("DPDP Act s. 8(6); DPDP Rules r. 7(2)(a)"),
        },
    ]
}

#[test]
fn breach_table() {
    let mut failures = Vec::new();
    for row in rows() {
        let t = Timestamp::parse(row.discovered).unwrap();
        let js: Vec<Jurisdiction> = row
            .js
            .iter()
            .map(|j| Jurisdiction::parse(j).unwrap())
            .collect();
        let a = Affected::parse(row.affected).unwrap();
        let s = breach_schedule_for(t, &js, &a).unwrap();
        for (cite, deadline, asap) in row.present {
            match s.notices.iter().find(|n| n.citation == *cite) {
                None => failures.push(format!("{}: no `{cite}`", row.name)),
                Some(n) => {
                    let got = n.deadline.map(Timestamp::to_rfc3339);
                    if got.as_deref() != *deadline || n.asap != *asap {
                        failures.push(format!(
                            "{}: `{cite}` deadline {got:?} asap {} (want {deadline:?} {asap})",
                            row.name, n.asap
                        ));
                    }
                }
            }
        }
        for cite in row.absent {
            if s.notices.iter().any(|n| n.citation == *cite) {
                failures.push(format!("{}: unexpected `{cite}`", row.name));
            }
        }
        let lead = s.leading.as_ref().map(|n| n.citation.as_str());
        if lead != row.leading {
            failures.push(format!(
                "{}: leading {lead:?} != {:?}",
                row.name, row.leading
            ));
        }
        // Every notice has the documented keys.
        let v = serde_json::to_value(&s).unwrap();
        for n in v["notices"].as_array().unwrap() {
            let mut keys: Vec<&str> = n.as_object().unwrap().keys().map(String::as_str).collect();
            keys.sort_unstable();
            assert_eq!(
                keys,
                [
                    "asap",
                    "citation",
                    "deadline",
                    "recipient",
                    "regime",
                    "when"
                ]
            );
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[test]
fn affected_counts_are_read_strictly() {
    let a = Affected::parse(["1000", "US-CA=600", "us-ca=10", "DE=5"]).unwrap();
    assert_eq!(a.total, 1000);
    assert_eq!(a.by_region.len(), 2);
    assert_eq!(a.by_region[0].1, 610);
    assert_eq!(Affected::parse(["US-CA=3", "US-NY=4"]).unwrap().total, 7);
    for bad in [
        &["x"][..],
        &["10", "20"],
        &["US-CA=abc"],
        &["5", "US-CA=6"],
        &[],
        &["-3"],
        &["99999999999"],
    ] {
        assert_eq!(
            Affected::parse(bad).unwrap_err().code(),
            "bad-affected",
            "{bad:?}"
        );
    }
    assert_eq!(
        Affected::parse(["XX=3"]).unwrap_err().code(),
        "unknown-jurisdiction"
    );
}

#[test]
fn the_controllers_law_binds_wherever_the_people_live() {
    // A German clinic, a breach of 600 US residents' records: GDPR Art. 33(1) binds the
    // controller established in the Union (Art. 3(1)) whoever the data subjects are; HIPAA's
    // 60-day notices stay.
    let t = Timestamp::parse("2026-11-23T10:00:00Z").unwrap();
    let us = [Jurisdiction::parse("US").unwrap()];
    let a = Affected::total(600);
    let gdpr = |s: &veil_consent::BreachSchedule| {
        s.notices
            .iter()
            .any(|n| n.citation.starts_with("GDPR Art. 33"))
    };
    let without = breach_schedule_for(t, &us, &a).unwrap();
    assert!(!gdpr(&without));
    let de = Jurisdiction::parse("DE").unwrap();
    let with = breach_schedule_for_controller(t, &us, &a, Some(&de)).unwrap();
    assert!(gdpr(&with), "{:?}", with.notices);
    assert!(with.notices.iter().any(|n| n.citation.contains("164.404")));
    let lead = with.leading.as_ref().unwrap();
    assert!(lead.citation.starts_with("GDPR Art. 33"), "{lead:?}");
    // The controller alone names a law: a schedule with no subject jurisdiction listed.
    assert!(gdpr(
        &breach_schedule_for_controller(t, &[], &a, Some(&de)).unwrap()
    ));
}
