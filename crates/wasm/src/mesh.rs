//! `deidentifyModel`: `veil-mesh`'s pipeline (scrub, reframe, deface, mask, shuffle/quantise,
//! utility report) over a model the portal holds, with progress and cancellation.
//!
//! The options map one to one onto `veil deid`'s flags (`profile` = `--profile`, `deface` =
//! `--deface`, `seed` = `--seed`, `format` = the output file's extension, `hausdorff` = `--report`),
//! so the same input, options and seed give byte-identical output to the CLI.

use std::cell::RefCell;

use js_sys::{Array, Function, Object, Reflect};
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

fn deidentify(bytes_in: &JsValue, o: &JsValue) -> Result<JsValue, JsValue> {
    let bytes = js::bytes(bytes_in, "bytes")?;
    let (options, hint) = options(o)?;
    let on_progress: Option<Function> = js::function_field(o, "onProgress")?;
    let signal = js::field(o, "signal")?;
    if !js::is_absent(&signal) && !signal.is_object() {
        return Err(VeilError::argument("signal must be an AbortSignal").into());
    }
    // An exception thrown by onProgress stops the run and is rethrown unchanged.
    let thrown: RefCell<Option<JsValue>> = RefCell::new(None);
    let mut steps = ProgressSteps::default();
    let mut progress = |fraction: f32| {
        if let Some(f) = &on_progress {
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
    let cancel = || thrown.borrow().is_some() || (!js::is_absent(&signal) && aborted(&signal));
    // By value: the pipeline frees the input as soon as it is read, so the rest of the run
    // reuses that memory instead of growing the wasm heap past it.
    let result = veil_mesh::deidentify_owned_with(bytes, hint, &options, &mut progress, &cancel);
    if let Some(e) = thrown.take() {
        return Err(e);
    }
    let done = result.map_err(VeilError::from)?;
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
