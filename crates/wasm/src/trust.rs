//! `verifyReading`: a device's signed reading, checked against the portal's trusted manufacturer
//! roots exactly as `veil device verify` and the ingest server check it (`veil-trust`'s
//! [`Verifier`], same order of checks, same rejection codes), with the ECDSA step in WebCrypto
//! where the host has it and the verifier (its validated chains) kept for the next call with the
//! same roots, so a reading costs about what WebCrypto's verify does; `boundChallenge`: the challenge that
//! binds a reading to the client that will upload it (`veil_trust::bound_challenge`).

use std::cell::RefCell;

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use js_sys::Array;
use veil_trust::{FreshnessWindow, PendingReading, RevocationList, TrustStore, Verifier};
use wasm_bindgen::JsValue;
use wasm_bindgen::prelude::wasm_bindgen;

use crate::error::VeilError;
use crate::js;
use crate::webcrypto::Subtle;

/// The roots: PEM text (one or more `CERTIFICATE` blocks, as a string or bytes) or an array of DER
/// certificates.
fn trust_store(v: &JsValue) -> Result<TrustStore, VeilError> {
    if Array::is_array(v) {
        return Ok(TrustStore::from_der(&js::byte_list(v, "trustStore")?)?);
    }
    let pem = js::text(v, "trustStore").map_err(|_| {
        VeilError::argument(
            "trustStore must be PEM text (string or Uint8Array) or an array of DER certificates",
        )
    })?;
    Ok(TrustStore::from_pem(&pem)?)
}

/// The challenge: bytes, or hex text (as `veil device verify --nonce` takes it).
fn nonce(v: &JsValue) -> Result<Vec<u8>, VeilError> {
    if let Some(h) = v.as_string() {
        return hex::decode(h.trim())
            .map_err(|_| VeilError::argument("nonce must be a Uint8Array or hex text"));
    }
    js::bytes(v, "nonce")
}

thread_local! {
    /// The last chain given as PEM, decoded: a paired device sends the same chain with every
    /// reading, and its base64 decoding is a tenth of a call's cost. Kept as the JavaScript
    /// string, compared there (`===`), so a repeated chain is not even copied into wasm.
    static LAST_CHAIN: RefCell<Option<(JsValue, Vec<Vec<u8>>)>> = const { RefCell::new(None) };
}

/// A chain: an array of DER certificates (device first), or PEM text of the chain (the
/// `SERIAL.chain.pem` that `veil device provision` writes).
fn chain(v: &JsValue) -> Result<Vec<Vec<u8>>, VeilError> {
    if Array::is_array(v) {
        return js::byte_list(v, "chainDer");
    }
    if let Some(ders) = LAST_CHAIN.with(|last| {
        last.borrow()
            .as_ref()
            .and_then(|(text, ders)| (v.is_string() && text == v).then(|| ders.clone()))
    }) {
        return Ok(ders);
    }
    match v.as_string() {
        Some(pem) => {
            // A chain that is not PEM is a malformed reading, as for the CLI.
            let ders = veil_trust::certs_from_pem(&pem).map_err(veil_trust::Rejection::from)?;
            LAST_CHAIN.with(|last| *last.borrow_mut() = Some((v.clone(), ders.clone())));
            Ok(ders)
        }
        None => Err(VeilError::argument(
            "chainDer must be an array of DER certificates (Uint8Array) or PEM text",
        )),
    }
}

/// The trust-store input as it was given (a tag and its bytes), to recognise it on the next call.
fn store_key(v: &JsValue) -> Result<Vec<u8>, VeilError> {
    let mut key = Vec::new();
    if Array::is_array(v) {
        key.push(b'd');
        for der in js::byte_list(v, "trustStore")? {
            key.extend_from_slice(&(der.len() as u64).to_be_bytes());
            key.extend_from_slice(&der);
        }
    } else if let Some(s) = v.as_string() {
        key.push(b's');
        key.extend_from_slice(s.as_bytes());
    } else if let Ok(b) = js::bytes(v, "trustStore") {
        key.push(b'b');
        key.extend_from_slice(&b);
    }
    Ok(key)
}

thread_local! {
    /// The verifier of the last trust store, by its input: its cache of validated chains (issuer
    /// signatures checked once per chain, in Rust) then serves every later reading from the same
    /// devices, as the app's long-lived `Verifier` does. Revocations and the window are set anew on
    /// every call; nothing else it holds depends on the call.
    /// A store given as a string is also kept as the JavaScript string, compared there (`===`),
    /// so the same roots are not copied into wasm again.
    static VERIFIER: RefCell<Option<(Vec<u8>, JsValue, Verifier)>> = const { RefCell::new(None) };
}

/// [`Verifier::begin`] with the verifier of `trust` (parsed and cached on first use).
fn begin(
    trust: &JsValue,
    revoked: RevocationList,
    window: FreshnessWindow,
    cose: &[u8],
    chain: &[Vec<u8>],
    now: u64,
) -> Result<PendingReading, VeilError> {
    VERIFIER.with(|cell| {
        let mut cell = cell.borrow_mut();
        let (key, verifier) = match cell.take() {
            Some((k, text, v)) if trust.is_string() && text == *trust => (k, v),
            last => {
                let key = store_key(trust)?;
                match last {
                    Some((k, _, v)) if k == key => (key, v),
                    _ => (key, Verifier::new(trust_store(trust)?)),
                }
            }
        };
        let verifier = verifier.with_revocations(revoked).with_window(window);
        let pending = verifier.begin(cose, chain, now);
        let text = if trust.is_string() {
            trust.clone()
        } else {
            JsValue::UNDEFINED
        };
        *cell = Some((key, text, verifier));
        Ok(pending?)
    })
}

async fn verify_reading_async(
    cose: JsValue,
    chain_der: JsValue,
    trust: JsValue,
    options: JsValue,
) -> Result<JsValue, VeilError> {
    let cose = js::bytes(&cose, "coseBytes")?;
    let chain = chain(&chain_der)?;
    let expected = match js::field(&options, "nonce")? {
        n if js::is_absent(&n) => None,
        n => Some(nonce(&n)?),
    };
    let last_counter = js::u64_field(&options, "lastCounter")?;
    let now = js::u64_field(&options, "now")?.unwrap_or_else(js::unix_now);
    let defaults = FreshnessWindow::default();
    let window = FreshnessWindow {
        max_age_secs: js::u64_field(&options, "maxAgeSecs")?.unwrap_or(defaults.max_age_secs),
        max_future_secs: js::u64_field(&options, "maxFutureSecs")?
            .unwrap_or(defaults.max_future_secs),
    };
    let revoked = match js::field(&options, "revoked")? {
        r if js::is_absent(&r) => RevocationList::new(),
        r if Array::is_array(&r) => {
            let mut list = RevocationList::new();
            for (i, s) in Array::from(&r).iter().enumerate() {
                list.insert(s.as_string().ok_or_else(|| {
                    VeilError::argument(format!("revoked[{i}] must be a string"))
                })?);
            }
            list
        }
        r => RevocationList::from_text(&js::text(&r, "revoked")?),
    };
    // Verifier::verify in two halves, the ECDSA check between them by WebCrypto when the host
    // has it (its answer is the same as p256's: both verify P-256 / SHA-256 exactly).
    let pending = begin(&trust, revoked, window, &cose, &chain, now)?;
    let valid = match Subtle::get() {
        Some(subtle) => subtle
            .verify_p256(
                &pending.device_public_key(),
                pending.signature(),
                pending.signed_data(),
            )
            .await
            .unwrap_or_else(|_| pending.verify_signature()),
        None => pending.verify_signature(),
    };
    let mut reading = pending.finish(valid, expected.as_deref(), last_counter)?;
    // The original COSE bytes and the chain (kilobytes of base64) are set on the object as strings
    // rather than escaped into JSON and parsed back: a third of a call's own cost. Their keys are
    // already in place (empty), so the object keeps the fields and order of the library's JSON.
    let cose = STANDARD.encode(std::mem::take(&mut reading.cose));
    let chain: Array = std::mem::take(&mut reading.chain)
        .iter()
        .map(|der| JsValue::from_str(&STANDARD.encode(der)))
        .collect();
    let out = js::to_js(&reading)?;
    js::set(&out, "cose", &cose.into());
    js::set(&out, "chain", &chain);
    Ok(out)
}

/// Verify one signed reading (a tagged COSE_Sign1) from a certified device.
///
/// Resolves to the verified reading; rejects with a `VeilError` whose `code` is the rejection
/// reason (`malformed`, `unsupported-algorithm`, `bad-signature`, `untrusted-chain`,
/// `expired-certificate`, `revoked`, `serial-mismatch`, `nonce-mismatch`, `replayed-counter`,
/// `stale`) or `bad-argument`. The device's ECDSA signature is checked by WebCrypto where the host
/// has it (`crate::webcrypto`), in Rust otherwise.
#[wasm_bindgen(js_name = verifyReading, unchecked_return_type = "Promise<VerifiedReading>")]
pub fn verify_reading(
    #[wasm_bindgen(js_name = coseBytes, unchecked_param_type = "Uint8Array")] cose: JsValue,
    #[wasm_bindgen(js_name = chainDer, unchecked_param_type = "Uint8Array[] | string")]
    chain_der: JsValue,
    #[wasm_bindgen(js_name = trustStore, unchecked_param_type = "TrustStoreInput")] trust: JsValue,
    #[wasm_bindgen(unchecked_optional_param_type = "VerifyReadingOptions")] options: JsValue,
) -> js_sys::Promise {
    wasm_bindgen_futures::future_to_promise(async move {
        verify_reading_async(cose, chain_der, trust, options)
            .await
            .map_err(JsValue::from)
    })
}

/// Exactly `N` bytes from a `Uint8Array` or hex text.
fn fixed<const N: usize>(v: &JsValue, what: &str) -> Result<[u8; N], VeilError> {
    let raw = match v.as_string() {
        Some(h) => hex::decode(h.trim())
            .map_err(|_| VeilError::argument(format!("{what} must be a Uint8Array or hex text")))?,
        None => js::bytes(v, what)?,
    };
    raw.try_into()
        .map_err(|_| VeilError::argument(format!("{what} must be {N} bytes")))
}

/// A challenge salt: 32 bytes, or 64 hex digits (as `sealArtifact`'s `evidence[i].challengeSalt`).
pub(crate) fn challenge_salt(v: &JsValue, what: &str) -> Result<[u8; 32], VeilError> {
    fixed::<{ veil_trust::CHALLENGE_SALT_LEN }>(v, what)
}

/// The challenge to write to a device so that its reading is bound to the client that will upload
/// it: `SHA-256(clientKeySec1 || salt)` (`docs/device-profile.md` §5). `clientKeySec1` is the
/// client's ES256 public key as the 65-byte uncompressed SEC1 point (WebCrypto
/// `exportKey("raw", publicKey)`), `salt` 32 fresh random bytes kept with the reading and passed
/// to `sealArtifact` as its evidence's `challengeSalt`. Either may be given as hex text. Returns
/// the 32-byte challenge; a wrong length is `bad-argument`.
#[wasm_bindgen(js_name = boundChallenge)]
pub fn bound_challenge(
    #[wasm_bindgen(js_name = clientKeySec1, unchecked_param_type = "Uint8Array | string")]
    client_key: JsValue,
    #[wasm_bindgen(unchecked_param_type = "Uint8Array | string")] salt: JsValue,
) -> Result<js_sys::Uint8Array, VeilError> {
    let key = fixed::<65>(&client_key, "clientKeySec1")?;
    if key[0] != 0x04 {
        return Err(VeilError::argument(
            "clientKeySec1 must be an uncompressed SEC1 point (65 bytes starting 04)",
        ));
    }
    let salt = challenge_salt(&salt, "salt")?;
    Ok(js_sys::Uint8Array::from(
        &veil_trust::bound_challenge(&key, &salt)[..],
    ))
}
