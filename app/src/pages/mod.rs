//! One component per route. Each page is a thin view over a `crates/*` library.

mod audit;
mod consent;
mod devices;
mod models;
pub mod outbox;
mod settings;

pub use audit::Audit;
pub use consent::Consent;
pub use devices::Devices;
pub use models::Models;
pub use outbox::Outbox;
pub use settings::Settings;

use leptos::prelude::*;

/// Shown for any path that is not a page of the app.
#[component]
pub fn NotFound() -> impl IntoView {
    view! {
        <section aria-labelledby="notfound-title" data-testid="page-notfound">
            <h1 id="notfound-title">"Page not found"</h1>
            <p><a href="/devices">"Go to your devices"</a></p>
        </section>
    }
}
