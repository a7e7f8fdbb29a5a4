//! The outbox: effects stored once under a unique key, claimed by one worker at a time with a
//! lease, marked sent, or tried again later.

use async_trait::async_trait;
use chrono::{DateTime, Utc};

use super::StoreError;
use crate::outbox::{Claimed, Effect};

/// An effect set aside because its stored payload no longer reads (a bug or a manual edit),
/// so that the effects after it go on; it waits for a person.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct QuarantinedEffect {
    pub id: i64,
    pub key: String,
    pub kind: String,
    pub quarantined_at: DateTime<Utc>,
    pub error: String,
}

#[async_trait]
pub trait OutboxStore {
    /// Stores an effect under `key`; `false` when one with that key is already stored (the
    /// decision was retried or duplicated), in which case nothing changes.
    async fn enqueue(&self, key: &str, effect: &Effect) -> Result<bool, StoreError>;

    /// Takes up to `limit` effects that are due and not sent, nor leased by anyone until
    /// after `now`, and leases them to `worker` until `until`. Two workers never get the same
    /// effect while a lease runs. An effect whose payload does not read is quarantined instead
    /// of returned.
    async fn claim(
        &self,
        worker: &str,
        now: DateTime<Utc>,
        until: DateTime<Utc>,
        limit: u32,
    ) -> Result<Vec<Claimed>, StoreError>;

    /// Extends `worker`'s lease on a claimed effect to `until`, just before delivering it;
    /// `false` when the lease was lost (another worker claimed the effect after this lease ran
    /// out, or it was sent or released), and the effect must then not be delivered. Holding
    /// the row is what counts, not the time: a lease that ran out but was not taken over is
    /// still this worker's, since nobody else can be delivering the effect.
    async fn renew_lease(
        &self,
        id: i64,
        worker: &str,
        until: DateTime<Utc>,
    ) -> Result<bool, StoreError>;

    /// Marks a claimed effect done; `false` when `worker`'s lease was lost meanwhile, and
    /// nothing changes (the new holder's record stands).
    async fn mark_sent(&self, id: i64, worker: &str, at: DateTime<Utc>)
    -> Result<bool, StoreError>;

    /// Records why an attempt failed and releases the effect until `retry_at`; `false`, and
    /// nothing changes, when `worker`'s lease was lost meanwhile.
    async fn mark_failed(
        &self,
        id: i64,
        worker: &str,
        error: &str,
        retry_at: DateTime<Utc>,
    ) -> Result<bool, StoreError>;

    /// Effects quarantined by [`OutboxStore::claim`], newest first.
    async fn quarantined_effects(&self, limit: usize)
    -> Result<Vec<QuarantinedEffect>, StoreError>;

    /// When the effect stored under `key` was sent, if it was: for tests and support.
    async fn sent_at(&self, key: &str) -> Result<Option<DateTime<Utc>>, StoreError>;
}
