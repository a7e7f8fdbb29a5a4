//! Fee-based workflows that run in another workflow's transaction.

use async_trait::async_trait;
use chrono::{DateTime, Utc};

use crate::fee_based::registration::{self, OnPaid, RegistrationState};
use crate::payments::payment::Payment;
use crate::payments::service::WhenPaid;
use crate::store::{StoreError, Tx};

/// A registration's payment decides whether it buys a seat: counted under the session's lock,
/// so that concurrent payers never exceed the capacity; a payment that cannot be honoured is
/// refunded.
pub struct SeatOnPayment;

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
        let session = tx.lock_scheduled(reg.platform, &reg.meeting_id).await?.ok_or_else(|| {
            StoreError::Corrupt {
                column: "registrations.meeting_id",
                reason: "no scheduled session".into(),
            }
        })?;
        let taken = tx.seats_taken(reg.platform, &reg.meeting_id).await?;
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
        for (key, effect) in registration::effects(&decision, &reg, &session, paid) {
            tx.enqueue(&key, &effect).await?;
        }
        Ok(())
    }
}
