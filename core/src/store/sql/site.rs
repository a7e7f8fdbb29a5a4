//! [`SiteStore`] in SQL.

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use rust_decimal::Decimal;
use sqlx::any::{AnyQueryResult, AnyRow};
use sqlx::{Any, AnyConnection, Row, Transaction};

use super::{Constraint, SqlStore, flag, millis, parsed, refused};
use crate::email::Email;
use crate::fee_based::refunds::CancellationTerms;
use crate::money::{Country, Currency};
use crate::payments::method::{self, Method};
use crate::pricing::Prices;
use crate::site::{Division, DivisionId, Host, OverBudgetPolicy, Setup, SiteSettings};
use crate::store::{PriceSource, SiteStore, StoreError, Switches};
use crate::time::Tz;

/// A price list from a row's `currency`, `person_minute` and `teleconference_minute`.
pub(super) fn prices(row: &AnyRow) -> Result<Prices, StoreError> {
    Ok(Prices {
        currency: parsed::<Currency>(row, "currency")?,
        person_minute: parsed::<Decimal>(row, "person_minute")?,
        teleconference_minute: parsed::<Decimal>(row, "teleconference_minute")?,
    })
}

/// The prices in force at `at`, read on `conn` (a caller's transaction, say). Before the
/// first version, the first version applies: there were no other prices.
pub(super) async fn prices_in_force(
    conn: &mut AnyConnection,
    at: DateTime<Utc>,
) -> Result<Prices, StoreError> {
    let row = sqlx::query(
        "SELECT currency, person_minute, teleconference_minute FROM price_versions
         ORDER BY CASE WHEN effective_from <= $1 THEN 0 ELSE 1 END,
                  CASE WHEN effective_from <= $1 THEN -effective_from ELSE effective_from END,
                  id DESC
         LIMIT 1",
    )
    .bind(millis(at))
    .fetch_optional(&mut *conn)
    .await?
    .ok_or_else(|| StoreError::NotFound("price list".into()))?;
    prices(&row)
}

/// The site's settings are one row, written by [`SiteStore::apply_config`] before any change.
fn settings_updated(done: AnyQueryResult) -> Result<(), StoreError> {
    if done.rows_affected() == 0 {
        return Err(StoreError::NotFound("site settings".into()));
    }
    Ok(())
}

#[async_trait]
impl SiteStore for SqlStore {
    async fn apply_config(
        &self,
        country: Country,
        timezone: Tz,
        wanted: &Prices,
    ) -> Result<bool, StoreError> {
        let mut tx = self.write().await?;
        let applied = sqlx::query(
            "SELECT country, timezone, currency, person_minute, teleconference_minute
             FROM applied_config WHERE id = 1",
        )
        .fetch_optional(&mut *tx)
        .await?;
        let (country_changed, timezone_changed, prices_changed) = match &applied {
            None => (true, true, true),
            Some(row) => (
                parsed::<Country>(row, "country")? != country,
                parsed::<Tz>(row, "timezone")? != timezone,
                prices(row)? != *wanted,
            ),
        };
        if !country_changed && !timezone_changed && !prices_changed {
            return Ok(false);
        }
        let now = millis(Utc::now());
        // A fresh site starts off; on one that exists, only what the configuration changed is
        // written over an administrator's choice.
        sqlx::query(
            "INSERT INTO site_settings (id, ecommerce_enabled, pay_per_use_enabled,
                 fee_based_enabled, country, timezone, updated_at)
             VALUES (1, $1, $1, $1, $2, $3, $4)
             ON CONFLICT (id) DO NOTHING",
        )
        .bind(false)
        .bind(country.code())
        .bind(timezone.name())
        .bind(now)
        .execute(&mut *tx)
        .await?;
        if country_changed {
            sqlx::query("UPDATE site_settings SET country = $1, updated_at = $2 WHERE id = 1")
                .bind(country.code())
                .bind(now)
                .execute(&mut *tx)
                .await?;
        }
        if timezone_changed {
            sqlx::query("UPDATE site_settings SET timezone = $1, updated_at = $2 WHERE id = 1")
                .bind(timezone.name())
                .bind(now)
                .execute(&mut *tx)
                .await?;
        }
        if prices_changed {
            insert_prices(&mut tx, wanted, now, PriceSource::Config).await?;
        }
        sqlx::query(
            "INSERT INTO applied_config (id, country, timezone, currency, person_minute,
                 teleconference_minute, applied_at)
             VALUES (1, $1, $2, $3, $4, $5, $6)
             ON CONFLICT (id) DO UPDATE SET country = excluded.country,
                 timezone = excluded.timezone, currency = excluded.currency,
                 person_minute = excluded.person_minute,
                 teleconference_minute = excluded.teleconference_minute,
                 applied_at = excluded.applied_at",
        )
        .bind(country.code())
        .bind(timezone.name())
        .bind(wanted.currency.code())
        .bind(wanted.person_minute.to_string())
        .bind(wanted.teleconference_minute.to_string())
        .bind(now)
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(true)
    }

    async fn site_settings(&self) -> Result<SiteSettings, StoreError> {
        let row = sqlx::query(
            "SELECT ecommerce_enabled, pay_per_use_enabled, fee_based_enabled, country,
                 payment_methods, over_budget, default_division, timezone, cancel_until_hours,
                 cancellation_fee_percent
             FROM site_settings WHERE id = 1",
        )
        .fetch_optional(&self.pool)
        .await?
        .ok_or_else(|| StoreError::NotFound("site settings".into()))?;
        let methods: Option<String> = row.try_get("payment_methods")?;
        let payment_methods = methods
            .map(|text| method::parse_list(&text))
            .transpose()
            .map_err(|reason| StoreError::Corrupt { column: "payment_methods", reason })?;
        Ok(SiteSettings {
            ecommerce_enabled: flag(&row, "ecommerce_enabled")?,
            pay_per_use_enabled: flag(&row, "pay_per_use_enabled")?,
            fee_based_enabled: flag(&row, "fee_based_enabled")?,
            country: parsed(&row, "country")?,
            prices: self.prices_at(Utc::now()).await?,
            payment_methods,
            over_budget: parsed(&row, "over_budget")?,
            default_division: row
                .try_get::<Option<String>, _>("default_division")?
                .map(|d| {
                    d.parse().map_err(|e| StoreError::corrupt("site_settings.default_division", e))
                })
                .transpose()?,
            timezone: parsed(&row, "timezone")?,
            cancellation: CancellationTerms {
                until_hours: row
                    .try_get::<Option<i64>, _>("cancel_until_hours")?
                    .map(|h| {
                        u32::try_from(h)
                            .map_err(|e| StoreError::corrupt("site_settings.cancel_until_hours", e))
                    })
                    .transpose()?,
                fee_percent: parsed(&row, "cancellation_fee_percent")?,
            },
        })
    }

    async fn set_switches(&self, s: Switches) -> Result<(), StoreError> {
        let done = sqlx::query(
            "UPDATE site_settings SET ecommerce_enabled = $1, pay_per_use_enabled = $2,
                 fee_based_enabled = $3, updated_at = $4 WHERE id = 1",
        )
        .bind(s.ecommerce_enabled)
        .bind(s.pay_per_use_enabled)
        .bind(s.fee_based_enabled)
        .bind(millis(Utc::now()))
        .execute(&self.writer)
        .await?;
        settings_updated(done)
    }

    async fn set_country(&self, country: Country) -> Result<(), StoreError> {
        let done =
            sqlx::query("UPDATE site_settings SET country = $1, updated_at = $2 WHERE id = 1")
                .bind(country.code())
                .bind(millis(Utc::now()))
                .execute(&self.writer)
                .await?;
        settings_updated(done)
    }

    async fn set_payment_methods(&self, methods: Option<&[Method]>) -> Result<(), StoreError> {
        let done = sqlx::query(
            "UPDATE site_settings SET payment_methods = $1, updated_at = $2 WHERE id = 1",
        )
        .bind(methods.map(method::join))
        .bind(millis(Utc::now()))
        .execute(&self.writer)
        .await?;
        settings_updated(done)
    }

    async fn set_default_division(&self, division: &DivisionId) -> Result<(), StoreError> {
        let done = sqlx::query(
            "UPDATE site_settings SET default_division = $1, updated_at = $2 WHERE id = 1",
        )
        .bind(division.as_str())
        .bind(millis(Utc::now()))
        .execute(&self.writer)
        .await
        .map_err(|e| {
            refused(e, &[Constraint::ForeignKey], || {
                StoreError::Invalid(format!("no division `{division}`"))
            })
        })?;
        settings_updated(done)
    }

    async fn set_over_budget(&self, policy: OverBudgetPolicy) -> Result<(), StoreError> {
        let done =
            sqlx::query("UPDATE site_settings SET over_budget = $1, updated_at = $2 WHERE id = 1")
                .bind(policy.as_str())
                .bind(millis(Utc::now()))
                .execute(&self.writer)
                .await?;
        settings_updated(done)
    }

    async fn set_timezone(&self, timezone: Tz) -> Result<(), StoreError> {
        let done =
            sqlx::query("UPDATE site_settings SET timezone = $1, updated_at = $2 WHERE id = 1")
                .bind(timezone.name())
                .bind(millis(Utc::now()))
                .execute(&self.writer)
                .await?;
        settings_updated(done)
    }

    async fn set_cancellation(&self, terms: &CancellationTerms) -> Result<(), StoreError> {
        let done = sqlx::query(
            "UPDATE site_settings SET cancel_until_hours = $1, cancellation_fee_percent = $2,
                 updated_at = $3
             WHERE id = 1",
        )
        .bind(terms.until_hours.map(i64::from))
        .bind(terms.fee_percent.to_string())
        .bind(millis(Utc::now()))
        .execute(&self.writer)
        .await?;
        settings_updated(done)
    }

    async fn set_up(&self, setup: &Setup, now: DateTime<Utc>) -> Result<(), StoreError> {
        let mut tx = self.write().await?;
        let division = &setup.default_division;
        sqlx::query(
            "INSERT INTO divisions (id, name, created_at) VALUES ($1, $2, $3)
             ON CONFLICT (id) DO UPDATE SET name = excluded.name",
        )
        .bind(division.id.as_str())
        .bind(division.name.as_str())
        .bind(millis(now))
        .execute(&mut *tx)
        .await?;
        let done = sqlx::query(
            "UPDATE site_settings SET ecommerce_enabled = $1, pay_per_use_enabled = $2,
                 fee_based_enabled = $3, country = $4, default_division = $5, updated_at = $6
             WHERE id = 1",
        )
        .bind(true)
        .bind(setup.features.pay_per_use)
        .bind(setup.features.fee_based)
        .bind(setup.country.code())
        .bind(division.id.as_str())
        .bind(millis(now))
        .execute(&mut *tx)
        .await?;
        settings_updated(done)?;
        insert_prices(&mut tx, &setup.prices, millis(now), PriceSource::Admin).await?;
        tx.commit().await?;
        Ok(())
    }

    async fn set_prices(
        &self,
        prices: &Prices,
        from: DateTime<Utc>,
        source: PriceSource,
    ) -> Result<i64, StoreError> {
        let mut tx = self.write().await?;
        let version = insert_prices(&mut tx, prices, millis(from), source).await?;
        tx.commit().await?;
        Ok(version)
    }

    async fn prices_at(&self, at: DateTime<Utc>) -> Result<Prices, StoreError> {
        prices_in_force(&mut *self.pool.acquire().await?, at).await
    }

    async fn put_division(&self, division: &Division) -> Result<(), StoreError> {
        sqlx::query(
            "INSERT INTO divisions (id, name, created_at) VALUES ($1, $2, $3)
             ON CONFLICT (id) DO UPDATE SET name = excluded.name",
        )
        .bind(division.id.as_str())
        .bind(division.name.as_str())
        .bind(millis(Utc::now()))
        .execute(&self.writer)
        .await?;
        Ok(())
    }

    async fn divisions(&self) -> Result<Vec<Division>, StoreError> {
        sqlx::query("SELECT id, name FROM divisions ORDER BY id")
            .fetch_all(&self.pool)
            .await?
            .iter()
            .map(division)
            .collect()
    }

    async fn division(&self, id: &DivisionId) -> Result<Option<Division>, StoreError> {
        sqlx::query("SELECT id, name FROM divisions WHERE id = $1")
            .bind(id.as_str())
            .fetch_optional(&self.pool)
            .await?
            .as_ref()
            .map(division)
            .transpose()
    }

    async fn put_host(&self, host: &Host) -> Result<(), StoreError> {
        sqlx::query(
            "INSERT INTO hosts (email, division_id, created_at) VALUES ($1, $2, $3)
             ON CONFLICT (email) DO UPDATE SET division_id = excluded.division_id",
        )
        .bind(host.email.as_str())
        .bind(host.division.as_ref().map(|d| d.as_str().to_owned()))
        .bind(millis(Utc::now()))
        .execute(&self.writer)
        .await
        .map_err(|e| {
            refused(e, &[Constraint::ForeignKey, Constraint::Check], || {
                StoreError::Invalid(format!(
                    "division `{}` does not exist",
                    host.division.as_ref().map_or("", |d| d.as_str())
                ))
            })
        })?;
        Ok(())
    }

    async fn host(&self, email: &Email) -> Result<Option<Host>, StoreError> {
        let row = sqlx::query("SELECT email, division_id FROM hosts WHERE email = $1")
            .bind(email.as_str())
            .fetch_optional(&self.pool)
            .await?;
        let Some(row) = row else { return Ok(None) };
        let division: Option<String> = row.try_get("division_id")?;
        Ok(Some(Host {
            email: parsed(&row, "email")?,
            division: division.map(|d| d.parse()).transpose().map_err(
                |e: crate::site::BadDivisionId| StoreError::Corrupt {
                    column: "division_id",
                    reason: e.to_string(),
                },
            )?,
        }))
    }
}

fn division(row: &AnyRow) -> Result<Division, StoreError> {
    Ok(Division { id: parsed(row, "id")?, name: row.try_get("name")? })
}

async fn insert_prices(
    tx: &mut Transaction<'static, Any>,
    prices: &Prices,
    from_ms: i64,
    source: PriceSource,
) -> Result<i64, StoreError> {
    let row = sqlx::query(
        "INSERT INTO price_versions (currency, person_minute, teleconference_minute,
             effective_from, source)
         VALUES ($1, $2, $3, $4, $5) RETURNING id",
    )
    .bind(prices.currency.code())
    .bind(prices.person_minute.to_string())
    .bind(prices.teleconference_minute.to_string())
    .bind(from_ms)
    .bind(source.as_str())
    .fetch_one(&mut **tx)
    .await?;
    Ok(row.try_get("id")?)
}
