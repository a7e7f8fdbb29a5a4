//! Orders, their payments and every transition, the money-moving steps sent to gateways, and
//! the callbacks gateways sent us.

use std::collections::BTreeMap;

use async_trait::async_trait;
use chrono::{DateTime, Utc};

use super::StoreError;
use crate::payments::order::{Order, OrderId};
use crate::payments::payment::{Payment, PaymentId, State};

/// One applied transition, as the audit trail keeps it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Transition {
    pub from: State,
    pub to: State,
    pub event: String,
    /// The gateway's reference that came with the event.
    pub reference: Option<String>,
    pub amount: Option<String>,
    pub at: DateTime<Utc>,
}

/// Where a money-moving step stands. A step is reserved before the gateway is called, so a
/// retry after a timeout or a crash finds it and sends the same idempotency key again.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum StepState {
    /// Sent (or about to be), answer unknown.
    Pending,
    /// The gateway did it; its reference.
    Done(String),
    /// The gateway refused; why.
    Failed(String),
}

/// A callback as received, with what was made of it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CallbackRecord {
    pub gateway: String,
    pub checkout_ref: Option<String>,
    pub payment: Option<PaymentId>,
    /// The fields kept from the callback (never card data).
    pub fields: BTreeMap<String, String>,
    /// `applied: …`, `unchanged` or `rejected: …`.
    pub outcome: String,
    pub received_at: DateTime<Utc>,
}

#[async_trait]
pub trait PaymentStore {
    async fn create_order(&self, order: &Order) -> Result<(), StoreError>;
    async fn order(&self, id: &OrderId) -> Result<Option<Order>, StoreError>;

    /// Opens the order's next payment (numbered after the last) at `gateway`, in state created.
    async fn create_payment(&self, order: &Order, gateway: &str) -> Result<Payment, StoreError>;
    /// Records the gateway's checkout for a payment; one checkout belongs to one payment.
    async fn set_checkout(
        &self,
        payment: &PaymentId,
        reference: &str,
        token: Option<&str>,
    ) -> Result<(), StoreError>;
    async fn payment(&self, id: &PaymentId) -> Result<Option<Payment>, StoreError>;
    async fn payment_by_checkout(
        &self,
        gateway: &str,
        reference: &str,
    ) -> Result<Option<Payment>, StoreError>;
    async fn payments(&self, order: &OrderId) -> Result<Vec<Payment>, StoreError>;

    async fn transitions(&self, payment: &PaymentId) -> Result<Vec<Transition>, StoreError>;

    /// Reserves `step` of a payment under `key`, or returns how far it already got.
    async fn begin_step(
        &self,
        payment: &Payment,
        step: &str,
        key: &str,
    ) -> Result<StepState, StoreError>;
    async fn finish_step(
        &self,
        payment: &PaymentId,
        step: &str,
        state: &StepState,
    ) -> Result<(), StoreError>;
    /// How far `step` of a payment got; `None` when it was never reserved.
    async fn step_state(
        &self,
        payment: &PaymentId,
        step: &str,
    ) -> Result<Option<StepState>, StoreError>;
    /// How many steps of a payment whose name starts with `prefix` are done (numbered refunds).
    async fn steps_done(&self, payment: &PaymentId, prefix: &str) -> Result<u32, StoreError>;

    async fn record_callback(&self, callback: &CallbackRecord) -> Result<(), StoreError>;
    /// A gateway's callbacks, oldest first.
    async fn callbacks(&self, gateway: &str) -> Result<Vec<CallbackRecord>, StoreError>;
}
