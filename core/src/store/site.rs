//! Site settings, the versioned price list, divisions and hosts.

use async_trait::async_trait;
use chrono::{DateTime, Utc};

use super::StoreError;
use crate::email::Email;
use crate::fee_based::refunds::CancellationTerms;
use crate::money::Country;
use crate::payments::method::Method;
use crate::pricing::Prices;
use crate::site::{Division, DivisionId, Host, OverBudgetPolicy, Setup, SiteSettings};
use crate::time::Tz;

/// Who changed the prices: the operator's configuration or an administrator in chat.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PriceSource {
    Config,
    Admin,
}

impl PriceSource {
    pub(crate) fn as_str(self) -> &'static str {
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
pub trait SiteStore {
    /// Makes the site match the operator's configuration when that configuration changed since
    /// it was last applied; changes an administrator made since then are kept otherwise.
    /// Returns whether anything was written.
    async fn apply_config(
        &self,
        country: Country,
        timezone: Tz,
        prices: &Prices,
    ) -> Result<bool, StoreError>;

    async fn site_settings(&self) -> Result<SiteSettings, StoreError>;
    async fn set_switches(&self, switches: Switches) -> Result<(), StoreError>;
    /// Names the division hosts who link themselves land in; the division must exist.
    async fn set_default_division(&self, division: &DivisionId) -> Result<(), StoreError>;
    async fn set_country(&self, country: Country) -> Result<(), StoreError>;
    /// The administrator's choice of payment methods; `None` goes back to every configured one.
    async fn set_payment_methods(&self, methods: Option<&[Method]>) -> Result<(), StoreError>;
    async fn set_over_budget(&self, policy: OverBudgetPolicy) -> Result<(), StoreError>;
    async fn set_timezone(&self, timezone: Tz) -> Result<(), StoreError>;
    async fn set_cancellation(&self, terms: &CancellationTerms) -> Result<(), StoreError>;
    /// Applies all of `setup` or, failing, none of it. The prices are in force from `now`.
    async fn set_up(&self, setup: &Setup, now: DateTime<Utc>) -> Result<(), StoreError>;

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
    async fn host(&self, email: &Email) -> Result<Option<Host>, StoreError>;
}
