//! Issuing: every transition that takes money (a sale, a capture) gets an invoice and every
//! one that gives money back (a refund) a credit note referring to the invoice it corrects,
//! numbered from the site's one series in the transaction that records the transition.

use async_trait::async_trait;
use chrono::{DateTime, Utc};

use crate::invoicing::invoice::{self, Issue, Movement, Party, Prefix};
use crate::invoicing::vat::Vat;
use crate::payments::payment::{Event, Payment};
use crate::payments::service::WhenPaid;
use crate::store::{StoreError, Tx};

/// What the site invoices with (configuration: `site.seller_*`, `site.vat_percent`,
/// `site.prices_include_vat`, `registration.invoice_prefix`).
#[derive(Clone, Debug, Default)]
pub struct Terms {
    pub prefix: Prefix,
    pub seller: Party,
    pub vat: Vat,
}

/// Numbers every movement of money as it is recorded: a number is taken only by a transition
/// that commits, so the series has no gaps, and a transition is numbered once (the document
/// is unique per payment and version).
pub struct IssueOnMovement {
    pub terms: Terms,
}

#[async_trait]
impl WhenPaid for IssueOnMovement {
    async fn recorded(
        &self,
        tx: &mut dyn Tx,
        before: &Payment,
        next: &Payment,
        event: &Event,
        now: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        let Some(movement) = invoice::movement(before, next) else {
            return Ok(());
        };
        let order = tx
            .order(&next.order_id)
            .await?
            .ok_or_else(|| StoreError::NotFound(format!("order {}", next.order_id)))?;
        let registration = tx.registration_by_order(&order.id).await?;
        let session_title = match &registration {
            Some(reg) => tx.scheduled(reg.platform, &reg.meeting_id).await?.map(|s| s.title),
            None => None,
        };
        let buyer = Party {
            name: registration
                .as_ref()
                .map(|r| format!("{} {}", r.attendee.first_name, r.attendee.last_name)),
            address: None,
            email: Some(order.payer.clone()),
            vat_id: tx.buyer_vat_id(&order.id).await?,
        };
        let corrects = match movement {
            Movement::Taken(_) => None,
            Movement::GivenBack(_) => tx.invoice_of_payment(&next.id).await?,
        };
        // The reference of this movement: a refund's own, a capture's, else the sale's.
        let reference = match movement {
            Movement::GivenBack(_) => event.reference().map(str::to_owned),
            Movement::Taken(_) => next.capture_ref.clone().or_else(|| next.reference.clone()),
        };
        let number = tx.take_invoice_number().await?;
        let issued = invoice::issue(Issue {
            number,
            prefix: &self.terms.prefix,
            seller: &self.terms.seller,
            vat: self.terms.vat,
            movement,
            order: &order,
            payment: next,
            buyer,
            session_title,
            seats: registration.as_ref().map_or(1, |r| r.seats),
            corrects,
            reference,
            at: now,
        });
        tracing::info!(number = %issued.label, kind = issued.kind.as_str(), payment = %next.id, "invoice issued");
        tx.insert_invoice(&issued).await
    }
}
