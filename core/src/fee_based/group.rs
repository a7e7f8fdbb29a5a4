//! One payer, several seats (issue 17): `/register seats:N` takes N seats in one order and
//! one payment. The registration is the payer's and holds seat 1 (the first attendee line);
//! seats 2 to N are its guests, each added to the platform as their own registrant with their
//! own join link, and each refundable alone (D-230, D-231). The rules here are pure: reading
//! the attendee lines, capping the seats, the group's fee and one seat's share of it.

use rust_decimal::Decimal;

use super::refunds::{Decided, Refusal};
use super::registration::{self, BadAttendee, Registration, ScheduledSession};
use crate::lang::Lang;
use crate::messages::Args;
use crate::money::Money;
use crate::outbox::{Admit, Effect};
use crate::platform::control::Attendee;

/// A guest's seat of a group registration (seat 2 and on; seat 1 is the registration's own).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct GuestSeat {
    pub seat: u32,
    pub attendee: Attendee,
    /// The platform's registrant, once added.
    pub registrant_id: Option<String>,
    pub join_url: Option<String>,
    /// Refunded alone: the seat is free again.
    pub refunded: bool,
}

/// What is wrong with one line of the attendees' field.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum LineProblem {
    /// Neither `First Last <email>` nor `First Last, email`.
    Form,
    Attendee(BadAttendee),
    /// The address is on an earlier line: the platform knows a registrant by it.
    Repeated,
}

/// A bad attendee line: its number (from 1), as typed, and what is wrong.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct BadLine {
    pub line: usize,
    pub typed: String,
    pub problem: LineProblem,
}

impl BadLine {
    /// As told to the payer.
    pub fn said(&self, lang: Lang) -> String {
        let why = match &self.problem {
            LineProblem::Form => lang.text("group-line-form"),
            LineProblem::Attendee(bad) => bad.said(lang),
            LineProblem::Repeated => lang.text("group-line-repeated"),
        };
        let args = Args::new().num("line", self.line).str("typed", &self.typed).str("why", why);
        lang.text_with("group-bad-line", &args)
    }
}

/// Reads the attendees' field: one attendee a line, `First Last <email>` or
/// `First Last, email` (the last word before the address is the last name); blank lines are
/// skipped. The first line is the payer's own seat.
pub fn attendees(text: &str) -> Result<Vec<Attendee>, BadLine> {
    let mut found: Vec<Attendee> = Vec::new();
    for (index, typed) in text.lines().enumerate() {
        let typed = typed.trim();
        if typed.is_empty() {
            continue;
        }
        let bad = |problem| BadLine { line: index + 1, typed: typed.to_owned(), problem };
        let (names, email) = match typed.split_once('<') {
            Some((names, rest)) => {
                (names, rest.strip_suffix('>').ok_or_else(|| bad(LineProblem::Form))?)
            }
            None => typed.rsplit_once(',').ok_or_else(|| bad(LineProblem::Form))?,
        };
        let (first, last) =
            names.trim().rsplit_once(char::is_whitespace).unwrap_or((names.trim(), ""));
        let attendee = registration::attendee(first, last, email)
            .map_err(|why| bad(LineProblem::Attendee(why)))?;
        if found.iter().any(|a| a.email == attendee.email) {
            return Err(bad(LineProblem::Repeated));
        }
        found.push(attendee);
    }
    if found.is_empty() {
        return Err(BadLine { line: 1, typed: String::new(), problem: LineProblem::Form });
    }
    Ok(found)
}

/// Why a registration cannot take the seats asked for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TooMany {
    /// More than the site lets one registration take (`registration.max_seats`).
    OverMax { asked: u32, max: u32 },
    /// More than the session has left.
    OverLeft { asked: u32, left: u32 },
}

impl TooMany {
    pub fn said(self, lang: Lang) -> String {
        match self {
            TooMany::OverMax { asked, max } => {
                lang.text_with("group-over-max", &Args::new().num("asked", asked).num("max", max))
            }
            TooMany::OverLeft { asked, left } => lang
                .text_with("group-over-left", &Args::new().num("asked", asked).num("left", left)),
        }
    }
}

/// Checks `asked` seats against the site's maximum and, when the session has a capacity, the
/// `left` seats. A session with none left is full, which its waiting list answers.
pub fn check_seats(asked: u32, max: u32, left: Option<u32>) -> Result<(), TooMany> {
    if asked > max {
        return Err(TooMany::OverMax { asked, max });
    }
    match left {
        Some(left) if left > 0 && asked > left => Err(TooMany::OverLeft { asked, left }),
        _ => Ok(()),
    }
}

/// The seats a session with `capacity` has left when `held` are held.
pub fn left(capacity: Option<u32>, held: u32) -> Option<u32> {
    capacity.map(|c| c.saturating_sub(held))
}

/// The seats a group was ordered with: its guests' and the payer's own.
pub fn ordered(guests: &[GuestSeat]) -> u32 {
    u32::try_from(guests.len()).unwrap_or(u32::MAX).saturating_add(1)
}

/// A group's fee: each seat's `charge` (its fee with VAT, rounded to the minor unit as its
/// invoice line is), times the seats.
pub fn fee_for(charge: Money, seats: u32) -> Money {
    Money::round(charge.amount() * Decimal::from(seats), charge.currency())
}

/// One seat's share of what a group of `seats` paid for `fee` less `discount` (D-232): the
/// seat's fee, less an equal share of the discount rounded half-up.
pub fn seat_share(fee: Money, discount: Money, seats: u32) -> Money {
    let n = Decimal::from(seats.max(1));
    let currency = fee.currency();
    let per_seat = Money::round(fee.amount() / n, currency);
    let discount = Money::round(discount.amount() / n, currency);
    Money::round(per_seat.amount() - discount.amount(), currency)
}

/// Refunding one seat alone: its `share`, but never more than the `left` of the payment
/// still refundable. The registration keeps its other seats, so it is never freed whole.
pub fn seat_refund(share: Money, left: Money) -> Result<Decided, Refusal> {
    let amount = Money::round(share.amount().min(left.amount()), left.currency());
    if amount.amount() <= Decimal::ZERO {
        return Err(Refusal::NotPaid);
    }
    let rest = Money::round(left.amount() - amount.amount(), left.currency());
    Ok(Decided { amount, fee: Money::zero(amount.currency()), left: rest, frees_seat: false })
}

/// The guests' admissions once the group's payment bought its seats: one `Admit` per guest
/// still holding a seat, keyed per seat, so that each is added to the platform once.
pub fn admits(
    registration: &Registration,
    session: &ScheduledSession,
    guests: &[GuestSeat],
) -> Vec<(String, Effect)> {
    guests
        .iter()
        .filter(|g| !g.refunded)
        .map(|g| {
            let admit = Admit {
                registration: registration.id.to_string(),
                platform: session.platform,
                meeting_id: session.meeting_id.clone(),
                host_email: session.host_email.clone(),
                first_name: g.attendee.first_name.clone(),
                last_name: g.attendee.last_name.clone(),
                email: g.attendee.email.clone(),
                seat: Some(g.seat),
            };
            (format!("admit:{}:{}", registration.id, g.seat), Effect::Admit(admit))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::money::Currency;

    fn usd(s: &str) -> Money {
        Money::parse_exact(s, Currency::USD).unwrap()
    }

    #[test]
    fn attendee_lines_take_angle_brackets_or_a_comma_and_skip_blank_lines() {
        let found = attendees(
            "Ada Lovelace <Ada@Example.com>\n\n  Grace Brewster Hopper, grace@example.com ",
        )
        .unwrap();
        let got: Vec<_> = found
            .iter()
            .map(|a| (a.first_name.as_str(), a.last_name.as_str(), a.email.as_str()))
            .collect();
        assert_eq!(
            got,
            [
                ("Ada", "Lovelace", "ada@example.com"),
                ("Grace Brewster", "Hopper", "grace@example.com")
            ]
        );
    }

    #[test]
    fn a_bad_attendee_line_is_named_by_its_number_and_what_is_wrong() {
        let bad = attendees("Ada Lovelace <ada@example.com>\nBob bob@example.com").unwrap_err();
        assert_eq!((bad.line, bad.problem.clone()), (2, LineProblem::Form));
        let said = bad.said(Lang::En);
        assert!(said.contains("Line 2") && said.contains("Bob bob@example.com"), "{said}");
        let bad = attendees("Ada <ada@example.com>").unwrap_err();
        assert_eq!(bad.problem, LineProblem::Attendee(BadAttendee::Names));
        let bad = attendees("Ada Lovelace, ada@\n").unwrap_err();
        assert!(matches!(bad.problem, LineProblem::Attendee(BadAttendee::Email(_))));
        let bad = attendees("A B <a@example.com>\nC D, A@example.com").unwrap_err();
        assert_eq!((bad.line, bad.problem), (2, LineProblem::Repeated));
        assert_eq!(attendees(" \n").unwrap_err().problem, LineProblem::Form);
        let norsk = attendees("x").unwrap_err().said(Lang::from_locale("no"));
        assert!(norsk.contains("Linje 1"), "{norsk}");
    }

    #[test]
    fn seats_are_capped_by_the_site_maximum_and_the_seats_left() {
        assert_eq!(check_seats(3, 10, Some(3)), Ok(()));
        assert_eq!(check_seats(11, 10, None), Err(TooMany::OverMax { asked: 11, max: 10 }));
        assert_eq!(check_seats(3, 10, Some(2)), Err(TooMany::OverLeft { asked: 3, left: 2 }));
        assert_eq!(check_seats(3, 10, Some(0)), Ok(()), "full: the waiting list answers");
        assert_eq!(left(Some(5), 7), Some(0));
        assert!(TooMany::OverLeft { asked: 3, left: 2 }.said(Lang::En).contains("2"));
    }

    #[test]
    fn a_seat_refunded_alone_gives_back_its_fee_less_its_share_of_the_discount() {
        // Three seats of 31.25 (25.00 with 25 % VAT): 93.75.
        let fee = fee_for(usd("31.25"), 3);
        assert_eq!(fee, usd("93.75"));
        assert_eq!(seat_share(fee, usd("0"), 3), usd("31.25"));
        // 10.00 off the order: 3.33 (half-up of 3.333…) off each seat.
        assert_eq!(seat_share(fee, usd("10.00"), 3), usd("27.92"));
        let decided = seat_refund(usd("27.92"), usd("20.00")).unwrap();
        assert_eq!(
            (decided.amount, decided.left, decided.frees_seat),
            (usd("20.00"), usd("0.00"), false)
        );
        assert_eq!(seat_refund(usd("27.92"), usd("0.00")), Err(Refusal::NotPaid));
    }
}
