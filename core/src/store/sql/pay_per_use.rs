//! [`PayPerUseStore`] in SQL, and the two decisions taken while deliveries are applied: a
//! start is paid, free or blocked; a paid session that ended is charged. Both run on the
//! applier's transaction, so a decision and the effects it queues commit together, and both
//! are recorded (`sessions.start_decision`, `charges`) so that a replayed event decides
//! nothing twice.

use std::collections::HashSet;

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use rust_decimal::Decimal;
use sqlx::any::AnyRow;
use sqlx::{AnyConnection, Row};

use super::outbox::enqueue_on;
use super::payments::{amount, corrupt, insert_order, time};
use super::sessions::{load_connections_of, load_session};
use super::site::{prices, prices_in_force};
use super::{SqlStore, flag, millis, parsed};
use crate::messages::Args;
use crate::metering::session::Bill;
use crate::money::{Currency, Money};
use crate::outbox::{Capture, ChatMessage, Effect, Link, Recipient};
use crate::pay_per_use::billing::{self, Charge, Month, SessionPayment, Spend};
use crate::pay_per_use::enforcement::{self, Exemption, StartDecision, StartFacts};
use crate::pay_per_use::terms::Terms;
use crate::payments::order::{Order, OrderId};
use crate::payments::payment::PaymentId;
use crate::platform::PlatformKind;
use crate::pricing::{Cost, CostLine, Estimate};
use crate::site::{DivisionId, HostEmail};
use crate::store::{PayPerUseStore, StoreError};

pub(super) type SessionKey = (PlatformKind, String);

/// Decides every start in `started` that was not decided yet, and returns the sessions it
/// found paid for that had already ended (their `ended` came first), which are billed now.
pub(super) async fn decide_starts(
    conn: &mut AnyConnection,
    started: &HashSet<SessionKey>,
    terms: &Terms,
    now: DateTime<Utc>,
) -> Result<HashSet<SessionKey>, StoreError> {
    let mut ended_before_decided = HashSet::new();
    for (platform, meeting_id) in started {
        let row = sqlx::query(
            "SELECT host_email, meeting_number, start_decision, ended_received_at FROM sessions
             WHERE platform = $1 AND meeting_id = $2",
        )
        .bind(platform.as_str())
        .bind(meeting_id.as_str())
        .fetch_optional(&mut *conn)
        .await?;
        let Some(row) = row else { continue };
        let decided: Option<String> = row.try_get("start_decision")?;
        let host: Option<String> = row.try_get("host_email")?;
        // Without a host there is nobody to hold to pay; a later delivery may name them.
        let (None, Some(host)) = (decided, host) else { continue };
        let host = host.to_ascii_lowercase();
        let running = row.try_get::<Option<i64>, _>("ended_received_at")?.is_none();
        let number: Option<String> = row.try_get("meeting_number")?;
        let facts = start_facts(conn, *platform, meeting_id, number.as_deref(), &host).await?;
        let decision = enforcement::decide(facts);
        let mut blocked_reason = None;
        match &decision {
            StartDecision::Free => {}
            StartDecision::Paid(order) => {
                sqlx::query(
                    "INSERT INTO paid_starts (order_id, platform, meeting_id, host_email, used_at)
                     VALUES ($1, $2, $3, $4, $5)",
                )
                .bind(order.as_str())
                .bind(platform.as_str())
                .bind(meeting_id.as_str())
                .bind(host.as_str())
                .bind(millis(now))
                .execute(&mut *conn)
                .await?;
                if !running {
                    ended_before_decided.insert((*platform, meeting_id.clone()));
                }
            }
            StartDecision::Blocked(block) => {
                let reason = block.reason();
                tracing::info!(%platform, meeting_id, host, reason, "unpaid start blocked");
                metrics::counter!("pay_per_use_blocked_starts_total").increment(1);
                let discord = discord_user(conn, &host).await?;
                let lang = discord.map(|d| d.lang).unwrap_or_default();
                let label = block.pay_label(lang);
                let order = match block {
                    enforcement::Block::Unpaid => match unpaid_order(conn, &host).await? {
                        Some(order) => order,
                        None => offer(conn, *platform, meeting_id, &host, terms, now).await?,
                    },
                    enforcement::Block::Outstanding(owed) => {
                        let order = Order::for_balance(host.clone(), *owed);
                        insert_order(&mut *conn, &order).await?;
                        order.id
                    }
                };
                let pay = Link { label, url: terms.links.pay(&order, now, lang).to_string() };
                let effects = enforcement::blocked_effects(
                    *platform, meeting_id, block, running, discord, pay,
                );
                for (key, effect) in &effects {
                    enqueue_on(&mut *conn, key, effect).await?;
                }
                blocked_reason = Some(reason);
            }
        }
        sqlx::query(
            "UPDATE sessions SET start_decision = $1, blocked = $2, blocked_reason = $3
             WHERE platform = $4 AND meeting_id = $5",
        )
        .bind(decision.as_str())
        .bind(blocked_reason.is_some())
        .bind(blocked_reason)
        .bind(platform.as_str())
        .bind(meeting_id.as_str())
        .execute(&mut *conn)
        .await?;
    }
    Ok(ended_before_decided)
}

async fn start_facts(
    conn: &mut AnyConnection,
    platform: PlatformKind,
    meeting_id: &str,
    meeting_number: Option<&str>,
    host: &str,
) -> Result<StartFacts, StoreError> {
    let site = sqlx::query(
        "SELECT ecommerce_enabled, pay_per_use_enabled FROM site_settings WHERE id = 1",
    )
    .fetch_optional(&mut *conn)
    .await?;
    let pay_per_use = match &site {
        Some(row) => flag(row, "ecommerce_enabled")? && flag(row, "pay_per_use_enabled")?,
        None => false,
    };
    let division: Option<String> = sqlx::query("SELECT division_id FROM hosts WHERE email = $1")
        .bind(host)
        .fetch_optional(&mut *conn)
        .await?
        .map(|row| row.try_get("division_id"))
        .transpose()?
        .flatten();
    let exempt: i64 = sqlx::query(
        "SELECT COUNT(*) AS n FROM pay_per_use_exemptions WHERE subject = $1 OR subject = $2",
    )
    .bind(format!("host:{host}"))
    .bind(format!("division:{}", division.unwrap_or_default()))
    .fetch_one(&mut *conn)
    .await?
    .try_get("n")?;
    let outstanding = owed(conn, host, None).await?;
    // Oldest first, so an order paid earlier is used up first.
    let candidates = sqlx::query(
        "SELECT o.id, o.session FROM orders o
         WHERE o.kind = 'session' AND lower(o.payer) = $1
           AND EXISTS (SELECT 1 FROM payments p WHERE p.order_id = o.id AND p.state = 'authorised')
           AND NOT EXISTS (SELECT 1 FROM paid_starts s WHERE s.order_id = o.id)
         ORDER BY o.created_at, o.id",
    )
    .bind(host)
    .fetch_all(&mut *conn)
    .await?;
    let mut authorisation = None;
    for row in &candidates {
        let bound: String = row.try_get("session")?;
        if enforcement::binds(&bound, platform, meeting_id, meeting_number) {
            authorisation = Some(parsed(row, "id")?);
            break;
        }
    }
    Ok(StartFacts { pay_per_use, exempt: exempt > 0, outstanding, authorisation })
}

/// What a host owes: the parts of their sessions' cost their authorisations did not cover,
/// less what their paid balance orders paid (but `except`). None when nothing was ever owed.
pub(super) async fn owed(
    conn: &mut AnyConnection,
    host: &str,
    except: Option<&str>,
) -> Result<Option<Money>, StoreError> {
    let charged =
        sqlx::query("SELECT outstanding AS amount, currency FROM charges WHERE host_email = $1")
            .bind(host)
            .fetch_all(&mut *conn)
            .await?;
    let paid = sqlx::query(
        "SELECT o.amount, o.currency FROM orders o
         WHERE o.kind = 'balance' AND lower(o.payer) = $1 AND o.id <> $2
           AND EXISTS (SELECT 1 FROM payments p WHERE p.order_id = o.id AND p.state = 'sale')",
    )
    .bind(host)
    .bind(except.unwrap_or_default())
    .fetch_all(&mut *conn)
    .await?;
    let mut total: Option<Decimal> = None;
    let mut currency = None;
    for (rows, sign) in [(&charged, Decimal::ONE), (&paid, Decimal::NEGATIVE_ONE)] {
        for row in rows {
            let c: Currency = parsed(row, "currency")?;
            let amount = amount(row, "amount", c)?;
            currency = Some(c);
            total = Some(total.unwrap_or_default() + sign * amount.amount());
        }
    }
    Ok(total.zip(currency).map(|(t, c)| Money::round(t.max(Decimal::ZERO), c)))
}

/// The Discord user linked to a host most recently, who hears about their sessions.
async fn discord_user(
    conn: &mut AnyConnection,
    host: &str,
) -> Result<Option<Recipient>, StoreError> {
    let row = sqlx::query(
        "SELECT discord_user_id, lang FROM discord_links WHERE lower(host_email) = $1
         ORDER BY linked_at DESC LIMIT 1",
    )
    .bind(host)
    .fetch_optional(&mut *conn)
    .await?;
    if row.is_none() {
        // Hosts are reached in Discord only: what they are not told stays in the session API.
        tracing::warn!(
            host,
            "host has no linked Discord member, so is not told; link with /admin link"
        );
    }
    row.map(|r| {
        Ok(Recipient { discord_user_id: parsed(&r, "discord_user_id")?, lang: parsed(&r, "lang")? })
    })
    .transpose()
}

/// An order for [`enforcement::offered_plan`] at today's prices with the site's headroom, for a
/// blocked host who has no order to pay yet.
async fn offer(
    conn: &mut AnyConnection,
    platform: PlatformKind,
    meeting_id: &str,
    host: &str,
    terms: &Terms,
    now: DateTime<Utc>,
) -> Result<OrderId, StoreError> {
    let prices = prices_in_force(conn, now).await?;
    let estimate = Estimate::new(enforcement::offered_plan(), &prices)
        .map_err(|e| StoreError::Invalid(format!("offer for {platform}/{meeting_id}: {e}")))?;
    let session = enforcement::offered_for(platform, meeting_id);
    let order = Order::for_session(session, host.to_owned(), &estimate, prices, None)
        .with_headroom(terms.headroom_percent);
    insert_order(&mut *conn, &order).await?;
    Ok(order.id)
}

/// The host's newest pay-per-use order that nobody paid yet: what a blocked host is asked to
/// pay. None when they never asked for a quote.
async fn unpaid_order(conn: &mut AnyConnection, host: &str) -> Result<Option<OrderId>, StoreError> {
    let row = sqlx::query(
        "SELECT o.id FROM orders o
         WHERE o.kind = 'session' AND lower(o.payer) = $1
           AND NOT EXISTS (SELECT 1 FROM payments p WHERE p.order_id = o.id
                           AND p.state IN ('authorised', 'captured', 'voided', 'sale', 'refunded'))
         ORDER BY o.created_at DESC, o.id DESC LIMIT 1",
    )
    .bind(host)
    .fetch_optional(&mut *conn)
    .await?;
    row.map(|r| parsed(&r, "id")).transpose()
}

/// Charges every paid session in `ended` that was not charged yet: prices its usage at the
/// prices its order was paid at, books it to the host's division, and queues the capture (as
/// much of the cost as the payment's gateway lets it take) and the receipt.
pub(super) async fn bill_ended(
    conn: &mut AnyConnection,
    ended: &HashSet<SessionKey>,
    terms: &Terms,
    now: DateTime<Utc>,
) -> Result<(), StoreError> {
    for (platform, meeting_id) in ended {
        let row = sqlx::query(
            "SELECT s.order_id, s.host_email, o.currency, o.person_minute,
                    o.teleconference_minute
             FROM paid_starts s JOIN orders o ON o.id = s.order_id
             WHERE s.platform = $1 AND s.meeting_id = $2
               AND NOT EXISTS (SELECT 1 FROM charges c WHERE c.order_id = s.order_id)",
        )
        .bind(platform.as_str())
        .bind(meeting_id.as_str())
        .fetch_optional(&mut *conn)
        .await?;
        let Some(row) = row else { continue };
        let order: OrderId = parsed(&row, "order_id")?;
        let host: String = row.try_get("host_email")?;
        let prices = prices(&row)?;
        let Some(session) = load_session(&mut *conn, *platform, meeting_id).await? else {
            continue;
        };
        let connections = load_connections_of(&mut *conn, *platform, meeting_id).await?;
        let window = session.window(&connections, now);
        let bill = Bill::new(window, &connections, &prices)
            .map_err(|e| StoreError::Invalid(format!("session {platform}/{meeting_id}: {e}")))?;
        let payment = sqlx::query(
            "SELECT id, gateway, amount, reference FROM payments
             WHERE order_id = $1 AND state = 'authorised'
             ORDER BY seq DESC LIMIT 1",
        )
        .bind(order.as_str())
        .fetch_optional(&mut *conn)
        .await?;
        let Some(payment) = payment else {
            tracing::warn!(%order, %platform, meeting_id, "paid session ended, but its authorisation is no longer held; not charged");
            continue;
        };
        let authorised = amount(&payment, "amount", prices.currency)?;
        let gateway: String = payment.try_get("gateway")?;
        let settlement = billing::settle(bill.cost.total, authorised, terms.captures.of(&gateway));
        let division: Option<DivisionId> =
            sqlx::query("SELECT division_id FROM hosts WHERE email = $1")
                .bind(host.as_str())
                .fetch_optional(&mut *conn)
                .await?
                .map(|r| r.try_get::<Option<String>, _>("division_id"))
                .transpose()?
                .flatten()
                .map(|d| d.parse().map_err(|e| corrupt("hosts.division_id", e)))
                .transpose()?;
        let charge = Charge {
            order: order.to_string(),
            platform: platform.to_string(),
            meeting_id: meeting_id.clone(),
            host_email: host.clone(),
            division,
            cost: bill.cost,
            authorised,
            captured: settlement.capture,
            outstanding: settlement.outstanding,
            payment_reference: payment.try_get("reference")?,
            started_at: window.start.unwrap_or(now),
            ended_at: window.end,
        };
        let payment_id: String = payment.try_get("id")?;
        insert_charge(conn, &charge, &payment_id, now).await?;
        let capture = Effect::Capture(Capture {
            payment: payment_id,
            amount: settlement.capture.amount(),
            currency: prices.currency,
        });
        enqueue_on(&mut *conn, &format!("capture:{order}"), &capture).await?;
        if let Some(Recipient { discord_user_id, lang }) = discord_user(conn, &host).await? {
            let title = Charge::receipt_title(lang);
            let receipt = Effect::ChatMessage(ChatMessage {
                discord_user_id,
                text: format!("{title}\n{}", charge.receipt_lines(lang).join("\n")),
                link: Some(Link {
                    label: title.clone(),
                    url: terms.links.receipt(&order, now, lang).to_string(),
                }),
            });
            enqueue_on(&mut *conn, &format!("receipt:{order}"), &receipt).await?;
        }
        tracing::info!(%order, %platform, meeting_id, total = %charge.cost.total, outstanding = %charge.outstanding, "paid session charged");
    }
    Ok(())
}

async fn insert_charge(
    conn: &mut AnyConnection,
    c: &Charge,
    payment_id: &str,
    now: DateTime<Utc>,
) -> Result<(), StoreError> {
    sqlx::query(
        "INSERT INTO charges (order_id, platform, meeting_id, host_email, division_id, currency,
             person_minutes, teleconference_minutes, person_minute, teleconference_minute,
             person, teleconference, total, authorised, captured, outstanding, payment_id,
             payment_reference, started_at, ended_at, billed_at)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17,
             $18, $19, $20, $21)",
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
    .bind(c.payment_reference.as_deref())
    .bind(millis(c.started_at))
    .bind(millis(c.ended_at))
    .bind(millis(now))
    .execute(&mut *conn)
    .await?;
    Ok(())
}

/// The columns a [`Charge`] is read from.
macro_rules! charge_columns {
    () => {
        "order_id, platform, meeting_id, host_email, division_id, currency, person_minutes,
         teleconference_minutes, person_minute, teleconference_minute, person, teleconference,
         total, authorised, captured, outstanding, payment_reference, started_at, ended_at"
    };
}

fn charge(row: &AnyRow) -> Result<Charge, StoreError> {
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
    async fn start_is_paid(
        &self,
        host: &HostEmail,
        platform: PlatformKind,
        meeting_id: &str,
    ) -> Result<bool, StoreError> {
        let mut conn = self.pool.acquire().await?;
        let host = host.as_str().to_ascii_lowercase();
        // The meeting is named by the id scheduling returned, which on Zoom is its number.
        let number = (platform == PlatformKind::Zoom).then_some(meeting_id);
        let facts = start_facts(&mut conn, platform, meeting_id, number, &host).await?;
        Ok(!matches!(enforcement::decide(facts), StartDecision::Blocked(_)))
    }

    async fn owes(&self, host: &str) -> Result<bool, StoreError> {
        let mut conn = self.pool.acquire().await?;
        let owed = owed(&mut conn, &host.to_ascii_lowercase(), None).await?;
        Ok(owed.is_some_and(|m| !m.amount().is_zero()))
    }

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
        query.execute(&self.pool).await?;
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
        .execute(&self.pool)
        .await
        .map_err(|e| match e {
            sqlx::Error::Database(db) if db.is_foreign_key_violation() => {
                StoreError::Invalid(format!("division `{division}` does not exist"))
            }
            other => other.into(),
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
        // The payment that holds or took the money; a second one given back is not it.
        let payment = sqlx::query(
            "SELECT state, amount, reference FROM payments WHERE order_id = $1
             ORDER BY CASE WHEN state IN ('authorised', 'captured') THEN 0 ELSE 1 END, seq
             LIMIT 1",
        )
        .bind(id.as_str())
        .fetch_optional(&mut *conn)
        .await?;
        if let Some(p) = &payment {
            paid.state = Some(parsed(p, "state")?);
            paid.authorised = Some(amount(p, "amount", currency)?);
            paid.reference = p.try_get("reference")?;
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

    async fn capture_refused(&self, payment: &PaymentId, why: &str) -> Result<(), StoreError> {
        let mut tx = self.write().await?;
        let row = sqlx::query(concat!(
            "SELECT ",
            charge_columns!(),
            " FROM charges WHERE payment_id = $1"
        ))
        .bind(payment.as_str())
        .fetch_optional(&mut *tx)
        .await?;
        let Some(charge) = row.as_ref().map(charge).transpose()? else { return Ok(()) };
        if charge.captured.amount().is_zero() {
            return Ok(());
        }
        let owed = charge
            .outstanding
            .checked_add(charge.captured)
            .map_err(|e| StoreError::Invalid(format!("charge {}: {e}", charge.order)))?;
        let zero = Money::round(Decimal::ZERO, charge.captured.currency());
        sqlx::query(
            "UPDATE charges SET captured = $1, outstanding = $2
             WHERE order_id = $3 AND captured = $4",
        )
        .bind(zero.to_string())
        .bind(owed.to_string())
        .bind(charge.order.as_str())
        .bind(charge.captured.to_string())
        .execute(&mut *tx)
        .await?;
        tracing::warn!(order = charge.order, %payment, why, owed = %owed, "capture refused for good; the cost is owed");
        metrics::counter!("pay_per_use_captures_refused_total").increment(1);
        let host = charge.host_email.to_ascii_lowercase();
        if let Some(Recipient { discord_user_id, lang }) = discord_user(&mut tx, &host).await? {
            let (amount, cur) = (charge.captured, charge.captured.currency());
            let session = format!("{}/{}", charge.platform, charge.meeting_id);
            let args = Args::new()
                .str("amount", amount)
                .str("currency", cur)
                .str("session", session)
                .str("why", why);
            let text = lang.text_with("capture-refused", &args);
            let told = Effect::ChatMessage(ChatMessage { discord_user_id, text, link: None });
            enqueue_on(&mut tx, &format!("capture_refused:{}", charge.order), &told).await?;
        }
        tx.commit().await?;
        Ok(())
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
