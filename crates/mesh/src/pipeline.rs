//! The pipeline: read → scrub → reframe → deface → mask → shuffle/quantise → report → write,
//! each step configurable, grouped in profiles, each recorded in the [`Report`].

use std::borrow::Cow;

use serde::{Deserialize, Serialize};

use crate::deface::{CutPlane, DefaceMode, DefaceReport, cut, detect};
use crate::mask::MaskParams;
use crate::progress::Hooks;
use crate::read::{Format, FormatHint, read_with};
use crate::reframe::{RigidTransform, apply};
use crate::scrub::MetadataChannel;
use crate::topology::Adjacency;
use crate::utility::Hausdorff;
use crate::write::OutputFormat;
use crate::{Limits, Mesh, MeshError};

/// Named groups of step settings.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "kebab-case")]
pub enum Profile {
    /// Safe to share (default): every step, `deface auto`, Taubin 5 pairs, ε = 0.2 mm,
    /// 0.01 mm grid, bound 1 mm.
    #[default]
    Strict,
    /// For research exchange: every step, lighter mask (Taubin 2 pairs, ε = 0.1 mm), bound 0.5 mm.
    Research,
    /// For 3D printing and surgical planning: scrub, reframe, `deface auto`, no smoothing or noise
    /// (keeps the printed surface exact), shuffle, 0.01 mm grid, bound 0.05 mm.
    Print,
}

impl Profile {
    /// Parse `strict`, `research` or `print`.
    pub fn parse(s: &str) -> Result<Profile, MeshError> {
        match s {
            "strict" => Ok(Profile::Strict),
            "research" => Ok(Profile::Research),
            "print" => Ok(Profile::Print),
            _ => Err(MeshError::BadOption(format!(
                "--profile must be strict, research or print (got {s:?})"
            ))),
        }
    }
}

/// Every setting of a run. Start from [`Options::for_profile`] and override fields.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Options {
    /// The profile these settings came from (recorded in the report).
    pub profile: Profile,
    /// Step 2: move the centroid to the origin and rotate to principal axes.
    pub reframe: bool,
    /// Step 3: deface mode.
    pub deface: DefaceMode,
    /// Step 3: how deep behind the nose tip the auto cut lies, as a fraction of the head's depth
    /// along the anterior direction (default 0.3).
    pub deface_depth: f64,
    /// Step 4: Taubin smoothing and noise (`None` skips the step).
    pub mask: Option<MaskParams>,
    /// Step 5: shuffle vertex and triangle order.
    pub shuffle: bool,
    /// Step 5: quantisation grid in model units (mm); `None` skips it.
    pub quantise_mm: Option<f64>,
    /// Flag the run when the Hausdorff max exceeds this (mm).
    pub bound_mm: f64,
    /// Seed for reproducible noise and shuffles; `None` draws from `getrandom`.
    pub seed: Option<u64>,
    /// Compute the Hausdorff distances (the costly part of the report).
    pub hausdorff: bool,
    /// Output format.
    pub output: OutputFormat,
    /// Size limits for the input.
    pub limits: Limits,
}

impl Default for Options {
    fn default() -> Self {
        Options::for_profile(Profile::Strict)
    }
}

impl Options {
    /// The settings of a profile.
    pub fn for_profile(profile: Profile) -> Options {
        let (mask, bound) = match profile {
            Profile::Strict => (
                Some(MaskParams {
                    taubin_iterations: 5,
                    lambda: 0.5,
                    mu: -0.53,
                    noise_mm: 0.2,
                }),
                1.0,
            ),
            Profile::Research => (
                Some(MaskParams {
                    taubin_iterations: 2,
                    lambda: 0.5,
                    mu: -0.53,
                    noise_mm: 0.1,
                }),
                0.5,
            ),
            Profile::Print => (None, 0.05),
        };
        Options {
            profile,
            reframe: true,
            deface: DefaceMode::Auto,
            deface_depth: 0.3,
            mask,
            shuffle: true,
            quantise_mm: Some(0.01),
            bound_mm: bound,
            seed: None,
            hausdorff: true,
            output: OutputFormat::Stl,
            limits: Limits::default(),
        }
    }

    fn validate(&self) -> Result<(), MeshError> {
        if !(self.deface_depth > 0.0 && self.deface_depth < 1.0) {
            return Err(MeshError::BadOption(
                "deface_depth must be in (0, 1)".into(),
            ));
        }
        if let Some(m) = &self.mask {
            let ok = m.lambda.is_finite()
                && m.mu.is_finite()
                && m.noise_mm.is_finite()
                && m.noise_mm >= 0.0;
            if !ok || m.taubin_iterations > 1000 {
                return Err(MeshError::BadOption("mask parameters out of range".into()));
            }
        }
        if let Some(q) = self.quantise_mm
            && !(q.is_finite() && q > 0.0)
        {
            return Err(MeshError::BadOption("quantise_mm must be positive".into()));
        }
        if !self.bound_mm.is_finite() || self.bound_mm < 0.0 {
            return Err(MeshError::BadOption(
                "bound_mm must be a non-negative number".into(),
            ));
        }
        Ok(())
    }
}

/// One pipeline step as it ran.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StepRecord {
    /// `scrub`, `reframe`, `deface`, `mask`, `shuffle`, `quantise`.
    pub step: String,
    /// Whether it changed anything.
    pub applied: bool,
    /// One line saying what it did.
    pub note: String,
}

/// Utility of the output relative to the input (in the output frame).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Utility {
    /// Symmetric Hausdorff distance outside the removed region (absent when not computed).
    pub hausdorff: Option<Hausdorff>,
    /// Surface area of the input.
    pub area_in: f64,
    /// Surface area of the output.
    pub area_out: f64,
    /// Area change in percent.
    pub area_change_pct: f64,
    /// Enclosed volume of the input (meaningful when closed).
    pub volume_in: f64,
    /// Enclosed volume of the output.
    pub volume_out: f64,
    /// Volume change in percent.
    pub volume_change_pct: f64,
    /// Input closed, edge-manifold and consistently oriented.
    pub watertight_in: bool,
    /// Output closed, edge-manifold and consistently oriented.
    pub watertight_out: bool,
    /// Output edges used by one triangle.
    pub boundary_edges_out: u64,
    /// Output edges used by more than two triangles.
    pub nonmanifold_edges_out: u64,
}

/// Something the user should look at.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Flag {
    /// Stable code: `hausdorff-over-bound`, `not-watertight`, `not-a-head`, `open-cut`, `volume-change`.
    pub code: String,
    /// A sentence.
    pub message: String,
}

/// The report of a run (serialises to the JSON of `veil deid --report`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Report {
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
    /// Triangles dropped as degenerate (a vertex used twice after welding).
    pub degenerate_triangles_dropped: u64,
    /// Metadata channels found and removed (ids and byte counts, never values).
    pub metadata_removed: Vec<MetadataChannel>,
    /// The steps in order.
    pub steps: Vec<StepRecord>,
    /// The reframing transform (input → output coordinates), when reframed.
    pub transform: Option<RigidTransform>,
    /// The deface step.
    pub deface: DefaceReport,
    /// Mask parameters used.
    pub mask: Option<MaskParams>,
    /// Whether the order was shuffled.
    pub shuffled: bool,
    /// Quantisation grid used (mm).
    pub quantise_mm: Option<f64>,
    /// True when run with an explicit seed (reproducible; the seed itself is not recorded).
    pub deterministic: bool,
    /// Utility measures.
    pub utility: Utility,
    /// The profile's Hausdorff bound (mm).
    pub bound_mm: f64,
    /// Things over bound or worth attention.
    pub flags: Vec<Flag>,
}

/// A finished run: the output bytes, the report, and the meshes for previews.
#[derive(Debug, Clone)]
pub struct Deidentified {
    /// The output file.
    pub bytes: Vec<u8>,
    /// The report.
    pub report: Report,
    /// The output geometry in the pipeline's working (spatial) order. The file's order is drawn
    /// at random when writing, so this order says nothing about the file's; previews read it
    /// faster.
    pub mesh: Mesh,
    /// The input mesh in the output frame (before deface and mask), for before/after previews;
    /// empty when `Options::hausdorff` is off.
    pub reference: Mesh,
    /// The report's second half, per point: an output vertex (index into `mesh`) and its distance
    /// to `reference` (mm), ascending by vertex; every vertex outside the cap when the output has
    /// at most [`crate::utility::MAX_SAMPLES`], evenly strided beyond. Empty when
    /// `Options::hausdorff` is off. Previews colour by it without measuring again.
    pub deviation: Deviation,
}

/// The report's second half, point by point: output vertices (indices into
/// [`Deidentified::mesh`], ascending) and their distances to the input surface (mm).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Deviation {
    /// The measured output vertices.
    pub vertices: Vec<u32>,
    /// Their distances to the input surface, in the same order.
    pub mm: Vec<f64>,
}

impl Deviation {
    /// Points measured.
    pub fn len(&self) -> usize {
        self.vertices.len()
    }

    /// Whether nothing was measured (the report was off).
    pub fn is_empty(&self) -> bool {
        self.vertices.is_empty()
    }
}

/// De-identify a model: bytes in, bytes and report out.
pub fn deidentify(
    bytes: &[u8],
    hint: FormatHint,
    options: &Options,
) -> Result<(Vec<u8>, Report), MeshError> {
    let mut progress = |_: f32| {};
    let r = deidentify_with(bytes, hint, options, &mut progress, &|| false)?;
    Ok((r.bytes, r.report))
}

/// De-identify with a progress callback (fraction 0..=1, called at least every 5 %) and a
/// cancellation check (polled as often; returning true aborts with [`MeshError::Cancelled`]).
pub fn deidentify_with(
    bytes: &[u8],
    hint: FormatHint,
    options: &Options,
    progress: &mut dyn FnMut(f32),
    cancel: &dyn Fn() -> bool,
) -> Result<Deidentified, MeshError> {
    run(Cow::Borrowed(bytes), hint, options, progress, cancel)
}

/// As [`deidentify_with`], taking the input by value: it is freed as soon as it is read, so the
/// rest of the run can reuse its memory (a 5 M-triangle STL is 250 MB).
pub fn deidentify_owned_with(
    bytes: Vec<u8>,
    hint: FormatHint,
    options: &Options,
    progress: &mut dyn FnMut(f32),
    cancel: &dyn Fn() -> bool,
) -> Result<Deidentified, MeshError> {
    run(Cow::Owned(bytes), hint, options, progress, cancel)
}

fn run(
    bytes: Cow<'_, [u8]>,
    hint: FormatHint,
    options: &Options,
    progress: &mut dyn FnMut(f32),
    cancel: &dyn Fn() -> bool,
) -> Result<Deidentified, MeshError> {
    // In one call both halves are measured before the output is written, as they always were:
    // the second half's grid never coexists with the output bytes.
    prepare(bytes, hint, options, progress, cancel)?
        .write(Elsewhere::Nothing, progress, cancel)?
        .complete(None, progress, cancel)
}

/// Which half of the report a split run measures somewhere else (another worker) while this one
/// writes the output: it is brought to [`Written::complete`]. Either way the bytes and the report
/// are those of a run in one call.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Elsewhere {
    /// Both halves are measured here, before the output is written.
    Nothing,
    /// The second half: [`Prepared::back_points`] to [`Prepared::reference`].
    Back,
    /// The first half: [`Prepared::forward_points`] to [`Prepared::output_surface`]. The better
    /// split when writing the output takes long: this one then measures the second half and
    /// writes while the other measures the first.
    Forward,
}

/// The half of the report measured elsewhere, brought to [`Written::complete`]: the distances
/// [`crate::utility::distances_to_surface`] gave, named by the half they are. Most models give
/// both halves the same number of points (each is capped at [`crate::utility::MAX_SAMPLES`]), so
/// the name, not the length, is what tells one from the other.
#[derive(Debug, Clone, PartialEq)]
pub enum Brought {
    /// The second half ([`Elsewhere::Back`]): [`Prepared::back_points`] to [`Prepared::reference`].
    Back(Vec<f64>),
    /// The first half ([`Elsewhere::Forward`]): [`Prepared::forward_points`] to
    /// [`Prepared::output_surface`].
    Forward(Vec<f64>),
}

impl Brought {
    fn into_distances(self) -> Vec<f64> {
        match self {
            Brought::Back(d) | Brought::Forward(d) => d,
        }
    }
}

/// The first part of a run, [`deidentify_owned_with`] up to the measures: read, scrub, reframe,
/// deface, mask and quantise (progress 0 to 0.67).
///
/// A run split in three ([`Prepared::write`], [`Written::complete`]) gives the same bytes and
/// report as one call; the split lets a caller without threads (a browser worker) measure one
/// half of the report elsewhere with [`crate::utility::distances_to_surface`] while this one
/// writes the output (see [`Elsewhere`]).
pub fn prepare_owned(
    bytes: Vec<u8>,
    hint: FormatHint,
    options: &Options,
    progress: &mut dyn FnMut(f32),
    cancel: &dyn Fn() -> bool,
) -> Result<Prepared, MeshError> {
    prepare(Cow::Owned(bytes), hint, options, progress, cancel)
}

/// What a run carries from one part to the next.
#[derive(Debug)]
struct Carried {
    options: Options,
    model_format: Format,
    triangles_read: u64,
    degenerate_dropped: u64,
    metadata: Vec<MetadataChannel>,
    input_bytes: u64,
    mesh: Mesh,
    reference: Mesh,
    steps: Vec<StepRecord>,
    transform: Option<RigidTransform>,
    deface_report: DefaceReport,
    plane: Option<CutPlane>,
    cap_start: usize,
    stats: crate::topology::EdgeStats,
    watertight_in: bool,
    area_in: f64,
    volume_in: f64,
    vertices_in: u64,
    /// The output vertices the report's second half measures (empty when it is off).
    back_points: Vec<u32>,
}

impl Carried {
    /// Cap triangles are new surface, not a deviation: they are not measured.
    fn not_cap(&self) -> impl Fn(usize) -> bool + Sync + use<> {
        let cap_start = self.cap_start;
        move |t: usize| t < cap_start
    }

    /// The output's measured surface: its vertices and its triangles without the cap.
    fn output_surface(&self) -> (&[[f32; 3]], &[[u32; 3]]) {
        let kept = &self.mesh.triangles[..self.cap_start.min(self.mesh.triangles.len())];
        (&self.mesh.vertices, kept)
    }

    /// Where the report's first half measures from: every sampled reference vertex outside the
    /// removed region (none when the report is off).
    fn forward_points(&self) -> Vec<[f32; 3]> {
        if !self.options.hausdorff {
            return Vec::new();
        }
        crate::utility::forward_samples(&self.reference, &self.ref_ok()).collect()
    }

    /// Whether a point of the reference is outside the removed region.
    fn ref_ok(&self) -> impl Fn([f64; 3]) -> bool + Sync + use<> {
        let removed = self.plane;
        move |p: [f64; 3]| removed.is_none_or(|pl| pl.distance(p) <= 0.0)
    }

    /// Where the report's second half measures: the positions of `back_points`.
    fn back_point_positions(&self) -> Vec<[f32; 3]> {
        self.back_points
            .iter()
            .map(|&i| self.mesh.vertices[i as usize])
            .collect()
    }
}

/// A run read, de-faced, masked and quantised: see [`prepare_owned`].
#[derive(Debug)]
pub struct Prepared {
    carried: Carried,
    rng: crate::rng::Rng,
}

/// A run whose output is written and whose report may wait for the half measured elsewhere: see
/// [`prepare_owned`].
#[derive(Debug)]
pub struct Written {
    carried: Carried,
    bytes: Vec<u8>,
    /// The first half when it was measured here.
    forward: Option<Vec<f64>>,
    /// How many distances the first half measured elsewhere must bring.
    forward_expected: Option<usize>,
    /// The second half when it was measured here.
    back: Option<Vec<f64>>,
    area_out: f64,
    volume_out: f64,
}

fn prepare(
    bytes: Cow<'_, [u8]>,
    hint: FormatHint,
    options: &Options,
    progress: &mut dyn FnMut(f32),
    cancel: &dyn Fn() -> bool,
) -> Result<Prepared, MeshError> {
    options.validate()?;
    let mut hooks = Hooks::new(progress, cancel);
    let mut rng = crate::rng::make(options.seed)?;
    hooks.stage(0.0, 0.2)?;
    let model = read_with(&bytes, hint, &options.limits, &mut hooks)?;
    let input_bytes = bytes.len() as u64;
    drop(bytes);
    let mut mesh = model.mesh;
    let mut steps = Vec::new();
    let nchan = model.metadata.len();
    let nbytes: u64 = model.metadata.iter().map(|c| c.bytes).sum();
    steps.push(StepRecord {
        step: "scrub".into(),
        applied: true,
        note: format!(
            "{nchan} metadata channel(s), {nbytes} byte(s) removed; neutral header written"
        ),
    });

    // Step 2: reframe.
    hooks.stage(0.2, 0.25)?;
    // Second moments in the output frame, reused by the deface detector.
    let mut frame: Option<crate::reframe::FrameMoments> = None;
    let transform = if options.reframe {
        let (tf, moments) = crate::reframe::principal_frame_with_moments(&mesh);
        apply(&mut mesh, &tf);
        frame = Some(moments);
        steps.push(StepRecord {
            step: "reframe".into(),
            applied: true,
            note: "centroid to origin, principal axes to x, y, z".into(),
        });
        Some(tf)
    } else {
        steps.push(StepRecord {
            step: "reframe".into(),
            applied: false,
            note: "off".into(),
        });
        None
    };
    let tf = transform.unwrap_or(RigidTransform::IDENTITY);
    hooks.stage(0.25, 0.35)?;
    // Reframing measured both (about the centroid, the output frame's origin).
    let (area_in, volume_in) = match &frame {
        Some(f) => (f.area, f.volume),
        None => mesh.area_volume(),
    };
    let vertices_in = mesh.vertices.len() as u64;
    // The reference (input in the output frame) is kept only for the Hausdorff measure.
    let reference = if options.hausdorff {
        mesh.clone()
    } else {
        Mesh::default()
    };

    // Step 3: deface.
    let plane_and_report: (Option<CutPlane>, DefaceReport) = match options.deface {
        DefaceMode::Off => (
            None,
            DefaceReport::untouched("off", "off", "deface off".into()),
        ),
        DefaceMode::Plane(p) => {
            let q = CutPlane::new(tf.apply(p.point), tf.rotate(p.normal))?;
            let mut r = DefaceReport::untouched("plane", "defaced", "explicit plane".into());
            r.plane = Some(q);
            (Some(q), r)
        }
        DefaceMode::Auto => match detect::detect(&mesh, options.deface_depth, frame.as_ref()) {
            detect::Detection::Head { plane, evidence } => {
                let mut r = DefaceReport::untouched(
                    "auto",
                    "defaced",
                    "head detected: mirror plane and a single nose; face removed in front of the plane".into(),
                );
                r.plane = Some(plane);
                r.detection = Some(evidence);
                (Some(plane), r)
            }
            detect::Detection::NotHead { reason, evidence } => {
                let mut r = DefaceReport::untouched(
                    "auto",
                    "not-a-head",
                    format!("left untouched: {reason}"),
                );
                r.detection = evidence;
                (None, r)
            }
        },
    };
    hooks.at(0.5)?;
    hooks.stage(0.35, 0.4)?;
    let (mut deface_report, plane) = (plane_and_report.1, plane_and_report.0);
    let mut cap_start = usize::MAX;
    // One adjacency pass, over the mesh that is smoothed. A cut leaves the uses of the edges
    // among kept input vertices as they were and reports the statistics of the edges it
    // removed: together they are the input's statistics.
    let (adj, stats_in) = if let Some(plane) = plane {
        let st = cut::cut(&mut mesh, &plane);
        deface_report.removed_triangles = st.removed_triangles;
        deface_report.removed_area = st.removed_area;
        deface_report.cap_triangles = st.cap_triangles;
        deface_report.cap_loops = st.cap_loops;
        deface_report.open_chains = st.open_chains;
        if st.removed_triangles == 0 {
            deface_report.outcome = "plane-missed".into();
            deface_report.reason = format!(
                "{}; the plane does not cross the model",
                deface_report.reason
            );
        }
        cap_start = st.cap_start;
        if mesh.triangles.is_empty() {
            return Err(MeshError::Empty(
                "the deface plane removed the whole model".into(),
            ));
        }
        let adj = Adjacency::build_split(&mesh, st.kept_input_vertices as u32);
        let mut stats_in = adj.low_stats;
        stats_in.add(&st.removed_edges);
        (adj, stats_in)
    } else {
        let adj = Adjacency::build(&mesh);
        let stats_in = adj.stats;
        (adj, stats_in)
    };
    let watertight_in = stats_in.watertight();
    steps.push(StepRecord {
        step: "deface".into(),
        applied: deface_report.removed_triangles > 0,
        note: format!("{}: {}", deface_report.outcome, deface_report.reason),
    });

    // Step 4: mask.
    hooks.stage(0.4, 0.62)?;
    if let Some(m) = &options.mask {
        if m.taubin_iterations > 0 {
            let mut pinned = Vec::new();
            if cap_start != usize::MAX {
                pinned = vec![false; mesh.vertices.len()];
                for t in &mesh.triangles[cap_start..] {
                    for &i in t {
                        pinned[i as usize] = true;
                    }
                }
            }
            crate::mask::taubin(&mut mesh, &adj, m, &pinned, &mut hooks)?;
        }
        hooks.stage(0.62, 0.66)?;
        if m.noise_mm > 0.0 {
            crate::mask::noise(&mut mesh, m.noise_mm, &mut rng, &mut hooks)?;
        }
        steps.push(StepRecord {
            step: "mask".into(),
            applied: true,
            note: format!(
                "Taubin {} pair(s) λ={} μ={}, noise ε={} mm",
                m.taubin_iterations, m.lambda, m.mu, m.noise_mm
            ),
        });
    } else {
        steps.push(StepRecord {
            step: "mask".into(),
            applied: false,
            note: "off".into(),
        });
    }
    let stats = adj.stats;
    drop(adj);

    // Step 5 (first part): quantise. Quantising is per vertex, so it commutes with the shuffle.
    hooks.stage(0.66, 0.67)?;
    if let Some(q) = options.quantise_mm {
        crate::shuffle::quantise(&mut mesh, q);
    }
    hooks.at(1.0)?;
    let mut carried = Carried {
        options: options.clone(),
        model_format: model.format,
        triangles_read: model.triangles_read,
        degenerate_dropped: model.degenerate_dropped,
        metadata: model.metadata,
        input_bytes,
        mesh,
        reference,
        steps,
        transform,
        deface_report,
        plane,
        cap_start,
        stats,
        watertight_in,
        area_in,
        volume_in,
        vertices_in,
        back_points: Vec::new(),
    };
    // The output's vertices are final from here on: the report's second half is chosen once.
    if options.hausdorff {
        carried.back_points = crate::utility::back_samples(&carried.mesh, &carried.not_cap());
    }
    Ok(Prepared { carried, rng })
}

impl Prepared {
    /// The input in the output frame, before deface and mask: the surface the report's second
    /// half measures against (empty when `Options::hausdorff` is off).
    pub fn reference(&self) -> &Mesh {
        &self.carried.reference
    }

    /// The output points the report's second half measures, in its order (none when
    /// `Options::hausdorff` is off).
    pub fn back_points(&self) -> Vec<[f32; 3]> {
        self.carried.back_point_positions()
    }

    /// The input points the report's first half measures, in its order (none when
    /// `Options::hausdorff` is off).
    pub fn forward_points(&self) -> Vec<[f32; 3]> {
        self.carried.forward_points()
    }

    /// The surface the report's first half measures against: the output's vertices and its
    /// triangles without the cap the deface step added (new surface, not a deviation).
    pub fn output_surface(&self) -> (&[[f32; 3]], &[[u32; 3]]) {
        self.carried.output_surface()
    }

    /// The report's halves but the one measured `elsewhere`, the order drawn and the output
    /// written (progress 0.67 to 0.9). The half measured elsewhere must be brought to
    /// [`Written::complete`].
    pub fn write(
        self,
        elsewhere: Elsewhere,
        progress: &mut dyn FnMut(f32),
        cancel: &dyn Fn() -> bool,
    ) -> Result<Written, MeshError> {
        let Prepared {
            mut carried,
            mut rng,
        } = self;
        let mut hooks = Hooks::new(progress, cancel);
        let c = &mut carried;
        let options = &c.options;
        // Measuring before the shuffle walks the surface in the file's spatial order (twice as
        // fast on a large model); the distances do not depend on the order.
        let (mut forward, mut back) = (None, None);
        if options.hausdorff {
            // Measured here: each half, or both, in 0.67 to 0.8.
            let (first_here, second_here) = (
                elsewhere != Elsewhere::Forward,
                elsewhere != Elsewhere::Back,
            );
            if first_here {
                hooks.stage(0.67, if second_here { 0.735 } else { 0.8 })?;
                let points = c.forward_points();
                let (vertices, kept) = c.output_surface();
                forward = Some(crate::utility::forward_distances(
                    &points, vertices, kept, &mut hooks,
                )?);
            }
            if second_here {
                hooks.stage(if first_here { 0.735 } else { 0.67 }, 0.8)?;
                let points = c.back_point_positions();
                back = Some(crate::utility::back_distances(
                    &c.reference,
                    &points,
                    &mut hooks,
                )?);
            }
        }
        let forward_expected = match elsewhere {
            Elsewhere::Forward if options.hausdorff => {
                Some(crate::utility::forward_samples(&c.reference, &c.ref_ok()).count())
            }
            _ => None,
        };
        hooks.stage(0.8, 0.81)?;
        let (area_out, volume_out) = c.mesh.area_volume();
        // The order is drawn now and applied when writing (see `shuffle::Order`).
        hooks.stage(0.81, 0.85)?;
        let order = if options.shuffle {
            Some(crate::shuffle::Order::draw(&c.mesh, &mut rng, &mut hooks)?)
        } else {
            None
        };
        c.steps.push(StepRecord {
            step: "shuffle".into(),
            applied: options.shuffle,
            note: match (options.shuffle, options.output) {
                (false, _) => "off".into(),
                (true, OutputFormat::Stl) => {
                    "triangle order and corner rotation randomised (binary STL has no vertex order)"
                        .into()
                }
                (true, OutputFormat::Ply) => "vertex and triangle order randomised".into(),
            },
        });
        c.steps.push(StepRecord {
            step: "quantise".into(),
            applied: options.quantise_mm.is_some(),
            note: options
                .quantise_mm
                .map_or("off".into(), |q| format!("grid {q} mm")),
        });
        hooks.stage(0.85, 0.9)?;
        let bytes = match (&order, options.output) {
            (Some(o), OutputFormat::Stl) => o.write_stl(&c.mesh, &mut hooks)?,
            (Some(o), OutputFormat::Ply) => crate::write::write_ply(&o.apply(&c.mesh, &mut hooks)?),
            (None, format) => crate::write::write(&c.mesh, format),
        };
        hooks.at(1.0)?;
        Ok(Written {
            carried,
            bytes,
            forward,
            forward_expected,
            back,
            area_out,
            volume_out,
        })
    }
}

impl Written {
    /// The surface the report's second half measures against (as [`Prepared::reference`]), for a
    /// caller whose other measurer failed after `write`.
    pub fn reference(&self) -> &Mesh {
        &self.carried.reference
    }

    /// The surface the report's first half measures against (as [`Prepared::output_surface`]),
    /// for a caller whose other measurer failed after `write`.
    pub fn output_surface(&self) -> (&[[f32; 3]], &[[u32; 3]]) {
        self.carried.output_surface()
    }

    /// The report, with the half [`Prepared::write`] did not measure as `brought` brings it, then
    /// the report (progress 0.9 to 1). The other half's distances, distances of the wrong length,
    /// or none when `write` left a half out are refused (`bad-option`); when `write` measured
    /// both, `brought` is not read.
    pub fn complete(
        self,
        brought: Option<Brought>,
        progress: &mut dyn FnMut(f32),
        cancel: &dyn Fn() -> bool,
    ) -> Result<Deidentified, MeshError> {
        let Written {
            carried: c,
            bytes: out,
            forward,
            forward_expected,
            back,
            area_out,
            volume_out,
        } = self;
        let mut hooks = Hooks::new(progress, cancel);
        hooks.stage(0.9, 1.0)?;
        let options = &c.options;
        let (hd, deviation) = if options.hausdorff {
            let checked = |d: Option<Vec<f64>>, expected: usize, half: &str| match d {
                Some(d) if d.len() == expected => Ok(d),
                Some(_) => Err(MeshError::BadOption(
                    "distances measured elsewhere for other points than the report's".into(),
                )),
                None => Err(MeshError::BadOption(format!(
                    "the report's {half} half was neither measured nor brought"
                ))),
            };
            let other = |half: &str| {
                MeshError::BadOption(format!(
                    "the distances brought are the other half's: the report's {half} half was left out"
                ))
            };
            let (mut d, back) = match (forward, back, brought) {
                (Some(f), Some(b), _) => (f, b),
                (Some(_), None, Some(Brought::Forward(_))) => return Err(other("second")),
                (None, _, Some(Brought::Back(_))) => return Err(other("first")),
                (Some(f), None, brought) => {
                    let b = brought.map(Brought::into_distances);
                    (f, checked(b, c.back_points.len(), "second")?)
                }
                (None, b, brought) => {
                    let f = brought.map(Brought::into_distances);
                    let f = checked(f, forward_expected.unwrap_or(0), "first")?;
                    (f, checked(b, c.back_points.len(), "second")?)
                }
            };
            d.extend_from_slice(&back);
            hooks.at(0.5)?;
            let deviation = Deviation {
                vertices: c.back_points,
                mm: back,
            };
            (Some(crate::utility::summarise(d)), deviation)
        } else {
            (None, Deviation::default())
        };
        let (area_in, volume_in, watertight_in) = (c.area_in, c.volume_in, c.watertight_in);
        let stats = c.stats;
        let deface_report = c.deface_report;
        let plane = c.plane;
        // Report.
        let pct = |a: f64, b: f64| {
            if a.abs() > 0.0 {
                100.0 * (b - a) / a.abs()
            } else {
                0.0
            }
        };
        let utility = Utility {
            hausdorff: hd,
            area_in,
            area_out,
            area_change_pct: pct(area_in, area_out),
            volume_in,
            volume_out,
            volume_change_pct: pct(volume_in, volume_out),
            watertight_in,
            watertight_out: stats.watertight(),
            boundary_edges_out: stats.boundary,
            nonmanifold_edges_out: stats.nonmanifold,
        };
        let mut flags = Vec::new();
        if let Some(h) = hd
            && h.max > options.bound_mm
        {
            {
                flags.push(Flag {
                    code: "hausdorff-over-bound".into(),
                    message: format!(
                        "Hausdorff max {:.3} mm exceeds the bound {} mm",
                        h.max, options.bound_mm
                    ),
                });
            }
        }
        if !utility.watertight_out {
            flags.push(Flag {
                code: "not-watertight".into(),
                message: if watertight_in {
                    "the output is not watertight although the input was".into()
                } else {
                    "the input was not watertight, so neither is the output".into()
                },
            });
        }
        if deface_report.outcome == "not-a-head" {
            flags.push(Flag {
                code: "not-a-head".into(),
                message: format!("deface auto: {}", deface_report.reason),
            });
        }
        if deface_report.open_chains > 0 {
            flags.push(Flag {
                code: "open-cut".into(),
                message: format!(
                    "{} cut chain(s) could not be capped (holes in the input)",
                    deface_report.open_chains
                ),
            });
        }
        if plane.is_none() && utility.volume_change_pct.abs() > 2.0 && watertight_in {
            flags.push(Flag {
                code: "volume-change".into(),
                message: format!("volume changed by {:.2} %", utility.volume_change_pct),
            });
        }

        let report = Report {
            veil_mesh_version: env!("CARGO_PKG_VERSION").into(),
            profile: options.profile,
            input_format: c.model_format,
            output_format: options.output,
            input_bytes: c.input_bytes,
            output_bytes: out.len() as u64,
            triangles_in: c.triangles_read,
            triangles_out: c.mesh.triangles.len() as u64,
            vertices_in: c.vertices_in,
            vertices_out: c.mesh.vertices.len() as u64,
            degenerate_triangles_dropped: c.degenerate_dropped,
            metadata_removed: c.metadata,
            steps: c.steps,
            transform: c.transform,
            deface: deface_report,
            mask: options.mask,
            shuffled: options.shuffle,
            quantise_mm: options.quantise_mm,
            deterministic: options.seed.is_some(),
            utility,
            bound_mm: options.bound_mm,
            flags,
        };
        hooks.done();
        Ok(Deidentified {
            bytes: out,
            report,
            mesh: c.mesh,
            reference: c.reference,
            deviation,
        })
    }
}
