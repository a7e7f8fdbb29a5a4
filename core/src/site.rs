//! The site as its administrator configures it: whether e-commerce and its two features are
//! on, where the site sells, and the divisions and hosts that pay for sessions.

use std::fmt;
use std::str::FromStr;

use crate::email::Email;
use serde::Serialize;

use crate::fee_based::refunds::CancellationTerms;
use crate::money::Country;
use crate::payments::method::{self, Method};
use crate::pricing::Prices;
use crate::time::Tz;

/// Site-wide switches and the prices in force.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct SiteSettings {
    /// E-commerce is optional; nothing is sold until an administrator turns it on.
    pub ecommerce_enabled: bool,
    /// Hosts pay before they can start each session.
    pub pay_per_use_enabled: bool,
    /// Attendees pay a fee to register.
    pub fee_based_enabled: bool,
    pub country: Country,
    pub prices: Prices,
    /// The administrator's choice of payment methods; `None` leaves it to the configuration.
    pub payment_methods: Option<Vec<Method>>,
    /// What happens when a session would take a division over its month's budget.
    pub over_budget: OverBudgetPolicy,
    /// Where a host who links themselves is booked while no other division is theirs.
    pub default_division: Option<DivisionId>,
    /// The zone that times typed in chat without an offset are read in.
    pub timezone: Tz,
    /// Until when, and for what fee, attendees may cancel themselves.
    pub cancellation: CancellationTerms,
}

/// Which of e-commerce's two features a site sells, as an administrator lists them:
/// `pay-per-use, fee-based`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Features {
    pub pay_per_use: bool,
    pub fee_based: bool,
}

impl FromStr for Features {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let mut features = Features::default();
        for name in s.split([',', ' ']).map(str::trim).filter(|n| !n.is_empty()) {
            match name.to_ascii_lowercase().as_str() {
                "pay-per-use" => features.pay_per_use = true,
                "fee-based" => features.fee_based = true,
                other => {
                    return Err(format!("`{other}` is not a feature (pay-per-use or fee-based)"));
                }
            }
        }
        if features == Features::default() {
            return Err("names no feature: list pay-per-use, fee-based or both".into());
        }
        Ok(features)
    }
}

impl fmt::Display for Features {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let names = [(self.pay_per_use, "pay-per-use"), (self.fee_based, "fee-based")];
        let on: Vec<_> = names.iter().filter(|(on, _)| *on).map(|(_, name)| *name).collect();
        f.write_str(&on.join(", "))
    }
}

/// A site turned on in one go (`/admin setup`): e-commerce on with `features` (the other one
/// off), the country, a new price list, and the default division, made if it is new.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Setup {
    pub country: Country,
    pub prices: Prices,
    pub features: Features,
    pub default_division: Division,
}

/// What a site does when a session would take its host's division over the month's budget.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum OverBudgetPolicy {
    /// The quote says so; the host may still pay (a division may choose to spend more).
    #[default]
    Warn,
    /// Paying for such a session is refused, in chat and on the pay page.
    Block,
}

impl OverBudgetPolicy {
    pub fn as_str(self) -> &'static str {
        match self {
            OverBudgetPolicy::Warn => "warn",
            OverBudgetPolicy::Block => "block",
        }
    }
}

impl FromStr for OverBudgetPolicy {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "warn" => Ok(OverBudgetPolicy::Warn),
            "block" => Ok(OverBudgetPolicy::Block),
            other => Err(format!("`{other}` is not an over-budget policy (warn or block)")),
        }
    }
}

impl SiteSettings {
    /// The methods a pay page offers, of those `configured` (the gateways that exist).
    pub fn offered_methods(&self, configured: &[Method]) -> Vec<Method> {
        method::offered(configured, self.payment_methods.as_deref(), self.country)
    }
}

/// A division's identifier: a short lowercase slug such as `sales-emea`, as typed in chat,
/// URLs and reports.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(transparent)]
pub struct DivisionId(String);

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
#[error("division `{0}` must be 1 to 64 characters of a-z, 0-9 and '-'")]
pub struct BadDivisionId(String);

impl FromStr for DivisionId {
    type Err = BadDivisionId;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let ok = (1..=64).contains(&s.len())
            && s.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-');
        if ok { Ok(DivisionId(s.to_owned())) } else { Err(BadDivisionId(s.to_owned())) }
    }
}

impl DivisionId {
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for DivisionId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// A unit of the organisation with its own training budget.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Division {
    pub id: DivisionId,
    pub name: String,
}

/// A person who hosts sessions, and the division their charges are booked to.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Host {
    pub email: Email,
    pub division: Option<DivisionId>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn division_ids_are_slugs() {
        assert!("sales-emea".parse::<DivisionId>().is_ok());
        assert!("Sales".parse::<DivisionId>().is_err());
        assert!("".parse::<DivisionId>().is_err());
        assert!("a b".parse::<DivisionId>().is_err());
    }

    #[test]
    fn features_are_listed_by_name_and_at_least_one_is() {
        let both = Features { pay_per_use: true, fee_based: true };
        assert_eq!("pay-per-use, fee-based".parse(), Ok(both));
        assert_eq!(" Fee-Based ".parse(), Ok(Features { pay_per_use: false, fee_based: true }));
        assert_eq!(both.to_string(), "pay-per-use, fee-based");
        assert_eq!(
            "pay-per-use, gifts".parse::<Features>(),
            Err("`gifts` is not a feature (pay-per-use or fee-based)".into())
        );
        assert!(" , ".parse::<Features>().unwrap_err().contains("names no feature"));
    }

    #[test]
    fn over_budget_policies_read_back_and_bad_ones_are_named() {
        for p in [OverBudgetPolicy::Warn, OverBudgetPolicy::Block] {
            assert_eq!(p.as_str().parse(), Ok(p));
        }
        assert_eq!(OverBudgetPolicy::default(), OverBudgetPolicy::Warn);
        let err = "stop".parse::<OverBudgetPolicy>().unwrap_err();
        assert_eq!(err, "`stop` is not an over-budget policy (warn or block)");
    }
}
