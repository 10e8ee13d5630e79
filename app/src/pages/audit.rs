//! The Audit page.

use leptos::prelude::*;

/// Audit: A tamper-evident log of every consent change, device verification, de-identification, seal and upload, with its verification status and an export.
#[component]
pub fn Audit() -> impl IntoView {
    view! {
        <section aria-labelledby="audit-title" data-testid="page-audit">
            <h1 id="audit-title">"Audit"</h1>
            <p>"A tamper-evident log of every consent change, device verification, de-identification, seal and upload, with its verification status and an export."</p>
        </section>
    }
}
