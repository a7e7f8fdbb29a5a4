//! [`PaymentStore`] in SQL.

use async_trait::async_trait;
use chrono::{TimeZone, Utc};
use rust_decimal::Decimal;
use sqlx::any::AnyRow;
use sqlx::{AnyConnection, AssertSqlSafe, Row};

use super::{Constraint, SqlStore, bind_each, list, millis, parsed, refused};
use crate::money::{Currency, Money};
use crate::payments::order::{Binding, Discount, Order, OrderId, Purchase};
use crate::payments::payment::{Event, Payment, PaymentId, State};
use crate::platform::PlatformKind;
use crate::pricing::{Prices, SessionPlan};
use crate::store::{CallbackRecord, PaymentStore, StepState, StoreError, Transition};

pub(super) fn corrupt(column: &'static str, reason: impl ToString) -> StoreError {
    StoreError::corrupt(column, reason)
}

pub(super) fn time(
    row: &AnyRow,
    column: &'static str,
) -> Result<chrono::DateTime<Utc>, StoreError> {
    let ms: i64 = row.try_get(column)?;
    Utc.timestamp_millis_opt(ms).single().ok_or_else(|| corrupt(column, ms))
}

pub(super) fn amount(
    row: &AnyRow,
    column: &'static str,
    currency: Currency,
) -> Result<Money, StoreError> {
    let text: String = row.try_get(column)?;
    Money::parse_exact(&text, currency).map_err(|e| corrupt(column, e))
}

pub(super) fn payment(row: &AnyRow) -> Result<Payment, StoreError> {
    let currency: Currency = parsed(row, "currency")?;
    Ok(Payment {
        id: parsed(row, "id")?,
        order_id: parsed(row, "order_id")?,
        gateway: row.try_get("gateway")?,
        action: parsed(row, "action")?,
        state: parsed(row, "state")?,
        amount: amount(row, "amount", currency)?,
        captured: amount(row, "captured", currency)?,
        refunded: amount(row, "refunded", currency)?,
        reference: row.try_get("reference")?,
        capture_ref: row.try_get("capture_ref")?,
        checkout_ref: row.try_get("checkout_ref")?,
        checkout_token: row.try_get("checkout_token")?,
        version: row.try_get("version")?,
    })
}

pub(super) fn order(row: &AnyRow) -> Result<Order, StoreError> {
    let currency: Currency = parsed(row, "currency")?;
    let total = amount(row, "amount", currency)?;
    let kind: String = row.try_get("kind")?;
    let session: String = row.try_get("session")?;
    let discount = match row.try_get::<Option<String>, _>("promotion_code_id")? {
        Some(id) => Some(Discount {
            code_id: id.parse().map_err(|e| corrupt("promotion_code_id", e))?,
            code: parsed(row, "promotion_code")?,
            amount: amount(row, "discount", currency)?,
        }),
        None => None,
    };
    let purchase = match kind.as_str() {
        "session" => {
            let count = |column| -> Result<i128, StoreError> {
                let n: Option<i64> = row.try_get(column)?;
                n.map(i128::from).ok_or_else(|| corrupt(column, "missing"))
            };
            let plan = SessionPlan::new(
                count("plan_minutes")?,
                count("plan_computers")?,
                count("plan_phones")?,
            )
            .map_err(|e| corrupt("plan_minutes", e))?;
            let price = |column| -> Result<Decimal, StoreError> {
                let text: Option<String> = row.try_get(column)?;
                text.ok_or_else(|| corrupt(column, "missing"))?
                    .parse()
                    .map_err(|e| corrupt(column, e))
            };
            let prices = Prices {
                currency,
                person_minute: price("person_minute")?,
                teleconference_minute: price("teleconference_minute")?,
            };
            let kind: Option<String> = row.try_get("bound_kind")?;
            let platform: Option<String> = row.try_get("bound_platform")?;
            let id: Option<String> = row.try_get("bound_id")?;
            let bound = Binding::from_parts(
                kind.as_deref().unwrap_or_default(),
                platform.as_deref(),
                id.as_deref().unwrap_or_default(),
            )
            .map_err(|e| corrupt("orders.bound_kind", e))?;
            Purchase::Session { bound, plan, prices }
        }
        "registration" => {
            // The fee is what is to be paid and what a code took off it.
            let off = discount.as_ref().map_or(Decimal::ZERO, |d| d.amount.amount());
            Purchase::Registration { session, fee: Money::round(total.amount() + off, currency) }
        }
        "balance" => Purchase::Balance { host: session },
        other => return Err(corrupt("kind", other)),
    };
    Ok(Order {
        id: parsed(row, "id")?,
        purchase,
        payer: row.try_get("payer")?,
        amount: total,
        action: parsed(row, "action")?,
        change_url: row.try_get("change_url")?,
        discount,
        created_at: time(row, "created_at")?,
    })
}

/// Stores an order on `conn`, inside whatever transaction the caller made it in.
pub(super) async fn insert_order(conn: &mut AnyConnection, o: &Order) -> Result<(), StoreError> {
    let (kind, session, bound, plan, prices) = match &o.purchase {
        Purchase::Session { bound, plan, prices } => {
            ("session", bound.to_string(), Some(bound), Some(plan), Some(prices))
        }
        Purchase::Registration { session, .. } => {
            ("registration", session.clone(), None, None, None)
        }
        Purchase::Balance { host } => ("balance", host.clone(), None, None, None),
    };
    let count = |n: fn(&SessionPlan) -> u64| plan.map(|p| n(p) as i64);
    sqlx::query(
        "INSERT INTO orders (id, kind, session, bound_kind, bound_platform, bound_id, payer,
             amount, currency, action, plan_minutes, plan_computers, plan_phones, person_minute,
             teleconference_minute, change_url, promotion_code_id, promotion_code, discount,
             created_at)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17,
             $18, $19, $20)",
    )
    .bind(o.id.as_str())
    .bind(kind)
    .bind(session)
    .bind(bound.map(Binding::kind))
    .bind(bound.and_then(Binding::platform).map(PlatformKind::as_str))
    .bind(bound.map(|b| b.id().to_owned()))
    .bind(o.payer.as_str())
    .bind(o.amount.to_string())
    .bind(o.amount.currency().code())
    .bind(o.action.as_str())
    .bind(count(|p| p.minutes))
    .bind(count(|p| p.computers))
    .bind(count(|p| p.phones))
    .bind(prices.map(|p| p.person_minute.to_string()))
    .bind(prices.map(|p| p.teleconference_minute.to_string()))
    .bind(o.change_url.clone())
    .bind(o.discount.as_ref().map(|d| d.code_id.to_string()))
    .bind(o.discount.as_ref().map(|d| d.code.to_string()))
    .bind(o.discount.as_ref().map(|d| d.amount.to_string()))
    .bind(millis(o.created_at))
    .execute(conn)
    .await
    .map_err(|e| {
        refused(e, &[Constraint::Unique], || {
            StoreError::Invalid(format!("order {} exists already", o.id))
        })
    })?;
    Ok(())
}

/// Saves `next` and the transition's record on `conn` if the payment is still at `before`'s
/// version; `false` when another writer applied something first.
pub(super) async fn save_transition_on(
    conn: &mut AnyConnection,
    before: &Payment,
    next: &Payment,
    event: &Event,
) -> Result<bool, StoreError> {
    let now = millis(Utc::now());
    let done = sqlx::query(
        "UPDATE payments SET state = $1, captured = $2, refunded = $3, reference = $4,
             capture_ref = $5, version = $6, updated_at = $7
         WHERE id = $8 AND version = $9",
    )
    .bind(next.state.as_str())
    .bind(next.captured.to_string())
    .bind(next.refunded.to_string())
    .bind(next.reference.clone())
    .bind(next.capture_ref.clone())
    .bind(next.version)
    .bind(now)
    .bind(before.id.as_str())
    .bind(before.version)
    .execute(&mut *conn)
    .await?;
    if done.rows_affected() == 0 {
        return Ok(false);
    }
    sqlx::query(
        "INSERT INTO payment_transitions (payment_id, from_state, to_state, event, reference,
             amount, at)
         VALUES ($1, $2, $3, $4, $5, $6, $7)",
    )
    .bind(before.id.as_str())
    .bind(before.state.as_str())
    .bind(next.state.as_str())
    .bind(event.name())
    .bind(event.reference().map(str::to_owned))
    .bind(event.amount().map(|m| m.to_string()))
    .bind(now)
    .execute(&mut *conn)
    .await?;
    Ok(true)
}

/// How many payments of `order` other than `except` are in one of `states`.
pub(super) async fn other_payments_in(
    conn: &mut AnyConnection,
    order: &OrderId,
    except: &PaymentId,
    states: &[State],
) -> Result<u64, StoreError> {
    let sql = format!(
        "SELECT COUNT(*) AS n FROM payments WHERE order_id = $1 AND id <> $2 AND state IN ({})",
        list(3, states.len())
    );
    let query = bind_each(
        sqlx::query(AssertSqlSafe(sql)).bind(order.as_str()).bind(except.as_str()),
        states.iter().map(|s| s.as_str()),
    );
    let n: i64 = query.fetch_one(&mut *conn).await?.try_get("n")?;
    Ok(u64::try_from(n).unwrap_or(0))
}

/// How many payments of `order` are in one of `states`.
pub(super) async fn payments_in(
    conn: &mut AnyConnection,
    order: &OrderId,
    states: &[State],
) -> Result<u64, StoreError> {
    let sql = format!(
        "SELECT COUNT(*) AS n FROM payments WHERE order_id = $1 AND state IN ({})",
        list(2, states.len())
    );
    let query = bind_each(
        sqlx::query(AssertSqlSafe(sql)).bind(order.as_str()),
        states.iter().map(|s| s.as_str()),
    );
    let n: i64 = query.fetch_one(&mut *conn).await?.try_get("n")?;
    Ok(u64::try_from(n).unwrap_or(0))
}

pub(super) async fn load_payment(
    conn: &mut AnyConnection,
    id: &PaymentId,
) -> Result<Option<Payment>, StoreError> {
    sqlx::query(concat!("SELECT ", payment_columns!(), " FROM payments WHERE id = $1"))
        .bind(id.as_str())
        .fetch_optional(conn)
        .await?
        .as_ref()
        .map(payment)
        .transpose()
}

pub(super) async fn newest_payment_in(
    conn: &mut AnyConnection,
    order: &OrderId,
    state: State,
) -> Result<Option<Payment>, StoreError> {
    sqlx::query(concat!(
        "SELECT ",
        payment_columns!(),
        " FROM payments WHERE order_id = $1 AND state = $2 ORDER BY seq DESC LIMIT 1"
    ))
    .bind(order.as_str())
    .bind(state.as_str())
    .fetch_optional(conn)
    .await?
    .as_ref()
    .map(payment)
    .transpose()
}

/// An order, read on `conn`.
pub(super) async fn load_order(
    conn: &mut AnyConnection,
    id: &OrderId,
) -> Result<Option<Order>, StoreError> {
    sqlx::query(concat!("SELECT ", order_columns!(), " FROM orders WHERE id = $1"))
        .bind(id.as_str())
        .fetch_optional(conn)
        .await?
        .as_ref()
        .map(order)
        .transpose()
}

#[async_trait]
impl PaymentStore for SqlStore {
    async fn create_order(&self, o: &Order) -> Result<(), StoreError> {
        let mut conn = self.writer.acquire().await?;
        insert_order(&mut conn, o).await
    }

    async fn order(&self, id: &OrderId) -> Result<Option<Order>, StoreError> {
        let mut conn = self.pool.acquire().await?;
        load_order(&mut conn, id).await
    }

    async fn create_payment(&self, o: &Order, gateway: &str) -> Result<Payment, StoreError> {
        let now = millis(Utc::now());
        let zero = Money::zero(o.amount.currency()).to_string();
        // Two writers may pick the same number on PostgreSQL; the unique (order_id, seq) makes
        // the loser try the next one.
        for _ in 0..5 {
            let mut tx = self.write().await?;
            let row = sqlx::query(
                "SELECT COALESCE(MAX(seq), 0) + 1 AS next FROM payments WHERE order_id = $1",
            )
            .bind(o.id.as_str())
            .fetch_one(&mut *tx)
            .await?;
            let seq: i64 = row.try_get("next")?;
            let id = PaymentId::new(&o.id, seq);
            let inserted = sqlx::query(concat!(
                "INSERT INTO payments (id, order_id, seq, gateway, action, state, amount, captured,
                     refunded, currency, version, created_at, updated_at)
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $8, $9, 0, $10, $10)
                 RETURNING ",
                payment_columns!()
            ))
            .bind(id.as_str())
            .bind(o.id.as_str())
            .bind(seq)
            .bind(gateway)
            .bind(o.action.as_str())
            .bind(State::Created.as_str())
            .bind(o.amount.to_string())
            .bind(zero.as_str())
            .bind(o.amount.currency().code())
            .bind(now)
            .fetch_one(&mut *tx)
            .await;
            match inserted {
                Ok(row) => {
                    tx.commit().await?;
                    return payment(&row);
                }
                // Another payment took this sequence number: take the next.
                Err(e) if Constraint::of(&e) == Some(Constraint::Unique) => continue,
                Err(e) => {
                    return Err(refused(e, &[Constraint::ForeignKey], || {
                        StoreError::NotFound(format!("order {}", o.id))
                    }));
                }
            }
        }
        Err(StoreError::Invalid(format!("too many concurrent payments for order {}", o.id)))
    }

    async fn set_checkout(
        &self,
        id: &PaymentId,
        reference: &str,
        token: Option<&str>,
    ) -> Result<(), StoreError> {
        let done = sqlx::query(
            "UPDATE payments SET checkout_ref = $1, checkout_token = $2, updated_at = $3
             WHERE id = $4",
        )
        .bind(reference)
        .bind(token)
        .bind(millis(Utc::now()))
        .bind(id.as_str())
        .execute(&self.writer)
        .await
        .map_err(|e| {
            refused(e, &[Constraint::Unique], || {
                StoreError::Invalid(format!("checkout {reference} belongs to another payment"))
            })
        })?;
        if done.rows_affected() == 0 {
            return Err(StoreError::NotFound(format!("payment {id}")));
        }
        Ok(())
    }

    async fn payment(&self, id: &PaymentId) -> Result<Option<Payment>, StoreError> {
        sqlx::query(concat!("SELECT ", payment_columns!(), " FROM payments WHERE id = $1"))
            .bind(id.as_str())
            .fetch_optional(&self.pool)
            .await?
            .as_ref()
            .map(payment)
            .transpose()
    }

    async fn payment_by_checkout(
        &self,
        gateway: &str,
        reference: &str,
    ) -> Result<Option<Payment>, StoreError> {
        sqlx::query(concat!(
            "SELECT ",
            payment_columns!(),
            " FROM payments WHERE gateway = $1 AND checkout_ref = $2"
        ))
        .bind(gateway)
        .bind(reference)
        .fetch_optional(&self.pool)
        .await?
        .as_ref()
        .map(payment)
        .transpose()
    }

    async fn payments(&self, order: &OrderId) -> Result<Vec<Payment>, StoreError> {
        sqlx::query(concat!(
            "SELECT ",
            payment_columns!(),
            " FROM payments WHERE order_id = $1 ORDER BY seq"
        ))
        .bind(order.as_str())
        .fetch_all(&self.pool)
        .await?
        .iter()
        .map(payment)
        .collect()
    }

    async fn transitions(&self, id: &PaymentId) -> Result<Vec<Transition>, StoreError> {
        sqlx::query(
            "SELECT from_state, to_state, event, reference, amount, at FROM payment_transitions
             WHERE payment_id = $1 ORDER BY id",
        )
        .bind(id.as_str())
        .fetch_all(&self.pool)
        .await?
        .iter()
        .map(|row| {
            Ok(Transition {
                from: parsed(row, "from_state")?,
                to: parsed(row, "to_state")?,
                event: row.try_get("event")?,
                reference: row.try_get("reference")?,
                amount: row.try_get("amount")?,
                at: time(row, "at")?,
            })
        })
        .collect()
    }

    async fn begin_step(
        &self,
        p: &Payment,
        step: &str,
        key: &str,
    ) -> Result<StepState, StoreError> {
        let now = millis(Utc::now());
        let mut tx = self.write().await?;
        sqlx::query(
            "INSERT INTO gateway_steps (order_id, payment_id, step, idempotency_key, state,
                 created_at, updated_at)
             VALUES ($1, $2, $3, $4, 'pending', $5, $5)
             ON CONFLICT DO NOTHING",
        )
        .bind(p.order_id.as_str())
        .bind(p.id.as_str())
        .bind(step)
        .bind(key)
        .bind(now)
        .execute(&mut *tx)
        .await?;
        let row = sqlx::query(
            "SELECT state, detail, idempotency_key FROM gateway_steps
             WHERE payment_id = $1 AND step = $2",
        )
        .bind(p.id.as_str())
        .bind(step)
        .fetch_one(&mut *tx)
        .await?;
        tx.commit().await?;
        let stored_key: String = row.try_get("idempotency_key")?;
        if stored_key != key {
            return Err(StoreError::Invalid(format!(
                "step {step} of {} was reserved under another key",
                p.id
            )));
        }
        step_state(&row)
    }

    async fn step_state(
        &self,
        id: &PaymentId,
        step: &str,
    ) -> Result<Option<StepState>, StoreError> {
        sqlx::query("SELECT state, detail FROM gateway_steps WHERE payment_id = $1 AND step = $2")
            .bind(id.as_str())
            .bind(step)
            .fetch_optional(&self.pool)
            .await?
            .as_ref()
            .map(step_state)
            .transpose()
    }

    async fn finish_step(
        &self,
        id: &PaymentId,
        step: &str,
        state: &StepState,
    ) -> Result<(), StoreError> {
        let (name, detail) = match state {
            StepState::Pending => ("pending", None),
            StepState::Done(reference) => ("done", Some(reference.as_str())),
            StepState::Failed(why) => ("failed", Some(why.as_str())),
        };
        sqlx::query(
            "UPDATE gateway_steps SET state = $1, detail = $2, updated_at = $3
             WHERE payment_id = $4 AND step = $5",
        )
        .bind(name)
        .bind(detail)
        .bind(millis(Utc::now()))
        .bind(id.as_str())
        .bind(step)
        .execute(&self.writer)
        .await?;
        Ok(())
    }

    async fn steps_done(&self, id: &PaymentId, prefix: &str) -> Result<u32, StoreError> {
        let row = sqlx::query(
            "SELECT COUNT(*) AS n FROM gateway_steps
             WHERE payment_id = $1 AND state = 'done' AND step LIKE $2",
        )
        .bind(id.as_str())
        .bind(format!("{prefix}%"))
        .fetch_one(&self.pool)
        .await?;
        let n: i64 = row.try_get("n")?;
        Ok(u32::try_from(n).unwrap_or(u32::MAX))
    }

    async fn record_callback(&self, c: &CallbackRecord) -> Result<(), StoreError> {
        let fields = serde_json::to_string(&c.fields).map_err(|e| corrupt("fields", e))?;
        sqlx::query(
            "INSERT INTO gateway_callbacks (gateway, checkout_ref, payment_id, fields, outcome,
                 received_at)
             VALUES ($1, $2, $3, $4, $5, $6)",
        )
        .bind(c.gateway.as_str())
        .bind(c.checkout_ref.clone())
        .bind(c.payment.as_ref().map(|p| p.as_str().to_owned()))
        .bind(fields)
        .bind(c.outcome.as_str())
        .bind(millis(c.received_at))
        .execute(&self.writer)
        .await?;
        Ok(())
    }

    async fn callbacks(&self, gateway: &str) -> Result<Vec<CallbackRecord>, StoreError> {
        sqlx::query(
            "SELECT gateway, checkout_ref, payment_id, fields, outcome, received_at
             FROM gateway_callbacks WHERE gateway = $1 ORDER BY id",
        )
        .bind(gateway)
        .fetch_all(&self.pool)
        .await?
        .iter()
        .map(|row| {
            let fields: String = row.try_get("fields")?;
            let payment: Option<String> = row.try_get("payment_id")?;
            Ok(CallbackRecord {
                gateway: row.try_get("gateway")?,
                checkout_ref: row.try_get("checkout_ref")?,
                payment: payment
                    .map(|p| p.parse())
                    .transpose()
                    .map_err(|e| corrupt("payment_id", e))?,
                fields: serde_json::from_str(&fields).map_err(|e| corrupt("fields", e))?,
                outcome: row.try_get("outcome")?,
                received_at: time(row, "received_at")?,
            })
        })
        .collect()
    }
}

/// A gateway step's state from its row's `state` and `detail`.
fn step_state(row: &AnyRow) -> Result<StepState, StoreError> {
    let state: String = row.try_get("state")?;
    let detail: Option<String> = row.try_get("detail")?;
    Ok(match state.as_str() {
        "pending" => StepState::Pending,
        "done" => StepState::Done(detail.unwrap_or_default()),
        "failed" => StepState::Failed(detail.unwrap_or_default()),
        other => return Err(corrupt("state", other)),
    })
}
