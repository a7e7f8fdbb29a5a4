//! Payment methods and where each may be offered.

use std::fmt;
use std::str::FromStr;

use serde::Serialize;

use crate::money::Country;

/// A way to pay that a pay page can offer.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Method {
    /// tollbooth's own test checkout.
    Sandbox,
    /// Credit and debit cards through PayPal Payflow Pro.
    Payflow,
    /// Credit and debit cards through Stripe Checkout.
    Stripe,
    /// PayPal (wallet, and cards where PayPal offers them) through PayPal's Orders v2 API.
    Paypal,
    /// PayPal Express Checkout.
    ExpressCheckout,
    /// PayPal Website Payments Pro.
    WebsitePaymentsPro,
}

pub const ALL: [Method; 6] = [
    Method::Sandbox,
    Method::Payflow,
    Method::Stripe,
    Method::Paypal,
    Method::ExpressCheckout,
    Method::WebsitePaymentsPro,
];

impl Method {
    pub fn as_str(self) -> &'static str {
        match self {
            Method::Sandbox => "sandbox",
            Method::Payflow => "payflow",
            Method::Stripe => "stripe",
            Method::Paypal => "paypal",
            Method::ExpressCheckout => "express-checkout",
            Method::WebsitePaymentsPro => "website-payments-pro",
        }
    }

    /// DESIGN's rule: Express Checkout only in the US and Canada, Website Payments Pro only in
    /// Great Britain, cards and the sandbox everywhere. PayPal's current Orders API is not
    /// limited by PayPal to a country list, so it is offered everywhere too.
    pub fn allowed_in(self, country: Country) -> bool {
        match self {
            Method::ExpressCheckout => matches!(country.code(), "US" | "CA"),
            Method::WebsitePaymentsPro => country.code() == "GB",
            Method::Sandbox | Method::Payflow | Method::Stripe | Method::Paypal => true,
        }
    }
}

/// The methods of `enabled` that the site's country allows, in the order they were enabled.
pub fn allowed(enabled: &[Method], country: Country) -> Vec<Method> {
    enabled.iter().copied().filter(|m| m.allowed_in(country)).collect()
}

/// What a pay page offers: the configured methods (only they have a gateway), narrowed to the
/// administrator's choice when there is one, where the site's country allows them; in the
/// configuration's order, so the operator decides which comes first.
pub fn offered(configured: &[Method], chosen: Option<&[Method]>, country: Country) -> Vec<Method> {
    let mut offered = allowed(configured, country);
    if let Some(chosen) = chosen {
        offered.retain(|m| chosen.contains(m));
    }
    offered
}

/// Methods written as one line, separated by commas (as in the environment, in chat and in the
/// database); blanks around names and empty entries are ignored.
pub fn parse_list(text: &str) -> Result<Vec<Method>, String> {
    text.split(',').map(str::trim).filter(|n| !n.is_empty()).map(str::parse).collect()
}

/// The inverse of [`parse_list`].
pub fn join(methods: &[Method]) -> String {
    methods.iter().map(|m| m.as_str()).collect::<Vec<_>>().join(", ")
}

impl FromStr for Method {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        ALL.into_iter().find(|m| m.as_str() == s.trim()).ok_or_else(|| {
            let names: Vec<_> = ALL.iter().map(|m| m.as_str()).collect();
            format!("unknown payment method `{s}` (expected one of {})", names.join(", "))
        })
    }
}

impl fmt::Display for Method {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn names(country: &str) -> Vec<&'static str> {
        allowed(&ALL, country.parse().unwrap()).into_iter().map(Method::as_str).collect()
    }

    #[test]
    fn methods_per_country() {
        let everywhere = ["sandbox", "payflow", "stripe", "paypal"];
        assert_eq!(names("US"), [&everywhere[..], &["express-checkout"]].concat());
        assert_eq!(names("CA"), [&everywhere[..], &["express-checkout"]].concat());
        assert_eq!(names("GB"), [&everywhere[..], &["website-payments-pro"]].concat());
        assert_eq!(names("NO"), everywhere);
    }

    #[test]
    fn offered_is_configured_and_chosen_and_allowed() {
        use Method::*;
        let configured = [Payflow, Sandbox, ExpressCheckout];
        let us = "US".parse().unwrap();
        let no = "NO".parse().unwrap();
        assert_eq!(offered(&configured, None, us), configured, "no choice: all configured");
        assert_eq!(offered(&configured, None, no), [Payflow, Sandbox], "the country still rules");
        // The configuration's order, whatever order the administrator named them in.
        assert_eq!(offered(&configured, Some(&[Sandbox, Payflow]), us), [Payflow, Sandbox]);
        // A chosen method without a gateway is not offered, nor one the country forbids.
        assert_eq!(offered(&configured, Some(&[Stripe, Sandbox]), us), [Sandbox]);
        assert_eq!(offered(&configured, Some(&[ExpressCheckout]), no), []);
        assert_eq!(offered(&configured, Some(&[]), us), []);
    }

    #[test]
    fn lists_round_trip() {
        let list = parse_list(" sandbox, ,express-checkout,").unwrap();
        assert_eq!(list, [Method::Sandbox, Method::ExpressCheckout]);
        assert_eq!(parse_list(&join(&ALL)).unwrap(), ALL);
        assert_eq!(parse_list("").unwrap(), []);
        assert!(parse_list("sandbox,bitcoin").unwrap_err().contains("`bitcoin`"));
    }

    #[test]
    fn names_round_trip() {
        for m in ALL {
            assert_eq!(m.as_str().parse::<Method>(), Ok(m));
        }
        assert!("bitcoin".parse::<Method>().unwrap_err().contains("express-checkout"));
    }
}
