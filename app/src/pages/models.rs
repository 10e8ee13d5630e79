//! The Models page: open or drop a 3D model (STL, OBJ, PLY), de-identify it in a Web Worker with
//! `veil-mesh`, compare before and after in 3D, read the utility report, download the result.
//!
//! The model never leaves the browser: the page hands the chosen `File` to the worker, which reads
//! it, runs the pipeline and returns the output bytes, the report and the preview buffers. The page
//! thread only uploads buffers and updates the DOM, so it stays responsive however large the
//! model; cancelling terminates the worker outright.

use leptos::prelude::*;
use wasm_bindgen::{JsCast, JsValue};
use web_sys::{File, HtmlInputElement};

use crate::mesh_job::JobOptions;
use crate::platform::worker::{JobOutcome, MeshWorker, PreviewSummary, WorkerEvent};
use crate::preview::camera::OrbitCamera;
use crate::preview::viewer::ModelViewer;
use crate::preview::{Frame, ViewGeometry};
use crate::report_view::{ReportView, format_bytes, format_mm};

/// Where the page is in a run.
#[derive(Debug, Clone, PartialEq)]
enum Phase {
    /// No run yet.
    Idle,
    /// The worker is de-identifying the named file.
    Processing(String),
    /// A run finished; results are shown.
    Done,
    /// The person cancelled; nothing was kept.
    Cancelled,
    /// The run failed with a stable code and a message.
    Failed { code: String, message: String },
}

/// A finished run's download link.
#[derive(Debug, Clone, PartialEq)]
struct Download {
    url: String,
    name: String,
    bytes: u64,
}

/// Everything the page keeps; all signals are `Copy`, so handlers capture them freely.
#[derive(Clone, Copy)]
struct ModelsState {
    worker: StoredValue<Option<MeshWorker>, LocalStorage>,
    worker_ready: RwSignal<bool>,
    queued: StoredValue<Option<(File, JobOptions)>, LocalStorage>,
    last_file: StoredValue<Option<File>, LocalStorage>,
    has_file: RwSignal<bool>,
    phase: RwSignal<Phase>,
    progress: RwSignal<f32>,
    report: RwSignal<Option<ReportView>>,
    summary: RwSignal<Option<PreviewSummary>>,
    before: RwSignal<Option<ViewGeometry>, LocalStorage>,
    after: RwSignal<Option<ViewGeometry>, LocalStorage>,
    download: RwSignal<Option<Download>>,
    profile: RwSignal<String>,
    deface: RwSignal<String>,
    plane: RwSignal<String>,
    seed: RwSignal<String>,
    output: RwSignal<String>,
    camera: RwSignal<OrbitCamera>,
    /// The last de-identified model and its report, for sealing into the outbox.
    sealable: StoredValue<Option<crate::outbox::Sealable>, LocalStorage>,
    /// What happened to the last "Add to outbox".
    outbox_status: RwSignal<Option<String>>,
}

impl ModelsState {
    fn new() -> Self {
        let defaults = JobOptions::default();
        ModelsState {
            worker: StoredValue::new_local(None),
            worker_ready: RwSignal::new(false),
            queued: StoredValue::new_local(None),
            last_file: StoredValue::new_local(None),
            has_file: RwSignal::new(false),
            phase: RwSignal::new(Phase::Idle),
            progress: RwSignal::new(0.0),
            report: RwSignal::new(None),
            summary: RwSignal::new(None),
            before: RwSignal::new_local(None),
            after: RwSignal::new_local(None),
            download: RwSignal::new(None),
            profile: RwSignal::new(defaults.profile),
            deface: RwSignal::new(defaults.deface),
            plane: RwSignal::new(String::new()),
            seed: RwSignal::new(String::new()),
            output: RwSignal::new(defaults.output),
            camera: RwSignal::new(OrbitCamera::default()),
            sealable: StoredValue::new_local(None),
            outbox_status: RwSignal::new(None),
        }
    }

    /// Start a fresh worker (replacing, and so terminating, any previous one).
    fn start_worker(self) {
        self.worker_ready.set(false);
        let spawned = MeshWorker::spawn(move |event| self.on_worker_event(event));
        match spawned {
            Ok(worker) => self.worker.set_value(Some(worker)),
            Err(message) => {
                self.worker.set_value(None);
                self.phase.set(Phase::Failed {
                    code: "no-worker".into(),
                    message,
                });
            }
        }
    }

    fn on_worker_event(self, event: WorkerEvent) {
        match event {
            WorkerEvent::Ready => {
                self.worker_ready.set(true);
                if let Some((file, options)) = self.queued.try_update_value(Option::take).flatten()
                {
                    self.send(&file, &options);
                }
            }
            WorkerEvent::Progress(p) => {
                if matches!(self.phase.get_untracked(), Phase::Processing(_)) {
                    self.progress.set(p.clamp(0.0, 1.0));
                }
            }
            WorkerEvent::Done(outcome) => self.show(*outcome),
            WorkerEvent::Failed { code, message } => {
                self.phase.set(Phase::Failed { code, message });
            }
            WorkerEvent::Crashed(message) => {
                self.phase.set(Phase::Failed {
                    code: "worker-crashed".into(),
                    message,
                });
                // A crashed worker may hold a broken heap: start over.
                self.start_worker();
            }
        }
    }

    fn send(self, file: &File, options: &JobOptions) {
        let sent = self
            .worker
            .with_value(|w| w.as_ref().map(|w| w.run(file, options)));
        match sent {
            Some(Ok(())) => {}
            Some(Err(message)) => self.phase.set(Phase::Failed {
                code: "no-worker".into(),
                message,
            }),
            None => self.queued.set_value(Some((file.clone(), options.clone()))),
        }
    }

    /// The options as chosen, or a message saying which one is wrong.
    fn options(self) -> Result<JobOptions, String> {
        let seed = self.seed.get_untracked();
        let seed = match seed.trim() {
            "" => None,
            s => Some(s.parse::<u64>().map_err(|_| {
                "The seed must be a whole number from 0 to 18446744073709551615, or empty."
                    .to_string()
            })?),
        };
        let deface = match self.deface.get_untracked().as_str() {
            "plane" => format!("plane:{}", self.plane.get_untracked().trim()),
            other => other.to_string(),
        };
        let options = JobOptions {
            profile: self.profile.get_untracked(),
            deface,
            seed,
            output: self.output.get_untracked(),
        };
        options.to_options().map_err(|e| e.to_string())?;
        Ok(options)
    }

    fn clear_results(self) {
        if let Some(d) = self.download.get_untracked() {
            let _ = web_sys::Url::revoke_object_url(&d.url);
        }
        self.download.set(None);
        self.sealable.set_value(None);
        self.outbox_status.set(None);
        self.report.set(None);
        self.summary.set(None);
        self.before.set(None);
        self.after.set(None);
    }

    /// De-identify `file` with the chosen options.
    fn process(self, file: File) {
        self.last_file.set_value(Some(file.clone()));
        self.has_file.set(true);
        let options = match self.options() {
            Ok(o) => o,
            Err(message) => {
                self.phase.set(Phase::Failed {
                    code: "bad-option".into(),
                    message,
                });
                return;
            }
        };
        self.clear_results();
        self.progress.set(0.0);
        self.phase.set(Phase::Processing(file.name()));
        if self.worker_ready.get_untracked() {
            self.send(&file, &options);
        } else {
            self.queued.set_value(Some((file, options)));
        }
    }

    fn cancel(self) {
        // A worker deep in the pipeline cannot read a message: terminate it and start a new one.
        self.worker.set_value(None);
        self.queued.set_value(None);
        self.progress.set(0.0);
        self.phase.set(Phase::Cancelled);
        self.start_worker();
    }

    fn show(self, outcome: JobOutcome) {
        let report = match serde_json::from_str::<ReportView>(&outcome.report_json) {
            Ok(r) => r,
            Err(e) => {
                self.phase.set(Phase::Failed {
                    code: "bad-report".into(),
                    message: format!("the worker's report could not be read: {e}"),
                });
                return;
            }
        };
        let download = blob_url(&outcome.output).map(|url| Download {
            url,
            name: outcome.file_name.clone(),
            bytes: u64::from(outcome.output.length()),
        });
        self.clear_results();
        self.camera.set(OrbitCamera::default());
        self.summary.set(Some(outcome.summary));
        self.before.set(Some(outcome.before));
        self.after.set(Some(outcome.after));
        self.report.set(Some(report));
        self.download.set(download);
        let shareable = serde_json::from_str::<veil_mesh::ShareableReport>(&outcome.shareable_json);
        self.sealable
            .set_value(
                shareable
                    .as_ref()
                    .ok()
                    .map(|report| crate::outbox::Sealable::Model {
                        bytes: outcome.output.to_vec(),
                        report: Box::new(report.clone()),
                    }),
            );
        if let Err(e) = &shareable {
            self.outbox_status.set(Some(format!(
                "This result cannot be sent: its shareable report could not be read ({e})."
            )));
        }
        let record = serde_json::json!({
            "bytes_out": outcome.output.length(),
            "report": shareable.ok(),
        });
        leptos::task::spawn_local(async move {
            let _ = crate::outbox::audit("deidentification", None, record).await;
        });
        self.progress.set(1.0);
        self.phase.set(Phase::Done);
    }
}

/// An object URL for the output (revoked when replaced or when the page closes).
fn blob_url(bytes: &js_sys::Uint8Array) -> Option<String> {
    blob_url_of(bytes, "application/octet-stream")
}

/// An object URL for a text.
fn text_blob_url(text: &str, mime: &str) -> Option<String> {
    blob_url_of(&JsValue::from_str(text), mime)
}

fn blob_url_of(part: &JsValue, mime: &str) -> Option<String> {
    let parts = js_sys::Array::of1(part);
    let options = web_sys::BlobPropertyBag::new();
    options.set_type(mime);
    let blob = web_sys::Blob::new_with_u8_array_sequence_and_options(&parts, &options).ok()?;
    web_sys::Url::create_object_url_with_blob(&blob).ok()
}

/// Models: open a 3D model (STL, OBJ or PLY) and de-identify it in this browser: metadata
/// removed, scanner frame removed, face removed from head models, surface detail masked. A report
/// shows how much the geometry changed before you download or send it.
#[component]
pub fn Models() -> impl IntoView {
    let state = ModelsState::new();
    state.start_worker();
    on_cleanup(move || {
        state.worker.set_value(None);
        if let Some(d) = state.download.try_get_untracked().flatten() {
            let _ = web_sys::Url::revoke_object_url(&d.url);
        }
    });

    let worker_state = move || {
        if state.worker_ready.get() {
            "ready"
        } else {
            "starting"
        }
    };
    view! {
        <section aria-labelledby="models-title" data-testid="page-models" data-worker=worker_state>
            <h1 id="models-title">"Models"</h1>
            <p>"Open a 3D model (STL, OBJ or PLY). It is de-identified in this browser: metadata removed, scanner frame removed, face removed from head models, surface detail masked. A report shows how much the geometry changed before you download or send it."</p>
            <p class="note">"The model is never uploaded: it is read and processed on this device, and nothing is sent while it is processed."</p>
            <ModelInput state/>
            <RunStatus state/>
            <Show when=move || state.phase.with(|p| *p == Phase::Done)>
                <Results state/>
            </Show>
        </section>
    }
}

/// The file chooser, the drop zone and the options.
#[component]
fn ModelInput(state: ModelsState) -> impl IntoView {
    let dragging = RwSignal::new(false);
    let busy = move || state.phase.with(|p| matches!(p, Phase::Processing(_)));
    let on_file = move |ev: leptos::ev::Event| {
        let Some(input) = ev
            .target()
            .and_then(|t| t.dyn_into::<HtmlInputElement>().ok())
        else {
            return;
        };
        if let Some(file) = input.files().and_then(|f| f.get(0)) {
            state.process(file);
        }
        // Choosing the same file again should run again.
        input.set_value("");
    };
    let on_drop = move |ev: web_sys::DragEvent| {
        ev.prevent_default();
        dragging.set(false);
        if busy() {
            return;
        }
        if let Some(file) = ev
            .data_transfer()
            .and_then(|d| d.files())
            .and_then(|f| f.get(0))
        {
            state.process(file);
        }
    };
    let on_drag_over = move |ev: web_sys::DragEvent| {
        // Accepting the drag is what allows the drop.
        ev.prevent_default();
        dragging.set(true);
    };
    let rerun = move |_| {
        if let Some(file) = state.last_file.get_value() {
            state.process(file);
        }
    };
    view! {
        <div class="card model-input">
            <div class="drop-zone" class:dragging=move || dragging.get() data-testid="model-drop"
                on:dragover=on_drag_over on:dragleave=move |_| dragging.set(false) on:drop=on_drop>
                <label for="model-file">"Choose a model file"</label>
                <input id="model-file" type="file" accept=".stl,.obj,.ply,model/stl,model/obj"
                    data-testid="model-file" prop:disabled=busy on:change=on_file/>
                <p class="note">"or drop it here. STL (binary or ASCII), OBJ or PLY."</p>
            </div>
            <fieldset class="options" prop:disabled=busy>
                <legend>"Options"</legend>
                <div class="option">
                    <label for="option-profile">"Profile"</label>
                    <select id="option-profile" data-testid="option-profile"
                        on:change=move |ev| state.profile.set(event_target_value(&ev))
                        prop:value=move || state.profile.get()>
                        <option value="strict">"Strict: safe to share (default)"</option>
                        <option value="research">"Research: lighter masking"</option>
                        <option value="print">"Print: exact surface for 3D printing"</option>
                    </select>
                </div>
                <div class="option">
                    <label for="option-deface">"Face removal"</label>
                    <select id="option-deface" data-testid="option-deface"
                        on:change=move |ev| state.deface.set(event_target_value(&ev))
                        prop:value=move || state.deface.get()>
                        <option value="auto">"Automatic: remove the face of head models"</option>
                        <option value="off">"Off"</option>
                        <option value="plane">"Cut along a plane I give"</option>
                    </select>
                </div>
                <Show when=move || state.deface.with(|d| d == "plane")>
                    <div class="option">
                        <label for="option-plane">"Plane: point and normal (mm, in the file's coordinates)"</label>
                        <input id="option-plane" type="text" data-testid="option-plane"
                            placeholder="PX,PY,PZ,NX,NY,NZ" aria-describedby="option-plane-help"
                            prop:value=move || state.plane.get()
                            on:input=move |ev| state.plane.set(event_target_value(&ev))/>
                        <p id="option-plane-help" class="note">"Everything on the side the normal points to is removed."</p>
                    </div>
                </Show>
                <div class="option">
                    <label for="option-seed">"Seed (optional)"</label>
                    <input id="option-seed" type="text" inputmode="numeric" data-testid="option-seed"
                        aria-describedby="option-seed-help"
                        prop:value=move || state.seed.get()
                        on:input=move |ev| state.seed.set(event_target_value(&ev))/>
                    <p id="option-seed-help" class="note">"Leave empty for fresh randomness. A seed makes the run reproducible, and makes two releases of one model linkable: use it only for testing."</p>
                </div>
                <div class="option">
                    <label for="option-output">"Output format"</label>
                    <select id="option-output" data-testid="option-output"
                        on:change=move |ev| state.output.set(event_target_value(&ev))
                        prop:value=move || state.output.get()>
                        <option value="stl">"STL (binary)"</option>
                        <option value="ply">"PLY (binary)"</option>
                    </select>
                </div>
            </fieldset>
            <button type="button" data-testid="model-rerun"
                prop:disabled=move || busy() || !state.has_file.get() on:click=rerun>
                "Process again with these options"
            </button>
        </div>
    }
}

/// Progress, cancel, and the outcome of the last run.
#[component]
fn RunStatus(state: ModelsState) -> impl IntoView {
    let percent = move || format!("{:.0} %", state.progress.get() * 100.0);
    view! {
        <div class="run-status" role="status" aria-live="polite" data-testid="model-status"
            data-phase=move || match state.phase.get() {
                Phase::Idle => "idle",
                Phase::Processing(_) => "processing",
                Phase::Done => "done",
                Phase::Cancelled => "cancelled",
                Phase::Failed { .. } => "failed",
            }>
            {move || match state.phase.get() {
                Phase::Idle => view! { <p>"No model chosen yet."</p> }.into_any(),
                Phase::Processing(name) => view! {
                    <div class="processing">
                        <label for="model-progress">{format!("De-identifying {name}…")}</label>
                        <progress id="model-progress" max="1" data-testid="model-progress"
                            value=move || format!("{:.3}", state.progress.get())>
                            {percent}
                        </progress>
                        <span class="percent" aria-hidden="true">{percent}</span>
                        <button type="button" data-testid="model-cancel" on:click=move |_| state.cancel()>
                            "Cancel"
                        </button>
                    </div>
                }.into_any(),
                Phase::Done => view! { <p>"Done: review the report and the preview, then download."</p> }.into_any(),
                Phase::Cancelled => view! {
                    <p data-testid="model-cancelled">"Cancelled. Nothing was kept."</p>
                }.into_any(),
                Phase::Failed { code, message } => {
                    let code_attr = code.clone();
                    view! {
                    <p class="error" role="alert" data-testid="model-error" data-code=code_attr>
                        <span class="badge rejected">{code}</span>" "{message}
                    </p>
                }.into_any()
                }
            }}
        </div>
    }
}

/// Seal the de-identified model (with its report) for a purpose the person has consented to, and
/// queue it in the outbox. The outbox refuses purposes the consent decision does not allow.
#[component]
fn AddToOutbox(state: ModelsState) -> impl IntoView {
    let purposes = [
        veil_consent::PurposeScope::plain(veil_consent::Purpose::Treatment),
        veil_consent::PurposeScope::plain(veil_consent::Purpose::ThirdPartyPrinting),
        veil_consent::PurposeScope::research(veil_consent::ResearchTier::ThisStudy),
    ];
    let labels: Vec<String> = purposes.iter().map(|p| p.label()).collect();
    let chosen = RwSignal::new(0usize);
    let busy = RwSignal::new(false);
    let add = move |_| {
        let Some(content) = state.sealable.get_value() else {
            return;
        };
        let Some(scope) = purposes.get(chosen.get_untracked()).cloned() else {
            return;
        };
        busy.set(true);
        leptos::task::spawn_local(async move {
            let status = match crate::outbox::seal_and_queue(content, scope).await {
                Ok(item) => format!("Sealed and queued ({}…). See the Outbox.", &item.id[..12]),
                Err(e) => e,
            };
            state.outbox_status.set(Some(status));
            busy.set(false);
        });
    };
    view! {
        <p>
            <label for="model-outbox-purpose">"Send for"</label>
            <select id="model-outbox-purpose" data-testid="model-outbox-purpose"
                on:change=move |ev| chosen.set(event_target_value(&ev).parse().unwrap_or(0))>
                {labels.into_iter().enumerate().map(|(i, l)| view! { <option value=i.to_string()>{l}</option> }).collect_view()}
            </select>
            " "
            <button type="button" data-testid="model-add-outbox" disabled=move || busy.get() on:click=add>
                "Add to outbox"
            </button>
            {move || state.outbox_status.get().map(|s| view! { <span class="note" role="status" data-testid="model-outbox-status">" "{s}</span> })}
        </p>
    }
}

/// Preview, report, download and outbox of a finished run.
#[component]
fn Results(state: ModelsState) -> impl IntoView {
    let frame = Signal::derive(move || {
        state
            .summary
            .get()
            .map(|s| Frame {
                centre: s.centre,
                radius: s.radius,
            })
            .unwrap_or_default()
    });
    let before: Signal<Option<ViewGeometry>, LocalStorage> = state.before.into();
    let after: Signal<Option<ViewGeometry>, LocalStorage> = state.after.into();
    view! {
        <div class="card">
            <h2>"Result"</h2>
            {move || state.download.get().map(|d| view! {
                <p>
                    <a class="button primary" href=d.url.clone() download=d.name.clone()
                        data-testid="model-download">{format!("Download {}", d.name)}</a>
                    " "<span class="note">{format_bytes(d.bytes)}</span>
                </p>
            })}
            <AddToOutbox state/>
        </div>
        <div class="card">
            <h2>"Before and after"</h2>
            <p id="viewer-help" class="note">"Drag to turn, use the wheel to zoom. With the keyboard: focus a view, then arrow keys turn, + and − zoom, 0 resets. Both views move together."</p>
            <div class="viewers">
                <ModelViewer label="Before: the original surface, removed region in magenta"
                    testid="preview-before" geometry=before frame camera=state.camera/>
                <ModelViewer label="After: the de-identified surface, coloured by deviation"
                    testid="preview-after" geometry=after frame camera=state.camera/>
            </div>
            {move || state.summary.get().map(|s| view! { <Legend summary=s state/> })}
        </div>
        {move || state.report.get().map(|r| view! { <ReportTables report=r/> })}
    }
}

/// Colour keys and what the preview shows.
#[component]
fn Legend(summary: PreviewSummary, state: ModelsState) -> impl IntoView {
    let thinned = move || {
        let note = |g: &Option<ViewGeometry>| {
            g.as_ref().and_then(|g| {
                let shown = f64::from(g.indices.length() / 3);
                (shown < g.total_triangles)
                    .then(|| format!("{shown} of {} triangles shown", g.total_triangles))
            })
        };
        state.after.with(note)
    };
    view! {
        <dl class="legend" data-testid="preview-legend">
            <div>
                <dt><span class="swatch surface"></span>"Original surface"</dt>
                <dd>"kept"</dd>
            </div>
            <div>
                <dt><span class="swatch removed"></span>"Removed region"</dt>
                <dd data-testid="preview-removed">{format!("{} vertices", summary.removed_vertices)}</dd>
            </div>
            <div>
                <dt><span class="swatch cut"></span>"Cut surface (cap)"</dt>
                <dd>{format!("{} vertices", summary.cut_vertices)}</dd>
            </div>
            <div>
                <dt>
                    <span class="swatch ramp"></span>
                    "Deviation from the original"
                </dt>
                <dd data-testid="preview-deviation">
                    {format!("0 to {} (largest shown: {})", format_mm(f64::from(summary.scale_mm)), format_mm(f64::from(summary.max_mm)))}
                </dd>
            </div>
            {move || thinned().map(|t| view! { <p class="note">{t}" (display only; the file keeps every triangle)"</p> })}
        </dl>
    }
}

/// The utility report as tables: flags, summary, metadata removed, steps, face removal, geometry.
#[component]
fn ReportTables(report: ReportView) -> impl IntoView {
    let kv = |rows: Vec<(String, String)>| {
        rows.into_iter()
            .map(|(k, v)| view! { <tr><th scope="row">{k}</th><td>{v}</td></tr> })
            .collect_view()
    };
    let flags = report.flags;
    let channels = report.metadata;
    let caption = format!(
        "Metadata removed: {} channel(s), {}",
        channels.len(),
        format_bytes(report.metadata_bytes)
    );
    let json_url = StoredValue::new(text_blob_url(&report.json, "application/json"));
    on_cleanup(move || {
        if let Some(Some(url)) = json_url.try_get_value() {
            let _ = web_sys::Url::revoke_object_url(&url);
        }
    });
    view! {
        <div class="card report" data-testid="model-report">
            <h2>"Report"</h2>
            <h3 id="report-flags-title">"Attention"</h3>
            {if flags.is_empty() {
                view! { <p data-testid="report-flags" data-count="0">"Nothing over the profile's bounds."</p> }.into_any()
            } else {
                let count = flags.len().to_string();
                view! {
                    <ul data-testid="report-flags" data-count=count aria-labelledby="report-flags-title">
                        {flags.into_iter().map(|f| {
                            let code = f.code.clone();
                            view! {
                                <li data-code=code><span class="badge unverified">{f.code}</span>" "{f.message}</li>
                            }
                        }).collect_view()}
                    </ul>
                }.into_any()
            }}
            <table data-testid="report-summary">
                <caption>"Summary"</caption>
                <tbody>{kv(report.summary)}</tbody>
            </table>
            <table data-testid="report-metadata">
                <caption>{caption}</caption>
                <thead><tr><th scope="col">"Channel"</th><th scope="col">"Detail"</th><th scope="col">"Occurrences"</th><th scope="col">"Bytes"</th></tr></thead>
                <tbody>
                    {if channels.is_empty() {
                        view! { <tr><td colspan="4">"The file carried nothing but geometry."</td></tr> }.into_any()
                    } else {
                        channels.into_iter().map(|c| {
                            let channel = c.channel.clone();
                            view! {
                                <tr data-testid="metadata-row" data-channel=channel>
                                    <td>{c.label}<br/><code>{c.channel}</code></td>
                                    <td>{c.detail}</td>
                                    <td>{c.count}</td>
                                    <td>{c.bytes}</td>
                                </tr>
                            }
                        }).collect_view().into_any()
                    }}
                </tbody>
            </table>
            <p class="note">"Values are never shown or kept: only which channels existed and how large they were. The output carries a fixed neutral header."</p>
            <table data-testid="report-steps">
                <caption>"Steps"</caption>
                <thead><tr><th scope="col">"Step"</th><th scope="col">"Applied"</th><th scope="col">"What it did"</th></tr></thead>
                <tbody>
                    {report.steps.into_iter().map(|s| {
                        let (step, applied) = (s.step.clone(), s.applied.to_string());
                        view! {
                            <tr data-step=step data-applied=applied>
                                <th scope="row">{s.label}</th>
                                <td>{if s.applied { "yes" } else { "no" }}</td>
                                <td>{s.note}</td>
                            </tr>
                        }
                    }).collect_view()}
                </tbody>
            </table>
            <table data-testid="report-deface" data-outcome=report.deface_outcome>
                <caption>"Face removal"</caption>
                <tbody>{kv(report.deface)}</tbody>
            </table>
            <table data-testid="report-utility">
                <caption>"Geometry: how much the model changed"</caption>
                <tbody>{kv(report.utility)}</tbody>
            </table>
            <p class="note">"Hausdorff distances compare the output with the original outside the removed region, in millimetres."</p>
            {json_url.get_value().map(|url| view! {
                <p><a class="button" href=url download="deidentification-report.json" data-testid="model-report-json">
                    "Download the report (JSON)"
                </a></p>
            })}
        </div>
    }
}
