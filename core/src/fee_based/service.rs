//! Fee-based workflows: registering (`/register`), what a registration's payment buys, what the
//! platform's answer about the registrant does, and cancelling a session. Each runs on the transactional port, in the
//! payment's transaction or one of its own, so that a registration's new state and the effects
//! it queues (join link, refund, messages, deleting the meeting) are stored together, once.

use async_trait::async_trait;
use chrono::{DateTime, Utc};

use crate::fee_based::codes::{self, ForSession, Priced, PromotionCode, Refused};
use crate::fee_based::group::{self, TooMany};
use crate::fee_based::refunds::{
    self, AskedBy, Asker, CancellationTerms, Decided, RefundRecord, Refusal,
};
use crate::fee_based::registration::{
    self, BadAttendee, Closed, OnPaid, Registration, RegistrationId, RegistrationState,
    ScheduledSession,
};
use crate::fee_based::waiting::{self, Line};
use crate::invoicing::vat::Vat;
use crate::lang::Lang;
use crate::messages::Args;
use crate::money::Money;
use crate::outbox::{CancelMeeting, Effect, PartialRefund, Refund};
use crate::payments::gateway::PartialRefunds;
use crate::payments::order::{Discount, Order, OrderId, Purchase};
use crate::payments::paylink::Links;
use crate::payments::payment::{Payment, PaymentId, RefundPart, RequestId, State};
use crate::payments::service::WhenPaid;
use crate::platform::PlatformKind;
use crate::platform::control::{Attendee, Registrant};
use crate::reach::{self, Channels, Notice};
use crate::store::{Registered, Store, StoreError, Tx};

/// What an attendee asked `/register` for: the session as they named it, and who attends.
#[derive(Clone, Debug)]
pub struct Asking {
    /// `webex/…`, `zoom/…`, or a meeting id that only one platform has.
    pub session: String,
    pub first_name: String,
    pub last_name: String,
    pub email: String,
    /// A promotion code to apply to the order, once a seat can be paid for.
    pub code: Option<PromotionCode>,
    pub discord_user_id: u64,
    pub lang: Lang,
    /// The attendees of a group's other seats (2 and on), as typed; none for one seat.
    pub guests: Vec<Attendee>,
    /// The most seats the site lets one registration take (`registration.max_seats`).
    pub max_seats: u32,
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
    /// A group asked for more seats than the site or the session allows.
    TooManySeats {
        session: ScheduledSession,
        why: TooMany,
    },
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
    /// The order to pay: a new one, or the attendee's open one again, at its fee less any
    /// code's discount; `held_until` when it is a seat offered from the waiting list (the pay
    /// link lasts as long).
    Pay {
        session: ScheduledSession,
        registration: Registration,
        priced: Priced,
        code: Option<PromotionCode>,
        held_until: Option<DateTime<Utc>>,
    },
    /// The code given was not applied (the registration is kept, to be paid without it).
    CodeRefused(NotApplied),
    /// The code covered the whole fee: the seat is the attendee's without a payment.
    AdmittedByCode {
        session: ScheduledSession,
        code: PromotionCode,
    },
}

impl Registering {
    /// The answer that asks for `order`'s payment.
    fn pay(
        session: ScheduledSession,
        registration: Registration,
        order: &Order,
        held_until: Option<DateTime<Utc>>,
    ) -> Registering {
        let code = order.discount.as_ref().map(|d| d.code.clone());
        Registering::Pay { session, registration, priced: priced(order), code, held_until }
    }
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

/// `/register`: checks the attendee and the session, and makes (or finds) the order to pay,
/// for the fee with the site's `vat` and less the discount of the code asked for, if any.
pub async fn register(
    store: &dyn Store,
    asking: &Asking,
    vat: &Vat,
    reach: Channels,
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
    let mut guests = Vec::with_capacity(asking.guests.len());
    for g in &asking.guests {
        match registration::attendee(&g.first_name, &g.last_name, &g.email) {
            Ok(guest) => guests.push(guest),
            Err(bad) => return Ok(Registering::BadAttendee(bad)),
        }
    }
    let seats = u32::try_from(guests.len()).unwrap_or(u32::MAX).saturating_add(1);
    let taken = store.seats_taken(session.platform, &session.meeting_id, now, None).await?;
    let capacity = session.fee.as_ref().and_then(|f| f.capacity);
    if let Err(why) = group::check_seats(seats, asking.max_seats, group::left(capacity, taken)) {
        return Ok(Registering::TooManySeats { session, why });
    }
    let open = match session.open_for(taken, now) {
        Ok(_) => true,
        // A full session still takes registrations, for its waiting list.
        Err(Closed::Full) => false,
        Err(why) => return Ok(Registering::Closed { session, why }),
    };
    let Some(fee) = session.fee.as_ref().map(|f| f.amount) else {
        return Ok(Registering::Closed { session, why: Closed::NoFee });
    };
    // What the attendee pays: each seat's fee, with VAT when the site enters prices without
    // it, rounded per seat as the invoice's lines are.
    let charge = group::fee_for(vat.charge_for(fee), seats);
    let order = Order::for_registration(session.key(), attendee.email.clone(), charge);
    let new = Registration::new(&session, asking.discord_user_id, attendee, order.id.clone())
        .in_language(asking.lang)
        .with_seats(seats);
    let registration = match store.register_group(&new, &order, &guests).await {
        Ok(Registered::New(r) | Registered::Existing(r)) => r,
        Err(StoreError::EmailTaken { email, .. }) => {
            return Ok(Registering::EmailTaken { session, email });
        }
        Err(e) => return Err(e),
    };
    if registration.state != RegistrationState::AwaitingPayment {
        return Ok(Registering::Already { session });
    }
    let held_until = match (waiting::line(&registration, now), open) {
        (Line::Offered { until }, _) => Some(until),
        (Line::Waiting, _) => {
            let place = store.place_in_line(&registration).await?;
            return Ok(Registering::InLine { session, place });
        }
        (Line::Out | Line::Lapsed, true) => None,
        (Line::Out | Line::Lapsed, false) => {
            return Ok(Registering::Full { session, registration });
        }
    };
    // A code is applied once a seat can be paid for; one asked for in line waits for the offer.
    if let Some(code) = &asking.code {
        match apply_code(store, &registration.order_id, code, now, reach).await? {
            Ok(CodeApplied::Admitted(_)) => {
                return Ok(Registering::AdmittedByCode { session, code: code.clone() });
            }
            Ok(CodeApplied::ToPay(_)) => {}
            // Registering again with the code the order has already.
            Err(NotApplied::HasCode(applied)) if applied == *code => {}
            Err(why) => return Ok(Registering::CodeRefused(why)),
        }
    }
    // What the order asks for now, with any code applied here or on the pay page.
    let order = store
        .order(&registration.order_id)
        .await?
        .ok_or_else(|| StoreError::NotFound(format!("order {}", registration.order_id)))?;
    Ok(Registering::pay(session, registration, &order, held_until))
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
        // A group next in line waits until all its seats are free: the line keeps its order.
        if session.open_for_seats(held, next.seats, now).is_err() {
            break;
        }
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
        (held, offered) = (held + next.seats, offered + next.seats);
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
            let order = order_of(tx.as_mut(), &reg).await?;
            Registering::pay(session, reg, &order, Some(until))
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
        let paid = payment.id.as_str();
        let (session, decision) = take_seat(tx, &reg, Some(paid), now, self.reach).await?;
        if let OnPaid::Refuse(closed) = &decision {
            let state = RegistrationState::Refunded;
            tx.set_registration_state(&reg.id, state, Some(paid), Some(&closed.reason())).await?;
            // The payment bought nothing: the code's use is free for someone else.
            tx.give_back_code_use(&reg.order_id).await?;
        }
        let outcome = match &decision {
            OnPaid::Admit => "admitted",
            OnPaid::Refuse(_) => "refused",
            OnPaid::RefundSecond => "second_payment",
            OnPaid::Nothing => "repeated",
        };
        metrics::counter!("registration_payments_total", "outcome" => outcome).increment(1);
        tracing::info!(registration = %reg.id, payment = paid, ?decision, "registration paid");
        if decision != OnPaid::Admit {
            for (key, effect) in registration::effects(&decision, &reg, &session, paid, self.reach)
            {
                tx.enqueue(&key, &effect).await?;
            }
        }
        Ok(())
    }
}

/// Decides, under the session's lock, the seat that `paid` (or, with `None`, a code that
/// covered the whole fee) buys for `reg`; on `Admit` the registration is paid and it and its
/// guests are queued for the platform. The caller does what any other decision asks.
async fn take_seat(
    tx: &mut dyn Tx,
    reg: &Registration,
    paid: Option<&str>,
    now: DateTime<Utc>,
    reach: Channels,
) -> Result<(ScheduledSession, OnPaid), StoreError> {
    let session = tx.lock_scheduled(reg.platform, &reg.meeting_id).await?.ok_or_else(no_session)?;
    // The payer's own offer, if any, is the seat they take, not one in their way.
    let taken = tx.seats_held(reg.platform, &reg.meeting_id, now, Some(&reg.id)).await?;
    let payment = paid.unwrap_or_default();
    let decision = registration::on_paid(reg, payment, &session, taken, now);
    if decision == OnPaid::Admit {
        tx.set_registration_state(&reg.id, RegistrationState::Paid, paid, None).await?;
        for (key, effect) in registration::effects(&decision, reg, &session, payment, reach) {
            tx.enqueue(&key, &effect).await?;
        }
        admit_guests(tx, reg, &session).await?;
    }
    Ok((session, decision))
}

/// A group's payment (or code) bought its seats: each guest is added to the platform too.
async fn admit_guests(
    tx: &mut dyn Tx,
    reg: &Registration,
    session: &ScheduledSession,
) -> Result<(), StoreError> {
    if reg.seats > 1 {
        let guests = tx.guest_seats(&reg.id).await?;
        for (key, effect) in group::admits(reg, session, &guests) {
            tx.enqueue(&key, &effect).await?;
        }
    }
    Ok(())
}

fn no_session() -> StoreError {
    StoreError::corrupt("registrations.meeting_id", "no scheduled session")
}

/// The platform approved the registrant: the registration is complete, and the join link and
/// receipt are queued for the attendee (once) on the `channels` that are on, the receipt with
/// the link to the payment's invoice (signed by `links`). A registration refunded meanwhile
/// (the session was cancelled) only keeps the registrant's id.
pub async fn registrant_admitted(
    store: &dyn Store,
    id: &RegistrationId,
    registrant: &Registrant,
    channels: Channels,
    links: &Links,
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
        let paid: Option<PaymentId> = reg
            .payment_id
            .as_deref()
            .map(str::parse)
            .transpose()
            .map_err(|e| StoreError::corrupt("registrations.payment_id", e))?;
        let (amount, reference) = match &paid {
            Some(paid) => {
                let payment = tx
                    .payment(paid)
                    .await?
                    .ok_or_else(|| StoreError::NotFound(format!("payment {paid}")))?;
                (payment.amount, payment.reference)
            }
            // Admitted by a code that covered the whole fee: nothing was paid.
            None => (order_of(tx.as_mut(), &reg).await?.amount, None),
        };
        let mut notice = registration::joined_notice(&reg, &session, &amount, reference.as_deref());
        let invoice = match &paid {
            Some(paid) => tx.invoice_of_payment(paid).await?,
            None => None,
        };
        if let Some(invoice) = invoice {
            let url = links.invoice(&reg.order_id, invoice.number, Utc::now(), reg.lang);
            let args = Args::new().str("number", &invoice.label).str("url", url);
            notice.text.push('\n');
            notice.text.push_str(&reg.lang.text_with("registration-invoice", &args));
        }
        for (key, effect) in reach::tell(channels, &format!("joined:{id}"), &reg.person(), &notice)
        {
            tx.enqueue(&key, &effect).await?;
        }
    }
    tx.commit().await
}

/// The platform added a group's guest at `seat` (2 and on): the registrant is kept on the
/// seat, and the guest's join link is told once, by e-mail to the guest and in chat to the
/// payer (who has the Discord member; the guest may have none). A seat refunded meanwhile,
/// or a registration no longer holding its seats, only keeps the registrant's id.
pub async fn guest_admitted(
    store: &dyn Store,
    id: &RegistrationId,
    seat: u32,
    registrant: &Registrant,
    channels: Channels,
) -> Result<(), StoreError> {
    let mut tx = store.begin().await?;
    let reg = tx
        .registration(id)
        .await?
        .ok_or_else(|| StoreError::NotFound(format!("registration {id}")))?;
    tx.set_guest_registrant(id, seat, registrant).await?;
    let guests = tx.guest_seats(id).await?;
    let Some(guest) = guests.iter().find(|g| g.seat == seat && !g.refunded) else {
        return tx.commit().await;
    };
    if reg.state.holds_seat() {
        let session = tx.scheduled(reg.platform, &reg.meeting_id).await?.ok_or_else(no_session)?;
        let order = order_of(tx.as_mut(), &reg).await?;
        let priced = priced(&order);
        let share = group::seat_share(priced.fee, priced.discount, group::ordered(&guests));
        // The guest's own registration as the notice reads it: their name and join link.
        let mut as_guest = reg.clone();
        as_guest.attendee = guest.attendee.clone();
        as_guest.join_url.clone_from(&registrant.join_url);
        let reference = match reg.payment_id.as_deref().map(str::parse::<PaymentId>) {
            Some(Ok(paid)) => tx.payment(&paid).await?.and_then(|p| p.reference),
            _ => None,
        };
        let notice = registration::joined_notice(&as_guest, &session, &share, reference.as_deref());
        let to = reach::Person { email: guest.attendee.email.parse().ok(), ..reg.person() };
        for (key, effect) in reach::tell(channels, &format!("joined:{id}:{seat}"), &to, &notice) {
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
    if reg.state != RegistrationState::Paid {
        return Ok(());
    }
    let refused = registration::Closed::PlatformRefused;
    let Some(payment) = reg.payment_id.clone() else {
        // Admitted by a code that covered the whole fee: nothing to refund; the use is given
        // back with the seat.
        let state = RegistrationState::Cancelled;
        tx.set_registration_state(id, state, None, Some(&refused.reason())).await?;
        tx.give_back_code_use(&reg.order_id).await?;
        return tx.commit().await;
    };
    let session = tx.scheduled(reg.platform, &reg.meeting_id).await?.ok_or_else(no_session)?;
    tx.set_registration_state(id, RegistrationState::Refunded, None, Some(&refused.reason()))
        .await?;
    tx.give_back_code_use(&reg.order_id).await?;
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
        // Unpaid, or admitted without a payment by a code: there is nothing to refund, and
        // the code's use is given back; one admitted is told.
        if !reg.state.holds_seat() || reg.payment_id.is_none() {
            tx.set_registration_state(&reg.id, RegistrationState::Cancelled, None, Some(&reason))
                .await?;
            tx.give_back_code_use(&reg.order_id).await?;
            if reg.state.holds_seat() {
                for (key, effect) in registration::cancelled_effects(&reg, &session, channels) {
                    tx.enqueue(&key, &effect).await?;
                }
            }
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

async fn order_of(tx: &mut dyn Tx, reg: &Registration) -> Result<Order, StoreError> {
    tx.order(&reg.order_id)
        .await?
        .ok_or_else(|| StoreError::NotFound(format!("order {}", reg.order_id)))
}

/// What applying a code to an order did.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum CodeApplied {
    /// The order now asks for the fee less the discount.
    ToPay(Priced),
    /// The code covered the whole fee: the attendee has their seat without a payment.
    Admitted(Priced),
}

/// Why a code was not applied to an order.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum NotApplied {
    Refused(Refused),
    /// A payment of the order is paid or under way at a gateway: what it is for is fixed.
    PaymentUnderWay,
    /// The order has a code already.
    HasCode(PromotionCode),
    /// A code that covers the whole fee, for a session that takes no more registrations.
    Closed(Closed),
    /// The order is not a registration waiting for its payment.
    NotOpen,
}

impl NotApplied {
    /// As told to the attendee.
    pub fn said(&self, lang: Lang) -> String {
        match self {
            NotApplied::Refused(refused) => refused.said(lang),
            NotApplied::PaymentUnderWay => lang.text("code-payment-under-way"),
            NotApplied::HasCode(code) => {
                lang.text_with("code-applied-already", &Args::new().str("code", code))
            }
            NotApplied::Closed(closed) => {
                lang.text_with("code-closed", &Args::new().str("why", closed.said(lang)))
            }
            NotApplied::NotOpen => lang.text("code-order-closed"),
        }
    }
}

/// The fee, discount and total an order asks for: a registration's fee less the code's
/// discount; any other order's amount as it is.
pub fn priced(order: &Order) -> Priced {
    let fee = match &order.purchase {
        Purchase::Registration { fee, .. } => *fee,
        Purchase::Session { .. } | Purchase::Balance { .. } => order.amount,
    };
    let discount = order
        .discount
        .as_ref()
        .map_or_else(|| crate::money::Money::zero(fee.currency()), |d| d.amount);
    Priced { fee, discount, total: order.amount }
}

/// Applies `code` to a registration's order waiting for payment (D-216): the code's use is
/// taken by a conditional update in this transaction, the order records the code and its
/// discount and asks for the rest. A code that leaves nothing to pay decides the seat at once,
/// by the rule a payment's seat is decided by, so that a full session still refuses; the
/// attendee is then added to the platform and sent the join link. Nothing is kept when the
/// code is refused.
pub async fn apply_code(
    store: &dyn Store,
    order_id: &OrderId,
    code: &PromotionCode,
    now: DateTime<Utc>,
    channels: Channels,
) -> Result<Result<CodeApplied, NotApplied>, StoreError> {
    let mut tx = store.begin().await?;
    let order = tx
        .order(order_id)
        .await?
        .ok_or_else(|| StoreError::NotFound(format!("order {order_id}")))?;
    let Purchase::Registration { fee, .. } = order.purchase else {
        return Ok(Err(NotApplied::NotOpen));
    };
    let Some(reg) = tx
        .registration_by_order(order_id)
        .await?
        .filter(|r| r.state == RegistrationState::AwaitingPayment)
    else {
        return Ok(Err(NotApplied::NotOpen));
    };
    if let Some(discount) = order.discount {
        return Ok(Err(NotApplied::HasCode(discount.code)));
    }
    let under_way = State::all_where(|s| s == State::Created || s.is_paid());
    if tx.payments_in(order_id, &under_way).await? > 0 {
        return Ok(Err(NotApplied::PaymentUnderWay));
    }
    let Some(found) = tx.live_code(code).await? else {
        return Ok(Err(NotApplied::Refused(Refused::Unknown(code.clone()))));
    };
    let session = ForSession { platform: reg.platform, meeting_id: reg.meeting_id.clone() };
    let discount = match found.applies(&session, now).and_then(|()| found.discount(fee)) {
        Ok(discount) => discount,
        Err(refused) => return Ok(Err(NotApplied::Refused(refused))),
    };
    let priced = codes::priced(fee, discount).map_err(|e| StoreError::Invalid(e.to_string()))?;
    if !tx.take_code_use(&found.id).await? {
        return Ok(Err(NotApplied::Refused(Refused::UsedUp(found.code))));
    }
    let applied =
        Discount { code_id: found.id.clone(), code: found.code.clone(), amount: discount };
    if !tx.set_order_discount(order_id, &applied, priced.total).await? {
        return Ok(Err(NotApplied::HasCode(found.code)));
    }
    if !priced.total.amount().is_zero() {
        tx.commit().await?;
        tracing::info!(order = %order_id, code = %found.code, "promotion code applied");
        return Ok(Ok(CodeApplied::ToPay(priced)));
    }
    match take_seat(tx.as_mut(), &reg, None, now, channels).await?.1 {
        OnPaid::Admit => {}
        OnPaid::Refuse(closed) => return Ok(Err(NotApplied::Closed(closed))),
        OnPaid::RefundSecond | OnPaid::Nothing => return Ok(Err(NotApplied::NotOpen)),
    }
    tx.commit().await?;
    metrics::counter!("registration_payments_total", "outcome" => "admitted_free").increment(1);
    tracing::info!(registration = %reg.id, code = %found.code, "admitted without payment by a code");
    Ok(Ok(CodeApplied::Admitted(priced)))
}

/// What the refund workflows need beyond the store: which gateways refund partially, and how
/// a freed seat is offered to the waiting list (whose channels attendees are told on).
#[derive(Clone, Debug)]
pub struct Refunds {
    pub partial: PartialRefunds,
    pub offers: Offers,
}

/// What asking for a refund did.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum RefundOutcome {
    /// Decided now and queued: what remains refundable, and whether the seat was freed.
    Decided { refund: RefundRecord, left: Money, freed: bool },
    /// This request was decided before: nothing more is refunded.
    AlreadyDone(RefundRecord),
    /// Refused before anything was stored or sent.
    Refused(Refusal),
    /// A seat had without a payment (a code covered the fee) was given up: nothing is
    /// refunded, the code's use is given back and the seat freed.
    Released,
}

/// The attendee `discord_user_id` cancels their registration `id` at `now`: refunded in full
/// or less the site's fee, before the deadline of `terms`; the seat is freed. Cancelling
/// again is the same request and refunds nothing more.
pub async fn cancel_registration(
    store: &dyn Store,
    refunds: &Refunds,
    id: &RegistrationId,
    discord_user_id: u64,
    terms: &CancellationTerms,
    now: DateTime<Utc>,
) -> Result<RefundOutcome, StoreError> {
    if let Some(released) =
        release_free_seat(store, refunds, id, discord_user_id, terms, now).await?
    {
        return Ok(released);
    }
    let request: RequestId =
        format!("cancel-{id}").parse().map_err(|e| StoreError::corrupt("registrations.id", e))?;
    let asked = Asked { request, discord_user_id, now, seat: None };
    give_back(store, refunds, id, asked, |reg, session, paid, left| {
        if reg.discord_user_id != discord_user_id {
            return Err(Refusal::NotAllowed);
        }
        let decided = refunds::cancel(paid, left, terms, session.starts_at, now)?;
        Ok((decided, AskedBy::Attendee))
    })
    .await
}

/// Cancels a seat the attendee had without a payment, under the same deadline as a paid one;
/// `None` when the registration is not such a seat (a paid one is given back instead).
async fn release_free_seat(
    store: &dyn Store,
    refunds: &Refunds,
    id: &RegistrationId,
    discord_user_id: u64,
    terms: &CancellationTerms,
    now: DateTime<Utc>,
) -> Result<Option<RefundOutcome>, StoreError> {
    let mut tx = store.begin().await?;
    let Some(reg) = tx.registration(id).await? else { return Ok(None) };
    let session = tx.lock_scheduled(reg.platform, &reg.meeting_id).await?.ok_or_else(no_session)?;
    // Read again under the lock: it may have been cancelled meanwhile.
    let reg = tx.registration(id).await?.ok_or_else(|| StoreError::NotFound(id.to_string()))?;
    if reg.payment_id.is_some() || !reg.state.holds_seat() {
        return Ok(None);
    }
    if reg.discord_user_id != discord_user_id {
        return Ok(Some(RefundOutcome::Refused(Refusal::NotAllowed)));
    }
    let nothing = Money::zero(session.fee.as_ref().ok_or_else(no_session)?.amount.currency());
    if let Err(refusal) = refunds::cancel(nothing, nothing, terms, session.starts_at, now) {
        return Ok(Some(RefundOutcome::Refused(refusal)));
    }
    let reason = reg.lang.text("refund-reason-cancelled");
    tx.set_registration_state(id, RegistrationState::Cancelled, None, Some(&reason)).await?;
    tx.give_back_code_use(&reg.order_id).await?;
    seat_freed(tx.as_mut(), reg.platform, &reg.meeting_id, now, &refunds.offers).await?;
    tx.commit().await?;
    tracing::info!(registration = %id, "a seat had without a payment was cancelled");
    Ok(Some(RefundOutcome::Released))
}

/// The session's host or a site administrator (`asker`, as the server found them) gives back
/// `amount` (as typed) of registration `id`'s payment, once per `request`: up to what is
/// still refundable; the whole rest frees the seat.
pub async fn refund_registration(
    store: &dyn Store,
    refunds: &Refunds,
    id: &RegistrationId,
    asker: &Asker,
    amount: &str,
    request: RequestId,
    now: DateTime<Utc>,
) -> Result<RefundOutcome, StoreError> {
    let asked = Asked { request, discord_user_id: asker.discord_user_id(), now, seat: None };
    give_back(store, refunds, id, asked, |_, session, _, left| {
        let by = asker.may_refund(&session.host_email).ok_or(Refusal::NotAllowed)?;
        Ok((refunds::refund(amount, left)?, by))
    })
    .await
}

/// The session's host or a site administrator refunds one guest's `seat` (2 and on) of group
/// registration `id` alone, once per `request`: the seat's share of what the group paid
/// (D-232), freed for the waiting list; the rest of the group keeps its seats.
pub async fn refund_seat(
    store: &dyn Store,
    refunds: &Refunds,
    id: &RegistrationId,
    asker: &Asker,
    seat: u32,
    request: RequestId,
    now: DateTime<Utc>,
) -> Result<RefundOutcome, StoreError> {
    // What a seat's share is does not change once the order is paid: read before the lock.
    let Some(reg) = store.registration(id).await? else {
        return Ok(RefundOutcome::Refused(Refusal::NoRegistration(id.to_string())));
    };
    let guests = store.guest_seats(id).await?;
    let order = store
        .order(&reg.order_id)
        .await?
        .ok_or_else(|| StoreError::NotFound(format!("order {}", reg.order_id)))?;
    let priced = priced(&order);
    let share = group::seat_share(priced.fee, priced.discount, group::ordered(&guests));
    let asked = Asked { request, discord_user_id: asker.discord_user_id(), now, seat: Some(seat) };
    give_back(store, refunds, id, asked, |_, session, _, left| {
        let by = asker.may_refund(&session.host_email).ok_or(Refusal::NotAllowed)?;
        Ok((group::seat_refund(share, left)?, by))
    })
    .await
}

/// Who asked for a refund, under which request, and when; `seat` for one guest's seat alone.
struct Asked {
    request: RequestId,
    discord_user_id: u64,
    now: DateTime<Utc>,
    seat: Option<u32>,
}

/// One refund of a registration's payment, in one transaction under the session's lock (so
/// two requests never both take what remains): a request decided before refunds nothing;
/// otherwise `decide` (given the registration, its session, what was paid and what is still
/// refundable) decides, the gateway is checked, and the decision, its refund, the seat and
/// the attendee's notice are stored together.
async fn give_back(
    store: &dyn Store,
    refunds: &Refunds,
    id: &RegistrationId,
    asked: Asked,
    decide: impl FnOnce(
        &Registration,
        &ScheduledSession,
        Money,
        Money,
    ) -> Result<(Decided, AskedBy), Refusal>,
) -> Result<RefundOutcome, StoreError> {
    let mut tx = store.begin().await?;
    let Some(reg) = tx.registration(id).await? else {
        return Ok(RefundOutcome::Refused(Refusal::NoRegistration(id.to_string())));
    };
    let session = tx.lock_scheduled(reg.platform, &reg.meeting_id).await?.ok_or_else(no_session)?;
    // Read again under the lock: another refund may have freed the seat meanwhile.
    let reg = tx.registration(id).await?.ok_or_else(|| StoreError::NotFound(id.to_string()))?;
    let Some(paid_id) = reg.payment_id.as_deref() else {
        return Ok(RefundOutcome::Refused(Refusal::NotPaid));
    };
    let paid_id: PaymentId =
        paid_id.parse().map_err(|e| StoreError::corrupt("registrations.payment_id", e))?;
    let decided_so_far = tx.refunds_of(&paid_id).await?;
    if let Some(done) = decided_so_far.iter().find(|r| r.request == asked.request) {
        return Ok(RefundOutcome::AlreadyDone(done.clone()));
    }
    if !reg.state.holds_seat() {
        return Ok(RefundOutcome::Refused(Refusal::NotPaid));
    }
    let payment =
        tx.payment(&paid_id).await?.ok_or_else(|| StoreError::NotFound(paid_id.to_string()))?;
    let paid = payment.captured;
    let left = refunds::left(paid, &decided_so_far);
    let decision = decide(&reg, &session, paid, left).and_then(|(decided, by)| {
        let partial = refunds.partial.of(&payment.gateway);
        refunds::check_gateway(&decided, paid, &payment.gateway, partial)?;
        Ok((decided, by))
    });
    let (decided, asked_by) = match decision {
        Ok(decision) => decision,
        Err(refusal) => return Ok(RefundOutcome::Refused(refusal)),
    };
    // One guest's seat alone: freed here, or refused before anything is stored.
    if let Some(seat) = asked.seat
        && !tx.free_guest_seat(&reg.id, seat, asked.now).await?
    {
        return Ok(RefundOutcome::Refused(Refusal::NoSuchSeat(seat)));
    }
    let record = RefundRecord {
        payment: paid_id.clone(),
        request: asked.request.clone(),
        registration: reg.id.clone(),
        amount: decided.amount,
        fee: decided.fee,
        asked_by,
        discord_user_id: asked.discord_user_id,
        decided_at: asked.now,
    };
    tx.insert_refund(&record).await?;
    let key = format!("{paid_id}:{}", asked.request);
    if !decided.amount.amount().is_zero() {
        let refund = Effect::PartialRefund(PartialRefund {
            payment: paid_id.to_string(),
            amount: decided.amount.amount(),
            currency: decided.amount.currency(),
            part: RefundPart::Request(asked.request.clone()),
        });
        tx.enqueue(&format!("refund:{key}"), &refund).await?;
    }
    if decided.frees_seat {
        let reason = match asked_by {
            AskedBy::Attendee => reg.lang.text("refund-reason-cancelled"),
            AskedBy::Host | AskedBy::Admin => reg.lang.text("refund-reason-refunded"),
        };
        tx.set_registration_state(&reg.id, RegistrationState::Refunded, None, Some(&reason))
            .await?;
    }
    let freed = decided.frees_seat || asked.seat.is_some();
    if freed {
        seat_freed(tx.as_mut(), reg.platform, &reg.meeting_id, asked.now, &refunds.offers).await?;
    }
    let notice = refund_notice(&reg, &session, &record, &decided, asked.seat);
    for (key, effect) in
        reach::tell(refunds.offers.reach, &format!("refunded:{key}"), &reg.person(), &notice)
    {
        tx.enqueue(&key, &effect).await?;
    }
    tx.commit().await?;
    metrics::counter!("registration_refunds_total", "by" => asked_by.as_str()).increment(1);
    tracing::info!(registration = %reg.id, payment = %paid_id, request = %asked.request, amount = %decided.amount, freed, seat = ?asked.seat, "registration refund decided");
    Ok(RefundOutcome::Decided { refund: record, left: decided.left, freed })
}

/// What the attendee is told of a refund decided for them.
fn refund_notice(
    reg: &Registration,
    session: &ScheduledSession,
    record: &RefundRecord,
    decided: &Decided,
    seat: Option<u32>,
) -> Notice {
    let lang = reg.lang;
    let args = Args::new()
        .str("title", &session.title)
        .str("amount", record.amount)
        .str("fee", record.fee)
        .str("left", decided.left)
        .str("currency", record.amount.currency());
    let text = match (record.asked_by, decided.frees_seat, seat) {
        (AskedBy::Attendee, _, _) => lang.text_with("refund-told-cancelled", &args),
        (_, _, Some(seat)) => lang.text_with("refund-told-seat", &args.num("seat", seat)),
        (_, true, None) => lang.text_with("refund-told-whole", &args),
        (_, false, None) => lang.text_with("refund-told-part", &args),
    };
    let subject =
        lang.text_with("registration-refund-subject", &Args::new().str("title", &session.title));
    Notice { subject, text, link: None }
}
