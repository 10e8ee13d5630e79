//! A scripted ingest server, a transport to it, a settable clock and an in-memory store: the whole
//! outbox run natively, answer by answer.
//!
//! The server behaves as `crates/ingest` does where it matters here: it refuses everything from a
//! client key it does not know with 401 `unknown-client` (storing nothing), checks that the
//! `Idempotency-Key` is the SHA-256 of the body, stores an upload under its key once and answers
//! 200 "exists" to a repeat, refuses a revocation naming an artifact it does not hold with 404
//! `unknown-artifact` (revoking nothing), wants a `timestamp_ms` and a 16..64-byte hex `nonce` in
//! every control body, answers a replayed body (same SHA-256) with its first answer and applies it
//! once, and refuses a nonce it saw before with another body (409 `nonce-reused`). On top of that a
//! script decides, request by request, whether the network or the server misbehaves.
#![allow(dead_code, clippy::unwrap_used, clippy::expect_used)]

use std::cell::{Cell, RefCell};
use std::collections::{BTreeMap, BTreeSet, VecDeque};
use std::future::Future;
use std::pin::Pin;
use std::rc::Rc;
use std::task::{Context, Poll};

use sha2::{Digest, Sha256};
use veil_consent::PurposeScope;
use veil_outbox::retry::{MAX_BACKOFF_MS, SplitMix64};
use veil_outbox::{
    Answer, Clock, ControlMessage, MemoryStore, NewItem, Outbox, RngCore, Transport,
};

/// What happens to one request.
#[derive(Debug, Clone, PartialEq)]
pub enum Step {
    /// The server handles it and answers.
    Ok,
    /// No connection: the request never reaches the server.
    Offline,
    /// The server (or a proxy) answers this status without handling the request (5xx, 408, 429).
    Status(u16),
    /// The server refuses an upload's content with this status and error code (4xx): final. A
    /// stored artifact is answered 200 instead, as the real server checks for a repeat first. A
    /// control message (always well formed here) is handled as with [`Step::Ok`].
    Refuse(u16, &'static str),
    /// The server handles it (stores the upload), then the connection is cut: no answer.
    Cut,
    /// The server answers this status and error code without handling the request (any request:
    /// `client-revoked`, `pseudonym-not-owned`, `unknown-client`...).
    Error(u16, &'static str),
    /// Wait until the gate opens, then go on with the step inside.
    Hold(Gate, Box<Step>),
    /// The page goes away while this request is out: the server handles it if `handled`, and the
    /// answer never comes (the future never completes).
    Hang {
        /// Whether the server received and handled it.
        handled: bool,
    },
}

/// A gate a held request waits behind.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Gate(Rc<Cell<bool>>);

impl Gate {
    pub fn new() -> Self {
        Self::default()
    }
    pub fn open(&self) {
        self.0.set(true);
    }
}

struct Wait(Option<Gate>);

impl Future for Wait {
    type Output = ();
    fn poll(self: Pin<&mut Self>, _cx: &mut Context<'_>) -> Poll<()> {
        match &self.0 {
            Some(gate) if gate.0.get() => Poll::Ready(()),
            _ => Poll::Pending,
        }
    }
}

/// The scripted server.
#[derive(Debug, Default)]
pub struct Server {
    script: VecDeque<Step>,
    /// Artifacts held, by key, with the pseudonym their body names.
    pub stored: BTreeMap<String, String>,
    /// How many times an envelope body was stored as a new artifact (must be 1 at most each).
    pub copies: BTreeMap<String, u32>,
    /// Upload requests that reached the server, per key.
    pub received: BTreeMap<String, u32>,
    /// Requests sent by the client, reached or not (uploads by artifact id, controls by key).
    pub sent: BTreeMap<String, u32>,
    /// Revoked artifacts.
    pub revoked: BTreeSet<String>,
    /// Artifacts whose subject was erased.
    pub erased: BTreeSet<String>,
    /// Control messages applied, per key (must be 1 at most each).
    pub applied: BTreeMap<String, u32>,
    /// Every control body that reached the server, per key: a retry sends the same bytes, so one
    /// each.
    pub bodies: BTreeMap<String, BTreeSet<String>>,
    /// The answer recorded for each applied control body, by its SHA-256 (for replays).
    answers: BTreeMap<String, Answer>,
    /// The body each nonce came with.
    nonces: BTreeMap<String, String>,
    /// The client's key is not (or no longer) enrolled: everything is refused 401 `unknown-client`.
    pub client_unknown: bool,
    /// Requests refused as from an unknown client.
    pub unknown_client_refusals: u32,
    /// What reached the server, in order: `upload <id>`, `revocation <key>`, `erasure <key>`.
    pub log: Vec<String>,
}

impl Server {
    /// Script the next requests.
    pub fn script(&mut self, steps: impl IntoIterator<Item = Step>) {
        self.script.extend(steps);
    }

    pub fn script_is_empty(&self) -> bool {
        self.script.is_empty()
    }

    fn next_step(&mut self) -> Step {
        self.script.pop_front().unwrap_or(Step::Ok)
    }

    fn upload(&mut self, key: &str, body: &[u8], refuse: Option<(u16, &str)>) -> Answer {
        *self.received.entry(key.to_owned()).or_default() += 1;
        if self.client_unknown {
            self.unknown_client_refusals += 1;
            return error(401, "unknown-client");
        }
        self.log.push(format!("upload {key}"));
        let hash = hex::encode(Sha256::digest(body));
        if hash != key {
            return error(422, "idempotency-key-mismatch");
        }
        if self.stored.contains_key(key) {
            return json(200, serde_json::json!({ "id": key, "status": "exists" }));
        }
        if let Some((status, code)) = refuse {
            return error(status, code);
        }
        let text = String::from_utf8_lossy(body);
        let pseudonym = text.split('|').next().unwrap_or_default().to_owned();
        self.stored.insert(key.to_owned(), pseudonym);
        *self.copies.entry(hash).or_default() += 1;
        json(201, serde_json::json!({ "id": key, "status": "created" }))
    }

    fn control(&mut self, key: &str, path: &str, body: &str) -> Answer {
        self.bodies
            .entry(key.to_owned())
            .or_default()
            .insert(body.to_owned());
        if self.client_unknown {
            self.unknown_client_refusals += 1;
            return error(401, "unknown-client");
        }
        let request: serde_json::Value = match serde_json::from_str(body) {
            Ok(v) => v,
            Err(_) => return error(400, "bad-request"),
        };
        let nonce = request["nonce"].as_str().unwrap_or_default().to_owned();
        let nonce_ok = nonce.len().is_multiple_of(2)
            && (32..=128).contains(&nonce.len())
            && nonce.bytes().all(|b| b.is_ascii_hexdigit());
        if !nonce_ok || !request["timestamp_ms"].is_u64() {
            return error(400, "bad-request");
        }
        let sha = hex::encode(Sha256::digest(body.as_bytes()));
        if let Some(first) = self.answers.get(&sha) {
            return first.clone();
        }
        if self.nonces.get(&nonce).is_some_and(|seen| *seen != sha) {
            return error(409, "nonce-reused");
        }
        let format = request["format"].as_str().unwrap_or_default().to_owned();
        self.log.push(format!(
            "{} {key}",
            format.trim_start_matches("veil-").trim_end_matches("-v1")
        ));
        if request["client_key"] != "04c1" {
            return error(401, "bad-request-signature");
        }
        match (path, format.as_str()) {
            ("/v1/revocations", "veil-revocation-v1") => {
                let ids: Vec<String> = request["artifacts"]
                    .as_array()
                    .into_iter()
                    .flatten()
                    .filter_map(|a| a.as_str().map(str::to_owned))
                    .collect();
                if ids.is_empty() || request["purpose"].as_str().is_none_or(str::is_empty) {
                    return error(400, "bad-request");
                }
                if ids.iter().any(|id| !self.stored.contains_key(id)) {
                    return error(404, "unknown-artifact");
                }
                self.revoked.extend(ids);
            }
            ("/v1/erasures", "veil-erasure-v1") => {
                let pseudonyms: BTreeSet<String> = request["pseudonyms"]
                    .as_array()
                    .into_iter()
                    .flatten()
                    .filter_map(|p| p["pseudonym"].as_str().map(str::to_owned))
                    .collect();
                if pseudonyms.is_empty() {
                    return error(400, "bad-request");
                }
                for (id, p) in &self.stored {
                    if pseudonyms.contains(p) {
                        self.erased.insert(id.clone());
                    }
                }
            }
            _ => return error(404, "not-found"),
        }
        *self.applied.entry(key.to_owned()).or_default() += 1;
        self.nonces.insert(nonce, sha.clone());
        let answer = json(200, serde_json::json!({ "ok": true }));
        self.answers.insert(sha, answer.clone());
        answer
    }
}

fn json(status: u16, body: serde_json::Value) -> Answer {
    Answer::Answered {
        status,
        body: body.to_string(),
    }
}

fn error(status: u16, code: &str) -> Answer {
    json(
        status,
        serde_json::json!({ "error": code, "detail": "scripted" }),
    )
}

/// The transport: every request goes to the shared scripted server.
#[derive(Clone)]
pub struct Net(pub Rc<RefCell<Server>>);

enum Request<'a> {
    Upload(&'a str, &'a [u8]),
    Control(&'a ControlMessage),
}

impl Net {
    async fn send(&self, request: Request<'_>) -> Answer {
        let key = match &request {
            Request::Upload(id, _) => (*id).to_owned(),
            Request::Control(m) => m.id.clone(),
        };
        *self.0.borrow_mut().sent.entry(key).or_default() += 1;
        let mut step = self.0.borrow_mut().next_step();
        while let Step::Hold(gate, inner) = step {
            Wait(Some(gate)).await;
            step = *inner;
        }
        let refuse = match step {
            Step::Offline => return Answer::NetworkError("offline".into()),
            Step::Status(status) => return error(status, "scripted-failure"),
            Step::Error(status, code) => return error(status, code),
            Step::Refuse(status, code) if matches!(request, Request::Upload(..)) => {
                Some((status, code))
            }
            _ => None,
        };
        let answer = {
            let mut server = self.0.borrow_mut();
            let handled = !matches!(step, Step::Hang { handled: false });
            match request {
                _ if !handled => None,
                Request::Upload(id, body) => Some(server.upload(id, body, refuse)),
                Request::Control(m) => Some(server.control(&m.id, m.path(), &m.body("04c1"))),
            }
        };
        match step {
            Step::Cut => Answer::NetworkError("connection reset".into()),
            Step::Hang { .. } => {
                Wait(None).await;
                Answer::NetworkError("unreachable".into())
            }
            _ => answer.unwrap_or_else(|| Answer::NetworkError("unreachable".into())),
        }
    }
}

impl Transport<Vec<u8>> for Net {
    async fn upload(&self, id: &str, envelope: &Vec<u8>) -> Answer {
        self.send(Request::Upload(id, envelope)).await
    }
    async fn control(&self, message: &ControlMessage) -> Answer {
        self.send(Request::Control(message)).await
    }
}

/// A clock the test moves.
#[derive(Clone)]
pub struct TestClock(pub Rc<Cell<f64>>);

impl Clock for TestClock {
    fn now_ms(&self) -> f64 {
        self.0.get()
    }
}

/// Jitter and nonces: seeded, one sequence shared by every engine of a world (as one browser's
/// generator goes on across reloads), or always the top of the range (to read the backoff
/// ceilings exactly; every draw the same).
#[derive(Clone)]
pub enum TestRng {
    Seeded(Rc<RefCell<SplitMix64>>),
    Top,
}

impl TestRng {
    pub fn seeded(seed: u64) -> Self {
        Self::Seeded(Rc::new(RefCell::new(SplitMix64(seed))))
    }
}

impl RngCore for TestRng {
    fn next_u32(&mut self) -> u32 {
        (self.next_u64() >> 32) as u32
    }
    fn next_u64(&mut self) -> u64 {
        match self {
            Self::Seeded(r) => r.borrow_mut().next_u64(),
            Self::Top => u64::MAX,
        }
    }
    fn fill_bytes(&mut self, dest: &mut [u8]) {
        rand_core::impls::fill_bytes_via_next(self, dest);
    }
    fn try_fill_bytes(&mut self, dest: &mut [u8]) -> Result<(), rand_core::Error> {
        self.fill_bytes(dest);
        Ok(())
    }
}

pub type TestOutbox = Outbox<MemoryStore, Net, TestRng, TestClock>;

/// One browser (its store survives "reloads") and one server.
pub struct World {
    pub store: MemoryStore,
    pub server: Rc<RefCell<Server>>,
    pub clock: Rc<Cell<f64>>,
    pub rng: TestRng,
    sealed: u32,
}

pub const T0: f64 = 1_700_000_000_000.0;

impl World {
    pub fn new() -> Self {
        Self::with_rng(TestRng::seeded(42))
    }

    pub fn with_rng(rng: TestRng) -> Self {
        Self {
            store: MemoryStore::new(),
            server: Rc::default(),
            clock: Rc::new(Cell::new(T0)),
            rng,
            sealed: 0,
        }
    }

    /// An outbox engine over the store, as the page builds one (after a reload: a new one).
    pub fn outbox(&self) -> TestOutbox {
        Outbox::new(
            self.store.clone(),
            Net(self.server.clone()),
            self.rng.clone(),
            TestClock(self.clock.clone()),
        )
    }

    pub fn now(&self) -> f64 {
        self.clock.get()
    }

    pub fn advance(&self, ms: f64) {
        self.clock.set(self.clock.get() + ms);
    }

    /// Far enough that every backoff has run out.
    pub fn later(&self) {
        self.advance(MAX_BACKOFF_MS + 1.0);
    }

    pub fn script(&self, steps: impl IntoIterator<Item = Step>) {
        self.server.borrow_mut().script(steps);
    }

    /// A new sealed artifact for `scope` under `pseudonym`: (item, envelope). Its id is the
    /// SHA-256 of the envelope, as for a real one.
    pub fn seal(&mut self, scope: PurposeScope, pseudonym: &str) -> (NewItem, Vec<u8>) {
        self.sealed += 1;
        let envelope = format!("{pseudonym}|envelope {}", self.sealed).into_bytes();
        let id = hex::encode(Sha256::digest(&envelope));
        let item = NewItem::new(
            &id,
            scope,
            "veil-ingest",
            vec!["model-1.stl".into()],
            envelope.len(),
        );
        (item, envelope)
    }

    /// Seal and queue; the artifact id. Time moves on a little, so items have an order.
    pub fn queue(&mut self, scope: PurposeScope, pseudonym: &str) -> String {
        let (item, envelope) = self.seal(scope, pseudonym);
        let queued = run(self.outbox().enqueue(item, envelope)).unwrap();
        self.advance(1.0);
        queued.id
    }
}

/// Run a future that must finish without waiting.
pub fn run<F: Future>(future: F) -> F::Output {
    veil_outbox::block_on_ready(future).expect("the future finished without waiting")
}

/// Poll a future once; `Some` if it finished.
pub fn poll_once<F: Future>(future: Pin<&mut F>) -> Option<F::Output> {
    let mut cx = Context::from_waker(std::task::Waker::noop());
    match future.poll(&mut cx) {
        Poll::Ready(out) => Some(out),
        Poll::Pending => None,
    }
}
