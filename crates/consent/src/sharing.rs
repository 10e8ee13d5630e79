//! Why health data is shared with another controller: the basis a controller names where a law
//! bars sharing health data for economic advantage unless an exception applies (LGPD Art. 11 §4).
//! A leaf module, so the rule files (which list the exceptions) and decisions can both use it.

use serde::{Deserialize, Serialize};

use crate::ConsentError;

/// Why health data is shared between controllers, when a regime bars sharing it for economic
/// advantage (LGPD Art. 11 §4): the controller names it (`--sharing-basis`), and only the
/// exceptions the regime's rule file lists lift the bar.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum SharingBasis {
    /// The sharing seeks no economic advantage (outside the bar).
    NoEconomicAdvantage,
    /// Provision of health services, in the subject's interest.
    HealthServices,
    /// Pharmaceutical assistance, in the subject's interest.
    PharmaceuticalAssistance,
    /// Health care, including auxiliary diagnosis and therapy services, in the subject's interest.
    HealthCare,
    /// Portability the subject requested (Art. 11 §4, I).
    Portability,
    /// Financial and administrative transactions of those services (Art. 11 §4, II).
    Transactions,
}

impl SharingBasis {
    /// Every basis.
    pub const ALL: [SharingBasis; 6] = [
        Self::NoEconomicAdvantage,
        Self::HealthServices,
        Self::PharmaceuticalAssistance,
        Self::HealthCare,
        Self::Portability,
        Self::Transactions,
    ];

    /// The kebab-case id.
    #[must_use]
    pub fn id(self) -> &'static str {
        match self {
            Self::NoEconomicAdvantage => "no-economic-advantage",
            Self::HealthServices => "health-services",
            Self::PharmaceuticalAssistance => "pharmaceutical-assistance",
            Self::HealthCare => "health-care",
            Self::Portability => "portability",
            Self::Transactions => "transactions",
        }
    }
}

impl std::str::FromStr for SharingBasis {
    type Err = ConsentError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::ALL
            .into_iter()
            .find(|b| b.id() == s.trim())
            .ok_or_else(|| ConsentError::UnknownSharingBasis(s.chars().take(32).collect()))
    }
}
