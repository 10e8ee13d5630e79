//! The mesh worker's entry point (a dedicated Web Worker built by Trunk as `mesh_worker`): it
//! receives a chosen file and options from the Models page, runs the de-identification in
//! [`veil_app::mesh_job`], and replies with progress, the output, the report and the preview.
//! The same script is also the job's helper: asked by a mesh worker to `measure`, it measures
//! the report's first half while that worker measures the second and writes the output.
//! The protocol lives in [`veil_app::platform::worker`].

use std::rc::Rc;
use veil_app::error::AppError;
use veil_app::mesh_job;

use veil_app::platform::worker::{
    HELPER_NAME, Helper, JobRequest, WorkerPort, decode_measure, decode_request,
};
use wasm_bindgen::JsCast;
use wasm_bindgen::prelude::*;
use wasm_bindgen_futures::JsFuture;

fn main() {
    console_error_panic_hook::set_once();
    let Some(port) = WorkerPort::current() else {
        web_sys::console::error_1(&"mesh_worker must run in a dedicated worker".into());
        return;
    };
    // A helper starts no helper of its own.
    let helper = Rc::new(if port.scope().name() == HELPER_NAME {
        None
    } else {
        Helper::spawn(port.scope())
    });
    let replies = port.clone();
    let jobs_helper = helper.clone();
    let on_message =
        Closure::<dyn FnMut(web_sys::MessageEvent)>::new(move |e: web_sys::MessageEvent| {
            let port = replies.clone();
            let data = e.data();
            if let Some(request) = decode_request(&data) {
                wasm_bindgen_futures::spawn_local(run(port, request, jobs_helper.clone()));
            } else if let Some(request) = decode_measure(&data) {
                // Helper side: the distances, as `Prepared::write`'s caller would measure them.
                match veil_mesh::utility::distances_to_surface(
                    &request.vertices,
                    &request.triangles,
                    &request.points,
                    &mut |_| {},
                    &|| false,
                ) {
                    Ok(d) => port.measured(&d),
                    Err(e) => port.failed(&AppError::from(e)),
                }
            } else {
                port.failed(&AppError::worker(
                    "the page sent a message the worker does not understand",
                ));
            }
        });
    port.scope()
        .set_onmessage(Some(on_message.as_ref().unchecked_ref()));
    // The handler lives as long as the worker.
    on_message.forget();
    // Ready once the helper is (or has failed to load): nothing is fetched during a job.
    wasm_bindgen_futures::spawn_local(async move {
        if let Some(h) = helper.as_ref() {
            h.loaded().await;
        }
        port.ready();
    });
}

async fn run(port: WorkerPort, request: JobRequest, helper: Rc<Option<Helper>>) {
    // The first progress report comes once the file is read: until then the page says the file
    // is being read.
    let bytes = match JsFuture::from(request.file.array_buffer()).await {
        Ok(buffer) => js_sys::Uint8Array::new(&buffer).to_vec(),
        // The browser's own text is left out: it could name the file, and file names carry
        // patients' names.
        Err(_) => {
            port.failed(&AppError::browser(
                "the browser could not read the chosen file",
            ));
            return;
        }
    };
    port.progress(0.0);
    let mut progress = |f: f32| port.progress(f);
    let result = async {
        let prepared = mesh_job::prepare(bytes, &request.name, &request.options, &mut progress)?;
        let points = prepared.forward_points();
        let mut reply = None;
        if let Some(h) = helper.as_ref()
            && !points.is_empty()
        {
            let (vertices, kept) = prepared.output_surface();
            reply = h.measure(vertices, kept, &points).await;
        }
        // Without a helper, `write` measures the first half itself.
        let elsewhere = match reply {
            Some(_) => veil_mesh::Elsewhere::Forward,
            None => veil_mesh::Elsewhere::Nothing,
        };
        let written = mesh_job::write(prepared, elsewhere, &mut progress)?;
        let brought = match reply {
            Some(reply) => Some(veil_mesh::Brought::Forward(
                match Helper::distances(reply, points.len()).await {
                    Some(forward) => forward,
                    // The helper failed: measured here after all.
                    None => mesh_job::measure_first_half(&written, &points)?,
                },
            )),
            None => None,
        };
        mesh_job::finish(
            written,
            brought,
            request.options.output,
            request.preview_triangles,
            &mut progress,
        )
    }
    .await;
    match result {
        Ok(result) => port.done(&result),
        Err(e) => port.failed(&AppError::from(e)),
    }
}
