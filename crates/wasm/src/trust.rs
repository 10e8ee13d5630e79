//! `verifyReading`: a device's signed reading, checked against the portal's trusted manufacturer
//! roots exactly as `veil device verify` and the ingest server check it (`veil-trust`'s
//! [`Verifier`], same order of checks, same rejection codes); `boundChallenge`: the challenge that
//! binds a reading to the client that will upload it (`veil_trust::bound_challenge`).

use js_sys::Array;
use veil_trust::{FreshnessWindow, RevocationList, TrustStore, Verifier};
use wasm_bindgen::JsValue;
use wasm_bindgen::prelude::wasm_bindgen;

use crate::error::VeilError;
use crate::js;

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

/// A chain: an array of DER certificates (device first), or PEM text of the chain (the
/// `SERIAL.chain.pem` that `veil device provision` writes).
fn chain(v: &JsValue) -> Result<Vec<Vec<u8>>, VeilError> {
    if Array::is_array(v) {
        return js::byte_list(v, "chainDer");
    }
    match v.as_string() {
        // A chain that is not PEM is a malformed reading, as for the CLI.
        Some(pem) => Ok(veil_trust::certs_from_pem(&pem).map_err(veil_trust::Rejection::from)?),
        None => Err(VeilError::argument(
            "chainDer must be an array of DER certificates (Uint8Array) or PEM text",
        )),
    }
}

/// Verify one signed reading (a tagged COSE_Sign1) from a certified device.
///
/// Throws a `VeilError` whose `code` is the rejection reason (`malformed`, `unsupported-algorithm`,
/// `bad-signature`, `untrusted-chain`, `expired-certificate`, `revoked`, `serial-mismatch`,
/// `nonce-mismatch`, `replayed-counter`, `stale`) or `bad-argument`.
#[wasm_bindgen(js_name = verifyReading, unchecked_return_type = "VerifiedReading")]
pub fn verify_reading(
    #[wasm_bindgen(js_name = coseBytes, unchecked_param_type = "Uint8Array")] cose: JsValue,
    #[wasm_bindgen(js_name = chainDer, unchecked_param_type = "Uint8Array[] | string")]
    chain_der: JsValue,
    #[wasm_bindgen(js_name = trustStore, unchecked_param_type = "TrustStoreInput")] trust: JsValue,
    #[wasm_bindgen(unchecked_optional_param_type = "VerifyReadingOptions")] options: JsValue,
) -> Result<JsValue, VeilError> {
    let cose = js::bytes(&cose, "coseBytes")?;
    let chain = chain(&chain_der)?;
    let store = trust_store(&trust)?;
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
    let verifier = Verifier::new(store)
        .with_revocations(revoked)
        .with_window(window);
    let reading = verifier.verify(&cose, &chain, expected.as_deref(), last_counter, now)?;
    js::to_js(&reading)
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
