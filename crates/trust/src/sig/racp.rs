//! Record Access Control Point 0x2A52 (GLS 1.0.1 §3.4 and §4.9, PLXS 1.0.1 §3.4): the requests
//! a client writes and the indications a device answers with. Little-endian operands.
//!
//! A request is `op code, operator[, filter type, operand]`. The device answers "report stored
//! records" by sending each record on its measurement characteristic, then a Response Code
//! indication `06 00 <request op code> <response code>`; "report number of stored records" by
//! `05 00 <count u16>`. Glucose filters by sequence number (filter type 0x01, u16); a pulse
//! oximeter supports "all records" only (PLXS 1.0.1 §3.4.1).

use super::error::SigError;

const OP_REPORT: u8 = 0x01;
const OP_ABORT: u8 = 0x03;
const OP_NUMBER: u8 = 0x04;
const OP_NUMBER_RESPONSE: u8 = 0x05;
const OP_RESPONSE_CODE: u8 = 0x06;
const OPERATOR_NULL: u8 = 0x00;
const OPERATOR_ALL: u8 = 0x01;
const OPERATOR_AT_LEAST: u8 = 0x03;
const OPERATOR_LAST: u8 = 0x06;
const FILTER_SEQUENCE_NUMBER: u8 = 0x01;

/// What the client asks for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RacpRequest {
    /// Report stored records: all (`01 01`).
    ReportAll,
    /// Report stored records with a sequence number >= this (`01 03 01 <u16>`), glucose only:
    /// the records since the last transfer.
    ReportFrom(u16),
    /// Report the last record (`01 06`).
    ReportLast,
    /// Report number of stored records: all (`04 01`).
    NumberOfAll,
    /// Report number of stored records with sequence number >= this (`04 03 01 <u16>`).
    NumberFrom(u16),
    /// Abort the running operation (`03 00`).
    Abort,
}

impl RacpRequest {
    /// The bytes to write to the control point.
    pub fn encode(&self) -> Vec<u8> {
        match *self {
            RacpRequest::ReportAll => vec![OP_REPORT, OPERATOR_ALL],
            RacpRequest::ReportFrom(seq) => {
                let s = seq.to_le_bytes();
                vec![
                    OP_REPORT,
                    OPERATOR_AT_LEAST,
                    FILTER_SEQUENCE_NUMBER,
                    s[0],
                    s[1],
                ]
            }
            RacpRequest::ReportLast => vec![OP_REPORT, OPERATOR_LAST],
            RacpRequest::NumberOfAll => vec![OP_NUMBER, OPERATOR_ALL],
            RacpRequest::NumberFrom(seq) => {
                let s = seq.to_le_bytes();
                vec![
                    OP_NUMBER,
                    OPERATOR_AT_LEAST,
                    FILTER_SEQUENCE_NUMBER,
                    s[0],
                    s[1],
                ]
            }
            RacpRequest::Abort => vec![OP_ABORT, OPERATOR_NULL],
        }
    }

    /// The op code this request is answered under.
    pub fn op_code(&self) -> u8 {
        match self {
            RacpRequest::ReportAll | RacpRequest::ReportFrom(_) | RacpRequest::ReportLast => {
                OP_REPORT
            }
            RacpRequest::NumberOfAll | RacpRequest::NumberFrom(_) => OP_NUMBER,
            RacpRequest::Abort => OP_ABORT,
        }
    }

    /// Whether records come before the answer.
    pub fn transfers_records(&self) -> bool {
        self.op_code() == OP_REPORT
    }
}

/// A RACP Response Code value (GLS 1.0.1 Table 3.3).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RacpCode {
    /// 0x01.
    Success,
    /// 0x02.
    OpCodeNotSupported,
    /// 0x03.
    InvalidOperator,
    /// 0x04.
    OperatorNotSupported,
    /// 0x05.
    InvalidOperand,
    /// 0x06: nothing matched the request (not a failure: an empty transfer).
    NoRecordsFound,
    /// 0x07.
    AbortUnsuccessful,
    /// 0x08.
    ProcedureNotCompleted,
    /// 0x09.
    OperandNotSupported,
    /// Any other value.
    Reserved(u8),
}

impl RacpCode {
    fn from_u8(v: u8) -> RacpCode {
        match v {
            0x01 => RacpCode::Success,
            0x02 => RacpCode::OpCodeNotSupported,
            0x03 => RacpCode::InvalidOperator,
            0x04 => RacpCode::OperatorNotSupported,
            0x05 => RacpCode::InvalidOperand,
            0x06 => RacpCode::NoRecordsFound,
            0x07 => RacpCode::AbortUnsuccessful,
            0x08 => RacpCode::ProcedureNotCompleted,
            0x09 => RacpCode::OperandNotSupported,
            n => RacpCode::Reserved(n),
        }
    }

    /// A name for messages.
    pub fn name(&self) -> String {
        match self {
            RacpCode::Success => "success".into(),
            RacpCode::OpCodeNotSupported => "op code not supported".into(),
            RacpCode::InvalidOperator => "invalid operator".into(),
            RacpCode::OperatorNotSupported => "operator not supported".into(),
            RacpCode::InvalidOperand => "invalid operand".into(),
            RacpCode::NoRecordsFound => "no records found".into(),
            RacpCode::AbortUnsuccessful => "abort unsuccessful".into(),
            RacpCode::ProcedureNotCompleted => "procedure not completed".into(),
            RacpCode::OperandNotSupported => "operand not supported".into(),
            RacpCode::Reserved(n) => format!("reserved response code 0x{n:02X}"),
        }
    }

    fn value(&self) -> u8 {
        match self {
            RacpCode::Success => 0x01,
            RacpCode::OpCodeNotSupported => 0x02,
            RacpCode::InvalidOperator => 0x03,
            RacpCode::OperatorNotSupported => 0x04,
            RacpCode::InvalidOperand => 0x05,
            RacpCode::NoRecordsFound => 0x06,
            RacpCode::AbortUnsuccessful => 0x07,
            RacpCode::ProcedureNotCompleted => 0x08,
            RacpCode::OperandNotSupported => 0x09,
            RacpCode::Reserved(n) => *n,
        }
    }
}

/// What a device indicates on the control point.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RacpResponse {
    /// `05 00 <u16>`: the number of stored records matching a "report number" request.
    NumberOfRecords(u16),
    /// `06 00 <request op code> <code>`: the end of a request.
    ResponseCode {
        /// The op code of the request answered.
        request: u8,
        /// The outcome.
        code: RacpCode,
    },
}

impl RacpResponse {
    /// Decodes an indication of the control point. Requests (op codes 1-4) sent back, a non-Null
    /// operator, a wrong length or an unknown op code are [`SigError::RacpUnexpected`].
    pub fn decode(val: &[u8]) -> Result<RacpResponse, SigError> {
        match val {
            [OP_NUMBER_RESPONSE, OPERATOR_NULL, lo, hi] => {
                Ok(RacpResponse::NumberOfRecords(u16::from_le_bytes([
                    *lo, *hi,
                ])))
            }
            [OP_RESPONSE_CODE, OPERATOR_NULL, request, code] => Ok(RacpResponse::ResponseCode {
                request: *request,
                code: RacpCode::from_u8(*code),
            }),
            [OP_NUMBER_RESPONSE | OP_RESPONSE_CODE, OPERATOR_NULL, ..] => Err(
                SigError::RacpUnexpected(format!("answer of {} octets", val.len())),
            ),
            [OP_NUMBER_RESPONSE | OP_RESPONSE_CODE, operator, ..] => Err(SigError::RacpUnexpected(
                format!("operator 0x{operator:02X} in an answer"),
            )),
            [op, ..] => Err(SigError::RacpUnexpected(format!(
                "op code 0x{op:02X} is not an answer"
            ))),
            [] => Err(SigError::RacpUnexpected("empty value".into())),
        }
    }

    /// The bytes a device sends (for simulators and tests).
    pub fn encode(&self) -> Vec<u8> {
        match *self {
            RacpResponse::NumberOfRecords(n) => {
                let b = n.to_le_bytes();
                vec![OP_NUMBER_RESPONSE, OPERATOR_NULL, b[0], b[1]]
            }
            RacpResponse::ResponseCode { request, code } => {
                vec![OP_RESPONSE_CODE, OPERATOR_NULL, request, code.value()]
            }
        }
    }
}
