//! Sessions scheduled through tollbooth and attendees' registrations for those with a fee.
//! What a payment, the platform's answer and a cancellation do to registrations is decided
//! in `fee_based::service`, on the transactional port.

use async_trait::async_trait;
use chrono::{DateTime, Utc};

use super::StoreError;
use crate::fee_based::group::GuestSeat;
use crate::fee_based::refunds::RefundRecord;
use crate::fee_based::registration::{Fee, Registration, RegistrationId, ScheduledSession};
use crate::payments::order::{Order, OrderId};
use crate::payments::payment::PaymentId;
use crate::platform::PlatformKind;
use crate::platform::control::Attendee;

/// What `/register` found or made.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Registered {
    /// A new registration with its order, waiting for payment.
    New(Registration),
    /// The attendee's open registration for the session: its order is reused.
    Existing(Registration),
}

#[async_trait]
pub trait RegistrationStore {
    /// Records a meeting scheduled through tollbooth.
    async fn save_scheduled(&self, session: &ScheduledSession) -> Result<(), StoreError>;

    async fn scheduled(
        &self,
        platform: PlatformKind,
        meeting_id: &str,
    ) -> Result<Option<ScheduledSession>, StoreError>;

    /// Scheduled sessions with this meeting id, on whichever platform.
    async fn scheduled_by_meeting(
        &self,
        meeting_id: &str,
    ) -> Result<Vec<ScheduledSession>, StoreError>;

    /// The sessions open for registration at `now` (with a fee, not cancelled, before their
    /// deadline or end; full ones too, for their waiting list) whose title or meeting id
    /// contains `typed`, in any case; soonest first, at most `limit`. One query: `/register` suggests them as the
    /// attendee types, within Discord's 3 seconds.
    async fn open_for_registration(
        &self,
        typed: &str,
        now: DateTime<Utc>,
        limit: u32,
    ) -> Result<Vec<ScheduledSession>, StoreError>;

    /// Puts a fee on a scheduled session (or changes it). Refused once anyone has registered,
    /// so that attendees never pay different amounts for the same seat.
    async fn set_fee(
        &self,
        platform: PlatformKind,
        meeting_id: &str,
        fee: &Fee,
    ) -> Result<(), StoreError>;

    /// Whether anyone has registered for the session in a way that fixes its fee (what
    /// [`Self::set_fee`] refuses on), so a caller can refuse before changing the platform.
    async fn fee_is_fixed(
        &self,
        platform: PlatformKind,
        meeting_id: &str,
    ) -> Result<bool, StoreError>;

    /// How many seats are held at `now` (paid, approved, or offered from the waiting list and
    /// not run out), but `except`'s own.
    async fn seats_taken(
        &self,
        platform: PlatformKind,
        meeting_id: &str,
        now: DateTime<Utc>,
        except: Option<&RegistrationId>,
    ) -> Result<u32, StoreError>;

    /// Registrations whose offer of a seat ran out by `now` and was not passed on yet, the
    /// oldest first, at most `limit`.
    async fn expired_offers(
        &self,
        now: DateTime<Utc>,
        limit: u32,
    ) -> Result<Vec<RegistrationId>, StoreError>;

    /// Where an unpaid registration stands on its session's waiting list (1 is next).
    async fn place_in_line(&self, registration: &Registration) -> Result<u32, StoreError>;

    /// Stores `registration` with its `order`, unless the attendee has an open registration
    /// for the session already, which is returned instead (with its order, to be paid again).
    /// [`StoreError::EmailTaken`] when another attendee's open registration for the session
    /// has the same e-mail address (compared without case).
    async fn register(
        &self,
        registration: &Registration,
        order: &Order,
    ) -> Result<Registered, StoreError> {
        self.register_group(registration, order, &[]).await
    }

    /// As [`Self::register`], for a group: `guests` take seats 2 and on, stored with the
    /// registration (whose `seats` counts them and its own).
    async fn register_group(
        &self,
        registration: &Registration,
        order: &Order,
        guests: &[Attendee],
    ) -> Result<Registered, StoreError>;

    /// A group registration's guests' seats (none for one seat), by seat number.
    async fn guest_seats(&self, id: &RegistrationId) -> Result<Vec<GuestSeat>, StoreError>;

    async fn registration(&self, id: &RegistrationId) -> Result<Option<Registration>, StoreError>;

    /// The registration an order pays for.
    async fn registration_of_order(
        &self,
        order: &OrderId,
    ) -> Result<Option<Registration>, StoreError>;

    /// The refunds decided for a registration's payment, oldest first.
    async fn refunds_of(&self, payment: &PaymentId) -> Result<Vec<RefundRecord>, StoreError>;

    /// An attendee's registrations, newest first, with their sessions.
    async fn registrations_of(
        &self,
        discord_user_id: u64,
    ) -> Result<Vec<(Registration, ScheduledSession)>, StoreError>;
}
