//! Promotion codes as hosts and administrators manage them in chat. Applying a code to an
//! order, which takes one of its uses, is decided in `fee_based::service` on the port.

use async_trait::async_trait;
use chrono::{DateTime, Utc};

use super::StoreError;
use crate::fee_based::codes::{Code, CodeId, ForSession, PromotionCode};

#[async_trait]
pub trait PromotionCodeStore {
    /// Stores a new code; [`StoreError::Invalid`] when a code with its name is live already.
    async fn add_code(&self, code: &Code) -> Result<(), StoreError>;

    /// The live (not removed) code with this name.
    async fn live_code(&self, code: &PromotionCode) -> Result<Option<Code>, StoreError>;

    /// The live codes of `session`, or every live code when `None`, by name.
    async fn live_codes(&self, session: Option<&ForSession>) -> Result<Vec<Code>, StoreError>;

    /// Removes a code: it applies to no new order. `false` when it was removed already.
    async fn remove_code(&self, id: &CodeId, at: DateTime<Utc>) -> Result<bool, StoreError>;
}
