//! The interface every payment gateway adapter implements, one file per adapter.
//!
//! Callbacks (silent posts, IPN, webhooks) are only a trigger: an adapter parses one into the
//! checkout it concerns, and what really happened is then asked of the gateway with
//! [`Gateway::inquire`], so a forged callback can change nothing.

pub mod payflow;
pub mod sandbox;

use std::collections::BTreeMap;
use std::sync::Arc;

use async_trait::async_trait;
use url::Url;

use crate::money::Money;
use crate::order::{Action, OrderId};
use crate::payment::{IdempotencyKey, Payment, PaymentId};

/// What a gateway needs to open a hosted checkout for one payment.
#[derive(Clone, Debug)]
pub struct CheckoutRequest {
    pub order: OrderId,
    pub payment: PaymentId,
    pub action: Action,
    pub amount: Money,
    pub description: String,
    /// Where the payer's browser comes back to.
    pub return_url: Url,
    pub cancel_url: Url,
    /// Where the gateway posts its server-to-server callback.
    pub notify_url: Url,
    pub key: IdempotencyKey,
}

/// An open hosted checkout.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Checkout {
    /// Where to send the payer's browser.
    pub redirect: Url,
    /// The gateway's reference of this checkout, by which callbacks and inquiries find it.
    pub reference: String,
    /// What the gateway needs to inquire about the checkout later (Payflow's SECURETOKEN).
    pub token: Option<String>,
}

/// A callback, parsed: which checkout it concerns and what it claims (to be confirmed).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Notice {
    pub checkout_ref: String,
    /// The order the callback names, when the gateway echoes it.
    pub order: Option<String>,
    /// The amount the callback claims, as the gateway wrote it.
    pub amount: Option<String>,
    pub currency: Option<String>,
    /// The fields worth keeping for the record (never card data).
    pub fields: BTreeMap<String, String>,
}

/// What the gateway knows of a checkout when asked.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Status {
    /// Nothing has been paid yet (the payer may still be on the hosted page).
    Open,
    Authorised {
        reference: String,
        amount: Money,
    },
    Sold {
        reference: String,
        amount: Money,
    },
    Declined {
        reason: String,
    },
    /// Authorised, but held by the gateway's fraud filters until a person accepts it.
    Review {
        reference: String,
    },
}

/// The answer to a capture, void or refund: the gateway's reference of that transaction.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Done {
    pub reference: String,
}

#[derive(Clone, Debug, thiserror::Error, PartialEq, Eq)]
pub enum GatewayError {
    /// The card or the transaction was declined (Payflow 12, 50, 51, 112, 114, 125, 128).
    #[error("declined: {0}")]
    Declined(String),
    /// Held by the fraud filters for review (Payflow 126).
    #[error("held for fraud review: {0}")]
    FraudReview(String),
    /// The hosted checkout's token expired (Payflow 7 on a secure token).
    #[error("checkout expired")]
    Expired,
    /// The gateway could not be reached or did not answer in time; safe to retry with the same
    /// idempotency key.
    #[error("communication failure: {0}")]
    Communication(String),
    /// The gateway refused the request (bad credentials, format, or an illegal operation).
    #[error("refused by the gateway: {0}")]
    Refused(String),
    /// A callback that does not parse.
    #[error("bad callback: {0}")]
    BadCallback(String),
    #[error("{0}")]
    Unsupported(String),
}

impl GatewayError {
    pub fn is_retryable(&self) -> bool {
        matches!(self, GatewayError::Communication(_))
    }
}

#[async_trait]
pub trait Gateway: Send + Sync {
    fn name(&self) -> &'static str;

    /// Opens a hosted checkout that authorises or sells `amount`.
    async fn create_checkout(&self, request: &CheckoutRequest) -> Result<Checkout, GatewayError>;

    /// Parses a callback; the caller then confirms it with [`Gateway::inquire`].
    fn parse_callback(&self, form: &[(String, String)]) -> Result<Notice, GatewayError>;

    /// Asks the gateway what became of a payment's checkout.
    async fn inquire(&self, payment: &Payment) -> Result<Status, GatewayError>;

    async fn capture(
        &self,
        payment: &Payment,
        amount: Money,
        key: &IdempotencyKey,
    ) -> Result<Done, GatewayError>;

    async fn void(&self, payment: &Payment, key: &IdempotencyKey) -> Result<Done, GatewayError>;

    async fn refund(
        &self,
        payment: &Payment,
        amount: Money,
        key: &IdempotencyKey,
    ) -> Result<Done, GatewayError>;
}

/// The adapters this instance runs, by name.
#[derive(Clone, Default)]
pub struct Gateways(BTreeMap<&'static str, Arc<dyn Gateway>>);

impl Gateways {
    pub fn with(mut self, gateway: Arc<dyn Gateway>) -> Gateways {
        self.0.insert(gateway.name(), gateway);
        self
    }

    pub fn get(&self, name: &str) -> Option<&Arc<dyn Gateway>> {
        self.0.get(name)
    }
}
