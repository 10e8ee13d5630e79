//! The Settings page.

mod clinic;
mod forget;
mod kiosk;
mod manufacturers;
mod recipients;

use leptos::prelude::*;

pub use clinic::AwaitingConnection;
use clinic::ConnectClinic;
use forget::ForgetMe;
use kiosk::KioskIdleSetting;
use manufacturers::TrustedManufacturers;
use recipients::Recipients;

/// Settings: the connection to a clinic, the recipients, the trusted device manufacturers (root
/// certificates), how long an unused clinic kiosk keeps a patient session, and "Forget me".
#[component]
pub fn Settings() -> impl IntoView {
    view! {
        <section aria-labelledby="settings-title" data-testid="page-settings">
            <h1 id="settings-title">"Settings"</h1>
            <p>"Connect this device to your clinic, set up recipients, manage trusted device manufacturers (root certificates), or have this device forget you."</p>
            <ConnectClinic/>
            <Recipients/>
            <TrustedManufacturers/>
            <KioskIdleSetting/>
            <ForgetMe/>
        </section>
    }
}
