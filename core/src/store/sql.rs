//! [`Store`] on SQLite or PostgreSQL, chosen by the URL; one file per concept under `sql/`.

/// The columns a [`Payment`] is read from, as a macro so that queries stay static strings.
macro_rules! payment_columns {
    () => {
        "id, order_id, gateway, action, state, amount, captured, refunded, currency, reference,
         capture_ref, checkout_ref, checkout_token, version"
    };
}

/// The columns an [`Order`] is read from.
macro_rules! order_columns {
    () => {
        "id, kind, session, bound_kind, bound_platform, bound_id, payer, amount, currency,
         action, plan_minutes, plan_computers, plan_phones, person_minute,
         teleconference_minute, change_url, promotion_code_id, promotion_code, discount,
         created_at"
    };
}

mod discord_links;
mod invoices;
mod linking;
mod outbox;
mod pay_per_use;
mod payments;
mod port;
mod promotion_codes;
mod refunds;
mod registrations;
mod sessions;
mod settlement;
mod site;
mod webhook_secrets;

use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use sqlx::any::{AnyPoolOptions, AnyRow};
use sqlx::migrate::Migrator;
use sqlx::{Any, AnyConnection, AnyPool, AssertSqlSafe, Connection as _, Row, Transaction};

use super::{Backend, Begun, Store, StoreError, Tx};
use crate::email::Email;

static SQLITE_MIGRATIONS: Migrator = sqlx::migrate!("../migrations/sqlite");
static POSTGRES_MIGRATIONS: Migrator = sqlx::migrate!("../migrations/postgres");

#[derive(Clone, Debug)]
pub struct SqlStore {
    /// For reads (and everything on PostgreSQL).
    pool: AnyPool,
    /// For writes: on SQLite one connection of its own, so that writers queue in the process
    /// rather than on the file lock; on PostgreSQL the same pool.
    writer: AnyPool,
    backend: Backend,
    deadline: Duration,
    /// Deliveries this process stored, as they were parsed where they were received, until
    /// the applier takes them (see `sessions.rs`).
    parsed: Arc<sessions::Parsed>,
}

/// How long one database call may take before it counts as an outage, when not configured
/// (`database.timeout_secs`).
pub const DEFAULT_DEADLINE: Duration = Duration::from_secs(10);

impl SqlStore {
    /// Connects without migrating, with the default deadline.
    pub async fn connect(url: &str) -> Result<SqlStore, StoreError> {
        SqlStore::connect_with(url, DEFAULT_DEADLINE).await
    }

    /// Connects without migrating. SQLite files are created if missing and run in WAL mode.
    ///
    /// `deadline` bounds each call on the server's side too: PostgreSQL cancels a statement
    /// or lock wait that outlasts it and ends a session left idle inside a transaction (a
    /// client cut off by the network would otherwise hold its locks), and SQLite waits for
    /// the write lock that long.
    pub async fn connect_with(url: &str, deadline: Duration) -> Result<SqlStore, StoreError> {
        sqlx::any::install_default_drivers();
        let backend = Backend::from_url(url)?;
        let url = match backend {
            Backend::Sqlite if !url.contains("mode=") && !url.contains(":memory:") => {
                let sep = if url.contains('?') { '&' } else { '?' };
                format!("{url}{sep}mode=rwc")
            }
            _ => url.to_owned(),
        };
        let (pool, writer) = match backend {
            // SQLite takes one writer at a time. Writers that each had a connection would
            // queue on the file lock by sleeping in its busy handler (1, 2, 5, 10 … ms), so
            // every write goes through one connection of its own and writers queue in the
            // process instead, woken the moment it is free; reads use the other pool, beside
            // the writer (WAL).
            // An in-memory database lives in its one connection.
            Backend::Sqlite if url.contains(":memory:") => {
                let pool = connect_pool(&url, backend, deadline, 1).await?;
                (pool.clone(), pool)
            }
            Backend::Sqlite => {
                let writer = connect_pool(&url, backend, deadline, 1).await?;
                (connect_pool(&url, backend, deadline, 8).await?, writer)
            }
            Backend::Postgres => {
                let pool = connect_pool(&url, backend, deadline, 16).await?;
                (pool.clone(), pool)
            }
        };
        Ok(SqlStore { pool, writer, backend, deadline, parsed: Default::default() })
    }

    /// Applies the migrations on a connection of their own, without the statement deadline
    /// (a migration may rewrite a large table), which is then closed.
    pub async fn migrate(&self) -> Result<(), StoreError> {
        let migrator = match self.backend {
            Backend::Sqlite => &SQLITE_MIGRATIONS,
            Backend::Postgres => &POSTGRES_MIGRATIONS,
        };
        let mut done = self.migrate_once(migrator).await;
        // PostgreSQL's migrator holds an advisory lock; SQLite's has none, so a second process
        // opening the same new file at once finds a table the first just made. Its migration
        // rolled back, and a try after the first one finished finds everything applied. Each
        // try has a connection of its own: a failed one may have left its transaction open,
        // and every later `BEGIN` on it would fail.
        let mut tries = 1;
        while done.is_err() && self.backend == Backend::Sqlite && tries < 10 {
            tokio::time::sleep(Duration::from_millis(100 * tries)).await;
            tries += 1;
            done = self.migrate_once(migrator).await;
        }
        done?;
        self.normalise_emails().await
    }

    /// One run of `migrator` on a connection that is closed afterwards.
    async fn migrate_once(&self, migrator: &sqlx::migrate::Migrator) -> Result<(), StoreError> {
        let mut conn = self.writer.acquire().await?;
        if self.backend == Backend::Postgres {
            sqlx::query("SET statement_timeout = 0").execute(&mut *conn).await?;
        }
        let done = migrator.run(&mut *conn).await;
        conn.close_on_drop();
        Ok(done?)
    }

    /// Brings the e-mail addresses stored before migration 0015 to [`Email`]'s normal form,
    /// once: SQL cannot fold case alike on both backends, so Rust does it. An address whose
    /// normal form is stored already in the same column is left as it is (two rows would
    /// then collide), with a warning.
    async fn normalise_emails(&self) -> Result<(), StoreError> {
        const FIX: &str = "emails-normalised";
        const COLUMNS: [(&str, &str); 7] = [
            ("hosts", "email"),
            ("discord_links", "host_email"),
            ("orders", "payer"),
            ("registrations", "email"),
            ("paid_starts", "host_email"),
            ("charges", "host_email"),
            ("scheduled_sessions", "host_email"),
        ];
        let mut tx = self.write().await?;
        let fixed = sqlx::query("SELECT name FROM data_fixes WHERE name = $1")
            .bind(FIX)
            .fetch_optional(&mut *tx)
            .await?;
        if fixed.is_some() {
            return Ok(());
        }
        for (table, column) in COLUMNS {
            // Table and column names come from the list above, never from input.
            let values =
                sqlx::query(AssertSqlSafe(format!("SELECT DISTINCT {column} AS v FROM {table}")))
                    .fetch_all(&mut *tx)
                    .await?;
            for row in &values {
                let stored: String = row.try_get("v")?;
                let Ok(normal) = stored.parse::<Email>() else { continue };
                if normal.as_str() == stored {
                    continue;
                }
                let taken: i64 = sqlx::query(AssertSqlSafe(format!(
                    "SELECT COUNT(*) AS n FROM {table} WHERE {column} = $1"
                )))
                .bind(normal.as_str())
                .fetch_one(&mut *tx)
                .await?
                .try_get("n")?;
                if taken > 0 {
                    tracing::warn!(
                        table,
                        column,
                        address = stored,
                        "e-mail address left as stored: its normal form is stored already"
                    );
                    continue;
                }
                sqlx::query(AssertSqlSafe(format!(
                    "UPDATE {table} SET {column} = $1 WHERE {column} = $2"
                )))
                .bind(normal.as_str())
                .bind(stored.as_str())
                .execute(&mut *tx)
                .await?;
            }
        }
        // Another process opening the database at the same moment may have done it too: the
        // fix is idempotent, and it is recorded once.
        sqlx::query(
            "INSERT INTO data_fixes (name, done_at) VALUES ($1, $2) ON CONFLICT (name) DO NOTHING",
        )
        .bind(FIX)
        .bind(millis(Utc::now()))
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(())
    }

    pub async fn close(&self) {
        self.pool.close().await;
        self.writer.close().await;
    }

    /// A write transaction. SQLite's must take the write lock up front (`IMMEDIATE`): a
    /// deferred one that reads first fails with SQLITE_BUSY instead of waiting its turn.
    async fn write(&self) -> Result<Transaction<'static, Any>, StoreError> {
        Ok(match self.backend {
            Backend::Sqlite => self.writer.begin_with("BEGIN IMMEDIATE").await?,
            Backend::Postgres => self.writer.begin().await?,
        })
    }
}

/// Reads map the database file rather than copy each page through `read()`: a bill reads all
/// of a session's connections, and in a profile of the session API on 50,000 connections
/// half the time went to copying pages from the kernel. Mapped pages are the kernel's page
/// cache, shared by the connections and given back under memory pressure; writes still go
/// through the write-ahead log.
const MAP_DATABASE: &str = "PRAGMA mmap_size = 268435456";

/// A PostgreSQL connection idle this long is pinged before it is used again (HikariCP's
/// `aliveBypassWindowMs` is 500 ms).
const PING_AFTER_IDLE: Duration = Duration::from_secs(1);

/// A pool of up to `max_connections` with tollbooth's settings on each new connection.
async fn connect_pool(
    url: &str,
    backend: Backend,
    deadline: Duration,
    max_connections: u32,
) -> Result<AnyPool, StoreError> {
    let ms = deadline.as_millis();
    let pool = AnyPoolOptions::new()
        .max_connections(max_connections)
        .acquire_timeout(deadline.min(Duration::from_secs(5)))
        // sqlx would ping every pooled connection before handing it out. A SQLite connection
        // is a file in this process that cannot go stale; a PostgreSQL one can, once it has
        // sat idle (a restarted server, a dropped network), but one given back moments ago was
        // pinged then. Each ping is one more round trip before every statement, every commit
        // of the ingest writer among them.
        .test_before_acquire(false)
        .before_acquire(move |conn, meta| {
            Box::pin(async move {
                if backend == Backend::Postgres && meta.idle_for >= PING_AFTER_IDLE {
                    conn.ping().await?;
                }
                Ok(true)
            })
        })
        .after_connect(move |conn, _| {
            Box::pin(async move {
                let settings = match backend {
                    // WAL lets readers run beside the writer; NORMAL is durable in WAL mode
                    // except on power loss, where the last commits may roll back.
                    // A commit checkpoints the log itself once it holds 100,000 pages (about
                    // 400 MB), stalling every delivery waiting on it for two flushes; under
                    // sustained writes only that starts the log over, so the threshold sets
                    // how often it happens: at full load about every 2 s, not 4–6 times a
                    // second as at 10,000 (D-260). `serve` copies pages beside the writer
                    // meanwhile.
                    Backend::Sqlite => vec![
                        "PRAGMA journal_mode = WAL".to_owned(),
                        "PRAGMA synchronous = NORMAL".to_owned(),
                        "PRAGMA wal_autocheckpoint = 100000".to_owned(),
                        "PRAGMA foreign_keys = ON".to_owned(),
                        format!("PRAGMA busy_timeout = {ms}"),
                        MAP_DATABASE.to_owned(),
                    ],
                    Backend::Postgres => vec![
                        format!("SET statement_timeout = {ms}"),
                        format!("SET lock_timeout = {ms}"),
                        format!("SET idle_in_transaction_session_timeout = {}", ms * 6),
                    ],
                };
                for setting in settings {
                    sqlx::query(AssertSqlSafe(setting)).execute(&mut *conn).await?;
                }
                Ok(())
            })
        })
        // sqlx pings every connection given back to the pool, without a timeout: on a
        // connection the network has stalled that ping waits forever and holds a place in the
        // pool. While calls are being abandoned at their deadline (a stall), each released
        // connection is pinged first within the deadline, and one that misses it is closed;
        // otherwise this adds nothing to a release.
        .after_release(move |conn, _| {
            Box::pin(async move {
                if !super::calls_abandoned_lately() {
                    return Ok(true);
                }
                // An error makes sqlx drop the connection without a goodbye, which could wait
                // on the same silent network.
                match tokio::time::timeout(deadline, conn.ping()).await {
                    Ok(pinged) => pinged.map(|()| true),
                    Err(_) => Err(sqlx::Error::Io(std::io::ErrorKind::TimedOut.into())),
                }
            })
        })
        .connect(url)
        .await?;
    Ok(pool)
}

/// An error text as stored beside what it is about: without NULs (which PostgreSQL's text
/// cannot hold) and short, since it may quote what a sender sent.
pub(crate) fn storable_text(text: &str) -> String {
    const LONGEST_CHARS: usize = 1000;
    text.chars().filter(|c| *c != '\0').take(LONGEST_CHARS).collect()
}

/// The transactional port ([`Tx`], implemented in `sql/port.rs`) on `C`: a transaction a
/// workflow opened, or a connection inside one the store holds.
struct SqlTx<C>(C);

/// A rule of the schema that refused a statement.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Constraint {
    Unique,
    ForeignKey,
    Check,
}

impl Constraint {
    /// Which rule refused the statement, when one did.
    pub(crate) fn of(e: &sqlx::Error) -> Option<Constraint> {
        let sqlx::Error::Database(db) = e else { return None };
        if db.is_unique_violation() {
            Some(Constraint::Unique)
        } else if db.is_foreign_key_violation() {
            Some(Constraint::ForeignKey)
        } else if db.is_check_violation() {
            Some(Constraint::Check)
        } else {
            None
        }
    }
}

/// The one place a refused constraint becomes an error that says what was wrong: `what` when
/// one of `rules` refused the statement, any other error as usual.
pub(crate) fn refused(
    e: sqlx::Error,
    rules: &[Constraint],
    what: impl FnOnce() -> StoreError,
) -> StoreError {
    match Constraint::of(&e) {
        Some(rule) if rules.contains(&rule) => what(),
        _ => e.into(),
    }
}

type AnyQuery<'q> = sqlx::query::Query<'q, Any, sqlx::any::AnyArguments>;

/// Binds each of `values` in turn, for the placeholders [`list`] wrote.
pub(crate) fn bind_each<'q, T>(
    query: AnyQuery<'q>,
    values: impl IntoIterator<Item = T>,
) -> AnyQuery<'q>
where
    T: 'q + Send + sqlx::Encode<'q, Any> + sqlx::Type<Any>,
{
    values.into_iter().fold(query, |query, value| query.bind(value))
}

/// `$first,…`: `n` numbered placeholders, for a list of values bound one by one (`IN (…)`).
pub(crate) fn list(first: usize, n: usize) -> String {
    (first..first + n).map(|i| format!("${i}")).collect::<Vec<_>>().join(",")
}

/// Which database a connection talks to, for the few statements whose SQL differs.
pub(crate) fn backend_of(conn: &AnyConnection) -> Backend {
    match conn.backend_name() {
        "PostgreSQL" => Backend::Postgres,
        _ => Backend::Sqlite,
    }
}

pub(crate) fn millis(t: DateTime<Utc>) -> i64 {
    t.timestamp_millis()
}

pub(crate) fn opt_time(
    row: &AnyRow,
    column: &'static str,
) -> Result<Option<DateTime<Utc>>, StoreError> {
    row.try_get::<Option<i64>, _>(column)?.map(|ms| time_of(column, ms)).transpose()
}

/// A stored time (milliseconds since the epoch) read from `column`.
pub(crate) fn time_of(column: &'static str, ms: i64) -> Result<DateTime<Utc>, StoreError> {
    DateTime::from_timestamp_millis(ms)
        .ok_or_else(|| StoreError::Corrupt { column, reason: format!("{ms} is not a time") })
}

/// Booleans are `BOOLEAN` on PostgreSQL and `INTEGER` on SQLite, whose `Any` mapping has none.
pub(crate) fn flag(row: &AnyRow, column: &'static str) -> Result<bool, StoreError> {
    match row.try_get::<bool, _>(column) {
        Ok(b) => Ok(b),
        Err(_) => Ok(row.try_get::<i64, _>(column)? != 0),
    }
}

pub(crate) fn parsed<T>(row: &AnyRow, column: &'static str) -> Result<T, StoreError>
where
    T: std::str::FromStr,
    T::Err: std::fmt::Display,
{
    let text: String = row.try_get(column)?;
    text.parse().map_err(|e: T::Err| StoreError::Corrupt { column, reason: e.to_string() })
}

#[async_trait]
impl Store for SqlStore {
    fn backend(&self) -> Backend {
        self.backend
    }

    fn deadline(&self) -> Duration {
        self.deadline
    }

    async fn begin(&self) -> Result<Box<dyn Begun>, StoreError> {
        Ok(Box::new(SqlTx(self.write().await?)))
    }

    async fn read(&self) -> Result<Box<dyn Tx>, StoreError> {
        Ok(Box::new(SqlTx(self.pool.begin().await?)))
    }

    async fn checkpoint(&self) -> Result<(), StoreError> {
        match self.backend {
            Backend::Sqlite => {
                sqlx::query("PRAGMA wal_checkpoint(PASSIVE)").execute(&self.pool).await?;
            }
            // Every delivery passes through the queue, and each leaves a dead row and index
            // entry that every read of the queue walks until a vacuum: about 300,000 of them
            // after the benchmark, which made a session's pending count a 30 MB scan where
            // autovacuum is off or behind. A vacuum that another instance's holds is skipped.
            Backend::Postgres => {
                sqlx::raw_sql("VACUUM (SKIP_LOCKED) pending_deliveries")
                    .execute(&self.pool)
                    .await?;
            }
        }
        Ok(())
    }

    async fn ping(&self) -> Result<(), StoreError> {
        sqlx::query("SELECT 1").execute(&self.pool).await?;
        Ok(())
    }

    async fn probe_write(&self, at: DateTime<Utc>) -> Result<(), StoreError> {
        sqlx::query(
            "INSERT INTO write_probe (id, written_at) VALUES (1, $1)
             ON CONFLICT (id) DO UPDATE SET written_at = excluded.written_at",
        )
        .bind(millis(at))
        .execute(&self.writer)
        .await?;
        Ok(())
    }
}
