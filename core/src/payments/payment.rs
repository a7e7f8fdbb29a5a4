//! Payments: one attempt at a gateway to pay an order, as an explicit state machine.
//!
//! ```text
//! created ──authorised──▶ authorised ──captured──▶ captured ──refunded (all)──▶ refunded
//!    │                        └──voided──▶ voided
//!    ├──sold──▶ sale ──refunded (all)──▶ refunded
//!    ├──declined──▶ failed
//!    └──expired──▶ expired
//! ```
//!
//! Gateways call back late, twice, or in a race with the payer's browser, so every event is
//! either a transition, a no-op (a duplicate, or news older than what is known), or illegal
//! (a bug or a forgery), and the three are told apart here, in one table.

use std::fmt;
use std::str::FromStr;

use serde::Serialize;
use sha2::{Digest, Sha256};

use crate::money::{Money, MoneyError};
use crate::payments::order::{Action, OrderId};

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum State {
    /// A checkout was opened at the gateway; nothing is known to have been paid.
    Created,
    /// The money is held, not taken.
    Authorised,
    /// Held money was taken (all or part of it); the rest was released.
    Captured,
    /// The hold was released without taking anything.
    Voided,
    /// Everything that was taken was given back.
    Refunded,
    /// The money was taken in one step.
    Sale,
    /// The gateway declined.
    Failed,
    /// The checkout ended without a payment (the payer cancelled or never came back).
    Expired,
}

impl State {
    pub fn as_str(self) -> &'static str {
        match self {
            State::Created => "created",
            State::Authorised => "authorised",
            State::Captured => "captured",
            State::Voided => "voided",
            State::Refunded => "refunded",
            State::Sale => "sale",
            State::Failed => "failed",
            State::Expired => "expired",
        }
    }

    /// The order is paid for (the money is held or taken and not given back).
    pub fn is_paid(self) -> bool {
        matches!(self, State::Authorised | State::Captured | State::Sale)
    }

    /// The payer paid at some point: the money is held or taken, or was and was given back.
    pub fn was_paid(self) -> bool {
        self.is_paid() || matches!(self, State::Voided | State::Refunded)
    }

    /// The states that satisfy `rule`, for queries that select by it (bound as values).
    pub fn all_where(rule: fn(State) -> bool) -> Vec<State> {
        State::ALL.into_iter().filter(|s| rule(*s)).collect()
    }

    /// Every state, for queries that select by a rule such as [`State::is_paid`].
    pub const ALL: [State; 8] = [
        State::Created,
        State::Authorised,
        State::Captured,
        State::Voided,
        State::Refunded,
        State::Sale,
        State::Failed,
        State::Expired,
    ];
}

impl FromStr for State {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        [
            State::Created,
            State::Authorised,
            State::Captured,
            State::Voided,
            State::Refunded,
            State::Sale,
            State::Failed,
            State::Expired,
        ]
        .into_iter()
        .find(|state| state.as_str() == s)
        .ok_or_else(|| format!("unknown payment state `{s}`"))
    }
}

impl fmt::Display for State {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// What a gateway said happened, each with the gateway's reference for it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Event {
    Authorised { reference: String, amount: Money },
    Sold { reference: String, amount: Money },
    Declined { reason: String },
    Captured { reference: String, amount: Money },
    Voided { reference: String },
    Refunded { reference: String, amount: Money },
    Expired,
}

impl Event {
    pub fn name(&self) -> &'static str {
        match self {
            Event::Authorised { .. } => "authorised",
            Event::Sold { .. } => "sold",
            Event::Declined { .. } => "declined",
            Event::Captured { .. } => "captured",
            Event::Voided { .. } => "voided",
            Event::Refunded { .. } => "refunded",
            Event::Expired => "expired",
        }
    }

    pub fn reference(&self) -> Option<&str> {
        match self {
            Event::Authorised { reference, .. }
            | Event::Sold { reference, .. }
            | Event::Captured { reference, .. }
            | Event::Voided { reference }
            | Event::Refunded { reference, .. } => Some(reference),
            Event::Declined { .. } | Event::Expired => None,
        }
    }

    pub fn amount(&self) -> Option<Money> {
        match self {
            Event::Authorised { amount, .. }
            | Event::Sold { amount, .. }
            | Event::Captured { amount, .. }
            | Event::Refunded { amount, .. } => Some(*amount),
            _ => None,
        }
    }
}

/// An event that must not happen to a payment in its state: refused, logged, never applied.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum Illegal {
    #[error("cannot {event} a payment that is {state}")]
    Transition { event: &'static str, state: State },
    #[error("{what} {got} does not match {expected}")]
    Amount { what: &'static str, got: Money, expected: Money },
    #[error("{0}")]
    Money(#[from] MoneyError),
}

/// How much a capture may take from an authorisation: a property of the gateway.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum CaptureLimit {
    /// At most what was authorised (most gateways).
    #[default]
    Authorised,
    /// More than was authorised, in the one capture (Payflow's delayed capture,
    /// `payments.md` §1.5).
    AboveAuthorised,
}

/// One attempt to pay an order at one gateway.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Payment {
    pub id: PaymentId,
    pub order_id: OrderId,
    /// The gateway's name, which is its method's (`sandbox`, `payflow`, `stripe`, `paypal`,
    /// `express-checkout`, `website-payments-pro`).
    pub gateway: String,
    pub action: Action,
    pub state: State,
    /// What was asked for.
    pub amount: Money,
    pub captured: Money,
    pub refunded: Money,
    /// The gateway's reference of the authorisation or sale (Payflow's PNREF, Stripe's
    /// PaymentIntent, PayPal's authorization or capture id, a classic transaction id).
    pub reference: Option<String>,
    /// The gateway's reference of the capture, once captured.
    pub capture_ref: Option<String>,
    /// The gateway's reference of the hosted checkout (Payflow's SECURETOKENID).
    pub checkout_ref: Option<String>,
    /// What the gateway needs to inquire about the checkout (Payflow's SECURETOKEN).
    #[serde(skip)]
    pub checkout_token: Option<String>,
    /// Bumped by every transition, so that two writers cannot both apply one.
    pub version: i64,
}

/// What applying an event did.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Applied {
    Changed(Box<Payment>),
    /// A duplicate, or older news than what is known: nothing changes.
    Unchanged,
}

impl Payment {
    /// Applies what the gateway said, by the transition table in the module's documentation;
    /// `limit` is what the payment's gateway lets a capture take.
    pub fn apply(&self, event: &Event, limit: CaptureLimit) -> Result<Applied, Illegal> {
        use State::*;
        let mut next = self.clone();
        next.version += 1;
        let illegal = Illegal::Transition { event: event.name(), state: self.state };
        match (self.state, event) {
            // Money that arrives after a decline or expiry is still money: take the news.
            (Created | Failed | Expired, Event::Authorised { reference, amount }) => {
                self.expect_amount("authorised amount", *amount)?;
                next.state = Authorised;
                next.reference = Some(reference.clone());
            }
            (Created | Failed | Expired, Event::Sold { reference, amount }) => {
                self.expect_amount("sale amount", *amount)?;
                next.state = Sale;
                next.captured = *amount;
                next.reference = Some(reference.clone());
            }
            (Created, Event::Declined { .. }) => next.state = Failed,
            (Created, Event::Expired) => next.state = Expired,
            (Authorised, Event::Captured { reference, amount }) => {
                self.check_capture(*amount, limit)?;
                next.state = Captured;
                next.captured = *amount;
                next.capture_ref = Some(reference.clone());
            }
            (Authorised, Event::Voided { .. }) => next.state = Voided,
            (Captured | Sale, Event::Refunded { amount, .. }) => {
                self.check_refund(*amount)?;
                next.refunded = self.refunded.checked_add(*amount)?;
                if next.refunded == self.captured {
                    next.state = Refunded;
                }
            }
            // Late or repeated news: a decline or expiry after success never downgrades, and
            // success or capture reported twice is the same success.
            (Authorised | Captured | Sale | Voided | Refunded, Event::Declined { .. })
            | (Authorised | Captured | Sale | Voided | Refunded | Failed, Event::Expired)
            | (Failed, Event::Declined { .. })
            | (Authorised | Captured | Voided | Refunded, Event::Authorised { .. })
            | (Sale | Refunded, Event::Sold { .. })
            | (Captured | Refunded, Event::Captured { .. })
            | (Voided, Event::Voided { .. }) => return Ok(Applied::Unchanged),
            _ => return Err(illegal),
        }
        Ok(Applied::Changed(Box::new(next)))
    }

    /// Whether `amount` may be captured now: only from an authorisation, and at most what it
    /// holds unless the gateway's `limit` allows more.
    pub fn check_capture(&self, amount: Money, limit: CaptureLimit) -> Result<(), Illegal> {
        if self.state != State::Authorised {
            return Err(Illegal::Transition { event: "captured", state: self.state });
        }
        let above = amount.amount() > self.amount.amount();
        if amount.currency() != self.amount.currency()
            || (above && limit == CaptureLimit::Authorised)
        {
            return Err(Illegal::Amount { what: "capture of", got: amount, expected: self.amount });
        }
        Ok(())
    }

    /// Whether `amount` may be refunded now: at most what was taken and not yet given back.
    pub fn check_refund(&self, amount: Money) -> Result<(), Illegal> {
        if !matches!(self.state, State::Captured | State::Sale) {
            return Err(Illegal::Transition { event: "refunded", state: self.state });
        }
        let left = Money::round(self.captured.amount() - self.refunded.amount(), self.currency());
        if amount.currency() != self.currency()
            || amount.amount() > left.amount()
            || amount.amount().is_zero()
        {
            return Err(Illegal::Amount { what: "refund of", got: amount, expected: left });
        }
        Ok(())
    }

    pub fn check_void(&self) -> Result<(), Illegal> {
        if self.state != State::Authorised {
            return Err(Illegal::Transition { event: "voided", state: self.state });
        }
        Ok(())
    }

    fn expect_amount(&self, what: &'static str, got: Money) -> Result<(), Illegal> {
        if got != self.amount {
            return Err(Illegal::Amount { what, got, expected: self.amount });
        }
        Ok(())
    }

    pub fn currency(&self) -> crate::money::Currency {
        self.amount.currency()
    }

    /// The idempotency key of one money-moving step of this payment (see [`Step`]).
    pub fn key(&self, step: Step) -> IdempotencyKey {
        IdempotencyKey::new(&self.order_id, &self.id, step)
    }
}

/// A payment's identifier: its order and its number within the order (`ord_…-p2`).
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize)]
#[serde(transparent)]
pub struct PaymentId(String);

impl PaymentId {
    pub fn new(order: &OrderId, seq: i64) -> PaymentId {
        PaymentId(format!("{order}-p{seq}"))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl FromStr for PaymentId {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let ok = s.split_once("-p").is_some_and(|(order, seq)| {
            order.parse::<OrderId>().is_ok() && seq.parse::<u32>().is_ok()
        });
        if ok { Ok(PaymentId(s.to_owned())) } else { Err(format!("`{s}` is not a payment id")) }
    }
}

impl fmt::Display for PaymentId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// A money-moving step of a payment. Refunds are numbered, since a payment may be partly
/// refunded more than once.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Step {
    Checkout,
    /// Completing a checkout the payer approved (Express Checkout's DoExpressCheckoutPayment,
    /// PayPal Orders' authorize or capture).
    Complete,
    Capture,
    Void,
    Refund(u32),
    /// The partial refund of a settled session's adjustment, by its number.
    Adjustment(u32),
    /// A refund someone asked for (a host, an administrator, an attendee cancelling), by the
    /// request's id: the same request again is the same step.
    Request(RequestId),
}

/// Why part of a captured payment is given back: what names its gateway step, so that a retry
/// sends the same idempotency key and refunds once.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RefundPart {
    /// Adjustment number `n` of a settled session.
    Adjustment(u32),
    /// A refund asked for under this request id.
    Request(RequestId),
}

impl RefundPart {
    pub fn step(&self) -> Step {
        match self {
            RefundPart::Adjustment(n) => Step::Adjustment(*n),
            RefundPart::Request(request) => Step::Request(request.clone()),
        }
    }
}

/// The id of a refund request: 1 to 64 letters, digits and `.`, `_`, `-`, `:`. A person may
/// give one (`/registrations refund … request`); otherwise the chat interaction's id is used,
/// so that Discord delivering the same interaction twice is the same request.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, serde::Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct RequestId(String);

impl RequestId {
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl FromStr for RequestId {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let ok = (1..=64).contains(&s.len())
            && s.bytes().all(|b| b.is_ascii_alphanumeric() || b"._-:".contains(&b));
        if ok {
            Ok(RequestId(s.to_owned()))
        } else {
            Err(format!("`{s}` is not a request id (1 to 64 letters, digits and . _ - :)"))
        }
    }
}

impl TryFrom<String> for RequestId {
    type Error = String;
    fn try_from(s: String) -> Result<Self, Self::Error> {
        s.parse()
    }
}

impl From<RequestId> for String {
    fn from(r: RequestId) -> String {
        r.0
    }
}

impl fmt::Display for RequestId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl fmt::Display for Step {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Step::Checkout => f.write_str("checkout"),
            Step::Complete => f.write_str("complete"),
            Step::Capture => f.write_str("capture"),
            Step::Void => f.write_str("void"),
            Step::Refund(n) => write!(f, "refund-{n}"),
            Step::Adjustment(n) => write!(f, "adjustment-{n}"),
            Step::Request(request) => write!(f, "request-{request}"),
        }
    }
}

/// The key a gateway deduplicates a money-moving call by: 32 hex digits derived from the order,
/// the payment and the step, so a retry of the same step always carries the same key (Payflow's
/// `X-VPS-REQUEST-ID` takes 1–32 printable characters).
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct IdempotencyKey(String);

impl IdempotencyKey {
    pub fn new(order: &OrderId, payment: &PaymentId, step: Step) -> IdempotencyKey {
        let digest = Sha256::digest(format!("{order}/{payment}/{step}"));
        IdempotencyKey(hex::encode(&digest[..16]))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::money::Currency;

    fn usd(s: &str) -> Money {
        Money::parse_exact(s, Currency::USD).unwrap()
    }

    fn payment(state: State) -> Payment {
        let order = OrderId::random();
        Payment {
            id: PaymentId::new(&order, 1),
            order_id: order,
            gateway: "sandbox".into(),
            action: Action::Authorise,
            state,
            amount: usd("10.00"),
            captured: usd(if matches!(state, State::Captured | State::Sale) {
                "10.00"
            } else {
                "0.00"
            }),
            refunded: usd("0.00"),
            reference: None,
            capture_ref: None,
            checkout_ref: None,
            checkout_token: None,
            version: 0,
        }
    }

    fn auth(amount: &str) -> Event {
        Event::Authorised { reference: "A1".into(), amount: usd(amount) }
    }

    fn changed(p: &Payment, e: &Event) -> Payment {
        match p.apply(e, CaptureLimit::Authorised) {
            Ok(Applied::Changed(next)) => *next,
            other => panic!("{e:?} on {:?}: {other:?}", p.state),
        }
    }

    #[test]
    fn authorise_capture_refund_in_parts() {
        let p = changed(&payment(State::Created), &auth("10.00"));
        assert_eq!(
            (p.state, p.reference.as_deref(), p.version),
            (State::Authorised, Some("A1"), 1)
        );
        let p = changed(&p, &Event::Captured { reference: "C1".into(), amount: usd("7.50") });
        assert_eq!((p.state, p.captured), (State::Captured, usd("7.50")));
        let p = changed(&p, &Event::Refunded { reference: "R1".into(), amount: usd("2.50") });
        assert_eq!((p.state, p.refunded), (State::Captured, usd("2.50")));
        let p = changed(&p, &Event::Refunded { reference: "R2".into(), amount: usd("5.00") });
        assert_eq!(p.state, State::Refunded);
    }

    #[test]
    fn duplicates_and_late_news_change_nothing() {
        let authorised = changed(&payment(State::Created), &auth("10.00"));
        let captured =
            changed(&authorised, &Event::Captured { reference: "C1".into(), amount: usd("10.00") });
        for (p, e) in [
            (&authorised, auth("10.00")),
            (&authorised, Event::Declined { reason: "late".into() }),
            (&authorised, Event::Expired),
            (&captured, auth("10.00")),
            (&captured, Event::Captured { reference: "C1".into(), amount: usd("10.00") }),
            (&captured, Event::Declined { reason: "late".into() }),
        ] {
            assert_eq!(
                p.apply(&e, CaptureLimit::Authorised),
                Ok(Applied::Unchanged),
                "{e:?} on {:?}",
                p.state
            );
        }
    }

    #[test]
    fn illegal_transitions_are_refused() {
        let created = payment(State::Created);
        let capture = Event::Captured { reference: "C".into(), amount: usd("1.00") };
        assert!(matches!(
            created.apply(&capture, CaptureLimit::Authorised),
            Err(Illegal::Transition { .. })
        ));
        let voided = payment(State::Voided);
        assert!(voided.apply(&capture, CaptureLimit::Authorised).is_err());
        let refund = Event::Refunded { reference: "R".into(), amount: usd("1.00") };
        assert!(
            payment(State::Authorised).apply(&refund, CaptureLimit::Authorised).is_err(),
            "nothing taken yet"
        );
        assert!(
            payment(State::Captured)
                .apply(&Event::Voided { reference: "V".into() }, CaptureLimit::Authorised)
                .is_err()
        );
    }

    #[test]
    fn amounts_are_checked() {
        let created = payment(State::Created);
        assert!(matches!(
            created.apply(&auth("9.99"), CaptureLimit::Authorised),
            Err(Illegal::Amount { .. })
        ));
        let authorised = payment(State::Authorised);
        let too_much = Event::Captured { reference: "C".into(), amount: usd("10.01") };
        assert!(authorised.apply(&too_much, CaptureLimit::Authorised).is_err());
        let sale = payment(State::Sale);
        let refund = Event::Refunded { reference: "R".into(), amount: usd("10.01") };
        assert!(
            sale.apply(&refund, CaptureLimit::Authorised).is_err(),
            "never refund more than was taken"
        );
    }

    #[test]
    fn only_gateways_that_allow_it_capture_above_the_authorisation() {
        let authorised = payment(State::Authorised);
        let more = Event::Captured { reference: "C".into(), amount: usd("12.50") };
        assert!(matches!(
            authorised.apply(&more, CaptureLimit::Authorised),
            Err(Illegal::Amount { .. })
        ));
        let Ok(Applied::Changed(p)) = authorised.apply(&more, CaptureLimit::AboveAuthorised) else {
            panic!("a capture above the authorisation where the gateway allows it")
        };
        assert_eq!((p.state, p.captured), (State::Captured, usd("12.50")));
        let euros = Money::parse_exact("12.50", "EUR".parse().unwrap()).unwrap();
        assert!(authorised.check_capture(euros, CaptureLimit::AboveAuthorised).is_err());
    }

    #[test]
    fn success_after_a_decline_is_kept() {
        let failed = changed(&payment(State::Created), &Event::Declined { reason: "12".into() });
        assert_eq!(failed.state, State::Failed);
        assert_eq!(changed(&failed, &auth("10.00")).state, State::Authorised);
    }

    #[test]
    fn keys_are_stable_per_step_and_fit_payflow() {
        let p = payment(State::Authorised);
        assert_eq!(p.key(Step::Capture), p.key(Step::Capture));
        assert_ne!(p.key(Step::Capture), p.key(Step::Void));
        assert_ne!(p.key(Step::Refund(1)), p.key(Step::Refund(2)));
        assert_eq!(p.key(Step::Capture).as_str().len(), 32);
        let request = |id: &str| Step::Request(id.parse().unwrap());
        assert_eq!(p.key(request("r-1")), p.key(request("r-1")));
        assert_ne!(p.key(request("r-1")), p.key(request("r-2")));
        assert_eq!(p.key(request(&"x".repeat(64))).as_str().len(), 32);
    }

    #[test]
    fn request_ids_are_short_and_plain() {
        assert!("1184467234567890:refund".parse::<RequestId>().is_ok());
        assert!("".parse::<RequestId>().is_err());
        assert!("a b".parse::<RequestId>().is_err());
        assert!("x".repeat(65).parse::<RequestId>().is_err());
        let part = RefundPart::Request("r-1".parse().unwrap());
        assert_eq!(serde_json::to_value(&part).unwrap(), serde_json::json!({"request": "r-1"}));
        assert_eq!(part.step().to_string(), "request-r-1");
    }
}
