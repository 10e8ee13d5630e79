//! Reports hold measures that can be undefined (NaN): a Hausdorff distance over a surface that
//! collapsed, a ratio with a zero denominator. JSON has no NaN, so serde_json writes `null`; this
//! reads `null` back as NaN, so a report read from its own JSON is the report that was written.

use serde::{Deserialize, Deserializer};

/// Deserialize an `f64` that may have been written as `null` (NaN).
pub(crate) fn f64_or_nan<'de, D: Deserializer<'de>>(d: D) -> Result<f64, D::Error> {
    Ok(Option::<f64>::deserialize(d)?.unwrap_or(f64::NAN))
}
