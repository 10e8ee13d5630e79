//! The Consent page: a person (or a patient at a clinic kiosk) chooses, purpose by purpose, what their
//! data may be used for. Every choice is one ledger event; what is allowed is always derived by
//! replaying the ledger through `veil_consent::decide` under every jurisdiction that applies, and the
//! page shows the outcome with the rule and citation that decided it.

use leptos::prelude::*;
use leptos::task::spawn_local;
use veil_consent::{
    Channel, ConsentEvent, ConsentLedger, Decision, EventKind, Jurisdiction, Outcome, Party,
    Purpose, PurposeScope, ResearchTier, Standing,
};

use crate::components::ErrorText;
use crate::error::AppError;
use crate::outbox;
use crate::patient_session::{self, PatientSession, now};
use crate::platform::{download, patient};
use veil_core::Coded;

/// A random pseudonymous subject id for a new ledger (never derived from the person).
fn new_subject_id() -> String {
    let mut bytes = [0u8; 12];
    if let Some(crypto) = web_sys::window().and_then(|w| w.crypto().ok()) {
        let _ = crypto.get_random_values_with_u8_array(&mut bytes);
    }
    format!("p-{}", hex::encode(bytes))
}

/// The jurisdiction codes Veil has reviewed rules for, for the picker.
fn known_codes() -> Vec<String> {
    veil_consent::rules::supported_jurisdictions()
        .map(|js| js.into_iter().map(|j| j.code).collect())
        .unwrap_or_default()
}

/// The browser's locale region (`de-DE` -> `DE`), if Veil has rules for it.
fn locale_guess(codes: &[String]) -> String {
    let lang = web_sys::window()
        .and_then(|w| w.navigator().language())
        .unwrap_or_default();
    let region = lang
        .split(['-', '_'])
        .nth(1)
        .unwrap_or_default()
        .to_ascii_uppercase();
    if codes.contains(&region) {
        region
    } else {
        String::new()
    }
}

/// The uses a person decides on: each purpose once, research in its three tiers.
fn scopes() -> Vec<PurposeScope> {
    let mut out = Vec::new();
    for purpose in Purpose::ALL {
        match purpose {
            Purpose::Research => out.extend(
                [
                    ResearchTier::ThisStudy,
                    ResearchTier::RelatedStudies,
                    ResearchTier::AnyResearch,
                ]
                .into_iter()
                .map(PurposeScope::research),
            ),
            Purpose::PartnerSharing => out.push(PurposeScope {
                partner: Some("Partner portal".into()),
                ..PurposeScope::plain(purpose)
            }),
            Purpose::CrossBorderTransfer => out.push(PurposeScope {
                country: Some("US".into()),
                ..PurposeScope::plain(purpose)
            }),
            _ => out.push(PurposeScope::plain(purpose)),
        }
    }
    out
}

fn scope_id(scope: &PurposeScope) -> String {
    match scope.tier {
        Some(tier) => format!("{}-{}", scope.purpose.id(), tier.id()),
        None => scope.purpose.id().to_string(),
    }
}

/// The Consent page.
#[component]
pub fn Consent() -> impl IntoView {
    let session = RwSignal::new(patient_session::load());
    let error = RwSignal::new(None::<AppError>);
    view! {
        <section aria-labelledby="consent-title" data-testid="page-consent">
            <h1 id="consent-title">"Consent"</h1>
            <p>"Choose what your data may be used for, purpose by purpose. You can withdraw any consent as easily as you gave it; every change is recorded and you get a receipt."</p>
            <KioskBar session error/>
            {move || error.get().map(|error| {
                let code = error.code;
                view! { <p class="error" role="alert" data-testid="consent-error" data-code=code><ErrorText error/></p> }
            })}
            {move || match session.get() {
                None => view! { <SubjectSetup session/> }.into_any(),
                Some(_) => view! { <ConsentBoard session error/> }.into_any(),
            }}
        </section>
    }
}

/// Kiosk mode: a clinic starts a patient session with a staff id; ending it wipes the patient.
#[component]
fn KioskBar(
    session: RwSignal<Option<PatientSession>>,
    error: RwSignal<Option<AppError>>,
) -> impl IntoView {
    let staff = RwSignal::new(String::new());
    let kiosk = move || session.with(|s| s.as_ref().and_then(|s| s.kiosk_staff.clone()));
    let pending_kiosk = RwSignal::new(None::<String>);
    provide_context(pending_kiosk);
    let end = move |_| {
        spawn_local(async move {
            match patient::wipe().await {
                Ok(()) => {
                    session.set(None);
                    pending_kiosk.set(None);
                    error.set(None);
                    // Storage is clean; the patient is still in memory (readings on the Devices
                    // page, the model and report on the Models page, the mesh worker's heap). A
                    // reload drops all of it; the service worker serves the app offline too.
                    if let Some(window) = web_sys::window() {
                        let _ = window.location().reload();
                    }
                }
                Err(e) => error.set(Some(e.context("The session could not be wiped"))),
            }
        });
    };
    view! {
        <div class="card kiosk" data-testid="kiosk">
            {move || match kiosk().or(pending_kiosk.get()) {
                Some(id) => view! {
                    <p>"Clinic kiosk session started by staff member " <strong data-testid="kiosk-staff">{id}</strong>
                       ". Ending it removes everything about this patient from this device."</p>
                    <button type="button" data-testid="kiosk-end" on:click=end>"End patient session"</button>
                }.into_any(),
                None => view! {
                    <label for="kiosk-staff-id">"Clinic staff: start a kiosk patient session"</label>
                    " "
                    <input id="kiosk-staff-id" data-testid="kiosk-staff-id" type="text" autocomplete="off"
                        prop:value=move || staff.get()
                        on:input=move |ev| staff.set(event_target_value(&ev))/>
                    " "
                    <button type="button" data-testid="kiosk-start"
                        disabled=move || staff.with(|s| s.trim().is_empty()) || session.with(Option::is_some)
                        on:click=move |_| pending_kiosk.set(Some(staff.get().trim().to_string()))>
                        "Start kiosk session"
                    </button>
                }.into_any(),
            }}
        </div>
    }
}

/// Who the person is, legally: jurisdictions (pre-selected from the browser, always confirmed), age,
/// the guardian for a minor, and the language of the texts.
#[component]
fn SubjectSetup(session: RwSignal<Option<PatientSession>>) -> impl IntoView {
    let codes = known_codes();
    let guess = locale_guess(&codes);
    let primary = RwSignal::new(guess.clone());
    let secondary = RwSignal::new(String::new());
    let age = RwSignal::new(String::new());
    let guardian = RwSignal::new(String::new());
    let lang = RwSignal::new(
        if web_sys::window()
            .and_then(|w| w.navigator().language())
            .is_some_and(|l| l.starts_with("de"))
        {
            "de".to_string()
        } else {
            "en".to_string()
        },
    );
    let pending_kiosk = use_context::<RwSignal<Option<String>>>();
    let problem = RwSignal::new(None::<String>);
    let options = move |selected: RwSignal<String>, codes: Vec<String>| {
        codes
            .into_iter()
            .map(|c| {
                let value = c.clone();
                view! { <option value=value.clone() selected=move || selected.get() == value>{c}</option> }
            })
            .collect_view()
    };
    let needs_guardian = move || {
        let js = Jurisdiction::parse_list([primary.get(), secondary.get()]).unwrap_or_default();
        let age: u32 = age.get().trim().parse().unwrap_or(u32::MAX);
        let threshold = veil_consent::rules::applicable(&js)
            .map(|rs| {
                rs.iter()
                    .map(|(r, _)| r.consent_age(&js).0)
                    .max()
                    .unwrap_or(18)
            })
            .unwrap_or(18);
        age < threshold
    };
    let confirm = move |_| {
        let mut jurisdictions = vec![primary.get()];
        if !secondary.get().is_empty() && secondary.get() != primary.get() {
            jurisdictions.push(secondary.get());
        }
        // Where the person lives is required; the list is read as the CLI and npm read it.
        let checked = match primary.get().trim() {
            "" => Err(veil_consent::ConsentError::NoJurisdiction),
            _ => Jurisdiction::parse_list(&jurisdictions),
        };
        if let Err(e) = checked {
            problem.set(Some(match e {
                veil_consent::ConsentError::UnknownJurisdiction(bad) => {
                    format!("Please choose a jurisdiction ({bad:?} is not one Veil knows).")
                }
                _ => "Please choose a jurisdiction.".to_owned(),
            }));
            return;
        }
        let Ok(years) = age.get().trim().parse::<u32>() else {
            problem.set(Some("Please enter the age in whole years.".into()));
            return;
        };
        if needs_guardian() && guardian.get().trim().is_empty() {
            problem.set(Some(
                "A parent or guardian must take part: please enter their name.".into(),
            ));
            return;
        }
        let ledger = match ConsentLedger::new(&new_subject_id()).and_then(|l| l.to_json()) {
            Ok(json) => json,
            Err(e) => {
                problem.set(Some(e.coded_message()));
                return;
            }
        };
        let s = PatientSession {
            jurisdictions,
            age: years,
            lang: lang.get(),
            guardian: needs_guardian().then(|| guardian.get().trim().to_string()),
            kiosk_staff: pending_kiosk.and_then(|k| k.get()),
            ledger,
            receipts: Vec::new(),
        };
        patient_session::store(&s);
        session.set(Some(s));
    };
    let codes2 = codes.clone();
    view! {
        <form class="card" data-testid="consent-setup" on:submit=move |ev| { ev.prevent_default(); }>
            <h2>"Who decides, and under which law"</h2>
            <p>"We suggested a jurisdiction from your browser's language settings. Please check it: the rules that protect you depend on it."</p>
            <label for="jurisdiction">"Where you live"</label>
            <select id="jurisdiction" data-testid="consent-jurisdiction"
                on:change=move |ev| primary.set(event_target_value(&ev))>
                <option value="" selected=guess.is_empty()>"Choose..."</option>
                {options(primary, codes)}
            </select>
            <label for="jurisdiction-2">"Also treated in (optional)"</label>
            <select id="jurisdiction-2" data-testid="consent-jurisdiction-2"
                on:change=move |ev| secondary.set(event_target_value(&ev))>
                <option value="" selected=true>"Nowhere else"</option>
                {options(secondary, codes2)}
            </select>
            <label for="age">"Age (years)"</label>
            <input id="age" data-testid="consent-age" type="number" min="0" max="150" inputmode="numeric"
                prop:value=move || age.get() on:input=move |ev| age.set(event_target_value(&ev))/>
            <Show when=needs_guardian>
                <p data-testid="consent-minor">"Under the age of digital consent here: a parent or guardian gives consent with you."</p>
                <label for="guardian">"Parent or guardian's name"</label>
                <input id="guardian" data-testid="consent-guardian" type="text" autocomplete="off"
                    prop:value=move || guardian.get() on:input=move |ev| guardian.set(event_target_value(&ev))/>
            </Show>
            <label for="lang">"Language of the consent texts"</label>
            <select id="lang" data-testid="consent-lang" on:change=move |ev| lang.set(event_target_value(&ev))>
                <option value="en" selected=move || lang.get() == "en">"English"</option>
                <option value="de" selected=move || lang.get() == "de">"Deutsch"</option>
            </select>
            {move || problem.get().map(|p| view! { <p class="error" role="alert">{p}</p> })}
            <p><button type="button" class="primary" data-testid="consent-confirm" on:click=confirm>"Confirm"</button></p>
        </form>
    }
}

/// One card per purpose, the history, receipts and FHIR export.
#[component]
fn ConsentBoard(
    session: RwSignal<Option<PatientSession>>,
    error: RwSignal<Option<AppError>>,
) -> impl IntoView {
    let toggle = move |scope: PurposeScope, give: bool| {
        let Some(mut s) = session.get_untracked() else {
            return;
        };
        let result = (|| -> Result<(), AppError> {
            let mut ledger = s.ledger()?;
            let kind = match (give, s.guardian.is_some()) {
                (false, _) => EventKind::Withdrawn,
                (true, true) => EventKind::GuardianGiven,
                (true, false) => EventKind::Given,
            };
            let mut event = ConsentEvent::new(kind, scope.clone(), now(), s.channel());
            if give {
                let text = veil_consent::text::current(scope.purpose, &s.lang)?;
                event.text = Some(text.reference());
                event.guardian = s.guardian.clone();
            }
            let index = ledger.append(event)?;
            s.ledger = ledger.to_json()?;
            s.receipts
                .push(receipt(&ledger, index, &s.jurisdictions()?)?);
            Ok(())
        })();
        match result {
            Ok(()) => {
                patient_session::store(&s);
                session.set(Some(s));
                error.set(None);
                if !give {
                    // Withdrawal stops queued uploads for the purpose before they leave, and revokes
                    // what was already delivered.
                    spawn_local(async move {
                        if let Err(e) = outbox::on_consent_withdrawn(&scope).await {
                            error.set(Some(e));
                        }
                    });
                } else {
                    outbox::audit_later(
                        veil_audit::AuditEvent::ConsentChange,
                        serde_json::json!({ "change": "given", "purpose": scope.label() }),
                    );
                }
            }
            Err(e) => error.set(Some(e)),
        }
    };
    let cards = move || {
        let Some(s) = session.get() else {
            return Vec::new();
        };
        let Ok(ledger) = s.ledger() else {
            return Vec::new();
        };
        scopes()
            .into_iter()
            .map(|scope| {
                let standing = ledger.standing(&scope, now());
                let decision = s.decide(&ledger, &scope);
                let text = veil_consent::text::current(scope.purpose, &s.lang).ok();
                let active = matches!(standing, Standing::Active { .. });
                let id = scope_id(&scope);
                let scope_for_click = scope.clone();
                view! {
                    <article class="card purpose" data-testid=format!("purpose-{id}")>
                        <h3>{text.map(|t| t.title.clone()).unwrap_or_else(|| scope.label())}</h3>
                        <p>{text.map(|t| t.body.clone()).unwrap_or_default()}</p>
                        <p class="muted">{text.map(|t| format!("Text version {} ({}), SHA-256 {}", t.version, t.lang, &t.sha256[..12])).unwrap_or_default()}</p>
                        <p data-testid=format!("standing-{id}")>{standing_text(&standing)}</p>
                        <DecisionView decision id=id.clone()/>
                        <button type="button" class:primary=!active data-testid=format!("toggle-{id}")
                            aria-pressed=if active { "true" } else { "false" }
                            on:click=move |_| toggle(scope_for_click.clone(), !active)>
                            {if active { "Withdraw consent" } else { "Give consent" }}
                        </button>
                    </article>
                }
            })
            .collect::<Vec<_>>()
    };
    view! {
        <div class="card" data-testid="consent-subject">
            {move || session.get().map(|s| view! {
                <p>"Jurisdictions: " <strong>{s.jurisdictions.join(", ")}</strong>
                   " · age " {s.age}
                   {s.guardian.as_ref().map(|_| " · with a guardian")}
                   " · texts in " {s.lang.clone()}</p>
            })}
        </div>
        <div class="purpose-list">{cards}</div>
        <History session/>
        <Exports session error/>
    }
}

fn standing_text(standing: &Standing) -> String {
    match standing {
        Standing::None => "Not given".into(),
        Standing::Active {
            since,
            by,
            expires_at,
            ..
        } => format!(
            "Given {}{}{}",
            since.to_rfc3339(),
            if matches!(by, veil_consent::GivenBy::Guardian) {
                " by the guardian"
            } else {
                ""
            },
            expires_at
                .map(|e| format!(", until {}", e.to_rfc3339()))
                .unwrap_or_default()
        ),
        Standing::Withdrawn { at, .. } => format!("Withdrawn {}", at.to_rfc3339()),
        Standing::Expired { at } => format!("Expired {}", at.to_rfc3339()),
    }
}

/// What the law says for this use now, with every rule and citation that applied.
#[component]
fn DecisionView(decision: Result<Decision, AppError>, id: String) -> impl IntoView {
    match decision {
        Err(error) => {
            let code = error.code;
            view! { <p class="error" data-testid=format!("decision-{id}") data-code=code><ErrorText error/></p> }
                .into_any()
        }
        Ok(d) => {
            let (class, label) = match d.decision {
                Outcome::Allow => ("badge verified", "Allowed"),
                Outcome::NeedsConsent => ("badge unverified", "Needs consent"),
                Outcome::Deny => ("badge rejected", "Not allowed"),
            };
            let from_guardian = d.requires.iter().any(|r| r.from == Party::Guardian);
            view! {
                <div class="decision" data-testid=format!("decision-{id}") data-outcome=d.decision.id()>
                    <span class=class>{label}</span>
                    {from_guardian.then_some(" (from the parent or guardian)")}
                    <p>{d.basis.clone()}</p>
                    <details>
                        <summary>"Rules applied"</summary>
                        <ul>
                            {d.rules.iter().map(|r| view! {
                                <li>{format!("{} ({}): {} — {}", r.regime, r.jurisdictions.join(", "), r.outcome.id(), r.basis)}</li>
                            }).collect_view()}
                        </ul>
                        <p class="citations">{d.citations.join("; ")}</p>
                    </details>
                </div>
            }
            .into_any()
        }
    }
}

/// The ledger as a timeline, newest first.
#[component]
fn History(session: RwSignal<Option<PatientSession>>) -> impl IntoView {
    let rows = move || {
        let ledger = session.get().and_then(|s| s.ledger().ok());
        let mut events: Vec<ConsentEvent> = ledger.map(|l| l.events().to_vec()).unwrap_or_default();
        events.reverse();
        events
            .into_iter()
            .map(|e| {
                let channel = match &e.channel {
                    Channel::OwnDevice => "own device".to_string(),
                    Channel::Kiosk { staff_id } => format!("clinic kiosk (staff {staff_id})"),
                    Channel::Imported { source } => format!("imported from {source}"),
                };
                view! {
                    <li data-testid="history-event">
                        <time>{e.at.to_rfc3339()}</time> " · " <strong>{e.kind.id()}</strong>
                        " · " {e.scope.label()} " · " {channel}
                    </li>
                }
            })
            .collect_view()
    };
    view! {
        <section class="card" aria-labelledby="history-title">
            <h2 id="history-title">"History"</h2>
            <ol class="timeline" data-testid="consent-history">{rows}</ol>
        </section>
    }
}

/// Receipts for download, and the whole ledger as a FHIR R4 Consent Bundle.
#[component]
fn Exports(
    session: RwSignal<Option<PatientSession>>,
    error: RwSignal<Option<AppError>>,
) -> impl IntoView {
    let export_fhir = move |_| {
        let Some(s) = session.get_untracked() else {
            return;
        };
        match s
            .ledger()
            .and_then(|l| Ok(veil_consent::export_bundle_json(&l, Some(now()))?))
        {
            Ok(json) => download::offer(
                "veil-consent-fhir.json",
                "application/fhir+json",
                json.as_bytes(),
            ),
            Err(e) => error.set(Some(e)),
        }
    };
    let receipts = move || {
        session
            .get()
            .map(|s| s.receipts.clone())
            .unwrap_or_default()
            .into_iter()
            .rev()
            .map(|(name, json, html)| {
                let json_name = format!("{name}.json");
                let html_name = format!("{name}.html");
                view! {
                    <li data-testid="receipt">
                        {name.clone()} " "
                        <button type="button" data-testid="receipt-json"
                            on:click=move |_| download::offer(&json_name, "application/json", json.as_bytes())>"JSON"</button>
                        " "
                        <button type="button" data-testid="receipt-html"
                            on:click=move |_| download::offer(&html_name, "text/html", html.as_bytes())>"Printable"</button>
                    </li>
                }
            })
            .collect_view()
    };
    view! {
        <section class="card" aria-labelledby="receipts-title">
            <h2 id="receipts-title">"Receipts and export"</h2>
            <ul data-testid="consent-receipts">{receipts}</ul>
            <button type="button" data-testid="consent-export-fhir" on:click=export_fhir>"Export as FHIR Consent"</button>
        </section>
    }
}

/// The data controller named on receipts: the deployment's configuration (`veil.config.controller`
/// in localStorage, set by the clinic), or a plain statement that this browser holds the data.
fn controller() -> veil_consent::Controller {
    web_sys::window()
        .and_then(|w| w.local_storage().ok().flatten())
        .and_then(|s| s.get_item("veil.config.controller").ok().flatten())
        .and_then(|json| serde_json::from_str(&json).ok())
        .unwrap_or_else(|| veil_consent::Controller {
            pii_controller: "The operator of this Veil deployment".into(),
            contact: "Privacy office".into(),
            address: "See the operator's privacy notice".into(),
            email: "privacy@example.invalid".into(),
            phone: "n/a".into(),
            policy_url: "/settings".into(),
        })
}

/// A consent receipt for the event at `index`: (name, JSON, printable HTML).
fn receipt(
    ledger: &ConsentLedger,
    index: usize,
    jurisdictions: &[Jurisdiction],
) -> Result<(String, String, String), AppError> {
    let receipt = veil_consent::receipt_for(ledger, index, jurisdictions, &controller())?;
    let json = receipt.to_json()?;
    let html = receipt.to_html();
    Ok((format!("consent-receipt-{}", index + 1), json, html))
}
