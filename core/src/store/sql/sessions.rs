//! [`SessionStore`] in SQL.

use std::collections::HashMap;

use async_trait::async_trait;
use chrono::Utc;
use sqlx::any::AnyRow;
use sqlx::{Any, AssertSqlSafe, Row, Transaction};

use super::{SqlStore, flag, millis, opt_time, parsed};
use crate::metering::{Connection, SessionTimes};
use crate::platform::{Inbound, Observation, PlatformKind};
use crate::session::Session;
use crate::store::{Backend, NewDelivery, SessionRecord, SessionStore, StoreError};

/// Serialises appliers across instances sharing one PostgreSQL: merging is read-modify-write.
/// (SQLite's `BEGIN IMMEDIATE` already serialises them.)
const APPLY_LOCK: i64 = 0x746f6c6c; // "toll"

type SessionKey = (PlatformKind, String);
type ConnectionKey = (PlatformKind, String, String, String);

#[async_trait]
impl SessionStore for SqlStore {
    async fn store_deliveries(&self, deliveries: &[NewDelivery]) -> Result<u64, StoreError> {
        if deliveries.is_empty() {
            return Ok(0);
        }
        // One multi-row statement: one round trip and one commit for the whole batch. Only
        // placeholders are formatted into the SQL; every value is bound.
        let mut sql = String::from(
            "INSERT INTO deliveries (platform, digest, meeting_id, body, received_at) VALUES ",
        );
        for i in 0..deliveries.len() {
            let n = i * 5;
            if i > 0 {
                sql.push(',');
            }
            sql.push_str(&format!("(${},${},${},${},${})", n + 1, n + 2, n + 3, n + 4, n + 5));
        }
        sql.push_str(" ON CONFLICT (platform, digest) DO NOTHING");
        let mut query = sqlx::query(AssertSqlSafe(sql));
        for d in deliveries {
            query = query
                .bind(d.platform.as_str())
                .bind(d.digest.as_str())
                .bind(d.meeting_id.as_str())
                .bind(d.body.as_str())
                .bind(millis(d.received_at));
        }
        Ok(query.execute(&self.pool).await?.rows_affected())
    }

    async fn apply_deliveries(&self, limit: usize) -> Result<usize, StoreError> {
        let mut tx = self.write().await?;
        if self.backend == Backend::Postgres {
            sqlx::query("SELECT pg_advisory_xact_lock($1)")
                .bind(APPLY_LOCK)
                .execute(&mut *tx)
                .await?;
        }
        let rows = sqlx::query(
            "SELECT id, platform, body, received_at FROM deliveries
             WHERE processed_at IS NULL ORDER BY id LIMIT $1",
        )
        .bind(i64::try_from(limit).unwrap_or(i64::MAX))
        .fetch_all(&mut *tx)
        .await?;
        if rows.is_empty() {
            return Ok(0);
        }
        let mut sessions: HashMap<SessionKey, Session> = HashMap::new();
        let mut connections: HashMap<ConnectionKey, Connection> = HashMap::new();
        let mut ids = Vec::with_capacity(rows.len());
        let mut unreadable = Vec::new();
        for row in &rows {
            let id: i64 = row.try_get("id")?;
            ids.push(id);
            let platform: PlatformKind = parsed(row, "platform")?;
            let body: String = row.try_get("body")?;
            let received_at = opt_time(row, "received_at")?.unwrap_or_else(Utc::now);
            let (meeting_id, observations) = match platform.adapter().parse(body.as_bytes()) {
                Ok(Inbound::Session { meeting_id, observations, .. }) => (meeting_id, observations),
                Ok(_) => continue,
                Err(e) => {
                    unreadable.push((id, e.to_string()));
                    continue;
                }
            };
            let key = (platform, meeting_id);
            if !sessions.contains_key(&key) {
                let loaded = load_session(&mut *tx, platform, &key.1).await?;
                sessions.insert(
                    key.clone(),
                    loaded.unwrap_or_else(|| Session::new(platform, key.1.clone())),
                );
            }
            for observation in &observations {
                if let Some(session) = sessions.get_mut(&key) {
                    session.observe(observation, received_at);
                }
                let Observation::Connected { participant, device, connection } = observation else {
                    continue;
                };
                let ckey = (platform, key.1.clone(), participant.clone(), device.clone());
                if !connections.contains_key(&ckey) {
                    let loaded = load_connection(&mut tx, &ckey).await?;
                    connections.insert(ckey.clone(), loaded.unwrap_or_default());
                }
                if let Some(merged) = connections.get_mut(&ckey) {
                    merged.merge(connection);
                }
            }
        }
        let now = millis(Utc::now());
        for session in sessions.values() {
            save_session(&mut tx, session, now).await?;
        }
        for (key, connection) in &connections {
            save_connection(&mut tx, key, connection).await?;
        }
        mark_processed(&mut tx, &ids, now).await?;
        for (id, why) in &unreadable {
            tracing::warn!(delivery = id, error = %why, "stored delivery cannot be read; skipped");
            sqlx::query("UPDATE deliveries SET error = $1 WHERE id = $2")
                .bind(why.as_str())
                .bind(*id)
                .execute(&mut *tx)
                .await?;
        }
        tx.commit().await?;
        Ok(ids.len())
    }

    async fn session(
        &self,
        platform: PlatformKind,
        meeting_id: &str,
    ) -> Result<Option<SessionRecord>, StoreError> {
        let mut conn = self.pool.acquire().await?;
        let pending: i64 = sqlx::query(
            "SELECT COUNT(*) AS n FROM deliveries
             WHERE platform = $1 AND meeting_id = $2 AND processed_at IS NULL",
        )
        .bind(platform.as_str())
        .bind(meeting_id)
        .fetch_one(&mut *conn)
        .await?
        .try_get("n")?;
        let session = load_session(&mut *conn, platform, meeting_id).await?;
        let Some(session) = session.or_else(|| {
            // Received but not yet applied: the session exists, its details are on their way.
            (pending > 0).then(|| Session::new(platform, meeting_id.to_owned()))
        }) else {
            return Ok(None);
        };
        let connections = sqlx::query(
            "SELECT joined_at, left_at, computer, telephone_audio FROM connections
             WHERE platform = $1 AND meeting_id = $2",
        )
        .bind(platform.as_str())
        .bind(meeting_id)
        .fetch_all(&mut *conn)
        .await?
        .iter()
        .map(connection)
        .collect::<Result<_, _>>()?;
        Ok(Some(SessionRecord {
            session,
            connections,
            pending_deliveries: u64::try_from(pending).unwrap_or(0),
        }))
    }
}

async fn load_session<'c, E>(
    executor: E,
    platform: PlatformKind,
    meeting_id: &str,
) -> Result<Option<Session>, StoreError>
where
    E: sqlx::Executor<'c, Database = Any>,
{
    let row = sqlx::query(
        "SELECT host_email, started_at, ended_at, ended_received_at, blocked FROM sessions
         WHERE platform = $1 AND meeting_id = $2",
    )
    .bind(platform.as_str())
    .bind(meeting_id)
    .fetch_optional(executor)
    .await?;
    let Some(row) = row else { return Ok(None) };
    Ok(Some(Session {
        platform,
        meeting_id: meeting_id.to_owned(),
        host_email: row.try_get("host_email")?,
        times: SessionTimes {
            started_at: opt_time(&row, "started_at")?,
            ended_at: opt_time(&row, "ended_at")?,
            ended_received_at: opt_time(&row, "ended_received_at")?,
        },
        blocked: flag(&row, "blocked")?,
    }))
}

async fn save_session(
    tx: &mut Transaction<'static, Any>,
    s: &Session,
    now: i64,
) -> Result<(), StoreError> {
    let t = &s.times;
    sqlx::query(
        "INSERT INTO sessions (platform, meeting_id, host_email, started_at, ended_at,
             ended_received_at, blocked, created_at, updated_at)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $8)
         ON CONFLICT (platform, meeting_id) DO UPDATE SET host_email = excluded.host_email,
             started_at = excluded.started_at, ended_at = excluded.ended_at,
             ended_received_at = excluded.ended_received_at, blocked = excluded.blocked,
             updated_at = excluded.updated_at",
    )
    .bind(s.platform.as_str())
    .bind(s.meeting_id.as_str())
    .bind(s.host_email.as_deref())
    .bind(t.started_at.map(millis))
    .bind(t.ended_at.map(millis))
    .bind(t.ended_received_at.map(millis))
    .bind(s.blocked)
    .bind(now)
    .execute(&mut **tx)
    .await?;
    Ok(())
}

async fn load_connection(
    tx: &mut Transaction<'static, Any>,
    (platform, meeting_id, participant, device): &ConnectionKey,
) -> Result<Option<Connection>, StoreError> {
    sqlx::query(
        "SELECT joined_at, left_at, computer, telephone_audio FROM connections
         WHERE platform = $1 AND meeting_id = $2 AND participant = $3 AND device = $4",
    )
    .bind(platform.as_str())
    .bind(meeting_id.as_str())
    .bind(participant.as_str())
    .bind(device.as_str())
    .fetch_optional(&mut **tx)
    .await?
    .as_ref()
    .map(connection)
    .transpose()
}

async fn save_connection(
    tx: &mut Transaction<'static, Any>,
    (platform, meeting_id, participant, device): &ConnectionKey,
    c: &Connection,
) -> Result<(), StoreError> {
    sqlx::query(
        "INSERT INTO connections (platform, meeting_id, participant, device, joined_at, left_at,
             computer, telephone_audio)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8)
         ON CONFLICT (platform, meeting_id, participant, device) DO UPDATE SET
             joined_at = excluded.joined_at, left_at = excluded.left_at,
             computer = excluded.computer, telephone_audio = excluded.telephone_audio",
    )
    .bind(platform.as_str())
    .bind(meeting_id.as_str())
    .bind(participant.as_str())
    .bind(device.as_str())
    .bind(c.joined_at.map(millis))
    .bind(c.left_at.map(millis))
    .bind(c.computer)
    .bind(c.telephone_audio)
    .execute(&mut **tx)
    .await?;
    Ok(())
}

fn connection(row: &AnyRow) -> Result<Connection, StoreError> {
    Ok(Connection {
        joined_at: opt_time(row, "joined_at")?,
        left_at: opt_time(row, "left_at")?,
        computer: flag(row, "computer")?,
        telephone_audio: flag(row, "telephone_audio")?,
    })
}

/// Marks exactly the deliveries that were applied: ids are not committed in order on
/// PostgreSQL, so a range could take in one that this batch never saw.
async fn mark_processed(
    tx: &mut Transaction<'static, Any>,
    ids: &[i64],
    now: i64,
) -> Result<(), StoreError> {
    let placeholders: Vec<String> = (0..ids.len()).map(|i| format!("${}", i + 2)).collect();
    let sql =
        format!("UPDATE deliveries SET processed_at = $1 WHERE id IN ({})", placeholders.join(","));
    let mut query = sqlx::query(AssertSqlSafe(sql)).bind(now);
    for id in ids {
        query = query.bind(*id);
    }
    query.execute(&mut **tx).await?;
    Ok(())
}
