//! One paired device for the time this page is open: its connection, what its certificate chain
//! says about it, and the readings taken from it.
//!
//! The exchange follows `docs/device-profile.md`: on pairing, read the certificate chain from
//! the Veil trust service and validate it against the trust store; for each reading, draw a fresh
//! 32-byte salt and write the challenge bound to this browser's client key,
//! `veil_trust::bound_challenge(client key, salt)` (§5: so a captured reading is worthless in
//! anyone else's upload), read the signed answer, verify it (chain, signature, `kid`, serial,
//! counter above the last one persisted for this serial, nonce, time window) in `veil-trust`, and
//! keep the salt with the verified reading: the artifact carries it for the server to check.
//! The signed reading comes by indication (or the profile's readable fallback).
//!
//! Devices without the trust service speak their standard Bluetooth SIG service ([`standard`]):
//! the page subscribes to its measurement characteristics, reads its Device Information, sets its
//! clock and fetches its stored records; what it sends goes through `veil_trust::sig::Session`.
//! Their readings are UNVERIFIED: shown, kept apart from the verified ones, and sealed only as
//! unverified readings, never as verified.
//! Such a device often disconnects right after a measurement: the page reconnects (at once,
//! then on its next advertisement where the browser reports them) and subscribes again.

use std::rc::Rc;

use leptos::prelude::*;
use leptos::task::spawn_local;
use web_sys::{BluetoothDevice, BluetoothRemoteGattServer};

use veil_trust::sig::{Event, ServiceProfile};
use veil_trust::{DeviceIdentity, Rejection, Verifier};

use super::format;
use super::standard::{self, DeviceInfo, StandardLink};
use crate::error::AppError;
use crate::platform::bluetooth::trust_service::{self, TrustServiceError};
use crate::platform::bluetooth::{self, BluetoothError, DisconnectListener, sig_uuid};
use crate::platform::{storage, webcrypto};
use veil_core::Coded;

/// Reconnection attempts after an unexpected drop, and the first delay (doubled each time).
const RECONNECT_ATTEMPTS: u32 = 4;
const RECONNECT_FIRST_DELAY_MS: u64 = 1000;

/// What the device's certificate chain says about it.
#[derive(Debug, Clone, PartialEq)]
pub enum Trust {
    /// Pairing is still reading or checking the chain.
    Checking,
    /// The chain leads to a trusted manufacturer root and is valid now.
    Trusted(DeviceIdentity),
    /// The chain was read but is not acceptable: the stable code and a readable detail.
    Untrusted {
        /// A [`Rejection::code`].
        code: &'static str,
        /// Why, for people.
        detail: String,
    },
    /// The device speaks only standard Bluetooth SIG services: nothing to verify with.
    StandardOnly,
    /// Neither the trust service nor a supported standard service was found.
    Unsupported,
}

/// The GATT connection as this page sees it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Connection {
    /// Connecting for the first time.
    Connecting,
    /// Connected.
    Connected,
    /// The link dropped; a reconnection is scheduled or running.
    Reconnecting,
    /// Disconnected, as a standard device is between measurements: it is reconnected when it
    /// next advertises (the person starts a measurement).
    Waiting,
    /// Not connected, and no longer retrying on its own.
    Disconnected,
}

impl Connection {
    /// The `data-state` value and label of this state.
    pub fn label(self) -> (&'static str, &'static str) {
        match self {
            Connection::Connecting => ("connecting", "Connecting…"),
            Connection::Connected => ("connected", "Connected"),
            Connection::Reconnecting => ("reconnecting", "Connection lost, reconnecting…"),
            Connection::Waiting => (
                "waiting",
                "Disconnected: start a measurement on the device and it reconnects",
            ),
            Connection::Disconnected => ("disconnected", "Disconnected"),
        }
    }
}

/// The outcome of one reading, as its badge shows it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Verdict {
    /// Signed by a certified device, unmodified, fresh.
    Verified,
    /// From a standard-only device: nothing proves where it came from.
    Unverified,
    /// Signed reading that failed verification, with the stable reason code.
    Rejected(&'static str),
}

impl Verdict {
    /// Badge text: `VERIFIED`, `UNVERIFIED`, `REJECTED(bad-signature)`.
    pub fn badge(&self) -> String {
        match self {
            Verdict::Verified => "VERIFIED".into(),
            Verdict::Unverified => "UNVERIFIED".into(),
            Verdict::Rejected(code) => format!("REJECTED({code})"),
        }
    }

    /// CSS class and `data-status` value.
    pub fn class(&self) -> &'static str {
        match self {
            Verdict::Verified => "verified",
            Verdict::Unverified => "unverified",
            Verdict::Rejected(_) => "rejected",
        }
    }

    /// The reason code (`data-reason`), empty unless rejected.
    pub fn reason(&self) -> &'static str {
        match self {
            Verdict::Rejected(code) => code,
            _ => "",
        }
    }
}

/// One row of a device's reading list.
#[derive(Debug, Clone, PartialEq)]
pub struct ReadingRow {
    /// Position in this page's list (stable key).
    pub seq: usize,
    /// The badge.
    pub verdict: Verdict,
    /// The value (`120/80 mmHg`), or what was wrong.
    pub headline: String,
    /// Secondary fields or the rejection detail.
    pub detail: String,
    /// The reading's counter, for verified readings.
    pub counter: Option<u64>,
    /// When it was taken (browser clock).
    pub taken_at: String,
}

/// Browser-side objects of a device: not `Send`, kept in local storage of the page's arena.
struct Link {
    device: BluetoothDevice,
    /// Kept so the listener lives as long as the entry; removed on drop.
    _on_drop: Option<DisconnectListener>,
    /// The verifier this device's chain was checked with (caches the validated chain).
    verifier: Rc<Verifier>,
    /// The chain read at pairing (device certificate first, DER).
    chain: Vec<Vec<u8>>,
    /// The session of a standard-only device.
    standard: Option<StandardLink>,
    /// Highest counter accepted in this page (guards even if IndexedDB fails).
    last_counter: Option<u64>,
}

/// A paired device and its reactive state. `Copy`: every field is an arena handle.
#[derive(Clone, Copy)]
pub struct PairedDevice {
    /// `BluetoothDevice.id`: stable per origin.
    pub id: StoredValue<String>,
    /// The advertised name, if any.
    pub name: RwSignal<String>,
    /// What its chain says.
    pub trust: RwSignal<Trust>,
    /// The connection.
    pub connection: RwSignal<Connection>,
    /// Readings taken while this page was open, newest first.
    pub readings: RwSignal<Vec<ReadingRow>>,
    /// A reading or pairing step is running.
    pub busy: RwSignal<bool>,
    /// The last operational problem (GATT failure, storage failure), if any.
    pub problem: RwSignal<Option<AppError>>,
    /// A standard device's own description (Device Information, features, clock).
    pub info: RwSignal<Option<DeviceInfo>>,
    /// A standard device's latest intermediate or streamed value (cuff inflating, ...).
    pub live: RwSignal<Option<String>>,
    /// A standard device's stored-records transfer, in words, if one ran.
    pub records: RwSignal<Option<String>>,
    /// The characteristics a standard device's session is subscribed to (16-bit UUIDs).
    pub subscribed: RwSignal<Vec<u16>>,
    /// A standard device keeps stored records (Record Access Control Point).
    pub storage: RwSignal<bool>,
    link: StoredValue<Option<Link>, LocalStorage>,
}

/// The chooser lists devices advertising a supported SIG health service or the trust service
/// (`docs/device-profile.md` §5: a device SHOULD advertise it); the trust service is also asked
/// for through `optionalServices`, so a device that does not advertise it still exposes it.
fn list_services() -> (Vec<String>, Vec<String>) {
    let mut filters: Vec<String> = standard::services().map(sig_uuid).collect();
    filters.push(trust_service::SERVICE.to_string());
    let mut optional = vec![trust_service::SERVICE.to_string()];
    optional.extend(standard::OPTIONAL_SERVICES.iter().map(|s| sig_uuid(*s)));
    (filters, optional)
}

/// Opens the chooser. Must run synchronously inside the click handler (user activation).
pub fn request() -> Result<js_sys::Promise<BluetoothDevice>, BluetoothError> {
    let (filters, optional) = list_services();
    bluetooth::request_device(&filters, &optional)
}

impl PairedDevice {
    /// A new entry for a device chosen in the chooser; call [`PairedDevice::setup`] next.
    pub fn new(device: BluetoothDevice) -> Self {
        PairedDevice {
            id: StoredValue::new(device.id()),
            name: RwSignal::new(
                device
                    .name()
                    .filter(|n| !n.is_empty())
                    .unwrap_or_else(|| "Unnamed device".into()),
            ),
            trust: RwSignal::new(Trust::Checking),
            connection: RwSignal::new(Connection::Connecting),
            readings: RwSignal::new(Vec::new()),
            busy: RwSignal::new(true),
            problem: RwSignal::new(None),
            info: RwSignal::new(None),
            live: RwSignal::new(None),
            records: RwSignal::new(None),
            subscribed: RwSignal::new(Vec::new()),
            storage: RwSignal::new(false),
            link: StoredValue::new_local(Some(Link {
                device,
                _on_drop: None,
                verifier: Rc::new(Verifier::default()),
                chain: Vec::new(),
                standard: None,
                last_counter: None,
            })),
        }
    }

    fn device(&self) -> Option<BluetoothDevice> {
        self.link
            .try_with_value(|l| l.as_ref().map(|l| l.device.clone()))
            .flatten()
    }

    /// Connects, finds out what kind of device this is and checks its chain.
    pub async fn setup(self) {
        self.busy.set(true);
        self.problem.set(None);
        let result = self.identify().await;
        if let Err(e) = result {
            self.problem.set(Some(
                AppError::from(e).context("Could not talk to the device"),
            ));
            if self.trust.get_untracked() == Trust::Checking {
                self.trust.set(Trust::Unsupported);
            }
        }
        self.connection.set(
            if self.device().is_some_and(|d| bluetooth::is_connected(&d)) {
                Connection::Connected
            } else {
                Connection::Disconnected
            },
        );
        self.watch_drops();
        self.busy.set(false);
    }

    async fn identify(self) -> Result<(), BluetoothError> {
        let Some(device) = self.device() else {
            return Ok(());
        };
        let server = bluetooth::connect(&device).await?;
        if let Some(service) = bluetooth::service(&server, trust_service::SERVICE).await? {
            let chain = trust_service::read_chain(&service).await;
            let roots = storage::trust_store().await;
            let verifier = match roots {
                Ok(store) => Rc::new(Verifier::new(store)),
                Err(e) => {
                    self.problem.set(Some(
                        AppError::from(e).context("The trust store could not be read"),
                    ));
                    Rc::new(Verifier::default())
                }
            };
            let trust = match &chain {
                Ok(chain) => chain_trust(&verifier, chain),
                Err(TrustServiceError::Gatt(e)) => return Err(e.clone()),
                Err(e @ (TrustServiceError::Malformed(_) | TrustServiceError::NoReadingYet)) => {
                    Trust::Untrusted {
                        code: "malformed",
                        detail: e.to_string(),
                    }
                }
            };
            let key = match &trust {
                Trust::Trusted(id) => Some(storage::device_key(id)),
                _ => None,
            };
            let stored = match &key {
                Some(k) => storage::last_counter(k).await.unwrap_or_else(|e| {
                    self.problem.set(Some(
                        AppError::from(e).context("Replay protection state could not be read"),
                    ));
                    None
                }),
                None => None,
            };
            self.link.update_value(|l| {
                if let Some(l) = l {
                    l.verifier = verifier;
                    l.chain = chain.unwrap_or_default();
                    l.standard = None;
                    l.last_counter = l.last_counter.max(stored);
                }
            });
            self.trust.set(trust);
            return Ok(());
        }
        if let Some(profile) = standard::find_profile(&server).await? {
            self.link.update_value(|l| {
                if let Some(l) = l
                    && l.standard.as_ref().is_none_or(|s| s.profile != profile)
                {
                    l.standard = Some(StandardLink::new(profile));
                }
            });
            self.trust.set(Trust::StandardOnly);
            self.start_standard(&server, profile).await;
            return Ok(());
        }
        self.trust.set(Trust::Unsupported);
        Ok(())
    }

    /// A standard device's steps on each connection: read its description, set its clock,
    /// subscribe to its measurements (and control point), and ask for its stored records.
    async fn start_standard(
        self,
        server: &BluetoothRemoteGattServer,
        profile: &'static ServiceProfile,
    ) {
        let (mut info, storage) = match standard::read_info(server, profile).await {
            Ok(found) => found,
            Err(e) => {
                self.problem.set(Some(
                    AppError::from(e).context("The device's information could not be read"),
                ));
                (
                    DeviceInfo {
                        kind: profile.device_kind,
                        ..DeviceInfo::default()
                    },
                    false,
                )
            }
        };
        self.storage.set(storage);
        info.time = standard::set_time(server).await;
        self.info.set(Some(info));
        let on_value: Rc<dyn Fn(u16, Vec<u8>)> =
            Rc::new(move |chr, value| self.on_standard_value(chr, &value));
        match standard::subscribe_all(server, profile, storage, on_value).await {
            Ok((subscriptions, subscribed, racp)) => {
                self.subscribed.set(subscribed);
                self.link.update_value(|l| {
                    if let Some(s) = l.as_mut().and_then(|l| l.standard.as_mut()) {
                        s.subscriptions = subscriptions;
                        s.racp = racp;
                        s.watch = None;
                    }
                });
                if storage {
                    self.fetch_records().await;
                }
            }
            Err(e) => self.problem.set(Some(
                e.context("Could not subscribe to the device's measurements"),
            )),
        }
    }

    /// Asks a standard device for its stored records (on each connection, and the button).
    pub async fn fetch_records(self) {
        let Some((racp, session)) = self
            .link
            .try_with_value(|l| {
                let s = l.as_ref()?.standard.as_ref()?;
                Some((s.racp.clone()?, s.session.clone()))
            })
            .flatten()
        else {
            return;
        };
        if session.borrow().busy() {
            return;
        }
        self.records
            .set(Some("Fetching the device's stored records…".into()));
        if let Err(e) = standard::request_records(&racp, &session).await {
            self.records.set(None);
            self.problem.set(Some(e));
        }
    }

    /// The page's `characteristicvaluechanged` handler for a standard device: the value goes to
    /// the session unchanged, and what comes out is shown.
    fn on_standard_value(self, chr: u16, value: &[u8]) {
        let Some(session) = self
            .link
            .try_with_value(|l| l.as_ref()?.standard.as_ref().map(|s| s.session.clone()))
            .flatten()
        else {
            return;
        };
        let events = session.borrow_mut().on_value(chr, value);
        match events {
            Ok(events) => self.show_events(events),
            Err(e) => self.problem.set(Some(
                AppError::new(e.code(), e.to_string())
                    .context("The device sent a value Veil cannot read"),
            )),
        }
    }

    fn show_events(self, events: Vec<Event>) {
        for event in events {
            match event {
                Event::Record(r) => {
                    let mut detail = format::details(&r.measurement);
                    if let Some(c) = &r.context {
                        detail = [detail, format::glucose_context(c)]
                            .into_iter()
                            .filter(|s| !s.is_empty())
                            .collect::<Vec<_>>()
                            .join(", ");
                    }
                    if r.from_storage {
                        detail = format!("stored on the device; {detail}");
                    }
                    self.live.set(None);
                    self.keep_unverified(&r.measurement);
                    self.push(
                        Verdict::Unverified,
                        format::headline(&r.measurement),
                        detail,
                        None,
                    );
                }
                Event::Live(m) => self.live.set(Some(format::live(&m))),
                Event::Duplicate(_) => {}
                Event::StoredRecords(n) => self
                    .records
                    .set(Some(format!("{n} stored records on the device"))),
                Event::TransferDone {
                    received,
                    duplicates,
                    no_records,
                    ..
                } => self.records.set(Some(if no_records {
                    "No new stored records on the device.".into()
                } else {
                    format!(
                        "{received} stored records received, {} new.",
                        received - duplicates
                    )
                })),
            }
        }
    }

    /// Keeps a standard device's record for sealing as UNVERIFIED (never as verified).
    fn keep_unverified(self, measurement: &veil_trust::Measurement) {
        let info = self.info.get_untracked();
        let Some(reading) =
            standard::unverified_reading(measurement, info.as_ref(), format::now_unix())
        else {
            return;
        };
        spawn_local(async move {
            if let Err(e) = storage::save_unverified(&[reading]).await {
                self.problem.set(Some(
                    AppError::from(e).context("The reading could not be kept for sending"),
                ));
            }
        });
    }

    fn watch_drops(self) {
        let Some(device) = self.device() else { return };
        let already = self
            .link
            .try_with_value(|l| l.as_ref().is_some_and(|l| l._on_drop.is_some()))
            .unwrap_or(true);
        if already {
            return;
        }
        match DisconnectListener::new(&device, move || self.on_drop()) {
            Ok(listener) => self.link.update_value(|l| {
                if let Some(l) = l {
                    l._on_drop = Some(listener);
                }
            }),
            Err(e) => self.problem.set(Some(
                AppError::from(e).context("Disconnections will not be noticed"),
            )),
        }
    }

    /// The link dropped: reconnect with backoff, unless a reconnection is already running. A
    /// standard device's session gives out what it held and forgets its running request; its
    /// subscriptions died with the connection.
    fn on_drop(self) {
        if self.link.try_with_value(Option::is_none).unwrap_or(true) {
            return;
        }
        let held = self
            .link
            .try_update_value(|l| {
                let s = l.as_mut()?.standard.as_mut()?;
                s.subscriptions.clear();
                s.racp = None;
                Some(s.session.borrow_mut().reset())
            })
            .flatten();
        if let Some(events) = held {
            self.show_events(events);
            self.records.update(|r| {
                if r.as_deref().is_some_and(|t| t.starts_with("Fetching")) {
                    *r = Some(
                        "The transfer of stored records was cut; it resumes on reconnection."
                            .into(),
                    );
                }
            });
        }
        if matches!(
            self.connection.get_untracked(),
            Connection::Reconnecting | Connection::Connecting
        ) {
            return;
        }
        self.connection.set(Connection::Reconnecting);
        spawn_local(async move { self.reconnect_with_backoff().await });
    }

    async fn reconnect_with_backoff(self) {
        let mut delay = RECONNECT_FIRST_DELAY_MS;
        for _ in 0..RECONNECT_ATTEMPTS {
            sleep(delay).await;
            let Some(device) = self.device() else { return };
            if bluetooth::is_connected(&device) || bluetooth::connect(&device).await.is_ok() {
                self.connection.set(Connection::Connected);
                self.problem.set(None);
                self.resume_standard().await;
                return;
            }
            delay *= 2;
        }
        self.wait_for_advertisement();
    }

    /// After a reconnection: a standard device's session subscribes again (the browser forgot
    /// the subscriptions with the connection), sets the clock again and fetches what is new.
    async fn resume_standard(self) {
        let Some(profile) = self
            .link
            .try_with_value(|l| l.as_ref()?.standard.as_ref().map(|s| s.profile))
            .flatten()
        else {
            return;
        };
        let Some(device) = self.device() else { return };
        match bluetooth::connect(&device).await {
            Ok(server) => self.start_standard(&server, profile).await,
            Err(e) => self
                .problem
                .set(Some(AppError::from(e).context("Could not reconnect"))),
        }
    }

    /// Gives up reconnecting for now: a standard device is reconnected when it next advertises
    /// (where the browser reports advertisements), otherwise the Reconnect button is shown.
    fn wait_for_advertisement(self) {
        let Some(device) = self.device() else { return };
        let is_standard = self
            .link
            .try_with_value(|l| l.as_ref().is_some_and(|l| l.standard.is_some()))
            .unwrap_or(false);
        let watch = if is_standard {
            bluetooth::watch_advertisements(&device, move || {
                if self.connection.get_untracked() == Connection::Waiting {
                    spawn_local(self.reconnect());
                }
            })
        } else {
            None
        };
        match watch {
            Some(watch) => {
                self.link.update_value(|l| {
                    if let Some(s) = l.as_mut().and_then(|l| l.standard.as_mut()) {
                        s.watch = Some(watch);
                    }
                });
                self.connection.set(Connection::Waiting);
            }
            None => self.connection.set(Connection::Disconnected),
        }
    }

    /// Reconnect now (the Reconnect button).
    pub async fn reconnect(self) {
        let Some(device) = self.device() else { return };
        self.connection.set(Connection::Connecting);
        match bluetooth::connect(&device).await {
            Ok(_) => {
                self.connection.set(Connection::Connected);
                self.problem.set(None);
                self.resume_standard().await;
            }
            Err(e) => {
                self.connection.set(Connection::Disconnected);
                self.problem
                    .set(Some(AppError::from(e).context("Could not reconnect")));
            }
        }
    }

    /// Disconnects and forgets the browser objects (the Remove button).
    pub fn forget(self) {
        let link = self.link.try_update_value(Option::take).flatten();
        if let Some(link) = link {
            drop(link._on_drop);
            if let Some(gatt) = link.device.gatt() {
                gatt.disconnect();
            }
        }
    }

    async fn server(self) -> Result<BluetoothRemoteGattServer, BluetoothError> {
        let device = self.device().ok_or_else(|| {
            BluetoothError::from(wasm_bindgen::JsValue::from_str("device removed"))
        })?;
        let server = bluetooth::connect(&device).await?;
        self.connection.set(Connection::Connected);
        Ok(server)
    }

    /// The verifier for this device's next reading. The trust store is read again first: a
    /// manufacturer root imported or removed in Settings since pairing applies at once, and the
    /// trust panel follows it.
    async fn current_verifier(self) -> Rc<Verifier> {
        let Some((verifier, chain)) = self
            .link
            .try_with_value(|l| l.as_ref().map(|l| (l.verifier.clone(), l.chain.clone())))
            .flatten()
        else {
            return Rc::new(Verifier::default());
        };
        let store = match storage::trust_store().await {
            Ok(store) => store,
            Err(e) => {
                self.problem.set(Some(
                    AppError::from(e).context("The trust store could not be read"),
                ));
                return verifier;
            }
        };
        if store.roots() == verifier.store().roots() {
            return verifier;
        }
        let fresh = Rc::new(Verifier::new(store));
        if !chain.is_empty() {
            self.trust.set(chain_trust(&fresh, &chain));
        }
        self.link.update_value(|l| {
            if let Some(l) = l {
                l.verifier = fresh.clone();
            }
        });
        fresh
    }

    /// Takes one reading and adds its row.
    pub async fn take_reading(self) {
        self.busy.set(true);
        self.problem.set(None);
        let trust = self.trust.get_untracked();
        let row = match trust {
            Trust::Trusted(_) | Trust::Untrusted { .. } => self.read_signed().await,
            // A standard device's measurements are indicated or notified: nothing to read.
            Trust::StandardOnly | Trust::Checking | Trust::Unsupported => Err(AppError::bluetooth(
                "this device sends its readings when it measures",
            )),
        };
        match row {
            Ok((verdict, headline, detail, counter)) => {
                self.push(verdict, headline, detail, counter)
            }
            Err(problem) => self.problem.set(Some(problem)),
        }
        self.busy.set(false);
    }

    fn push(self, verdict: Verdict, headline: String, detail: String, counter: Option<u64>) {
        self.readings.update(|rows| {
            let seq = rows.len();
            let taken_at = format::unix_time(format::now_unix());
            rows.insert(
                0,
                ReadingRow {
                    seq,
                    verdict,
                    headline,
                    detail,
                    counter,
                    taken_at,
                },
            );
        });
    }

    async fn read_signed(self) -> Result<(Verdict, String, String, Option<u64>), AppError> {
        let server = self
            .server()
            .await
            .map_err(|e| AppError::from(e).context("Could not connect"))?;
        // The challenge commits to the key that will seal and upload the reading.
        let client = crate::outbox::client_public_key()
            .await
            .map_err(|e| e.context("The client key could not be read"))?;
        let salt = veil_trust::new_challenge()?;
        let nonce = veil_trust::bound_challenge(&client, &salt);
        let cose = match trust_service::exchange(&server, &nonce).await {
            Ok(cose) => cose,
            Err(TrustServiceError::Gatt(e)) => {
                return Err(AppError::from(e).context("The signed reading could not be read"));
            }
            Err(TrustServiceError::NoReadingYet) => {
                return Err(AppError::bluetooth(
                    "No reading yet: take a measurement on the device first.",
                ));
            }
            // Bytes that break the profile are a rejected reading, with its stable code.
            Err(TrustServiceError::Malformed(d)) => {
                return Ok((
                    Verdict::Rejected("malformed"),
                    "not accepted".into(),
                    d,
                    None,
                ));
            }
        };
        let verifier = self.current_verifier().await;
        let Some((chain, in_page_last)) = self
            .link
            .try_with_value(|l| l.as_ref().map(|l| (l.chain.clone(), l.last_counter)))
            .flatten()
        else {
            return Err(AppError::bluetooth("device removed"));
        };
        let key = match self.trust.get_untracked() {
            Trust::Trusted(id) => Some(storage::device_key(&id)),
            _ => None,
        };
        let stored = match &key {
            Some(k) => storage::last_counter(k).await?,
            None => None,
        };
        let last = in_page_last.max(stored);
        // The signature is checked by WebCrypto (native P-256), everything else by veil-trust, in
        // the same order as `Verifier::verify`; without WebCrypto the pure-Rust check is used.
        let checked = match verifier.begin(&cose, &chain, format::now_unix()) {
            Ok(pending) => {
                let valid = webcrypto::ecdsa_p256_verify(
                    &pending.device_public_key(),
                    pending.signature(),
                    pending.signed_data(),
                )
                .await
                .unwrap_or_else(|_| pending.verify_signature());
                pending.finish(valid, Some(&nonce), last)
            }
            Err(rejection) => Err(rejection),
        };
        let record = match &checked {
            Ok(r) => {
                serde_json::json!({ "serial": r.device.serial, "counter": r.counter, "verdict": "verified" })
            }
            Err(rejection) => {
                serde_json::json!({ "verdict": "rejected", "reason": rejection.code() })
            }
        };
        crate::outbox::audit_later(veil_audit::AuditEvent::DeviceVerification, record);
        match checked {
            Ok(reading) => {
                let counter = reading.counter;
                self.link.update_value(|l| {
                    if let Some(l) = l {
                        l.last_counter = l.last_counter.max(Some(counter));
                    }
                });
                let stored = storage::StoredReading {
                    reading,
                    challenge_salt: Some(salt),
                };
                let reading = &stored.reading;
                let saved = async {
                    storage::raise_counter(&storage::device_key(&reading.device), counter).await?;
                    storage::save_reading(&stored).await
                };
                if let Err(e) = saved.await {
                    self.problem.set(Some(
                        AppError::from(e).context("The reading is verified but could not be saved"),
                    ));
                }
                Ok((
                    Verdict::Verified,
                    format::headline(&reading.measurement),
                    format::details(&reading.measurement),
                    Some(counter),
                ))
            }
            Err(rejection) => Ok(rejected(&rejection)),
        }
    }
}

/// What a chain says about its device now.
fn chain_trust(verifier: &Verifier, chain: &[Vec<u8>]) -> Trust {
    match verifier.verify_chain(chain, format::now_unix()) {
        Ok(identity) => Trust::Trusted(identity),
        Err(r) => Trust::Untrusted {
            code: r.code(),
            detail: r.to_string(),
        },
    }
}

fn rejected(r: &Rejection) -> (Verdict, String, String, Option<u64>) {
    (
        Verdict::Rejected(r.code()),
        "not accepted".into(),
        r.to_string(),
        None,
    )
}

/// Waits `ms` milliseconds.
async fn sleep(ms: u64) {
    let promise = js_sys::Promise::new(&mut |resolve, _| {
        set_timeout(
            move || drop(resolve.call0(&wasm_bindgen::JsValue::NULL)),
            std::time::Duration::from_millis(ms),
        );
    });
    let _ = wasm_bindgen_futures::JsFuture::from(promise).await;
}
