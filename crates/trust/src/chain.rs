//! Device certificate chains: parsing, the trust store of manufacturer roots, and path
//! validation (RFC 5280 §6, restricted to the Veil device profile, modelled on Matter's
//! PAA -> PAI -> DAC chain: Matter Core Specification §6.2).
//!
//! The time-independent work (parsing, issuer signatures, constraints) is done once per chain
//! and cached by the verifier; the validity periods are kept as numbers so that each reading only
//! compares times.

use der::asn1::ObjectIdentifier;
use der::{Decode, Encode, Tag, Tagged};
use p256::ecdsa::signature::Verifier as _;
use p256::ecdsa::{DerSignature, VerifyingKey};
use sha2::{Digest, Sha256};
use x509_cert::Certificate;
use x509_cert::ext::pkix::{BasicConstraints, KeyUsage};
use x509_cert::name::Name;

use crate::error::Rejection;

/// Largest certificate accepted, in bytes of DER.
pub const MAX_CERT_LEN: usize = 8 * 1024;
/// Most certificates accepted in a chain (device, intermediates, optionally the root).
pub const MAX_CHAIN_LEN: usize = 5;

const OID_EC_PUBLIC_KEY: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.10045.2.1");
const OID_SECP256R1: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.10045.3.1.7");
const OID_ECDSA_SHA256: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.10045.4.3.2");
const OID_CN: ObjectIdentifier = ObjectIdentifier::new_unwrap("2.5.4.3");
const OID_SERIAL_NUMBER: ObjectIdentifier = ObjectIdentifier::new_unwrap("2.5.4.5");
const OID_O: ObjectIdentifier = ObjectIdentifier::new_unwrap("2.5.4.10");
const OID_BASIC_CONSTRAINTS: ObjectIdentifier = ObjectIdentifier::new_unwrap("2.5.29.19");
const OID_KEY_USAGE: ObjectIdentifier = ObjectIdentifier::new_unwrap("2.5.29.15");
/// Extensions we recognise; any other extension marked critical makes the certificate unusable
/// (RFC 5280 §4.2).
const KNOWN_EXTENSIONS: [&str; 6] = [
    "2.5.29.19", // basicConstraints
    "2.5.29.15", // keyUsage
    "2.5.29.14", // subjectKeyIdentifier
    "2.5.29.35", // authorityKeyIdentifier
    "2.5.29.37", // extKeyUsage (not used for device signatures; tolerated)
    "2.5.29.17", // subjectAltName
];

/// A parsed certificate with what validation needs, extracted once.
#[derive(Debug, Clone)]
pub(crate) struct ParsedCert {
    tbs: Vec<u8>,
    sig_alg_ok: bool,
    sig_alg: String,
    signature: Vec<u8>,
    subject: Vec<u8>,
    issuer: Vec<u8>,
    pub key: Result<VerifyingKey, String>,
    pub not_before: u64,
    pub not_after: u64,
    basic: Option<BasicConstraints>,
    key_usage: Option<KeyUsage>,
    unknown_critical: Option<String>,
    pub serial_attr: Option<String>,
    pub common_name: Option<String>,
    pub organization: Option<String>,
    pub fingerprint: [u8; 32],
}

fn attr(name: &Name, oid: ObjectIdentifier) -> Option<String> {
    for rdn in name.0.iter() {
        for atv in rdn.0.iter() {
            if atv.oid == oid {
                return match atv.value.tag() {
                    Tag::Utf8String
                    | Tag::PrintableString
                    | Tag::Ia5String
                    | Tag::TeletexString => std::str::from_utf8(atv.value.value())
                        .ok()
                        .map(str::to_string),
                    _ => None,
                };
            }
        }
    }
    None
}

fn name_of(c: &ParsedCert) -> String {
    c.common_name
        .clone()
        .unwrap_or_else(|| "unnamed certificate".into())
}

impl ParsedCert {
    pub(crate) fn parse(der: &[u8]) -> Result<ParsedCert, Rejection> {
        if der.len() > MAX_CERT_LEN {
            return Err(Rejection::malformed(format!(
                "certificate is {} bytes, limit {MAX_CERT_LEN}",
                der.len()
            )));
        }
        let cert = Certificate::from_der(der)
            .map_err(|e| Rejection::malformed(format!("certificate DER: {e}")))?;
        let tbs_cert = &cert.tbs_certificate;
        // The exact TBS bytes as received (DER decoding is strict, so re-encoding reproduces them).
        let tbs = tbs_cert
            .to_der()
            .map_err(|e| Rejection::malformed(format!("certificate TBS: {e}")))?;
        let sig_alg_ok = cert.signature_algorithm.oid == OID_ECDSA_SHA256
            && cert.signature_algorithm.parameters.is_none()
            && tbs_cert.signature == cert.signature_algorithm;
        let spki = &tbs_cert.subject_public_key_info;
        let curve = spki
            .algorithm
            .parameters
            .as_ref()
            .and_then(|p| p.decode_as::<ObjectIdentifier>().ok());
        let key = if spki.algorithm.oid == OID_EC_PUBLIC_KEY && curve == Some(OID_SECP256R1) {
            VerifyingKey::from_sec1_bytes(spki.subject_public_key.raw_bytes())
                .map_err(|_| "public key is not a valid P-256 point".to_string())
        } else {
            Err(format!(
                "public key algorithm {} / curve {}; only P-256",
                spki.algorithm.oid,
                curve
                    .map(|c| c.to_string())
                    .unwrap_or_else(|| "none".into())
            ))
        };
        let (mut basic, mut key_usage, mut unknown_critical) = (None, None, None);
        let mut seen: Vec<ObjectIdentifier> = Vec::new();
        for ext in tbs_cert.extensions.iter().flatten() {
            if seen.contains(&ext.extn_id) {
                return Err(Rejection::malformed(format!(
                    "extension {} appears twice",
                    ext.extn_id
                )));
            }
            seen.push(ext.extn_id);
            let bytes = ext.extn_value.as_bytes();
            if ext.extn_id == OID_BASIC_CONSTRAINTS {
                basic = Some(
                    BasicConstraints::from_der(bytes)
                        .map_err(|e| Rejection::malformed(format!("basicConstraints: {e}")))?,
                );
            } else if ext.extn_id == OID_KEY_USAGE {
                key_usage = Some(
                    KeyUsage::from_der(bytes)
                        .map_err(|e| Rejection::malformed(format!("keyUsage: {e}")))?,
                );
            } else if ext.critical && !KNOWN_EXTENSIONS.contains(&ext.extn_id.to_string().as_str())
            {
                unknown_critical = Some(ext.extn_id.to_string());
            }
        }
        let subject = tbs_cert
            .subject
            .to_der()
            .map_err(|e| Rejection::malformed(format!("subject: {e}")))?;
        let issuer = tbs_cert
            .issuer
            .to_der()
            .map_err(|e| Rejection::malformed(format!("issuer: {e}")))?;
        Ok(ParsedCert {
            tbs,
            sig_alg_ok,
            sig_alg: cert.signature_algorithm.oid.to_string(),
            signature: cert.signature.raw_bytes().to_vec(),
            subject,
            issuer,
            key,
            not_before: tbs_cert.validity.not_before.to_unix_duration().as_secs(),
            not_after: tbs_cert.validity.not_after.to_unix_duration().as_secs(),
            basic,
            key_usage,
            unknown_critical,
            serial_attr: attr(&tbs_cert.subject, OID_SERIAL_NUMBER),
            common_name: attr(&tbs_cert.subject, OID_CN),
            organization: attr(&tbs_cert.subject, OID_O),
            fingerprint: Sha256::digest(der).into(),
        })
    }

    /// Checks that `issuer` signed this certificate (name chaining and ecdsa-with-SHA256).
    fn verify_issued_by(&self, issuer: &ParsedCert) -> Result<(), Rejection> {
        if self.issuer != issuer.subject {
            return Err(Rejection::untrusted(format!(
                "{} is not issued by {}",
                name_of(self),
                name_of(issuer)
            )));
        }
        if !self.sig_alg_ok {
            return Err(Rejection::UnsupportedAlgorithm(format!(
                "{} is signed with {}; only ecdsa-with-SHA256",
                name_of(self),
                self.sig_alg
            )));
        }
        let key = issuer
            .key
            .as_ref()
            .map_err(|e| Rejection::UnsupportedAlgorithm(format!("{}: {e}", name_of(issuer))))?;
        let sig = DerSignature::from_bytes(&self.signature).map_err(|_| {
            Rejection::untrusted(format!(
                "{}: issuer signature is not a valid ECDSA signature",
                name_of(self)
            ))
        })?;
        key.verify(&self.tbs, &sig).map_err(|_| {
            Rejection::untrusted(format!(
                "{}: issuer signature does not verify",
                name_of(self)
            ))
        })
    }

    /// RFC 5280 §6.1.4 (k), (l), (n): a certificate used to issue others must be a CA, allowed to
    /// sign certificates, and its pathLen must allow the intermediates below it.
    fn check_ca(&self, intermediates_below: usize) -> Result<(), Rejection> {
        match &self.basic {
            Some(bc) if bc.ca => {
                if let Some(max) = bc.path_len_constraint
                    && intermediates_below > usize::from(max)
                {
                    return Err(Rejection::untrusted(format!(
                        "{}: pathLenConstraint {max} exceeded ({intermediates_below} intermediates below)",
                        name_of(self)
                    )));
                }
            }
            _ => {
                return Err(Rejection::untrusted(format!(
                    "{} is not a CA (basicConstraints)",
                    name_of(self)
                )));
            }
        }
        if let Some(ku) = &self.key_usage
            && !ku.key_cert_sign()
        {
            return Err(Rejection::untrusted(format!(
                "{}: keyUsage lacks keyCertSign",
                name_of(self)
            )));
        }
        self.check_critical()
    }

    fn check_critical(&self) -> Result<(), Rejection> {
        match &self.unknown_critical {
            Some(oid) => Err(Rejection::untrusted(format!(
                "{}: unknown critical extension {oid}",
                name_of(self)
            ))),
            None => Ok(()),
        }
    }

    /// The device certificate profile: not a CA, keyUsage digitalSignature, a subject
    /// serialNumber, a P-256 key.
    fn check_device(&self) -> Result<(), Rejection> {
        if let Err(e) = &self.key {
            return Err(Rejection::UnsupportedAlgorithm(format!(
                "device certificate: {e}"
            )));
        }
        if self.basic.as_ref().is_some_and(|bc| bc.ca) {
            return Err(Rejection::untrusted(
                "device certificate is a CA (basicConstraints CA:TRUE)",
            ));
        }
        match &self.key_usage {
            Some(ku) if ku.digital_signature() => {}
            Some(_) => {
                return Err(Rejection::untrusted(
                    "device certificate keyUsage lacks digitalSignature",
                ));
            }
            None => {
                return Err(Rejection::untrusted(
                    "device certificate has no keyUsage extension",
                ));
            }
        }
        if self.serial_attr.as_deref().is_none_or(str::is_empty) {
            return Err(Rejection::untrusted(
                "device certificate subject has no serialNumber",
            ));
        }
        self.check_critical()
    }
}

/// The manufacturer roots a Veil installation trusts (PAAs in Matter's terms).
#[derive(Debug, Clone, Default)]
pub struct TrustStore {
    roots: Vec<ParsedCert>,
}

/// A trusted root as shown in Settings.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct RootInfo {
    /// The root's subject organizationName (or commonName when absent).
    pub manufacturer: String,
    /// The root's subject commonName, if any.
    pub common_name: Option<String>,
    /// SHA-256 of the root certificate DER, hex.
    pub fingerprint: String,
    /// Start of validity, Unix seconds.
    pub not_before: u64,
    /// End of validity, Unix seconds.
    pub not_after: u64,
}

fn manufacturer_of(root: &ParsedCert) -> String {
    root.organization
        .clone()
        .or_else(|| root.common_name.clone())
        .unwrap_or_else(|| "unknown".into())
}

impl TrustStore {
    /// An empty store (trusts nothing).
    pub fn new() -> Self {
        Self::default()
    }

    /// A store from PEM text holding one or more `CERTIFICATE` blocks.
    pub fn from_pem(pem: &str) -> Result<Self, Rejection> {
        Self::from_der(&veil_core::pem::certs_from_pem(pem)?)
    }

    /// A store from DER certificates.
    pub fn from_der(roots: &[Vec<u8>]) -> Result<Self, Rejection> {
        let mut store = Self::new();
        for der in roots {
            store.add_der(der)?;
        }
        Ok(store)
    }

    /// Adds a root. It must be a P-256 CA certificate (basicConstraints CA:TRUE); adding the same
    /// root twice is a no-op.
    pub fn add_der(&mut self, der: &[u8]) -> Result<RootInfo, Rejection> {
        let root = ParsedCert::parse(der)?;
        if let Err(e) = &root.key {
            return Err(Rejection::UnsupportedAlgorithm(format!("root: {e}")));
        }
        root.check_ca(0)?;
        let info = Self::info(&root);
        if !self.roots.iter().any(|r| r.fingerprint == root.fingerprint) {
            self.roots.push(root);
        }
        Ok(info)
    }

    /// Removes the root with this SHA-256 fingerprint (hex); true if one was removed.
    pub fn remove(&mut self, fingerprint_hex: &str) -> bool {
        let before = self.roots.len();
        self.roots
            .retain(|r| !hex::encode(r.fingerprint).eq_ignore_ascii_case(fingerprint_hex));
        self.roots.len() != before
    }

    /// The trusted roots.
    pub fn roots(&self) -> Vec<RootInfo> {
        self.roots.iter().map(Self::info).collect()
    }

    fn info(r: &ParsedCert) -> RootInfo {
        RootInfo {
            manufacturer: manufacturer_of(r),
            common_name: r.common_name.clone(),
            fingerprint: hex::encode(r.fingerprint),
            not_before: r.not_before,
            not_after: r.not_after,
        }
    }

    /// Number of trusted roots.
    pub fn len(&self) -> usize {
        self.roots.len()
    }

    /// True when no root is trusted.
    pub fn is_empty(&self) -> bool {
        self.roots.is_empty()
    }

    /// Validates a chain (device certificate first, then intermediates, optionally the root)
    /// up to a trusted root, without looking at time.
    pub(crate) fn validate(&self, chain: &[Vec<u8>]) -> Result<ValidatedChain, Rejection> {
        if chain.is_empty() {
            return Err(Rejection::malformed("empty certificate chain"));
        }
        if chain.len() > MAX_CHAIN_LEN {
            return Err(Rejection::malformed(format!(
                "chain of {} certificates, limit {MAX_CHAIN_LEN}",
                chain.len()
            )));
        }
        let certs = chain
            .iter()
            .map(|d| ParsedCert::parse(d))
            .collect::<Result<Vec<_>, _>>()?;
        let device = &certs[0];
        device.check_device()?;
        let mut path: Vec<&ParsedCert> = vec![device];
        let mut anchor: Option<&ParsedCert> = None;
        for parent in &certs[1..] {
            if let Some(root) = self
                .roots
                .iter()
                .find(|r| r.fingerprint == parent.fingerprint)
            {
                anchor = Some(root);
                break;
            }
            let child = path[path.len() - 1];
            child.verify_issued_by(parent)?;
            // Intermediates below this one: everything in the path except the device cert.
            parent.check_ca(path.len() - 1)?;
            path.push(parent);
        }
        let top = path[path.len() - 1];
        let anchor = match anchor {
            Some(root) => {
                top.verify_issued_by(root)?;
                root
            }
            None => {
                let mut candidates = self
                    .roots
                    .iter()
                    .filter(|r| r.subject == top.issuer)
                    .peekable();
                if candidates.peek().is_none() {
                    return Err(Rejection::untrusted(format!(
                        "no trusted manufacturer root issued {}",
                        name_of(top)
                    )));
                }
                let mut last_err = None;
                let mut found = None;
                for root in candidates {
                    match top.verify_issued_by(root) {
                        Ok(()) => {
                            found = Some(root);
                            break;
                        }
                        Err(e) => last_err = Some(e),
                    }
                }
                match (found, last_err) {
                    (Some(root), _) => root,
                    (None, Some(e)) => return Err(e),
                    (None, None) => return Err(Rejection::untrusted("no trusted root")),
                }
            }
        };
        anchor.check_ca(path.len() - 1)?;
        let device_key = device
            .key
            .clone()
            .map_err(|e| Rejection::UnsupportedAlgorithm(format!("device certificate: {e}")))?;
        let mut windows: Vec<(String, u64, u64)> = path
            .iter()
            .map(|c| (name_of(c), c.not_before, c.not_after))
            .collect();
        windows.push((name_of(anchor), anchor.not_before, anchor.not_after));
        Ok(ValidatedChain {
            identity: DeviceIdentity {
                serial: device.serial_attr.clone().unwrap_or_default(),
                manufacturer: manufacturer_of(anchor),
                model: device.common_name.clone(),
                fingerprint: hex::encode(device.fingerprint),
                root_fingerprint: hex::encode(anchor.fingerprint),
                not_before: device.not_before,
                not_after: device.not_after,
            },
            device_key,
            device_fingerprint: device.fingerprint,
            windows,
        })
    }
}

/// Who produced a reading: the identity the manufacturer's chain vouches for.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct DeviceIdentity {
    /// Device serial (subject serialNumber of the device certificate).
    pub serial: String,
    /// The manufacturer: organizationName (or commonName) of the trusted root that anchors the
    /// chain. Taken from the root, not the device certificate, so one manufacturer's CA cannot
    /// present its devices under another's name.
    pub manufacturer: String,
    /// The device model: commonName of the device certificate, if any.
    pub model: Option<String>,
    /// SHA-256 of the device certificate DER, hex (also the COSE `kid`).
    pub fingerprint: String,
    /// SHA-256 of the trusted root's certificate DER, hex.
    pub root_fingerprint: String,
    /// Start of the device certificate's validity, Unix seconds.
    pub not_before: u64,
    /// End of the device certificate's validity, Unix seconds.
    pub not_after: u64,
}

/// A chain whose signatures and constraints were checked; times are checked per use.
#[derive(Debug, Clone)]
pub(crate) struct ValidatedChain {
    pub identity: DeviceIdentity,
    pub device_key: VerifyingKey,
    pub device_fingerprint: [u8; 32],
    /// (name, not_before, not_after) of every certificate on the path, device first, root last.
    windows: Vec<(String, u64, u64)>,
}

impl ValidatedChain {
    /// Every certificate on the path must be valid at `t` (RFC 5280 §6.1.3 (a)(2)).
    pub(crate) fn check_time(&self, t: u64, what: &str) -> Result<(), Rejection> {
        for (name, nb, na) in &self.windows {
            if t < *nb {
                return Err(Rejection::ExpiredCertificate(format!(
                    "{name} is not yet valid at {what} ({t})"
                )));
            }
            if t > *na {
                return Err(Rejection::ExpiredCertificate(format!(
                    "{name} expired before {what} ({t})"
                )));
            }
        }
        Ok(())
    }
}
