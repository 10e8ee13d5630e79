//! The safeguards a cross-border transfer can rest on: a leaf the decision engine checks per
//! destination and law (`decide`) and the ledger records with a transfer consent (`ledger`).

use serde::{Deserialize, Serialize};

use crate::ConsentError;

/// The safeguard a cross-border transfer rests on (`--transfer-mechanism`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum TransferMechanism {
    /// An adequacy decision for the destination (GDPR Art. 45, nFADP Art. 16(1), ...).
    Adequacy,
    /// Standard contractual clauses (GDPR Art. 46(2)(c), LGPD Art. 33, II, b, ...).
    Scc,
    /// Binding corporate rules (GDPR Art. 46(2)(b), 47, ...).
    Bcr,
    /// A Data Privacy Framework for a certified importer (EU-US DPF, UK Extension, Swiss-US DPF).
    Dpf,
    /// A derogation: the subject's explicit consent to an occasional transfer (GDPR Art. 49(1)(a)).
    Derogation,
}

impl TransferMechanism {
    /// Every mechanism.
    pub const ALL: [TransferMechanism; 5] = [
        Self::Adequacy,
        Self::Scc,
        Self::Bcr,
        Self::Dpf,
        Self::Derogation,
    ];

    /// The kebab-case id.
    #[must_use]
    pub fn id(self) -> &'static str {
        match self {
            Self::Adequacy => "adequacy",
            Self::Scc => "scc",
            Self::Bcr => "bcr",
            Self::Dpf => "dpf",
            Self::Derogation => "derogation",
        }
    }
}

impl std::str::FromStr for TransferMechanism {
    type Err = ConsentError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::ALL
            .into_iter()
            .find(|m| m.id() == s.trim())
            .ok_or_else(|| ConsentError::UnknownMechanism(s.chars().take(32).collect()))
    }
}
