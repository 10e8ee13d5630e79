//! The host's WebCrypto (`globalThis.crypto.subtle`: every browser, Node >= 20, Deno, Bun) for the
//! primitives that are slow in wasm: ECDSA P-256 verification, SHA-256 and AES-256-GCM.
//!
//! Why: wasm has no AES, SHA or wide-multiply instructions, so P-256 arithmetic and AES-GCM
//! compiled to wasm run 15-25x slower than the host's native code (`docs/benchmarks.md`). The app
//! already runs its readings and seals through WebCrypto (`app/src/platform/webcrypto.rs`); this
//! gives `verifyReading` and `sealArtifact` the same paths. Only the primitives move: every
//! decision (what is hashed, signed, checked, and in which order) stays in the core crates, so the
//! results are the same with or without WebCrypto (tested both ways in `tests/node/`).
//!
//! Fallback: when `crypto.subtle` is absent (an insecure-context page, an old runtime, a host that
//! hides it) or one of its calls fails, the caller uses the pure-Rust path instead. A host can
//! replace `crypto.subtle` and so lie about a signature or a digest; such a script can equally
//! replace this module's exports, so WebCrypto adds no trust boundary the page did not have.

use std::cell::RefCell;

use js_sys::{Array, ArrayBuffer, Function, Object, Promise, Reflect, Uint8Array};
use wasm_bindgen::{JsCast, JsValue};
use wasm_bindgen_futures::JsFuture;

/// Device keys imported for verification, most recent last (a portal pairs few devices).
const KEY_CACHE: usize = 16;

thread_local! {
    /// `(uncompressed SEC1 point, CryptoKey)` of recently used device keys: importing costs about
    /// a sixth of a verification.
    static VERIFY_KEYS: RefCell<Vec<(Vec<u8>, JsValue)>> = const { RefCell::new(Vec::new()) };
}

/// `globalThis.crypto.subtle`, when the host has it.
pub struct Subtle {
    subtle: Object,
}

/// A plain object `{name, ...extra}` (a WebCrypto algorithm).
fn algorithm(name: &str, extra: &[(&str, &JsValue)]) -> Object {
    let o = Object::new();
    // Fresh plain objects: Reflect.set cannot fail on them.
    let _ = Reflect::set(&o, &"name".into(), &name.into());
    for (k, v) in extra {
        let _ = Reflect::set(&o, &(*k).into(), v);
    }
    o
}

impl Subtle {
    /// The host's `crypto.subtle`, if it is an object with the four methods used here.
    pub fn get() -> Option<Subtle> {
        let crypto = Reflect::get(&js_sys::global(), &"crypto".into()).ok()?;
        if !crypto.is_object() {
            return None;
        }
        let subtle = Reflect::get(&crypto, &"subtle".into()).ok()?;
        let has = |name: &str| {
            Reflect::get(&subtle, &name.into()).is_ok_and(|f| f.is_instance_of::<Function>())
        };
        if !subtle.is_object()
            || !["digest", "importKey", "verify", "encrypt"]
                .iter()
                .all(|m| has(m))
        {
            return None;
        }
        Some(Subtle {
            subtle: subtle.unchecked_into(),
        })
    }

    /// Call `subtle[method](...args)`: its promise (a synchronous throw is an `Err`).
    fn call(&self, method: &str, args: &[&JsValue]) -> Result<Promise, JsValue> {
        let f: Function = Reflect::get(&self.subtle, &method.into())?.dyn_into()?;
        let list: Array = args.iter().copied().collect();
        Reflect::apply(&f, &self.subtle, &list)?.dyn_into::<Promise>()
    }

    /// Start `SHA-256(data)`. WebCrypto copies `data` before this returns (WebCrypto §14.3.2,
    /// "get a copy of the bytes held by the data parameter"), so the caller may change it after.
    /// The future listens to the promise from the start: one awaited late (after other awaits, or
    /// never, when the caller fails first) is never an unhandled rejection.
    pub fn start_sha256(&self, data: &JsValue) -> Result<JsFuture, JsValue> {
        self.call("digest", &[&"SHA-256".into(), data])
            .map(JsFuture::from)
    }

    /// `SHA-256(data)` now, or `None` when WebCrypto could not make it (the caller hashes in Rust).
    pub async fn sha256(&self, data: &JsValue) -> Option<[u8; 32]> {
        Self::sha256_of(self.start_sha256(data).ok()?).await.ok()
    }

    /// The digest a [`Self::start_sha256`] future resolves to.
    pub async fn sha256_of(started: JsFuture) -> Result<[u8; 32], JsValue> {
        let buf = started.await?;
        let buf: ArrayBuffer = buf.dyn_into()?;
        let bytes = Uint8Array::new(&buf).to_vec();
        bytes
            .try_into()
            .map_err(|_| JsValue::from_str("digest is not 32 bytes"))
    }

    /// ECDSA P-256 / SHA-256 verification of `signature` (`r || s`, as COSE and WebCrypto both
    /// encode it) over `message` by `public_sec1` (the uncompressed point). `Err` when WebCrypto
    /// could not answer (the caller then verifies in Rust); a wrong signature is `Ok(false)`.
    pub async fn verify_p256(
        &self,
        public_sec1: &[u8],
        signature: &[u8],
        message: &[u8],
    ) -> Result<bool, JsValue> {
        let key = self.verify_key(public_sec1).await?;
        let params = algorithm("ECDSA", &[("hash", &"SHA-256".into())]);
        let ok = JsFuture::from(self.call(
            "verify",
            &[
                &params,
                &key,
                &Uint8Array::from(signature),
                &Uint8Array::from(message),
            ],
        )?)
        .await?;
        ok.as_bool()
            .ok_or_else(|| JsValue::from_str("verify did not answer a boolean"))
    }

    /// The device key as a `CryptoKey` for `verify`, imported once per key ([`KEY_CACHE`]).
    async fn verify_key(&self, public_sec1: &[u8]) -> Result<JsValue, JsValue> {
        let cached = VERIFY_KEYS.with(|c| {
            c.borrow()
                .iter()
                .find(|(k, _)| k == public_sec1)
                .map(|(_, key)| key.clone())
        });
        if let Some(key) = cached {
            return Ok(key);
        }
        let params = algorithm("ECDSA", &[("namedCurve", &"P-256".into())]);
        let usages = Array::of1(&"verify".into());
        let key = JsFuture::from(self.call(
            "importKey",
            &[
                &"raw".into(),
                &Uint8Array::from(public_sec1),
                &params,
                &false.into(),
                &usages,
            ],
        )?)
        .await?;
        VERIFY_KEYS.with(|c| {
            let mut c = c.borrow_mut();
            if c.len() >= KEY_CACHE {
                c.remove(0);
            }
            c.push((public_sec1.to_vec(), key.clone()));
        });
        Ok(key)
    }

    /// AES-256-GCM encryption of `plaintext` (`ciphertext || tag`): the browser's or Node's
    /// hardware AES. The key is imported non-extractable for this one message.
    pub async fn aes_256_gcm_encrypt(
        &self,
        key: &[u8],
        nonce: &[u8],
        aad: &[u8],
        plaintext: &JsValue,
    ) -> Result<Uint8Array, JsValue> {
        let usages = Array::of1(&"encrypt".into());
        let imported = JsFuture::from(self.call(
            "importKey",
            &[
                &"raw".into(),
                &Uint8Array::from(key),
                &algorithm("AES-GCM", &[]),
                &false.into(),
                &usages,
            ],
        )?)
        .await?;
        let params = algorithm(
            "AES-GCM",
            &[
                ("iv", &Uint8Array::from(nonce)),
                ("additionalData", &Uint8Array::from(aad)),
            ],
        );
        let out = JsFuture::from(self.call("encrypt", &[&params, &imported, plaintext])?).await?;
        let out: ArrayBuffer = out.dyn_into()?;
        Ok(Uint8Array::new(&out))
    }
}
