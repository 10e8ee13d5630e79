//! Readings imported from a file, for browsers without Web Bluetooth (Firefox, Safari, every iOS
//! browser): the FHIR R4 Observation Bundle a device's own app exports, read by
//! `veil_trust::fhir_import`. Every imported reading is UNVERIFIED: the file says who measured
//! what, nothing proves it. They are kept (`platform::storage`) to be sealed with that status.

use leptos::prelude::*;
use leptos::task::spawn_local;
use wasm_bindgen::JsCast;

use veil_core::Coded;
use veil_trust::fhir_import::{
    ImportedKind, ImportedReading, MAX_BUNDLE_BYTES, import_observation_bundle,
};

use crate::error::AppError;
use veil_seal::{DeviceClaims, UnverifiedReading, UnverifiedSource, UnverifiedValue};

/// One imported reading as a row.
#[derive(Debug, Clone, PartialEq)]
pub struct ImportedRow {
    /// Position in the list (stable key).
    pub seq: usize,
    /// The reading.
    pub reading: ImportedReading,
    /// The file it came from.
    pub file: String,
}

/// The reading's value in one line: `120/80 mmHg`, `37 °C`.
fn headline(r: &ImportedReading) -> String {
    let num = |v: f64| {
        if v.fract() == 0.0 {
            format!("{v:.0}")
        } else {
            format!("{v}")
        }
    };
    let get = |name: &str| r.values.iter().find(|v| v.name == name);
    match r.kind {
        ImportedKind::BloodPressure => match (get("systolic"), get("diastolic")) {
            (Some(s), Some(d)) => format!("{}/{} {}", num(s.value), num(d.value), s.unit),
            _ => String::new(),
        },
        ImportedKind::Spo2 => r
            .values
            .first()
            .map(|v| format!("SpO2 {} {}", num(v.value), v.unit))
            .unwrap_or_default(),
        _ => r
            .values
            .first()
            .map(|v| format!("{} {}", num(v.value), v.unit))
            .unwrap_or_default(),
    }
}

fn kind_name(kind: ImportedKind) -> &'static str {
    match kind {
        ImportedKind::BloodPressure => "blood pressure",
        ImportedKind::BodyTemperature => "body temperature",
        ImportedKind::BodyWeight => "body weight",
        ImportedKind::Spo2 => "oxygen saturation",
        ImportedKind::HeartRate => "heart rate",
        ImportedKind::Glucose => "glucose",
    }
}

/// An imported reading as an unverified reading, for sealing with that status; `None` when a
/// field the file gave is out of the manifest's ranges (an over-long time or device name).
pub fn unverified_reading(r: &ImportedReading) -> Option<UnverifiedReading> {
    let reading = UnverifiedReading {
        kind: r.kind.measurement_kind().to_owned(),
        values: r
            .values
            .iter()
            .map(|v| UnverifiedValue {
                name: v.name.to_owned(),
                value: v.value,
                unit: v.unit.to_owned(),
            })
            .collect(),
        time: r.effective.clone(),
        source: UnverifiedSource::FhirImport,
        device: DeviceClaims {
            name: r.device.clone().filter(|d| !d.is_empty()),
            ..DeviceClaims::default()
        },
    };
    reading.validate().is_ok().then_some(reading)
}

async fn read_file(file: web_sys::File) -> Result<String, AppError> {
    if file.size() > MAX_BUNDLE_BYTES as f64 {
        return Err(AppError::new(
            "bad-bundle",
            format!(
                "the file is larger than {} MiB",
                MAX_BUNDLE_BYTES / (1024 * 1024)
            ),
        ));
    }
    let text = wasm_bindgen_futures::JsFuture::from(file.text())
        .await
        .map_err(|e| AppError::browser_js(&e).context("The file could not be read"))?;
    text.as_string()
        .ok_or_else(|| AppError::browser("the file is not text"))
}

/// The import section: a file input, what was imported (UNVERIFIED) and what was skipped.
#[component]
pub fn ImportReadings(
    /// The imported readings, kept beside the paired devices.
    rows: RwSignal<Vec<ImportedRow>>,
) -> impl IntoView {
    let status = RwSignal::new(None::<Result<String, AppError>>);
    let on_change = move |ev: leptos::ev::Event| {
        let Some(input) = ev
            .target()
            .and_then(|t| t.dyn_into::<web_sys::HtmlInputElement>().ok())
        else {
            return;
        };
        let Some(file) = input.files().and_then(|f| f.get(0)) else {
            return;
        };
        input.set_value("");
        let name = file.name();
        spawn_local(async move {
            let outcome = match read_file(file).await {
                Ok(text) => import_observation_bundle(&text)
                    .map_err(|e| AppError::new(e.code(), e.to_string())),
                Err(e) => Err(e),
            };
            let outcome =
                match outcome {
                    Ok(import) => {
                        let kept: Vec<_> = import
                            .readings
                            .iter()
                            .filter_map(unverified_reading)
                            .collect();
                        match crate::platform::storage::save_unverified(&kept).await {
                            Ok(_) => Ok((import, kept.len())),
                            Err(e) => Err(AppError::from(e)
                                .context("The readings could not be kept for sending")),
                        }
                    }
                    Err(e) => Err(e),
                };
            status.set(Some(outcome.map(|(import, kept)| {
                let n = import.readings.len();
                rows.update(|list| {
                    for reading in import.readings {
                        let seq = list.len();
                        list.push(ImportedRow {
                            seq,
                            reading,
                            file: name.clone(),
                        });
                    }
                });
                let skipped = import.skipped.len();
                let mut text = if skipped == 0 {
                    format!("{n} readings imported from {name}, all UNVERIFIED.")
                } else {
                    format!(
                        "{n} readings imported from {name}, all UNVERIFIED; {skipped} entries skipped ({}).",
                        import.skipped.join("; ")
                    )
                };
                if kept < n {
                    text.push_str(&format!(
                        " {} cannot be sent (a field out of range).",
                        n - kept
                    ));
                }
                text
            })));
        });
    };
    view! {
        <section class="card import" aria-labelledby="import-title" data-testid="import-section">
            <h2 id="import-title">"Import readings from a file"</h2>
            <p>"Your device's own app can usually export its readings as a FHIR file (an Observation Bundle, JSON). Imported readings are marked UNVERIFIED: nothing proves which device took them. They can be sent from the Outbox with that status."</p>
            <label>
                "Readings file "
                <input type="file" accept=".json,application/fhir+json,application/json"
                    data-testid="import-file" on:change=on_change/>
            </label>
            {move || status.get().map(|s| match s {
                Ok(text) => view! { <p role="status" data-testid="import-status" data-state="ok">{text}</p> }.into_any(),
                Err(error) => {
                    let code = error.code;
                    view! {
                    <p role="alert" data-testid="import-status" data-state="error" data-code=code>
                        <crate::components::ErrorText error/>
                    </p>
                }.into_any()
                },
            })}
            <Show when=move || rows.with(|r| !r.is_empty())>
                <table class="readings" data-testid="imported-list">
                    <thead><tr><th scope="col">"Status"</th><th scope="col">"Reading"</th><th scope="col">"Measured"</th><th scope="col">"Device (as the file says)"</th></tr></thead>
                    <tbody>
                        <For each=move || rows.get() key=|r| r.seq let:row>
                            <tr data-testid="imported-reading" data-status="unverified" data-loinc=row.reading.loinc
                                data-kind=kind_name(row.reading.kind)>
                                <td><span class="badge unverified" data-testid="reading-badge">"UNVERIFIED"</span>" imported"</td>
                                <td data-testid="reading-value">{headline(&row.reading)}</td>
                                <td>{row.reading.effective.clone().unwrap_or_else(|| "time not stated".into())}</td>
                                <td>{row.reading.device.clone().unwrap_or_else(|| format!("not stated ({})", row.file))}</td>
                            </tr>
                        </For>
                    </tbody>
                </table>
            </Show>
        </section>
    }
}
