//! Refunds of a registration's payment: an attendee cancelling before the site's deadline
//! (less the site's cancellation fee), and a host or administrator giving back any part of
//! what is still refundable, once per request. The rules here decide; the workflow in
//! `service.rs` stores the decision and queues the refund in one transaction.

use std::fmt;
use std::str::FromStr;

use chrono::{DateTime, Duration, Utc};
use rust_decimal::Decimal;
use serde::Serialize;

use crate::email::Email;
use crate::lang::Lang;
use crate::messages::Args;
use crate::money::{Currency, Money};
use crate::payments::payment::{PaymentId, RequestId};

use super::registration::RegistrationId;

/// The most hours before a session's start a cancellation deadline may lie: a year.
pub const MOST_CANCEL_HOURS: u32 = 24 * 366;

/// The site's terms for attendees who cancel themselves (`/admin cancellation`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize)]
pub struct CancellationTerms {
    /// Until how many hours before the start an attendee may cancel; `None`: they may not.
    pub until_hours: Option<u32>,
    /// What the site keeps of what was paid, in percent (0 to 100, at most two decimals).
    pub fee_percent: Decimal,
}

/// What is wrong with cancellation terms an administrator gave.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum BadTerms {
    Hours(i64),
    Fee(String),
}

impl BadTerms {
    pub fn said(&self, lang: Lang) -> String {
        match self {
            BadTerms::Hours(hours) => lang.text_with(
                "cancellation-bad-hours",
                &Args::new().num("hours", *hours).num("most", MOST_CANCEL_HOURS),
            ),
            BadTerms::Fee(fee) => {
                lang.text_with("cancellation-bad-fee", &Args::new().str("fee", fee))
            }
        }
    }
}

impl CancellationTerms {
    /// Terms from what an administrator typed: hours (none: no self-service cancellation)
    /// and a fee in percent such as `10` or `12.5`.
    pub fn new(hours: Option<i64>, fee_percent: &str) -> Result<CancellationTerms, BadTerms> {
        let until_hours = hours
            .map(|h| {
                u32::try_from(h).ok().filter(|h| *h <= MOST_CANCEL_HOURS).ok_or(BadTerms::Hours(h))
            })
            .transpose()?;
        let fee = Decimal::from_str_exact(fee_percent.trim().trim_end_matches('%').trim())
            .ok()
            .filter(|f| !f.is_sign_negative() && *f <= Decimal::ONE_HUNDRED && f.scale() <= 2)
            .ok_or_else(|| BadTerms::Fee(fee_percent.to_owned()))?;
        Ok(CancellationTerms { until_hours, fee_percent: fee.normalize() })
    }

    /// Until when an attendee may cancel a session starting at `starts_at`.
    pub fn deadline(&self, starts_at: DateTime<Utc>) -> Option<DateTime<Utc>> {
        self.until_hours.map(|h| starts_at - Duration::hours(i64::from(h)))
    }

    /// What the site keeps of `paid`: the percentage, rounded half-up to the minor unit.
    pub fn fee(&self, paid: Money) -> Money {
        Money::round(paid.amount() * self.fee_percent / Decimal::ONE_HUNDRED, paid.currency())
    }
}

/// Who asks for a refund, as the server found them: Discord's Manage Server permission on the
/// interaction, or the host a Discord member is linked to.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Asker {
    Admin { discord_user_id: u64 },
    Member { discord_user_id: u64, host: Option<Email> },
}

impl Asker {
    pub fn discord_user_id(&self) -> u64 {
        match self {
            Asker::Admin { discord_user_id } | Asker::Member { discord_user_id, .. } => {
                *discord_user_id
            }
        }
    }

    /// Whether this person may refund a registration of a session hosted by `host_email`:
    /// its host or a site administrator.
    pub fn may_refund(&self, host_email: &str) -> Option<AskedBy> {
        match self {
            Asker::Admin { .. } => Some(AskedBy::Admin),
            Asker::Member { host: Some(host), .. } if host.as_str() == host_email => {
                Some(AskedBy::Host)
            }
            Asker::Member { .. } => None,
        }
    }
}

/// In what capacity a refund was asked for, as stored with it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum AskedBy {
    /// The attendee cancelled their own registration.
    Attendee,
    Host,
    Admin,
}

impl AskedBy {
    pub fn as_str(self) -> &'static str {
        match self {
            AskedBy::Attendee => "attendee",
            AskedBy::Host => "host",
            AskedBy::Admin => "admin",
        }
    }
}

impl FromStr for AskedBy {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        [AskedBy::Attendee, AskedBy::Host, AskedBy::Admin]
            .into_iter()
            .find(|a| a.as_str() == s)
            .ok_or_else(|| format!("unknown asker `{s}`"))
    }
}

impl fmt::Display for AskedBy {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A refund decided for a registration's payment, under the request that asked for it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RefundRecord {
    pub payment: PaymentId,
    pub request: RequestId,
    pub registration: RegistrationId,
    /// What is given back.
    pub amount: Money,
    /// What the site kept (a cancellation's fee; zero otherwise).
    pub fee: Money,
    pub asked_by: AskedBy,
    pub discord_user_id: u64,
    pub decided_at: DateTime<Utc>,
}

/// Why a refund is refused; nothing was stored or sent.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Refusal {
    /// The registration holds no payment to give back (unpaid, refunded or cancelled).
    NotPaid,
    /// The person asking is neither the session's host nor a site administrator, or (to
    /// cancel) not the attendee.
    NotAllowed,
    /// The site lets no attendee cancel themselves.
    NoSelfService,
    /// The cancellation deadline passed at this time.
    DeadlinePassed(DateTime<Utc>),
    /// More than is still refundable.
    MoreThanRemains { asked: Money, left: Money },
    /// No registration has this id.
    NoRegistration(String),
    /// An amount of zero, or one not exact in the payment's currency.
    BadAmount { asked: String, currency: Currency },
    /// The payment's gateway gives back only whole payments.
    NotPartial { gateway: String },
    /// The registration has no guest's seat of this number still held (seat 1 is the payer's,
    /// which goes with the whole registration).
    NoSuchSeat(u32),
}

impl Refusal {
    pub fn said(&self, lang: Lang) -> String {
        match self {
            Refusal::NotPaid => lang.text("refund-not-paid"),
            Refusal::NotAllowed => lang.text("refund-not-allowed"),
            Refusal::NoSelfService => lang.text("cancel-not-offered"),
            Refusal::DeadlinePassed(at) => lang.text_with(
                "cancel-deadline-passed",
                &Args::new().str("deadline", crate::time::markup(*at)),
            ),
            Refusal::MoreThanRemains { asked, left } => lang.text_with(
                "refund-more-than-remains",
                &Args::new().str("asked", asked).str("left", left).str("currency", left.currency()),
            ),
            Refusal::NoRegistration(id) => {
                lang.text_with("refund-no-registration", &Args::new().str("id", id))
            }
            Refusal::BadAmount { asked, currency } => lang.text_with(
                "refund-bad-amount",
                &Args::new().str("asked", asked).str("currency", currency),
            ),
            Refusal::NotPartial { gateway } => {
                lang.text_with("refund-not-partial", &Args::new().str("gateway", gateway.as_str()))
            }
            Refusal::NoSuchSeat(seat) => {
                lang.text_with("refund-no-such-seat", &Args::new().num("seat", *seat))
            }
        }
    }
}

/// A refund decided: what is given back and kept, what remains refundable after it, and
/// whether the registration leaves its seat.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Decided {
    pub amount: Money,
    pub fee: Money,
    pub left: Money,
    pub frees_seat: bool,
}

/// What the refunds decided so far give back together; `None` when there are none.
pub fn given_back(decided: &[RefundRecord]) -> Option<Money> {
    let first = decided.first()?;
    let given: Decimal = decided.iter().map(|r| r.amount.amount()).sum();
    Some(Money::round(given, first.amount.currency()))
}

/// What is still refundable of `paid` after the refunds decided so far.
pub fn left(paid: Money, decided: &[RefundRecord]) -> Money {
    let given = given_back(decided).map_or(Decimal::ZERO, |g| g.amount());
    Money::round(paid.amount() - given, paid.currency())
}

/// An attendee cancels at `now` a registration for a session starting at `starts_at` that
/// paid `paid`, of which `left` is still refundable: everything left, less the site's fee
/// (never below zero), which is what remains; the registration always leaves its seat.
pub fn cancel(
    paid: Money,
    left: Money,
    terms: &CancellationTerms,
    starts_at: DateTime<Utc>,
    now: DateTime<Utc>,
) -> Result<Decided, Refusal> {
    let deadline = terms.deadline(starts_at).ok_or(Refusal::NoSelfService)?;
    if now > deadline {
        return Err(Refusal::DeadlinePassed(deadline));
    }
    let fee = terms.fee(paid).amount().min(left.amount());
    let fee = Money::round(fee, paid.currency());
    let amount = Money::round(left.amount() - fee.amount(), paid.currency());
    Ok(Decided { amount, fee, left: fee, frees_seat: true })
}

/// A host or administrator gives back `asked` (as typed) of a payment of which `left` is
/// still refundable. The whole remainder frees the seat; less keeps it (D-221).
pub fn refund(asked: &str, left: Money) -> Result<Decided, Refusal> {
    let bad = || Refusal::BadAmount { asked: asked.to_owned(), currency: left.currency() };
    let asked = Money::parse_exact(asked, left.currency()).map_err(|_| bad())?;
    if asked.amount().is_zero() {
        return Err(bad());
    }
    if asked.amount() > left.amount() {
        return Err(Refusal::MoreThanRemains { asked, left });
    }
    let rest = Money::round(left.amount() - asked.amount(), left.currency());
    Ok(Decided {
        amount: asked,
        fee: Money::zero(asked.currency()),
        left: rest,
        frees_seat: rest.amount().is_zero(),
    })
}

/// A refund for less than the whole payment asked of a gateway that gives back only whole
/// payments is refused, naming the gateway, before anything is stored or sent.
pub fn check_gateway(
    decided: &Decided,
    paid: Money,
    gateway: &str,
    partial: bool,
) -> Result<(), Refusal> {
    let whole = decided.amount == paid;
    if whole || decided.amount.amount().is_zero() || partial {
        return Ok(());
    }
    Err(Refusal::NotPartial { gateway: gateway.to_owned() })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::money::Currency;

    fn usd(s: &str) -> Money {
        Money::parse_exact(s, Currency::USD).unwrap()
    }

    fn record(amount: &str) -> RefundRecord {
        let order: crate::payments::order::OrderId =
            "ord_0123456789abcdef01234567".parse().unwrap();
        RefundRecord {
            payment: PaymentId::new(&order, 1),
            request: "r1".parse().unwrap(),
            registration: "reg_0123456789abcdef01234567".parse().unwrap(),
            amount: usd(amount),
            fee: usd("0.00"),
            asked_by: AskedBy::Host,
            discord_user_id: 1,
            decided_at: Utc::now(),
        }
    }

    #[test]
    fn terms_are_hours_and_a_percentage_and_bad_ones_are_named() {
        let terms = CancellationTerms::new(Some(48), "10").unwrap();
        assert_eq!(terms.until_hours, Some(48));
        assert_eq!(
            CancellationTerms::new(None, "12.5%").unwrap().fee_percent,
            Decimal::new(125, 1)
        );
        assert_eq!(CancellationTerms::new(Some(-1), "0"), Err(BadTerms::Hours(-1)));
        assert_eq!(CancellationTerms::new(Some(9000), "0"), Err(BadTerms::Hours(9000)));
        for bad in ["101", "-5", "ten", "1.005"] {
            assert_eq!(CancellationTerms::new(Some(1), bad), Err(BadTerms::Fee(bad.into())));
        }
        let said = BadTerms::Fee("ten".into()).said(Lang::En);
        assert!(said.contains("`ten`") && said.contains("0 to 100"), "{said}");
    }

    #[test]
    fn the_fee_is_rounded_half_up_to_the_cent() {
        let terms = CancellationTerms::new(Some(24), "12.5").unwrap();
        assert_eq!(terms.fee(usd("25.00")), usd("3.13"), "3.125 rounds up");
        let yen = Money::parse_exact("2500", "JPY".parse().unwrap()).unwrap();
        assert_eq!(terms.fee(yen).to_string(), "313");
    }

    #[test]
    fn an_attendee_cancels_before_the_deadline_less_the_fee() {
        let terms = CancellationTerms::new(Some(48), "10").unwrap();
        let start: DateTime<Utc> = "2030-12-01T14:00:00Z".parse().unwrap();
        let before = start - Duration::hours(49);
        let d = cancel(usd("25.00"), usd("25.00"), &terms, start, before).unwrap();
        assert_eq!((d.amount, d.fee, d.frees_seat), (usd("22.50"), usd("2.50"), true));
        let after = start - Duration::hours(47);
        assert_eq!(
            cancel(usd("25.00"), usd("25.00"), &terms, start, after),
            Err(Refusal::DeadlinePassed(start - Duration::hours(48)))
        );
        let none = CancellationTerms::default();
        assert_eq!(
            cancel(usd("25.00"), usd("25.00"), &none, start, before),
            Err(Refusal::NoSelfService)
        );
        // After a partial refund, the fee comes out of what is left, never below zero.
        let d = cancel(usd("25.00"), usd("1.00"), &terms, start, before).unwrap();
        assert_eq!((d.amount, d.fee), (usd("0.00"), usd("1.00")));
    }

    #[test]
    fn a_host_refunds_up_to_what_is_left_and_the_whole_rest_frees_the_seat() {
        assert_eq!(given_back(&[record("10.00"), record("2.50")]), Some(usd("12.50")));
        assert_eq!(given_back(&[]), None);
        let left = left(usd("25.00"), &[record("10.00")]);
        assert_eq!(left, usd("15.00"));
        let part = refund("5.00", left).unwrap();
        assert_eq!((part.left, part.frees_seat), (usd("10.00"), false));
        assert!(refund("15", left).unwrap().frees_seat);
        assert_eq!(
            refund("15.01", left),
            Err(Refusal::MoreThanRemains { asked: usd("15.01"), left })
        );
        for bad in ["0", "1.234", "-1", "ten"] {
            let refused = Refusal::BadAmount { asked: bad.into(), currency: Currency::USD };
            assert_eq!(refund(bad, left), Err(refused), "{bad}");
        }
        let said = Refusal::MoreThanRemains { asked: usd("15.01"), left }.said(Lang::En);
        assert!(said.contains("15.01") && said.contains("15.00 USD"), "{said}");
    }

    #[test]
    fn a_gateway_that_refunds_only_whole_payments_is_named() {
        let part = refund("10.00", usd("25.00")).unwrap();
        assert_eq!(check_gateway(&part, usd("25.00"), "payflow", true), Ok(()));
        let refused = check_gateway(&part, usd("25.00"), "oldpay", false);
        assert_eq!(refused, Err(Refusal::NotPartial { gateway: "oldpay".into() }));
        assert!(refused.unwrap_err().said(Lang::En).contains("oldpay"));
        let whole = refund("25.00", usd("25.00")).unwrap();
        assert_eq!(check_gateway(&whole, usd("25.00"), "oldpay", false), Ok(()));
    }

    #[test]
    fn only_the_host_or_an_administrator_may_refund() {
        let host: Email = "host@example.com".parse().unwrap();
        let member = |host| Asker::Member { discord_user_id: 7, host };
        assert_eq!(member(Some(host.clone())).may_refund("host@example.com"), Some(AskedBy::Host));
        assert_eq!(member(Some(host)).may_refund("other@example.com"), None);
        assert_eq!(member(None).may_refund("host@example.com"), None);
        let admin = Asker::Admin { discord_user_id: 1 };
        assert_eq!(admin.may_refund("host@example.com"), Some(AskedBy::Admin));
    }

    #[test]
    fn refusals_are_said_in_norwegian_too() {
        let at: DateTime<Utc> = "2030-12-01T14:00:00Z".parse().unwrap();
        let said = Refusal::DeadlinePassed(at).said(Lang::from_locale("no"));
        assert!(said.contains(&format!("<t:{}:F>", at.timestamp())), "{said}");
        assert_ne!(said, Refusal::DeadlinePassed(at).said(Lang::En));
    }
}
