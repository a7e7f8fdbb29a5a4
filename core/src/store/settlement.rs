//! Settlements of paid sessions and their adjustments, as the settlement worker, the session
//! API and `tollbooth reconcile` read them; what a settlement step writes goes through the
//! transactional port.

use async_trait::async_trait;
use chrono::{DateTime, Utc};

use super::StoreError;
use crate::platform::PlatformKind;
use crate::settlement::{AdjustmentRecord, Reconciliation, Settlement};

#[async_trait]
pub trait SettlementStore {
    /// Settlements whose next look is due at `now`, oldest first.
    async fn due_settlements(
        &self,
        now: DateTime<Utc>,
        limit: usize,
    ) -> Result<Vec<Settlement>, StoreError>;

    /// Takes `settlement` for one worker until `until`: `false` when another took it first
    /// (its `due_at` moved since it was read).
    async fn take_settlement(
        &self,
        settlement: &Settlement,
        until: DateTime<Utc>,
    ) -> Result<bool, StoreError>;

    /// A session's settlement and its adjustments, oldest first.
    async fn settlement_of(
        &self,
        platform: PlatformKind,
        meeting_id: &str,
    ) -> Result<Option<(Settlement, Vec<AdjustmentRecord>)>, StoreError>;

    /// The adjustments of `order`'s charge, oldest first.
    async fn adjustments_of(
        &self,
        order: &crate::payments::order::OrderId,
    ) -> Result<Vec<AdjustmentRecord>, StoreError>;

    /// Settled sessions that ended in `[from, to)`, oldest first, with what was billed.
    async fn reconciliation(
        &self,
        from: DateTime<Utc>,
        to: DateTime<Utc>,
    ) -> Result<Vec<Reconciliation>, StoreError>;

    /// Sessions still open whose last delivery came before `quiet_since`, or that started
    /// before `started_before`, and that were not looked up since `quiet_since`: with their
    /// host, for the platform call.
    async fn stale_sessions(
        &self,
        quiet_since: DateTime<Utc>,
        started_before: DateTime<Utc>,
        limit: usize,
    ) -> Result<Vec<(PlatformKind, String, Option<String>)>, StoreError>;

    /// Records that an open session was looked up on its platform at `at`.
    async fn looked_up(
        &self,
        platform: PlatformKind,
        meeting_id: &str,
        at: DateTime<Utc>,
    ) -> Result<(), StoreError>;
}
