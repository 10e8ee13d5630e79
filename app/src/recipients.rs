//! The recipients this app may send to or share with, as the clinic sets them up in Settings:
//! each with a name, its HPKE public key (fetched from a clinic server's `/v1/recipient-key` or
//! imported), the country it is in, the safeguard a transfer to it rests on, and its controller's
//! contact, which is what receipts name.
//!
//! They are the deployment's configuration, not a patient's data: kept in `localStorage` under
//! `veil.config.recipients` (outside the patient prefix), they stay when a kiosk session ends, like
//! the trusted manufacturers. Partner sharing and cross-border transfer choose one of them on the
//! Consent page; nothing is invented where none is set up.

use serde::{Deserialize, Serialize};
use veil_consent::{Controller, TransferMechanism};
use veil_seal::RecipientPublicKey;

use crate::error::AppError;

/// Where the list is kept.
const KEY: &str = "veil.config.recipients";
/// Most recipients kept (the list is shown whole).
pub const MAX_RECIPIENTS: usize = 64;
/// Longest text field accepted.
const MAX_FIELD: usize = 500;

/// One recipient.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Recipient {
    /// Its name, as the person reads it (and the partner named by a partner-sharing consent).
    pub name: String,
    /// The key id the server announces (hex SHA-256 of the key).
    pub kid: String,
    /// The HPKE public key, uncompressed SEC1, hex.
    pub public_key: String,
    /// Where the key came from: `fetched <url>` or `imported`.
    pub key_source: String,
    /// The recipient id its server announced with the key, if it named one.
    #[serde(default)]
    pub announced_id: Option<String>,
    /// ISO 3166-1 alpha-2 country it is established in.
    pub country: String,
    /// The safeguard a transfer to it rests on, if one is named.
    #[serde(default)]
    pub mechanism: Option<TransferMechanism>,
    /// Its data controller, as receipts name it.
    pub controller: Controller,
    /// Where it receives artifacts: the clinic server (origin URL) whose `/v1/recipient-key`
    /// announced the key. This app's own server takes uploads (the outbox); any other server, or a
    /// key imported without one, gets the sealed artifact as a file the person hands over (the
    /// browser talks only to its own origin).
    #[serde(default)]
    pub server: Option<String>,
}

/// The key a server announces at `/v1/recipient-key`.
#[derive(Debug, Clone, Deserialize)]
pub struct AnnouncedKey {
    /// Key id.
    pub kid: String,
    /// SEC1 hex.
    pub public_key: String,
    /// The server's recipient id, if it names one.
    #[serde(default)]
    pub recipient: Option<String>,
}

impl AnnouncedKey {
    /// Parse the JSON a server answers (or a person pastes), checking the key is a P-256 point and
    /// the kid is that key's.
    pub fn parse(json: &str) -> Result<Self, AppError> {
        let key: AnnouncedKey = serde_json::from_str(json.trim()).map_err(|e| {
            AppError::new(
                crate::error::RECIPIENT_UNKNOWN,
                format!("not a recipient key (the JSON /v1/recipient-key answers): {e}"),
            )
        })?;
        let bytes = hex::decode(key.public_key.trim()).map_err(|_| {
            AppError::new(
                crate::error::RECIPIENT_UNKNOWN,
                "the recipient key is not hex",
            )
        })?;
        let public = RecipientPublicKey::from_sec1_bytes(&bytes).map_err(AppError::from)?;
        let kid = public.kid().to_hex();
        if !kid.eq_ignore_ascii_case(key.kid.trim()) {
            return Err(AppError::new(
                crate::error::RECIPIENT_UNKNOWN,
                "the key id does not belong to the key",
            ));
        }
        Ok(AnnouncedKey {
            kid,
            public_key: key.public_key.trim().to_ascii_lowercase(),
            recipient: key.recipient,
        })
    }
}

/// This app's own origin (`http://host:port`), the server the outbox uploads to.
pub fn this_origin() -> Option<String> {
    web_sys::window().and_then(|w| w.location().origin().ok())
}

/// How a sealed artifact reaches its recipient.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Delivery {
    /// Uploaded through the outbox to this app's server, where the recipient receives.
    Upload,
    /// Offered as a file to hand over: the recipient receives elsewhere (`Some` server URL) or its
    /// key was imported without a server (`None`).
    HandOver(Option<String>),
}

impl Recipient {
    /// Where an artifact sealed to this recipient goes.
    pub fn delivery(&self) -> Delivery {
        let here = this_origin().map(|o| o.trim_end_matches('/').to_owned());
        match self.server.as_deref().map(|s| s.trim_end_matches('/')) {
            Some(server) if Some(server) == here.as_deref() => Delivery::Upload,
            other => Delivery::HandOver(other.map(str::to_owned)),
        }
    }

    /// The recipient id its artifacts name (the pseudonym is per recipient): the id its server
    /// announced; else, for this clinic's server, the id the outbox has always used with it
    /// (`veil-ingest`), and for any other, its key id (so no two recipients share a pseudonym).
    pub fn recipient_id(&self) -> String {
        self.announced_id
            .clone()
            .unwrap_or_else(|| match self.delivery() {
                Delivery::Upload => "veil-ingest".to_owned(),
                Delivery::HandOver(_) => format!("kid-{}", &self.kid[..self.kid.len().min(16)]),
            })
    }

    /// Check what was entered: every field present and bounded, a known country.
    pub fn validated(self) -> Result<Self, String> {
        let c = &self.controller;
        for (what, value) in [
            ("name", &self.name),
            ("controller name", &c.pii_controller),
            ("controller email", &c.email),
            ("controller address", &c.address),
        ] {
            if value.trim().is_empty() {
                return Err(format!("Please enter the {what}."));
            }
            if value.len() > MAX_FIELD {
                return Err(format!("The {what} is too long."));
            }
        }
        if !veil_consent::is_country(self.country.trim()) {
            return Err("Please choose the recipient's country (ISO 3166-1, e.g. DE, US).".into());
        }
        if self.kid.is_empty() || self.public_key.is_empty() {
            return Err("Please fetch or import the recipient's key.".into());
        }
        if let Some(server) = &self.server {
            let url = web_sys::Url::new(server.trim()).ok();
            if server.len() > MAX_FIELD
                || !url.is_some_and(|u| matches!(u.protocol().as_str(), "http:" | "https:"))
            {
                return Err("The server where it receives must be an http(s) URL.".into());
            }
        }
        Ok(Recipient {
            country: self.country.trim().to_ascii_uppercase(),
            name: self.name.trim().to_owned(),
            server: self
                .server
                .as_deref()
                .and_then(|s| web_sys::Url::new(s.trim()).ok())
                .map(|u| u.origin()),
            ..self
        })
    }
}

fn storage() -> Option<web_sys::Storage> {
    web_sys::window()?.local_storage().ok().flatten()
}

/// Every recipient set up, in the order added.
pub fn all() -> Vec<Recipient> {
    storage()
        .and_then(|s| s.get_item(KEY).ok().flatten())
        .and_then(|json| serde_json::from_str(&json).ok())
        .unwrap_or_default()
}

fn save(list: &[Recipient]) -> Result<(), AppError> {
    let json = serde_json::to_string(list).map_err(|e| AppError::storage(e.to_string()))?;
    storage()
        .ok_or_else(|| AppError::storage("this browser keeps no local storage"))?
        .set_item(KEY, &json)
        .map_err(|e| AppError::storage(crate::platform::js_error_text(&e)))
}

/// Add a recipient (replacing one of the same name).
pub fn add(recipient: Recipient) -> Result<(), AppError> {
    let mut list = all();
    list.retain(|r| r.name != recipient.name);
    if list.len() >= MAX_RECIPIENTS {
        return Err(AppError::storage(format!(
            "at most {MAX_RECIPIENTS} recipients are kept"
        )));
    }
    list.push(recipient);
    save(&list)
}

/// Remove the recipient named `name`.
pub fn remove(name: &str) -> Result<(), AppError> {
    let mut list = all();
    list.retain(|r| r.name != name);
    save(&list)
}

/// The recipient named `name`.
pub fn named(name: &str) -> Option<Recipient> {
    all().into_iter().find(|r| r.name == name)
}

/// The recipients a use may go to: the partner a partner-sharing scope names, every recipient in a
/// transfer's country; none for other uses (they go to this clinic's server).
pub fn for_scope(scope: &veil_consent::PurposeScope) -> Vec<Recipient> {
    match (&scope.partner, &scope.country) {
        (Some(p), _) => named(p).into_iter().collect(),
        (None, Some(c)) => all().into_iter().filter(|r| &r.country == c).collect(),
        (None, None) => Vec::new(),
    }
}

/// The safeguard transfers to `country` rest on: the one every recipient there names (none when
/// they differ or none is named, so a decision is never more permissive than the weakest).
pub fn mechanism_for(country: &str) -> Option<TransferMechanism> {
    let list: Vec<Recipient> = all().into_iter().filter(|r| r.country == country).collect();
    let first = list.first()?.mechanism?;
    list.iter()
        .all(|r| r.mechanism == Some(first))
        .then_some(first)
}

/// The recipient whose key is this clinic server's (the one uploads are sealed to), if set up.
pub fn clinic(server_kid: Option<&str>) -> Option<Recipient> {
    let list = all();
    server_kid
        .and_then(|kid| list.iter().find(|r| r.kid == kid).cloned())
        .or_else(|| list.into_iter().next())
}
