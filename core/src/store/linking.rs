//! Hosts who link themselves through their platform's OAuth consent (`/link`): single-use
//! states, and the link itself with the host's default division, decided together.

use async_trait::async_trait;
use chrono::{DateTime, Utc};

use super::StoreError;
use crate::email::Email;
use crate::site::DivisionId;

/// What linking oneself to a host did.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum SelfLink {
    /// Linked; `division` is the host's division afterwards (the site's default one when the
    /// host had none).
    Linked { division: Option<DivisionId> },
    /// Another Discord member already acts as this host: nothing changed.
    TakenBy(u64),
}

#[async_trait]
pub trait LinkingStore {
    /// Spends the nonce of an OAuth state; false when it was spent before (a replay).
    async fn spend_oauth_state(&self, nonce: &str, at: DateTime<Utc>) -> Result<bool, StoreError>;

    /// Links `member` to `host` unless another member is linked to that host, and puts a host
    /// without a division in the site's default division; all or nothing.
    async fn link_self(&self, member: u64, host: &Email) -> Result<SelfLink, StoreError>;
}
