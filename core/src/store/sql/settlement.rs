//! Settlements and adjustments in SQL: the port's reads and writes inside a settlement step,
//! and the store's reads for the worker, the session API and reconciliation.

use std::collections::{HashMap, HashSet};

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use sqlx::any::AnyRow;
use sqlx::{AnyConnection, AssertSqlSafe, Row};

use super::pay_per_use::{charge, charge_columns};
use super::payments::{amount, corrupt, time};
use super::sessions::{Params, rows_for_sessions, sized_chunks};
use super::{SqlStore, backend_of, flag, millis, opt_time, parsed};
use crate::metering::Usage;
use crate::metering::service::SessionKey;
use crate::money::Currency;
use crate::pay_per_use::billing::Charge;
use crate::platform::PlatformKind;
use crate::pricing::Cost;
use crate::settlement::rule::Metered;
use crate::settlement::{AdjustmentRecord, Reconciliation, Settlement};
use crate::store::{Backend, SettlementStore, StoreError};

macro_rules! settlement_columns {
    () => {
        "s.platform, s.meeting_id, s.order_id, s.stage, s.source, s.ended_at, s.due_at,
         s.attempts, s.late_data, s.billed, s.metered, s.platform_usage, s.reported_person_minutes,
         s.reported_teleconference_minutes, s.flagged, s.note"
    };
}

fn settlement(row: &AnyRow) -> Result<Settlement, StoreError> {
    let usage = |column: &'static str| -> Result<Option<Usage>, StoreError> {
        let text: Option<String> = row.try_get(column)?;
        text.map(|t| serde_json::from_str(&t).map_err(|e| corrupt(column, e))).transpose()
    };
    let minutes = |column: &'static str| -> Result<Option<u64>, StoreError> {
        let n: Option<i64> = row.try_get(column)?;
        n.map(|n| u64::try_from(n).map_err(|e| corrupt(column, e))).transpose()
    };
    let source: Option<String> = row.try_get("source")?;
    let reported =
        minutes("reported_person_minutes")?.zip(minutes("reported_teleconference_minutes")?);
    let attempts: i64 = row.try_get("attempts")?;
    Ok(Settlement {
        platform: parsed(row, "platform")?,
        meeting_id: row.try_get("meeting_id")?,
        order: row
            .try_get::<Option<String>, _>("order_id")?
            .map(|o| o.parse().map_err(|e| corrupt("settlements.order_id", e)))
            .transpose()?,
        stage: parsed(row, "stage")?,
        source: source
            .map(|s| s.parse().map_err(|e| corrupt("settlements.source", e)))
            .transpose()?,
        ended_at: time(row, "ended_at")?,
        due_at: time(row, "due_at")?,
        attempts: u32::try_from(attempts).map_err(|e| corrupt("settlements.attempts", e))?,
        late_data: flag(row, "late_data")?,
        billed: usage("billed")?,
        metered: usage("metered")?,
        platform_usage: usage("platform_usage")?,
        reported,
        flagged: flag(row, "flagged")?,
        note: row.try_get("note")?,
    })
}

fn json(usage: Option<&Usage>) -> Option<String> {
    usage.map(|u| serde_json::to_string(u).expect("a usage serialises"))
}

fn count(n: u64) -> i64 {
    i64::try_from(n).unwrap_or(i64::MAX)
}

/// Opens the settlements of the sessions that have none, a statement per power-of-two share
/// of them rather than one each; returns the sessions whose settlement it opened.
pub(super) async fn open_settlements(
    conn: &mut AnyConnection,
    settlements: &[Settlement],
) -> Result<HashSet<SessionKey>, StoreError> {
    let now = millis(Utc::now());
    let mut opened = HashSet::new();
    for chunk in sized_chunks(settlements, 512) {
        let values = Params::of(backend_of(conn)).rows(chunk.len(), 10);
        let sql = format!(
            "INSERT INTO settlements (platform, meeting_id, order_id, stage, ended_at, due_at,
                 attempts, late_data, flagged, updated_at)
             VALUES {values}
             ON CONFLICT (platform, meeting_id) DO NOTHING
             RETURNING platform, meeting_id"
        );
        let mut query = sqlx::query(AssertSqlSafe(sql));
        for s in chunk {
            query = query
                .bind(s.platform.as_str())
                .bind(s.meeting_id.as_str())
                .bind(s.order.as_ref().map(|o| o.as_str().to_owned()))
                .bind(s.stage.as_str())
                .bind(millis(s.ended_at))
                .bind(millis(s.due_at))
                .bind(i64::from(s.attempts))
                .bind(i64::from(s.late_data))
                .bind(i64::from(s.flagged))
                .bind(now);
        }
        for row in query.fetch_all(&mut *conn).await? {
            opened.insert((parsed(&row, "platform")?, row.try_get("meeting_id")?));
        }
    }
    Ok(opened)
}

pub(super) async fn load_settlement(
    conn: &mut AnyConnection,
    platform: PlatformKind,
    meeting_id: &str,
) -> Result<Option<Settlement>, StoreError> {
    let key = (platform, meeting_id.to_owned());
    Ok(settlements_of(conn, &[&key], "").await?.remove(&key))
}

/// The settlements of `sessions`, read by a step that will write them: on PostgreSQL their rows
/// stay locked until the step commits, so that the applier marking late data for the same
/// session waits and then marks the settled row, instead of writing between the step's read of
/// the connections and its commit (where the step's own write would then undo the mark).
/// SQLite's transactions take the write lock up front and need nothing more.
pub(super) async fn lock_settlements(
    conn: &mut AnyConnection,
    sessions: &[&SessionKey],
) -> Result<HashMap<SessionKey, Settlement>, StoreError> {
    let lock = match backend_of(conn) {
        Backend::Postgres => " FOR UPDATE OF s",
        Backend::Sqlite => "",
    };
    settlements_of(conn, sessions, lock).await
}

/// The settlements of `sessions`, `lock` added to the statement.
async fn settlements_of(
    conn: &mut AnyConnection,
    sessions: &[&SessionKey],
    lock: &str,
) -> Result<HashMap<SessionKey, Settlement>, StoreError> {
    let rows = rows_for_sessions(conn, sessions, |wanted| {
        format!(
            concat!(
                "SELECT ",
                settlement_columns!(),
                " FROM (VALUES {wanted}) AS k
                 JOIN settlements s ON s.platform = k.column1 AND s.meeting_id = k.column2{lock}"
            ),
            wanted = wanted,
            lock = lock
        )
    })
    .await?;
    rows.iter()
        .map(|r| {
            let s = settlement(r)?;
            Ok(((s.platform, s.meeting_id.clone()), s))
        })
        .collect()
}

pub(super) async fn save_settlement(
    conn: &mut AnyConnection,
    s: &Settlement,
) -> Result<(), StoreError> {
    let (person, teleconference) = s.reported.unzip();
    sqlx::query(
        "UPDATE settlements SET stage = $1, source = $2, due_at = $3, attempts = $4,
             late_data = $5, metered = $6, platform_usage = $7, reported_person_minutes = $8,
             reported_teleconference_minutes = $9, flagged = $10, note = $11, updated_at = $12,
             billed = $13, order_id = $14
         WHERE platform = $15 AND meeting_id = $16",
    )
    .bind(s.stage.as_str())
    .bind(s.source.map(|s| s.as_str()))
    .bind(millis(s.due_at))
    .bind(i64::from(s.attempts))
    .bind(i64::from(s.late_data))
    .bind(json(s.metered.as_ref()))
    .bind(json(s.platform_usage.as_ref()))
    .bind(person.map(count))
    .bind(teleconference.map(count))
    .bind(i64::from(s.flagged))
    .bind(s.note.as_deref())
    .bind(millis(Utc::now()))
    .bind(json(s.billed.as_ref()))
    .bind(s.order.as_ref().map(|o| o.as_str().to_owned()))
    .bind(s.platform.as_str())
    .bind(s.meeting_id.as_str())
    .execute(&mut *conn)
    .await?;
    Ok(())
}

/// Deliveries for a session that had ended: it is looked at again `due_at` (pushed on by each
/// of them, so that a re-joined meeting is checked once it went quiet). A waiting one is
/// marked too: on PostgreSQL this holds its row, so that a settling step waits for these
/// deliveries to commit and then reads them (see `lock_settlements`).
pub(super) async fn late_data(
    conn: &mut AnyConnection,
    platform: PlatformKind,
    meeting_id: &str,
    due_at: DateTime<Utc>,
) -> Result<(), StoreError> {
    sqlx::query(
        "UPDATE settlements SET late_data = 1, due_at = $1, updated_at = $2
         WHERE platform = $3 AND meeting_id = $4 AND stage IN ('waiting', 'settled')",
    )
    .bind(millis(due_at))
    .bind(millis(Utc::now()))
    .bind(platform.as_str())
    .bind(meeting_id)
    .execute(&mut *conn)
    .await?;
    Ok(())
}

/// A session's connections with the keys webhooks gave them, as one array (see
/// `load_connections_of`).
pub(super) async fn metered(
    conn: &mut AnyConnection,
    platform: PlatformKind,
    meeting_id: &str,
) -> Result<Vec<Metered>, StoreError> {
    let rows = sqlx::query(
        "SELECT participant, device, joined_at, left_at, computer, telephone_audio
         FROM connections WHERE platform = $1 AND meeting_id = $2",
    )
    .bind(platform.as_str())
    .bind(meeting_id)
    .fetch_all(&mut *conn)
    .await?;
    rows.iter()
        .map(|row| {
            Ok(Metered {
                participant: row.try_get("participant")?,
                device: row.try_get("device")?,
                connection: crate::metering::Connection {
                    joined_at: opt_time(row, "joined_at")?,
                    left_at: opt_time(row, "left_at")?,
                    computer: flag(row, "computer")?,
                    telephone_audio: flag(row, "telephone_audio")?,
                },
            })
        })
        .collect()
}

pub(super) async fn adjustments(
    conn: &mut AnyConnection,
    order: &str,
) -> Result<Vec<AdjustmentRecord>, StoreError> {
    let rows = sqlx::query(
        "SELECT kind, amount, refund, currency, reason, reference, at FROM adjustments
         WHERE order_id = $1 ORDER BY seq",
    )
    .bind(order)
    .fetch_all(&mut *conn)
    .await?;
    rows.iter().map(adjustment).collect()
}

fn adjustment(row: &AnyRow) -> Result<AdjustmentRecord, StoreError> {
    let currency: Currency = parsed(row, "currency")?;
    Ok(AdjustmentRecord {
        kind: parsed(row, "kind")?,
        amount: amount(row, "amount", currency)?,
        refund: amount(row, "refund", currency)?,
        reason: parsed(row, "reason")?,
        at: time(row, "at")?,
        reference: row.try_get("reference")?,
    })
}

/// Records adjustment number `seq` of `order`'s charge; the key makes a replayed step fail
/// instead of recording it twice.
pub(super) async fn insert_adjustment(
    conn: &mut AnyConnection,
    order: &str,
    seq: u32,
    a: &AdjustmentRecord,
) -> Result<(), StoreError> {
    sqlx::query(
        "INSERT INTO adjustments (order_id, seq, kind, amount, refund, currency, reason,
             reference, at)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
    )
    .bind(order)
    .bind(i64::from(seq))
    .bind(a.kind.as_str())
    .bind(a.amount.to_string())
    .bind(a.refund.to_string())
    .bind(a.amount.currency().code())
    .bind(a.reason.as_str())
    .bind(a.reference.as_str())
    .bind(millis(a.at))
    .execute(&mut *conn)
    .await?;
    Ok(())
}

pub(super) async fn charge_of_order(
    conn: &mut AnyConnection,
    order: &str,
) -> Result<Option<Charge>, StoreError> {
    let row =
        sqlx::query(concat!("SELECT ", charge_columns!(), " FROM charges WHERE order_id = $1"))
            .bind(order)
            .fetch_optional(&mut *conn)
            .await?;
    row.as_ref().map(charge).transpose()
}

/// Sets a charge's figures to a new cost after an adjustment: the division's spend and every
/// report read the charge, so they follow.
pub(super) async fn rebill_charge(
    conn: &mut AnyConnection,
    order: &str,
    cost: &Cost,
    outstanding: crate::money::Money,
) -> Result<(), StoreError> {
    sqlx::query(
        "UPDATE charges SET person_minutes = $1, teleconference_minutes = $2, person = $3,
             teleconference = $4, total = $5, outstanding = $6
         WHERE order_id = $7",
    )
    .bind(count(cost.person.minutes))
    .bind(count(cost.teleconference.minutes))
    .bind(cost.person.amount.to_string())
    .bind(cost.teleconference.amount.to_string())
    .bind(cost.total.to_string())
    .bind(outstanding.to_string())
    .bind(order)
    .execute(&mut *conn)
    .await?;
    Ok(())
}

#[async_trait]
impl SettlementStore for SqlStore {
    async fn due_settlements(
        &self,
        now: DateTime<Utc>,
        limit: usize,
    ) -> Result<Vec<Settlement>, StoreError> {
        let rows = sqlx::query(concat!(
            "SELECT ",
            settlement_columns!(),
            " FROM settlements s WHERE s.due_at <= $1 AND s.stage <> 'final'
              ORDER BY s.due_at LIMIT $2"
        ))
        .bind(millis(now))
        .bind(i64::try_from(limit).unwrap_or(i64::MAX))
        .fetch_all(&self.pool)
        .await?;
        rows.iter().map(settlement).collect()
    }

    async fn take_settlement(
        &self,
        s: &Settlement,
        until: DateTime<Utc>,
    ) -> Result<bool, StoreError> {
        let done = sqlx::query(
            "UPDATE settlements SET due_at = $1
             WHERE platform = $2 AND meeting_id = $3 AND due_at = $4",
        )
        .bind(millis(until))
        .bind(s.platform.as_str())
        .bind(s.meeting_id.as_str())
        .bind(millis(s.due_at))
        .execute(&self.writer)
        .await?;
        Ok(done.rows_affected() == 1)
    }

    async fn settlement_of(
        &self,
        platform: PlatformKind,
        meeting_id: &str,
    ) -> Result<Option<(Settlement, Vec<AdjustmentRecord>)>, StoreError> {
        let mut conn = self.pool.acquire().await?;
        let Some(s) = load_settlement(&mut conn, platform, meeting_id).await? else {
            return Ok(None);
        };
        let adjustments = match &s.order {
            Some(order) => adjustments(&mut conn, order.as_str()).await?,
            None => Vec::new(),
        };
        Ok(Some((s, adjustments)))
    }

    async fn adjustments_of(
        &self,
        order: &crate::payments::order::OrderId,
    ) -> Result<Vec<AdjustmentRecord>, StoreError> {
        let mut conn = self.pool.acquire().await?;
        adjustments(&mut conn, order.as_str()).await
    }

    async fn reconciliation(
        &self,
        from: DateTime<Utc>,
        to: DateTime<Utc>,
    ) -> Result<Vec<Reconciliation>, StoreError> {
        let rows = sqlx::query(concat!(
            "SELECT ",
            settlement_columns!(),
            ", c.host_email, c.division_id, c.person_minutes AS billed_person,
               c.teleconference_minutes AS billed_teleconference, c.total, c.currency
             FROM settlements s JOIN charges c ON c.order_id = s.order_id
             WHERE s.ended_at >= $1 AND s.ended_at < $2
             ORDER BY s.ended_at, s.platform, s.meeting_id"
        ))
        .bind(millis(from))
        .bind(millis(to))
        .fetch_all(&self.pool)
        .await?;
        rows.iter()
            .map(|row| {
                let minutes = |column: &'static str| -> Result<u64, StoreError> {
                    let n: i64 = row.try_get(column)?;
                    u64::try_from(n).map_err(|e| corrupt(column, e))
                };
                let division: Option<String> = row.try_get("division_id")?;
                let currency: Currency = parsed(row, "currency")?;
                Ok(Reconciliation {
                    settlement: settlement(row)?,
                    host_email: row.try_get("host_email")?,
                    division: division
                        .map(|d| d.parse().map_err(|e| corrupt("charges.division_id", e)))
                        .transpose()?,
                    billed_person_minutes: minutes("billed_person")?,
                    billed_teleconference_minutes: minutes("billed_teleconference")?,
                    total: amount(row, "total", currency)?,
                })
            })
            .collect()
    }

    async fn stale_sessions(
        &self,
        quiet_since: DateTime<Utc>,
        started_before: DateTime<Utc>,
        limit: usize,
    ) -> Result<Vec<(PlatformKind, String, Option<String>)>, StoreError> {
        let rows = sqlx::query(
            "SELECT platform, meeting_id, host_email FROM sessions
             WHERE ended_received_at IS NULL AND blocked = $1
               AND (updated_at < $2 OR created_at < $3)
               AND (looked_up_at IS NULL OR looked_up_at < $2)
             ORDER BY updated_at LIMIT $4",
        )
        .bind(false)
        .bind(millis(quiet_since))
        .bind(millis(started_before))
        .bind(i64::try_from(limit).unwrap_or(i64::MAX))
        .fetch_all(&self.pool)
        .await?;
        rows.iter()
            .map(|row| {
                Ok((
                    parsed(row, "platform")?,
                    row.try_get("meeting_id")?,
                    row.try_get("host_email")?,
                ))
            })
            .collect()
    }

    async fn looked_up(
        &self,
        platform: PlatformKind,
        meeting_id: &str,
        at: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        sqlx::query(
            "UPDATE sessions SET looked_up_at = $1 WHERE platform = $2 AND meeting_id = $3",
        )
        .bind(millis(at))
        .bind(platform.as_str())
        .bind(meeting_id)
        .execute(&self.writer)
        .await?;
        Ok(())
    }
}
