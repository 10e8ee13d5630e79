//! Fixtures shared by the ingest tests: a real server state in a temporary data directory, a
//! development manufacturer whose root the server trusts, and builders for sealed artifacts
//! (valid ones and each kind of bad one).
#![allow(dead_code, clippy::unwrap_used, clippy::expect_used)]

use std::sync::Arc;
use std::time::{SystemTime, UNIX_EPOCH};

use axum::Router;
use axum::body::Body;
use axum::http::{Request, StatusCode};
use http_body_util::BodyExt;
use tower::ServiceExt;
use veil_ingest::{Ingest, IngestConfig, KeySource, Limits};
use veil_seal::{
    ArtifactBuilder, ConsentDecision, ConsentRef, DeviceEvidence, PseudonymSecret, RecipientKey,
    SigningKey,
};
use veil_trust::fixtures::DemoManufacturer;

pub const RECIPIENT_ID: &str = "clinic-a";
pub const PURPOSE: &str = "treatment";
/// A string planted in the test input that must never reach storage in clear.
pub const PLANTED: &str = "PATIENT-NAME-Jane-Q-Doe-1961";

pub fn now_s() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs()
}

/// A development manufacturer with `devices` devices, provisioned an hour ago (its certificates
/// valid from two hours ago), the devices' for a year.
pub fn manufacturer(name: &str, devices: usize) -> DemoManufacturer {
    DemoManufacturer::new(name, devices, now_s() - 3600).unwrap()
}

/// Everything a test needs: the server's state, its data directory, its key, a trusted
/// manufacturer, a client key and a subject.
pub struct Fixture {
    pub dir: tempfile::TempDir,
    pub config: IngestConfig,
    pub ingest: Arc<Ingest>,
    pub dist: std::path::PathBuf,
    pub recipient: RecipientKey,
    pub maker: DemoManufacturer,
    pub client: SigningKey,
    pub subject: PseudonymSecret,
}

impl Fixture {
    pub fn new() -> Self {
        Self::with_limits(Limits::default())
    }

    pub fn with_limits(limits: Limits) -> Self {
        let dir = tempfile::tempdir().unwrap();
        let data = dir.path().join("data");
        let dist = dir.path().join("dist");
        std::fs::create_dir_all(&dist).unwrap();
        std::fs::write(dist.join("index.html"), "<html>veil</html>").unwrap();
        let maker = manufacturer("Acme Medical", 2);
        let roots = dir.path().join("roots.pem");
        std::fs::write(&roots, &maker.provisioned.root.cert_pem).unwrap();
        let recipient = RecipientKey::generate().unwrap();
        let key_file = dir.path().join("recipient.pem");
        std::fs::write(&key_file, recipient.to_pkcs8_pem().unwrap().as_bytes()).unwrap();
        let mut config = IngestConfig::new(data);
        config.recipient_key = KeySource::File(key_file);
        config.trust_roots = Some(roots);
        config.recipient_id = Some(RECIPIENT_ID.into());
        config.limits = limits;
        let (ingest, _) = Ingest::open(&config).unwrap();
        let f = Fixture {
            dir,
            config,
            ingest: Arc::new(ingest),
            dist,
            recipient,
            maker,
            client: veil_seal::generate_signing_key().unwrap(),
            subject: PseudonymSecret::generate().unwrap(),
        };
        f.enrol(&f.client);
        f
    }

    /// Enrol `key` as a client of this server (an invitation used at once), as `veil admin
    /// invite` and the app's "Connect to a clinic" do.
    pub fn enrol(&self, key: &SigningKey) {
        enrol_in(self.ingest.store(), key);
    }
}

/// Enrol `key` as a client of the server whose store is `store`.
pub fn enrol_in(store: &veil_ingest::ArtifactStore, key: &SigningKey) {
    {
        let store = store.clone();
        let sec1 = sec1(key);
        block(async move {
            let now = now_s() * 1000;
            let invite = store
                .create_invite(Some("test".into()), 1, now + 3_600_000, now)
                .await
                .unwrap();
            store
                .enrol(
                    &invite.code,
                    &hex::encode(sec1),
                    &veil_seal::KeyId::of_sec1(&sec1).to_hex(),
                    None,
                    now,
                )
                .await
                .unwrap();
        });
    }
}

impl Fixture {
    pub fn app(&self) -> Router {
        veil_ingest::app(&self.dist, self.ingest.clone())
    }

    /// A signed reading (now) from device `index` of `maker` with counter `ctr`, answering a
    /// challenge bound to `client`, as evidence.
    pub fn reading_from(
        maker: &DemoManufacturer,
        index: usize,
        ctr: u64,
        client: &SigningKey,
    ) -> DeviceEvidence {
        let d = &maker.devices[index];
        let salt = [ctr as u8 ^ 0x5a; 32];
        let nonce = veil_trust::bound_challenge(&sec1(client), &salt);
        DeviceEvidence {
            reading: d
                .reading_at("bp:120/80/93,pulse=70", ctr, now_s(), &nonce)
                .unwrap(),
            chain: d.chain.clone(),
            challenge_salt: Some(salt),
        }
    }

    pub fn reading(&self, ctr: u64) -> DeviceEvidence {
        Self::reading_from(&self.maker, 0, ctr, &self.client)
    }

    /// An artifact builder for this subject, recipient and purpose with a model file, resting on
    /// an `allow` decision (the only one veil-seal seals).
    pub fn builder(&self) -> ArtifactBuilder {
        let pseudonym = self.subject.pseudonym(RECIPIENT_ID, PURPOSE);
        let consent = ConsentRef {
            decision: ConsentDecision::Allow,
            event_hash: Some([5u8; 32]),
            context: None,
        };
        let mut b =
            ArtifactBuilder::new(pseudonym, PURPOSE, RECIPIENT_ID, consent, 1_790_000_000_000);
        let (model, report) = deidentified();
        b.add_file("model-1.stl", model.clone()).unwrap();
        b.set_deid_report(serde_json::to_value(report.shareable()).unwrap());
        b
    }

    /// Signed artifact bytes (COSE_Sign1) carrying `evidence` and an extra file of `extra` bytes.
    pub fn signed(&self, evidence: Vec<DeviceEvidence>, extra: usize) -> Vec<u8> {
        let mut b = self.builder();
        for e in evidence {
            b.add_device_evidence(e);
        }
        if extra > 0 {
            b.add_file("reading.bin", pattern(extra)).unwrap();
        }
        b.sign(&self.client).unwrap().into_bytes()
    }

    /// A valid envelope with one reading of counter `ctr`.
    pub fn envelope(&self, ctr: u64) -> Vec<u8> {
        self.seal(self.signed(vec![self.reading(ctr)], 0))
    }

    pub fn seal(&self, signed: Vec<u8>) -> Vec<u8> {
        veil_seal::seal(signed, self.recipient.public_key())
            .unwrap()
            .into_bytes()
    }

    /// Stored artifacts and objects: what "nothing stored" is checked against.
    pub async fn stored(&self) -> (u64, Vec<String>) {
        let store = self.ingest.store();
        (
            store.artifact_count().await.unwrap(),
            store.list_objects().await.unwrap(),
        )
    }
}

/// The uncompressed SEC1 bytes of a client key.
pub fn sec1(key: &SigningKey) -> [u8; 65] {
    key.verifying_key()
        .to_encoded_point(false)
        .as_bytes()
        .try_into()
        .unwrap()
}

/// Run `work` to completion on a runtime of its own (on another thread, so a `#[tokio::test]` can
/// call it from its synchronous parts).
pub fn block<T: Send + 'static>(work: impl Future<Output = T> + Send + 'static) -> T {
    std::thread::spawn(move || {
        tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap()
            .block_on(work)
    })
    .join()
    .unwrap()
}

pub fn now_ms() -> u64 {
    now_s() * 1000
}

/// A fresh 16-byte nonce, hex, as every signed request carries.
pub fn nonce() -> String {
    let mut bytes = [0u8; 16];
    getrandom::getrandom(&mut bytes).unwrap();
    hex::encode(bytes)
}

/// The uncompressed SEC1 key of `key`, hex (a request's `client_key` / `user_key`).
pub fn key_hex(key: &SigningKey) -> String {
    hex::encode(sec1(key))
}

/// A JSON body signed with `key`, exactly as the browser signs it.
pub fn signed(path: &str, body: &serde_json::Value, key: &SigningKey) -> Request<Body> {
    signed_bytes(path, serde_json::to_vec(body).unwrap(), key)
}

/// These exact body bytes, signed with `key` (WebCrypto ECDSA P-256/SHA-256, base64url `r || s`
/// in `Veil-Signature`).
pub fn signed_bytes(path: &str, bytes: Vec<u8>, key: &SigningKey) -> Request<Body> {
    use base64::Engine;
    use p256::ecdsa::signature::Signer;
    let sig: p256::ecdsa::Signature = key.sign(&bytes);
    Request::post(path)
        .header("content-type", "application/json")
        .header(
            "veil-signature",
            base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(sig.to_bytes()),
        )
        .body(Body::from(bytes))
        .unwrap()
}

/// Deterministic filler that is not all zeros.
pub fn pattern(len: usize) -> Vec<u8> {
    (0..len)
        .map(|i| (i.wrapping_mul(31) ^ (i >> 7)) as u8)
        .collect()
}

pub fn id_of(envelope: &[u8]) -> String {
    veil_seal::ArtifactId::of_envelope(envelope).to_hex()
}

/// POST an envelope with its own id as the Idempotency-Key.
pub async fn post(app: &Router, envelope: Vec<u8>) -> (StatusCode, serde_json::Value) {
    let key = id_of(&envelope);
    post_with_key(app, envelope, Some(&key)).await
}

pub async fn post_with_key(
    app: &Router,
    envelope: Vec<u8>,
    key: Option<&str>,
) -> (StatusCode, serde_json::Value) {
    let mut req = Request::post("/v1/artifacts").header("content-type", "application/octet-stream");
    if let Some(key) = key {
        req = req.header("idempotency-key", key);
    }
    send(app, req.body(Body::from(envelope)).unwrap()).await
}

pub async fn send(app: &Router, req: Request<Body>) -> (StatusCode, serde_json::Value) {
    let res = app.clone().oneshot(req).await.unwrap();
    let status = res.status();
    let bytes = res.into_body().collect().await.unwrap().to_bytes();
    let json = serde_json::from_slice(&bytes).unwrap_or(serde_json::Value::Null);
    (status, json)
}

pub async fn get(app: &Router, path: &str) -> (StatusCode, serde_json::Value) {
    send(app, Request::get(path).body(Body::empty()).unwrap()).await
}

/// Serve `app` on 127.0.0.1 (an ephemeral port) over real TCP, with the server's own connection
/// loop (`veil_ingest::serve_on`, as `veil serve` runs it).
pub async fn serve_on_loopback(
    app: Router,
) -> (
    std::net::SocketAddr,
    tokio::task::JoinHandle<std::io::Result<()>>,
) {
    serve_with_header_timeout(app, veil_ingest::config::DEFAULT_HEADER_READ_TIMEOUT).await
}

pub async fn serve_with_header_timeout(
    app: Router,
    header_read_timeout: std::time::Duration,
) -> (
    std::net::SocketAddr,
    tokio::task::JoinHandle<std::io::Result<()>>,
) {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let server = veil_ingest::serve_on(listener, app, header_read_timeout, std::future::pending());
    (addr, tokio::spawn(server))
}

/// Parse a raw HTTP/1.1 response into (status, JSON body).
pub fn parse_response(response: &[u8]) -> (u16, serde_json::Value) {
    let text = String::from_utf8_lossy(response);
    let status: u16 = text
        .split(' ')
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or(0);
    let json = text
        .split_once("\r\n\r\n")
        .and_then(|(_, b)| serde_json::from_str(b).ok())
        .unwrap_or(serde_json::Value::Null);
    (status, json)
}

/// A small model through the strict pipeline (computed once): the output and its local report.
pub fn deidentified() -> &'static (Vec<u8>, veil_mesh::Report) {
    static DONE: std::sync::OnceLock<(Vec<u8>, veil_mesh::Report)> = std::sync::OnceLock::new();
    DONE.get_or_init(|| {
        let mut stl = veil_mesh::write::write_stl(&veil_mesh::synth::sphere(30.0, 16, 8));
        stl[..12].copy_from_slice(b"SCANNER ROE ");
        let mut options = veil_mesh::Options::for_profile(veil_mesh::Profile::Strict);
        options.seed = Some(9);
        veil_mesh::deidentify(&stl, veil_mesh::FormatHint::Stl, &options).unwrap()
    })
}

/// Upload a valid envelope with one reading of counter `ctr` and check it was created; returns the
/// envelope and its id.
pub async fn upload_new(f: &Fixture, ctr: u64) -> (Vec<u8>, String) {
    let envelope = f.envelope(ctr);
    let id = id_of(&envelope);
    let (status, json) = post(&f.app(), envelope.clone()).await;
    assert_eq!(status, StatusCode::CREATED, "{json}");
    (envelope, id)
}

/// Backdate a file's modification time by `age` (a staging object past its lease).
pub fn age_file(path: &std::path::Path, age: std::time::Duration) {
    let file = std::fs::File::options().write(true).open(path).unwrap();
    file.set_modified(SystemTime::now() - age).unwrap();
}

/// A stored artifact of `purpose` for the fixture's subject (device counter `ctr`), consent
/// allowed with an event hash, sealed before manifests carried their consent; returns its id.
pub async fn stored(f: &Fixture, app: &axum::Router, purpose: &str, ctr: u64) -> String {
    let consent = ConsentRef {
        decision: ConsentDecision::Allow,
        event_hash: Some([5u8; 32]),
        context: None,
    };
    stored_with(f, app, purpose, ctr, consent).await
}

/// A research consent given on the subject's own device on 2026-01-10, on the current English
/// text, without a HIPAA authorization: a GDPR explicit consent.
pub fn research_consent_event() -> veil_consent::ConsentEvent {
    use veil_consent::{Channel, ConsentEvent, EventKind, PurposeScope, ResearchTier, Timestamp};
    let scope = PurposeScope::research(ResearchTier::ThisStudy);
    let mut e = ConsentEvent::new(
        EventKind::Given,
        scope.clone(),
        Timestamp::parse("2026-01-10T09:00:00Z").unwrap(),
        Channel::OwnDevice,
    );
    e.text = Some(
        veil_consent::text::current(scope.purpose, "en")
            .unwrap()
            .reference(),
    );
    e
}

/// An `allow` resting on `event`, sealed with it (minimised), the subject's `jurisdictions` and
/// the band of `age`, as the app seals since reads are decided again.
pub fn consent_with(
    event: Option<&veil_consent::ConsentEvent>,
    jurisdictions: &[&str],
    age: u32,
) -> ConsentRef {
    let scope = event.map_or_else(
        || veil_consent::PurposeScope::plain(veil_consent::Purpose::Treatment),
        |e| e.scope.clone(),
    );
    let context = veil_consent::SealedConsent::new(
        event,
        scope,
        veil_consent::Jurisdiction::parse_list(jurisdictions).unwrap(),
        veil_consent::AgeBand::of(age).unwrap(),
    )
    .unwrap();
    ConsentRef {
        decision: ConsentDecision::Allow,
        event_hash: context.event_hash().unwrap(),
        context: Some(context),
    }
}

/// A stored artifact of `purpose` for the fixture's subject (device counter `ctr`) resting on
/// `consent`; returns its id.
pub async fn stored_with(
    f: &Fixture,
    app: &axum::Router,
    purpose: &str,
    ctr: u64,
    consent: ConsentRef,
) -> String {
    let pseudonym = f.subject.pseudonym(RECIPIENT_ID, purpose);
    let mut b = ArtifactBuilder::new(pseudonym, purpose, RECIPIENT_ID, consent, 1_790_000_000_000);
    let (model, report) = deidentified();
    b.add_file("model-1.stl", model.clone()).unwrap();
    b.set_deid_report(serde_json::to_value(report.shareable()).unwrap());
    b.add_device_evidence(f.reading(ctr));
    let envelope = f.seal(b.sign(&f.client).unwrap().into_bytes());
    let (status, json) = post(app, envelope.clone()).await;
    assert_eq!(status, StatusCode::CREATED, "{json}");
    id_of(&envelope)
}
