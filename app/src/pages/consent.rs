//! The Consent page.

use leptos::prelude::*;

/// Consent: Choose what your data may be used for, purpose by purpose, under the rules of your jurisdiction. You can withdraw any consent as easily as you gave it; every change is recorded and you get a receipt.
#[component]
pub fn Consent() -> impl IntoView {
    view! {
        <section aria-labelledby="consent-title" data-testid="page-consent">
            <h1 id="consent-title">"Consent"</h1>
            <p>"Choose what your data may be used for, purpose by purpose, under the rules of your jurisdiction. You can withdraw any consent as easily as you gave it; every change is recorded and you get a receipt."</p>
        </section>
    }
}
