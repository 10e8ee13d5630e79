//! Dynamic consent for Veil: purposes, an append-only consent ledger, jurisdiction rules as data,
//! decisions with citations, the breach clock, erasure plans, FHIR R4 exchange and consent receipts.
//!
//! HIPAA and GDPR sometimes require opposite things. This crate applies the stricter standard
//! wherever both can be met, states the conflict where they cannot (see [`erasure`]), and names the
//! rule and citation behind every outcome.
//!
//! Pure logic: no clock (times are passed in), no I/O, no randomness; it builds for
//! `wasm32-unknown-unknown` and runs the same in the browser, the CLI and the server.
//!
//! ```
//! use veil_consent::{
//!     decide, Channel, ConsentEvent, ConsentLedger, DecisionRequest, EventKind, Jurisdiction,
//!     Outcome, PurposeScope, ResearchTier, Subject, Timestamp,
//! };
//!
//! let t0 = Timestamp::parse("2026-01-10T09:00:00Z")?;
//! let mut ledger = ConsentLedger::new("p-7f3a")?;
//! let scope = PurposeScope::research(ResearchTier::ThisStudy);
//! let mut given = ConsentEvent::new(EventKind::Given, scope.clone(), t0, Channel::OwnDevice);
//! given.text = Some(veil_consent::text::current(scope.purpose, "en")?.reference());
//! ledger.append(given)?;
//!
//! let req = DecisionRequest {
//!     subject: Subject { jurisdictions: vec![Jurisdiction::parse("DE")?], age: 34, guardian_consent: false },
//!     scope: scope.clone(),
//!     at: Timestamp::parse("2026-02-01T00:00:00Z")?,
//!     waiver: None,
//! };
//! let d = decide(&req, Some(&ledger))?;
//! assert_eq!(d.decision, Outcome::Allow);
//! assert!(d.citations.contains(&"GDPR Art. 9(2)(a)".to_owned()));
//!
//! // Withdrawal is one event, as easy as giving (GDPR Art. 7(3)).
//! ledger.append(ConsentEvent::new(EventKind::Withdrawn, scope, Timestamp::parse("2026-01-20T00:00:00Z")?, Channel::OwnDevice))?;
//! assert_eq!(decide(&req, Some(&ledger))?.decision, Outcome::Deny);
//! # Ok::<(), veil_consent::ConsentError>(())
//! ```

/// A bundled rule or text file: `bundled!("rules/gdpr")` is the DEFLATE-compressed compact JSON
/// `build.rs` made from `rules/gdpr.toml`; [`bundle::json`] inflates it.
macro_rules! bundled {
    ($name:literal) => {
        include_bytes!(concat!(env!("OUT_DIR"), "/", $name, ".json.deflate"))
    };
}

pub mod breach;
pub mod bundle;
mod country;
pub mod decide;
pub mod erasure;
mod error;
pub mod fhir;
pub mod json_api;
pub mod ledger;
pub mod purpose;
pub mod receipt;
pub mod rules;
pub mod sealed;
mod sharing;
pub mod text;
mod time;
mod transfer;
pub mod wording;

pub use breach::{
    Affected, BreachSchedule, Notice, breach_schedule, breach_schedule_for,
    breach_schedule_for_controller,
};
pub use decide::{
    AppliedRule, DecideOptions, Decision, DecisionRequest, Needed, Outcome, Party, Subject,
    TransferMechanism, Waiver, decide, decide_with,
};
pub use erasure::{
    ControllerErasure, ErasureAction, ErasureInstruction, ErasurePlan, ErasureRecord, ErasureStep,
    Retention, erasure_for_controller, erasure_plan, retention,
};
pub use error::ConsentError;
pub use fhir::{export_bundle, export_bundle_json, import_bundle};
pub use ledger::{
    Channel, ConsentEvent, ConsentLedger, EventKind, GivenBy, HipaaAuthorization, ResearchWaiver,
    ReviewProcedure, Standing, Voice,
};
pub use purpose::{Purpose, PurposeScope, ResearchTier};
pub use receipt::{ConsentReceipt, Controller, receipt_for, receipt_in};
pub use rules::{
    BelowCapacity, Capacity, Jurisdiction, JurisdictionInfo, check_study_end, is_country,
    supported_jurisdictions,
};
pub use sealed::{AgeBand, SealedConsent};
pub use sharing::SharingBasis;
pub use text::{ConsentText, TextRef};
pub use time::Timestamp;
pub use veil_core::Coded;
pub use wording::{FormKey, ReceiptKey, WordingRef};
