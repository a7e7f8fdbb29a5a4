//! Waiting lists: who stands in a full session's line, until when a freed seat is held for the
//! first of them, and what they are told. The workflows that move people along the line are in
//! `fee_based::service`; these are their pure rules.

use chrono::{DateTime, Duration, Utc};
use url::Url;

use crate::fee_based::registration::{Registration, RegistrationState, ScheduledSession};
use crate::messages::Args;
use crate::money::Money;
use crate::outbox::Link;
use crate::reach::Notice;

/// Where a registration is in its session's waiting list at some moment.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Line {
    /// Not on the list (paid, closed, never joined, or passed over).
    Out,
    /// In line, waiting for a seat to be freed.
    Waiting,
    /// A seat is held for them until `until`: it counts against the capacity.
    Offered { until: DateTime<Utc> },
    /// The offer ran out; the sweep passes the seat on. It holds nothing any more.
    Lapsed,
}

/// Where `registration` is in line at `now`.
pub fn line(registration: &Registration, now: DateTime<Utc>) -> Line {
    if registration.state != RegistrationState::AwaitingPayment {
        return Line::Out;
    }
    match (registration.waiting_since, registration.offer_until) {
        (None, _) => Line::Out,
        (Some(_), None) => Line::Waiting,
        (Some(_), Some(until)) if until > now => Line::Offered { until },
        (Some(_), Some(_)) => Line::Lapsed,
    }
}

/// Until when a seat freed at `now` is held: `hours` later, but never past the moment the
/// session stops selling seats, since a payment after that could only be refunded.
pub fn offer_until(session: &ScheduledSession, now: DateTime<Utc>, hours: i64) -> DateTime<Utc> {
    let closes = session.fee.as_ref().and_then(|f| f.deadline).unwrap_or_else(|| session.ends_at());
    (now + Duration::hours(hours)).min(closes)
}

/// The message that offers a freed seat, with the pay link that holds it.
pub fn offer_notice(
    registration: &Registration,
    session: &ScheduledSession,
    fee: &Money,
    until: DateTime<Utc>,
    pay: &Url,
) -> Notice {
    let lang = registration.lang;
    let args = Args::new()
        .str("title", &session.title)
        .str("at", crate::time::markup(session.starts_at))
        .str("amount", fee)
        .str("currency", fee.currency())
        .str("until", crate::time::markup(until));
    Notice {
        subject: lang.text_with("seat-offered-subject", &Args::new().str("title", &session.title)),
        text: lang.text_with("seat-offered", &args),
        link: Some(Link { label: lang.text("pay-now"), url: pay.to_string() }),
    }
}

/// The message that says an offer ran out and passed on.
pub fn lapsed_notice(registration: &Registration, session: &ScheduledSession) -> Notice {
    let lang = registration.lang;
    let title = Args::new().str("title", &session.title);
    Notice {
        subject: lang.text_with("seat-offered-subject", &title),
        text: lang.text_with("seat-offer-lapsed", &title),
        link: None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    use crate::fee_based::registration::{Fee, attendee};
    use crate::lang::Lang;
    use crate::money::Currency;
    use crate::payments::order::OrderId;
    use crate::platform::PlatformKind;

    fn session() -> ScheduledSession {
        ScheduledSession {
            platform: PlatformKind::Zoom,
            meeting_id: "85746065432".into(),
            title: "Rust for payments".into(),
            host_email: "host@example.com".into(),
            starts_at: "2026-12-10T14:00:00Z".parse().unwrap(),
            minutes: 60,
            join_url: "https://zoom.us/j/85746065432".into(),
            start_url: "https://zoom.us/s/85746065432".into(),
            fee: Some(Fee {
                amount: Money::parse_exact("25.00", Currency::USD).unwrap(),
                capacity: Some(1),
                deadline: None,
            }),
            cancelled_at: None,
        }
    }

    fn registration() -> Registration {
        let a = attendee("Ada", "Lovelace", "ada@example.com").unwrap();
        Registration::new(&session(), 7, a, OrderId::random())
    }

    #[test]
    fn an_offer_holds_until_it_runs_out_and_only_while_unpaid() {
        let now: DateTime<Utc> = "2026-12-01T10:00:00Z".parse().unwrap();
        let mut r = registration();
        assert_eq!(line(&r, now), Line::Out);
        r.waiting_since = Some(now);
        assert_eq!(line(&r, now), Line::Waiting);
        let until = now + Duration::hours(24);
        r.offer_until = Some(until);
        assert_eq!(line(&r, now), Line::Offered { until });
        assert_eq!(line(&r, until), Line::Lapsed, "not held at the moment it runs out");
        r.state = RegistrationState::Paid;
        assert_eq!(line(&r, now), Line::Out);
    }

    #[test]
    fn an_offer_is_held_for_its_hours_but_not_past_the_sessions_close() {
        let s = session();
        let early: DateTime<Utc> = "2026-12-01T10:00:00Z".parse().unwrap();
        assert_eq!(offer_until(&s, early, 24), early + Duration::hours(24));
        let late = s.starts_at - Duration::hours(2);
        assert_eq!(offer_until(&s, late, 24), s.ends_at());
        let mut deadline = session();
        deadline.fee.as_mut().unwrap().deadline = Some(late + Duration::hours(1));
        assert_eq!(offer_until(&deadline, late, 24), late + Duration::hours(1));
    }

    #[test]
    fn offers_are_told_in_the_attendees_language() {
        let s = session();
        let r = registration().in_language(Lang::from_locale("no"));
        let fee = Money::parse_exact("25.00", Currency::USD).unwrap();
        let pay: Url = "https://tollbooth.example/pay/t".parse().unwrap();
        let until: DateTime<Utc> = "2026-12-02T10:00:00Z".parse().unwrap();
        let offer = offer_notice(&r, &s, &fee, until, &pay);
        assert!(offer.text.contains("En plass er ledig"), "{}", offer.text);
        assert!(offer.text.contains("25.00 USD"), "{}", offer.text);
        assert_eq!(offer.link.unwrap().label, "Betal nå");
        assert!(offer.subject.contains("Rust for payments"), "{}", offer.subject);
        let lapsed = lapsed_notice(&r, &s);
        assert!(lapsed.text.contains("gått videre"), "{}", lapsed.text);
        let english = offer_notice(&registration(), &s, &fee, until, &pay);
        assert!(
            english.text.starts_with("A seat is free in **Rust for payments**"),
            "{}",
            english.text
        );
    }
}
