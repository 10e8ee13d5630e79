//! How the Consent page names things: a scope's id in the page (`data-testid`s, element ids), the
//! controller a consent's receipt names, and the recipient a consent is for. Shared by the page and
//! its HIPAA authorization form.

use veil_consent::PurposeScope;

/// The id of `scope` in the page: its purpose, qualified by tier, partner or country (slugged).
pub(super) fn scope_id(scope: &PurposeScope) -> String {
    let slug = |s: &str| {
        s.to_ascii_lowercase()
            .split(|c: char| !c.is_ascii_alphanumeric())
            .filter(|w| !w.is_empty())
            .collect::<Vec<_>>()
            .join("-")
    };
    match (scope.tier, &scope.partner, &scope.country) {
        (Some(tier), _, _) => format!("{}-{}", scope.purpose.id(), tier.id()),
        (None, Some(p), _) => format!("{}-{}", scope.purpose.id(), slug(p)),
        (None, None, Some(c)) => format!("{}-{}", scope.purpose.id(), slug(c)),
        (None, None, None) => scope.purpose.id().to_string(),
    }
}

/// The data controller named on receipts for `scope`: the partner's for partner sharing, the
/// recipient's abroad for a transfer, otherwise this clinic's (the recipient whose key is this
/// server's, or the first set up); without any, the deployment's configuration
/// (`veil.config.controller`), and failing that a plain statement that none is set up, never an
/// invented address.
pub(super) fn controller_for(scope: Option<&PurposeScope>) -> veil_consent::Controller {
    let all = crate::recipients::all();
    let chosen = scope.and_then(|s| match (&s.partner, &s.country) {
        (Some(p), _) => all.iter().find(|r| &r.name == p).cloned(),
        (None, Some(c)) => all.iter().find(|r| &r.country == c).cloned(),
        _ => None,
    });
    if let Some(r) = chosen.or_else(|| crate::recipients::clinic(None)) {
        return r.controller;
    }
    web_sys::window()
        .and_then(|w| w.local_storage().ok().flatten())
        .and_then(|s| s.get_item("veil.config.controller").ok().flatten())
        .and_then(|json| serde_json::from_str(&json).ok())
        .unwrap_or_else(|| veil_consent::Controller {
            pii_controller: "No controller set up (Settings, Recipients)".into(),
            contact: "not set up".into(),
            address: "not set up".into(),
            email: "not set up".into(),
            phone: "not set up".into(),
            policy_url: "/settings".into(),
        })
}

/// This clinic's controller (see [`controller_for`]).
pub(super) fn controller() -> veil_consent::Controller {
    controller_for(None)
}

/// Who receives what is sent for `scope`, in the words `w` of the authorization form: the partner
/// for partner sharing, otherwise the clinic's server this app sends to.
pub(super) fn recipient_name(
    scope: &PurposeScope,
    w: &veil_consent::wording::Localized<veil_consent::FormKey>,
) -> String {
    if let Some(partner) = &scope.partner {
        return partner.clone();
    }
    let origin = web_sys::window()
        .and_then(|w| w.location().origin().ok())
        .unwrap_or_default();
    w.fill(
        veil_consent::FormKey::RecipientClinic,
        &[
            ("controller", &controller().pii_controller),
            ("origin", &origin),
        ],
    )
}
