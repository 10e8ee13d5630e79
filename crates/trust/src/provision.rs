//! Tooling side of the profile: development manufacturer CAs, device certificates and a device
//! signer, for the CLI (`veil device provision|sign`), demos and tests. A real manufacturer keeps
//! its CA keys offline and the device key never leaves the device; nothing here is needed to
//! verify, so it compiles only with the `sim` feature (and with it x509-cert's certificate
//! builder), which the browser builds leave off.

use std::str::FromStr;
use std::time::Duration;

use der::asn1::{GeneralizedTime, OctetString, PrintableStringRef, SetOfVec, Utf8StringRef};
use der::{Any, Decode, Encode};
use p256::ecdsa::signature::Signer as _;
use p256::ecdsa::{DerSignature, Signature, SigningKey, VerifyingKey};
use rand_core::{OsRng, RngCore};
use sha2::{Digest, Sha256};
use spki::SubjectPublicKeyInfoOwned;
use x509_cert::Certificate;
use x509_cert::attr::AttributeTypeAndValue;
use x509_cert::builder::{Builder, CertificateBuilder, Profile};
use x509_cert::ext::pkix::{
    AuthorityKeyIdentifier, BasicConstraints, KeyUsage, KeyUsages, SubjectKeyIdentifier,
};
use x509_cert::name::{Name, RdnSequence, RelativeDistinguishedName};
use x509_cert::serial_number::SerialNumber;
use x509_cert::time::{Time, Validity};
use zeroize::Zeroizing;

use crate::cose::{self, Algorithm, ReadingPayload};
use crate::error::ProvisionError;
use crate::measurement::EncodedMeasurement;

fn enc(e: impl std::fmt::Display) -> ProvisionError {
    ProvisionError::Build(e.to_string())
}

/// A fresh P-256 signing key from the operating system's RNG (WebCrypto in the browser).
pub fn generate_key() -> Result<SigningKey, ProvisionError> {
    loop {
        let mut bytes = Zeroizing::new([0u8; 32]);
        OsRng
            .try_fill_bytes(bytes.as_mut())
            .map_err(|_| ProvisionError::Rng)?;
        // Rejection sampling: values that are zero or >= n are drawn again.
        if let Ok(key) = SigningKey::from_slice(bytes.as_ref()) {
            return Ok(key);
        }
    }
}

/// The key as PKCS#8 PEM (`-----BEGIN PRIVATE KEY-----`), zeroized on drop.
pub fn key_to_pem(key: &SigningKey) -> Result<Zeroizing<String>, ProvisionError> {
    veil_core::pem::secret_key_to_pem(&p256::SecretKey::from(key))
        .map_err(|e| ProvisionError::BadKey(e.to_string()))
}

/// Reads a P-256 private key from PKCS#8 PEM, or SEC1 PEM (`EC PRIVATE KEY`, as `openssl ecparam
/// -genkey` writes).
pub fn key_from_pem(pem: &str) -> Result<SigningKey, ProvisionError> {
    veil_core::pem::secret_key_from_pem(pem)
        .map(SigningKey::from)
        .map_err(|e| ProvisionError::BadKey(e.to_string()))
}

/// keyUsage to put in a certificate.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KeyUsageSpec {
    /// No keyUsage extension.
    Absent,
    /// digitalSignature (device certificates).
    DigitalSignature,
    /// keyCertSign and cRLSign (CA certificates).
    CertSign,
}

/// What to put in a certificate. The constructors give the Veil profile; the fields are public so
/// tests can build certificates that break it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CertificateSpec {
    /// Subject commonName (CA name, or device model).
    pub common_name: String,
    /// Subject organizationName (manufacturer).
    pub organization: Option<String>,
    /// Subject serialNumber (device serial).
    pub serial_number: Option<String>,
    /// Start of validity, Unix seconds.
    pub not_before: u64,
    /// End of validity, Unix seconds.
    pub not_after: u64,
    /// basicConstraints: `None` = extension absent, else the cA flag (critical).
    pub ca: Option<bool>,
    /// basicConstraints pathLenConstraint.
    pub path_len: Option<u8>,
    /// keyUsage (critical).
    pub key_usage: KeyUsageSpec,
}

impl CertificateSpec {
    /// A manufacturer root (PAA): CA:TRUE, keyCertSign.
    pub fn root(manufacturer: &str, not_before: u64, not_after: u64, path_len: Option<u8>) -> Self {
        CertificateSpec {
            common_name: format!("{manufacturer} Root CA"),
            organization: Some(manufacturer.into()),
            serial_number: None,
            not_before,
            not_after,
            ca: Some(true),
            path_len,
            key_usage: KeyUsageSpec::CertSign,
        }
    }

    /// A manufacturer intermediate (PAI): CA:TRUE, pathLen 0, keyCertSign.
    pub fn intermediate(manufacturer: &str, not_before: u64, not_after: u64) -> Self {
        CertificateSpec {
            common_name: format!("{manufacturer} Device CA"),
            path_len: Some(0),
            ..Self::root(manufacturer, not_before, not_after, None)
        }
    }

    /// A device certificate (DAC): CA:FALSE, digitalSignature, subject serialNumber.
    pub fn device(
        manufacturer: &str,
        model: &str,
        serial: &str,
        not_before: u64,
        not_after: u64,
    ) -> Self {
        CertificateSpec {
            common_name: model.into(),
            organization: Some(manufacturer.into()),
            serial_number: Some(serial.into()),
            not_before,
            not_after,
            ca: Some(false),
            path_len: None,
            key_usage: KeyUsageSpec::DigitalSignature,
        }
    }
}

fn rdn(
    oid: &str,
    value: &str,
    printable: bool,
) -> Result<RelativeDistinguishedName, ProvisionError> {
    let oid = der::asn1::ObjectIdentifier::new(oid).map_err(enc)?;
    let value = match PrintableStringRef::new(value) {
        Ok(p) if printable => Any::encode_from(&p).map_err(enc)?,
        _ => Any::encode_from(&Utf8StringRef::new(value).map_err(enc)?).map_err(enc)?,
    };
    let set = SetOfVec::try_from(vec![AttributeTypeAndValue { oid, value }]).map_err(enc)?;
    Ok(RelativeDistinguishedName(set))
}

fn subject_name(spec: &CertificateSpec) -> Result<Name, ProvisionError> {
    let mut rdns = Vec::new();
    if let Some(o) = &spec.organization {
        rdns.push(rdn("2.5.4.10", o, false)?);
    }
    rdns.push(rdn("2.5.4.3", &spec.common_name, false)?);
    if let Some(sn) = &spec.serial_number {
        // X.520: serialNumber is a PrintableString.
        rdns.push(rdn("2.5.4.5", sn, true)?);
    }
    Ok(RdnSequence(rdns))
}

fn time(t: u64) -> Result<Time, ProvisionError> {
    Ok(Time::GeneralTime(
        GeneralizedTime::from_unix_duration(Duration::from_secs(t)).map_err(enc)?,
    ))
}

fn key_id(key: &VerifyingKey) -> Result<OctetString, ProvisionError> {
    // RFC 7093 §2 method 1: leftmost 160 bits of the SHA-256 of the subjectPublicKey.
    let point = key.to_encoded_point(false);
    OctetString::new(&Sha256::digest(point.as_bytes())[..20]).map_err(enc)
}

/// Issues a certificate for `subject_key`, signed by `issuer` (key and certificate DER), or
/// self-signed when `issuer` is `None` (then `issuer_key` must be the subject's own key).
pub fn issue_certificate(
    spec: &CertificateSpec,
    subject_key: &VerifyingKey,
    issuer_key: &SigningKey,
    issuer_cert_der: Option<&[u8]>,
) -> Result<Vec<u8>, ProvisionError> {
    let issuer_name = match issuer_cert_der {
        Some(der) => Some(
            Certificate::from_der(der)
                .map_err(|e| ProvisionError::BadEncoding(e.to_string()))?
                .tbs_certificate
                .subject,
        ),
        None => None,
    };
    let mut serial = [0u8; 16];
    OsRng
        .try_fill_bytes(&mut serial)
        .map_err(|_| ProvisionError::Rng)?;
    serial[0] &= 0x7F; // positive INTEGER
    serial[0] |= 0x01; // and no leading zero octet to strip
    let validity = Validity {
        not_before: time(spec.not_before)?,
        not_after: time(spec.not_after)?,
    };
    let spki = SubjectPublicKeyInfoOwned::from_key(*subject_key).map_err(enc)?;
    let mut builder = CertificateBuilder::new(
        Profile::Manual {
            issuer: issuer_name,
        },
        SerialNumber::new(&serial).map_err(enc)?,
        validity,
        subject_name(spec)?,
        spki,
        issuer_key,
    )
    .map_err(enc)?;
    if let Some(ca) = spec.ca {
        builder
            .add_extension(&BasicConstraints {
                ca,
                path_len_constraint: if ca { spec.path_len } else { None },
            })
            .map_err(enc)?;
    }
    match spec.key_usage {
        KeyUsageSpec::Absent => {}
        KeyUsageSpec::DigitalSignature => builder
            .add_extension(&KeyUsage(KeyUsages::DigitalSignature.into()))
            .map_err(enc)?,
        KeyUsageSpec::CertSign => builder
            .add_extension(&KeyUsage(KeyUsages::KeyCertSign | KeyUsages::CRLSign))
            .map_err(enc)?,
    }
    builder
        .add_extension(&SubjectKeyIdentifier(key_id(subject_key)?))
        .map_err(enc)?;
    builder
        .add_extension(&AuthorityKeyIdentifier {
            key_identifier: Some(key_id(issuer_key.verifying_key())?),
            authority_cert_issuer: None,
            authority_cert_serial_number: None,
        })
        .map_err(enc)?;
    let cert = builder.build::<DerSignature>().map_err(enc)?;
    cert.to_der().map_err(enc)
}

/// A private key and its certificate, as PEM.
#[derive(Debug, Clone)]
pub struct PemIdentity {
    /// `-----BEGIN CERTIFICATE-----`.
    pub cert_pem: String,
    /// PKCS#8 `-----BEGIN PRIVATE KEY-----`, zeroized on drop.
    pub key_pem: Zeroizing<String>,
}

/// One provisioned device.
#[derive(Debug, Clone)]
pub struct ProvisionedDevice {
    /// The device serial (subject serialNumber).
    pub serial: String,
    /// Device certificate and key.
    pub identity: PemIdentity,
    /// The chain the device presents: device certificate, then the intermediate if any.
    pub chain_pem: String,
}

/// A development manufacturer: root, optional intermediate, devices.
#[derive(Debug, Clone)]
pub struct Provisioned {
    /// The manufacturer root (goes into the trust store).
    pub root: PemIdentity,
    /// The intermediate, when requested.
    pub intermediate: Option<PemIdentity>,
    /// The devices.
    pub devices: Vec<ProvisionedDevice>,
}

/// Options of [`provision`].
#[derive(Debug, Clone)]
pub struct ProvisionOptions {
    /// Manufacturer name (organizationName of every certificate).
    pub manufacturer: String,
    /// Device model (commonName of device certificates).
    pub model: String,
    /// Serial prefix; serials are `PREFIX-000001`, `PREFIX-000002`, ...
    pub serial_prefix: String,
    /// Number of devices.
    pub devices: usize,
    /// Put an intermediate (PAI) between root and devices.
    pub intermediate: bool,
    /// Unix seconds; certificates are valid from an hour before.
    pub now: u64,
    /// Device certificate lifetime in days.
    pub device_days: u64,
}

const DAY: u64 = 86_400;

/// Provisions a development manufacturer CA and `devices` device identities.
pub fn provision(opts: &ProvisionOptions) -> Result<Provisioned, ProvisionError> {
    let nb = opts.now.saturating_sub(3600);
    let root_key = generate_key()?;
    let path_len = Some(u8::from(opts.intermediate));
    let root_der = issue_certificate(
        &CertificateSpec::root(&opts.manufacturer, nb, opts.now + 20 * 365 * DAY, path_len),
        root_key.verifying_key(),
        &root_key,
        None,
    )?;
    let root = PemIdentity {
        cert_pem: veil_core::pem::certs_to_pem(std::slice::from_ref(&root_der)),
        key_pem: key_to_pem(&root_key)?,
    };
    let (issuer_key, issuer_der, intermediate) = if opts.intermediate {
        let key = generate_key()?;
        let der = issue_certificate(
            &CertificateSpec::intermediate(&opts.manufacturer, nb, opts.now + 15 * 365 * DAY),
            key.verifying_key(),
            &root_key,
            Some(&root_der),
        )?;
        let pem = PemIdentity {
            cert_pem: veil_core::pem::certs_to_pem(std::slice::from_ref(&der)),
            key_pem: key_to_pem(&key)?,
        };
        (key, der, Some(pem))
    } else {
        (root_key.clone(), root_der.clone(), None)
    };
    let mut devices = Vec::with_capacity(opts.devices.min(10_000));
    for i in 1..=opts.devices {
        let serial = format!("{}-{i:06}", opts.serial_prefix);
        let key = generate_key()?;
        let der = issue_certificate(
            &CertificateSpec::device(
                &opts.manufacturer,
                &opts.model,
                &serial,
                nb,
                opts.now + opts.device_days * DAY,
            ),
            key.verifying_key(),
            &issuer_key,
            Some(&issuer_der),
        )?;
        let mut chain = vec![der.clone()];
        if opts.intermediate {
            chain.push(issuer_der.clone());
        }
        devices.push(ProvisionedDevice {
            serial,
            identity: PemIdentity {
                cert_pem: veil_core::pem::certs_to_pem(&[der]),
                key_pem: key_to_pem(&key)?,
            },
            chain_pem: veil_core::pem::certs_to_pem(&chain),
        });
    }
    Ok(Provisioned {
        root,
        intermediate,
        devices,
    })
}

/// Signs readings the way a Veil device does.
#[derive(Debug, Clone)]
pub struct DeviceSigner {
    key: SigningKey,
    serial: String,
    kid: [u8; 32],
}

impl DeviceSigner {
    /// A signer from the device key and its certificate (DER). The key must match the
    /// certificate; the serial is the certificate's subject serialNumber.
    pub fn new(key: SigningKey, cert_der: &[u8]) -> Result<Self, ProvisionError> {
        let cert = Certificate::from_der(cert_der)
            .map_err(|e| ProvisionError::BadEncoding(e.to_string()))?;
        let spki = &cert.tbs_certificate.subject_public_key_info;
        if spki.subject_public_key.raw_bytes()
            != key.verifying_key().to_encoded_point(false).as_bytes()
        {
            return Err(ProvisionError::BadKey(
                "the key does not match the certificate".into(),
            ));
        }
        let parsed = crate::chain::ParsedCert::parse(cert_der)
            .map_err(|e| ProvisionError::BadEncoding(e.to_string()))?;
        let serial = parsed.serial_attr.ok_or_else(|| {
            ProvisionError::BadEncoding("certificate subject has no serialNumber".into())
        })?;
        Ok(DeviceSigner {
            key,
            serial,
            kid: Sha256::digest(cert_der).into(),
        })
    }

    /// A signer from PEM: a private key (PKCS#8 or SEC1) and a certificate (the first
    /// `CERTIFICATE` block is the device's).
    pub fn from_pem(key_pem: &str, cert_pem: &str) -> Result<Self, ProvisionError> {
        let certs = veil_core::pem::certs_from_pem(cert_pem)
            .map_err(|e| ProvisionError::BadEncoding(e.to_string()))?;
        let first = certs
            .first()
            .ok_or_else(|| ProvisionError::BadEncoding("no certificate".into()))?;
        Self::new(key_from_pem(key_pem)?, first)
    }

    /// The device serial.
    pub fn serial(&self) -> &str {
        &self.serial
    }

    /// The COSE `kid`: SHA-256 of the device certificate DER.
    pub fn kid(&self) -> [u8; 32] {
        self.kid
    }

    /// Signs a payload into tagged COSE_Sign1 bytes (protected `{1: alg, 4: kid}`).
    pub fn sign_payload(&self, payload: &ReadingPayload, alg: Algorithm) -> Vec<u8> {
        let protected = cose::protected_header(alg, &self.kid);
        let body = payload.encode();
        let sig: Signature = self
            .key
            .sign(&veil_core::cose::sig_structure(&protected, &body));
        cose::encode(&protected, &body, &sig.to_bytes())
    }

    /// Signs a measurement answering `nonce`, with counter `ctr` at time `ts`.
    pub fn sign(
        &self,
        m: &EncodedMeasurement,
        ctr: u64,
        ts: u64,
        nonce: &[u8],
        alg: Algorithm,
    ) -> Vec<u8> {
        self.sign_payload(
            &ReadingPayload {
                dev: self.serial.clone(),
                ctr,
                ts,
                nonce: nonce.to_vec(),
                svc: m.svc,
                chr: m.chr,
                val: m.val.clone(),
            },
            alg,
        )
    }
}

impl FromStr for Algorithm {
    type Err = ProvisionError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.to_ascii_uppercase().as_str() {
            "ES256" | "-7" => Ok(Algorithm::Es256),
            "ESP256" | "-9" => Ok(Algorithm::Esp256),
            _ => Err(ProvisionError::BadKey(format!(
                "algorithm {s:?}: ES256 or ESP256"
            ))),
        }
    }
}
