//! The interface every payment gateway adapter implements, one file per adapter.
//!
//! Callbacks (silent posts, IPN, webhooks) are only a trigger: an adapter verifies one (by its
//! signature, or by asking the gateway whether it sent it) and parses it into the checkout it
//! concerns, and what really happened is then asked of the gateway with [`Gateway::inquire`], so
//! a forged or replayed callback can change nothing.

pub mod express_checkout;
pub mod http;
pub mod payflow;
pub mod paypal_classic;
pub mod paypal_orders;
pub mod sandbox;
pub mod stripe;
pub mod website_payments_pro;

use std::collections::BTreeMap;
use std::sync::Arc;

use async_trait::async_trait;
use url::Url;

use crate::lang::Lang;
use crate::money::Money;
use crate::payments::order::{Action, OrderId};
use crate::payments::payment::{CaptureLimit, IdempotencyKey, Payment, PaymentId};

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
    /// The payer's language, for a checkout page that can speak it.
    pub lang: Lang,
}

/// An open hosted checkout.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Checkout {
    /// Where to send the payer's browser.
    pub redirect: Url,
    /// The gateway's reference of this checkout, by which callbacks and inquiries find it
    /// (Payflow's SECURETOKENID, Stripe's session id, PayPal's order id, or the invoice number
    /// that classic PayPal's IPN messages carry).
    pub reference: String,
    /// What the gateway needs to inquire about the checkout later (Payflow's SECURETOKEN,
    /// Express Checkout's token).
    pub token: Option<String>,
}

/// A callback as it arrived: signatures cover the exact bytes, so the body stays raw.
#[derive(Clone, Debug, Default)]
pub struct Callback {
    /// Header names in lower case.
    pub headers: BTreeMap<String, String>,
    pub body: Vec<u8>,
}

impl Callback {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(&name.to_ascii_lowercase()).map(String::as_str)
    }

    /// The body as `application/x-www-form-urlencoded` pairs (silent posts, IPN).
    pub fn form(&self) -> Vec<(String, String)> {
        url::form_urlencoded::parse(&self.body).into_owned().collect()
    }

    /// The body as JSON (webhooks), or why it is not.
    pub fn json(&self) -> Result<serde_json::Value, GatewayError> {
        serde_json::from_slice(&self.body)
            .map_err(|e| GatewayError::BadCallback(format!("body is not JSON: {e}")))
    }
}

/// A callback, verified and parsed: which checkout it concerns and what it claims (to be
/// confirmed by inquiry).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Notice {
    pub checkout_ref: String,
    /// The order the callback names, when the gateway echoes it.
    pub order: Option<String>,
    /// The amount the callback claims, as a decimal in the currency's main unit (adapters of
    /// gateways that count in minor units convert).
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
    /// A callback whose signature does not hold, or that the gateway says it did not send.
    #[error("callback not verified: {0}")]
    Unverified(String),
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

    /// How much a capture may take from an authorisation at this gateway.
    fn capture_limit(&self) -> CaptureLimit {
        CaptureLimit::Authorised
    }

    /// Whether this gateway gives back part of what a payment took (`reference/payments.md`):
    /// a refund for less than what remains is refused before anything is stored where not.
    fn refunds_partially(&self) -> bool;

    /// Opens a hosted checkout that authorises or sells `amount`.
    async fn create_checkout(&self, request: &CheckoutRequest) -> Result<Checkout, GatewayError>;

    /// Verifies a callback and parses it; `None` for a genuine callback about something other
    /// than a checkout (an event type tollbooth does not act on). The caller then confirms it
    /// with [`Gateway::inquire`].
    async fn verify_callback(&self, callback: &Callback) -> Result<Option<Notice>, GatewayError>;

    /// Asks the gateway what became of a payment's checkout. Where the gateway needs the
    /// merchant to complete a checkout the payer approved (Express Checkout, PayPal Orders),
    /// this completes it, with the key of [`crate::payments::payment::Step::Complete`], so that the
    /// browser's return and a callback racing it complete it once.
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

    /// What each of these gateways lets a capture take.
    pub fn capture_limits(&self) -> CaptureLimits {
        CaptureLimits(self.0.iter().map(|(name, g)| (*name, g.capture_limit())).collect())
    }

    /// Which of these gateways refund partially.
    pub fn partial_refunds(&self) -> PartialRefunds {
        PartialRefunds(self.0.iter().map(|(name, g)| (*name, g.refunds_partially())).collect())
    }

    /// What the gateway `name` lets a capture take; the strict limit for one not configured.
    pub fn capture_limit(&self, name: &str) -> CaptureLimit {
        self.get(name).map(|g| g.capture_limit()).unwrap_or_default()
    }
}

/// What each configured gateway lets a capture take, by name: what billing needs to know of
/// the gateways, without holding them.
#[derive(Clone, Debug, Default)]
pub struct CaptureLimits(BTreeMap<&'static str, CaptureLimit>);

impl CaptureLimits {
    /// The strict limit for a gateway that is not configured (any more).
    pub fn of(&self, gateway: &str) -> CaptureLimit {
        self.0.get(gateway).copied().unwrap_or_default()
    }
}

/// Which configured gateways refund partially, by name: what a refund's decision needs to
/// know of the gateways, without holding them.
#[derive(Clone, Debug, Default)]
pub struct PartialRefunds(BTreeMap<&'static str, bool>);

impl PartialRefunds {
    /// `false` for a gateway that is not configured (any more): nothing can be asked of it.
    pub fn of(&self, gateway: &str) -> bool {
        self.0.get(gateway).copied().unwrap_or(false)
    }
}
