//! Settings section: the recipients (`crate::recipients`). Each is entered with its name, its key
//! (fetched from this clinic server's `/v1/recipient-key`, or imported: the same JSON pasted, for a
//! server this page may not reach, since the app only talks to its own origin), its country, the
//! transfer safeguard, its controller's contact, and where it receives (this server for a fetched
//! key; a server URL, or none, for an imported one). Only what is set up is listed.

use leptos::prelude::*;
use leptos::task::spawn_local;
use veil_consent::{Controller, TransferMechanism};
use veil_outbox::Answer;

use crate::components::ErrorText;
use crate::error::AppError;
use crate::platform::http::request;
use crate::recipients::{self, AnnouncedKey, Recipient};

/// The form's content.
#[derive(Debug, Clone, Default)]
struct Draft {
    name: String,
    country: String,
    mechanism: String,
    controller: String,
    email: String,
    address: String,
    phone: String,
    policy: String,
    key: Option<(AnnouncedKey, String)>,
    import: String,
    /// Where it receives: this server's origin for a fetched key, typed for an imported one.
    server: String,
}

/// "Recipients".
#[component]
pub fn Recipients() -> impl IntoView {
    let list = RwSignal::new(recipients::all());
    let draft = RwSignal::new(Draft::default());
    let problem = RwSignal::new(None::<AppError>);
    let note = RwSignal::new(None::<String>);
    let fetch_key = move |_| {
        spawn_local(async move {
            match request("GET", "/v1/recipient-key", &[], None, None).await {
                Answer::Answered { status: 200, body } => match AnnouncedKey::parse(&body) {
                    Ok(key) => {
                        let origin = web_sys::window()
                            .and_then(|w| w.location().origin().ok())
                            .unwrap_or_default();
                        draft.update(|d| {
                            d.key = Some((key, format!("fetched {origin}/v1/recipient-key")));
                            d.server = origin;
                        });
                        problem.set(None);
                    }
                    Err(e) => problem.set(Some(e)),
                },
                _ => problem.set(Some(AppError::new(
                    crate::error::RECIPIENT_UNKNOWN,
                    "this clinic server did not answer with its key (offline?)",
                ))),
            }
        });
    };
    let import_key = move |_| match AnnouncedKey::parse(&draft.get_untracked().import) {
        Ok(key) => {
            draft.update(|d| d.key = Some((key, "imported".into())));
            problem.set(None);
        }
        Err(e) => problem.set(Some(e)),
    };
    let save = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        let d = draft.get_untracked();
        let Some((key, source)) = d.key.clone() else {
            note.set(Some("Please fetch or import the recipient's key.".into()));
            return;
        };
        let mechanism = match d.mechanism.as_str() {
            "" => None,
            m => m.parse::<TransferMechanism>().ok(),
        };
        let recipient = Recipient {
            name: d.name.clone(),
            kid: key.kid.clone(),
            public_key: key.public_key.clone(),
            key_source: source,
            announced_id: key.recipient.clone(),
            server: Some(d.server.trim().to_owned()).filter(|s| !s.is_empty()),
            country: d.country.clone(),
            mechanism,
            controller: Controller {
                pii_controller: d.controller.trim().to_owned(),
                contact: format!("Privacy office of {}", d.controller.trim()),
                address: d.address.trim().to_owned(),
                email: d.email.trim().to_owned(),
                phone: d.phone.trim().to_owned(),
                policy_url: d.policy.trim().to_owned(),
            },
        };
        match recipient.validated() {
            Ok(r) => match recipients::add(r) {
                Ok(()) => {
                    list.set(recipients::all());
                    draft.set(Draft::default());
                    note.set(None);
                    problem.set(None);
                }
                Err(e) => problem.set(Some(e)),
            },
            Err(p) => note.set(Some(p)),
        }
    };
    let text = move |key: &'static str,
                     label: &'static str,
                     get: fn(&Draft) -> String,
                     set: fn(&mut Draft, String)| {
        let id = format!("recipient-{key}");
        view! {
            <label for=id.clone()>{label}</label>
            <input type="text" id=id.clone() data-testid=id autocomplete="off"
                prop:value=move || draft.with(get)
                on:input=move |ev| draft.update(|d| set(d, event_target_value(&ev)))/>
        }
    };
    view! {
        <section class="card" aria-labelledby="recipients-title" data-testid="recipients-section">
            <h2 id="recipients-title">"Recipients"</h2>
            <p>"Who may receive your data beyond this clinic's server: partners you may share with, and recipients abroad. Receipts name each one's controller."</p>
            {move || {
                let rows = list.get();
                if rows.is_empty() {
                    view! { <p data-testid="recipients-none">"No recipient is set up."</p> }.into_any()
                } else {
                    view! {
                        <ul data-testid="recipients-list">
                            {rows.into_iter().map(|r| {
                                let name = r.name.clone();
                                view! {
                                    <li data-testid="recipient" data-name=r.name.clone()>
                                        <strong>{r.name.clone()}</strong>
                                        {format!(" · {} · {} · key {} ({}) · {} · controller {}, {}",
                                            r.country,
                                            r.mechanism.map_or("no transfer safeguard named", TransferMechanism::id),
                                            &r.kid[..r.kid.len().min(16)],
                                            r.key_source,
                                            match r.delivery() {
                                                recipients::Delivery::Upload => "uploaded to this clinic's server".to_owned(),
                                                recipients::Delivery::HandOver(Some(s)) => format!("receives at {s}: handed over as a file"),
                                                recipients::Delivery::HandOver(None) => "handed over as a file".to_owned(),
                                            },
                                            r.controller.pii_controller,
                                            r.controller.email)}
                                        " "
                                        <button type="button" data-testid="recipient-remove"
                                            on:click=move |_| {
                                                match recipients::remove(&name) {
                                                    Ok(()) => list.set(recipients::all()),
                                                    Err(e) => problem.set(Some(e)),
                                                }
                                            }>"Remove"</button>
                                    </li>
                                }
                            }).collect_view()}
                        </ul>
                    }.into_any()
                }
            }}
            <form data-testid="recipient-form" on:submit=save>
                <h3>"Add a recipient"</h3>
                {text("name", "Name", |d| d.name.clone(), |d, v| d.name = v)}
                {text("country", "Country (ISO code, e.g. DE, US)", |d| d.country.clone(), |d, v| d.country = v)}
                <label for="recipient-mechanism">"Transfer safeguard"</label>
                <select id="recipient-mechanism" data-testid="recipient-mechanism"
                    on:change=move |ev| draft.update(|d| d.mechanism = event_target_value(&ev))>
                    <option value="" selected=move || draft.with(|d| d.mechanism.is_empty())>"None named"</option>
                    {TransferMechanism::ALL.into_iter().map(|m| view! {
                        <option value=m.id() selected=move || draft.with(|d| d.mechanism == m.id())>{m.id()}</option>
                    }).collect_view()}
                </select>
                {text("controller", "Controller (organisation)", |d| d.controller.clone(), |d, v| d.controller = v)}
                {text("email", "Controller's privacy email", |d| d.email.clone(), |d, v| d.email = v)}
                {text("address", "Controller's address", |d| d.address.clone(), |d, v| d.address = v)}
                {text("phone", "Controller's phone (optional)", |d| d.phone.clone(), |d, v| d.phone = v)}
                {text("policy", "Privacy policy URL (optional)", |d| d.policy.clone(), |d, v| d.policy = v)}
                <fieldset>
                    <legend>"Key"</legend>
                    {move || draft.with(|d| d.key.as_ref().map(|(k, source)| view! {
                        <p data-testid="recipient-key">{format!("Key {} ({source})", &k.kid[..k.kid.len().min(16)])}</p>
                    }))}
                    <button type="button" data-testid="recipient-fetch" on:click=fetch_key>"Fetch this clinic server's key"</button>
                    <label for="recipient-import">"Or paste the key another server announces (its /v1/recipient-key JSON)"</label>
                    <textarea id="recipient-import" data-testid="recipient-import" rows="2"
                        prop:value=move || draft.with(|d| d.import.clone())
                        on:input=move |ev| draft.update(|d| d.import = event_target_value(&ev))></textarea>
                    <button type="button" data-testid="recipient-import-key" on:click=import_key>"Import key"</button>
                    {text("server", "Where it receives: its server's URL (blank when it takes artifacts as files)", |d| d.server.clone(), |d, v| d.server = v)}
                </fieldset>
                {move || note.get().map(|n| view! { <p class="error" role="alert" data-testid="recipient-problem">{n}</p> })}
                {move || problem.get().map(|error| {
                    let code = error.code;
                    view! { <p class="error" role="alert" data-testid="recipient-error" data-code=code><ErrorText error/></p> }
                })}
                <p><button type="submit" class="primary" data-testid="recipient-save">"Add recipient"</button></p>
            </form>
        </section>
    }
}
