//! The de-identification job the mesh worker runs: the `veil-mesh` pipeline on the file's bytes,
//! then the before/after preview. Plain Rust (no browser types), so it is tested natively.
//!
//! The page only chooses options and shows results; the bytes never leave the worker except as
//! the de-identified output.

use serde::{Deserialize, Serialize};
use veil_mesh::{DefaceMode, FormatHint, MeshError, Options, OutputFormat, Profile, Report};

use crate::preview::geometry::{self, BeforeModel, PreviewPair, RemovedHalfSpace};

/// Triangles per preview view (the download is never thinned).
pub const PREVIEW_TRIANGLE_BUDGET: usize = 250_000;

/// Share of the progress bar the pipeline takes; the preview takes the rest.
const PIPELINE_SHARE: f32 = 0.85;

/// What the person chose on the Models page, as sent to the worker.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct JobOptions {
    /// `strict`, `research` or `print`.
    pub profile: String,
    /// `auto`, `off` or `plane:PX,PY,PZ,NX,NY,NZ` (input coordinates, mm).
    pub deface: String,
    /// Seed for a reproducible run; `None` draws fresh randomness.
    pub seed: Option<u64>,
    /// `stl` or `ply`.
    pub output: String,
}

impl Default for JobOptions {
    fn default() -> Self {
        JobOptions {
            profile: "strict".into(),
            deface: "auto".into(),
            seed: None,
            output: "stl".into(),
        }
    }
}

impl JobOptions {
    /// The pipeline options these choices mean (a typed error for any bad choice).
    pub fn to_options(&self) -> Result<Options, MeshError> {
        let mut options = Options::for_profile(Profile::parse(&self.profile)?);
        options.deface = DefaceMode::parse(&self.deface)?;
        options.seed = self.seed;
        options.output = match self.output.as_str() {
            "stl" => OutputFormat::Stl,
            "ply" => OutputFormat::Ply,
            other => {
                return Err(MeshError::BadOption(format!(
                    "output must be stl or ply (got {other:?})"
                )));
            }
        };
        Ok(options)
    }
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

/// Run the pipeline on `bytes` (named `file_name`; taken by value so the pipeline frees them as
/// soon as they are read) and build the preview. `progress` receives the
/// overall fraction, rising from 0 to 1.
pub fn run(
    bytes: Vec<u8>,
    file_name: &str,
    options: &JobOptions,
    progress: &mut dyn FnMut(f32),
) -> Result<JobResult, MeshError> {
    let options = options.to_options()?;
    let hint = FormatHint::from_path(file_name);
    // Cancelling is terminating the worker: a worker busy in this call cannot read messages.
    let never = || false;
    let done = veil_mesh::deidentify_owned_with(
        bytes,
        hint,
        &options,
        &mut |f| progress(f * PIPELINE_SHARE),
        &never,
    )?;
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
    let preview = geometry::build(
        &before,
        &done.mesh.vertices,
        &done.mesh.triangles,
        PREVIEW_TRIANGLE_BUDGET,
        &mut |f| progress(PIPELINE_SHARE + (1.0 - PIPELINE_SHARE) * f),
    );
    Ok(JobResult {
        bytes: done.bytes,
        file_name: output_name(options.output),
        report: done.report,
        preview,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use veil_core::Coded;

    #[test]
    fn the_download_name_never_carries_the_input_name() {
        assert_eq!(output_name(OutputFormat::Stl), "deidentified-model.stl");
        assert_eq!(output_name(OutputFormat::Ply), "deidentified-model.ply");
    }

    #[test]
    fn bad_choices_are_typed_errors() {
        let bad = |f: fn(&mut JobOptions)| {
            let mut o = JobOptions::default();
            f(&mut o);
            o.to_options().unwrap_err().code()
        };
        assert_eq!(bad(|o| o.profile = "lax".into()), "bad-option");
        assert_eq!(bad(|o| o.deface = "plane:1,2".into()), "bad-option");
        assert_eq!(bad(|o| o.output = "obj".into()), "bad-option");
    }

    #[test]
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
