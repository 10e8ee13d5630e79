//! Scanning a code (a clinic's invitation, printed as a QR code) with the camera, where the browser
//! has the Shape Detection API's `BarcodeDetector` (Chrome on Android, ChromeOS and macOS; not
//! desktop Linux or Firefox). Elsewhere the code is typed.
//!
//! `BarcodeDetector` and `getUserMedia` are called by name (web-sys has no stable binding for the
//! former). The camera runs only while a scan does: [`Scan::stop`] (or dropping the [`Scan`]) stops
//! every track, so the camera light goes off when the code is read, the person cancels, or the page
//! that started the scan goes away (it raises the scan's stop flag).

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use wasm_bindgen::JsCast;
use wasm_bindgen::prelude::*;
use wasm_bindgen_futures::JsFuture;

use crate::error::AppError;

/// How long between two looks at the camera picture, ms.
const LOOK_EVERY_MS: i32 = 250;
/// Longest text accepted from a code: an invitation is 24 characters; a code with more is not one.
const MAX_TEXT: usize = 200;

fn get(target: &JsValue, name: &str) -> Result<JsValue, AppError> {
    js_sys::Reflect::get(target, &JsValue::from_str(name)).map_err(|e| AppError::browser_js(&e))
}

async fn call(promise: JsValue) -> Result<JsValue, AppError> {
    let promise: js_sys::Promise = promise
        .dyn_into()
        .map_err(|_| AppError::browser("expected a promise"))?;
    JsFuture::from(promise)
        .await
        .map_err(|e| AppError::browser_js(&e))
}

/// Whether this browser can read codes from the camera.
pub fn supported() -> bool {
    web_sys::window().is_some_and(|w| {
        js_sys::Reflect::get(&w, &JsValue::from_str("BarcodeDetector"))
            .is_ok_and(|d| d.is_function())
            && js_sys::Reflect::get(&w.navigator(), &JsValue::from_str("mediaDevices"))
                .is_ok_and(|m| m.is_object())
    })
}

/// A running scan: the camera stream shown in a `<video>`, looked at until a QR code is read.
pub struct Scan {
    stream: JsValue,
    stopped: Arc<AtomicBool>,
}

impl Scan {
    /// Ask for the (rear) camera and show it in `video`. Must follow a person's action (a click).
    /// Raising `stop` ends the scan ([`Scan::read`] returns `None`).
    ///
    /// # Errors
    /// `browser`: no camera, permission refused, or no `BarcodeDetector`.
    pub async fn start(
        video: &web_sys::HtmlElement,
        stop: Arc<AtomicBool>,
    ) -> Result<Self, AppError> {
        let window = web_sys::window().ok_or_else(|| AppError::browser("no window"))?;
        let devices = get(&window.navigator(), "mediaDevices")?;
        let constraints = js_sys::JSON::parse(r#"{"video":{"facingMode":"environment"}}"#)
            .map_err(|e| AppError::browser_js(&e))?;
        let get_user_media: js_sys::Function = get(&devices, "getUserMedia")?
            .dyn_into()
            .map_err(|_| AppError::browser("this browser has no camera access"))?;
        let stream = call(
            get_user_media
                .call1(&devices, &constraints)
                .map_err(|e| AppError::browser_js(&e))?,
        )
        .await
        .map_err(|e| e.context("The camera could not be opened"))?;
        let scan = Scan {
            stream,
            stopped: stop,
        };
        js_sys::Reflect::set(video, &JsValue::from_str("srcObject"), &scan.stream)
            .map_err(|e| AppError::browser_js(&e))?;
        let play: js_sys::Function = get(video, "play")?
            .dyn_into()
            .map_err(|_| AppError::browser("the video element cannot play"))?;
        call(play.call0(video).map_err(|e| AppError::browser_js(&e))?).await?;
        Ok(scan)
    }

    /// Look at `video` until a QR code is read (its text), or the scan is stopped (`None`).
    ///
    /// # Errors
    /// `browser` when the detector fails.
    pub async fn read(&self, video: &web_sys::HtmlElement) -> Result<Option<String>, AppError> {
        let window = web_sys::window().ok_or_else(|| AppError::browser("no window"))?;
        let detector_class: js_sys::Function = get(&window, "BarcodeDetector")?
            .dyn_into()
            .map_err(|_| AppError::browser("this browser has no BarcodeDetector"))?;
        let options = js_sys::JSON::parse(r#"{"formats":["qr_code"]}"#)
            .map_err(|e| AppError::browser_js(&e))?;
        let detector = js_sys::Reflect::construct(&detector_class, &js_sys::Array::of1(&options))
            .map_err(|e| AppError::browser_js(&e))?;
        let detect: js_sys::Function = get(&detector, "detect")?
            .dyn_into()
            .map_err(|_| AppError::browser("BarcodeDetector has no detect()"))?;
        while !self.stopped.load(Ordering::Relaxed) {
            // A frame not ready yet is no failure: look again.
            if let Ok(found) = call(
                detect
                    .call1(&detector, video)
                    .map_err(|e| AppError::browser_js(&e))?,
            )
            .await
            {
                let text = js_sys::Array::from(&found)
                    .iter()
                    .find_map(|code| get(&code, "rawValue").ok()?.as_string());
                if let Some(text) = text {
                    return Ok(Some(text.chars().take(MAX_TEXT).collect()));
                }
            }
            sleep(&window, LOOK_EVERY_MS).await;
        }
        Ok(None)
    }

    /// Stop the camera.
    pub fn stop(&self) {
        self.stopped.store(true, Ordering::Relaxed);
        let Ok(tracks) = get(&self.stream, "getTracks") else {
            return;
        };
        let Ok(tracks) = tracks.dyn_into::<js_sys::Function>() else {
            return;
        };
        let Ok(list) = tracks.call0(&self.stream) else {
            return;
        };
        for track in js_sys::Array::from(&list).iter() {
            if let Ok(stop) = get(&track, "stop").and_then(|s| {
                s.dyn_into::<js_sys::Function>()
                    .map_err(|_| AppError::browser("no stop"))
            }) {
                let _ = stop.call0(&track);
            }
        }
    }
}

impl Drop for Scan {
    fn drop(&mut self) {
        self.stop();
    }
}

async fn sleep(window: &web_sys::Window, ms: i32) {
    let promise = js_sys::Promise::new(&mut |resolve, _| {
        let _ = window.set_timeout_with_callback_and_timeout_and_arguments_0(&resolve, ms);
    });
    let _ = JsFuture::from(promise).await;
}
