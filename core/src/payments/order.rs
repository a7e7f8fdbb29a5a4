//! Orders: something to pay, for a pay-per-use session (host) or a registration fee (attendee).

use std::fmt;
use std::str::FromStr;

use chrono::{DateTime, SubsecRound, Utc};
use rand::RngCore;
use serde::Serialize;

use crate::fee_based::codes::{CodeId, PromotionCode};
use crate::money::Money;
use crate::platform::PlatformKind;
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

/// What a pay-per-use order pays for (DESIGN's "bound to a session"): a start of any meeting
/// of its host, or of one meeting. Stored in typed columns (`orders.bound_kind`,
/// `bound_platform`, `bound_id`); written as text where a person or the API reads it.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum Binding {
    /// Made from a quote in chat, before any meeting was known: pays for any meeting of its
    /// host. Named after the quote's message.
    Quote { message: String },
    /// Offered to a host whose start was blocked: pays for any meeting of theirs, as a quote
    /// does. Named after the start.
    BlockedStart { platform: PlatformKind, meeting_id: String },
    /// Made for a meeting scheduled through tollbooth: pays for that meeting only, named by
    /// the id scheduling returned (a Webex series id, a Zoom meeting number).
    Meeting { platform: PlatformKind, meeting_id: String },
}

impl Binding {
    /// As stored in `orders.bound_kind`.
    pub fn kind(&self) -> &'static str {
        match self {
            Binding::Quote { .. } => "quote",
            Binding::BlockedStart { .. } => "blocked-start",
            Binding::Meeting { .. } => "meeting",
        }
    }

    /// The platform it names, if any (`orders.bound_platform`).
    pub fn platform(&self) -> Option<PlatformKind> {
        match self {
            Binding::Quote { .. } => None,
            Binding::BlockedStart { platform, .. } | Binding::Meeting { platform, .. } => {
                Some(*platform)
            }
        }
    }

    /// The quote's message or the meeting it names (`orders.bound_id`).
    pub fn id(&self) -> &str {
        match self {
            Binding::Quote { message } => message,
            Binding::BlockedStart { meeting_id, .. } | Binding::Meeting { meeting_id, .. } => {
                meeting_id
            }
        }
    }

    /// Reads the stored columns back.
    pub fn from_parts(kind: &str, platform: Option<&str>, id: &str) -> Result<Binding, String> {
        let platform = || -> Result<PlatformKind, String> {
            platform
                .ok_or_else(|| format!("a `{kind}` binding names no platform"))?
                .parse()
                .map_err(|e| format!("{e}"))
        };
        let id = id.to_owned();
        match kind {
            "quote" => Ok(Binding::Quote { message: id }),
            "blocked-start" => Ok(Binding::BlockedStart { platform: platform()?, meeting_id: id }),
            "meeting" => Ok(Binding::Meeting { platform: platform()?, meeting_id: id }),
            other => Err(format!("unknown binding `{other}`")),
        }
    }
}

/// `discord-quote/{message}`, `blocked-start/{platform}/{meeting}` or `{platform}/{meeting}`:
/// what the API, checkout descriptions and the `session` column show.
impl fmt::Display for Binding {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Binding::Quote { message } => write!(f, "discord-quote/{message}"),
            Binding::BlockedStart { platform, meeting_id } => {
                write!(f, "blocked-start/{platform}/{meeting_id}")
            }
            Binding::Meeting { platform, meeting_id } => write!(f, "{platform}/{meeting_id}"),
        }
    }
}

impl Serialize for Binding {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

/// What an order buys.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Purchase {
    /// One start of a pay-per-use session, priced from the host's plan.
    Session {
        #[serde(rename = "session")]
        bound: Binding,
        plan: SessionPlan,
        prices: Prices,
    },
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
    /// The promotion code applied to a registration's order, and what it took off the fee.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub discount: Option<Discount>,
    pub created_at: DateTime<Utc>,
}

/// A promotion code applied to an order: the order's amount is the fee less `amount`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Discount {
    #[serde(skip)]
    pub code_id: CodeId,
    pub code: PromotionCode,
    pub amount: Money,
}

impl Order {
    /// A host's pay-per-use order: the estimate is authorised, and captured after the session.
    pub fn for_session(
        bound: Binding,
        payer: String,
        estimate: &Estimate,
        prices: Prices,
        change_url: Option<String>,
    ) -> Order {
        Order {
            id: OrderId::random(),
            amount: estimate.cost.total,
            purchase: Purchase::Session { bound, plan: estimate.plan, prices },
            payer,
            action: Action::Authorise,
            change_url,
            discount: None,
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
            discount: None,
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
            discount: None,
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
        let bound = Binding::Meeting { platform: PlatformKind::Webex, meeting_id: "m1".into() };
        let order = Order::for_session(bound, "h@example.com".into(), &estimate, prices, None);
        assert_eq!(order.amount.to_string(), "81.00");
        assert_eq!(order.action, Action::Authorise);
        assert_eq!(order.estimate().unwrap(), estimate);
        assert_eq!(order.with_headroom(15).amount.to_string(), "93.15");
    }

    #[test]
    fn a_binding_reads_back_from_its_columns_and_shows_as_before() {
        let bindings = [
            (Binding::Quote { message: "9001".into() }, "discord-quote/9001"),
            (
                Binding::BlockedStart { platform: PlatformKind::Webex, meeting_id: "m_I_2".into() },
                "blocked-start/webex/m_I_2",
            ),
            (
                Binding::Meeting { platform: PlatformKind::Zoom, meeting_id: "857".into() },
                "zoom/857",
            ),
        ];
        for (binding, shown) in bindings {
            let platform = binding.platform().map(PlatformKind::as_str);
            assert_eq!(
                Binding::from_parts(binding.kind(), platform, binding.id()),
                Ok(binding.clone())
            );
            assert_eq!(binding.to_string(), shown);
        }
        assert!(Binding::from_parts("meeting", None, "m").is_err());
        assert!(Binding::from_parts("series", Some("webex"), "m").is_err());
    }
}
