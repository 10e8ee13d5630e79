//! WebAuthn Level 2 verification for recipient users' passkeys: the relying party's checks of a
//! registration (`navigator.credentials.create`) and of an assertion (`navigator.credentials.get`),
//! as W3C Web Authentication Level 2 §7.1 and §7.2 list them, for ES256 credentials.
//!
//! Written over `ciborium`, `coset` and `p256` rather than taken from a WebAuthn crate: the
//! maintained Rust implementations verify through OpenSSL, which the server does not link. Only
//! what a passkey sign-in needs is accepted:
//!
//! - attestation `"none"` (the server asks for none: it authenticates the user, it does not
//!   certify the authenticator's make), with an empty statement;
//! - an ES256 credential key (COSE EC2, P-256, alg -7);
//! - user presence and user verification both set (a passkey unlocked by the person, not merely
//!   touched), on registration and on every assertion;
//! - the `clientDataJSON` type, its challenge and its origin (one of the configured origins, never
//!   cross-origin), the RP ID hash in the authenticator data.
//!
//! The challenge is not compared here: [`ClientData::challenge`] is returned so the store can take
//! the single-use challenge it issued (`store::passkeys`), which both checks and consumes it.
//! Every length is checked before it is used; the CBOR of an attestation object is decoded with a
//! recursion limit from an input bounded by [`MAX_ATTESTATION_OBJECT`].

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use coset::{AsCborValue as _, CoseKey, iana, iana::EnumI64 as _};
use p256::ecdsa::signature::Verifier as _;
use p256::ecdsa::{Signature, VerifyingKey};
use sha2::{Digest, Sha256};
use veil_core::Coded;

/// Largest `clientDataJSON` accepted.
pub const MAX_CLIENT_DATA: usize = 4096;
/// Largest attestation object accepted.
pub const MAX_ATTESTATION_OBJECT: usize = 16 * 1024;
/// Largest authenticator data accepted (of an assertion).
pub const MAX_AUTHENTICATOR_DATA: usize = 4096;
/// Longest credential id (W3C WebAuthn L2 §5.1: at most 1023 bytes).
pub const MAX_CREDENTIAL_ID: usize = 1023;
/// Fixed part of authenticator data: RP ID hash, flags, signature counter.
const AUTH_DATA_HEADER: usize = 32 + 1 + 4;
/// CBOR nesting accepted in an attestation object (it needs 3).
const CBOR_DEPTH: usize = 8;

/// Flag bits of authenticator data (§6.1).
const FLAG_UP: u8 = 0x01;
const FLAG_UV: u8 = 0x04;
const FLAG_BE: u8 = 0x08;
const FLAG_BS: u8 = 0x10;
const FLAG_AT: u8 = 0x40;
const FLAG_ED: u8 = 0x80;

/// Why a passkey registration or sign-in was refused. Each has a stable code.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PasskeyError {
    /// `clientDataJSON` is not the JSON the spec defines, or a field is missing or badly encoded.
    #[error("clientDataJSON: {0}")]
    BadClientData(String),
    /// `clientDataJSON.type` is not the ceremony's (`webauthn.create` / `webauthn.get`).
    #[error("clientDataJSON type is {found:?}, expected {expected:?}")]
    WrongType {
        /// What the client sent.
        found: String,
        /// The ceremony's type.
        expected: &'static str,
    },
    /// The origin is not one this server accepts, or the ceremony ran in a cross-origin frame.
    #[error("origin {0:?} is not accepted for passkeys here")]
    BadOrigin(String),
    /// The challenge was not issued by this server, was already used, or expired.
    #[error("the challenge is unknown, used or expired: ask for a new one")]
    UnknownChallenge,
    /// Authenticator data or the attestation object is truncated, too long or not well-formed.
    #[error("authenticator data: {0}")]
    BadAuthenticatorData(String),
    /// The authenticator data is for another relying party.
    #[error("the authenticator data's RP ID hash is not this server's ({rp_id})")]
    RpMismatch {
        /// This server's RP ID.
        rp_id: String,
    },
    /// The user-present flag is not set.
    #[error("the authenticator did not report the user present")]
    UserNotPresent,
    /// The user-verified flag is not set.
    #[error("the authenticator did not verify the user (PIN or biometric required)")]
    UserNotVerified,
    /// An attestation format other than `none`.
    #[error("attestation format {0:?} is not accepted (the server asks for \"none\")")]
    UnsupportedAttestation(String),
    /// The credential key is not ES256 on P-256.
    #[error("the credential key is not ES256 (COSE EC2, P-256, alg -7): {0}")]
    UnsupportedKey(String),
    /// The assertion signature does not verify under the registered key.
    #[error("the assertion signature does not verify")]
    BadSignature,
    /// The signature counter did not increase: the credential may have been cloned.
    #[error(
        "signature counter {found} is not above the stored {stored}: possible cloned authenticator"
    )]
    SignCount {
        /// The counter stored.
        stored: u32,
        /// The counter sent.
        found: u32,
    },
    /// The assertion's backup eligibility (BE flag) is not the one the credential was
    /// registered with: BE is fixed for a credential's life (WebAuthn L3 §6.1.3), so another
    /// authenticator answers for it.
    #[error(
        "backup eligibility {found} differs from the {stored} the credential was registered with"
    )]
    BackupEligibility {
        /// The BE flag stored with the credential.
        stored: bool,
        /// The BE flag of the assertion.
        found: bool,
    },
    /// The credential is not registered here (or its user is disabled).
    #[error("this passkey is not registered with this server (or its user is disabled)")]
    UnknownCredential,
    /// A registration of a credential id already registered.
    #[error("this passkey is already registered")]
    CredentialExists,
    /// A registration code that is unknown, used or expired.
    #[error("the registration code is unknown, used or expired: ask the operator for a new one")]
    RegistrationCodeInvalid,
    /// A session token that is unknown, expired or signed out, or whose user is disabled.
    #[error("the session is unknown or expired: sign in again")]
    SessionInvalid,
}

impl Coded for PasskeyError {
    fn code(&self) -> &'static str {
        match self {
            PasskeyError::BadClientData(_) => "webauthn-bad-client-data",
            PasskeyError::WrongType { .. } => "webauthn-wrong-type",
            PasskeyError::BadOrigin(_) => "webauthn-bad-origin",
            PasskeyError::UnknownChallenge => "webauthn-unknown-challenge",
            PasskeyError::BadAuthenticatorData(_) => "webauthn-bad-authenticator-data",
            PasskeyError::RpMismatch { .. } => "webauthn-rp-mismatch",
            PasskeyError::UserNotPresent => "webauthn-user-not-present",
            PasskeyError::UserNotVerified => "webauthn-user-not-verified",
            PasskeyError::UnsupportedAttestation(_) => "webauthn-unsupported-attestation",
            PasskeyError::UnsupportedKey(_) => "webauthn-unsupported-key",
            PasskeyError::BadSignature => "webauthn-bad-signature",
            PasskeyError::SignCount { .. } => "webauthn-sign-count",
            PasskeyError::BackupEligibility { .. } => "webauthn-backup-eligibility",
            PasskeyError::UnknownCredential => "webauthn-unknown-credential",
            PasskeyError::CredentialExists => "webauthn-credential-exists",
            PasskeyError::RegistrationCodeInvalid => "registration-code-invalid",
            PasskeyError::SessionInvalid => "session-invalid",
        }
    }
}

/// The relying party: its RP ID (a registrable domain, e.g. `clinic.example`) and the exact
/// origins a ceremony may run on (`https://veil.clinic.example`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RelyingParty {
    id: String,
    origins: Vec<String>,
    /// Whether the UV flag is required (always, for Veil's recipient users).
    require_uv: bool,
}

impl RelyingParty {
    /// The relying party of a server reached at `origin` (`scheme://host[:port]`): the RP ID is
    /// the host. An IP address is refused (WebAuthn RP IDs are domains; browsers refuse them).
    pub fn from_origin(origin: &str) -> Result<Self, String> {
        let origin = origin.trim_end_matches('/');
        let rest = origin
            .strip_prefix("https://")
            .or_else(|| origin.strip_prefix("http://"))
            .ok_or_else(|| format!("{origin:?} is not an http(s) origin"))?;
        if rest.is_empty() || rest.contains(['/', '?', '#', '@']) {
            return Err(format!(
                "{origin:?} is not an origin (scheme://host[:port])"
            ));
        }
        let host = match rest.rsplit_once(':') {
            Some((h, port)) if !port.is_empty() && port.bytes().all(|b| b.is_ascii_digit()) => h,
            _ => rest,
        };
        let host = host.to_ascii_lowercase();
        let is_ip = host.starts_with('[') || host.parse::<std::net::Ipv4Addr>().is_ok();
        if host.is_empty() || is_ip {
            return Err(format!(
                "{origin:?}: a passkey relying party is a domain name, not an IP address (use localhost)"
            ));
        }
        Ok(RelyingParty {
            id: host,
            origins: vec![origin.to_ascii_lowercase()],
            require_uv: true,
        })
    }

    /// The same relying party accepting (`false`) or refusing (`true`, the default) ceremonies
    /// without user verification (`userVerification: "preferred"` against `"required"`). The
    /// server always requires it; a relying party that asks only for presence sets `false`.
    pub fn user_verification_required(mut self, required: bool) -> Self {
        self.require_uv = required;
        self
    }

    /// The RP ID.
    pub fn id(&self) -> &str {
        &self.id
    }

    /// The accepted origins.
    pub fn origins(&self) -> &[String] {
        &self.origins
    }

    fn check_rp_hash(&self, rp_id_hash: &[u8]) -> Result<(), PasskeyError> {
        if Sha256::digest(self.id.as_bytes()).as_slice() == rp_id_hash {
            Ok(())
        } else {
            Err(PasskeyError::RpMismatch {
                rp_id: self.id.clone(),
            })
        }
    }
}

/// The fields of `clientDataJSON` the relying party checks (§5.8.1).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClientData {
    /// The challenge, decoded from base64url.
    pub challenge: Vec<u8>,
    /// SHA-256 of the `clientDataJSON` bytes (what the authenticator signed).
    pub hash: [u8; 32],
}

#[derive(serde::Deserialize)]
struct ClientDataJson {
    #[serde(rename = "type")]
    kind: String,
    challenge: String,
    origin: String,
    #[serde(rename = "crossOrigin", default)]
    cross_origin: Option<bool>,
}

/// Decode base64url without padding, refusing anything else (padding, other alphabets, stray
/// bits), bounded by `max` decoded bytes.
pub fn b64url(text: &str, max: usize, what: &str) -> Result<Vec<u8>, String> {
    if text.len() > max.div_ceil(3).saturating_mul(4) {
        return Err(format!("{what} is longer than {max} bytes"));
    }
    URL_SAFE_NO_PAD
        .decode(text)
        .map_err(|e| format!("{what} is not base64url: {e}"))
}

/// Encode as base64url without padding.
pub fn to_b64url(bytes: &[u8]) -> String {
    URL_SAFE_NO_PAD.encode(bytes)
}

/// Check `clientDataJSON` of a ceremony of type `expected` (§7.1 steps 5-10, §7.2 steps 10-14).
pub fn client_data(
    rp: &RelyingParty,
    json: &[u8],
    expected: &'static str,
) -> Result<ClientData, PasskeyError> {
    if json.len() > MAX_CLIENT_DATA {
        return Err(PasskeyError::BadClientData(format!(
            "longer than {MAX_CLIENT_DATA} bytes"
        )));
    }
    let parsed: ClientDataJson =
        serde_json::from_slice(json).map_err(|e| PasskeyError::BadClientData(e.to_string()))?;
    if parsed.kind != expected {
        return Err(PasskeyError::WrongType {
            found: parsed.kind,
            expected,
        });
    }
    if parsed.cross_origin == Some(true) || !rp.origins.contains(&parsed.origin) {
        return Err(PasskeyError::BadOrigin(parsed.origin));
    }
    let challenge =
        b64url(&parsed.challenge, 64, "challenge").map_err(PasskeyError::BadClientData)?;
    if challenge.len() < 16 {
        return Err(PasskeyError::UnknownChallenge);
    }
    Ok(ClientData {
        challenge,
        hash: Sha256::digest(json).into(),
    })
}

/// Parsed authenticator data (§6.1).
#[derive(Debug, Clone, PartialEq)]
struct AuthData {
    flags: u8,
    sign_count: u32,
    /// With the AT flag: the credential id and the rest (COSE key, then extensions).
    attested: Option<(Vec<u8>, CoseKey)>,
}

fn bad(detail: impl Into<String>) -> PasskeyError {
    PasskeyError::BadAuthenticatorData(detail.into())
}

/// Decode one CBOR item from the front of `input`, advancing it.
fn cbor_item(input: &mut &[u8]) -> Result<ciborium::Value, PasskeyError> {
    ciborium::de::from_reader_with_recursion_limit(&mut *input, CBOR_DEPTH)
        .map_err(|e| bad(format!("CBOR: {e}")))
}

fn parse_auth_data(rp: &RelyingParty, data: &[u8]) -> Result<AuthData, PasskeyError> {
    let (header, mut rest) = data
        .split_first_chunk::<AUTH_DATA_HEADER>()
        .ok_or_else(|| {
            bad(format!(
                "{} bytes, at least {AUTH_DATA_HEADER} needed",
                data.len()
            ))
        })?;
    rp.check_rp_hash(&header[..32])?;
    let flags = header[32];
    // WebAuthn L3 §7.1 step 16, §7.2 step 18: a credential backed up must be backup eligible.
    if flags & FLAG_BE == 0 && flags & FLAG_BS != 0 {
        return Err(bad("backed up (BS) but not backup eligible (BE)"));
    }
    let sign_count = u32::from_be_bytes([header[33], header[34], header[35], header[36]]);
    let attested = if flags & FLAG_AT != 0 {
        let (fixed, tail) = rest
            .split_first_chunk::<18>()
            .ok_or_else(|| bad("attested credential data is truncated"))?;
        let id_len = usize::from(u16::from_be_bytes([fixed[16], fixed[17]]));
        if id_len == 0 || id_len > MAX_CREDENTIAL_ID || id_len > tail.len() {
            return Err(bad(format!(
                "credential id length {id_len} (1..={MAX_CREDENTIAL_ID}, within the data)"
            )));
        }
        let (id, mut after) = tail.split_at(id_len);
        let key = CoseKey::from_cbor_value(cbor_item(&mut after)?)
            .map_err(|e| PasskeyError::UnsupportedKey(format!("not a COSE_Key: {e}")))?;
        rest = after;
        Some((id.to_vec(), key))
    } else {
        None
    };
    if flags & FLAG_ED != 0 {
        match cbor_item(&mut rest)? {
            ciborium::Value::Map(_) => {}
            _ => return Err(bad("extensions are not a CBOR map")),
        }
    }
    if !rest.is_empty() {
        return Err(bad(format!("{} trailing bytes", rest.len())));
    }
    if flags & FLAG_UP == 0 {
        return Err(PasskeyError::UserNotPresent);
    }
    if rp.require_uv && flags & FLAG_UV == 0 {
        return Err(PasskeyError::UserNotVerified);
    }
    Ok(AuthData {
        flags,
        sign_count,
        attested,
    })
}

/// The uncompressed SEC1 point of an ES256 COSE key (EC2, P-256, alg ES256 if given).
fn es256_key(key: &CoseKey) -> Result<[u8; 65], PasskeyError> {
    let unsupported = |d: &str| PasskeyError::UnsupportedKey(d.to_owned());
    if key.kty != coset::KeyType::Assigned(iana::KeyType::EC2) {
        return Err(unsupported("key type is not EC2"));
    }
    if key.alg != Some(coset::Algorithm::Assigned(iana::Algorithm::ES256)) {
        return Err(unsupported("algorithm is not ES256 (-7)"));
    }
    let param = |label: i64| {
        key.params
            .iter()
            .find(|(l, _)| *l == coset::Label::Int(label))
            .map(|(_, v)| v)
    };
    let crv = param(iana::Ec2KeyParameter::Crv.to_i64()).and_then(|v| v.as_integer());
    if crv != Some(iana::EllipticCurve::P_256.to_i64().into()) {
        return Err(unsupported("curve is not P-256"));
    }
    let coordinate = |label: iana::Ec2KeyParameter| -> Result<&[u8], PasskeyError> {
        match param(label.to_i64()).and_then(|v| v.as_bytes()) {
            Some(b) if b.len() == 32 => Ok(b.as_slice()),
            _ => Err(unsupported("x and y must be 32-byte strings")),
        }
    };
    let mut point = [0u8; 65];
    point[0] = 0x04;
    point[1..33].copy_from_slice(coordinate(iana::Ec2KeyParameter::X)?);
    point[33..].copy_from_slice(coordinate(iana::Ec2KeyParameter::Y)?);
    VerifyingKey::from_sec1_bytes(&point).map_err(|_| unsupported("not a point on P-256"))?;
    Ok(point)
}

/// A credential verified by [`verify_registration`], for the store.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewCredential {
    /// The challenge `clientDataJSON` carried (the store takes it, single-use).
    pub challenge: Vec<u8>,
    /// The credential id.
    pub credential_id: Vec<u8>,
    /// Its ES256 public key, uncompressed SEC1.
    pub public_key: [u8; 65],
    /// The signature counter at registration.
    pub sign_count: u32,
    /// Whether the credential may be synced to other devices (the BE flag).
    pub backup_eligible: bool,
}

/// Verify a registration (§7.1): `clientDataJSON` and the attestation object, everything but the
/// challenge's issue (returned in [`NewCredential::challenge`] for the store to take).
pub fn verify_registration(
    rp: &RelyingParty,
    client_data_json: &[u8],
    attestation_object: &[u8],
) -> Result<NewCredential, PasskeyError> {
    let client = client_data(rp, client_data_json, "webauthn.create")?;
    if attestation_object.len() > MAX_ATTESTATION_OBJECT {
        return Err(bad(format!(
            "attestation object longer than {MAX_ATTESTATION_OBJECT} bytes"
        )));
    }
    let mut input = attestation_object;
    let ciborium::Value::Map(fields) = cbor_item(&mut input)? else {
        return Err(bad("the attestation object is not a CBOR map"));
    };
    if !input.is_empty() {
        return Err(bad("bytes after the attestation object"));
    }
    let field = |name: &str| {
        let mut found = fields
            .iter()
            .filter(|(k, _)| k.as_text() == Some(name))
            .map(|(_, v)| v);
        match (found.next(), found.next()) {
            (Some(v), None) => Ok(v),
            (None, _) => Err(bad(format!("attestation object has no {name:?}"))),
            (Some(_), Some(_)) => Err(bad(format!("attestation object repeats {name:?}"))),
        }
    };
    if fields.len() != 3 {
        return Err(bad(
            "the attestation object has fields other than fmt, attStmt, authData",
        ));
    }
    let fmt = field("fmt")?
        .as_text()
        .ok_or_else(|| bad("fmt is not text"))?;
    if fmt != "none" {
        return Err(PasskeyError::UnsupportedAttestation(fmt.to_owned()));
    }
    match field("attStmt")?.as_map() {
        Some(m) if m.is_empty() => {}
        _ => {
            return Err(PasskeyError::UnsupportedAttestation(
                "none with a statement".into(),
            ));
        }
    }
    let auth_data = field("authData")?
        .as_bytes()
        .ok_or_else(|| bad("authData is not a byte string"))?;
    let parsed = parse_auth_data(rp, auth_data)?;
    let (credential_id, key) = parsed
        .attested
        .ok_or_else(|| bad("registration without attested credential data (AT flag)"))?;
    Ok(NewCredential {
        challenge: client.challenge,
        credential_id,
        public_key: es256_key(&key)?,
        sign_count: parsed.sign_count,
        backup_eligible: parsed.flags & FLAG_BE != 0,
    })
}

/// A verified assertion: the new signature counter to store.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Assertion {
    /// The counter the authenticator reported.
    pub sign_count: u32,
    /// The assertion's BE flag (for a credential registered before its BE was stored).
    pub backup_eligible: bool,
}

/// Verify an assertion (§7.2 steps 13-21) with the credential's stored key, counter and backup
/// eligibility (`None` for a credential registered before it was stored), after [`client_data`]
/// of type `webauthn.get` gave `client` (whose challenge the store took).
pub fn verify_assertion(
    rp: &RelyingParty,
    client: &ClientData,
    authenticator_data: &[u8],
    signature: &[u8],
    public_key: &[u8],
    stored_count: u32,
    stored_backup_eligible: Option<bool>,
) -> Result<Assertion, PasskeyError> {
    if authenticator_data.len() > MAX_AUTHENTICATOR_DATA {
        return Err(bad(format!("longer than {MAX_AUTHENTICATOR_DATA} bytes")));
    }
    let parsed = parse_auth_data(rp, authenticator_data)?;
    if parsed.attested.is_some() {
        return Err(bad("an assertion carries no attested credential data"));
    }
    let key = VerifyingKey::from_sec1_bytes(public_key)
        .map_err(|_| PasskeyError::UnsupportedKey("the stored key is not a P-256 point".into()))?;
    // ES256 assertions are ASN.1 DER (§6.5.5); at most 72 bytes.
    if signature.len() > 72 {
        return Err(PasskeyError::BadSignature);
    }
    let signature = Signature::from_der(signature).map_err(|_| PasskeyError::BadSignature)?;
    let mut signed = Vec::with_capacity(authenticator_data.len() + 32);
    signed.extend_from_slice(authenticator_data);
    signed.extend_from_slice(&client.hash);
    key.verify(&signed, &signature)
        .map_err(|_| PasskeyError::BadSignature)?;
    // §7.2 (L3) step 18: the BE flag must be the one the credential record holds.
    let backup_eligible = parsed.flags & FLAG_BE != 0;
    if let Some(stored) = stored_backup_eligible
        && stored != backup_eligible
    {
        return Err(PasskeyError::BackupEligibility {
            stored,
            found: backup_eligible,
        });
    }
    // §7.2 step 21: a counter of zero on both sides means the authenticator keeps none.
    if (parsed.sign_count != 0 || stored_count != 0) && parsed.sign_count <= stored_count {
        return Err(PasskeyError::SignCount {
            stored: stored_count,
            found: parsed.sign_count,
        });
    }
    Ok(Assertion {
        sign_count: parsed.sign_count,
        backup_eligible,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn relying_party_from_origins() {
        let rp = RelyingParty::from_origin("https://Veil.Clinic.example/").unwrap();
        assert_eq!(rp.id(), "veil.clinic.example");
        assert_eq!(rp.origins(), ["https://veil.clinic.example"]);
        let rp = RelyingParty::from_origin("http://localhost:8080").unwrap();
        assert_eq!(rp.id(), "localhost");
        for bad in [
            "http://127.0.0.1:8080",
            "http://[::1]:80",
            "ftp://x",
            "https://a/b",
            "https://",
            "localhost",
        ] {
            assert!(RelyingParty::from_origin(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn base64url_is_strict() {
        assert_eq!(b64url("AQID", 10, "x").unwrap(), [1, 2, 3]);
        assert!(b64url("AQID=", 10, "x").is_err());
        assert!(b64url("AQ+/", 10, "x").is_err());
        // A stray bit after the last byte.
        assert!(b64url("AR", 10, "x").is_err());
        assert!(b64url(&"A".repeat(100), 10, "x").is_err());
    }

    #[test]
    fn client_data_checks_type_origin_and_cross_origin() {
        let rp = RelyingParty::from_origin("https://veil.example").unwrap();
        let good = br#"{"type":"webauthn.get","challenge":"AAAAAAAAAAAAAAAAAAAAAA","origin":"https://veil.example","crossOrigin":false}"#;
        let c = client_data(&rp, good, "webauthn.get").unwrap();
        assert_eq!(c.challenge, [0u8; 16]);
        let code = |json: &[u8], t| client_data(&rp, json, t).unwrap_err().code();
        assert_eq!(code(good, "webauthn.create"), "webauthn-wrong-type");
        let other = br#"{"type":"webauthn.get","challenge":"AAAAAAAAAAAAAAAAAAAAAA","origin":"https://evil.example"}"#;
        assert_eq!(code(other, "webauthn.get"), "webauthn-bad-origin");
        let framed = br#"{"type":"webauthn.get","challenge":"AAAAAAAAAAAAAAAAAAAAAA","origin":"https://veil.example","crossOrigin":true}"#;
        assert_eq!(code(framed, "webauthn.get"), "webauthn-bad-origin");
        assert_eq!(code(b"[]", "webauthn.get"), "webauthn-bad-client-data");
        let short =
            br#"{"type":"webauthn.get","challenge":"AAAA","origin":"https://veil.example"}"#;
        assert_eq!(code(short, "webauthn.get"), "webauthn-unknown-challenge");
    }

    #[test]
    fn truncated_authenticator_data_is_refused_at_every_length() {
        let rp = RelyingParty::from_origin("https://veil.example").unwrap();
        let mut data = Sha256::digest(b"veil.example").to_vec();
        data.push(FLAG_UP | FLAG_UV | FLAG_AT);
        data.extend_from_slice(&[0, 0, 0, 1]);
        data.extend_from_slice(&[0u8; 16]);
        data.extend_from_slice(&[0, 4, 1, 2, 3, 4]);
        let key = CoseKey {
            kty: coset::KeyType::Assigned(iana::KeyType::EC2),
            alg: Some(coset::Algorithm::Assigned(iana::Algorithm::ES256)),
            ..Default::default()
        };
        let mut cbor = Vec::new();
        ciborium::into_writer(&key.to_cbor_value().unwrap(), &mut cbor).unwrap();
        data.extend_from_slice(&cbor);
        for n in 0..data.len() {
            assert!(parse_auth_data(&rp, &data[..n]).is_err(), "{n}");
        }
        // Whole, it parses (the key itself is then refused: no curve or coordinates).
        let parsed = parse_auth_data(&rp, &data).unwrap();
        let (_, key) = parsed.attested.unwrap();
        assert_eq!(
            es256_key(&key).unwrap_err().code(),
            "webauthn-unsupported-key"
        );
    }

    #[test]
    fn backed_up_but_not_backup_eligible_is_refused() {
        let rp = RelyingParty::from_origin("https://veil.example").unwrap();
        let data = |flags: u8| {
            let mut data = Sha256::digest(b"veil.example").to_vec();
            data.push(flags);
            data.extend_from_slice(&[0, 0, 0, 1]);
            data
        };
        // WebAuthn L3 §7.1 and §7.2: BS set without BE is an inconsistent authenticator.
        let e = parse_auth_data(&rp, &data(FLAG_UP | FLAG_UV | FLAG_BS)).unwrap_err();
        assert_eq!(e.code(), "webauthn-bad-authenticator-data");
        for flags in [0, FLAG_BE, FLAG_BE | FLAG_BS] {
            assert!(parse_auth_data(&rp, &data(FLAG_UP | FLAG_UV | flags)).is_ok());
        }
    }

    /// W3C Web Authentication Level 3, §16.2 "ES256 Credential with No Attestation" (RP ID
    /// `example.org`, origin `https://example.org`): a registration and an assertion of one
    /// credential made by the specification's generator, not by this code. Neither sets the UV flag,
    /// so the server's policy refuses both `webauthn-user-not-verified`; with user verification
    /// not required they verify, and the credential id, key and counter are the published ones.
    #[test]
    fn w3c_level3_test_vector_es256_none() {
        let h = |s: &str| hex::decode(s).unwrap();
        let reg_challenge = h("00c30fb78531c464d2b6771dab8d7b603c01162f2fa486bea70f283ae556e130");
        let reg_client = h(concat!(
            "7b2274797065223a22776562617574686e2e637265617465222c226368616c6c656e6765",
            "223a22414d4d507434557878475453746e63647134313759447742466938767049612d70",
            "77386f4f755657345441222c226f726967696e223a2268747470733a2f2f6578616d706c",
            "652e6f7267222c2263726f73734f726967696e223a66616c73652c226578747261446174",
            "61223a22636c69656e74446174614a534f4e206d617920626520657874656e6465642077",
            "697468206164646974696f6e616c206669656c647320696e20746865206675747572652c",
            "207375636820617320746869733a20426b5165446a646354427258426941774a544c4535",
            "51227d"
        ));
        let attestation = h(concat!(
            "a363666d74646e6f6e656761747453746d74a068617574684461746158a4bfabc3743295",
            "8b063360d3ad6461c9c4735ae7f8edd46592a5e0f01452b2e4b559000000008446ccb9ab",
            "1db374750b2367ff6f3a1f0020f91f391db4c9b2fde0ea70189cba3fb63f579ba6122b33",
            "ad94ff3ec330084be4a5010203262001215820afefa16f97ca9b2d23eb86ccb64098d20d",
            "b90856062eb249c33a9b672f26df61225820930a56b87a2fca66334b03458abf879717c1",
            "2cc68ed73290af2e2664796b9220"
        ));
        let assert_challenge =
            h("39c0e7521417ba54d43e8dc95174f423dee9bf3cd804ff6d65c857c9abf4d408");
        let assert_auth = h(concat!(
            "bfabc37432958b063360d3ad6461c9c4735ae7f8edd46592a5e0f01452b2e4b519000000",
            "00"
        ));
        let assert_client = h(concat!(
            "7b2274797065223a22776562617574686e2e676574222c226368616c6c656e6765223a22",
            "4f63446e55685158756c5455506f334a5558543049393770767a7a59425039745a636858",
            "79617630314167222c226f726967696e223a2268747470733a2f2f6578616d706c652e6f",
            "7267222c2263726f73734f726967696e223a66616c73657d"
        ));
        let signature = h(concat!(
            "3046022100f50a4e2e4409249c4a853ba361282f09841df4dd4547a13a87780218deffcd",
            "380221008480ac0f0b93538174f575bf11a1dd5d78c6e486013f937295ea13653e331e87"
        ));

        let strict = RelyingParty::from_origin("https://example.org").unwrap();
        assert_eq!(
            verify_registration(&strict, &reg_client, &attestation)
                .unwrap_err()
                .code(),
            "webauthn-user-not-verified"
        );
        let rp = strict.clone().user_verification_required(false);
        let credential = verify_registration(&rp, &reg_client, &attestation).unwrap();
        assert_eq!(credential.challenge, reg_challenge);
        assert_eq!(
            credential.credential_id,
            h("f91f391db4c9b2fde0ea70189cba3fb63f579ba6122b33ad94ff3ec330084be4")
        );
        assert_eq!(
            hex::encode(credential.public_key),
            concat!(
                "04afefa16f97ca9b2d23eb86ccb64098d20db90856062eb249c33a9b672f26df61",
                "930a56b87a2fca66334b03458abf879717c12cc68ed73290af2e2664796b9220"
            )
        );
        assert_eq!(credential.sign_count, 0);
        assert!(credential.backup_eligible);

        let client = client_data(&rp, &assert_client, "webauthn.get").unwrap();
        assert_eq!(client.challenge, assert_challenge);
        let verified = verify_assertion(
            &rp,
            &client,
            &assert_auth,
            &signature,
            &credential.public_key,
            0,
            Some(credential.backup_eligible),
        )
        .unwrap();
        assert_eq!(verified.sign_count, 0);
        let strict_client = client_data(&strict, &assert_client, "webauthn.get").unwrap();
        assert_eq!(
            verify_assertion(
                &strict,
                &strict_client,
                &assert_auth,
                &signature,
                &credential.public_key,
                0,
                None,
            )
            .unwrap_err()
            .code(),
            "webauthn-user-not-verified"
        );
        // This authenticator's credentials are backup eligible (BE): an assertion of it for a
        // credential registered not backup eligible is another authenticator (L3 §7.2).
        assert_eq!(
            verify_assertion(
                &rp,
                &client,
                &assert_auth,
                &signature,
                &credential.public_key,
                0,
                Some(false),
            )
            .unwrap_err()
            .code(),
            "webauthn-backup-eligibility"
        );
        // Any signed byte changed, or the registration's client data in place of the
        // assertion's, and the signature no longer verifies.
        let mut tampered = assert_auth.clone();
        tampered[36] ^= 1;
        let e = verify_assertion(
            &rp,
            &client,
            &tampered,
            &signature,
            &credential.public_key,
            0,
            None,
        );
        assert_eq!(e.unwrap_err().code(), "webauthn-bad-signature");
        let other = ClientData {
            challenge: client.challenge.clone(),
            hash: Sha256::digest(&reg_client).into(),
        };
        let e = verify_assertion(
            &rp,
            &other,
            &assert_auth,
            &signature,
            &credential.public_key,
            0,
            None,
        );
        assert_eq!(e.unwrap_err().code(), "webauthn-bad-signature");
        // Its origin is not ours.
        let ours = RelyingParty::from_origin("https://veil.example").unwrap();
        assert_eq!(
            client_data(&ours, &assert_client, "webauthn.get")
                .unwrap_err()
                .code(),
            "webauthn-bad-origin"
        );
    }
}
