//! Webhook deliveries as received, and the sessions and connections made from them.

use std::sync::Arc;

use async_trait::async_trait;
use chrono::{DateTime, Utc};

use super::StoreError;
use crate::metering::Connection;
use crate::metering::service::WhenApplied;
use crate::metering::session::Session;
use crate::platform::{Observation, PlatformKind};

/// A verified delivery, to be stored before it is acknowledged.
#[derive(Clone, Debug)]
pub struct NewDelivery {
    pub platform: PlatformKind,
    /// Identifies what the event says; a second delivery with the same digest is a duplicate.
    pub digest: String,
    pub meeting_id: String,
    /// The raw body, kept so that processing works from exactly what was received.
    pub body: String,
    pub received_at: DateTime<Utc>,
    /// What the body was parsed into where it was received, when it was: the applier then
    /// applies that, instead of reading the body back and parsing it again. A delivery
    /// without it is parsed from its stored body.
    pub observations: Option<Arc<[Observation]>>,
}

/// Which stored deliveries to apply.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Pending {
    /// Up to this many, oldest first.
    Oldest(usize),
    /// This one alone, if it is still pending: how a failing batch is taken apart.
    One(i64),
}

/// A delivery set aside with why: it could not be read, or applying it failed for a reason
/// that retrying cannot mend. It is kept for inspection and never pruned.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct QuarantinedDelivery {
    pub id: i64,
    pub platform: PlatformKind,
    pub meeting_id: String,
    pub received_at: DateTime<Utc>,
    pub quarantined_at: DateTime<Utc>,
    pub error: String,
}

/// A session with its connections and the deliveries for it not yet applied.
#[derive(Clone, Debug)]
pub struct SessionRecord {
    pub session: Session,
    pub connections: Vec<Connection>,
    pub pending_deliveries: u64,
}

#[async_trait]
pub trait SessionStore {
    /// Stores deliveries in one transaction (one commit for many requests); duplicates are
    /// dropped. Returns how many were new.
    async fn store_deliveries(&self, deliveries: &[NewDelivery]) -> Result<u64, StoreError>;

    /// Applies the stored deliveries `which` names to their sessions (metering's merge) and
    /// marks them processed, in one transaction. A delivery that cannot be read is marked with
    /// why and skipped. In the same transaction, `after` decides on the sessions the deliveries
    /// started and ended (pay-per-use: `pay_per_use::service::StartsAndEnds`). Returns how
    /// many were processed.
    async fn apply_deliveries(
        &self,
        which: Pending,
        after: &dyn WhenApplied,
    ) -> Result<usize, StoreError>;

    /// The ids of up to `limit` deliveries not applied yet, oldest first.
    async fn pending_deliveries(&self, limit: usize) -> Result<Vec<i64>, StoreError>;

    /// How many deliveries are not applied yet, counted up to `up_to`.
    async fn unapplied_deliveries(&self, up_to: u64) -> Result<u64, StoreError>;

    /// Sets a pending delivery aside with why, so that the deliveries after it go on; `false`
    /// when it was no longer pending.
    async fn quarantine_delivery(&self, id: i64, why: &str) -> Result<bool, StoreError>;

    /// Deliveries set aside, newest first.
    async fn quarantined_deliveries(
        &self,
        limit: usize,
    ) -> Result<Vec<QuarantinedDelivery>, StoreError>;

    /// Deletes up to `limit` deliveries applied before `before` (never quarantined ones: they
    /// wait for a person); returns how many went.
    async fn prune_deliveries(
        &self,
        before: DateTime<Utc>,
        limit: usize,
    ) -> Result<u64, StoreError>;

    async fn session(
        &self,
        platform: PlatformKind,
        meeting_id: &str,
    ) -> Result<Option<SessionRecord>, StoreError>;
}
