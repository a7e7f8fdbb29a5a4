//! [`WebhookSecretStore`] in SQL.

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use secrecy::{ExposeSecret, SecretString};
use sqlx::Row;

use super::{SqlStore, millis};
use crate::store::{StoreError, WebhookSecretStore};

#[async_trait]
impl WebhookSecretStore for SqlStore {
    async fn put_webhook_secret(
        &self,
        platform: &str,
        hook_id: &str,
        secret: &SecretString,
    ) -> Result<(), StoreError> {
        sqlx::query(
            "INSERT INTO webhook_secrets (platform, hook_id, secret, updated_at)
             VALUES ($1, $2, $3, $4)
             ON CONFLICT (platform, hook_id) DO UPDATE SET secret = excluded.secret,
                 updated_at = excluded.updated_at",
        )
        .bind(platform)
        .bind(hook_id)
        .bind(secret.expose_secret())
        .bind(millis(Utc::now()))
        .execute(&self.writer)
        .await?;
        Ok(())
    }

    async fn webhook_secret(
        &self,
        platform: &str,
        hook_id: &str,
    ) -> Result<Option<SecretString>, StoreError> {
        let row =
            sqlx::query("SELECT secret FROM webhook_secrets WHERE platform = $1 AND hook_id = $2")
                .bind(platform)
                .bind(hook_id)
                .fetch_optional(&self.pool)
                .await?;
        Ok(row.map(|r| r.try_get::<String, _>("secret")).transpose()?.map(SecretString::from))
    }

    async fn webhook_secrets(&self, platform: &str) -> Result<Vec<SecretString>, StoreError> {
        // Newest first: the receiver tries the likeliest secret before the others.
        sqlx::query(
            "SELECT secret FROM webhook_secrets WHERE platform = $1
             ORDER BY updated_at DESC, hook_id",
        )
        .bind(platform)
        .fetch_all(&self.pool)
        .await?
        .iter()
        .map(|r| Ok(SecretString::from(r.try_get::<String, _>("secret")?)))
        .collect()
    }

    async fn lease_hook_check(
        &self,
        platform: &str,
        holder: &str,
        now: DateTime<Utc>,
        until: DateTime<Utc>,
    ) -> Result<bool, StoreError> {
        // PostgreSQL re-checks the WHERE on the row's latest version when another instance
        // took the lease first, so two concurrent takers cannot both get it.
        let done = sqlx::query(
            "INSERT INTO hook_check_leases (platform, holder, lease_until) VALUES ($1, $2, $3)
             ON CONFLICT (platform) DO UPDATE SET holder = excluded.holder,
                 lease_until = excluded.lease_until
             WHERE hook_check_leases.holder = excluded.holder
                OR hook_check_leases.lease_until <= $4",
        )
        .bind(platform)
        .bind(holder)
        .bind(millis(until))
        .bind(millis(now))
        .execute(&self.writer)
        .await?;
        Ok(done.rows_affected() == 1)
    }
}
