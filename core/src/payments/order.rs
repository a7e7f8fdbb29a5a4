//! Orders: something to pay, for a pay-per-use session (host) or a registration fee (attendee).

use std::fmt;
use std::str::FromStr;

use chrono::{DateTime, SubsecRound, Utc};
use rand::RngCore;
use serde::Serialize;

use crate::money::Money;
use crate::pricing::{Estimate, Prices, SessionPlan};

/// An order's identifier: `ord_` and 24 hex digits, random so that it cannot be guessed.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize)]
#[serde(transparent)]
pub struct OrderId(String);

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
#[error("`{0}` is not an order id")]
pub struct BadOrderId(String);

impl OrderId {
    pub fn random() -> OrderId {
        let mut bytes = [0u8; 12];
        rand::rng().fill_bytes(&mut bytes);
        OrderId(format!("ord_{}", hex::encode(bytes)))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl FromStr for OrderId {
    type Err = BadOrderId;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let ok = s.strip_prefix("ord_").is_some_and(|hex| {
            hex.len() == 24 && hex.bytes().all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
        });
        if ok { Ok(OrderId(s.to_owned())) } else { Err(BadOrderId(s.to_owned())) }
    }
}

impl fmt::Display for OrderId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// How the money is taken: held now and captured later, or taken at once.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Action {
    /// Pay-per-use: the estimate is held and the real cost captured when the session ends.
    Authorise,
    /// Registration fees: the fee is known, so it is taken at once.
    Sale,
}

impl Action {
    pub fn as_str(self) -> &'static str {
        match self {
            Action::Authorise => "authorise",
            Action::Sale => "sale",
        }
    }
}

impl FromStr for Action {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "authorise" => Ok(Action::Authorise),
            "sale" => Ok(Action::Sale),
            other => Err(format!("unknown action `{other}`")),
        }
    }
}

/// What an order buys.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Purchase {
    /// One start of a pay-per-use session, priced from the host's plan.
    Session { session: String, plan: SessionPlan, prices: Prices },
    /// An attendee's registration for a session with a fee.
    Registration { session: String, fee: Money },
    /// What a pay-per-use host owes from sessions that cost more than their authorisation.
    Balance { host: String },
}

/// Something to pay. The amount is fixed when the order is made: prices that change later do
/// not change what a pay link asks for.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Order {
    pub id: OrderId,
    pub purchase: Purchase,
    /// Who pays: the host's or the attendee's e-mail address.
    pub payer: String,
    pub amount: Money,
    pub action: Action,
    /// Where the *Change* link leads: back to the quote the order was made from.
    pub change_url: Option<String>,
    pub created_at: DateTime<Utc>,
}

impl Order {
    /// A host's pay-per-use order: the estimate is authorised, and captured after the session.
    pub fn for_session(
        session: String,
        payer: String,
        estimate: &Estimate,
        prices: Prices,
        change_url: Option<String>,
    ) -> Order {
        Order {
            id: OrderId::random(),
            amount: estimate.cost.total,
            purchase: Purchase::Session { session, plan: estimate.plan, prices },
            payer,
            action: Action::Authorise,
            change_url,
            created_at: now(),
        }
    }

    /// An attendee's registration fee, taken at once.
    pub fn for_registration(session: String, payer: String, fee: Money) -> Order {
        Order {
            id: OrderId::random(),
            amount: fee,
            purchase: Purchase::Registration { session, fee },
            payer,
            action: Action::Sale,
            change_url: None,
            created_at: now(),
        }
    }

    /// Holds `percent` more than the estimate (pay-per-use headroom): the authorisation must
    /// cover a session that runs a little over, since no gateway captures more than it holds.
    pub fn with_headroom(mut self, percent: u32) -> Order {
        self.amount = crate::pay_per_use::billing::with_headroom(self.amount, percent);
        self
    }

    /// A host's outstanding balance, taken at once: it must be paid before their next start.
    pub fn for_balance(host: String, owed: Money) -> Order {
        Order {
            id: OrderId::random(),
            amount: owed,
            purchase: Purchase::Balance { host: host.clone() },
            payer: host,
            action: Action::Sale,
            change_url: None,
            created_at: now(),
        }
    }

    /// The *Estimated session cost* this order was priced from, when it is for a session.
    pub fn estimate(&self) -> Option<Estimate> {
        match &self.purchase {
            Purchase::Session { plan, prices, .. } => Estimate::new(*plan, prices).ok(),
            Purchase::Registration { .. } | Purchase::Balance { .. } => None,
        }
    }
}

/// Now, at the millisecond precision in which times are stored.
fn now() -> DateTime<Utc> {
    Utc::now().trunc_subsecs(3)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn order_ids_are_random_and_checked() {
        let a = OrderId::random();
        assert_ne!(a, OrderId::random());
        assert_eq!(a.as_str().parse::<OrderId>().unwrap(), a);
        assert!("ord_xyz".parse::<OrderId>().is_err());
        assert!("../etc".parse::<OrderId>().is_err());
    }

    #[test]
    fn a_session_order_holds_the_estimate_it_was_priced_from() {
        let prices = Prices {
            currency: crate::money::Currency::USD,
            person_minute: "0.12".parse().unwrap(),
            teleconference_minute: "0.05".parse().unwrap(),
        };
        let estimate = Estimate::new(SessionPlan::new(60, 10, 3).unwrap(), &prices).unwrap();
        let order =
            Order::for_session("webex/m1".into(), "h@example.com".into(), &estimate, prices, None);
        assert_eq!(order.amount.to_string(), "81.00");
        assert_eq!(order.action, Action::Authorise);
        assert_eq!(order.estimate().unwrap(), estimate);
        assert_eq!(order.with_headroom(15).amount.to_string(), "93.15");
    }
}
