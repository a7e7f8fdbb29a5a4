//! PayPal Website Payments Pro for Great Britain through its hosted solution
//! (`reference/payments.md` §3.3): BMCreateButton makes a token button (`BUTTONCODE=TOKEN`)
//! that carries the order as `L_BUTTONVARn`, and the payer pays on PayPal's hosted page at the
//! returned `EMAILLINK`, where PayPal applies the UK card rules (Maestro, 3-D Secure). No card
//! data reaches tollbooth. The result arrives by IPN (verified by posting it back) and is read
//! by TransactionSearch on the invoice and GetTransactionDetails; captures, voids and refunds
//! are the shared classic calls.

use async_trait::async_trait;
use chrono::{Duration, Utc};
use url::Url;

use super::paypal_classic::{Classic, amt};
use super::{Callback, Checkout, CheckoutRequest, Done, Gateway, GatewayError, Notice, Status};
use crate::config::PaypalClassicConfig;
use crate::money::Money;
use crate::payments::order::Action;
use crate::payments::payment::{IdempotencyKey, Payment};

pub const NAME: &str = "website-payments-pro";

/// The hosted solution is a GB product, in pounds.
const CURRENCY: &str = "GBP";

/// How far back TransactionSearch looks for a checkout's transaction: hosted checkouts are
/// paid within hours, and authorisations last 29 days.
const SEARCH_DAYS: i64 = 31;

pub struct WebsitePaymentsPro {
    classic: Classic,
}

impl WebsitePaymentsPro {
    pub fn new(config: &PaypalClassicConfig) -> WebsitePaymentsPro {
        WebsitePaymentsPro { classic: Classic::new(config) }
    }
}

#[async_trait]
impl Gateway for WebsitePaymentsPro {
    fn name(&self) -> &'static str {
        NAME
    }

    /// `RefundTransaction` with `REFUNDTYPE=Partial` and `AMT` (`payments.md` §2.5).
    fn refunds_partially(&self) -> bool {
        true
    }

    async fn create_checkout(&self, r: &CheckoutRequest) -> Result<Checkout, GatewayError> {
        if r.amount.currency().code() != CURRENCY {
            return Err(GatewayError::Unsupported(format!(
                "Website Payments Pro takes {CURRENCY} only, not {}",
                r.amount.currency()
            )));
        }
        let action = match r.action {
            Action::Authorise => "authorization",
            Action::Sale => "sale",
        };
        let vars = [
            ("subtotal", amt(r.amount)?),
            ("currency_code", CURRENCY.to_owned()),
            ("paymentaction", action.to_owned()),
            // The invoice names the payment (unique per attempt); custom names the order.
            ("invoice", r.payment.to_string()),
            ("custom", r.order.to_string()),
            ("item_name", r.description.chars().take(127).collect()),
            ("notify_url", r.notify_url.to_string()),
            ("return", r.return_url.to_string()),
            ("cancel_return", r.cancel_url.to_string()),
            ("template", "templateD".to_owned()),
            ("showHostedThankyouPage", "false".to_owned()),
            ("lc", "GB".to_owned()),
        ];
        let names: Vec<String> = (0..vars.len()).map(|n| format!("L_BUTTONVAR{n}")).collect();
        let mut fields =
            vec![("BUTTONCODE", "TOKEN".to_owned()), ("BUTTONTYPE", "PAYMENT".to_owned())];
        fields.extend(
            names
                .iter()
                .zip(vars)
                .map(|(name, (var, value))| (name.as_str(), format!("{var}={value}"))),
        );
        let answer = self.classic.call(NAME, "BMCreateButton", &fields).await?;
        let redirect =
            answer.get("EMAILLINK").and_then(|link| Url::parse(link).ok()).ok_or_else(|| {
                GatewayError::Communication("BMCreateButton without an EMAILLINK".into())
            })?;
        Ok(Checkout { redirect, reference: r.payment.to_string(), token: None })
    }

    async fn verify_callback(&self, callback: &Callback) -> Result<Option<Notice>, GatewayError> {
        self.classic.verify_ipn(callback).await
    }

    async fn inquire(&self, payment: &Payment) -> Result<Status, GatewayError> {
        let start =
            (Utc::now() - Duration::days(SEARCH_DAYS)).format("%Y-%m-%dT%H:%M:%SZ").to_string();
        let found = self
            .classic
            .call(
                NAME,
                "TransactionSearch",
                &[("STARTDATE", start), ("INVNUM", payment.id.to_string())],
            )
            .await?;
        // The payer's own transaction, not the captures or refunds tollbooth made from it.
        let original = (0..)
            .map_while(|n| {
                Some((found.get(&format!("L_TRANSACTIONID{n}"))?, found.get(&format!("L_TYPE{n}"))))
            })
            .find(|(_, kind)| {
                matches!(kind.map(String::as_str), Some("Payment" | "Authorization"))
            });
        match original {
            Some((id, _)) => self.classic.transaction(NAME, id).await,
            // Nothing paid yet: the payer may still be on the hosted page.
            None => Ok(Status::Open),
        }
    }

    async fn capture(
        &self,
        payment: &Payment,
        amount: Money,
        key: &IdempotencyKey,
    ) -> Result<Done, GatewayError> {
        self.classic.capture(NAME, payment, amount, key).await
    }

    async fn void(&self, payment: &Payment, key: &IdempotencyKey) -> Result<Done, GatewayError> {
        self.classic.void(NAME, payment, key).await
    }

    async fn refund(
        &self,
        payment: &Payment,
        amount: Money,
        key: &IdempotencyKey,
    ) -> Result<Done, GatewayError> {
        self.classic.refund(NAME, payment, amount, key).await
    }
}
