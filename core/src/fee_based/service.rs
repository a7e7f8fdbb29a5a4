//! Fee-based workflows: registering (`/register`), what a registration's payment buys, what the
//! platform's answer about the registrant does, and cancelling a session. Each runs on the transactional port, in the
//! payment's transaction or one of its own, so that a registration's new state and the effects
//! it queues (join link, refund, messages, deleting the meeting) are stored together, once.

use async_trait::async_trait;
use chrono::{DateTime, Utc};

use crate::fee_based::registration::{
    self, BadAttendee, Closed, OnPaid, Registration, RegistrationId, RegistrationState,
    ScheduledSession,
};
use crate::fee_based::waiting::{self, Line};
use crate::lang::Lang;
use crate::money::Money;
use crate::outbox::{CancelMeeting, Effect, Refund};
use crate::payments::order::Order;
use crate::payments::paylink::Links;
use crate::payments::payment::{Payment, PaymentId};
use crate::payments::service::WhenPaid;
use crate::platform::PlatformKind;
use crate::platform::control::Registrant;
use crate::reach::{self, Channels};
use crate::store::{Registered, Store, StoreError, Tx};

/// What an attendee asked `/register` for: the session as they named it, and who attends.
#[derive(Clone, Debug)]
pub struct Asking {
    /// `webex/…`, `zoom/…`, or a meeting id that only one platform has.
    pub session: String,
    pub first_name: String,
    pub last_name: String,
    pub email: String,
    pub discord_user_id: u64,
    pub lang: Lang,
}

/// What `/register` decided, for the handler to say.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Registering {
    /// The site has registration with a fee turned off.
    Off,
    /// No session with a fee has that id.
    Unknown {
        named: String,
    },
    /// The meeting id is on both platforms.
    Ambiguous {
        named: String,
        meeting: String,
    },
    BadAttendee(BadAttendee),
    /// No seat can be sold (no fee, cancelled, past the deadline, full).
    Closed {
        session: ScheduledSession,
        why: Closed,
    },
    /// Another attendee's open registration for the session has this address.
    EmailTaken {
        session: ScheduledSession,
        email: String,
    },
    /// The attendee holds a seat (or was admitted) already.
    Already {
        session: ScheduledSession,
    },
    /// The session is full: the attendee's registration may join its waiting list.
    Full {
        session: ScheduledSession,
        registration: Registration,
    },
    /// The attendee is on the session's waiting list, at `place` (1 is next).
    InLine {
        session: ScheduledSession,
        place: u32,
    },
    /// The order to pay: a new one, or the attendee's open one again; `held_until` when it is
    /// a seat offered from the waiting list (the pay link lasts as long).
    Pay {
        session: ScheduledSession,
        registration: Registration,
        fee: Money,
        held_until: Option<DateTime<Utc>>,
    },
}

/// The session an attendee names, if registration is on and it has a fee; else what to say.
pub async fn session_to_register(
    store: &dyn Store,
    named: &str,
) -> Result<Result<ScheduledSession, Registering>, StoreError> {
    let site = store.site_settings().await?;
    if !(site.ecommerce_enabled && site.fee_based_enabled) {
        return Ok(Err(Registering::Off));
    }
    let (platform, meeting) = match named.split_once('/') {
        Some((p, m)) if p.parse::<PlatformKind>().is_ok() => (p.parse().ok(), m),
        _ => (None, named),
    };
    let mut found = store.scheduled_by_meeting(meeting).await?;
    found.retain(|s| platform.is_none_or(|p| s.platform == p) && s.fee.is_some());
    Ok(match found.len() {
        1 => Ok(found.remove(0)),
        0 => Err(Registering::Unknown { named: named.to_owned() }),
        _ => Err(Registering::Ambiguous { named: named.to_owned(), meeting: meeting.to_owned() }),
    })
}

/// `/register`: checks the attendee and the session, and makes (or finds) the order to pay.
pub async fn register(
    store: &dyn Store,
    asking: &Asking,
    now: DateTime<Utc>,
) -> Result<Registering, StoreError> {
    let session = match session_to_register(store, &asking.session).await? {
        Ok(session) => session,
        Err(refused) => return Ok(refused),
    };
    let attendee =
        match registration::attendee(&asking.first_name, &asking.last_name, &asking.email) {
            Ok(attendee) => attendee,
            Err(bad) => return Ok(Registering::BadAttendee(bad)),
        };
    let taken = store.seats_taken(session.platform, &session.meeting_id, now, None).await?;
    let open = match session.open_for(taken, now) {
        Ok(fee) => Some(fee.amount),
        // A full session still takes registrations, for its waiting list.
        Err(Closed::Full) => None,
        Err(why) => return Ok(Registering::Closed { session, why }),
    };
    let Some(fee) = session.fee.as_ref().map(|f| f.amount) else {
        return Ok(Registering::Closed { session, why: Closed::NoFee });
    };
    let order = Order::for_registration(session.key(), attendee.email.clone(), fee);
    let new = Registration::new(&session, asking.discord_user_id, attendee, order.id.clone())
        .in_language(asking.lang);
    let registration = match store.register(&new, &order).await {
        Ok(Registered::New(r) | Registered::Existing(r)) => r,
        Err(StoreError::EmailTaken { email, .. }) => {
            return Ok(Registering::EmailTaken { session, email });
        }
        Err(e) => return Err(e),
    };
    if registration.state != RegistrationState::AwaitingPayment {
        return Ok(Registering::Already { session });
    }
    Ok(match (waiting::line(&registration, now), open) {
        (Line::Offered { until }, _) => {
            Registering::Pay { session, registration, fee, held_until: Some(until) }
        }
        (Line::Waiting, _) => {
            let place = store.place_in_line(&registration).await?;
            Registering::InLine { session, place }
        }
        (Line::Out | Line::Lapsed, Some(_)) => {
            Registering::Pay { session, registration, fee, held_until: None }
        }
        (Line::Out | Line::Lapsed, None) => Registering::Full { session, registration },
    })
}

/// What the waiting list needs to offer a freed seat: how long it is held, the signed pay
/// links, and the channels beyond Discord that people are told on.
#[derive(Clone, Debug)]
pub struct Offers {
    pub hours: i64,
    pub links: Links,
    pub reach: Channels,
}

/// A seat of the session may have been freed (a paid registration refunded or cancelled, an
/// offer run out or turned down): each seat free at `now` is offered to the next on the
/// waiting list, held for them for `offers.hours` with a pay link told in chat and by e-mail.
/// Call it in the transaction that frees the seat, so that the seat and its offer are one
/// decision; it takes the session's lock. A cancelled session offers nothing. Returns how many
/// seats were offered.
pub async fn seat_freed(
    tx: &mut dyn Tx,
    platform: PlatformKind,
    meeting_id: &str,
    now: DateTime<Utc>,
    offers: &Offers,
) -> Result<u32, StoreError> {
    let session = tx.lock_scheduled(platform, meeting_id).await?.ok_or_else(no_session)?;
    let Some(fee) = session.fee.as_ref().map(|f| f.amount) else { return Ok(0) };
    let mut held = tx.seats_held(platform, meeting_id, now, None).await?;
    let mut offered = 0;
    while session.open_for(held, now).is_ok() {
        let Some(next) = tx.first_in_line(platform, meeting_id).await? else { break };
        let until = waiting::offer_until(&session, now, offers.hours);
        tx.offer_seat(&next.id, until).await?;
        let pay = offers.links.pay_until(&next.order_id, until, next.lang);
        let notice = waiting::offer_notice(&next, &session, &fee, until, &pay);
        // One offer per stay in line: joining again later is a new stay, with a new key.
        let since = next.waiting_since.map_or(0, |t| t.timestamp_millis());
        let key = format!("offer:{}:{since}", next.id);
        for (key, effect) in reach::tell(offers.reach, &key, &next.person(), &notice) {
            tx.enqueue(&key, &effect).await?;
        }
        tracing::info!(registration = %next.id, %until, "seat offered from the waiting list");
        metrics::counter!("waiting_list_offers_total").increment(1);
        (held, offered) = (held + 1, offered + 1);
    }
    Ok(offered)
}

/// Passes on the offers that ran out by `now`: each leaves the line, is told, and its seat is
/// offered to the next. Decided under the session's lock on what the registration is then, so
/// that two instances sweeping at once, or a payment arriving at the same moment, pass each
/// offer on once. Returns how many were passed on.
pub async fn expire_offers(
    store: &dyn Store,
    offers: &Offers,
    now: DateTime<Utc>,
) -> Result<usize, StoreError> {
    let mut passed = 0;
    for id in store.expired_offers(now, SWEEP_BATCH).await? {
        let mut tx = store.begin().await?;
        let Some(reg) = tx.registration(&id).await? else { continue };
        let session =
            tx.lock_scheduled(reg.platform, &reg.meeting_id).await?.ok_or_else(no_session)?;
        // Read again under the lock: another sweep or the payment may have been first.
        let Some(reg) = tx.registration(&id).await? else { continue };
        if waiting::line(&reg, now) != Line::Lapsed {
            continue;
        }
        tx.leave_line(&id).await?;
        let notice = waiting::lapsed_notice(&reg, &session);
        let since = reg.waiting_since.map_or(0, |t| t.timestamp_millis());
        let key = format!("lapsed:{id}:{since}");
        for (key, effect) in reach::tell(offers.reach, &key, &reg.person(), &notice) {
            tx.enqueue(&key, &effect).await?;
        }
        seat_freed(tx.as_mut(), reg.platform, &reg.meeting_id, now, offers).await?;
        tx.commit().await?;
        passed += 1;
    }
    Ok(passed)
}

/// How many run-out offers one sweep passes on; the next sweep takes the rest.
const SWEEP_BATCH: u32 = 100;

/// The attendee `user` puts their registration on its session's waiting list (the button
/// under a *full* answer). A seat free by now is offered at once. Says where they stand, or
/// the pay link when they were offered a seat.
pub async fn join_waiting_list(
    store: &dyn Store,
    id: &RegistrationId,
    user: u64,
    now: DateTime<Utc>,
    offers: &Offers,
) -> Result<Option<Registering>, StoreError> {
    let mut tx = store.begin().await?;
    let Some(reg) = tx.registration(id).await?.filter(|r| r.discord_user_id == user) else {
        return Ok(None);
    };
    let session = tx.lock_scheduled(reg.platform, &reg.meeting_id).await?.ok_or_else(no_session)?;
    let reg = tx.registration(id).await?.ok_or_else(|| StoreError::NotFound(id.to_string()))?;
    if reg.state != RegistrationState::AwaitingPayment {
        return Ok(Some(Registering::Already { session }));
    }
    if let Err(why) = session.open_for(0, now) {
        return Ok(Some(Registering::Closed { session, why }));
    }
    if matches!(waiting::line(&reg, now), Line::Out | Line::Lapsed) {
        tx.stand_in_line(id, now).await?;
        seat_freed(tx.as_mut(), reg.platform, &reg.meeting_id, now, offers).await?;
    }
    let reg = tx.registration(id).await?.ok_or_else(|| StoreError::NotFound(id.to_string()))?;
    let answer = match waiting::line(&reg, now) {
        Line::Offered { until } => {
            let fee = session.fee.as_ref().map(|f| f.amount).ok_or_else(no_session)?;
            Registering::Pay { session, registration: reg, fee, held_until: Some(until) }
        }
        _ => {
            let place = tx.place_in_line(&reg).await?;
            Registering::InLine { session, place }
        }
    };
    tx.commit().await?;
    Ok(Some(answer))
}

/// What leaving a waiting list did.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Left {
    /// Off the list of the session with this title; a seat held for them went to the next.
    Done { title: String },
    /// Not on a list (any more), or not theirs.
    NotInLine,
}

/// The attendee `user` leaves the waiting list their registration is on: it is closed, and a
/// seat offered to them goes to the next in line.
pub async fn leave_waiting_list(
    store: &dyn Store,
    id: &RegistrationId,
    user: u64,
    now: DateTime<Utc>,
    offers: &Offers,
) -> Result<Left, StoreError> {
    let mut tx = store.begin().await?;
    let Some(reg) = tx.registration(id).await?.filter(|r| r.discord_user_id == user) else {
        return Ok(Left::NotInLine);
    };
    let session = tx.lock_scheduled(reg.platform, &reg.meeting_id).await?.ok_or_else(no_session)?;
    let reg = tx.registration(id).await?.ok_or_else(|| StoreError::NotFound(id.to_string()))?;
    if waiting::line(&reg, now) == Line::Out {
        return Ok(Left::NotInLine);
    }
    let why = Lang::En.text("left-waiting-list");
    tx.set_registration_state(id, RegistrationState::Cancelled, None, Some(&why)).await?;
    seat_freed(tx.as_mut(), reg.platform, &reg.meeting_id, now, offers).await?;
    tx.commit().await?;
    Ok(Left::Done { title: session.title })
}

/// A registration's payment decides whether it buys a seat: counted under the session's lock,
/// so that concurrent payers never exceed the capacity; a payment that cannot be honoured is
/// refunded. Seats offered from the waiting list and not run out count as taken, so a payment
/// after its own offer ran out is refunded unless a seat is free.
pub struct SeatOnPayment {
    /// The channels beyond Discord that attendees are told of refunds on.
    pub reach: Channels,
}

#[async_trait]
impl WhenPaid for SeatOnPayment {
    async fn paid(
        &self,
        tx: &mut dyn Tx,
        payment: &Payment,
        now: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        let Some(reg) = tx.registration_by_order(&payment.order_id).await? else {
            return Ok(());
        };
        let session =
            tx.lock_scheduled(reg.platform, &reg.meeting_id).await?.ok_or_else(no_session)?;
        // The payer's own offer, if any, is the seat they take, not one in their way.
        let taken = tx.seats_held(reg.platform, &reg.meeting_id, now, Some(&reg.id)).await?;
        let paid = payment.id.as_str();
        let decision = registration::on_paid(&reg, paid, &session, taken, now);
        match &decision {
            OnPaid::Admit => {
                tx.set_registration_state(&reg.id, RegistrationState::Paid, Some(paid), None)
                    .await?;
            }
            OnPaid::Refuse(closed) => {
                let state = RegistrationState::Refunded;
                tx.set_registration_state(&reg.id, state, Some(paid), Some(&closed.reason()))
                    .await?;
            }
            OnPaid::RefundSecond | OnPaid::Nothing => {}
        }
        let outcome = match &decision {
            OnPaid::Admit => "admitted",
            OnPaid::Refuse(_) => "refused",
            OnPaid::RefundSecond => "second_payment",
            OnPaid::Nothing => "repeated",
        };
        metrics::counter!("registration_payments_total", "outcome" => outcome).increment(1);
        tracing::info!(registration = %reg.id, payment = paid, ?decision, "registration paid");
        for (key, effect) in registration::effects(&decision, &reg, &session, paid, self.reach) {
            tx.enqueue(&key, &effect).await?;
        }
        Ok(())
    }
}

fn no_session() -> StoreError {
    StoreError::corrupt("registrations.meeting_id", "no scheduled session")
}

/// The platform approved the registrant: the registration is complete, and the join link and
/// receipt are queued for the attendee (once) on the `channels` that are on. A registration refunded meanwhile (the session
/// was cancelled) only keeps the registrant's id.
pub async fn registrant_admitted(
    store: &dyn Store,
    id: &RegistrationId,
    registrant: &Registrant,
    channels: Channels,
) -> Result<(), StoreError> {
    let mut tx = store.begin().await?;
    let mut reg = tx
        .registration(id)
        .await?
        .ok_or_else(|| StoreError::NotFound(format!("registration {id}")))?;
    let approve = reg.state == RegistrationState::Paid;
    let state = if approve { RegistrationState::Approved } else { reg.state };
    tx.set_registrant(id, registrant, state).await?;
    if approve {
        reg.join_url.clone_from(&registrant.join_url);
        let session = tx.scheduled(reg.platform, &reg.meeting_id).await?.ok_or_else(no_session)?;
        let paid: PaymentId = reg
            .payment_id
            .as_deref()
            .unwrap_or_default()
            .parse()
            .map_err(|e| StoreError::corrupt("registrations.payment_id", e))?;
        let payment = tx
            .payment(&paid)
            .await?
            .ok_or_else(|| StoreError::NotFound(format!("payment {paid}")))?;
        let notice = registration::joined_notice(
            &reg,
            &session,
            &payment.amount,
            payment.reference.as_deref(),
        );
        for (key, effect) in reach::tell(channels, &format!("joined:{id}"), &reg.person(), &notice)
        {
            tx.enqueue(&key, &effect).await?;
        }
    }
    tx.commit().await
}

/// The platform refused to register a paid attendee for good: the payment is refunded and the
/// attendee told why (once), and the seat goes to the waiting list. Nothing happens to a
/// registration that is no longer paid.
pub async fn registrant_refused(
    store: &dyn Store,
    id: &RegistrationId,
    offers: &Offers,
    now: DateTime<Utc>,
) -> Result<(), StoreError> {
    let channels = offers.reach;
    let mut tx = store.begin().await?;
    let reg = tx
        .registration(id)
        .await?
        .ok_or_else(|| StoreError::NotFound(format!("registration {id}")))?;
    let Some(payment) = reg.payment_id.clone().filter(|_| reg.state == RegistrationState::Paid)
    else {
        return Ok(());
    };
    let session = tx.scheduled(reg.platform, &reg.meeting_id).await?.ok_or_else(no_session)?;
    let refused = registration::Closed::PlatformRefused;
    tx.set_registration_state(id, RegistrationState::Refunded, None, Some(&refused.reason()))
        .await?;
    let refuse = OnPaid::Refuse(refused);
    for (key, effect) in registration::effects(&refuse, &reg, &session, &payment, channels) {
        tx.enqueue(&key, &effect).await?;
    }
    seat_freed(tx.as_mut(), reg.platform, &reg.meeting_id, now, offers).await?;
    tx.commit().await
}

/// What cancelling a session did.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Cancelled {
    /// Paid registrations being refunded.
    pub refunds: usize,
    /// Unpaid registrations closed.
    pub closed: usize,
    /// Whether this call cancelled it (false when it was cancelled already).
    pub now: bool,
}

/// Cancels a session: every paid registration is refunded and its attendee told, unpaid ones
/// are closed, and the meeting is deleted on the platform, each effect once.
pub async fn cancel_session(
    store: &dyn Store,
    platform: PlatformKind,
    meeting_id: &str,
    at: DateTime<Utc>,
    channels: Channels,
) -> Result<Cancelled, StoreError> {
    let mut tx = store.begin().await?;
    let now = tx.cancel_scheduled(platform, meeting_id, at).await?;
    let session = tx
        .scheduled(platform, meeting_id)
        .await?
        .ok_or_else(|| StoreError::NotFound(format!("session {platform}/{meeting_id}")))?;
    let mut summary = Cancelled { now, ..Cancelled::default() };
    let open = RegistrationState::all_where(RegistrationState::is_open);
    let reason = registration::Closed::Cancelled.reason();
    for reg in tx.registrations_in(platform, meeting_id, &open).await? {
        if !reg.state.holds_seat() {
            tx.set_registration_state(&reg.id, RegistrationState::Cancelled, None, Some(&reason))
                .await?;
            summary.closed += 1;
            continue;
        }
        tx.set_registration_state(&reg.id, RegistrationState::Refunded, None, Some(&reason))
            .await?;
        let payment = reg.payment_id.clone().unwrap_or_default();
        let refund = Effect::Refund(Refund { payment: payment.clone() });
        tx.enqueue(&format!("refund:{payment}"), &refund).await?;
        for (key, effect) in registration::cancelled_effects(&reg, &session, channels) {
            tx.enqueue(&key, &effect).await?;
        }
        summary.refunds += 1;
    }
    let delete = Effect::CancelMeeting(CancelMeeting {
        platform,
        meeting_id: meeting_id.to_owned(),
        host_email: session.host_email.clone(),
    });
    tx.enqueue(&format!("cancel:{platform}:{meeting_id}"), &delete).await?;
    tx.commit().await?;
    Ok(summary)
}
