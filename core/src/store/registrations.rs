//! Sessions scheduled through tollbooth and attendees' registrations for those with a fee.
//! What a successful payment does for a registration is decided by
//! `fee_based::service::SeatOnPayment`, in the transaction that records the payment.

use async_trait::async_trait;
use chrono::{DateTime, Utc};

use super::StoreError;
use crate::fee_based::registration::{Fee, Registration, RegistrationId, ScheduledSession};
use crate::payments::order::Order;
use crate::platform::PlatformKind;
use crate::platform::control::Registrant;

/// What `/register` found or made.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Registered {
    /// A new registration with its order, waiting for payment.
    New(Registration),
    /// The attendee's open registration for the session: its order is reused.
    Existing(Registration),
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

    /// How many registrations hold a seat.
    async fn seats_taken(
        &self,
        platform: PlatformKind,
        meeting_id: &str,
    ) -> Result<u32, StoreError>;

    /// Stores `registration` with its `order`, unless the attendee has an open registration
    /// for the session already, which is returned instead (with its order, to be paid again).
    /// [`StoreError::EmailTaken`] when another attendee's open registration for the session
    /// has the same e-mail address (compared without case).
    async fn register(
        &self,
        registration: &Registration,
        order: &Order,
    ) -> Result<Registered, StoreError>;

    async fn registration(&self, id: &RegistrationId) -> Result<Option<Registration>, StoreError>;

    /// An attendee's registrations, newest first, with their sessions.
    async fn registrations_of(
        &self,
        discord_user_id: u64,
    ) -> Result<Vec<(Registration, ScheduledSession)>, StoreError>;

    /// The platform approved the registrant: the registration is complete, and the join link
    /// and receipt are queued for the attendee (once). A registration refunded meanwhile (the
    /// session was cancelled) only keeps the registrant's id.
    async fn registrant_admitted(
        &self,
        id: &RegistrationId,
        registrant: &Registrant,
    ) -> Result<(), StoreError>;

    /// The platform refused to register a paid attendee for good: the payment is refunded and
    /// the attendee told why (once). Nothing happens to a registration that is no longer paid.
    async fn registrant_refused(&self, id: &RegistrationId) -> Result<(), StoreError>;

    /// Cancels a session: every paid registration is refunded and its attendee told, unpaid
    /// ones are closed, and the meeting is deleted on the platform, each effect once.
    async fn cancel_scheduled(
        &self,
        platform: PlatformKind,
        meeting_id: &str,
        at: DateTime<Utc>,
    ) -> Result<Cancelled, StoreError>;
}
