//! The Outbox page: sealed artifacts waiting to leave, their progress and state, and the person's
//! controls: seal verified readings, seal unverified ones (marked UNVERIFIED here and in the
//! artifact), cancel what has not left, erase the identity layer. Files are never sealed from
//! here: models go through the Models page, so only de-identified ones leave.

use std::collections::HashMap;

use leptos::prelude::*;
use leptos::task::spawn_local;
use veil_consent::{Purpose, PurposeScope, ResearchTier};
use veil_outbox::{ControlKind, ControlMessage};
use veil_seal::DeviceEvidence;

use crate::components::ErrorText;
use crate::error::AppError;
use crate::outbox::{self, ItemState, OutboxItem};
use crate::pages::settings::AwaitingConnection;
use crate::platform::storage;
use crate::state::{OutboxRevision, UploadProgress};

/// The uses an upload can be for, as offered in the picker.
fn upload_scopes() -> Vec<PurposeScope> {
    vec![
        PurposeScope::plain(Purpose::Treatment),
        PurposeScope::plain(Purpose::CareOperations),
        PurposeScope::research(ResearchTier::ThisStudy),
        PurposeScope::plain(Purpose::ThirdPartyPrinting),
        PurposeScope::plain(Purpose::AiTraining),
    ]
}

fn state_badge(state: &ItemState) -> (&'static str, String) {
    match state {
        ItemState::Queued => ("badge unverified", "queued".into()),
        ItemState::Uploading => ("badge unverified", "uploading".into()),
        ItemState::Delivered { .. } => ("badge verified", "delivered".into()),
        ItemState::AwaitingEnrolment { .. } => (
            "badge unverified",
            "waiting: connect this device to a clinic".into(),
        ),
        ItemState::Failed { reason } => ("badge rejected", format!("failed: {reason}")),
        ItemState::Cancelled { reason } => ("badge rejected", format!("cancelled: {reason}")),
    }
}

/// The evidence and summary of the stored readings that can be sent, and how many cannot: only a
/// reading with the salt of its bound challenge is sealed, with that salt beside it
/// ([`DeviceEvidence::challenge_salt`]); one stored before readings were bound would be refused by
/// the server (`reading-unbound`) together with everything sealed with it.
fn bound_evidence(stored: &[storage::StoredReading]) -> (Vec<DeviceEvidence>, Vec<u8>, usize) {
    let bound: Vec<_> = stored
        .iter()
        .filter_map(|s| s.challenge_salt.map(|salt| (&s.reading, salt)))
        .collect();
    let evidence = bound
        .iter()
        .map(|(r, salt)| DeviceEvidence {
            reading: r.cose.clone(),
            chain: r.chain.clone(),
            challenge_salt: Some(*salt),
        })
        .collect();
    let summary = serde_json::to_vec_pretty(
        &bound
            .iter()
            .map(|(r, _)| &r.measurement)
            .collect::<Vec<_>>(),
    )
    .unwrap_or_default();
    (evidence, summary, stored.len() - bound.len())
}

/// What to say when no reading can be sealed.
fn no_readings_text(unbound: usize, sealed_before: usize) -> String {
    if unbound == 0 && sealed_before > 0 {
        format!(
            "There are no new verified readings to send: all {sealed_before} were sealed already."
        )
    } else if unbound == 0 {
        "There are no verified readings to send yet.".into()
    } else {
        format!(
            "There are no verified readings to send yet: {unbound} older reading(s) were taken \
             before readings were bound to this device, and the clinic would refuse them. Take a \
             new reading on the Devices page."
        )
    }
}

/// The Outbox page.
#[component]
pub fn Outbox() -> impl IntoView {
    let revision = expect_context::<OutboxRevision>().0;
    let progress = expect_context::<UploadProgress>().0;
    let items = LocalResource::new(move || {
        revision.track();
        async move { outbox::items().await }
    });
    let controls = LocalResource::new(move || {
        revision.track();
        async move { outbox::controls().await }
    });
    let scope_index = RwSignal::new(0usize);
    // What the last action did: a line of news, or an error with its code.
    let message = RwSignal::new(None::<Result<String, AppError>>);
    let busy = RwSignal::new(false);

    // Seals kept readings and marks them sealed, so pressing again never seals them twice.
    let seal = move |content: outbox::Sealable,
                     verified: Vec<storage::StoredReading>,
                     unverified: Vec<veil_seal::UnverifiedReading>| {
        let scope = upload_scopes().get(scope_index.get_untracked()).cloned();
        let Some(scope) = scope else { return };
        busy.set(true);
        spawn_local(async move {
            match outbox::seal_and_queue(content, scope).await {
                Ok(item) => {
                    let marked = storage::mark_sealed(&verified, &unverified, &item.id).await;
                    message.set(Some(match marked {
                        Ok(()) => Ok(format!(
                            "Sealed {} ({} bytes), queued.",
                            &item.id[..12],
                            item.size
                        )),
                        Err(e) => Err(e.into()),
                    }));
                }
                Err(e) => message.set(Some(Err(e))),
            }
            busy.set(false);
            revision.update(|r| *r += 1);
        });
    };
    let send_readings = move |_| {
        spawn_local(async move {
            match storage::unsealed_readings().await {
                Ok((stored, sealed_before)) => {
                    let (evidence, summary, unbound) = bound_evidence(&stored);
                    if evidence.is_empty() {
                        message.set(Some(Ok(no_readings_text(unbound, sealed_before))));
                    } else {
                        let bound = stored
                            .into_iter()
                            .filter(|s| s.challenge_salt.is_some())
                            .collect();
                        seal(
                            outbox::Sealable::Readings { summary, evidence },
                            bound,
                            Vec::new(),
                        );
                    }
                }
                Err(e) => message.set(Some(Err(e.into()))),
            }
        });
    };
    let send_unverified = move |_| {
        spawn_local(async move {
            match storage::unsealed_unverified().await {
                Ok((readings, sealed_before)) if readings.is_empty() => {
                    message.set(Some(Ok(if sealed_before == 0 {
                        "There are no unverified readings to send yet.".into()
                    } else {
                        format!(
                            "There are no new unverified readings to send: all {sealed_before} \
                             were sealed already."
                        )
                    })))
                }
                Ok((readings, _)) => seal(
                    outbox::Sealable::UnverifiedReadings {
                        readings: readings.clone(),
                    },
                    Vec::new(),
                    readings,
                ),
                Err(e) => message.set(Some(Err(e.into()))),
            }
        });
    };
    let erase = move |_| {
        spawn_local(async move {
            message.set(Some(outbox::erase_identity().await.map(|()| {
                "Your identity layer was destroyed: nothing sent can be linked back to you any more."
                    .into()
            })));
            revision.update(|r| *r += 1);
        });
    };

    view! {
        <section aria-labelledby="outbox-title" data-testid="page-outbox">
            <h1 id="outbox-title">"Outbox"</h1>
            <p>"Sealed, encrypted artifacts wait here until there is a connection, then upload exactly once. Withdrawing consent cancels items that have not left yet."</p>
            <AwaitingConnection/>
            <div class="card">
                <label for="outbox-purpose">"Purpose of the upload"</label>
                <select id="outbox-purpose" data-testid="outbox-purpose"
                    on:change=move |ev| scope_index.set(event_target_value(&ev).parse().unwrap_or(0))>
                    {upload_scopes().into_iter().enumerate().map(|(i, s)| view! { <option value=i.to_string()>{s.label()}</option> }).collect_view()}
                </select>
                <p>"Models are sealed from the Models page once they are de-identified; readings once the Devices page has verified them. Nothing else can be sent."</p>
                <p><button type="button" data-testid="outbox-send-readings" on:click=send_readings disabled=move || busy.get()>"Seal verified device readings"</button></p>
                <p>"Readings from standard devices and imported files can be sent too, marked UNVERIFIED: the clinic sees that nothing proves which device took them."</p>
                <p><button type="button" data-testid="outbox-send-unverified" on:click=send_unverified disabled=move || busy.get()>"Seal unverified readings (marked UNVERIFIED)"</button></p>
                {move || message.get().map(|m| match m {
                    Ok(text) => view! { <p role="status" data-testid="outbox-message">{text}</p> }.into_any(),
                    Err(e) => view! { <p role="status" data-testid="outbox-message" data-code=e.code><ErrorText error=e.clone()/></p> }.into_any(),
                })}
            </div>
            <table data-testid="outbox-items">
                <caption>"Artifacts"</caption>
                <thead><tr><th scope="col">"Artifact"</th><th scope="col">"Purpose"</th><th scope="col">"Files"</th><th scope="col">"Size"</th><th scope="col">"State"</th><th scope="col">"Progress"</th><th scope="col"></th></tr></thead>
                <tbody>
                    <Transition fallback=|| view! { <tr><td colspan="7">"Loading..."</td></tr> }>
                        {move || items.get().map(|r| match r {
                            Err(e) => view! { <tr><td colspan="7" class="error" data-code=e.code><ErrorText error=e.clone()/></td></tr> }.into_any(),
                            Ok(list) => list.into_iter().map(|item| view! { <OutboxRow item progress revision/> }).collect_view().into_any(),
                        })}
                    </Transition>
                </tbody>
            </table>
            <Transition fallback=|| ()>
                {move || controls.get().and_then(Result::ok).filter(|list| !list.is_empty()).map(|list| view! {
                    <table data-testid="outbox-controls">
                        <caption>"Messages to the server"</caption>
                        <thead><tr><th scope="col">"Message"</th><th scope="col">"About"</th><th scope="col">"State"</th></tr></thead>
                        <tbody>{list.into_iter().map(|m| view! { <ControlRow message=m/> }).collect_view()}</tbody>
                    </table>
                })}
            </Transition>
            <div class="card">
                <h2>"Your identity layer"</h2>
                <p>"Your pseudonyms are computed from a secret kept only in this browser. Destroying it (GDPR Art. 17) makes everything already sent unlinkable to you, while the pseudonymised clinical record may be kept where law requires it."</p>
                <button type="button" data-testid="outbox-erase" on:click=erase>"Erase my identity layer"</button>
            </div>
        </section>
    }
}

/// One artifact row.
#[component]
fn OutboxRow(
    item: OutboxItem,
    progress: RwSignal<HashMap<String, f64>>,
    revision: RwSignal<u64>,
) -> impl IntoView {
    let (class, label) = state_badge(&item.state);
    let id = item.id.clone();
    let id_for_progress = item.id.clone();
    let cancellable = matches!(
        item.state,
        ItemState::Queued | ItemState::Failed { .. } | ItemState::AwaitingEnrolment { .. }
    );
    let state_id = item.state.id();
    // Readings nothing proves keep their status in the list, as in the artifact.
    let unverified = item
        .files
        .iter()
        .any(|f| f == outbox::UNVERIFIED_READINGS_FILE);
    view! {
        <tr data-testid="outbox-item" data-id=item.id.clone() data-state=state_id
            data-readings=if unverified { "unverified" } else { "" }>
            <td><code>{item.id[..16].to_string()}</code></td>
            <td>{item.scope.label()}</td>
            <td>
                {unverified.then(|| view! { <span class="badge unverified" data-testid="outbox-unverified">"UNVERIFIED"</span>" " })}
                {item.files.join(", ")}
            </td>
            <td>{item.size}</td>
            <td><span class=class data-testid="outbox-state">{label}</span>{(item.attempts > 1).then(|| format!(" ({} attempts)", item.attempts))}</td>
            <td><progress max="1" value=move || progress.with(|p| p.get(&id_for_progress).copied().unwrap_or(if state_id == "delivered" { 1.0 } else { 0.0 }))></progress></td>
            <td>{cancellable.then(|| view! {
                <button type="button" data-testid="outbox-cancel" on:click=move |_| {
                    let id = id.clone();
                    spawn_local(async move {
                        let _ = outbox::cancel(&id, "cancelled by you").await;
                        revision.update(|r| *r += 1);
                    });
                }>"Cancel"</button>
            })}</td>
        </tr>
    }
}

/// One revocation or erasure message: queued and retried like an upload until the server has it.
#[component]
fn ControlRow(message: ControlMessage) -> impl IntoView {
    let (class, label) = state_badge(&message.state);
    let about = match &message.kind {
        ControlKind::Revocation {
            artifacts, purpose, ..
        } => format!("{} artifact(s) for {purpose}", artifacts.len()),
        ControlKind::Erasure { pseudonyms, .. } => format!("{} pseudonym(s)", pseudonyms.len()),
    };
    view! {
        <tr data-testid="outbox-control" data-kind=message.kind.id() data-state=message.state.id()>
            <td>{message.kind.id()}</td>
            <td>{about}</td>
            <td><span class=class>{label}</span>{(message.attempts > 1).then(|| format!(" ({} attempts)", message.attempts))}</td>
        </tr>
    }
}
