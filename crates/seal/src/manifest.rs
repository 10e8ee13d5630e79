//! The manifest of a signed artifact and its CBOR mapping (`docs/artifact-format.md`): who the
//! artifact is about (a pseudonym), for what purpose, on which consent decision, for which
//! recipient, signed by which client key, and the name, size and SHA-256 of every content.
//!
//! Decoding is strict (duplicate keys, wrong types and over-long fields are refused, nesting is
//! bounded) because the manifest arrives from outside: the server reads it from uploads.
//!
//! Readings come in two kinds, kept in two fields that never mix: `device_evidence` holds what a
//! certified device signed (the recipient verifies it again), `unverified_readings` what a
//! standard Bluetooth device or a file said, with nothing to verify ([`UnverifiedReading`]: the
//! values, their source, and the device's description of itself; never a signature, a chain or a
//! verdict, and an entry carrying any key beyond its schema is refused).

use std::collections::BTreeMap;

use ciborium::Value;

use crate::SealError;
use crate::keys::KeyId;
use crate::pseudonym::Pseudonym;

/// The manifest format version this crate writes and reads.
pub const MANIFEST_VERSION: u64 = 1;
/// Longest content name, in bytes.
pub const MAX_NAME_LEN: usize = 255;
/// Longest text field (purpose, recipient id), in bytes.
pub const MAX_TEXT_LEN: usize = 1024;
/// Deepest CBOR nesting accepted when decoding an artifact (bounds recursion on hostile input).
pub(crate) const MAX_CBOR_DEPTH: usize = 64;
/// Most content entries in one manifest (a model, its report, a few documents).
pub const MAX_CONTENTS: usize = 4096;
/// Most device readings in one manifest (a server may accept fewer).
pub const MAX_EVIDENCE: usize = 4096;
/// Most certificates in one device chain (leaf, intermediates, root).
pub const MAX_CHAIN_LEN: usize = 8;
/// Largest certificate of a device chain, DER (a P-256 certificate is under 1 KiB).
pub const MAX_CERT_BYTES: usize = 16 * 1024;
/// Largest signed device reading, COSE (a reading is a few hundred bytes).
pub const MAX_READING_BYTES: usize = 64 * 1024;
/// Most unverified readings in one manifest (as many as device readings; a server may accept
/// fewer).
pub const MAX_UNVERIFIED: usize = 4096;
/// Most values in one unverified reading (a blood pressure has systolic, diastolic, mean and
/// pulse; a glucose record a few more).
pub const MAX_UNVERIFIED_VALUES: usize = 16;
/// Longest kind, value name, unit or time of an unverified reading, in bytes.
pub const MAX_UNVERIFIED_TOKEN: usize = 64;
/// Longest device claim (a Device Information string is an attribute value: at most 512 bytes,
/// Core Specification Vol 3 Part F §3.2.9).
pub const MAX_CLAIM_LEN: usize = 512;

/// The consent decision a manifest carries: `veil-consent`'s [`veil_consent::Outcome`] (`allow`,
/// `needs-consent`, `deny`), the very type [`veil_consent::decide`] answers with, so the decision
/// travels typed from the consent ledger to the server. On the wire it is the outcome id.
pub use veil_consent::Outcome as ConsentDecision;

/// The legacy wire spelling of [`ConsentDecision::Allow`]: the first VEIL-1 examples and the
/// Python reference vectors wrote `"permit"`. It is read as `allow` (the signature covers the
/// original bytes, which are kept) and never written.
pub const LEGACY_ALLOW: &str = "permit";

/// Read a consent decision as a VEIL-1 manifest carries it: an outcome id (`allow`,
/// `needs-consent`, `deny`) or [`LEGACY_ALLOW`]. The one reader of the decision's wire form (the
/// manifest parser, `veil seal --consent-decision` and npm's `consentDecision` use it).
///
/// # Errors
/// [`SealError::BadManifest`] for any other text.
pub fn parse_consent_decision(text: &str) -> Result<ConsentDecision, SealError> {
    if text == LEGACY_ALLOW {
        return Ok(ConsentDecision::Allow);
    }
    ConsentDecision::from_id(text).ok_or_else(|| {
        SealError::BadManifest(format!(
            "consent decision {:?} is not allow, needs-consent or deny",
            text.chars().take(32).collect::<String>()
        ))
    })
}

/// What a manifest carries for its recipient to decide again ([`veil_consent::SealedConsent`]:
/// the minimised consent event, the subject's jurisdictions and age band).
pub use veil_consent::SealedConsent as ConsentContext;

/// The consent a seal rests on: the decision, the hash of the consent event that made it and,
/// in artifacts sealed since the recipient decides each read again, what that takes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConsentRef {
    /// The decision for the manifest's purpose. Only [`ConsentDecision::Allow`] is sealed (a seal
    /// rests on a grant: [`ArtifactBuilder::prepare`] refuses anything else with
    /// [`SealError::ConsentNotGranted`]); an opened artifact may carry any of the three, and the
    /// receiving side refuses what is not `allow`.
    pub decision: ConsentDecision,
    /// SHA-256 of the consent event (ledger entry) the decision rests on, if known. When
    /// [`ConsentRef::context`] carries the event, this is [`veil_consent::sealed::event_hash`] of
    /// it (the SHA-256 of its minimised canonical JSON), checked on every decode; before, it was
    /// the device's own hash of the ledger entry, which nobody else can check.
    pub event_hash: Option<[u8; 32]>,
    /// The minimised consent event, the subject's jurisdictions and age band, so the recipient
    /// can decide each read again under its own law; `None` in artifacts sealed before.
    pub context: Option<ConsentContext>,
}

/// Longest jurisdiction code a consent context may name (`US-CA` is 5 bytes).
const MAX_JURISDICTION_LEN: usize = 16;

impl ConsentRef {
    fn context_to_cbor(context: &ConsentContext) -> Result<Value, SealError> {
        let mut band = vec![("from", Value::Integer(context.age_band.from.into()))];
        if let Some(below) = context.age_band.below {
            band.push(("below", Value::Integer(below.into())));
        }
        let mut entries = Vec::new();
        if let Some(event) = &context.event {
            let json = veil_consent::sealed::event_json(event)
                .map_err(|e| SealError::EncodeFailed(e.to_string()))?;
            entries.push(("event", Value::Bytes(json)));
        }
        entries.push(("scope", Value::Text(context.scope.label())));
        entries.push(("age_band", map(band)));
        entries.push((
            "jurisdictions",
            Value::Array(
                context
                    .jurisdictions
                    .iter()
                    .map(|j| Value::Text(j.code().to_owned()))
                    .collect(),
            ),
        ));
        Ok(map(entries))
    }

    /// Decodes `consent.context`: a closed schema, every size bounded before it is read.
    fn context_from_cbor(value: Value) -> Result<ConsentContext, SealError> {
        let consent_error =
            |e: veil_consent::ConsentError| SealError::BadManifest(format!("consent context: {e}"));
        let mut f = Fields::new(value, "consent.context")?;
        let event = match f.take_opt("event") {
            None => None,
            Some(Value::Bytes(b)) => Some(ConsentContext::read_event(&b).map_err(consent_error)?),
            Some(_) => return Err(bad("consent.context.event must be bytes")),
        };
        let scope = f.text("scope")?;
        if scope.len() > MAX_TEXT_LEN {
            return Err(bad("consent.context.scope is too long"));
        }
        let scope = veil_consent::PurposeScope::parse_label(&scope).map_err(consent_error)?;
        let mut band = Fields::new(f.take("age_band")?, "consent.context.age_band")?;
        let age = |v: u64| u32::try_from(v).map_err(|_| bad("an age band's ages are small"));
        let from = age(band.uint("from")?)?;
        let below = match band.take_opt("below") {
            None => None,
            Some(Value::Integer(i)) => {
                Some(age(u64::try_from(i).map_err(|_| {
                    bad("age_band.below is an unsigned integer")
                })?)?)
            }
            Some(_) => return Err(bad("age_band.below is an unsigned integer")),
        };
        band.finish()?;
        let codes = f.array("jurisdictions")?;
        if codes.len() > veil_consent::sealed::MAX_SEALED_JURISDICTIONS {
            return Err(bad("consent.context names too many jurisdictions"));
        }
        let mut jurisdictions = Vec::with_capacity(codes.len());
        for code in codes {
            match code {
                Value::Text(t) if t.len() <= MAX_JURISDICTION_LEN => jurisdictions
                    .push(veil_consent::Jurisdiction::parse(&t).map_err(consent_error)?),
                _ => return Err(bad("a jurisdiction is a code of at most 16 bytes")),
            }
        }
        f.finish()?;
        Ok(ConsentContext {
            event,
            scope,
            jurisdictions,
            age_band: veil_consent::AgeBand { from, below },
        })
    }
}

/// One content carried by the artifact.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ContentEntry {
    /// The file name (a single path component).
    pub name: String,
    /// Its length in bytes.
    pub size: u64,
    /// SHA-256 of its bytes.
    pub sha256: [u8; 32],
}

/// Evidence from a certified device, carried verbatim so the recipient can re-verify it
/// against its own trust store.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct DeviceEvidence {
    /// The original COSE-signed reading, byte for byte.
    pub reading: Vec<u8>,
    /// The device's certificate chain, DER, leaf first.
    pub chain: Vec<Vec<u8>>,
    /// The random half of the challenge the reading answers, which binds it to the uploading
    /// client: the device was asked to sign `nonce = SHA-256(client_key || challenge_salt)`
    /// (`veil_trust::bound_challenge`, with the manifest's `client_key`), so a recipient can
    /// check that the reading was taken for this client and no other. `None` for a reading taken
    /// without such a challenge (the ingest server refuses those, `reading-unbound`).
    pub challenge_salt: Option<[u8; 32]>,
}

/// Where an unverified reading comes from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub enum UnverifiedSource {
    /// A standard Bluetooth SIG health device without Veil's signed-reading service: the values
    /// are what it indicated or notified, decoded by `veil_trust::sig`.
    #[serde(rename = "standard-gatt")]
    StandardGatt,
    /// A FHIR R4 Observation Bundle a device's own app exported (`veil_trust::fhir_import`).
    #[serde(rename = "fhir-import")]
    FhirImport,
}

impl UnverifiedSource {
    /// The wire id: `standard-gatt` or `fhir-import`.
    pub fn id(self) -> &'static str {
        match self {
            UnverifiedSource::StandardGatt => "standard-gatt",
            UnverifiedSource::FhirImport => "fhir-import",
        }
    }

    /// Reads a wire id.
    ///
    /// # Errors
    /// [`SealError::BadManifest`] for anything but the two ids.
    pub fn from_id(id: &str) -> Result<Self, SealError> {
        match id {
            "standard-gatt" => Ok(UnverifiedSource::StandardGatt),
            "fhir-import" => Ok(UnverifiedSource::FhirImport),
            _ => Err(SealError::BadManifest(format!(
                "unverified reading source {:?} is not standard-gatt or fhir-import",
                id.chars().take(32).collect::<String>()
            ))),
        }
    }
}

/// One value of an unverified reading: a finite number in a named unit.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct UnverifiedValue {
    /// What it is (`systolic`, `celsius`, `spo2`, ...), 1..=[`MAX_UNVERIFIED_TOKEN`] bytes.
    pub name: String,
    /// The value; finite (a device's NaN or NRes is left out, not sealed as a number).
    pub value: f64,
    /// Its unit (`mmHg`, `°C`, `%`, ...), 1..=[`MAX_UNVERIFIED_TOKEN`] bytes.
    pub unit: String,
}

/// What a device says about itself (Device Information 0x180A, or the name an exporting app gives
/// it): claims, each 1..=[`MAX_CLAIM_LEN`] bytes, nothing proves any of them.
#[derive(Debug, Clone, PartialEq, Eq, Default, serde::Serialize, serde::Deserialize)]
pub struct DeviceClaims {
    /// Manufacturer Name String (0x2A29).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub manufacturer: Option<String>,
    /// Model Number String (0x2A24).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub model: Option<String>,
    /// Serial Number String (0x2A25).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub serial: Option<String>,
    /// Firmware Revision String (0x2A26).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub firmware: Option<String>,
    /// The device's name as advertised, or as an exported file names it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
}

impl DeviceClaims {
    /// The claims present, by their wire key, in CBOR key order.
    fn entries(&self) -> impl Iterator<Item = (&'static str, &str)> {
        [
            ("name", &self.name),
            ("model", &self.model),
            ("serial", &self.serial),
            ("firmware", &self.firmware),
            ("manufacturer", &self.manufacturer),
        ]
        .into_iter()
        .filter_map(|(k, v)| v.as_deref().map(|v| (k, v)))
    }

    /// No claim at all.
    pub fn is_empty(&self) -> bool {
        self.entries().next().is_none()
    }
}

/// A reading nothing proves: from a standard device without Veil's signed-reading service, or
/// imported from a file. Carried apart from [`DeviceEvidence`] so that no reader can take it for
/// verified: it has no signature, chain or verdict to forge, and the recipient stores it as
/// unverified.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct UnverifiedReading {
    /// What it measures, a lowercase id (`blood_pressure`, `temperature`, `weight`,
    /// `pulse_oximetry`, `heart_rate`, `glucose`, ...): `[a-z0-9_]`, 1..=[`MAX_UNVERIFIED_TOKEN`].
    pub kind: String,
    /// Its values, 1..=[`MAX_UNVERIFIED_VALUES`].
    pub values: Vec<UnverifiedValue>,
    /// When it was measured, as the device or the file states it (a GATT Date Time is device
    /// local time without a zone), if stated.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub time: Option<String>,
    /// Where it comes from.
    pub source: UnverifiedSource,
    /// What the device says about itself.
    #[serde(default, skip_serializing_if = "DeviceClaims::is_empty")]
    pub device: DeviceClaims,
}

impl UnverifiedReading {
    /// Checks the documented ranges.
    ///
    /// # Errors
    /// [`SealError::BadManifest`] naming the field out of range.
    pub fn validate(&self) -> Result<(), SealError> {
        let token = |field: &str, v: &str| {
            if v.is_empty() || v.len() > MAX_UNVERIFIED_TOKEN {
                return Err(SealError::BadManifest(format!(
                    "unverified reading {field} must be 1..={MAX_UNVERIFIED_TOKEN} bytes"
                )));
            }
            Ok(())
        };
        token("kind", &self.kind)?;
        if !self
            .kind
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_')
        {
            return Err(SealError::BadManifest(
                "unverified reading kind must be lowercase letters, digits and _".into(),
            ));
        }
        if self.values.is_empty() || self.values.len() > MAX_UNVERIFIED_VALUES {
            return Err(SealError::BadManifest(format!(
                "an unverified reading has 1..={MAX_UNVERIFIED_VALUES} values"
            )));
        }
        for v in &self.values {
            token("value name", &v.name)?;
            token("unit", &v.unit)?;
            if !v.value.is_finite() {
                return Err(SealError::BadManifest(
                    "an unverified reading's value is not a finite number".into(),
                ));
            }
        }
        if let Some(time) = &self.time {
            token("time", time)?;
        }
        for (key, claim) in self.device.entries() {
            if claim.is_empty() || claim.len() > MAX_CLAIM_LEN {
                return Err(SealError::BadManifest(format!(
                    "device claim {key} must be 1..={MAX_CLAIM_LEN} bytes"
                )));
            }
        }
        Ok(())
    }

    fn to_json(&self) -> serde_json::Value {
        let mut entry = serde_json::json!({
            "status": "unverified",
            "kind": self.kind,
            "values": self.values.iter().map(|v| serde_json::json!({
                "name": v.name, "value": v.value, "unit": v.unit,
            })).collect::<Vec<_>>(),
            "time": self.time,
            "source": self.source.id(),
        });
        if let Some(obj) = entry.as_object_mut() {
            let claims: serde_json::Map<_, _> = self
                .device
                .entries()
                .map(|(k, v)| (k.to_owned(), v.into()))
                .collect();
            obj.insert("device".into(), claims.into());
        }
        entry
    }

    fn to_cbor_value(&self) -> Value {
        let values = self
            .values
            .iter()
            .map(|v| {
                map(vec![
                    ("name", Value::Text(v.name.clone())),
                    ("unit", Value::Text(v.unit.clone())),
                    ("value", Value::Float(v.value)),
                ])
            })
            .collect();
        let claims = self
            .device
            .entries()
            .map(|(k, v)| (k, Value::Text(v.to_owned())))
            .collect();
        // RFC 8949 §4.2.1 order: kind, time, device, source, values.
        let mut entry = vec![("kind", Value::Text(self.kind.clone()))];
        if let Some(time) = &self.time {
            entry.push(("time", Value::Text(time.clone())));
        }
        entry.push(("device", map(claims)));
        entry.push(("source", Value::Text(self.source.id().to_owned())));
        entry.push(("values", Value::Array(values)));
        map(entry)
    }

    /// Decodes one entry. Strict: a key outside the schema (a `verified` flag, a `signature`, a
    /// `chain`) is refused, so nothing in an unverified reading can claim to be more.
    fn from_cbor_value(value: Value) -> Result<Self, SealError> {
        let mut f = Fields::new(value, "unverified_readings entry")?;
        let kind = f.text("kind")?;
        let time = match f.take_opt("time") {
            None => None,
            Some(Value::Text(t)) => Some(t),
            Some(_) => return Err(bad("unverified reading time must be text")),
        };
        let source = UnverifiedSource::from_id(&f.text("source")?)?;
        let items = f.array("values")?;
        if items.len() > MAX_UNVERIFIED_VALUES {
            return Err(bad(format!(
                "an unverified reading has more than {MAX_UNVERIFIED_VALUES} values"
            )));
        }
        let mut values = Vec::with_capacity(items.len());
        for item in items {
            let mut v = Fields::new(item, "unverified value")?;
            let name = v.text("name")?;
            let unit = v.text("unit")?;
            let value = match v.take("value")? {
                Value::Float(x) => x,
                // Another encoder may write a whole number as an integer.
                Value::Integer(i) => i128::from(i) as f64,
                _ => return Err(bad("unverified value must be a number")),
            };
            v.finish()?;
            values.push(UnverifiedValue { name, value, unit });
        }
        let mut device = DeviceClaims::default();
        if let Some(claims) = f.take_opt("device") {
            let mut c = Fields::new(claims, "device claims")?;
            let mut claim = |key: &str| match c.take_opt(key) {
                None => Ok(None),
                Some(Value::Text(t)) => Ok(Some(t)),
                Some(_) => Err(bad(format!("device claim {key} must be text"))),
            };
            device = DeviceClaims {
                manufacturer: claim("manufacturer")?,
                model: claim("model")?,
                serial: claim("serial")?,
                firmware: claim("firmware")?,
                name: claim("name")?,
            };
            c.finish()?;
        }
        f.finish()?;
        // The ranges are checked with the whole manifest (`Manifest::validate`).
        Ok(UnverifiedReading {
            kind,
            values,
            time,
            source,
            device,
        })
    }
}

/// The manifest: what the artifact is, about whom (pseudonymously), for whom and why.
#[derive(Debug, Clone, PartialEq)]
pub struct Manifest {
    /// Format version, [`MANIFEST_VERSION`].
    pub version: u64,
    /// The subject's pseudonym for this recipient and purpose.
    pub pseudonym: Pseudonym,
    /// The purpose of use the consent covers.
    pub purpose: String,
    /// The consent decision and the event it rests on.
    pub consent: ConsentRef,
    /// The recipient id (as used in the pseudonym derivation).
    pub recipient: String,
    /// When the artifact was made, milliseconds since the Unix epoch (UTC).
    pub created_ms: u64,
    /// The client's ES256 public key, uncompressed SEC1 (`04 || X || Y`).
    pub client_key: [u8; 65],
    /// The contents, sorted by name.
    pub contents: Vec<ContentEntry>,
    /// Device evidence (readings and chains).
    pub device_evidence: Vec<DeviceEvidence>,
    /// Readings nothing proves, kept apart from the evidence (written only when there are any, so
    /// a manifest without them encodes as it always did).
    pub unverified_readings: Vec<UnverifiedReading>,
    /// The mesh de-identification report, as produced by `veil-mesh`.
    pub deid_report: Option<serde_json::Value>,
}

/// Check a content name: 1..=255 bytes, not `.` or `..`, no `/`, `\`, NUL or other control chars.
pub fn validate_name(name: &str) -> Result<(), SealError> {
    let ok = !name.is_empty()
        && name.len() <= MAX_NAME_LEN
        && name != "."
        && name != ".."
        && !name
            .chars()
            .any(|c| c == '/' || c == '\\' || c.is_control());
    if ok {
        Ok(())
    } else {
        Err(SealError::BadName(name.to_owned()))
    }
}

pub(crate) fn validate_text(field: &str, value: &str) -> Result<(), SealError> {
    if value.is_empty() || value.len() > MAX_TEXT_LEN {
        return Err(SealError::BadManifest(format!(
            "{field} must be 1..={MAX_TEXT_LEN} bytes"
        )));
    }
    Ok(())
}

impl Manifest {
    /// The client key id: SHA-256 of [`Manifest::client_key`].
    pub fn client_kid(&self) -> KeyId {
        KeyId::of_sec1(&self.client_key)
    }

    /// The manifest as JSON (bytes as lowercase hex), as `veil open` prints it and the ingest
    /// server stores it.
    pub fn to_json(&self) -> serde_json::Value {
        let mut json = serde_json::json!({
            "version": self.version,
            "pseudonym": self.pseudonym.as_str(),
            "purpose": self.purpose,
            "consent": {
                "decision": self.consent.decision.id(),
                "event_hash": self.consent.event_hash.map(hex::encode),
            },
            "recipient": self.recipient,
            "created_ms": self.created_ms,
            "client_key": hex::encode(self.client_key),
            "client_kid": self.client_kid().to_hex(),
            "contents": self.contents.iter().map(|c| serde_json::json!({
                "name": c.name, "size": c.size, "sha256": hex::encode(c.sha256),
            })).collect::<Vec<_>>(),
            "device_evidence": self.device_evidence.iter().map(|e| {
                let mut entry = serde_json::json!({
                    "reading": hex::encode(&e.reading),
                    "chain": e.chain.iter().map(hex::encode).collect::<Vec<_>>(),
                });
                if let (Some(salt), Some(obj)) = (e.challenge_salt, entry.as_object_mut()) {
                    obj.insert("challenge_salt".into(), hex::encode(salt).into());
                }
                entry
            }).collect::<Vec<_>>(),
            "deid_report": self.deid_report,
        });
        if let Some(context) = &self.consent.context {
            json["consent"]["context"] = serde_json::to_value(context).unwrap_or_default();
        }
        if let (false, Some(obj)) = (self.unverified_readings.is_empty(), json.as_object_mut()) {
            obj.insert(
                "unverified_readings".into(),
                self.unverified_readings
                    .iter()
                    .map(UnverifiedReading::to_json)
                    .collect(),
            );
        }
        json
    }

    /// The manifest's CBOR encoding (as it appears in the payload).
    pub(crate) fn encode(&self) -> Result<Vec<u8>, SealError> {
        let mut out = Vec::new();
        ciborium::into_writer(&self.to_cbor_value()?, &mut out)
            .map_err(|e| SealError::EncodeFailed(e.to_string()))?;
        Ok(out)
    }

    fn to_cbor_value(&self) -> Result<Value, SealError> {
        let deid = match &self.deid_report {
            Some(v) => Value::serialized(v).map_err(|e| SealError::EncodeFailed(e.to_string()))?,
            None => Value::Null,
        };
        let mut consent = Vec::new();
        // RFC 8949 §4.2.1 order: "context" (written only when present) before "decision".
        if let Some(context) = &self.consent.context {
            consent.push(("context", ConsentRef::context_to_cbor(context)?));
        }
        consent.extend([
            (
                "decision",
                Value::Text(self.consent.decision.id().to_owned()),
            ),
            (
                "event_hash",
                self.consent
                    .event_hash
                    .map_or(Value::Null, |h| Value::Bytes(h.to_vec())),
            ),
        ]);
        let consent = map(consent);
        let contents = self
            .contents
            .iter()
            .map(|c| {
                map(vec![
                    ("name", Value::Text(c.name.clone())),
                    ("size", Value::Integer(c.size.into())),
                    ("sha256", Value::Bytes(c.sha256.to_vec())),
                ])
            })
            .collect();
        let evidence = self
            .device_evidence
            .iter()
            .map(|e| {
                let mut entry = vec![
                    (
                        "chain",
                        Value::Array(e.chain.iter().map(|c| Value::Bytes(c.clone())).collect()),
                    ),
                    ("reading", Value::Bytes(e.reading.clone())),
                ];
                // Written only when present, so evidence without it encodes as it always did.
                if let Some(salt) = e.challenge_salt {
                    entry.push(("challenge_salt", Value::Bytes(salt.to_vec())));
                }
                map(entry)
            })
            .collect();
        let mut top = vec![
            ("v", Value::Integer(self.version.into())),
            ("consent", consent),
            ("created", Value::Integer(self.created_ms.into())),
            ("purpose", Value::Text(self.purpose.clone())),
            ("contents", Value::Array(contents)),
            ("pseudonym", Value::Text(self.pseudonym.as_str().to_owned())),
            ("recipient", Value::Text(self.recipient.clone())),
            ("client_key", Value::Bytes(self.client_key.to_vec())),
            ("deid_report", deid),
            ("device_evidence", Value::Array(evidence)),
        ];
        // Written only when present (the longest key: last in RFC 8949 §4.2.1 order).
        if !self.unverified_readings.is_empty() {
            top.push((
                "unverified_readings",
                Value::Array(
                    self.unverified_readings
                        .iter()
                        .map(UnverifiedReading::to_cbor_value)
                        .collect(),
                ),
            ));
        }
        Ok(map(top))
    }

    pub(crate) fn from_cbor_value(value: Value) -> Result<Self, SealError> {
        let mut m = Fields::new(value, "manifest")?;
        let version = m.uint("v")?;
        if version != MANIFEST_VERSION {
            return Err(bad(format!(
                "manifest version {version} is not {MANIFEST_VERSION}"
            )));
        }
        let pseudonym = Pseudonym::parse(&m.text("pseudonym")?)
            .map_err(|_| bad("pseudonym is not 52 base32 characters"))?;
        let purpose = m.text("purpose")?;
        let recipient = m.text("recipient")?;
        let created_ms = m.uint("created")?;
        let client_key: [u8; 65] = m
            .bytes("client_key")?
            .try_into()
            .map_err(|_| bad("client_key must be 65 bytes (uncompressed SEC1)"))?;
        let mut c = Fields::new(m.take("consent")?, "consent")?;
        let decision = parse_consent_decision(&c.text("decision")?)?;
        let event_hash = match c.take_opt("event_hash") {
            None | Some(Value::Null) => None,
            Some(Value::Bytes(b)) => Some(
                b.try_into()
                    .map_err(|_| bad("consent event_hash must be 32 bytes"))?,
            ),
            Some(_) => return Err(bad("consent event_hash must be bytes or null")),
        };
        let context = c
            .take_opt("context")
            .map(ConsentRef::context_from_cbor)
            .transpose()?;
        c.finish()?;
        let items = m.array("contents")?;
        if items.len() > MAX_CONTENTS {
            return Err(bad(format!("more than {MAX_CONTENTS} contents")));
        }
        let mut contents = Vec::with_capacity(items.len());
        for item in items {
            let mut f = Fields::new(item, "contents entry")?;
            let name = f.text("name")?;
            validate_name(&name)?;
            let size = f.uint("size")?;
            let sha256 = f
                .bytes("sha256")?
                .try_into()
                .map_err(|_| bad("sha256 must be 32 bytes"))?;
            contents.push(ContentEntry { name, size, sha256 });
        }
        let items = m.array("device_evidence")?;
        if items.len() > MAX_EVIDENCE {
            return Err(bad(format!("more than {MAX_EVIDENCE} device readings")));
        }
        let mut device_evidence = Vec::with_capacity(items.len());
        for item in items {
            let mut f = Fields::new(item, "device_evidence entry")?;
            let reading = f.bytes("reading")?;
            if reading.len() > MAX_READING_BYTES {
                return Err(bad(format!("a reading is over {MAX_READING_BYTES} bytes")));
            }
            let certs = f.array("chain")?;
            if certs.len() > MAX_CHAIN_LEN {
                return Err(bad(format!(
                    "a chain has more than {MAX_CHAIN_LEN} certificates"
                )));
            }
            let chain = certs
                .into_iter()
                .map(|v| match v {
                    Value::Bytes(b) if b.len() <= MAX_CERT_BYTES => Ok(b),
                    Value::Bytes(_) => {
                        Err(bad(format!("a certificate is over {MAX_CERT_BYTES} bytes")))
                    }
                    _ => Err(bad("chain entries must be bytes")),
                })
                .collect::<Result<_, _>>()?;
            let challenge_salt = match f.take_opt("challenge_salt") {
                None => None,
                Some(Value::Bytes(b)) => Some(
                    b.try_into()
                        .map_err(|_| bad("challenge_salt must be 32 bytes"))?,
                ),
                Some(_) => return Err(bad("challenge_salt must be bytes")),
            };
            device_evidence.push(DeviceEvidence {
                reading,
                chain,
                challenge_salt,
            });
        }
        let unverified_readings = match m.take_opt("unverified_readings") {
            None => Vec::new(),
            Some(Value::Array(items)) => {
                if items.len() > MAX_UNVERIFIED {
                    return Err(bad(format!(
                        "more than {MAX_UNVERIFIED} unverified readings"
                    )));
                }
                items
                    .into_iter()
                    .map(UnverifiedReading::from_cbor_value)
                    .collect::<Result<_, _>>()?
            }
            Some(_) => return Err(bad("manifest.unverified_readings must be an array")),
        };
        let deid_report = match m.take_opt("deid_report") {
            None | Some(Value::Null) => None,
            Some(v) => Some(
                v.deserialized::<serde_json::Value>()
                    .map_err(|e| bad(format!("deid_report: {e}")))?,
            ),
        };
        let manifest = Manifest {
            version,
            pseudonym,
            purpose,
            consent: ConsentRef {
                decision,
                event_hash,
                context,
            },
            recipient,
            created_ms,
            client_key,
            contents,
            device_evidence,
            unverified_readings,
            deid_report,
        };
        manifest.validate()?;
        Ok(manifest)
    }

    pub(crate) fn validate(&self) -> Result<(), SealError> {
        validate_text("purpose", &self.purpose)?;
        validate_text("recipient", &self.recipient)?;
        if self.unverified_readings.len() > MAX_UNVERIFIED {
            return Err(SealError::BadManifest(format!(
                "more than {MAX_UNVERIFIED} unverified readings"
            )));
        }
        for r in &self.unverified_readings {
            r.validate()?;
        }
        if let Some(context) = &self.consent.context {
            let consent_error = |e: veil_consent::ConsentError| {
                SealError::BadManifest(format!("consent context: {e}"))
            };
            context.check().map_err(consent_error)?;
            context.scope(&self.purpose).map_err(consent_error)?;
            if let Some(event) = &context.event {
                let hash = veil_consent::sealed::event_hash(event).map_err(consent_error)?;
                if self.consent.event_hash != Some(hash) {
                    return Err(SealError::ConsentEventMismatch);
                }
            }
        }
        let mut seen = std::collections::BTreeSet::new();
        for c in &self.contents {
            validate_name(&c.name)?;
            if !seen.insert(c.name.as_str()) {
                return Err(SealError::DuplicateName(c.name.clone()));
            }
        }
        Ok(())
    }
}

pub(crate) fn bad(msg: impl Into<String>) -> SealError {
    SealError::BadArtifact(msg.into())
}

/// A CBOR map with text keys, in the given order (callers list keys in RFC 8949 §4.2.1 order:
/// shorter first, then bytewise, so the payload is deterministic).
pub(crate) fn map(entries: Vec<(&str, Value)>) -> Value {
    Value::Map(
        entries
            .into_iter()
            .map(|(k, v)| (Value::Text(k.to_owned()), v))
            .collect(),
    )
}

/// A decoded CBOR map with text keys; duplicate keys are rejected, unknown keys ignored.
pub(crate) struct Fields {
    entries: BTreeMap<String, Value>,
    what: &'static str,
}

impl Fields {
    pub(crate) fn new(value: Value, what: &'static str) -> Result<Self, SealError> {
        let Value::Map(pairs) = value else {
            return Err(bad(format!("{what} is not a map")));
        };
        let mut entries = BTreeMap::new();
        for (k, v) in pairs {
            let Value::Text(k) = k else {
                return Err(bad(format!("{what} has a non-text key")));
            };
            if entries.insert(k.clone(), v).is_some() {
                return Err(bad(format!("{what} repeats key {k:?}")));
            }
        }
        Ok(Self { entries, what })
    }

    pub(crate) fn take_opt(&mut self, key: &str) -> Option<Value> {
        self.entries.remove(key)
    }

    pub(crate) fn take(&mut self, key: &str) -> Result<Value, SealError> {
        self.entries
            .remove(key)
            .ok_or_else(|| bad(format!("{} lacks {key:?}", self.what)))
    }

    pub(crate) fn text(&mut self, key: &str) -> Result<String, SealError> {
        match self.take(key)? {
            Value::Text(t) => Ok(t),
            _ => Err(bad(format!("{}.{key} must be text", self.what))),
        }
    }

    pub(crate) fn bytes(&mut self, key: &str) -> Result<Vec<u8>, SealError> {
        match self.take(key)? {
            Value::Bytes(b) => Ok(b),
            _ => Err(bad(format!("{}.{key} must be bytes", self.what))),
        }
    }

    pub(crate) fn uint(&mut self, key: &str) -> Result<u64, SealError> {
        match self.take(key)? {
            Value::Integer(i) => u64::try_from(i)
                .map_err(|_| bad(format!("{}.{key} must be an unsigned integer", self.what))),
            _ => Err(bad(format!(
                "{}.{key} must be an unsigned integer",
                self.what
            ))),
        }
    }

    /// Refuses any key not taken yet (for maps whose schema is closed).
    pub(crate) fn finish(self) -> Result<(), SealError> {
        match self.entries.keys().next() {
            None => Ok(()),
            Some(k) => Err(bad(format!(
                "{} has a key outside its schema: {:?}",
                self.what,
                k.chars().take(32).collect::<String>()
            ))),
        }
    }

    pub(crate) fn array(&mut self, key: &str) -> Result<Vec<Value>, SealError> {
        match self.take(key)? {
            Value::Array(a) => Ok(a),
            _ => Err(bad(format!("{}.{key} must be an array", self.what))),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use veil_core::Coded;

    fn manifest(salt: Option<[u8; 32]>) -> Manifest {
        Manifest {
            version: MANIFEST_VERSION,
            pseudonym: Pseudonym::parse("ldsfbhmkauiyd5yzrbqgalfkc3tfj4vsadgepxnbnams2f2hdmqa")
                .unwrap_or_else(|_| unreachable!()),
            purpose: "care".into(),
            consent: ConsentRef {
                decision: ConsentDecision::Allow,
                event_hash: None,
                context: None,
            },
            recipient: "clinic-a".into(),
            created_ms: 1,
            client_key: [4; 65],
            contents: vec![],
            device_evidence: vec![DeviceEvidence {
                reading: vec![0xd2],
                chain: vec![vec![0x30]],
                challenge_salt: salt,
            }],
            unverified_readings: vec![],
            deid_report: None,
        }
    }

    #[test]
    fn counts_and_sizes_are_bounded_by_the_schema() {
        let decode = |m: &Manifest| {
            let bytes = m.encode().unwrap_or_default();
            let value: Value = ciborium::from_reader(bytes.as_slice()).unwrap_or(Value::Null);
            Manifest::from_cbor_value(value)
        };
        let evidence = |reading: usize, chain: usize, cert: usize| DeviceEvidence {
            reading: vec![0xd2; reading],
            chain: vec![vec![0x30; cert]; chain],
            challenge_salt: None,
        };
        let within = Manifest {
            device_evidence: vec![evidence(MAX_READING_BYTES, MAX_CHAIN_LEN, MAX_CERT_BYTES)],
            ..manifest(None)
        };
        assert!(decode(&within).is_ok());
        for over in [
            evidence(MAX_READING_BYTES + 1, 1, 1),
            evidence(1, MAX_CHAIN_LEN + 1, 1),
            evidence(1, 1, MAX_CERT_BYTES + 1),
        ] {
            let m = Manifest {
                device_evidence: vec![over],
                ..manifest(None)
            };
            assert_eq!(decode(&m).map_err(|e| e.code()), Err("bad-artifact"));
        }
        let many_readings = Manifest {
            device_evidence: vec![evidence(1, 1, 1); MAX_EVIDENCE + 1],
            ..manifest(None)
        };
        assert_eq!(
            decode(&many_readings).map_err(|e| e.code()),
            Err("bad-artifact")
        );
        let entry = ContentEntry {
            name: "a".into(),
            size: 0,
            sha256: [0; 32],
        };
        let many_contents = Manifest {
            contents: vec![entry; MAX_CONTENTS + 1],
            ..manifest(None)
        };
        assert_eq!(
            decode(&many_contents).map_err(|e| e.code()),
            Err("bad-artifact")
        );
    }

    /// The manifest's CBOR with the evidence entry's `challenge_salt` set to `salt`.
    fn with_salt_value(salt: Value) -> Value {
        let Ok(Value::Map(mut top)) = manifest(None).to_cbor_value() else {
            unreachable!()
        };
        for (k, v) in &mut top {
            if let (Some("device_evidence"), Value::Array(items)) = (k.as_text(), v)
                && let Some(Value::Map(entry)) = items.first_mut()
            {
                entry.push((Value::Text("challenge_salt".into()), salt.clone()));
            }
        }
        Value::Map(top)
    }

    #[test]
    fn challenge_salt_round_trips_and_is_written_only_when_present() {
        let salted = manifest(Some([0xab; 32]));
        let bytes = salted.encode().unwrap_or_default();
        let value: Value = ciborium::from_reader(bytes.as_slice()).unwrap_or(Value::Null);
        assert_eq!(Manifest::from_cbor_value(value), Ok(salted.clone()));
        // In the evidence map after "reading" (RFC 8949 §4.2.1 order: longer keys last).
        let mut tail = vec![0x6e];
        tail.extend_from_slice(b"challenge_salt");
        tail.extend_from_slice(&[0x58, 0x20]);
        tail.extend_from_slice(&[0xab; 32]);
        assert!(bytes.windows(tail.len()).any(|w| w == tail));
        assert_eq!(
            salted.to_json()["device_evidence"][0]["challenge_salt"],
            "ab".repeat(32)
        );
        // Absent: neither key nor null, in CBOR or JSON.
        let plain = manifest(None);
        let bytes = plain.encode().unwrap_or_default();
        assert!(!bytes.windows(14).any(|w| w == b"challenge_salt"));
        let json = plain.to_json();
        assert_eq!(
            json["device_evidence"][0].as_object().map(|o| o.len()),
            Some(2)
        );
    }

    #[test]
    fn a_challenge_salt_that_is_not_32_bytes_is_refused() {
        assert!(Manifest::from_cbor_value(with_salt_value(Value::Bytes(vec![1; 32]))).is_ok());
        for bad in [
            Value::Bytes(vec![1; 31]),
            Value::Bytes(vec![1; 33]),
            Value::Bytes(vec![]),
            Value::Null,
            Value::Text("ab".repeat(32)),
            Value::Array(vec![]),
        ] {
            let err = Manifest::from_cbor_value(with_salt_value(bad.clone())).unwrap_err();
            assert_eq!(err.code(), "bad-artifact", "{bad:?}");
        }
    }

    fn unverified() -> UnverifiedReading {
        UnverifiedReading {
            kind: "blood_pressure".into(),
            values: vec![
                UnverifiedValue {
                    name: "systolic".into(),
                    value: 120.0,
                    unit: "mmHg".into(),
                },
                UnverifiedValue {
                    name: "diastolic".into(),
                    value: 80.5,
                    unit: "mmHg".into(),
                },
            ],
            time: Some("2026-03-01T08:30:00".into()),
            source: UnverifiedSource::StandardGatt,
            device: DeviceClaims {
                manufacturer: Some("Acme".into()),
                model: Some("BP-1".into()),
                ..DeviceClaims::default()
            },
        }
    }

    fn decode_value(m: &Manifest) -> Result<Manifest, SealError> {
        let bytes = m.encode()?;
        let value: Value = ciborium::from_reader(bytes.as_slice()).unwrap_or(Value::Null);
        Manifest::from_cbor_value(value)
    }

    /// The manifest's CBOR with `edit` applied to the first unverified reading's map.
    fn with_unverified_entry(edit: impl Fn(&mut Vec<(Value, Value)>)) -> Value {
        let m = Manifest {
            unverified_readings: vec![unverified()],
            ..manifest(None)
        };
        let Ok(Value::Map(mut top)) = m.to_cbor_value() else {
            unreachable!()
        };
        for (k, v) in &mut top {
            if let (Some("unverified_readings"), Value::Array(items)) = (k.as_text(), v)
                && let Some(Value::Map(entry)) = items.first_mut()
            {
                edit(entry);
            }
        }
        Value::Map(top)
    }

    /// The manifest's CBOR with the first unverified reading's first value set to `value`.
    fn with_first_value(value: Value) -> Value {
        with_unverified_entry(|entry| {
            for (k, v) in entry.iter_mut() {
                if k.as_text() == Some("values")
                    && let Value::Array(values) = v
                    && let Some(Value::Map(first)) = values.first_mut()
                {
                    for (vk, vv) in first.iter_mut() {
                        if vk.as_text() == Some("value") {
                            *vv = value.clone();
                        }
                    }
                }
            }
        })
    }

    #[test]
    fn unverified_readings_round_trip_apart_from_the_evidence() {
        let m = Manifest {
            unverified_readings: vec![
                unverified(),
                UnverifiedReading {
                    source: UnverifiedSource::FhirImport,
                    time: None,
                    device: DeviceClaims::default(),
                    ..unverified()
                },
            ],
            ..manifest(None)
        };
        assert_eq!(decode_value(&m), Ok(m.clone()));
        let json = m.to_json();
        let first = &json["unverified_readings"][0];
        assert_eq!(first["status"], "unverified");
        assert_eq!(first["source"], "standard-gatt");
        assert_eq!(first["kind"], "blood_pressure");
        assert_eq!(first["values"][1]["value"], 80.5);
        assert_eq!(first["device"]["manufacturer"], "Acme");
        assert_eq!(json["unverified_readings"][1]["source"], "fhir-import");
        assert!(json["unverified_readings"][1]["time"].is_null());
        // The verified evidence is untouched by them.
        assert_eq!(json["device_evidence"].as_array().map(Vec::len), Some(1));
        // Absent: no key in CBOR or JSON, so older manifests encode as before.
        let plain = manifest(None);
        let bytes = plain.encode().unwrap_or_default();
        assert!(!bytes.windows(19).any(|w| w == b"unverified_readings"));
        assert!(plain.to_json().get("unverified_readings").is_none());
    }

    #[test]
    fn unverified_counts_and_sizes_are_bounded() {
        let at_limit = Manifest {
            unverified_readings: vec![unverified(); MAX_UNVERIFIED],
            ..manifest(None)
        };
        assert!(decode_value(&at_limit).is_ok());
        let mut over = at_limit.clone();
        over.unverified_readings.push(unverified());
        assert_eq!(over.validate().map_err(|e| e.code()), Err("bad-manifest"));
        // Decoding refuses the count before it decodes any entry.
        let Ok(Value::Map(mut top)) = at_limit.to_cbor_value() else {
            unreachable!()
        };
        for (k, v) in &mut top {
            if let (Some("unverified_readings"), Value::Array(items)) = (k.as_text(), v) {
                items.push(Value::Null);
            }
        }
        assert_eq!(
            Manifest::from_cbor_value(Value::Map(top)).map_err(|e| e.code()),
            Err("bad-artifact")
        );
        let long = "x".repeat(MAX_UNVERIFIED_TOKEN + 1);
        let value = |name: &str, unit: &str, value: f64| UnverifiedValue {
            name: name.into(),
            value,
            unit: unit.into(),
        };
        let cases = [
            UnverifiedReading {
                kind: long.clone(),
                ..unverified()
            },
            UnverifiedReading {
                kind: "Blood Pressure".into(),
                ..unverified()
            },
            UnverifiedReading {
                kind: String::new(),
                ..unverified()
            },
            UnverifiedReading {
                values: vec![],
                ..unverified()
            },
            UnverifiedReading {
                values: vec![value("a", "b", 1.0); MAX_UNVERIFIED_VALUES + 1],
                ..unverified()
            },
            UnverifiedReading {
                values: vec![value(&long, "b", 1.0)],
                ..unverified()
            },
            UnverifiedReading {
                values: vec![value("a", "", 1.0)],
                ..unverified()
            },
            UnverifiedReading {
                values: vec![value("a", "b", f64::NAN)],
                ..unverified()
            },
            UnverifiedReading {
                values: vec![value("a", "b", f64::INFINITY)],
                ..unverified()
            },
            UnverifiedReading {
                time: Some(long.clone()),
                ..unverified()
            },
            UnverifiedReading {
                device: DeviceClaims {
                    serial: Some("s".repeat(MAX_CLAIM_LEN + 1)),
                    ..DeviceClaims::default()
                },
                ..unverified()
            },
            UnverifiedReading {
                device: DeviceClaims {
                    model: Some(String::new()),
                    ..DeviceClaims::default()
                },
                ..unverified()
            },
        ];
        for case in cases {
            let m = Manifest {
                unverified_readings: vec![case.clone()],
                ..manifest(None)
            };
            // Refused when sealing, and when read (too many values before they are decoded,
            // `bad-artifact`; the other ranges once decoded, `bad-manifest`).
            assert_eq!(m.validate().map_err(|e| e.code()), Err("bad-manifest"));
            let read = decode_value(&m).map_err(|e| e.code());
            assert!(
                matches!(read, Err("bad-manifest" | "bad-artifact")),
                "{case:?}: {read:?}"
            );
        }
        let claims_at_limit = UnverifiedReading {
            values: vec![value("a", "b", 1.0); MAX_UNVERIFIED_VALUES],
            device: DeviceClaims {
                manufacturer: Some("m".repeat(MAX_CLAIM_LEN)),
                ..DeviceClaims::default()
            },
            ..unverified()
        };
        assert!(claims_at_limit.validate().is_ok());
    }

    #[test]
    fn an_unverified_reading_cannot_claim_to_be_verified() {
        assert!(Manifest::from_cbor_value(with_unverified_entry(|_| {})).is_ok());
        // Any key outside the schema, a forged verdict or signature above all, is refused.
        for key in [
            "verified",
            "status",
            "signature",
            "chain",
            "reading",
            "challenge_salt",
        ] {
            let forged = with_unverified_entry(|entry| {
                entry.push((Value::Text(key.into()), Value::Bool(true)));
            });
            assert_eq!(
                Manifest::from_cbor_value(forged).map_err(|e| e.code()),
                Err("bad-artifact"),
                "{key}"
            );
        }
        let forged_claim = with_unverified_entry(|entry| {
            for (k, v) in entry.iter_mut() {
                if k.as_text() == Some("device")
                    && let Value::Map(claims) = v
                {
                    claims.push((Value::Text("certificate".into()), Value::Text("x".into())));
                }
            }
        });
        assert_eq!(
            Manifest::from_cbor_value(forged_claim).map_err(|e| e.code()),
            Err("bad-artifact")
        );
        // A source other than the two is refused; so is a value that is not a number.
        let other_source = with_unverified_entry(|entry| {
            for (k, v) in entry.iter_mut() {
                if k.as_text() == Some("source") {
                    *v = Value::Text("veil-signed".into());
                }
            }
        });
        assert_eq!(
            Manifest::from_cbor_value(other_source).map_err(|e| e.code()),
            Err("bad-manifest")
        );
        let text_value = with_first_value(Value::Text("120".into()));
        assert_eq!(
            Manifest::from_cbor_value(text_value).map_err(|e| e.code()),
            Err("bad-artifact")
        );
        // A whole number written as an integer by another encoder reads as that number.
        let integer_value = with_first_value(Value::Integer(121.into()));
        let read = Manifest::from_cbor_value(integer_value).map(|m| m.unverified_readings);
        assert_eq!(
            read.ok().and_then(|r| r.first().map(|r| r.values[0].value)),
            Some(121.0)
        );
    }

    /// A treatment consent given on the subject's own device, sealed with German and US law
    /// and an adult's band.
    fn with_context() -> Manifest {
        let event = veil_consent::ConsentEvent::new(
            veil_consent::EventKind::Given,
            veil_consent::PurposeScope::plain(veil_consent::Purpose::Treatment),
            veil_consent::Timestamp(1_780_000_000),
            veil_consent::Channel::Kiosk {
                staff_id: "nurse Ann Lee".into(),
            },
        );
        let context = ConsentContext::new(
            Some(&event),
            veil_consent::PurposeScope::plain(veil_consent::Purpose::Treatment),
            veil_consent::Jurisdiction::parse_list(["DE", "US"]).unwrap_or_default(),
            veil_consent::AgeBand::of(40).unwrap_or(veil_consent::AgeBand {
                from: 0,
                below: None,
            }),
        )
        .unwrap_or_else(|e| panic!("{e}"));
        let mut m = manifest(None);
        m.purpose = "treatment".into();
        m.consent.event_hash = context.event_hash().unwrap_or_default();
        m.consent.context = Some(context);
        m
    }

    /// The manifest's CBOR with `edit` applied to its `consent.context` map.
    fn with_context_value(edit: impl Fn(&mut Vec<(Value, Value)>)) -> Value {
        let Ok(Value::Map(mut top)) = with_context().to_cbor_value() else {
            unreachable!()
        };
        for (k, v) in &mut top {
            if let (Some("consent"), Value::Map(consent)) = (k.as_text(), v) {
                for (ck, cv) in consent.iter_mut() {
                    if let (Some("context"), Value::Map(context)) = (ck.as_text(), cv) {
                        edit(context);
                    }
                }
            }
        }
        Value::Map(top)
    }

    #[test]
    fn a_consent_context_round_trips_minimised_and_bound_to_its_hash() {
        let m = with_context();
        assert_eq!(decode_value(&m), Ok(m.clone()));
        let json = m.to_json();
        let context = &json["consent"]["context"];
        assert_eq!(context["jurisdictions"], serde_json::json!(["DE", "US"]));
        assert_eq!(context["event"]["channel"]["staff_id"], "withheld");
        assert!(context["age_band"]["from"].as_u64().unwrap_or(99) < 40);
        let bytes = m.encode().unwrap_or_default();
        assert!(!bytes.windows(3).any(|w| w == b"Ann"));
        // Another event hash: refused when sealing and when read.
        let mut forged = m.clone();
        forged.consent.event_hash = Some([5; 32]);
        assert_eq!(
            forged.validate().map_err(|e| e.code()),
            Err("consent-event-mismatch")
        );
        assert_eq!(
            decode_value(&forged).map_err(|e| e.code()),
            Err("consent-event-mismatch")
        );
        // An event for another purpose than the manifest's is refused.
        let mut other = m.clone();
        other.purpose = "research".into();
        assert_eq!(other.validate().map_err(|e| e.code()), Err("bad-manifest"));
        // Absent: no key, so older manifests encode as before.
        assert!(
            !manifest(None)
                .encode()
                .unwrap_or_default()
                .windows(7)
                .any(|w| w == b"context")
        );
    }

    #[test]
    fn a_consent_context_is_a_closed_bounded_schema() {
        assert!(Manifest::from_cbor_value(with_context_value(|_| {})).is_ok());
        type Edit<'a> = &'a dyn Fn(&mut Vec<(Value, Value)>);
        let refused = |edit: Edit<'_>| {
            Manifest::from_cbor_value(with_context_value(edit))
                .map_err(|e| e.code())
                .err()
        };
        let set = |key: &'static str, value: Value| {
            move |context: &mut Vec<(Value, Value)>| {
                for (k, v) in context.iter_mut() {
                    if k.as_text() == Some(key) {
                        *v = value.clone();
                    }
                }
            }
        };
        assert_eq!(
            refused(&|c: &mut Vec<(Value, Value)>| c
                .push((Value::Text("age".into()), Value::Integer(40.into())))),
            Some("bad-artifact")
        );
        let many = Value::Array(vec![
            Value::Text("DE".into());
            veil_consent::sealed::MAX_SEALED_JURISDICTIONS + 1
        ]);
        assert_eq!(refused(&set("jurisdictions", many)), Some("bad-artifact"));
        let long = Value::Array(vec![Value::Text("D".repeat(17))]);
        assert_eq!(refused(&set("jurisdictions", long)), Some("bad-artifact"));
        let unknown = Value::Array(vec![Value::Text("XX".into())]);
        assert_eq!(
            refused(&set("jurisdictions", unknown)),
            Some("bad-manifest")
        );
        let none = Value::Array(vec![]);
        assert_eq!(refused(&set("jurisdictions", none)), Some("bad-manifest"));
        let huge = Value::Bytes(vec![b' '; veil_consent::sealed::MAX_SEALED_EVENT_BYTES + 1]);
        assert_eq!(refused(&set("event", huge)), Some("bad-manifest"));
        let text = Value::Text("{}".into());
        assert_eq!(refused(&set("event", text)), Some("bad-artifact"));
        let band = |pairs: Vec<(&str, Value)>| map(pairs);
        for bad_band in [
            band(vec![
                ("from", Value::Integer(18.into())),
                ("below", Value::Integer(18.into())),
            ]),
            band(vec![("from", Value::Integer(400.into()))]),
            band(vec![
                ("from", Value::Integer(18.into())),
                ("exact", Value::Integer(34.into())),
            ]),
            band(vec![("below", Value::Integer(18.into()))]),
        ] {
            assert!(
                matches!(
                    refused(&set("age_band", bad_band.clone())),
                    Some("bad-artifact" | "bad-manifest")
                ),
                "{bad_band:?}"
            );
        }
    }
}
