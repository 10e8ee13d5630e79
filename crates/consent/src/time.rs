//! Time as data: unix seconds in, RFC 3339 out, no clock.
//!
//! The crate never reads a clock (so it runs unchanged in wasm32 and every decision is reproducible):
//! the caller passes the time. RFC 3339 parsing and civil-date arithmetic are done here (the
//! days-from-civil algorithm of H. Hinnant's `chrono`-compatible date algorithms) to stay
//! dependency-free.

use std::fmt;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

use crate::ConsentError;

/// A point in time, in whole seconds since 1970-01-01T00:00:00Z.
///
/// Serialised as an RFC 3339 UTC string (`2026-11-23T10:00:00Z`); deserialised from that or from an
/// integer number of unix seconds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Timestamp(pub i64);

/// Earliest accepted time: 1900-01-01T00:00:00Z.
const MIN: i64 = -2_208_988_800;
/// Latest accepted time: 9999-12-31T23:59:59Z.
const MAX: i64 = 253_402_300_799;

impl Timestamp {
    /// A timestamp from unix seconds, rejecting times outside 1900..=9999.
    ///
    /// # Errors
    /// [`ConsentError::BadTime`] when out of range.
    pub fn from_unix(secs: i64) -> Result<Self, ConsentError> {
        if (MIN..=MAX).contains(&secs) {
            Ok(Self(secs))
        } else {
            Err(ConsentError::BadTime(secs.to_string()))
        }
    }

    /// Unix seconds.
    #[must_use]
    pub fn unix(self) -> i64 {
        self.0
    }

    /// Parse RFC 3339 (`YYYY-MM-DDTHH:MM:SS[.frac](Z|±HH:MM)`); a plain date `YYYY-MM-DD` is read as
    /// midnight UTC (FHIR `date`). Fractional seconds are truncated.
    ///
    /// # Errors
    /// [`ConsentError::BadTime`] for anything else.
    pub fn parse_rfc3339(s: &str) -> Result<Self, ConsentError> {
        let bad = || ConsentError::BadTime(s.chars().take(64).collect());
        let b = s.as_bytes();
        if b.len() > 64 || b.len() < 10 {
            return Err(bad());
        }
        let num = |r: std::ops::Range<usize>| -> Result<i64, ConsentError> {
            let part = b.get(r).ok_or_else(bad)?;
            if part.is_empty() || !part.iter().all(u8::is_ascii_digit) {
                return Err(bad());
            }
            let mut v = 0i64;
            for d in part {
                v = v * 10 + i64::from(d - b'0');
            }
            Ok(v)
        };
        let sep = |i: usize, c: &[u8]| b.get(i).is_some_and(|x| c.contains(x));
        let year = num(0..4)?;
        if !sep(4, b"-") || !sep(7, b"-") {
            return Err(bad());
        }
        let month = num(5..7)?;
        let day = num(8..10)?;
        if !(1..=12).contains(&month) || day < 1 || day > days_in_month(year, month) {
            return Err(bad());
        }
        let days = days_from_civil(year, month, day);
        if b.len() == 10 {
            return Self::from_unix(days * 86_400).map_err(|_| bad());
        }
        if !sep(10, b"Tt ") || !sep(13, b":") || !sep(16, b":") {
            return Err(bad());
        }
        let (h, mi, se) = (num(11..13)?, num(14..16)?, num(17..19)?);
        // RFC 3339 §5.6 allows a leap second (60); it is folded into the next second.
        if h > 23 || mi > 59 || se > 60 {
            return Err(bad());
        }
        let mut i = 19;
        if sep(i, b".") {
            i += 1;
            let start = i;
            while b.get(i).is_some_and(u8::is_ascii_digit) {
                i += 1;
            }
            if i == start {
                return Err(bad());
            }
        }
        let offset = match b.get(i) {
            Some(b'Z' | b'z') if b.len() == i + 1 => 0,
            Some(sign @ (b'+' | b'-')) if b.len() == i + 6 && sep(i + 3, b":") => {
                let oh = num(i + 1..i + 3)?;
                let om = num(i + 4..i + 6)?;
                if oh > 23 || om > 59 {
                    return Err(bad());
                }
                let o = oh * 3600 + om * 60;
                if *sign == b'-' { -o } else { o }
            }
            _ => return Err(bad()),
        };
        let secs = days * 86_400 + h * 3600 + mi * 60 + se - offset;
        Self::from_unix(secs).map_err(|_| bad())
    }

    /// Parse either RFC 3339 or a decimal number of unix seconds.
    ///
    /// # Errors
    /// [`ConsentError::BadTime`].
    pub fn parse(s: &str) -> Result<Self, ConsentError> {
        let t = s.trim();
        if !t.is_empty()
            && t.len() <= 13
            && t.trim_start_matches('-')
                .bytes()
                .all(|c| c.is_ascii_digit())
        {
            let v: i64 = t.parse().map_err(|_| ConsentError::BadTime(t.to_owned()))?;
            return Self::from_unix(v);
        }
        Self::parse_rfc3339(t)
    }

    /// RFC 3339 in UTC with a `Z` suffix, e.g. `2026-11-23T10:00:00Z`.
    #[must_use]
    pub fn to_rfc3339(self) -> String {
        let days = self.0.div_euclid(86_400);
        let rem = self.0.rem_euclid(86_400);
        let (y, m, d) = civil_from_days(days);
        format!(
            "{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}Z",
            rem / 3600,
            (rem % 3600) / 60,
            rem % 60
        )
    }

    /// This time plus whole seconds (saturating at the accepted range).
    #[must_use]
    pub fn plus_secs(self, secs: i64) -> Self {
        Self(self.0.saturating_add(secs).clamp(MIN, MAX))
    }

    /// The civil (UTC) date of this time.
    #[must_use]
    pub fn civil(self) -> (i64, i64, i64) {
        civil_from_days(self.0.div_euclid(86_400))
    }

    /// Day of week, 0 = Monday .. 6 = Sunday (UTC).
    #[must_use]
    pub fn weekday(self) -> i64 {
        // 1970-01-01 was a Thursday (3).
        (self.0.div_euclid(86_400) + 3).rem_euclid(7)
    }

    /// Midnight UTC of a civil date.
    #[must_use]
    pub fn from_civil(y: i64, m: i64, d: i64) -> Self {
        Self(days_from_civil(y, m, d) * 86_400)
    }
}

impl fmt::Display for Timestamp {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.to_rfc3339())
    }
}

impl Serialize for Timestamp {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.to_rfc3339())
    }
}

impl<'de> Deserialize<'de> for Timestamp {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        #[derive(Deserialize)]
        #[serde(untagged)]
        enum Raw {
            Secs(i64),
            Text(String),
        }
        match Raw::deserialize(d)? {
            Raw::Secs(s) => Timestamp::from_unix(s).map_err(serde::de::Error::custom),
            Raw::Text(t) => Timestamp::parse_rfc3339(&t).map_err(serde::de::Error::custom),
        }
    }
}

fn is_leap(y: i64) -> bool {
    (y % 4 == 0 && y % 100 != 0) || y % 400 == 0
}

fn days_in_month(y: i64, m: i64) -> i64 {
    match m {
        2 if is_leap(y) => 29,
        2 => 28,
        4 | 6 | 9 | 11 => 30,
        _ => 31,
    }
}

/// Days since 1970-01-01 of a proleptic Gregorian date.
fn days_from_civil(y: i64, m: i64, d: i64) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (m + 9) % 12;
    let doy = (153 * mp + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

/// The proleptic Gregorian date of a day count since 1970-01-01.
fn civil_from_days(z: i64) -> (i64, i64, i64) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let y = yoe + era * 400;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    (if m <= 2 { y + 1 } else { y }, m, d)
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn known_instants() {
        assert_eq!(
            Timestamp::parse_rfc3339("1970-01-01T00:00:00Z").unwrap().0,
            0
        );
        assert_eq!(
            Timestamp::parse_rfc3339("2026-11-23T10:00:00Z").unwrap().0,
            1_795_428_000
        );
        assert_eq!(
            Timestamp::parse_rfc3339("2026-11-23T12:00:00+02:00")
                .unwrap()
                .0,
            1_795_428_000
        );
        assert_eq!(
            Timestamp::parse_rfc3339("2024-02-29T23:59:59.999-00:30")
                .unwrap()
                .to_rfc3339(),
            "2024-03-01T00:29:59Z"
        );
        assert_eq!(
            Timestamp::parse_rfc3339("2026-11-23").unwrap().to_rfc3339(),
            "2026-11-23T00:00:00Z"
        );
        assert_eq!(
            Timestamp(1_795_428_000).weekday(),
            0,
            "2026-11-23 is a Monday"
        );
    }

    #[test]
    fn rejects_malformed() {
        for s in [
            "",
            "2026-13-01T00:00:00Z",
            "2026-02-29T00:00:00Z",
            "2026-11-23T24:00:00Z",
            "2026-11-23T10:00:00",
            "2026-11-23T10:00:00+2:00",
            "x026-11-23T10:00:00Z",
            "2026-11-23T10:00:00.Z",
            "2026-11-23T10:00:00Zjunk",
        ] {
            assert!(Timestamp::parse_rfc3339(s).is_err(), "{s}");
        }
    }

    proptest::proptest! {
        #[test]
        fn round_trips(secs in MIN..=MAX) {
            let t = Timestamp(secs);
            proptest::prop_assert_eq!(Timestamp::parse_rfc3339(&t.to_rfc3339()).unwrap(), t);
        }

        #[test]
        fn never_panics(s in "\\PC{0,40}") {
            let _ = Timestamp::parse(&s);
        }
    }
}
