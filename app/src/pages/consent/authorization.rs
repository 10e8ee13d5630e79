//! The HIPAA authorization form (45 CFR 164.508(c)), with the California CMIA additions
//! (Cal. Civ. Code § 56.11) where a rule asks for them, and the IRB / Privacy Board waiver a
//! clinic's staff may record for research instead.
//!
//! An authorization is one ledger event: a `given` (or, signed by a personal representative,
//! `guardian-given`) event whose `authorization` holds every element of 164.508(c)(1) and the
//! statements of (c)(2), and whose `text` is the consent text shown, so the same act is the
//! explicit consent GDPR asks for where both apply. `veil_consent::decide` checks the elements;
//! this form only collects them. Revoking is the card's one button (a `withdrawn` event, effective
//! on receipt, 164.508(b)(5)); the FHIR export carries the authorization.
//!
//! Every word of the form and of its printable copy is in the person's chosen language (the
//! session's `lang`, GDPR Art. 12(1)), from `veil_consent::wording`: switching the language switches
//! the form. The authorization records the wording it was signed on (`HipaaAuthorization::form`:
//! language, version and SHA-256), and the printable copy is printed in that recorded wording.

use leptos::prelude::*;
use veil_consent::wording::{self, FormKey, Localized};
use veil_consent::{
    ConsentEvent, ConsentLedger, EventKind, HipaaAuthorization, Jurisdiction, Party, Purpose,
    PurposeScope, Timestamp,
};

use crate::error::AppError;
use crate::patient_session::{PatientSession, now};

/// The form's wording in `lang` (English where Veil has none in it; the crate's tests keep every
/// language Veil offers complete).
pub fn words(lang: &str) -> Result<Localized<FormKey>, AppError> {
    Ok(wording::current_or_english(lang)?)
}

/// One of the form's words (a button on the card or the timeline) in `lang`.
pub fn label(lang: &str, key: FormKey) -> &'static str {
    wording::current_or_english::<FormKey>(lang)
        .map_or_else(|_| wording::WordingKey::id(key), |w| w.text(key))
}

/// What the law asks of an authorization for `scope` now: who signs and whether a date must end it.
#[derive(Debug, Clone, PartialEq)]
pub struct Needs {
    /// The personal representative signs (the person lacks capacity for this use).
    pub representative: bool,
    /// The citation asking for a specific end date (CMIA), if one applies.
    pub end_date: Option<String>,
    /// What is still missing and why, as the decision says.
    pub reason: String,
}

/// The authorization the decision for `scope` asks for, if it asks for one.
pub fn needs(
    session: &PatientSession,
    decision: &veil_consent::Decision,
    scope: &PurposeScope,
) -> Option<Needs> {
    let needed = decision
        .requires
        .iter()
        .find(|r| r.what == "hipaa-authorization")?;
    let end_date = session.jurisdictions().ok().and_then(|js| {
        veil_consent::rules::applicable(&js).ok().and_then(|rs| {
            rs.iter()
                .find_map(|(r, _)| r.purposes.get(&scope.purpose)?.end_date_citation.clone())
        })
    });
    Some(Needs {
        representative: needed.from == Party::Guardian,
        end_date,
        reason: format!("{} ({})", needed.reason, needed.citation),
    })
}

/// What the form suggests as the description of the information (164.508(c)(1)(i)).
fn information_for(purpose: Purpose, w: &Localized<FormKey>) -> String {
    w.text(match purpose {
        Purpose::Research | Purpose::AiTraining => FormKey::InformationResearch,
        _ => FormKey::InformationOther,
    })
    .to_owned()
}

/// Parse a `yyyy-mm-dd` date input as the end of that day (UTC).
fn end_of_day(date: &str) -> Option<Timestamp> {
    Timestamp::parse(&format!("{}T23:59:59Z", date.trim())).ok()
}

/// The authorization event the form's content makes, or what the person must still fill in (in
/// the form's language `w`, which the event records).
pub fn event(
    session: &PatientSession,
    scope: &PurposeScope,
    fields: &Fields,
    needs: &Needs,
    w: &Localized<FormKey>,
) -> Result<ConsentEvent, String> {
    let at = now();
    let problem = |k: FormKey| w.text(k).to_owned();
    let expires_at = match fields.expiry_date.trim() {
        "" => None,
        d => Some(end_of_day(d).ok_or_else(|| problem(FormKey::ProblemDate))?),
    };
    if expires_at.is_some_and(|e| e <= at) {
        return Err(problem(FormKey::ProblemPast));
    }
    if needs.end_date.is_some() && expires_at.is_none() {
        return Err(w.fill(
            FormKey::ProblemSpecificDate,
            &[("citation", needs.end_date.as_deref().unwrap_or_default())],
        ));
    }
    let expiration = match (&expires_at, fields.until_end_of_study) {
        (Some(e), _) => w.fill(FormKey::ExpirationDate, &[("date", &e.to_rfc3339()[..10])]),
        (None, true) => problem(FormKey::ExpirationEndOfStudy),
        (None, false) => return Err(problem(FormKey::ProblemNoEnd)),
    };
    let representative = needs.representative || session.guardian.is_some();
    if representative
        && (fields.representative.trim().is_empty() || fields.relationship.trim().is_empty())
    {
        return Err(problem(FormKey::ProblemRepresentative));
    }
    let signature = if representative {
        fields.representative.trim().to_owned()
    } else {
        fields.signature.trim().to_owned()
    };
    if signature.is_empty() {
        return Err(problem(FormKey::ProblemSignature));
    }
    let authorization = HipaaAuthorization {
        information: fields.information.trim().to_owned(),
        disclosed_by: fields.disclosed_by.trim().to_owned(),
        recipients: fields.recipients.trim().to_owned(),
        purpose: fields.purpose.trim().to_owned(),
        expiration,
        signature,
        signed_at: Some(at),
        representative_authority: representative.then(|| fields.relationship.trim().to_owned()),
        right_to_revoke_stated: true,
        conditioning_stated: true,
        redisclosure_stated: true,
        form: Some(w.wording().reference()),
    };
    if let Some(first) = authorization.missing_elements().first() {
        return Err(w.fill(FormKey::ProblemIncomplete, &[("element", first)]));
    }
    let kind = if representative {
        EventKind::GuardianGiven
    } else {
        EventKind::Given
    };
    let mut event = ConsentEvent::new(kind, scope.clone(), at, session.channel());
    event.text = veil_consent::text::current(scope.purpose, &session.lang)
        .ok()
        .map(|t| t.reference());
    event.expires_at = expires_at;
    // "At the end of the research study": the study the clinic named ends it (K, issue 16).
    event.study = session
        .study
        .clone()
        .filter(|_| fields.until_end_of_study && scope.purpose == veil_consent::Purpose::Research);
    event.guardian = representative.then(|| fields.representative.trim().to_owned());
    event.authorization = Some(authorization);
    Ok(event)
}

/// The form's content.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Fields {
    pub information: String,
    pub disclosed_by: String,
    pub recipients: String,
    pub purpose: String,
    pub expiry_date: String,
    pub until_end_of_study: bool,
    pub signature: String,
    pub representative: String,
    pub relationship: String,
}

impl Fields {
    /// What the form starts with, in its language: the app's description of the data, the
    /// controller as who discloses, the recipient, the purpose's text title.
    pub fn suggested(
        session: &PatientSession,
        scope: &PurposeScope,
        w: &Localized<FormKey>,
    ) -> Self {
        let controller = super::names::controller();
        let title = veil_consent::text::current(scope.purpose, w.lang())
            .map(|t| t.title.clone())
            .unwrap_or_else(|_| scope.label());
        Fields {
            information: information_for(scope.purpose, w),
            disclosed_by: w.fill(
                FormKey::DisclosedBy,
                &[("controller", &controller.pii_controller)],
            ),
            recipients: super::names::recipient_name(scope, w),
            purpose: format!("{title} ({})", scope.label()),
            representative: session.guardian.clone().unwrap_or_default(),
            ..Fields::default()
        }
    }
}

/// The form.
#[component]
pub fn AuthorizationForm(
    scope: PurposeScope,
    id: String,
    needs: Needs,
    session: RwSignal<Option<PatientSession>>,
    on_signed: Callback<ConsentEvent>,
) -> impl IntoView {
    let Some(s) = session.get_untracked() else {
        return ().into_any();
    };
    let w = match words(&s.lang) {
        Ok(w) => w,
        Err(error) => {
            return view! { <p class="error" role="alert"><crate::components::ErrorText error/></p> }
                .into_any();
        }
    };
    let t = move |k: FormKey| w.text(k);
    let fields = RwSignal::new(Fields::suggested(&s, &scope, &w));
    let problem = RwSignal::new(None::<String>);
    let research = scope.purpose == Purpose::Research;
    let representative = needs.representative || s.guardian.is_some();
    let end_date = needs.end_date.clone();
    let needs_for_submit = needs.clone();
    let scope_for_submit = scope.clone();
    let submit = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        let Some(s) = session.get_untracked() else {
            return;
        };
        match event(
            &s,
            &scope_for_submit,
            &fields.get_untracked(),
            &needs_for_submit,
            &w,
        ) {
            Ok(e) => {
                problem.set(None);
                on_signed.run(e);
            }
            Err(p) => problem.set(Some(p)),
        }
    };
    let sid = id_of(&scope);
    let field_sid = sid.clone();
    let field = move |key: &'static str,
                      label: FormKey,
                      get: fn(&Fields) -> String,
                      set: fn(&mut Fields, String)| {
        let input_id = format!("auth-{key}-{field_sid}");
        view! {
            <label for=input_id.clone()>{t(label)}</label>
            <textarea id=input_id data-testid=format!("auth-{key}") rows="2" required=true
                prop:value=move || fields.with(get)
                on:input=move |ev| fields.update(|f| set(f, event_target_value(&ev)))></textarea>
        }
    };
    view! {
        <form class="card authorization" data-testid=format!("authorization-{id}") on:submit=submit
            aria-labelledby=format!("auth-title-{sid}") lang=w.lang() data-lang=w.lang()
            data-wording=format!("{} v{} {}", w.lang(), w.wording().version, w.wording().sha256)>
            <h4 id=format!("auth-title-{sid}")>{t(FormKey::Title)}</h4>
            <p class="muted" data-testid="auth-reason">{needs.reason.clone()}</p>
            {field("information", FormKey::LabelInformation, |f| f.information.clone(), |f, v| f.information = v)}
            {field("disclosed-by", FormKey::LabelDisclosedBy, |f| f.disclosed_by.clone(), |f, v| f.disclosed_by = v)}
            {field("recipients", FormKey::LabelRecipients, |f| f.recipients.clone(), |f, v| f.recipients = v)}
            {field("purpose", FormKey::LabelPurpose, |f| f.purpose.clone(), |f, v| f.purpose = v)}
            <fieldset>
                <legend>{t(FormKey::LegendEnds)}</legend>
                {end_date.clone().map(|c| view! { <p data-testid="auth-cmia">{t(FormKey::CmiaEnd)} " (" {c} ")"</p> })}
                <label for=format!("auth-expiry-{sid}")>{t(FormKey::LabelEndDate)}</label>
                <input type="date" id=format!("auth-expiry-{sid}") data-testid="auth-expiry"
                    required=end_date.is_some()
                    prop:value=move || fields.with(|f| f.expiry_date.clone())
                    on:input=move |ev| fields.update(|f| f.expiry_date = event_target_value(&ev))/>
                {(research && end_date.is_none()).then(|| view! {
                    <p>
                        <input type="checkbox" id=format!("auth-eos-{sid}") data-testid="auth-end-of-study"
                            prop:checked=move || fields.with(|f| f.until_end_of_study)
                            on:change=move |ev| fields.update(|f| f.until_end_of_study = event_target_checked(&ev))/>
                        " "
                        <label for=format!("auth-eos-{sid}")>{t(FormKey::LabelEndOfStudy)}</label>
                    </p>
                })}
            </fieldset>
            <div class="statements" data-testid="auth-statements">
                <p><strong>{t(FormKey::HeadingRevoke)}</strong>" "{t(FormKey::RightToRevoke)}</p>
                <p><strong>{t(FormKey::HeadingConditioning)}</strong>" "{t(FormKey::Conditioning)}</p>
                <p><strong>{t(FormKey::HeadingRedisclosure)}</strong>" "{t(FormKey::Redisclosure)}</p>
                {end_date.is_some().then(|| view! { <p><strong>{t(FormKey::HeadingCopy)}</strong>" "{t(FormKey::CmiaCopy)}</p> })}
            </div>
            {if representative {
                view! {
                    <fieldset>
                        <legend>{t(FormKey::LegendRepresentative)}</legend>
                        <p>{t(FormKey::RepresentativeWhy)}</p>
                        <label for=format!("auth-rep-{sid}")>{t(FormKey::LabelRepresentative)}</label>
                        <input type="text" id=format!("auth-rep-{sid}") data-testid="auth-representative" autocomplete="off" required=true
                            prop:value=move || fields.with(|f| f.representative.clone())
                            on:input=move |ev| fields.update(|f| f.representative = event_target_value(&ev))/>
                        <label for=format!("auth-rel-{sid}")>{t(FormKey::LabelRelationship)}</label>
                        <input type="text" id=format!("auth-rel-{sid}") data-testid="auth-relationship" autocomplete="off" required=true
                            prop:value=move || fields.with(|f| f.relationship.clone())
                            on:input=move |ev| fields.update(|f| f.relationship = event_target_value(&ev))/>
                    </fieldset>
                }.into_any()
            } else {
                view! {
                    <fieldset>
                        <legend>{t(FormKey::LegendSignature)}</legend>
                        <label for=format!("auth-sig-{sid}")>{t(FormKey::LabelSignature)}</label>
                        <input type="text" id=format!("auth-sig-{sid}") data-testid="auth-signature" autocomplete="off" required=true
                            prop:value=move || fields.with(|f| f.signature.clone())
                            on:input=move |ev| fields.update(|f| f.signature = event_target_value(&ev))/>
                    </fieldset>
                }.into_any()
            }}
            <p class="muted">{t(FormKey::SignedWhen)}</p>
            {move || problem.get().map(|p| view! { <p class="error" role="alert" data-testid="auth-problem">{p}</p> })}
            <p><button type="submit" class="primary" data-testid="auth-sign">{t(FormKey::Sign)}</button></p>
        </form>
    }
    .into_any()
}

fn id_of(scope: &PurposeScope) -> String {
    super::names::scope_id(scope)
}

/// A printable copy of the authorization recorded at `index` (HTML), for the person's records
/// (and, in California, the copy § 56.11(e) entitles them to), in the wording it was signed on:
/// the recorded `form` (verified against its hash), else the language of the consent text it
/// records, else English. It names that wording and the consent text shown.
pub fn printable(
    ledger: &ConsentLedger,
    index: usize,
    jurisdictions: &[Jurisdiction],
) -> Result<String, AppError> {
    let event = ledger
        .events()
        .get(index)
        .ok_or_else(|| AppError::browser("no such ledger event"))?;
    let a = event
        .authorization
        .as_ref()
        .ok_or_else(|| AppError::browser("this event carries no authorization"))?;
    let w = match &a.form {
        Some(form) => wording::recorded::<FormKey>(form)?,
        None => words(event.text.as_ref().map_or("en", |t| t.lang.as_str()))?,
    };
    let controller = super::names::controller();
    let mut rows = Vec::new();
    let mut row = |k: FormKey, v: &str| {
        rows.push(format!(
            "<tr><th>{}</th><td>{}</td></tr>",
            esc(w.text(k)),
            esc(v)
        ))
    };
    row(FormKey::PrintUse, &event.scope.label());
    row(FormKey::PrintInformation, &a.information);
    row(FormKey::PrintDisclosedBy, &a.disclosed_by);
    row(FormKey::PrintRecipients, &a.recipients);
    row(FormKey::PrintPurpose, &a.purpose);
    row(FormKey::PrintEnds, &a.expiration);
    row(FormKey::PrintSignature, &a.signature);
    row(
        FormKey::PrintDate,
        &a.signed_at.map(|t| t.to_rfc3339()).unwrap_or_default(),
    );
    if let Some(r) = &a.representative_authority {
        row(FormKey::PrintRepresentative, r);
    }
    row(
        FormKey::PrintJurisdictions,
        &jurisdictions
            .iter()
            .map(|j| j.code().to_owned())
            .collect::<Vec<_>>()
            .join(", "),
    );
    row(
        FormKey::PrintContact,
        &format!(
            "{}, {}, {}",
            controller.pii_controller, controller.address, controller.email
        ),
    );
    row(
        FormKey::PrintEvent,
        &ledger.event_id(index).unwrap_or_default(),
    );
    let form = w.wording();
    row(
        FormKey::PrintWording,
        &format!("{} v{}, SHA-256 {}", form.lang, form.version, form.sha256),
    );
    if let Some(text) = &event.text {
        row(FormKey::PrintConsentText, &text.urn());
    }
    let cmia = jurisdictions.iter().any(|j| j.code() == "US-CA");
    let p = |k: FormKey| format!("<p>{}</p>", esc(w.text(k)));
    Ok(format!(
        "<!doctype html>\n<html lang=\"{}\"><head><meta charset=\"utf-8\"><title>{}</title>\
         <style>body{{font:14pt system-ui,sans-serif;margin:2em}}th{{text-align:left;padding-right:1em;vertical-align:top}}\
         @media print{{body{{margin:0}}}}</style></head><body><h1>{}</h1>\
         <table>{}</table><h2>{}</h2>{}{}{}{}</body></html>\n",
        esc(w.lang()),
        esc(w.text(FormKey::PrintTitle)),
        esc(w.text(FormKey::PrintTitle)),
        rows.join(""),
        esc(w.text(FormKey::PrintStatements)),
        p(FormKey::RightToRevoke),
        p(FormKey::Conditioning),
        p(FormKey::Redisclosure),
        if cmia {
            p(FormKey::CmiaEnd) + &p(FormKey::CmiaCopy)
        } else {
            String::new()
        }
    ))
}

fn esc(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}
