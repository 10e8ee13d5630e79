//! `deidentifyModel`: `veil-mesh`'s pipeline (scrub, reframe, deface, mask, shuffle/quantise,
//! utility report) over a model the portal holds, with progress and cancellation.
//!
//! The options map one to one onto `veil deid`'s flags (`profile` = `--profile`, `deface` =
//! `--deface`, `seed` = `--seed`, `format` = the output file's extension, `hausdorff` = `--report`),
//! so the same input, options and seed give byte-identical output to the CLI.

use std::cell::RefCell;

use js_sys::{Array, Float32Array, Function, Object, Reflect, Uint32Array};
use veil_mesh::{CutPlane, DefaceMode, FormatHint, Options, OutputFormat, Profile};
use wasm_bindgen::JsValue;
use wasm_bindgen::prelude::wasm_bindgen;

use crate::error::VeilError;
use crate::js;

/// The output format: `stl` (binary STL, default) or `ply` (binary little-endian PLY).
fn output_format(v: Option<String>) -> Result<OutputFormat, VeilError> {
    match v.as_deref() {
        None | Some("stl") => Ok(OutputFormat::Stl),
        Some("ply") => Ok(OutputFormat::Ply),
        Some(other) => Err(VeilError::new(
            "bad-option",
            format!("format must be \"stl\" or \"ply\" (got {other:?})"),
        )),
    }
}

/// The input format hint: `auto` (sniff, default), `stl`, `obj`, `ply`.
fn input_format(v: Option<String>) -> Result<FormatHint, VeilError> {
    match v.as_deref() {
        None | Some("auto") => Ok(FormatHint::Auto),
        Some("stl") => Ok(FormatHint::Stl),
        Some("obj") => Ok(FormatHint::Obj),
        Some("ply") => Ok(FormatHint::Ply),
        Some(other) => Err(VeilError::new(
            "bad-option",
            format!("inputFormat must be \"auto\", \"stl\", \"obj\" or \"ply\" (got {other:?})"),
        )),
    }
}

/// A 3-vector from a JS array of three numbers.
fn vec3(v: &JsValue, what: &str) -> Result<[f64; 3], VeilError> {
    let bad = || VeilError::argument(format!("{what} must be an array of three numbers"));
    if !Array::is_array(v) {
        return Err(bad());
    }
    let a = Array::from(v);
    if a.length() != 3 {
        return Err(bad());
    }
    let mut out = [0.0; 3];
    for (i, slot) in out.iter_mut().enumerate() {
        *slot = a.get(i as u32).as_f64().ok_or_else(bad)?;
    }
    Ok(out)
}

/// `deface`: the CLI's text (`auto`, `off`, `plane:PX,PY,PZ,NX,NY,NZ`) or `{point, normal}`.
fn deface(v: &JsValue) -> Result<Option<DefaceMode>, VeilError> {
    if js::is_absent(v) {
        return Ok(None);
    }
    if let Some(s) = v.as_string() {
        return Ok(Some(DefaceMode::parse(&s)?));
    }
    if v.is_object() {
        let point = vec3(&js::field(v, "point")?, "deface.point")?;
        let normal = vec3(&js::field(v, "normal")?, "deface.normal")?;
        return Ok(Some(DefaceMode::Plane(CutPlane::new(point, normal)?)));
    }
    Err(VeilError::argument(
        "deface must be \"auto\", \"off\", \"plane:PX,PY,PZ,NX,NY,NZ\" or {point, normal}",
    ))
}

/// The pipeline options for a JS options object, and the input hint.
fn options(o: &JsValue) -> Result<(Options, FormatHint), VeilError> {
    let profile = match js::string_field(o, "profile")? {
        None => Profile::Strict,
        Some(p) => Profile::parse(&p)?,
    };
    let mut options = Options::for_profile(profile);
    if let Some(mode) = deface(&js::field(o, "deface")?)? {
        options.deface = mode;
    }
    options.seed = js::u64_field(o, "seed")?;
    options.output = output_format(js::string_field(o, "format")?)?;
    let hausdorff = js::field(o, "hausdorff")?;
    // As `veil deid`: the costly Hausdorff distances only when asked for (`--report`).
    options.hausdorff = if js::is_absent(&hausdorff) {
        false
    } else {
        hausdorff
            .as_bool()
            .ok_or_else(|| VeilError::argument("hausdorff must be a boolean"))?
    };
    Ok((options, input_format(js::string_field(o, "inputFormat")?)?))
}

/// The largest step between two `onProgress` calls (the UI contract: at least every 5 %).
const MAX_PROGRESS_STEP: f64 = 0.05;

/// Turns the pipeline's progress into the values `onProgress` receives: monotone, and never more
/// than [`MAX_PROGRESS_STEP`] apart. A stage that is skipped (the Hausdorff distances when not
/// requested) takes no time, so the progress crosses its span at once; the crossing is reported
/// in steps rather than as one jump, so a progress bar never leaps.
#[derive(Debug, Default)]
struct ProgressSteps {
    last: f64,
}

impl ProgressSteps {
    /// The values to report for the pipeline reaching `fraction` (none if it went backwards).
    fn advance(&mut self, fraction: f64) -> Vec<f64> {
        let target = fraction.clamp(0.0, 1.0);
        let mut out = Vec::new();
        if target < self.last || (target == self.last && self.last > 0.0) {
            return out;
        }
        // The tolerance keeps float rounding from adding a step just below `target`.
        while target - self.last > MAX_PROGRESS_STEP + 1e-9 {
            self.last += MAX_PROGRESS_STEP;
            out.push(self.last);
        }
        self.last = target;
        out.push(target);
        out
    }
}

/// `signal.aborted`, read without trusting the object's shape.
fn aborted(signal: &JsValue) -> bool {
    Reflect::get(signal, &"aborted".into()).is_ok_and(|a| a.is_truthy())
}

/// A caller's `onProgress` (reported in [`ProgressSteps`]) and `signal`, kept across the parts of
/// a run so its progress stays monotone from the first part to the last.
struct JsHooks {
    on_progress: Option<Function>,
    signal: JsValue,
    steps: ProgressSteps,
}

impl JsHooks {
    fn from_options(o: &JsValue) -> Result<JsHooks, VeilError> {
        let on_progress = js::function_field(o, "onProgress")?;
        let signal = js::field(o, "signal")?;
        if !js::is_absent(&signal) && !signal.is_object() {
            return Err(VeilError::argument("signal must be an AbortSignal"));
        }
        Ok(JsHooks {
            on_progress,
            signal,
            steps: ProgressSteps::default(),
        })
    }

    /// Run one part of the pipeline with these hooks. An exception thrown by `onProgress` stops
    /// the part and is rethrown unchanged.
    fn run<T>(
        &mut self,
        part: impl FnOnce(&mut dyn FnMut(f32), &dyn Fn() -> bool) -> Result<T, veil_mesh::MeshError>,
    ) -> Result<T, JsValue> {
        let thrown: RefCell<Option<JsValue>> = RefCell::new(None);
        let (on_progress, signal, steps) = (&self.on_progress, &self.signal, &mut self.steps);
        let mut progress = |fraction: f32| {
            if let Some(f) = on_progress {
                for value in steps.advance(f64::from(fraction)) {
                    if thrown.borrow().is_some() {
                        break;
                    }
                    if let Err(e) = f.call1(&JsValue::UNDEFINED, &JsValue::from_f64(value)) {
                        *thrown.borrow_mut() = Some(e);
                    }
                }
            }
        };
        let cancel = || thrown.borrow().is_some() || (!js::is_absent(signal) && aborted(signal));
        let result = part(&mut progress, &cancel);
        if let Some(e) = thrown.take() {
            return Err(e);
        }
        result.map_err(|e| VeilError::from(e).into())
    }
}

/// `{model, report, shareableReport}`, what `deidentifyModel` resolves to.
fn result_object(done: &veil_mesh::Deidentified) -> Result<JsValue, VeilError> {
    let out: JsValue = Object::new().into();
    js::set(&out, "model", &js::uint8(&done.bytes));
    js::set(&out, "report", &js::to_js(&done.report)?);
    js::set(
        &out,
        "shareableReport",
        &js::to_js(&done.report.shareable())?,
    );
    Ok(out)
}

fn deidentify(bytes_in: &JsValue, o: &JsValue) -> Result<JsValue, JsValue> {
    let bytes = js::bytes(bytes_in, "bytes")?;
    let (options, hint) = options(o)?;
    let mut hooks = JsHooks::from_options(o)?;
    // By value: the pipeline frees the input as soon as it is read, so the rest of the run
    // reuses that memory instead of growing the wasm heap past it.
    let done = hooks.run(|progress, cancel| {
        veil_mesh::deidentify_owned_with(bytes, hint, &options, progress, cancel)
    })?;
    Ok(result_object(&done)?)
}

/// De-identify a 3D model (binary/ASCII STL, OBJ, PLY): resolves to `{model, report,
/// shareableReport}`, the de-identified file (binary STL or PLY), the local report (`veil deid
/// --report` JSON: names what was removed, holds the transform; keep it local) and the shareable
/// report (`--shareable-report`: the only form to send, e.g. as `sealArtifact`'s `deidReport`).
///
/// Rejects with a `VeilError` whose `code` is `veil-mesh`'s (`truncated-file`, `count-mismatch`,
/// `unknown-format`, `bad-header`, `unsupported-format`, `parse-error`, `non-finite-coordinate`,
/// `index-out-of-range`, `empty-mesh`, `too-large`, `bad-option`, `no-entropy`, `cancelled`) or
/// `bad-argument`.
#[wasm_bindgen(js_name = deidentifyModel, unchecked_return_type = "Promise<DeidentifyResult>")]
pub fn deidentify_model(
    #[wasm_bindgen(unchecked_param_type = "Uint8Array")] bytes: JsValue,
    #[wasm_bindgen(unchecked_optional_param_type = "DeidentifyOptions")] options: JsValue,
) -> js_sys::Promise {
    js::settle(deidentify(&bytes, &options))
}

/// Where a [`ModelJob`] is.
enum JobState {
    Prepared(Box<veil_mesh::Prepared>),
    Written(Box<veil_mesh::Written>),
    /// Completed, failed or cancelled: nothing more to do.
    Over,
}

/// `deidentifyModel` in three parts, for a caller that runs half of the report in another worker
/// while this one measures the other half and writes the output (the package's `MeshPool` does;
/// the half sent out is the first, the input's points to the output's surface, so that the two
/// workers' shares balance): `prepareModel` ->
/// `measureRequest()` (hand it to `distancesToSurface` elsewhere) -> `write(false)` ->
/// `complete(distances)`. The output and report are those of `deidentifyModel` with the same
/// input and options, to the byte. Each part runs synchronously, once; a part called out of order
/// is refused (`bad-argument`) and changes nothing, and a part that fails ends the job.
#[wasm_bindgen]
pub struct ModelJob {
    hooks: JsHooks,
    state: JobState,
}

fn job_over() -> JsValue {
    VeilError::argument("this ModelJob has already failed or completed, or is not at that part")
        .into()
}

/// Start a split run: read, scrub, reframe, deface, mask (progress 0 to 0.67). `options` as
/// `deidentifyModel`'s; its `onProgress` and `signal` serve all three parts.
#[wasm_bindgen(js_name = prepareModel)]
pub fn prepare_model(
    #[wasm_bindgen(unchecked_param_type = "Uint8Array")] bytes: JsValue,
    #[wasm_bindgen(unchecked_optional_param_type = "DeidentifyOptions")] options_in: JsValue,
) -> Result<ModelJob, JsValue> {
    let bytes = js::bytes(&bytes, "bytes")?;
    let (options, hint) = options(&options_in)?;
    let mut hooks = JsHooks::from_options(&options_in)?;
    let prepared = hooks.run(|progress, cancel| {
        veil_mesh::prepare_owned(bytes, hint, &options, progress, cancel)
    })?;
    Ok(ModelJob {
        hooks,
        state: JobState::Prepared(Box::new(prepared)),
    })
}

#[wasm_bindgen]
impl ModelJob {
    /// What the report's first half measures, for `distancesToSurface` elsewhere: `{vertices,
    /// triangles, points}` (the output's surface without the deface cap, the sampled input
    /// points; flat `Float32Array` x,y,z / `Uint32Array` corner indices / `Float32Array`), or
    /// `null` when the report is off (`hausdorff` not set).
    #[wasm_bindgen(
        js_name = measureRequest,
        unchecked_return_type = "{vertices: Float32Array, triangles: Uint32Array, points: Float32Array} | null"
    )]
    pub fn measure_request(&self) -> Result<JsValue, JsValue> {
        let JobState::Prepared(p) = &self.state else {
            return Err(job_over());
        };
        let points = p.forward_points();
        if points.is_empty() {
            return Ok(JsValue::NULL);
        }
        let (vertices, triangles) = p.output_surface();
        let out: JsValue = Object::new().into();
        js::set(
            &out,
            "vertices",
            &Float32Array::from(vertices.as_flattened()).into(),
        );
        js::set(
            &out,
            "triangles",
            &Uint32Array::from(triangles.as_flattened()).into(),
        );
        js::set(
            &out,
            "points",
            &Float32Array::from(points.as_flattened()).into(),
        );
        Ok(out)
    }

    /// The report's second half, the order drawn and the output written (progress 0.67 to 0.9).
    /// With `bothHalvesHere`, the first half is measured here too and `complete` takes nothing.
    pub fn write(
        &mut self,
        #[wasm_bindgen(js_name = bothHalvesHere)] both_halves_here: bool,
    ) -> Result<(), JsValue> {
        let p = match std::mem::replace(&mut self.state, JobState::Over) {
            JobState::Prepared(p) => p,
            other => {
                self.state = other;
                return Err(job_over());
            }
        };
        let written = self.hooks.run(|progress, cancel| {
            let elsewhere = if both_halves_here {
                veil_mesh::Elsewhere::Nothing
            } else {
                veil_mesh::Elsewhere::Forward
            };
            p.write(elsewhere, progress, cancel)
        })?;
        self.state = JobState::Written(Box::new(written));
        Ok(())
    }

    /// The result, `{model, report, shareableReport}` as `deidentifyModel`'s (progress 0.9 to 1).
    /// `distances`: what `distancesToSurface` gave for `measureRequest()`, when `write` did not
    /// measure the first half (distances for other points: `bad-option`).
    #[wasm_bindgen(unchecked_return_type = "DeidentifyResult")]
    pub fn complete(&mut self, distances: Option<Vec<f64>>) -> Result<JsValue, JsValue> {
        let w = match std::mem::replace(&mut self.state, JobState::Over) {
            JobState::Written(w) => w,
            other => {
                self.state = other;
                return Err(job_over());
            }
        };
        let done = self.hooks.run(|progress, cancel| {
            w.complete(distances.map(veil_mesh::Brought::Forward), progress, cancel)
        })?;
        Ok(result_object(&done)?)
    }
}

/// Flat x,y,z (or corner index) triples.
fn triples<'a, T>(flat: &'a [T], what: &str) -> Result<&'a [[T; 3]], VeilError> {
    match flat.as_chunks::<3>() {
        (whole, []) => Ok(whole),
        _ => Err(VeilError::argument(format!(
            "{what} must hold a multiple of three numbers"
        ))),
    }
}

/// Distances from `points` to the nearest triangle of the surface (`vertices`, `triangles`), as
/// either half of the report measures them: the same bits as in `deidentifyModel`. Arguments as
/// `ModelJob.measureRequest()` gives them; indices out of range (`index-out-of-range`) and
/// vertices or points that are not finite (`non-finite-coordinate`) are refused.
#[wasm_bindgen(js_name = distancesToSurface)]
pub fn distances_to_surface(
    vertices: &[f32],
    triangles: &[u32],
    points: &[f32],
) -> Result<Vec<f64>, JsValue> {
    let vertices = triples(vertices, "vertices")?;
    let triangles = triples(triangles, "triangles")?;
    let points = triples(points, "points")?;
    veil_mesh::utility::distances_to_surface(vertices, triangles, points, &mut |_| {}, &|| false)
        .map_err(|e| VeilError::from(e).into())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn progress_never_leaps_more_than_five_percent_and_never_goes_back() {
        let mut p = ProgressSteps::default();
        let mut seen = Vec::new();
        for f in [0.0, 0.01, 0.3, 0.29, 0.71, 0.95, 1.0, 1.0] {
            seen.extend(p.advance(f));
        }
        assert_eq!(seen.first(), Some(&0.0));
        assert_eq!(seen.last(), Some(&1.0));
        for w in seen.windows(2) {
            assert!(
                w[1] >= w[0] && w[1] - w[0] <= MAX_PROGRESS_STEP + 1e-12,
                "{w:?}"
            );
        }
        assert_eq!(seen.iter().filter(|&&v| v == 1.0).count(), 1);
    }
}
