//! The mesh worker's entry point (a dedicated Web Worker built by Trunk as `mesh_worker`): it
//! receives a chosen file and options from the Models page, runs the de-identification in
//! [`veil_app::mesh_job`], and replies with progress, the output, the report and the preview.
//! The protocol lives in [`veil_app::platform::worker`].

use veil_app::error::AppError;
use veil_app::mesh_job;
use veil_app::platform::worker::{JobRequest, WorkerPort, decode_request};
use wasm_bindgen::JsCast;
use wasm_bindgen::prelude::*;
use wasm_bindgen_futures::JsFuture;

fn main() {
    console_error_panic_hook::set_once();
    let Some(port) = WorkerPort::current() else {
        web_sys::console::error_1(&"mesh_worker must run in a dedicated worker".into());
        return;
    };
    let replies = port.clone();
    let on_message =
        Closure::<dyn FnMut(web_sys::MessageEvent)>::new(move |e: web_sys::MessageEvent| {
            let port = replies.clone();
            match decode_request(&e.data()) {
                Some(request) => wasm_bindgen_futures::spawn_local(run(port, request)),
                None => port.failed(&AppError::worker(
                    "the page sent a message the worker does not understand",
                )),
            }
        });
    port.scope()
        .set_onmessage(Some(on_message.as_ref().unchecked_ref()));
    // The handler lives as long as the worker.
    on_message.forget();
    port.ready();
}

async fn run(port: WorkerPort, request: JobRequest) {
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
    match mesh_job::run(bytes, &request.name, &request.options, &mut progress) {
        Ok(result) => port.done(&result),
        Err(e) => port.failed(&AppError::from(e)),
    }
}
