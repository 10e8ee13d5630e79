//! The two forms of a run's report.
//!
//! [`Report`] is the **local report**: everything the run knows, for the person who ran it (shown,
//! downloadable). It names what it removed (a PLY property called `vertex.JaneRoe_MRN`, an extra
//! element) and carries the reframing transform, which places the model back in the scanner's frame.
//! Both must stay with the data holder.
//!
//! [`ShareableReport`] is the **only form that is ever sealed or sent**: sizes, counts, the kinds of
//! channel removed (fixed ids chosen by this crate, never text from the input), the steps, the
//! utility measures and flags. It has no field that can hold a name, a comment, a value read from
//! the file, the transform or the cut plane; every type in it refuses unknown fields when read,
//! so a local report's extras (`detail`, `plane`, `detection`) cannot ride along at any depth. Its text fields (step notes, the deface reason, flag
//! messages) are written by this crate from numbers and fixed words.

use serde::{Deserialize, Serialize};

use crate::mask::MaskParams;
use crate::pipeline::{Flag, Profile, Report, StepRecord, Utility};
use crate::read::Format;
use crate::write::OutputFormat;

/// One kind of metadata removed: its channel id and totals, merged over every occurrence.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RemovedChannel {
    /// Stable channel id (`ply-extra-property`, `obj-comment`, ...), one of
    /// [`crate::scrub::CHANNELS`] (anything else is refused when read).
    #[serde(deserialize_with = "known_channel")]
    pub channel: String,
    /// Occurrences (lines, facets, records).
    pub count: u64,
    /// Bytes they occupied in the input.
    pub bytes: u64,
}

fn known_channel<'de, D: serde::Deserializer<'de>>(d: D) -> Result<String, D::Error> {
    let channel = String::deserialize(d)?;
    if crate::scrub::CHANNELS.contains(&channel.as_str()) {
        Ok(channel)
    } else {
        Err(serde::de::Error::custom(
            "not a metadata channel id of veil-mesh",
        ))
    }
}

/// The deface step without its plane or detection geometry.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SharedDeface {
    /// `auto`, `off` or `plane`.
    pub mode: String,
    /// `defaced`, `not-a-head`, `off` or `plane-missed`.
    pub outcome: String,
    /// A sentence saying why (written by this crate).
    pub reason: String,
    /// Triangles removed.
    pub removed_triangles: u64,
    /// Area removed, in square model units.
    pub removed_area: f64,
    /// Triangles added to cap the cut.
    pub cap_triangles: u64,
    /// Closed cut loops capped.
    pub cap_loops: u64,
    /// Open cut chains that could not be capped.
    pub open_chains: u64,
}

/// The report that travels with a de-identified model (see the module documentation).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ShareableReport {
    /// Always `"shareable"`: tells this form from a local report at a glance.
    pub form: String,
    /// Version of this crate.
    pub veil_mesh_version: String,
    /// Profile used.
    pub profile: Profile,
    /// Input format detected.
    pub input_format: Format,
    /// Output format written.
    pub output_format: OutputFormat,
    /// Input size in bytes.
    pub input_bytes: u64,
    /// Output size in bytes.
    pub output_bytes: u64,
    /// Triangles in the input file.
    pub triangles_in: u64,
    /// Triangles in the output.
    pub triangles_out: u64,
    /// Distinct vertices of the input after welding.
    pub vertices_in: u64,
    /// Vertices of the output.
    pub vertices_out: u64,
    /// Triangles dropped as degenerate.
    pub degenerate_triangles_dropped: u64,
    /// Kinds of metadata removed, with counts and sizes, sorted by channel id.
    pub metadata_removed: Vec<RemovedChannel>,
    /// The steps in order.
    pub steps: Vec<StepRecord>,
    /// Whether the model was moved out of the scanner's frame (the transform itself is local).
    pub reframed: bool,
    /// The deface step.
    pub deface: SharedDeface,
    /// Mask parameters used.
    pub mask: Option<MaskParams>,
    /// Whether the order was shuffled.
    pub shuffled: bool,
    /// Quantisation grid used (mm).
    pub quantise_mm: Option<f64>,
    /// True when run with an explicit seed.
    pub deterministic: bool,
    /// Utility measures (in the output frame).
    pub utility: Utility,
    /// The profile's Hausdorff bound (mm).
    pub bound_mm: f64,
    /// Things over bound or worth attention.
    pub flags: Vec<Flag>,
}

impl ShareableReport {
    /// Every key the JSON of a shareable report can hold, at any depth. A JSON object with any
    /// other key (`transform`, `detail`, `plane`, `detection`, ...) is not a shareable report;
    /// checked against the serialised form in this crate's tests, so the list cannot drift.
    pub const JSON_KEYS: &'static [&'static str] = &[
        "form",
        "veil_mesh_version",
        "profile",
        "input_format",
        "output_format",
        "input_bytes",
        "output_bytes",
        "triangles_in",
        "triangles_out",
        "vertices_in",
        "vertices_out",
        "degenerate_triangles_dropped",
        "metadata_removed",
        "channel",
        "count",
        "bytes",
        "steps",
        "step",
        "applied",
        "note",
        "reframed",
        "deface",
        "mode",
        "outcome",
        "reason",
        "removed_triangles",
        "removed_area",
        "cap_triangles",
        "cap_loops",
        "open_chains",
        "mask",
        "taubin_iterations",
        "lambda",
        "mu",
        "noise_mm",
        "shuffled",
        "quantise_mm",
        "deterministic",
        "utility",
        "hausdorff",
        "max",
        "mean",
        "p95",
        "samples",
        "area_in",
        "area_out",
        "area_change_pct",
        "volume_in",
        "volume_out",
        "volume_change_pct",
        "watertight_in",
        "watertight_out",
        "boundary_edges_out",
        "nonmanifold_edges_out",
        "bound_mm",
        "flags",
        "code",
        "message",
    ];
}

impl Report {
    /// The shareable form of this report: what may be sealed with the model.
    pub fn shareable(&self) -> ShareableReport {
        let mut removed: Vec<RemovedChannel> = Vec::new();
        for c in &self.metadata_removed {
            match removed.iter_mut().find(|r| r.channel == c.channel) {
                Some(r) => {
                    r.count = r.count.saturating_add(c.count);
                    r.bytes = r.bytes.saturating_add(c.bytes);
                }
                None => removed.push(RemovedChannel {
                    channel: c.channel.clone(),
                    count: c.count,
                    bytes: c.bytes,
                }),
            }
        }
        removed.sort_by(|a, b| a.channel.cmp(&b.channel));
        let d = &self.deface;
        ShareableReport {
            form: "shareable".into(),
            veil_mesh_version: self.veil_mesh_version.clone(),
            profile: self.profile,
            input_format: self.input_format,
            output_format: self.output_format,
            input_bytes: self.input_bytes,
            output_bytes: self.output_bytes,
            triangles_in: self.triangles_in,
            triangles_out: self.triangles_out,
            vertices_in: self.vertices_in,
            vertices_out: self.vertices_out,
            degenerate_triangles_dropped: self.degenerate_triangles_dropped,
            metadata_removed: removed,
            steps: self.steps.clone(),
            reframed: self.transform.is_some(),
            deface: SharedDeface {
                mode: d.mode.clone(),
                outcome: d.outcome.clone(),
                reason: d.reason.clone(),
                removed_triangles: d.removed_triangles,
                removed_area: d.removed_area,
                cap_triangles: d.cap_triangles,
                cap_loops: d.cap_loops,
                open_chains: d.open_chains,
            },
            mask: self.mask,
            shuffled: self.shuffled,
            quantise_mm: self.quantise_mm,
            deterministic: self.deterministic,
            utility: self.utility.clone(),
            bound_mm: self.bound_mm,
            flags: self.flags.clone(),
        }
    }
}
