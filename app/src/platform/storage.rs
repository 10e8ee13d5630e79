//! IndexedDB persistence for device trust: what must survive a reload.
//!
//! One database, `veil-devices`, with three object stores (out-of-line keys):
//! - `roots`: the trust store, manufacturer root certificates as DER (`Uint8Array`), keyed by
//!   their SHA-256 fingerprint (hex). Imported and removed in Settings.
//! - `counters`: the last accepted reading counter per device, as a decimal string (a `u64` does
//!   not fit a JS number exactly), keyed by [`device_key`] (manufacturer root fingerprint and
//!   serial: a serial is unique per manufacturer, so two manufacturers' equal serials never share
//!   or raise each other's counter). Replay protection across reloads depends on it.
//! - `readings`: verified readings as the JSON of [`veil_trust::VerifiedReading`], which carries
//!   the original COSE_Sign1 bytes and the device chain, so the upload feature can forward them
//!   for the backend to verify again. Keyed `device_key/counter` (counter zero-padded), so keys
//!   sort by device then counter. Unverified readings are never stored here.
//!
//! Nothing here decides trust: the verifier in `veil-trust` does; this only keeps its inputs.

use std::fmt;

use js_sys::Uint8Array;
use wasm_bindgen::JsCast;
use wasm_bindgen::prelude::*;
use web_sys::{IdbObjectStore, IdbRequest, IdbTransactionMode};

use veil_trust::{DeviceIdentity, TrustStore, VerifiedReading};

/// Name of the database holding device-trust state.
pub const DB_NAME: &str = "veil-devices";
/// Schema version; bump it when a store is added (the shared [`super::idb::open`] creates what is
/// missing).
const DB_VERSION: u32 = 1;
const ROOTS: &str = "roots";
const COUNTERS: &str = "counters";
const READINGS: &str = "readings";

/// Why a storage operation failed: IndexedDB unavailable (private mode, old browser), a
/// transaction error, or stored data that no longer parses.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StorageError(pub String);

impl fmt::Display for StorageError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "storage: {}", self.0)
    }
}

impl From<JsValue> for StorageError {
    fn from(v: JsValue) -> Self {
        StorageError(crate::platform::js_error_text(&v))
    }
}

/// Resolves when an IndexedDB request succeeds (with its result) or fails.
async fn done(request: &IdbRequest) -> Result<JsValue, StorageError> {
    super::idb::wait(request)
        .await
        .map_err(|e| StorageError(e.0))
}

/// One object store in a fresh transaction.
/// The connection is closed when this returns; IndexedDB keeps it open until the transaction
/// completes.
async fn store(name: &str, mode: IdbTransactionMode) -> Result<IdbObjectStore, StorageError> {
    let db = super::idb::open(DB_NAME, DB_VERSION, &[ROOTS, COUNTERS, READINGS])
        .await
        .map_err(|e| StorageError(e.0))?;
    Ok(db
        .transaction_with_str_and_mode(name, mode)?
        .object_store(name)?)
}

/// The DER of every trusted manufacturer root.
pub async fn root_ders() -> Result<Vec<Vec<u8>>, StorageError> {
    let all = done(
        &store(ROOTS, IdbTransactionMode::Readonly)
            .await?
            .get_all()?,
    )
    .await?;
    let array: js_sys::Array = all.dyn_into()?;
    Ok(array
        .iter()
        .filter_map(|v| v.dyn_into::<Uint8Array>().ok())
        .map(|a| a.to_vec())
        .collect())
}

/// The trust store built from the stored roots. A stored root that no longer parses is skipped
/// (and logged) rather than making every device untrusted.
pub async fn trust_store() -> Result<TrustStore, StorageError> {
    let mut trust = TrustStore::new();
    for der in root_ders().await? {
        if let Err(e) = trust.add_der(&der) {
            web_sys::console::warn_1(&JsValue::from_str(&format!("skipping a stored root: {e}")));
        }
    }
    Ok(trust)
}

/// Stores a root certificate (already checked to be a CA by [`TrustStore::add_der`]).
pub async fn put_root(fingerprint: &str, der: &[u8]) -> Result<(), StorageError> {
    let value = Uint8Array::from(der);
    let os = store(ROOTS, IdbTransactionMode::Readwrite).await?;
    done(&os.put_with_key(&value, &JsValue::from_str(fingerprint))?).await?;
    Ok(())
}

/// Removes the root with this fingerprint (hex); a missing one is not an error.
pub async fn remove_root(fingerprint: &str) -> Result<(), StorageError> {
    let os = store(ROOTS, IdbTransactionMode::Readwrite).await?;
    done(&os.delete(&JsValue::from_str(fingerprint))?).await?;
    Ok(())
}

/// The key of a device's replay state and readings: `root fingerprint/serial`.
pub fn device_key(device: &DeviceIdentity) -> String {
    format!("{}/{}", device.root_fingerprint, device.serial)
}

/// The last accepted counter of a device (by [`device_key`]), if any reading of it was ever
/// accepted here.
pub async fn last_counter(device: &str) -> Result<Option<u64>, StorageError> {
    let os = store(COUNTERS, IdbTransactionMode::Readonly).await?;
    let value = done(&os.get(&JsValue::from_str(device))?).await?;
    match value.as_string() {
        None => Ok(None),
        Some(s) => s
            .parse::<u64>()
            .map(Some)
            .map_err(|_| StorageError(format!("stored counter of {device} is not a number"))),
    }
}

/// Records `counter` as the last accepted one for `device` (a [`device_key`]), only if it is
/// higher than what is stored (two readings finishing out of order never lower it).
pub async fn raise_counter(device: &str, counter: u64) -> Result<(), StorageError> {
    if last_counter(device)
        .await?
        .is_some_and(|last| last >= counter)
    {
        return Ok(());
    }
    let os = store(COUNTERS, IdbTransactionMode::Readwrite).await?;
    done(&os.put_with_key(
        &JsValue::from_str(&counter.to_string()),
        &JsValue::from_str(device),
    )?)
    .await?;
    Ok(())
}

/// Keeps a verified reading (with its original COSE bytes and chain) for upload.
pub async fn save_reading(reading: &VerifiedReading) -> Result<(), StorageError> {
    let json = serde_json::to_string(reading).map_err(|e| StorageError(e.to_string()))?;
    let key = format!("{}/{:020}", device_key(&reading.device), reading.counter);
    let os = store(READINGS, IdbTransactionMode::Readwrite).await?;
    done(&os.put_with_key(&JsValue::from_str(&json), &JsValue::from_str(&key))?).await?;
    Ok(())
}

/// Every stored verified reading, ordered by device then counter. Entries that do not
/// parse are skipped.
pub async fn verified_readings() -> Result<Vec<VerifiedReading>, StorageError> {
    let all = done(
        &store(READINGS, IdbTransactionMode::Readonly)
            .await?
            .get_all()?,
    )
    .await?;
    let array: js_sys::Array = all.dyn_into()?;
    Ok(array
        .iter()
        .filter_map(|v| v.as_string())
        .filter_map(|s| serde_json::from_str::<VerifiedReading>(&s).ok())
        .collect())
}
