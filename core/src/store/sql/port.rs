//! [`Tx`], the transactional port, on one SQL write transaction: each method is one of the
//! concept files' queries, run on the transaction.

use async_trait::async_trait;
use sqlx::{Any, Transaction};

use super::{outbox, pay_per_use, payments, registrations};
use crate::fee_based::registration::{
    Registration, RegistrationId, RegistrationState, ScheduledSession,
};
use crate::money::Money;
use crate::outbox::Effect;
use crate::payments::order::{Order, OrderId};
use crate::payments::payment::{Event, Payment, PaymentId};
use crate::platform::PlatformKind;
use crate::store::{StoreError, Tx};

pub(super) struct SqlTx(pub(super) Transaction<'static, Any>);

#[async_trait]
impl Tx for SqlTx {
    async fn save_transition(
        &mut self,
        before: &Payment,
        next: &Payment,
        event: &Event,
    ) -> Result<bool, StoreError> {
        payments::save_transition_on(&mut self.0, before, next, event).await
    }

    async fn order(&mut self, id: &OrderId) -> Result<Option<Order>, StoreError> {
        payments::load_order(&mut self.0, id).await
    }

    async fn other_payments_holding_money(
        &mut self,
        order: &OrderId,
        except: &PaymentId,
    ) -> Result<u64, StoreError> {
        payments::other_paid_payments(&mut self.0, order, except).await
    }

    async fn owed(
        &mut self,
        host: &str,
        except: Option<&OrderId>,
    ) -> Result<Option<Money>, StoreError> {
        pay_per_use::owed(&mut self.0, host, except.map(OrderId::as_str)).await
    }

    async fn registration_by_order(
        &mut self,
        order: &OrderId,
    ) -> Result<Option<Registration>, StoreError> {
        registrations::registration_by_order(&mut self.0, order).await
    }

    async fn lock_scheduled(
        &mut self,
        platform: PlatformKind,
        meeting_id: &str,
    ) -> Result<Option<ScheduledSession>, StoreError> {
        registrations::lock_session(&mut self.0, platform, meeting_id).await?;
        registrations::load_scheduled(&mut self.0, platform, meeting_id).await
    }

    async fn seats_taken(
        &mut self,
        platform: PlatformKind,
        meeting_id: &str,
    ) -> Result<u32, StoreError> {
        registrations::count_seats(&mut self.0, platform, meeting_id).await
    }

    async fn set_registration_state(
        &mut self,
        id: &RegistrationId,
        state: RegistrationState,
        payment: Option<&str>,
        reason: Option<&str>,
    ) -> Result<(), StoreError> {
        registrations::set_state(&mut self.0, id, state, payment, reason).await
    }

    async fn enqueue(&mut self, key: &str, effect: &Effect) -> Result<bool, StoreError> {
        outbox::enqueue_on(&mut self.0, key, effect).await
    }

    async fn commit(self: Box<Self>) -> Result<(), StoreError> {
        self.0.commit().await?;
        Ok(())
    }
}
