//! The de-identification job the mesh worker runs: the `veil-mesh` pipeline on the file's bytes,
//! in three parts so that a second worker can measure half of the report meanwhile, then the
//! before/after preview. Plain Rust (no browser types); its unit tests run in headless Chromium
//! with the app's others (`cargo xtask test`'s wasm stage).
//!
//! The page only chooses options and shows results; the bytes never leave the worker except as
//! the de-identified output. The options travel as `veil-mesh`'s own types (serialised as JSON in
//! the worker message), so the page and the worker cannot disagree on what a word means.

use serde::{Deserialize, Serialize};
use veil_mesh::{
    CutPlane, DefaceMode, FormatHint, MeshError, Options, OutputFormat, Profile, Report,
};

use crate::preview::geometry::{self, AfterModel, BeforeModel, PreviewPair, RemovedHalfSpace};

/// Triangles per preview view where a GPU draws WebGL (the download is never thinned).
pub const PREVIEW_TRIANGLE_BUDGET: usize = 250_000;

/// Triangles per preview view where WebGL is drawn in software (SwiftShader, llvmpipe: a kiosk
/// without a GPU). Drawing both views of 250,000 triangles held the page's first frame for about
/// 0.45 s there, and every drag redraws them; 100,000 still shows a head's shape and the cut.
pub const SOFTWARE_PREVIEW_TRIANGLES: usize = 100_000;

/// The fewest triangles per view a page may ask for.
const MIN_PREVIEW_TRIANGLES: usize = 10_000;

/// Triangles per view for a page that asked for `asked` (from its message: any number, or none),
/// within [`MIN_PREVIEW_TRIANGLES`]..=[`PREVIEW_TRIANGLE_BUDGET`].
pub fn preview_budget(asked: Option<f64>) -> usize {
    match asked {
        Some(n) if n.is_finite() => {
            n.clamp(MIN_PREVIEW_TRIANGLES as f64, PREVIEW_TRIANGLE_BUDGET as f64) as usize
        }
        _ => PREVIEW_TRIANGLE_BUDGET,
    }
}

/// Share of the progress bar the pipeline takes; the preview takes the rest.
const PIPELINE_SHARE: f32 = 0.85;

/// What the person chose on the Models page, as sent to the worker. The defaults are the
/// pipeline's: the strict profile, automatic deface, fresh randomness, binary STL.
#[derive(Debug, Clone, Copy, PartialEq, Default, Serialize, Deserialize)]
pub struct JobOptions {
    /// The profile the pipeline's settings come from.
    pub profile: Profile,
    /// Face removal: automatic, off, or along a plane (input coordinates, mm).
    pub deface: DefaceMode,
    /// Seed for a reproducible run; `None` draws fresh randomness.
    pub seed: Option<u64>,
    /// The output format.
    pub output: OutputFormat,
}

impl JobOptions {
    /// The pipeline options these choices mean. A plane is checked again as `CutPlane::new`
    /// checks it: the options reach the worker as JSON, which can carry any numbers.
    pub fn to_options(&self) -> Result<Options, MeshError> {
        let mut options = Options::for_profile(self.profile);
        options.deface = match self.deface {
            DefaceMode::Plane(p) => DefaceMode::Plane(CutPlane::new(p.point, p.normal)?),
            mode => mode,
        };
        options.seed = self.seed;
        options.output = self.output;
        Ok(options)
    }
}

/// Every code a job can fail with (one `veil-mesh` error of each kind). A code reaches the page
/// as text in the worker's message; the page reads it back into one of these `&'static str`s (a
/// kind `veil-mesh` adds and this list lacks reaches it as a `worker` error naming the code).
pub fn mesh_codes() -> [&'static str; 13] {
    use veil_core::Coded;
    let none = String::new;
    [
        MeshError::Truncated { what: none() },
        MeshError::CountMismatch { actual: 0 },
        MeshError::UnknownFormat(none()),
        MeshError::BadHeader(none()),
        MeshError::Unsupported(none()),
        MeshError::Parse {
            line: 0,
            message: none(),
        },
        MeshError::NonFinite { what: none() },
        MeshError::IndexOutOfRange {
            face: 0,
            vertices: 0,
        },
        MeshError::Empty(none()),
        MeshError::TooLarge {
            what: none(),
            limit: 0,
        },
        MeshError::BadOption(none()),
        MeshError::Entropy(none()),
        MeshError::Cancelled,
    ]
    .map(|e| e.code())
}

/// A finished job.
#[derive(Debug, Clone)]
pub struct JobResult {
    /// The de-identified file.
    pub bytes: Vec<u8>,
    /// The name offered for download (neutral: never the input's name).
    pub file_name: String,
    /// The utility report.
    pub report: Report,
    /// The before/after preview.
    pub preview: PreviewPair,
}

/// The download name in `format`. Deliberately not derived from the input's name: file names of
/// exports often carry the patient's name or record number, and the output must not.
pub fn output_name(format: OutputFormat) -> String {
    match format {
        OutputFormat::Stl => "deidentified-model.stl".into(),
        OutputFormat::Ply => "deidentified-model.ply".into(),
    }
}

/// The pipeline's share of the progress bar as the pipeline reports it (0..=1 of its own run).
fn pipeline_progress(progress: &mut dyn FnMut(f32)) -> impl FnMut(f32) + '_ {
    move |f| progress(f * PIPELINE_SHARE)
}

/// Cancelling is terminating the worker: a worker busy in this code cannot read messages.
fn never() -> bool {
    false
}

/// The first part of a job: read the file (named `file_name`; taken by value so the pipeline
/// frees it as soon as it is read), scrub, reframe, deface, mask. The mesh worker hands the
/// report's first half ([`veil_mesh::Prepared::forward_points`] to
/// [`veil_mesh::Prepared::output_surface`]) to a second worker, then calls [`write`], which
/// measures the second half and writes the output meanwhile, and [`finish`]. (The first half goes
/// out, not the second: this side then has the output to write as well, and the halves balance.)
pub fn prepare(
    bytes: Vec<u8>,
    file_name: &str,
    options: &JobOptions,
    progress: &mut dyn FnMut(f32),
) -> Result<veil_mesh::Prepared, MeshError> {
    let options = options.to_options()?;
    let hint = FormatHint::from_path(file_name);
    veil_mesh::prepare_owned(
        bytes,
        hint,
        &options,
        &mut pipeline_progress(progress),
        &never,
    )
}

/// The report's second half (and its first, unless it is measured `elsewhere`) and the output
/// written.
pub fn write(
    prepared: veil_mesh::Prepared,
    elsewhere: veil_mesh::Elsewhere,
    progress: &mut dyn FnMut(f32),
) -> Result<veil_mesh::Written, MeshError> {
    prepared.write(elsewhere, &mut pipeline_progress(progress), &never)
}

/// The report's first half measured here after all (the helper it was handed to failed).
pub fn measure_first_half(
    written: &veil_mesh::Written,
    points: &[[f32; 3]],
) -> Result<Vec<f64>, MeshError> {
    let (vertices, kept) = written.output_surface();
    veil_mesh::utility::distances_to_surface(vertices, kept, points, &mut |_| {}, &never)
}

/// The report (with its first half as [`write`] measured it, or from `brought`, measured
/// elsewhere) and the preview. The bytes and the report are the same either way, and the same as the CLI's.
pub fn finish(
    written: veil_mesh::Written,
    brought: Option<veil_mesh::Brought>,
    output: OutputFormat,
    preview_triangles: usize,
    progress: &mut dyn FnMut(f32),
) -> Result<JobResult, MeshError> {
    let done = written.complete(brought, &mut pipeline_progress(progress), &never)?;
    let identity = |p: [f32; 3]| p;
    let removed = done
        .report
        .deface
        .plane
        .filter(|_| done.report.deface.removed_triangles > 0)
        .map(|p| RemovedHalfSpace {
            point: p.point,
            normal: p.normal,
        });
    // `reference` is the input already in the output frame, before deface and mask.
    let before = BeforeModel {
        vertices: &done.reference.vertices,
        triangles: &done.reference.triangles,
        to_output: &identity,
        removed,
    };
    // The cap the deface step added is the last of the output's triangles.
    let cap = usize::try_from(done.report.deface.cap_triangles).unwrap_or(usize::MAX);
    let after = AfterModel {
        vertices: &done.mesh.vertices,
        triangles: &done.mesh.triangles,
        cap_start: done.mesh.triangles.len().saturating_sub(cap),
        deviation: &done.deviation,
    };
    let preview = geometry::build(&before, &after, preview_triangles, &mut |f| {
        progress(PIPELINE_SHARE + (1.0 - PIPELINE_SHARE) * f)
    });
    Ok(JobResult {
        bytes: done.bytes,
        file_name: output_name(output),
        report: done.report,
        preview,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use veil_core::Coded;
    use wasm_bindgen_test::wasm_bindgen_test;

    /// The whole job in one thread, as the mesh worker runs it without a helper.
    fn run(
        bytes: Vec<u8>,
        file_name: &str,
        options: &JobOptions,
        progress: &mut dyn FnMut(f32),
    ) -> Result<JobResult, MeshError> {
        let prepared = prepare(bytes, file_name, options, progress)?;
        let written = write(prepared, veil_mesh::Elsewhere::Nothing, progress)?;
        finish(
            written,
            None,
            options.output,
            PREVIEW_TRIANGLE_BUDGET,
            progress,
        )
    }

    #[wasm_bindgen_test]
    fn a_page_asks_for_a_preview_within_bounds() {
        assert_eq!(preview_budget(None), PREVIEW_TRIANGLE_BUDGET);
        assert_eq!(
            preview_budget(Some(SOFTWARE_PREVIEW_TRIANGLES as f64)),
            SOFTWARE_PREVIEW_TRIANGLES
        );
        assert_eq!(preview_budget(Some(1e12)), PREVIEW_TRIANGLE_BUDGET);
        assert_eq!(preview_budget(Some(f64::INFINITY)), PREVIEW_TRIANGLE_BUDGET);
        assert_eq!(preview_budget(Some(f64::NAN)), PREVIEW_TRIANGLE_BUDGET);
        assert_eq!(preview_budget(Some(-5.0)), MIN_PREVIEW_TRIANGLES);
        assert_eq!(preview_budget(Some(0.0)), MIN_PREVIEW_TRIANGLES);
    }

    #[wasm_bindgen_test]
    fn the_download_name_never_carries_the_input_name() {
        assert_eq!(output_name(OutputFormat::Stl), "deidentified-model.stl");
        assert_eq!(output_name(OutputFormat::Ply), "deidentified-model.ply");
    }

    #[wasm_bindgen_test]
    fn options_cross_to_the_worker_typed_and_a_bad_plane_is_refused_there() {
        let chosen = JobOptions {
            profile: Profile::Print,
            deface: DefaceMode::parse("plane:1,2,3,0,0,2").unwrap(),
            seed: Some(42),
            output: OutputFormat::Ply,
        };
        let wire = serde_json::to_string(&chosen).unwrap();
        let read: JobOptions = serde_json::from_str(&wire).unwrap();
        assert_eq!(read, chosen);
        let options = read.to_options().unwrap();
        assert_eq!(
            (options.profile, options.output),
            (Profile::Print, OutputFormat::Ply)
        );
        assert_eq!(options.deface, chosen.deface);
        // A message with a zero normal (never written by the page) is refused, not run.
        let forged = wire.replace("\"normal\":[0.0,0.0,1.0]", "\"normal\":[0.0,0.0,0.0]");
        assert_ne!(forged, wire);
        let forged: JobOptions = serde_json::from_str(&forged).unwrap();
        assert_eq!(forged.to_options().unwrap_err().code(), "bad-option");
    }

    #[wasm_bindgen_test]
    fn every_mesh_code_is_known_once() {
        let codes = mesh_codes();
        let unique: std::collections::BTreeSet<_> = codes.iter().collect();
        assert_eq!(unique.len(), codes.len());
        let damaged = run(vec![0; 90], "x.stl", &JobOptions::default(), &mut |_| {});
        assert!(codes.contains(&damaged.unwrap_err().code()));
    }

    #[wasm_bindgen_test]
    fn a_head_is_defaced_and_its_preview_shows_the_removed_face() {
        let head = veil_mesh::synth::head(&veil_mesh::synth::HeadSpec::default());
        let stl = veil_mesh::write::write_stl(&head.mesh);
        let options = JobOptions {
            seed: Some(3),
            ..JobOptions::default()
        };
        let mut seen = Vec::new();
        let result = run(stl, "patient.stl", &options, &mut |f| seen.push(f)).unwrap();
        assert_eq!(result.report.deface.outcome, "defaced");
        assert_eq!(result.file_name, "deidentified-model.stl");
        assert!(result.preview.removed_vertices > 0);
        assert!(result.preview.cut_vertices > 0);
        assert!(result.preview.after.shown_triangles() > 0);
        // Progress rises to 1 and never goes back.
        assert!(seen.windows(2).all(|w| w[0] <= w[1]), "{seen:?}");
        assert_eq!(seen.last().copied(), Some(1.0));
        // The preview's deviation agrees with the report's Hausdorff bound on the shown part.
        let h = result.report.utility.hausdorff.unwrap();
        assert!(
            f64::from(result.preview.max_mm) <= h.max + 1e-3,
            "{} > {}",
            result.preview.max_mm,
            h.max
        );
    }
}
