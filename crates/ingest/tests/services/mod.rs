//! Real services for the multi-instance tests: a throwaway PostgreSQL cluster (Debian's
//! `postgresql` package: `initdb` and `pg_ctl` under the test's temporary directory, its own port
//! and socket directory) and an S3-compatible server (Python's `moto[server]`), each stopped when
//! dropped.
//!
//! When a service's programs are missing the test is skipped with a loud message, unless
//! `VEIL_REQUIRE_SERVICES` is set (CI sets it after `cargo xtask` installed them): then it fails.
#![allow(dead_code, clippy::unwrap_used, clippy::expect_used)]

use std::io::{Read, Write};
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// The environment variable that turns a missing service into a failure.
pub const REQUIRE_SERVICES: &str = "VEIL_REQUIRE_SERVICES";
/// The password of the test cluster's superuser (also what the tests check never reaches logs).
pub const PG_PASSWORD: &str = "pw-never-logged-7f3a";
/// The superuser of the test cluster.
pub const PG_USER: &str = "veil";

/// Where Debian's PostgreSQL programs are (the newest major installed), if anywhere.
pub fn postgres_bin() -> Option<PathBuf> {
    let mut majors: Vec<PathBuf> = std::fs::read_dir("/usr/lib/postgresql")
        .ok()?
        .flatten()
        .map(|e| e.path().join("bin"))
        .filter(|bin| bin.join("initdb").is_file() && bin.join("pg_ctl").is_file())
        .collect();
    majors.sort_by_key(|p| {
        p.parent()
            .and_then(|m| m.file_name())
            .and_then(|n| n.to_str())
            .and_then(|n| n.parse::<u32>().ok())
            .unwrap_or(0)
    });
    majors.pop().or_else(|| {
        which("initdb")
            .filter(|_| which("pg_ctl").is_some())
            .and_then(|p| p.parent().map(Path::to_path_buf))
    })
}

/// The `moto_server` program, if on the PATH.
pub fn moto_server() -> Option<PathBuf> {
    which("moto_server")
}

fn which(program: &str) -> Option<PathBuf> {
    std::env::split_paths(&std::env::var_os("PATH")?)
        .map(|dir| dir.join(program))
        .find(|p| p.is_file())
}

/// Whether the services are there; when not, skip loudly (or fail when they are required).
pub fn available(test: &str) -> bool {
    let mut missing = vec![];
    if postgres_bin().is_none() {
        missing.push("PostgreSQL (initdb, pg_ctl: Debian's postgresql package)");
    }
    if moto_server().is_none() {
        missing.push("moto_server (pip install \"moto[server]\")");
    }
    if which("openssl").is_none() {
        missing.push("openssl (test certificates)");
    }
    if missing.is_empty() {
        return true;
    }
    let message = format!(
        "{test}: {} not installed (`cargo xtask test` installs them)",
        missing.join(" and ")
    );
    if std::env::var_os(REQUIRE_SERVICES).is_some() {
        panic!("{message}, and {REQUIRE_SERVICES} is set");
    }
    eprintln!("\n!!!!!!!! SKIPPED {message} !!!!!!!!\n");
    false
}

/// A free TCP port on 127.0.0.1 (free when asked; the service binds it right after).
pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

fn is_root() -> bool {
    Command::new("id")
        .arg("-u")
        .output()
        .is_ok_and(|o| String::from_utf8_lossy(&o.stdout).trim() == "0")
}

/// Run a PostgreSQL program: as the `postgres` user when we are root (initdb refuses root).
fn pg_command(bin: &Path, program: &str) -> Command {
    if is_root() {
        let mut c = Command::new("runuser");
        c.args(["-u", "postgres", "--"]).arg(bin.join(program));
        c
    } else {
        Command::new(bin.join(program))
    }
}

/// A PostgreSQL cluster of its own, on 127.0.0.1 with password (SCRAM) authentication.
pub struct Postgres {
    bin: PathBuf,
    /// The temporary directory holding the cluster (deleted when dropped).
    pub dir: tempfile::TempDir,
    /// Its port.
    pub port: u16,
    /// With TLS: the CA certificate (PEM) that signed the server's certificate (for 127.0.0.1).
    pub ca: Option<PathBuf>,
}

/// Run openssl with `args` in `dir`; panics with its stderr if it fails.
fn openssl(dir: &Path, args: &[&str]) {
    let out = Command::new("openssl")
        .current_dir(dir)
        .args(args)
        .output()
        .expect("openssl is installed");
    assert!(
        out.status.success(),
        "openssl {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// A test CA and a server certificate for 127.0.0.1 it signed (P-256), in `dir`: `ca.pem`,
/// `server.crt`, `server.key`.
fn make_certificates(dir: &Path) {
    openssl(
        dir,
        &[
            "ecparam",
            "-name",
            "prime256v1",
            "-genkey",
            "-noout",
            "-out",
            "ca.key",
        ],
    );
    openssl(
        dir,
        &[
            "req",
            "-x509",
            "-new",
            "-key",
            "ca.key",
            "-out",
            "ca.pem",
            "-days",
            "2",
            "-subj",
            "/CN=veil test CA",
            "-addext",
            "basicConstraints=critical,CA:TRUE",
            "-addext",
            "keyUsage=critical,keyCertSign,cRLSign",
        ],
    );
    openssl(
        dir,
        &[
            "ecparam",
            "-name",
            "prime256v1",
            "-genkey",
            "-noout",
            "-out",
            "server.key",
        ],
    );
    openssl(
        dir,
        &[
            "req",
            "-new",
            "-key",
            "server.key",
            "-out",
            "server.csr",
            "-subj",
            "/CN=127.0.0.1",
        ],
    );
    std::fs::write(
        dir.join("server.ext"),
        "subjectAltName=IP:127.0.0.1\nbasicConstraints=CA:FALSE\n\
         keyUsage=critical,digitalSignature\nextendedKeyUsage=serverAuth\n",
    )
    .unwrap();
    openssl(
        dir,
        &[
            "x509",
            "-req",
            "-in",
            "server.csr",
            "-CA",
            "ca.pem",
            "-CAkey",
            "ca.key",
            "-CAcreateserial",
            "-out",
            "server.crt",
            "-days",
            "2",
            "-extfile",
            "server.ext",
        ],
    );
}

impl Postgres {
    /// initdb, then start on a free port; panics if it cannot.
    pub fn start() -> Self {
        Self::start_with(false)
    }

    /// [`Postgres::start`] with TLS on (`ssl = on`, a certificate from a test CA: [`Postgres::ca`]).
    pub fn start_tls() -> Self {
        Self::start_with(true)
    }

    fn start_with(tls: bool) -> Self {
        let bin = postgres_bin().expect("PostgreSQL is installed");
        let dir = tempfile::Builder::new()
            .prefix("veil-pg")
            .tempdir()
            .unwrap();
        if is_root() {
            let status = Command::new("chown")
                .args(["-R", "postgres"])
                .arg(dir.path())
                .status()
                .unwrap();
            assert!(status.success(), "chown of the cluster directory");
        }
        let data = dir.path().join("data");
        let pwfile = dir.path().join("pw");
        std::fs::write(&pwfile, PG_PASSWORD).unwrap();
        if is_root() {
            Command::new("chown")
                .arg("postgres")
                .arg(&pwfile)
                .status()
                .unwrap();
        }
        let out = pg_command(&bin, "initdb")
            .arg("-D")
            .arg(&data)
            .args([
                "-U",
                PG_USER,
                "--auth-local=trust",
                "--auth-host=scram-sha-256",
                "-E",
                "UTF8",
                "--no-sync",
            ])
            .arg(format!("--pwfile={}", pwfile.display()))
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "initdb: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        let port = free_port();
        let mut options = format!(
            "-p {port} -k {} -c listen_addresses=127.0.0.1 -c fsync=off -c max_connections=200",
            dir.path().display()
        );
        let ca = tls.then(|| {
            let certs = dir.path().join("certs");
            std::fs::create_dir_all(&certs).unwrap();
            make_certificates(&certs);
            let key = certs.join("server.key");
            if is_root() {
                Command::new("chown")
                    .args(["-R", "postgres"])
                    .arg(&certs)
                    .status()
                    .unwrap();
            }
            Command::new("chmod").arg("600").arg(&key).status().unwrap();
            options.push_str(&format!(
                " -c ssl=on -c ssl_cert_file={} -c ssl_key_file={}",
                certs.join("server.crt").display(),
                key.display()
            ));
            certs.join("ca.pem")
        });
        let out = pg_command(&bin, "pg_ctl")
            .arg("-D")
            .arg(&data)
            .arg("-l")
            .arg(dir.path().join("log"))
            .args(["-w", "-t", "60", "-o", &options, "start"])
            .stdin(Stdio::null())
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "pg_ctl start: {}{}",
            String::from_utf8_lossy(&out.stdout),
            std::fs::read_to_string(dir.path().join("log")).unwrap_or_default()
        );
        Postgres { bin, dir, port, ca }
    }

    /// The URL of database `db` (with the password).
    pub fn url(&self, db: &str) -> String {
        format!(
            "postgres://{PG_USER}:{PG_PASSWORD}@127.0.0.1:{}/{db}",
            self.port
        )
    }

    /// Create database `name` (through the server's `postgres` database).
    pub fn create_database(&self, name: &str) {
        let url = format!("{}?sslmode=disable", self.url("postgres"));
        let name = name.to_owned();
        std::thread::spawn(move || {
            let mut client = postgres::Client::connect(&url, postgres::NoTls).unwrap();
            client
                .batch_execute(&format!("CREATE DATABASE \"{name}\""))
                .unwrap();
        })
        .join()
        .unwrap();
    }

    /// Rows of a query returning one text-or-integer column, as strings (without TLS).
    pub fn query_strings(&self, db: &str, sql: &str) -> Vec<String> {
        let url = format!("{}?sslmode=disable", self.url(db));
        let sql = sql.to_owned();
        std::thread::spawn(move || {
            let mut client = postgres::Client::connect(&url, postgres::NoTls).unwrap();
            client
                .simple_query(&sql)
                .unwrap()
                .into_iter()
                .filter_map(|m| match m {
                    postgres::SimpleQueryMessage::Row(row) => row.get(0).map(str::to_owned),
                    _ => None,
                })
                .collect()
        })
        .join()
        .unwrap()
    }
}

impl Drop for Postgres {
    fn drop(&mut self) {
        let _ = pg_command(&self.bin, "pg_ctl")
            .arg("-D")
            .arg(self.dir.path().join("data"))
            .args(["-m", "immediate", "stop"])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status();
    }
}

/// An S3-compatible server (moto) on a free port, with one bucket.
pub struct Moto {
    child: Child,
    /// Its port.
    pub port: u16,
}

impl Moto {
    /// Start moto_server and create `bucket`.
    pub fn start(bucket: &str) -> Self {
        let port = free_port();
        let child = Command::new(moto_server().expect("moto_server is installed"))
            .args(["-H", "127.0.0.1", "-p", &port.to_string()])
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let moto = Moto { child, port };
        let deadline = Instant::now() + Duration::from_secs(60);
        loop {
            match moto.request("PUT", &format!("/{bucket}")) {
                Some(200) => break,
                status => {
                    assert!(
                        Instant::now() < deadline,
                        "moto_server did not come up: {status:?}"
                    );
                    std::thread::sleep(Duration::from_millis(200));
                }
            }
        }
        moto
    }

    /// The endpoint URL (`AWS_ENDPOINT_URL`).
    pub fn endpoint(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    /// The `AWS_*` variables an instance needs to use this server.
    pub fn env(&self) -> Vec<(&'static str, String)> {
        vec![
            ("AWS_ENDPOINT_URL", self.endpoint()),
            ("AWS_ALLOW_HTTP", "true".into()),
            ("AWS_ACCESS_KEY_ID", "testing".into()),
            ("AWS_SECRET_ACCESS_KEY", "testing".into()),
            ("AWS_REGION", "us-east-1".into()),
        ]
    }

    /// A plain HTTP request; the status, or `None` if unreachable.
    pub fn request(&self, method: &str, path: &str) -> Option<u16> {
        let (status, _) = self.request_body(method, path)?;
        Some(status)
    }

    /// A plain HTTP request; the status and the body.
    pub fn request_body(&self, method: &str, path: &str) -> Option<(u16, String)> {
        let (status, body) = self.request_bytes(method, path)?;
        Some((status, String::from_utf8_lossy(&body).into_owned()))
    }

    /// A plain HTTP request with no body; the status and the body's bytes. It carries an
    /// `Authorization` header of the right form with a dummy signature: moto does not verify
    /// signatures (its default), but refuses some operations (GetObject) to anonymous requests.
    pub fn request_bytes(&self, method: &str, path: &str) -> Option<(u16, Vec<u8>)> {
        let mut stream = TcpStream::connect(("127.0.0.1", self.port)).ok()?;
        stream
            .set_read_timeout(Some(Duration::from_secs(30)))
            .ok()?;
        write!(
            stream,
            "{method} {path} HTTP/1.1\r\nHost: 127.0.0.1:{}\r\nContent-Length: 0\r\n\
             Authorization: AWS4-HMAC-SHA256 Credential=testing/20260101/us-east-1/s3/aws4_request, \
             SignedHeaders=host, Signature=00\r\nConnection: close\r\n\r\n",
            self.port
        )
        .ok()?;
        let mut response = Vec::new();
        stream.read_to_end(&mut response).ok()?;
        let split = response.windows(4).position(|w| w == b"\r\n\r\n")?;
        let head = String::from_utf8_lossy(&response[..split]).to_ascii_lowercase();
        let status = head.split(' ').nth(1)?.parse().ok()?;
        // Connection: close, and moto sends a Content-Length: the rest is the body.
        if head.contains("transfer-encoding: chunked") {
            return None;
        }
        Some((status, response[split + 4..].to_vec()))
    }

    /// Every key in `bucket` (ListObjectsV2, following continuation tokens).
    pub fn keys(&self, bucket: &str) -> Vec<String> {
        let mut keys = vec![];
        let mut token: Option<String> = None;
        loop {
            let mut path = format!("/{bucket}?list-type=2&max-keys=1000");
            if let Some(t) = &token {
                path.push_str("&continuation-token=");
                path.push_str(&percent(t));
            }
            let (status, body) = self.request_body("GET", &path).expect("moto answers");
            assert_eq!(status, 200, "{body}");
            keys.extend(xml_values(&body, "Key"));
            token = xml_values(&body, "NextContinuationToken")
                .into_iter()
                .next();
            if token.is_none() {
                break;
            }
        }
        keys.sort();
        keys
    }
}

impl Drop for Moto {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn percent(text: &str) -> String {
    text.bytes()
        .map(|b| {
            if b.is_ascii_alphanumeric() || b"-_.~".contains(&b) {
                (b as char).to_string()
            } else {
                format!("%{b:02X}")
            }
        })
        .collect()
}

/// The text of every `<tag>…</tag>` in `xml` (S3 keys here are plain ASCII paths).
fn xml_values(xml: &str, tag: &str) -> Vec<String> {
    let (open, close) = (format!("<{tag}>"), format!("</{tag}>"));
    let mut out = vec![];
    let mut rest = xml;
    while let Some(start) = rest.find(&open) {
        let after = &rest[start + open.len()..];
        let Some(end) = after.find(&close) else { break };
        out.push(after[..end].to_owned());
        rest = &after[end + close.len()..];
    }
    out
}
