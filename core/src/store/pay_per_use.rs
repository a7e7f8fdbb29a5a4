//! Pay-per-use: exemptions, the charges booked when paid sessions end, and division spend.
//! Starts are decided and sessions billed inside [`super::SessionStore::apply_deliveries`],
//! in the transaction that applies the events.

use async_trait::async_trait;
use chrono::{DateTime, Utc};

use super::StoreError;
use crate::money::{Currency, Money};
use crate::pay_per_use::billing::{Charge, Month, SessionPayment, Spend};
use crate::pay_per_use::enforcement::Exemption;
use crate::payments::order::OrderId;
use crate::payments::payment::PaymentId;
use crate::platform::PlatformKind;
use crate::site::{DivisionId, HostEmail};

#[async_trait]
pub trait PayPerUseStore {
    /// Whether a start of this meeting by `host` would be allowed now (pay-per-use off, the
    /// host exempt, or a paid authorisation that can pay for it and nothing owed): what
    /// `/session start` checks before it hands out the start link. `meeting_id` is the id
    /// scheduling returned: a Webex series id, a Zoom meeting number.
    async fn start_is_paid(
        &self,
        host: &HostEmail,
        platform: PlatformKind,
        meeting_id: &str,
    ) -> Result<bool, StoreError>;

    /// Whether `host` still owes something from sessions that cost more than their
    /// authorisation: what a balance order is for.
    async fn owes(&self, host: &str) -> Result<bool, StoreError>;

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

    /// The gateway refused for good to capture a charge's payment (its authorisation expired
    /// or was voided outside tollbooth): what the charge meant to capture becomes the host's
    /// outstanding balance, and the host is told why. Done once, however often it is called.
    async fn capture_refused(&self, payment: &PaymentId, why: &str) -> Result<(), StoreError>;

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
