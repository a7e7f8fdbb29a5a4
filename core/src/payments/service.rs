//! Recording a payment's transition, and what a payment that became paid sets off, in one
//! transaction that this workflow holds: the transition, then each feature's decision about
//! the payment ([`WhenPaid`]) with the effects it queues, committed together or not at all.

use std::sync::Arc;

use async_trait::async_trait;
use chrono::{DateTime, Utc};

use crate::payments::payment::{Event, Payment};
use crate::store::{Store, StoreError, Tx};

/// What a feature does when a payment becomes paid, or when money moves (taken or given
/// back), decided in the payment's transaction. Features register themselves where the
/// application is wired (see [`crate::when_paid`]), so payments knows no feature; each acts
/// on what it cares about and leaves the other at its default, nothing.
#[async_trait]
pub trait WhenPaid: Send + Sync {
    async fn paid(
        &self,
        _tx: &mut dyn Tx,
        _payment: &Payment,
        _now: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        Ok(())
    }

    /// Every transition saved, after [`WhenPaid::paid`]: invoicing numbers the money taken
    /// (a sale, a capture) and given back (a refund) here, in the same transaction.
    async fn recorded(
        &self,
        _tx: &mut dyn Tx,
        _before: &Payment,
        _next: &Payment,
        _event: &Event,
        _now: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        Ok(())
    }
}

/// Saves `next` if the payment is still at `before`'s version and, if it just became paid,
/// lets each of `when_paid` decide on it, then tells each of them the transition, all in one
/// transaction; `false` (nothing saved) when another writer changed the payment first.
pub async fn record_transition(
    store: &dyn Store,
    when_paid: &[Arc<dyn WhenPaid>],
    before: &Payment,
    next: &Payment,
    event: &Event,
) -> Result<bool, StoreError> {
    let mut tx = store.begin().await?;
    if !tx.save_transition(before, next, event).await? {
        return Ok(false); // dropped uncommitted: rolled back
    }
    let now = Utc::now();
    if next.state.is_paid() && !before.state.is_paid() {
        for feature in when_paid {
            feature.paid(tx.as_mut(), next, now).await?;
        }
    }
    for feature in when_paid {
        feature.recorded(tx.as_mut(), before, next, event, now).await?;
    }
    tx.commit().await?;
    Ok(true)
}
