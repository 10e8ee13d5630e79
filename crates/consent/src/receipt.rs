//! Consent receipts: a record for the person after every change, in JSON and printable HTML.
//!
//! Field names follow the Kantara Initiative Consent Receipt Specification v1.1 (`version`,
//! `jurisdiction`, `consentTimestamp`, `collectionMethod`, `consentReceiptID`, `language`,
//! `piiPrincipalId`, `piiControllers`, `policyUrl`, `services[].purposes[]`, `sensitive`, `spiCat`),
//! which ISO/IEC TS 27560:2023 (consent record information structure) builds on; the fields
//! ISO/IEC TS 27560 adds for the record's life cycle are carried as `eventType`, `consentStatus`,
//! `noticeHash` and `expiry`. The receipt id is derived from the ledger event, so the same event
//! always yields the same receipt (no randomness, no clock).

use serde::{Deserialize, Serialize};

use crate::ledger::Channel;
use crate::wording::{self, ReceiptKey, WordingKey};
use crate::{ConsentError, ConsentLedger, EventKind, Jurisdiction, Purpose, Timestamp};

/// Kantara CR version string.
pub const RECEIPT_VERSION: &str = "KI-CR-v1.1.0";

/// The data controller named on receipts.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Controller {
    /// Name of the controller (the clinic).
    pub pii_controller: String,
    /// Contact person or office.
    pub contact: String,
    /// Postal address (one line).
    pub address: String,
    /// Email.
    pub email: String,
    /// Phone.
    pub phone: String,
    /// URL of the privacy policy.
    pub policy_url: String,
}

/// One purpose on a receipt (Kantara `services[].purposes[]`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ReceiptPurpose {
    /// The purpose, in words.
    pub purpose: String,
    /// Catalogue id and HL7 ActReason code.
    pub purpose_category: Vec<String>,
    /// `EXPLICIT` for consents captured by Veil.
    pub consent_type: String,
    /// Categories of personal data.
    pub pii_category: Vec<String>,
    /// Whether this is the primary purpose of the service.
    pub primary_purpose: bool,
    /// How the consent ends.
    pub termination: String,
    /// Whether data goes to a third party.
    pub third_party_disclosure: bool,
    /// The third party, if any.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub third_party_name: Option<String>,
}

/// A service on a receipt (Kantara `services[]`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ReceiptService {
    /// The service name.
    pub service: String,
    /// Its purposes.
    pub purposes: Vec<ReceiptPurpose>,
}

/// A consent receipt.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ConsentReceipt {
    /// Specification version (`KI-CR-v1.1.0`).
    pub version: String,
    /// Jurisdictions of the subject.
    pub jurisdiction: String,
    /// Unix seconds of the event.
    pub consent_timestamp: i64,
    /// How consent was collected.
    pub collection_method: String,
    /// Receipt id (derived from the ledger event).
    #[serde(rename = "consentReceiptID")]
    pub consent_receipt_id: String,
    /// Language of the consent text.
    pub language: String,
    /// The subject's pseudonym (never a name).
    pub pii_principal_id: String,
    /// Controllers.
    pub pii_controllers: Vec<Controller>,
    /// Privacy policy URL.
    pub policy_url: String,
    /// Services and purposes.
    pub services: Vec<ReceiptService>,
    /// Health data is sensitive.
    pub sensitive: bool,
    /// Sensitive categories.
    pub spi_cat: Vec<String>,
    /// ISO/IEC TS 27560: what happened (`given`, `withdrawn`, ...).
    pub event_type: String,
    /// ISO/IEC TS 27560: resulting state (`active`, `withdrawn`, `expired`).
    pub consent_status: String,
    /// SHA-256 of the exact consent text shown, if recorded.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub notice_hash: Option<String>,
    /// When the consent ends by itself (RFC 3339), if it does.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub expiry: Option<String>,
    /// Who gave it: `subject`, or `guardian` for a guardian's consent (`guardian-given`); a minor's
    /// assent is `subject` with `eventType` `assented`. Veil's field (Kantara CR v1.1 has none).
    #[serde(rename = "givenBy")]
    pub given_by: String,
    /// The guardian / representative reference, for a guardian's consent.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub guardian: Option<String>,
    /// For a cross-border transfer: the safeguard it rests on (`adequacy`, `scc`, `bcr`, `dpf`,
    /// `derogation`). Veil's field.
    #[serde(rename = "transferMechanism", skip_serializing_if = "Option::is_none")]
    pub transfer_mechanism: Option<String>,
}

/// The receipt for the ledger event at `index`, in the language of the consent text the event
/// records (English, with `language` `und`, when it records none).
///
/// # Errors
/// [`ConsentError::Json`] if `index` is out of range.
pub fn receipt_for(
    ledger: &ConsentLedger,
    index: usize,
    jurisdictions: &[Jurisdiction],
    controller: &Controller,
) -> Result<ConsentReceipt, ConsentError> {
    receipt_in(ledger, index, jurisdictions, controller, "und")
}

/// The receipt for the ledger event at `index`, worded in the language of the consent text the
/// event records, else in `lang` (the person's chosen language, for a withdrawal, which shows no
/// text), else in English (GDPR Art. 12(1)). `language` says which; [`ConsentReceipt::to_html`]
/// prints in it.
///
/// # Errors
/// [`ConsentError::Json`] if `index` is out of range.
pub fn receipt_in(
    ledger: &ConsentLedger,
    index: usize,
    jurisdictions: &[Jurisdiction],
    controller: &Controller,
    lang: &str,
) -> Result<ConsentReceipt, ConsentError> {
    let e = ledger
        .events()
        .get(index)
        .ok_or_else(|| ConsentError::Json(format!("no ledger event {index}")))?;
    let id = ledger.event_id(index).unwrap_or_default();
    let language = e
        .text
        .as_ref()
        .map_or_else(|| lang.chars().take(16).collect(), |t| t.lang.clone());
    let w = wording::current_or_english::<ReceiptKey>(&language)?;
    let collection_method = match &e.channel {
        Channel::OwnDevice => w.text(ReceiptKey::MethodOwnDevice).to_owned(),
        Channel::Kiosk { staff_id } => w.fill(ReceiptKey::MethodKiosk, &[("staff", staff_id)]),
        Channel::Imported { source } => w.fill(ReceiptKey::MethodImported, &[("source", source)]),
    };
    let third = matches!(
        e.scope.purpose,
        Purpose::PartnerSharing | Purpose::CrossBorderTransfer | Purpose::ThirdPartyPrinting
    );
    let third_name = e
        .scope
        .partner
        .clone()
        .or_else(|| {
            e.scope
                .country
                .as_ref()
                .map(|c| w.fill(ReceiptKey::RecipientCountry, &[("country", c)]))
        })
        .or_else(|| {
            (e.scope.purpose == Purpose::ThirdPartyPrinting)
                .then(|| w.text(ReceiptKey::RecipientPrintBureau).to_owned())
        });
    let mut category = vec![e.scope.label()];
    if let Some(code) = e.scope.purpose.act_reason() {
        category.push(format!("v3-ActReason#{code}"));
    }
    // The title of the text shown, else (a withdrawal shows none) of the current text in this
    // language.
    let title = e
        .text
        .as_ref()
        .and_then(|t| t.verify().ok())
        .or_else(|| crate::text::current(e.scope.purpose, w.lang()).ok())
        .map_or_else(|| e.scope.label(), |t| t.title.clone());
    let status = match e.kind {
        EventKind::Given | EventKind::GuardianGiven | EventKind::Renewed | EventKind::Assented => {
            "active"
        }
        EventKind::Withdrawn => "withdrawn",
        EventKind::Expired | EventKind::StudyEnded => "expired",
        // Staff's record of a board's waiver, not the person's consent.
        EventKind::Waived => "waived",
        EventKind::WaiverEnded => "waiver-ended",
    };
    Ok(ConsentReceipt {
        version: RECEIPT_VERSION.to_owned(),
        jurisdiction: jurisdictions
            .iter()
            .map(|j| j.code())
            .collect::<Vec<_>>()
            .join(" "),
        consent_timestamp: e.at.unix(),
        collection_method,
        consent_receipt_id: id,
        language,
        pii_principal_id: ledger.subject().to_owned(),
        pii_controllers: vec![controller.clone()],
        policy_url: controller.policy_url.clone(),
        services: vec![ReceiptService {
            service: "Veil".to_owned(),
            purposes: vec![ReceiptPurpose {
                purpose: title,
                purpose_category: category,
                consent_type: "EXPLICIT".to_owned(),
                pii_category: vec![
                    w.text(ReceiptKey::CategoryHealth).to_owned(),
                    w.text(ReceiptKey::CategoryModels).to_owned(),
                ],
                primary_purpose: e.scope.purpose == Purpose::Treatment,
                termination: match (
                    e.expires_at.map(|x| x.to_string()),
                    e.study.as_deref().filter(|_| e.kind.gives()),
                ) {
                    (Some(x), Some(s)) => w.fill(
                        ReceiptKey::EndsExpiresOrStudy,
                        &[("date", &x), ("study", s)],
                    ),
                    (Some(x), None) => w.fill(ReceiptKey::EndsExpires, &[("date", &x)]),
                    (None, Some(s)) => w.fill(ReceiptKey::EndsStudy, &[("study", s)]),
                    (None, None) => w.text(ReceiptKey::EndsUntilWithdrawn).to_owned(),
                },
                third_party_disclosure: third,
                third_party_name: if third { third_name } else { None },
            }],
        }],
        sensitive: true,
        spi_cat: vec!["health".to_owned()],
        event_type: e.kind.id().to_owned(),
        consent_status: status.to_owned(),
        notice_hash: e.text.as_ref().map(|t| t.sha256.clone()),
        expiry: e.expires_at.map(|x| x.to_rfc3339()),
        given_by: if e.kind == EventKind::GuardianGiven {
            "guardian".into()
        } else {
            "subject".into()
        },
        guardian: e.guardian.clone(),
        transfer_mechanism: e.transfer_mechanism.map(|m| m.id().to_owned()),
    })
}

fn esc(s: &str) -> String {
    let mut o = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => o.push_str("&amp;"),
            '<' => o.push_str("&lt;"),
            '>' => o.push_str("&gt;"),
            '"' => o.push_str("&quot;"),
            '\'' => o.push_str("&#39;"),
            c => o.push(c),
        }
    }
    o
}

impl ConsentReceipt {
    /// The receipt as JSON.
    ///
    /// # Errors
    /// [`ConsentError::Json`] (not expected).
    pub fn to_json(&self) -> Result<String, ConsentError> {
        Ok(serde_json::to_string_pretty(self)?)
    }

    /// A self-contained printable HTML page in the receipt's `language` (English where Veil has no
    /// wording in it): no scripts, no external resources, every value escaped.
    #[must_use]
    pub fn to_html(&self) -> String {
        let w = wording::current_or_english::<ReceiptKey>(&self.language).ok();
        let t = |k: ReceiptKey| w.as_ref().map_or_else(|| k.id(), |w| w.text(k));
        let mut rows = Vec::new();
        let mut row = |k: ReceiptKey, v: &str| {
            rows.push(format!(
                "<tr><th>{}</th><td>{}</td></tr>",
                esc(t(k)),
                esc(v)
            ))
        };
        row(ReceiptKey::RowReceipt, &self.consent_receipt_id);
        row(
            ReceiptKey::RowWhat,
            &format!(
                "{} ({})",
                event_words(&self.event_type).map_or(self.event_type.as_str(), t),
                status_words(&self.consent_status).map_or(self.consent_status.as_str(), t)
            ),
        );
        for s in &self.services {
            for p in &s.purposes {
                row(
                    ReceiptKey::RowPurpose,
                    &format!("{} [{}]", p.purpose, p.purpose_category.join(", ")),
                );
                row(ReceiptKey::RowEnds, &p.termination);
                if let Some(name) = &p.third_party_name {
                    row(ReceiptKey::RowRecipient, name);
                }
            }
        }
        row(
            ReceiptKey::RowWhen,
            &Timestamp(self.consent_timestamp).to_rfc3339(),
        );
        row(ReceiptKey::RowHow, &self.collection_method);
        let by = match (&self.guardian, self.event_type.as_str()) {
            (Some(g), _) => wording::fill(t(ReceiptKey::ByGuardian), &[("guardian", g)]),
            (None, "assented") => t(ReceiptKey::ByMinorAssent).to_owned(),
            (None, _) => t(ReceiptKey::ByPerson).to_owned(),
        };
        row(ReceiptKey::RowGivenBy, &by);
        row(ReceiptKey::RowPseudonym, &self.pii_principal_id);
        row(ReceiptKey::RowJurisdiction, &self.jurisdiction);
        row(ReceiptKey::RowLanguage, &self.language);
        if let Some(h) = &self.notice_hash {
            row(ReceiptKey::RowFingerprint, h);
        }
        for c in &self.pii_controllers {
            row(
                ReceiptKey::RowController,
                &format!(
                    "{}, {}, {}, {}",
                    c.pii_controller, c.address, c.email, c.phone
                ),
            );
        }
        row(ReceiptKey::RowPolicy, &self.policy_url);
        row(ReceiptKey::RowSpecification, &self.version);
        let title = esc(t(ReceiptKey::Title));
        format!(
            "<!doctype html>\n<html lang=\"{}\"><head><meta charset=\"utf-8\"><title>{title}</title>\
             <style>body{{font:14px system-ui,sans-serif;margin:2em}}th{{text-align:left;padding-right:1em;vertical-align:top}}\
             @media print{{body{{margin:0}}}}</style></head><body><h1>{title}</h1><table>{}</table>\
             <p>{}</p></body></html>\n",
            esc(w.as_ref().map_or("en", |w| w.lang())),
            rows.join(""),
            esc(t(ReceiptKey::WithdrawNote))
        )
    }
}

/// The words for an event kind id on a receipt.
fn event_words(kind: &str) -> Option<ReceiptKey> {
    Some(match kind {
        "given" => ReceiptKey::EventGiven,
        "guardian-given" => ReceiptKey::EventGuardianGiven,
        "renewed" => ReceiptKey::EventRenewed,
        "assented" => ReceiptKey::EventAssented,
        "withdrawn" => ReceiptKey::EventWithdrawn,
        "expired" => ReceiptKey::EventExpired,
        "study-ended" => ReceiptKey::EventStudyEnded,
        "waived" => ReceiptKey::EventWaived,
        "waiver-ended" => ReceiptKey::EventWaiverEnded,
        _ => return None,
    })
}

/// The words for a consent status on a receipt.
fn status_words(status: &str) -> Option<ReceiptKey> {
    Some(match status {
        "active" => ReceiptKey::StatusActive,
        "withdrawn" => ReceiptKey::StatusWithdrawn,
        "expired" => ReceiptKey::StatusExpired,
        "waived" => ReceiptKey::StatusWaived,
        "waiver-ended" => ReceiptKey::StatusWaiverEnded,
        _ => return None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{Channel, ConsentEvent, PurposeScope, Timestamp, text};

    fn controller() -> Controller {
        Controller {
            pii_controller: "Example <Clinic>".into(),
            contact: "Privacy Office".into(),
            address: "1 Main St".into(),
            email: "privacy@clinic.invalid".into(),
            phone: "+1 555 0100".into(),
            policy_url: "https://clinic.invalid/privacy".into(),
        }
    }

    #[test]
    fn receipt_has_kantara_fields_and_escaped_html() {
        let mut l = ConsentLedger::new("p-1").unwrap();
        let scope = PurposeScope {
            partner: Some("Acme <script>".into()),
            ..PurposeScope::plain(Purpose::PartnerSharing)
        };
        let mut e = ConsentEvent::new(
            EventKind::Given,
            scope,
            Timestamp(1_795_428_000),
            Channel::Kiosk {
                staff_id: "S-9".into(),
            },
        );
        e.text = Some(
            text::current(Purpose::PartnerSharing, "de")
                .unwrap()
                .reference(),
        );
        l.append(e).unwrap();
        let js = [Jurisdiction::parse("DE").unwrap()];
        let r = receipt_for(&l, 0, &js, &controller()).unwrap();
        let v: serde_json::Value = serde_json::from_str(&r.to_json().unwrap()).unwrap();
        for k in [
            "version",
            "jurisdiction",
            "consentTimestamp",
            "collectionMethod",
            "consentReceiptID",
            "language",
            "piiPrincipalId",
            "piiControllers",
            "policyUrl",
            "services",
            "sensitive",
            "spiCat",
        ] {
            assert!(v.get(k).is_some(), "missing {k}");
        }
        assert_eq!(v["version"], RECEIPT_VERSION);
        assert_eq!(v["language"], "de");
        assert_eq!(
            v["services"][0]["purposes"][0]["thirdPartyDisclosure"],
            true
        );
        assert_eq!(v["consentReceiptID"], l.event_id(0).unwrap());
        let html = r.to_html();
        assert!(html.contains("Acme &lt;script&gt;") && !html.contains("<script>"));
        assert!(html.contains("Example &lt;Clinic&gt;"));
        assert_eq!(
            receipt_for(&l, 0, &js, &controller()).unwrap(),
            r,
            "deterministic"
        );
        assert!(receipt_for(&l, 5, &js, &controller()).is_err());
    }

    #[test]
    fn receipts_are_worded_in_the_language_of_the_text_else_the_chosen_one() {
        let mut l = ConsentLedger::new("p-2").unwrap();
        let scope = PurposeScope::plain(Purpose::Marketing);
        let mut given = ConsentEvent::new(
            EventKind::Given,
            scope.clone(),
            Timestamp(1_795_428_000),
            Channel::OwnDevice,
        );
        given.text = Some(text::current(Purpose::Marketing, "es").unwrap().reference());
        l.append(given).unwrap();
        l.append(ConsentEvent::new(
            EventKind::Withdrawn,
            scope,
            Timestamp(1_795_429_000),
            Channel::Kiosk {
                staff_id: "S-3".into(),
            },
        ))
        .unwrap();
        let js = [Jurisdiction::parse("FR").unwrap()];
        // The text shown decides: Spanish, whatever the session's language now is.
        let g = receipt_in(&l, 0, &js, &controller(), "fr").unwrap();
        assert_eq!(g.language, "es");
        let es = wording::receipt("es").unwrap();
        assert_eq!(
            g.collection_method,
            es.get(ReceiptKey::MethodOwnDevice).unwrap()
        );
        assert_eq!(g.services[0].purposes[0].purpose, "Noticias y ofertas");
        let html = g.to_html();
        assert!(html.contains("<html lang=\"es\">"));
        assert!(html.contains(es.get(ReceiptKey::Title).unwrap()));
        assert!(html.contains(es.get(ReceiptKey::EventGiven).unwrap()));
        // A withdrawal shows no text: the chosen language.
        let w = receipt_in(&l, 1, &js, &controller(), "fr").unwrap();
        let fr = wording::receipt("fr").unwrap();
        assert_eq!(w.language, "fr");
        assert_eq!(
            w.collection_method,
            fr.fill(ReceiptKey::MethodKiosk, &[("staff", "S-3")])
        );
        assert_eq!(w.services[0].purposes[0].purpose, "Actualités et offres");
        let html = w.to_html();
        assert!(html.contains(fr.get(ReceiptKey::EventWithdrawn).unwrap()));
        assert!(html.contains(&esc(fr.get(ReceiptKey::WithdrawNote).unwrap())));
        assert!(!html.contains("Consent receipt"));
        // Without a text or a language Veil has wording in: English, language `und`.
        let u = receipt_for(&l, 1, &js, &controller()).unwrap();
        assert_eq!(u.language, "und");
        assert!(u.to_html().contains("<html lang=\"en\">"));
        assert!(u.to_html().contains("Consent receipt"));
    }
}
