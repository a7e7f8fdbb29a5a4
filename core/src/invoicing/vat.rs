//! VAT: what a payer is charged for a price as entered, and how an amount charged splits into
//! its net amount and its VAT, line by line, rounded half-up to the currency's minor unit.

use std::fmt;
use std::str::FromStr;

use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};

use crate::money::{Currency, Money};

/// Whether the site's prices (fees, prices per minute) are entered with VAT included, or VAT is
/// added on top of them.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Pricing {
    #[default]
    Inclusive,
    Exclusive,
}

/// A VAT rate in percent, from 0 to 100 with at most two decimals (`25`, `12.5`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct Rate(Decimal);

impl Rate {
    pub fn percent(self) -> Decimal {
        self.0
    }
}

impl FromStr for Rate {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let bad = || {
            format!(
                "`{s}` is not a VAT rate: expected a percentage from 0 to 100, such as 25 or 12.5"
            )
        };
        let rate = Decimal::from_str_exact(s.trim()).map_err(|_| bad())?;
        if rate.is_sign_negative() || rate > Decimal::ONE_HUNDRED || rate.scale() > 2 {
            return Err(bad());
        }
        Ok(Rate(rate.normalize()))
    }
}

impl TryFrom<String> for Rate {
    type Error = String;
    fn try_from(s: String) -> Result<Self, Self::Error> {
        s.parse()
    }
}

impl From<Rate> for String {
    fn from(rate: Rate) -> String {
        rate.to_string()
    }
}

impl fmt::Display for Rate {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.0.normalize())
    }
}

/// The site's VAT: its rate and how prices are entered.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Vat {
    pub rate: Rate,
    pub pricing: Pricing,
}

/// One line's amounts: net plus VAT is gross, exactly.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Split {
    pub net: Money,
    pub vat: Money,
    pub gross: Money,
}

impl Vat {
    /// What a payer is charged for `price` as entered: the price itself when prices include
    /// VAT; the price and its VAT (rounded half-up) when VAT is added on top.
    pub fn charge_for(&self, price: Money) -> Money {
        match self.pricing {
            Pricing::Inclusive => price,
            Pricing::Exclusive => {
                let vat = Money::round(
                    price.amount() * self.rate.0 / Decimal::ONE_HUNDRED,
                    price.currency(),
                );
                Money::round(price.amount() + vat.amount(), price.currency())
            }
        }
    }

    /// How `gross`, an amount charged for one line, splits into net and VAT. With prices
    /// including VAT, the VAT is the rounded part of the gross; with VAT added on top, the net
    /// is the rounded price it was charged for, which this gives back exactly (the rounding of
    /// the VAT moves the gross by at most half a minor unit, which the division by 1 + rate
    /// shrinks further).
    pub fn split(&self, gross: Money) -> Split {
        let currency = gross.currency();
        let hundred = Decimal::ONE_HUNDRED;
        let whole = hundred + self.rate.0;
        let minus = |a: Money, b: Money| Money::round(a.amount() - b.amount(), currency);
        match self.pricing {
            Pricing::Inclusive => {
                let vat = Money::round(gross.amount() * self.rate.0 / whole, currency);
                Split { net: minus(gross, vat), vat, gross }
            }
            Pricing::Exclusive => {
                let net = Money::round(gross.amount() * hundred / whole, currency);
                Split { net, vat: minus(gross, net), gross }
            }
        }
    }
}

/// The sum of lines, each already rounded: totals are never rounded again.
pub fn total(lines: &[Split], currency: Currency) -> Split {
    let sum =
        |f: fn(&Split) -> Money| Money::round(lines.iter().map(|l| f(l).amount()).sum(), currency);
    Split { net: sum(|l| l.net), vat: sum(|l| l.vat), gross: sum(|l| l.gross) }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn money(s: &str, currency: &str) -> Money {
        Money::parse_exact(s, currency.parse().unwrap()).unwrap()
    }

    fn vat(rate: &str, pricing: Pricing) -> Vat {
        Vat { rate: rate.parse().unwrap(), pricing }
    }

    fn shown(s: Split) -> [String; 3] {
        [s.net.to_string(), s.vat.to_string(), s.gross.to_string()]
    }

    #[test]
    fn a_price_including_vat_is_charged_as_it_is_and_its_vat_is_the_rounded_part() {
        let v = vat("25", Pricing::Inclusive);
        assert_eq!(v.charge_for(money("125.00", "USD")), money("125.00", "USD"));
        assert_eq!(shown(v.split(money("125.00", "USD"))), ["100.00", "25.00", "125.00"]);
        // 10.00 × 25/125 = 2.00; 9.99 × 25/125 = 1.998 → 2.00.
        assert_eq!(shown(v.split(money("9.99", "USD"))), ["7.99", "2.00", "9.99"]);
    }

    #[test]
    fn a_price_excluding_vat_is_charged_with_its_vat_and_splits_back_into_the_price() {
        let v = vat("25", Pricing::Exclusive);
        let charged = v.charge_for(money("100.00", "USD"));
        assert_eq!(charged, money("125.00", "USD"));
        assert_eq!(shown(v.split(charged)), ["100.00", "25.00", "125.00"]);
        // Every price from 0.01 to 20.00 at awkward rates comes back exactly.
        for rate in ["25", "12.5", "15", "8.25", "0", "100"] {
            let v = vat(rate, Pricing::Exclusive);
            for cents in 1..=2000 {
                let price = Money::from_minor(cents, Currency::USD);
                let split = v.split(v.charge_for(price));
                assert_eq!(split.net, price, "{price} at {rate} %");
            }
        }
    }

    #[test]
    fn vat_is_rounded_half_up_per_line_not_on_the_total() {
        let v = vat("25", Pricing::Exclusive);
        // 0.10 × 25 % = 0.025, rounded half-up to 0.03 on each line.
        let line = v.split(v.charge_for(money("0.10", "USD")));
        assert_eq!(shown(line), ["0.10", "0.03", "0.13"]);
        let both = total(&[line, line], Currency::USD);
        assert_eq!(shown(both), ["0.20", "0.06", "0.26"], "not 0.05 on 0.20");
    }

    #[test]
    fn yen_have_no_decimals_and_dinars_three() {
        let inclusive = vat("10", Pricing::Inclusive);
        // 1000 × 10/110 = 90.909…
        assert_eq!(shown(inclusive.split(money("1000", "JPY"))), ["909", "91", "1000"]);
        let exclusive = vat("10", Pricing::Exclusive);
        assert_eq!(exclusive.charge_for(money("999", "JPY")), money("1099", "JPY"));
        assert_eq!(shown(exclusive.split(money("1099", "JPY"))), ["999", "100", "1099"]);
        let kwd = vat("5", Pricing::Inclusive);
        // 10.000 × 5/105 = 0.476190…
        assert_eq!(shown(kwd.split(money("10.000", "KWD"))), ["9.524", "0.476", "10.000"]);
        assert_eq!(
            vat("5", Pricing::Exclusive).charge_for(money("1.005", "KWD")).to_string(),
            "1.055"
        );
    }

    #[test]
    fn no_vat_leaves_the_amount_net() {
        let v = Vat::default();
        assert_eq!(shown(v.split(money("25.00", "USD"))), ["25.00", "0.00", "25.00"]);
    }

    #[test]
    fn rates_are_percentages_from_0_to_100_with_two_decimals() {
        assert_eq!("25".parse::<Rate>().unwrap().to_string(), "25");
        assert_eq!(" 12.50 ".parse::<Rate>().unwrap().to_string(), "12.5");
        for bad in ["-1", "100.01", "12.345", "abc", ""] {
            let e = bad.parse::<Rate>().unwrap_err();
            assert!(e.contains("is not a VAT rate"), "{bad}: {e}");
        }
    }
}
