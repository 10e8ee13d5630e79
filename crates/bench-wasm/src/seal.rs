//! Sealing one artifact of one large content (the 50 MB): built, ES256-signed and sealed
//! to the recipient entirely in Rust ([`SealBench::seal`]), or with the bulk AES-256-GCM left to
//! WebCrypto ([`SealBench::begin_external`], `veil_seal::external`).

use veil_seal::fixtures::Demo;
use veil_seal::{
    ArtifactBuilder, ExternalSealKeys, SealError, SealedEnvelope, SignedArtifact,
    begin_external_seal, envelope_prefix, open, seal_artifact,
};
use wasm_bindgen::JsError;
use wasm_bindgen::prelude::wasm_bindgen;

use crate::js_error;
use veil_core::Coded;

/// The content's name in the artifact.
pub use veil_seal::fixtures::CONTENT_NAME;

/// `len` pseudo-random bytes: nothing compresses or short-cuts.
pub fn content(len: usize) -> Vec<u8> {
    veil_seal::fixtures::pseudo_random(len)
}

/// Fixed keys (derived, not random: the benchmark measures sealing, not key generation).
#[derive(Debug)]
pub struct SealCase {
    demo: Demo,
}

impl SealCase {
    /// The recipient, client and pseudonym keys.
    pub fn new() -> Result<Self, SealError> {
        Ok(SealCase { demo: Demo::new()? })
    }

    fn builder(
        &self,
        content: Vec<u8>,
        sha256: Option<[u8; 32]>,
    ) -> Result<ArtifactBuilder, SealError> {
        let mut b = self.demo.builder(0);
        match sha256 {
            Some(h) => b.add_file_with_sha256(CONTENT_NAME, content, h)?,
            None => b.add_file(CONTENT_NAME, content)?,
        }
        Ok(b)
    }

    /// Build, sign and seal in Rust: the whole client-side step.
    pub fn seal(&self, content: Vec<u8>) -> Result<SealedEnvelope, SealError> {
        let signed = self.builder(content, None)?.sign(&self.demo.client)?;
        seal_artifact(signed, self.demo.recipient.public_key())
    }

    /// Build and sign in Rust (with the content's SHA-256 if the caller has it), then encapsulate
    /// and derive the AES-256-GCM key and nonce for an external AEAD.
    pub fn begin_external(
        &self,
        content: Vec<u8>,
        sha256: Option<[u8; 32]>,
    ) -> Result<(SignedArtifact, ExternalSealKeys), SealError> {
        let signed = self.builder(content, sha256)?.sign(&self.demo.client)?;
        let keys = begin_external_seal(self.demo.recipient.public_key())?;
        Ok((signed, keys))
    }

    /// Open an envelope as the recipient and check the client's signature and the content hash;
    /// the content's length.
    pub fn open(&self, envelope: &[u8]) -> Result<usize, SealError> {
        let opened = open(
            envelope,
            &self.demo.recipient,
            Some(self.demo.client.verifying_key()),
        )?;
        opened
            .artifact
            .files
            .get(CONTENT_NAME)
            .map(Vec::len)
            .ok_or_else(|| SealError::BadEnvelope("the content is missing".into()))
    }
}

fn coded(e: SealError) -> JsError {
    js_error(format!("{}: {e}", e.code()))
}

/// The seal fixture, for the bench page.
#[wasm_bindgen]
#[derive(Debug)]
pub struct SealBench {
    case: SealCase,
}

#[wasm_bindgen]
impl SealBench {
    /// Derive the fixed keys.
    #[wasm_bindgen(constructor)]
    pub fn new() -> Result<SealBench, JsError> {
        Ok(SealBench {
            case: SealCase::new().map_err(coded)?,
        })
    }

    /// Everything in wasm: copy the content in, build, sign, seal, hand the envelope back.
    pub fn seal(&self, content: Vec<u8>) -> Result<Vec<u8>, JsError> {
        Ok(self.case.seal(content).map_err(coded)?.into_bytes())
    }

    /// The external-AEAD path's wasm part: build and sign (with the content's SHA-256 from
    /// `crypto.subtle.digest` if given), encapsulate, derive the AES key and nonce.
    pub fn begin_external(
        &self,
        content: Vec<u8>,
        sha256: Option<Vec<u8>>,
    ) -> Result<ExternalJob, JsError> {
        let sha256 = match sha256 {
            Some(v) => Some(<[u8; 32]>::try_from(v.as_slice()).map_err(js_error)?),
            None => None,
        };
        let (signed, keys) = self.case.begin_external(content, sha256).map_err(coded)?;
        Ok(ExternalJob {
            plaintext: Some(signed.into_bytes()),
            keys,
        })
    }

    /// Open an envelope made on the page (outside the timings): proves it is a valid `VEIL-1`
    /// envelope of the signed content. Returns the content's length.
    pub fn open(&self, envelope: &[u8]) -> Result<usize, JsError> {
        self.case.open(envelope).map_err(coded)
    }
}

/// A signed artifact and its one-message AES-256-GCM key, waiting for WebCrypto.
#[wasm_bindgen]
#[derive(Debug)]
pub struct ExternalJob {
    plaintext: Option<Vec<u8>>,
    keys: ExternalSealKeys,
}

#[wasm_bindgen]
impl ExternalJob {
    /// The signed artifact (the AEAD plaintext), moved out to the page (once).
    pub fn take_plaintext(&mut self) -> Result<Vec<u8>, JsError> {
        self.plaintext
            .take()
            .ok_or_else(|| JsError::new("the plaintext was already taken"))
    }

    /// The AES-256-GCM key (`importKey("raw", key, "AES-GCM", ...)`).
    pub fn key(&self) -> Vec<u8> {
        self.keys.key.to_vec()
    }

    /// The nonce (`iv`).
    pub fn nonce(&self) -> Vec<u8> {
        self.keys.nonce.to_vec()
    }

    /// The additional data: the recipient's key id.
    pub fn aad(&self) -> Vec<u8> {
        self.keys.kid.0.to_vec()
    }

    /// The envelope bytes in front of a ciphertext of `ciphertext_len` bytes.
    pub fn prefix(&self, ciphertext_len: usize) -> Result<Vec<u8>, JsError> {
        envelope_prefix(&self.keys.enc, &self.keys.kid, ciphertext_len).map_err(coded)
    }
}
