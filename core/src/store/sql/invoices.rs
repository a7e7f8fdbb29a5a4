//! [`InvoiceStore`] in SQL, and the invoicing queries of the transactional port.

use async_trait::async_trait;
use sqlx::any::AnyRow;
use sqlx::{AnyConnection, Row};

use super::{Constraint, SqlStore, millis, refused};
use crate::invoicing::invoice::{Corrects, Invoice, Kind, VatId};
use crate::payments::order::OrderId;
use crate::payments::payment::PaymentId;
use crate::store::{InvoiceStore, StoreError};

fn document(row: &AnyRow) -> Result<Invoice, StoreError> {
    let text: String = row.try_get("document")?;
    serde_json::from_str(&text).map_err(|e| StoreError::corrupt("invoices.document", e))
}

/// One row is the counter: PostgreSQL locks it until the transaction ends (a second
/// instance's transaction waits for this one's number), and SQLite's transactions write one at
/// a time; either way a number is used by one commit or, rolled back, by the next.
pub(super) async fn take_number(conn: &mut AnyConnection) -> Result<i64, StoreError> {
    let row = sqlx::query(
        "UPDATE invoice_counter SET last_number = last_number + 1 WHERE id = 1
         RETURNING last_number",
    )
    .fetch_one(conn)
    .await?;
    Ok(row.try_get("last_number")?)
}

pub(super) async fn insert(conn: &mut AnyConnection, invoice: &Invoice) -> Result<(), StoreError> {
    let document = serde_json::to_string(invoice)
        .map_err(|e| StoreError::Invalid(format!("invoice {}: {e}", invoice.label)))?;
    sqlx::query(
        "INSERT INTO invoices (number, kind, order_id, payment_id, payment_version, corrects,
             issued_at, document)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
    )
    .bind(invoice.number)
    .bind(invoice.kind.as_str())
    .bind(invoice.order.as_str())
    .bind(invoice.payment.as_str())
    .bind(invoice.payment_version)
    .bind(invoice.corrects.as_ref().map(|c| c.number))
    .bind(millis(invoice.issued_at))
    .bind(document)
    .execute(conn)
    .await
    .map_err(|e| {
        refused(e, &[Constraint::Unique], || {
            StoreError::Invalid(format!(
                "payment {} has a document for version {} already",
                invoice.payment, invoice.payment_version
            ))
        })
    })?;
    Ok(())
}

pub(super) async fn invoice_of_payment(
    conn: &mut AnyConnection,
    payment: &PaymentId,
) -> Result<Option<Corrects>, StoreError> {
    sqlx::query(
        "SELECT document FROM invoices WHERE payment_id = $1 AND kind = $2
         ORDER BY number LIMIT 1",
    )
    .bind(payment.as_str())
    .bind(Kind::Invoice.as_str())
    .fetch_optional(conn)
    .await?
    .map(|row| document(&row).map(|i| Corrects { number: i.number, label: i.label }))
    .transpose()
}

pub(super) async fn buyer_vat_id(
    conn: &mut AnyConnection,
    order: &OrderId,
) -> Result<Option<VatId>, StoreError> {
    let row = sqlx::query("SELECT buyer_vat_id FROM orders WHERE id = $1")
        .bind(order.as_str())
        .fetch_optional(conn)
        .await?;
    let Some(row) = row else { return Ok(None) };
    let text: Option<String> = row.try_get("buyer_vat_id")?;
    text.map(|t| t.parse().map_err(|e| StoreError::corrupt("orders.buyer_vat_id", e))).transpose()
}

#[async_trait]
impl InvoiceStore for SqlStore {
    async fn invoice(&self, number: i64) -> Result<Option<Invoice>, StoreError> {
        sqlx::query("SELECT document FROM invoices WHERE number = $1")
            .bind(number)
            .fetch_optional(&mut *self.pool.acquire().await?)
            .await?
            .as_ref()
            .map(document)
            .transpose()
    }

    async fn invoices_of_order(&self, order: &OrderId) -> Result<Vec<Invoice>, StoreError> {
        sqlx::query("SELECT document FROM invoices WHERE order_id = $1 ORDER BY number")
            .bind(order.as_str())
            .fetch_all(&mut *self.pool.acquire().await?)
            .await?
            .iter()
            .map(document)
            .collect()
    }

    async fn set_buyer_vat_id(
        &self,
        order: &OrderId,
        vat_id: Option<&VatId>,
    ) -> Result<(), StoreError> {
        let done = sqlx::query("UPDATE orders SET buyer_vat_id = $1 WHERE id = $2")
            .bind(vat_id.map(|v| v.as_str().to_owned()))
            .bind(order.as_str())
            .execute(&mut *self.writer.acquire().await?)
            .await?;
        if done.rows_affected() == 0 {
            return Err(StoreError::NotFound(format!("order {order}")));
        }
        Ok(())
    }
}
