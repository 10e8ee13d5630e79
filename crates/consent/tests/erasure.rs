//! Erasure by the controller's law: one row per clinic scenario, each expected answer with its
//! primary source. Retention duties are the controller's; a record kept under a duty stays
//! identified, processing restricted (GDPR Art. 17(3)(b), Art. 18).
#![allow(clippy::unwrap_used, clippy::expect_used)]

use veil_consent::{
    ErasureAction, ErasureInstruction, ErasureRecord, Jurisdiction, erasure_for_controller,
};

use ErasureAction::{Delete, NotifyRecipients, RetainRestricted, StopProcessing};
use ErasureRecord::{
    ConsentDocumentation, DeviceReadings, IdentityLayer, MedicalRecord, SecondaryUseCopies,
};

struct Row {
    name: &'static str,
    subject: &'static [&'static str],
    controller: &'static str,
    /// (record, action, retain_years, a citation the step must carry)
    expect: &'static [(ErasureRecord, ErasureAction, Option<u32>, &'static str)],
    conflict: bool,
}

fn find(
    steps: &[ErasureInstruction],
    r: ErasureRecord,
    a: ErasureAction,
) -> Option<&ErasureInstruction> {
    steps.iter().find(|s| s.record == r && s.action == a)
}

fn rows() -> Vec<Row> {
    vec![
        // Ontario clinic (a PHIPA custodian, not PIPEDA: SOR/2005-399): the physician's record is
        // kept 10 years (O. Reg. 114/94 s. 19(1)), identified.
        Row {
            name: "on-patient-on-clinic",
            subject: &["CA-ON"],
            controller: "CA-ON",
            expect: &[(
                MedicalRecord,
                RetainRestricted,
                Some(10),
                "O. Reg. 114/94 (Medicine Act, 1991), s. 19(1)",
            )],
            conflict: false,
        },
        // Quebec patient of a Japanese clinic: the clinic's law keeps the record 5 years (Medical
        // Practitioners' Act Art. 24(2)), not Quebec's; P-39.1 s. 23 para. 1 honours only a
        // preservation period of an Act of Quebec, so the conflict is stated.
        Row {
            name: "qc-patient-jp-clinic",
            subject: &["CA-QC"],
            controller: "JP",
            expect: &[(
                MedicalRecord,
                RetainRestricted,
                Some(5),
                "Medical Practitioners' Act Art. 24(2)",
            )],
            // P-39.1 s. 23 honours a preservation period "provided by an Act" (Quebec's), not
            // Japan's: the conflict is stated.
            conflict: true,
        },
        // German clinic: BGB § 630f(3) 10 years, honoured by GDPR Art. 17(3)(b) (member-state
        // law); the record stays attributable (inspection right BGB § 630g).
        Row {
            name: "de-patient-de-clinic",
            subject: &["DE"],
            controller: "DE",
            expect: &[
                (IdentityLayer, RetainRestricted, Some(10), "BGB § 630f(3)"),
                (
                    MedicalRecord,
                    RetainRestricted,
                    Some(10),
                    "GDPR Art. 17(3)(b)",
                ),
                (MedicalRecord, RetainRestricted, Some(10), "GDPR Art. 18"),
                (SecondaryUseCopies, StopProcessing, None, "GDPR Art. 7(3)"),
                (SecondaryUseCopies, Delete, None, "GDPR Art. 17(1)"),
                (SecondaryUseCopies, NotifyRecipients, None, "GDPR Art. 19"),
                (
                    ConsentDocumentation,
                    RetainRestricted,
                    None,
                    "GDPR Art. 7(1)",
                ),
                (DeviceReadings, Delete, None, "GDPR Art. 17(1)"),
            ],
            conflict: false,
        },
        // French clinic: CSP R1112-7, 20 years from the last stay or consultation.
        Row {
            name: "de-patient-fr-clinic",
            subject: &["DE"],
            controller: "FR",
            expect: &[(
                MedicalRecord,
                RetainRestricted,
                Some(20),
                "Code de la santé publique, Art. R1112-7",
            )],
            conflict: false,
        },
        // The patient's residence does not set the period: a French patient of a German clinic
        // is kept 10 years (BGB § 630f(3)), not 20.
        Row {
            name: "fr-patient-de-clinic",
            subject: &["FR"],
            controller: "DE",
            expect: &[(MedicalRecord, RetainRestricted, Some(10), "BGB § 630f(3)")],
            conflict: false,
        },
        // California clinic, California patient: HIPAA has no erasure right (45 CFR 164.526 is
        // amendment), CCPA § 1798.105 does not reach CMIA/HIPAA medical information
        // (§ 1798.146(a)); the record is kept 7 years (H&S § 123145(a)); HIPAA documentation 6
        // years (164.530(j)(2)); nothing is deleted, consent-based uses stop (164.508(b)(5)).
        Row {
            name: "us-ca-patient-us-ca-clinic",
            subject: &["US-CA"],
            controller: "US-CA",
            expect: &[
                (
                    MedicalRecord,
                    RetainRestricted,
                    Some(7),
                    "Cal. Health & Safety Code § 123145(a)",
                ),
                (
                    IdentityLayer,
                    RetainRestricted,
                    Some(7),
                    "Cal. Civ. Code § 1798.146(a)",
                ),
                (
                    SecondaryUseCopies,
                    StopProcessing,
                    None,
                    "45 CFR 164.508(b)(5)",
                ),
                (
                    ConsentDocumentation,
                    RetainRestricted,
                    Some(6),
                    "45 CFR 164.530(j)(2)",
                ),
            ],
            conflict: false,
        },
        // EU patient of a California clinic: the CA duty binds the clinic; GDPR Art. 17(3)(b)
        // honours only Union or member-state law: the conflict is stated.
        Row {
            name: "de-patient-us-ca-clinic",
            subject: &["DE"],
            controller: "US-CA",
            expect: &[
                (
                    MedicalRecord,
                    RetainRestricted,
                    Some(7),
                    "Cal. Health & Safety Code § 123145(a)",
                ),
                (SecondaryUseCopies, Delete, None, "GDPR Art. 17(1)"),
            ],
            conflict: true,
        },
        // A US patient of a German clinic: GDPR applies to the controller (Art. 3(1)); BGB keeps
        // the record 10 years.
        Row {
            name: "us-patient-de-clinic",
            subject: &["US"],
            controller: "DE",
            expect: &[
                (MedicalRecord, RetainRestricted, Some(10), "BGB § 630f(3)"),
                (SecondaryUseCopies, Delete, None, "GDPR Art. 17(1)"),
            ],
            conflict: false,
        },
        // Brazilian clinic: Lei 13.787/2018 Art. 6, 20 years; LGPD Art. 16, I.
        Row {
            name: "br-patient-br-clinic",
            subject: &["BR"],
            controller: "BR",
            expect: &[
                (
                    MedicalRecord,
                    RetainRestricted,
                    Some(20),
                    "Lei nº 13.787/2018, Art. 6",
                ),
                (MedicalRecord, RetainRestricted, Some(20), "LGPD Art. 16, I"),
                (SecondaryUseCopies, Delete, None, "LGPD Art. 18, VI"),
            ],
            conflict: false,
        },
        // Swiss clinic: OR Art. 128a is a limitation period, not a duty; the duty is cantonal
        // (no reviewed period: retain_years null).
        Row {
            name: "ch-patient-ch-clinic",
            subject: &["CH"],
            controller: "CH",
            expect: &[(
                MedicalRecord,
                RetainRestricted,
                None,
                "cantonal health legislation (not reviewed by Veil)",
            )],
            conflict: false,
        },
        // Italian and Austrian clinics: every member state's health law keeps the medical record
        // (GDPR Art. 17(3)(b), (c)); Veil holds no reviewed period for them, so the record is kept,
        // restricted, for the period that law sets (retain_years null), never deleted.
        Row {
            name: "it-patient-it-clinic",
            subject: &["IT"],
            controller: "IT",
            expect: &[
                (
                    MedicalRecord,
                    RetainRestricted,
                    None,
                    "member-state health-records legislation (not reviewed by Veil)",
                ),
                (IdentityLayer, RetainRestricted, None, "GDPR Art. 17(3)(b)"),
            ],
            conflict: false,
        },
        Row {
            name: "us-patient-at-clinic",
            subject: &["US"],
            controller: "AT",
            expect: &[(
                MedicalRecord,
                RetainRestricted,
                None,
                "member-state health-records legislation (not reviewed by Veil)",
            )],
            conflict: false,
        },
        // UK clinic: Records Management Code of Practice 2023, 8 years for adult records.
        Row {
            name: "gb-patient-gb-clinic",
            subject: &["GB"],
            controller: "GB",
            expect: &[
                (
                    MedicalRecord,
                    RetainRestricted,
                    Some(8),
                    "UK GDPR Art. 17(3)(b)",
                ),
                (
                    SecondaryUseCopies,
                    NotifyRecipients,
                    None,
                    "UK GDPR Art. 19",
                ),
            ],
            conflict: false,
        },
        // NSW clinic: Health Records and Information Privacy Act 2002 (NSW) s. 25(1), 7 years; the
        // APPs grant no erasure right (APP 13 is correction).
        Row {
            name: "au-nsw-patient-au-nsw-clinic",
            subject: &["AU-NSW"],
            controller: "AU-NSW",
            expect: &[
                (
                    MedicalRecord,
                    RetainRestricted,
                    Some(7),
                    "Health Records and Information Privacy Act 2002 (NSW) s. 25(1)",
                ),
                (
                    SecondaryUseCopies,
                    StopProcessing,
                    None,
                    "OAIC, Australian Privacy Principles Guidelines, Chapter B (withdrawal of consent)",
                ),
            ],
            conflict: false,
        },
        // Korean clinic: Medical Service Act Enforcement Rule Art. 15(1), 10 years; the PIPA
        // deletion right yields to a statute that requires keeping (Art. 36(1) proviso).
        Row {
            name: "kr-patient-kr-clinic",
            subject: &["KR"],
            controller: "KR",
            expect: &[
                (
                    MedicalRecord,
                    RetainRestricted,
                    Some(10),
                    "Medical Service Act Art. 22(2); Enforcement Rule Art. 15(1)",
                ),
                (SecondaryUseCopies, Delete, None, "PIPA Art. 36(1)"),
            ],
            conflict: false,
        },
        // Canadian clinic: PIPEDA has no erasure right (Principle 4.5.3 is the organisation's
        // duty); provincial law sets the period (not reviewed).
        Row {
            name: "ca-patient-ca-clinic",
            subject: &["CA"],
            controller: "CA",
            expect: &[(
                MedicalRecord,
                RetainRestricted,
                None,
                "provincial health-records legislation (not reviewed by Veil)",
            )],
            conflict: false,
        },
    ]
}

#[test]
fn erasure_table() {
    let mut failures = Vec::new();
    for row in rows() {
        let js = Jurisdiction::parse_list(row.subject).unwrap();
        let c = Jurisdiction::parse(row.controller).unwrap();
        let plan = erasure_for_controller(&js, &c).unwrap();
        for (record, action, years, cite) in row.expect {
            match find(&plan.steps, *record, *action) {
                None => failures.push(format!("{}: no {record:?} {action:?}", row.name)),
                Some(s) => {
                    if s.retain_years != *years {
                        failures.push(format!(
                            "{}: {record:?} years {:?} != {years:?}",
                            row.name, s.retain_years
                        ));
                    }
                    if !s.citations.iter().any(|x| x == cite) {
                        failures.push(format!(
                            "{}: {record:?} {action:?} lacks `{cite}` in {:?}",
                            row.name, s.citations
                        ));
                    }
                }
            }
        }
        if row.conflict == plan.conflicts.is_empty() {
            failures.push(format!("{}: conflicts {:?}", row.name, plan.conflicts));
        }
        // Never strip the identity from a record kept under a duty.
        if find(&plan.steps, MedicalRecord, RetainRestricted).is_some()
            && find(&plan.steps, IdentityLayer, Delete).is_some()
        {
            failures.push(format!(
                "{}: identity deleted from a retained record",
                row.name
            ));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[test]
fn steps_have_exactly_the_documented_shape() {
    let js = Jurisdiction::parse_list(["DE"]).unwrap();
    let plan = erasure_for_controller(&js, &Jurisdiction::parse("DE").unwrap()).unwrap();
    let v = serde_json::to_value(&plan).unwrap();
    for (step, s) in plan.steps.iter().zip(v["steps"].as_array().unwrap()) {
        // The keys, in this order, and no others.
        let text = serde_json::to_string(step).unwrap();
        let at: Vec<usize> = [
            "\"record\":",
            "\"action\":",
            "\"retain_years\":",
            "\"citations\":",
            "\"detail\":",
        ]
        .iter()
        .map(|k| text.find(k).unwrap())
        .collect();
        assert!(at.windows(2).all(|w| w[0] < w[1]), "{text}");
        assert_eq!(s.as_object().unwrap().len(), 5);
        let record = s["record"].as_str().unwrap();
        assert!(
            [
                "identity-layer",
                "medical-record",
                "secondary-use-copies",
                "consent-documentation",
                "device-readings"
            ]
            .contains(&record)
        );
        let action = s["action"].as_str().unwrap();
        assert!(
            [
                "delete",
                "retain-restricted",
                "pseudonymise",
                "stop-processing",
                "notify-recipients"
            ]
            .contains(&action)
        );
    }
}
