//! What other features do once deliveries are applied: the store merges a batch of deliveries
//! into sessions and connections (the pure merge of [`super`]) and, in the same transaction,
//! hands the sessions that started and ended to each [`WhenApplied`], so that a decision and
//! the effects it queues are stored with the events or not at all.

use std::collections::{HashMap, HashSet};

use async_trait::async_trait;
use chrono::{DateTime, Utc};

use crate::metering::session::Session;
use crate::platform::PlatformKind;
use crate::store::{StoreError, Tx};

/// A session, as the platforms key it.
pub type SessionKey = (PlatformKind, String);

/// The sessions a batch of deliveries said started or ended, and those it told anything
/// about after they had ended (late data, or a Zoom meeting re-joined).
#[derive(Clone, Debug, Default)]
pub struct Applied {
    /// Every session the batch touched, as the transaction now holds it: what a feature
    /// decides on, without reading back what was just written.
    pub sessions: HashMap<SessionKey, Session>,
    pub started: HashSet<SessionKey>,
    pub ended: HashSet<SessionKey>,
    pub after_end: HashSet<SessionKey>,
}

/// What a feature decides about sessions that started or ended, in the transaction that
/// applied the deliveries saying so. Wired where the application is put together, so that
/// metering knows no feature.
#[async_trait]
pub trait WhenApplied: Send + Sync {
    async fn applied(
        &self,
        tx: &mut dyn Tx,
        applied: &Applied,
        now: DateTime<Utc>,
    ) -> Result<(), StoreError>;
}
