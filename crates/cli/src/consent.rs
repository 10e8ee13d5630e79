//! `veil consent`: decide, breach, erasure, export-fhir, import-fhir.
//!
//! Only wiring: arguments and files in, `veil-consent` decides, JSON out on stdout. Every error
//! (unknown purpose, jurisdiction, FHIR code, bad time) is a failure with `veil-consent`'s code (or
//! `io` for a file), which `main` prints; a decision of `deny` or `needs-consent` is a successful
//! answer (exit 0).

use std::path::{Path, PathBuf};

use clap::{Args, Subcommand};
use veil_consent::{
    ConsentError, ConsentLedger, DecideOptions, DecisionRequest, Jurisdiction, PurposeScope,
    Subject, Timestamp, TransferMechanism, Waiver,
};

use crate::failure::{self, Failure};

/// Largest input file read (ledger or bundle).
const MAX_INPUT: u64 = 16 * 1024 * 1024;

/// Subcommands of `veil consent`.
#[derive(Debug, Subcommand)]
pub enum ConsentCommand {
    /// Decide whether a purpose is allowed for a subject; prints the decision as JSON.
    Decide(Box<DecideArgs>),
    /// Breach notification deadlines for the affected subjects' jurisdictions.
    Breach(BreachArgs),
    /// The answer to an erasure request: steps per record, retention by the controller's law.
    Erasure(ErasureArgs),
    /// Print a ledger as a FHIR R4 Bundle of Consent resources.
    ExportFhir(ExportArgs),
    /// Read a FHIR R4 Bundle (or Consent) and print the ledger.
    ImportFhir(ImportArgs),
}

/// Arguments of `veil consent decide`.
#[derive(Debug, Args)]
pub struct DecideArgs {
    /// Jurisdiction code (ISO 3166-1 alpha-2 or subdivision: DE, FR, GB, US, US-CA, CA, BR, CH, ...);
    /// repeat (or comma-separate) for a subject under several.
    #[arg(long = "jurisdiction", required = true, value_delimiter = ',')]
    jurisdictions: Vec<String>,
    /// Age in whole years.
    #[arg(long)]
    age: u32,
    /// Purpose id from the catalogue (treatment, care-operations, research, product-improvement,
    /// ai-training, marketing, partner-sharing, cross-border-transfer, third-party-printing).
    #[arg(long)]
    purpose: String,
    /// Research tier (this-study, related-studies, any-research); research without one is
    /// this-study, the narrowest.
    #[arg(long)]
    tier: Option<String>,
    /// Partner portal name (partner-sharing).
    #[arg(long)]
    partner: Option<String>,
    /// Destination country, ISO 3166-1 alpha-2 (cross-border-transfer).
    #[arg(long)]
    country: Option<String>,
    /// Ledger JSON (as printed by `import-fhir` or written by the app).
    #[arg(long)]
    ledger: Option<PathBuf>,
    /// Kept for older scripts; not evidence: a guardian's consent and a minor's assent count only
    /// as `guardian-given` / `assented` events in the ledger (GDPR Art. 7(1)).
    #[arg(long)]
    guardian_consent: bool,
    /// The controller's (clinic's) jurisdiction: its law applies too (GDPR Art. 3(1)).
    #[arg(long)]
    controller: Option<String>,
    /// The safeguard of a cross-border transfer: adequacy, scc, bcr, dpf or derogation (the
    /// subject's explicit consent to an occasional transfer).
    #[arg(long)]
    transfer_mechanism: Option<String>,
    /// A data category with its own law on top of the others: substance-use (42 CFR Part 2),
    /// consumer-health-data (health data outside HIPAA: Washington RCW 19.373).
    #[arg(long)]
    data_category: Option<String>,
    /// Why health data is shared with another controller, where a law bars sharing it for economic
    /// advantage (LGPD Art. 11 §4): no-economic-advantage, health-services,
    /// pharmaceutical-assistance, health-care, portability or transactions.
    #[arg(long)]
    sharing_basis: Option<String>,
    /// Reference of an ethics committee / IRB waiver (research). Allows only where the law names
    /// no documentation Veil checks (PIPEDA, LGPD, HRA, ...); under HIPAA (45 CFR 164.512(i)(2))
    /// only a `waived` ledger event with every element does.
    #[arg(long)]
    irb_waiver: Option<String>,
    /// Time of the use (RFC 3339 or unix seconds); default: now.
    #[arg(long)]
    at: Option<String>,
}

/// Arguments of `veil consent breach`.
#[derive(Debug, Args)]
pub struct BreachArgs {
    /// When the breach was discovered (RFC 3339 or unix seconds).
    #[arg(long)]
    discovered: String,
    /// Jurisdictions of the affected subjects (repeat or comma-separate); the codes of
    /// `--affected CODE=N` count too.
    #[arg(long = "jurisdiction", value_delimiter = ',')]
    jurisdictions: Vec<String>,
    /// Affected subjects: a total `N`, or per region `CODE=N` (repeat: `--affected US-CA=612
    /// --affected US-NV=20`); thresholds that count one State's residents are counted per region.
    #[arg(long, required = true, value_delimiter = ',')]
    affected: Vec<String>,
    /// The controller's (clinic's) jurisdiction: its law's duties apply wherever the affected
    /// people live (GDPR Art. 3(1) and 33; the HIPAA breach rule binds the covered entity).
    #[arg(long)]
    controller: Option<String>,
}

/// Arguments of `veil consent erasure`.
#[derive(Debug, Args)]
pub struct ErasureArgs {
    /// The subject's jurisdictions (repeat or comma-separate).
    #[arg(long = "jurisdiction", required = true, value_delimiter = ',')]
    jurisdictions: Vec<String>,
    /// The controller's (clinic's) jurisdiction: its law sets the retention duties.
    #[arg(long)]
    controller: String,
}

/// Arguments of `veil consent export-fhir`.
#[derive(Debug, Args)]
pub struct ExportArgs {
    /// The ledger JSON.
    ledger: PathBuf,
    /// Also mark consents whose expiry passed by this time as inactive.
    #[arg(long)]
    at: Option<String>,
}

/// Arguments of `veil consent import-fhir`.
#[derive(Debug, Args)]
pub struct ImportArgs {
    /// The FHIR Bundle (or single Consent) JSON.
    bundle: PathBuf,
}

/// Run a `veil consent` subcommand.
pub fn run(cmd: ConsentCommand) -> Result<(), Failure> {
    crate::print_line(execute(cmd)?)
}

fn read(path: &Path) -> Result<Vec<u8>, Failure> {
    let len = std::fs::metadata(path)
        .map_err(|e| Failure::io(path, &e))?
        .len();
    if len > MAX_INPUT {
        return Err(Failure::new(
            failure::IO,
            format!("{}: larger than {MAX_INPUT} bytes", path.display()),
        ));
    }
    std::fs::read(path).map_err(|e| Failure::io(path, &e))
}

fn now() -> Timestamp {
    let secs = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_secs()).unwrap_or(i64::MAX));
    Timestamp(secs)
}

fn json(v: &impl serde::Serialize) -> Result<String, Failure> {
    serde_json::to_string(v).map_err(|e| ConsentError::from(e).into())
}

fn execute(cmd: ConsentCommand) -> Result<String, Failure> {
    match cmd {
        ConsentCommand::Decide(a) => {
            let scope =
                PurposeScope::from_parts(&a.purpose, a.tier.as_deref(), a.partner, a.country)?;
            let at = match &a.at {
                Some(s) => Timestamp::parse(s)?,
                None => now(),
            };
            let ledger = match &a.ledger {
                Some(p) => Some(ConsentLedger::from_json(&read(p)?)?),
                None => None,
            };
            let req = DecisionRequest {
                subject: Subject {
                    jurisdictions: Jurisdiction::parse_list(&a.jurisdictions)?,
                    age: a.age,
                    guardian_consent: a.guardian_consent,
                },
                scope,
                at,
                waiver: a.irb_waiver.map(|reference| Waiver { reference }),
            };
            let opts = DecideOptions {
                controller: a
                    .controller
                    .as_deref()
                    .map(Jurisdiction::parse)
                    .transpose()?,
                transfer_mechanism: a
                    .transfer_mechanism
                    .as_deref()
                    .map(str::parse::<TransferMechanism>)
                    .transpose()?,
                data_category: a.data_category,
                sharing_basis: a
                    .sharing_basis
                    .as_deref()
                    .map(str::parse::<veil_consent::SharingBasis>)
                    .transpose()?,
            };
            json(&veil_consent::decide_with(&req, ledger.as_ref(), &opts)?)
        }
        ConsentCommand::Breach(a) => {
            let t = Timestamp::parse(&a.discovered)?;
            let affected = veil_consent::Affected::parse(&a.affected)?;
            let js = if a.jurisdictions.iter().all(|j| j.trim().is_empty())
                && !affected.by_region.is_empty()
            {
                Vec::new()
            } else {
                Jurisdiction::parse_list(&a.jurisdictions)?
            };
            let controller = a
                .controller
                .as_deref()
                .map(Jurisdiction::parse)
                .transpose()?;
            json(&veil_consent::breach_schedule_for_controller(
                t,
                &js,
                &affected,
                controller.as_ref(),
            )?)
        }
        ConsentCommand::Erasure(a) => {
            let js = Jurisdiction::parse_list(&a.jurisdictions)?;
            let controller = Jurisdiction::parse(&a.controller)?;
            json(&veil_consent::erasure_for_controller(&js, &controller)?)
        }
        ConsentCommand::ExportFhir(a) => {
            let ledger = ConsentLedger::from_json(&read(&a.ledger)?)?;
            let at = a.at.as_deref().map(Timestamp::parse).transpose()?;
            Ok(veil_consent::export_bundle_json(&ledger, at)?)
        }
        ConsentCommand::ImportFhir(a) => {
            let ledger = veil_consent::import_bundle(&read(&a.bundle)?)?;
            Ok(ledger.to_json()?)
        }
    }
}

#[cfg(test)]
mod tests {
    use clap::Parser;

    use super::*;

    #[derive(Parser)]
    struct Cli {
        #[command(subcommand)]
        consent: ConsentCommand,
    }

    fn run_args(args: &[&str]) -> Result<serde_json::Value, Failure> {
        let argv = ["veil-consent"].iter().chain(args).copied();
        let cmd = Cli::try_parse_from(argv)
            .map_err(|e| Failure::usage(e.to_string()))?
            .consent;
        execute(cmd).map(|out| serde_json::from_str(&out).unwrap())
    }

    fn decide(extra: &[&str]) -> Result<serde_json::Value, Failure> {
        let mut args = vec!["decide", "--age", "34", "--at", "2026-06-01T00:00:00Z"];
        args.extend_from_slice(extra);
        run_args(&args)
    }

    #[test]
    fn research_without_a_tier_is_decided_as_this_study() {
        let de = ["--jurisdiction", "DE", "--purpose", "research"];
        let bare = decide(&de).unwrap();
        let this = decide(&[&de[..], &["--tier", "this-study"]].concat()).unwrap();
        assert_eq!(bare, this);
        assert_eq!(bare["requires"][0]["scope"], "research/this-study");
    }

    #[test]
    fn scopes_and_jurisdictions_are_read_by_the_library_with_its_codes() {
        let code = |extra: &[&str]| decide(extra).unwrap_err();
        let has_code = |got: Failure, code: &str| assert_eq!(got.code(), code, "{got}");
        has_code(
            code(&["--jurisdiction", "DE", "--purpose", "ads"]),
            "unknown-purpose",
        );
        has_code(
            code(&[
                "--jurisdiction",
                "DE",
                "--purpose",
                "treatment",
                "--tier",
                "this-study",
            ]),
            "bad-tier",
        );
        has_code(
            code(&["--jurisdiction", "DE", "--purpose", "partner-sharing"]),
            "missing-qualifier",
        );
        has_code(
            code(&["--jurisdiction", "DE,XX", "--purpose", "treatment"]),
            "unknown-jurisdiction",
        );
        has_code(
            code(&["--jurisdiction", " ", "--purpose", "treatment"]),
            "no-jurisdiction",
        );
        has_code(
            code(&[
                "--jurisdiction",
                "DE",
                "--purpose",
                "cross-border-transfer",
                "--country",
                "ZZ",
            ]),
            "unknown-country",
        );
        has_code(
            code(&[
                "--jurisdiction",
                "DE",
                "--purpose",
                "cross-border-transfer",
                "--country",
                "US",
                "--transfer-mechanism",
                "consent",
            ]),
            "unknown-mechanism",
        );
        has_code(
            code(&[
                "--jurisdiction",
                "US",
                "--purpose",
                "treatment",
                "--data-category",
                "mental-health",
            ]),
            "unknown-category",
        );
        // Duplicates after normalisation count once.
        let twice = decide(&["--jurisdiction", "de,DE", "--purpose", "treatment"]).unwrap();
        assert_eq!(
            twice["rules"][0]["jurisdictions"],
            serde_json::json!(["DE"])
        );
    }

    /// Each mechanism is checked against the destination (EU-US DPF: Decision (EU) 2023/1795;
    /// SCCs: GDPR Art. 46(2)(c); no adequacy decision for the US as a country: GDPR Art. 45(1)).
    #[test]
    fn transfer_mechanisms_are_checked_per_destination() {
        let ask = |country: &str, mech: &str| {
            let d = decide(&[
                "--jurisdiction",
                "DE",
                "--purpose",
                "cross-border-transfer",
                "--country",
                country,
                "--transfer-mechanism",
                mech,
            ])
            .unwrap();
            d["decision"].as_str().unwrap().to_owned()
        };
        assert_eq!(ask("US", "dpf"), "allow");
        assert_eq!(ask("US", "adequacy"), "deny");
        assert_eq!(ask("IN", "dpf"), "deny");
        assert_eq!(ask("IN", "scc"), "allow");
        assert_eq!(ask("JP", "adequacy"), "allow");
        assert_eq!(ask("US", "derogation"), "needs-consent");
        let none = decide(&[
            "--jurisdiction",
            "DE",
            "--purpose",
            "cross-border-transfer",
            "--country",
            "US",
        ])
        .unwrap();
        assert_eq!(none["requires"][0]["what"], "transfer-mechanism");
        assert_eq!(none["requires"][0]["from"], "controller");
    }

    /// A 15-year-old in Germany: Art. 8 (16) is not research capacity; BGB § 2 majority and
    /// EU CTR Art. 32(1) ask for the guardian's consent and the minor's assent; the
    /// --guardian-consent flag is no evidence (GDPR Art. 7(1)).
    #[test]
    fn a_minor_needs_guardian_and_assent_in_the_ledger() {
        let d = run_args(&[
            "decide",
            "--age",
            "15",
            "--at",
            "2026-06-01T00:00:00Z",
            "--jurisdiction",
            "DE",
            "--purpose",
            "research",
            "--guardian-consent",
        ])
        .unwrap();
        assert_eq!(d["decision"], "needs-consent");
        let from: Vec<&str> = d["requires"]
            .as_array()
            .unwrap()
            .iter()
            .map(|r| r["from"].as_str().unwrap())
            .collect();
        assert_eq!(from, ["guardian", "subject"]);
        assert_eq!(d["requires"][1]["what"], "assent");
    }

    /// A German clinic keeps the record 10 years (BGB § 630f(3)), identified and restricted
    /// (GDPR Art. 17(3)(b), Art. 18); every step has exactly the documented keys.
    #[test]
    fn erasure_prints_steps_by_the_controllers_law() {
        let argv = [
            "veil-consent",
            "erasure",
            "--jurisdiction",
            "US-CA",
            "--controller",
            "DE",
        ];
        let text = execute(Cli::try_parse_from(argv).unwrap().consent).unwrap();
        let v: serde_json::Value = serde_json::from_str(&text).unwrap();
        assert_eq!(v["controller"], "DE");
        let steps = v["steps"].as_array().unwrap();
        for s in steps {
            assert_eq!(s.as_object().unwrap().len(), 5, "{s}");
        }
        // Each step's keys in the documented order.
        assert!(
            text.contains(r#"{"record":"identity-layer","action":"retain-restricted","retain_years":10,"citations":["#),
            "{text}"
        );
        assert_eq!(steps[0]["record"], "identity-layer");
        assert_eq!(steps[0]["action"], "retain-restricted");
        assert_eq!(steps[1]["record"], "medical-record");
        assert_eq!(steps[1]["retain_years"], 10);
        let missing = Cli::try_parse_from(["veil-consent", "erasure", "--jurisdiction", "DE"]);
        assert!(missing.is_err(), "--controller is required");
    }

    /// SB 446 (Cal. Civ. Code § 1798.82(a), (f)) and HIPAA 164.406(a) counted per State; nFADP
    /// Art. 24(1) "as soon as possible" leads.
    #[test]
    fn breach_counts_per_region_and_asap_leads() {
        let v = run_args(&[
            "breach",
            "--discovered",
            "2026-03-02T00:00:00Z",
            "--affected",
            "US-CA=612",
            "--affected",
            "US-NV=20",
        ])
        .unwrap();
        assert_eq!(v["affected"], 632);
        assert_eq!(v["by_region"]["US-CA"], 612);
        let cites: Vec<&str> = v["notices"]
            .as_array()
            .unwrap()
            .iter()
            .map(|n| n["citation"].as_str().unwrap())
            .collect();
        assert!(cites.contains(&"Cal. Civ. Code § 1798.82(f)"), "{cites:?}");
        assert!(cites.contains(&"45 CFR 164.406(a)"), "{cites:?}");
        let v = run_args(&[
            "breach",
            "--discovered",
            "2026-03-02T00:00:00Z",
            "--jurisdiction",
            "CH,US",
            "--affected",
            "10",
        ])
        .unwrap();
        assert_eq!(v["leading"]["citation"], "nFADP Art. 24(1)");
        assert_eq!(v["leading"]["asap"], true);
        assert!(v["leading"]["deadline"].is_null());
        let bad = run_args(&[
            "breach",
            "--discovered",
            "2026-03-02T00:00:00Z",
            "--affected",
            "US-CA=lots",
        ])
        .unwrap_err();
        assert_eq!(bad.code(), "bad-affected");
    }
}
