//! The signed artifact: `{"manifest": {...}, "files": {name: bytes}}` as CBOR, signed by the
//! client's P-256 key as a tagged COSE_Sign1 (RFC 9052 §4.2) with ES256 (RFC 9053 §2.1).
//!
//! Signing has two phases so that a key the app cannot read (a non-extractable WebCrypto key)
//! can sign: [`ArtifactBuilder::prepare`] gives the exact `Sig_structure` bytes
//! ([`UnsignedArtifact::to_be_signed`]), `crypto.subtle.sign({name: "ECDSA", hash: "SHA-256"}, ...)`
//! returns the 64-byte `r || s` that COSE wants, and [`UnsignedArtifact::finish`] assembles it.
//! [`UnsignedArtifact::sign`] does both with a `p256` key in one step, hashing the (possibly
//! 50 MB) `Sig_structure` as a stream rather than copying it.

use std::collections::BTreeMap;

use ciborium::Value;
use coset::{CborSerializable, iana};
use p256::ecdsa::signature::DigestVerifier;
use p256::ecdsa::signature::hazmat::{PrehashSigner, PrehashVerifier};
use p256::ecdsa::{Signature, SigningKey, VerifyingKey};
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

use crate::SealError;
use crate::cose::{COSE_SIGN1_TAG, read_sign1, sig_structure_digest};
use crate::keys::sec1_uncompressed;
use crate::manifest::{
    ConsentDecision, ConsentRef, ContentEntry, DeviceEvidence, Fields, MANIFEST_VERSION,
    MAX_CBOR_DEPTH, Manifest, UnverifiedReading, bad, validate_name,
};
use crate::names::{Namer, Role};
use crate::pseudonym::Pseudonym;
use crate::wire::{TAG_LEN, envelope_prefix_len};
use veil_core::cbor::{self, BSTR, TSTR};
use veil_core::cose::{sig_structure, sig_structure_prefix};

/// A content waiting to be laid out: its bytes and, if the caller supplied it, its SHA-256.
type PendingFile = (Vec<u8>, Option<[u8; 32]>);

/// Builds an artifact: manifest fields, contents, evidence; then signs it.
#[derive(Debug, Clone)]
pub struct ArtifactBuilder {
    pseudonym: Pseudonym,
    purpose: String,
    recipient: String,
    consent: ConsentRef,
    created_ms: u64,
    /// Contents, with their SHA-256 when the caller supplied it.
    files: BTreeMap<String, PendingFile>,
    device_evidence: Vec<DeviceEvidence>,
    unverified_readings: Vec<UnverifiedReading>,
    deid_report: Option<serde_json::Value>,
    namer: Namer,
}

impl ArtifactBuilder {
    /// Start an artifact for `recipient_id` and `purpose` about the subject behind `pseudonym`.
    pub fn new(
        pseudonym: Pseudonym,
        purpose: &str,
        recipient_id: &str,
        consent: ConsentRef,
        created_ms: u64,
    ) -> Self {
        Self {
            pseudonym,
            purpose: purpose.to_owned(),
            recipient: recipient_id.to_owned(),
            consent,
            created_ms,
            files: BTreeMap::new(),
            device_evidence: Vec::new(),
            unverified_readings: Vec::new(),
            deid_report: None,
            namer: Namer::default(),
        }
    }

    /// Add a content (e.g. the de-identified model, a reading's JSON). Names are single path
    /// components ([`validate_name`]) and unique.
    pub fn add_file(&mut self, name: &str, bytes: Vec<u8>) -> Result<(), SealError> {
        validate_name(name)?;
        if self.files.contains_key(name) {
            return Err(SealError::DuplicateName(name.to_owned()));
        }
        self.files.insert(name.to_owned(), (bytes, None));
        Ok(())
    }

    /// Add a content under its neutral name ([`crate::names`]): the role is told from `hint` (a
    /// local file name, of which only the extension is used) and the bytes. Returns the name.
    pub fn add_content(&mut self, hint: &str, bytes: Vec<u8>) -> Result<String, SealError> {
        let role = Role::of(hint, &bytes);
        self.add_content_as(&role, bytes)
    }

    /// Add a content of a role the caller decided (e.g. a model it parsed), under its neutral
    /// name. Returns the name.
    pub fn add_content_as(&mut self, role: &Role, bytes: Vec<u8>) -> Result<String, SealError> {
        let name = self.namer.name(role);
        self.add_file(&name, bytes)?;
        Ok(name)
    }

    /// [`Self::add_file`] with its SHA-256 computed by the caller (e.g. `crypto.subtle.digest`,
    /// which is native code in a browser while SHA-256 in wasm is software). The digest is taken as
    /// given: a wrong one makes the recipient reject the artifact with `hash-mismatch`.
    pub fn add_file_with_sha256(
        &mut self,
        name: &str,
        bytes: Vec<u8>,
        sha256: [u8; 32],
    ) -> Result<(), SealError> {
        self.add_file(name, bytes)?;
        if let Some(entry) = self.files.get_mut(name) {
            entry.1 = Some(sha256);
        }
        Ok(())
    }

    /// Add device evidence (an original COSE reading and its chain).
    pub fn add_device_evidence(&mut self, evidence: DeviceEvidence) {
        self.device_evidence.push(evidence);
    }

    /// Add a reading nothing proves (a standard device's, an imported one). It goes into the
    /// manifest's `unverified_readings`, never among the device evidence; its ranges are checked
    /// by [`Self::prepare`] (`bad-manifest`).
    pub fn add_unverified_reading(&mut self, reading: UnverifiedReading) {
        self.unverified_readings.push(reading);
    }

    /// Attach the mesh de-identification report.
    pub fn set_deid_report(&mut self, report: serde_json::Value) {
        self.deid_report = Some(report);
    }

    /// Compute the manifest and the exact bytes the client key must sign.
    ///
    /// The whole artifact is laid out in one buffer sized up front, with room in front for the
    /// envelope header, so that [`crate::seal_artifact`] encrypts it in place. Each content is
    /// copied once; its SHA-256 and the `Sig_structure` hash are fed from the same cache-hot chunk
    /// (the payload puts `"files"` before `"manifest"`, so the signature hash can run ahead of the
    /// manifest, whose length does not depend on the hash values).
    ///
    /// A seal rests on a grant: a consent decision other than `allow` is refused with
    /// [`SealError::ConsentNotGranted`] before anything is laid out.
    pub fn prepare(self, client_key: &VerifyingKey) -> Result<UnsignedArtifact, SealError> {
        self.lay_out(client_key, true)
    }

    /// [`Self::prepare`] without hashing the `Sig_structure` while the payload is laid out, for a
    /// caller that hashes it faster elsewhere ([`UnsignedArtifact::sig_structure_parts`], e.g.
    /// `crypto.subtle.digest` in a browser, native code where SHA-256 in wasm is software) and
    /// then signs with [`UnsignedArtifact::sign_prehashed`] or [`UnsignedArtifact::finish_prehashed`].
    /// [`UnsignedArtifact::sign`] and [`UnsignedArtifact::finish`] still work: they hash it then.
    pub fn prepare_unhashed(
        self,
        client_key: &VerifyingKey,
    ) -> Result<UnsignedArtifact, SealError> {
        self.lay_out(client_key, false)
    }

    fn lay_out(self, client_key: &VerifyingKey, hash: bool) -> Result<UnsignedArtifact, SealError> {
        if self.consent.decision != ConsentDecision::Allow {
            return Err(SealError::ConsentNotGranted(self.consent.decision));
        }
        let client_key = sec1_uncompressed(client_key);
        let mut manifest = Manifest {
            version: MANIFEST_VERSION,
            pseudonym: self.pseudonym,
            purpose: self.purpose,
            consent: self.consent,
            recipient: self.recipient,
            created_ms: self.created_ms,
            client_key,
            contents: self
                .files
                .iter()
                .map(|(name, (bytes, _))| ContentEntry {
                    name: name.clone(),
                    size: bytes.len() as u64,
                    sha256: [0; 32],
                })
                .collect(),
            device_evidence: self.device_evidence,
            unverified_readings: self.unverified_readings,
            deid_report: self.deid_report,
        };
        manifest.validate()?;
        let manifest_len = manifest.encode()?.len();
        let protected = coset::HeaderBuilder::new()
            .algorithm(iana::Algorithm::ES256)
            .key_id(manifest.client_kid().0.to_vec())
            .build()
            .to_vec()
            .map_err(|e| SealError::EncodeFailed(e.to_string()))?;

        // Files in RFC 8949 §4.2.1 key order: shorter names first, then bytewise.
        let mut files: Vec<(String, PendingFile)> = self.files.into_iter().collect();
        files.sort_by(|a, b| a.0.len().cmp(&b.0.len()).then_with(|| a.0.cmp(&b.0)));

        // payload = {"files": {name: bytes, ...}, "manifest": {...}}
        let files_len: usize = files
            .iter()
            .map(|(n, (d, _))| {
                cbor::head_len(n.len() as u64) + n.len() + cbor::head_len(d.len() as u64) + d.len()
            })
            .sum();
        let payload_len = 1 + 6 + cbor::head_len(files.len() as u64) + files_len + 9 + manifest_len;
        // COSE_Sign1: tag, array head, protected bstr, {}, payload bstr, signature bstr (2 + 64).
        let cose_len = 2
            + cbor::head_len(protected.len() as u64)
            + protected.len()
            + 1
            + cbor::head_len(payload_len as u64)
            + payload_len
            + 66;
        let headroom = envelope_prefix_len(cose_len + TAG_LEN);
        let mut buf = Vec::with_capacity(headroom + cose_len + TAG_LEN);
        buf.resize(headroom, 0);

        cbor::put_head(&mut buf, cbor::TAG, COSE_SIGN1_TAG);
        buf.push(0x84);
        cbor::put_head(&mut buf, BSTR, protected.len() as u64);
        buf.extend_from_slice(&protected);
        buf.push(0xa0);
        cbor::put_head(&mut buf, BSTR, payload_len as u64);
        let payload_start = buf.len();

        // The Sig_structure (RFC 9052 §4.4) is hashed as the payload is laid out (unless the
        // caller hashes it elsewhere).
        let mut tbs = hash.then(Sha256::new);
        if let Some(tbs) = tbs.as_mut() {
            tbs.update(sig_structure_prefix(&protected, payload_len));
        }

        // `hashed_to`: how much of the payload has gone into the Sig_structure hash so far.
        let mut hashed_to = payload_start;
        buf.push(0xa2);
        cbor::put_head(&mut buf, TSTR, 5);
        buf.extend_from_slice(b"files");
        cbor::put_head(&mut buf, cbor::MAP, files.len() as u64);
        let mut hashes = BTreeMap::new();
        for (name, (data, given)) in files {
            cbor::put_head(&mut buf, TSTR, name.len() as u64);
            buf.extend_from_slice(name.as_bytes());
            cbor::put_head(&mut buf, BSTR, data.len() as u64);
            let mut file_hash = given.is_none().then(Sha256::new);
            for chunk in data.chunks(64 * 1024) {
                buf.extend_from_slice(chunk);
                if let Some(h) = file_hash.as_mut() {
                    h.update(chunk);
                }
                if let Some(tbs) = tbs.as_mut() {
                    tbs.update(&buf[hashed_to..]);
                }
                hashed_to = buf.len();
            }
            let digest = match (given, file_hash) {
                (Some(d), _) => d,
                (None, Some(h)) => h.finalize().into(),
                (None, None) => [0; 32],
            };
            hashes.insert(name, digest);
        }
        for c in &mut manifest.contents {
            c.sha256 = hashes.get(&c.name).copied().unwrap_or_default();
        }
        let manifest_bytes = manifest.encode()?;
        if manifest_bytes.len() != manifest_len {
            return Err(SealError::EncodeFailed(
                "manifest length changed with its hashes".into(),
            ));
        }
        cbor::put_head(&mut buf, TSTR, 8);
        buf.extend_from_slice(b"manifest");
        buf.extend_from_slice(&manifest_bytes);
        if let Some(tbs) = tbs.as_mut() {
            tbs.update(&buf[hashed_to..]);
        }
        if buf.len() - payload_start != payload_len {
            return Err(SealError::EncodeFailed("payload length mismatch".into()));
        }
        Ok(UnsignedArtifact {
            manifest,
            buf,
            headroom,
            protected,
            payload_start,
            tbs,
        })
    }

    /// [`Self::prepare`] and [`UnsignedArtifact::sign`] in one step.
    pub fn sign(self, key: &SigningKey) -> Result<SignedArtifact, SealError> {
        self.prepare(key.verifying_key())?.sign(key)
    }
}

/// An artifact whose manifest and payload are fixed, waiting for the client's signature.
#[derive(Debug, Clone)]
pub struct UnsignedArtifact {
    manifest: Manifest,
    /// `headroom` spare bytes (for the envelope header), then the COSE_Sign1 without its signature.
    buf: Vec<u8>,
    headroom: usize,
    protected: Vec<u8>,
    payload_start: usize,
    /// SHA-256 state over the whole `Sig_structure` (`None` from
    /// [`ArtifactBuilder::prepare_unhashed`]).
    tbs: Option<Sha256>,
}

impl UnsignedArtifact {
    /// The manifest that will be signed.
    pub fn manifest(&self) -> &Manifest {
        &self.manifest
    }

    fn payload(&self) -> &[u8] {
        self.buf.get(self.payload_start..).unwrap_or_default()
    }

    /// The COSE `Sig_structure` bytes (RFC 9052 §4.4): what an ES256 signer (e.g. WebCrypto
    /// ECDSA P-256 with SHA-256) signs.
    pub fn to_be_signed(&self) -> Vec<u8> {
        sig_structure(&self.protected, self.payload())
    }

    /// The `Sig_structure` in two parts, its CBOR head and then the payload, without copying the
    /// payload: [`Self::to_be_signed`] is their concatenation.
    pub fn sig_structure_parts(&self) -> (Vec<u8>, &[u8]) {
        let payload = self.payload();
        (
            sig_structure_prefix(&self.protected, payload.len()),
            payload,
        )
    }

    /// SHA-256 of the `Sig_structure`: hashed while laying out, or now.
    fn digest(&self) -> [u8; 32] {
        match &self.tbs {
            Some(tbs) => tbs.clone().finalize().into(),
            None => sig_structure_digest(&self.protected, self.payload())
                .finalize()
                .into(),
        }
    }

    /// Sign with a `p256` key (RFC 6979 nonces), over the `Sig_structure` hash computed while
    /// laying the payload out, or computed now after [`ArtifactBuilder::prepare_unhashed`].
    pub fn sign(self, key: &SigningKey) -> Result<SignedArtifact, SealError> {
        let digest = self.digest();
        self.sign_digest(key, &digest)
    }

    /// Hazmat: [`Self::sign`] with the `Sig_structure`'s SHA-256 computed by the caller over
    /// [`Self::sig_structure_parts`] (the same signature, RFC 6979 being deterministic). The key
    /// signs the digest it is given: after [`ArtifactBuilder::prepare`] it is compared with the
    /// hash made while laying out (a mismatch is [`SealError::SealFailed`]); after
    /// [`ArtifactBuilder::prepare_unhashed`] nothing here can check it, and a wrong digest gives
    /// a signature the recipient's [`verify_signed_artifact`] refuses.
    pub fn sign_prehashed(
        self,
        key: &SigningKey,
        sha256: &[u8; 32],
    ) -> Result<SignedArtifact, SealError> {
        self.check_digest(sha256)?;
        self.sign_digest(key, sha256)
    }

    /// A caller's digest against the hash made while laying out, when there is one.
    fn check_digest(&self, sha256: &[u8; 32]) -> Result<(), SealError> {
        match &self.tbs {
            Some(tbs) if !bool::from(tbs.clone().finalize().ct_eq(sha256)) => Err(
                SealError::SealFailed("the given digest is not the Sig_structure's".into()),
            ),
            _ => Ok(()),
        }
    }

    fn sign_digest(self, key: &SigningKey, sha256: &[u8; 32]) -> Result<SignedArtifact, SealError> {
        if sec1_uncompressed(key.verifying_key()) != self.manifest.client_key {
            return Err(SealError::ClientKeyMismatch);
        }
        let sig: Signature = key
            .sign_prehash(sha256)
            .map_err(|e| SealError::SealFailed(format!("signing: {e}")))?;
        // Signed by the manifest's own key over the digest given: verifying it here would only
        // check that digest against itself.
        Ok(self.assemble(&sig))
    }

    /// Attach a 64-byte `r || s` ES256 signature made elsewhere (e.g. by WebCrypto). It is
    /// verified against the manifest's client key before it is accepted.
    pub fn finish(self, signature: &[u8]) -> Result<SignedArtifact, SealError> {
        let digest = self.digest();
        self.finish_digest(signature, &digest)
    }

    /// Hazmat: [`Self::finish`] with the `Sig_structure`'s SHA-256 computed by the caller over
    /// [`Self::sig_structure_parts`]. The signature is checked against that digest, so the check
    /// is as good as the digest: compared as in [`Self::sign_prehashed`] after
    /// [`ArtifactBuilder::prepare`]; after [`ArtifactBuilder::prepare_unhashed`], a signature over
    /// a wrong digest passes here and is refused by the recipient.
    pub fn finish_prehashed(
        self,
        signature: &[u8],
        sha256: &[u8; 32],
    ) -> Result<SignedArtifact, SealError> {
        self.check_digest(sha256)?;
        self.finish_digest(signature, sha256)
    }

    fn finish_digest(
        self,
        signature: &[u8],
        sha256: &[u8; 32],
    ) -> Result<SignedArtifact, SealError> {
        let sig = Signature::from_slice(signature).map_err(|_| SealError::BadSignature)?;
        let vk = VerifyingKey::from_sec1_bytes(&self.manifest.client_key)
            .map_err(|e| SealError::BadKey(e.to_string()))?;
        vk.verify_prehash(sha256, &sig)
            .map_err(|_| SealError::BadSignature)?;
        Ok(self.assemble(&sig))
    }

    fn assemble(mut self, sig: &Signature) -> SignedArtifact {
        cbor::put_head(&mut self.buf, BSTR, 64);
        self.buf.extend_from_slice(&sig.to_bytes());
        SignedArtifact {
            buf: self.buf,
            start: self.headroom,
            manifest: self.manifest,
        }
    }
}

/// A signed artifact: the tagged COSE_Sign1 bytes and the manifest they carry.
#[derive(Debug, Clone)]
pub struct SignedArtifact {
    /// `start` spare bytes for the envelope header, then the COSE_Sign1.
    buf: Vec<u8>,
    start: usize,
    manifest: Manifest,
}

impl SignedArtifact {
    /// The COSE_Sign1 bytes (the HPKE plaintext).
    pub fn as_bytes(&self) -> &[u8] {
        self.buf.get(self.start..).unwrap_or_default()
    }

    /// Take the COSE_Sign1 bytes (moves them to the front of the buffer; [`crate::seal_artifact`]
    /// avoids that by encrypting in place).
    pub fn into_bytes(mut self) -> Vec<u8> {
        self.buf.drain(..self.start.min(self.buf.len()));
        self.buf
    }

    /// The signed manifest.
    pub fn manifest(&self) -> &Manifest {
        &self.manifest
    }

    /// The buffer with headroom, for in-place sealing.
    pub(crate) fn into_parts(self) -> (Vec<u8>, usize, Manifest) {
        (self.buf, self.start, self.manifest)
    }
}

/// An artifact whose signature and content hashes have been verified.
#[derive(Debug, Clone)]
pub struct VerifiedArtifact {
    /// The verified manifest.
    pub manifest: Manifest,
    /// The contents by name, each matching its manifest entry.
    pub files: BTreeMap<String, Vec<u8>>,
    /// The client key that signed it (from the manifest, or the pinned key it equals).
    pub client_key: VerifyingKey,
}

/// Verify a signed artifact (tagged or untagged COSE_Sign1): the structure, the ES256 signature,
/// then every content's size and SHA-256 against the manifest, and that no content is missing or
/// unlisted.
///
/// With `pinned_client` (a recipient that knows which client to expect, e.g. the enrolled key
/// under [`crate::signer_kid`]), the signature is checked with that key over the `Sig_structure`
/// **before** the payload is decoded: bytes the pinned client did not sign cost one hash and one
/// ECDSA verification, never a CBOR decode, whatever they hold ([`SealError::BadSignature`]).
/// The payload is then decoded (depth-limited) and the manifest's `client_key` must be the pinned
/// key ([`SealError::ClientKeyMismatch`]). Without a pinned key, the verification key is the
/// manifest's `client_key`, so the payload is decoded first.
pub fn verify_signed_artifact(
    bytes: &[u8],
    pinned_client: Option<&VerifyingKey>,
) -> Result<VerifiedArtifact, SealError> {
    let sign1 = read_sign1(bytes)?;
    let header = &sign1.header;
    if header.alg != Some(coset::Algorithm::Assigned(iana::Algorithm::ES256)) {
        return Err(SealError::BadAlgorithm);
    }
    if !header.crit.is_empty() {
        return Err(bad("unknown critical header parameters"));
    }
    let sig = Signature::from_slice(sign1.signature).map_err(|_| SealError::BadSignature)?;
    let verify = |key: &VerifyingKey| {
        key.verify_digest(sig_structure_digest(sign1.protected, sign1.payload), &sig)
            .map_err(|_| SealError::BadSignature)
    };
    if let Some(pinned) = pinned_client {
        verify(pinned)?;
    }
    let value =
        ciborium::de::from_reader_with_recursion_limit::<Value, _>(sign1.payload, MAX_CBOR_DEPTH)
            .map_err(|e| bad(format!("payload is not CBOR: {e}")))?;
    let mut top = Fields::new(value, "payload")?;
    let manifest = Manifest::from_cbor_value(top.take("manifest")?)?;
    let files_value = top.take("files")?;

    // The protected `kid` is only a hint (RFC 9052 §3.1): the key that counts is the manifest's
    // `client_key`, which the signature covers.
    let client_key = match pinned_client {
        Some(pinned) if sec1_uncompressed(pinned) != manifest.client_key => {
            return Err(SealError::ClientKeyMismatch);
        }
        Some(pinned) => *pinned,
        None => {
            let key = VerifyingKey::from_sec1_bytes(&manifest.client_key)
                .map_err(|_| bad("client_key is not a P-256 point"))?;
            verify(&key)?;
            key
        }
    };

    let Value::Map(pairs) = files_value else {
        return Err(bad("files is not a map"));
    };
    let mut files = BTreeMap::new();
    for (k, v) in pairs {
        let (Value::Text(name), Value::Bytes(data)) = (k, v) else {
            return Err(bad("files must map text names to bytes"));
        };
        validate_name(&name)?;
        if files.contains_key(&name) {
            return Err(SealError::DuplicateName(name));
        }
        files.insert(name, data);
    }
    for entry in &manifest.contents {
        let data = files
            .get(&entry.name)
            .ok_or_else(|| SealError::MissingFile(entry.name.clone()))?;
        let digest: [u8; 32] = Sha256::digest(data).into();
        let same = (data.len() as u64 == entry.size) & bool::from(digest.ct_eq(&entry.sha256));
        if !same {
            return Err(SealError::HashMismatch(entry.name.clone()));
        }
    }
    if let Some(extra) = files
        .keys()
        .find(|n| !manifest.contents.iter().any(|c| &c.name == *n))
    {
        return Err(SealError::UnlistedFile(extra.clone()));
    }
    Ok(VerifiedArtifact {
        manifest,
        files,
        client_key,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::manifest::{LEGACY_ALLOW, parse_consent_decision};
    use crate::pseudonym::PseudonymSecret;
    use coset::{CoseSign1, TaggedCborSerializable};
    use veil_core::Coded;

    fn builder() -> ArtifactBuilder {
        let secret = PseudonymSecret::from_bytes(&[7u8; 32]).unwrap();
        let mut b = ArtifactBuilder::new(
            secret.pseudonym("clinic-a", "treatment"),
            "treatment",
            "clinic-a",
            ConsentRef {
                decision: ConsentDecision::Allow,
                event_hash: Some([9u8; 32]),
                context: None,
            },
            1_700_000_000_000,
        );
        b.add_file("model.stl", b"solid x\nendsolid x\n".to_vec())
            .unwrap();
        b.add_file("reading.json", br#"{"spo2": 97}"#.to_vec())
            .unwrap();
        b.add_device_evidence(DeviceEvidence {
            reading: vec![0xd2, 0x84],
            chain: vec![vec![0x30, 0x00]],
            challenge_salt: None,
        });
        b.set_deid_report(serde_json::json!({"removed_faces": 12, "ratio": 0.25}));
        b
    }

    #[test]
    fn streamed_sig_structure_equals_cosets() {
        let key = SigningKey::from_slice(&[1u8; 32]).unwrap();
        let unsigned = builder().prepare(key.verifying_key()).unwrap();
        let tbs = unsigned.to_be_signed();
        let signed = unsigned.sign(&key).unwrap();
        let sign1 = CoseSign1::from_tagged_slice(signed.as_bytes()).unwrap();
        assert_eq!(sign1.tbs_data(b""), tbs);
    }

    #[test]
    fn in_place_sealing_equals_sealing_the_bytes() {
        let key = SigningKey::from_slice(&[1u8; 32]).unwrap();
        let r = crate::RecipientKey::derive(b"in place sealing test key ......").unwrap();
        for files in [
            vec![],
            vec![("a", 10usize)],
            vec![("big.bin", 70_000), ("z", 0), ("mid", 300)],
        ] {
            let mut b = builder();
            for (n, len) in &files {
                b.add_file(n, (0..*len).map(|i| i as u8).collect()).unwrap();
            }
            let signed = b.sign(&key).unwrap();
            let bytes = signed.as_bytes().to_vec();
            verify_signed_artifact(&bytes, Some(key.verifying_key())).unwrap();
            let a = crate::envelope::seal_artifact_with_ephemeral_ikm(
                signed.clone(),
                r.public_key(),
                &[5; 32],
            )
            .unwrap();
            let b = crate::envelope::seal_with_ephemeral_ikm(
                signed.into_bytes(),
                r.public_key(),
                &[5; 32],
            )
            .unwrap();
            assert_eq!(a, b);
            assert_eq!(
                crate::open(a.as_bytes(), &r, None).unwrap().signed_bytes,
                bytes
            );
        }
    }

    #[test]
    fn payload_is_canonical_cbor_as_a_generic_encoder_would_write_it() {
        let key = SigningKey::from_slice(&[1u8; 32]).unwrap();
        let signed = builder().sign(&key).unwrap();
        let sign1 = CoseSign1::from_tagged_slice(signed.as_bytes()).unwrap();
        let payload = sign1.payload.unwrap();
        let value: Value = ciborium::from_reader(payload.as_slice()).unwrap();
        let mut again = Vec::new();
        ciborium::into_writer(&value, &mut again).unwrap();
        assert_eq!(again, payload);
    }

    #[test]
    fn caller_supplied_digests_are_used_and_checked_by_the_recipient() {
        let key = SigningKey::from_slice(&[1u8; 32]).unwrap();
        let data = b"model bytes".to_vec();
        let right: [u8; 32] = Sha256::digest(&data).into();
        let mut b = builder();
        b.add_file_with_sha256("given.bin", data.clone(), right)
            .unwrap();
        let signed = b.sign(&key).unwrap();
        verify_signed_artifact(signed.as_bytes(), None).unwrap();
        let mut b = builder();
        b.add_file_with_sha256("given.bin", data, [0xee; 32])
            .unwrap();
        let signed = b.sign(&key).unwrap();
        assert_eq!(
            verify_signed_artifact(signed.as_bytes(), None)
                .unwrap_err()
                .code(),
            "hash-mismatch"
        );
    }

    #[test]
    fn round_trip_and_manifest_fields() {
        let key = SigningKey::from_slice(&[1u8; 32]).unwrap();
        let signed = builder().sign(&key).unwrap();
        let v = verify_signed_artifact(signed.as_bytes(), Some(key.verifying_key())).unwrap();
        assert_eq!(&v.manifest, signed.manifest());
        assert_eq!(v.files["reading.json"], br#"{"spo2": 97}"#);
        assert_eq!(
            v.manifest.deid_report.as_ref().unwrap()["removed_faces"],
            12
        );
        assert_eq!(v.manifest.contents.len(), 2);
    }

    #[test]
    fn an_unhashed_layout_signed_with_an_outside_digest_is_the_same_artifact() {
        let key = SigningKey::from_slice(&[1u8; 32]).unwrap();
        let hashed = builder().prepare(key.verifying_key()).unwrap();
        let tbs = hashed.to_be_signed();
        let want = hashed.sign(&key).unwrap();
        // The parts are the Sig_structure; their SHA-256, computed outside, signs the same bytes.
        let unhashed = builder().prepare_unhashed(key.verifying_key()).unwrap();
        let (head, payload) = unhashed.sig_structure_parts();
        assert_eq!([head.as_slice(), payload].concat(), tbs);
        let digest: [u8; 32] = Sha256::digest(&tbs).into();
        let got = unhashed.clone().sign_prehashed(&key, &digest).unwrap();
        assert_eq!(got.as_bytes(), want.as_bytes());
        // Without a digest from outside, `sign` hashes the unhashed layout itself.
        assert_eq!(
            unhashed.clone().sign(&key).unwrap().as_bytes(),
            want.as_bytes()
        );
        // An external signer's signature, checked against the outside digest or a computed one.
        let sig: Signature = p256::ecdsa::signature::Signer::sign(&key, &tbs);
        let finished = unhashed
            .clone()
            .finish_prehashed(&sig.to_bytes(), &digest)
            .unwrap();
        verify_signed_artifact(finished.as_bytes(), None).unwrap();
        unhashed.clone().finish(&sig.to_bytes()).unwrap();
        // A wrong digest: finish_prehashed refuses the signature, and the recipient one made over it.
        let mut wrong = digest;
        wrong[0] ^= 1;
        assert!(matches!(
            unhashed.clone().finish_prehashed(&sig.to_bytes(), &wrong),
            Err(SealError::BadSignature)
        ));
        // After a hashed layout, the digest given is checked against the layout's own.
        let hashed = builder().prepare(key.verifying_key()).unwrap();
        assert!(matches!(
            hashed.clone().sign_prehashed(&key, &wrong),
            Err(SealError::SealFailed(_))
        ));
        assert!(matches!(
            hashed.clone().finish_prehashed(&sig.to_bytes(), &wrong),
            Err(SealError::SealFailed(_))
        ));
        assert_eq!(
            hashed.sign_prehashed(&key, &digest).unwrap().as_bytes(),
            want.as_bytes()
        );
        let bad = unhashed.sign_prehashed(&key, &wrong).unwrap();
        assert!(matches!(
            verify_signed_artifact(bad.as_bytes(), None),
            Err(SealError::BadSignature)
        ));
    }

    #[test]
    fn webcrypto_style_two_phase_signing() {
        let key = SigningKey::from_slice(&[3u8; 32]).unwrap();
        let unsigned = builder().prepare(key.verifying_key()).unwrap();
        let sig: Signature = p256::ecdsa::signature::Signer::sign(&key, &unsigned.to_be_signed());
        let signed = unsigned.finish(&sig.to_bytes()).unwrap();
        verify_signed_artifact(signed.as_bytes(), None).unwrap();
    }

    #[test]
    fn both_s_and_n_minus_s_are_accepted() {
        // WebCrypto does not normalise s; either form of a valid signature must verify.
        let key = SigningKey::from_slice(&[3u8; 32]).unwrap();
        let unsigned = builder().prepare(key.verifying_key()).unwrap();
        let sig: Signature = p256::ecdsa::signature::Signer::sign(&key, &unsigned.to_be_signed());
        let (r, s) = sig.split_scalars();
        let flipped = Signature::from_scalars(r, -s).unwrap();
        assert_ne!(flipped, sig);
        unsigned.clone().finish(&sig.to_bytes()).unwrap();
        let signed = unsigned.finish(&flipped.to_bytes()).unwrap();
        verify_signed_artifact(signed.as_bytes(), None).unwrap();
    }

    #[test]
    fn signing_with_a_key_other_than_the_prepared_one_is_refused() {
        let key = SigningKey::from_slice(&[3u8; 32]).unwrap();
        let other = SigningKey::from_slice(&[4u8; 32]).unwrap();
        let unsigned = builder().prepare(key.verifying_key()).unwrap();
        assert_eq!(
            unsigned.sign(&other).unwrap_err().code(),
            "client-key-mismatch"
        );
    }

    #[test]
    fn finish_rejects_a_signature_from_another_key() {
        let key = SigningKey::from_slice(&[3u8; 32]).unwrap();
        let other = SigningKey::from_slice(&[4u8; 32]).unwrap();
        let unsigned = builder().prepare(key.verifying_key()).unwrap();
        let sig: Signature = p256::ecdsa::signature::Signer::sign(&other, &unsigned.to_be_signed());
        assert_eq!(
            unsigned.finish(&sig.to_bytes()).unwrap_err().code(),
            "bad-signature"
        );
    }

    #[test]
    fn a_pinned_key_that_did_not_sign_is_a_bad_signature() {
        let key = SigningKey::from_slice(&[1u8; 32]).unwrap();
        let other = SigningKey::from_slice(&[2u8; 32]).unwrap();
        let signed = builder().sign(&key).unwrap();
        let err =
            verify_signed_artifact(signed.as_bytes(), Some(other.verifying_key())).unwrap_err();
        assert_eq!(err.code(), "bad-signature");
    }

    #[test]
    fn signed_by_the_pinned_key_for_another_client_key_is_a_mismatch() {
        // The manifest names `key`, but the pinned `other` signed it (same protected header).
        let key = SigningKey::from_slice(&[1u8; 32]).unwrap();
        let other = SigningKey::from_slice(&[2u8; 32]).unwrap();
        let signed = builder().sign(&key).unwrap();
        let sign1 = CoseSign1::from_tagged_slice(signed.as_bytes()).unwrap();
        let resigned = coset::CoseSign1Builder::new()
            .protected(sign1.protected.header)
            .payload(sign1.payload.unwrap())
            .create_signature(b"", |tbs| {
                let sig: Signature = p256::ecdsa::signature::Signer::sign(&other, tbs);
                sig.to_bytes().to_vec()
            })
            .build()
            .to_tagged_vec()
            .unwrap();
        let err = verify_signed_artifact(&resigned, Some(other.verifying_key())).unwrap_err();
        assert_eq!(err.code(), "client-key-mismatch");
        // Unpinned, the manifest's key is the verification key, and it did not sign.
        let err = verify_signed_artifact(&resigned, None).unwrap_err();
        assert_eq!(err.code(), "bad-signature");
    }

    #[test]
    fn the_protected_kid_is_the_client_key_id() {
        let key = SigningKey::from_slice(&[1u8; 32]).unwrap();
        let signed = builder().sign(&key).unwrap();
        let kid = crate::signer_kid(signed.as_bytes()).unwrap();
        assert_eq!(kid, crate::KeyId::of_verifying_key(key.verifying_key()));
        assert_eq!(kid, signed.manifest().client_kid());
    }

    #[test]
    fn flipped_payload_byte_fails_the_signature() {
        let key = SigningKey::from_slice(&[1u8; 32]).unwrap();
        let mut bytes = builder().sign(&key).unwrap().into_bytes();
        let pos = bytes.windows(7).position(|w| w == b"solid x").unwrap();
        bytes[pos] ^= 0x20;
        assert_eq!(
            verify_signed_artifact(&bytes, None).unwrap_err().code(),
            "bad-signature"
        );
    }

    /// Sign, then rewrite the manifest's decision to `text` on the wire and sign again, as another
    /// (or an older) implementation may have written it: this crate's encoder writes outcome ids
    /// only, and refuses to sign anything but `allow`.
    fn signed_with_decision_text(key: &SigningKey, text: &str) -> Vec<u8> {
        fn field<'a>(v: &'a mut Value, key: &str) -> &'a mut Value {
            let Value::Map(entries) = v else {
                panic!("not a map")
            };
            &mut entries
                .iter_mut()
                .find(|(k, _)| k.as_text() == Some(key))
                .unwrap()
                .1
        }
        let signed = builder().sign(key).unwrap();
        let sign1 = CoseSign1::from_tagged_slice(signed.as_bytes()).unwrap();
        let mut payload: Value = ciborium::from_reader(sign1.payload.as_deref().unwrap()).unwrap();
        *field(
            field(field(&mut payload, "manifest"), "consent"),
            "decision",
        ) = Value::Text(text.into());
        let mut bytes = Vec::new();
        ciborium::into_writer(&payload, &mut bytes).unwrap();
        coset::CoseSign1Builder::new()
            .protected(sign1.protected.header)
            .payload(bytes)
            .create_signature(b"", |tbs| {
                let sig: Signature = p256::ecdsa::signature::Signer::sign(key, tbs);
                sig.to_bytes().to_vec()
            })
            .build()
            .to_tagged_vec()
            .unwrap()
    }

    #[test]
    fn only_an_allow_decision_is_sealed() {
        let key = SigningKey::from_slice(&[1u8; 32]).unwrap();
        for decision in [ConsentDecision::NeedsConsent, ConsentDecision::Deny] {
            let mut b = builder();
            b.consent.decision = decision;
            let err = b.prepare(key.verifying_key()).unwrap_err();
            assert_eq!(err, SealError::ConsentNotGranted(decision));
            assert_eq!(err.code(), "consent-not-granted");
        }
        // `allow` goes on the wire as the outcome id.
        let signed = builder().sign(&key).unwrap();
        let sign1 = CoseSign1::from_tagged_slice(signed.as_bytes()).unwrap();
        let payload = sign1.payload.unwrap();
        assert!(payload.windows(15).any(|w| w == b"\x68decision\x65allow"));
        assert_eq!(signed.manifest().to_json()["consent"]["decision"], "allow");
    }

    #[test]
    fn decisions_are_read_typed_with_permit_as_the_legacy_allow() {
        let key = SigningKey::from_slice(&[1u8; 32]).unwrap();
        for (text, want) in [
            ("allow", ConsentDecision::Allow),
            ("permit", ConsentDecision::Allow),
            ("needs-consent", ConsentDecision::NeedsConsent),
            ("deny", ConsentDecision::Deny),
        ] {
            let bytes = signed_with_decision_text(&key, text);
            let v = verify_signed_artifact(&bytes, Some(key.verifying_key())).unwrap();
            assert_eq!(v.manifest.consent.decision, want, "{text}");
            assert_eq!(v.manifest.to_json()["consent"]["decision"], want.id());
        }
        for text in ["maybe", "Allow", "", "permit "] {
            let bytes = signed_with_decision_text(&key, text);
            let err = verify_signed_artifact(&bytes, None).unwrap_err();
            assert_eq!(err.code(), "bad-manifest", "{text:?}");
        }
        assert_eq!(
            parse_consent_decision(LEGACY_ALLOW),
            Ok(ConsentDecision::Allow)
        );
    }

    #[test]
    fn names_that_escape_a_directory_are_refused() {
        let mut b = builder();
        for name in ["", ".", "..", "a/b", "..\\x", "nul\0", &"x".repeat(256)] {
            assert_eq!(
                b.add_file(name, vec![]).unwrap_err().code(),
                "bad-name",
                "{name:?}"
            );
        }
        assert_eq!(
            b.add_file("model.stl", vec![]).unwrap_err().code(),
            "duplicate-name"
        );
    }
}
