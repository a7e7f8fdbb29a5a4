//! [`LinkingStore`] in SQL.

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use sqlx::Row;

use super::{SqlStore, millis};
use crate::email::Email;
use crate::store::{LinkingStore, SelfLink, StoreError};

#[async_trait]
impl LinkingStore for SqlStore {
    async fn spend_oauth_state(&self, nonce: &str, at: DateTime<Utc>) -> Result<bool, StoreError> {
        let done = sqlx::query(
            "INSERT INTO used_oauth_states (nonce, used_at) VALUES ($1, $2)
             ON CONFLICT (nonce) DO NOTHING",
        )
        .bind(nonce)
        .bind(millis(at))
        .execute(&self.writer)
        .await?;
        Ok(done.rows_affected() == 1)
    }

    async fn link_self(&self, member: u64, host: &Email) -> Result<SelfLink, StoreError> {
        let now = millis(Utc::now());
        let mut tx = self.write().await?;
        // The host's row first: on PostgreSQL it stays locked until the end, so that two
        // members linking the same host at once are taken one after the other.
        let row = sqlx::query(
            "INSERT INTO hosts (email, division_id, created_at)
             VALUES ($1, (SELECT default_division FROM site_settings WHERE id = 1), $2)
             ON CONFLICT (email) DO UPDATE
                 SET division_id = COALESCE(hosts.division_id, excluded.division_id)
             RETURNING division_id",
        )
        .bind(host.as_str())
        .bind(now)
        .fetch_one(&mut *tx)
        .await?;
        let division = row
            .try_get::<Option<String>, _>("division_id")?
            .map(|d| d.parse().map_err(|e| StoreError::corrupt("hosts.division_id", e)))
            .transpose()?;
        let other: Option<String> = sqlx::query_scalar(
            "SELECT discord_user_id FROM discord_links
             WHERE host_email = $1 AND discord_user_id <> $2 LIMIT 1",
        )
        .bind(host.as_str())
        .bind(member.to_string())
        .fetch_optional(&mut *tx)
        .await?;
        if let Some(other) = other {
            // Dropped uncommitted: the host row above rolls back too.
            let other = other.parse().map_err(|e| StoreError::corrupt("discord_user_id", e))?;
            return Ok(SelfLink::TakenBy(other));
        }
        // The member vouched for themselves: they are their own `linked_by`.
        super::discord_links::link(&mut *tx, member, host, member, now).await?;
        tx.commit().await?;
        Ok(SelfLink::Linked { division })
    }
}
