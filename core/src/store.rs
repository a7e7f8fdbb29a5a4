//! The storage interface the rest of tollbooth talks to, and how to open it from a URL.
//!
//! One SQL implementation serves both backends through sqlx's `Any` driver: SQLite is the
//! embedded default and PostgreSQL is what several instances share. Each backend has its own
//! migrations (`migrations/sqlite`, `migrations/postgres`); the queries themselves are written
//! in the dialect both understand (`$n` parameters, `ON CONFLICT`, `RETURNING`).

mod discord_links;
mod outbox;
mod pay_per_use;
mod payments;
mod registrations;
mod sessions;
mod site;
mod sql;
mod webhook_secrets;

use async_trait::async_trait;
use chrono::{DateTime, Utc};

use crate::billing::SessionPayment;
use crate::platform::PlatformKind;
use crate::pricing::Prices;

pub use discord_links::DiscordLinkStore;
pub use outbox::OutboxStore;
pub use pay_per_use::PayPerUseStore;
pub use payments::{CallbackRecord, PaymentStore, StepState, Transition};
pub use registrations::{Cancelled, Registered, RegistrationStore};
pub use sessions::{NewDelivery, SessionRecord, SessionStore};
pub use site::{PriceSource, SiteStore, Switches};
pub use sql::SqlStore;
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
    /// The database cannot be reached; callers answer 503 so that senders retry.
    #[error("database unavailable")]
    Unavailable(#[source] sqlx::Error),
    #[error("{0} not found")]
    NotFound(String),
    /// Input that the database refused, such as a host in a division that does not exist.
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

/// Everything tollbooth keeps, one concept trait per file under `store/`.
#[async_trait]
pub trait Store:
    SiteStore
    + SessionStore
    + PaymentStore
    + WebhookSecretStore
    + DiscordLinkStore
    + OutboxStore
    + PayPerUseStore
    + RegistrationStore
    + Send
    + Sync
    + 'static
{
    fn backend(&self) -> Backend;

    /// Succeeds when the database answers a query.
    async fn ping(&self) -> Result<(), StoreError>;

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
    let store = SqlStore::connect(url).await?;
    store.migrate().await?;
    Ok(store)
}
