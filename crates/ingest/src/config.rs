//! How the server is configured: where it keeps data, which key opens envelopes, which device
//! roots it trusts, and the limits that keep one client from exhausting it.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use veil_trust::FreshnessWindow;

/// Default bound on a request body: 64 MiB (a de-identified model plus readings, sealed).
pub const DEFAULT_MAX_BODY: usize = 64 * 1024 * 1024;
/// Default bound on the time one request may take, body upload included.
pub const DEFAULT_REQUEST_TIMEOUT: Duration = Duration::from_secs(120);
/// Default bound on the time a client may take to send a request's headers (slowloris).
pub const DEFAULT_HEADER_READ_TIMEOUT: Duration = Duration::from_secs(30);
/// Default bound on device readings per artifact (each costs a chain check and an ECDSA verify).
pub const DEFAULT_MAX_READINGS: usize = 1024;
/// Default requests a minute per enrolled client and instance.
pub const DEFAULT_CLIENT_RATE: u32 = 600;
/// Default enrolment attempts a minute per instance.
pub const DEFAULT_ENROL_RATE: u32 = 60;
/// Default stored envelope bytes per client: 10 GiB.
pub const DEFAULT_CLIENT_QUOTA: u64 = 10 * 1024 * 1024 * 1024;
/// The environment variable that may hold the recipient key PEM (instead of a file).
pub const RECIPIENT_KEY_ENV: &str = "VEIL_RECIPIENT_KEY";
/// File name of the recipient key generated inside the data directory.
pub const GENERATED_KEY_FILE: &str = "recipient-key.pem";
/// File name of the metadata database inside the data directory.
pub const DATABASE_FILE: &str = "veil-ingest.sqlite3";
/// Directory of the local object store inside the data directory.
pub const OBJECTS_DIR: &str = "objects";
/// Default staging lease: how long an upload attempt's staging objects may stay before the
/// sweep counts them as abandoned.
pub const DEFAULT_STAGING_LEASE: Duration = Duration::from_secs(60 * 60);

/// How the server is configured.
#[derive(Debug, Clone)]
pub struct ServerConfig {
    /// Address to bind, e.g. `127.0.0.1:8080`.
    pub addr: SocketAddr,
    /// The built PWA to serve (`dist/`).
    pub dist: PathBuf,
    /// The ingest API's configuration.
    pub ingest: IngestConfig,
}

impl ServerConfig {
    /// A configuration serving `dist` on `addr`, keeping data in `./veil-data` with defaults.
    pub fn new(addr: SocketAddr, dist: PathBuf) -> Self {
        ServerConfig {
            addr,
            dist,
            ingest: IngestConfig::new(PathBuf::from("veil-data")),
        }
    }
}

/// Where the recipient's HPKE private key comes from. The key itself is never logged.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum KeySource {
    /// A PEM file (PKCS#8 `PRIVATE KEY` or SEC1 `EC PRIVATE KEY`) that must exist.
    File(PathBuf),
    /// An environment variable holding the PEM text.
    Env(String),
    /// `<data>/recipient-key.pem`, generated (mode 0600) on first start if absent.
    DataDir,
}

/// Where artifacts (envelopes and verified manifests) are stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ObjectStoreLocation {
    /// The local filesystem under `<data>/objects` (the default).
    DataDir,
    /// The local filesystem under another directory.
    Local(PathBuf),
    /// An S3-compatible bucket, `s3://bucket/optional/prefix`; endpoint, region and credentials
    /// from the standard `AWS_*` environment variables (`AWS_ENDPOINT_URL` or `AWS_ENDPOINT`,
    /// `AWS_REGION`, `AWS_ACCESS_KEY_ID`, `AWS_SECRET_ACCESS_KEY`, `AWS_ALLOW_HTTP=true` for a
    /// local MinIO or moto).
    S3Url(String),
}

/// Where the metadata (artifact records, device counters, clients, control requests) is kept.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub enum DatabaseLocation {
    /// A SQLite file in the data directory, `<data>/veil-ingest.sqlite3` (the default: one
    /// machine, one instance).
    #[default]
    Sqlite,
    /// A PostgreSQL database shared by any number of instances.
    Postgres(DatabaseUrl),
}

impl DatabaseLocation {
    /// A `postgres://` or `postgresql://` URL (`postgres://user:password@host:port/dbname`,
    /// libpq's URL form); anything else is a configuration error that does not repeat the text.
    pub fn parse(url: &str) -> Result<Self, crate::ServeError> {
        let url = url.trim();
        if !(url.starts_with("postgres://") || url.starts_with("postgresql://")) {
            return Err(crate::ServeError::Config(
                "the database must be a postgres:// or postgresql:// URL".into(),
            ));
        }
        parse_postgres(url)?;
        Ok(DatabaseLocation::Postgres(DatabaseUrl(url.to_owned())))
    }
}

/// A database connection URL. It may carry a password, so it shows as
/// `postgres://user@host:port/dbname` (never the password) in `Debug` and `Display`; only the
/// store reads it whole ([`DatabaseUrl::expose`]).
#[derive(Clone, PartialEq, Eq)]
pub struct DatabaseUrl(String);

impl DatabaseUrl {
    /// The connection settings the URL gives (nothing is connected), with Veil's connect timeout
    /// and application name.
    pub fn postgres_config(&self) -> Result<postgres::Config, crate::ServeError> {
        parse_postgres(&self.0)
    }

    /// The URL itself, password included: for connecting, never for printing.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Display for DatabaseUrl {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match parse_postgres(&self.0) {
            Ok(config) => write!(f, "postgres://{}", describe_postgres(&config)),
            Err(_) => f.write_str("postgres://(unreadable URL)"),
        }
    }
}

impl std::fmt::Debug for DatabaseUrl {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "DatabaseUrl({self})")
    }
}

/// How long connecting to PostgreSQL may take.
pub const POSTGRES_CONNECT_TIMEOUT: Duration = Duration::from_secs(10);

/// Parse a `postgres://` / `postgresql://` URL (or a `key=value` connection string) without
/// connecting. The error never repeats the string.
fn parse_postgres(url: &str) -> Result<postgres::Config, crate::ServeError> {
    let mut config: postgres::Config = url.parse().map_err(|e: postgres::Error| {
        crate::ServeError::Config(format!("the database URL is not a PostgreSQL URL: {e}"))
    })?;
    if config.get_connect_timeout().is_none() {
        config.connect_timeout(POSTGRES_CONNECT_TIMEOUT);
    }
    config.application_name("veil-ingest");
    Ok(config)
}

/// `user@host:port/dbname`, never the password: what logs and errors may show of a connection.
pub fn describe_postgres(config: &postgres::Config) -> String {
    let host = config
        .get_hosts()
        .iter()
        .map(|h| match h {
            postgres::config::Host::Tcp(name) => name.clone(),
            #[cfg(unix)]
            postgres::config::Host::Unix(path) => path.display().to_string(),
        })
        .collect::<Vec<_>>()
        .join(",");
    let port = config
        .get_ports()
        .iter()
        .map(u16::to_string)
        .collect::<Vec<_>>()
        .join(",");
    format!(
        "{}@{}:{}/{}",
        config.get_user().unwrap_or("-"),
        if host.is_empty() { "localhost" } else { &host },
        if port.is_empty() { "5432" } else { &port },
        config.get_dbname().unwrap_or("-"),
    )
}

/// Bounds on what one request may cost.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// Largest request body in bytes; a larger body answers 413 `body-too-large`.
    pub max_body: usize,
    /// Longest time one API request may take (body upload included); 408 `timeout` after.
    pub request_timeout: Duration,
    /// Uploads processed at once (each holds up to ~4 × `max_body` of memory: the envelope, the
    /// plaintext, its decoded form); others wait for a slot within their timeout.
    pub max_concurrent_uploads: usize,
    /// Most device readings one artifact may carry.
    pub max_readings: usize,
    /// Longest time a connection may take to send a request's headers; it is closed after.
    pub header_read_timeout: Duration,
    /// Requests a minute one enrolled client may make on this instance (uploads and control
    /// requests; burst of as many); 0 = unlimited. Over it: 429 `rate-limited`.
    pub client_rate: u32,
    /// Enrolment attempts a minute this instance accepts from everyone together (they come from
    /// keys not yet known); 0 = unlimited. Over it: 429 `rate-limited`.
    pub enrol_rate: u32,
    /// Stored envelope bytes allowed per client across all instances; 0 = unlimited. Over it:
    /// 429 `storage-quota`.
    pub client_quota: u64,
}

impl Default for Limits {
    fn default() -> Self {
        let cores = std::thread::available_parallelism().map_or(2, usize::from);
        Limits {
            max_body: DEFAULT_MAX_BODY,
            request_timeout: DEFAULT_REQUEST_TIMEOUT,
            max_concurrent_uploads: (2 * cores).max(4),
            max_readings: DEFAULT_MAX_READINGS,
            header_read_timeout: DEFAULT_HEADER_READ_TIMEOUT,
            client_rate: DEFAULT_CLIENT_RATE,
            enrol_rate: DEFAULT_ENROL_RATE,
            client_quota: DEFAULT_CLIENT_QUOTA,
        }
    }
}

/// The ingest API's configuration.
#[derive(Debug, Clone)]
pub struct IngestConfig {
    /// The data directory: metadata database, local objects, generated key.
    pub data_dir: PathBuf,
    /// Where the recipient key comes from.
    pub recipient_key: KeySource,
    /// Where artifacts are stored.
    pub object_store: ObjectStoreLocation,
    /// Where the metadata is kept.
    pub database: DatabaseLocation,
    /// How long an upload attempt's staging objects may stay before the sweep deletes them as
    /// abandoned (raised to at least twice the request timeout); the sweep runs at start and every
    /// quarter of it.
    pub staging_lease: Duration,
    /// PEM file of the device manufacturer roots this server trusts; none trusts no device, so
    /// any artifact carrying device evidence is refused (`reading-rejected`, `untrusted-chain`).
    pub trust_roots: Option<PathBuf>,
    /// Revoked device serials, one per line (`veil-trust`'s revocation list format).
    pub revoked_devices: Option<PathBuf>,
    /// This server's recipient id; if set, a manifest naming another recipient is refused.
    pub recipient_id: Option<String>,
    /// How old (and how far in the future) a device reading may be when it arrives. Uploads come
    /// from an offline outbox, so the default allows 30 days; the live freshness check against
    /// the app's challenge happened in the browser.
    pub reading_window: FreshnessWindow,
    /// Request bounds.
    pub limits: Limits,
    /// The origin recipient users reach this server at (`https://veil.clinic.example`), for their
    /// passkeys: its host is the WebAuthn RP ID, and a ceremony from any other origin is refused.
    /// `veil serve` defaults it to `http://localhost:PORT`.
    pub public_origin: Option<String>,
    /// The controller's jurisdiction (`DE`, `US-CA`, ...): reads are decided again under its law
    /// besides the subject's ([`veil_consent::DecideOptions::controller`]). `None`: under the
    /// subject's jurisdictions only.
    pub jurisdiction: Option<String>,
}

impl IngestConfig {
    /// Defaults with data under `data_dir`.
    pub fn new(data_dir: PathBuf) -> Self {
        IngestConfig {
            data_dir,
            recipient_key: KeySource::DataDir,
            object_store: ObjectStoreLocation::DataDir,
            database: DatabaseLocation::Sqlite,
            staging_lease: DEFAULT_STAGING_LEASE,
            trust_roots: None,
            revoked_devices: None,
            recipient_id: None,
            reading_window: FreshnessWindow {
                max_age_secs: 30 * 24 * 3600,
                max_future_secs: 300,
            },
            limits: Limits::default(),
            public_origin: None,
            jurisdiction: None,
        }
    }
}

/// Create `dir` (and missing parents) readable by its owner only (mode 0700 on Unix): it holds the
/// recipient key and pseudonymised records. An existing directory keeps its mode.
pub fn create_private_dir(dir: &std::path::Path) -> std::io::Result<()> {
    let mut builder = std::fs::DirBuilder::new();
    builder.recursive(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::DirBuilderExt;
        builder.mode(0o700);
    }
    builder.create(dir)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn database_urls_never_show_their_password() {
        let location =
            DatabaseLocation::parse("postgres://veil:s3cret-pw@db.example:6543/veil").unwrap();
        let DatabaseLocation::Postgres(url) = &location else {
            panic!("{location:?}");
        };
        assert_eq!(url.to_string(), "postgres://veil@db.example:6543/veil");
        assert!(!format!("{location:?}").contains("s3cret"));
        assert!(url.expose().contains("s3cret-pw"));
        assert!(DatabaseLocation::parse("postgresql://veil@localhost/veil").is_ok());
        for bad in [
            "mysql://veil:pw@host/db",
            "veil.sqlite3",
            "postgres://veil:pw@host:notaport/db",
        ] {
            let err = DatabaseLocation::parse(bad).unwrap_err();
            assert_eq!(veil_core::Coded::code(&err), "bad-config");
            assert!(!err.to_string().contains("pw@"), "{err}");
        }
    }

    #[cfg(unix)]
    #[test]
    fn a_new_data_directory_is_owner_only() {
        use std::os::unix::fs::PermissionsExt;
        let base = std::env::temp_dir().join(format!("veil-ingest-dir-{}", std::process::id()));
        let dir = base.join("a/b");
        create_private_dir(&dir).unwrap();
        assert_eq!(
            std::fs::metadata(&dir).unwrap().permissions().mode() & 0o777,
            0o700
        );
        let _ = std::fs::remove_dir_all(&base);
    }
}
