//! The Devices page.

use leptos::prelude::*;

/// Devices: Pair blood-pressure cuffs, thermometers and oximeters over Bluetooth. Each device's manufacturer certificate is checked here, every reading's signature and freshness are verified in this browser, and each reading is marked verified, unverified or rejected with the reason.
#[component]
pub fn Devices() -> impl IntoView {
    view! {
        <section aria-labelledby="devices-title" data-testid="page-devices">
            <h1 id="devices-title">"Devices"</h1>
            <p>"Pair blood-pressure cuffs, thermometers and oximeters over Bluetooth. Each device's manufacturer certificate is checked here, every reading's signature and freshness are verified in this browser, and each reading is marked verified, unverified or rejected with the reason."</p>
        </section>
    }
}
