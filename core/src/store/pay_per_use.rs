//! Pay-per-use: exemptions, budgets, the charges booked when paid sessions end, and division
//! spend. Starts are decided and sessions charged by `pay_per_use::service`, on the
//! transaction that applies the events.

use async_trait::async_trait;
use chrono::{DateTime, Utc};

use super::StoreError;
use crate::money::{Currency, Money};
use crate::pay_per_use::billing::{Charge, Month, SessionPayment, Spend};
use crate::pay_per_use::enforcement::Exemption;
use crate::payments::order::OrderId;
use crate::platform::PlatformKind;
use crate::site::DivisionId;

#[async_trait]
pub trait PayPerUseStore {
    /// Exempts a host or a division from paying before a start, or ends the exemption.
    async fn set_exempt(&self, who: &Exemption, exempt: bool) -> Result<(), StoreError>;

    /// Sets a division's budget for a month.
    async fn set_budget(
        &self,
        division: &DivisionId,
        month: Month,
        amount: Money,
    ) -> Result<(), StoreError>;

    /// A division's budget for a month, if one was set.
    async fn budget(
        &self,
        division: &DivisionId,
        month: Month,
    ) -> Result<Option<Money>, StoreError>;

    /// How a session is paid for; None while pay-per-use has not decided its start.
    async fn session_payment(
        &self,
        platform: PlatformKind,
        meeting_id: &str,
    ) -> Result<Option<SessionPayment>, StoreError>;

    /// The charge of the session an order paid for, once it ended.
    async fn charge(&self, order: &OrderId) -> Result<Option<Charge>, StoreError>;

    /// The charges booked to `division` for sessions that started in `[from, to)`, oldest
    /// first, and their total (zero in `currency` when there are none).
    async fn division_spend(
        &self,
        division: &DivisionId,
        from: DateTime<Utc>,
        to: DateTime<Utc>,
        currency: Currency,
    ) -> Result<Spend, StoreError>;
}
