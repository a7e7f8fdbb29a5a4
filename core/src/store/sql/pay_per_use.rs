//! [`PayPerUseStore`] in SQL, and the reads and writes the pay-per-use workflows
//! (`pay_per_use::service`) make on the transactional port. Nothing here decides: the
//! states a query looks for are bound as values by its caller.

use std::collections::{HashMap, HashSet};

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use sqlx::any::AnyRow;
use sqlx::{AnyConnection, AssertSqlSafe, Row};

use super::payments::{amount, corrupt, order, payment, time};
use super::sessions::{Params, rows_for_sessions, sized_chunks};
use super::site::prices;
use super::{Constraint, SqlStore, backend_of, bind_each, flag, list, millis, parsed, refused};
use crate::email::Email;
use crate::metering::service::SessionKey;
use crate::money::{Currency, Money};
use crate::outbox::Recipient;
use crate::pay_per_use::billing::{self, Charge, Month, SessionPayment, Spend};
use crate::pay_per_use::enforcement::Exemption;
use crate::payments::order::{Order, OrderId};
use crate::payments::payment::{PaymentId, State};
use crate::platform::PlatformKind;
use crate::pricing::{Cost, CostLine};
use crate::site::DivisionId;
use crate::store::{DecidedStart, PaidStart, PayPerUseStore, StoreError};

/// The columns a [`Charge`] is read from; its reference is its payment's capture's, known
/// only once the capture went through (`charges.payment_reference`, the authorisation's,
/// is no longer written).
macro_rules! charge_columns {
    () => {
        "order_id, platform, meeting_id, host_email, division_id, currency, person_minutes,
         teleconference_minutes, person_minute, teleconference_minute, person, teleconference,
         total, authorised, captured, outstanding, started_at, ended_at,
         (SELECT p.capture_ref FROM payments p WHERE p.id = charges.payment_id)
             AS payment_reference"
    };
}
pub(super) use charge_columns;

pub(super) async fn pay_per_use_on(conn: &mut AnyConnection) -> Result<bool, StoreError> {
    let site = sqlx::query(
        "SELECT ecommerce_enabled, pay_per_use_enabled FROM site_settings WHERE id = 1",
    )
    .fetch_optional(&mut *conn)
    .await?;
    match &site {
        Some(row) => Ok(flag(row, "ecommerce_enabled")? && flag(row, "pay_per_use_enabled")?),
        None => Ok(false),
    }
}

pub(super) async fn division_of(
    conn: &mut AnyConnection,
    host: &Email,
) -> Result<Option<DivisionId>, StoreError> {
    sqlx::query("SELECT division_id FROM hosts WHERE email = $1")
        .bind(host.as_str())
        .fetch_optional(&mut *conn)
        .await?
        .map(|r| r.try_get::<Option<String>, _>("division_id"))
        .transpose()?
        .flatten()
        .map(|d| d.parse().map_err(|e| corrupt("hosts.division_id", e)))
        .transpose()
}

pub(super) async fn exempt(conn: &mut AnyConnection, host: &Email) -> Result<bool, StoreError> {
    let mut subjects = vec![Exemption::Host(host.clone()).subject()];
    if let Some(division) = division_of(conn, host).await? {
        subjects.push(Exemption::Division(division).subject());
    }
    let sql = format!(
        "SELECT COUNT(*) AS n FROM pay_per_use_exemptions WHERE subject IN ({})",
        list(1, subjects.len())
    );
    let query = bind_each(sqlx::query(AssertSqlSafe(sql)), subjects);
    Ok(query.fetch_one(&mut *conn).await?.try_get::<i64, _>("n")? > 0)
}

pub(super) async fn unused_session_orders(
    conn: &mut AnyConnection,
    payer: &Email,
    state: State,
) -> Result<Vec<Order>, StoreError> {
    sqlx::query(concat!(
        "SELECT ",
        order_columns!(),
        " FROM orders o
         WHERE o.kind = 'session' AND o.payer = $1
           AND EXISTS (SELECT 1 FROM payments p WHERE p.order_id = o.id AND p.state = $2)
           AND NOT EXISTS (SELECT 1 FROM paid_starts s WHERE s.order_id = o.id)
         ORDER BY o.created_at, o.id"
    ))
    .bind(payer.as_str())
    .bind(state.as_str())
    .fetch_all(&mut *conn)
    .await?
    .iter()
    .map(order)
    .collect()
}

pub(super) async fn newest_session_order_without(
    conn: &mut AnyConnection,
    payer: &Email,
    states: &[State],
) -> Result<Option<OrderId>, StoreError> {
    let sql = format!(
        "SELECT o.id FROM orders o
         WHERE o.kind = 'session' AND o.payer = $1
           AND NOT EXISTS (SELECT 1 FROM payments p WHERE p.order_id = o.id
                           AND p.state IN ({}))
         ORDER BY o.created_at DESC, o.id DESC LIMIT 1",
        list(2, states.len())
    );
    let query = bind_each(
        sqlx::query(AssertSqlSafe(sql)).bind(payer.as_str()),
        states.iter().map(|s| s.as_str()),
    );
    let row = query.fetch_optional(&mut *conn).await?;
    row.map(|r| parsed(&r, "id")).transpose()
}

pub(super) async fn outstanding_charges(
    conn: &mut AnyConnection,
    host: &Email,
) -> Result<Vec<Money>, StoreError> {
    sqlx::query("SELECT outstanding, currency FROM charges WHERE host_email = $1")
        .bind(host.as_str())
        .fetch_all(&mut *conn)
        .await?
        .iter()
        .map(|r| amount(r, "outstanding", parsed(r, "currency")?))
        .collect()
}

pub(super) async fn balance_orders_paid(
    conn: &mut AnyConnection,
    host: &Email,
    except: Option<&OrderId>,
    state: State,
) -> Result<Vec<Money>, StoreError> {
    sqlx::query(
        "SELECT o.amount, o.currency FROM orders o
         WHERE o.kind = 'balance' AND o.payer = $1 AND o.id <> $2
           AND EXISTS (SELECT 1 FROM payments p WHERE p.order_id = o.id AND p.state = $3)",
    )
    .bind(host.as_str())
    .bind(except.map(OrderId::as_str).unwrap_or_default())
    .bind(state.as_str())
    .fetch_all(&mut *conn)
    .await?
    .iter()
    .map(|r| amount(r, "amount", parsed(r, "currency")?))
    .collect()
}

pub(super) async fn host_recipient(
    conn: &mut AnyConnection,
    host: &Email,
) -> Result<Option<Recipient>, StoreError> {
    let row = sqlx::query(
        "SELECT discord_user_id, lang FROM discord_links WHERE host_email = $1
         ORDER BY linked_at DESC LIMIT 1",
    )
    .bind(host.as_str())
    .fetch_optional(&mut *conn)
    .await?;
    row.map(|r| {
        Ok(Recipient { discord_user_id: parsed(&r, "discord_user_id")?, lang: parsed(&r, "lang")? })
    })
    .transpose()
}

pub(super) async fn decided_starts(
    conn: &mut AnyConnection,
    sessions: &[&SessionKey],
) -> Result<HashSet<SessionKey>, StoreError> {
    let rows = rows_for_sessions(conn, sessions, |wanted| {
        format!(
            "SELECT s.platform, s.meeting_id FROM (VALUES {wanted}) AS k
             JOIN sessions s ON s.platform = k.column1 AND s.meeting_id = k.column2
             WHERE s.start_decision IS NOT NULL"
        )
    })
    .await?;
    rows.iter().map(|r| Ok((parsed(r, "platform")?, r.try_get("meeting_id")?))).collect()
}

/// Records each start's decision on its session, a statement per power-of-two share of them
/// (as [`rows_for_sessions`] reads) rather than one each: they were one of the applier's two
/// writes made a session at a time. Both databases name the columns of `VALUES` column1….
pub(super) async fn record_start_decisions(
    conn: &mut AnyConnection,
    decided: &[DecidedStart],
) -> Result<(), StoreError> {
    for chunk in sized_chunks(decided, 512) {
        let values = Params::of(backend_of(conn)).rows(chunk.len(), 5);
        let sql = format!(
            "UPDATE sessions SET start_decision = k.column3, blocked = k.column4,
                 blocked_reason = k.column5
             FROM (VALUES {values}) AS k
             WHERE sessions.platform = k.column1 AND sessions.meeting_id = k.column2"
        );
        let mut query = sqlx::query(AssertSqlSafe(sql));
        for d in chunk {
            let (platform, meeting_id) = &d.session;
            query = query
                .bind(platform.as_str())
                .bind(meeting_id.as_str())
                .bind(d.decision.as_str())
                .bind(d.blocked_reason.is_some())
                .bind(d.blocked_reason.as_deref());
        }
        query.execute(&mut *conn).await?;
    }
    Ok(())
}

pub(super) async fn record_paid_start(
    conn: &mut AnyConnection,
    order: &OrderId,
    platform: PlatformKind,
    meeting_id: &str,
    host: &Email,
    at: DateTime<Utc>,
) -> Result<(), StoreError> {
    sqlx::query(
        "INSERT INTO paid_starts (order_id, platform, meeting_id, host_email, used_at)
         VALUES ($1, $2, $3, $4, $5)",
    )
    .bind(order.as_str())
    .bind(platform.as_str())
    .bind(meeting_id)
    .bind(host.as_str())
    .bind(millis(at))
    .execute(&mut *conn)
    .await?;
    Ok(())
}

pub(super) async fn uncharged_paid_starts(
    conn: &mut AnyConnection,
    sessions: &[&SessionKey],
) -> Result<HashMap<SessionKey, PaidStart>, StoreError> {
    let rows = rows_for_sessions(conn, sessions, |wanted| {
        format!(
            "SELECT s.platform, s.meeting_id, s.order_id, s.host_email, o.currency,
                    o.person_minute, o.teleconference_minute
             FROM (VALUES {wanted}) AS k
             JOIN paid_starts s ON s.platform = k.column1 AND s.meeting_id = k.column2
             JOIN orders o ON o.id = s.order_id
             WHERE NOT EXISTS (SELECT 1 FROM charges c WHERE c.order_id = s.order_id)"
        )
    })
    .await?;
    rows.iter()
        .map(|r| {
            let paid = PaidStart {
                order: parsed(r, "order_id")?,
                host: parsed(r, "host_email")?,
                prices: prices(r)?,
            };
            Ok(((parsed(r, "platform")?, r.try_get("meeting_id")?), paid))
        })
        .collect()
}

pub(super) async fn charge_of_payment(
    conn: &mut AnyConnection,
    payment: &PaymentId,
) -> Result<Option<Charge>, StoreError> {
    let row =
        sqlx::query(concat!("SELECT ", charge_columns!(), " FROM charges WHERE payment_id = $1"))
            .bind(payment.as_str())
            .fetch_optional(&mut *conn)
            .await?;
    row.as_ref().map(charge).transpose()
}

pub(super) async fn resettle_charge(
    conn: &mut AnyConnection,
    order: &str,
    captured: Money,
    outstanding: Money,
    at: DateTime<Utc>,
) -> Result<bool, StoreError> {
    let done = sqlx::query(
        "UPDATE charges SET captured = $1, outstanding = $2, capture_refused_at = $3
         WHERE order_id = $4 AND capture_refused_at IS NULL",
    )
    .bind(captured.to_string())
    .bind(outstanding.to_string())
    .bind(millis(at))
    .bind(order)
    .execute(&mut *conn)
    .await?;
    Ok(done.rows_affected() == 1)
}

pub(super) async fn insert_charge(
    conn: &mut AnyConnection,
    c: &Charge,
    payment_id: &str,
    now: DateTime<Utc>,
) -> Result<(), StoreError> {
    sqlx::query(
        "INSERT INTO charges (order_id, platform, meeting_id, host_email, division_id, currency,
             person_minutes, teleconference_minutes, person_minute, teleconference_minute,
             person, teleconference, total, authorised, captured, outstanding, payment_id,
             started_at, ended_at, billed_at)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17,
             $18, $19, $20)",
    )
    .bind(c.order.as_str())
    .bind(c.platform.as_str())
    .bind(c.meeting_id.as_str())
    .bind(c.host_email.as_str())
    .bind(c.division.as_ref().map(|d| d.as_str().to_owned()))
    .bind(c.cost.currency.code())
    .bind(i64::try_from(c.cost.person.minutes).unwrap_or(i64::MAX))
    .bind(i64::try_from(c.cost.teleconference.minutes).unwrap_or(i64::MAX))
    .bind(c.cost.person.price_per_minute.to_string())
    .bind(c.cost.teleconference.price_per_minute.to_string())
    .bind(c.cost.person.amount.to_string())
    .bind(c.cost.teleconference.amount.to_string())
    .bind(c.cost.total.to_string())
    .bind(c.authorised.to_string())
    .bind(c.captured.to_string())
    .bind(c.outstanding.to_string())
    .bind(payment_id)
    .bind(millis(c.started_at))
    .bind(millis(c.ended_at))
    .bind(millis(now))
    .execute(&mut *conn)
    .await?;
    Ok(())
}

pub(super) fn charge(row: &AnyRow) -> Result<Charge, StoreError> {
    let currency: Currency = parsed(row, "currency")?;
    let line = |minutes, price, money| -> Result<CostLine, StoreError> {
        let minutes: i64 = row.try_get(minutes)?;
        Ok(CostLine {
            minutes: u64::try_from(minutes).map_err(|e| corrupt("charges minutes", e))?,
            price_per_minute: parsed(row, price)?,
            amount: amount(row, money, currency)?,
        })
    };
    let division: Option<String> = row.try_get("division_id")?;
    Ok(Charge {
        order: row.try_get("order_id")?,
        platform: row.try_get("platform")?,
        meeting_id: row.try_get("meeting_id")?,
        host_email: row.try_get("host_email")?,
        division: division
            .map(|d| d.parse().map_err(|e| corrupt("charges.division_id", e)))
            .transpose()?,
        cost: Cost {
            currency,
            person: line("person_minutes", "person_minute", "person")?,
            teleconference: line(
                "teleconference_minutes",
                "teleconference_minute",
                "teleconference",
            )?,
            total: amount(row, "total", currency)?,
        },
        authorised: amount(row, "authorised", currency)?,
        captured: amount(row, "captured", currency)?,
        outstanding: amount(row, "outstanding", currency)?,
        payment_reference: row.try_get("payment_reference")?,
        started_at: time(row, "started_at")?,
        ended_at: time(row, "ended_at")?,
    })
}

#[async_trait]
impl PayPerUseStore for SqlStore {
    async fn set_exempt(&self, who: &Exemption, exempt: bool) -> Result<(), StoreError> {
        let query = if exempt {
            sqlx::query(
                "INSERT INTO pay_per_use_exemptions (subject, created_at) VALUES ($1, $2)
                 ON CONFLICT (subject) DO NOTHING",
            )
            .bind(who.subject())
            .bind(millis(Utc::now()))
        } else {
            sqlx::query("DELETE FROM pay_per_use_exemptions WHERE subject = $1").bind(who.subject())
        };
        query.execute(&self.writer).await?;
        Ok(())
    }

    async fn set_budget(
        &self,
        division: &DivisionId,
        month: Month,
        amount: Money,
    ) -> Result<(), StoreError> {
        sqlx::query(
            "INSERT INTO division_budgets (division_id, month, amount, currency, updated_at)
             VALUES ($1, $2, $3, $4, $5)
             ON CONFLICT (division_id, month) DO UPDATE SET amount = excluded.amount,
                 currency = excluded.currency, updated_at = excluded.updated_at",
        )
        .bind(division.as_str())
        .bind(month.to_string())
        .bind(amount.to_string())
        .bind(amount.currency().code())
        .bind(millis(Utc::now()))
        .execute(&self.writer)
        .await
        .map_err(|e| {
            refused(e, &[Constraint::ForeignKey], || {
                StoreError::Invalid(format!("division `{division}` does not exist"))
            })
        })?;
        Ok(())
    }

    async fn budget(
        &self,
        division: &DivisionId,
        month: Month,
    ) -> Result<Option<Money>, StoreError> {
        let row = sqlx::query(
            "SELECT amount, currency FROM division_budgets WHERE division_id = $1 AND month = $2",
        )
        .bind(division.as_str())
        .bind(month.to_string())
        .fetch_optional(&self.pool)
        .await?;
        row.map(|r| amount(&r, "amount", parsed(&r, "currency")?)).transpose()
    }

    async fn charge(&self, order: &OrderId) -> Result<Option<Charge>, StoreError> {
        let row =
            sqlx::query(concat!("SELECT ", charge_columns!(), " FROM charges WHERE order_id = $1"))
                .bind(order.as_str())
                .fetch_optional(&self.pool)
                .await?;
        row.as_ref().map(charge).transpose()
    }

    async fn session_payment(
        &self,
        platform: PlatformKind,
        meeting_id: &str,
    ) -> Result<Option<SessionPayment>, StoreError> {
        let mut conn = self.pool.acquire().await?;
        let decision: Option<String> = sqlx::query(
            "SELECT start_decision FROM sessions WHERE platform = $1 AND meeting_id = $2",
        )
        .bind(platform.as_str())
        .bind(meeting_id)
        .fetch_optional(&mut *conn)
        .await?
        .map(|r| r.try_get("start_decision"))
        .transpose()?
        .flatten();
        let Some(decision) = decision else { return Ok(None) };
        let mut paid = SessionPayment {
            decision,
            order: None,
            state: None,
            authorised: None,
            captured: None,
            outstanding: None,
            reference: None,
            prices: None,
        };
        let order = sqlx::query(
            "SELECT o.id, o.currency, o.person_minute, o.teleconference_minute
             FROM paid_starts s JOIN orders o ON o.id = s.order_id
             WHERE s.platform = $1 AND s.meeting_id = $2",
        )
        .bind(platform.as_str())
        .bind(meeting_id)
        .fetch_optional(&mut *conn)
        .await?;
        let Some(order) = order else { return Ok(Some(paid)) };
        let id: String = order.try_get("id")?;
        let order_prices = prices(&order)?;
        let currency = order_prices.currency;
        paid.prices = Some(order_prices);
        let payments = sqlx::query(concat!(
            "SELECT ",
            payment_columns!(),
            " FROM payments WHERE order_id = $1 ORDER BY seq"
        ))
        .bind(id.as_str())
        .fetch_all(&mut *conn)
        .await?
        .iter()
        .map(payment)
        .collect::<Result<Vec<_>, _>>()?;
        if let Some(p) = billing::paying(&payments) {
            paid.state = Some(p.state);
            paid.authorised = Some(p.amount);
            paid.reference.clone_from(&p.reference);
        }
        let charge = sqlx::query("SELECT captured, outstanding FROM charges WHERE order_id = $1")
            .bind(id.as_str())
            .fetch_optional(&mut *conn)
            .await?;
        if let Some(c) = &charge {
            paid.captured = Some(amount(c, "captured", currency)?);
            paid.outstanding = Some(amount(c, "outstanding", currency)?);
        }
        paid.order = Some(id);
        Ok(Some(paid))
    }

    async fn division_spend(
        &self,
        division: &DivisionId,
        from: DateTime<Utc>,
        to: DateTime<Utc>,
        currency: Currency,
    ) -> Result<Spend, StoreError> {
        let rows = sqlx::query(concat!(
            "SELECT ",
            charge_columns!(),
            " FROM charges WHERE division_id = $1 AND started_at >= $2 AND started_at < $3
              ORDER BY started_at, order_id"
        ))
        .bind(division.as_str())
        .bind(millis(from))
        .bind(millis(to))
        .fetch_all(&self.pool)
        .await?;
        let charges = rows.iter().map(charge).collect::<Result<Vec<_>, _>>()?;
        let mut total = Money::zero(charges.first().map_or(currency, |c| c.cost.currency));
        // A session's spend is its whole cost, whether the authorisation covered it or the
        // host still owes part of it.
        for c in &charges {
            total = total.checked_add(c.cost.total).map_err(|e| corrupt("charges.total", e))?;
        }
        Ok(Spend { division: division.clone(), charges, total })
    }
}
