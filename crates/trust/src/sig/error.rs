//! The typed errors of the standard-device layer. A leaf: it uses nothing of its siblings.

use thiserror::Error;

use crate::measurement::MeasurementError;

/// Why a value from a standard (non-Veil) device, or a step of a session with it, was refused.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum SigError {
    /// A measurement, context or feature value that breaks its SIG layout.
    #[error("{0}")]
    Measurement(#[from] MeasurementError),
    /// A Device Information string that is not UTF-8 or is longer than an attribute value.
    #[error("characteristic 0x{0:04X}: not a UTF-8 string of at most 512 octets")]
    BadString(u16),
    /// A Record Access Control Point value that is not a response this client can get: unknown
    /// op code, wrong operator, wrong length, or an answer to a request not made.
    #[error("record access control point: {0}")]
    RacpUnexpected(String),
    /// The device answered a record request with a failure response code.
    #[error("record access control point: the device answered {0}")]
    RacpFailed(String),
    /// A record request while another one is still running (RACP allows one at a time).
    #[error("record access control point: a request is already running")]
    RacpBusy,
    /// A Glucose Measurement Context whose measurement did not come just before it.
    #[error("glucose context for record {0} without its measurement")]
    OrphanContext(u16),
    /// A value from a characteristic this session does not expect from its service.
    #[error("characteristic 0x{chr:04X} is not part of service 0x{svc:04X}'s session")]
    UnexpectedCharacteristic {
        /// The session's service.
        svc: u16,
        /// The characteristic the value came from.
        chr: u16,
    },
}

impl veil_core::Coded for SigError {
    /// `truncated-value`, `bad-date-time`, `service-mismatch` (from the measurement decoders),
    /// `bad-string`, `racp-unexpected`, `racp-failed`, `racp-busy`, `orphan-context`,
    /// `unexpected-characteristic`.
    fn code(&self) -> &'static str {
        match self {
            SigError::Measurement(e) => match e {
                MeasurementError::Truncated { .. } => "truncated-value",
                MeasurementError::BadDateTime(_) => "bad-date-time",
                MeasurementError::ServiceMismatch { .. } => "service-mismatch",
            },
            SigError::BadString(_) => "bad-string",
            SigError::RacpUnexpected(_) => "racp-unexpected",
            SigError::RacpFailed(_) => "racp-failed",
            SigError::RacpBusy => "racp-busy",
            SigError::OrphanContext(_) => "orphan-context",
            SigError::UnexpectedCharacteristic { .. } => "unexpected-characteristic",
        }
    }
}
