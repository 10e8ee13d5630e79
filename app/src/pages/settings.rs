//! The Settings page.

mod clinic;
mod manufacturers;

use leptos::prelude::*;

pub use clinic::AwaitingConnection;
use clinic::ConnectClinic;
use manufacturers::TrustedManufacturers;

/// Settings: the connection to a clinic, and the trusted device manufacturers (root certificates).
#[component]
pub fn Settings() -> impl IntoView {
    view! {
        <section aria-labelledby="settings-title" data-testid="page-settings">
            <h1 id="settings-title">"Settings"</h1>
            <p>"Connect this device to your clinic, and manage trusted device manufacturers (root certificates)."</p>
            <ConnectClinic/>
            <TrustedManufacturers/>
        </section>
    }
}
