//! The Outbox page.

use leptos::prelude::*;

/// Outbox: Sealed, encrypted artifacts wait here until there is a connection, then upload exactly once. Withdrawing consent cancels items that have not left yet.
#[component]
pub fn Outbox() -> impl IntoView {
    view! {
        <section aria-labelledby="outbox-title" data-testid="page-outbox">
            <h1 id="outbox-title">"Outbox"</h1>
            <p>"Sealed, encrypted artifacts wait here until there is a connection, then upload exactly once. Withdrawing consent cancels items that have not left yet."</p>
        </section>
    }
}
