//! The Consent page: a person (or a patient at a clinic kiosk) chooses, purpose by purpose, what their
//! data may be used for. Every choice is one ledger event; what is allowed is always derived by
//! replaying the ledger through `veil_consent::decide` under every jurisdiction that applies, and the
//! page shows the outcome with the rule and citation that decided it.

mod authorization;
mod names;

use leptos::prelude::*;
use leptos::task::spawn_local;
use veil_consent::{
    Channel, ConsentEvent, ConsentLedger, Decision, EventKind, Jurisdiction, Outcome, Party,
    Purpose, PurposeScope, ResearchTier, Standing, Timestamp,
};

use authorization::AuthorizationForm;
use names::{controller_for, scope_id};

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

/// The languages consent texts exist in (the catalogue of `veil_consent::text`).
fn text_languages() -> Vec<&'static str> {
    veil_consent::text::languages().unwrap_or_else(|_| vec!["en"])
}

/// A language's own name.
fn language_name(code: &str) -> String {
    match code {
        "en" => "English".into(),
        "de" => "Deutsch".into(),
        "fr" => "Français".into(),
        "es" => "Español".into(),
        other => other.to_owned(),
    }
}

/// The first of the browser's preferred languages that consent texts exist in (GDPR Art. 12: a
/// language the person understands), else English.
fn browser_language() -> String {
    let available = text_languages();
    let preferred: Vec<String> = web_sys::window()
        .map(|w| {
            w.navigator()
                .languages()
                .iter()
                .filter_map(|l| l.as_string())
                .collect()
        })
        .unwrap_or_default();
    preferred
        .iter()
        .filter_map(|l| l.split(['-', '_']).next())
        .find_map(|l| {
            available
                .iter()
                .find(|a| a.eq_ignore_ascii_case(l))
                .map(|a| (*a).to_owned())
        })
        .unwrap_or_else(|| "en".to_owned())
}

/// The uses a person decides on: each purpose once, research in its three tiers, partner sharing
/// once per recipient set up in Settings and a transfer once per country they are in (none when
/// no recipient is set up: nothing is invented).
fn scopes() -> Vec<PurposeScope> {
    let recipients = crate::recipients::all();
    let mut countries: Vec<String> = recipients.iter().map(|r| r.country.clone()).collect();
    countries.sort();
    countries.dedup();
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
            Purpose::PartnerSharing => out.extend(recipients.iter().map(|r| PurposeScope {
                partner: Some(r.name.clone()),
                ..PurposeScope::plain(purpose)
            })),
            Purpose::CrossBorderTransfer => out.extend(countries.iter().map(|c| PurposeScope {
                country: Some(c.clone()),
                ..PurposeScope::plain(purpose)
            })),
            _ => out.push(PurposeScope::plain(purpose)),
        }
    }
    out
}

/// Who receives what a consent for `scope` allows, as the card says it.
fn recipient_line(scope: &PurposeScope) -> Option<String> {
    let all = crate::recipients::all();
    if let Some(p) = &scope.partner {
        let r = all.iter().find(|r| &r.name == p)?;
        return Some(format!(
            "Shared with {} ({}), controller {} <{}>",
            r.name, r.country, r.controller.pii_controller, r.controller.email
        ));
    }
    let c = scope.country.as_ref()?;
    let names: Vec<String> = all
        .iter()
        .filter(|r| &r.country == c)
        .map(|r| r.name.clone())
        .collect();
    Some(format!(
        "Transferred to {c}: {}; safeguard: {}",
        names.join(", "),
        crate::recipients::mechanism_for(c)
            .map_or("none named", veil_consent::TransferMechanism::id)
    ))
}

/// The Consent page.
#[component]
pub fn Consent() -> impl IntoView {
    let session = RwSignal::new(patient_session::load());
    let error = RwSignal::new(None::<AppError>);
    let confirmed = Memo::new(move |_| session.with(Option::is_some));
    view! {
        <section aria-labelledby="consent-title" data-testid="page-consent">
            <h1 id="consent-title">"Consent"</h1>
            <p>"Choose what your data may be used for, purpose by purpose. You can withdraw any consent as easily as you gave it; every change is recorded and you get a receipt."</p>
            <KioskBar session error/>
            {move || error.get().map(|error| {
                let code = error.code;
                view! { <p class="error" role="alert" data-testid="consent-error" data-code=code><ErrorText error/></p> }
            })}
            // Built once per session, not on every change of it: the board's parts follow the
            // session themselves, and what staff typed (their id, the study) stays as it is.
            {move || match confirmed.get() {
                false => view! { <SubjectSetup session/> }.into_any(),
                true => view! { <ConsentBoard session error/> }.into_any(),
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
            // Storage first, then memory: a fresh document at the start page holds nothing of
            // this patient (readings on the Devices page, the model and report on the Models page,
            // the mesh worker's heap, the outbox views). The service worker serves it offline too.
            match patient::end_kiosk_session().await {
                Ok(()) => {
                    session.set(None);
                    pending_kiosk.set(None);
                    error.set(None);
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
    let lang = RwSignal::new(browser_language());
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
    // Who must take part, by the capacity each applicable law sets per purpose (not the GDPR
    // Art. 8 age of the app's own online consent): one line per law and purpose that asks for the
    // guardian, with the reason and its source.
    let capacity_reasons = move || -> Vec<String> {
        let js = Jurisdiction::parse_list([primary.get(), secondary.get()]).unwrap_or_default();
        let Ok(years) = age.get().trim().parse::<u32>() else {
            return Vec::new();
        };
        let Ok(regimes) = veil_consent::rules::applicable(&js) else {
            return Vec::new();
        };
        let mut out = Vec::new();
        for (regime, _) in regimes.iter().filter(|(r, _)| r.decides(None)) {
            for purpose in Purpose::ALL {
                let capacity = regime.capacity(&js, purpose, years);
                if let Some(below) = capacity.below {
                    out.push(format!(
                        "{}: {} below {} for {} ({})",
                        regime.name,
                        match below {
                            veil_consent::BelowCapacity::Guardian =>
                                "the parent or guardian consents",
                            veil_consent::BelowCapacity::GuardianAndAssent => {
                                "the parent or guardian consents and the minor assents"
                            }
                            veil_consent::BelowCapacity::Joint => {
                                "the parent or guardian and the minor both consent"
                            }
                        },
                        capacity.age,
                        purpose.id(),
                        capacity.citations.join("; ")
                    ));
                }
            }
        }
        out
    };
    let needs_guardian = move || !capacity_reasons().is_empty();
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
            study: None,
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
                <p data-testid="consent-minor">"Below the age at which the law lets you decide alone on some uses: a parent or guardian takes part."</p>
                <ul data-testid="consent-minor-reasons">
                    {move || capacity_reasons().into_iter().map(|r| view! { <li>{r}</li> }).collect_view()}
                </ul>
                <label for="guardian">"Parent or guardian's name"</label>
                <input id="guardian" data-testid="consent-guardian" type="text" autocomplete="off"
                    prop:value=move || guardian.get() on:input=move |ev| guardian.set(event_target_value(&ev))/>
            </Show>
            <label for="lang">"Language of the consent texts"</label>
            <select id="lang" data-testid="consent-lang" on:change=move |ev| lang.set(event_target_value(&ev))>
                {text_languages().into_iter().map(|code| view! {
                    <option value=code selected=move || lang.get() == code>{language_name(code)}</option>
                }).collect_view()}
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
    // Append one event to the ledger, with its receipt; a withdrawal also stops and revokes what
    // rests on the consent.
    let record = move |event: ConsentEvent| {
        let Some(mut s) = session.get_untracked() else {
            return;
        };
        let scope = event.scope.clone();
        let kind = event.kind;
        let result = (|| -> Result<(), AppError> {
            let mut ledger = s.ledger()?;
            let index = ledger.append(event)?;
            s.ledger = ledger.to_json()?;
            // A receipt is for the person's own consent; a waiver or a study's end is staff's.
            if !kind.by_staff() {
                s.receipts
                    .push(receipt(&ledger, index, &s.jurisdictions()?, &s.lang)?);
            }
            Ok(())
        })();
        match result {
            Ok(()) => {
                patient_session::store(&s);
                session.set(Some(s));
                error.set(None);
                if kind == EventKind::Withdrawn {
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
                        serde_json::json!({ "change": kind.id(), "purpose": scope.label() }),
                    );
                }
            }
            Err(e) => error.set(Some(e)),
        }
    };
    // A plain consent step: `kind` for `scope`, with the text shown.
    let step = move |scope: PurposeScope, kind: EventKind, (expires, study): Ends| {
        let Some(s) = session.get_untracked() else {
            return;
        };
        let mut event = ConsentEvent::new(kind, scope.clone(), now(), s.channel());
        event.expires_at = expires.filter(|_| kind != EventKind::Withdrawn);
        if let Some(study) = study.filter(|_| kind != EventKind::Withdrawn) {
            // An end by event, where every law that applies allows one (not California's
            // § 56.11(b)(8), which asks for a date).
            let checked = s.jurisdictions().and_then(|js| {
                Ok(veil_consent::check_study_end(
                    &js,
                    scope.purpose,
                    event.at,
                    event.expires_at.is_some(),
                )?)
            });
            if let Err(e) = checked {
                error.set(Some(e));
                return;
            }
            event.study = Some(study);
        }
        if kind != EventKind::Withdrawn {
            match veil_consent::text::current(scope.purpose, &s.lang) {
                Ok(text) => event.text = Some(text.reference()),
                Err(e) => {
                    error.set(Some(e.into()));
                    return;
                }
            }
            if kind == EventKind::GuardianGiven {
                event.guardian = s.guardian.clone();
            }
        }
        record(event);
    };
    let toggle = move |scope: PurposeScope, give: bool, expires: Ends| {
        let guardian = session.with_untracked(|s| s.as_ref().is_some_and(|s| s.guardian.is_some()));
        let kind = match (give, guardian) {
            (false, _) => EventKind::Withdrawn,
            (true, true) => EventKind::GuardianGiven,
            (true, false) => EventKind::Given,
        };
        step(scope, kind, expires);
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
                let authorized = match &standing {
                    Standing::Active { event, .. } => ledger
                        .events()
                        .get(*event)
                        .is_some_and(|e| e.authorization.is_some()),
                    _ => false,
                };
                let needs = decision
                    .as_ref()
                    .ok()
                    .and_then(|d| authorization::needs(&s, d, &scope));
                let requires = decision
                    .as_ref()
                    .map(|d| d.requires.clone())
                    .unwrap_or_default();
                let wants = |what: &str, from: Party| {
                    requires.iter().any(|r| r.what == what && r.from == from)
                };
                let assent = wants("assent", Party::Subject);
                let minor_consent = s.guardian.is_some()
                    && (wants("consent", Party::Subject) || wants("explicit-consent", Party::Subject));
                let id = scope_id(&scope);
                let scope_for_click = scope.clone();
                let scope_for_assent = scope.clone();
                let scope_for_minor = scope.clone();
                let scope_for_form = scope.clone();
                let form_open = RwSignal::new(false);
                // The consent's own end, if the person sets one: a date (end of day, UTC), and for
                // research the end of the study the clinic named, whichever comes first.
                let expiry = RwSignal::new(String::new());
                let at_study_end = RwSignal::new(false);
                let study = s.study.clone().filter(|_| scope.purpose == Purpose::Research);
                let study_for_end = RwSignal::new(study.clone());
                let expires = move || -> Ends {
                    let date = expiry.get_untracked();
                    (
                        Timestamp::parse(&format!("{}T23:59:59Z", date.trim())).ok(),
                        study_for_end
                            .get_untracked()
                            .filter(|_| at_study_end.get_untracked()),
                    )
                };
                let expiry_id = format!("expiry-{id}");
                let study_end_id = format!("study-end-{id}");
                let ends_with = match &standing {
                    Standing::Active { event, .. } => {
                        ledger.events().get(*event).and_then(|e| e.study.clone())
                    }
                    _ => None,
                };
                view! {
                    <article class="card purpose" data-testid=format!("purpose-{id}")>
                        <h3>{text.map(|t| t.title.clone()).unwrap_or_else(|| scope.label())}</h3>
                        <p>{text.map(|t| t.body.clone()).unwrap_or_default()}</p>
                        <p class="muted">{text.map(|t| format!("Text version {} ({}), SHA-256 {}", t.version, t.lang, &t.sha256[..12])).unwrap_or_default()}</p>
                        {recipient_line(&scope).map(|l| view! { <p data-testid=format!("recipient-{id}")>{l}</p> })}
                        <p data-testid=format!("standing-{id}")>{standing_text(&standing)}
                            {ends_with.map(|n| format!(", or at the end of the study {n}"))}</p>
                        <DecisionView decision id=id.clone()/>
                        {(!requires.is_empty()).then(|| view! {
                            <ul class="requires" data-testid=format!("requires-{id}")>
                                {requires.iter().map(|r| view! {
                                    <li data-what=r.what.clone() data-from=party_id(r.from)>
                                        {need_text(r)}
                                    </li>
                                }).collect_view()}
                            </ul>
                        })}
                        {(!active).then(|| view! {
                            <p class="expiry">
                                <label for=expiry_id.clone()>"Ends on (optional)"</label>
                                " "
                                <input type="date" id=expiry_id.clone() data-testid=expiry_id.clone()
                                    prop:value=move || expiry.get()
                                    on:input=move |ev| expiry.set(event_target_value(&ev))/>
                                {study.clone().map(|n| view! {
                                    " "
                                    <input type="checkbox" id=study_end_id.clone() data-testid=study_end_id.clone()
                                        prop:checked=move || at_study_end.get()
                                        on:change=move |ev| at_study_end.set(event_target_checked(&ev))/>
                                    " "
                                    <label for=study_end_id.clone()>{format!("or at the end of the study {n}")}</label>
                                })}
                            </p>
                        })}
                        <button type="button" class:primary=!active data-testid=format!("toggle-{id}")
                            aria-pressed=if active { "true" } else { "false" }
                            on:click=move |_| toggle(scope_for_click.clone(), !active, expires())>
                            {match (active, authorized) {
                                (true, true) => authorization::label(&s.lang, veil_consent::FormKey::Revoke),
                                (true, false) => "Withdraw consent",
                                (false, _) => if s.guardian.is_some() { "The guardian consents" } else { "Give consent" },
                            }}
                        </button>
                        {minor_consent.then(|| view! {
                            " "
                            <button type="button" data-testid=format!("minor-consent-{id}")
                                on:click=move |_| step(scope_for_minor.clone(), EventKind::Given, expires())>
                                "The minor consents too"
                            </button>
                        })}
                        {assent.then(|| view! {
                            " "
                            <button type="button" data-testid=format!("assent-{id}")
                                on:click=move |_| step(scope_for_assent.clone(), EventKind::Assented, expires())>
                                "The minor agrees (assent)"
                            </button>
                        })}
                        {needs.map(|needs| {
                            let id = id.clone();
                            view! {
                                " "
                                <button type="button" data-testid=format!("authorize-{id}")
                                    aria-expanded=move || if form_open.get() { "true" } else { "false" }
                                    on:click=move |_| form_open.update(|o| *o = !*o)>
                                    {authorization::label(&s.lang, veil_consent::FormKey::OpenForm)}
                                </button>
                                <Show when=move || form_open.get()>
                                    <AuthorizationForm scope=scope_for_form.clone() id=id.clone() needs=needs.clone() session
                                        on_signed=Callback::new(move |e: ConsentEvent| record(e))/>
                                </Show>
                            }
                        })}
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
                   " · texts in " {language_name(&s.lang)}</p>
            })}
            <label for="consent-lang-switch">"Language of the texts"</label>
            " "
            <select id="consent-lang-switch" data-testid="consent-lang-switch"
                on:change=move |ev| {
                    let lang = event_target_value(&ev);
                    if let Some(mut s) = session.get_untracked() {
                        s.lang = lang;
                        patient_session::store(&s);
                        session.set(Some(s));
                    }
                }>
                {text_languages().into_iter().map(|code| view! {
                    <option value=code selected=move || session.with(|s| s.as_ref().is_some_and(|s| s.lang == code))>{language_name(code)}</option>
                }).collect_view()}
            </select>
        </div>
        <div class="purpose-list">{cards}</div>
        {crate::recipients::all().is_empty().then(|| view! {
            <p class="card muted" data-testid="consent-no-recipients">"No recipient is set up, so partner sharing and transfers abroad are not offered: the clinic adds recipients in Settings."</p>
        })}
        <ClinicStaff session error on_event=Callback::new(move |e: ConsentEvent| record(e))/>
        <History session/>
        <Exports session error/>
    }
}

fn party_id(party: Party) -> &'static str {
    match party {
        Party::Subject => "subject",
        Party::Guardian => "guardian",
        Party::Controller => "controller",
    }
}

/// How a consent being given ends: its date, and the study whose end ends it.
type Ends = (Option<Timestamp>, Option<String>);

/// One thing the law asks before the use, with whom it is asked of and why.
fn need_text(r: &veil_consent::Needed) -> String {
    let who = match r.from {
        Party::Subject => "from the person",
        Party::Guardian => "from the parent, guardian or personal representative",
        Party::Controller => "from the clinic",
    };
    let what = match r.what.as_str() {
        "consent" => "Consent",
        "explicit-consent" => "Explicit consent",
        "assent" => "The minor's assent",
        "hipaa-authorization" => "A HIPAA authorization",
        "transfer-mechanism" => "A transfer safeguard",
        "sharing-basis" => "A sharing basis",
        other => other,
    };
    format!("{what} {who} ({}): {} [{}]", r.regime, r.reason, r.citation)
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

/// Clinic staff: the study this person takes part in, a documented IRB or Privacy Board waiver of
/// authorization for it (45 CFR 164.512(i), with every 164.512(i)(2) element), the waiver's end,
/// and the study's end. Waivers and ends are ledger events (kiosk channel, the staff id), decided
/// by `veil_consent::decide`; the person's own choices still stand.
#[component]
fn ClinicStaff(
    session: RwSignal<Option<PatientSession>>,
    on_event: Callback<ConsentEvent>,
    error: RwSignal<Option<AppError>>,
) -> impl IntoView {
    let staff = RwSignal::new(
        session
            .get_untracked()
            .and_then(|s| s.kiosk_staff)
            .unwrap_or_default(),
    );
    let study = RwSignal::new(
        session
            .get_untracked()
            .and_then(|s| s.study)
            .unwrap_or_default(),
    );
    let board = RwSignal::new(String::new());
    let approved = RwSignal::new(String::new());
    let criteria = RwSignal::new(false);
    let phi = RwSignal::new(String::new());
    let review = RwSignal::new(String::new());
    let chair = RwSignal::new(String::new());
    let until = RwSignal::new(String::new());
    let channel = move || Channel::Kiosk {
        staff_id: staff.get_untracked().trim().to_owned(),
    };
    let this_study = || PurposeScope::research(ResearchTier::ThisStudy);
    let save_study = move |_| {
        let Some(mut s) = session.get_untracked() else {
            return;
        };
        let name = study.get_untracked().trim().to_owned();
        s.study = (!name.is_empty()).then_some(name);
        patient_session::store(&s);
        session.set(Some(s));
    };
    let record_waiver = move |_| {
        let day = |d: String| Timestamp::parse(&format!("{}T00:00:00Z", d.trim())).ok();
        let documentation = veil_consent::ResearchWaiver {
            board: board.get_untracked().trim().to_owned(),
            approved_on: day(approved.get_untracked()),
            criteria_stated: criteria.get_untracked(),
            phi: phi.get_untracked().trim().to_owned(),
            review: match review.get_untracked().as_str() {
                "normal" => Some(veil_consent::ReviewProcedure::Normal),
                "expedited" => Some(veil_consent::ReviewProcedure::Expedited),
                _ => None,
            },
            signed_by: chair.get_untracked().trim().to_owned(),
            study: session
                .get_untracked()
                .and_then(|s| s.study)
                .unwrap_or_default(),
        };
        if let Some(first) = documentation.missing_elements().first() {
            error.set(Some(AppError::new(
                "bad-field",
                format!("The waiver's documentation lacks: {first}."),
            )));
            return;
        }
        let mut event = ConsentEvent::new(EventKind::Waived, this_study(), now(), channel());
        event.expires_at = day(until.get_untracked());
        event.waiver = Some(documentation);
        on_event.run(event);
    };
    let end_waiver = move |_| {
        on_event.run(ConsentEvent::new(
            EventKind::WaiverEnded,
            this_study(),
            now(),
            channel(),
        ))
    };
    let end_study = move |_| {
        let Some(name) = session.get_untracked().and_then(|s| s.study) else {
            return;
        };
        let mut event = ConsentEvent::new(EventKind::StudyEnded, this_study(), now(), channel());
        event.study = Some(name);
        on_event.run(event);
    };
    let waiver = move || {
        let s = session.get()?;
        let ledger = s.ledger().ok()?;
        ledger
            .waiver_at(&this_study(), now())
            .map(|(i, w)| (w.clone(), ledger.events().get(i).and_then(|e| e.expires_at)))
    };
    let named = move || session.with(|s| s.as_ref().and_then(|s| s.study.clone()));
    let no_staff = move || staff.with(|s| s.trim().is_empty());
    let text_input = |id: &'static str, label: &'static str, value: RwSignal<String>| {
        view! {
            <label for=id>{label}</label>
            <input id=id data-testid=id type="text" autocomplete="off"
                prop:value=move || value.get() on:input=move |ev| value.set(event_target_value(&ev))/>
        }
    };
    view! {
        <section class="card" aria-labelledby="staff-title" data-testid="waiver">
            <h2 id="staff-title">"Clinic staff: the study, its waiver and its end"</h2>
            {text_input("waiver-staff", "Staff id", staff)}
            <label for="staff-study">"Research study (protocol) this person takes part in"</label>
            <input id="staff-study" data-testid="staff-study" type="text" autocomplete="off"
                prop:value=move || study.get() on:input=move |ev| study.set(event_target_value(&ev))/>
            " "
            <button type="button" data-testid="staff-study-save" on:click=save_study>"Save study"</button>
            {move || named().map(|n| view! {
                <p data-testid="staff-study-named">"Study: " <strong>{n.clone()}</strong>
                    ". A consent may end at its end where the law allows it (45 CFR 164.508(c)(1)(v))."</p>
                <button type="button" data-testid="study-end" disabled=no_staff on:click=end_study>
                    {format!("Record the end of the study {n}")}
                </button>
            })}
            {move || match waiver() {
                Some((w, ends)) => view! {
                    <p data-testid="waiver-recorded">"Research in this study may rest on the waiver of "
                        <strong>{w.board.clone()}</strong>", approved "
                        {w.approved_on.map(|d| d.to_rfc3339().chars().take(10).collect::<String>()).unwrap_or_default()}
                        " for " {w.study.clone()} ", signed by " {w.signed_by.clone()}
                        {ends.map(|e| format!(", until {}", e.to_rfc3339()))} "."</p>
                    <button type="button" data-testid="waiver-remove" disabled=no_staff on:click=end_waiver>"End the waiver"</button>
                }.into_any(),
                None => view! {
                    <p>"Where an Institutional Review Board or Privacy Board has waived authorization for the study (45 CFR 164.512(i)), staff record its documentation (164.512(i)(2)) here."</p>
                    {move || named().is_none().then(|| view! { <p class="muted" data-testid="waiver-needs-study">"Name the study first."</p> })}
                    <fieldset>
                        <legend>"Waiver documentation"</legend>
                        {text_input("waiver-reference", "(i)(2)(i) IRB or Privacy Board, and its reference", board)}
                        <label for="waiver-approved">"(i)(2)(i) Date of approval"</label>
                        <input id="waiver-approved" data-testid="waiver-approved" type="date"
                            prop:value=move || approved.get() on:input=move |ev| approved.set(event_target_value(&ev))/>
                        <p>
                            <input id="waiver-criteria" data-testid="waiver-criteria" type="checkbox"
                                prop:checked=move || criteria.get() on:change=move |ev| criteria.set(event_target_checked(&ev))/>
                            " "
                            <label for="waiver-criteria">"(i)(2)(ii) The board states the waiver satisfies the criteria of 164.512(i)(2)(ii)"</label>
                        </p>
                        {text_input("waiver-phi", "(i)(2)(iii) Protected health information the board found necessary", phi)}
                        <label for="waiver-review">"(i)(2)(iv) Review procedure"</label>
                        <select id="waiver-review" data-testid="waiver-review" on:change=move |ev| review.set(event_target_value(&ev))>
                            <option value="" selected=true>"Choose..."</option>
                            <option value="normal">"Normal review (convened board)"</option>
                            <option value="expedited">"Expedited review"</option>
                        </select>
                        {text_input("waiver-chair", "(i)(2)(v) Signed by the chair or designee", chair)}
                        <label for="waiver-until">"Waiver ends on (optional)"</label>
                        <input id="waiver-until" data-testid="waiver-until" type="date"
                            prop:value=move || until.get() on:input=move |ev| until.set(event_target_value(&ev))/>
                    </fieldset>
                    <button type="button" data-testid="waiver-record"
                        disabled=move || no_staff() || named().is_none()
                        on:click=record_waiver>"Record waiver"</button>
                }.into_any(),
            }}
        </section>
    }
}

/// The ledger as a timeline, newest first.
#[component]
fn History(session: RwSignal<Option<PatientSession>>) -> impl IntoView {
    let rows = move || {
        let Some(s) = session.get() else {
            return Vec::new();
        };
        let Ok(ledger) = s.ledger() else {
            return Vec::new();
        };
        let jurisdictions = s.jurisdictions().unwrap_or_default();
        let print_label = authorization::label(&s.lang, veil_consent::FormKey::PrintButton);
        let mut rows = Vec::new();
        for (index, e) in ledger.events().iter().enumerate().rev() {
            let channel = match &e.channel {
                Channel::OwnDevice => "own device".to_string(),
                Channel::Kiosk { staff_id } => format!("clinic kiosk (staff {staff_id})"),
                Channel::Imported { source } => format!("imported from {source}"),
            };
            let by = e
                .guardian
                .as_ref()
                .map(|g| format!(" · by {g}"))
                .unwrap_or_default();
            let until = e
                .expires_at
                .map(|x| {
                    if x <= now() {
                        format!(" · until {} (expired)", x.to_rfc3339())
                    } else {
                        format!(" · until {}", x.to_rfc3339())
                    }
                })
                .unwrap_or_default();
            let study = match (&e.study, e.kind) {
                (Some(n), EventKind::StudyEnded) => format!(" · study {n}"),
                (Some(n), _) => format!(" · until the end of the study {n}"),
                _ => String::new(),
            };
            let waiver = e
                .waiver
                .as_ref()
                .map(|w| format!(" · waiver by {} for {}", w.board, w.study))
                .unwrap_or_default();
            let printable = e
                .authorization
                .is_some()
                .then(|| authorization::printable(&ledger, index, &jurisdictions).ok())
                .flatten();
            rows.push(view! {
                <li data-testid="history-event" data-kind=e.kind.id()>
                    <time>{e.at.to_rfc3339()}</time> " · " <strong>{e.kind.id()}</strong>
                    " · " {e.scope.label()} " · " {channel} {by} {until} {study} {waiver}
                    {printable.map(|html| {
                        let name = format!("hipaa-authorization-{}.html", index + 1);
                        view! {
                            " · HIPAA authorization "
                            <button type="button" data-testid="auth-print"
                                on:click=move |_| download::offer(&name, "text/html", html.as_bytes())>{print_label}</button>
                        }
                    })}
                </li>
            });
        }
        rows
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

/// A consent receipt for the event at `index`: (name, JSON, printable HTML), worded in the
/// language of the text the event shows, else the person's chosen `lang`.
fn receipt(
    ledger: &ConsentLedger,
    index: usize,
    jurisdictions: &[Jurisdiction],
    lang: &str,
) -> Result<(String, String, String), AppError> {
    let scope = ledger.events().get(index).map(|e| &e.scope);
    let receipt =
        veil_consent::receipt_in(ledger, index, jurisdictions, &controller_for(scope), lang)?;
    let json = receipt.to_json()?;
    let html = receipt.to_html();
    Ok((format!("consent-receipt-{}", index + 1), json, html))
}
