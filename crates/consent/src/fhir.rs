//! HL7 FHIR R4 exchange: the ledger as a `Bundle` of `Consent` resources, and back.
//!
//! Export: one `Consent` per ledger event, so the whole history travels. Status follows FHIR R4
//! (`Consent.status`): a consent still in force is `active`; one later withdrawn, expired or
//! renewed is `inactive`; a withdrawal is `inactive` (or `rejected` when nothing had been given);
//! purposes go in `provision.purpose` as HL7 v3 ActReason codings plus a Veil coding that carries
//! the research tier; expiry is `provision.period.end`; the partner is a `provision.actor` with role
//! `IRCP` (information recipient). Veil-only detail (event kind, channel, destination country,
//! HIPAA authorization) rides in extensions, which other systems may ignore.
//!
//! Import accepts Veil's own output exactly, and standard FHIR from other systems: purposes from
//! ActReason codes (`TREAT`, `HOPERAT`, `HRESCH`, `HMARKT`, ...), nested provisions, `status`
//! `inactive`/`rejected` or an `active` `deny` read as a withdrawal. Unknown codes, systems or
//! statuses are errors, never skipped into an allow.

use std::collections::HashSet;

use serde_json::{Map, Value, json};

use crate::ledger::{MAX_EVENTS, MAX_LEDGER_BYTES};
use crate::purpose::ACT_REASON_SYSTEM;
use crate::{
    Channel, ConsentError, ConsentEvent, ConsentLedger, EventKind, HipaaAuthorization, Purpose,
    PurposeScope, ResearchTier, ResearchWaiver, TextRef, Timestamp,
};

/// Veil's code system for purposes (carries the research tier: `research/this-study`).
pub const VEIL_PURPOSE_SYSTEM: &str = "https://fhir.veil.invalid/CodeSystem/consent-purpose";
/// Extension: the ledger event kind (`valueCode`).
pub const EXT_EVENT_KIND: &str = "https://fhir.veil.invalid/StructureDefinition/consent-event-kind";
/// Extension: capture channel (`valueCode`: own-device, kiosk, imported).
pub const EXT_CHANNEL: &str = "https://fhir.veil.invalid/StructureDefinition/consent-channel";
/// Extension: kiosk staff id or import source (`valueString`).
pub const EXT_CHANNEL_DETAIL: &str =
    "https://fhir.veil.invalid/StructureDefinition/consent-channel-detail";
/// Extension: destination country of a cross-border transfer (`valueCode`, ISO 3166-1 alpha-2).
pub const EXT_COUNTRY: &str =
    "https://fhir.veil.invalid/StructureDefinition/consent-destination-country";
/// Extension: the safeguard a cross-border transfer rests on (`valueCode`: adequacy, scc, bcr, dpf,
/// derogation).
pub const EXT_TRANSFER_MECHANISM: &str =
    "https://fhir.veil.invalid/StructureDefinition/consent-transfer-mechanism";
/// Extension: HIPAA authorization elements as JSON (`valueString`).
pub const EXT_AUTHORIZATION: &str =
    "https://fhir.veil.invalid/StructureDefinition/hipaa-authorization";
/// Extension: an IRB / Privacy Board waiver's documentation as JSON (`valueString`,
/// 45 CFR 164.512(i)(2)).
pub const EXT_WAIVER: &str = "https://fhir.veil.invalid/StructureDefinition/research-waiver";
/// Extension: the research study a consent ends with, or that ended (`valueString`).
pub const EXT_STUDY: &str = "https://fhir.veil.invalid/StructureDefinition/consent-study";
/// HL7 consent-policy code system (`hipaa-auth`, `hipaa-research`, ...): the policy a Consent
/// records; `hipaa-auth` / `hipaa-research` mark a HIPAA authorization (45 CFR 164.508).
pub const CONSENT_POLICY_SYSTEM: &str = "http://terminology.hl7.org/CodeSystem/consentpolicycodes";
/// Identifier system of the Bundle: the ledger's subject pseudonym (so an empty ledger round-trips).
pub const LEDGER_IDENTIFIER_SYSTEM: &str = "urn:veil:consent-ledger";
/// Identifier system of ledger events.
pub const EVENT_IDENTIFIER_SYSTEM: &str = "urn:veil:consent-event";

const CONSENT_SCOPE_SYSTEM: &str = "http://terminology.hl7.org/CodeSystem/consentscope";
const ACT_CODE_SYSTEM: &str = "http://terminology.hl7.org/CodeSystem/v3-ActCode";
const PARTICIPATION_SYSTEM: &str = "http://terminology.hl7.org/CodeSystem/v3-ParticipationType";
const MAX_DEPTH: usize = 8;
const MAX_CODINGS: usize = 64;

fn veil_code(scope: &PurposeScope) -> String {
    match scope.tier {
        Some(t) => format!("{}/{}", scope.purpose.id(), t.id()),
        None => scope.purpose.id().to_owned(),
    }
}

fn uuid_from_hex(h: &str) -> String {
    // Name-based: the event id's 128 bits laid out as a UUID (version nibble 8, RFC 9562 §5.8).
    let mut c: Vec<char> = h.chars().chain(std::iter::repeat('0')).take(32).collect();
    c[12] = '8';
    c[16] = match c[16] {
        '0' | '4' | '8' | 'c' => '8',
        '1' | '5' | '9' | 'd' => '9',
        '2' | '6' | 'a' | 'e' => 'a',
        _ => 'b',
    };
    let s: String = c.into_iter().collect();
    format!(
        "{}-{}-{}-{}-{}",
        &s[0..8],
        &s[8..12],
        &s[12..16],
        &s[16..20],
        &s[20..32]
    )
}

/// The FHIR `Consent.status` of every event, in O(events × distinct scopes):
/// a give/renewal is `inactive` once a later event of the person touches its scope (or a later
/// withdrawal of a scope it covers, the end of the study it was given until, or its expiry has
/// passed by `at`), else `active`; an expiry is `inactive`; a withdrawal is `inactive` if something
/// it ends was given before, else `rejected` (a refusal). A waiver is `active` until a later waiver
/// or end of waiver of its scope, the end of its study, or its expiry; the end of a waiver or of a
/// study is `inactive`.
fn statuses(ledger: &ConsentLedger, at: Option<Timestamp>) -> Vec<&'static str> {
    let events = ledger.events();
    let mut out = vec![""; events.len()];
    // Backward pass: scopes touched later, scopes withdrawn later, waivers and studies ended later.
    let mut later: HashSet<&PurposeScope> = HashSet::new();
    let mut later_withdrawn: HashSet<&PurposeScope> = HashSet::new();
    let mut later_waiver: HashSet<&PurposeScope> = HashSet::new();
    let mut ended_studies: HashSet<&str> = HashSet::new();
    for (i, e) in events.iter().enumerate().rev() {
        let expired = matches!((e.expires_at, at), (Some(x), Some(a)) if x <= a);
        let study_over = |s: Option<&str>| s.is_some_and(|s| ended_studies.contains(s.trim()));
        match e.kind {
            k if k.gives() => {
                let superseded = later.contains(&e.scope)
                    || later_withdrawn.iter().any(|w| e.scope.covers(w))
                    || study_over(e.study.as_deref());
                out[i] = if expired || superseded {
                    "inactive"
                } else {
                    "active"
                };
            }
            EventKind::Waived => {
                let over = later_waiver.contains(&e.scope)
                    || study_over(e.waiver.as_ref().map(|w| w.study.as_str()));
                out[i] = if expired || over {
                    "inactive"
                } else {
                    "active"
                };
            }
            _ => {}
        }
        match e.kind {
            EventKind::Waived | EventKind::WaiverEnded => {
                later_waiver.insert(&e.scope);
            }
            EventKind::StudyEnded => {
                if let Some(s) = &e.study {
                    ended_studies.insert(s.trim());
                }
            }
            EventKind::Withdrawn => {
                later_withdrawn.insert(&e.scope);
                later.insert(&e.scope);
            }
            _ => {
                later.insert(&e.scope);
            }
        }
    }
    // Forward pass: scopes given so far.
    let mut given: HashSet<&PurposeScope> = HashSet::new();
    for (i, e) in events.iter().enumerate() {
        match e.kind {
            EventKind::Expired | EventKind::WaiverEnded | EventKind::StudyEnded => {
                out[i] = "inactive";
            }
            EventKind::Withdrawn => {
                out[i] = if given.iter().any(|g| g.covers(&e.scope)) {
                    "inactive"
                } else {
                    "rejected"
                };
            }
            EventKind::Waived => {}
            _ => {
                given.insert(&e.scope);
            }
        }
    }
    out
}

/// Export a ledger as a FHIR R4 `Bundle` (type `collection`) of `Consent` resources, one per event.
/// `at`, if given, also marks consents whose expiry has passed as `inactive`.
#[must_use]
pub fn export_bundle(ledger: &ConsentLedger, at: Option<Timestamp>) -> Value {
    let subject = ledger.subject();
    let events = ledger.events();
    let mut entries = Vec::with_capacity(events.len());
    let status = statuses(ledger, at);
    for (i, e) in events.iter().enumerate() {
        let id = ledger.event_id(i).unwrap_or_else(|| format!("{i:032x}"));
        let status = status[i];
        let mut ext = vec![json!({"url": EXT_EVENT_KIND, "valueCode": e.kind.id()})];
        match &e.channel {
            Channel::OwnDevice => ext.push(json!({"url": EXT_CHANNEL, "valueCode": "own-device"})),
            Channel::Kiosk { staff_id } => {
                ext.push(json!({"url": EXT_CHANNEL, "valueCode": "kiosk"}));
                ext.push(json!({"url": EXT_CHANNEL_DETAIL, "valueString": staff_id}));
            }
            Channel::Imported { source } => {
                ext.push(json!({"url": EXT_CHANNEL, "valueCode": "imported"}));
                if !source.is_empty() {
                    ext.push(json!({"url": EXT_CHANNEL_DETAIL, "valueString": source}));
                }
            }
        }
        if let Some(c) = &e.scope.country {
            ext.push(json!({"url": EXT_COUNTRY, "valueCode": c}));
        }
        if let Some(m) = e.transfer_mechanism {
            ext.push(json!({"url": EXT_TRANSFER_MECHANISM, "valueCode": m.id()}));
        }
        if let Some(a) = &e.authorization
            && let Ok(s) = serde_json::to_string(a)
        {
            ext.push(json!({"url": EXT_AUTHORIZATION, "valueString": s}));
        }
        if let Some(w) = &e.waiver
            && let Ok(s) = serde_json::to_string(w)
        {
            ext.push(json!({"url": EXT_WAIVER, "valueString": s}));
        }
        if let Some(s) = &e.study {
            ext.push(json!({"url": EXT_STUDY, "valueString": s}));
        }
        let scope_code = match e.scope.purpose {
            Purpose::Treatment => ("treatment", "Treatment"),
            Purpose::Research => ("research", "Research"),
            _ => ("patient-privacy", "Privacy Consent"),
        };
        let mut purposes = Vec::new();
        if let (Some(code), Some(display)) = (
            e.scope.purpose.act_reason(),
            e.scope.purpose.act_reason_display(),
        ) {
            purposes.push(json!({"system": ACT_REASON_SYSTEM, "code": code, "display": display}));
        }
        purposes.push(json!({"system": VEIL_PURPOSE_SYSTEM, "code": veil_code(&e.scope), "display": e.scope.label()}));
        let deny = e.kind == EventKind::Withdrawn;
        let mut period = Map::new();
        period.insert("start".into(), json!(e.at.to_rfc3339()));
        let end = match e.kind {
            EventKind::Expired | EventKind::WaiverEnded | EventKind::StudyEnded => Some(e.at),
            _ if deny => None,
            _ => e.expires_at,
        };
        if let Some(end) = end {
            period.insert("end".into(), json!(end.to_rfc3339()));
        }
        let mut provision = Map::new();
        provision.insert("type".into(), json!(if deny { "deny" } else { "permit" }));
        provision.insert("period".into(), Value::Object(period));
        if let Some(p) = &e.scope.partner {
            provision.insert(
                "actor".into(),
                json!([{
                    "role": {"coding": [{"system": PARTICIPATION_SYSTEM, "code": "IRCP", "display": "information recipient"}]},
                    "reference": {"display": p}
                }]),
            );
        }
        if let Some(w) = &e.waiver
            && !w.phi.trim().is_empty()
        {
            provision.insert(
                "data".into(),
                json!([{"meaning": "related", "reference": {"display": w.phi}}]),
            );
        }
        if let Some(a) = &e.authorization
            && e.scope.partner.is_none()
            && !deny
        {
            let mut actors = Vec::new();
            if !a.recipients.trim().is_empty() {
                actors.push(json!({
                    "role": {"coding": [{"system": PARTICIPATION_SYSTEM, "code": "IRCP", "display": "information recipient"}]},
                    "reference": {"display": a.recipients}
                }));
            }
            if !actors.is_empty() {
                provision.insert("actor".into(), Value::Array(actors));
            }
            if !a.information.trim().is_empty() {
                provision.insert(
                    "data".into(),
                    json!([{"meaning": "related", "reference": {"display": a.information}}]),
                );
            }
        }
        provision.insert("purpose".into(), Value::Array(purposes));
        let performer = if let Some(w) = &e.waiver {
            // The board that waived authorization, not the patient.
            json!([{"type": "Organization", "display": w.board}])
        } else if e.kind == EventKind::GuardianGiven {
            json!([{"type": "RelatedPerson", "display": e.guardian.clone().unwrap_or_else(|| "guardian".into())}])
        } else {
            json!([{"reference": format!("Patient/{subject}")}])
        };
        let mut consent = Map::new();
        consent.insert("resourceType".into(), json!("Consent"));
        consent.insert("id".into(), json!(id));
        consent.insert("extension".into(), Value::Array(ext));
        consent.insert(
            "identifier".into(),
            json!([{"system": EVENT_IDENTIFIER_SYSTEM, "value": format!("{subject}/{i}")}]),
        );
        consent.insert("status".into(), json!(status));
        consent.insert("scope".into(), json!({"coding": [{"system": CONSENT_SCOPE_SYSTEM, "code": scope_code.0, "display": scope_code.1}]}));
        consent.insert("category".into(), json!([{"coding": [{"system": "http://loinc.org", "code": "59284-0", "display": "Patient Consent"}]}]));
        consent.insert(
            "patient".into(),
            json!({"reference": format!("Patient/{subject}")}),
        );
        consent.insert("dateTime".into(), json!(e.at.to_rfc3339()));
        consent.insert("performer".into(), performer);
        if let Some(t) = &e.text {
            consent.insert("policy".into(), json!([{"uri": t.urn()}]));
        }
        match (&e.authorization, deny) {
            // A waiver: the policy is the waiver of 45 CFR 164.512(i); the chair's signature and the
            // approval date are the source attachment.
            _ if e.kind.by_staff() => {
                consent.insert(
                    "policyRule".into(),
                    json!({"text": "IRB / Privacy Board waiver or alteration of authorization (45 CFR 164.512(i))"}),
                );
                if let Some(w) = &e.waiver {
                    let mut att = Map::new();
                    att.insert("title".into(), json!(w.signed_by));
                    if let Some(t) = w.approved_on {
                        att.insert("creation".into(), json!(t.to_rfc3339()));
                    }
                    consent.insert("sourceAttachment".into(), Value::Object(att));
                }
            }
            // A HIPAA authorization in the standard shape other systems read (what import-fhir
            // maps back element by element, 45 CFR 164.508(c)).
            (Some(a), false) => {
                let code = if e.scope.purpose == Purpose::Research {
                    "hipaa-research"
                } else {
                    "hipaa-auth"
                };
                consent.insert(
                    "policyRule".into(),
                    json!({"coding": [{"system": CONSENT_POLICY_SYSTEM, "code": code}]}),
                );
                if !a.disclosed_by.trim().is_empty() {
                    consent.insert("organization".into(), json!([{"display": a.disclosed_by}]));
                }
                if !a.signature.trim().is_empty() {
                    let mut att = Map::new();
                    att.insert("title".into(), json!(a.signature));
                    if let Some(t) = a.signed_at {
                        att.insert("creation".into(), json!(t.to_rfc3339()));
                    }
                    consent.insert("sourceAttachment".into(), Value::Object(att));
                }
            }
            _ => {
                consent.insert(
                    "policyRule".into(),
                    json!({"coding": [{"system": ACT_CODE_SYSTEM, "code": if deny { "OPTOUT" } else { "OPTIN" }}]}),
                );
            }
        }
        consent.insert("provision".into(), Value::Object(provision));
        entries.push(json!({"fullUrl": format!("urn:uuid:{}", uuid_from_hex(&id)), "resource": Value::Object(consent)}));
    }
    let mut bundle = Map::new();
    bundle.insert("resourceType".into(), json!("Bundle"));
    bundle.insert(
        "identifier".into(),
        json!({"system": LEDGER_IDENTIFIER_SYSTEM, "value": subject}),
    );
    bundle.insert("type".into(), json!("collection"));
    if let Some(t) = at.or_else(|| events.last().map(|e| e.at)) {
        bundle.insert("timestamp".into(), json!(t.to_rfc3339()));
    }
    // FHIR JSON forbids empty arrays (R4 §2.6.2 "JSON representation"): no events, no `entry`.
    if !entries.is_empty() {
        bundle.insert("entry".into(), Value::Array(entries));
    }
    Value::Object(bundle)
}

/// Serialises a FHIR JSON value with `resourceType` first in every resource (the FHIR convention,
/// which streaming parsers rely on); other keys keep their order.
struct FhirOrder<'a>(&'a Value);

impl serde::Serialize for FhirOrder<'_> {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        use serde::ser::{SerializeMap, SerializeSeq};
        match self.0 {
            Value::Object(m) => {
                let mut map = s.serialize_map(Some(m.len()))?;
                if let Some(rt) = m.get("resourceType") {
                    map.serialize_entry("resourceType", rt)?;
                }
                for (k, v) in m.iter().filter(|(k, _)| k.as_str() != "resourceType") {
                    map.serialize_entry(k, &FhirOrder(v))?;
                }
                map.end()
            }
            Value::Array(a) => {
                let mut seq = s.serialize_seq(Some(a.len()))?;
                for v in a {
                    seq.serialize_element(&FhirOrder(v))?;
                }
                seq.end()
            }
            other => other.serialize(s),
        }
    }
}

/// [`export_bundle`] as pretty-printed FHIR JSON text, `resourceType` first in every resource.
///
/// # Errors
/// [`ConsentError::Json`] (not expected).
pub fn export_bundle_json(
    ledger: &ConsentLedger,
    at: Option<Timestamp>,
) -> Result<String, ConsentError> {
    Ok(serde_json::to_string_pretty(&FhirOrder(&export_bundle(
        ledger, at,
    )))?)
}

fn fhir(msg: impl Into<String>) -> ConsentError {
    ConsentError::Fhir(msg.into())
}

fn str_at<'a>(v: &'a Value, key: &str) -> Option<&'a str> {
    v.get(key).and_then(Value::as_str)
}

fn arr<'a>(v: &'a Value, key: &str) -> &'a [Value] {
    v.get(key)
        .and_then(Value::as_array)
        .map_or(&[], Vec::as_slice)
}

fn extension<'a>(v: &'a Value, url: &str, field: &str) -> Option<&'a str> {
    arr(v, "extension")
        .iter()
        .find(|e| str_at(e, "url") == Some(url))
        .and_then(|e| str_at(e, field))
}

fn time(s: &str) -> Result<Timestamp, ConsentError> {
    Timestamp::parse_rfc3339(s)
}

/// One permission/denial found in a Consent's provision tree.
struct Found {
    deny: bool,
    scopes: Vec<PurposeScope>,
    start: Option<Timestamp>,
    end: Option<Timestamp>,
}

fn purposes_of(node: &Value, country: Option<&str>) -> Result<Vec<PurposeScope>, ConsentError> {
    let codings = arr(node, "purpose");
    if codings.len() > MAX_CODINGS {
        return Err(ConsentError::TooLarge(format!(
            "{} purpose codings",
            codings.len()
        )));
    }
    let partner = arr(node, "actor")
        .iter()
        .find(|a| {
            a.get("role")
                .map(|r| {
                    arr(r, "coding")
                        .iter()
                        .any(|c| str_at(c, "code") == Some("IRCP"))
                })
                .unwrap_or(false)
        })
        .and_then(|a| a.get("reference"))
        .and_then(|r| str_at(r, "display").or_else(|| str_at(r, "reference")))
        .map(str::to_owned);
    let veil: Vec<&Value> = codings
        .iter()
        .filter(|c| str_at(c, "system") == Some(VEIL_PURPOSE_SYSTEM))
        .collect();
    let mut out: Vec<PurposeScope> = Vec::new();
    let use_codings: Vec<&Value> = if veil.is_empty() {
        codings.iter().collect()
    } else {
        veil
    };
    for c in use_codings {
        let system = str_at(c, "system").unwrap_or("");
        let code =
            str_at(c, "code").ok_or_else(|| fhir("provision.purpose coding without code"))?;
        let (purpose, tier) = match system {
            VEIL_PURPOSE_SYSTEM => match code.split_once('/') {
                Some((p, t)) => (p.parse::<Purpose>()?, Some(t.parse::<ResearchTier>()?)),
                None => (code.parse::<Purpose>()?, None),
            },
            ACT_REASON_SYSTEM => Purpose::from_act_reason(code)?,
            other => {
                return Err(ConsentError::UnknownPurposeCode(
                    format!("{other}|{code}").chars().take(120).collect(),
                ));
            }
        };
        let scope = PurposeScope {
            purpose,
            tier,
            partner: if purpose == Purpose::PartnerSharing {
                partner.clone()
            } else {
                None
            },
            country: if purpose == Purpose::CrossBorderTransfer {
                country.map(str::to_owned)
            } else {
                None
            },
        }
        .validated()?;
        if !out.contains(&scope) {
            out.push(scope);
        }
    }
    Ok(out)
}

fn walk(
    node: &Value,
    inherited: Option<bool>,
    depth: usize,
    country: Option<&str>,
    out: &mut Vec<Found>,
) -> Result<(), ConsentError> {
    if depth > MAX_DEPTH {
        return Err(fhir("provisions nested too deep"));
    }
    let deny = match str_at(node, "type") {
        Some("deny") => Some(true),
        Some("permit") => Some(false),
        Some(other) => {
            return Err(fhir(format!(
                "unknown provision.type `{}`",
                other.chars().take(20).collect::<String>()
            )));
        }
        None => inherited,
    };
    let scopes = purposes_of(node, country)?;
    if !scopes.is_empty() {
        let period = node.get("period");
        let start = period
            .and_then(|p| str_at(p, "start"))
            .map(time)
            .transpose()?;
        let end = period
            .and_then(|p| str_at(p, "end"))
            .map(time)
            .transpose()?;
        // FHIR R4: a provision without a type is a permit (the base policy applies otherwise).
        out.push(Found {
            deny: deny.unwrap_or(false),
            scopes,
            start,
            end,
        });
    }
    let nested = arr(node, "provision");
    if nested.len() > MAX_CODINGS {
        return Err(ConsentError::TooLarge(format!(
            "{} nested provisions",
            nested.len()
        )));
    }
    for n in nested {
        walk(n, deny, depth + 1, country, out)?;
    }
    Ok(())
}

fn patient_id(consent: &Value) -> Result<String, ConsentError> {
    let r = consent
        .get("patient")
        .and_then(|p| str_at(p, "reference"))
        .ok_or_else(|| fhir("Consent.patient.reference is missing"))?;
    let after = r
        .rsplit_once("Patient/")
        .map(|(_, a)| a)
        .ok_or_else(|| fhir("Consent.patient is not a Patient reference"))?;
    Ok(after.split('/').next().unwrap_or(after).to_owned())
}

/// Whether the Consent's `policyRule` says it is a HIPAA authorization (`hipaa-auth`,
/// `hipaa-research` of the consent-policy code system).
fn hipaa_policy(c: &Value) -> bool {
    c.get("policyRule").is_some_and(|p| {
        arr(p, "coding").iter().any(|x| {
            str_at(x, "system") == Some(CONSENT_POLICY_SYSTEM)
                && matches!(str_at(x, "code"), Some("hipaa-auth" | "hipaa-research"))
        })
    })
}

fn displays(items: &[Value], keys: &[&str]) -> Vec<String> {
    let mut out = Vec::new();
    for it in items.iter().take(MAX_CODINGS) {
        for k in keys {
            let v = match k.split_once('.') {
                Some((a, b)) => it.get(a).and_then(|x| str_at(x, b)),
                None => str_at(it, k),
            };
            if let Some(v) = v.filter(|v| !v.trim().is_empty()) {
                out.push(v.chars().take(500).collect());
                break;
            }
        }
    }
    out
}

/// A HIPAA authorization from where FHIR R4 carries each element of 45 CFR 164.508(c):
/// (c)(1)(i) the information: `provision.data` / `provision.class` / `provision.code`;
/// (ii) who discloses: `Consent.organization`; (iii) to whom: `provision.actor` with role `IRCP`;
/// (iv) the purpose: `provision.purpose`; (v) the expiry: `provision.period.end`; (vi) the signature
/// and date: the signed form in `sourceAttachment` (its `creation`, else `Consent.dateTime`), a
/// `RelatedPerson` performer as the representative. The (c)(2) statements are part of the signed
/// form the attachment carries (164.508(c)(2) requires them in the form). What is missing is named.
fn authorization_from_fhir(
    c: &Value,
    date: Option<Timestamp>,
) -> Result<HipaaAuthorization, ConsentError> {
    let prov = c.get("provision").cloned().unwrap_or(Value::Null);
    let mut information = displays(
        arr(&prov, "data"),
        &["reference.display", "reference.reference"],
    );
    information.extend(displays(arr(&prov, "class"), &["display", "code"]));
    information.extend(displays(arr(&prov, "code"), &["text"]));
    let disclosed_by = displays(arr(c, "organization"), &["display", "reference"]);
    let recipients: Vec<String> = arr(&prov, "actor")
        .iter()
        .filter(|a| {
            a.get("role").is_some_and(|r| {
                arr(r, "coding")
                    .iter()
                    .any(|x| str_at(x, "code") == Some("IRCP"))
            })
        })
        .filter_map(|a| a.get("reference"))
        .filter_map(|r| str_at(r, "display").or_else(|| str_at(r, "reference")))
        .map(|s| s.chars().take(500).collect())
        .collect();
    let purpose = displays(arr(&prov, "purpose"), &["display", "code"]);
    let expiration = prov
        .get("period")
        .and_then(|p| str_at(p, "end"))
        .map(str::to_owned);
    let attachment = c.get("sourceAttachment");
    let signature = attachment.and_then(|a| {
        str_at(a, "title")
            .or_else(|| str_at(a, "url"))
            .map(|t| format!("signed form: {}", t.chars().take(400).collect::<String>()))
            .or_else(|| str_at(a, "data").map(|_| "signed form attached".to_owned()))
    });
    let signed_at = attachment
        .and_then(|a| str_at(a, "creation"))
        .map(time)
        .transpose()?
        .or(date);
    let representative = arr(c, "performer")
        .iter()
        .find(|p| str_at(p, "type") == Some("RelatedPerson"))
        .and_then(|p| str_at(p, "display"))
        .map(|d| format!("personal representative {d}: authority as stated in the signed form"));
    let mut missing = Vec::new();
    if information.is_empty() {
        missing.push(
            "164.508(c)(1)(i) the information (provision.data, provision.class or provision.code)",
        );
    }
    if disclosed_by.is_empty() {
        missing.push("164.508(c)(1)(ii) who may disclose (Consent.organization)");
    }
    if recipients.is_empty() {
        missing.push("164.508(c)(1)(iii) to whom (provision.actor with role IRCP)");
    }
    if purpose.is_empty() {
        missing.push("164.508(c)(1)(iv) the purpose (provision.purpose)");
    }
    if expiration.is_none() {
        missing.push("164.508(c)(1)(v) an expiration date (provision.period.end)");
    }
    if signature.is_none() || signed_at.is_none() {
        missing.push("164.508(c)(1)(vi) the signed form and its date (sourceAttachment)");
    }
    if !missing.is_empty() {
        return Err(fhir(format!(
            "HIPAA authorization (policyRule hipaa-auth/hipaa-research) lacks {}",
            missing.join("; ")
        )));
    }
    let signed = attachment.is_some();
    let a = HipaaAuthorization {
        information: information.join("; "),
        disclosed_by: disclosed_by.join("; "),
        recipients: recipients.join("; "),
        purpose: purpose.join("; "),
        expiration: expiration.unwrap_or_default(),
        signature: signature.unwrap_or_default(),
        signed_at,
        representative_authority: representative,
        right_to_revoke_stated: signed,
        conditioning_stated: signed,
        redisclosure_stated: signed,
        form: None,
    };
    Ok(a)
}

/// Events of one Consent resource (empty for draft/proposed/entered-in-error).
fn consent_events(c: &Value) -> Result<Vec<ConsentEvent>, ConsentError> {
    let status = str_at(c, "status").ok_or_else(|| fhir("Consent.status is missing"))?;
    let withdrawn_status = match status {
        "active" => false,
        "inactive" | "rejected" => true,
        // Not (or no longer) a consent decision: nothing to record.
        "draft" | "proposed" | "entered-in-error" => return Ok(Vec::new()),
        other => {
            return Err(ConsentError::UnknownStatus(
                other.chars().take(40).collect(),
            ));
        }
    };
    let kind_ext = extension(c, EXT_EVENT_KIND, "valueCode");
    let date = str_at(c, "dateTime").map(time).transpose()?;
    let country = extension(c, EXT_COUNTRY, "valueCode");
    let transfer_mechanism = extension(c, EXT_TRANSFER_MECHANISM, "valueCode")
        .map(str::parse::<crate::decide::TransferMechanism>)
        .transpose()?;
    let mut found = Vec::new();
    if let Some(p) = c.get("provision") {
        walk(p, None, 0, country, &mut found)?;
    }
    if found.is_empty() {
        return Err(fhir(
            "Consent has no provision.purpose: Veil cannot tell what it permits",
        ));
    }
    let channel = match extension(c, EXT_CHANNEL, "valueCode") {
        Some("own-device") => Channel::OwnDevice,
        Some("kiosk") => Channel::Kiosk {
            staff_id: extension(c, EXT_CHANNEL_DETAIL, "valueString")
                .unwrap_or_default()
                .to_owned(),
        },
        Some("imported") | None => Channel::Imported {
            source: extension(c, EXT_CHANNEL_DETAIL, "valueString")
                .or_else(|| str_at(c, "id"))
                .unwrap_or("fhir")
                .chars()
                .take(200)
                .collect(),
        },
        Some(other) => {
            return Err(fhir(format!(
                "unknown channel `{}`",
                other.chars().take(20).collect::<String>()
            )));
        }
    };
    let authorization = match extension(c, EXT_AUTHORIZATION, "valueString") {
        Some(s) => Some(serde_json::from_str::<HipaaAuthorization>(s)?),
        None if !withdrawn_status && hipaa_policy(c) => Some(authorization_from_fhir(c, date)?),
        None => None,
    };
    let waiver = extension(c, EXT_WAIVER, "valueString")
        .map(serde_json::from_str::<ResearchWaiver>)
        .transpose()?;
    let study = extension(c, EXT_STUDY, "valueString").map(str::to_owned);
    let text = arr(c, "policy")
        .iter()
        .filter_map(|p| str_at(p, "uri"))
        .find_map(TextRef::from_urn);
    let guardian = arr(c, "performer")
        .iter()
        .find(|p| str_at(p, "type") == Some("RelatedPerson"))
        .and_then(|p| str_at(p, "display"))
        .map(str::to_owned);
    let mut out = Vec::new();
    for f in found {
        let at = date
            .or(f.start)
            .ok_or_else(|| fhir("Consent has neither dateTime nor provision.period.start"))?;
        let kind = match kind_ext {
            Some(k) => EventKind::from_id(k).ok_or_else(|| {
                fhir(format!(
                    "unknown event kind `{}`",
                    k.chars().take(20).collect::<String>()
                ))
            })?,
            None if withdrawn_status || f.deny => EventKind::Withdrawn,
            None if guardian.is_some() => EventKind::GuardianGiven,
            None => EventKind::Given,
        };
        let mut expires_at = match kind {
            k if k.gives() || k == EventKind::Waived => f.end,
            _ => None,
        };
        let mut kind = kind;
        if kind.gives() && expires_at.is_some_and(|e| e <= at) {
            // Already over when recorded: record that it expired.
            kind = EventKind::Expired;
            expires_at = None;
        }
        for scope in f.scopes {
            out.push(ConsentEvent {
                kind,
                text: text.clone().filter(|t| t.purpose == scope.purpose),
                scope,
                at,
                channel: channel.clone(),
                expires_at,
                guardian: if kind == EventKind::GuardianGiven {
                    guardian.clone()
                } else {
                    None
                },
                authorization: authorization.clone(),
                transfer_mechanism,
                study: study.clone(),
                waiver: waiver.clone(),
            });
        }
    }
    Ok(out)
}

/// Import a FHIR R4 `Bundle` of `Consent` resources (or a single `Consent`) into a ledger.
///
/// Non-Consent entries are ignored; all Consents must be about the same patient. Events are ordered
/// by time (stable for equal times) and then appended with every ledger check.
///
/// # Errors
/// [`ConsentError::Fhir`], [`ConsentError::UnknownPurposeCode`], [`ConsentError::UnknownStatus`],
/// [`ConsentError::TooLarge`], JSON and ledger errors.
pub fn import_bundle(bytes: &[u8]) -> Result<ConsentLedger, ConsentError> {
    if bytes.len() > MAX_LEDGER_BYTES {
        return Err(ConsentError::TooLarge(format!(
            "bundle of {} bytes",
            bytes.len()
        )));
    }
    let v: Value = serde_json::from_slice(bytes)?;
    let consents: Vec<&Value> = match str_at(&v, "resourceType") {
        Some("Bundle") => {
            let entries = arr(&v, "entry");
            if entries.len() > MAX_EVENTS {
                return Err(ConsentError::TooLarge(format!("{} entries", entries.len())));
            }
            entries
                .iter()
                .filter_map(|e| e.get("resource"))
                .filter(|r| str_at(r, "resourceType") == Some("Consent"))
                .collect()
        }
        Some("Consent") => vec![&v],
        Some(other) => {
            return Err(fhir(format!(
                "expected a Bundle or Consent, got `{}`",
                other.chars().take(40).collect::<String>()
            )));
        }
        None => return Err(fhir("no resourceType")),
    };
    if consents.is_empty() {
        // Veil's export of an empty ledger: the subject is in Bundle.identifier.
        return match v.get("identifier") {
            Some(id) if str_at(id, "system") == Some(LEDGER_IDENTIFIER_SYSTEM) => {
                ConsentLedger::new(str_at(id, "value").unwrap_or_default())
            }
            _ => Err(fhir("no Consent resources")),
        };
    }
    let subject = patient_id(consents[0])?;
    let mut events = Vec::new();
    for c in consents {
        if patient_id(c)? != subject {
            return Err(fhir("Consents about different patients in one bundle"));
        }
        events.extend(consent_events(c)?);
        if events.len() > MAX_EVENTS {
            return Err(ConsentError::TooLarge(format!(
                "more than {MAX_EVENTS} events"
            )));
        }
    }
    events.sort_by_key(|e| e.at);
    let mut ledger = ConsentLedger::new(&subject)?;
    for e in events {
        ledger.append(e)?;
    }
    Ok(ledger)
}
