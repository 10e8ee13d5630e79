//! Keys: the recipient's HPKE key pair (P-256), the client's ES256 signing key, and key ids.
//!
//! Both are plain P-256 keys so that ordinary tooling can make them:
//! `openssl ecparam -name prime256v1 -genkey | openssl pkcs8 -topk8 -nocrypt` for a private key,
//! `openssl pkey -pubout` for its SubjectPublicKeyInfo. [`RecipientKey::generate`] and
//! [`generate_signing_key`] do the same in Rust (and in the browser through wasm).

use core::fmt;

use hpke::{Deserializable, Kem as _};
use p256::ecdsa::{SigningKey, VerifyingKey};
use p256::pkcs8::DecodePublicKey;
use sha2::{Digest, Sha256};
use zeroize::Zeroizing;

use crate::{SealError, rng};

/// The HPKE KEM of `VEIL-1`: DHKEM(P-256, HKDF-SHA256), id 0x0010 (RFC 9180 §7.1).
pub type VeilKem = hpke::kem::DhP256HkdfSha256;
/// The HPKE KDF of `VEIL-1`: HKDF-SHA256, id 0x0001 (RFC 9180 §7.2).
pub type VeilKdf = hpke::kdf::HkdfSha256;
/// The HPKE AEAD of `VEIL-1`: AES-256-GCM, id 0x0002 (RFC 9180 §7.3).
pub type VeilAead = hpke::aead::AesGcm256;

/// A key id: SHA-256 of a P-256 public key in uncompressed SEC1 form (`04 || X || Y`, 65 bytes).
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct KeyId(pub [u8; 32]);

impl KeyId {
    /// The key id of an uncompressed SEC1 point.
    pub fn of_sec1(uncompressed: &[u8; 65]) -> Self {
        Self(Sha256::digest(uncompressed).into())
    }

    /// The key id of an ECDSA verifying key (the client's signing key).
    pub fn of_verifying_key(key: &VerifyingKey) -> Self {
        Self::of_sec1(&sec1_uncompressed(key))
    }

    /// Lowercase hex, 64 characters.
    pub fn to_hex(&self) -> String {
        hex::encode(self.0)
    }
}

impl fmt::Display for KeyId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.to_hex())
    }
}

impl fmt::Debug for KeyId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "KeyId({})", self.to_hex())
    }
}

/// The uncompressed SEC1 encoding (`04 || X || Y`) of a verifying key.
pub fn sec1_uncompressed(key: &VerifyingKey) -> [u8; 65] {
    let point = key.to_encoded_point(false);
    let mut out = [0u8; 65];
    // An uncompressed P-256 point is always 65 bytes.
    if point.as_bytes().len() == 65 {
        out.copy_from_slice(point.as_bytes());
    }
    out
}

fn public_sec1(pk: &p256::PublicKey) -> [u8; 65] {
    sec1_uncompressed(&VerifyingKey::from(pk))
}

fn bad_key(e: veil_core::pem::PemError) -> SealError {
    SealError::BadKey(e.to_string())
}

/// Draw a uniformly random P-256 scalar (rejection sampling; RFC 9180 §7.1.3 style).
fn random_secret_key() -> Result<p256::SecretKey, SealError> {
    for _ in 0..64 {
        let candidate = rng::random32()?;
        if let Ok(sk) = p256::SecretKey::from_slice(candidate.as_ref()) {
            return Ok(sk);
        }
    }
    Err(SealError::RngFailed(
        "could not draw a valid P-256 scalar".into(),
    ))
}

/// A recipient's HPKE public key (what the ingest server publishes at `/v1/recipient-key`).
#[derive(Clone)]
pub struct RecipientPublicKey {
    pub(crate) hpke: <VeilKem as hpke::Kem>::PublicKey,
    sec1: [u8; 65],
    kid: KeyId,
}

impl fmt::Debug for RecipientPublicKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "RecipientPublicKey(kid {})", self.kid)
    }
}

impl PartialEq for RecipientPublicKey {
    fn eq(&self, other: &Self) -> bool {
        self.sec1 == other.sec1
    }
}
impl Eq for RecipientPublicKey {}

impl RecipientPublicKey {
    fn from_p256(pk: &p256::PublicKey) -> Result<Self, SealError> {
        let sec1 = public_sec1(pk);
        let hpke = <VeilKem as hpke::Kem>::PublicKey::from_bytes(&sec1)
            .map_err(|e| SealError::BadKey(e.to_string()))?;
        Ok(Self {
            hpke,
            sec1,
            kid: KeyId::of_sec1(&sec1),
        })
    }

    /// From a SEC1 point, compressed (33 bytes) or uncompressed (65 bytes).
    pub fn from_sec1_bytes(bytes: &[u8]) -> Result<Self, SealError> {
        let pk = p256::PublicKey::from_sec1_bytes(bytes)
            .map_err(|e| SealError::BadKey(e.to_string()))?;
        Self::from_p256(&pk)
    }

    /// From a PEM `PUBLIC KEY` (SubjectPublicKeyInfo, RFC 5480).
    pub fn from_public_key_pem(pem: &str) -> Result<Self, SealError> {
        Self::from_p256(&veil_core::pem::public_key_from_pem(pem).map_err(bad_key)?)
    }

    /// From a SubjectPublicKeyInfo in DER.
    pub fn from_public_key_der(der: &[u8]) -> Result<Self, SealError> {
        let pk = p256::PublicKey::from_public_key_der(der)
            .map_err(|e| SealError::BadKey(e.to_string()))?;
        Self::from_p256(&pk)
    }

    /// The uncompressed SEC1 encoding (`04 || X || Y`), which is also HPKE's `SerializePublicKey`.
    pub fn sec1_uncompressed(&self) -> &[u8; 65] {
        &self.sec1
    }

    /// The key id: SHA-256 of [`Self::sec1_uncompressed`].
    pub fn kid(&self) -> KeyId {
        self.kid
    }

    /// PEM `PUBLIC KEY` (SubjectPublicKeyInfo).
    pub fn to_public_key_pem(&self) -> Result<String, SealError> {
        let pk = p256::PublicKey::from_sec1_bytes(&self.sec1)
            .map_err(|e| SealError::BadKey(e.to_string()))?;
        veil_core::pem::public_key_to_pem(&pk).map_err(bad_key)
    }
}

/// A recipient's HPKE private key. The scalar is zeroized on drop (`p256::SecretKey`).
#[derive(Clone)]
pub struct RecipientKey {
    secret: p256::SecretKey,
    pub(crate) hpke: <VeilKem as hpke::Kem>::PrivateKey,
    public: RecipientPublicKey,
}

impl fmt::Debug for RecipientKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "RecipientKey(kid {}, secret redacted)", self.public.kid)
    }
}

impl RecipientKey {
    fn from_secret(secret: p256::SecretKey) -> Result<Self, SealError> {
        let scalar = Zeroizing::new(secret.to_bytes());
        let hpke = <VeilKem as hpke::Kem>::PrivateKey::from_bytes(scalar.as_slice())
            .map_err(|e| SealError::BadKey(e.to_string()))?;
        let public = RecipientPublicKey::from_p256(&secret.public_key())?;
        Ok(Self {
            secret,
            hpke,
            public,
        })
    }

    /// A fresh random recipient key.
    pub fn generate() -> Result<Self, SealError> {
        Self::from_secret(random_secret_key()?)
    }

    /// From a 32-byte big-endian scalar (HPKE's `SerializePrivateKey` for P-256).
    pub fn from_scalar_bytes(bytes: &[u8]) -> Result<Self, SealError> {
        let secret =
            p256::SecretKey::from_slice(bytes).map_err(|e| SealError::BadKey(e.to_string()))?;
        Self::from_secret(secret)
    }

    /// Derive a key pair from input keying material as RFC 9180 §7.1.3 `DeriveKeyPair` does.
    pub fn derive(ikm: &[u8]) -> Result<Self, SealError> {
        let (sk, _) = VeilKem::derive_keypair(ikm);
        let bytes = Zeroizing::new(hpke::Serializable::to_bytes(&sk));
        Self::from_scalar_bytes(bytes.as_slice())
    }

    /// From PEM: PKCS#8 `PRIVATE KEY` or SEC1 `EC PRIVATE KEY`.
    pub fn from_pem(pem: &str) -> Result<Self, SealError> {
        Self::from_secret(veil_core::pem::secret_key_from_pem(pem).map_err(bad_key)?)
    }

    /// PKCS#8 PEM of the private key (zeroized on drop).
    pub fn to_pkcs8_pem(&self) -> Result<Zeroizing<String>, SealError> {
        veil_core::pem::secret_key_to_pem(&self.secret).map_err(bad_key)
    }

    /// The matching public key.
    pub fn public_key(&self) -> &RecipientPublicKey {
        &self.public
    }

    /// The key id of the public key.
    pub fn kid(&self) -> KeyId {
        self.public.kid
    }
}

/// A fresh random client signing key (ES256).
pub fn generate_signing_key() -> Result<SigningKey, SealError> {
    Ok(SigningKey::from(random_secret_key()?))
}

/// A client signing key from PEM: PKCS#8 `PRIVATE KEY` or SEC1 `EC PRIVATE KEY`.
pub fn signing_key_from_pem(pem: &str) -> Result<SigningKey, SealError> {
    Ok(SigningKey::from(
        veil_core::pem::secret_key_from_pem(pem).map_err(bad_key)?,
    ))
}

/// PKCS#8 PEM of a client signing key (zeroized on drop).
pub fn signing_key_to_pem(key: &SigningKey) -> Result<Zeroizing<String>, SealError> {
    veil_core::pem::secret_key_to_pem(&p256::SecretKey::from(key)).map_err(bad_key)
}

/// A client verifying key from PEM `PUBLIC KEY` (SubjectPublicKeyInfo).
pub fn verifying_key_from_pem(pem: &str) -> Result<VerifyingKey, SealError> {
    Ok(VerifyingKey::from(
        veil_core::pem::public_key_from_pem(pem).map_err(bad_key)?,
    ))
}

/// PEM `PUBLIC KEY` (SubjectPublicKeyInfo) of a client verifying key.
pub fn verifying_key_to_pem(key: &VerifyingKey) -> Result<String, SealError> {
    veil_core::pem::public_key_to_pem(&p256::PublicKey::from(key)).map_err(bad_key)
}

/// A verifying key from SEC1 bytes (compressed or uncompressed).
pub fn verifying_key_from_sec1(bytes: &[u8]) -> Result<VerifyingKey, SealError> {
    VerifyingKey::from_sec1_bytes(bytes).map_err(|e| SealError::BadKey(e.to_string()))
}

/// Split a PEM bundle of `CERTIFICATE` blocks (or a single DER certificate) into DER certificates,
/// in file order. Used for device chains carried as evidence; no X.509 parsing happens here.
pub fn certificate_chain_from_bytes(bytes: &[u8]) -> Result<Vec<Vec<u8>>, SealError> {
    veil_core::pem::certs_from_pem_or_der(bytes).map_err(bad_key)
}

#[cfg(test)]
mod tests {
    use super::*;
    use veil_core::Coded;

    #[test]
    fn certificate_bundles_split_in_order_and_skip_other_blocks() {
        let a =
            pem_rfc7468::encode_string("CERTIFICATE", pem_rfc7468::LineEnding::LF, &[0x30, 1, 2])
                .unwrap();
        let k =
            pem_rfc7468::encode_string("PUBLIC KEY", pem_rfc7468::LineEnding::LF, &[9]).unwrap();
        let b = pem_rfc7468::encode_string("CERTIFICATE", pem_rfc7468::LineEnding::LF, &[0x30, 3])
            .unwrap();
        let bundle = format!("leaf:\n{a}{k}\n{b}");
        assert_eq!(
            certificate_chain_from_bytes(bundle.as_bytes()).unwrap(),
            vec![vec![0x30, 1, 2], vec![0x30, 3]]
        );
        // A lone DER certificate is passed through.
        assert_eq!(
            certificate_chain_from_bytes(&[0x30, 0x82, 0xff]).unwrap(),
            vec![vec![0x30, 0x82, 0xff]]
        );
        let cut = &bundle[..bundle.len() - 12];
        assert_eq!(
            certificate_chain_from_bytes(cut.as_bytes())
                .unwrap_err()
                .code(),
            "bad-key"
        );
    }

    #[test]
    fn key_id_is_sha256_of_the_uncompressed_point() {
        let key = RecipientKey::from_scalar_bytes(&[1u8; 32]).unwrap();
        let point = key.public_key().sec1_uncompressed();
        assert_eq!(point[0], 4);
        assert_eq!(key.kid().0, <[u8; 32]>::from(Sha256::digest(point)));
        let compressed = p256::PublicKey::from_sec1_bytes(point)
            .unwrap()
            .to_sec1_bytes();
        let again = RecipientPublicKey::from_sec1_bytes(
            &p256::EncodedPoint::from_bytes(&compressed)
                .unwrap()
                .compress()
                .to_bytes(),
        )
        .unwrap();
        assert_eq!(again.kid(), key.kid());
    }
}
