//! Verification of one signed reading with the device chain cached: pure-Rust P-256
//! ([`TrustBench::verify`]) or split around WebCrypto ([`TrustBench::begin`] ->
//! `crypto.subtle.verify` -> [`PendingBench::finish`]), as `veil_trust::Verifier::begin` documents.

use veil_trust::fixtures::demo_device;
use veil_trust::{PendingReading, Rejection, Verifier};
use wasm_bindgen::JsError;
use wasm_bindgen::prelude::wasm_bindgen;

use crate::js_error;
use veil_core::Coded;

/// The verification time (Unix seconds); the reading is signed at this instant.
pub const NOW: u64 = 1_790_000_000;
/// The counter the reading carries; the verifier is told the last one seen was one less.
pub const COUNTER: u64 = 51;

/// A provisioned device (root -> intermediate -> device), one reading it signed, and a verifier
/// that has already validated (cached) the chain.
#[derive(Debug)]
pub struct TrustCase {
    /// The verifier, its chain cache warm.
    pub verifier: Verifier,
    /// The tagged COSE_Sign1 reading.
    pub cose: Vec<u8>,
    /// The device chain, DER, device first.
    pub chain: Vec<Vec<u8>>,
    /// The challenge the reading answers.
    pub nonce: [u8; 32],
}

impl TrustCase {
    /// Provision a development manufacturer and device, sign a blood-pressure reading, and verify
    /// it once (which validates and caches the chain).
    pub fn new() -> Result<Self, String> {
        let (maker, device) = demo_device(NOW).map_err(|e| e.to_string())?;
        let nonce = [7u8; 32];
        let cose = device
            .reading("bp:120/80/93,pulse=70", COUNTER, &nonce)
            .map_err(|e| e.to_string())?;
        let case = TrustCase {
            verifier: Verifier::new(maker.store),
            cose,
            chain: device.chain,
            nonce,
        };
        case.verify().map_err(|e| format!("{}: {e}", e.code()))?;
        Ok(case)
    }

    /// `Verifier::verify` of the reading (chain cached); the verified counter.
    pub fn verify(&self) -> Result<u64, Rejection> {
        self.verifier
            .verify(
                &self.cose,
                &self.chain,
                Some(&self.nonce),
                Some(COUNTER - 1),
                NOW,
            )
            .map(|r| r.counter)
    }

    /// `Verifier::begin` of the reading: everything but the signature.
    pub fn begin(&self) -> Result<PendingReading, Rejection> {
        self.verifier.begin(&self.cose, &self.chain, NOW)
    }
}

/// The trust fixture, for the bench page.
#[wasm_bindgen]
#[derive(Debug)]
pub struct TrustBench {
    case: TrustCase,
}

#[wasm_bindgen]
impl TrustBench {
    /// Provision a device and sign a reading in the page (keys from WebCrypto's RNG).
    #[wasm_bindgen(constructor)]
    pub fn new() -> Result<TrustBench, JsError> {
        Ok(TrustBench {
            case: TrustCase::new().map_err(js_error)?,
        })
    }

    /// (a) Pure-Rust verification of the reading; returns its counter.
    pub fn verify(&self) -> Result<u32, JsError> {
        let counter = self
            .case
            .verify()
            .map_err(|e| js_error(format!("{}: {e}", e.code())))?;
        u32::try_from(counter).map_err(js_error)
    }

    /// First half of (b): decode, cached chain, validity and revocation; no signature check.
    pub fn begin(&self) -> Result<PendingBench, JsError> {
        let pending = self
            .case
            .begin()
            .map_err(|e| js_error(format!("{}: {e}", e.code())))?;
        Ok(PendingBench {
            pending,
            nonce: self.case.nonce,
        })
    }
}

/// A reading whose signature the page checks with WebCrypto.
#[wasm_bindgen]
#[derive(Debug)]
pub struct PendingBench {
    pending: PendingReading,
    nonce: [u8; 32],
}

#[wasm_bindgen]
impl PendingBench {
    /// The COSE `Sig_structure` the device signed.
    pub fn signed_data(&self) -> Vec<u8> {
        self.pending.signed_data().to_vec()
    }

    /// The signature, `r || s` (WebCrypto's ECDSA format).
    pub fn signature(&self) -> Vec<u8> {
        self.pending.signature().to_vec()
    }

    /// The device key as an uncompressed SEC1 point (`importKey("raw", ...)`).
    pub fn device_public_key(&self) -> Vec<u8> {
        self.pending.device_public_key()
    }

    /// Second half of (b), given WebCrypto's answer; returns the verified counter.
    pub fn finish(self, signature_valid: bool) -> Result<u32, JsError> {
        let reading = self
            .pending
            .finish(signature_valid, Some(&self.nonce), Some(COUNTER - 1))
            .map_err(|e| js_error(format!("{}: {e}", e.code())))?;
        u32::try_from(reading.counter).map_err(js_error)
    }
}
