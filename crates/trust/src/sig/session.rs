//! A session with one standard health device: every value it indicates or notifies goes through
//! [`Session::on_value`], which decodes it, pairs a glucose record with its context, runs the
//! Record Access Control Point exchange, and drops records already received.
//!
//! Records are de-duplicated by a [`RecordKey`]: a glucose record by its sequence number and
//! base time (GLS 1.0.1 §3.1: the sequence number identifies a record, the time guards against a
//! meter whose counter was reset); any other final measurement by its time stamp, user id and
//! value octets, so a cuff that indicates its stored measurements again on every connection (BLS
//! 1.1.1 §4.2) adds nothing twice, while two readings that only share a minute stay two. A
//! measurement without a time stamp has no key and is never dropped (a duplicate shown is better
//! than a reading lost). Intermediate and streamed values (0x2A36, 0x2A1E, 0x2A5F, 0x2A37) are
//! [`Event::Live`]: shown, never records.
//!
//! Pure and synchronous: the app's `characteristicvaluechanged` handler is a thin adapter onto
//! it, and the tests drive it with the byte sequences a device sends.

use std::collections::BTreeSet;

use super::error::SigError;
use super::profile::{CHR_RACP, ServiceProfile};
use super::racp::{RacpCode, RacpRequest, RacpResponse};
use crate::measurement::{
    self, CHR_GLUCOSE_CONTEXT, Glucose, GlucoseContext, Measurement, decode_glucose_context,
};

/// Most records one session remembers for de-duplication (a glucose meter holds about
/// 500-1000); past it, new records are still given out, only no longer remembered.
pub const MAX_RECORDS: usize = 4096;

/// What identifies a record for de-duplication.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct RecordKey {
    /// The characteristic it came from.
    pub characteristic: u16,
    /// Glucose: the record's sequence number.
    pub sequence_number: Option<u16>,
    /// The device's Date Time octets (glucose: the base time).
    pub time: Option<[u8; 7]>,
    /// Non-glucose records: the whole value (time stamp, user and measurement included).
    pub value: Option<Vec<u8>>,
}

/// One final measurement from a standard device: UNVERIFIED (nothing proves who made it).
#[derive(Debug, Clone, PartialEq)]
pub struct Record {
    /// The characteristic it came from.
    pub characteristic: u16,
    /// The decoded measurement.
    pub measurement: Measurement,
    /// A glucose record's context, when the meter sent one.
    pub context: Option<GlucoseContext>,
    /// It arrived during a stored-records transfer (a past measurement).
    pub from_storage: bool,
    /// Its de-duplication key (`None`: it carries no time stamp).
    pub key: Option<RecordKey>,
    /// The value exactly as received (the context's octets are not included).
    pub value: Vec<u8>,
}

/// What one value did.
#[derive(Debug, Clone, PartialEq)]
pub enum Event {
    /// A new final measurement.
    Record(Box<Record>),
    /// An intermediate or streamed value.
    Live(Measurement),
    /// A record received before, dropped.
    Duplicate(RecordKey),
    /// The answer to "report number of stored records".
    StoredRecords(u16),
    /// A "report stored records" request (or its abort) ended.
    TransferDone {
        /// The request that ended.
        request: RacpRequest,
        /// Records received during it, duplicates included.
        received: usize,
        /// Of which already received before.
        duplicates: usize,
        /// The device said "no records found".
        no_records: bool,
    },
}

/// The session with one standard service of one device.
#[derive(Debug, Clone)]
pub struct Session {
    profile: &'static ServiceProfile,
    seen: BTreeSet<RecordKey>,
    held: Option<(Glucose, Vec<u8>)>,
    pending: Option<RacpRequest>,
    received: usize,
    duplicates: usize,
    last_sequence: Option<u16>,
}

impl Session {
    /// A session for a standard service ([`super::PROFILES`]).
    pub fn new(profile: &'static ServiceProfile) -> Self {
        Session {
            profile,
            seen: BTreeSet::new(),
            held: None,
            pending: None,
            received: 0,
            duplicates: 0,
            last_sequence: None,
        }
    }

    /// The service's profile.
    pub fn profile(&self) -> &'static ServiceProfile {
        self.profile
    }

    /// The highest glucose sequence number received, for "records since" on the next
    /// connection ([`RacpRequest::ReportFrom`] of it plus one).
    pub fn last_sequence(&self) -> Option<u16> {
        self.last_sequence
    }

    /// A record request is running.
    pub fn busy(&self) -> bool {
        self.pending.is_some()
    }

    /// Starts a record request: the bytes to write to the control point. One at a time
    /// ([`SigError::RacpBusy`]), except [`RacpRequest::Abort`], which replaces a running report.
    pub fn request(&mut self, request: RacpRequest) -> Result<Vec<u8>, SigError> {
        if !self.profile.racp {
            return Err(SigError::UnexpectedCharacteristic {
                svc: self.profile.service,
                chr: CHR_RACP,
            });
        }
        match (self.pending, request) {
            (Some(_), RacpRequest::Abort) | (None, _) => {}
            (Some(_), _) => return Err(SigError::RacpBusy),
        }
        if request.transfers_records() {
            self.received = 0;
            self.duplicates = 0;
        }
        self.pending = Some(request);
        Ok(request.encode())
    }

    /// The request's write failed: forget it (nothing was asked of the device).
    pub fn cancel_request(&mut self) {
        self.pending = None;
    }

    /// The link dropped: forget the running request and give out a held glucose record.
    pub fn reset(&mut self) -> Vec<Event> {
        self.pending = None;
        self.flush()
    }

    /// Gives out a glucose record still waiting for its context.
    pub fn flush(&mut self) -> Vec<Event> {
        match self.held.take() {
            Some((g, value)) => self.record(
                measurement::CHR_GLUCOSE,
                Measurement::Glucose(g),
                None,
                value,
            ),
            None => Vec::new(),
        }
    }

    /// One value indicated or notified by characteristic `chr` of this session's service (or
    /// the control point).
    pub fn on_value(&mut self, chr: u16, value: &[u8]) -> Result<Vec<Event>, SigError> {
        if chr == CHR_RACP && self.profile.racp {
            return self.on_racp(value);
        }
        if !self
            .profile
            .channels
            .iter()
            .any(|c| c.characteristic == chr)
        {
            return Err(SigError::UnexpectedCharacteristic {
                svc: self.profile.service,
                chr,
            });
        }
        if chr == CHR_GLUCOSE_CONTEXT {
            let context = decode_glucose_context(value)?;
            return match self.held.take() {
                Some((g, v)) if g.sequence_number == context.sequence_number => Ok(self.record(
                    measurement::CHR_GLUCOSE,
                    Measurement::Glucose(g),
                    Some(context),
                    v,
                )),
                held => {
                    self.held = held;
                    Err(SigError::OrphanContext(context.sequence_number))
                }
            };
        }
        let m = measurement::decode(self.profile.service, chr, value)?;
        let mut events = self.flush();
        match m {
            m if m.is_intermediate() => events.push(Event::Live(m)),
            Measurement::Glucose(g) if g.context_follows => self.held = Some((g, value.to_vec())),
            m => events.extend(self.record(chr, m, None, value.to_vec())),
        }
        Ok(events)
    }

    fn on_racp(&mut self, value: &[u8]) -> Result<Vec<Event>, SigError> {
        let response = RacpResponse::decode(value)?;
        let Some(request) = self.pending else {
            return Err(SigError::RacpUnexpected(
                "an answer without a request".into(),
            ));
        };
        match response {
            RacpResponse::NumberOfRecords(n) if !request.transfers_records() => {
                self.pending = None;
                Ok(vec![Event::StoredRecords(n)])
            }
            RacpResponse::NumberOfRecords(_) => Err(SigError::RacpUnexpected(
                "a number of records answering a report".into(),
            )),
            RacpResponse::ResponseCode { request: op, code } => {
                if op != request.op_code() {
                    return Err(SigError::RacpUnexpected(format!(
                        "an answer to op code 0x{op:02X}, 0x{:02X} was asked",
                        request.op_code()
                    )));
                }
                let mut events = self.flush();
                self.pending = None;
                match code {
                    RacpCode::Success | RacpCode::NoRecordsFound => {
                        events.push(Event::TransferDone {
                            request,
                            received: self.received,
                            duplicates: self.duplicates,
                            no_records: code == RacpCode::NoRecordsFound,
                        });
                        Ok(events)
                    }
                    failure => Err(SigError::RacpFailed(failure.name())),
                }
            }
        }
    }

    fn record(
        &mut self,
        chr: u16,
        measurement: Measurement,
        context: Option<GlucoseContext>,
        value: Vec<u8>,
    ) -> Vec<Event> {
        let key = key_of(chr, &measurement, &value);
        let from_storage = self.pending.is_some_and(|r| r.transfers_records());
        if from_storage {
            self.received += 1;
        }
        if let Measurement::Glucose(g) = &measurement {
            self.last_sequence = Some(
                self.last_sequence
                    .map_or(g.sequence_number, |s| s.max(g.sequence_number)),
            );
        }
        if let Some(k) = &key {
            if self.seen.contains(k) {
                if from_storage {
                    self.duplicates += 1;
                }
                return vec![Event::Duplicate(k.clone())];
            }
            if self.seen.len() < MAX_RECORDS {
                self.seen.insert(k.clone());
            }
        }
        vec![Event::Record(Box::new(Record {
            characteristic: chr,
            measurement,
            context,
            from_storage,
            key,
            value,
        }))]
    }
}

/// The de-duplication key of a final measurement, `None` without a time stamp.
fn key_of(chr: u16, m: &Measurement, value: &[u8]) -> Option<RecordKey> {
    let time = match m {
        Measurement::Glucose(g) => {
            return Some(RecordKey {
                characteristic: chr,
                sequence_number: Some(g.sequence_number),
                time: Some(g.base_time.to_bytes()),
                value: None,
            });
        }
        Measurement::BloodPressure(bp) => bp.time_stamp,
        Measurement::Temperature(t) => t.time_stamp,
        Measurement::PulseOximetry(p) => p.time_stamp,
        Measurement::Weight(w) => w.time_stamp,
        _ => None,
    }?;
    Some(RecordKey {
        characteristic: chr,
        sequence_number: None,
        time: Some(time.to_bytes()),
        value: Some(value.to_vec()),
    })
}
