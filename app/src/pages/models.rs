//! The Models page: open or drop a 3D model (STL, OBJ, PLY), de-identify it in a Web Worker with
//! `veil-mesh`, compare before and after in 3D, read the utility report, download the result.
//!
//! The model never leaves the browser: the page hands the chosen `File` to the worker, which reads
//! it, runs the pipeline and returns the output bytes, the report and the preview buffers. The page
//! thread only uploads buffers and updates the DOM, so it stays responsive however large the
//! model; cancelling terminates the worker outright.
//!
//! Where a run is lives in one value, [`ModelsState`], in one signal: idle, reading, running (with
//! its progress), done (with everything the results show), cancelled, or failed (with its
//! [`AppError`]). The view matches on it, so no two parts of the page can disagree about the run,
//! and leaving a finished run drops its results at once. The options are `veil-mesh`'s own types
//! ([`Profile`], [`DefaceMode`], [`OutputFormat`]), read from the form when a run starts.

use leptos::prelude::*;
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use veil_mesh::{DefaceMode, MeshError, OutputFormat, Profile};
use wasm_bindgen::{JsCast, JsValue};
use web_sys::{File, HtmlInputElement};

use crate::components::ErrorText;
use crate::error::AppError;
use crate::mesh_job::JobOptions;
use crate::outbox::Sealable;
use crate::platform::worker::{JobOutcome, MeshWorker, PreviewSummary, WorkerEvent};
use crate::preview::camera::OrbitCamera;
use crate::preview::viewer::{self, ModelViewer};
use crate::preview::{Frame, ViewGeometry};
use crate::report_view::{ReportView, format_bytes, format_mm};

/// A chosen file and the options it runs with.
#[derive(Debug, Clone)]
struct Job {
    file: File,
    options: JobOptions,
}

/// Where the page is in a run.
#[derive(Debug)]
enum ModelsState {
    /// No run yet.
    Idle,
    /// The file named `name` is on its way: waiting for the worker to load (`queued` holds the
    /// job until it is ready), or being read by it.
    Reading { name: String, queued: Option<Job> },
    /// The worker is de-identifying the file; `progress` rises from 0 to 1.
    Running { name: String, progress: f32 },
    /// A run finished; its results are shown.
    Done { run: Box<FinishedRun> },
    /// The person cancelled; nothing was kept.
    Cancelled,
    /// The run failed, or could not start.
    Failed { error: AppError },
}

/// What the status line shows of a [`ModelsState`] (its `data-phase`). Reading and running look
/// alike; the view is rebuilt when this changes, not at every progress report.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Phase {
    Idle,
    Processing,
    Done,
    Cancelled,
    Failed,
}

impl Phase {
    fn attr(self) -> &'static str {
        match self {
            Phase::Idle => "idle",
            Phase::Processing => "processing",
            Phase::Done => "done",
            Phase::Cancelled => "cancelled",
            Phase::Failed => "failed",
        }
    }
}

impl ModelsState {
    fn phase(&self) -> Phase {
        match self {
            ModelsState::Idle => Phase::Idle,
            ModelsState::Reading { .. } | ModelsState::Running { .. } => Phase::Processing,
            ModelsState::Done { .. } => Phase::Done,
            ModelsState::Cancelled => Phase::Cancelled,
            ModelsState::Failed { .. } => Phase::Failed,
        }
    }

    /// The name of the file being processed.
    fn file_name(&self) -> Option<&str> {
        match self {
            ModelsState::Reading { name, .. } | ModelsState::Running { name, .. } => Some(name),
            _ => None,
        }
    }

    /// The progress of the run (0 until the worker has read the file).
    fn progress(&self) -> f32 {
        match self {
            ModelsState::Running { progress, .. } => *progress,
            ModelsState::Done { .. } => 1.0,
            _ => 0.0,
        }
    }

    fn finished(&self) -> Option<&FinishedRun> {
        match self {
            ModelsState::Done { run } => Some(run),
            _ => None,
        }
    }

    fn error(&self) -> Option<&AppError> {
        match self {
            ModelsState::Failed { error } => Some(error),
            _ => None,
        }
    }
}

/// Everything a finished run shows.
#[derive(Debug)]
struct FinishedRun {
    report: ReportView,
    summary: PreviewSummary,
    /// The input in the output frame, removed region highlighted.
    before: ViewGeometry,
    /// The output coloured by deviation.
    after: ViewGeometry,
    download: Download,
    /// The model and its shareable report, for the outbox; or why it cannot be sent.
    sealable: Result<OutboxModel, AppError>,
}

/// A finished run as the outbox may seal it. The bytes stay in the array the worker sent until a
/// seal copies them, so showing a result never copies the model on the page's thread.
#[derive(Debug, Clone)]
struct OutboxModel {
    output: js_sys::Uint8Array,
    report: veil_mesh::ShareableReport,
}

impl OutboxModel {
    fn sealable(self) -> Sealable {
        Sealable::Model {
            bytes: self.output.to_vec(),
            report: Box::new(self.report),
        }
    }
}

/// A finished run's download: the bytes become a file (a `Blob`) only when it is asked for.
#[derive(Debug, Clone)]
struct Download {
    data: js_sys::Uint8Array,
    name: String,
    bytes: u64,
}

/// The face-removal choice of the form. A plane is read from its own field when a run starts,
/// since [`DefaceMode::Plane`] holds it parsed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
enum DefaceChoice {
    #[default]
    Auto,
    Off,
    Plane,
}

/// A choice's `<option>` value: its word as `veil-mesh` serialises it (`strict`, `ply`), the one
/// the CLI takes too.
fn word<T: Serialize>(choice: &T) -> String {
    serde_json::to_value(choice)
        .ok()
        .and_then(|v| v.as_str().map(str::to_owned))
        .unwrap_or_default()
}

/// The choice an `<option>` value names; `None` for a value that names none.
fn from_word<T: DeserializeOwned>(word: &str) -> Option<T> {
    serde_json::from_value(serde_json::Value::String(word.to_owned())).ok()
}

/// A select's change handler: `signal` takes the choice the selected option names (a value that
/// names none is ignored).
fn on_choice<T>(signal: RwSignal<T>) -> impl Fn(leptos::ev::Event) + 'static
where
    T: DeserializeOwned + Send + Sync + 'static,
{
    move |ev| {
        if let Some(choice) = from_word(&event_target_value(&ev)) {
            signal.set(choice);
        }
    }
}

/// The page's handles; all `Copy`, so handlers capture them freely.
#[derive(Clone, Copy)]
struct ModelsPage {
    /// The run.
    state: RwSignal<ModelsState, LocalStorage>,
    /// `state`'s phase, for the parts of the view that change only with it.
    phase: Memo<Phase>,
    worker: StoredValue<Option<MeshWorker>, LocalStorage>,
    worker_ready: RwSignal<bool>,
    /// The last file chosen, for "Process again".
    last_file: RwSignal<Option<File>, LocalStorage>,
    profile: RwSignal<Profile>,
    deface: RwSignal<DefaceChoice>,
    /// The plane as typed: `PX,PY,PZ,NX,NY,NZ`.
    plane: RwSignal<String>,
    /// The seed as typed; empty for fresh randomness.
    seed: RwSignal<String>,
    output: RwSignal<OutputFormat>,
    camera: RwSignal<OrbitCamera>,
}

impl ModelsPage {
    fn new() -> Self {
        let defaults = JobOptions::default();
        let state = RwSignal::new_local(ModelsState::Idle);
        ModelsPage {
            state,
            phase: Memo::new(move |_| state.with(ModelsState::phase)),
            worker: StoredValue::new_local(None),
            worker_ready: RwSignal::new(false),
            last_file: RwSignal::new_local(None),
            profile: RwSignal::new(defaults.profile),
            deface: RwSignal::new(DefaceChoice::default()),
            plane: RwSignal::new(String::new()),
            seed: RwSignal::new(String::new()),
            output: RwSignal::new(defaults.output),
            camera: RwSignal::new(OrbitCamera::default()),
        }
    }

    fn busy(self) -> bool {
        self.phase.get() == Phase::Processing
    }

    /// `f` of the finished run, if there is one (untracked: the results are built once per run).
    fn with_finished<T>(self, f: impl FnOnce(&FinishedRun) -> T) -> Option<T> {
        self.state.with_untracked(|s| s.finished().map(f))
    }

    /// Start a fresh worker (replacing, and so terminating, any previous one).
    fn start_worker(self) {
        self.worker_ready.set(false);
        match MeshWorker::spawn(move |event| self.on_worker_event(event)) {
            Ok(worker) => self.worker.set_value(Some(worker)),
            Err(error) => {
                self.worker.set_value(None);
                self.state.set(ModelsState::Failed { error });
            }
        }
    }

    fn on_worker_event(self, event: WorkerEvent) {
        match event {
            WorkerEvent::Ready => {
                self.worker_ready.set(true);
                // Handing the queued job over changes nothing on screen.
                let queued = self.state.try_update_untracked(|s| match s {
                    ModelsState::Reading { queued, .. } => queued.take(),
                    _ => None,
                });
                if let Some(job) = queued.flatten() {
                    self.send(job);
                }
            }
            WorkerEvent::Progress(p) => {
                let p = p.clamp(0.0, 1.0);
                self.state.update(|s| match s {
                    ModelsState::Reading { name, .. } => {
                        let name = std::mem::take(name);
                        *s = ModelsState::Running { name, progress: p };
                    }
                    ModelsState::Running { progress, .. } => *progress = p,
                    _ => {}
                });
            }
            WorkerEvent::Done(outcome) => self.show(*outcome),
            WorkerEvent::Failed(error) => self.state.set(ModelsState::Failed { error }),
            WorkerEvent::Crashed(error) => {
                self.state.set(ModelsState::Failed { error });
                // A crashed worker may hold a broken heap: start over.
                self.start_worker();
            }
        }
    }

    /// Hand `job` to the worker, or queue it until the worker has loaded.
    fn send(self, job: Job) {
        let sent = self.worker.with_value(|w| {
            w.as_ref()
                .map(|w| w.run(&job.file, &job.options, viewer::preview_triangles()))
        });
        match sent {
            Some(Ok(())) => {}
            Some(Err(error)) => self.state.set(ModelsState::Failed { error }),
            None => self.state.update_untracked(|s| {
                if let ModelsState::Reading { queued, .. } = s {
                    *queued = Some(job);
                }
            }),
        }
    }

    /// The options as chosen, or a `bad-option` error saying which one is wrong.
    fn options(self) -> Result<JobOptions, AppError> {
        let seed = match self.seed.get_untracked().trim() {
            "" => None,
            s => Some(s.parse::<u64>().map_err(|_| {
                MeshError::BadOption(
                    "the seed must be a whole number from 0 to 18446744073709551615, or empty"
                        .into(),
                )
            })?),
        };
        let deface = match self.deface.get_untracked() {
            DefaceChoice::Auto => DefaceMode::Auto,
            DefaceChoice::Off => DefaceMode::Off,
            DefaceChoice::Plane => {
                DefaceMode::parse(&format!("plane:{}", self.plane.get_untracked().trim()))?
            }
        };
        Ok(JobOptions {
            profile: self.profile.get_untracked(),
            deface,
            seed,
            output: self.output.get_untracked(),
        })
    }

    /// De-identify `file` with the chosen options.
    fn process(self, file: File) {
        self.last_file.set(Some(file.clone()));
        let options = match self.options() {
            Ok(o) => o,
            Err(error) => {
                self.state.set(ModelsState::Failed { error });
                return;
            }
        };
        let name = file.name();
        let job = Job { file, options };
        if self.worker_ready.get_untracked() {
            self.state.set(ModelsState::Reading { name, queued: None });
            self.send(job);
        } else {
            self.state.set(ModelsState::Reading {
                name,
                queued: Some(job),
            });
        }
    }

    fn cancel(self) {
        // A worker deep in the pipeline cannot read a message: terminate it and start a new one.
        self.worker.set_value(None);
        self.state.set(ModelsState::Cancelled);
        self.start_worker();
    }

    fn show(self, outcome: JobOutcome) {
        let report = match serde_json::from_str::<ReportView>(&outcome.report_json) {
            Ok(r) => r,
            Err(e) => {
                self.state.set(ModelsState::Failed {
                    error: AppError::worker(format!("the worker's report could not be read: {e}")),
                });
                return;
            }
        };
        let bytes_out = u64::from(outcome.output.length());
        let download = Download {
            data: outcome.output.clone(),
            name: outcome.file_name.clone(),
            bytes: bytes_out,
        };
        let shareable = serde_json::from_str::<veil_mesh::ShareableReport>(&outcome.shareable_json);
        let record = serde_json::json!({
            "bytes_out": bytes_out,
            "report": shareable.as_ref().ok(),
        });
        crate::outbox::audit_later(veil_audit::AuditEvent::Deidentification, record);
        let sealable = shareable
            .map(|report| OutboxModel {
                output: outcome.output,
                report,
            })
            .map_err(|e| {
                AppError::worker(format!(
                    "This result cannot be sent: its shareable report could not be read ({e})."
                ))
            });
        self.camera.set(OrbitCamera::default());
        self.state.set(ModelsState::Done {
            run: Box::new(FinishedRun {
                report,
                summary: outcome.summary,
                before: outcome.before,
                after: outcome.after,
                download,
                sealable,
            }),
        });
    }
}

/// Models: open a 3D model (STL, OBJ or PLY) and de-identify it in this browser: metadata
/// removed, scanner frame removed, face removed from head models, surface detail masked. A report
/// shows how much the geometry changed before you download or send it.
#[component]
pub fn Models() -> impl IntoView {
    let page = ModelsPage::new();
    page.start_worker();
    on_cleanup(move || {
        page.worker.set_value(None);
        // The finished run's arrays go with it.
        page.state.try_update_untracked(|s| *s = ModelsState::Idle);
    });

    let worker_state = move || {
        if page.worker_ready.get() {
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
            <ModelInput page/>
            <RunStatus page/>
            <Show when=move || page.phase.get() == Phase::Done>
                <Results page/>
            </Show>
        </section>
    }
}

/// The file chooser, the drop zone and the options.
#[component]
fn ModelInput(page: ModelsPage) -> impl IntoView {
    let dragging = RwSignal::new(false);
    let busy = move || page.busy();
    let on_file = move |ev: leptos::ev::Event| {
        let Some(input) = ev
            .target()
            .and_then(|t| t.dyn_into::<HtmlInputElement>().ok())
        else {
            return;
        };
        if let Some(file) = input.files().and_then(|f| f.get(0)) {
            page.process(file);
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
            page.process(file);
        }
    };
    let on_drag_over = move |ev: web_sys::DragEvent| {
        // Accepting the drag is what allows the drop.
        ev.prevent_default();
        dragging.set(true);
    };
    let rerun = move |_| {
        if let Some(file) = page.last_file.get_untracked() {
            page.process(file);
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
                        on:change=on_choice(page.profile)
                        prop:value=move || word(&page.profile.get())>
                        <option value="strict">"Strict: safe to share (default)"</option>
                        <option value="research">"Research: lighter masking"</option>
                        <option value="print">"Print: exact surface for 3D printing"</option>
                    </select>
                </div>
                <div class="option">
                    <label for="option-deface">"Face removal"</label>
                    <select id="option-deface" data-testid="option-deface"
                        on:change=on_choice(page.deface)
                        prop:value=move || word(&page.deface.get())>
                        <option value="auto">"Automatic: remove the face of head models"</option>
                        <option value="off">"Off"</option>
                        <option value="plane">"Cut along a plane I give"</option>
                    </select>
                </div>
                <Show when=move || page.deface.get() == DefaceChoice::Plane>
                    <div class="option">
                        <label for="option-plane">"Plane: point and normal (mm, in the file's coordinates)"</label>
                        <input id="option-plane" type="text" data-testid="option-plane"
                            placeholder="PX,PY,PZ,NX,NY,NZ" aria-describedby="option-plane-help"
                            prop:value=move || page.plane.get()
                            on:input=move |ev| page.plane.set(event_target_value(&ev))/>
                        <p id="option-plane-help" class="note">"Everything on the side the normal points to is removed."</p>
                    </div>
                </Show>
                <div class="option">
                    <label for="option-seed">"Seed (optional)"</label>
                    <input id="option-seed" type="text" inputmode="numeric" data-testid="option-seed"
                        aria-describedby="option-seed-help"
                        prop:value=move || page.seed.get()
                        on:input=move |ev| page.seed.set(event_target_value(&ev))/>
                    <p id="option-seed-help" class="note">"Leave empty for fresh randomness. A seed makes the run reproducible, and makes two releases of one model linkable: use it only for testing."</p>
                </div>
                <div class="option">
                    <label for="option-output">"Output format"</label>
                    <select id="option-output" data-testid="option-output"
                        on:change=on_choice(page.output)
                        prop:value=move || word(&page.output.get())>
                        <option value="stl">"STL (binary)"</option>
                        <option value="ply">"PLY (binary)"</option>
                    </select>
                </div>
            </fieldset>
            <button type="button" data-testid="model-rerun"
                prop:disabled=move || busy() || page.last_file.with(Option::is_none) on:click=rerun>
                "Process again with these options"
            </button>
        </div>
    }
}

/// Progress, cancel, and the outcome of the last run.
#[component]
fn RunStatus(page: ModelsPage) -> impl IntoView {
    let progress = move || page.state.with(ModelsState::progress);
    let percent = move || format!("{:.0} %", progress() * 100.0);
    view! {
        <div class="run-status" role="status" aria-live="polite" data-testid="model-status"
            data-phase=move || page.phase.get().attr()>
            {move || match page.phase.get() {
                Phase::Idle => view! { <p>"No model chosen yet."</p> }.into_any(),
                Phase::Processing => {
                    let name = move || {
                        page.state.with(|s| s.file_name().unwrap_or_default().to_owned())
                    };
                    view! {
                    <div class="processing">
                        <label for="model-progress">{move || format!("De-identifying {}…", name())}</label>
                        <progress id="model-progress" max="1" data-testid="model-progress"
                            value=move || format!("{:.3}", progress())>
                            {percent}
                        </progress>
                        <span class="percent" aria-hidden="true">{percent}</span>
                        <button type="button" data-testid="model-cancel" on:click=move |_| page.cancel()>
                            "Cancel"
                        </button>
                    </div>
                }.into_any()
                }
                Phase::Done => view! { <p>"Done: review the report and the preview, then download."</p> }.into_any(),
                Phase::Cancelled => view! {
                    <p data-testid="model-cancelled">"Cancelled. Nothing was kept."</p>
                }.into_any(),
                // A failure can follow a failure: the message follows the state, not the phase.
                Phase::Failed => (move || {
                    page.state.with(|s| s.error().cloned()).map(|error| {
                        let code = error.code;
                        view! {
                            <p class="error" role="alert" data-testid="model-error" data-code=code>
                                <ErrorText error/>
                            </p>
                        }
                    })
                }).into_any(),
            }}
        </div>
    }
}

/// Seal the de-identified model (with its report) for a purpose the person has consented to, and
/// queue it in the outbox. The outbox refuses purposes the consent decision does not allow.
#[component]
fn AddToOutbox(page: ModelsPage) -> impl IntoView {
    use veil_consent::{Purpose, PurposeScope};
    // This clinic's uses, then partner sharing with and transfer to each recipient set up in
    // Settings: sealed to that recipient's key, delivered where it receives.
    let mut purposes: Vec<(PurposeScope, Option<crate::recipients::Recipient>)> = vec![
        (PurposeScope::plain(Purpose::Treatment), None),
        (PurposeScope::plain(Purpose::ThirdPartyPrinting), None),
        (
            PurposeScope::research(veil_consent::ResearchTier::ThisStudy),
            None,
        ),
    ];
    for r in crate::recipients::all() {
        purposes.push((
            PurposeScope {
                partner: Some(r.name.clone()),
                ..PurposeScope::plain(Purpose::PartnerSharing)
            },
            Some(r.clone()),
        ));
        purposes.push((
            PurposeScope {
                country: Some(r.country.clone()),
                ..PurposeScope::plain(Purpose::CrossBorderTransfer)
            },
            Some(r),
        ));
    }
    let labels: Vec<String> = purposes
        .iter()
        .map(|(p, r)| match (r, &p.country) {
            (Some(r), Some(_)) => format!("{} to {}", p.label(), r.name),
            _ => p.label(),
        })
        .collect();
    let chosen = RwSignal::new(0usize);
    let busy = RwSignal::new(false);
    // What happened to the last "Add to outbox"; at first, why this result cannot be sent, if so.
    let status = RwSignal::new(
        page.with_finished(|r| r.sealable.as_ref().err().cloned())
            .flatten()
            .map(Err::<String, AppError>),
    );
    let add = move |_| {
        let Some(model) = page
            .with_finished(|r| r.sealable.as_ref().ok().cloned())
            .flatten()
        else {
            return;
        };
        let Some((scope, to)) = purposes.get(chosen.get_untracked()).cloned() else {
            return;
        };
        busy.set(true);
        leptos::task::spawn_local(async move {
            let sealed = crate::outbox::seal_for(model.sealable(), scope, to).await;
            let shown = sealed.map(|sealed| match sealed {
                crate::outbox::Sealed::Queued(item) => format!(
                    "Sealed and queued ({}…). See the Outbox.",
                    item.id.get(..12).unwrap_or(&item.id)
                ),
                crate::outbox::Sealed::HandedOver {
                    file,
                    recipient,
                    server,
                    ..
                } => format!(
                    "Sealed for {recipient}, to its key only: {file} was offered as a download. Hand it over to {recipient}{}.",
                    server
                        .map(|s| format!(" (it receives at {s})"))
                        .unwrap_or_default()
                ),
            });
            status.set(Some(shown));
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
            {move || status.get().map(|s| match s {
                Ok(text) => view! {
                    <span class="note" role="status" data-testid="model-outbox-status">" "{text}</span>
                }.into_any(),
                Err(error) => {
                    let code = error.code;
                    view! {
                        <span class="note" role="status" data-testid="model-outbox-status" data-code=code>
                            " "<ErrorText error/>
                        </span>
                    }.into_any()
                }
            })}
        </p>
    }
}

/// Preview, report, download and outbox of a finished run (built once per run: a new run leaves
/// the done phase first).
#[component]
fn Results(page: ModelsPage) -> impl IntoView {
    let frame = page
        .with_finished(|r| Frame {
            centre: r.summary.centre,
            radius: r.summary.radius,
        })
        .unwrap_or_default();
    let before = page.with_finished(|r| r.before.clone());
    let after = page.with_finished(|r| r.after.clone());
    let thinned = after.as_ref().and_then(|g| {
        let shown = f64::from(g.indices.length() / 3);
        (shown < g.total_triangles)
            .then(|| format!("{shown} of {} triangles shown", g.total_triangles))
    });
    let download = page.with_finished(|r| r.download.clone());
    let summary = page.with_finished(|r| r.summary);
    let report = page.with_finished(|r| r.report.clone());
    view! {
        <div class="card">
            <h2>"Result"</h2>
            {download.map(|Download { data, name, bytes }| {
                let label = format!("Download {name}");
                let file_name = name.clone();
                // The file is made on the first press and kept for the run (revoked with it), so
                // pressing again does not copy the model again.
                let url = crate::platform::download::kept_url(None);
                let failed = RwSignal::new(false);
                let press = move |_| {
                    let href = url.get_value().or_else(|| {
                        let made = crate::platform::download::object_url(&data, "application/octet-stream");
                        url.set_value(made.clone());
                        made
                    });
                    failed.set(href.is_none());
                    if let Some(href) = href {
                        crate::platform::download::follow(&href, &name);
                    }
                };
                view! {
                    <p>
                        <button type="button" class="button primary" data-testid="model-download"
                            data-file-name=file_name on:click=press>
                            {label}
                        </button>
                        " "<span class="note">{format_bytes(bytes)}</span>
                        <Show when=move || failed.get()>
                            " "<span class="note" role="status" data-testid="model-download-failed">
                                "The browser could not make the file (it may be short of memory): close other tabs and try again."
                            </span>
                        </Show>
                    </p>
                }
            })}
            <AddToOutbox page/>
        </div>
        <div class="card">
            <h2>"Before and after"</h2>
            <p id="viewer-help" class="note">"Drag to turn, use the wheel to zoom. With the keyboard: focus a view, then arrow keys turn, + and − zoom, 0 resets. Both views move together."</p>
            <div class="viewers">
                <ModelViewer label="Before: the original surface, removed region in magenta"
                    testid="preview-before" geometry=Signal::stored_local(before)
                    frame=Signal::stored(frame) camera=page.camera/>
                <ModelViewer label="After: the de-identified surface, coloured by deviation"
                    testid="preview-after" geometry=Signal::stored_local(after)
                    frame=Signal::stored(frame) camera=page.camera/>
            </div>
            {summary.map(|summary| view! { <Legend summary thinned/> })}
        </div>
        {report.map(|report| view! { <ReportTables report/> })}
    }
}

/// Colour keys and what the preview shows; `thinned` says how much of the output is drawn when
/// not all of it is.
#[component]
fn Legend(summary: PreviewSummary, thinned: Option<String>) -> impl IntoView {
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
            {thinned.map(|t| view! { <p class="note">{t}" (display only; the file keeps every triangle)"</p> })}
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
    let json_url = crate::platform::download::kept_url(crate::platform::download::object_url(
        &JsValue::from_str(&report.json),
        "application/json",
    ));
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
