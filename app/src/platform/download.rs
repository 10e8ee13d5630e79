//! Offering bytes to the person as a file download (a Blob and a temporary object URL), nothing sent.

use leptos::prelude::*;
use wasm_bindgen::JsCast;

/// Start a download of `bytes` named `name`.
pub fn offer(name: &str, mime: &str, bytes: &[u8]) {
    let Some(url) = object_url(&js_sys::Uint8Array::from(bytes), mime) else {
        return;
    };
    follow(&url, name);
    // Revoking at once can cancel the download in some browsers; a minute later is safe.
    set_timeout(
        move || {
            let _ = web_sys::Url::revoke_object_url(&url);
        },
        std::time::Duration::from_secs(60),
    );
}

/// An object URL for a `Blob` (type `mime`) of `part`: a JavaScript array, copied from there (not
/// through wasm), or a string, as UTF-8. `None` when the browser cannot make it. The caller
/// revokes it.
pub fn object_url(part: &wasm_bindgen::JsValue, mime: &str) -> Option<String> {
    let options = web_sys::BlobPropertyBag::new();
    options.set_type(mime);
    let blob =
        web_sys::Blob::new_with_u8_array_sequence_and_options(&js_sys::Array::of1(part), &options)
            .ok()?;
    web_sys::Url::create_object_url_with_blob(&blob).ok()
}

/// A place for an object URL kept as long as the calling component: the URL it holds when the
/// component goes is revoked then.
pub fn kept_url(url: Option<String>) -> StoredValue<Option<String>, LocalStorage> {
    let slot = StoredValue::new_local(url);
    on_cleanup(move || {
        if let Some(Some(url)) = slot.try_get_value() {
            let _ = web_sys::Url::revoke_object_url(&url);
        }
    });
    slot
}

/// Start a download of what `url` names (an object URL), saved as `name`.
pub fn follow(url: &str, name: &str) {
    let Some(document) = web_sys::window().and_then(|w| w.document()) else {
        return;
    };
    if let Ok(anchor) = document
        .create_element("a")
        .map(|a| a.unchecked_into::<web_sys::HtmlAnchorElement>())
    {
        anchor.set_href(url);
        anchor.set_download(name);
        anchor.click();
    }
}
