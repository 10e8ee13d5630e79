//! Thin Web Bluetooth glue: the chooser, GATT connect, read and write, subscriptions
//! (`startNotifications` and the `characteristicvaluechanged` events), disconnect events.
//!
//! Nothing here interprets bytes: the Devices page hands what it reads or is sent to
//! `veil-trust` (`veil_trust::sig` for the standard services). A characteristic is read only if
//! its properties say `read` and subscribed to only if they say `notify` or `indicate`: the SIG
//! measurement characteristics are indicate- or notify-only, and reading them fails on a real
//! device. The Veil trust service layout (UUIDs, chain chunking, challenge flow) follows
//! `docs/device-profile.md`.
//!
//! `requestDevice` needs transient user activation, so [`request_device`] must be called
//! synchronously inside a click handler; only its promise is awaited later.

use std::fmt;

use js_sys::{JsString, Promise, Uint8Array};
use wasm_bindgen::JsCast;
use wasm_bindgen::prelude::*;
use web_sys::{
    Bluetooth, BluetoothDevice, BluetoothLeScanFilterInit, BluetoothRemoteGattCharacteristic,
    BluetoothRemoteGattServer, BluetoothRemoteGattService, RequestDeviceOptions,
};

use crate::platform::{js_error_name, js_error_text};

/// Largest value accepted from one characteristic read: ATT caps an attribute value at 512
/// octets (Core v5.4 Vol 3 Part F §3.2.9).
pub const MAX_VALUE_LEN: usize = veil_trust::gatt::MAX_ATTRIBUTE_LEN;

/// A failed Bluetooth operation, with the DOMException name (`NotFoundError`,
/// `NetworkError`, `NotAllowedError`, ...) when the browser gave one.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BluetoothError {
    /// The DOMException name, or `Error` when there was none.
    pub name: String,
    /// A readable description.
    pub message: String,
}

impl BluetoothError {
    fn new(name: &str, message: impl Into<String>) -> Self {
        BluetoothError {
            name: name.into(),
            message: message.into(),
        }
    }

    /// The person closed the chooser without picking a device.
    pub fn is_cancelled(&self) -> bool {
        self.name == "NotFoundError" && self.message.contains("cancelled")
    }

    /// The service or characteristic is not on the device.
    pub fn is_not_found(&self) -> bool {
        self.name == "NotFoundError"
    }
}

impl From<JsValue> for BluetoothError {
    fn from(v: JsValue) -> Self {
        BluetoothError {
            name: js_error_name(&v).unwrap_or_else(|| "Error".into()),
            message: js_error_text(&v),
        }
    }
}

impl fmt::Display for BluetoothError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

pub use veil_trust::gatt::sig_uuid;

/// `navigator.bluetooth`, or why it is missing (not Chromium, insecure context, disabled).
pub fn bluetooth() -> Result<Bluetooth, BluetoothError> {
    let navigator = web_sys::window()
        .ok_or_else(|| BluetoothError::new("Error", "no window"))?
        .navigator();
    let present =
        js_sys::Reflect::has(&navigator, &JsValue::from_str("bluetooth")).unwrap_or(false);
    navigator.bluetooth().filter(|_| present).ok_or_else(|| {
        BluetoothError::new(
            "NotSupportedError",
            "Web Bluetooth is not available in this browser",
        )
    })
}

/// Opens the browser's device chooser for devices advertising any of `filter_services`, with
/// access to `filter_services` and `optional_services`. Call synchronously from a click.
pub fn request_device(
    filter_services: &[String],
    optional_services: &[String],
) -> Result<Promise<BluetoothDevice>, BluetoothError> {
    let bt = bluetooth()?;
    let filters: Vec<BluetoothLeScanFilterInit> = filter_services
        .iter()
        .map(|uuid| {
            let f = BluetoothLeScanFilterInit::new();
            f.set_services(&[JsString::from(uuid.as_str())]);
            f
        })
        .collect();
    let options = RequestDeviceOptions::new();
    options.set_filters(&filters);
    // Every service the page will open must be named here or in the filters (Web Bluetooth
    // §4.1 "allowed services").
    let optional: Vec<JsString> = filter_services
        .iter()
        .chain(optional_services)
        .map(|u| JsString::from(u.as_str()))
        .collect();
    options.set_optional_services(&optional);
    Ok(bt.request_device(&options))
}

/// The device's GATT server, connected (connecting if needed).
pub async fn connect(
    device: &BluetoothDevice,
) -> Result<BluetoothRemoteGattServer, BluetoothError> {
    let gatt = device
        .gatt()
        .ok_or_else(|| BluetoothError::new("NotSupportedError", "the device has no GATT server"))?;
    if gatt.connected() {
        return Ok(gatt);
    }
    Ok(gatt.connect().await?)
}

/// True while the device's GATT server is connected.
pub fn is_connected(device: &BluetoothDevice) -> bool {
    device.gatt().is_some_and(|g| g.connected())
}

/// A primary service, or `None` when the device does not have it.
pub async fn service(
    server: &BluetoothRemoteGattServer,
    uuid: &str,
) -> Result<Option<BluetoothRemoteGattService>, BluetoothError> {
    match server.get_primary_service_with_str(uuid).await {
        Ok(s) => Ok(Some(s)),
        Err(e) => {
            let e = BluetoothError::from(e);
            if e.is_not_found() { Ok(None) } else { Err(e) }
        }
    }
}

/// A characteristic of a service.
pub async fn characteristic(
    service: &BluetoothRemoteGattService,
    uuid: &str,
) -> Result<BluetoothRemoteGattCharacteristic, BluetoothError> {
    Ok(service.get_characteristic_with_str(uuid).await?)
}

/// Reads a characteristic's value (bounded by [`MAX_VALUE_LEN`]).
pub async fn read(ch: &BluetoothRemoteGattCharacteristic) -> Result<Vec<u8>, BluetoothError> {
    let view = ch.read_value().await?;
    let len = view.byte_length();
    if len > MAX_VALUE_LEN {
        return Err(BluetoothError::new(
            "DataError",
            format!("value of {len} bytes, limit {MAX_VALUE_LEN}"),
        ));
    }
    let offset = u32::try_from(view.byte_offset())
        .map_err(|_| BluetoothError::new("DataError", "bad offset"))?;
    let len32 = u32::try_from(len).map_err(|_| BluetoothError::new("DataError", "bad length"))?;
    Ok(Uint8Array::new_with_byte_offset_and_length(&view.buffer(), offset, len32).to_vec())
}

/// What a characteristic declares it supports (its GATT properties).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Properties {
    /// Read.
    pub read: bool,
    /// Write with response.
    pub write: bool,
    /// Notify (needs the CCCD).
    pub notify: bool,
    /// Indicate (needs the CCCD).
    pub indicate: bool,
}

impl Properties {
    /// Values come by notification or indication.
    pub fn subscribable(&self) -> bool {
        self.notify || self.indicate
    }
}

/// The properties of a characteristic (`characteristic.properties`, read through `Reflect`).
pub fn properties(ch: &BluetoothRemoteGattCharacteristic) -> Properties {
    let Ok(props) = js_sys::Reflect::get(ch, &JsValue::from_str("properties")) else {
        return Properties::default();
    };
    let flag = |name: &str| {
        js_sys::Reflect::get(&props, &JsValue::from_str(name))
            .ok()
            .and_then(|v| v.as_bool())
            .unwrap_or(false)
    };
    Properties {
        read: flag("read"),
        write: flag("write"),
        notify: flag("notify"),
        indicate: flag("indicate"),
    }
}

/// A characteristic of a service, or `None` when the device does not have it.
pub async fn optional_characteristic(
    service: &BluetoothRemoteGattService,
    uuid: &str,
) -> Result<Option<BluetoothRemoteGattCharacteristic>, BluetoothError> {
    match service.get_characteristic_with_str(uuid).await {
        Ok(c) => Ok(Some(c)),
        Err(e) => {
            let e = BluetoothError::from(e);
            if e.is_not_found() { Ok(None) } else { Err(e) }
        }
    }
}

/// The bytes of a characteristic's current `value` (what the last notification, indication or
/// read brought), bounded by [`MAX_VALUE_LEN`].
fn current_value(ch: &BluetoothRemoteGattCharacteristic) -> Option<Vec<u8>> {
    let view = ch.value()?;
    let len = view.byte_length();
    if len > MAX_VALUE_LEN {
        return None;
    }
    let offset = u32::try_from(view.byte_offset()).ok()?;
    let len = u32::try_from(len).ok()?;
    Some(Uint8Array::new_with_byte_offset_and_length(&view.buffer(), offset, len).to_vec())
}

/// A subscription to a characteristic's notifications or indications: its
/// `characteristicvaluechanged` listener, removed when dropped. (After a disconnection the
/// browser has already forgotten the subscription; a new connection subscribes again.)
pub struct Subscription {
    ch: BluetoothRemoteGattCharacteristic,
    callback: Closure<dyn FnMut()>,
}

impl Subscription {
    /// The characteristic subscribed to.
    pub fn characteristic(&self) -> &BluetoothRemoteGattCharacteristic {
        &self.ch
    }
}

impl Drop for Subscription {
    fn drop(&mut self) {
        let _ = self.ch.remove_event_listener_with_callback(
            "characteristicvaluechanged",
            self.callback.as_ref().unchecked_ref(),
        );
    }
}

impl fmt::Debug for Subscription {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Subscription")
            .field("uuid", &self.ch.uuid())
            .finish()
    }
}

/// Subscribes to a characteristic (`startNotifications`: the browser writes its CCCD) and calls
/// `on_value` with each value it sends. Refused with `NotSupportedError` when the
/// characteristic can neither notify nor indicate. (A `readValue` also fires the event, so a
/// readable characteristic's reads reach `on_value` too.)
pub async fn subscribe(
    ch: &BluetoothRemoteGattCharacteristic,
    mut on_value: impl FnMut(Vec<u8>) + 'static,
) -> Result<Subscription, BluetoothError> {
    if !properties(ch).subscribable() {
        return Err(BluetoothError::new(
            "NotSupportedError",
            format!(
                "characteristic {} neither notifies nor indicates",
                ch.uuid()
            ),
        ));
    }
    let source = ch.clone();
    let callback = Closure::<dyn FnMut()>::new(move || {
        if let Some(value) = current_value(&source) {
            on_value(value);
        }
    });
    ch.add_event_listener_with_callback(
        "characteristicvaluechanged",
        callback.as_ref().unchecked_ref(),
    )?;
    let subscription = Subscription {
        ch: ch.clone(),
        callback,
    };
    ch.start_notifications().await?;
    Ok(subscription)
}

/// Asks the browser to report the device's advertisements (`watchAdvertisements`) and calls
/// `on_advertisement` on each: how a device that disconnects after each measurement is found
/// again when the person starts the next one. `None` where the browser lacks it.
pub fn watch_advertisements(
    device: &BluetoothDevice,
    on_advertisement: impl FnMut() + 'static,
) -> Option<AdvertisementWatch> {
    let has = js_sys::Reflect::get(device, &JsValue::from_str("watchAdvertisements"))
        .ok()
        .is_some_and(|f| f.is_function());
    if !has {
        return None;
    }
    let callback = Closure::<dyn FnMut()>::new(on_advertisement);
    device
        .add_event_listener_with_callback(
            "advertisementreceived",
            callback.as_ref().unchecked_ref(),
        )
        .ok()?;
    let watch = AdvertisementWatch {
        device: device.clone(),
        callback,
    };
    // The promise may reject (permission, platform); the listener then simply never fires.
    let promise = device.watch_advertisements();
    wasm_bindgen_futures::spawn_local(async move {
        let _ = wasm_bindgen_futures::JsFuture::from(js_sys::Promise::from(JsValue::from(promise)))
            .await;
    });
    Some(watch)
}

/// An `advertisementreceived` listener; removed when dropped.
pub struct AdvertisementWatch {
    device: BluetoothDevice,
    callback: Closure<dyn FnMut()>,
}

impl Drop for AdvertisementWatch {
    fn drop(&mut self) {
        let _ = self.device.remove_event_listener_with_callback(
            "advertisementreceived",
            self.callback.as_ref().unchecked_ref(),
        );
    }
}

impl fmt::Debug for AdvertisementWatch {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AdvertisementWatch")
            .field("device", &self.device.id())
            .finish()
    }
}

/// Writes a value and waits for the device's write response.
pub async fn write(
    ch: &BluetoothRemoteGattCharacteristic,
    value: &[u8],
) -> Result<(), BluetoothError> {
    let array = Uint8Array::from(value);
    ch.write_value_with_response_with_u8_array(&array)?.await?;
    Ok(())
}

/// A `gattserverdisconnected` listener; removed when dropped.
pub struct DisconnectListener {
    device: BluetoothDevice,
    callback: Closure<dyn FnMut()>,
}

impl DisconnectListener {
    /// Calls `on_drop` each time the device's GATT connection drops.
    pub fn new(
        device: &BluetoothDevice,
        on_drop: impl FnMut() + 'static,
    ) -> Result<Self, BluetoothError> {
        let callback = Closure::<dyn FnMut()>::new(on_drop);
        device.add_event_listener_with_callback(
            "gattserverdisconnected",
            callback.as_ref().unchecked_ref(),
        )?;
        Ok(DisconnectListener {
            device: device.clone(),
            callback,
        })
    }
}

impl Drop for DisconnectListener {
    fn drop(&mut self) {
        let _ = self.device.remove_event_listener_with_callback(
            "gattserverdisconnected",
            self.callback.as_ref().unchecked_ref(),
        );
    }
}

impl fmt::Debug for DisconnectListener {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("DisconnectListener")
            .field("device", &self.device.id())
            .finish()
    }
}

/// The Veil trust service (`docs/device-profile.md` §5): the certificate chain, the challenge and
/// the signed reading answering it. UUIDs and chain framing come from `veil_trust::gatt`; this
/// only moves the bytes.
pub mod trust_service {
    use std::cell::RefCell;
    use std::collections::VecDeque;
    use std::rc::Rc;

    use web_sys::{BluetoothRemoteGattServer, BluetoothRemoteGattService};

    use veil_trust::gatt::{self, ChainAssembler};

    use super::{
        BluetoothError, characteristic, properties, read, service, sleep, subscribe, write,
    };

    /// The trust service UUID.
    pub const SERVICE: &str = gatt::TRUST_SERVICE_UUID;
    /// Reads allowed for one chain transfer: at most 255 chunks, plus as many skipped while
    /// resynchronising to chunk 0 (the assembler enforces both; this bounds the loop regardless).
    const MAX_CHAIN_READS: usize = 2 * 255 + 1;
    /// How long an indicate-only device has to answer a challenge.
    const INDICATION_TIMEOUT_MS: u32 = 15_000;
    const POLL_MS: u32 = 50;

    /// Why the trust service exchange failed.
    #[derive(Debug, Clone, PartialEq, Eq)]
    pub enum TrustServiceError {
        /// The GATT operation itself failed.
        Gatt(BluetoothError),
        /// The device answered with bytes that break the profile (chunk framing, sizes), with
        /// the stable code `malformed`.
        Malformed(String),
        /// The device has no measurement to sign yet (it answered the read with an empty value).
        NoReadingYet,
    }

    impl From<BluetoothError> for TrustServiceError {
        fn from(e: BluetoothError) -> Self {
            TrustServiceError::Gatt(e)
        }
    }

    impl std::fmt::Display for TrustServiceError {
        fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
            match self {
                TrustServiceError::Gatt(e) => write!(f, "{e}"),
                TrustServiceError::Malformed(d) => write!(f, "malformed: {d}"),
                TrustServiceError::NoReadingYet => f.write_str("the device has no reading yet"),
            }
        }
    }

    /// Reads the whole certificate chain (chunked, §5 "Chain transfer") and splits it into DER
    /// certificates, device first.
    pub async fn read_chain(
        svc: &BluetoothRemoteGattService,
    ) -> Result<Vec<Vec<u8>>, TrustServiceError> {
        let ch = characteristic(svc, gatt::CHAIN_CHARACTERISTIC_UUID).await?;
        let mut assembler = ChainAssembler::new();
        for _ in 0..MAX_CHAIN_READS {
            let chunk = read(&ch).await?;
            let complete = assembler
                .push(&chunk)
                .map_err(|r| TrustServiceError::Malformed(r.to_string()))?;
            if complete {
                return assembler
                    .finish()
                    .map_err(|r| TrustServiceError::Malformed(r.to_string()));
            }
        }
        Err(TrustServiceError::Malformed(
            "the chain transfer never completed".into(),
        ))
    }

    /// Writes the challenge and takes the signed answer (the tagged COSE_Sign1 bytes): by
    /// indication (§5: the reading characteristic indicates, with its CCCD), or, where the
    /// characteristic also offers the profile's readable fallback, by reading it right after the
    /// write. Subscribed before the write, so an indication sent at once is not missed.
    pub async fn exchange(
        server: &BluetoothRemoteGattServer,
        nonce: &[u8; gatt::CHALLENGE_LEN],
    ) -> Result<Vec<u8>, TrustServiceError> {
        let svc = service(server, SERVICE)
            .await?
            .ok_or_else(|| TrustServiceError::Malformed("the trust service disappeared".into()))?;
        let challenge = characteristic(&svc, gatt::CHALLENGE_CHARACTERISTIC_UUID).await?;
        let reading = characteristic(&svc, gatt::READING_CHARACTERISTIC_UUID).await?;
        let props = properties(&reading);
        if !props.indicate && !props.read {
            return Err(TrustServiceError::Malformed(
                "the signed reading characteristic neither indicates nor reads".into(),
            ));
        }
        let inbox: Rc<RefCell<VecDeque<Vec<u8>>>> = Rc::default();
        let _subscription = if props.subscribable() {
            let sink = inbox.clone();
            Some(
                subscribe(&reading, move |value| {
                    let mut q = sink.borrow_mut();
                    if q.len() < 4 {
                        q.push_back(value);
                    }
                })
                .await?,
            )
        } else {
            None
        };
        write(&challenge, nonce).await?;
        let answer = if props.read {
            read(&reading).await?
        } else {
            let mut waited = 0;
            loop {
                if let Some(value) = inbox.borrow_mut().pop_front() {
                    break value;
                }
                if waited >= INDICATION_TIMEOUT_MS {
                    return Err(TrustServiceError::NoReadingYet);
                }
                sleep(POLL_MS).await;
                waited += POLL_MS;
            }
        };
        if answer.is_empty() {
            return Err(TrustServiceError::NoReadingYet);
        }
        Ok(answer)
    }
}

/// Waits `ms` milliseconds (a browser timer).
pub async fn sleep(ms: u32) {
    let promise = js_sys::Promise::new(&mut |resolve, _| {
        if let Some(w) = web_sys::window() {
            let _ = w.set_timeout_with_callback_and_timeout_and_arguments_0(
                &resolve,
                i32::try_from(ms).unwrap_or(i32::MAX),
            );
        }
    });
    let _ = wasm_bindgen_futures::JsFuture::from(promise).await;
}
