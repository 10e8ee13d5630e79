//! The retry rule, as pure functions: what an answer means ([`classify`]) and how long to wait
//! before the next attempt ([`backoff_ms`]).
//!
//! - 2xx: delivered (the ingest server answers 201 when it stores an artifact, 200 when it already
//!   had it; control endpoints answer 200).
//! - 401 `unknown-client`: the server does not know this device's client key (not enrolled yet,
//!   or forgotten by the operator) and stored nothing. Not the content's fault, and not fixed by
//!   time either: [`Verdict::AwaitingEnrolment`], sent again once the device is connected to a
//!   clinic, never before (no request storm against a server that will answer the same).
//! - 4xx except 408 and 429: the server refused the content (bad envelope, consent not granted,
//!   replay, body too large, bad signature, a revoked client (403 `client-revoked`), a pseudonym
//!   another client owns (403 `pseudonym-not-owned`)...). Sending the same bytes again gets the same answer,
//!   so it is final: [`Verdict::Refused`], never retried.
//! - everything else: 5xx (storage failure, busy), 408 (timeout), 429 (too many requests), an
//!   answer with no status, and no answer at all (offline, connection cut, even after the server
//!   stored the upload: the retry carries the same key and gets "already stored"): retried.
//!
//! Retries wait `uniform(0, min(MAX_BACKOFF_MS, BASE_BACKOFF_MS * 2^(attempts - 1)))` ms
//! ("full jitter"): exponential so a server in trouble is not hammered, random so the clients that
//! lost it at the same moment do not come back at the same moment, capped so a long outage is
//! noticed within minutes of its end.

use rand_core::RngCore;
use serde::Deserialize;

/// First backoff ceiling, ms.
pub const BASE_BACKOFF_MS: f64 = 1000.0;
/// Longest wait between retries, ms (5 minutes).
pub const MAX_BACKOFF_MS: f64 = 5.0 * 60.0 * 1000.0;
/// The ingest server's code for a client key it does not know (`docs/ingest.md`).
pub const UNKNOWN_CLIENT: &str = "unknown-client";
/// Longest reason kept from an answer, in characters.
pub const MAX_REASON_CHARS: usize = 300;

/// How one request ended, as the transport saw it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Answer {
    /// The server answered (any status).
    Answered {
        /// HTTP status.
        status: u16,
        /// The body as text.
        body: String,
    },
    /// No answer: offline, connection reset, timeout.
    NetworkError(String),
}

/// What an answer means for the entry that was sent.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Verdict {
    /// The server has it.
    Delivered,
    /// A revocation "if stored" found nothing to revoke: the artifact never reached the server.
    NothingToRevoke,
    /// The server does not know the client key (401 `unknown-client`): nothing was stored; send
    /// again once the device is enrolled.
    AwaitingEnrolment {
        /// The server's error code and detail.
        reason: String,
    },
    /// The server refused it; final.
    Refused {
        /// The server's error code and detail.
        reason: String,
    },
    /// Try again later.
    Retry {
        /// What went wrong this time.
        reason: String,
    },
}

impl Verdict {
    /// Whether the entry is settled (not retried, neither after a wait nor after enrolment).
    #[must_use]
    pub fn is_final(&self) -> bool {
        !matches!(self, Self::Retry { .. } | Self::AwaitingEnrolment { .. })
    }
}

/// The retry rule: what `answer` means.
#[must_use]
pub fn classify(answer: &Answer) -> Verdict {
    match answer {
        Answer::Answered {
            status: 200..=299, ..
        } => Verdict::Delivered,
        Answer::Answered { status: 401, body }
            if error_code(body).as_deref() == Some(UNKNOWN_CLIENT) =>
        {
            Verdict::AwaitingEnrolment {
                reason: reason_of(401, body),
            }
        }
        Answer::Answered { status, body }
            if (400..500).contains(status) && *status != 408 && *status != 429 =>
        {
            Verdict::Refused {
                reason: reason_of(*status, body),
            }
        }
        Answer::Answered { status, body } => Verdict::Retry {
            reason: reason_of(*status, body),
        },
        Answer::NetworkError(e) => Verdict::Retry { reason: bounded(e) },
    }
}

/// The ingest server's error JSON: `{"error": code, "detail": text}`.
#[derive(Deserialize)]
struct ErrorBody {
    error: String,
    #[serde(default)]
    detail: Option<String>,
}

/// The `error` code of a JSON error answer, if the body is one.
#[must_use]
pub fn error_code(body: &str) -> Option<String> {
    serde_json::from_str::<ErrorBody>(body)
        .ok()
        .map(|b| bounded(&b.error))
}

/// A short reason for an answer: `code: detail` from the server's error JSON, else the start of
/// the body, else the status.
#[must_use]
pub fn reason_of(status: u16, body: &str) -> String {
    match serde_json::from_str::<ErrorBody>(body) {
        Ok(b) => bounded(&format!("{}: {}", b.error, b.detail.unwrap_or_default())),
        Err(_) if !body.trim().is_empty() => bounded(body.trim()),
        Err(_) => format!("HTTP {status}"),
    }
}

fn bounded(text: &str) -> String {
    text.chars().take(MAX_REASON_CHARS).collect()
}

/// The wait before the next attempt after `attempts` attempts (1 or more), in ms: full jitter
/// under an exponential ceiling capped at [`MAX_BACKOFF_MS`]. A generator that fails gives the
/// ceiling (the longest wait, never a storm).
pub fn backoff_ms<R: RngCore + ?Sized>(attempts: u32, rng: &mut R) -> f64 {
    let exponent = attempts.saturating_sub(1).min(20);
    let ceiling = (BASE_BACKOFF_MS * f64::from(1u32 << exponent)).min(MAX_BACKOFF_MS);
    let mut bytes = [0u8; 8];
    match rng.try_fill_bytes(&mut bytes) {
        // 53 random bits: a uniform fraction in [0, 1).
        Ok(()) => ceiling * ((u64::from_le_bytes(bytes) >> 11) as f64 / (1u64 << 53) as f64),
        Err(_) => ceiling,
    }
}

/// A small seeded generator (SplitMix64) for jitter, tests and tools without an OS generator.
/// Not for keys: nothing secret may be drawn from it.
#[derive(Debug, Clone)]
pub struct SplitMix64(pub u64);

impl RngCore for SplitMix64 {
    fn next_u32(&mut self) -> u32 {
        (self.next_u64() >> 32) as u32
    }

    fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    fn fill_bytes(&mut self, dest: &mut [u8]) {
        rand_core::impls::fill_bytes_via_next(self, dest);
    }

    fn try_fill_bytes(&mut self, dest: &mut [u8]) -> Result<(), rand_core::Error> {
        self.fill_bytes(dest);
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn answer(status: u16, body: &str) -> Answer {
        Answer::Answered {
            status,
            body: body.into(),
        }
    }

    #[test]
    fn answers_are_classified() {
        for status in [200, 201, 204, 299] {
            assert_eq!(
                classify(&answer(status, "")),
                Verdict::Delivered,
                "{status}"
            );
        }
        for status in [400, 401, 403, 404, 409, 413, 422, 499] {
            assert!(
                matches!(classify(&answer(status, "")), Verdict::Refused { .. }),
                "{status}"
            );
        }
        for status in [0, 100, 304, 408, 429, 500, 502, 503, 504, 599] {
            assert!(
                matches!(classify(&answer(status, "")), Verdict::Retry { .. }),
                "{status}"
            );
        }
        assert!(matches!(
            classify(&Answer::NetworkError("offline".into())),
            Verdict::Retry { .. }
        ));
    }

    #[test]
    fn an_unknown_client_waits_for_enrolment_and_a_revoked_one_is_refused() {
        let unknown = classify(&answer(
            401,
            r#"{"error":"unknown-client","detail":"enrol first"}"#,
        ));
        assert_eq!(
            unknown,
            Verdict::AwaitingEnrolment {
                reason: "unknown-client: enrol first".into()
            }
        );
        assert!(!unknown.is_final());
        // Another 401, or an unknown-client code under another status, is an ordinary refusal.
        for (status, body) in [
            (401, r#"{"error":"bad-request-signature","detail":""}"#),
            (401, "unknown-client"),
            (403, r#"{"error":"unknown-client","detail":""}"#),
            (403, r#"{"error":"client-revoked","detail":""}"#),
            (403, r#"{"error":"pseudonym-not-owned","detail":""}"#),
        ] {
            let verdict = classify(&answer(status, body));
            assert!(
                matches!(verdict, Verdict::Refused { .. }),
                "{status} {body}"
            );
            assert!(verdict.is_final());
        }
    }

    #[test]
    fn reasons_come_from_the_error_json_and_are_bounded() {
        let refused = classify(&answer(
            422,
            r#"{"error":"consent-not-granted","detail":"deny"}"#,
        ));
        assert_eq!(
            refused,
            Verdict::Refused {
                reason: "consent-not-granted: deny".into()
            }
        );
        assert_eq!(reason_of(502, ""), "HTTP 502");
        assert_eq!(reason_of(502, "<html>bad gateway"), "<html>bad gateway");
        assert_eq!(reason_of(400, &"x".repeat(10_000)).len(), MAX_REASON_CHARS);
        assert_eq!(
            error_code(r#"{"error":"unknown-artifact","detail":"d"}"#).as_deref(),
            Some("unknown-artifact")
        );
        assert_eq!(error_code("not json"), None);
    }

    /// A generator answering one fixed word, or failing.
    struct Fixed(Option<u64>);
    impl RngCore for Fixed {
        fn next_u32(&mut self) -> u32 {
            0
        }
        fn next_u64(&mut self) -> u64 {
            0
        }
        fn fill_bytes(&mut self, _dest: &mut [u8]) {}
        fn try_fill_bytes(&mut self, dest: &mut [u8]) -> Result<(), rand_core::Error> {
            let word = self
                .0
                .ok_or_else(|| rand_core::Error::from(core::num::NonZeroU32::MIN))?;
            dest.copy_from_slice(&word.to_le_bytes()[..dest.len()]);
            Ok(())
        }
    }

    #[test]
    fn backoff_is_full_jitter_under_a_capped_exponential_ceiling() {
        let top = |attempts| backoff_ms(attempts, &mut Fixed(Some(u64::MAX)));
        assert!(top(1) < 1000.0 && top(1) > 999.0);
        assert!(top(2) < 2000.0 && top(2) > 1999.0);
        assert!(top(9) < 256_000.0 && top(9) > 255_000.0);
        for attempts in [10, 11, 30, u32::MAX] {
            assert!(top(attempts) <= MAX_BACKOFF_MS && top(attempts) > 299_000.0);
        }
        assert_eq!(backoff_ms(3, &mut Fixed(Some(0))), 0.0);
        // A failing generator waits the longest, never zero.
        assert_eq!(backoff_ms(3, &mut Fixed(None)), 4000.0);
        assert_eq!(backoff_ms(40, &mut Fixed(None)), MAX_BACKOFF_MS);
        let mut rng = SplitMix64(1);
        let draws: Vec<f64> = (0..1000).map(|_| backoff_ms(4, &mut rng)).collect();
        assert!(draws.iter().all(|d| (0.0..8000.0).contains(d)));
        // Spread over the whole range, not a fixed multiple of the ceiling.
        assert!(draws.iter().any(|d| *d < 1000.0) && draws.iter().any(|d| *d > 7000.0));
    }
}
