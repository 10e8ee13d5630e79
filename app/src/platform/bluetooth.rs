//! Thin Web Bluetooth glue: the chooser, GATT connect, read and write, disconnect events.
//!
//! Nothing here interprets bytes: the Devices page hands what it reads to `veil-trust`. The
//! Veil trust service layout (UUIDs, chain chunking, challenge flow) follows
//! `docs/device-profile.md`; the standard services are the Bluetooth SIG health services.
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
    use web_sys::{BluetoothRemoteGattServer, BluetoothRemoteGattService};

    use veil_trust::gatt::{self, ChainAssembler};

    use super::{BluetoothError, characteristic, read, service, write};

    /// The trust service UUID.
    pub const SERVICE: &str = gatt::TRUST_SERVICE_UUID;
    /// Reads allowed for one chain transfer: at most 255 chunks, plus as many skipped while
    /// resynchronising to chunk 0 (the assembler enforces both; this bounds the loop regardless).
    const MAX_CHAIN_READS: usize = 2 * 255 + 1;

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

    /// Writes the challenge and reads the signed answer (the tagged COSE_Sign1 bytes).
    pub async fn exchange(
        server: &BluetoothRemoteGattServer,
        nonce: &[u8; gatt::CHALLENGE_LEN],
    ) -> Result<Vec<u8>, TrustServiceError> {
        let svc = service(server, SERVICE)
            .await?
            .ok_or_else(|| TrustServiceError::Malformed("the trust service disappeared".into()))?;
        let challenge = characteristic(&svc, gatt::CHALLENGE_CHARACTERISTIC_UUID).await?;
        write(&challenge, nonce).await?;
        let reading = characteristic(&svc, gatt::READING_CHARACTERISTIC_UUID).await?;
        let answer = read(&reading).await?;
        if answer.is_empty() {
            return Err(TrustServiceError::NoReadingYet);
        }
        Ok(answer)
    }
}
