//! How readings and identities read on screen: measurements in their fixed units, dates, and
//! fingerprints. Presentation only; the values come decoded from `veil-trust`.

use veil_trust::Measure;
use veil_trust::measurement::{DateTime, Features, GlucoseContext, Measurement};

/// A measured value: `120`, `36.6`, or the IEEE 11073 special value spelled out, so a failed
/// measurement never reads as a plausible number.
pub fn measure(m: &Measure) -> String {
    match m {
        Measure::Value(v) if v.fract() == 0.0 && v.abs() < 1e15 => format!("{v:.0}"),
        Measure::Value(v) => format!("{v}"),
        Measure::NaN => "not a number".into(),
        Measure::NRes => "not at this resolution".into(),
        Measure::PositiveInfinity => "above range".into(),
        Measure::NegativeInfinity => "below range".into(),
        Measure::Reserved => "reserved value".into(),
    }
}

/// One line for a measurement: `120/80 mmHg`, `36.6 °C`, `SpO2 98 %`.
pub fn headline(m: &Measurement) -> String {
    match m {
        Measurement::BloodPressure(bp) => {
            format!(
                "{}/{} {}",
                measure(&bp.systolic),
                measure(&bp.diastolic),
                bp.unit
            )
        }
        Measurement::Temperature(t) => format!("{} {}", measure(&t.celsius), t.unit),
        Measurement::Glucose(g) => match &g.concentration {
            Some(c) => format!("{} {}", measure(c), g.unit),
            None => "glucose record without a concentration".into(),
        },
        Measurement::PulseOximetry(p) => format!("SpO2 {} {}", measure(&p.spo2), p.unit),
        Measurement::Weight(w) => format!("{} {}", measure(&w.weight), w.unit),
        Measurement::HeartRate(h) => format!("{} {}", h.heart_rate, h.unit),
        Measurement::IntermediateCuffPressure(bp) => {
            format!("cuff {} {}", measure(&bp.systolic), bp.unit)
        }
        Measurement::IntermediateTemperature(t) => {
            format!("{} {} (settling)", measure(&t.celsius), t.unit)
        }
        Measurement::PulseOximetryContinuous(p) => format!(
            "SpO2 {} {}, pulse {} bpm",
            measure(&p.normal.spo2),
            p.unit,
            measure(&p.normal.pulse)
        ),
        Measurement::Unknown {
            service,
            characteristic,
            value_hex,
        } => {
            format!("service 0x{service:04X}, characteristic 0x{characteristic:04X}: {value_hex}")
        }
    }
}

/// The secondary fields of a measurement (mean arterial pressure, pulse, time stamp...).
pub fn details(m: &Measurement) -> String {
    let mut parts: Vec<String> = Vec::new();
    let mut stamp = |t: &Option<DateTime>| {
        if let Some(t) = t {
            parts.push(format!("device time {t}"));
        }
    };
    match m {
        Measurement::BloodPressure(bp) => {
            stamp(&bp.time_stamp);
            parts.insert(
                0,
                format!("mean arterial {} {}", measure(&bp.mean_arterial), bp.unit),
            );
            if let Some(p) = &bp.pulse {
                parts.push(format!("pulse {} bpm", measure(p)));
            }
            if let Some(u) = bp.user_id {
                parts.push(format!("user {u}"));
            }
        }
        Measurement::Temperature(t) => {
            stamp(&t.time_stamp);
            if let Some(site) = &t.site {
                parts.push(site.clone());
            }
        }
        Measurement::Glucose(g) => {
            parts.push(format!("sequence {}", g.sequence_number));
            parts.push(format!("device time {}", g.base_time));
            if let Some(t) = &g.sample_type {
                parts.push(t.replace('_', " "));
            }
        }
        Measurement::PulseOximetry(p) => {
            stamp(&p.time_stamp);
            parts.insert(0, format!("pulse {} bpm", measure(&p.pulse)));
        }
        Measurement::Weight(w) => {
            stamp(&w.time_stamp);
            if let Some(bmi) = &w.bmi {
                parts.push(format!("BMI {}", measure(bmi)));
            }
        }
        Measurement::HeartRate(h) => {
            if let Some(e) = h.energy_expended_kj {
                parts.push(format!("{e} kJ"));
            }
        }
        Measurement::IntermediateCuffPressure(_)
        | Measurement::IntermediateTemperature(_)
        | Measurement::PulseOximetryContinuous(_)
        | Measurement::Unknown { .. } => {}
    }
    parts.join(", ")
}

/// A live value (cuff inflating, thermometer settling, a stream): the headline alone.
pub fn live(m: &Measurement) -> String {
    headline(m)
}

/// A glucose record's context: meal, carbohydrate, exercise, medication, HbA1c.
pub fn glucose_context(c: &GlucoseContext) -> String {
    let mut parts = Vec::new();
    if let Some(meal) = &c.meal {
        parts.push(meal.replace('_', " "));
    }
    if let (Some(what), Some(g)) = (&c.carbohydrate, &c.carbohydrate_g) {
        parts.push(format!("{what} {} g carbohydrate", measure(g)));
    }
    if let Some(s) = c.exercise_duration_s {
        parts.push(format!("exercise {} min", s / 60));
    }
    if let (Some(what), Some(amount), Some(unit)) =
        (&c.medication, &c.medication_amount, &c.medication_unit)
    {
        parts.push(format!(
            "{} {} {unit}",
            what.replace('_', " "),
            measure(amount)
        ));
    }
    if let Some(h) = &c.hba1c_percent {
        parts.push(format!("HbA1c {} %", measure(h)));
    }
    parts.join(", ")
}

/// What a device's feature characteristic says, in words.
pub fn features(f: &Features) -> String {
    let words = |names: &[String]| {
        names
            .iter()
            .map(|n| n.replace('_', " "))
            .collect::<Vec<_>>()
            .join(", ")
    };
    match f {
        Features::BloodPressure { supported } | Features::Glucose { supported } => {
            if supported.is_empty() {
                "no optional detection".into()
            } else {
                words(supported)
            }
        }
        Features::PulseOximeter { supported, .. } => words(supported),
        Features::TemperatureType { site } => format!("measures at the {site}"),
        Features::WeightScale {
            time_stamp,
            multiple_users,
            bmi,
            weight_resolution_kg,
            ..
        } => {
            let mut parts = Vec::new();
            if *time_stamp {
                parts.push("time stamps".to_string());
            }
            if *multiple_users {
                parts.push("several users".to_string());
            }
            if *bmi {
                parts.push("BMI".to_string());
            }
            if let Some(r) = weight_resolution_kg {
                parts.push(format!("resolution {r} kg"));
            }
            parts.join(", ")
        }
    }
}

/// A Unix time as a UTC date and time, `2026-11-23 11:16 UTC`.
pub fn unix_time(ts: u64) -> String {
    let t = DateTime::from_unix(ts);
    format!(
        "{:04}-{:02}-{:02} {:02}:{:02} UTC",
        t.year, t.month, t.day, t.hours, t.minutes
    )
}

/// A SHA-256 fingerprint in colon-separated pairs of upper-case hex, as certificate viewers show it.
pub fn fingerprint(hex: &str) -> String {
    hex.as_bytes()
        .chunks(2)
        .map(|pair| String::from_utf8_lossy(pair).to_uppercase())
        .collect::<Vec<_>>()
        .join(":")
}

/// Now, in Unix seconds, from the browser clock.
pub fn now_unix() -> u64 {
    let ms = js_sys::Date::now();
    if ms.is_finite() && ms > 0.0 {
        (ms / 1000.0) as u64
    } else {
        0
    }
}
