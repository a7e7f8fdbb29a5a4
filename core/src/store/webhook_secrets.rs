//! The secrets of the webhooks tollbooth registered on the platforms, one per hook.

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use secrecy::SecretString;

use super::StoreError;

#[async_trait]
pub trait WebhookSecretStore {
    /// Records the secret that `platform` signs hook `hook_id`'s deliveries with, replacing
    /// the one recorded before.
    async fn put_webhook_secret(
        &self,
        platform: &str,
        hook_id: &str,
        secret: &SecretString,
    ) -> Result<(), StoreError>;

    /// The secret recorded for one hook, if any.
    async fn webhook_secret(
        &self,
        platform: &str,
        hook_id: &str,
    ) -> Result<Option<SecretString>, StoreError>;

    /// Every secret recorded for `platform`: a delivery is genuine when one of them verifies it.
    async fn webhook_secrets(&self, platform: &str) -> Result<Vec<SecretString>, StoreError>;

    /// Takes or renews, for `holder`, the lease on checking `platform`'s hooks until `until`;
    /// `false` while another holder's lease runs at `now`. Instances sharing a database take
    /// turns with it, so that two never create the same hook.
    async fn lease_hook_check(
        &self,
        platform: &str,
        holder: &str,
        now: DateTime<Utc>,
        until: DateTime<Utc>,
    ) -> Result<bool, StoreError>;
}
