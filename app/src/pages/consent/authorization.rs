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

use leptos::prelude::*;
use veil_consent::{
    ConsentEvent, ConsentLedger, EventKind, HipaaAuthorization, Jurisdiction, Party, Purpose,
    PurposeScope, Timestamp,
};

use crate::error::AppError;
use crate::patient_session::{PatientSession, now};

/// The statements of 164.508(c)(2), shown on the form and on the printable copy.
pub const RIGHT_TO_REVOKE: &str = "You may revoke this authorization at any time, in writing: press \"Revoke authorization\" on this card in the Veil app (or write to the privacy contact named below). The revocation takes effect when it is received, except where the recipient has already acted in reliance on it.";
/// 164.508(c)(2)(ii).
pub const CONDITIONING: &str = "Your treatment, payment, enrollment in a health plan and eligibility for benefits do not depend on whether you sign this authorization.";
/// 164.508(c)(2)(iii).
pub const REDISCLOSURE: &str = "Information disclosed under this authorization may be redisclosed by the recipient and may then no longer be protected by the federal privacy rule (HIPAA).";
/// Cal. Civ. Code § 56.11(e) and (c): what a California authorization adds.
pub const CMIA_COPY: &str =
    "You are entitled to a copy of this authorization (Cal. Civ. Code § 56.11(e)): use \"Print\".";
/// § 56.11(b)(8): the end date.
pub const CMIA_END: &str = "California law asks for a specific date after which the provider may no longer disclose your information (Cal. Civ. Code § 56.11(b)(8)).";

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
fn information_for(purpose: Purpose) -> String {
    match purpose {
        Purpose::Research | Purpose::AiTraining => "De-identified 3D models of my anatomy and verified readings of my medical devices (e.g. blood pressure), each under a pseudonym, never my name, address or record number.",
        _ => "De-identified 3D models of my anatomy and verified readings of my medical devices, under a pseudonym.",
    }
    .to_owned()
}

/// Parse a `yyyy-mm-dd` date input as the end of that day (UTC).
fn end_of_day(date: &str) -> Option<Timestamp> {
    Timestamp::parse(&format!("{}T23:59:59Z", date.trim())).ok()
}

/// The authorization event the form's content makes, or what the person must still fill in.
pub fn event(
    session: &PatientSession,
    scope: &PurposeScope,
    fields: &Fields,
    needs: &Needs,
) -> Result<ConsentEvent, String> {
    let at = now();
    let expires_at = match fields.expiry_date.trim() {
        "" => None,
        d => Some(end_of_day(d).ok_or("Please enter the end date as a date.")?),
    };
    if expires_at.is_some_and(|e| e <= at) {
        return Err("The end date must be in the future.".into());
    }
    if needs.end_date.is_some() && expires_at.is_none() {
        return Err(format!(
            "Please enter a specific end date ({}).",
            needs.end_date.as_deref().unwrap_or_default()
        ));
    }
    let expiration = match (&expires_at, fields.until_end_of_study) {
        (Some(e), _) => format!("{} (end of day, UTC)", &e.to_rfc3339()[..10]),
        (None, true) => "the end of the research study".to_owned(),
        (None, false) => return Err("Please enter an end date or event.".into()),
    };
    let representative = needs.representative || session.guardian.is_some();
    if representative
        && (fields.representative.trim().is_empty() || fields.relationship.trim().is_empty())
    {
        return Err(
            "The personal representative signs: please enter their name and relationship.".into(),
        );
    }
    let signature = if representative {
        fields.representative.trim().to_owned()
    } else {
        fields.signature.trim().to_owned()
    };
    if signature.is_empty() {
        return Err("Please sign with your full name.".into());
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
    };
    if let Some(first) = authorization.missing_elements().first() {
        return Err(format!("Please complete: {first}."));
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
    /// What the form starts with: the app's description of the data, the controller as who
    /// discloses, the recipient, the purpose's text title.
    pub fn suggested(session: &PatientSession, scope: &PurposeScope, recipient: &str) -> Self {
        let controller = super::names::controller();
        let title = veil_consent::text::current(scope.purpose, &session.lang)
            .map(|t| t.title.clone())
            .unwrap_or_else(|_| scope.label());
        Fields {
            information: information_for(scope.purpose),
            disclosed_by: format!(
                "{} (through the Veil app on this device)",
                controller.pii_controller
            ),
            recipients: recipient.to_owned(),
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
    let recipient = super::names::recipient_name(&scope);
    let fields = RwSignal::new(Fields::suggested(&s, &scope, &recipient));
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
                      label: &'static str,
                      get: fn(&Fields) -> String,
                      set: fn(&mut Fields, String)| {
        let input_id = format!("auth-{key}-{field_sid}");
        view! {
            <label for=input_id.clone()>{label}</label>
            <textarea id=input_id data-testid=format!("auth-{key}") rows="2" required=true
                prop:value=move || fields.with(get)
                on:input=move |ev| fields.update(|f| set(f, event_target_value(&ev)))></textarea>
        }
    };
    view! {
        <form class="card authorization" data-testid=format!("authorization-{id}") on:submit=submit
            aria-labelledby=format!("auth-title-{sid}")>
            <h4 id=format!("auth-title-{sid}")>"Authorization to use or disclose health information (HIPAA, 45 CFR 164.508)"</h4>
            <p class="muted" data-testid="auth-reason">{needs.reason.clone()}</p>
            {field("information", "1. The information to be used or disclosed", |f| f.information.clone(), |f, v| f.information = v)}
            {field("disclosed-by", "2. Who may use or disclose it", |f| f.disclosed_by.clone(), |f, v| f.disclosed_by = v)}
            {field("recipients", "3. To whom it may be disclosed", |f| f.recipients.clone(), |f, v| f.recipients = v)}
            {field("purpose", "4. The purpose of the use or disclosure", |f| f.purpose.clone(), |f, v| f.purpose = v)}
            <fieldset>
                <legend>"5. When this authorization ends"</legend>
                {end_date.clone().map(|c| view! { <p data-testid="auth-cmia">{CMIA_END} " (" {c} ")"</p> })}
                <label for=format!("auth-expiry-{sid}")>"End date"</label>
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
                        <label for=format!("auth-eos-{sid}")>"Or: at the end of the research study"</label>
                    </p>
                })}
            </fieldset>
            <div class="statements" data-testid="auth-statements">
                <p><strong>"Your right to revoke. "</strong>{RIGHT_TO_REVOKE}</p>
                <p><strong>"No conditions. "</strong>{CONDITIONING}</p>
                <p><strong>"Redisclosure. "</strong>{REDISCLOSURE}</p>
                {end_date.is_some().then(|| view! { <p><strong>"Your copy. "</strong>{CMIA_COPY}</p> })}
            </div>
            {if representative {
                view! {
                    <fieldset>
                        <legend>"6. Signature of the personal representative"</legend>
                        <p>"The patient cannot authorize this use alone under the law that applies; their personal representative signs (45 CFR 164.502(g), 164.508(c)(1)(vi))."</p>
                        <label for=format!("auth-rep-{sid}")>"Representative's full name (signature)"</label>
                        <input type="text" id=format!("auth-rep-{sid}") data-testid="auth-representative" autocomplete="off" required=true
                            prop:value=move || fields.with(|f| f.representative.clone())
                            on:input=move |ev| fields.update(|f| f.representative = event_target_value(&ev))/>
                        <label for=format!("auth-rel-{sid}")>"Relationship to the patient / authority to act"</label>
                        <input type="text" id=format!("auth-rel-{sid}") data-testid="auth-relationship" autocomplete="off" required=true
                            prop:value=move || fields.with(|f| f.relationship.clone())
                            on:input=move |ev| fields.update(|f| f.relationship = event_target_value(&ev))/>
                    </fieldset>
                }.into_any()
            } else {
                view! {
                    <fieldset>
                        <legend>"6. Signature"</legend>
                        <label for=format!("auth-sig-{sid}")>"Your full name (signature)"</label>
                        <input type="text" id=format!("auth-sig-{sid}") data-testid="auth-signature" autocomplete="off" required=true
                            prop:value=move || fields.with(|f| f.signature.clone())
                            on:input=move |ev| fields.update(|f| f.signature = event_target_value(&ev))/>
                    </fieldset>
                }.into_any()
            }}
            <p class="muted">"Signed and dated when you press Sign (the date is recorded with it)."</p>
            {move || problem.get().map(|p| view! { <p class="error" role="alert" data-testid="auth-problem">{p}</p> })}
            <p><button type="submit" class="primary" data-testid="auth-sign">"Sign authorization"</button></p>
        </form>
    }
    .into_any()
}

fn id_of(scope: &PurposeScope) -> String {
    super::names::scope_id(scope)
}

/// A printable copy of the authorization recorded at `index` (HTML), for the person's records
/// (and, in California, the copy § 56.11(e) entitles them to).
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
    let controller = super::names::controller();
    let mut rows = Vec::new();
    let mut row =
        |k: &str, v: &str| rows.push(format!("<tr><th>{}</th><td>{}</td></tr>", esc(k), esc(v)));
    row("Use", &event.scope.label());
    row("(c)(1)(i) Information", &a.information);
    row("(c)(1)(ii) Who may disclose", &a.disclosed_by);
    row("(c)(1)(iii) To whom", &a.recipients);
    row("(c)(1)(iv) Purpose", &a.purpose);
    row("(c)(1)(v) Ends", &a.expiration);
    row("(c)(1)(vi) Signature", &a.signature);
    row(
        "(c)(1)(vi) Date",
        &a.signed_at.map(|t| t.to_rfc3339()).unwrap_or_default(),
    );
    if let Some(r) = &a.representative_authority {
        row("(c)(1)(vi) Representative's authority", r);
    }
    row(
        "Jurisdictions",
        &jurisdictions
            .iter()
            .map(|j| j.code().to_owned())
            .collect::<Vec<_>>()
            .join(", "),
    );
    row(
        "Privacy contact",
        &format!(
            "{}, {}, {}",
            controller.pii_controller, controller.address, controller.email
        ),
    );
    row("Ledger event", &ledger.event_id(index).unwrap_or_default());
    let cmia = jurisdictions.iter().any(|j| j.code() == "US-CA");
    Ok(format!(
        "<!doctype html>\n<html lang=\"en\"><head><meta charset=\"utf-8\"><title>HIPAA authorization</title>\
         <style>body{{font:14pt system-ui,sans-serif;margin:2em}}th{{text-align:left;padding-right:1em;vertical-align:top}}\
         @media print{{body{{margin:0}}}}</style></head><body><h1>Authorization to use or disclose health information</h1>\
         <table>{}</table><h2>Statements (45 CFR 164.508(c)(2))</h2><p>{}</p><p>{}</p><p>{}</p>{}</body></html>\n",
        rows.join(""),
        esc(RIGHT_TO_REVOKE),
        esc(CONDITIONING),
        esc(REDISCLOSURE),
        if cmia {
            format!("<p>{}</p><p>{}</p>", esc(CMIA_END), esc(CMIA_COPY))
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
