//! The transactional port: one write transaction through which a workflow reads what it
//! decides on and writes what it decided, with the effects it queues. The workflow's caller
//! opens it ([`super::Store::begin`]) and commits it, so a decision and its effects are kept
//! together or not at all; the store only stores.

use async_trait::async_trait;

use super::StoreError;
use crate::fee_based::registration::{
    Registration, RegistrationId, RegistrationState, ScheduledSession,
};
use crate::money::Money;
use crate::outbox::Effect;
use crate::payments::order::{Order, OrderId};
use crate::payments::payment::{Event, Payment, PaymentId};
use crate::platform::PlatformKind;

#[async_trait]
pub trait Tx: Send {
    /// Saves `next` and the transition's record if the payment is still at `before`'s
    /// version; `false` when another writer applied something first (the caller rolls back,
    /// reloads and retries).
    async fn save_transition(
        &mut self,
        before: &Payment,
        next: &Payment,
        event: &Event,
    ) -> Result<bool, StoreError>;

    async fn order(&mut self, id: &OrderId) -> Result<Option<Order>, StoreError>;

    /// How many payments of `order` other than `except` hold or took money (authorised,
    /// captured or sold).
    async fn other_payments_holding_money(
        &mut self,
        order: &OrderId,
        except: &PaymentId,
    ) -> Result<u64, StoreError>;

    /// What `host` owes from charges their authorisations did not cover, less what their
    /// balance orders paid, leaving out the payments of `except`; `None` when they never owed.
    async fn owed(
        &mut self,
        host: &str,
        except: Option<&OrderId>,
    ) -> Result<Option<Money>, StoreError>;

    async fn registration_by_order(
        &mut self,
        order: &OrderId,
    ) -> Result<Option<Registration>, StoreError>;

    /// A scheduled session, locked until the transaction ends, so that concurrent payments
    /// count its seats one at a time.
    async fn lock_scheduled(
        &mut self,
        platform: PlatformKind,
        meeting_id: &str,
    ) -> Result<Option<ScheduledSession>, StoreError>;

    /// Registrations of the session that hold a seat (paid or approved).
    async fn seats_taken(
        &mut self,
        platform: PlatformKind,
        meeting_id: &str,
    ) -> Result<u32, StoreError>;

    async fn set_registration_state(
        &mut self,
        id: &RegistrationId,
        state: RegistrationState,
        payment: Option<&str>,
        reason: Option<&str>,
    ) -> Result<(), StoreError>;

    /// Stores an effect under `key` for the outbox worker; `false` when one with that key is
    /// already stored (the decision was retried or duplicated).
    async fn enqueue(&mut self, key: &str, effect: &Effect) -> Result<bool, StoreError>;

    async fn commit(self: Box<Self>) -> Result<(), StoreError>;
}
