//! PayPal Express Checkout over the classic NVP API (`reference/payments.md` §2), offered in the
//! US and Canada: SetExpressCheckout, the payer sent to PayPal with the token, back with
//! `token` and `PayerID`; then GetExpressCheckoutDetails and DoExpressCheckoutPayment with a
//! `MSGSUBID`, so that the return and an IPN racing it complete the payment once.
//! Authorisations are captured, voided and refunded through the shared classic calls; IPN
//! messages are verified by posting them back.

use async_trait::async_trait;
use url::Url;

use super::paypal_classic::{Classic, amt, status_of};
use super::{Callback, Checkout, CheckoutRequest, Done, Gateway, GatewayError, Notice, Status};
use crate::config::PaypalClassicConfig;
use crate::money::Money;
use crate::payments::order::Action;
use crate::payments::payment::{IdempotencyKey, Payment, Step};

pub const NAME: &str = "express-checkout";

pub struct ExpressCheckout {
    classic: Classic,
}

impl ExpressCheckout {
    pub fn new(config: &PaypalClassicConfig) -> ExpressCheckout {
        ExpressCheckout { classic: Classic::new(config) }
    }
}

fn payment_action(action: Action) -> &'static str {
    match action {
        Action::Authorise => "Authorization",
        Action::Sale => "Sale",
    }
}

#[async_trait]
impl Gateway for ExpressCheckout {
    fn name(&self) -> &'static str {
        NAME
    }

    /// `RefundTransaction` with `REFUNDTYPE=Partial` and `AMT` (`payments.md` §2.5).
    fn refunds_partially(&self) -> bool {
        true
    }

    async fn create_checkout(&self, r: &CheckoutRequest) -> Result<Checkout, GatewayError> {
        let amount = amt(r.amount)?;
        let description: String = r.description.chars().take(127).collect();
        let fields = [
            ("PAYMENTREQUEST_0_AMT", amount.clone()),
            ("PAYMENTREQUEST_0_ITEMAMT", amount.clone()),
            ("PAYMENTREQUEST_0_CURRENCYCODE", r.amount.currency().code().to_owned()),
            ("PAYMENTREQUEST_0_PAYMENTACTION", payment_action(r.action).to_owned()),
            // The invoice names the payment (unique per attempt); CUSTOM names the order.
            ("PAYMENTREQUEST_0_INVNUM", r.payment.to_string()),
            ("PAYMENTREQUEST_0_CUSTOM", r.order.to_string()),
            ("PAYMENTREQUEST_0_NOTIFYURL", r.notify_url.to_string()),
            ("PAYMENTREQUEST_0_DESC", description.clone()),
            ("L_PAYMENTREQUEST_0_NAME0", description),
            ("L_PAYMENTREQUEST_0_AMT0", amount),
            ("L_PAYMENTREQUEST_0_QTY0", "1".to_owned()),
            ("L_PAYMENTREQUEST_0_ITEMCATEGORY0", "Digital".to_owned()),
            ("RETURNURL", r.return_url.to_string()),
            ("CANCELURL", r.cancel_url.to_string()),
            ("NOSHIPPING", "1".to_owned()),
        ];
        let answer = self.classic.call(NAME, "SetExpressCheckout", &fields).await?;
        let token = answer.get("TOKEN").cloned().ok_or_else(|| {
            GatewayError::Communication("SetExpressCheckout without TOKEN".into())
        })?;
        let mut redirect: Url = self.classic.web_url().clone();
        redirect
            .query_pairs_mut()
            .append_pair("cmd", "_express-checkout")
            .append_pair("token", &token)
            .append_pair("useraction", "commit");
        // IPN messages name the invoice, so the payment is found by it; the token is what
        // GetExpressCheckoutDetails needs.
        Ok(Checkout { redirect, reference: r.payment.to_string(), token: Some(token) })
    }

    async fn verify_callback(&self, callback: &Callback) -> Result<Option<Notice>, GatewayError> {
        self.classic.verify_ipn(callback).await
    }

    async fn inquire(&self, payment: &Payment) -> Result<Status, GatewayError> {
        let token = payment.checkout_token.clone().ok_or_else(|| {
            GatewayError::Refused(format!("{} has no Express Checkout token", payment.id))
        })?;
        let details = self
            .classic
            .call(NAME, "GetExpressCheckoutDetails", &[("TOKEN", token.clone())])
            .await?;
        let Some(payer) = details.get("PAYERID").filter(|p| !p.is_empty()).cloned() else {
            // The payer has not approved (yet).
            return Ok(Status::Open);
        };
        let amount = amt(payment.amount)?;
        let asked =
            (details.get("PAYMENTREQUEST_0_AMT"), details.get("PAYMENTREQUEST_0_CURRENCYCODE"));
        if asked != (Some(&amount), Some(&payment.currency().code().to_owned())) {
            return Err(GatewayError::Refused(format!(
                "Express Checkout {token} is for {:?}, the payment for {amount} {}",
                asked,
                payment.currency()
            )));
        }
        // Approved by the payer: tollbooth completes it, once, whoever asks first.
        let fields = [
            ("TOKEN", token),
            ("PAYERID", payer),
            ("PAYMENTREQUEST_0_AMT", amount),
            ("PAYMENTREQUEST_0_CURRENCYCODE", payment.currency().code().to_owned()),
            ("PAYMENTREQUEST_0_PAYMENTACTION", payment_action(payment.action).to_owned()),
            ("PAYMENTREQUEST_0_INVNUM", payment.id.to_string()),
            ("MSGSUBID", payment.key(Step::Complete).as_str().to_owned()),
        ];
        match self.classic.call(NAME, "DoExpressCheckoutPayment", &fields).await {
            Ok(answer) => status_of(&answer, "PAYMENTINFO_0_"),
            Err(GatewayError::Declined(reason)) => Ok(Status::Declined { reason }),
            Err(e) => Err(e),
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
