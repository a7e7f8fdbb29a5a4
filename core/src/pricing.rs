//! Prices per minute and the cost of minutes: the seed's *Estimated session cost* and the bill.

use rust_decimal::Decimal;
use serde::Serialize;

use crate::money::{Currency, Money, MoneyError};

/// The site's price list in force at one moment.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Prices {
    pub currency: Currency,
    /// Price of one person-minute (one computer connected for one minute).
    #[serde(with = "rust_decimal::serde::str")]
    pub person_minute: Decimal,
    /// Price of one teleconference minute (one telephone connected for one minute).
    #[serde(with = "rust_decimal::serde::str")]
    pub teleconference_minute: Decimal,
}

/// One priced category: minutes × price per minute, rounded half-up to the minor unit.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct CostLine {
    pub minutes: u64,
    #[serde(with = "rust_decimal::serde::str")]
    pub price_per_minute: Decimal,
    pub amount: Money,
}

/// Person and teleconference lines and their sum.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Cost {
    pub currency: Currency,
    pub person: CostLine,
    pub teleconference: CostLine,
    pub total: Money,
}

impl Prices {
    /// Prices the given minutes; each line is rounded on its own and the total is their sum.
    pub fn cost(
        &self,
        person_minutes: u64,
        teleconference_minutes: u64,
    ) -> Result<Cost, MoneyError> {
        let person = self.line(person_minutes, self.person_minute)?;
        let teleconference = self.line(teleconference_minutes, self.teleconference_minute)?;
        let total = person.amount.checked_add(teleconference.amount)?;
        Ok(Cost { currency: self.currency, person, teleconference, total })
    }

    fn line(&self, minutes: u64, price_per_minute: Decimal) -> Result<CostLine, MoneyError> {
        let amount =
            Decimal::from(minutes).checked_mul(price_per_minute).ok_or(MoneyError::Overflow)?;
        Ok(CostLine { minutes, price_per_minute, amount: Money::round(amount, self.currency) })
    }
}

/// The most minutes one session may be quoted for: Webex and Zoom end meetings after 24 hours.
pub const MAX_MINUTES: u64 = 24 * 60;
/// The most computers or phones one session may be quoted for (the largest Webex webinars).
pub const MAX_DEVICES: u64 = 100_000;

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum EstimateError {
    #[error("{name} must be between {min} and {max}, got {got}")]
    OutOfRange { name: &'static str, min: u64, max: u64, got: i128 },
}

/// What a host plans: how long and how many computers and telephones. Only valid plans exist.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
pub struct SessionPlan {
    pub minutes: u64,
    pub computers: u64,
    pub phones: u64,
}

impl SessionPlan {
    /// Accepts signed input so that "-5" is reported as out of range rather than as a parse error.
    pub fn new(minutes: i128, computers: i128, phones: i128) -> Result<Self, EstimateError> {
        Ok(SessionPlan {
            minutes: in_range("minutes", minutes, 1, MAX_MINUTES)?,
            computers: in_range("computers", computers, 1, MAX_DEVICES)?,
            phones: in_range("phones", phones, 0, MAX_DEVICES)?,
        })
    }

    /// Checked because the fields are public: a plan built by hand skips `new`'s limits.
    pub fn person_minutes(&self) -> Result<u64, MoneyError> {
        self.minutes.checked_mul(self.computers).ok_or(MoneyError::Overflow)
    }

    pub fn teleconference_minutes(&self) -> Result<u64, MoneyError> {
        self.minutes.checked_mul(self.phones).ok_or(MoneyError::Overflow)
    }
}

fn in_range(name: &'static str, got: i128, min: u64, max: u64) -> Result<u64, EstimateError> {
    if got < i128::from(min) || got > i128::from(max) {
        return Err(EstimateError::OutOfRange { name, min, max, got });
    }
    Ok(got as u64)
}

/// The *Estimated session cost* of the seed: the plan, the derived minutes and their cost.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Estimate {
    pub plan: SessionPlan,
    pub cost: Cost,
}

impl Estimate {
    pub fn new(plan: SessionPlan, prices: &Prices) -> Result<Self, MoneyError> {
        let cost = prices.cost(plan.person_minutes()?, plan.teleconference_minutes()?)?;
        Ok(Estimate { plan, cost })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn prices(currency: &str, person: &str, tele: &str) -> Prices {
        Prices {
            currency: currency.parse().unwrap(),
            person_minute: person.parse().unwrap(),
            teleconference_minute: tele.parse().unwrap(),
        }
    }

    #[test]
    fn the_design_example_costs_ten_eighty() {
        let cost = prices("USD", "0.12", "0.05").cost(90, 0).unwrap();
        assert_eq!(cost.person.amount.to_string(), "10.80");
        assert_eq!(cost.teleconference.amount.to_string(), "0.00");
        assert_eq!(cost.total.to_string(), "10.80");
    }

    #[test]
    fn estimate_multiplies_minutes_by_devices() {
        let plan = SessionPlan::new(60, 10, 3).unwrap();
        let e = Estimate::new(plan, &prices("USD", "0.12", "0.05")).unwrap();
        assert_eq!(e.cost.person.minutes, 600);
        assert_eq!(e.cost.teleconference.minutes, 180);
        assert_eq!(e.cost.person.amount.to_string(), "72.00");
        assert_eq!(e.cost.teleconference.amount.to_string(), "9.00");
        assert_eq!(e.cost.total.to_string(), "81.00");
    }

    #[test]
    fn each_line_is_rounded_before_the_total() {
        // 1 × 0.005 = 0.005 → 0.01 per line, so the total is 0.02, not round(0.010) = 0.01.
        let cost = prices("USD", "0.005", "0.005").cost(1, 1).unwrap();
        assert_eq!(cost.person.amount.to_string(), "0.01");
        assert_eq!(cost.total.to_string(), "0.02");
    }

    #[test]
    fn zero_and_three_digit_currencies() {
        let jpy = prices("JPY", "2.5", "1.49").cost(1, 1).unwrap();
        assert_eq!(jpy.person.amount.to_string(), "3");
        assert_eq!(jpy.teleconference.amount.to_string(), "1");
        assert_eq!(jpy.total.to_string(), "4");
        let kwd = prices("KWD", "0.0125", "0.0004").cost(3, 1).unwrap();
        assert_eq!(kwd.person.amount.to_string(), "0.038"); // 0.0375 rounds up
        assert_eq!(kwd.teleconference.amount.to_string(), "0.000");
        assert_eq!(kwd.total.to_string(), "0.038");
    }

    #[test]
    fn largest_plan_does_not_overflow() {
        let plan = SessionPlan::new(MAX_MINUTES as i128, MAX_DEVICES as i128, MAX_DEVICES as i128)
            .unwrap();
        let e = Estimate::new(plan, &prices("USD", "99999.99", "99999.99")).unwrap();
        assert_eq!(e.cost.person.minutes, 144_000_000);
        assert_eq!(e.cost.total.to_string(), "28799997120000.00");
    }

    #[test]
    fn out_of_range_plans_name_the_field() {
        let err = SessionPlan::new(0, 1, 0).unwrap_err();
        assert_eq!(err.to_string(), "minutes must be between 1 and 1440, got 0");
        let err = SessionPlan::new(10, -3, 0).unwrap_err();
        assert_eq!(err.to_string(), "computers must be between 1 and 100000, got -3");
        let err = SessionPlan::new(10, 1, 100_001).unwrap_err();
        assert_eq!(err.to_string(), "phones must be between 0 and 100000, got 100001");
    }

    #[test]
    fn a_hand_built_plan_past_u64_is_an_overflow_not_a_panic() {
        let plan = SessionPlan { minutes: u64::MAX, computers: 2, phones: 0 };
        assert_eq!(plan.person_minutes(), Err(MoneyError::Overflow));
        assert_eq!(plan.teleconference_minutes(), Ok(0));
        let err = Estimate::new(plan, &prices("USD", "0.12", "0.05")).unwrap_err();
        assert_eq!(err, MoneyError::Overflow);
    }

    #[test]
    fn a_price_too_large_for_the_minutes_is_an_overflow() {
        let err = prices("USD", "79228162514264337593543950335", "0").cost(2, 0).unwrap_err();
        assert_eq!(err, MoneyError::Overflow);
    }
}
