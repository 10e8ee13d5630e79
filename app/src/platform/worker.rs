//! The mesh worker: a dedicated Web Worker running `veil-mesh`, so a model of millions of
//! triangles never blocks the page. This module is both ends of the message protocol, kept in one
//! place so they cannot drift apart:
//!
//! - page → worker: `{ kind: "run", file: File, name, options: JSON }`;
//! - worker → page: `{ kind: "ready" }` once loaded, `{ kind: "progress", value }` (0..1),
//!   `{ kind: "done", output: Uint8Array, fileName, report: JSON, shareable: JSON, summary: JSON,
//!   before, after }`
//!   (`report` is a [`ReportView`]: rows ready to show, plus the full report JSON)
//!   with each view as `{ positions, colours, indices, totalTriangles }` typed arrays (transferred,
//!   not copied), or `{ kind: "failed", code, message }` with the `veil-mesh` error code (or the
//!   app's `browser`/`worker`), read back into an [`AppError`] on the page.
//!
//! The `File` itself is posted (a handle, not its bytes): the worker reads it, so the page never
//! holds the model in memory. Cancelling terminates the worker; the page starts a fresh one.
//!
//! On a machine with two cores or more, the mesh worker starts a second one of itself (a
//! [`Helper`], named [`HELPER_NAME`], terminated with it; it says `ready` only once its helper
//! has loaded, so nothing is fetched while a model is processed) for the first half of the
//! utility report, which needs only the output's surface and a set of input points; it runs while
//! the first worker measures the second half and writes the output:
//!
//! - helper → worker: `{ kind: "ready" }`, then `{ kind: "measured", distances: Float64Array }`
//!   or `{ kind: "failed", code, message }`;
//! - worker → helper: `{ kind: "measure", vertices: Float32Array, triangles: Uint32Array,
//!   points: Float32Array }` (transferred). The distances are the same bits as measured in place
//!   ([`veil_mesh::utility::distances_to_surface`]), so the output and report do not depend on
//!   where they were measured; a helper that fails only means they are measured in place.
//!
//! Trunk builds `src/bin/mesh_worker.rs` as a classic worker with a loader shim
//! (`<link data-trunk rel="rust" data-type="worker" data-loader-shim ...>` in `index.html`); worker
//! file names are not content-hashed, the service worker's per-build cache keeps them consistent.

use std::cell::RefCell;
use std::rc::Rc;

use js_sys::{
    Array, Float32Array, Float64Array, Function, Object, Promise, Reflect, Uint8Array, Uint32Array,
};
use serde::{Deserialize, Serialize};
use wasm_bindgen::JsCast;
use wasm_bindgen::prelude::*;
use wasm_bindgen_futures::JsFuture;
use web_sys::{DedicatedWorkerGlobalScope, File, MessageEvent, Worker, WorkerOptions, WorkerType};

use crate::error::{self, AppError};
use crate::mesh_job::{self, JobOptions, JobResult};
use crate::preview::ViewGeometry;
use crate::preview::geometry::{PreviewGeometry, PreviewPair};
use crate::report_view::ReportView;

/// The loader Trunk writes for the `mesh_worker` binary.
pub const WORKER_URL: &str = "/mesh_worker_loader.js";

/// The scalar part of the preview (the legend and the camera frame).
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize, Default)]
pub struct PreviewSummary {
    /// Centre of the model (output frame).
    pub centre: [f32; 3],
    /// Bounding radius.
    pub radius: f32,
    /// Deviation at the top of the colour ramp (mm).
    pub scale_mm: f32,
    /// Largest deviation of a shown vertex (mm).
    pub max_mm: f32,
    /// Output vertices on the cut surface.
    pub cut_vertices: u64,
    /// Input vertices in the removed region.
    pub removed_vertices: u64,
}

impl From<&PreviewPair> for PreviewSummary {
    fn from(p: &PreviewPair) -> Self {
        PreviewSummary {
            centre: p.centre,
            radius: p.radius,
            scale_mm: p.scale_mm,
            max_mm: p.max_mm,
            cut_vertices: p.cut_vertices,
            removed_vertices: p.removed_vertices,
        }
    }
}

/// A finished job as the page receives it.
#[derive(Debug, Clone)]
pub struct JobOutcome {
    /// The de-identified file (transferred, not copied). The page copies it only when it is
    /// downloaded (into a `Blob`) or sealed, so showing a result of hundreds of megabytes copies
    /// nothing on the page's thread.
    pub output: Uint8Array,
    /// Its download name.
    pub file_name: String,
    /// The local utility report, formatted ([`ReportView`] as JSON): shown and downloadable.
    pub report_json: String,
    /// The shareable report ([`veil_mesh::ShareableReport`] as JSON): the only one ever sealed.
    pub shareable_json: String,
    /// Legend and framing.
    pub summary: PreviewSummary,
    /// The input in the output frame, removed region highlighted.
    pub before: ViewGeometry,
    /// The output coloured by deviation.
    pub after: ViewGeometry,
}

/// What the worker tells the page.
#[derive(Debug, Clone)]
pub enum WorkerEvent {
    /// Loaded and listening.
    Ready,
    /// Overall progress, 0..=1.
    Progress(f32),
    /// The job finished.
    Done(Box<JobOutcome>),
    /// The job failed: a `veil-mesh` error (`truncated-file`, `bad-option`, ...), or the file
    /// could not be read (`browser`).
    Failed(AppError),
    /// The worker itself failed (script not loaded, out of memory, a panic): a `worker` error.
    Crashed(AppError),
}

fn get(obj: &JsValue, key: &str) -> JsValue {
    Reflect::get(obj, &JsValue::from_str(key)).unwrap_or(JsValue::UNDEFINED)
}

fn get_string(obj: &JsValue, key: &str) -> String {
    get(obj, key).as_string().unwrap_or_default()
}

fn set(obj: &Object, key: &str, value: &JsValue) {
    let _ = Reflect::set(obj, &JsValue::from_str(key), value);
}

fn decode_view(value: &JsValue) -> Option<ViewGeometry> {
    Some(ViewGeometry {
        positions: get(value, "positions").dyn_into().ok()?,
        colours: get(value, "colours").dyn_into().ok()?,
        indices: get(value, "indices").dyn_into().ok()?,
        total_triangles: get(value, "totalTriangles").as_f64().unwrap_or(0.0),
    })
}

/// Decode a message from the worker (page side).
pub fn decode_event(data: &JsValue) -> WorkerEvent {
    match get_string(data, "kind").as_str() {
        "ready" => WorkerEvent::Ready,
        "progress" => WorkerEvent::Progress(get(data, "value").as_f64().unwrap_or(0.0) as f32),
        "done" => {
            let outcome = (|| {
                Some(JobOutcome {
                    output: get(data, "output").dyn_into().ok()?,
                    file_name: get_string(data, "fileName"),
                    report_json: get_string(data, "report"),
                    shareable_json: get_string(data, "shareable"),
                    summary: serde_json::from_str(&get_string(data, "summary")).ok()?,
                    before: decode_view(&get(data, "before"))?,
                    after: decode_view(&get(data, "after"))?,
                })
            })();
            match outcome {
                Some(o) => WorkerEvent::Done(Box::new(o)),
                None => {
                    WorkerEvent::Crashed(AppError::worker("the worker sent an unreadable result"))
                }
            }
        }
        "failed" => WorkerEvent::Failed(failure(
            &get_string(data, "code"),
            get_string(data, "message"),
        )),
        other => WorkerEvent::Crashed(AppError::worker(format!(
            "unknown message from the worker: {other:?}"
        ))),
    }
}

/// A failure as the worker reported it, its code read back into the `&'static str` it was sent
/// from: one of [`mesh_job::mesh_codes`] or the app's own; any other is the worker's failure.
fn failure(code: &str, message: String) -> AppError {
    let known = mesh_job::mesh_codes()
        .into_iter()
        .chain([error::BROWSER, error::WORKER])
        .find(|known| *known == code);
    match known {
        Some(code) => AppError::new(code, message),
        None => AppError::worker(format!("{code:?}: {message}")),
    }
}

/// The mesh worker's script running as a worker named `name`, with the handlers it was given
/// (the page's mesh worker and the mesh worker's helper are both this). Dropping it terminates it.
struct OwnedWorker {
    worker: Worker,
    _on_message: Closure<dyn FnMut(MessageEvent)>,
    _on_error: Closure<dyn FnMut(web_sys::Event)>,
}

impl OwnedWorker {
    fn spawn(
        name: &str,
        on_message: Closure<dyn FnMut(MessageEvent)>,
        on_error: Closure<dyn FnMut(web_sys::Event)>,
    ) -> Result<OwnedWorker, JsValue> {
        let options = WorkerOptions::new();
        options.set_type(WorkerType::Classic);
        options.set_name(name);
        let worker = Worker::new_with_options(WORKER_URL, &options)?;
        worker.set_onmessage(Some(on_message.as_ref().unchecked_ref()));
        worker.set_onerror(Some(on_error.as_ref().unchecked_ref()));
        Ok(OwnedWorker {
            worker,
            _on_message: on_message,
            _on_error: on_error,
        })
    }
}

impl Drop for OwnedWorker {
    fn drop(&mut self) {
        self.worker.set_onmessage(None);
        self.worker.set_onerror(None);
        self.worker.terminate();
    }
}

/// A running mesh worker (page side). Dropping it terminates the worker.
pub struct MeshWorker {
    inner: OwnedWorker,
}

impl std::fmt::Debug for MeshWorker {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("MeshWorker")
    }
}

impl MeshWorker {
    /// Start a worker; `on_event` receives everything it says, starting with [`WorkerEvent::Ready`].
    pub fn spawn(on_event: impl Fn(WorkerEvent) + 'static) -> Result<MeshWorker, AppError> {
        let on_event = std::rc::Rc::new(on_event);
        let handler = on_event.clone();
        let on_message = Closure::<dyn FnMut(MessageEvent)>::new(move |e: MessageEvent| {
            handler(decode_event(&e.data()));
        });
        let on_error = Closure::<dyn FnMut(web_sys::Event)>::new(move |e: web_sys::Event| {
            // An ErrorEvent carries a message; a bare Event (e.g. the script failed to load) does not.
            let message = get_string(&e, "message");
            on_event(WorkerEvent::Crashed(AppError::worker(
                if message.is_empty() {
                    "the mesh worker could not run".into()
                } else {
                    message
                },
            )));
        });
        let inner = OwnedWorker::spawn("veil-mesh", on_message, on_error).map_err(|e| {
            AppError::worker(format!(
                "cannot start the mesh worker: {}",
                super::js_error_text(&e)
            ))
        })?;
        Ok(MeshWorker { inner })
    }

    /// Ask the worker to de-identify `file` with `options`, and to thin each preview view to
    /// `preview_triangles`.
    pub fn run(
        &self,
        file: &File,
        options: &JobOptions,
        preview_triangles: usize,
    ) -> Result<(), AppError> {
        let message = Object::new();
        set(&message, "kind", &"run".into());
        set(&message, "file", file);
        set(&message, "name", &file.name().into());
        set(&message, "preview", &(preview_triangles as f64).into());
        let options = serde_json::to_string(options)
            .map_err(|e| AppError::worker(format!("the options could not be written: {e}")))?;
        set(&message, "options", &options.into());
        self.inner.worker.post_message(&message).map_err(|e| {
            AppError::worker(format!(
                "cannot reach the mesh worker: {}",
                super::js_error_text(&e)
            ))
        })
    }
}

/// A job request as the worker receives it.
#[derive(Debug)]
pub struct JobRequest {
    /// The chosen file (read in the worker).
    pub file: web_sys::Blob,
    /// Its name (for the format hint and the output name).
    pub name: String,
    /// The chosen options.
    pub options: JobOptions,
    /// Triangles per preview view (bounded by [`mesh_job::preview_budget`]).
    pub preview_triangles: usize,
}

/// What the helper is asked to measure (helper side).
#[derive(Debug)]
pub struct MeasureRequest {
    /// The surface's vertices (output frame).
    pub vertices: Vec<[f32; 3]>,
    /// Its triangles.
    pub triangles: Vec<[u32; 3]>,
    /// The points to measure.
    pub points: Vec<[f32; 3]>,
}

fn triples<T: Copy + Default>(len: u32, copy_to: impl FnOnce(&mut [T])) -> Option<Vec<[T; 3]>> {
    if !len.is_multiple_of(3) {
        return None;
    }
    let mut out = vec![[T::default(); 3]; len as usize / 3];
    copy_to(out.as_flattened_mut());
    Some(out)
}

/// Decode a worker message (helper side); `None` for anything but a well-formed `measure`.
pub fn decode_measure(data: &JsValue) -> Option<MeasureRequest> {
    if get_string(data, "kind") != "measure" {
        return None;
    }
    let vertices: Float32Array = get(data, "vertices").dyn_into().ok()?;
    let triangles: Uint32Array = get(data, "triangles").dyn_into().ok()?;
    let points: Float32Array = get(data, "points").dyn_into().ok()?;
    Some(MeasureRequest {
        vertices: triples(vertices.length(), |out| vertices.copy_to(out))?,
        triangles: triples(triangles.length(), |out| triangles.copy_to(out))?,
        points: triples(points.length(), |out| points.copy_to(out))?,
    })
}

/// Decode a page message (worker side); `None` for anything but a well-formed `run`.
pub fn decode_request(data: &JsValue) -> Option<JobRequest> {
    if get_string(data, "kind") != "run" {
        return None;
    }
    Some(JobRequest {
        file: get(data, "file").dyn_into().ok()?,
        name: get_string(data, "name"),
        options: serde_json::from_str(&get_string(data, "options")).ok()?,
        preview_triangles: mesh_job::preview_budget(get(data, "preview").as_f64()),
    })
}

/// The worker's side of the channel.
#[derive(Debug, Clone)]
pub struct WorkerPort {
    scope: DedicatedWorkerGlobalScope,
}

impl WorkerPort {
    /// The port of the worker this code runs in; `None` outside a dedicated worker.
    pub fn current() -> Option<WorkerPort> {
        js_sys::global()
            .dyn_into::<DedicatedWorkerGlobalScope>()
            .ok()
            .map(|scope| WorkerPort { scope })
    }

    /// The scope, to install the message handler.
    pub fn scope(&self) -> &DedicatedWorkerGlobalScope {
        &self.scope
    }

    fn post(&self, message: &Object, transfer: Option<&Array>) {
        let sent = match transfer {
            Some(t) => self.scope.post_message_with_transfer(message, t),
            None => self.scope.post_message(message),
        };
        if let Err(e) = sent {
            web_sys::console::error_2(&"mesh worker: cannot reply".into(), &e);
        }
    }

    fn kind(kind: &str) -> Object {
        let message = Object::new();
        set(&message, "kind", &kind.into());
        message
    }

    /// Say the worker is listening.
    pub fn ready(&self) {
        self.post(&Self::kind("ready"), None);
    }

    /// Report overall progress.
    pub fn progress(&self, value: f32) {
        let message = Self::kind("progress");
        set(&message, "value", &f64::from(value).into());
        self.post(&message, None);
    }

    /// Report a failure with its stable code.
    pub fn failed(&self, error: &AppError) {
        let m = Self::kind("failed");
        set(&m, "code", &error.code.into());
        set(&m, "message", &error.message.as_str().into());
        self.post(&m, None);
    }

    /// Send the helper's distances (transferred).
    pub fn measured(&self, distances: &[f64]) {
        let message = Self::kind("measured");
        let array = Float64Array::from(distances);
        let transfer = Array::of1(&array.buffer());
        set(&message, "distances", &array);
        self.post(&message, Some(&transfer));
    }

    /// Send a finished job, transferring (not copying) its buffers.
    pub fn done(&self, result: &JobResult) {
        let transfer = Array::new();
        let message = Self::kind("done");
        let output = Uint8Array::from(result.bytes.as_slice());
        transfer.push(&output.buffer());
        set(&message, "output", &output);
        set(&message, "fileName", &result.file_name.as_str().into());
        let report =
            serde_json::to_string(&ReportView::new(&result.report)).unwrap_or_else(|_| "{}".into());
        set(&message, "report", &report.into());
        let shareable =
            serde_json::to_string(&result.report.shareable()).unwrap_or_else(|_| "{}".into());
        set(&message, "shareable", &shareable.into());
        let summary = serde_json::to_string(&PreviewSummary::from(&result.preview))
            .unwrap_or_else(|_| "{}".into());
        set(&message, "summary", &summary.into());
        set(
            &message,
            "before",
            &encode_view(&result.preview.before, &transfer),
        );
        set(
            &message,
            "after",
            &encode_view(&result.preview.after, &transfer),
        );
        self.post(&message, Some(&transfer));
    }
}

fn encode_view(g: &PreviewGeometry, transfer: &Array) -> Object {
    let view = Object::new();
    let positions = Float32Array::from(g.positions.as_slice());
    let colours = Uint8Array::from(g.colours.as_slice());
    let indices = Uint32Array::from(g.indices.as_slice());
    for buffer in [positions.buffer(), colours.buffer(), indices.buffer()] {
        transfer.push(&buffer);
    }
    set(&view, "positions", &positions);
    set(&view, "colours", &colours);
    set(&view, "indices", &indices);
    set(&view, "totalTriangles", &(g.total_triangles as f64).into());
    view
}

/// A promise and the function that resolves it (the executor runs at once, so it is always there).
fn deferred() -> Option<(Promise, Function)> {
    let mut resolver = None;
    let promise = Promise::new(&mut |resolve, _reject| resolver = Some(resolve));
    Some((promise, resolver?))
}

type Resolver = Rc<RefCell<Option<Function>>>;

fn resolve(slot: &Resolver, value: &JsValue) {
    if let Some(f) = slot.borrow_mut().take() {
        let _ = f.call1(&JsValue::UNDEFINED, value);
    }
}

/// The name a helper is started under: a worker by that name is a helper and starts none itself.
pub const HELPER_NAME: &str = "veil-mesh-helper";

/// How long a helper may take to load before the job goes on without it (ms).
const HELPER_LOAD_MS: i32 = 15_000;

/// The mesh worker's second worker (worker side), started with it and kept for every job, so
/// that it has loaded (and fetched nothing) before a model is chosen. Dropping it terminates it.
pub struct Helper {
    inner: OwnedWorker,
    ready: Promise,
    reply: Resolver,
    /// Set when the helper reported an error: it is not asked again.
    failed: Rc<std::cell::Cell<bool>>,
}

impl std::fmt::Debug for Helper {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Helper")
    }
}

impl Helper {
    /// Start a helper when this machine has a second core for it; `None` otherwise or when it
    /// cannot start (the job then measures everything itself).
    pub fn spawn(scope: &DedicatedWorkerGlobalScope) -> Option<Helper> {
        let cores = scope.navigator().hardware_concurrency();
        if cores < 2.0 {
            return None;
        }
        let (ready, ready_resolver) = deferred()?;
        let ready_slot: Resolver = Rc::new(RefCell::new(Some(ready_resolver)));
        let reply: Resolver = Rc::new(RefCell::new(None));
        let (ready_on_message, reply_on_message) = (ready_slot.clone(), reply.clone());
        let on_message = Closure::<dyn FnMut(MessageEvent)>::new(move |e: MessageEvent| {
            let data = e.data();
            match get_string(&data, "kind").as_str() {
                "ready" => resolve(&ready_on_message, &JsValue::TRUE),
                _ => resolve(&reply_on_message, &data),
            }
        });
        let failed = Rc::new(std::cell::Cell::new(false));
        // A helper whose wasm fails to start rejects a promise inside itself, which raises no
        // error here: after HELPER_LOAD_MS without `ready` it counts as failed.
        let give_up = {
            let (ready_slot, failed) = (ready_slot.clone(), failed.clone());
            Closure::once_into_js(move || {
                if ready_slot.borrow().is_some() {
                    failed.set(true);
                    resolve(&ready_slot, &JsValue::FALSE);
                }
            })
        };
        let on_error = {
            let (reply, failed) = (reply.clone(), failed.clone());
            Closure::<dyn FnMut(web_sys::Event)>::new(move |e: web_sys::Event| {
                // Handled here: not reported again to the mesh worker's own scope (and the page),
                // which would take it for the mesh worker's crash.
                e.prevent_default();
                failed.set(true);
                resolve(&ready_slot, &JsValue::FALSE);
                resolve(&reply, &JsValue::NULL);
            })
        };
        let inner = OwnedWorker::spawn(HELPER_NAME, on_message, on_error).ok()?;
        let _ = scope.set_timeout_with_callback_and_timeout_and_arguments_0(
            give_up.unchecked_ref(),
            HELPER_LOAD_MS,
        );
        Some(Helper {
            inner,
            ready,
            reply,
            failed,
        })
    }

    /// Whether the helper has loaded and listens (waits until it has, or has failed to).
    pub async fn loaded(&self) -> bool {
        matches!(JsFuture::from(self.ready.clone()).await, Ok(v) if v == JsValue::TRUE)
            && !self.failed.get()
    }

    /// Once the helper listens, send it the surface and the points (copied out of this worker's
    /// memory, then transferred); the returned promise settles with its reply, to be read with
    /// [`Helper::distances`]. `None` when the helper could not start or be reached.
    pub async fn measure(
        &self,
        vertices: &[[f32; 3]],
        triangles: &[[u32; 3]],
        points: &[[f32; 3]],
    ) -> Option<Promise> {
        // One request at a time: a second job meanwhile measures in place.
        if !self.loaded().await || self.reply.borrow().is_some() {
            return None;
        }
        let (reply, resolver) = deferred()?;
        let message = Object::new();
        set(&message, "kind", &"measure".into());
        let vertices = Float32Array::from(vertices.as_flattened());
        let triangles = Uint32Array::from(triangles.as_flattened());
        let points = Float32Array::from(points.as_flattened());
        let transfer = Array::of3(&vertices.buffer(), &triangles.buffer(), &points.buffer());
        set(&message, "vertices", &vertices);
        set(&message, "triangles", &triangles);
        set(&message, "points", &points);
        self.inner
            .worker
            .post_message_with_transfer(&message, &transfer)
            .ok()?;
        // The reply comes in a later task, so it finds its resolver.
        *self.reply.borrow_mut() = Some(resolver);
        Some(reply)
    }

    /// The distances the helper measured, `expected` of them; `None` when it failed (a
    /// `failed` reply, a crash) or answered something else.
    pub async fn distances(reply: Promise, expected: usize) -> Option<Vec<f64>> {
        let data = JsFuture::from(reply).await.ok()?;
        if get_string(&data, "kind") != "measured" {
            return None;
        }
        let distances: Float64Array = get(&data, "distances").dyn_into().ok()?;
        (distances.length() as usize == expected).then(|| distances.to_vec())
    }
}
