//! The CLI's short form of a measurement (`bp:120/80/93,pulse=70`) as the encoders read it: the
//! main value, the options after commas, and field helpers whose errors quote the whole spec.
//! Simulator side only (feature `sim`). A leaf: it uses nothing of its siblings but the shared
//! types.

use super::types::DateTime;
#[cfg(test)]
use super::types::{Cursor, MeasurementError};
use crate::ProvisionError;
use crate::ieee11073;

/// A [`ProvisionError::BadMeasurement`] quoting `spec`.
pub(super) fn bad(spec: &str, message: &str) -> ProvisionError {
    ProvisionError::BadMeasurement(format!("{spec}: {message}"))
}

/// One measurement in short form, its kind already split off.
pub(super) struct Spec<'a> {
    /// The whole text, quoted in errors.
    text: &'a str,
    /// The value before the first comma (`120/80/93`).
    pub(super) main: &'a str,
    /// `key=value` options; a bare `key` has the empty value.
    opts: Vec<(&'a str, &'a str)>,
}

impl<'a> Spec<'a> {
    /// `text` is the whole spec, `rest` what follows its `KIND:`.
    pub(super) fn new(text: &'a str, rest: &'a str) -> Self {
        let mut items = rest.split(',');
        let main = items.next().unwrap_or("");
        let opts = items
            .map(|item| item.split_once('=').unwrap_or((item, "")))
            .collect();
        Spec { text, main, opts }
    }

    /// An error about this spec.
    pub(super) fn bad(&self, message: &str) -> ProvisionError {
        bad(self.text, message)
    }

    /// The value of option `key` (empty for a bare flag), if given.
    pub(super) fn opt(&self, key: &str) -> Option<&'a str> {
        self.opts.iter().find(|(k, _)| *k == key).map(|(_, v)| *v)
    }

    /// A decimal number as mantissa and exponent.
    pub(super) fn decimal(&self, s: &str) -> Result<(i64, i32), ProvisionError> {
        ieee11073::parse_decimal(s).ok_or_else(|| self.bad("bad number"))
    }

    /// A decimal number as SFLOAT octets.
    pub(super) fn sfloat(&self, s: &str) -> Result<[u8; 2], ProvisionError> {
        let (m, e) = self.decimal(s)?;
        Ok(ieee11073::encode_sfloat(m, e)
            .ok_or_else(|| self.bad("value does not fit SFLOAT"))?
            .to_le_bytes())
    }

    /// An unsigned 16-bit integer.
    pub(super) fn int(&self, s: &str) -> Result<u16, ProvisionError> {
        s.parse::<u16>().map_err(|_| self.bad("bad integer"))
    }

    /// An integer that fits one octet; `range_error` says which field did not.
    pub(super) fn octet(&self, s: &str, range_error: &str) -> Result<u8, ProvisionError> {
        u8::try_from(self.int(s)?).map_err(|_| self.bad(range_error))
    }

    /// A `YYYY-MM-DDTHH:MM:SS` Date Time.
    pub(super) fn date_time(&self, s: &str) -> Result<DateTime, ProvisionError> {
        DateTime::parse(s).ok_or_else(|| self.bad("time is YYYY-MM-DDTHH:MM:SS"))
    }

    /// With a `time=` option: sets flag bit `bit` and appends the Date Time to `out`.
    pub(super) fn time(
        &self,
        flags: &mut u8,
        bit: u8,
        out: &mut Vec<u8>,
    ) -> Result<(), ProvisionError> {
        if let Some(t) = self.opt("time") {
            let dt = self.date_time(t)?;
            *flags |= 1 << bit;
            out.extend_from_slice(&dt.to_bytes());
        }
        Ok(())
    }
}

/// For the characteristics' tests: the value `encode` makes of `text` (a whole spec, kind first).
#[cfg(test)]
pub(super) fn encoded(
    text: &str,
    encode: impl Fn(&Spec) -> Result<Vec<u8>, ProvisionError>,
) -> Vec<u8> {
    let (_, rest) = text.split_once(':').unwrap();
    encode(&Spec::new(text, rest)).unwrap()
}

/// For the characteristics' tests: `text` through one characteristic's encoder, then its decoder.
#[cfg(test)]
pub(super) fn round_trip<T>(
    text: &str,
    chr: u16,
    encode: impl Fn(&Spec) -> Result<Vec<u8>, ProvisionError>,
    decode: impl Fn(&mut Cursor) -> Result<T, MeasurementError>,
) -> T {
    decode(&mut Cursor::new(chr, &encoded(text, encode))).unwrap()
}
