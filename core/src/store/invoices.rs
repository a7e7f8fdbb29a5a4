//! Invoices and credit notes as issued, and the buyer's VAT id an order carries.

use async_trait::async_trait;

use super::StoreError;
use crate::invoicing::invoice::{Invoice, VatId};
use crate::payments::order::OrderId;

#[async_trait]
pub trait InvoiceStore {
    async fn invoice(&self, number: i64) -> Result<Option<Invoice>, StoreError>;

    /// An order's invoices and credit notes, by number.
    async fn invoices_of_order(&self, order: &OrderId) -> Result<Vec<Invoice>, StoreError>;

    /// Records the VAT id the buyer gave for `order` (`None` clears it), printed on the
    /// invoices issued after.
    async fn set_buyer_vat_id(
        &self,
        order: &OrderId,
        vat_id: Option<&VatId>,
    ) -> Result<(), StoreError>;
}
