//! The utility report as the Models page shows it: rows of readable text, built in the mesh worker
//! from `veil_mesh::Report`.
//!
//! Why not send the `Report` itself: JSON has no NaN or infinity, so serde writes a non-finite
//! `f64` as `null`, which the same type then refuses to read back. Formatting in the worker keeps
//! the page independent of that and of the report's exact shape; the full report still travels as
//! JSON text for download.

use serde::{Deserialize, Serialize};
use veil_mesh::Report;

/// One metadata channel that was found and removed (never its value).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ChannelRow {
    /// The stable channel id of `veil-mesh` (`stl-header-text`, `obj-comment`, ...).
    pub channel: String,
    /// A readable name for it.
    pub label: String,
    /// Which property or element, for per-property channels.
    pub detail: String,
    /// Occurrences.
    pub count: u64,
    /// Bytes they took in the input.
    pub bytes: u64,
}

/// One pipeline step.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StepRow {
    /// The step id (`scrub`, `reframe`, `deface`, `mask`, `shuffle`, `quantise`).
    pub step: String,
    /// Its numbered name.
    pub label: String,
    /// Whether it changed anything.
    pub applied: bool,
    /// What it did.
    pub note: String,
}

/// Something over a bound or worth a look.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FlagRow {
    /// Stable code (`hausdorff-over-bound`, `not-a-head`, ...).
    pub code: String,
    /// A sentence.
    pub message: String,
}

/// The report, ready to show.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
pub struct ReportView {
    /// Profile, formats, counts, sizes.
    pub summary: Vec<(String, String)>,
    /// Metadata channels removed.
    pub metadata: Vec<ChannelRow>,
    /// Their total size in bytes.
    pub metadata_bytes: u64,
    /// The steps in order.
    pub steps: Vec<StepRow>,
    /// `defaced`, `not-a-head`, `off` or `plane-missed`.
    pub deface_outcome: String,
    /// Face-removal details.
    pub deface: Vec<(String, String)>,
    /// Distances, area, volume, watertightness, transform.
    pub utility: Vec<(String, String)>,
    /// Flags.
    pub flags: Vec<FlagRow>,
    /// The whole report as JSON (what `veil deid --report` writes).
    pub json: String,
}

/// A readable name for a metadata channel id of `veil-mesh`.
pub fn channel_label(id: &str) -> &'static str {
    match id {
        "stl-header-text" => "STL header: free text",
        "stl-header-materialise-color" => "STL header: Materialise COLOR",
        "stl-header-materialise-material" => "STL header: Materialise MATERIAL",
        "stl-header-space" => "STL header: 3D Slicer SPACE (patient orientation)",
        "stl-ascii-solid-name" => "ASCII STL: solid name",
        "stl-ascii-endsolid-name" => "ASCII STL: endsolid name",
        "stl-facet-colour-viscam" => "STL facet colours (VisCAM/SolidView)",
        "stl-facet-colour-materialise" => "STL facet colours (Materialise)",
        "stl-facet-attribute" => "STL facet attribute bytes",
        "obj-comment" => "OBJ comments",
        "obj-object-name" => "OBJ object names (o)",
        "obj-group-name" => "OBJ group names (g)",
        "obj-mtllib" => "OBJ material library (mtllib)",
        "obj-usemtl" => "OBJ material names (usemtl)",
        "obj-vertex-colour" => "OBJ vertex colours",
        "obj-normals" => "OBJ normals (vn)",
        "obj-texture-coordinates" => "OBJ texture coordinates (vt)",
        "obj-smoothing-group" => "OBJ smoothing groups",
        "obj-lines-points" => "OBJ lines and points",
        "obj-other-statement" => "OBJ other statements",
        "ply-comment" => "PLY comments",
        "ply-obj-info" => "PLY obj_info",
        "ply-extra-property" => "PLY extra property",
        "ply-extra-element" => "PLY extra element",
        "unreferenced-vertices" => "Vertices no triangle uses",
        _ => "Other metadata",
    }
}

fn step_label(step: &str) -> String {
    match step {
        "scrub" => "1. Metadata scrub".into(),
        "reframe" => "2. Reframe".into(),
        "deface" => "3. Deface".into(),
        "mask" => "4. Mask".into(),
        "shuffle" => "5. Shuffle".into(),
        "quantise" => "5. Quantise".into(),
        other => other.to_string(),
    }
}

/// `0.123 mm`, or a dash for a non-finite value.
pub fn format_mm(v: f64) -> String {
    if v.is_finite() {
        format!("{v:.3} mm")
    } else {
        "—".into()
    }
}

/// `+1.23 %`, or a dash for a non-finite value.
pub fn format_pct(v: f64) -> String {
    if v.is_finite() {
        format!("{v:+.2} %")
    } else {
        "—".into()
    }
}

/// `999 bytes`, `1.5 kB`, `52.0 MB`.
pub fn format_bytes(n: u64) -> String {
    match n {
        n if n >= 1_000_000 => format!("{:.1} MB", n as f64 / 1e6),
        n if n >= 1_000 => format!("{:.1} kB", n as f64 / 1e3),
        n => format!("{n} bytes"),
    }
}

fn fixed(v: f64, digits: usize) -> String {
    if v.is_finite() {
        format!("{v:.digits$}")
    } else {
        "—".into()
    }
}

fn yes_no(b: bool) -> &'static str {
    if b { "yes" } else { "no" }
}

/// The serde name of a unit enum value (`stl-binary`, `strict`).
fn kebab<T: Serialize>(v: &T) -> String {
    serde_json::to_value(v)
        .ok()
        .and_then(|v| v.as_str().map(str::to_string))
        .unwrap_or_default()
}

fn rows(pairs: Vec<(&str, String)>) -> Vec<(String, String)> {
    pairs.into_iter().map(|(k, v)| (k.to_string(), v)).collect()
}

impl ReportView {
    /// Format `report`.
    pub fn new(report: &Report) -> ReportView {
        let u = &report.utility;
        let h = u.hausdorff;
        let d = &report.deface;
        let summary = rows(vec![
            ("Profile", kebab(&report.profile)),
            ("Input format", kebab(&report.input_format)),
            ("Output format", kebab(&report.output_format)),
            (
                "Triangles",
                format!("{} → {}", report.triangles_in, report.triangles_out),
            ),
            (
                "Vertices (welded)",
                format!("{} → {}", report.vertices_in, report.vertices_out),
            ),
            (
                "File size",
                format!(
                    "{} → {}",
                    format_bytes(report.input_bytes),
                    format_bytes(report.output_bytes)
                ),
            ),
            (
                "Degenerate triangles dropped",
                report.degenerate_triangles_dropped.to_string(),
            ),
            (
                "Reproducible (seeded)",
                yes_no(report.deterministic).to_string(),
            ),
            ("veil-mesh version", report.veil_mesh_version.clone()),
        ]);
        let not_computed = || "not computed".to_string();
        let mut utility = rows(vec![
            (
                "Hausdorff max",
                h.map_or_else(not_computed, |h| format_mm(h.max)),
            ),
            (
                "Hausdorff mean",
                h.map_or_else(not_computed, |h| format_mm(h.mean)),
            ),
            (
                "Hausdorff 95th percentile",
                h.map_or_else(not_computed, |h| format_mm(h.p95)),
            ),
            (
                "Points measured",
                h.map_or("—".into(), |h| h.samples.to_string()),
            ),
            ("Profile bound", format_mm(report.bound_mm)),
            (
                "Area",
                format!(
                    "{} → {} mm² ({})",
                    fixed(u.area_in, 1),
                    fixed(u.area_out, 1),
                    format_pct(u.area_change_pct)
                ),
            ),
            (
                "Volume",
                format!(
                    "{} → {} mm³ ({})",
                    fixed(u.volume_in, 1),
                    fixed(u.volume_out, 1),
                    format_pct(u.volume_change_pct)
                ),
            ),
            (
                "Watertight",
                format!("{} → {}", yes_no(u.watertight_in), yes_no(u.watertight_out)),
            ),
            (
                "Open edges / non-manifold edges (output)",
                format!("{} / {}", u.boundary_edges_out, u.nonmanifold_edges_out),
            ),
        ]);
        if let Some(t) = report.transform {
            let r = t.rotation;
            let f = |v: f64| fixed(v, 3);
            utility.push((
                "Reframing transform".into(),
                format!(
                    "rotation [{} {} {}; {} {} {}; {} {} {}], translation ({}, {}, {}) mm",
                    f(r[0][0]),
                    f(r[0][1]),
                    f(r[0][2]),
                    f(r[1][0]),
                    f(r[1][1]),
                    f(r[1][2]),
                    f(r[2][0]),
                    f(r[2][1]),
                    f(r[2][2]),
                    fixed(t.translation[0], 2),
                    fixed(t.translation[1], 2),
                    fixed(t.translation[2], 2)
                ),
            ));
        }
        let deface = rows(vec![
            ("Mode", d.mode.clone()),
            ("Outcome", d.outcome.clone()),
            ("Why", d.reason.clone()),
            ("Triangles removed", d.removed_triangles.to_string()),
            ("Area removed", format!("{} mm²", fixed(d.removed_area, 1))),
            (
                "Cap",
                format!(
                    "{} triangles closing {} loop(s); {} open chain(s)",
                    d.cap_triangles, d.cap_loops, d.open_chains
                ),
            ),
        ]);
        ReportView {
            summary,
            metadata: report
                .metadata_removed
                .iter()
                .map(|c| ChannelRow {
                    channel: c.channel.clone(),
                    label: channel_label(&c.channel).to_string(),
                    detail: c.detail.clone().unwrap_or_default(),
                    count: c.count,
                    bytes: c.bytes,
                })
                .collect(),
            metadata_bytes: report.metadata_removed.iter().map(|c| c.bytes).sum(),
            steps: report
                .steps
                .iter()
                .map(|s| StepRow {
                    step: s.step.clone(),
                    label: step_label(&s.step),
                    applied: s.applied,
                    note: s.note.clone(),
                })
                .collect(),
            deface_outcome: d.outcome.clone(),
            deface,
            utility,
            flags: report
                .flags
                .iter()
                .map(|f| FlagRow {
                    code: f.code.clone(),
                    message: f.message.clone(),
                })
                .collect(),
            json: serde_json::to_string_pretty(report).unwrap_or_default(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use wasm_bindgen_test::wasm_bindgen_test;

    #[wasm_bindgen_test]
    fn every_reader_channel_has_a_label() {
        for id in [
            "stl-header-text",
            "stl-header-materialise-color",
            "stl-header-space",
            "stl-ascii-solid-name",
            "stl-facet-colour-viscam",
            "obj-comment",
            "obj-object-name",
            "obj-mtllib",
            "ply-comment",
            "ply-extra-property",
        ] {
            assert_ne!(channel_label(id), "Other metadata", "{id}");
        }
    }

    #[wasm_bindgen_test]
    fn numbers_read_well() {
        assert_eq!(format_bytes(999), "999 bytes");
        assert_eq!(format_bytes(1_500), "1.5 kB");
        assert_eq!(format_bytes(52_000_084), "52.0 MB");
        assert_eq!(format_mm(0.12345), "0.123 mm");
        assert_eq!(format_pct(-1.234), "-1.23 %");
        assert_eq!(format_mm(f64::NAN), "—");
    }

    #[wasm_bindgen_test]
    fn a_report_with_non_finite_numbers_still_round_trips_as_a_view() {
        let sphere = veil_mesh::synth::sphere(30.0, 24, 12);
        let stl = veil_mesh::write::write_stl(&sphere);
        let options = veil_mesh::Options {
            seed: Some(1),
            ..veil_mesh::Options::default()
        };
        let (_, mut report) =
            veil_mesh::deidentify(&stl, veil_mesh::FormatHint::Stl, &options).unwrap();
        report.utility.volume_change_pct = f64::NAN;
        let view = ReportView::new(&report);
        let text = serde_json::to_string(&view).unwrap();
        let back: ReportView = serde_json::from_str(&text).unwrap();
        assert_eq!(back, view);
        assert!(
            view.utility
                .iter()
                .any(|(k, v)| k == "Volume" && v.ends_with("(—)"))
        );
        assert_eq!(view.deface_outcome, "not-a-head");
        assert_eq!(view.steps.len(), 6);
    }
}
