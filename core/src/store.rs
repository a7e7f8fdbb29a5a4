//! The storage interface the rest of tollbooth talks to, and how to open it from a URL.
//!
//! One SQL implementation serves both backends through sqlx's `Any` driver: SQLite is the
//! embedded default and PostgreSQL is what several instances share. Each backend has its own
//! migrations (`migrations/sqlite`, `migrations/postgres`); the queries themselves are written
//! in the dialect both understand (`$n` parameters, `ON CONFLICT`, `RETURNING`).

mod discord_links;
mod invoices;
mod linking;
mod outbox;
mod pay_per_use;
mod payments;
mod port;
mod promotion_codes;
mod registrations;
mod sessions;
mod settlement;
mod site;
mod sql;
mod webhook_secrets;

use async_trait::async_trait;
use chrono::{DateTime, Utc};

use crate::pay_per_use::billing::SessionPayment;
use crate::platform::PlatformKind;
use crate::pricing::Prices;

pub use discord_links::DiscordLinkStore;
pub use invoices::InvoiceStore;
pub use linking::{LinkingStore, SelfLink};
pub use outbox::{OutboxStore, QuarantinedEffect};
pub use pay_per_use::PayPerUseStore;
pub use payments::{CallbackRecord, PaymentStore, StepState, Transition};
pub use port::{Begun, DecidedStart, PaidStart, Tx};
pub use promotion_codes::PromotionCodeStore;
pub use registrations::{Registered, RegistrationStore};
pub use sessions::{NewDelivery, Pending, QuarantinedDelivery, SessionRecord, SessionStore};
pub use settlement::SettlementStore;
pub use site::{PriceSource, SiteStore, Switches};
pub use sql::{DEFAULT_DEADLINE, SqlStore};
pub use webhook_secrets::WebhookSecretStore;

/// Which database a store runs on.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

impl Backend {
    pub fn from_url(url: &str) -> Result<Backend, StoreError> {
        match url.split(':').next() {
            Some("sqlite") => Ok(Backend::Sqlite),
            Some("postgres" | "postgresql") => Ok(Backend::Postgres),
            _ => Err(StoreError::Invalid(format!(
                "database URL must start with sqlite: or postgres:, got `{}`",
                url.split(':').next().unwrap_or_default()
            ))),
        }
    }

    pub fn name(self) -> &'static str {
        match self {
            Backend::Sqlite => "sqlite",
            Backend::Postgres => "postgres",
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// The database cannot do its work for now (see [`Outage`]); callers answer 503 with
    /// `Retry-After` so that senders retry, and workers try again with backoff.
    #[error("database unavailable: {cause}")]
    Unavailable {
        cause: Outage,
        #[source]
        source: Option<sqlx::Error>,
    },
    #[error("{0} not found")]
    NotFound(String),
    /// Input that the database refused, such as a host in a division that does not exist, or
    /// text it cannot hold.
    #[error("{0}")]
    Invalid(String),
    /// Another attendee holds an open registration for the session with this e-mail address
    /// (in any case): the platform would hand them that attendee's registrant and join link.
    #[error("another attendee has registered for {session} with {email}")]
    EmailTaken { session: String, email: String },
    /// A value in the database that no longer parses: a bug or a manual edit.
    #[error("stored value {column} is invalid: {reason}")]
    Corrupt { column: &'static str, reason: String },
    #[error("database error")]
    Database(#[source] sqlx::Error),
    #[error("migration failed")]
    Migrate(#[from] sqlx::migrate::MigrateError),
}

/// Why the database cannot do its work for now. Each passes without a restart once its cause
/// is mended: the pool opens new connections as they are needed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Outage {
    /// No connection could be opened or had in time (refused, TLS, pool timed out or closed).
    Unreachable,
    /// A connection broke while in use (reset, closed, shut down by the server).
    ConnectionLost,
    /// The database named in the URL does not exist (dropped, or not created yet).
    MissingDatabase,
    DiskFull,
    /// The database takes no writes (a read-only file or a standby server).
    ReadOnly,
    /// Reading or writing the database's files failed.
    Io,
    /// Busy, locked or out of resources: a statement or lock wait ran out of time on the
    /// server, or a serialisation conflict asks for a retry.
    Busy,
    /// A call passed the deadline tollbooth gives it (see [`Deadlines`]).
    Deadline,
}

impl Outage {
    pub fn as_str(self) -> &'static str {
        match self {
            Outage::Unreachable => "unreachable",
            Outage::ConnectionLost => "connection lost",
            Outage::MissingDatabase => "database missing",
            Outage::DiskFull => "disk full",
            Outage::ReadOnly => "read-only",
            Outage::Io => "storage I/O error",
            Outage::Busy => "busy",
            Outage::Deadline => "deadline passed",
        }
    }

    /// What a database error means for whether to retry: SQLite result codes (the primary
    /// code is the low byte of the extended one) and PostgreSQL SQLSTATEs.
    fn of(e: &sqlx::Error) -> Option<Outage> {
        use std::io::ErrorKind;
        match e {
            sqlx::Error::Io(io) => Some(match io.kind() {
                ErrorKind::ConnectionRefused | ErrorKind::NotFound | ErrorKind::TimedOut => {
                    Outage::Unreachable
                }
                _ => Outage::ConnectionLost,
            }),
            sqlx::Error::Tls(_) | sqlx::Error::PoolTimedOut | sqlx::Error::PoolClosed => {
                Some(Outage::Unreachable)
            }
            // A connection cut during set-up or mid-answer reads as garbled protocol.
            sqlx::Error::WorkerCrashed | sqlx::Error::Protocol(_) => Some(Outage::ConnectionLost),
            sqlx::Error::Database(db) => {
                let code = db.code()?;
                // SQLSTATEs may be all digits too: the driver says which kind of code it is.
                let sqlite = db.try_downcast_ref::<sqlx::sqlite::SqliteError>().is_some();
                match code.parse::<i64>().ok().filter(|_| sqlite) {
                    Some(extended) => match extended & 0xff {
                        5..=7 => Some(Outage::Busy), // BUSY, LOCKED, NOMEM
                        8 => Some(Outage::ReadOnly),
                        10 => Some(Outage::Io),
                        13 => Some(Outage::DiskFull),
                        14 => Some(Outage::Unreachable), // CANTOPEN
                        _ => None,
                    },
                    None => match code.as_ref() {
                        "53100" => Some(Outage::DiskFull),
                        "3D000" | "57P04" => Some(Outage::MissingDatabase),
                        "25006" => Some(Outage::ReadOnly),
                        "58030" => Some(Outage::Io),
                        "57014" => Some(Outage::Deadline), // statement_timeout
                        "57P01" | "57P02" | "57P03" => Some(Outage::Unreachable),
                        "57P05" | "25P03" => Some(Outage::ConnectionLost),
                        "55P03" | "40001" | "40P01" => Some(Outage::Busy),
                        c if c.starts_with("08") => Some(Outage::ConnectionLost),
                        c if c.starts_with("53") => Some(Outage::Busy),
                        _ => None,
                    },
                }
            }
            _ => None,
        }
    }
}

impl std::fmt::Display for Outage {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

impl StoreError {
    /// A stored value that does not read as what `column` holds.
    pub fn corrupt(column: &'static str, reason: impl ToString) -> StoreError {
        StoreError::Corrupt { column, reason: reason.to_string() }
    }

    /// A call that passed its deadline.
    pub fn deadline() -> StoreError {
        StoreError::Unavailable { cause: Outage::Deadline, source: None }
    }

    /// True when trying again later may succeed: the database, not the data, is at fault.
    pub fn is_unavailable(&self) -> bool {
        matches!(self, StoreError::Unavailable { .. })
    }
}

impl From<sqlx::Error> for StoreError {
    fn from(e: sqlx::Error) -> Self {
        if let Some(cause) = Outage::of(&e) {
            return StoreError::Unavailable { cause, source: Some(e) };
        }
        // Text PostgreSQL cannot hold (a NUL), or a value past a limit (an index entry over
        // 2,704 bytes): the data is at fault, and retrying cannot help.
        let refused = match &e {
            sqlx::Error::Database(db) => match db.code().as_deref() {
                Some("22021") => Some("a text value contains a NUL character"),
                Some("54000") => Some("a value is too long to store"),
                Some(c) if c.starts_with("22") => {
                    Some("a value is out of the range the database accepts")
                }
                _ => None,
            },
            _ => None,
        };
        match refused {
            Some(why) => StoreError::Invalid(why.to_owned()),
            None => StoreError::Database(e),
        }
    }
}

/// Everything tollbooth keeps, one concept trait per file under `store/`.
#[async_trait]
pub trait Store:
    SiteStore
    + SessionStore
    + PaymentStore
    + WebhookSecretStore
    + DiscordLinkStore
    + LinkingStore
    + OutboxStore
    + PayPerUseStore
    + RegistrationStore
    + PromotionCodeStore
    + SettlementStore
    + InvoiceStore
    + Send
    + Sync
    + 'static
{
    fn backend(&self) -> Backend;

    /// How long one call may take before it counts as an outage ([`Outage::Deadline`]); the
    /// server enforces it too where it can (see [`SqlStore::connect_with`]).
    fn deadline(&self) -> std::time::Duration;

    /// A write transaction for a workflow to decide in (see [`Tx`]); dropped without
    /// [`Begun::commit`], it rolls back.
    async fn begin(&self) -> Result<Box<dyn Begun>, StoreError>;

    /// A transaction for a workflow that only reads (it takes no write lock, and is rolled
    /// back when dropped): one consistent view of what a decision would be taken on.
    async fn read(&self) -> Result<Box<dyn Tx>, StoreError>;

    /// Moves what SQLite's write-ahead log holds into the database file, as far as it can
    /// without waiting for readers or the writer; on PostgreSQL, vacuums the queue of pending
    /// deliveries. Run beside the writer (`serve`'s checkpointer), so that no commit waits for
    /// it.
    async fn checkpoint(&self) -> Result<(), StoreError>;

    /// Succeeds when the database answers a query.
    async fn ping(&self) -> Result<(), StoreError>;

    /// Succeeds when the database takes a write (one row, overwritten each time): a full disk,
    /// a read-only file or a standby server answer reads but not this.
    async fn probe_write(&self, at: DateTime<Utc>) -> Result<(), StoreError>;

    /// How a session is paid, and the prices it is billed at: its order's when pay-per-use
    /// paid for it (DESIGN: "or when it was paid"), else those in force when it `started`.
    async fn session_pricing(
        &self,
        platform: PlatformKind,
        meeting_id: &str,
        started: DateTime<Utc>,
    ) -> Result<(Option<SessionPayment>, Prices), StoreError> {
        let payment = self.session_payment(platform, meeting_id).await?;
        let prices = match payment.as_ref().and_then(|p| p.prices.clone()) {
            Some(prices) => prices,
            None => self.prices_at(started).await?,
        };
        Ok((payment, prices))
    }
}

/// Opens the database at `url` (creating an SQLite file if missing) and applies migrations.
pub async fn open(url: &str) -> Result<SqlStore, StoreError> {
    open_with(url, sql::DEFAULT_DEADLINE).await
}

/// As [`open`], with `deadline` for each database call.
pub async fn open_with(url: &str, deadline: std::time::Duration) -> Result<SqlStore, StoreError> {
    let store = SqlStore::connect_with(url, deadline).await?;
    store.migrate().await?;
    Ok(store)
}

/// Runs `call` within `deadline`: a call that outlasts it is dropped (its connection is closed
/// rather than reused) and fails as [`Outage::Deadline`]. For work that the server's own
/// timeouts cannot bound, such as waiting on a network that went silent.
pub async fn within<T>(
    deadline: std::time::Duration,
    call: impl std::future::Future<Output = Result<T, StoreError>>,
) -> Result<T, StoreError> {
    tokio::time::timeout(deadline, call).await.unwrap_or_else(|_| {
        LAST_ABANDONED.store(now_secs(), std::sync::atomic::Ordering::Relaxed);
        Err(StoreError::deadline())
    })
}

/// When [`within`] last abandoned a call, in seconds since the Unix epoch (0: never).
static LAST_ABANDONED: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);

/// How long after an abandoned call released connections are checked before reuse.
const CHECK_RELEASES_FOR_SECS: u64 = 300;

fn now_secs() -> u64 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.as_secs())
}

/// Whether a call was abandoned at its deadline in the last few minutes: the network or the
/// database may be stalled, so connections given back to the pool are checked (see
/// [`SqlStore::connect_with`]).
fn calls_abandoned_lately() -> bool {
    let last = LAST_ABANDONED.load(std::sync::atomic::Ordering::Relaxed);
    last != 0 && now_secs().saturating_sub(last) < CHECK_RELEASES_FOR_SECS
}
