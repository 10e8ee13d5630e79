//! Offering bytes to the person as a file download (a Blob and a temporary object URL), nothing sent.

use wasm_bindgen::JsCast;

/// Start a download of `bytes` named `name`.
pub fn offer(name: &str, mime: &str, bytes: &[u8]) {
    offer_array(name, mime, &js_sys::Uint8Array::from(bytes));
}

/// Start a download of the bytes of `array` (a JavaScript array, not copied through wasm) named
/// `name`.
pub fn offer_array(name: &str, mime: &str, array: &js_sys::Uint8Array) {
    let Some(document) = web_sys::window().and_then(|w| w.document()) else {
        return;
    };
    let parts = js_sys::Array::of1(array);
    let options = web_sys::BlobPropertyBag::new();
    options.set_type(mime);
    let Ok(blob) = web_sys::Blob::new_with_u8_array_sequence_and_options(&parts, &options) else {
        return;
    };
    let Ok(url) = web_sys::Url::create_object_url_with_blob(&blob) else {
        return;
    };
    if let Ok(anchor) = document
        .create_element("a")
        .map(|a| a.unchecked_into::<web_sys::HtmlAnchorElement>())
    {
        anchor.set_href(&url);
        anchor.set_download(name);
        anchor.click();
    }
    // Revoking at once can cancel the download in some browsers; a minute later is safe.
    leptos::prelude::set_timeout(
        move || {
            let _ = web_sys::Url::revoke_object_url(&url);
        },
        std::time::Duration::from_secs(60),
    );
}
