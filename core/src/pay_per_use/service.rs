//! Pay-per-use workflows that run in another workflow's transaction.

use async_trait::async_trait;
use chrono::{DateTime, Utc};

use crate::outbox::{Effect, Refund};
use crate::payments::order::Purchase;
use crate::payments::payment::Payment;
use crate::payments::service::WhenPaid;
use crate::store::{StoreError, Tx};

/// A payment the host does not owe is given back at once, never kept: a second payment of a
/// session order (two tabs, or the quote's link and the blocked start's link to the same
/// order), or of a balance order, or a balance paid when nothing is owed any more (two balance
/// links for one debt).
pub struct GiveBackWhatIsNotOwed;

#[async_trait]
impl WhenPaid for GiveBackWhatIsNotOwed {
    async fn paid(
        &self,
        tx: &mut dyn Tx,
        payment: &Payment,
        _now: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        let Some(order) = tx.order(&payment.order_id).await? else { return Ok(()) };
        let kind = match &order.purchase {
            Purchase::Session { .. } => "session",
            Purchase::Balance { .. } => "balance",
            Purchase::Registration { .. } => return Ok(()),
        };
        let surplus = tx.other_payments_holding_money(&order.id, &payment.id).await? > 0
            || (kind == "balance" && {
                let host = order.payer.to_ascii_lowercase();
                tx.owed(&host, Some(&order.id)).await?.is_none_or(|m| m.amount().is_zero())
            });
        if surplus {
            tracing::warn!(order = %order.id, payment = %payment.id, kind, "payment not owed; giving it back");
            metrics::counter!("pay_per_use_payments_given_back_total", "kind" => kind).increment(1);
            let back = Effect::Refund(Refund { payment: payment.id.to_string() });
            tx.enqueue(&format!("refund:{}", payment.id), &back).await?;
        }
        Ok(())
    }
}
