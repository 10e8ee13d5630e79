//! HTTP to the ingest server through `XMLHttpRequest`, the one browser API that reports upload
//! progress. A network failure (offline, connection cut) is told apart from an HTTP answer, because
//! only the former may be retried blindly.

use wasm_bindgen::JsCast;
use wasm_bindgen::prelude::*;
use wasm_bindgen_futures::JsFuture;
use web_sys::{ProgressEvent, XmlHttpRequest};

/// How a request ended: the outbox's [`Answer`], which its retry rule reads.
pub use veil_outbox::Answer;

/// Send `body` (bytes or text) with `headers`; `on_progress` gets the uploaded fraction.
pub async fn request(
    method: &str,
    url: &str,
    headers: &[(&str, &str)],
    body: Option<&JsValue>,
    on_progress: Option<Box<dyn Fn(f64)>>,
) -> Answer {
    let xhr = match XmlHttpRequest::new() {
        Ok(x) => x,
        Err(e) => return Answer::NetworkError(super::js_error_text(&e)),
    };
    if let Err(e) = xhr.open(method, url) {
        return Answer::NetworkError(super::js_error_text(&e));
    }
    for (k, v) in headers {
        let _ = xhr.set_request_header(k, v);
    }
    // Uploads of large models on slow links may take long; a stalled connection is cut by the browser.
    xhr.set_timeout(10 * 60 * 1000);
    let progress = on_progress.map(|f| {
        Closure::<dyn FnMut(ProgressEvent)>::new(move |ev: ProgressEvent| {
            if ev.length_computable() && ev.total() > 0.0 {
                f(ev.loaded() / ev.total());
            }
        })
    });
    if let (Some(p), Ok(upload)) = (&progress, xhr.upload()) {
        upload.set_onprogress(Some(p.as_ref().unchecked_ref()));
    }
    let done = js_sys::Promise::new(&mut |resolve, _reject| {
        let r = resolve.clone();
        let ok = Closure::once_into_js(move || {
            let _ = r.call1(&JsValue::NULL, &JsValue::TRUE);
        });
        let r = resolve.clone();
        let fail = Closure::once_into_js(move || {
            let _ = r.call1(&JsValue::NULL, &JsValue::FALSE);
        });
        xhr.set_onload(Some(ok.unchecked_ref()));
        xhr.set_onerror(Some(fail.unchecked_ref()));
        xhr.set_onabort(Some(fail.unchecked_ref()));
        xhr.set_ontimeout(Some(fail.unchecked_ref()));
    });
    let sent = match body {
        Some(b) if b.is_string() => xhr.send_with_opt_str(b.as_string().as_deref()),
        Some(b) => match b.dyn_ref::<js_sys::Uint8Array>() {
            Some(bytes) => xhr.send_with_opt_js_u8_array(Some(bytes)),
            None => xhr.send(),
        },
        None => xhr.send(),
    };
    if let Err(e) = sent {
        return Answer::NetworkError(super::js_error_text(&e));
    }
    let answered = JsFuture::from(done)
        .await
        .map(|v| v.is_truthy())
        .unwrap_or(false);
    drop(progress);
    if !answered {
        return Answer::NetworkError("no answer from the server".into());
    }
    Answer::Answered {
        status: xhr.status().unwrap_or(0),
        body: xhr.response_text().ok().flatten().unwrap_or_default(),
    }
}
