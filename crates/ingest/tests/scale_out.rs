//! Issue #14, scale-out: several `veil serve` processes on one PostgreSQL database and one S3
//! bucket (moto), each of them killed (SIGKILL) and restarted in turn while 200 uploads are under
//! way.
//!
//! Checked: every upload ends 201 or 200 with its own id (nothing lost); the database holds each
//! artifact exactly once and the bucket exactly its two objects (nothing duplicated, nothing
//! orphaned once the staging lease has passed and a sweep has run); a third instance started on
//! a fresh data directory with the same database and bucket deletes nothing, neither an upload
//! in flight (a fresh staging object) nor an object its database does not know; and no instance
//! ever prints the database password.
//!
//! Runs the `veil` binary of this target directory (`cargo test --workspace` builds it; alone:
//! `cargo build -p veil-cli` first). Skipped with a loud message when PostgreSQL or moto is not
//! installed, unless `VEIL_REQUIRE_SERVICES` is set (`cargo xtask test` installs both and sets it).
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;
mod services;

use std::collections::BTreeSet;
use std::io::{Read, Write};
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use common::*;

const BUCKET: &str = "veil-scale";
const PREFIX: &str = "clinic";
const UPLOADS: usize = 200;
const CLIENT_THREADS: usize = 16;
/// Short, so the test sees abandoned staging objects swept: the sweep runs every lease / 4.
const LEASE_SECS: u64 = 8;
/// The request timeout (the lease must be at least twice it).
const TIMEOUT_SECS: u64 = 4;

/// The `veil` binary next to this test's directory (`target/<profile>/veil`).
fn veil_binary() -> Option<PathBuf> {
    let exe = std::env::current_exe().ok()?;
    let profile_dir = exe.parent()?.parent()?;
    let veil = profile_dir.join(format!("veil{}", std::env::consts::EXE_SUFFIX));
    veil.is_file().then_some(veil)
}

/// The `veil` binary, when it and the services are there; `None` (the test is skipped, loudly)
/// when not, unless `VEIL_REQUIRE_SERVICES` is set (then it fails).
fn prerequisites(test: &str) -> Option<PathBuf> {
    if !services::available(test) {
        return None;
    }
    let veil = veil_binary();
    if veil.is_none() {
        let message = format!(
            "{test}: no veil binary next to the test (`cargo build -p veil-cli`, or run the workspace's tests)"
        );
        if std::env::var_os(services::REQUIRE_SERVICES).is_some() {
            panic!("{message}");
        }
        eprintln!("\n!!!!!!!! SKIPPED {message} !!!!!!!!\n");
    }
    veil
}

/// One `veil serve` process of the cluster.
struct Instance {
    name: String,
    port: u16,
    data: PathBuf,
    child: Option<Child>,
}

/// What every instance shares: the binary, the storage flags and environment, the key, the app.
struct Cluster {
    veil: PathBuf,
    dir: PathBuf,
    /// Flags every instance gets (`--database`, `--object-store`, ...).
    args: Vec<String>,
    env: Vec<(&'static str, String)>,
    recipient_key: PathBuf,
    dist: PathBuf,
}

impl Cluster {
    fn start(&self, name: &str, port: u16, data: &Path) -> Instance {
        let mut instance = Instance {
            name: name.to_owned(),
            port,
            data: data.to_path_buf(),
            child: None,
        };
        self.restart(&mut instance);
        instance
    }

    /// `veil serve` on `port` with data directory `data` and the cluster's flags and environment.
    fn command(&self, port: u16, data: &Path) -> Command {
        let mut command = Command::new(&self.veil);
        command
            .args(["serve", "--port", &port.to_string()])
            .arg("--dist")
            .arg(&self.dist)
            .arg("--data")
            .arg(data)
            .arg("--recipient-key")
            .arg(&self.recipient_key)
            .args(["--recipient-id", RECIPIENT_ID])
            .args(&self.args)
            .stdin(Stdio::null());
        for (key, value) in &self.env {
            command.env(key, value);
        }
        command
    }

    /// (Re)start `instance` and wait until it answers.
    fn restart(&self, instance: &mut Instance) {
        let log = |suffix: &str| {
            std::fs::OpenOptions::new()
                .create(true)
                .append(true)
                .open(self.dir.join(format!("{}.{suffix}", instance.name)))
                .unwrap()
        };
        let mut command = self.command(instance.port, &instance.data);
        command.stdout(log("out")).stderr(log("err"));
        instance.child = Some(command.spawn().unwrap());
        let deadline = Instant::now() + Duration::from_secs(60);
        while http(instance.port, "GET", "/v1/recipient-key", &[]).map(|r| r.0) != Some(200) {
            if let Some(status) = instance.child.as_mut().unwrap().try_wait().unwrap() {
                panic!(
                    "{} exited {status} at start (a stale veil binary? `cargo build -p veil-cli`): {}",
                    instance.name,
                    self.log(&instance.name)
                );
            }
            assert!(
                Instant::now() < deadline,
                "{} did not start: {}",
                instance.name,
                self.log(&instance.name)
            );
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    /// SIGKILL (`Child::kill` on Unix): no shutdown, no cleanup.
    fn kill(&self, instance: &mut Instance) {
        if let Some(mut child) = instance.child.take() {
            child.kill().unwrap();
            child.wait().unwrap();
        }
    }

    fn log(&self, name: &str) -> String {
        ["out", "err"]
            .iter()
            .map(|s| {
                std::fs::read_to_string(self.dir.join(format!("{name}.{s}"))).unwrap_or_default()
            })
            .collect::<Vec<_>>()
            .join("\n")
    }
}

impl Drop for Instance {
    fn drop(&mut self) {
        if let Some(child) = self.child.as_mut() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

/// One HTTP/1.1 request over a fresh connection: (status, body), or `None` if the server could
/// not be reached or hung up (what a client sees of a killed instance).
fn http(port: u16, method: &str, path: &str, body: &[u8]) -> Option<(u16, String)> {
    http_with(port, method, path, body, &[])
}

fn http_with(
    port: u16,
    method: &str,
    path: &str,
    body: &[u8],
    headers: &[(&str, &str)],
) -> Option<(u16, String)> {
    let mut stream = TcpStream::connect(("127.0.0.1", port)).ok()?;
    stream
        .set_read_timeout(Some(Duration::from_secs(30)))
        .ok()?;
    let mut head = format!(
        "{method} {path} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nContent-Length: {}\r\nConnection: close\r\n",
        body.len()
    );
    for (name, value) in headers {
        head.push_str(&format!("{name}: {value}\r\n"));
    }
    head.push_str("\r\n");
    stream.write_all(head.as_bytes()).ok()?;
    stream.write_all(body).ok()?;
    let mut response = Vec::new();
    stream.read_to_end(&mut response).ok()?;
    let text = String::from_utf8_lossy(&response).into_owned();
    let status = text.split(' ').nth(1)?.parse().ok()?;
    let body = text.split_once("\r\n\r\n").map(|(_, b)| b.to_owned())?;
    Some((status, body))
}

/// Upload `envelope` as the outbox does: its id as the Idempotency-Key, first to `ports[first]`,
/// and on anything transient (no connection, 408, 429, 5xx) again on the next instance after a
/// short backoff, until a final answer. Returns (status, answered id).
fn upload_until_answered(ports: &[u16], first: usize, envelope: &[u8]) -> (u16, String) {
    let id = id_of(envelope);
    let deadline = Instant::now() + Duration::from_secs(180);
    let mut attempt = 0usize;
    loop {
        let port = ports[(first + attempt) % ports.len()];
        let answer = http_with(
            port,
            "POST",
            "/v1/artifacts",
            envelope,
            &[
                ("content-type", "application/octet-stream"),
                ("idempotency-key", &id),
            ],
        );
        match answer {
            Some((status, body)) if status == 200 || status == 201 => {
                let json: serde_json::Value = serde_json::from_str(&body).unwrap();
                return (status, json["id"].as_str().unwrap().to_owned());
            }
            Some((status, body)) if status < 500 && status != 408 && status != 429 => {
                panic!("upload {id} refused {status}: {body}")
            }
            _ => {}
        }
        assert!(Instant::now() < deadline, "upload {id} never answered");
        attempt += 1;
        std::thread::sleep(Duration::from_millis((50 * attempt as u64).min(1000)));
    }
}

/// Every key in the bucket under the cluster's prefix, without the prefix.
fn bucket_keys(moto: &services::Moto) -> Vec<String> {
    moto.keys(BUCKET)
        .into_iter()
        .filter_map(|k| k.strip_prefix(&format!("{PREFIX}/")).map(str::to_owned))
        .collect()
}

/// Enrol the fixture's client key in the database `database` (SQLite: in `data`), through the
/// store's own API (what `veil admin invite` and `POST /v1/enrolments` come down to).
fn enrol_client(f: &Fixture, data: &Path, database: veil_ingest::DatabaseLocation) {
    let mut config = veil_ingest::IngestConfig::new(data.to_path_buf());
    config.database = database;
    let store = veil_ingest::ArtifactStore::open_metadata(&config).unwrap();
    enrol_in(&store, &f.client);
    // The store's connections close on this thread, not an async one.
    drop(store);
}

/// `count` distinct sealed artifacts, each with a file of its own of about `size` bytes.
fn envelopes(f: &Fixture, count: usize, size: usize) -> Vec<Vec<u8>> {
    (0..count)
        .map(|i| {
            let mut b = f.builder();
            let mut part = format!("artifact {i}\n").into_bytes();
            part.extend(pattern(size));
            b.add_file(&format!("part-{i}.bin"), part).unwrap();
            f.seal(b.sign(&f.client).unwrap().into_bytes())
        })
        .collect()
}

#[test]
fn two_instances_on_postgres_and_s3_store_each_upload_once_through_sigkills() {
    let test = "two_instances_on_postgres_and_s3_store_each_upload_once_through_sigkills";
    let Some(veil) = prerequisites(test) else {
        return;
    };
    let pg = services::Postgres::start();
    pg.create_database("veil");
    let moto = services::Moto::start(BUCKET);
    let f = Fixture::new();
    let database_url = pg.url("veil");
    let cluster = Cluster {
        veil,
        dir: f.dir.path().to_path_buf(),
        args: [
            "--database",
            &database_url,
            "--object-store",
            &format!("s3://{BUCKET}/{PREFIX}"),
            "--staging-lease",
            &LEASE_SECS.to_string(),
            "--timeout",
            &TIMEOUT_SECS.to_string(),
        ]
        .map(String::from)
        .to_vec(),
        env: moto.env(),
        recipient_key: f.dir.path().join("recipient.pem"),
        dist: f.dist.clone(),
    };
    enrol_client(
        &f,
        &f.dir.path().join("admin"),
        veil_ingest::DatabaseLocation::parse(&database_url).unwrap(),
    );
    let envelopes = Arc::new(envelopes(&f, UPLOADS, 64 * 1024));
    let expected: BTreeSet<String> = envelopes.iter().map(|e| id_of(e)).collect();
    assert_eq!(expected.len(), UPLOADS);

    let ports = [services::free_port(), services::free_port()];
    let a = cluster.start("a", ports[0], &f.dir.path().join("data-a"));
    let b = cluster.start("b", ports[1], &f.dir.path().join("data-b"));

    // 200 uploads from 16 clients, spread over both instances, each retried until answered.
    let next = Arc::new(AtomicUsize::new(0));
    let done = Arc::new(AtomicUsize::new(0));
    let answers = Arc::new(Mutex::new(Vec::new()));
    let clients: Vec<_> = (0..CLIENT_THREADS)
        .map(|_| {
            let (next, done, answers, envelopes) = (
                next.clone(),
                done.clone(),
                answers.clone(),
                envelopes.clone(),
            );
            std::thread::spawn(move || {
                loop {
                    let i = next.fetch_add(1, Ordering::SeqCst);
                    let Some(envelope) = envelopes.get(i) else {
                        break;
                    };
                    let answer = upload_until_answered(&ports, i % 2, envelope);
                    answers.lock().unwrap().push((id_of(envelope), answer));
                    done.fetch_add(1, Ordering::SeqCst);
                }
            })
        })
        .collect();
    // Kill instance a in the thick of it and bring it back on the same data directory; later the
    // same for b. What each kill left half done (staging objects) is reported.
    let (mut a, mut b) = (a, b);
    let mut kills = vec![];
    for (instance, at) in [(&mut a, UPLOADS / 4), (&mut b, UPLOADS * 3 / 5)] {
        while done.load(Ordering::SeqCst) < at {
            std::thread::sleep(Duration::from_millis(5));
        }
        cluster.kill(instance);
        let staged = bucket_keys(&moto)
            .iter()
            .filter(|k| k.starts_with("staging/"))
            .count();
        kills.push((instance.name.clone(), done.load(Ordering::SeqCst), staged));
        std::thread::sleep(Duration::from_millis(500));
        cluster.restart(instance);
    }
    for client in clients {
        client.join().unwrap();
    }
    eprintln!("scale-out: (instance, uploads done, staging objects) at each SIGKILL: {kills:?}");
    assert!(
        kills.iter().all(|(_, at, _)| *at < UPLOADS),
        "a kill came after every upload"
    );

    // Nothing lost: every upload answered 201 or 200 with its own id.
    let answers = answers.lock().unwrap();
    assert_eq!(answers.len(), UPLOADS);
    for (id, (status, answered)) in answers.iter() {
        assert!(*status == 201 || *status == 200, "{id}: {status}");
        assert_eq!(answered, id);
    }
    let created = answers.iter().filter(|(_, (s, _))| *s == 201).count();
    eprintln!(
        "scale-out: {UPLOADS} uploads, {created} answered 201 and {} 200 (retries of uploads \
         a killed instance had committed, or raced)",
        UPLOADS - created
    );
    // Stored exactly once: one row per id, no other row.
    let rows: BTreeSet<String> = pg
        .query_strings("veil", "SELECT id FROM artifacts")
        .into_iter()
        .collect();
    assert_eq!(rows, expected);
    assert_eq!(
        pg.query_strings("veil", "SELECT COUNT(*) FROM artifacts"),
        [UPLOADS.to_string()]
    );

    // Nothing orphaned: once the lease has passed and a sweep has run, the bucket holds exactly
    // the two objects of each artifact (staged objects of committed artifacts moved into place,
    // abandoned ones deleted).
    let wanted: BTreeSet<String> = expected
        .iter()
        .flat_map(|id| {
            let base = format!("artifacts/{}/{id}", &id[..2]);
            [
                format!("{base}/envelope.veil"),
                format!("{base}/manifest.json"),
            ]
        })
        .collect();
    let staged_after_uploads = bucket_keys(&moto)
        .iter()
        .filter(|k| k.starts_with("staging/"))
        .count();
    eprintln!("scale-out: {staged_after_uploads} staging objects left when the uploads ended");
    let deadline = Instant::now() + Duration::from_secs(3 * LEASE_SECS + 30);
    let settled = loop {
        let keys: BTreeSet<String> = bucket_keys(&moto).into_iter().collect();
        if keys == wanted {
            break keys;
        }
        assert!(
            Instant::now() < deadline,
            "the bucket never settled: {} keys, {} staged, {} artifact keys missing\n{}\n{}",
            keys.len(),
            keys.iter().filter(|k| k.starts_with("staging/")).count(),
            wanted.difference(&keys).count(),
            cluster.log("a"),
            cluster.log("b")
        );
        std::thread::sleep(Duration::from_millis(500));
    };
    // Each stored envelope is the uploaded bytes, encrypted at rest under its artifact's key
    // (magic, 12-byte nonce, ciphertext of the same length, 16-byte tag): never the envelope.
    for envelope in envelopes.iter().step_by(10) {
        let id = id_of(envelope);
        let path = format!(
            "/{BUCKET}/{PREFIX}/artifacts/{}/{id}/envelope.veil",
            &id[..2]
        );
        let (status, stored) = moto.request_bytes("GET", &path).unwrap();
        assert_eq!(status, 200, "{id}");
        assert!(
            veil_ingest::at_rest::is_sealed_at_rest(&stored)
                && stored.len()
                    == veil_ingest::at_rest::AT_REST_MAGIC.len() + 12 + envelope.len() + 16,
            "{id}: the stored bytes are not the envelope encrypted at rest"
        );
        assert!(
            !stored
                .windows(32)
                .any(|w| envelope.windows(32).next() == Some(w)),
            "{id}"
        );
    }

    // A third instance on a fresh data directory, same database and bucket, while an upload is
    // in flight elsewhere (a fresh staging object) and the bucket holds an object no database
    // knows (another deployment's, or an operator's): it deletes nothing.
    let inflight = format!("staging/{}/1-inflight/envelope.veil", "1".repeat(64));
    let foreign = format!("artifacts/ff/{}/envelope.veil", "f".repeat(64));
    for key in [&inflight, &foreign] {
        let (status, _) = moto
            .request_body("PUT", &format!("/{BUCKET}/{PREFIX}/{key}"))
            .unwrap();
        assert_eq!(status, 200, "{key}");
    }
    let mut planted = settled.clone();
    planted.insert(inflight.clone());
    planted.insert(foreign.clone());
    let c = cluster.start("c", services::free_port(), &f.dir.path().join("data-c"));
    // Its start-up sweep ran before it listened; let a periodic one run too.
    std::thread::sleep(Duration::from_secs(LEASE_SECS / 4 + 1));
    let keys: BTreeSet<String> = bucket_keys(&moto).into_iter().collect();
    assert_eq!(keys, planted, "the third instance deleted something");
    assert_eq!(
        pg.query_strings("veil", "SELECT COUNT(*) FROM artifacts"),
        [UPLOADS.to_string()]
    );

    // The password is never printed, by any instance.
    for name in ["a", "b", "c"] {
        let log = cluster.log(name);
        assert!(
            !log.contains(services::PG_PASSWORD),
            "{name} printed the password:\n{log}"
        );
        assert!(log.contains("Metadata in postgres"), "{name}:\n{log}");
    }
    drop((a, b, c));
}

/// TLS to PostgreSQL (`sslmode=require`): an instance that trusts the server's CA
/// (`SSL_CERT_FILE`) connects over TLS; one that does not refuses to start rather than encrypt
/// without authenticating the server; neither prints the password.
#[test]
fn an_instance_reaches_postgres_over_verified_tls_only() {
    let Some(veil) = prerequisites("an_instance_reaches_postgres_over_verified_tls_only") else {
        return;
    };
    let pg = services::Postgres::start_tls();
    pg.create_database("veil");
    let ca = pg.ca.clone().unwrap();
    let f = Fixture::new();
    let url = format!("{}?sslmode=require", pg.url("veil"));
    let mut cluster = Cluster {
        veil,
        dir: f.dir.path().to_path_buf(),
        args: vec!["--database".into(), url],
        env: vec![],
        recipient_key: f.dir.path().join("recipient.pem"),
        dist: f.dist.clone(),
    };

    // Not trusted: the start fails (storage), saying why, without the password.
    let out = cluster
        .command(services::free_port(), &f.dir.path().join("untrusted"))
        .env_remove("SSL_CERT_FILE")
        .env_remove("SSL_CERT_DIR")
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success(), "started without trusting the server");
    assert!(
        stderr.contains("storage") && stderr.contains("TLS"),
        "{stderr}"
    );
    assert!(!stderr.contains(services::PG_PASSWORD), "{stderr}");

    // Trusted: it serves, and its connections to PostgreSQL are TLS.
    cluster.env = vec![("SSL_CERT_FILE", ca.display().to_string())];
    let instance = cluster.start("tls", services::free_port(), &f.dir.path().join("tls"));
    let over_tls = pg.query_strings(
        "veil",
        "SELECT COUNT(*) FROM pg_stat_ssl JOIN pg_stat_activity USING (pid)
         WHERE ssl AND application_name = 'veil-ingest'",
    );
    assert_ne!(over_tls, ["0"], "no TLS connection from the instance");
    let plain = pg.query_strings(
        "veil",
        "SELECT COUNT(*) FROM pg_stat_ssl JOIN pg_stat_activity USING (pid)
         WHERE NOT ssl AND application_name = 'veil-ingest'",
    );
    assert_eq!(plain, ["0"]);
    assert!(!cluster.log("tls").contains(services::PG_PASSWORD));
    drop(instance);
}

/// Upload every envelope once, from `clients` threads, spread over the instances at `ports`;
/// every answer must be 201. Returns the wall time of the wave.
fn wave(ports: &[u16], envelopes: &Arc<Vec<Vec<u8>>>, clients: usize) -> Duration {
    let next = Arc::new(AtomicUsize::new(0));
    let started = Instant::now();
    let threads: Vec<_> = (0..clients)
        .map(|_| {
            let (next, envelopes, ports) = (next.clone(), envelopes.clone(), ports.to_vec());
            std::thread::spawn(move || {
                loop {
                    let i = next.fetch_add(1, Ordering::SeqCst);
                    let Some(envelope) = envelopes.get(i) else {
                        break;
                    };
                    let (status, id) = upload_until_answered(&ports, i % ports.len(), envelope);
                    assert_eq!((status, id), (201, id_of(envelope)));
                }
            })
        })
        .collect();
    for thread in threads {
        thread.join().unwrap();
    }
    started.elapsed()
}

/// Capacity, measured (`cargo xtask bench ingest` runs it in a release build and prints it):
/// uploads/s and MB/s of 1 MiB artifacts (`VEIL_CAPACITY_ARTIFACTS`, default 200;
/// `VEIL_CAPACITY_BYTES`) from 16 concurrent clients, through one instance on SQLite + local
/// files and through two instances on PostgreSQL + moto, side by side on this machine (clients,
/// servers, PostgreSQL and moto share its cores). Prints `RESULT {json}`.
#[test]
#[ignore = "a measurement, not a test: cargo xtask bench ingest"]
fn capacity() {
    let env = |name: &str, default: usize| {
        std::env::var(name)
            .ok()
            .and_then(|v| v.parse().ok())
            .unwrap_or(default)
    };
    let (count, size, clients) = (
        env("VEIL_CAPACITY_ARTIFACTS", 200),
        env("VEIL_CAPACITY_BYTES", 1024 * 1024),
        16,
    );
    let Some(veil) = prerequisites("capacity") else {
        return;
    };
    let f = Fixture::new();
    let envelopes = Arc::new(envelopes(&f, count, size));
    let bytes: usize = envelopes.iter().map(Vec::len).sum();
    let cluster = |args: Vec<String>, env: Vec<(&'static str, String)>| Cluster {
        veil: veil.clone(),
        dir: f.dir.path().to_path_buf(),
        args,
        env,
        recipient_key: f.dir.path().join("recipient.pem"),
        dist: f.dist.clone(),
    };
    let figures = |took: Duration, instances: usize, storage: &str| {
        let secs = took.as_secs_f64();
        eprintln!(
            "capacity: {instances} instance(s) on {storage}: {count} x {} KiB in {secs:.2} s",
            size / 1024
        );
        serde_json::json!({
            "instances": instances,
            "storage": storage,
            "seconds": secs,
            "uploads_per_s": count as f64 / secs,
            "mb_per_s": bytes as f64 / 1e6 / secs,
        })
    };

    // One instance: SQLite and objects in its data directory.
    let solo_data = f.dir.path().join("solo");
    enrol_client(&f, &solo_data, veil_ingest::DatabaseLocation::Sqlite);
    let local = cluster(vec![], vec![]);
    let solo = local.start("solo", services::free_port(), &solo_data);
    let sqlite = figures(
        wave(&[solo.port], &envelopes, clients),
        1,
        "SQLite + local files",
    );
    drop(solo);

    // Two instances: one PostgreSQL database, one S3 bucket (moto).
    let pg = services::Postgres::start();
    pg.create_database("veil");
    let moto = services::Moto::start(BUCKET);
    let url = pg.url("veil");
    enrol_client(
        &f,
        &f.dir.path().join("admin"),
        veil_ingest::DatabaseLocation::parse(&url).unwrap(),
    );
    let shared = cluster(
        [
            "--database",
            &url,
            "--object-store",
            &format!("s3://{BUCKET}/{PREFIX}"),
        ]
        .map(String::from)
        .to_vec(),
        moto.env(),
    );
    let a = shared.start("pg-a", services::free_port(), &f.dir.path().join("pg-a"));
    let b = shared.start("pg-b", services::free_port(), &f.dir.path().join("pg-b"));
    let postgres = figures(
        wave(&[a.port, b.port], &envelopes, clients),
        2,
        "PostgreSQL + S3 (moto)",
    );
    assert_eq!(
        pg.query_strings("veil", "SELECT COUNT(*) FROM artifacts"),
        [count.to_string()]
    );
    drop((a, b));

    println!(
        "RESULT {}",
        serde_json::json!({
            "area": "ingest",
            "artifacts": count,
            "artifact_bytes": size,
            "envelope_bytes": bytes,
            "clients": clients,
            "sqlite_local": sqlite,
            "postgres_s3": postgres,
        })
    );
}
