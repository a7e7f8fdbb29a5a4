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
use crate::lang::Lang;
use crate::money::Money;
use crate::outbox::{CancelMeeting, Effect, Refund};
use crate::payments::order::Order;
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
    Unknown { named: String },
    /// The meeting id is on both platforms.
    Ambiguous { named: String, meeting: String },
    BadAttendee(BadAttendee),
    /// No seat can be sold (no fee, cancelled, past the deadline, full).
    Closed { session: ScheduledSession, why: Closed },
    /// Another attendee's open registration for the session has this address.
    EmailTaken { session: ScheduledSession, email: String },
    /// The attendee holds a seat (or was admitted) already.
    Already { session: ScheduledSession },
    /// The order to pay: a new one, or the attendee's open one again.
    Pay { session: ScheduledSession, registration: Registration, fee: Money },
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
    let taken = store.seats_taken(session.platform, &session.meeting_id).await?;
    let fee = match session.open_for(taken, now) {
        Ok(fee) => fee.amount,
        Err(why) => return Ok(Registering::Closed { session, why }),
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
    Ok(Registering::Pay { session, registration, fee })
}

/// A registration's payment decides whether it buys a seat: counted under the session's lock,
/// so that concurrent payers never exceed the capacity; a payment that cannot be honoured is
/// refunded.
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
        let seated = RegistrationState::all_where(RegistrationState::holds_seat);
        let taken = tx.count_registrations_in(reg.platform, &reg.meeting_id, &seated).await?;
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
/// attendee told why (once). Nothing happens to a registration that is no longer paid.
pub async fn registrant_refused(
    store: &dyn Store,
    id: &RegistrationId,
    channels: Channels,
) -> Result<(), StoreError> {
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
