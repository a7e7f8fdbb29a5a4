//! Exact money: an ISO 4217 currency with its minor units, and amounts rounded half-up to them.

use std::fmt;
use std::str::FromStr;

use rust_decimal::{Decimal, RoundingStrategy};
use serde::{Deserialize, Serialize};

/// An ISO 4217 currency that has a minor unit (so it can be charged).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct Currency(iso_currency::Currency);

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum MoneyError {
    #[error("unknown currency `{0}` (expected an ISO 4217 code such as USD, EUR, NOK)")]
    UnknownCurrency(String),
    #[error("currency `{0}` has no minor unit and cannot be charged")]
    NotChargeable(String),
    #[error("`{0}` is not a decimal amount")]
    NotDecimal(String),
    #[error("amount `{0}` must not be negative")]
    Negative(String),
    #[error("amount is too large")]
    Overflow,
    #[error("amount `{0}` is over the largest accepted, 1000000000000")]
    TooLarge(String),
    #[error("cannot add {0} to {1}")]
    CurrencyMismatch(Currency, Currency),
}

impl Currency {
    pub const USD: Currency = Currency(iso_currency::Currency::USD);

    /// Number of digits after the decimal point of the minor unit (JPY 0, USD 2, KWD 3).
    pub fn minor_units(self) -> u32 {
        // Checked in `from_str`, so every value of this type has an exponent.
        u32::from(self.0.exponent().unwrap_or(0))
    }

    pub fn code(self) -> &'static str {
        self.0.code()
    }
}

impl FromStr for Currency {
    type Err = MoneyError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let code = s.trim().to_ascii_uppercase();
        let currency = iso_currency::Currency::from_code(&code)
            .ok_or_else(|| MoneyError::UnknownCurrency(s.to_owned()))?;
        if currency.exponent().is_none() {
            return Err(MoneyError::NotChargeable(code));
        }
        Ok(Currency(currency))
    }
}

impl TryFrom<String> for Currency {
    type Error = MoneyError;
    fn try_from(s: String) -> Result<Self, Self::Error> {
        s.parse()
    }
}

impl From<Currency> for String {
    fn from(c: Currency) -> String {
        c.code().to_owned()
    }
}

impl fmt::Display for Currency {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.code())
    }
}

/// An ISO 3166-1 alpha-2 country code.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct Country(isocountry::CountryCode);

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
#[error("unknown country `{0}` (expected an ISO 3166-1 alpha-2 code such as US, GB, NO)")]
pub struct UnknownCountry(String);

impl Country {
    pub const US: Country = Country(isocountry::CountryCode::USA);

    pub fn code(self) -> &'static str {
        self.0.alpha2()
    }
}

impl FromStr for Country {
    type Err = UnknownCountry;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let code = s.trim();
        if code.len() != 2 {
            return Err(UnknownCountry(s.to_owned()));
        }
        isocountry::CountryCode::for_alpha2_caseless(code)
            .map(Country)
            .map_err(|_| UnknownCountry(s.to_owned()))
    }
}

impl TryFrom<String> for Country {
    type Error = UnknownCountry;
    fn try_from(s: String) -> Result<Self, Self::Error> {
        s.parse()
    }
}

impl From<Country> for String {
    fn from(c: Country) -> String {
        c.code().to_owned()
    }
}

impl fmt::Display for Country {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.code())
    }
}

/// A non-negative decimal that is not yet money, such as a price per minute, which may carry
/// more digits than the currency's minor unit.
pub fn parse_non_negative(s: &str) -> Result<Decimal, MoneyError> {
    let value =
        Decimal::from_str_exact(s.trim()).map_err(|_| MoneyError::NotDecimal(s.to_owned()))?;
    if value.is_sign_negative() && !value.is_zero() {
        return Err(MoneyError::Negative(s.to_owned()));
    }
    // Far above any real price or fee, and low enough that a day of the most computers a
    // quote allows, with the most headroom, stays well inside `Decimal`: no cost, hold or
    // sum built from accepted amounts can overflow.
    if value > Decimal::from(MOST_ACCEPTED) {
        return Err(MoneyError::TooLarge(s.to_owned()));
    }
    Ok(value)
}

/// The largest price or amount accepted, in currency units.
pub const MOST_ACCEPTED: i64 = 1_000_000_000_000;

/// An amount in a currency, always held at exactly the currency's minor unit.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Money {
    amount: Decimal,
    currency: Currency,
}

impl Money {
    /// Rounds `amount` half-up (away from zero at exactly .5) to the currency's minor unit.
    pub fn round(amount: Decimal, currency: Currency) -> Money {
        let mut amount = amount
            .round_dp_with_strategy(currency.minor_units(), RoundingStrategy::MidpointAwayFromZero);
        amount.rescale(currency.minor_units());
        Money { amount, currency }
    }

    pub fn zero(currency: Currency) -> Money {
        Money::round(Decimal::ZERO, currency)
    }

    /// Parses an amount that must already be exact in the currency's minor unit ("10.80" USD).
    pub fn parse_exact(s: &str, currency: Currency) -> Result<Money, MoneyError> {
        let value = parse_non_negative(s)?;
        let money = Money::round(value, currency);
        if money.amount != value {
            return Err(MoneyError::NotDecimal(format!(
                "{s} (more than {} decimals for {currency})",
                currency.minor_units()
            )));
        }
        Ok(money)
    }

    /// The amount in minor units (cents, yen, fils), as gateways such as Stripe want it.
    pub fn minor(&self) -> Result<i64, MoneyError> {
        // Decimal's `*` panics past its 96-bit range, and an amount near it times 1000 is past.
        let scaled = self
            .amount
            .checked_mul(Decimal::from(10_i64.pow(self.currency.minor_units())))
            .ok_or(MoneyError::Overflow)?;
        i64::try_from(scaled).map_err(|_| MoneyError::Overflow)
    }

    pub fn from_minor(minor: i64, currency: Currency) -> Money {
        Money::round(Decimal::new(minor, currency.minor_units()), currency)
    }

    pub fn amount(&self) -> Decimal {
        self.amount
    }

    pub fn currency(&self) -> Currency {
        self.currency
    }

    pub fn checked_add(self, other: Money) -> Result<Money, MoneyError> {
        if self.currency != other.currency {
            return Err(MoneyError::CurrencyMismatch(other.currency, self.currency));
        }
        let amount = self.amount.checked_add(other.amount).ok_or(MoneyError::Overflow)?;
        Ok(Money::round(amount, self.currency))
    }
}

impl fmt::Display for Money {
    /// The plain decimal at the minor unit, as the JSON contract wants it ("10.80", "1200", "1.250").
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.pad(&self.amount.to_string())
    }
}

impl Serialize for Money {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cur(code: &str) -> Currency {
        code.parse().unwrap()
    }

    #[test]
    fn minor_units_follow_iso_4217() {
        assert_eq!(cur("JPY").minor_units(), 0);
        assert_eq!(cur("usd").minor_units(), 2);
        assert_eq!(cur("KWD").minor_units(), 3);
    }

    #[test]
    fn unknown_and_unchargeable_currencies_are_named() {
        assert_eq!("XYZ".parse::<Currency>(), Err(MoneyError::UnknownCurrency("XYZ".into())));
        assert_eq!("XAU".parse::<Currency>(), Err(MoneyError::NotChargeable("XAU".into())));
    }

    #[test]
    fn rounds_half_up_at_the_minor_unit() {
        let r = |s: &str, c: &str| Money::round(s.parse().unwrap(), cur(c)).to_string();
        assert_eq!(r("0.125", "USD"), "0.13");
        assert_eq!(r("0.124999", "USD"), "0.12");
        assert_eq!(r("2.5", "JPY"), "3");
        assert_eq!(r("1.4999", "JPY"), "1");
        assert_eq!(r("0.0005", "KWD"), "0.001");
        assert_eq!(r("0.0004", "KWD"), "0.000");
        assert_eq!(r("10.8", "USD"), "10.80");
    }

    #[test]
    fn minor_units_round_trip() {
        let m = Money::parse_exact("10.80", Currency::USD).unwrap();
        assert_eq!(m.minor().unwrap(), 1080);
        assert_eq!(Money::from_minor(1080, Currency::USD), m);
        assert_eq!(Money::from_minor(1200, cur("JPY")).to_string(), "1200");
        assert!(Money::parse_exact("10.805", Currency::USD).is_err());
    }

    #[test]
    fn adding_different_currencies_is_refused() {
        let a = Money::zero(Currency::USD);
        let b = Money::zero(cur("NOK"));
        assert!(a.checked_add(b).is_err());
    }

    #[test]
    fn countries_parse_alpha2_only() {
        assert_eq!("gb".parse::<Country>().unwrap().code(), "GB");
        assert!("GBR".parse::<Country>().is_err());
        assert!("ZZ".parse::<Country>().is_err());
    }

    #[test]
    fn negative_prices_are_refused() {
        assert_eq!(parse_non_negative("-0.01"), Err(MoneyError::Negative("-0.01".into())));
        assert!(parse_non_negative("abc").is_err());
        assert_eq!(parse_non_negative("0.12").unwrap().to_string(), "0.12");
        assert!(parse_non_negative("1000000000000").is_ok());
        assert_eq!(
            parse_non_negative("500000000000000000000"),
            Err(MoneyError::TooLarge("500000000000000000000".into()))
        );
    }

    #[test]
    fn minor_units_of_a_huge_amount_are_an_overflow_not_a_panic() {
        let huge = Money::round(Decimal::MAX, cur("KWD"));
        assert_eq!(huge.minor(), Err(MoneyError::Overflow));
        // Fits a Decimal but not the i64 that gateways take.
        let big = Money::round(Decimal::from(i64::MAX), Currency::USD);
        assert_eq!(big.minor(), Err(MoneyError::Overflow));
    }

    #[test]
    fn adding_past_the_largest_decimal_is_an_overflow() {
        let max = Money::round(Decimal::MAX, cur("JPY"));
        assert_eq!(max.checked_add(Money::from_minor(1, cur("JPY"))), Err(MoneyError::Overflow));
    }
}
