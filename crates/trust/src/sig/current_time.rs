//! Current Time 0x2A2B of the Current Time service 0x1805 (CTS 1.1 §3.1, GSS "Current Time"):
//! the value the client writes so that a device stamps its readings with a true time.
//!
//! Ten octets: Exact Time 256 (Day Date Time = Date Time (year u16, month, day, hours, minutes,
//! seconds) + Day of Week (1 = Monday .. 7 = Sunday, 0 = unknown), then Fractions256) and Adjust
//! Reason (bit 0 manual time update, bit 1 external reference time update, bit 2 change of time
//! zone, bit 3 change of DST). The time is the local time of the person (a device display shows
//! it), so the caller gives its UTC offset.

use crate::measurement::DateTime;
use crate::measurement::MeasurementError;

/// Length of a Current Time value.
pub const CURRENT_TIME_LEN: usize = 10;
/// Adjust Reason bit 0: manual time update.
pub const ADJUST_MANUAL: u8 = 0x01;
/// Adjust Reason bit 1: external reference time update (the app's clock).
pub const ADJUST_EXTERNAL_REFERENCE: u8 = 0x02;

/// A Current Time value.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CurrentTime {
    /// Local date and time.
    pub date_time: DateTime,
    /// 1 = Monday .. 7 = Sunday; 0 unknown.
    pub day_of_week: u8,
    /// 1/256 fractions of a second.
    pub fractions256: u8,
    /// Adjust Reason bits.
    pub adjust_reason: u8,
}

impl CurrentTime {
    /// The value for Unix time `unix_ms` (milliseconds) at local UTC offset `offset_minutes`
    /// (east positive; JavaScript's `-getTimezoneOffset()`), with the given adjust reason.
    /// `None` if the local time is before 1970 or its year past 9999.
    pub fn from_unix_ms(unix_ms: u64, offset_minutes: i32, adjust_reason: u8) -> Option<Self> {
        let local_ms = i128::from(unix_ms) + i128::from(offset_minutes) * 60_000;
        let local_ms = u64::try_from(local_ms).ok()?;
        let secs = local_ms / 1000;
        let date_time = DateTime::from_unix(secs);
        if date_time.year == 0 || date_time.year > 9999 {
            return None;
        }
        // 1970-01-01 was a Thursday (4).
        let day_of_week = ((secs / 86_400 + 3) % 7 + 1) as u8;
        let fractions256 = ((local_ms % 1000) * 256 / 1000) as u8;
        Some(CurrentTime {
            date_time,
            day_of_week,
            fractions256,
            adjust_reason,
        })
    }

    /// The 10 octets to write.
    pub fn encode(&self) -> [u8; CURRENT_TIME_LEN] {
        let d = self.date_time.to_bytes();
        [
            d[0],
            d[1],
            d[2],
            d[3],
            d[4],
            d[5],
            d[6],
            self.day_of_week,
            self.fractions256,
            self.adjust_reason,
        ]
    }

    /// Reads a Current Time value (a device's answer to a read, or a simulator's check of a
    /// write). Shorter than 10 octets or an impossible date is a [`MeasurementError`].
    pub fn decode(val: &[u8]) -> Result<Self, MeasurementError> {
        const CHR: u16 = super::profile::CHR_CURRENT_TIME;
        let Some(b) = val.get(..CURRENT_TIME_LEN) else {
            return Err(MeasurementError::Truncated {
                chr: CHR,
                at: val.len(),
            });
        };
        let date_time = DateTime {
            year: u16::from_le_bytes([b[0], b[1]]),
            month: b[2],
            day: b[3],
            hours: b[4],
            minutes: b[5],
            seconds: b[6],
        };
        if !date_time.is_valid() || b[7] > 7 {
            return Err(MeasurementError::BadDateTime(CHR));
        }
        Ok(CurrentTime {
            date_time,
            day_of_week: b[7],
            fractions256: b[8],
            adjust_reason: b[9],
        })
    }
}
