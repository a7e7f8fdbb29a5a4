//! [`SessionStore`] in SQL.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use sqlx::any::AnyRow;
use sqlx::{Any, AnyConnection, AssertSqlSafe, Row, Transaction};

use super::{SqlStore, SqlTx, backend_of, flag, millis, opt_time, parsed, storable_text, time_of};
use crate::metering::service::{Applied, SessionKey, WhenApplied};
use crate::metering::session::Session;
use crate::metering::{Connection, SessionTimes};
use crate::platform::{Inbound, Observation, PlatformKind};
use crate::store::{
    Backend, NewDelivery, Pending, QuarantinedDelivery, SessionRecord, SessionStore, StoreError,
};

/// Serialises appliers across instances sharing one PostgreSQL: merging is read-modify-write.
/// (SQLite's `BEGIN IMMEDIATE` already serialises them.)
const APPLY_LOCK: i64 = 0x746f6c6c; // "toll"

type ConnectionKey = (PlatformKind, String, String, String);

#[async_trait]
impl SessionStore for SqlStore {
    async fn store_deliveries(&self, deliveries: &[NewDelivery]) -> Result<u64, StoreError> {
        if deliveries.is_empty() {
            return Ok(0);
        }
        // One multi-row statement: one round trip and one commit for the whole batch. Only
        // placeholders are formatted into the SQL; every value is bound. The rows are padded
        // to a power of two with repeats of the last delivery (a repeat is a conflict, which
        // stores nothing), so that a connection prepares at most one statement per size and
        // then finds it in its cache: one round trip on PostgreSQL instead of two.
        let rows = deliveries.len().next_power_of_two();
        let insert = format!(
            "INSERT INTO deliveries (platform, digest, meeting_id, body, received_at) VALUES {}
             ON CONFLICT (platform, digest) DO NOTHING",
            Params::of(self.backend).rows(rows, 5)
        );
        // Each delivery stored is queued to be applied in the same statement (SQLite, which
        // has no `INSERT` in `WITH`, by a trigger: migration 0028).
        let sql = match self.backend {
            Backend::Postgres => format!(
                "WITH stored AS ({insert} RETURNING id, platform, meeting_id)
                 INSERT INTO pending_deliveries (id, platform, meeting_id)
                 SELECT id, platform, meeting_id FROM stored"
            ),
            Backend::Sqlite => insert,
        };
        let mut query = sqlx::query(AssertSqlSafe(sql));
        for d in padded(deliveries) {
            query = query
                .bind(d.platform.as_str())
                .bind(d.digest.as_str())
                .bind(d.meeting_id.as_str())
                .bind(d.body.as_str())
                .bind(millis(d.received_at));
        }
        // Kept before the commit, so that an applier pass that sees them committed finds them.
        // One whose commit fails is harmless: what it says is what its digest names, and it
        // is used only for a delivery the queue holds, such as the platform's retry of it.
        self.parsed.keep(deliveries);
        Ok(query.execute(&self.writer).await?.rows_affected())
    }

    async fn apply_deliveries(
        &self,
        which: Pending,
        after: &dyn WhenApplied,
    ) -> Result<usize, StoreError> {
        let applied = match self.backend {
            Backend::Postgres => {
                let mut tx = self.writer.begin().await?;
                sqlx::query("SELECT pg_advisory_xact_lock($1)")
                    .bind(APPLY_LOCK)
                    .execute(&mut *tx)
                    .await?;
                // The batch's reads are joins of `VALUES` keys on primary keys, which a cached
                // generic plan serves as well as one made for the values (D-250).
                let Some(batch) = read_batch(&mut tx, which, &self.parsed).await? else {
                    return Ok(0);
                };
                let applied = write_batch(&mut tx, &batch, after).await?;
                finish(tx, applied).await?
            }
            Backend::Sqlite => {
                // Read and merge before taking the write lock, so the writer of incoming
                // deliveries waits only for the short write below. Only the applier writes
                // sessions and connections, and the write checks that no other applier took
                // these deliveries meanwhile.
                let mut reader = self.pool.acquire().await?;
                let Some(batch) = read_batch(&mut reader, which, &self.parsed).await? else {
                    return Ok(0);
                };
                drop(reader);
                let mut tx = self.writer.begin_with("BEGIN IMMEDIATE").await?;
                let applied = write_batch(&mut tx, &batch, after).await?;
                finish(tx, applied).await?
            }
        };
        Ok(applied)
    }

    async fn pending_deliveries(&self, limit: usize) -> Result<Vec<i64>, StoreError> {
        let rows = sqlx::query("SELECT id FROM pending_deliveries ORDER BY id LIMIT $1")
            .bind(i64::try_from(limit).unwrap_or(i64::MAX))
            .fetch_all(&self.pool)
            .await?;
        rows.iter().map(|r| Ok(r.try_get("id")?)).collect()
    }

    async fn unapplied_deliveries(&self, up_to: u64) -> Result<u64, StoreError> {
        let n: i64 = sqlx::query(
            "SELECT COUNT(*) AS n FROM (
                 SELECT 1 FROM pending_deliveries LIMIT $1) AS waiting",
        )
        .bind(i64::try_from(up_to).unwrap_or(i64::MAX))
        .fetch_one(&self.pool)
        .await?
        .try_get("n")?;
        Ok(u64::try_from(n).unwrap_or(0))
    }

    async fn quarantine_delivery(&self, id: i64, why: &str) -> Result<bool, StoreError> {
        let mut tx = self.write().await?;
        if !take_pending(&mut tx, &[id]).await? {
            return Ok(false);
        }
        set_aside(&mut tx, id, why, millis(Utc::now())).await?;
        tx.commit().await?;
        Ok(true)
    }

    async fn quarantined_deliveries(
        &self,
        limit: usize,
    ) -> Result<Vec<QuarantinedDelivery>, StoreError> {
        let rows = sqlx::query(
            "SELECT id, platform, meeting_id, received_at, processed_at, error FROM deliveries
             WHERE error IS NOT NULL ORDER BY id DESC LIMIT $1",
        )
        .bind(i64::try_from(limit).unwrap_or(i64::MAX))
        .fetch_all(&self.pool)
        .await?;
        rows.iter()
            .map(|r| {
                let time = |column| {
                    opt_time(r, column)?
                        .ok_or(StoreError::Corrupt { column, reason: "missing".into() })
                };
                Ok(QuarantinedDelivery {
                    id: r.try_get("id")?,
                    platform: parsed(r, "platform")?,
                    meeting_id: r.try_get("meeting_id")?,
                    received_at: time("received_at")?,
                    quarantined_at: time("processed_at")?,
                    error: r.try_get("error")?,
                })
            })
            .collect()
    }

    async fn prune_deliveries(
        &self,
        before: DateTime<Utc>,
        limit: usize,
    ) -> Result<u64, StoreError> {
        // Kept for their retention from when they were received: an applied delivery has no
        // time of its own since D-252, and one is applied within a second of it.
        let done = sqlx::query(
            "DELETE FROM deliveries WHERE id IN (
                 SELECT d.id FROM deliveries d
                 WHERE d.received_at < $1 AND d.error IS NULL
                   AND NOT EXISTS (SELECT 1 FROM pending_deliveries p WHERE p.id = d.id)
                 ORDER BY d.id LIMIT $2)",
        )
        .bind(millis(before))
        .bind(i64::try_from(limit).unwrap_or(i64::MAX))
        .execute(&self.writer)
        .await?;
        Ok(done.rows_affected())
    }

    async fn session(
        &self,
        platform: PlatformKind,
        meeting_id: &str,
    ) -> Result<Option<SessionRecord>, StoreError> {
        let mut conn = self.pool.acquire().await?;
        // The queue is short (the ingest writer keeps it to about 4,000, D-244 and D-257, and
        // its dead rows are vacuumed every second on PostgreSQL, D-254): a walk of it costs
        // less than an index each stored and applied delivery would write to.
        let pending_sql = "SELECT COUNT(*) AS n FROM pending_deliveries
            WHERE platform = $1 AND meeting_id = $2";
        let pending: i64 = sqlx::query(pending_sql)
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
        let connections = load_connections_of(&mut conn, platform, meeting_id).await?;
        Ok(Some(SessionRecord {
            session,
            connections,
            pending_deliveries: u64::try_from(pending).unwrap_or(0),
        }))
    }
}

/// What [`session`] reads, from `sessions s`.
macro_rules! session_columns {
    () => {
        "s.platform, s.meeting_id, s.host_email, s.meeting_number, s.started_at, s.ended_at,
         s.ended_received_at, s.blocked, s.blocked_reason"
    };
}

pub(super) async fn load_session<'c, E>(
    executor: E,
    platform: PlatformKind,
    meeting_id: &str,
) -> Result<Option<Session>, StoreError>
where
    E: sqlx::Executor<'c, Database = Any>,
{
    let row = sqlx::query(concat!(
        "SELECT ",
        session_columns!(),
        " FROM sessions s WHERE s.platform = $1 AND s.meeting_id = $2"
    ))
    .bind(platform.as_str())
    .bind(meeting_id)
    .fetch_optional(executor)
    .await?;
    row.as_ref().map(session).transpose()
}

/// The rows `sql` gives for the sessions `keys`, where `sql` is built around `(VALUES …) AS
/// k`, the keys' platform as `k.column1` and meeting as `k.column2`: a batch reads every
/// session it touches in a few statements rather than one each, which were most of its round
/// trips. One statement per power-of-two share of the keys, at most 512 each. (A join, since
/// SQLite scans the whole table for `(platform, meeting_id) IN (VALUES …)`.)
pub(super) async fn rows_for_sessions(
    conn: &mut AnyConnection,
    keys: &[&SessionKey],
    sql: impl Fn(&str) -> String,
) -> Result<Vec<AnyRow>, StoreError> {
    let mut rows = Vec::new();
    for chunk in sized_chunks(keys, 512) {
        let values = Params::of(backend_of(conn)).rows(chunk.len(), 2);
        let sql = sql(&values);
        let mut query = sqlx::query(AssertSqlSafe(sql));
        for (platform, meeting_id) in chunk {
            query = query.bind(platform.as_str()).bind(meeting_id.as_str());
        }
        rows.extend(query.fetch_all(&mut *conn).await?);
    }
    Ok(rows)
}

fn session(row: &AnyRow) -> Result<Session, StoreError> {
    Ok(Session {
        platform: parsed(row, "platform")?,
        meeting_id: row.try_get("meeting_id")?,
        host_email: row.try_get("host_email")?,
        meeting_number: row.try_get("meeting_number")?,
        times: SessionTimes {
            started_at: opt_time(row, "started_at")?,
            ended_at: opt_time(row, "ended_at")?,
            ended_received_at: opt_time(row, "ended_received_at")?,
        },
        blocked: flag(row, "blocked")?,
        blocked_reason: row.try_get("blocked_reason")?,
    })
}

/// Every connection of a session, as one JSON array that the database builds: a row each
/// would cross sqlx's worker channel one at a time (on SQLite about 7 µs a row, a third of a
/// second for a session of 50,000 connections); one array of them is read and parsed in a
/// small part of that. Flags travel as 0 or 1 on both backends.
pub(super) async fn load_connections_of(
    conn: &mut AnyConnection,
    platform: PlatformKind,
    meeting_id: &str,
) -> Result<Vec<Connection>, StoreError> {
    let sql = match backend_of(conn) {
        Backend::Sqlite => {
            "SELECT json_group_array(json_array(joined_at, left_at, computer, telephone_audio))
                 AS connections
             FROM connections WHERE platform = $1 AND meeting_id = $2"
        }
        // One two-dimensional array turned into JSON at once: building a JSON value per row
        // (`json_agg(json_build_array(…))`) took a third longer for 50,000 connections.
        Backend::Postgres => {
            "SELECT array_to_json(array_agg(ARRAY[joined_at, left_at, computer::int,
                 telephone_audio::int]))::text AS connections
             FROM connections WHERE platform = $1 AND meeting_id = $2"
        }
    };
    let row =
        sqlx::query(sql).bind(platform.as_str()).bind(meeting_id).fetch_one(&mut *conn).await?;
    // PostgreSQL's aggregate of no rows is NULL, SQLite's is `[]`.
    let Some(text) = row.try_get::<Option<String>, _>("connections")? else {
        return Ok(Vec::new());
    };
    let rows: Vec<(Option<i64>, Option<i64>, u8, u8)> = serde_json::from_str(&text)
        .map_err(|e| StoreError::Corrupt { column: "connections", reason: e.to_string() })?;
    let time = |ms: Option<i64>| ms.map(|ms| time_of("connections", ms)).transpose();
    rows.into_iter()
        .map(|(joined_at, left_at, computer, telephone_audio)| {
            Ok(Connection {
                joined_at: time(joined_at)?,
                left_at: time(left_at)?,
                computer: computer != 0,
                telephone_audio: telephone_audio != 0,
            })
        })
        .collect()
}

/// Commits what a batch wrote, or rolls back the guard's partial marking when another applier
/// had taken the deliveries.
async fn finish(tx: Transaction<'_, Any>, applied: usize) -> Result<usize, StoreError> {
    if applied > 0 {
        tx.commit().await?;
    } else {
        tx.rollback().await?;
    }
    Ok(applied)
}

/// Deliveries read and merged into their sessions and connections, ready to be written.
struct Batch {
    ids: Vec<i64>,
    unreadable: Vec<(i64, String)>,
    connections: HashMap<ConnectionKey, Connection>,
    /// The sessions this batch touches, merged, and those it says started and ended, for the
    /// features to decide on.
    applied: Applied,
}

async fn read_batch(
    conn: &mut AnyConnection,
    which: Pending,
    kept: &Parsed,
) -> Result<Option<Batch>, StoreError> {
    // The ids are taken first, then looked up one by one: as a join of the two tables,
    // PostgreSQL's plan walked the key of every delivery kept up to the first pending one.
    // Only their digests are read: a delivery this process stored is applied as it was
    // parsed when it was received, and only the others' bodies are read and parsed.
    let query = match which {
        Pending::Oldest(limit) => sqlx::query(
            "SELECT id, platform, digest, received_at FROM deliveries
             WHERE id IN (SELECT id FROM pending_deliveries ORDER BY id LIMIT $1) ORDER BY id",
        )
        .bind(i64::try_from(limit).unwrap_or(i64::MAX)),
        Pending::One(id) => sqlx::query(
            "SELECT id, platform, digest, received_at FROM deliveries
             WHERE id IN (SELECT id FROM pending_deliveries WHERE id = $1)",
        )
        .bind(id),
    };
    let rows = query.fetch_all(&mut *conn).await?;
    if rows.is_empty() {
        return Ok(None);
    }
    let mut batch = Batch {
        ids: Vec::with_capacity(rows.len()),
        unreadable: Vec::new(),
        connections: HashMap::new(),
        applied: Applied::default(),
    };
    let mut stored = Vec::with_capacity(rows.len());
    for row in &rows {
        let id: i64 = row.try_get("id")?;
        batch.ids.push(id);
        let key = (parsed(row, "platform")?, row.try_get::<String, _>("digest")?);
        stored.push((id, key, opt_time(row, "received_at")?.unwrap_or_else(Utc::now)));
    }
    let mut found = kept.take(stored.iter().map(|(_, key, _)| key));
    let unparsed: Vec<i64> =
        stored.iter().zip(&found).filter(|(_, f)| f.is_none()).map(|((id, ..), _)| *id).collect();
    if !unparsed.is_empty() {
        metrics::counter!("webhook_delivery_bodies_read_total").increment(unparsed.len() as u64);
        let mut read = read_bodies(conn, &unparsed, &mut batch.unreadable).await?;
        for ((id, ..), f) in stored.iter().zip(&mut found) {
            if f.is_none() {
                *f = read.remove(id);
            }
        }
    }
    // In the order they were stored, as the applier always took them.
    let readings: Vec<_> = stored
        .into_iter()
        .zip(found)
        .filter_map(|((_, (platform, _), received_at), f)| {
            f.map(|(meeting_id, observations)| ((platform, meeting_id), observations, received_at))
        })
        .collect();
    // What the database already knows about the sessions and devices this batch touches.
    let mut participants: HashMap<SessionKey, Vec<String>> = HashMap::new();
    for (key, observations, _) in &readings {
        let names = participants.entry(key.clone()).or_default();
        for o in observations.iter() {
            if let Observation::Connected { participant, .. } = o {
                names.push(participant.clone());
            }
        }
    }
    let keys: Vec<&SessionKey> = participants.keys().collect();
    for row in rows_for_sessions(&mut *conn, &keys, |wanted| {
        format!(
            concat!(
                "SELECT ",
                session_columns!(),
                " FROM (VALUES {wanted}) AS k
                 JOIN sessions s ON s.platform = k.column1 AND s.meeting_id = k.column2"
            ),
            wanted = wanted
        )
    })
    .await?
    {
        let loaded = session(&row)?;
        batch.applied.sessions.insert((loaded.platform, loaded.meeting_id.clone()), loaded);
    }
    let mut wanted: Vec<(&SessionKey, &str)> = Vec::new();
    for (key, names) in &mut participants {
        match batch.applied.sessions.get(key) {
            Some(stored) if stored.times.has_ended() => {
                _ = batch.applied.after_end.insert(key.clone())
            }
            Some(_) => {}
            None => {
                _ = batch.applied.sessions.insert(key.clone(), Session::new(key.0, key.1.clone()))
            }
        }
        names.sort();
        names.dedup();
        wanted.extend(names.iter().map(|name| (&*key, name.as_str())));
    }
    for chunk in wanted.chunks(512) {
        load_connections(&mut *conn, chunk, &mut batch.connections).await?;
    }
    for ((platform, meeting_id), observations, received_at) in readings {
        let key = (platform, meeting_id);
        for observation in observations.iter() {
            if let Some(session) = batch.applied.sessions.get_mut(&key) {
                session.observe(observation, received_at);
            }
            match observation {
                Observation::Started { .. } => _ = batch.applied.started.insert(key.clone()),
                Observation::Ended { .. } => _ = batch.applied.ended.insert(key.clone()),
                Observation::Connected { .. } => {}
            }
            if let Observation::Connected { participant, device, connection } = observation {
                let ckey = (platform, key.1.clone(), participant.clone(), device.clone());
                batch.connections.entry(ckey).or_default().merge(connection);
            }
        }
    }
    Ok(Some(batch))
}

/// Reads and parses the stored bodies of `unparsed`, a statement per power-of-two share of
/// them: each delivery's meeting and what it says, by id. One that does not parse is to be
/// set aside with why.
async fn read_bodies(
    conn: &mut AnyConnection,
    unparsed: &[i64],
    unreadable: &mut Vec<(i64, String)>,
) -> Result<HashMap<i64, (String, Arc<[Observation]>)>, StoreError> {
    let mut read = HashMap::with_capacity(unparsed.len());
    for chunk in sized_chunks(unparsed, 512) {
        let ids = Params::of(backend_of(conn)).rows(1, chunk.len());
        let sql = format!("SELECT id, platform, body FROM deliveries WHERE id IN {ids}");
        let mut query = sqlx::query(AssertSqlSafe(sql));
        for id in chunk {
            query = query.bind(*id);
        }
        for row in query.fetch_all(&mut *conn).await? {
            let id: i64 = row.try_get("id")?;
            let platform: PlatformKind = parsed(&row, "platform")?;
            let body: String = row.try_get("body")?;
            match platform.adapter().parse(body.as_bytes()) {
                Ok(Inbound::Session { meeting_id, observations, .. }) => {
                    read.insert(id, (meeting_id, observations.into()));
                }
                Ok(_) => {}
                Err(e) => unreadable.push((id, e.to_string())),
            }
        }
    }
    Ok(read)
}

/// Deliveries this process stored, as they were parsed where they were received, by their
/// digest, until the applier takes them: each is parsed once, and its body is not read back.
/// Only a shortcut: the queue of pending deliveries says what is applied, and one not kept
/// here (stored by another instance or before a restart, or past the bound) is read and
/// parsed from the database. A digest names what an event says, so a duplicate kept here
/// says what the stored delivery does.
#[derive(Default)]
pub(super) struct Parsed(Mutex<HashMap<(PlatformKind, String), KeptDelivery>>);

impl std::fmt::Debug for Parsed {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let kept = self.0.lock().unwrap_or_else(PoisonError::into_inner).len();
        f.debug_struct("Parsed").field("kept", &kept).finish()
    }
}

struct KeptDelivery {
    meeting_id: String,
    observations: Arc<[Observation]>,
    kept_at: Instant,
}

impl Parsed {
    /// At most this many are kept: ten times the backlog past which acknowledgements wait.
    const MOST: usize = 40_000;
    /// One kept this long was applied by another instance, or was a duplicate: forgotten.
    const LONGEST: Duration = Duration::from_secs(60);

    /// Keeps what `stored` (being stored) were parsed into; the first kept of a digest
    /// stays.
    fn keep(&self, stored: &[NewDelivery]) {
        let mut kept = self.0.lock().unwrap_or_else(PoisonError::into_inner);
        for d in stored {
            let Some(observations) = &d.observations else { continue };
            if kept.len() >= Self::MOST {
                return;
            }
            kept.entry((d.platform, d.digest.clone())).or_insert_with(|| KeptDelivery {
                meeting_id: d.meeting_id.clone(),
                observations: observations.clone(),
                kept_at: Instant::now(),
            });
        }
    }

    /// Takes what the deliveries of these keys were parsed into, where kept: each one's
    /// meeting and what it says. Forgets those kept too long first.
    fn take<'k>(
        &self,
        keys: impl Iterator<Item = &'k (PlatformKind, String)>,
    ) -> Vec<Option<(String, Arc<[Observation]>)>> {
        let mut kept = self.0.lock().unwrap_or_else(PoisonError::into_inner);
        kept.retain(|_, d| d.kept_at.elapsed() < Self::LONGEST);
        keys.map(|key| kept.remove(key).map(|d| (d.meeting_id, d.observations))).collect()
    }
}

/// Writes a merged batch and lets `after` decide on what it started and ended, in the
/// caller's transaction; returns how many deliveries it applied, 0 if another applier took
/// them first (nothing is written then).
async fn write_batch(
    conn: &mut AnyConnection,
    batch: &Batch,
    after: &dyn WhenApplied,
) -> Result<usize, StoreError> {
    let now = millis(Utc::now());
    if !take_pending(&mut *conn, &batch.ids).await? {
        return Ok(0);
    }
    let sessions: Vec<&Session> = batch.applied.sessions.values().collect();
    for chunk in sized_chunks(&sessions, 512) {
        save_sessions(&mut *conn, chunk, now).await?;
    }
    let connections: Vec<(&ConnectionKey, &Connection)> = batch.connections.iter().collect();
    for chunk in sized_chunks(&connections, 512) {
        save_connections(&mut *conn, chunk).await?;
    }
    after.applied(&mut SqlTx(&mut *conn), &batch.applied, Utc::now()).await?;
    for (id, why) in &batch.unreadable {
        tracing::warn!(delivery = id, error = %why, "stored delivery cannot be read; quarantined");
        metrics::counter!("webhook_deliveries_quarantined_total").increment(1);
        set_aside(&mut *conn, *id, why, now).await?;
    }
    Ok(batch.ids.len())
}

/// `items` in chunks whose sizes are powers of two, largest first (at most `most`, itself a
/// power of two): a statement per size, which each connection prepares once and then finds in
/// its statement cache, instead of a new statement for every batch's count.
pub(super) fn sized_chunks<T>(items: &[T], most: usize) -> impl Iterator<Item = &[T]> {
    let mut rest = items;
    std::iter::from_fn(move || {
        if rest.is_empty() {
            return None;
        }
        let size = most.min(1 << rest.len().ilog2());
        let (chunk, after) = rest.split_at(size);
        rest = after;
        Some(chunk)
    })
}

/// `values` padded to a power of two with repeats of the last one, for an `IN` list (where a
/// repeat changes nothing) whose statement is then one of a few sizes; see [`sized_chunks`].
fn padded<T>(values: &[T]) -> impl Iterator<Item = &T> {
    let last = values.last();
    let pad = values.len().next_power_of_two() - values.len();
    values.iter().chain(std::iter::repeat_n(last, pad).flatten())
}

/// The placeholders of one statement, numbered from 1 in the order they are asked for, which
/// must be the order the values are bound in. On SQLite they are plain `?`: sqlx looks every
/// parameter's name up, and SQLite finds a name by walking the list of all of a statement's
/// names, so that numbered names cost time in the square of their count (the top entry of a
/// profile at 10,000 deliveries/s) while a plain `?` has no name to look for.
pub(super) struct Params {
    backend: Backend,
    next: usize,
}

impl Params {
    pub(super) fn of(backend: Backend) -> Params {
        Params { backend, next: 1 }
    }

    fn one(&mut self) -> String {
        self.next += 1;
        match self.backend {
            Backend::Postgres => format!("${}", self.next - 1),
            Backend::Sqlite => "?".to_owned(),
        }
    }

    /// `(…),(…)`: `rows` groups of `columns` placeholders.
    pub(super) fn rows(&mut self, rows: usize, columns: usize) -> String {
        (0..rows)
            .map(|_| {
                format!("({})", (0..columns).map(|_| self.one()).collect::<Vec<_>>().join(","))
            })
            .collect::<Vec<_>>()
            .join(",")
    }
}

async fn save_sessions(
    conn: &mut AnyConnection,
    sessions: &[&Session],
    now: i64,
) -> Result<(), StoreError> {
    let sql = format!(
        "INSERT INTO sessions (platform, meeting_id, host_email, meeting_number, started_at,
             ended_at, ended_received_at, blocked, created_at, updated_at)
         VALUES {}
         ON CONFLICT (platform, meeting_id) DO UPDATE SET host_email = excluded.host_email,
             meeting_number = excluded.meeting_number, started_at = excluded.started_at, ended_at = excluded.ended_at,
             ended_received_at = excluded.ended_received_at, blocked = excluded.blocked,
             updated_at = excluded.updated_at",
        Params::of(backend_of(conn)).rows(sessions.len(), 10)
    );
    let mut query = sqlx::query(AssertSqlSafe(sql));
    for s in sessions {
        let t = &s.times;
        query = query
            .bind(s.platform.as_str())
            .bind(s.meeting_id.as_str())
            .bind(s.host_email.as_deref())
            .bind(s.meeting_number.as_deref())
            .bind(t.started_at.map(millis))
            .bind(t.ended_at.map(millis))
            .bind(t.ended_received_at.map(millis))
            .bind(s.blocked)
            .bind(now)
            .bind(now);
    }
    query.execute(&mut *conn).await?;
    Ok(())
}

/// The stored connections of the participants among `wanted` (a session and a participant
/// each), in one statement for the whole batch, as [`rows_for_sessions`] reads sessions: a
/// statement a session was most of the applier's round trips on PostgreSQL.
async fn load_connections(
    conn: &mut AnyConnection,
    wanted: &[(&SessionKey, &str)],
    into: &mut HashMap<ConnectionKey, Connection>,
) -> Result<(), StoreError> {
    let keys = Params::of(backend_of(conn)).rows(wanted.len().next_power_of_two(), 3);
    let sql = format!(
        "SELECT c.platform, c.meeting_id, c.participant, c.device, c.joined_at, c.left_at,
             c.computer, c.telephone_audio
         FROM (VALUES {keys}) AS k
         JOIN connections c ON c.platform = k.column1 AND c.meeting_id = k.column2
             AND c.participant = k.column3"
    );
    let mut query = sqlx::query(AssertSqlSafe(sql));
    for ((platform, meeting_id), participant) in padded(wanted) {
        query = query.bind(platform.as_str()).bind(meeting_id.as_str()).bind(*participant);
    }
    // A padded key repeats the last one, whose rows come twice: the map keeps one.
    for row in query.fetch_all(&mut *conn).await? {
        let key = (
            parsed(&row, "platform")?,
            row.try_get("meeting_id")?,
            row.try_get("participant")?,
            row.try_get("device")?,
        );
        into.insert(key, connection(&row)?);
    }
    Ok(())
}

async fn save_connections(
    conn: &mut AnyConnection,
    connections: &[(&ConnectionKey, &Connection)],
) -> Result<(), StoreError> {
    let sql = format!(
        "INSERT INTO connections (platform, meeting_id, participant, device, joined_at, left_at,
             computer, telephone_audio)
         VALUES {}
         ON CONFLICT (platform, meeting_id, participant, device) DO UPDATE SET
             joined_at = excluded.joined_at, left_at = excluded.left_at,
             computer = excluded.computer, telephone_audio = excluded.telephone_audio",
        Params::of(backend_of(conn)).rows(connections.len(), 8)
    );
    let mut query = sqlx::query(AssertSqlSafe(sql));
    for ((platform, meeting_id, participant, device), c) in connections {
        query = query
            .bind(platform.as_str())
            .bind(meeting_id.as_str())
            .bind(participant.as_str())
            .bind(device.as_str())
            .bind(c.joined_at.map(millis))
            .bind(c.left_at.map(millis))
            .bind(c.computer)
            .bind(c.telephone_audio);
    }
    query.execute(&mut *conn).await?;
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

/// Takes exactly the given deliveries off the queue of pending ones, and only if none was
/// taken meanwhile (ids are not committed in order on PostgreSQL, so a range could take in one
/// never read).
async fn take_pending(conn: &mut AnyConnection, ids: &[i64]) -> Result<bool, StoreError> {
    let marked = Params::of(backend_of(conn)).rows(1, ids.len().next_power_of_two());
    let sql = format!("DELETE FROM pending_deliveries WHERE id IN {marked}");
    let mut query = sqlx::query(AssertSqlSafe(sql));
    for id in padded(ids) {
        query = query.bind(*id);
    }
    let taken = query.execute(&mut *conn).await?.rows_affected();
    Ok(taken == ids.len() as u64)
}

/// Keeps a delivery that cannot be applied, with why, for `GET /api/v1/quarantine`.
async fn set_aside(
    conn: &mut AnyConnection,
    id: i64,
    why: &str,
    now: i64,
) -> Result<(), StoreError> {
    sqlx::query("UPDATE deliveries SET processed_at = $1, error = $2 WHERE id = $3")
        .bind(now)
        .bind(storable_text(why))
        .bind(id)
        .execute(&mut *conn)
        .await?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn statements_come_in_a_few_sizes_whatever_the_count() {
        let items: Vec<u32> = (0..1300).collect();
        let sizes: Vec<usize> = sized_chunks(&items, 512).map(<[u32]>::len).collect();
        assert_eq!(sizes, [512, 512, 256, 16, 4]);
        let again: Vec<u32> = sized_chunks(&items, 512).flatten().copied().collect();
        assert_eq!(again, items, "every item once, in order");
        assert_eq!(sized_chunks(&items[..0], 512).count(), 0);

        let padded: Vec<u32> = padded(&items[..5]).copied().collect();
        assert_eq!(padded, [0, 1, 2, 3, 4, 4, 4, 4]);
        assert_eq!(super::padded(&items[..4]).count(), 4);
    }
}
