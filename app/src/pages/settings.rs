//! The Settings page.

mod manufacturers;

use leptos::prelude::*;

use manufacturers::TrustedManufacturers;

/// Settings: Manage trusted device manufacturers (root certificates), the recipient of your uploads, and kiosk mode for clinics.
#[component]
pub fn Settings() -> impl IntoView {
    view! {
        <section aria-labelledby="settings-title" data-testid="page-settings">
            <h1 id="settings-title">"Settings"</h1>
            <p>"Manage trusted device manufacturers (root certificates), the recipient of your uploads, and kiosk mode for clinics."</p>
            <TrustedManufacturers/>
        </section>
    }
}
