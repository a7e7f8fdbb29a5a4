//! Webhook deliveries as received, and the sessions and connections made from them.

use async_trait::async_trait;
use chrono::{DateTime, Utc};

use super::StoreError;
use crate::metering::Connection;
use crate::platform::PlatformKind;
use crate::session::Session;
use crate::terms::Terms;

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

    /// Applies up to `limit` stored deliveries, oldest first, to their sessions and marks them
    /// processed, in one transaction. A delivery that cannot be read is marked with why and
    /// skipped. In the same transaction, pay-per-use starts are decided (a blocked one queues
    /// the end of the meeting and a message with a pay link from `links`) and paid sessions
    /// that ended are charged (queuing the capture, as much as the payment's gateway allows by
    /// `captures`, and a receipt). Returns how many were processed.
    async fn apply_deliveries(&self, limit: usize, terms: &Terms) -> Result<usize, StoreError>;

    async fn session(
        &self,
        platform: PlatformKind,
        meeting_id: &str,
    ) -> Result<Option<SessionRecord>, StoreError>;
}
