//! Fee-based training: sessions scheduled through tollbooth, the fee some of them carry, and
//! attendees' registrations. The rules here decide, when a payment arrives, whether it buys a
//! seat or is given back; the store applies the decision in the transaction that recorded
//! the payment, so a payment is never lost between the two.

use std::fmt;
use std::str::FromStr;

use chrono::{DateTime, Duration, SubsecRound, Utc};
use rand::RngCore;
use serde::Serialize;

use crate::email::Email;
use crate::lang::Lang;
use crate::messages::Args;
use crate::money::Money;
use crate::outbox::Effect;
use crate::payments::order::OrderId;
use crate::platform::PlatformKind;
use crate::platform::control::Attendee;
use crate::reach::{self, Channels, Notice, Person};

/// What attendees pay to register, and the limits on registering.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Fee {
    pub amount: Money,
    /// The most paid registrations, when the host set one.
    pub capacity: Option<u32>,
    /// When registration closes; without one, it closes when the session ends.
    pub deadline: Option<DateTime<Utc>>,
}

/// A meeting scheduled through tollbooth (`/session schedule`), with a fee or without.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct ScheduledSession {
    pub platform: PlatformKind,
    pub meeting_id: String,
    pub title: String,
    pub host_email: String,
    pub starts_at: DateTime<Utc>,
    pub minutes: u32,
    pub join_url: String,
    pub start_url: String,
    pub fee: Option<Fee>,
    pub cancelled_at: Option<DateTime<Utc>>,
}

/// Why a registration's payment is refunded.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum GivenBack {
    /// The seat could not be sold (`None` for a reason stored by an older version).
    Refused(Option<Closed>),
    /// The registration was paid already, by another payment.
    Second,
}

/// Why a paid registration cannot have its seat.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Closed {
    NoFee,
    Cancelled,
    DeadlinePassed,
    Full,
    /// The platform refused to register the attendee (after the payment).
    PlatformRefused,
}

impl Closed {
    const ALL: [Closed; 5] = [
        Closed::NoFee,
        Closed::Cancelled,
        Closed::DeadlinePassed,
        Closed::Full,
        Closed::PlatformRefused,
    ];

    /// As stored with a refused registration.
    pub fn reason(self) -> String {
        self.said(Lang::En)
    }

    /// The reason [`Closed::reason`] stored, read back so that it can be said in any language.
    pub fn from_reason(reason: &str) -> Option<Closed> {
        Closed::ALL.into_iter().find(|c| c.reason() == reason)
    }

    /// As told to the attendee.
    pub fn said(self, lang: Lang) -> String {
        match self {
            Closed::NoFee => lang.text("closed-no-fee"),
            Closed::Cancelled => lang.text("closed-cancelled"),
            Closed::DeadlinePassed => lang.text("closed-deadline"),
            Closed::Full => lang.text("closed-full"),
            Closed::PlatformRefused => lang.text("closed-platform-refused"),
        }
    }
}

impl ScheduledSession {
    /// `webex/…` or `zoom/…`: how orders and messages name the session.
    pub fn key(&self) -> String {
        format!("{}/{}", self.platform, self.meeting_id)
    }

    pub fn ends_at(&self) -> DateTime<Utc> {
        self.starts_at + Duration::minutes(i64::from(self.minutes))
    }

    /// The fee, when a seat can be sold at `now` with `taken` seats already paid for.
    pub fn open_for(&self, taken: u32, now: DateTime<Utc>) -> Result<&Fee, Closed> {
        self.open_for_seats(taken, 1, now)
    }

    /// The fee, when `seats` more can be sold at `now` with `taken` already held: a group
    /// fits whole or not at all.
    pub fn open_for_seats(
        &self,
        taken: u32,
        seats: u32,
        now: DateTime<Utc>,
    ) -> Result<&Fee, Closed> {
        let fee = self.fee.as_ref().ok_or(Closed::NoFee)?;
        if self.cancelled_at.is_some() {
            return Err(Closed::Cancelled);
        }
        if now > fee.deadline.unwrap_or_else(|| self.ends_at()) {
            return Err(Closed::DeadlinePassed);
        }
        if fee.capacity.is_some_and(|capacity| taken.saturating_add(seats) > capacity) {
            return Err(Closed::Full);
        }
        Ok(fee)
    }
}

/// Checks a registration deadline a host sets: one already past would close registration at
/// once, and one after the session's end would sell seats nobody can use.
pub fn check_deadline(
    deadline: DateTime<Utc>,
    session_ends: DateTime<Utc>,
    now: DateTime<Utc>,
    lang: Lang,
) -> Result<(), String> {
    if deadline <= now {
        return Err(lang.text("option-in-future"));
    }
    if deadline > session_ends {
        return Err(lang.text("deadline-after-end"));
    }
    Ok(())
}

/// Why a session's fee can no longer change: attendees were quoted the one it has.
pub fn fee_fixed_reason(session_key: &str, lang: Lang) -> String {
    lang.text_with("fee-fixed", &Args::new().str("session", session_key))
}

/// What is wrong with what an attendee typed.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum BadAttendee {
    Names,
    Email(String),
}

impl BadAttendee {
    /// As told to the attendee.
    pub fn said(&self, lang: Lang) -> String {
        match self {
            BadAttendee::Names => lang.text("attendee-names"),
            BadAttendee::Email(email) => {
                lang.text_with("not-an-email", &Args::new().str("email", email))
            }
        }
    }
}

/// Checks what an attendee typed into what the platforms' registrant forms need.
pub fn attendee(first_name: &str, last_name: &str, email: &str) -> Result<Attendee, BadAttendee> {
    let (first_name, last_name, email) = (first_name.trim(), last_name.trim(), email.trim());
    if first_name.is_empty() || last_name.is_empty() {
        return Err(BadAttendee::Names);
    }
    // In its normal form, as stored and compared: the platforms know registrants by an
    // address without regard to case.
    let email: Email = email.parse().map_err(|_| BadAttendee::Email(email.to_owned()))?;
    Ok(Attendee {
        first_name: first_name.to_owned(),
        last_name: last_name.to_owned(),
        email: email.to_string(),
    })
}

/// A registration's identifier: `reg_` and 24 hex digits.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize)]
#[serde(transparent)]
pub struct RegistrationId(String);

impl RegistrationId {
    pub fn random() -> RegistrationId {
        let mut bytes = [0u8; 12];
        rand::rng().fill_bytes(&mut bytes);
        RegistrationId(format!("reg_{}", hex::encode(bytes)))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl FromStr for RegistrationId {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let ok = s.strip_prefix("reg_").is_some_and(|hex| {
            hex.len() == 24 && hex.bytes().all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
        });
        if ok {
            Ok(RegistrationId(s.to_owned()))
        } else {
            Err(format!("`{s}` is not a registration id"))
        }
    }
}

impl fmt::Display for RegistrationId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// Where a registration is.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum RegistrationState {
    /// The order is made and the pay link given; nothing paid yet (a declined payment too).
    AwaitingPayment,
    /// Paid, with a seat: the attendee is being added to the platform.
    Paid,
    /// An approved registrant on the platform; the join link was sent.
    Approved,
    /// The payment could not be honoured, or the session was cancelled: it is given back.
    Refunded,
    /// The session was cancelled before anything was paid.
    Cancelled,
}

impl RegistrationState {
    pub fn as_str(self) -> &'static str {
        match self {
            RegistrationState::AwaitingPayment => "awaiting_payment",
            RegistrationState::Paid => "paid",
            RegistrationState::Approved => "approved",
            RegistrationState::Refunded => "refunded",
            RegistrationState::Cancelled => "cancelled",
        }
    }

    /// Holds a seat: counted against the capacity.
    pub fn holds_seat(self) -> bool {
        matches!(self, RegistrationState::Paid | RegistrationState::Approved)
    }

    /// Still open: not given back or cancelled. An attendee has one open registration per
    /// session, and an e-mail address is on one open registration per session.
    pub fn is_open(self) -> bool {
        self.holds_seat() || self == RegistrationState::AwaitingPayment
    }

    pub const ALL: [RegistrationState; 5] = [
        RegistrationState::AwaitingPayment,
        RegistrationState::Paid,
        RegistrationState::Approved,
        RegistrationState::Refunded,
        RegistrationState::Cancelled,
    ];

    /// The states that satisfy `rule`, for queries that select by it (bound as values).
    pub fn all_where(rule: fn(RegistrationState) -> bool) -> Vec<RegistrationState> {
        RegistrationState::ALL.into_iter().filter(|s| rule(*s)).collect()
    }
}

impl FromStr for RegistrationState {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        RegistrationState::ALL
            .into_iter()
            .find(|state| state.as_str() == s)
            .ok_or_else(|| format!("unknown registration state `{s}`"))
    }
}

/// One attendee's registration for one session.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Registration {
    pub id: RegistrationId,
    pub platform: PlatformKind,
    pub meeting_id: String,
    pub discord_user_id: u64,
    pub attendee: Attendee,
    pub order_id: OrderId,
    pub state: RegistrationState,
    /// The payment that bought the seat (or was refused).
    pub payment_id: Option<String>,
    pub reason: Option<String>,
    pub registrant_id: Option<String>,
    pub join_url: Option<String>,
    /// The attendee's language, for the messages sent to them later.
    pub lang: Lang,
    pub created_at: DateTime<Utc>,
    /// On the session's waiting list since (the order of asking); unpaid registrations only.
    pub waiting_since: Option<DateTime<Utc>>,
    /// Until when a freed seat is held for them, once it was offered.
    pub offer_until: Option<DateTime<Utc>>,
    /// The seats it holds (or asks for): 1, or a group's seats less those refunded alone.
    pub seats: u32,
}

impl Registration {
    pub fn new(
        session: &ScheduledSession,
        discord_user_id: u64,
        attendee: Attendee,
        order_id: OrderId,
    ) -> Registration {
        Registration {
            id: RegistrationId::random(),
            platform: session.platform,
            meeting_id: session.meeting_id.clone(),
            discord_user_id,
            attendee,
            order_id,
            state: RegistrationState::AwaitingPayment,
            payment_id: None,
            reason: None,
            registrant_id: None,
            join_url: None,
            lang: Lang::En,
            created_at: Utc::now().trunc_subsecs(3),
            waiting_since: None,
            offer_until: None,
            seats: 1,
        }
    }

    /// The same registration, for a group of `seats`.
    pub fn with_seats(mut self, seats: u32) -> Registration {
        self.seats = seats;
        self
    }

    /// Whether `payment` of this registration is being given back, and why: what the payer
    /// is told when the gateway sends them back.
    pub fn gives_back(&self, payment: &str) -> Option<GivenBack> {
        match self.payment_id.as_deref() {
            Some(paid) if paid != payment && self.state.holds_seat() => Some(GivenBack::Second),
            // Refused, whichever payment it is: the seat can be had with none of them.
            Some(_) if self.state == RegistrationState::Refunded => {
                Some(GivenBack::Refused(self.reason.as_deref().and_then(Closed::from_reason)))
            }
            _ => None,
        }
    }

    /// The same registration, with messages to the attendee written in `lang`.
    pub fn in_language(mut self, lang: Lang) -> Registration {
        self.lang = lang;
        self
    }

    /// The attendee as a person to tell: their Discord member, and their address.
    pub fn person(&self) -> Person {
        Person {
            email: self.attendee.email.parse().ok(),
            discord_user_id: Some(self.discord_user_id),
            lang: self.lang,
            on_webex: false,
        }
    }

    /// Tells the attendee `text` about their refund for `title` under `key`.
    fn told_refund(
        &self,
        channels: Channels,
        key: String,
        title: &str,
        text: String,
    ) -> Vec<(String, Effect)> {
        let subject =
            self.lang.text_with("registration-refund-subject", &Args::new().str("title", title));
        reach::tell(channels, &key, &self.person(), &Notice { subject, text, link: None })
    }
}

/// What a successful payment for a registration does.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum OnPaid {
    /// A seat: the attendee is added to the platform and approved.
    Admit,
    /// No seat can be had: the payment is given back.
    Refuse(Closed),
    /// The registration was settled by another payment (the attendee paid twice): this one is
    /// given back.
    RefundSecond,
    /// The same payment, seen again: done already.
    Nothing,
}

/// Decides what `payment` does for `registration`, with `taken` seats already paid for.
pub fn on_paid(
    registration: &Registration,
    payment: &str,
    session: &ScheduledSession,
    taken: u32,
    now: DateTime<Utc>,
) -> OnPaid {
    match registration.state {
        RegistrationState::AwaitingPayment | RegistrationState::Cancelled => {
            match session.open_for_seats(taken, registration.seats, now) {
                Ok(_) => OnPaid::Admit,
                Err(closed) => OnPaid::Refuse(closed),
            }
        }
        RegistrationState::Paid | RegistrationState::Approved | RegistrationState::Refunded => {
            if registration.payment_id.as_deref() == Some(payment) {
                OnPaid::Nothing
            } else {
                OnPaid::RefundSecond
            }
        }
    }
}

/// The outbox effects of a decision, each under a key naming the registration (and payment),
/// so a replayed callback enqueues nothing twice.
pub fn effects(
    decision: &OnPaid,
    registration: &Registration,
    session: &ScheduledSession,
    payment: &str,
    channels: Channels,
) -> Vec<(String, Effect)> {
    let id = &registration.id;
    let refund = || Effect::Refund(crate::outbox::Refund { payment: payment.to_owned() });
    let title = &session.title;
    match decision {
        OnPaid::Admit => vec![(
            format!("admit:{id}"),
            Effect::Admit(crate::outbox::Admit {
                registration: id.to_string(),
                platform: session.platform,
                meeting_id: session.meeting_id.clone(),
                host_email: session.host_email.clone(),
                first_name: registration.attendee.first_name.clone(),
                last_name: registration.attendee.last_name.clone(),
                email: registration.attendee.email.clone(),
                seat: None,
            }),
        )],
        OnPaid::Refuse(closed) => {
            let args = Args::new().str("title", title).str("why", closed.said(registration.lang));
            let text = registration.lang.text_with("registration-refused", &args);
            let mut effects = vec![(format!("refund:{payment}"), refund())];
            effects.extend(registration.told_refund(
                channels,
                format!("refused:{id}"),
                title,
                text,
            ));
            effects
        }
        OnPaid::RefundSecond => {
            let args = Args::new().str("title", title);
            let text = registration.lang.text_with("registration-paid-twice", &args);
            let mut effects = vec![(format!("refund:{payment}"), refund())];
            effects.extend(registration.told_refund(
                channels,
                format!("second:{payment}"),
                title,
                text,
            ));
            effects
        }
        OnPaid::Nothing => Vec::new(),
    }
}

/// What cancelling a session tells an attendee who had paid (their refund is queued with it).
pub fn cancelled_effects(
    registration: &Registration,
    session: &ScheduledSession,
    channels: Channels,
) -> Vec<(String, Effect)> {
    let title = &session.title;
    let key = format!("cancelled:{}", registration.id);
    let args = Args::new().str("title", title);
    // Admitted by a code that covered the whole fee: nothing to refund, only the news.
    if registration.payment_id.is_none() {
        let lang = registration.lang;
        let subject = lang.text_with("registration-cancelled-subject", &args);
        let text = lang.text_with("registration-cancelled-free", &args);
        return reach::tell(
            channels,
            &key,
            &registration.person(),
            &Notice { subject, text, link: None },
        );
    }
    let text = registration.lang.text_with("registration-cancelled", &args);
    registration.told_refund(channels, key, title, text)
}

/// The notice that completes a registration: the join link and a receipt.
pub fn joined_notice(
    registration: &Registration,
    session: &ScheduledSession,
    fee: &Money,
    payment_reference: Option<&str>,
) -> Notice {
    let join_url = registration.join_url.as_deref().unwrap_or(&session.join_url);
    let (title, at) = (&session.title, crate::time::markup(session.starts_at));
    let (id, who) = (
        &registration.id,
        format!("{} {}", registration.attendee.first_name, registration.attendee.last_name),
    );
    let (cur, reference) = (fee.currency(), payment_reference.unwrap_or("-"));
    let webex = session.platform == PlatformKind::Webex;
    let lang = registration.lang;
    let mut text =
        lang.text_with("registration-joined", &Args::new().str("title", title).str("at", at));
    if webex {
        text.push(' ');
        text.push_str(&lang.text("registration-joined-webex"));
    }
    let receipt = Args::new()
        .str("id", id)
        .str("who", who)
        .str("fee", fee)
        .str("currency", cur)
        .str("reference", reference);
    text.push('\n');
    text.push_str(&lang.text_with("registration-receipt", &receipt));
    Notice {
        subject: lang.text_with("registration-joined-subject", &Args::new().str("title", title)),
        text,
        link: Some(crate::outbox::Link {
            label: registration.lang.text("button-join"),
            url: join_url.to_owned(),
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    use crate::money::Currency;

    fn paid(state: RegistrationState, payment: &str, reason: Option<String>) -> Registration {
        let attendee = attendee("Ada", "Lovelace", "ada@example.com").unwrap();
        let order = "ord_0123456789abcdef01234567".parse().unwrap();
        let mut r = Registration::new(&session(None), 7, attendee, order);
        (r.state, r.payment_id, r.reason) = (state, Some(payment.into()), reason);
        r
    }

    #[test]
    fn a_refused_payment_says_why_and_a_second_one_that_it_was_paid_already() {
        let full = paid(RegistrationState::Refunded, "o1-p1", Some(Closed::Full.reason()));
        assert_eq!(full.gives_back("o1-p1"), Some(GivenBack::Refused(Some(Closed::Full))));
        assert_eq!(full.gives_back("o1-p2"), Some(GivenBack::Refused(Some(Closed::Full))));
        let approved = paid(RegistrationState::Approved, "o1-p1", None);
        assert_eq!(approved.gives_back("o1-p1"), None);
        assert_eq!(approved.gives_back("o1-p2"), Some(GivenBack::Second));
        let odd = paid(RegistrationState::Refunded, "o1-p1", Some("gone".into()));
        assert_eq!(odd.gives_back("o1-p1"), Some(GivenBack::Refused(None)));
    }

    fn session(capacity: Option<u32>) -> ScheduledSession {
        ScheduledSession {
            platform: PlatformKind::Zoom,
            meeting_id: "85746065432".into(),
            title: "Rust for payments".into(),
            host_email: "host@example.com".into(),
            starts_at: "2026-12-01T14:00:00Z".parse().unwrap(),
            minutes: 60,
            join_url: "https://zoom.us/j/85746065432".into(),
            start_url: "https://zoom.us/s/85746065432".into(),
            fee: Some(Fee {
                amount: Money::parse_exact("25.00", Currency::USD).unwrap(),
                capacity,
                deadline: None,
            }),
            cancelled_at: None,
        }
    }

    fn registration(s: &ScheduledSession) -> Registration {
        let a = attendee("Ada", "Lovelace", "ada@example.com").unwrap();
        Registration::new(s, 7, a, OrderId::random())
    }

    #[test]
    fn seats_are_sold_until_full_closed_or_cancelled() {
        let s = session(Some(2));
        let before = s.starts_at - Duration::days(1);
        assert!(s.open_for(1, before).is_ok());
        assert_eq!(s.open_for(2, before), Err(Closed::Full));
        assert_eq!(s.open_for(0, s.ends_at() + Duration::seconds(1)), Err(Closed::DeadlinePassed));
        let mut deadline = session(None);
        deadline.fee.as_mut().unwrap().deadline = Some(before);
        assert_eq!(
            deadline.open_for(0, before + Duration::minutes(1)),
            Err(Closed::DeadlinePassed)
        );
        assert!(session(None).open_for(10_000, before).is_ok());
        let cancelled = ScheduledSession { cancelled_at: Some(before), ..session(None) };
        assert_eq!(cancelled.open_for(0, before), Err(Closed::Cancelled));
        let free = ScheduledSession { fee: None, ..session(None) };
        assert_eq!(free.open_for(0, before), Err(Closed::NoFee));
    }

    #[test]
    fn a_payment_admits_once_and_a_second_one_is_given_back() {
        let s = session(Some(1));
        let now = s.starts_at - Duration::hours(1);
        let mut r = registration(&s);
        assert_eq!(on_paid(&r, "p1", &s, 0, now), OnPaid::Admit);
        assert_eq!(on_paid(&r, "p1", &s, 1, now), OnPaid::Refuse(Closed::Full));
        let group = registration(&session(Some(3))).with_seats(3);
        assert_eq!(on_paid(&group, "p1", &session(Some(3)), 0, now), OnPaid::Admit);
        let refused = on_paid(&group, "p1", &session(Some(3)), 1, now);
        assert_eq!(refused, OnPaid::Refuse(Closed::Full), "a group fits whole or not at all");
        r.state = RegistrationState::Paid;
        r.payment_id = Some("p1".into());
        assert_eq!(on_paid(&r, "p1", &s, 1, now), OnPaid::Nothing);
        assert_eq!(on_paid(&r, "p2", &s, 1, now), OnPaid::RefundSecond);
        let effects = effects(&OnPaid::RefundSecond, &r, &s, "p2", Channels::default());
        assert_eq!(
            effects.iter().map(|e| e.0.as_str()).collect::<Vec<_>>(),
            ["refund:p2", "second:p2"]
        );
    }

    #[test]
    fn attendees_are_told_in_their_language() {
        let s = session(Some(1));
        let r = registration(&s).in_language(Lang::from_locale("no"));
        let fee = Money::parse_exact("25.00", Currency::USD).unwrap();
        let joined = joined_notice(&r, &s, &fee, Some("VXYZ01234567"));
        assert!(
            joined.text.starts_with("Du er registrert for **Rust for payments**"),
            "{}",
            joined.text
        );
        assert!(joined.text.contains("25.00 USD, betalingsreferanse VXYZ01234567"));
        assert_eq!(joined.link.unwrap().label, "Bli med");
        let refused = effects(&OnPaid::Refuse(Closed::Full), &r, &s, "p1", Channels::default());
        let Effect::ChatMessage(told) = &refused[1].1 else { panic!("{refused:?}") };
        assert!(told.text.contains("økten er full"), "{}", told.text);
        let english = joined_notice(&registration(&s), &s, &fee, None);
        assert!(english.text.contains("payment reference -"), "{}", english.text);
    }

    #[test]
    fn a_deadline_is_ahead_and_not_after_the_session_ends() {
        let s = session(None);
        let now = s.starts_at - Duration::days(1);
        let check = |deadline| check_deadline(deadline, s.ends_at(), now, Lang::En);
        assert_eq!(check(s.starts_at), Ok(()));
        assert_eq!(check(s.ends_at()), Ok(()));
        assert!(check(now).is_err(), "not in the past");
        let late = s.ends_at() + Duration::minutes(1);
        assert_eq!(check(late), Err("must not be after the session ends".into()));
    }

    #[test]
    fn attendees_need_names_and_an_address() {
        assert!(attendee("Ada", "Lovelace", " ada@example.com ").is_ok());
        assert!(
            attendee("", "Lovelace", "ada@example.com")
                .unwrap_err()
                .said(Lang::En)
                .contains("name")
        );
        for bad in ["ada", "ada@", "@example.com", "ada@example", "a da@example.com"] {
            assert!(attendee("Ada", "L", bad).is_err(), "{bad}");
        }
        assert!("reg_0123456789abcdef01234567".parse::<RegistrationId>().is_ok());
        assert!("reg_x".parse::<RegistrationId>().is_err());
    }
}
