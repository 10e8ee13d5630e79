//! Glucose Measurement Context 0x2A34 of the Glucose service 0x1808 (GLS 1.0.1 §3.2.2, GSS
//! "Glucose Measurement Context"): what the person ate, the tester, exercise, medication and
//! HbA1c, sent right after the Glucose Measurement whose flag bit 4 announced it and carrying the
//! same sequence number. Decoder only.

use serde::{Deserialize, Serialize};

use super::types::{Cursor, MeasurementError, bit};
use crate::ieee11073::Measure;

/// Glucose Measurement Context characteristic.
pub const CHR_GLUCOSE_CONTEXT: u16 = 0x2A34;

/// The context of one glucose record.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct GlucoseContext {
    /// The sequence number of the Glucose Measurement it belongs to.
    pub sequence_number: u16,
    /// Extended Flags (flag bit 7), if present (all bits reserved in GLS 1.0.1).
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub extended_flags: Option<u8>,
    /// Carbohydrate ID (breakfast, lunch, dinner, snack, drink, supper, brunch), flag bit 0.
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub carbohydrate: Option<String>,
    /// Carbohydrate amount in grams (sent in kilograms), flag bit 0.
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub carbohydrate_g: Option<Measure>,
    /// Meal (preprandial, postprandial, fasting, casual, bedtime), flag bit 1.
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub meal: Option<String>,
    /// Tester (self, health_care_professional, lab_test, not_available), flag bit 2.
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub tester: Option<String>,
    /// Health (minor_issues, major_issues, during_menses, under_stress, no_issues,
    /// not_available), flag bit 2.
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub health: Option<String>,
    /// Exercise duration in seconds (65535 = overrun), flag bit 3.
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub exercise_duration_s: Option<u16>,
    /// Exercise intensity in percent, flag bit 3.
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub exercise_intensity_percent: Option<u8>,
    /// Medication ID (rapid/short/intermediate/long acting insulin, pre-mixed insulin), bit 4.
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub medication: Option<String>,
    /// Medication amount in milligrams (flag bit 5 clear: sent in kg) or millilitres (flag bit 5
    /// set: sent in litres), flag bit 4.
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub medication_amount: Option<Measure>,
    /// `"mg"` or `"mL"`, with `medication_amount`.
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub medication_unit: Option<String>,
    /// HbA1c in percent, flag bit 6.
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub hba1c_percent: Option<Measure>,
}

/// A nibble of the Tester-Health field: 15 is "not available" (GLS 1.0.1 §3.2.2).
fn nibble(table: &[&str], n: u8) -> String {
    if n == 15 {
        "not_available".to_string()
    } else {
        name(table, n)
    }
}

fn name(table: &[&str], n: u8) -> String {
    match table.get(usize::from(n)) {
        Some(s) if !s.is_empty() => (*s).to_string(),
        _ => format!("reserved-{n}"),
    }
}

pub(super) fn decode(c: &mut Cursor) -> Result<GlucoseContext, MeasurementError> {
    let flags = u32::from(c.u8()?);
    let sequence_number = c.u16()?;
    let extended_flags = if bit(flags, 7) { Some(c.u8()?) } else { None };
    let (mut carbohydrate, mut carbohydrate_g) = (None, None);
    if bit(flags, 0) {
        let id = c.u8()?;
        carbohydrate = Some(name(
            &[
                "",
                "breakfast",
                "lunch",
                "dinner",
                "snack",
                "drink",
                "supper",
                "brunch",
            ],
            id,
        ));
        carbohydrate_g = Some(c.sfloat()?.convert(|kg| kg * 1000.0, 3));
    }
    let meal = if bit(flags, 1) {
        Some(name(
            &[
                "",
                "preprandial",
                "postprandial",
                "fasting",
                "casual",
                "bedtime",
            ],
            c.u8()?,
        ))
    } else {
        None
    };
    let (mut tester, mut health) = (None, None);
    if bit(flags, 2) {
        let th = c.u8()?;
        tester = Some(nibble(
            &["", "self", "health_care_professional", "lab_test"],
            th & 0x0F,
        ));
        health = Some(nibble(
            &[
                "",
                "minor_issues",
                "major_issues",
                "during_menses",
                "under_stress",
                "no_issues",
            ],
            th >> 4,
        ));
    }
    let (mut exercise_duration_s, mut exercise_intensity_percent) = (None, None);
    if bit(flags, 3) {
        exercise_duration_s = Some(c.u16()?);
        exercise_intensity_percent = Some(c.u8()?);
    }
    let (mut medication, mut medication_amount, mut medication_unit) = (None, None, None);
    if bit(flags, 4) {
        medication = Some(name(
            &[
                "",
                "rapid_acting_insulin",
                "short_acting_insulin",
                "intermediate_acting_insulin",
                "long_acting_insulin",
                "pre_mixed_insulin",
            ],
            c.u8()?,
        ));
        let raw = c.sfloat()?;
        // kg -> mg is 10^6; litres -> mL is 10^3.
        let litres = bit(flags, 5);
        medication_amount =
            Some(raw.convert(|v| if litres { v * 1000.0 } else { v * 1_000_000.0 }, 3));
        medication_unit = Some(if litres { "mL" } else { "mg" }.to_string());
    }
    let hba1c_percent = if bit(flags, 6) {
        Some(c.sfloat()?)
    } else {
        None
    };
    Ok(GlucoseContext {
        sequence_number,
        extended_flags,
        carbohydrate,
        carbohydrate_g,
        meal,
        tester,
        health,
        exercise_duration_s,
        exercise_intensity_percent,
        medication,
        medication_amount,
        medication_unit,
        hba1c_percent,
    })
}
