//! IndexedDB persistence for device trust: what must survive a reload.
//!
//! One database, `veil-devices`, with three object stores (out-of-line keys):
//! - `roots`: the trust store, manufacturer root certificates as DER (`Uint8Array`), keyed by
//!   their SHA-256 fingerprint (hex). Imported and removed in Settings.
//! - `counters`: the last accepted reading counter per device, as a decimal string (a `u64` does
//!   not fit a JS number exactly), keyed by [`device_key`] (manufacturer root fingerprint and
//!   serial: a serial is unique per manufacturer, so two manufacturers' equal serials never share
//!   or raise each other's counter). Replay protection across reloads depends on it.
//! - `readings`: verified readings as [`StoredReading`] JSON: the fields of
//!   [`veil_trust::VerifiedReading`], which carries the original COSE_Sign1 bytes and the device
//!   chain, so the upload feature can forward them for the backend to verify again, and the
//!   `challenge_salt` (hex) of the challenge the reading answered, which binds it to this browser's
//!   client key (`veil_trust::bound_challenge`) and goes into the artifact beside it. Keyed
//!   `device_key/counter` (counter zero-padded), so keys sort by device then counter. Unverified
//!   readings are never stored here.
//! - `unverified`: readings nothing proves (a standard Bluetooth device's records, readings
//!   imported from a FHIR file) as [`veil_seal::UnverifiedReading`] JSON, kept so they can be
//!   sealed with that status: into the manifest's `unverified_readings`, never as device evidence.
//!   Keyed by the SHA-256 of that JSON, so the same reading imported twice is kept once.
//!
//! Nothing here decides trust: the verifier in `veil-trust` does; this only keeps its inputs.

use std::fmt;

use js_sys::Uint8Array;
use serde::{Deserialize, Serialize};
use wasm_bindgen::JsCast;
use wasm_bindgen::prelude::*;
use web_sys::{IdbObjectStore, IdbRequest, IdbTransactionMode};

use veil_seal::UnverifiedReading;
use veil_trust::{DeviceIdentity, TrustStore, VerifiedReading};

/// Name of the database holding device-trust state.
pub const DB_NAME: &str = "veil-devices";
/// Schema version; bump it when a store is added (the shared [`super::idb::open`] creates what is
/// missing). Version 2 added `unverified`, version 3 `sealed`.
const DB_VERSION: u32 = 3;
const ROOTS: &str = "roots";
const COUNTERS: &str = "counters";
const READINGS: &str = "readings";
const UNVERIFIED: &str = "unverified";
/// Which kept readings were sealed into an outbox item: `<store>/<key>` -> the item's id, so the
/// Outbox never seals a reading twice (the server would refuse a verified reading's replay and
/// would store an unverified one twice).
const SEALED: &str = "sealed";
/// The stores that hold the patient's readings (the rest is the device trust configuration):
/// emptied when a kiosk session ends.
pub const PATIENT_STORES: [&str; 3] = [READINGS, UNVERIFIED, SEALED];

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
    let db = super::idb::open(
        DB_NAME,
        DB_VERSION,
        &[ROOTS, COUNTERS, READINGS, UNVERIFIED, SEALED],
    )
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

/// A verified reading as kept for upload: the reading, and the salt of the challenge it answered.
///
/// The device signed `veil_trust::bound_challenge(client key, challenge_salt)`, so the reading is
/// bound to this browser's client key; the salt travels in the artifact beside the reading
/// (`DeviceEvidence::challenge_salt`) for the server to recompute the challenge. Stored as the
/// reading's own JSON fields plus `challenge_salt` (64 hex digits), so a reading stored before
/// readings were bound reads back with `None` (the server refuses such a reading,
/// `reading-unbound`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct StoredReading {
    /// The verified reading.
    #[serde(flatten)]
    pub reading: VerifiedReading,
    /// The random half of the challenge the reading answered.
    #[serde(default, skip_serializing_if = "Option::is_none", with = "salt_hex")]
    pub challenge_salt: Option<[u8; 32]>,
}

/// `Option<[u8; 32]>` as 64 lowercase hex digits (absent when `None`).
mod salt_hex {
    use serde::{Deserialize, Deserializer, Serializer, de::Error};

    pub fn serialize<S: Serializer>(salt: &Option<[u8; 32]>, s: S) -> Result<S::Ok, S::Error> {
        match salt {
            Some(salt) => s.serialize_str(&hex::encode(salt)),
            None => s.serialize_none(),
        }
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Option<[u8; 32]>, D::Error> {
        let Some(text) = Option::<String>::deserialize(d)? else {
            return Ok(None);
        };
        let mut salt = [0u8; 32];
        hex::decode_to_slice(&text, &mut salt)
            .map_err(|_| D::Error::custom("challenge_salt is not 64 hex digits"))?;
        Ok(Some(salt))
    }
}

/// Keeps a verified reading (with its original COSE bytes, chain and challenge salt) for upload.
pub async fn save_reading(stored: &StoredReading) -> Result<(), StorageError> {
    let json = serde_json::to_string(stored).map_err(|e| StorageError(e.to_string()))?;
    let key = reading_key(stored);
    let os = store(READINGS, IdbTransactionMode::Readwrite).await?;
    done(&os.put_with_key(&JsValue::from_str(&json), &JsValue::from_str(&key))?).await?;
    Ok(())
}

/// A verified reading's key in its store: the device, then the counter zero-padded.
fn reading_key(stored: &StoredReading) -> String {
    let reading = &stored.reading;
    format!("{}/{:020}", device_key(&reading.device), reading.counter)
}

/// Every stored verified reading, ordered by device then counter. Entries that do not
/// parse are skipped.
pub async fn verified_readings() -> Result<Vec<StoredReading>, StorageError> {
    all_json(READINGS).await
}

/// The stored verified readings not yet sealed into an outbox item, ordered by device then
/// counter, and how many were sealed before.
pub async fn unsealed_readings() -> Result<(Vec<StoredReading>, usize), StorageError> {
    unsealed(READINGS, verified_readings().await?, |r| Ok(reading_key(r))).await
}

/// The kept unverified readings not yet sealed into an outbox item, and how many were sealed
/// before.
pub async fn unsealed_unverified() -> Result<(Vec<UnverifiedReading>, usize), StorageError> {
    unsealed(UNVERIFIED, unverified_readings().await?, |r| {
        Ok(unverified_entry(r)?.0)
    })
    .await
}

/// The readings of `all` (kept in the store `kept_in` under `key`) without a mark in `sealed`,
/// and how many had one.
async fn unsealed<T>(
    kept_in: &str,
    all: Vec<T>,
    key: impl Fn(&T) -> Result<String, StorageError>,
) -> Result<(Vec<T>, usize), StorageError> {
    let sealed = sealed_marks().await?;
    let before = all.len();
    let mut left = Vec::with_capacity(before);
    for reading in all {
        if !sealed.contains(&sealed_mark(kept_in, &key(&reading)?)) {
            left.push(reading);
        }
    }
    let done = before - left.len();
    Ok((left, done))
}

/// Records that these readings were sealed into the outbox item `item`.
pub async fn mark_sealed(
    verified: &[StoredReading],
    unverified: &[UnverifiedReading],
    item: &str,
) -> Result<(), StorageError> {
    let mut marks: Vec<String> = verified
        .iter()
        .map(|r| sealed_mark(READINGS, &reading_key(r)))
        .collect();
    for reading in unverified {
        marks.push(sealed_mark(UNVERIFIED, &unverified_entry(reading)?.0));
    }
    let os = store(SEALED, IdbTransactionMode::Readwrite).await?;
    for mark in marks {
        done(&os.put_with_key(&JsValue::from_str(item), &JsValue::from_str(&mark))?).await?;
    }
    Ok(())
}

/// The mark of a kept reading in the `sealed` store.
fn sealed_mark(store: &str, key: &str) -> String {
    format!("{store}/{key}")
}

/// Every mark in the `sealed` store.
async fn sealed_marks() -> Result<std::collections::HashSet<String>, StorageError> {
    let keys = done(
        &store(SEALED, IdbTransactionMode::Readonly)
            .await?
            .get_all_keys()?,
    )
    .await?;
    let array: js_sys::Array = keys.dyn_into()?;
    Ok(array.iter().filter_map(|k| k.as_string()).collect())
}

/// Every entry of a store of JSON strings that parses as `T`, in key order.
async fn all_json<T: serde::de::DeserializeOwned>(name: &str) -> Result<Vec<T>, StorageError> {
    let all = done(&store(name, IdbTransactionMode::Readonly).await?.get_all()?).await?;
    let array: js_sys::Array = all.dyn_into()?;
    Ok(array
        .iter()
        .filter_map(|v| v.as_string())
        .filter_map(|s| serde_json::from_str::<T>(&s).ok())
        .collect())
}

/// Keeps readings nothing proves, for sealing as unverified; one already kept is kept once.
/// Returns how many were new.
pub async fn save_unverified(readings: &[UnverifiedReading]) -> Result<usize, StorageError> {
    if readings.is_empty() {
        return Ok(0);
    }
    let os = store(UNVERIFIED, IdbTransactionMode::Readwrite).await?;
    let mut new = 0;
    for reading in readings {
        let (key, json) = unverified_entry(reading)?;
        let key = JsValue::from_str(&key);
        if done(&os.count_with_key(&key)?).await?.as_f64() == Some(0.0) {
            new += 1;
        }
        done(&os.put_with_key(&JsValue::from_str(&json), &key)?).await?;
    }
    Ok(new)
}

/// A reading's key (SHA-256 of its JSON, hex) and JSON.
fn unverified_entry(reading: &UnverifiedReading) -> Result<(String, String), StorageError> {
    use sha2::Digest;
    let json = serde_json::to_string(reading).map_err(|e| StorageError(e.to_string()))?;
    Ok((hex::encode(sha2::Sha256::digest(json.as_bytes())), json))
}

/// Every kept unverified reading, in key order. Entries that do not parse are skipped.
pub async fn unverified_readings() -> Result<Vec<UnverifiedReading>, StorageError> {
    all_json(UNVERIFIED).await
}

#[cfg(test)]
mod tests {
    use serde::{Deserialize, Serialize};
    use wasm_bindgen_test::wasm_bindgen_test;

    /// The salt field as [`super::StoredReading`] declares it.
    #[derive(Debug, PartialEq, Serialize, Deserialize)]
    struct Salted {
        #[serde(
            default,
            skip_serializing_if = "Option::is_none",
            with = "super::salt_hex"
        )]
        challenge_salt: Option<[u8; 32]>,
    }

    #[wasm_bindgen_test]
    fn an_unverified_reading_is_kept_once_under_the_hash_of_its_json() {
        use veil_seal::{DeviceClaims, UnverifiedReading, UnverifiedSource, UnverifiedValue};
        let reading = UnverifiedReading {
            kind: "temperature".into(),
            values: vec![UnverifiedValue {
                name: "celsius".into(),
                value: 37.2,
                unit: "°C".into(),
            }],
            time: None,
            source: UnverifiedSource::FhirImport,
            device: DeviceClaims::default(),
        };
        let (key, json) = super::unverified_entry(&reading).unwrap_or_default();
        assert_eq!(key.len(), 64);
        assert_eq!(
            serde_json::from_str::<UnverifiedReading>(&json).ok(),
            Some(reading.clone())
        );
        assert!(json.contains(r#""source":"fhir-import""#), "{json}");
        let other = UnverifiedReading {
            time: Some("2026-12-06T09:15:00".into()),
            ..reading.clone()
        };
        assert_ne!(super::unverified_entry(&other).unwrap_or_default().0, key);
        assert_eq!(super::unverified_entry(&reading).unwrap_or_default().0, key);
    }

    #[wasm_bindgen_test]
    fn a_salt_is_hex_and_a_reading_stored_before_salts_reads_as_unbound() {
        let salted = Salted {
            challenge_salt: Some([0xab; 32]),
        };
        let json = serde_json::to_string(&salted).unwrap_or_default();
        assert_eq!(
            json,
            format!(r#"{{"challenge_salt":"{}"}}"#, "ab".repeat(32))
        );
        assert_eq!(serde_json::from_str::<Salted>(&json).ok(), Some(salted));
        let unbound = Salted {
            challenge_salt: None,
        };
        assert_eq!(serde_json::to_string(&unbound).unwrap_or_default(), "{}");
        assert_eq!(serde_json::from_str::<Salted>("{}").ok(), Some(unbound));
        assert!(serde_json::from_str::<Salted>(r#"{"challenge_salt":"abcd"}"#).is_err());
    }
}
