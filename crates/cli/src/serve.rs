//! `veil serve`: the PWA and the verifying ingest API (`/v1`, see `docs/ingest.md`) on loopback.
//!
//! On start it loads the recipient key (`--recipient-key FILE`, else the `VEIL_RECIPIENT_KEY`
//! environment variable, else `<data>/recipient-key.pem`, generated with mode 0600 on first start)
//! and prints its kid, never the key. A server that cannot start is a failure with veil-ingest's
//! code (`bad-config`, `missing-dist`, `io`, ...).

use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::path::PathBuf;
use std::time::Duration;

use clap::Args;
use veil_ingest::config::{
    DEFAULT_CLIENT_RATE, DEFAULT_ENROL_RATE, DEFAULT_MAX_BODY, DEFAULT_STAGING_LEASE,
    RECIPIENT_KEY_ENV,
};
use veil_ingest::{
    DatabaseLocation, IngestConfig, KeySource, Limits, ObjectStoreLocation, ServerConfig,
};

use crate::failure::Failure;

/// Arguments of `veil serve`.
#[derive(Debug, Args)]
pub struct ServeArgs {
    /// Port to listen on.
    #[arg(long, default_value_t = 8080)]
    port: u16,
    /// Address to bind (loopback by default).
    #[arg(long, default_value_t = IpAddr::V4(Ipv4Addr::LOCALHOST))]
    bind: IpAddr,
    /// The built PWA to serve.
    #[arg(long, default_value = "dist")]
    dist: PathBuf,
    /// Data directory: metadata database, stored artifacts, generated recipient key.
    #[arg(long, value_name = "DIR", default_value = "veil-data")]
    data: PathBuf,
    /// The recipient's HPKE private key (PKCS#8 or SEC1 PEM). Without it: the VEIL_RECIPIENT_KEY
    /// environment variable (PEM text), else DIR/recipient-key.pem, generated if absent.
    #[arg(long, value_name = "FILE")]
    recipient_key: Option<PathBuf>,
    /// Device manufacturer roots (PEM) to re-verify readings against. Without it no artifact
    /// carrying device evidence is accepted.
    #[arg(long, value_name = "ROOTS.pem")]
    trust: Option<PathBuf>,
    /// Revoked device serials, one per line.
    #[arg(long, value_name = "FILE")]
    revoked_devices: Option<PathBuf>,
    /// This server's recipient id; manifests naming another recipient are refused.
    #[arg(long, value_name = "ID")]
    recipient_id: Option<String>,
    /// Largest accepted request body: bytes, or with a K/M/G (KiB/MiB/GiB) suffix.
    #[arg(long, value_name = "SIZE", value_parser = parse_size, default_value_t = DEFAULT_MAX_BODY)]
    max_body: usize,
    /// Longest time one API request may take, in seconds (body upload included).
    #[arg(long, value_name = "SECS", default_value_t = 120)]
    timeout: u64,
    /// Uploads verified at once (each holds up to ~4 x max-body of memory); default 2 x cores.
    #[arg(long, value_name = "N")]
    max_concurrent_uploads: Option<usize>,
    /// Requests a minute one enrolled client may make on this instance (uploads, revocations,
    /// erasures, delegations); 0 = unlimited. Over it: 429 rate-limited with Retry-After.
    #[arg(long, value_name = "N", default_value_t = DEFAULT_CLIENT_RATE)]
    client_rate: u32,
    /// Enrolment attempts a minute this instance accepts (from all new keys together); 0 = unlimited.
    #[arg(long, value_name = "N", default_value_t = DEFAULT_ENROL_RATE)]
    enrol_rate: u32,
    /// Stored envelope bytes allowed per client across all instances (K/M/G suffixes); 0 =
    /// unlimited. Over it: 429 storage-quota.
    #[arg(long, value_name = "SIZE", value_parser = parse_quota, default_value = "10G")]
    client_quota: u64,
    /// How old a device reading may be when it arrives (offline outbox), in days.
    #[arg(long, value_name = "DAYS", default_value_t = 30)]
    reading_max_age_days: u64,
    /// Store artifacts in an S3-compatible bucket (`s3://bucket/prefix`) instead of DIR/objects;
    /// endpoint and credentials from the AWS_* environment variables (AWS_ENDPOINT_URL,
    /// AWS_REGION, AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY, AWS_ALLOW_HTTP=true for plain HTTP).
    #[arg(long, value_name = "URL")]
    object_store: Option<String>,
    /// Keep the metadata in PostgreSQL (`postgres://user:password@host:port/dbname`) instead of
    /// DIR/veil-ingest.sqlite3: any number of instances may share it (and one object store). The
    /// password is never printed.
    #[arg(long, value_name = "URL", value_parser = parse_database)]
    database: Option<DatabaseLocation>,
    /// How long an upload's staging objects may stay before they count as abandoned and are
    /// swept (at least twice --timeout); the sweep runs at start and every quarter of it.
    #[arg(long, value_name = "SECS", default_value_t = DEFAULT_STAGING_LEASE.as_secs())]
    staging_lease: u64,
    /// The origin recipient users open this server at (`https://veil.clinic.example`), for their
    /// passkeys (the host is the WebAuthn RP ID). Default: http://localhost:PORT.
    #[arg(long, value_name = "URL")]
    public_origin: Option<String>,
    /// The controller's (clinic's) jurisdiction, e.g. DE or US-CA: every read is decided again
    /// under its law besides the subject's. Default: the subject's jurisdictions only.
    #[arg(long, value_name = "CODE")]
    jurisdiction: Option<String>,
}

/// `--database`: a PostgreSQL URL (the error never repeats it: it may hold a password).
fn parse_database(text: &str) -> Result<DatabaseLocation, String> {
    DatabaseLocation::parse(text).map_err(|e| e.to_string())
}

/// Parse `67108864`, `64M`, `64MiB`, `512k`, `1G` (binary multiples).
fn parse_size(text: &str) -> Result<usize, String> {
    let t = text.trim();
    let split = t.find(|c: char| !c.is_ascii_digit()).unwrap_or(t.len());
    let (digits, unit) = t.split_at(split);
    let n: usize = digits
        .parse()
        .map_err(|_| format!("{text:?} is not a size"))?;
    let shift = match unit.trim().to_ascii_lowercase().as_str() {
        "" | "b" => 0,
        "k" | "kb" | "kib" => 10,
        "m" | "mb" | "mib" => 20,
        "g" | "gb" | "gib" => 30,
        _ => return Err(format!("{text:?}: unknown unit (use K, M or G)")),
    };
    let size = n
        .checked_mul(1usize << shift)
        .ok_or_else(|| format!("{text:?} is too large"))?;
    if size == 0 {
        return Err("the size must be positive".into());
    }
    Ok(size)
}

/// A storage quota: a size as for `--max-body`, or 0 for none.
fn parse_quota(text: &str) -> Result<u64, String> {
    if text.trim() == "0" {
        return Ok(0);
    }
    parse_size(text).map(|n| n as u64)
}

fn config(args: ServeArgs) -> ServerConfig {
    let mut ingest = IngestConfig::new(args.data);
    ingest.recipient_key = match args.recipient_key {
        Some(file) => KeySource::File(file),
        None if std::env::var_os(RECIPIENT_KEY_ENV).is_some() => {
            KeySource::Env(RECIPIENT_KEY_ENV.into())
        }
        None => KeySource::DataDir,
    };
    if let Some(url) = args.object_store {
        ingest.object_store = ObjectStoreLocation::S3Url(url);
    }
    if let Some(database) = args.database {
        ingest.database = database;
    }
    ingest.staging_lease = Duration::from_secs(args.staging_lease.max(1));
    ingest.trust_roots = args.trust;
    ingest.revoked_devices = args.revoked_devices;
    ingest.recipient_id = args.recipient_id;
    ingest.public_origin = args.public_origin;
    ingest.jurisdiction = args.jurisdiction;
    ingest.reading_window.max_age_secs = args.reading_max_age_days.saturating_mul(24 * 3600);
    let defaults = Limits::default();
    ingest.limits = Limits {
        max_body: args.max_body,
        request_timeout: Duration::from_secs(args.timeout.max(1)),
        max_concurrent_uploads: args
            .max_concurrent_uploads
            .unwrap_or(defaults.max_concurrent_uploads)
            .max(1),
        client_rate: args.client_rate,
        enrol_rate: args.enrol_rate,
        client_quota: args.client_quota,
        ..defaults
    };
    ServerConfig {
        addr: SocketAddr::new(args.bind, args.port),
        dist: args.dist,
        ingest,
    }
}

/// Run `veil serve` until the server stops.
pub fn run(args: ServeArgs) -> Result<(), Failure> {
    let runtime = tokio::runtime::Runtime::new().map_err(|e| {
        Failure::new(
            crate::failure::IO,
            format!("cannot start the async runtime: {e}"),
        )
    })?;
    Ok(runtime.block_on(veil_ingest::serve(config(args)))?)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes_parse_with_binary_units() {
        assert_eq!(parse_size("67108864"), Ok(64 << 20));
        assert_eq!(parse_size("64MiB"), Ok(64 << 20));
        assert_eq!(parse_size("64M"), Ok(64 << 20));
        assert_eq!(parse_size("512k"), Ok(512 << 10));
        assert_eq!(parse_size("1G"), Ok(1 << 30));
        assert!(parse_size("0").is_err());
        assert!(parse_size("12 parsecs").is_err());
        assert!(parse_size("").is_err());
    }

    #[test]
    fn a_database_url_is_postgres_and_its_password_is_never_repeated() {
        let ok = parse_database("postgresql://veil:hunter2@db:5433/veil").unwrap();
        assert!(!format!("{ok:?}").contains("hunter2"));
        let err = parse_database("mysql://veil:hunter2@db/veil").unwrap_err();
        assert!(!err.contains("hunter2"), "{err}");
    }
}
