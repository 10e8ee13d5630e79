//! The client's signing key: a non-extractable WebCrypto ECDSA P-256 key kept in IndexedDB.
//!
//! WebCrypto is preferred over `p256` in wasm for the client key because the private key then never
//! exists as bytes the page (or an injected script) could read or exfiltrate: the browser holds it
//! and only signs with it. WebCrypto's ECDSA signature is IEEE P1363 `r || s` (64 bytes), exactly
//! the COSE (RFC 9053 §2.1) and `veil-audit` encoding, so no conversion is needed.
//!
//! A WebCrypto failure is a `browser` error, the stored key's a `storage` error.

use wasm_bindgen::JsCast;
use wasm_bindgen::prelude::*;
use wasm_bindgen_futures::JsFuture;
use web_sys::{CryptoKey, IdbDatabase};

use super::idb;
use crate::error::AppError;

/// The key pair, and the public key as uncompressed SEC1 bytes.
#[derive(Clone)]
pub struct ClientKey {
    private: CryptoKey,
    /// The public key, 65 bytes `04 || x || y`.
    pub public_sec1: Vec<u8>,
}

fn subtle() -> Result<web_sys::SubtleCrypto, AppError> {
    Ok(web_sys::window()
        .ok_or_else(|| AppError::browser("no window"))?
        .crypto()
        .map_err(|e| AppError::browser_js(&e))?
        .subtle())
}

fn algorithm(extra: &[(&str, &str)]) -> js_sys::Object {
    let o = js_sys::Object::new();
    let _ = js_sys::Reflect::set(&o, &"name".into(), &"ECDSA".into());
    for (k, v) in extra {
        let _ = js_sys::Reflect::set(&o, &(*k).into(), &(*v).into());
    }
    o
}

async fn call(promise: Result<js_sys::Promise, JsValue>) -> Result<JsValue, AppError> {
    let promise = promise.map_err(|e| AppError::browser_js(&e))?;
    JsFuture::from(promise)
        .await
        .map_err(|e| AppError::browser_js(&e))
}

/// Load the client key from `db` (store `keys`, key `client`), creating it on first use.
pub async fn client_key(db: &IdbDatabase) -> Result<ClientKey, AppError> {
    let pair = match idb::get(db, "keys", "client").await? {
        Some(pair) => pair,
        None => {
            let usages = js_sys::Array::of2(&"sign".into(), &"verify".into());
            let pair = call(subtle()?.generate_key_with_object(
                &algorithm(&[("namedCurve", "P-256")]),
                false,
                &usages,
            ))
            .await?;
            idb::put(db, "keys", "client", &pair).await?;
            pair
        }
    };
    let get = |name: &str| -> Result<CryptoKey, AppError> {
        js_sys::Reflect::get(&pair, &name.into())
            .ok()
            .and_then(|k| k.dyn_into::<CryptoKey>().ok())
            .ok_or_else(|| AppError::storage(format!("stored client key has no {name}")))
    };
    let private = get("privateKey")?;
    let public = get("publicKey")?;
    let raw = call(subtle()?.export_key("raw", &public)).await?;
    Ok(ClientKey {
        private,
        public_sec1: js_sys::Uint8Array::new(&raw).to_vec(),
    })
}

impl ClientKey {
    /// ECDSA P-256 with SHA-256 over `message`: 64 bytes `r || s`.
    pub async fn sign(&self, message: &[u8]) -> Result<Vec<u8>, AppError> {
        let data = js_sys::Uint8Array::from(message);
        let signature = call(subtle()?.sign_with_object_and_buffer_source(
            &algorithm(&[("hash", "SHA-256")]),
            &self.private,
            &data,
        ))
        .await?;
        Ok(js_sys::Uint8Array::new(&signature).to_vec())
    }
}

/// AES-256-GCM encryption by the browser (hardware AES, unlike wasm): `ciphertext || tag`.
///
/// Used for the bulk of an HPKE seal (`veil_seal::external`): wasm derives the one-message key and
/// nonce, the browser encrypts. The imported key is non-extractable and used for this message only.
pub async fn aes_gcm_encrypt(
    key: &[u8],
    nonce: &[u8],
    aad: &[u8],
    plaintext: &[u8],
) -> Result<Vec<u8>, AppError> {
    let subtle = subtle()?;
    let usages = js_sys::Array::of1(&"encrypt".into());
    let raw = js_sys::Uint8Array::from(key);
    let aes = js_sys::Object::new();
    let _ = js_sys::Reflect::set(&aes, &"name".into(), &"AES-GCM".into());
    let imported = call(subtle.import_key_with_object("raw", &raw, &aes, false, &usages)).await?;
    let key: CryptoKey = imported
        .dyn_into()
        .map_err(|_| AppError::browser("importKey gave no key"))?;
    let params = js_sys::Object::new();
    let _ = js_sys::Reflect::set(&params, &"name".into(), &"AES-GCM".into());
    let _ = js_sys::Reflect::set(&params, &"iv".into(), &js_sys::Uint8Array::from(nonce));
    let _ = js_sys::Reflect::set(
        &params,
        &"additionalData".into(),
        &js_sys::Uint8Array::from(aad),
    );
    let data = js_sys::Uint8Array::from(plaintext);
    let out = call(subtle.encrypt_with_object_and_buffer_source(&params, &key, &data)).await?;
    Ok(js_sys::Uint8Array::new(&out).to_vec())
}

/// ECDSA P-256 / SHA-256 verification by the browser: `signature` is `r || s` (as COSE and
/// WebCrypto both encode it), `public_sec1` the uncompressed point. About ten times faster than
/// `p256` compiled to wasm (docs/benchmarks.md), so device readings are checked this way.
pub async fn ecdsa_p256_verify(
    public_sec1: &[u8],
    signature: &[u8],
    message: &[u8],
) -> Result<bool, AppError> {
    let all = ecdsa_p256_verify_all(public_sec1, [(message, signature)]).await?;
    Ok(all.first().copied().unwrap_or(false))
}

/// [`ecdsa_p256_verify`] of many `(message, signature)` pairs under one key, all handed to the
/// browser at once (the key imported once); one answer per pair, in order.
pub async fn ecdsa_p256_verify_all<'a>(
    public_sec1: &[u8],
    pairs: impl IntoIterator<Item = (&'a [u8], &'a [u8])>,
) -> Result<Vec<bool>, AppError> {
    let mut pairs = pairs.into_iter().peekable();
    if pairs.peek().is_none() {
        // Nothing to ask (an unchanged audit chain, every round): no key imported.
        return Ok(Vec::new());
    }
    let subtle = subtle()?;
    let usages = js_sys::Array::of1(&"verify".into());
    let raw = js_sys::Uint8Array::from(public_sec1);
    let imported = call(subtle.import_key_with_object(
        "raw",
        &raw,
        &algorithm(&[("namedCurve", "P-256")]),
        false,
        &usages,
    ))
    .await?;
    let key: CryptoKey = imported
        .dyn_into()
        .map_err(|_| AppError::browser("importKey gave no key"))?;
    let params = algorithm(&[("hash", "SHA-256")]);
    let checks = js_sys::Array::new();
    for (message, signature) in pairs {
        let sig = js_sys::Uint8Array::from(signature);
        let data = js_sys::Uint8Array::from(message);
        let check = subtle
            .verify_with_object_and_buffer_source_and_buffer_source(&params, &key, &sig, &data)
            .map_err(|e| AppError::browser_js(&e))?;
        checks.push(&check);
    }
    let answers = call(Ok(js_sys::Promise::all(&checks))).await?;
    let answers: js_sys::Array = answers
        .dyn_into()
        .map_err(|_| AppError::browser("Promise.all gave no array"))?;
    Ok(answers
        .iter()
        .map(|ok| ok.as_bool().unwrap_or(false))
        .collect())
}
