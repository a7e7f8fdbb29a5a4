//! Pay-per-use enforcement: what happens when a host's meeting starts. The rules are pure;
//! `pay_per_use::service` gathers the facts and applies the decision in the transaction that
//! applied the `started` event, so the decision and its effects are stored together or not
//! at all.

use crate::email::Email;
use crate::lang::Lang;
use crate::messages::Args;
use crate::money::Money;
use crate::outbox::{Effect, EndMeeting, Link};
use crate::payments::order::{Binding, OrderId};
use crate::platform::PlatformKind;
use crate::pricing::SessionPlan;
use crate::reach::{self, Channels, Notice, Person};
use crate::site::DivisionId;

/// Who a site exempts from paying before a start.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Exemption {
    Host(Email),
    Division(DivisionId),
}

impl Exemption {
    /// As stored in `pay_per_use_exemptions.subject`.
    pub fn subject(&self) -> String {
        match self {
            Exemption::Host(email) => format!("host:{email}"),
            Exemption::Division(id) => format!("division:{id}"),
        }
    }
}

/// Whether an order `bound` as it is may pay for a start of `meeting_id` on `platform`. A
/// quote, or an offer made at a blocked start, pays for any of its host's meetings; an order
/// for a scheduled meeting pays for that meeting only. A Webex start names it by the series
/// id, or an occurrence of it (`{meeting}_I_{n}`); a Zoom start is keyed by the instance's
/// uuid, so it is matched by its `meeting_number` (Zoom's reusable meeting id, the one
/// scheduling returned).
pub fn binds(
    bound: &Binding,
    platform: PlatformKind,
    meeting_id: &str,
    meeting_number: Option<&str>,
) -> bool {
    let Binding::Meeting { platform: kind, meeting_id: bound } = bound else { return true };
    *kind == platform
        && match platform {
            PlatformKind::Webex => {
                bound == meeting_id
                    || meeting_id
                        .strip_prefix(bound.as_str())
                        .is_some_and(|rest| rest.starts_with("_I_"))
            }
            PlatformKind::Zoom => meeting_number == Some(bound.as_str()),
        }
}

/// What a blocked host who never asked for an estimate is offered to pay, so that the message
/// can carry a pay link: an hour with one computer, which the pay page lets them change.
pub fn offered_plan() -> SessionPlan {
    SessionPlan::new(60, 1, 0).expect("an hour with one computer is within the limits")
}

/// What is known about a start when it is decided.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StartFacts {
    /// E-commerce and its pay-per-use feature are both on.
    pub pay_per_use: bool,
    /// The site exempted the host or the host's division (not looked up when pay-per-use is
    /// off).
    pub exempt: bool,
    /// What the host still owes from earlier sessions, if anything (not looked up when the
    /// start is [`free_regardless`]).
    pub outstanding: Option<Money>,
    /// The host's oldest authorised order not yet used for a start (not looked up when the
    /// start is [`free_regardless`]).
    pub authorisation: Option<OrderId>,
}

/// Whether a start is free whatever the host owes or has paid: pay-per-use is off, or the
/// host is exempt.
pub fn free_regardless(pay_per_use: bool, exempt: bool) -> bool {
    !pay_per_use || exempt
}

/// Why a start was stopped.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Block {
    Unpaid,
    Outstanding(Money),
}

impl Block {
    /// Stored with the session (the API's `blocked_reason`, always English).
    pub fn reason(&self) -> String {
        self.explain(Lang::En)
    }

    /// Why the start was stopped, in the host's language.
    pub fn explain(&self, lang: Lang) -> String {
        match self {
            Block::Unpaid => lang.text("block-unpaid"),
            Block::Outstanding(owed) => lang.text_with(
                "block-outstanding",
                &Args::new().str("owed", owed).str("currency", owed.currency()),
            ),
        }
    }

    /// The label of the button that pays what unblocks the host.
    pub fn pay_label(&self, lang: Lang) -> String {
        match self {
            Block::Unpaid => lang.text("pay-now"),
            Block::Outstanding(_) => lang.text("pay-balance"),
        }
    }
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum StartDecision {
    /// Pay-per-use does not apply (off, or the host is exempt).
    Free,
    /// The start uses this authorised order.
    Paid(OrderId),
    Blocked(Block),
}

impl StartDecision {
    /// As stored in `sessions.start_decision`.
    pub fn as_str(&self) -> &'static str {
        match self {
            StartDecision::Free => "free",
            StartDecision::Paid(_) => "paid",
            StartDecision::Blocked(_) => "blocked",
        }
    }
}

/// An outstanding balance blocks even a paid start: the host settles it first.
pub fn decide(facts: StartFacts) -> StartDecision {
    if free_regardless(facts.pay_per_use, facts.exempt) {
        return StartDecision::Free;
    }
    if let Some(owed) = facts.outstanding.filter(|m| !m.amount().is_zero()) {
        return StartDecision::Blocked(Block::Outstanding(owed));
    }
    match facts.authorisation {
        Some(order) => StartDecision::Paid(order),
        None => StartDecision::Blocked(Block::Unpaid),
    }
}

/// The effects of a blocked start, each under a key naming the meeting, so a replayed
/// `started` (or two instances deciding it) ends the meeting and tells the host once.
/// `running`: the meeting has not ended yet (late deliveries may decide an ended one).
/// `host` is told on every channel they can be reached on, with `pay`, the link to pay with.
pub fn blocked_effects(
    platform: PlatformKind,
    meeting_id: &str,
    block: &Block,
    running: bool,
    (channels, host): (Channels, &Person),
    pay: Link,
) -> Vec<(String, Effect)> {
    let mut effects = Vec::new();
    if running {
        effects.push((
            format!("end:{platform}:{meeting_id}"),
            Effect::EndMeeting(EndMeeting { platform, meeting_id: meeting_id.to_owned() }),
        ));
    }
    let lang = host.lang;
    let args = Args::new().str("platform", platform).str("reason", block.explain(lang));
    // A start heard of only after the meeting ended (deliveries out of order) ended nothing.
    let what = match running {
        true => lang.text_with("blocked-ended", &args),
        false => lang.text_with("blocked-late", &args),
    };
    let notice = Notice {
        subject: lang.text_with("blocked-subject", &args),
        text: format!("{what} {}", lang.text("blocked-next")),
        link: Some(pay),
    };
    effects.extend(reach::tell(
        channels,
        &format!("blocked:{platform}:{meeting_id}"),
        host,
        &notice,
    ));
    effects
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::money::Currency;

    fn facts() -> StartFacts {
        StartFacts { pay_per_use: true, exempt: false, outstanding: None, authorisation: None }
    }

    #[test]
    fn starts_are_decided_by_the_rules() {
        assert_eq!(decide(StartFacts { pay_per_use: false, ..facts() }), StartDecision::Free);
        assert_eq!(decide(StartFacts { exempt: true, ..facts() }), StartDecision::Free);
        assert_eq!(decide(facts()), StartDecision::Blocked(Block::Unpaid));
        let order = OrderId::random();
        let paid = StartFacts { authorisation: Some(order.clone()), ..facts() };
        assert_eq!(decide(paid.clone()), StartDecision::Paid(order));
        let owed = Money::parse_exact("1.50", Currency::USD).unwrap();
        let owing = StartFacts { outstanding: Some(owed), ..paid.clone() };
        assert_eq!(decide(owing), StartDecision::Blocked(Block::Outstanding(owed)));
        let nothing_owed = StartFacts { outstanding: Some(Money::zero(Currency::USD)), ..paid };
        assert!(matches!(decide(nothing_owed), StartDecision::Paid(_)));
    }

    fn meeting(platform: PlatformKind, id: &str) -> Binding {
        Binding::Meeting { platform, meeting_id: id.into() }
    }

    #[test]
    fn orders_bind_to_their_meeting_or_to_any() {
        use PlatformKind::{Webex, Zoom};
        let quote = Binding::Quote { message: "123".into() };
        assert!(binds(&quote, Webex, "m_I_1", None));
        assert!(binds(&quote, Zoom, "uuid==", Some("857")));
        assert!(binds(&meeting(Webex, "m"), Webex, "m", None));
        assert!(binds(&meeting(Webex, "m"), Webex, "m_I_204", None));
        assert!(!binds(&meeting(Webex, "m"), Webex, "mx", None));
        assert!(!binds(&meeting(Webex, "m"), Webex, "n", None));
        assert!(!binds(&meeting(Webex, "m"), Zoom, "m", Some("m")));
    }

    #[test]
    fn an_offer_made_at_a_blocked_start_pays_for_any_meeting_of_the_host() {
        let offer =
            Binding::BlockedStart { platform: PlatformKind::Webex, meeting_id: "m_I_2".into() };
        assert!(binds(&offer, PlatformKind::Webex, "m_I_3", None));
        assert!(binds(&offer, PlatformKind::Zoom, "uuid", Some("85746065432")));
        assert_eq!(offered_plan().person_minutes(), Ok(60));
    }

    #[test]
    fn zoom_orders_bind_to_the_meeting_number_not_the_instance() {
        use PlatformKind::{Webex, Zoom};
        let order = meeting(Zoom, "85746065432");
        assert!(binds(&order, Zoom, "tubFEWg9SAaVamwu6V0+kw==", Some("85746065432")));
        assert!(!binds(&order, Zoom, "tubFEWg9SAaVamwu6V0+kw==", Some("85746065433")));
        // A start whose number is not known cannot be told apart from another meeting's.
        assert!(!binds(&order, Zoom, "85746065432", None));
        assert!(!binds(&order, Webex, "85746065432", Some("85746065432")));
    }

    #[test]
    fn a_blocked_start_ends_the_meeting_and_tells_the_host_once() {
        let pay = Link { label: "Pay".into(), url: "https://x/pay/t".into() };
        let unlinked = Person {
            email: "host@example.com".parse().ok(),
            discord_user_id: None,
            lang: Lang::En,
            on_webex: false,
        };
        let blocked = |running, host: &Person| {
            let reach = (Channels::default(), host);
            blocked_effects(PlatformKind::Zoom, "u1", &Block::Unpaid, running, reach, pay.clone())
        };
        let effects = blocked(true, &unlinked);
        assert_eq!(effects.len(), 1);
        assert_eq!(effects[0].0, "end:zoom:u1");
        assert!(blocked(false, &unlinked).is_empty());
        // Heard of after it ended: nothing to end, and the host is not told it was ended.
        let host = Person { discord_user_id: Some(7), ..unlinked.clone() };
        let late = blocked(false, &host);
        let [(key, Effect::ChatMessage(m))] = late.as_slice() else { panic!("{late:?}") };
        assert_eq!(key, "blocked:zoom:u1");
        assert!(
            m.text.contains("had already ended") && !m.text.contains("was ended"),
            "{}",
            m.text
        );
        let effects = blocked(true, &host);
        assert_eq!(effects[1].0, "blocked:zoom:u1");
        let Effect::ChatMessage(m) = &effects[1].1 else { panic!("{effects:?}") };
        assert!(m.text.contains("without a paid authorisation"), "{}", m.text);
        assert_eq!((m.discord_user_id, m.link.as_ref()), (7, Some(&pay)));

        let effects = blocked(true, &Person { lang: Lang::from_locale("no"), ..host });
        let Effect::ChatMessage(m) = &effects[1].1 else { panic!("{effects:?}") };
        assert!(m.text.contains("uten en betalt autorisasjon"), "{}", m.text);
    }
}
