// The cases of `tests/sig.rs`, shared with `wasm-tests/tests/sig.rs` (`include!`d by both, so the
// same byte sequences run natively and in wasm32 in a browser page; `#[test]` is the wasm-bindgen
// test attribute there). No inner attributes here: they belong to the including files.

use veil_trust::Coded;
use veil_trust::Measure;
use veil_trust::measurement::{
    Features, Measurement, decode, decode_features, decode_glucose_context,
};
use veil_trust::sig::{
    CurrentTime, Event, RacpCode, RacpRequest, RacpResponse, Session, SigError,
    device_information_string, profile,
};

/// 2026-11-23 10:30:00 as a GATT Date Time (year u16, month, day, hours, minutes, seconds).
const TIME: [u8; 7] = [0xEA, 0x07, 11, 23, 10, 30, 0];
const NAN: [u8; 2] = [0xFF, 0x07];
const NRES: [u8; 2] = [0x00, 0x08];
const PINF: [u8; 2] = [0xFE, 0x07];
const NINF: [u8; 2] = [0x02, 0x08];

fn cat(parts: &[&[u8]]) -> Vec<u8> {
    parts.concat()
}

fn code(e: impl Into<SigError>) -> &'static str {
    e.into().code()
}

// --- Blood Pressure service (BLS 1.1.1) ---------------------------------------------------------

#[test]
fn blood_pressure_measurement_2a35() {
    // BLS 1.1.1 §3.1.1: Flags; Systolic, Diastolic, MAP (SFLOAT); Time Stamp (bit 1);
    // Pulse Rate (bit 2); User ID (bit 3); Measurement Status (bit 4).
    let val = cat(&[
        &[0x1E],
        &[0x78, 0x00], // 120 mmHg
        &[0x50, 0x00], // 80
        &[0x5D, 0x00], // 93
        &TIME,
        &[0x48, 0x00], // pulse 72
        &[0x02],       // user 2
        &[0x25, 0x00], // body movement, irregular pulse, improper position; pulse in range
    ]);
    let Measurement::BloodPressure(bp) = decode(0x1810, 0x2A35, &val).unwrap() else {
        panic!("not blood pressure")
    };
    assert_eq!(
        (bp.systolic, bp.diastolic, bp.mean_arterial),
        (
            Measure::Value(120.0),
            Measure::Value(80.0),
            Measure::Value(93.0)
        )
    );
    assert_eq!(bp.unit, "mmHg");
    assert_eq!(bp.time_stamp.unwrap().to_string(), "2026-11-23T10:30:00");
    assert_eq!(bp.pulse, Some(Measure::Value(72.0)));
    assert_eq!(bp.user_id, Some(2));
    let st = bp.status.unwrap();
    assert!(st.body_movement && !st.cuff_too_loose && st.irregular_pulse && st.improper_position);
    assert_eq!(st.pulse_rate_range, "within_range");

    // Flag bit 0: kPa (16.0 = mantissa 160, exponent -1), converted to mmHg; special values kept.
    let kpa = cat(&[&[0x01], &[0xA0, 0xF0], &NRES, &PINF]);
    let Measurement::BloodPressure(bp) = decode(0x1810, 0x2A35, &kpa).unwrap() else {
        panic!()
    };
    assert_eq!(bp.systolic, Measure::Value(120.0));
    assert_eq!(bp.diastolic, Measure::NRes);
    assert_eq!(bp.mean_arterial, Measure::PositiveInfinity);
    assert_eq!(bp.reported_unit, "kPa");

    // Truncated: the time stamp the flags announce is cut.
    let cut = cat(&[&[0x02], &[0x78, 0, 0x50, 0, 0x5D, 0], &TIME[..4]]);
    assert_eq!(
        code(decode(0x1810, 0x2A35, &cut).unwrap_err()),
        "truncated-value"
    );
    // Month 13.
    let bad = cat(&[
        &[0x02],
        &[0x78, 0, 0x50, 0, 0x5D, 0],
        &[0xEA, 0x07, 13, 1, 0, 0, 0],
    ]);
    assert_eq!(
        code(decode(0x1810, 0x2A35, &bad).unwrap_err()),
        "bad-date-time"
    );
    // Under the wrong service.
    assert_eq!(
        code(decode(0x1809, 0x2A35, &val).unwrap_err()),
        "service-mismatch"
    );
}

#[test]
fn intermediate_cuff_pressure_2a36() {
    // BLS 1.1.1 §3.2: the 0x2A35 layout; Current Cuff Pressure in the systolic field, the
    // diastolic and MAP fields NaN. Notified while the cuff inflates: a live value.
    let val = cat(&[&[0x00], &[0x55, 0x00], &NAN, &NAN]);
    let m = decode(0x1810, 0x2A36, &val).unwrap();
    assert!(m.is_intermediate());
    let Measurement::IntermediateCuffPressure(bp) = m else {
        panic!()
    };
    assert_eq!(bp.systolic, Measure::Value(85.0));
    assert_eq!(bp.diastolic, Measure::NaN);
    assert_eq!(
        code(decode(0x1810, 0x2A36, &[0x00, 0x55]).unwrap_err()),
        "truncated-value"
    );
}

// --- Health Thermometer service (HTS 1.0) -------------------------------------------------------

#[test]
fn temperature_measurement_2a1c() {
    // HTS 1.0 §3.1.1: Flags; Temperature (FLOAT); Time Stamp (bit 1); Temperature Type (bit 2).
    // 36.6 °C = mantissa 366, exponent -1 = 0xFF00016E.
    let val = cat(&[&[0x06], &[0x6E, 0x01, 0x00, 0xFF], &TIME, &[0x06]]);
    let Measurement::Temperature(t) = decode(0x1809, 0x2A1C, &val).unwrap() else {
        panic!()
    };
    assert_eq!(t.celsius, Measure::Value(36.6));
    assert_eq!(t.time_stamp.unwrap().to_string(), "2026-11-23T10:30:00");
    assert_eq!(t.site.as_deref(), Some("mouth"));
    // Flag bit 0: Fahrenheit, 98.6 °F -> 37 °C.
    let f = decode(0x1809, 0x2A1C, &[0x01, 0xDA, 0x03, 0x00, 0xFF]).unwrap();
    let Measurement::Temperature(t) = f else {
        panic!()
    };
    assert_eq!(t.celsius, Measure::Value(37.0));
    assert_eq!(t.reported_unit, "fahrenheit");
    // FLOAT special values: NaN 0x007FFFFF, -INF 0x00800002.
    for (raw, want) in [
        ([0xFF, 0xFF, 0x7F, 0x00], Measure::NaN),
        ([0x02, 0x00, 0x80, 0x00], Measure::NegativeInfinity),
        ([0x00, 0x00, 0x80, 0x00], Measure::NRes),
    ] {
        let Measurement::Temperature(t) = decode(0x1809, 0x2A1C, &cat(&[&[0x00], &raw])).unwrap()
        else {
            panic!()
        };
        assert_eq!(t.celsius, want);
    }
    assert_eq!(
        code(decode(0x1809, 0x2A1C, &[0x00, 0x6E, 0x01]).unwrap_err()),
        "truncated-value"
    );
}

#[test]
fn intermediate_temperature_2a1e() {
    // HTS 1.0 §3.3: the 0x2A1C layout, notified while the reading settles.
    let m = decode(0x1809, 0x2A1E, &[0x00, 0x69, 0x01, 0x00, 0xFF]).unwrap();
    assert!(m.is_intermediate());
    let Measurement::IntermediateTemperature(t) = m else {
        panic!()
    };
    assert_eq!(t.celsius, Measure::Value(36.1));
}

#[test]
fn temperature_type_2a1d() {
    // HTS 1.0 §3.2: one octet, 3 = ear.
    assert_eq!(
        decode_features(0x2A1D, &[0x03]).unwrap().unwrap(),
        Features::TemperatureType { site: "ear".into() }
    );
    assert_eq!(
        code(decode_features(0x2A1D, &[]).unwrap().unwrap_err()),
        "truncated-value"
    );
}

// --- Weight Scale service (WSS 1.0) -------------------------------------------------------------

#[test]
fn weight_measurement_2a9d() {
    // WSS 1.0 §3.2.1: Flags; Weight (uint16, 0.005 kg SI / 0.01 lb imperial); Time Stamp
    // (bit 1); User ID (bit 2); BMI (0.1) and Height (0.001 m / 0.1 in) (bit 3).
    // 72.5 kg = 14500 x 0.005; BMI 23.7; height 1.750 m.
    let val = cat(&[
        &[0x0E],
        &14_500u16.to_le_bytes(),
        &TIME,
        &[0x01],
        &237u16.to_le_bytes(),
        &1750u16.to_le_bytes(),
    ]);
    let Measurement::Weight(w) = decode(0x181D, 0x2A9D, &val).unwrap() else {
        panic!()
    };
    assert_eq!(w.weight, Measure::Value(72.5));
    assert_eq!(w.user_id, Some(1));
    assert_eq!(w.bmi, Some(Measure::Value(23.7)));
    assert_eq!(w.height_m, Some(Measure::Value(1.75)));
    assert_eq!(w.time_stamp.unwrap().to_string(), "2026-11-23T10:30:00");
    // Imperial: 160.00 lb -> 72.575 kg.
    let Measurement::Weight(w) =
        decode(0x181D, 0x2A9D, &cat(&[&[0x01], &16_000u16.to_le_bytes()])).unwrap()
    else {
        panic!()
    };
    assert_eq!(w.weight, Measure::Value(72.575));
    assert_eq!(w.reported_unit, "lb");
    // 0xFFFF: "Measurement Unsuccessful".
    let Measurement::Weight(w) = decode(0x181D, 0x2A9D, &[0x00, 0xFF, 0xFF]).unwrap() else {
        panic!()
    };
    assert_eq!(w.weight, Measure::NaN);
    // BMI announced, height cut.
    assert_eq!(
        code(decode(0x181D, 0x2A9D, &[0x08, 0x10, 0x27, 0xED, 0x00, 0x01]).unwrap_err()),
        "truncated-value"
    );
}

#[test]
fn weight_scale_feature_2a9e() {
    // WSS 1.0 §3.1.1: bit 0 time stamp, 1 multiple users, 2 BMI, bits 3-6 weight resolution
    // (4 = 0.05 kg), bits 7-9 height resolution (3 = 0.001 m).
    let bits: u32 = 0b111 | (4 << 3) | (3 << 7);
    let Features::WeightScale {
        time_stamp,
        multiple_users,
        bmi,
        weight_resolution_kg,
        height_resolution_m,
    } = decode_features(0x2A9E, &bits.to_le_bytes())
        .unwrap()
        .unwrap()
    else {
        panic!()
    };
    assert!(time_stamp && multiple_users && bmi);
    assert_eq!(weight_resolution_kg.as_deref(), Some("0.05"));
    assert_eq!(height_resolution_m.as_deref(), Some("0.001"));
    assert_eq!(
        code(decode_features(0x2A9E, &[1, 0, 0]).unwrap().unwrap_err()),
        "truncated-value"
    );
}

// --- Pulse Oximeter service (PLXS 1.0.1) --------------------------------------------------------

/// A spot check: SpO2 `spo2` %, PR 72, time stamp `time`, Measurement Status "data from
/// measurement storage" when `stored`.
fn spot_check(spo2: u8, time: [u8; 7], stored: bool) -> Vec<u8> {
    // PLXS 1.0.1 §3.1.1: Flags (bit 0 time stamp, bit 1 measurement status, bit 2 device and
    // sensor status, bit 3 PAI, bit 4 device clock not set); SpO2, PR (SFLOAT); ...
    let flags = if stored { 0x03 } else { 0x01 };
    let mut v = cat(&[&[flags], &[spo2, 0x00], &[0x48, 0x00], &time]);
    if stored {
        v.extend_from_slice(&(1u16 << 9).to_le_bytes());
    }
    v
}

#[test]
fn plx_spot_check_2a5e() {
    let val = cat(&[
        &[0x1F],
        &[0x62, 0x00],
        &[0x48, 0x00],
        &TIME,
        &(0b1010_0000_0000_0000u16 | 1 << 7).to_le_bytes(),
        &[0x01, 0x00, 0x00],
        &[0x19, 0xF0],
    ]);
    let Measurement::PulseOximetry(p) = decode(0x1822, 0x2A5E, &val).unwrap() else {
        panic!()
    };
    assert_eq!(
        (p.spo2, p.pulse),
        (Measure::Value(98.0), Measure::Value(72.0))
    );
    assert_eq!(
        p.measurement_status.unwrap(),
        [
            "validated_data",
            "measurement_unavailable",
            "invalid_measurement"
        ]
    );
    assert_eq!(p.device_sensor_status, Some(1));
    assert_eq!(p.pulse_amplitude_index, Some(Measure::Value(2.5)));
    assert!(p.device_clock_not_set);
    assert_eq!(p.time_stamp.unwrap().to_string(), "2026-11-23T10:30:00");
    // SpO2 NaN while the finger is out; device and sensor status announced but cut.
    let Measurement::PulseOximetry(p) =
        decode(0x1822, 0x2A5E, &cat(&[&[0x00], &NAN, &NINF])).unwrap()
    else {
        panic!()
    };
    assert_eq!((p.spo2, p.pulse), (Measure::NaN, Measure::NegativeInfinity));
    assert_eq!(
        code(decode(0x1822, 0x2A5E, &[0x04, 0x62, 0, 0x48, 0, 1, 0]).unwrap_err()),
        "truncated-value"
    );
}

#[test]
fn plx_continuous_2a5f() {
    // PLXS 1.0.1 §3.2.1: Flags (bit 0 SpO2PR-Fast, 1 SpO2PR-Slow, 2 Measurement Status,
    // 3 Device and Sensor Status, 4 PAI); SpO2PR-Normal; then what the flags announce.
    let val = cat(&[
        &[0x17],
        &[0x61, 0x00, 0x46, 0x00],
        &[0x60, 0x00, 0x47, 0x00],
        &[0x62, 0x00, 0x45, 0x00],
        &(1u16 << 5).to_le_bytes(),
        &[0x20, 0xF0],
    ]);
    let m = decode(0x1822, 0x2A5F, &val).unwrap();
    assert!(m.is_intermediate());
    let Measurement::PulseOximetryContinuous(p) = m else {
        panic!()
    };
    assert_eq!(p.normal.spo2, Measure::Value(97.0));
    assert_eq!(p.fast.unwrap().pulse, Measure::Value(71.0));
    assert_eq!(p.slow.unwrap().spo2, Measure::Value(98.0));
    assert_eq!(p.measurement_status.unwrap(), ["measurement_ongoing"]);
    assert_eq!(p.pulse_amplitude_index, Some(Measure::Value(3.2)));
    assert_eq!(p.device_sensor_status, None);
    assert_eq!(
        code(decode(0x1822, 0x2A5F, &[0x01, 0x61, 0, 0x46, 0, 0x60]).unwrap_err()),
        "truncated-value"
    );
}

#[test]
fn plx_features_2a60() {
    // PLXS 1.0.1 §3.3.1: Supported Features (uint16); Measurement Status Support (uint16, bit
    // 0); Device and Sensor Status Support (uint24, bit 1).
    let val = cat(&[
        &0x000Fu16.to_le_bytes(),
        &0xFFE0u16.to_le_bytes(),
        &[0xFF, 0xFF, 0x00],
    ]);
    let f = decode_features(0x2A60, &val).unwrap().unwrap();
    assert!(f.has_storage());
    let Features::PulseOximeter {
        supported,
        measurement_status_support,
        device_sensor_status_support,
    } = f
    else {
        panic!()
    };
    assert_eq!(
        supported,
        [
            "measurement_status",
            "device_sensor_status",
            "measurement_storage",
            "timestamp"
        ]
    );
    assert_eq!(measurement_status_support, Some(0xFFE0));
    assert_eq!(device_sensor_status_support, Some(0xFFFF));
    assert_eq!(
        code(decode_features(0x2A60, &val[..3]).unwrap().unwrap_err()),
        "truncated-value"
    );
}

// --- Heart Rate service (HRS 1.0) ---------------------------------------------------------------

#[test]
fn heart_rate_measurement_2a37() {
    // HRS 1.0 §3.1.1: Flags (bit 0 uint16 format, bits 1-2 sensor contact, bit 3 energy,
    // bit 4 RR intervals in 1/1024 s).
    let val = cat(&[
        &[0x1E],
        &[72],
        &[0x10, 0x00],
        &1024u16.to_le_bytes(),
        &512u16.to_le_bytes(),
    ]);
    let Measurement::HeartRate(h) = decode(0x180D, 0x2A37, &val).unwrap() else {
        panic!()
    };
    assert_eq!(h.heart_rate, 72);
    assert_eq!(h.sensor_contact, Some(true));
    assert_eq!(h.energy_expended_kj, Some(16));
    assert_eq!(h.rr_intervals_s, [1.0, 0.5]);
    let Measurement::HeartRate(h) = decode(0x180D, 0x2A37, &[0x01, 0x2C, 0x01]).unwrap() else {
        panic!()
    };
    assert_eq!(h.heart_rate, 300);
    assert_eq!(h.sensor_contact, None);
    assert_eq!(
        code(decode(0x180D, 0x2A37, &[0x01, 0x2C]).unwrap_err()),
        "truncated-value"
    );
}

// --- Glucose service (GLS 1.0.1) ----------------------------------------------------------------

/// Glucose record `seq` at `time`: 95 mg/dL (kg/L, 95e-5 = 0xB05F), capillary whole blood,
/// finger; `context` sets flag bit 4.
fn glucose(seq: u16, time: [u8; 7], context: bool) -> Vec<u8> {
    // GLS 1.0.1 §3.1.1: Flags; Sequence Number; Base Time; Time Offset (bit 0, sint16);
    // Concentration (SFLOAT) and Type-Sample Location (bit 1; bit 2 mol/L); Sensor Status
    // Annunciation (bit 3); bit 4 context follows.
    let flags = 0x0B | if context { 0x10 } else { 0 };
    cat(&[
        &[flags],
        &seq.to_le_bytes(),
        &time,
        &(-5i16).to_le_bytes(),
        &[0x5F, 0xB0],
        &[0x11],
        &[0x01, 0x00],
    ])
}

/// The context of record `seq`: breakfast, 50 g (0.05 kg = 0xE005), preprandial, HbA1c 6.5 %.
fn glucose_context(seq: u16) -> Vec<u8> {
    // GLS 1.0.1 §3.2.1: Flags (bit 0 carbohydrate, 1 meal, 2 tester-health, 3 exercise,
    // 4 medication, 5 medication in litres, 6 HbA1c, 7 extended flags); Sequence Number; ...
    cat(&[
        &[0x43],
        &seq.to_le_bytes(),
        &[0x01, 0x05, 0xE0],
        &[0x01],
        &[0x41, 0xF0],
    ])
}

#[test]
fn glucose_measurement_2a18() {
    let Measurement::Glucose(g) = decode(0x1808, 0x2A18, &glucose(7, TIME, true)).unwrap() else {
        panic!()
    };
    assert_eq!(g.sequence_number, 7);
    assert_eq!(g.base_time.to_string(), "2026-11-23T10:30:00");
    assert_eq!(g.time_offset_minutes, Some(-5));
    assert_eq!(g.concentration, Some(Measure::Value(95.0)));
    assert_eq!(g.mmol_per_l, Some(Measure::Value(5.27)));
    assert_eq!(g.sample_type.as_deref(), Some("capillary_whole_blood"));
    assert_eq!(g.sample_location.as_deref(), Some("finger"));
    assert_eq!(
        g.sensor_status.as_deref(),
        Some(&["battery_low".to_string()][..])
    );
    assert!(g.context_follows);
    // mol/L (bit 2): 5.5 mmol/L = 55e-4 = 0xC037.
    let molar = cat(&[&[0x06], &[1, 0], &TIME, &[0x37, 0xC0], &[0x11]]);
    let Measurement::Glucose(g) = decode(0x1808, 0x2A18, &molar).unwrap() else {
        panic!()
    };
    assert_eq!(g.mmol_per_l, Some(Measure::Value(5.5)));
    assert_eq!(g.reported_unit, "mol/L");
    // Concentration announced, Type-Sample Location cut.
    assert_eq!(
        code(decode(0x1808, 0x2A18, &molar[..molar.len() - 1]).unwrap_err()),
        "truncated-value"
    );
    // A base time with day 32.
    let bad = cat(&[&[0x00], &[1, 0], &[0xEA, 0x07, 1, 32, 0, 0, 0]]);
    assert_eq!(
        code(decode(0x1808, 0x2A18, &bad).unwrap_err()),
        "bad-date-time"
    );
}

#[test]
fn glucose_measurement_context_2a34() {
    let c = decode_glucose_context(&glucose_context(7)).unwrap();
    assert_eq!(c.sequence_number, 7);
    assert_eq!(c.carbohydrate.as_deref(), Some("breakfast"));
    assert_eq!(c.carbohydrate_g, Some(Measure::Value(50.0)));
    assert_eq!(c.meal.as_deref(), Some("preprandial"));
    assert_eq!(c.hba1c_percent, Some(Measure::Value(6.5)));
    // Every field: extended flags, tester self / health no issues, 30 min at 60 %, 2.5 mg of
    // rapid-acting insulin (2.5e-6 kg = mantissa 25, exponent -7 = 0x9019).
    let all = cat(&[
        &[0x9F],
        &[8, 0],
        &[0x00],
        &[0x04, 0x05, 0xE0],
        &[0x05],
        &[0x51],
        &1800u16.to_le_bytes(),
        &[60],
        &[0x01, 0x19, 0x90],
    ]);
    let c = decode_glucose_context(&all).unwrap();
    assert_eq!(c.extended_flags, Some(0));
    assert_eq!(c.carbohydrate.as_deref(), Some("snack"));
    assert_eq!(c.meal.as_deref(), Some("bedtime"));
    assert_eq!(
        (c.tester.as_deref(), c.health.as_deref()),
        (Some("self"), Some("no_issues"))
    );
    assert_eq!(
        (c.exercise_duration_s, c.exercise_intensity_percent),
        (Some(1800), Some(60))
    );
    assert_eq!(c.medication.as_deref(), Some("rapid_acting_insulin"));
    assert_eq!(c.medication_amount, Some(Measure::Value(2.5)));
    assert_eq!(c.medication_unit.as_deref(), Some("mg"));
    // Tester-health 0xFF: both "not available".
    let c = decode_glucose_context(&[0x04, 1, 0, 0xFF]).unwrap();
    assert_eq!(
        (c.tester.as_deref(), c.health.as_deref()),
        (Some("not_available"), Some("not_available"))
    );
    assert_eq!(
        code(decode_glucose_context(&all[..all.len() - 1]).unwrap_err()),
        "truncated-value"
    );
    assert_eq!(
        code(decode_glucose_context(&[0x00, 1]).unwrap_err()),
        "truncated-value"
    );
}

#[test]
fn feature_characteristics_2a49_2a51() {
    // BLS 1.1.1 §3.3.1: uint16, bit 0 body movement ... bit 5 multiple bond.
    assert_eq!(
        decode_features(0x2A49, &[0x05, 0x00]).unwrap().unwrap(),
        Features::BloodPressure {
            supported: vec![
                "body_movement_detection".into(),
                "irregular_pulse_detection".into()
            ]
        }
    );
    // GLS 1.0.1 §3.3.1: uint16, bit 0 low battery ... bit 10 multiple bond.
    let g = decode_features(0x2A51, &0x0401u16.to_le_bytes())
        .unwrap()
        .unwrap();
    assert_eq!(
        g,
        Features::Glucose {
            supported: vec!["low_battery_detection".into(), "multiple_bond".into()]
        }
    );
    assert!(g.has_storage());
    assert_eq!(
        code(decode_features(0x2A49, &[0x05]).unwrap().unwrap_err()),
        "truncated-value"
    );
    assert!(
        decode_features(0x2A35, &[0]).is_none(),
        "not a feature characteristic"
    );
}

// --- Device Information (DIS 1.1) and Current Time (CTS 1.1) ------------------------------------

#[test]
fn device_information_strings() {
    // DIS 1.1 §3.1-3.5: UTF-8 strings, no terminator; some devices pad with NULs.
    assert_eq!(
        device_information_string(0x2A29, b"Omron Healthcare").unwrap(),
        "Omron Healthcare"
    );
    assert_eq!(
        device_information_string(0x2A24, b"BP7250\0\0\0").unwrap(),
        "BP7250"
    );
    assert_eq!(
        device_information_string(0x2A25, "Größe-9".as_bytes()).unwrap(),
        "Größe-9"
    );
    assert_eq!(device_information_string(0x2A26, b"").unwrap(), "");
    assert_eq!(
        code(device_information_string(0x2A29, &[0xC3, 0x28]).unwrap_err()),
        "bad-string"
    );
    assert_eq!(
        code(device_information_string(0x2A29, &[b'a'; 513]).unwrap_err()),
        "bad-string"
    );
}

#[test]
fn current_time_2a2b() {
    // CTS 1.1 §3.1: Exact Time 256 (Date Time, Day of Week 1 = Monday, Fractions256) and
    // Adjust Reason. 2026-12-06 08:05:30.500 UTC is a Sunday; at UTC+1 the device shows 09:05:30.
    let unix_ms = 1_796_544_330_500;
    let t = CurrentTime::from_unix_ms(unix_ms, 60, 0x01).unwrap();
    assert_eq!(t.encode(), [0xEA, 0x07, 12, 6, 9, 5, 30, 7, 128, 0x01]);
    assert_eq!(CurrentTime::decode(&t.encode()).unwrap(), t);
    // West of UTC across midnight: 2026-12-05 22:05:30 Saturday at UTC-10.
    let t = CurrentTime::from_unix_ms(unix_ms, -600, 0x02).unwrap();
    assert_eq!(t.encode(), [0xEA, 0x07, 12, 5, 22, 5, 30, 6, 128, 0x02]);
    // 1970-01-01 was a Thursday.
    assert_eq!(CurrentTime::from_unix_ms(0, 0, 0).unwrap().day_of_week, 4);
    assert_eq!(CurrentTime::from_unix_ms(0, -60, 0), None, "before 1970");
    assert_eq!(
        CurrentTime::decode(&[0xEA, 0x07, 12, 6])
            .unwrap_err()
            .code(),
        "truncated-value"
    );
    assert_eq!(
        CurrentTime::decode(&[0xEA, 0x07, 12, 6, 9, 5, 30, 8, 0, 0])
            .unwrap_err()
            .code(),
        "bad-date-time"
    );
}

// --- Record Access Control Point (GLS 1.0.1 §3.4, PLXS 1.0.1 §3.4) ------------------------------

#[test]
fn racp_requests_and_answers() {
    // Op codes: 1 report stored records, 3 abort, 4 report number, 5 number response,
    // 6 response code. Operators: 0 null, 1 all, 3 >=, 6 last. Filter type 1: sequence number.
    assert_eq!(RacpRequest::ReportAll.encode(), [0x01, 0x01]);
    assert_eq!(
        RacpRequest::ReportFrom(0x0102).encode(),
        [0x01, 0x03, 0x01, 0x02, 0x01]
    );
    assert_eq!(RacpRequest::ReportLast.encode(), [0x01, 0x06]);
    assert_eq!(RacpRequest::NumberOfAll.encode(), [0x04, 0x01]);
    assert_eq!(
        RacpRequest::NumberFrom(5).encode(),
        [0x04, 0x03, 0x01, 0x05, 0x00]
    );
    assert_eq!(RacpRequest::Abort.encode(), [0x03, 0x00]);
    assert_eq!(
        RacpResponse::decode(&[0x05, 0x00, 0x2C, 0x01]).unwrap(),
        RacpResponse::NumberOfRecords(300)
    );
    assert_eq!(
        RacpResponse::decode(&[0x06, 0x00, 0x01, 0x06]).unwrap(),
        RacpResponse::ResponseCode {
            request: 0x01,
            code: RacpCode::NoRecordsFound
        }
    );
    for bad in [
        &[][..],
        &[0x06, 0x00, 0x01],
        &[0x05, 0x01, 0x00, 0x00],
        &[0x01, 0x01],
        &[0x06, 0x00, 0x01, 0x01, 0x00],
    ] {
        assert_eq!(
            RacpResponse::decode(bad).unwrap_err().code(),
            "racp-unexpected",
            "{bad:02x?}"
        );
    }
    for r in [
        RacpResponse::NumberOfRecords(7),
        RacpResponse::ResponseCode {
            request: 4,
            code: RacpCode::Reserved(0x44),
        },
    ] {
        assert_eq!(RacpResponse::decode(&r.encode()).unwrap(), r);
    }
}

fn records(events: &[Event]) -> Vec<&veil_trust::sig::Record> {
    events
        .iter()
        .filter_map(|e| {
            if let Event::Record(r) = e {
                Some(&**r)
            } else {
                None
            }
        })
        .collect()
}

fn day(d: u8) -> [u8; 7] {
    [0xEA, 0x07, 11, d, 8, 0, 0]
}

#[test]
fn glucose_stored_records_session() {
    // GLS 1.0.1 §4.9.1 (Report Stored Records procedure): the client writes 01 01; the meter
    // notifies each record (and its context right after it), then indicates 06 00 01 01.
    let mut s = Session::new(profile(0x1808).unwrap());
    assert_eq!(s.request(RacpRequest::NumberOfAll).unwrap(), [0x04, 0x01]);
    assert_eq!(
        s.on_value(0x2A52, &[0x05, 0x00, 0x03, 0x00]).unwrap(),
        [Event::StoredRecords(3)]
    );

    assert_eq!(s.request(RacpRequest::ReportAll).unwrap(), [0x01, 0x01]);
    assert!(s.busy());
    assert_eq!(
        s.request(RacpRequest::ReportAll).unwrap_err().code(),
        "racp-busy"
    );
    let mut events = Vec::new();
    events.extend(s.on_value(0x2A18, &glucose(1, day(1), false)).unwrap());
    // Record 2 announces a context: held until it comes.
    assert!(
        s.on_value(0x2A18, &glucose(2, day(2), true))
            .unwrap()
            .is_empty()
    );
    events.extend(s.on_value(0x2A34, &glucose_context(2)).unwrap());
    events.extend(s.on_value(0x2A18, &glucose(3, day(3), false)).unwrap());
    events.extend(s.on_value(0x2A52, &[0x06, 0x00, 0x01, 0x01]).unwrap());
    let got = records(&events);
    assert_eq!(got.len(), 3);
    assert!(got.iter().all(|r| r.from_storage));
    assert_eq!(
        got[1].context.as_ref().unwrap().meal.as_deref(),
        Some("preprandial")
    );
    assert!(got[0].context.is_none());
    assert_eq!(
        events.last().unwrap(),
        &Event::TransferDone {
            request: RacpRequest::ReportAll,
            received: 3,
            duplicates: 0,
            no_records: false
        }
    );
    assert!(!s.busy());
    assert_eq!(s.last_sequence(), Some(3));

    // Next connection: records since 4; the meter (off by one) sends record 3 again, then 4.
    let from = s.last_sequence().unwrap() + 1;
    assert_eq!(
        s.request(RacpRequest::ReportFrom(from)).unwrap(),
        [0x01, 0x03, 0x01, 0x04, 0x00]
    );
    let dup = s.on_value(0x2A18, &glucose(3, day(3), false)).unwrap();
    assert!(matches!(&dup[..], [Event::Duplicate(k)] if k.sequence_number == Some(3)));
    let new = s.on_value(0x2A18, &glucose(4, day(4), false)).unwrap();
    assert_eq!(records(&new).len(), 1);
    // Same sequence number, another base time (the meter's counter was reset): a new record.
    let reset = s.on_value(0x2A18, &glucose(1, day(9), false)).unwrap();
    assert_eq!(records(&reset).len(), 1);
    assert_eq!(
        s.on_value(0x2A52, &[0x06, 0x00, 0x01, 0x01]).unwrap(),
        [Event::TransferDone {
            request: RacpRequest::ReportFrom(4),
            received: 3,
            duplicates: 1,
            no_records: false
        }]
    );

    // Nothing new: "no records found" ends the transfer, empty.
    s.request(RacpRequest::ReportFrom(10)).unwrap();
    assert_eq!(
        s.on_value(0x2A52, &[0x06, 0x00, 0x01, 0x06]).unwrap(),
        [Event::TransferDone {
            request: RacpRequest::ReportFrom(10),
            received: 0,
            duplicates: 0,
            no_records: true
        }]
    );
}

#[test]
fn glucose_session_refuses_what_breaks_the_procedure() {
    let mut s = Session::new(profile(0x1808).unwrap());
    // An answer nobody asked for.
    assert_eq!(
        s.on_value(0x2A52, &[0x06, 0x00, 0x01, 0x01])
            .unwrap_err()
            .code(),
        "racp-unexpected"
    );
    // A failure code: the request ends, typed.
    s.request(RacpRequest::ReportFrom(1)).unwrap();
    let e = s.on_value(0x2A52, &[0x06, 0x00, 0x01, 0x05]).unwrap_err();
    assert_eq!(
        (e.code(), e.to_string().contains("invalid operand")),
        ("racp-failed", true)
    );
    assert!(!s.busy());
    // An answer to another op code than the one asked.
    s.request(RacpRequest::ReportAll).unwrap();
    assert_eq!(
        s.on_value(0x2A52, &[0x06, 0x00, 0x04, 0x01])
            .unwrap_err()
            .code(),
        "racp-unexpected"
    );
    assert_eq!(
        s.on_value(0x2A52, &[0x05, 0x00, 0x01, 0x00])
            .unwrap_err()
            .code(),
        "racp-unexpected"
    );
    // Abort replaces the running report; its own response code ends it.
    assert_eq!(s.request(RacpRequest::Abort).unwrap(), [0x03, 0x00]);
    assert!(matches!(
        &s.on_value(0x2A52, &[0x06, 0x00, 0x03, 0x01]).unwrap()[..],
        [Event::TransferDone {
            request: RacpRequest::Abort,
            ..
        }]
    ));
    // A context whose measurement never came; a truncated record mid-transfer; both typed,
    // and the session goes on.
    assert_eq!(
        s.on_value(0x2A34, &glucose_context(5)).unwrap_err().code(),
        "orphan-context"
    );
    s.request(RacpRequest::ReportAll).unwrap();
    assert_eq!(
        s.on_value(0x2A18, &glucose(1, day(1), false)[..9])
            .unwrap_err()
            .code(),
        "truncated-value"
    );
    assert_eq!(
        s.on_value(0x2A34, &[0x43, 1]).unwrap_err().code(),
        "truncated-value"
    );
    assert_eq!(
        records(&s.on_value(0x2A18, &glucose(1, day(1), true)).unwrap()).len(),
        0
    );
    // The context never comes: the response code gives the record out without it.
    let end = s.on_value(0x2A52, &[0x06, 0x00, 0x01, 0x01]).unwrap();
    assert_eq!(records(&end).len(), 1);
    assert!(records(&end)[0].context.is_none());
    // A characteristic of another service.
    assert_eq!(
        s.on_value(0x2A35, &[0; 7]).unwrap_err().code(),
        "unexpected-characteristic"
    );
}

#[test]
fn pulse_oximeter_stored_records_session() {
    // PLXS 1.0.1 §3.4 / §4.5: stored spot checks come on 0x2A5E (Measurement Status bit 9
    // "data from measurement storage") after 01 01, then 06 00 01 01. No sequence numbers: a
    // spot check is known again by its time stamp and value.
    let mut s = Session::new(profile(0x1822).unwrap());
    s.request(RacpRequest::NumberOfAll).unwrap();
    assert_eq!(
        s.on_value(0x2A52, &RacpResponse::NumberOfRecords(2).encode())
            .unwrap(),
        [Event::StoredRecords(2)]
    );
    s.request(RacpRequest::ReportAll).unwrap();
    let mut events = Vec::new();
    for v in [spot_check(97, day(1), true), spot_check(98, day(2), true)] {
        events.extend(s.on_value(0x2A5E, &v).unwrap());
    }
    events.extend(s.on_value(0x2A52, &[0x06, 0x00, 0x01, 0x01]).unwrap());
    assert_eq!(records(&events).len(), 2);
    let Measurement::PulseOximetry(p) = &records(&events)[0].measurement else {
        panic!()
    };
    assert_eq!(
        p.measurement_status.as_deref(),
        Some(&["data_from_storage".to_string()][..])
    );
    // A live spot check, then the whole store again: only nothing new.
    assert_eq!(
        records(&s.on_value(0x2A5E, &spot_check(99, day(3), false)).unwrap()).len(),
        1
    );
    s.request(RacpRequest::ReportAll).unwrap();
    let mut again = Vec::new();
    for v in [spot_check(97, day(1), true), spot_check(98, day(2), true)] {
        again.extend(s.on_value(0x2A5E, &v).unwrap());
    }
    again.extend(s.on_value(0x2A52, &[0x06, 0x00, 0x01, 0x01]).unwrap());
    assert!(records(&again).is_empty());
    assert_eq!(
        again.last().unwrap(),
        &Event::TransferDone {
            request: RacpRequest::ReportAll,
            received: 2,
            duplicates: 2,
            no_records: false
        }
    );
    // A continuous measurement in between is live, never a record.
    let live = s.on_value(0x2A5F, &[0x00, 0x61, 0x00, 0x46, 0x00]).unwrap();
    assert!(matches!(
        &live[..],
        [Event::Live(Measurement::PulseOximetryContinuous(_))]
    ));
    // Same minute, another value: two readings.
    assert_eq!(
        records(&s.on_value(0x2A5E, &spot_check(96, day(3), false)).unwrap()).len(),
        1
    );
}

#[test]
fn blood_pressure_session_drops_measurements_indicated_again() {
    // BLS 1.1.1 §4.2: a cuff with stored measurements indicates them on each connection.
    let p = profile(0x1810).unwrap();
    let mut s = Session::new(p);
    let stamped = |sys: u8, d: u8| cat(&[&[0x02], &[sys, 0, 0x50, 0, 0x5D, 0], &day(d)]);
    let first: Vec<Event> = [stamped(120, 1), stamped(125, 2)]
        .iter()
        .flat_map(|v| s.on_value(0x2A35, v).unwrap())
        .collect();
    assert_eq!(records(&first).len(), 2);
    assert!(
        records(&first)
            .iter()
            .all(|r| !r.from_storage && r.key.is_some())
    );
    // Reconnection: both again, then a new one.
    let second: Vec<Event> = [stamped(120, 1), stamped(125, 2), stamped(118, 3)]
        .iter()
        .flat_map(|v| s.on_value(0x2A35, v).unwrap())
        .collect();
    assert_eq!(records(&second).len(), 1);
    assert_eq!(
        second
            .iter()
            .filter(|e| matches!(e, Event::Duplicate(_)))
            .count(),
        2
    );
    // Without a time stamp there is no key: never dropped.
    let bare = [0x00, 0x78, 0, 0x50, 0, 0x5D, 0];
    for _ in 0..2 {
        assert_eq!(records(&s.on_value(0x2A35, &bare).unwrap()).len(), 1);
    }
    // Intermediate cuff pressure is live; the cuff has no control point.
    assert!(matches!(
        &s.on_value(0x2A36, &cat(&[&[0x00], &[0x55, 0x00], &NAN, &NAN]))
            .unwrap()[..],
        [Event::Live(_)]
    ));
    assert_eq!(
        s.request(RacpRequest::ReportAll).unwrap_err().code(),
        "unexpected-characteristic"
    );
    assert_eq!(
        s.on_value(0x2A52, &[0x06, 0, 1, 1]).unwrap_err().code(),
        "unexpected-characteristic"
    );
    // The profile: measurement indicate, intermediate notify, feature readable.
    assert_eq!(p.channels[0].delivery, veil_trust::sig::Delivery::Indicate);
    assert_eq!(p.channels[1].delivery, veil_trust::sig::Delivery::Notify);
    assert_eq!(p.features, Some(0x2A49));
}

#[test]
fn every_profile_channel_decodes_under_its_service() {
    // Every measurement characteristic the app subscribes to is decoded under its own service,
    // never `Unknown`, so the page's handler has something to show.
    for p in veil_trust::sig::PROFILES {
        for c in p.channels {
            if c.characteristic == 0x2A34 {
                continue;
            }
            let m = decode(p.service, c.characteristic, &[0u8; 32]).unwrap();
            assert!(
                !matches!(m, Measurement::Unknown { .. }),
                "0x{:04X}",
                c.characteristic
            );
        }
    }
}
