//! Settings section: "Forget me", for a person on their own device.
//!
//! The same wipe as the end of a clinic kiosk session (every patient store, then a fresh document
//! at the start page, so nothing stays in memory either), preceded by what only the person's own
//! device can still do: cancel what has not left, and tell every recipient that received
//! something that its pseudonyms are now unlinkable (`outbox::forget_me`, the GDPR Art. 17
//! erasure message). The wipe waits until the server has that message: wiping first would delete
//! the message and the key that signs it. Asked twice, since it cannot be undone.

use leptos::prelude::*;
use leptos::task::spawn_local;

use crate::components::ErrorText;
use crate::error::AppError;
use crate::outbox;
use crate::platform::patient;

/// Where "Forget me" is at.
#[derive(Debug, Clone, PartialEq)]
enum Step {
    /// Offered.
    Idle,
    /// Asked to confirm.
    Confirming,
    /// Telling the recipients and wiping.
    Working,
    /// Stopped before the wipe (nothing was deleted here).
    Failed(AppError),
}

/// "Forget me on this device".
#[component]
pub fn ForgetMe() -> impl IntoView {
    let step = RwSignal::new(Step::Idle);
    let forget = move |_| {
        step.set(Step::Working);
        spawn_local(async move {
            let done = async {
                outbox::forget_me().await?;
                patient::end_kiosk_session().await
            };
            if let Err(e) = done.await {
                step.set(Step::Failed(e));
            }
        });
    };
    view! {
        <section class="card" aria-labelledby="forget-title" data-testid="forget-section">
            <h2 id="forget-title">"Forget me on this device"</h2>
            <p>"Deletes everything about you from this browser: your consent choices and receipts, readings, models, the outbox, the audit log and the connection to your clinic. Recipients that received something from you are told first that it can no longer be linked to you (GDPR Art. 17); the clinical record they hold may be kept where the law requires it."</p>
            {move || match step.get() {
                Step::Idle | Step::Failed(_) => view! {
                    <button type="button" data-testid="forget-me" on:click=move |_| step.set(Step::Confirming)>"Forget me"</button>
                }.into_any(),
                Step::Confirming => view! {
                    <p role="alert" data-testid="forget-confirm-text"><strong>"This cannot be undone."</strong> " Forget everything about you on this device?"</p>
                    <button type="button" class="primary" data-testid="forget-confirm" on:click=forget>"Yes, forget me"</button>
                    " "
                    <button type="button" data-testid="forget-cancel" on:click=move |_| step.set(Step::Idle)>"Keep my data"</button>
                }.into_any(),
                Step::Working => view! {
                    <p role="status" data-testid="forget-status" data-state="working">"Telling the recipients, then deleting..."</p>
                }.into_any(),
            }}
            {move || match step.get() {
                Step::Failed(error) => {
                    let code = error.code;
                    Some(view! {
                        <p class="error" role="alert" data-testid="forget-status" data-state="error" data-code=code>
                            "Nothing was deleted yet: " <ErrorText error/>
                        </p>
                    })
                }
                _ => None,
            }}
        </section>
    }
}
