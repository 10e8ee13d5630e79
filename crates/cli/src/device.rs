//! `veil device`: provision development device identities, sign readings as a device would, and
//! verify signed readings. Only wiring: files and stdout around `veil-trust`; every rule lives
//! in the library and in `docs/device-profile.md`. A failure carries the code of the veil-trust
//! error it comes from (`ProvisionError`, `Rejection`, `PemError`), or `io`, `usage`, `bad-state`;
//! a rejected reading still prints its JSON verdict on stdout before failing with its reason.
//! The challenge a reading answers is given as is (`--nonce`) or, as the app makes it, bound to the
//! client that will upload the reading (`--client-pub` and `--challenge-salt`,
//! `veil_trust::bound_challenge`; the salt then goes to `veil seal --evidence-salt`).

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::{SystemTime, UNIX_EPOCH};

use clap::{Args, Subcommand};
use veil_core::Coded;
use veil_trust::{
    Algorithm, DeviceSigner, FreshnessWindow, ProvisionOptions, Rejection, RevocationList,
    TrustStore, Verifier,
};

use crate::failure::{self, Failure};

/// Subcommands of `veil device`.
#[derive(Debug, Subcommand)]
pub enum DeviceCommand {
    /// Create a development manufacturer CA and device keys/certificates (PEM, PKCS#8 keys).
    ///
    /// Writes root.cert.pem, root.key.pem, [intermediate.cert.pem, intermediate.key.pem], and per
    /// device SERIAL.cert.pem, SERIAL.key.pem, SERIAL.chain.pem (device + intermediate), plus
    /// devices.json listing them.
    Provision {
        /// Output directory (created if missing).
        #[arg(long)]
        out: PathBuf,
        /// Manufacturer name (organizationName of the certificates).
        #[arg(long)]
        manufacturer: String,
        /// Number of devices.
        #[arg(long, default_value_t = 1)]
        devices: usize,
        /// Issue devices from an intermediate CA (root -> intermediate -> device).
        #[arg(long)]
        intermediate: bool,
        /// Device model (commonName of device certificates).
        #[arg(long, default_value = "Veil Demo Device")]
        model: String,
        /// Serial prefix: serials are PREFIX-000001, ...
        #[arg(long, default_value = "DEV")]
        prefix: String,
        /// Device certificate lifetime in days.
        #[arg(long, default_value_t = 3650)]
        days: u64,
        /// Unix time to provision at (default: now).
        #[arg(long)]
        now: Option<u64>,
    },
    /// Sign a reading as a device: a tagged COSE_Sign1 over the reading payload.
    Sign {
        /// Device private key (PKCS#8 or SEC1 PEM).
        #[arg(long)]
        key: PathBuf,
        /// Device certificate (PEM; the first certificate is used).
        #[arg(long)]
        cert: PathBuf,
        /// Monotonic counter value.
        #[arg(long)]
        counter: u64,
        /// The challenge the app wrote: `--nonce`, or a challenge bound to the uploading client.
        #[command(flatten)]
        challenge: ChallengeArgs,
        /// Measurement, e.g. bp:120/80/93,pulse=70 | temp:36.6 | temp:98.6F | glucose:95 |
        /// spo2:98/72 | weight:72.5 | hr:72,rr=0.8/0.82 | raw:1810:2A35:HEX
        #[arg(long)]
        measurement: String,
        /// Reading time, Unix seconds (default: now).
        #[arg(long)]
        ts: Option<u64>,
        /// COSE algorithm: ES256 (-7) or ESP256 (-9).
        #[arg(long, default_value = "ES256")]
        alg: String,
        /// Output file.
        #[arg(short = 'o', long = "out")]
        out: PathBuf,
    },
    /// Verify a signed reading; prints JSON, exits 0 if verified and 1 if rejected.
    Verify {
        /// Trusted manufacturer roots (PEM, one or more certificates).
        #[arg(long)]
        trust: PathBuf,
        /// The device's chain (PEM, device certificate first).
        #[arg(long)]
        chain: PathBuf,
        /// The signed reading (tagged COSE_Sign1).
        reading: PathBuf,
        /// The challenge that was sent (`--nonce`, or `--client-pub` with `--challenge-salt`);
        /// when given, the reading must answer it.
        #[command(flatten)]
        challenge: ChallengeArgs,
        /// JSON object of the last counter per device serial; read, and updated when verified.
        #[arg(long)]
        state: Option<PathBuf>,
        /// Revoked device serials, one per line.
        #[arg(long)]
        revoked: Option<PathBuf>,
        /// Unix time to verify at (default: now).
        #[arg(long)]
        now: Option<u64>,
        /// Oldest accepted reading, seconds before now.
        #[arg(long, default_value_t = FreshnessWindow::default().max_age_secs)]
        max_age: u64,
        /// Furthest accepted reading time ahead of now, seconds.
        #[arg(long, default_value_t = FreshnessWindow::default().max_future_secs)]
        max_future: u64,
    },
}

/// The challenge of a reading: given as is (`--nonce`), or bound to the client that will upload
/// the reading (`--client-pub` and `--challenge-salt`: `veil_trust::bound_challenge`,
/// `docs/device-profile.md` §5), as the app computes it.
#[derive(Debug, Args)]
pub struct ChallengeArgs {
    /// The challenge, hex (32 bytes from the app).
    #[arg(long, value_name = "HEX", conflicts_with_all = ["client_pub", "challenge_salt"])]
    nonce: Option<String>,
    /// The uploading client's ES256 public key (PEM `PUBLIC KEY`): with `--challenge-salt`, the
    /// challenge is SHA-256(its uncompressed point || salt), which binds the reading to it.
    #[arg(long, value_name = "PUB.pem", requires = "challenge_salt")]
    client_pub: Option<PathBuf>,
    /// The salt of a bound challenge, 64 hex digits (the manifest's `challenge_salt`; `veil seal
    /// --evidence-salt`).
    #[arg(long, value_name = "HEX", requires = "client_pub")]
    challenge_salt: Option<String>,
}

impl ChallengeArgs {
    /// The challenge bytes, if one was given.
    fn nonce(&self) -> Result<Option<Vec<u8>>, Failure> {
        if let Some(text) = &self.nonce {
            return nonce_from_hex(text).map(Some);
        }
        let (Some(client), Some(salt)) = (&self.client_pub, &self.challenge_salt) else {
            return Ok(None);
        };
        let key = veil_seal::verifying_key_from_pem(&read_text(client)?)
            .map_err(|e| Failure::from(e).context(client.display()))?;
        let salt = challenge_salt_from_hex(salt, "--challenge-salt")?;
        Ok(Some(
            veil_trust::bound_challenge(&veil_seal::keys::sec1_uncompressed(&key), &salt).to_vec(),
        ))
    }
}

/// A challenge salt given as hex: exactly 32 bytes (64 hex digits), else a usage error naming
/// `flag`. Also `veil seal --evidence-salt`'s reader.
pub fn challenge_salt_from_hex(text: &str, flag: &str) -> Result<[u8; 32], Failure> {
    let mut salt = [0u8; veil_trust::CHALLENGE_SALT_LEN];
    hex::decode_to_slice(text.trim(), &mut salt)
        .map_err(|_| Failure::usage(format!("{flag} must be 64 hex digits (32 bytes)")))?;
    Ok(salt)
}

/// Runs a `veil device` subcommand.
pub fn run(cmd: DeviceCommand) -> Result<(), Failure> {
    match cmd {
        DeviceCommand::Provision {
            out,
            manufacturer,
            devices,
            intermediate,
            model,
            prefix,
            days,
            now,
        } => {
            let opts = ProvisionOptions {
                manufacturer,
                model,
                serial_prefix: prefix,
                devices,
                intermediate,
                now: now.unwrap_or_else(unix_now),
                device_days: days,
            };
            provision(&out, &opts)
        }
        DeviceCommand::Sign {
            key,
            cert,
            counter,
            challenge,
            measurement,
            ts,
            alg,
            out,
        } => {
            let nonce = challenge.nonce()?.ok_or_else(|| {
                Failure::usage("give the challenge: --nonce, or --client-pub with --challenge-salt")
            })?;
            sign(&key, &cert, counter, &nonce, &measurement, ts, &alg, &out)
        }
        DeviceCommand::Verify {
            trust,
            chain,
            reading,
            challenge,
            state,
            revoked,
            now,
            max_age,
            max_future,
        } => {
            let window = FreshnessWindow {
                max_age_secs: max_age,
                max_future_secs: max_future,
            };
            verify(
                &trust,
                &chain,
                &reading,
                challenge.nonce()?.as_deref(),
                state.as_deref(),
                revoked.as_deref(),
                now,
                window,
            )
        }
    }
}

fn unix_now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0)
}

fn read_text(path: &Path) -> Result<String, Failure> {
    std::fs::read_to_string(path).map_err(|e| Failure::io(path, &e))
}

/// `--nonce`: the challenge, hex.
fn nonce_from_hex(text: &str) -> Result<Vec<u8>, Failure> {
    hex::decode(text.trim()).map_err(|_| Failure::usage("--nonce must be hex"))
}

fn write_file(path: &Path, data: &[u8], secret: bool) -> Result<(), Failure> {
    let mut opts = std::fs::OpenOptions::new();
    opts.write(true).create(true).truncate(true);
    #[cfg(unix)]
    if secret {
        use std::os::unix::fs::OpenOptionsExt;
        opts.mode(0o600);
    }
    #[cfg(not(unix))]
    let _ = secret;
    let mut f = opts.open(path).map_err(|e| Failure::io(path, &e))?;
    std::io::Write::write_all(&mut f, data).map_err(|e| Failure::io(path, &e))
}

fn provision(out: &Path, opts: &ProvisionOptions) -> Result<(), Failure> {
    if opts.serial_prefix.is_empty()
        || !opts
            .serial_prefix
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-')
    {
        return Err(Failure::usage("--prefix must be letters, digits and '-'"));
    }
    let p = veil_trust::provision(opts)?;
    std::fs::create_dir_all(out).map_err(|e| Failure::io(out, &e))?;
    write_file(
        &out.join("root.cert.pem"),
        p.root.cert_pem.as_bytes(),
        false,
    )?;
    write_file(&out.join("root.key.pem"), p.root.key_pem.as_bytes(), true)?;
    if let Some(i) = &p.intermediate {
        write_file(
            &out.join("intermediate.cert.pem"),
            i.cert_pem.as_bytes(),
            false,
        )?;
        write_file(
            &out.join("intermediate.key.pem"),
            i.key_pem.as_bytes(),
            true,
        )?;
    }
    let mut manifest = Vec::new();
    for d in &p.devices {
        let (cert, key, chain) = (
            format!("{}.cert.pem", d.serial),
            format!("{}.key.pem", d.serial),
            format!("{}.chain.pem", d.serial),
        );
        write_file(&out.join(&cert), d.identity.cert_pem.as_bytes(), false)?;
        write_file(&out.join(&key), d.identity.key_pem.as_bytes(), true)?;
        write_file(&out.join(&chain), d.chain_pem.as_bytes(), false)?;
        let der = veil_trust::certs_from_pem(&d.identity.cert_pem)?;
        let fingerprint = der
            .first()
            .map(|d| veil_trust::fingerprint(d))
            .unwrap_or_default();
        manifest.push(serde_json::json!({
            "serial": d.serial, "cert": cert, "key": key, "chain": chain, "fingerprint": fingerprint,
        }));
    }
    let summary = serde_json::json!({
        "manufacturer": opts.manufacturer,
        "root": "root.cert.pem",
        "intermediate": p.intermediate.as_ref().map(|_| "intermediate.cert.pem"),
        "devices": manifest,
    });
    let text = format!("{summary:#}");
    write_file(&out.join("devices.json"), text.as_bytes(), false)?;
    crate::print_line(&text)
}

#[allow(clippy::too_many_arguments)]
fn sign(
    key: &Path,
    cert: &Path,
    counter: u64,
    nonce: &[u8],
    measurement: &str,
    ts: Option<u64>,
    alg: &str,
    out: &Path,
) -> Result<(), Failure> {
    let key_pem = zeroize_string(read_text(key)?);
    let signer = DeviceSigner::from_pem(&key_pem, &read_text(cert)?)?;
    let alg: Algorithm = alg.parse()?;
    let ts = ts.unwrap_or_else(unix_now);
    let m = veil_trust::encode_spec(measurement, ts)?;
    let cose = signer.sign(&m, counter, ts, nonce, alg);
    write_file(out, &cose, false)
}

/// Keeps a private key's PEM text out of freed memory once used.
fn zeroize_string(s: String) -> zeroize_guard::Guard {
    zeroize_guard::Guard(s)
}

mod zeroize_guard {
    /// Overwrites the string's bytes on drop (the CLI has no direct `zeroize` dependency).
    pub struct Guard(pub String);
    impl std::ops::Deref for Guard {
        type Target = str;
        fn deref(&self) -> &str {
            &self.0
        }
    }
    impl Drop for Guard {
        fn drop(&mut self) {
            let len = self.0.len();
            self.0.clear();
            self.0.extend(std::iter::repeat_n('\0', len));
            std::hint::black_box(&self.0);
        }
    }
}

/// A rejected reading: its JSON verdict on stdout, then the rejection as the failure (its code is
/// the verdict's `reason`). A stdout that is gone does not hide the rejection.
fn rejected(r: Rejection) -> Result<(), Failure> {
    let json =
        serde_json::json!({"status": "rejected", "reason": r.code(), "detail": r.to_string()});
    let _ = crate::print_line(json);
    Err(r.into())
}

/// The `--state` file: the last counter per device serial, a JSON object (absent: none yet).
fn read_counters(path: Option<&Path>) -> Result<BTreeMap<String, u64>, Failure> {
    match path {
        Some(p) if p.exists() => serde_json::from_str(&read_text(p)?).map_err(|e| {
            Failure::new(
                failure::BAD_STATE,
                format!("{}: not a JSON object of counters: {e}", p.display()),
            )
        }),
        _ => Ok(BTreeMap::new()),
    }
}

/// Write the `--state` file through a temporary name and a rename: never half written.
fn write_counters(path: &Path, counters: &BTreeMap<String, u64>) -> Result<(), Failure> {
    let object: serde_json::Map<String, serde_json::Value> = counters
        .iter()
        .map(|(serial, counter)| (serial.clone(), (*counter).into()))
        .collect();
    let text = format!("{:#}", serde_json::Value::Object(object));
    let tmp = path.with_extension("json.tmp");
    write_file(&tmp, text.as_bytes(), false)?;
    std::fs::rename(&tmp, path).map_err(|e| Failure::io(path, &e))
}

#[allow(clippy::too_many_arguments)]
fn verify(
    trust: &Path,
    chain: &Path,
    reading: &Path,
    nonce: Option<&[u8]>,
    state: Option<&Path>,
    revoked: Option<&Path>,
    now: Option<u64>,
    window: FreshnessWindow,
) -> Result<(), Failure> {
    let store = TrustStore::from_pem(&read_text(trust)?)
        .map_err(|e| Failure::from(e).context(trust.display()))?;
    let revoked = match revoked {
        Some(p) => RevocationList::from_text(&read_text(p)?),
        None => RevocationList::new(),
    };
    let cose = std::fs::read(reading).map_err(|e| Failure::io(reading, &e))?;
    let mut counters = read_counters(state)?;
    let chain_pem = read_text(chain)?;
    let now = now.unwrap_or_else(unix_now);
    let verifier = Verifier::new(store)
        .with_revocations(revoked)
        .with_window(window);
    let chain = match veil_trust::certs_from_pem(&chain_pem) {
        Ok(c) => c,
        Err(e) => return rejected(Rejection::from(e)),
    };
    // The last counter is looked up by the serial of the chain's device certificate; if the chain
    // does not validate, verify() below reports why.
    let last = verifier
        .verify_chain(&chain, now)
        .ok()
        .and_then(|id| counters.get(&id.serial).copied());
    match verifier.verify(&cose, &chain, nonce, last, now) {
        Ok(v) => {
            if let Some(p) = state {
                counters.insert(v.device.serial.clone(), v.counter);
                write_counters(p, &counters)?;
            }
            let mut json = serde_json::json!({"status": "verified"});
            if let (Some(obj), Ok(serde_json::Value::Object(fields))) =
                (json.as_object_mut(), serde_json::to_value(&v))
            {
                obj.extend(fields);
            }
            crate::print_line(json)
        }
        Err(r) => rejected(r),
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;

    fn tmp(name: &str) -> PathBuf {
        let dir = std::env::temp_dir().join(format!("veil-device-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        dir
    }

    #[test]
    fn provision_sign_verify_and_replay_across_runs() {
        let dir = tmp("flow");
        let now = 1_790_000_000;
        let opts = ProvisionOptions {
            manufacturer: "Acme Medical".into(),
            model: "BP7".into(),
            serial_prefix: "BP7".into(),
            devices: 2,
            intermediate: true,
            now,
            device_days: 30,
        };
        provision(&dir, &opts).unwrap();
        for f in [
            "root.cert.pem",
            "intermediate.key.pem",
            "BP7-000002.chain.pem",
            "devices.json",
        ] {
            assert!(dir.join(f).is_file(), "{f}");
        }
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(dir.join("BP7-000001.key.pem"))
                .unwrap()
                .permissions()
                .mode();
            assert_eq!(mode & 0o077, 0, "private keys are not readable by others");
        }
        let nonce = [0xab; 32];
        let reading = dir.join("r.cose");
        sign(
            &dir.join("BP7-000001.key.pem"),
            &dir.join("BP7-000001.cert.pem"),
            51,
            &nonce,
            "bp:120/80/93,pulse=70",
            Some(now),
            "ESP256",
            &reading,
        )
        .unwrap();
        let state = dir.join("state.json");
        std::fs::write(&state, r#"{"BP7-000001": 50}"#).unwrap();
        let run = |nonce: &[u8]| {
            verify(
                &dir.join("root.cert.pem"),
                &dir.join("BP7-000001.chain.pem"),
                &reading,
                Some(nonce),
                Some(&state),
                None,
                Some(now),
                FreshnessWindow::default(),
            )
        };
        assert_eq!(run(&nonce), Ok(()));
        let saved: BTreeMap<String, u64> =
            serde_json::from_str(&std::fs::read_to_string(&state).unwrap()).unwrap();
        assert_eq!(saved["BP7-000001"], 51);
        assert_eq!(
            run(&nonce).map_err(|f| f.code()),
            Err("replayed-counter"),
            "the same reading again is a replay"
        );
        // A wrong key for the certificate is refused before signing.
        assert!(
            sign(
                &dir.join("BP7-000002.key.pem"),
                &dir.join("BP7-000001.cert.pem"),
                1,
                &nonce,
                "bp:120/80/93",
                Some(now),
                "ES256",
                &dir.join("x.cose"),
            )
            .is_err()
        );
        let _ = std::fs::remove_dir_all(&dir);
    }
}
