//! [`OutboxStore`] in SQL.

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use sqlx::{AnyConnection, Row};

use super::{SqlStore, millis, opt_time, storable_text};
use crate::outbox::{Claimed, Effect};
use crate::store::{OutboxStore, QuarantinedEffect, StoreError};

/// Stores an effect on `conn`, inside whatever transaction the caller decided it in.
pub(super) async fn enqueue_on(
    conn: &mut AnyConnection,
    key: &str,
    effect: &Effect,
) -> Result<bool, StoreError> {
    let payload = serde_json::to_string(effect)
        .map_err(|e| StoreError::Invalid(format!("effect {key} cannot be stored: {e}")))?;
    let now = millis(Utc::now());
    let done = sqlx::query(
        "INSERT INTO outbox (effect_key, kind, payload, created_at, next_attempt_at)
         VALUES ($1, $2, $3, $4, $4)
         ON CONFLICT (effect_key) DO NOTHING",
    )
    .bind(key)
    .bind(effect.kind())
    .bind(payload)
    .bind(now)
    .execute(conn)
    .await?;
    Ok(done.rows_affected() == 1)
}

#[async_trait]
impl OutboxStore for SqlStore {
    async fn enqueue(&self, key: &str, effect: &Effect) -> Result<bool, StoreError> {
        let mut conn = self.writer.acquire().await?;
        enqueue_on(&mut conn, key, effect).await
    }

    async fn claim(
        &self,
        worker: &str,
        now: DateTime<Utc>,
        until: DateTime<Utc>,
        limit: u32,
    ) -> Result<Vec<Claimed>, StoreError> {
        let mut tx = self.write().await?;
        // The outer conditions repeat the inner ones on purpose: PostgreSQL re-checks them on
        // the row's latest version when another worker updated it first, so two concurrent
        // claims cannot both take a row (SQLite's IMMEDIATE transactions run one at a time).
        let rows = sqlx::query(
            "UPDATE outbox SET lease_owner = $1, lease_until = $2, attempts = attempts + 1
             WHERE id IN (SELECT id FROM outbox
                          WHERE sent_at IS NULL AND quarantined_at IS NULL
                            AND next_attempt_at <= $3
                            AND (lease_until IS NULL OR lease_until <= $3)
                          ORDER BY id LIMIT $4)
               AND sent_at IS NULL AND (lease_until IS NULL OR lease_until <= $3)
             RETURNING id, effect_key, payload, attempts",
        )
        .bind(worker)
        .bind(millis(until))
        .bind(millis(now))
        .bind(i64::from(limit))
        .fetch_all(&mut *tx)
        .await?;
        let mut claimed = Vec::with_capacity(rows.len());
        for r in &rows {
            let id: i64 = r.try_get("id")?;
            let payload: String = r.try_get("payload")?;
            match serde_json::from_str(&payload) {
                Ok(effect) => claimed.push(Claimed {
                    id,
                    key: r.try_get("effect_key")?,
                    effect,
                    attempts: u32::try_from(r.try_get::<i64, _>("attempts")?).unwrap_or(u32::MAX),
                }),
                // One effect that no longer reads must not stop the others behind it.
                Err(e) => {
                    let why = format!("the stored effect cannot be read: {e}");
                    tracing::error!(effect = id, error = %why, "outbox: effect quarantined");
                    metrics::counter!("outbox_quarantined_total").increment(1);
                    sqlx::query(
                        "UPDATE outbox SET quarantined_at = $1, last_error = $2,
                             lease_owner = NULL, lease_until = NULL
                         WHERE id = $3",
                    )
                    .bind(millis(now))
                    .bind(storable_text(&why))
                    .bind(id)
                    .execute(&mut *tx)
                    .await?;
                }
            }
        }
        tx.commit().await?;
        claimed.sort_by_key(|c| c.id);
        Ok(claimed)
    }

    async fn quarantined_effects(
        &self,
        limit: usize,
    ) -> Result<Vec<QuarantinedEffect>, StoreError> {
        let rows = sqlx::query(
            "SELECT id, effect_key, kind, quarantined_at, last_error FROM outbox
             WHERE quarantined_at IS NOT NULL ORDER BY id DESC LIMIT $1",
        )
        .bind(i64::try_from(limit).unwrap_or(i64::MAX))
        .fetch_all(&self.pool)
        .await?;
        rows.iter()
            .map(|r| {
                Ok(QuarantinedEffect {
                    id: r.try_get("id")?,
                    key: r.try_get("effect_key")?,
                    kind: r.try_get("kind")?,
                    quarantined_at: opt_time(r, "quarantined_at")?.unwrap_or_default(),
                    error: r.try_get::<Option<String>, _>("last_error")?.unwrap_or_default(),
                })
            })
            .collect()
    }

    async fn renew_lease(
        &self,
        id: i64,
        worker: &str,
        until: DateTime<Utc>,
    ) -> Result<bool, StoreError> {
        // One statement: on PostgreSQL a concurrent claim that committed first makes the
        // re-checked owner differ, and one that comes after sees the renewed lease.
        let done = sqlx::query(
            "UPDATE outbox SET lease_until = $1
             WHERE id = $2 AND lease_owner = $3 AND sent_at IS NULL",
        )
        .bind(millis(until))
        .bind(id)
        .bind(worker)
        .execute(&self.writer)
        .await?;
        Ok(done.rows_affected() == 1)
    }

    async fn mark_sent(
        &self,
        id: i64,
        worker: &str,
        at: DateTime<Utc>,
    ) -> Result<bool, StoreError> {
        let done = sqlx::query(
            "UPDATE outbox SET sent_at = $1, lease_owner = NULL, lease_until = NULL,
                 last_error = NULL
             WHERE id = $2 AND lease_owner = $3 AND sent_at IS NULL",
        )
        .bind(millis(at))
        .bind(id)
        .bind(worker)
        .execute(&self.writer)
        .await?;
        Ok(done.rows_affected() == 1)
    }

    async fn mark_failed(
        &self,
        id: i64,
        worker: &str,
        error: &str,
        retry_at: DateTime<Utc>,
    ) -> Result<bool, StoreError> {
        let done = sqlx::query(
            "UPDATE outbox SET last_error = $1, next_attempt_at = $2, lease_owner = NULL,
                 lease_until = NULL
             WHERE id = $3 AND lease_owner = $4 AND sent_at IS NULL",
        )
        .bind(storable_text(error))
        .bind(millis(retry_at))
        .bind(id)
        .bind(worker)
        .execute(&self.writer)
        .await?;
        Ok(done.rows_affected() == 1)
    }

    async fn sent_at(&self, key: &str) -> Result<Option<DateTime<Utc>>, StoreError> {
        let row = sqlx::query("SELECT sent_at FROM outbox WHERE effect_key = $1")
            .bind(key)
            .fetch_optional(&self.pool)
            .await?;
        match row {
            Some(row) => opt_time(&row, "sent_at"),
            None => Ok(None),
        }
    }
}
