//! Pay-per-use billing: what an ended session's cost takes from its authorisation, what the
//! host still owes, and the receipt. Pure rules; the store records the charge and queues the
//! capture and the receipt in the transaction that applied the `ended` event.

use chrono::{DateTime, Datelike, NaiveDate, Utc};
use rust_decimal::Decimal;
use serde::Serialize;

use crate::lang::Lang;
use crate::messages::Args;
use crate::money::Money;
use crate::payments::payment::{CaptureLimit, Payment, State};
use crate::pricing::{Cost, Prices};
use crate::settlement::{AdjustmentKind, AdjustmentRecord};
use crate::site::DivisionId;

/// How a cost is split between the authorisation and the host's outstanding balance.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Settlement {
    /// Taken from the authorisation; the gateway releases the rest of the hold with it.
    pub capture: Money,
    /// Above the authorisation: owed by the host, blocking the next start until paid.
    pub outstanding: Money,
}

/// The authorisation covers what it can: all of the cost where the gateway lets a capture
/// exceed the authorisation, else up to what was authorised, and the rest is owed.
pub fn settle(cost: Money, authorised: Money, limit: CaptureLimit) -> Settlement {
    let currency = cost.currency();
    if cost.amount() <= authorised.amount() || limit == CaptureLimit::AboveAuthorised {
        return Settlement { capture: cost, outstanding: Money::zero(currency) };
    }
    // Both amounts are already rounded to the minor unit, so the difference is exact.
    Settlement {
        capture: authorised,
        outstanding: Money::round(cost.amount() - authorised.amount(), currency),
    }
}

/// What an authorisation holds for an estimate: the estimate plus `percent` headroom, rounded
/// half-up to the minor unit, so that a session that runs a little over is still covered.
pub fn with_headroom(estimate: Money, percent: u32) -> Money {
    let factor = Decimal::from(100 + u64::from(percent)) / Decimal::from(100);
    Money::round(estimate.amount() * factor, estimate.currency())
}

/// One charge: a paid session's priced usage and how it was paid, booked to a division.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Charge {
    pub order: String,
    pub platform: String,
    pub meeting_id: String,
    pub host_email: String,
    pub division: Option<DivisionId>,
    pub cost: Cost,
    pub authorised: Money,
    pub captured: Money,
    pub outstanding: Money,
    /// The gateway's reference of the capture, read from the payment: `None` until the
    /// capture went through (the charge is recorded first, and its capture queued).
    pub payment_reference: Option<String>,
    pub started_at: DateTime<Utc>,
    pub ended_at: DateTime<Utc>,
}

impl Charge {
    /// The receipt's lines, the same in chat and on the receipt page; amended by each
    /// adjustment of the settled bill, whose figures the charge already shows.
    pub fn receipt_lines(&self, lang: Lang, adjustments: &[AdjustmentRecord]) -> Vec<String> {
        let c = &self.cost;
        let code = c.currency.code();
        let money = |amount: Money| Args::new().str("amount", amount).str("currency", code);
        let priced = |line: &crate::pricing::CostLine| {
            Args::new()
                .str("minutes", line.minutes)
                .str("price", line.price_per_minute)
                .str("amount", line.amount)
                .str("currency", code)
        };
        let session = format!("{}/{}", self.platform, self.meeting_id);
        let mut lines = vec![
            lang.text_with("receipt-session", &Args::new().str("session", session)),
            lang.text_with("receipt-person", &priced(&c.person)),
            lang.text_with("receipt-teleconference", &priced(&c.teleconference)),
            lang.text_with("receipt-total", &money(c.total)),
            lang.text_with("receipt-charged", &money(self.captured)),
        ];
        if !self.outstanding.amount().is_zero() {
            lines.push(lang.text_with("receipt-outstanding", &money(self.outstanding)));
        }
        let reference = Args::new().str("reference", self.reference_said(lang));
        lines.push(lang.text_with("receipt-reference", &reference));
        for a in adjustments {
            let args = money(a.amount)
                .str("refund", a.refund)
                .str("reference", &a.reference)
                .str("reason", a.reason.describe(lang));
            lines.push(match a.kind {
                AdjustmentKind::Charge => lang.text_with("receipt-adjustment-charge", &args),
                AdjustmentKind::Refund => lang.text_with("receipt-adjustment-refund", &args),
            });
        }
        lines
    }

    /// The capture's reference; else `pending` while a capture is due, `none` when nothing is.
    fn reference_said(&self, lang: Lang) -> String {
        match &self.payment_reference {
            Some(reference) => reference.clone(),
            None if self.captured.amount().is_zero() => lang.text("receipt-no-reference"),
            None => lang.text("receipt-reference-pending"),
        }
    }

    /// The heading of the receipt, in chat and on its page.
    pub fn receipt_title(lang: Lang) -> String {
        lang.text("receipt-title")
    }
}

/// Of a session order's payments (oldest first), the one that pays for it: the one holding or
/// having taken the money (a second payment given back is not it), else the first.
pub fn paying(payments: &[Payment]) -> Option<&Payment> {
    let holds = |p: &&Payment| matches!(p.state, State::Authorised | State::Captured);
    payments.iter().find(holds).or(payments.first())
}

/// What a host owes: what their charges left outstanding less what their balance orders
/// paid, never below zero; `None` when nothing was ever charged or paid. The currency is the
/// site's one (DESIGN: one currency per site).
pub fn owed(outstanding: &[Money], paid: &[Money]) -> Option<Money> {
    let currency = outstanding.iter().chain(paid).last()?.currency();
    let charged: Decimal = outstanding.iter().map(|m| m.amount()).sum();
    let paid: Decimal = paid.iter().map(|m| m.amount()).sum();
    Some(Money::round((charged - paid).max(Decimal::ZERO), currency))
}

/// How a pay-per-use session is paid for: what the session API and `/session status` show
/// beside its usage and cost.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct SessionPayment {
    /// The start's decision: `free` (pay-per-use off, or exempt), `paid` or `blocked`.
    pub decision: String,
    /// The order whose authorisation paid for the start.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub order: Option<String>,
    /// The payment's state: `authorised` until the session is billed, then `captured` (or
    /// `voided` when nothing was used).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub state: Option<State>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub authorised: Option<Money>,
    /// Set once the session is billed.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub captured: Option<Money>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub outstanding: Option<Money>,
    /// The gateway's reference of the payment.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reference: Option<String>,
    /// The prices the order was made with, which the session is priced with.
    #[serde(skip)]
    pub prices: Option<Prices>,
}

/// A reporting period in whole days, both ends included, as administrators type it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Period {
    pub from: NaiveDate,
    pub to: NaiveDate,
}

/// What is wrong with a period; [`BadPeriod::option`] names the bound at fault.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum BadPeriod {
    #[error("`{text}` is not a date such as 2026-11-30")]
    NotADate { name: &'static str, text: String },
    #[error("{to} is before {from}")]
    Reversed { from: NaiveDate, to: NaiveDate },
}

impl BadPeriod {
    /// `from` or `to`, as the command line, the API and chat call them.
    pub fn option(&self) -> &'static str {
        match self {
            BadPeriod::NotADate { name, .. } => name,
            BadPeriod::Reversed { .. } => "to",
        }
    }
}

impl Period {
    pub fn parse(from: &str, to: &str) -> Result<Period, BadPeriod> {
        let date = |name, text: &str| {
            NaiveDate::parse_from_str(text, "%Y-%m-%d")
                .map_err(|_| BadPeriod::NotADate { name, text: text.to_owned() })
        };
        let (from, to) = (date("from", from)?, date("to", to)?);
        if from > to {
            return Err(BadPeriod::Reversed { from, to });
        }
        Ok(Period { from, to })
    }

    /// The first instant of `from`, UTC.
    pub fn start(&self) -> DateTime<Utc> {
        self.from.and_hms_opt(0, 0, 0).expect("midnight exists").and_utc()
    }

    /// The first instant after `to`, UTC: sessions are counted by when they started.
    pub fn end(&self) -> DateTime<Utc> {
        (self.to + chrono::Days::new(1)).and_hms_opt(0, 0, 0).expect("midnight exists").and_utc()
    }
}

/// A calendar month, the period division budgets are set for (`2026-11`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Month(NaiveDate);

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
#[error("month `{0}` is not a month such as 2026-11")]
pub struct BadMonth(String);

impl std::str::FromStr for Month {
    type Err = BadMonth;
    fn from_str(s: &str) -> Result<Month, BadMonth> {
        NaiveDate::parse_from_str(&format!("{s}-01"), "%Y-%m-%d")
            .map(Month)
            .map_err(|_| BadMonth(s.to_owned()))
    }
}

impl std::fmt::Display for Month {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}", self.0.format("%Y-%m"))
    }
}

impl Month {
    pub fn of(at: DateTime<Utc>) -> Month {
        Month(at.date_naive().with_day(1).expect("every month has a first day"))
    }

    /// Its days, as a reporting period.
    pub fn period(&self) -> Period {
        let next = self.0 + chrono::Months::new(1);
        Period { from: self.0, to: next.pred_opt().expect("a month has a last day") }
    }
}

/// Whether a new session of `estimate` would take a division over its month's `budget`,
/// given what it `spent` so far that month: the amount it would go over by.
pub fn over_budget(budget: Money, spent: Money, estimate: Money) -> Option<Money> {
    let after = spent.amount() + estimate.amount();
    (after > budget.amount()).then(|| Money::round(after - budget.amount(), budget.currency()))
}

/// A division's spend over a period: one row per charge and their total.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Spend {
    pub division: DivisionId,
    pub charges: Vec<Charge>,
    pub total: Money,
}

impl Spend {
    /// One line per session and the total, for chat and the terminal.
    pub fn lines(&self, lang: Lang) -> Vec<String> {
        let code = self.total.currency().code();
        let mut lines: Vec<String> = self
            .charges
            .iter()
            .map(|c| {
                let args = Args::new()
                    .str("date", c.started_at.format("%Y-%m-%d"))
                    .str("host", &c.host_email)
                    .str("session", format!("{}/{}", c.platform, c.meeting_id))
                    .num("person", c.cost.person.minutes)
                    .num("teleconference", c.cost.teleconference.minutes)
                    .str("amount", c.cost.total)
                    .str("currency", code)
                    .str("reference", c.reference_said(lang));
                lang.text_with("spend-line", &args)
            })
            .collect();
        let sessions = u64::try_from(self.charges.len()).unwrap_or(u64::MAX);
        let total =
            Args::new().str("amount", self.total).str("currency", code).num("sessions", sessions);
        lines.push(lang.text_with("spend-total", &total));
        lines
    }

    /// RFC 4180 CSV: a header, one row per session, and a last row with the total.
    pub fn csv(&self) -> String {
        let mut out = String::from(
            "date,host,session,person_minutes,teleconference_minutes,amount,currency,payment_reference\r\n",
        );
        for c in &self.charges {
            let row = [
                c.started_at.format("%Y-%m-%d").to_string(),
                c.host_email.clone(),
                format!("{}/{}", c.platform, c.meeting_id),
                c.cost.person.minutes.to_string(),
                c.cost.teleconference.minutes.to_string(),
                c.cost.total.to_string(),
                c.cost.currency.code().to_owned(),
                c.payment_reference.clone().unwrap_or_default(),
            ];
            out += &row.iter().map(|f| csv_field(f)).collect::<Vec<_>>().join(",");
            out += "\r\n";
        }
        out += &format!("total,,,,,{},{},\r\n", self.total, self.total.currency().code());
        out
    }
}

/// Quoted when it holds a comma, a quote or a line break, with quotes doubled (RFC 4180).
pub(crate) fn csv_field(field: &str) -> String {
    if field.contains([',', '"', '\r', '\n']) {
        format!("\"{}\"", field.replace('"', "\"\""))
    } else {
        field.to_owned()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::money::Currency;

    fn usd(s: &str) -> Money {
        Money::parse_exact(s, Currency::USD).unwrap()
    }

    #[test]
    fn a_host_owes_what_charges_left_outstanding_less_balances_paid_never_below_zero() {
        assert_eq!(owed(&[], &[]), None);
        assert_eq!(owed(&[usd("10.00"), usd("5.50")], &[usd("10.00")]), Some(usd("5.50")));
        assert_eq!(owed(&[usd("3.00")], &[usd("5.00")]), Some(usd("0.00")));
        assert_eq!(owed(&[usd("0.00")], &[]), Some(usd("0.00")));
    }

    #[test]
    fn the_authorisation_covers_what_it_can_or_the_gateway_allows_and_the_rest_is_owed() {
        let strict = CaptureLimit::Authorised;
        assert_eq!(
            settle(usd("10.80"), usd("93.15"), strict),
            Settlement { capture: usd("10.80"), outstanding: usd("0.00") }
        );
        assert_eq!(
            settle(usd("100.00"), usd("93.15"), strict),
            Settlement { capture: usd("93.15"), outstanding: usd("6.85") }
        );
        assert_eq!(
            settle(usd("100.00"), usd("93.15"), CaptureLimit::AboveAuthorised),
            Settlement { capture: usd("100.00"), outstanding: usd("0.00") }
        );
    }

    #[test]
    fn receipts_read_in_the_hosts_language_with_the_same_figures() {
        let prices = crate::pricing::Prices {
            currency: Currency::USD,
            person_minute: Decimal::new(12, 2),
            teleconference_minute: Decimal::new(5, 2),
        };
        let at = DateTime::from_timestamp(1_790_000_000, 0).unwrap();
        let charge = Charge {
            order: "o1".into(),
            platform: "zoom".into(),
            meeting_id: "85746065432".into(),
            host_email: "host@example.com".into(),
            division: None,
            cost: prices.cost(90, 10).unwrap(),
            authorised: usd("10.00"),
            captured: usd("10.00"),
            outstanding: usd("1.30"),
            payment_reference: None,
            started_at: at,
            ended_at: at,
        };
        let en = charge.receipt_lines(Lang::En, &[]);
        assert_eq!(en[1], "Person-minutes: 90 × 0.12 = 10.80 USD");
        assert_eq!(en[5], "Outstanding (above the authorisation): 1.30 USD");
        assert_eq!(en[6], "Payment reference: pending");
        let no = charge.receipt_lines(Lang::from_locale("no"), &[]);
        assert_eq!(no[1], "Personminutter: 90 × 0.12 = 10.80 USD");
        assert_eq!(no[3], "Totalt: 11.30 USD");
        assert_eq!(no[6], "Betalingsreferanse: venter");
        assert_eq!(en.len(), no.len());
        let captured = Charge { payment_reference: Some("CAP-1".into()), ..charge.clone() };
        assert_eq!(captured.receipt_lines(Lang::En, &[])[6], "Payment reference: CAP-1");
        let nothing = Charge { captured: usd("0.00"), ..charge };
        assert_eq!(nothing.receipt_lines(Lang::En, &[])[6], "Payment reference: none");
    }

    #[test]
    fn csv_fields_are_quoted_when_they_must_be() {
        assert_eq!(csv_field("plain"), "plain");
        assert_eq!(csv_field("a,b"), "\"a,b\"");
        assert_eq!(csv_field("say \"hi\""), "\"say \"\"hi\"\"\"");
    }

    #[test]
    fn months_cover_their_days_and_budgets_warn_when_passed() {
        let m: Month = "2026-02".parse().unwrap();
        assert_eq!(m.to_string(), "2026-02");
        assert_eq!(m.period(), Period::parse("2026-02-01", "2026-02-28").unwrap());
        assert!("2026-13".parse::<Month>().is_err());
        assert_eq!(over_budget(usd("100.00"), usd("90.00"), usd("10.00")), None);
        assert_eq!(over_budget(usd("100.00"), usd("90.00"), usd("12.50")), Some(usd("2.50")));
    }

    #[test]
    fn periods_include_both_days() {
        let p = Period::parse("2026-11-01", "2026-11-30").unwrap();
        assert_eq!(p.start().to_rfc3339(), "2026-11-01T00:00:00+00:00");
        assert_eq!(p.end().to_rfc3339(), "2026-12-01T00:00:00+00:00");
        assert!(matches!(
            Period::parse("2026-11-02", "2026-11-01"),
            Err(BadPeriod::Reversed { .. })
        ));
        let err = Period::parse("yesterday", "2026-11-01").unwrap_err();
        assert_eq!(
            (err.option(), err.to_string().as_str()),
            ("from", "`yesterday` is not a date such as 2026-11-30")
        );
    }

    #[test]
    fn headroom_is_added_and_rounded_half_up() {
        assert_eq!(with_headroom(usd("81.00"), 15), usd("93.15"));
        assert_eq!(with_headroom(usd("0.10"), 15), usd("0.12"));
        assert_eq!(with_headroom(usd("81.00"), 0), usd("81.00"));
    }
}
