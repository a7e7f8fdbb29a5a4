//! The storage interface the rest of tollbooth talks to, and how to open it from a URL.
//!
//! One SQL implementation serves both backends through sqlx's `Any` driver: SQLite is the
//! embedded default and PostgreSQL is what several instances share. Each backend has its own
//! migrations (`migrations/sqlite`, `migrations/postgres`); the queries themselves are written
//! in the dialect both understand (`$n` parameters, `ON CONFLICT`, `RETURNING`).

mod sql;

use async_trait::async_trait;
use chrono::{DateTime, Utc};

use crate::money::Country;
use crate::pricing::Prices;
use crate::site::{Division, DivisionId, Host, HostEmail, SiteSettings};

pub use sql::SqlStore;

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
    /// The database cannot be reached; callers answer 503 so that senders retry.
    #[error("database unavailable")]
    Unavailable(#[source] sqlx::Error),
    #[error("{0} not found")]
    NotFound(String),
    /// Input that the database refused, such as a host in a division that does not exist.
    #[error("{0}")]
    Invalid(String),
    /// A value in the database that no longer parses: a bug or a manual edit.
    #[error("stored value {column} is invalid: {reason}")]
    Corrupt { column: &'static str, reason: String },
    #[error("database error")]
    Database(#[source] sqlx::Error),
    #[error("migration failed")]
    Migrate(#[from] sqlx::migrate::MigrateError),
}

impl From<sqlx::Error> for StoreError {
    fn from(e: sqlx::Error) -> Self {
        match e {
            sqlx::Error::Io(_)
            | sqlx::Error::Tls(_)
            | sqlx::Error::PoolTimedOut
            | sqlx::Error::PoolClosed
            | sqlx::Error::WorkerCrashed => StoreError::Unavailable(e),
            other => StoreError::Database(other),
        }
    }
}

/// Who changed the prices: the operator's configuration or an administrator in chat.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PriceSource {
    Config,
    Admin,
}

impl PriceSource {
    fn as_str(self) -> &'static str {
        match self {
            PriceSource::Config => "config",
            PriceSource::Admin => "admin",
        }
    }
}

/// The switches an administrator turns on and off.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Switches {
    pub ecommerce_enabled: bool,
    pub pay_per_use_enabled: bool,
    pub fee_based_enabled: bool,
}

#[async_trait]
pub trait Store: Send + Sync + 'static {
    fn backend(&self) -> Backend;

    /// Succeeds when the database answers a query.
    async fn ping(&self) -> Result<(), StoreError>;

    /// Makes the site match the operator's configuration when that configuration changed since
    /// it was last applied; changes an administrator made since then are kept otherwise.
    /// Returns whether anything was written.
    async fn apply_config(&self, country: Country, prices: &Prices) -> Result<bool, StoreError>;

    async fn site_settings(&self) -> Result<SiteSettings, StoreError>;
    async fn set_switches(&self, switches: Switches) -> Result<(), StoreError>;
    async fn set_country(&self, country: Country) -> Result<(), StoreError>;

    /// Records a new version of the price list, in force from `from`. Returns its version.
    async fn set_prices(
        &self,
        prices: &Prices,
        from: DateTime<Utc>,
        source: PriceSource,
    ) -> Result<i64, StoreError>;
    /// The prices in force at `at` (the latest version that started at or before it).
    async fn prices_at(&self, at: DateTime<Utc>) -> Result<Prices, StoreError>;

    async fn put_division(&self, division: &Division) -> Result<(), StoreError>;
    async fn divisions(&self) -> Result<Vec<Division>, StoreError>;
    async fn division(&self, id: &DivisionId) -> Result<Option<Division>, StoreError>;

    async fn put_host(&self, host: &Host) -> Result<(), StoreError>;
    async fn host(&self, email: &HostEmail) -> Result<Option<Host>, StoreError>;
}

/// Opens the database at `url` (creating an SQLite file if missing) and applies migrations.
pub async fn open(url: &str) -> Result<SqlStore, StoreError> {
    let store = SqlStore::connect(url).await?;
    store.migrate().await?;
    Ok(store)
}
