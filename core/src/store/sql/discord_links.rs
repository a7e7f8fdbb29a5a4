//! [`DiscordLinkStore`] in SQL.

use async_trait::async_trait;
use chrono::Utc;

use super::{SqlStore, millis, parsed};
use crate::email::Email;
use crate::lang::Lang;
use crate::store::{DiscordLinkStore, StoreError};

/// Links `member` to `host`, replacing their earlier link, as `linked_by` did at `at` (ms).
pub(super) async fn link<'c, E>(
    executor: E,
    member: u64,
    host: &Email,
    linked_by: u64,
    at: i64,
) -> Result<(), StoreError>
where
    E: sqlx::Executor<'c, Database = sqlx::Any>,
{
    // Snowflakes are kept as text: they exceed BIGINT's range in principle (u64).
    sqlx::query(
        "INSERT INTO discord_links (discord_user_id, host_email, linked_by, linked_at)
         VALUES ($1, $2, $3, $4)
         ON CONFLICT (discord_user_id) DO UPDATE SET host_email = excluded.host_email,
             linked_by = excluded.linked_by, linked_at = excluded.linked_at",
    )
    .bind(member.to_string())
    .bind(host.as_str())
    .bind(linked_by.to_string())
    .bind(at)
    .execute(executor)
    .await?;
    Ok(())
}

#[async_trait]
impl DiscordLinkStore for SqlStore {
    async fn link_discord_user(
        &self,
        discord_user_id: u64,
        host: &Email,
        linked_by: u64,
    ) -> Result<(), StoreError> {
        link(&self.writer, discord_user_id, host, linked_by, millis(Utc::now())).await
    }

    async fn linked_host(&self, discord_user_id: u64) -> Result<Option<Email>, StoreError> {
        let row = sqlx::query("SELECT host_email FROM discord_links WHERE discord_user_id = $1")
            .bind(discord_user_id.to_string())
            .fetch_optional(&self.pool)
            .await?;
        row.map(|r| parsed::<Email>(&r, "host_email")).transpose()
    }

    async fn linked_hosts(&self) -> Result<u64, StoreError> {
        let count: i64 = sqlx::query_scalar("SELECT COUNT(DISTINCT host_email) FROM discord_links")
            .fetch_one(&self.pool)
            .await?;
        Ok(u64::try_from(count).unwrap_or_default())
    }

    async fn remember_lang(&self, discord_user_id: u64, lang: Lang) -> Result<(), StoreError> {
        // Read first: this runs on every command, and an UPDATE would take SQLite's one write
        // lock each time even when nothing changes.
        let user = discord_user_id.to_string();
        let kept: Option<String> =
            sqlx::query_scalar("SELECT lang FROM discord_links WHERE discord_user_id = $1")
                .bind(user.as_str())
                .fetch_optional(&self.pool)
                .await?;
        if kept.is_none_or(|kept| kept == lang.code()) {
            return Ok(());
        }
        sqlx::query("UPDATE discord_links SET lang = $1 WHERE discord_user_id = $2")
            .bind(lang.code())
            .bind(user)
            .execute(&self.writer)
            .await?;
        Ok(())
    }
}
