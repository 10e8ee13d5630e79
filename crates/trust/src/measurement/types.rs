//! What every characteristic's decoder (and encoder) shares: the decoding error, the GATT Date
//! Time, and a cursor over a characteristic value. A leaf: it uses nothing of its siblings.

use serde::{Deserialize, Serialize};
use thiserror::Error;

use crate::ieee11073::{self, Measure};

/// Why a characteristic value could not be decoded.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum MeasurementError {
    /// The value ends before a field its flags announce.
    #[error("characteristic 0x{chr:04X}: value truncated at octet {at}")]
    Truncated {
        /// The characteristic.
        chr: u16,
        /// The offset where a field was expected.
        at: usize,
    },
    /// A Date Time field holds an impossible month, day or time.
    #[error("characteristic 0x{0:04X}: invalid date time")]
    BadDateTime(u16),
    /// A known characteristic was sent under a service that does not define it.
    #[error("characteristic 0x{chr:04X} does not belong to service 0x{svc:04X}")]
    ServiceMismatch {
        /// The service claimed.
        svc: u16,
        /// The characteristic claimed.
        chr: u16,
    },
}

impl MeasurementError {
    /// The stable machine code of this error.
    pub fn code(&self) -> &'static str {
        match self {
            MeasurementError::Truncated { .. } => "truncated-value",
            MeasurementError::BadDateTime(_) => "bad-date-time",
            MeasurementError::ServiceMismatch { .. } => "service-mismatch",
        }
    }
}

/// A GATT Date Time (GSS §3.70): year 0, month 0 and day 0 mean "not known".
/// Serialized as `"YYYY-MM-DDTHH:MM:SS"` (device local time, no zone: the SIG format has none).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DateTime {
    /// 1582..=9999, or 0 if unknown.
    pub year: u16,
    /// 1..=12, or 0 if unknown.
    pub month: u8,
    /// 1..=31, or 0 if unknown.
    pub day: u8,
    /// 0..=23.
    pub hours: u8,
    /// 0..=59.
    pub minutes: u8,
    /// 0..=59.
    pub seconds: u8,
}

impl DateTime {
    /// The UTC civil time of a Unix timestamp (for devices that stamp with UTC).
    pub fn from_unix(ts: u64) -> DateTime {
        let days = (ts / 86_400) as i64;
        let secs = ts % 86_400;
        // H. Hinnant, "chrono-Compatible Low-Level Date Algorithms", civil_from_days.
        let z = days + 719_468;
        let era = z.div_euclid(146_097);
        let doe = z.rem_euclid(146_097);
        let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
        let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
        let mp = (5 * doy + 2) / 153;
        let day = doy - (153 * mp + 2) / 5 + 1;
        let month = if mp < 10 { mp + 3 } else { mp - 9 };
        let year = yoe + era * 400 + i64::from(month <= 2);
        DateTime {
            year: u16::try_from(year).unwrap_or(0),
            month: month as u8,
            day: day as u8,
            hours: (secs / 3600) as u8,
            minutes: (secs / 60 % 60) as u8,
            seconds: (secs % 60) as u8,
        }
    }

    /// Whether every field is in range (year 0, month 0 and day 0 meaning unknown).
    pub fn is_valid(&self) -> bool {
        (self.year == 0 || (1582..=9999).contains(&self.year))
            && self.month <= 12
            && self.day <= 31
            && self.hours <= 23
            && self.minutes <= 59
            && self.seconds <= 59
    }

    /// The 7-octet wire form.
    pub fn to_bytes(&self) -> [u8; 7] {
        let y = self.year.to_le_bytes();
        [
            y[0],
            y[1],
            self.month,
            self.day,
            self.hours,
            self.minutes,
            self.seconds,
        ]
    }

    /// Reads `YYYY-MM-DDTHH:MM:SS`; `None` if it is not that form or not a valid Date Time.
    pub(super) fn parse(s: &str) -> Option<DateTime> {
        let b = s.as_bytes();
        if b.len() != 19
            || b[4] != b'-'
            || b[7] != b'-'
            || b[10] != b'T'
            || b[13] != b':'
            || b[16] != b':'
        {
            return None;
        }
        let n = |r: std::ops::Range<usize>| s.get(r)?.parse::<u16>().ok();
        let dt = DateTime {
            year: n(0..4)?,
            month: u8::try_from(n(5..7)?).ok()?,
            day: u8::try_from(n(8..10)?).ok()?,
            hours: u8::try_from(n(11..13)?).ok()?,
            minutes: u8::try_from(n(14..16)?).ok()?,
            seconds: u8::try_from(n(17..19)?).ok()?,
        };
        dt.is_valid().then_some(dt)
    }
}

impl std::fmt::Display for DateTime {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{:04}-{:02}-{:02}T{:02}:{:02}:{:02}",
            self.year, self.month, self.day, self.hours, self.minutes, self.seconds
        )
    }
}

impl Serialize for DateTime {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for DateTime {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        DateTime::parse(&s).ok_or_else(|| serde::de::Error::custom("expected YYYY-MM-DDTHH:MM:SS"))
    }
}

/// Reads the little-endian fields of one characteristic value, front to back; running out of
/// octets is a [`MeasurementError::Truncated`] naming the characteristic and the offset.
pub(super) struct Cursor<'a> {
    chr: u16,
    bytes: &'a [u8],
    at: usize,
}

impl<'a> Cursor<'a> {
    /// A cursor at the start of `bytes`, the value of characteristic `chr`.
    pub(super) fn new(chr: u16, bytes: &'a [u8]) -> Self {
        Cursor { chr, bytes, at: 0 }
    }
    fn take(&mut self, n: usize) -> Result<&'a [u8], MeasurementError> {
        let out = self.bytes.get(self.at..self.at.saturating_add(n)).ok_or(
            MeasurementError::Truncated {
                chr: self.chr,
                at: self.at,
            },
        )?;
        self.at += n;
        Ok(out)
    }
    pub(super) fn u8(&mut self) -> Result<u8, MeasurementError> {
        Ok(self.take(1)?[0])
    }
    pub(super) fn u16(&mut self) -> Result<u16, MeasurementError> {
        let b = self.take(2)?;
        Ok(u16::from_le_bytes([b[0], b[1]]))
    }
    pub(super) fn u24(&mut self) -> Result<u32, MeasurementError> {
        let b = self.take(3)?;
        Ok(u32::from_le_bytes([b[0], b[1], b[2], 0]))
    }
    pub(super) fn u32(&mut self) -> Result<u32, MeasurementError> {
        let b = self.take(4)?;
        Ok(u32::from_le_bytes([b[0], b[1], b[2], b[3]]))
    }
    pub(super) fn sfloat(&mut self) -> Result<Measure, MeasurementError> {
        Ok(ieee11073::decode_sfloat(self.u16()?))
    }
    pub(super) fn date_time(&mut self) -> Result<DateTime, MeasurementError> {
        let b = self.take(7)?;
        let dt = DateTime {
            year: u16::from_le_bytes([b[0], b[1]]),
            month: b[2],
            day: b[3],
            hours: b[4],
            minutes: b[5],
            seconds: b[6],
        };
        if dt.is_valid() {
            Ok(dt)
        } else {
            Err(MeasurementError::BadDateTime(self.chr))
        }
    }
    pub(super) fn remaining(&self) -> usize {
        self.bytes.len().saturating_sub(self.at)
    }
}

/// Whether bit `n` of `flags` is set.
pub(super) fn bit(flags: u32, n: u32) -> bool {
    flags & (1 << n) != 0
}

/// The names of the set bits of `value`, bit 0 first (an empty name marks a bit not reported).
pub(super) fn set_bits(value: u32, names: &[&str]) -> Vec<String> {
    let mut out = Vec::new();
    for (i, name) in names.iter().enumerate() {
        if bit(value, i as u32) && !name.is_empty() {
            out.push((*name).to_string());
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unix_to_civil() {
        assert_eq!(DateTime::from_unix(0).to_string(), "1970-01-01T00:00:00");
        assert_eq!(
            DateTime::from_unix(1_795_429_800).to_string(),
            "2026-11-23T10:30:00"
        );
        assert_eq!(
            DateTime::from_unix(951_782_400).to_string(),
            "2000-02-29T00:00:00"
        );
    }
}
