//! [`PromotionCodeStore`] in SQL, and the port's queries that take and give back a code's
//! uses and record a code on an order.

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use sqlx::any::AnyRow;
use sqlx::{Any, AnyConnection, Row};

use super::payments::{amount, corrupt, time};
use super::{Constraint, SqlStore, millis, opt_time, parsed, refused};
use crate::fee_based::codes::{Code, CodeId, ForSession, Off, PromotionCode};
use crate::money::{Currency, Money};
use crate::payments::order::{Discount, OrderId};
use crate::store::{PromotionCodeStore, StoreError};

macro_rules! code_columns {
    () => {
        "id, code, platform, meeting_id, percent, amount, currency, max_uses, uses, expires_at,
         created_by, created_at"
    };
}

fn code(row: &AnyRow) -> Result<Code, StoreError> {
    let off = match row.try_get::<Option<String>, _>("percent")? {
        Some(p) => Off::Percent(p.parse().map_err(|e| corrupt("promotion_codes.percent", e))?),
        None => {
            let currency: Currency = parsed(row, "currency")?;
            Off::Fixed(amount(row, "amount", currency)?)
        }
    };
    let session = match row.try_get::<Option<String>, _>("platform")? {
        Some(platform) => Some(ForSession {
            platform: platform.parse().map_err(|e| corrupt("promotion_codes.platform", e))?,
            meeting_id: row.try_get("meeting_id")?,
        }),
        None => None,
    };
    let count = |column: &'static str, n: i64| u32::try_from(n).map_err(|e| corrupt(column, e));
    Ok(Code {
        id: parsed(row, "id")?,
        code: parsed(row, "code")?,
        session,
        off,
        max_uses: row
            .try_get::<Option<i64>, _>("max_uses")?
            .map(|n| count("max_uses", n))
            .transpose()?,
        uses: count("uses", row.try_get("uses")?)?,
        expires_at: opt_time(row, "expires_at")?,
        created_by: parsed(row, "created_by")?,
        created_at: time(row, "created_at")?,
    })
}

pub(super) async fn load_live<'c, E>(
    conn: E,
    name: &PromotionCode,
) -> Result<Option<Code>, StoreError>
where
    E: sqlx::Executor<'c, Database = Any>,
{
    sqlx::query(concat!(
        "SELECT ",
        code_columns!(),
        " FROM promotion_codes WHERE code = $1 AND removed_at IS NULL"
    ))
    .bind(name.as_str())
    .fetch_optional(conn)
    .await?
    .as_ref()
    .map(code)
    .transpose()
}

/// Takes one use of a code, while one is left: the count is read and raised in one
/// conditional update, which PostgreSQL re-checks after waiting for a concurrent one and
/// SQLite runs one writer at a time, so the last use is taken once.
pub(super) async fn take_use(conn: &mut AnyConnection, id: &CodeId) -> Result<bool, StoreError> {
    let done = sqlx::query(
        "UPDATE promotion_codes SET uses = uses + 1
         WHERE id = $1 AND removed_at IS NULL AND (max_uses IS NULL OR uses < max_uses)",
    )
    .bind(id.as_str())
    .execute(conn)
    .await?;
    Ok(done.rows_affected() == 1)
}

/// Gives back the use the code applied to `order` took (if any).
pub(super) async fn give_back_use(
    conn: &mut AnyConnection,
    order: &OrderId,
) -> Result<(), StoreError> {
    sqlx::query(
        "UPDATE promotion_codes SET uses = uses - 1
         WHERE uses > 0 AND id = (SELECT promotion_code_id FROM orders WHERE id = $1)",
    )
    .bind(order.as_str())
    .execute(conn)
    .await?;
    Ok(())
}

/// Records `discount` on an order with none yet, which then asks for `total`; `false` when
/// the order has a code already.
pub(super) async fn set_order_discount(
    conn: &mut AnyConnection,
    order: &OrderId,
    discount: &Discount,
    total: Money,
) -> Result<bool, StoreError> {
    let done = sqlx::query(
        "UPDATE orders SET promotion_code_id = $1, promotion_code = $2, discount = $3, amount = $4
         WHERE id = $5 AND promotion_code_id IS NULL",
    )
    .bind(discount.code_id.as_str())
    .bind(discount.code.as_str())
    .bind(discount.amount.to_string())
    .bind(total.to_string())
    .bind(order.as_str())
    .execute(conn)
    .await?;
    Ok(done.rows_affected() == 1)
}

#[async_trait]
impl PromotionCodeStore for SqlStore {
    async fn add_code(&self, c: &Code) -> Result<(), StoreError> {
        let (percent, fixed) = match c.off {
            Off::Percent(p) => (Some(p.to_string()), None),
            Off::Fixed(m) => (None, Some(m)),
        };
        sqlx::query(
            "INSERT INTO promotion_codes (id, code, platform, meeting_id, percent, amount,
                 currency, max_uses, uses, expires_at, created_by, created_at)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)",
        )
        .bind(c.id.as_str())
        .bind(c.code.as_str())
        .bind(c.session.as_ref().map(|s| s.platform.as_str()))
        .bind(c.session.as_ref().map(|s| s.meeting_id.clone()))
        .bind(percent)
        .bind(fixed.map(|m| m.to_string()))
        .bind(fixed.map(|m| m.currency().code()))
        .bind(c.max_uses.map(i64::from))
        .bind(i64::from(c.uses))
        .bind(c.expires_at.map(millis))
        .bind(c.created_by.to_string())
        .bind(millis(c.created_at))
        .execute(&self.writer)
        .await
        .map_err(|e| {
            refused(e, &[Constraint::Unique], || {
                StoreError::Invalid(format!("code {} exists already", c.code))
            })
        })?;
        Ok(())
    }

    async fn live_code(&self, name: &PromotionCode) -> Result<Option<Code>, StoreError> {
        load_live(&self.pool, name).await
    }

    async fn live_codes(&self, session: Option<&ForSession>) -> Result<Vec<Code>, StoreError> {
        let rows = match session {
            Some(s) => {
                sqlx::query(concat!(
                    "SELECT ",
                    code_columns!(),
                    " FROM promotion_codes WHERE removed_at IS NULL AND platform = $1
                        AND meeting_id = $2 ORDER BY code"
                ))
                .bind(s.platform.as_str())
                .bind(s.meeting_id.as_str())
                .fetch_all(&self.pool)
                .await?
            }
            None => {
                sqlx::query(concat!(
                    "SELECT ",
                    code_columns!(),
                    " FROM promotion_codes WHERE removed_at IS NULL ORDER BY code"
                ))
                .fetch_all(&self.pool)
                .await?
            }
        };
        rows.iter().map(code).collect()
    }

    async fn remove_code(&self, id: &CodeId, at: DateTime<Utc>) -> Result<bool, StoreError> {
        let done = sqlx::query(
            "UPDATE promotion_codes SET removed_at = $1 WHERE id = $2 AND removed_at IS NULL",
        )
        .bind(millis(at))
        .bind(id.as_str())
        .execute(&self.writer)
        .await?;
        Ok(done.rows_affected() == 1)
    }
}
