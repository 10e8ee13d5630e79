//! `veil seal` and `veil open`: wire `veil-seal` to files for batch use and tests.
//!
//! `veil seal --recipient PUB.pem --client-key KEY.pem --purpose P --pseudonym-secret FILE FILES... -o A.veil`
//! signs the files into an artifact and seals it to the recipient (contents named by role, models
//! only after `veil deid` unless `--raw`, the report only in its shareable form); it prints
//! `{"artifact_id", "kid", "pseudonym", "bytes"}` as JSON. `veil open --key PRIV.pem A.veil -o DIR`
//! decrypts, verifies the client signature and every content hash, writes the contents into `DIR`
//! and prints the manifest as JSON (with `artifact_id` added). `veil seal --generate-keys DIR`
//! writes a fresh recipient key pair, client key pair and pseudonym secret for tests.
//! A failure is veil-seal's code, `io`, `usage`, `raw-model` or `bad-report` ([`crate::failure`]);
//! nothing is written on failure. The format is `docs/artifact-format.md`.

use std::fs;
use std::path::{Path, PathBuf};
use std::time::{SystemTime, UNIX_EPOCH};

use clap::Args;
use clap::builder::{PossibleValue, PossibleValuesParser, TypedValueParser};
use veil_seal::names::Role;
use veil_seal::{
    ArtifactBuilder, ConsentDecision, ConsentRef, DeviceEvidence, PseudonymSecret, RecipientKey,
    RecipientPublicKey,
};

use crate::failure::{self, Failure};

/// Arguments of `veil seal`.
#[derive(Debug, Args)]
pub struct SealArgs {
    /// The recipient's HPKE public key (PEM `PUBLIC KEY`, P-256).
    #[arg(
        long,
        value_name = "PUB.pem",
        required_unless_present = "generate_keys"
    )]
    recipient: Option<PathBuf>,
    /// The client's ES256 signing key (PEM PKCS#8 `PRIVATE KEY` or SEC1 `EC PRIVATE KEY`).
    #[arg(
        long,
        value_name = "KEY.pem",
        required_unless_present = "generate_keys"
    )]
    client_key: Option<PathBuf>,
    /// The purpose of use the consent covers (also an input of the pseudonym).
    #[arg(long, value_name = "P", required_unless_present = "generate_keys")]
    purpose: Option<String>,
    /// The subject's pseudonym secret: 32 raw bytes or 64 hex digits.
    #[arg(long, value_name = "FILE", required_unless_present = "generate_keys")]
    pseudonym_secret: Option<PathBuf>,
    /// The recipient id used in the pseudonym and manifest [default: the recipient key id, hex].
    #[arg(long, value_name = "ID")]
    recipient_id: Option<String>,
    /// The consent decision the artifact rests on (veil-consent's outcome; `permit` is read as
    /// `allow`). Only `allow` is sealed: anything else is refused with `consent-not-granted`.
    #[arg(
        long,
        value_name = "DECISION",
        default_value = "allow",
        value_parser = consent_decision_parser()
    )]
    consent_decision: ConsentDecision,
    /// SHA-256 of the consent event the decision rests on, 64 hex digits. With
    /// `--consent-event-file` it must be that event's hash (default: computed from it).
    #[arg(long, value_name = "HEX")]
    consent_event: Option<String>,
    /// The consent ledger event the decision rests on, JSON as the ledger holds it (one entry of
    /// its `events`): sealed minimised (names and signatures withheld) so the recipient can decide
    /// each read again. Needs `--jurisdictions` and `--age-band`.
    #[arg(long, value_name = "EVENT.json", requires_all = ["jurisdictions", "age_band"])]
    consent_event_file: Option<PathBuf>,
    /// The subject's jurisdictions, comma-separated (`DE,FR`), sealed for the recipient's
    /// decision on each read. Needs `--age-band`.
    #[arg(
        long,
        value_name = "CODES",
        value_delimiter = ',',
        requires = "age_band"
    )]
    jurisdictions: Vec<String>,
    /// The subject's age band (`16-17`, `21+`) or age (sealed as its band: the least precise age
    /// that decides alike under every rule). Needs `--jurisdictions`.
    #[arg(long, value_name = "BAND", requires = "jurisdictions")]
    age_band: Option<String>,
    /// The use the consent decision was for, as a scope label (`research/this-study`,
    /// `cross-border-transfer(US)`, `partner-sharing(Acme)`) [default: the consent event's scope,
    /// else `--purpose`]. Needs `--age-band`.
    #[arg(long, value_name = "LABEL", requires = "age_band")]
    consent_scope: Option<String>,
    /// A device's original COSE-signed reading to carry as evidence (repeatable).
    #[arg(long, value_name = "READING.cose")]
    evidence: Vec<PathBuf>,
    /// The certificate chain (PEM bundle or one DER) of the N-th `--evidence` (repeatable).
    #[arg(long, value_name = "CHAIN.pem")]
    evidence_chain: Vec<PathBuf>,
    /// The challenge salt of the N-th `--evidence`, 64 hex digits (repeatable): the device was
    /// asked to sign SHA-256(client public key || salt) (`veil device sign --client-pub
    /// --challenge-salt`), which binds the reading to this client; the ingest server refuses a
    /// reading without one (`reading-unbound`).
    #[arg(long, value_name = "HEX")]
    evidence_salt: Vec<String>,
    /// Readings nothing proves (a standard Bluetooth device's, a FHIR file's), a JSON array in the
    /// form `veil open` prints them (`kind`, `values` [{`name`, `value`, `unit`}], `time`,
    /// `source` `standard-gatt` | `fhir-import`, `device` claims): sealed into the manifest's
    /// `unverified_readings`, never as device evidence.
    #[arg(long, value_name = "READINGS.json")]
    unverified_readings: Option<PathBuf>,
    /// The de-identification report of `veil deid` (local or shareable JSON); only its shareable
    /// form goes into the manifest.
    #[arg(long, value_name = "REPORT.json")]
    deid_report: Option<PathBuf>,
    /// Seal model files that have not been through `veil deid` (a warning is printed for each).
    #[arg(long)]
    raw: bool,
    /// Creation time in milliseconds since the Unix epoch [default: now].
    #[arg(long, value_name = "MS")]
    created_ms: Option<u64>,
    /// Where to write the sealed envelope.
    #[arg(
        short = 'o',
        long = "output",
        value_name = "A.veil",
        required_unless_present = "generate_keys"
    )]
    output: Option<PathBuf>,
    /// Instead of sealing, write test keys into DIR: recipient.pem, recipient.pub.pem, client.pem,
    /// client.pub.pem and pseudonym.secret (hex).
    #[arg(long, value_name = "DIR", exclusive = true)]
    generate_keys: Option<PathBuf>,
    /// The files to seal. Each is stored under a neutral name by role (`model-1.stl`,
    /// `reading-1.cose`, `file-1.pdf`); its file name never enters the artifact.
    #[arg(value_name = "FILES", required_unless_present = "generate_keys")]
    files: Vec<PathBuf>,
}

/// `--consent-decision`: the outcome ids, with the legacy `permit` as an alias of `allow`, read by
/// veil-seal's own reader of the decision.
fn consent_decision_parser() -> impl TypedValueParser<Value = ConsentDecision> {
    let values = ConsentDecision::ALL.map(|d| match d {
        ConsentDecision::Allow => PossibleValue::new(d.id()).alias(veil_seal::LEGACY_ALLOW),
        _ => PossibleValue::new(d.id()),
    });
    PossibleValuesParser::new(values).try_map(|s| veil_seal::parse_consent_decision(&s))
}

/// Arguments of `veil open`.
#[derive(Debug, Args)]
pub struct OpenArgs {
    /// The recipient's HPKE private key (PEM PKCS#8 `PRIVATE KEY` or SEC1 `EC PRIVATE KEY`).
    #[arg(long, value_name = "PRIV.pem")]
    key: PathBuf,
    /// Require the artifact to be signed by this client key (PEM `PUBLIC KEY`).
    #[arg(long, value_name = "PUB.pem")]
    client_pub: Option<PathBuf>,
    /// Directory to write the contents into (created if missing).
    #[arg(short = 'o', long = "output", value_name = "DIR")]
    output: Option<PathBuf>,
    /// The sealed envelope.
    #[arg(value_name = "A.veil")]
    envelope: PathBuf,
}

fn read(path: &Path) -> Result<Vec<u8>, Failure> {
    fs::read(path).map_err(|e| Failure::io(path, &e))
}

fn read_text(path: &Path) -> Result<String, Failure> {
    fs::read_to_string(path).map_err(|e| Failure::io(path, &e))
}

/// Write a file via a temporary name and a rename, so a crash leaves no partial file.
fn write_atomic(path: &Path, bytes: &[u8]) -> Result<(), Failure> {
    let mut tmp = path.as_os_str().to_owned();
    tmp.push(".tmp");
    let tmp = PathBuf::from(tmp);
    fs::write(&tmp, bytes).map_err(|e| Failure::io(&tmp, &e))?;
    fs::rename(&tmp, path).map_err(|e| Failure::io(path, &e))
}

/// [`write_atomic`], then restrict the file to its owner (0600) where the platform has modes.
fn write_secret(path: &Path, bytes: &[u8]) -> Result<(), Failure> {
    write_atomic(path, bytes)?;
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        fs::set_permissions(path, fs::Permissions::from_mode(0o600))
            .map_err(|e| Failure::io(path, &e))?;
    }
    Ok(())
}

fn now_ms() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_millis() as u64)
        .unwrap_or(0)
}

/// `veil seal`.
pub fn run_seal(args: SealArgs) -> Result<(), Failure> {
    let json = match &args.generate_keys {
        Some(dir) => generate_keys(dir)?,
        None => seal(args)?,
    };
    crate::print_line(format!("{json:#}"))
}

/// `veil open`.
pub fn run_open(args: OpenArgs) -> Result<(), Failure> {
    crate::print_line(format!("{:#}", open(args)?))
}

fn required<T>(value: Option<T>, flag: &str) -> Result<T, Failure> {
    value.ok_or_else(|| Failure::usage(format!("{flag} is required")))
}

fn seal(args: SealArgs) -> Result<serde_json::Value, Failure> {
    let recipient = RecipientPublicKey::from_public_key_pem(&read_text(&required(
        args.recipient,
        "--recipient",
    )?)?)?;
    let client =
        veil_seal::signing_key_from_pem(&read_text(&required(args.client_key, "--client-key")?)?)?;
    let purpose = required(args.purpose, "--purpose")?;
    let secret = PseudonymSecret::parse(&read(&required(
        args.pseudonym_secret,
        "--pseudonym-secret",
    )?)?)?;
    let output = required(args.output, "--output")?;
    if args.files.is_empty() {
        return Err(Failure::usage("no files to seal"));
    }
    let recipient_id = args
        .recipient_id
        .unwrap_or_else(|| recipient.kid().to_hex());
    let event_hash = match &args.consent_event {
        None => None,
        Some(text) => {
            let mut h = [0u8; 32];
            hex::decode_to_slice(text.trim(), &mut h)
                .map_err(|_| Failure::usage("--consent-event must be 64 hex digits"))?;
            Some(h)
        }
    };
    let context = match &args.age_band {
        None => None,
        Some(band) => {
            let event = args.consent_event_file.as_deref().map(read).transpose()?;
            Some(
                veil_seal::ConsentContext::from_inputs(
                    event.as_deref(),
                    args.consent_scope.as_deref(),
                    &purpose,
                    &args.jurisdictions,
                    band,
                )
                .map_err(|e| Failure::from(e).context("consent context"))?,
            )
        }
    };
    // Without --consent-event, the hash of the event sealed (a different one is refused by the
    // seal: `consent-event-mismatch`).
    let event_hash = match (event_hash, &context) {
        (None, Some(c)) => c.event_hash()?,
        (h, _) => h,
    };
    let pseudonym = secret.pseudonym(&recipient_id, &purpose);
    let consent = ConsentRef {
        decision: args.consent_decision,
        event_hash,
        context,
    };
    let created = args.created_ms.unwrap_or_else(now_ms);
    let mut builder =
        ArtifactBuilder::new(pseudonym.clone(), &purpose, &recipient_id, consent, created);
    for path in &args.files {
        let hint = path.file_name().and_then(|n| n.to_str()).unwrap_or("");
        let bytes = read(path)?;
        // A model is told by parsing it, whatever its name; an unparsable file named `.stl`
        // still counts as one (and is not de-identified).
        let parsed = veil_mesh::write::model_kind(&bytes).map(|k| (k.extension, k.deidentified));
        let (role, raw_model) = Role::with_model_check(hint, &bytes, parsed);
        if raw_model && !args.raw {
            return Err(Failure::new(
                failure::RAW_MODEL,
                format!(
                    "{}: this model has not been through `veil deid` (it is not the exact output \
                     of its writers); de-identify it first, or pass --raw to seal it as is",
                    path.display()
                ),
            ));
        }
        if raw_model {
            eprintln!(
                "veil: warning: {}: sealing a model that has not been through `veil deid` (--raw)",
                path.display()
            );
        }
        builder.add_content_as(&role, bytes)?;
    }
    if args.evidence_chain.len() > args.evidence.len() {
        return Err(Failure::usage("more --evidence-chain than --evidence"));
    }
    if args.evidence_salt.len() > args.evidence.len() {
        return Err(Failure::usage("more --evidence-salt than --evidence"));
    }
    for (i, reading) in args.evidence.iter().enumerate() {
        let chain = match args.evidence_chain.get(i) {
            Some(p) => veil_seal::keys::certificate_chain_from_bytes(&read(p)?)?,
            None => Vec::new(),
        };
        let challenge_salt = args
            .evidence_salt
            .get(i)
            .map(|hex| crate::device::challenge_salt_from_hex(hex, "--evidence-salt"))
            .transpose()?;
        builder.add_device_evidence(DeviceEvidence {
            reading: read(reading)?,
            chain,
            challenge_salt,
        });
    }
    if let Some(path) = &args.unverified_readings {
        let readings: Vec<veil_seal::UnverifiedReading> = serde_json::from_str(&read_text(path)?)
            .map_err(|e| {
            veil_seal::SealError::BadManifest(format!(
                "{}: not a JSON array of unverified readings: {e}",
                path.display()
            ))
        })?;
        for r in readings {
            builder.add_unverified_reading(r);
        }
    }
    if let Some(path) = &args.deid_report {
        let text = read_text(path)?;
        let shareable = match serde_json::from_str::<veil_mesh::ShareableReport>(&text) {
            Ok(r) => r,
            Err(_) => serde_json::from_str::<veil_mesh::Report>(&text)
                .map(|r| r.shareable())
                .map_err(|e| {
                    Failure::new(
                        failure::BAD_REPORT,
                        format!(
                            "{}: not a de-identification report of `veil deid` (local or \
                             shareable): {e}",
                            path.display()
                        ),
                    )
                })?,
        };
        let value = serde_json::to_value(&shareable)
            .map_err(|e| Failure::new(failure::BAD_REPORT, e.to_string()))?;
        builder.set_deid_report(value);
    }
    let signed = builder.sign(&client)?;
    let envelope = veil_seal::seal_artifact(signed, &recipient)?;
    write_atomic(&output, envelope.as_bytes())?;
    Ok(serde_json::json!({
        "artifact_id": envelope.id().to_hex(),
        "kid": recipient.kid().to_hex(),
        "recipient": recipient_id,
        "pseudonym": pseudonym.as_str(),
        "bytes": envelope.as_bytes().len(),
        "output": output.display().to_string(),
    }))
}

fn open(args: OpenArgs) -> Result<serde_json::Value, Failure> {
    let key = RecipientKey::from_pem(&read_text(&args.key)?)?;
    let pinned = match &args.client_pub {
        Some(p) => Some(veil_seal::verifying_key_from_pem(&read_text(p)?)?),
        None => None,
    };
    let envelope = read(&args.envelope)?;
    let opened = veil_seal::open(&envelope, &key, pinned.as_ref())?;
    if let Some(dir) = &args.output {
        fs::create_dir_all(dir).map_err(|e| Failure::io(dir, &e))?;
        // Names were checked to be single path components when the artifact was verified.
        for (name, bytes) in &opened.artifact.files {
            write_atomic(&dir.join(name), bytes)?;
        }
    }
    let mut json = opened.artifact.manifest.to_json();
    if let Some(obj) = json.as_object_mut() {
        obj.insert("artifact_id".into(), opened.id.to_hex().into());
    }
    Ok(json)
}

fn generate_keys(dir: &Path) -> Result<serde_json::Value, Failure> {
    fs::create_dir_all(dir).map_err(|e| Failure::io(dir, &e))?;
    let recipient = RecipientKey::generate()?;
    let client = veil_seal::generate_signing_key()?;
    let secret = PseudonymSecret::generate()?;
    // Private keys are written straight from their zeroizing buffers, readable by the owner only.
    write_secret(
        &dir.join("recipient.pem"),
        recipient.to_pkcs8_pem()?.as_bytes(),
    )?;
    write_atomic(
        &dir.join("recipient.pub.pem"),
        recipient.public_key().to_public_key_pem()?.as_bytes(),
    )?;
    write_secret(
        &dir.join("client.pem"),
        veil_seal::signing_key_to_pem(&client)?.as_bytes(),
    )?;
    write_atomic(
        &dir.join("client.pub.pem"),
        veil_seal::verifying_key_to_pem(client.verifying_key())?.as_bytes(),
    )?;
    write_secret(&dir.join("pseudonym.secret"), secret.to_hex().as_bytes())?;
    let files = [
        "recipient.pem",
        "recipient.pub.pem",
        "client.pem",
        "client.pub.pem",
        "pseudonym.secret",
    ];
    Ok(serde_json::json!({
        "dir": dir.display().to_string(),
        "recipient_kid": recipient.kid().to_hex(),
        "client_kid": veil_seal::KeyId::of_verifying_key(client.verifying_key()).to_hex(),
        "files": files,
    }))
}

#[cfg(test)]
mod tests {
    use clap::Parser;

    use super::*;

    #[derive(Parser)]
    struct Cli {
        #[command(flatten)]
        seal: SealArgs,
    }

    fn parse(dir: &Path, extra: &[&str]) -> Result<SealArgs, clap::Error> {
        let path = |name: &str| dir.join(name).display().to_string();
        let mut argv = vec![
            "veil-seal".to_owned(),
            "--recipient".into(),
            path("recipient.pub.pem"),
            "--client-key".into(),
            path("client.pem"),
            "--purpose".into(),
            "treatment".into(),
            "--pseudonym-secret".into(),
            path("pseudonym.secret"),
            "-o".into(),
            path("a.veil"),
        ];
        argv.extend(extra.iter().map(|s| (*s).to_owned()));
        argv.push(path("reading.json"));
        Cli::try_parse_from(argv).map(|c| c.seal)
    }

    #[test]
    fn the_consent_decision_is_typed_allow_by_default_and_permit_is_its_legacy_alias() {
        let dir = Path::new("/nonexistent");
        let decision = |extra: &[&str]| parse(dir, extra).map(|a| a.consent_decision);
        assert_eq!(decision(&[]).unwrap(), ConsentDecision::Allow);
        for (word, want) in [
            ("allow", ConsentDecision::Allow),
            ("permit", ConsentDecision::Allow),
            ("needs-consent", ConsentDecision::NeedsConsent),
            ("deny", ConsentDecision::Deny),
        ] {
            assert_eq!(decision(&["--consent-decision", word]).unwrap(), want);
        }
        let err = decision(&["--consent-decision", "maybe"]).err().unwrap();
        assert_eq!(err.kind(), clap::error::ErrorKind::InvalidValue);
    }

    #[test]
    fn a_decision_other_than_allow_is_refused_and_nothing_is_written() {
        let dir = std::env::temp_dir().join(format!("veil-cli-seal-{}", std::process::id()));
        generate_keys(&dir).ok().unwrap();
        fs::write(dir.join("reading.json"), br#"{"spo2": 97}"#).unwrap();
        for word in ["needs-consent", "deny"] {
            let args = parse(&dir, &["--consent-decision", word]).unwrap();
            match seal(args) {
                Err(f) => assert_eq!(f.code(), "consent-not-granted", "{f}"),
                Ok(json) => panic!("sealed on {word}: {json}"),
            }
            assert!(!dir.join("a.veil").exists());
        }
        // The legacy spelling is accepted, and written as the outcome id.
        let sealed = seal(parse(&dir, &["--consent-decision", "permit"]).unwrap());
        assert!(sealed.is_ok() && dir.join("a.veil").exists());
        let opened = open(OpenArgs {
            key: dir.join("recipient.pem"),
            client_pub: Some(dir.join("client.pub.pem")),
            output: None,
            envelope: dir.join("a.veil"),
        });
        fs::remove_dir_all(&dir).ok();
        assert_eq!(opened.ok().unwrap()["consent"]["decision"], "allow");
    }
}
