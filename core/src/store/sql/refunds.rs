//! The refunds decided for registrations' payments ([`RefundRecord`]), one query each.

use sqlx::AnyConnection;
use sqlx::any::AnyRow;

use super::payments::{amount, time};
use super::{millis, parsed};
use crate::fee_based::refunds::RefundRecord;
use crate::money::Currency;
use crate::payments::payment::PaymentId;
use crate::store::StoreError;

fn refund(row: &AnyRow) -> Result<RefundRecord, StoreError> {
    let currency: Currency = parsed(row, "currency")?;
    Ok(RefundRecord {
        payment: parsed(row, "payment_id")?,
        request: parsed(row, "request_id")?,
        registration: parsed(row, "registration_id")?,
        amount: amount(row, "amount", currency)?,
        fee: amount(row, "fee", currency)?,
        asked_by: parsed(row, "asked_by")?,
        discord_user_id: parsed(row, "discord_user_id")?,
        decided_at: time(row, "decided_at")?,
    })
}

/// The refunds decided for `payment`, oldest first.
pub(super) async fn refunds_of(
    conn: &mut AnyConnection,
    payment: &PaymentId,
) -> Result<Vec<RefundRecord>, StoreError> {
    sqlx::query(
        "SELECT payment_id, request_id, registration_id, amount, fee, currency, asked_by,
             discord_user_id, decided_at
         FROM registration_refunds WHERE payment_id = $1 ORDER BY decided_at, request_id",
    )
    .bind(payment.as_str())
    .fetch_all(conn)
    .await?
    .iter()
    .map(refund)
    .collect()
}

/// Records a refund decided; `false` when its request was recorded already.
pub(super) async fn insert_refund(
    conn: &mut AnyConnection,
    r: &RefundRecord,
) -> Result<bool, StoreError> {
    let done = sqlx::query(
        "INSERT INTO registration_refunds (payment_id, request_id, registration_id, amount, fee,
             currency, asked_by, discord_user_id, decided_at)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)
         ON CONFLICT (payment_id, request_id) DO NOTHING",
    )
    .bind(r.payment.as_str())
    .bind(r.request.as_str())
    .bind(r.registration.as_str())
    .bind(r.amount.to_string())
    .bind(r.fee.to_string())
    .bind(r.amount.currency().code())
    .bind(r.asked_by.as_str())
    .bind(r.discord_user_id.to_string())
    .bind(millis(r.decided_at))
    .execute(conn)
    .await?;
    Ok(done.rows_affected() == 1)
}
