//! Enrolment: connecting this device's client key to a clinic's ingest server with an invitation
//! code, so the server accepts what the outbox sends.
//!
//! The server stores nothing from a client key it does not know (401 `unknown-client`; the outbox
//! parks such entries, [`crate::ItemState::AwaitingEnrolment`]). A clinic hands out invitation
//! codes (`veil admin invite`); the client proves it holds its key by signing the enrolment request
//! with it, and the server then knows the key (`docs/ingest.md`, "Invitations and enrolment"):
//!
//! ```text
//! POST /v1/enrolments    Veil-Signature: base64url(r || s) over the exact body
//! {"client_key":"04…","code":"ABCD-EFGH-JKMN-PQRS-TVWX","format":"veil-enrolment-v1",
//!  "name":"kiosk 3" (optional),"nonce":"<32 hex>","timestamp_ms":N}
//! ```
//!
//! This module is that request and the reading of its answer, as pure functions: the browser app
//! signs with its WebCrypto key and sends it with `XMLHttpRequest`, a command line would do the same
//! with its own key and HTTP client. A code that cannot be one (wrong length, a letter the alphabet
//! leaves out) is refused here without asking the server, under the server's own code
//! `invite-invalid`.
//!
//! ```
//! use veil_outbox::enrolment::{EnrolmentRequest, InviteCode, read_answer, Enrolled};
//! use veil_outbox::{Answer, Coded};
//!
//! let code = InviteCode::parse("abcd efgh-jkmn pqrs tvwx")?;
//! assert_eq!(code.as_str(), "ABCD-EFGH-JKMN-PQRS-TVWX");
//! let key = [4u8; 65];
//! let request = EnrolmentRequest::new(&code, &key, None, 1_700_000_000_000, [9; 16]);
//! assert!(request.body().contains(r#""format":"veil-enrolment-v1""#));
//!
//! let kid = veil_outbox::enrolment::client_kid(&key);
//! let answer = Answer::Answered { status: 201, body: format!(r#"{{"status":"enrolled","client_kid":"{kid}","name":null}}"#) };
//! assert!(matches!(read_answer(&answer, &key)?, Enrolled { already: false, .. }));
//! let refused = Answer::Answered { status: 403, body: r#"{"error":"invite-invalid","detail":""}"#.into() };
//! assert_eq!(read_answer(&refused, &key).unwrap_err().code(), "invite-invalid");
//! # Ok::<(), veil_outbox::enrolment::EnrolmentError>(())
//! ```

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::retry::{Answer, error_code, reason_of};

/// The API path enrolments are posted to.
pub const PATH: &str = "/v1/enrolments";
/// The symbols of an invitation code: no `0 1 I L O U`, which are read for one another.
pub const ALPHABET: &str = "ABCDEFGHJKMNPQRSTVWXYZ23456789";
/// Symbols in an invitation code (about 98 bits).
pub const CODE_SYMBOLS: usize = 20;
/// Longest text accepted as a code before it is read (spaces and dashes included).
pub const MAX_CODE_INPUT: usize = 100;
/// Longest device name sent, in bytes.
pub const MAX_NAME_BYTES: usize = 128;
/// Bytes of an enrolment's nonce.
pub const NONCE_BYTES: usize = 16;

/// Why an enrolment did not happen. Each variant has a stable kebab-case
/// [`code`](veil_core::Coded::code).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum EnrolmentError {
    /// The code is not an invitation the server accepts: unknown, expired or used up (the server
    /// does not say which), or not even shaped like one.
    #[error("this invitation code is not valid: {0}")]
    InviteInvalid(String),
    /// The clinic revoked this device's key: it can never enrol again.
    #[error("the clinic has disconnected this device: its key is revoked")]
    ClientRevoked,
    /// The server could not be reached (no connection, or no answer).
    #[error("the clinic's server could not be reached: {0}")]
    Offline(String),
    /// The server answered otherwise (busy, rate-limited, a malformed request, a wrong answer).
    #[error("the clinic's server did not enrol this device: {0}")]
    Refused(String),
}

impl veil_core::Coded for EnrolmentError {
    fn code(&self) -> &'static str {
        match self {
            Self::InviteInvalid(_) => "invite-invalid",
            Self::ClientRevoked => "client-revoked",
            Self::Offline(_) => "offline",
            Self::Refused(_) => "enrolment-refused",
        }
    }
}

/// An invitation code, normalised and grouped: `ABCD-EFGH-JKMN-PQRS-TVWX`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InviteCode(String);

impl InviteCode {
    /// Read a code as a person types or a scanner reads it: case, spaces and dashes do not
    /// matter; anything else must be [`CODE_SYMBOLS`] symbols of [`ALPHABET`].
    ///
    /// # Errors
    /// [`EnrolmentError::InviteInvalid`] for anything else.
    pub fn parse(text: &str) -> Result<Self, EnrolmentError> {
        if text.len() > MAX_CODE_INPUT {
            return Err(EnrolmentError::InviteInvalid("it is far too long".into()));
        }
        let symbols: Vec<char> = text
            .chars()
            .filter(|c| !c.is_whitespace() && *c != '-')
            .map(|c| c.to_ascii_uppercase())
            .collect();
        if let Some(bad) = symbols.iter().find(|c| !ALPHABET.contains(**c)) {
            return Err(EnrolmentError::InviteInvalid(format!(
                "{bad:?} is not used in invitation codes"
            )));
        }
        if symbols.len() != CODE_SYMBOLS {
            return Err(EnrolmentError::InviteInvalid(format!(
                "a code has {CODE_SYMBOLS} letters and digits, this one {}",
                symbols.len()
            )));
        }
        let groups: Vec<String> = symbols
            .chunks(4)
            .map(|group| group.iter().collect())
            .collect();
        Ok(Self(groups.join("-")))
    }

    /// The code, grouped by four.
    #[must_use]
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// The key id of a client key: SHA-256 of its uncompressed SEC1 bytes, lowercase hex (as the
/// server names clients).
#[must_use]
pub fn client_kid(client_key_sec1: &[u8]) -> String {
    hex::encode(Sha256::digest(client_key_sec1))
}

/// An enrolment request, ready to be signed and sent.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct EnrolmentRequest {
    client_key: String,
    code: String,
    format: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    name: Option<String>,
    nonce: String,
    timestamp_ms: u64,
}

impl EnrolmentRequest {
    /// The request enrolling `client_key_sec1` (the uncompressed public key) with `code`, made at
    /// `timestamp_ms` with `nonce` (fresh random bytes). A `name` is clipped to
    /// [`MAX_NAME_BYTES`]; an empty one is left out.
    #[must_use]
    pub fn new(
        code: &InviteCode,
        client_key_sec1: &[u8],
        name: Option<&str>,
        timestamp_ms: u64,
        nonce: [u8; NONCE_BYTES],
    ) -> Self {
        Self {
            client_key: hex::encode(client_key_sec1),
            code: code.as_str().to_owned(),
            format: "veil-enrolment-v1",
            name: name
                .map(str::trim)
                .filter(|n| !n.is_empty())
                .map(|n| crate::control::clip(n, MAX_NAME_BYTES)),
            nonce: hex::encode(nonce),
            timestamp_ms,
        }
    }

    /// The JSON body: the bytes to sign and send (fields in a fixed order).
    #[must_use]
    pub fn body(&self) -> String {
        // Serializing a struct of strings and integers cannot fail.
        serde_json::to_string(self).unwrap_or_default()
    }
}

/// What the server said to an enrolment it accepted.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Enrolled {
    /// The enrolled key's id (SHA-256 of the key), as the server names it.
    pub client_kid: String,
    /// The name the server keeps for the client (the invitation's or the request's), if any.
    #[serde(default)]
    pub name: Option<String>,
    /// The key was enrolled before (200 `already-enrolled`; no use of the invitation consumed).
    #[serde(default)]
    pub already: bool,
}

#[derive(Deserialize)]
struct Accepted {
    status: String,
    client_kid: String,
    #[serde(default)]
    name: Option<String>,
}

/// Read the server's answer to the enrolment of `client_key_sec1`: 201 `enrolled` or 200
/// `already-enrolled` naming this key's id.
///
/// # Errors
/// [`EnrolmentError::InviteInvalid`] and [`EnrolmentError::ClientRevoked`] as the server says
/// them, [`EnrolmentError::Offline`] for no answer, [`EnrolmentError::Refused`] for any other.
pub fn read_answer(answer: &Answer, client_key_sec1: &[u8]) -> Result<Enrolled, EnrolmentError> {
    let (status, body) = match answer {
        Answer::NetworkError(e) => return Err(EnrolmentError::Offline(e.clone())),
        Answer::Answered { status, body } => (*status, body),
    };
    match (status, error_code(body).as_deref()) {
        (200 | 201, _) => {
            let accepted: Accepted = serde_json::from_str(body).map_err(|_| {
                EnrolmentError::Refused(format!("HTTP {status} without an enrolment"))
            })?;
            let expected = match (status, accepted.status.as_str()) {
                (201, "enrolled") | (200, "already-enrolled") => client_kid(client_key_sec1),
                _ => {
                    return Err(EnrolmentError::Refused(format!(
                        "HTTP {status} with status {:?}",
                        accepted.status
                    )));
                }
            };
            if accepted.client_kid != expected {
                return Err(EnrolmentError::Refused(
                    "the server named another key than this device's".into(),
                ));
            }
            Ok(Enrolled {
                client_kid: accepted.client_kid,
                name: accepted.name,
                already: status == 200,
            })
        }
        (403, Some("invite-invalid")) => Err(EnrolmentError::InviteInvalid(
            "it is unknown, expired or used up".into(),
        )),
        (403, Some("client-revoked")) => Err(EnrolmentError::ClientRevoked),
        (0, _) => Err(EnrolmentError::Offline(reason_of(status, body))),
        _ => Err(EnrolmentError::Refused(reason_of(status, body))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use veil_core::Coded;

    const KEY: [u8; 65] = [4; 65];

    fn answered(status: u16, body: &str) -> Answer {
        Answer::Answered {
            status,
            body: body.into(),
        }
    }

    #[test]
    fn codes_are_read_as_people_type_them() {
        for typed in [
            "ABCD-EFGH-JKMN-PQRS-TVWX",
            "abcdefghjkmnpqrstvwx",
            " abcd efgh\tjkmn-pqrs--tvwx \n",
        ] {
            assert_eq!(
                InviteCode::parse(typed).unwrap().as_str(),
                "ABCD-EFGH-JKMN-PQRS-TVWX"
            );
        }
        assert_eq!(
            InviteCode::parse("2345-6789-YZYZ-2345-6789")
                .unwrap()
                .as_str(),
            "2345-6789-YZYZ-2345-6789"
        );
        for bad in [
            "",
            "ABCD-EFGH-JKMN-PQRS-TVW",
            "ABCD-EFGH-JKMN-PQRS-TVWXY",
            "ABCD-EFGH-JKMN-PQRS-TVW0",
            "ABCD-EFGH-JKMN-PQRS-TVWO",
            "ABCD-EFGH-JKMN-PQRS-TVWI",
            "ABCD-EFGH-JKMN-PQRS-TVWÄ",
            "ABCD_EFGH_JKMN_PQRS_TVWX",
            &"-".repeat(MAX_CODE_INPUT + 1),
        ] {
            let e = InviteCode::parse(bad).unwrap_err();
            assert_eq!(e.code(), "invite-invalid", "{bad:?}");
        }
    }

    #[test]
    fn the_body_is_the_contract_s() {
        let code = InviteCode::parse("ABCDEFGHJKMNPQRSTVWX").unwrap();
        let body = EnrolmentRequest::new(&code, &KEY, Some("  kiosk 3 "), 17, [0xab; 16]).body();
        let value: serde_json::Value = serde_json::from_str(&body).unwrap();
        assert_eq!(
            value,
            serde_json::json!({"format": "veil-enrolment-v1", "code": "ABCD-EFGH-JKMN-PQRS-TVWX",
                "client_key": hex::encode(KEY), "name": "kiosk 3", "timestamp_ms": 17,
                "nonce": "ab".repeat(16)})
        );
        let unnamed = EnrolmentRequest::new(&code, &KEY, Some(" "), 17, [0; 16]).body();
        assert!(!unnamed.contains("name"), "{unnamed}");
        let long = EnrolmentRequest::new(&code, &KEY, Some(&"é".repeat(100)), 1, [0; 16]);
        assert!(long.name.as_ref().unwrap().len() <= MAX_NAME_BYTES);
    }

    #[test]
    fn answers_are_read() {
        let kid = client_kid(&KEY);
        assert_eq!(kid.len(), 64);
        let created = answered(
            201,
            &format!(r#"{{"status":"enrolled","client_kid":"{kid}","name":"kiosk 3"}}"#),
        );
        assert_eq!(
            read_answer(&created, &KEY).unwrap(),
            Enrolled {
                client_kid: kid.clone(),
                name: Some("kiosk 3".into()),
                already: false
            }
        );
        let again = answered(
            200,
            &format!(r#"{{"status":"already-enrolled","client_kid":"{kid}"}}"#),
        );
        assert!(read_answer(&again, &KEY).unwrap().already);
        let cases = [
            (
                answered(403, r#"{"error":"invite-invalid","detail":"x"}"#),
                "invite-invalid",
            ),
            (
                answered(403, r#"{"error":"client-revoked","detail":"x"}"#),
                "client-revoked",
            ),
            (Answer::NetworkError("offline".into()), "offline"),
            (answered(0, ""), "offline"),
            (
                answered(429, r#"{"error":"rate-limited","detail":"x"}"#),
                "enrolment-refused",
            ),
            (
                answered(400, r#"{"error":"bad-request","detail":"x"}"#),
                "enrolment-refused",
            ),
            (answered(503, "busy"), "enrolment-refused"),
            (answered(201, "not json"), "enrolment-refused"),
            // Another key's id, or a status word that does not go with the status.
            (
                answered(
                    201,
                    &format!(
                        r#"{{"status":"enrolled","client_kid":"{}"}}"#,
                        "0".repeat(64)
                    ),
                ),
                "enrolment-refused",
            ),
            (
                answered(
                    201,
                    &format!(r#"{{"status":"already-enrolled","client_kid":"{kid}"}}"#),
                ),
                "enrolment-refused",
            ),
        ];
        for (answer, code) in cases {
            assert_eq!(
                read_answer(&answer, &KEY).unwrap_err().code(),
                code,
                "{answer:?}"
            );
        }
    }
}
