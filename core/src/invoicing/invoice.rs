//! Invoices and credit notes as issued: what money moved (a pure rule on a payment's
//! transition), the document's number, parties and lines, and its VAT id and prefix types.

use std::fmt;
use std::str::FromStr;

use chrono::{DateTime, Utc};
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};

use crate::invoicing::vat::{self, Pricing, Rate, Split, Vat};
use crate::money::{Currency, Money};
use crate::payments::order::{Order, Purchase};
use crate::payments::payment::Payment;

/// What a payment's transition did with money, as far as invoices are concerned.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Movement {
    /// Money was taken (a sale, a capture): an invoice.
    Taken(Money),
    /// Money was given back (a full or partial refund): a credit note.
    GivenBack(Money),
}

/// What moved between `before` and `next`: more taken, or more given back. An authorisation
/// or a void takes nothing, and a transition does only one of the two.
pub fn movement(before: &Payment, next: &Payment) -> Option<Movement> {
    let more = |after: Money, was: Money| {
        let delta = after.amount() - was.amount();
        (delta > Decimal::ZERO).then(|| Money::round(delta, after.currency()))
    };
    more(next.captured, before.captured)
        .map(Movement::Taken)
        .or_else(|| more(next.refunded, before.refunded).map(Movement::GivenBack))
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Kind {
    Invoice,
    CreditNote,
}

impl Kind {
    pub fn as_str(self) -> &'static str {
        match self {
            Kind::Invoice => "invoice",
            Kind::CreditNote => "credit-note",
        }
    }
}

/// What comes before every number of the site's series (`TB-` gives `TB-000001`): up to 12
/// letters, digits, `-`, `_` or `/`, possibly none.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct Prefix(String);

impl Prefix {
    /// The number as printed: the prefix and six digits at least.
    pub fn label(&self, number: i64) -> String {
        format!("{}{number:06}", self.0)
    }
}

impl FromStr for Prefix {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let ok = s.chars().count() <= 12
            && s.chars().all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '/'));
        if ok {
            Ok(Prefix(s.to_owned()))
        } else {
            Err(format!("`{s}` is not an invoice prefix: up to 12 letters, digits, -, _ or /"))
        }
    }
}

impl TryFrom<String> for Prefix {
    type Error = String;
    fn try_from(s: String) -> Result<Self, Self::Error> {
        s.parse()
    }
}

impl From<Prefix> for String {
    fn from(p: Prefix) -> String {
        p.0
    }
}

/// A buyer's or seller's VAT identification number: a two-letter country prefix and 2 to 13
/// letters or digits (`NO999999999MVA`, `DE123456789`), kept in upper case without spaces,
/// dots or dashes.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct VatId(String);

impl VatId {
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl FromStr for VatId {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let id: String = s
            .chars()
            .filter(|c| !matches!(c, ' ' | '.' | '-'))
            .map(|c| c.to_ascii_uppercase())
            .collect();
        let country = id.get(..2).is_some_and(|p| p.bytes().all(|b| b.is_ascii_uppercase()));
        let rest = id.get(2..).unwrap_or_default();
        if country
            && (2..=13).contains(&rest.len())
            && rest.bytes().all(|b| b.is_ascii_alphanumeric())
        {
            Ok(VatId(id))
        } else {
            Err(format!(
                "`{}` is not a VAT id: expected a country code and 2 to 13 letters or digits, such as NO999999999MVA",
                s.trim()
            ))
        }
    }
}

impl TryFrom<String> for VatId {
    type Error = String;
    fn try_from(s: String) -> Result<Self, Self::Error> {
        s.parse()
    }
}

impl From<VatId> for String {
    fn from(v: VatId) -> String {
        v.0
    }
}

impl fmt::Display for VatId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// The seller or the buyer as printed.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Party {
    pub name: Option<String>,
    /// Lines of a postal address, as configured.
    pub address: Option<String>,
    pub email: Option<String>,
    pub vat_id: Option<VatId>,
}

/// What a line is for; written in the reader's language when shown.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "kebab-case")]
pub enum Item {
    /// A registration fee for a session (its title).
    Registration { session: String },
    /// A pay-per-use session (what the order was bound to).
    Session { session: String },
    /// A host's outstanding balance.
    Balance,
    /// Money given back on the invoice numbered `of`, when the payment had one.
    Refund { of: Option<String> },
    /// A promotion code's discount on the line above it, shown as a negative line.
    Discount { code: String },
    /// A group's registration fees: `seats` seats of one session, VAT split per seat.
    Seats { session: String, seats: u32 },
}

/// One line as issued, amounts at the currency's minor unit.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Line {
    pub item: Item,
    pub net: Decimal,
    pub vat: Decimal,
    pub gross: Decimal,
}

/// The invoice a credit note corrects.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Corrects {
    pub number: i64,
    pub label: String,
}

/// An invoice or credit note as issued, kept as it was: later changes to the seller's details
/// or the rate do not change it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Invoice {
    pub number: i64,
    /// The number as printed, with the prefix in force when it was issued.
    pub label: String,
    pub kind: Kind,
    pub order: String,
    pub payment: String,
    /// The payment's version after the transition it was issued for: one document per
    /// transition.
    pub payment_version: i64,
    pub corrects: Option<Corrects>,
    pub issued_at: DateTime<Utc>,
    pub seller: Party,
    pub buyer: Party,
    pub currency: Currency,
    pub vat_rate: Rate,
    pub pricing: Pricing,
    pub lines: Vec<Line>,
    /// The gateway's reference of the sale, capture or refund.
    pub reference: Option<String>,
}

impl Invoice {
    pub fn totals(&self) -> Split {
        let lines: Vec<Split> = self.lines.iter().map(|l| self.split(l)).collect();
        vat::total(&lines, self.currency)
    }

    /// A line's amounts as money.
    pub fn split(&self, line: &Line) -> Split {
        let m = |d| Money::round(d, self.currency);
        Split { net: m(line.net), vat: m(line.vat), gross: m(line.gross) }
    }
}

/// What an invoice is issued with, besides its number: the site's terms and what the
/// payment's transition and order say.
pub struct Issue<'a> {
    pub number: i64,
    pub prefix: &'a Prefix,
    pub seller: &'a Party,
    pub vat: Vat,
    pub movement: Movement,
    pub order: &'a Order,
    pub payment: &'a Payment,
    pub buyer: Party,
    /// The title of the session a registration is for, when it is one.
    pub session_title: Option<String>,
    /// The seats a registration bought (1 for anything else).
    pub seats: u32,
    pub corrects: Option<Corrects>,
    pub reference: Option<String>,
    pub at: DateTime<Utc>,
}

/// The document for a movement of money: one line for what the order bought (or for the
/// refund), split into net and VAT at the site's rate; its total is what moved.
pub fn issue(i: Issue) -> Invoice {
    let (kind, amount, item) = match i.movement {
        Movement::Taken(amount) => (Kind::Invoice, amount, bought(i.order, i.session_title)),
        Movement::GivenBack(amount) => {
            let of = i.corrects.as_ref().map(|c| c.label.clone());
            (Kind::CreditNote, amount, Item::Refund { of })
        }
    };
    let line = |item, split: Split| Line {
        item,
        net: split.net.amount(),
        vat: split.vat.amount(),
        gross: split.gross.amount(),
    };
    let whole_order = matches!(i.movement, Movement::Taken(taken) if taken == i.order.amount);
    let lines = match (&i.order.discount, &item) {
        // The order's whole amount: the fees (a group's split per seat, as each seat was
        // charged) and a code's discount are lines of their own, each split on its own (VAT
        // rounded per line), adding up to what was taken.
        (discount, Item::Registration { session }) if whole_order => {
            let off = discount.as_ref().map(|d| d.amount);
            let fee = off.map_or(amount, |off| {
                Money::round(amount.amount() + off.amount(), amount.currency())
            });
            let mut lines = vec![match per_seat(fee, i.seats) {
                Some(seat) => {
                    let times =
                        |m: Money| Money::round(m.amount() * Decimal::from(i.seats), m.currency());
                    let one = i.vat.split(seat);
                    let all = Split { net: times(one.net), vat: times(one.vat), gross: fee };
                    line(Item::Seats { session: session.clone(), seats: i.seats }, all)
                }
                None => line(item.clone(), i.vat.split(fee)),
            }];
            if let (Some(discount), Some(off)) = (discount, off) {
                let off = i.vat.split(off);
                let negative = |m: Money| Money::round(-m.amount(), m.currency());
                let split = Split {
                    net: negative(off.net),
                    vat: negative(off.vat),
                    gross: negative(off.gross),
                };
                lines.push(line(Item::Discount { code: discount.code.to_string() }, split));
            }
            lines
        }
        _ => vec![line(item, i.vat.split(amount))],
    };
    Invoice {
        number: i.number,
        label: i.prefix.label(i.number),
        kind,
        order: i.order.id.to_string(),
        payment: i.payment.id.to_string(),
        payment_version: i.payment.version,
        corrects: i.corrects,
        issued_at: i.at,
        seller: i.seller.clone(),
        buyer: i.buyer,
        currency: amount.currency(),
        vat_rate: i.vat.rate,
        pricing: i.vat.pricing,
        lines,
        reference: i.reference,
    }
}

/// One seat's share of a group's `fee`, when there are several and they share it exactly
/// (each seat was charged the same).
fn per_seat(fee: Money, seats: u32) -> Option<Money> {
    if seats < 2 {
        return None;
    }
    let seat = Money::round(fee.amount() / Decimal::from(seats), fee.currency());
    (seat.amount() * Decimal::from(seats) == fee.amount()).then_some(seat)
}

fn bought(order: &Order, title: Option<String>) -> Item {
    match &order.purchase {
        Purchase::Registration { session, .. } => {
            Item::Registration { session: title.unwrap_or_else(|| session.clone()) }
        }
        Purchase::Session { bound, .. } => Item::Session { session: bound.to_string() },
        Purchase::Balance { .. } => Item::Balance,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::payments::order::{Action, OrderId};
    use crate::payments::payment::{PaymentId, State};

    fn usd(s: &str) -> Money {
        Money::parse_exact(s, Currency::USD).unwrap()
    }

    fn payment(captured: &str, refunded: &str) -> Payment {
        let order = OrderId::random();
        Payment {
            id: PaymentId::new(&order, 1),
            order_id: order,
            gateway: "sandbox".into(),
            action: Action::Sale,
            state: State::Sale,
            amount: usd("25.00"),
            captured: usd(captured),
            refunded: usd(refunded),
            reference: Some("S1".into()),
            capture_ref: None,
            checkout_ref: None,
            checkout_token: None,
            version: 1,
        }
    }

    #[test]
    fn money_taken_is_an_invoice_and_money_given_back_a_credit_note() {
        let created = payment("0.00", "0.00");
        let sold = payment("25.00", "0.00");
        assert_eq!(movement(&created, &sold), Some(Movement::Taken(usd("25.00"))));
        let part = payment("25.00", "10.00");
        assert_eq!(movement(&sold, &part), Some(Movement::GivenBack(usd("10.00"))));
        let all = payment("25.00", "25.00");
        assert_eq!(movement(&part, &all), Some(Movement::GivenBack(usd("15.00"))));
        assert_eq!(movement(&sold, &sold), None, "an authorisation or a void moves nothing");
    }

    #[test]
    fn numbers_print_with_the_prefix_and_six_digits() {
        assert_eq!("TB-".parse::<Prefix>().unwrap().label(1), "TB-000001");
        assert_eq!(Prefix::default().label(1_234_567), "1234567");
        assert!("TB 1".parse::<Prefix>().unwrap_err().contains("not an invoice prefix"));
        assert!("ABCDEFGHIJKLM".parse::<Prefix>().is_err(), "13 characters");
    }

    #[test]
    fn vat_ids_are_kept_in_one_form_and_refused_by_name() {
        assert_eq!("no 999 999 999 mva".parse::<VatId>().unwrap().as_str(), "NO999999999MVA");
        assert_eq!("DE-123.456.789".parse::<VatId>().unwrap().as_str(), "DE123456789");
        for bad in ["", "12345678", "N1234", "NO1", "NO12345678901234", "NO12#45"] {
            let e = bad.parse::<VatId>().unwrap_err();
            assert!(e.contains("is not a VAT id"), "{bad}: {e}");
        }
    }

    #[test]
    fn an_issued_invoice_totals_what_moved() {
        let order =
            Order::for_registration("zoom/1".into(), "ada@example.com".into(), usd("125.00"));
        let sold = payment("125.00", "0.00");
        let vat = Vat { rate: "25".parse().unwrap(), pricing: Pricing::Inclusive };
        let invoice = issue(Issue {
            number: 7,
            prefix: &"TB-".parse().unwrap(),
            seller: &Party::default(),
            vat,
            movement: Movement::Taken(usd("125.00")),
            order: &order,
            payment: &sold,
            buyer: Party::default(),
            session_title: Some("Rust".into()),
            seats: 1,
            corrects: None,
            reference: Some("S1".into()),
            at: Utc::now(),
        });
        assert_eq!((invoice.label.as_str(), invoice.kind), ("TB-000007", Kind::Invoice));
        let t = invoice.totals();
        assert_eq!((t.net, t.vat, t.gross), (usd("100.00"), usd("25.00"), usd("125.00")));
        assert_eq!(invoice.lines[0].item, Item::Registration { session: "Rust".into() });
    }

    /// The invoice of `sold` taking the whole of `order`, for `seats` seats of "Rust".
    fn sale(order: &Order, sold: &Payment, vat: Vat, seats: u32) -> Invoice {
        issue(Issue {
            number: 1,
            prefix: &Prefix::default(),
            seller: &Party::default(),
            vat,
            movement: Movement::Taken(order.amount),
            order,
            payment: sold,
            buyer: Party::default(),
            session_title: Some("Rust".into()),
            seats,
            corrects: None,
            reference: None,
            at: Utc::now(),
        })
    }

    #[test]
    fn a_codes_discount_is_a_negative_line_of_its_own_and_the_lines_add_up_to_what_was_taken() {
        use crate::payments::order::Discount;
        let mut order =
            Order::for_registration("zoom/1".into(), "ada@example.com".into(), usd("18.75"));
        order.discount = Some(Discount {
            code_id: crate::fee_based::codes::CodeId::random(),
            code: "spring25".parse().unwrap(),
            amount: usd("6.25"),
        });
        let mut sold = payment("18.75", "0.00");
        sold.amount = usd("18.75");
        let vat = Vat { rate: "25".parse().unwrap(), pricing: Pricing::Inclusive };
        let invoice = sale(&order, &sold, vat, 1);
        let [fee, off] = &invoice.lines[..] else { panic!("{:?}", invoice.lines) };
        assert_eq!(
            (fee.net, fee.vat, fee.gross),
            ("20.00".parse().unwrap(), "5.00".parse().unwrap(), "25.00".parse().unwrap())
        );
        assert_eq!(off.item, Item::Discount { code: "SPRING25".into() });
        assert_eq!(
            (off.net, off.vat, off.gross),
            ("-5.00".parse().unwrap(), "-1.25".parse().unwrap(), "-6.25".parse().unwrap())
        );
        let t = invoice.totals();
        assert_eq!((t.net, t.vat, t.gross), (usd("15.00"), usd("3.75"), usd("18.75")));
    }

    #[test]
    fn a_groups_fees_are_one_line_whose_vat_is_rounded_per_seat() {
        let order =
            Order::for_registration("zoom/1".into(), "ada@example.com".into(), usd("30.03"));
        let sold = payment("30.03", "0.00");
        let vat = Vat { rate: "25".parse().unwrap(), pricing: Pricing::Inclusive };
        let invoice = sale(&order, &sold, vat, 3);
        assert_eq!(invoice.lines.len(), 1);
        assert_eq!(invoice.lines[0].item, Item::Seats { session: "Rust".into(), seats: 3 });
        // 2.002 of VAT in each seat of 10.01 is 2.00; the total's 6.006 would have been 6.01.
        let t = invoice.totals();
        assert_eq!((t.net, t.vat, t.gross), (usd("24.03"), usd("6.00"), usd("30.03")));
    }
}
