//! The built-in `sandbox` gateway: a hosted test checkout that tollbooth serves itself, where a
//! person approves or declines. It keeps its transactions in memory (they are test money and
//! need not survive a restart) and otherwise behaves like a real gateway: the checkout page is
//! outside the payment flow, a callback is posted to the notify URL, and the truth is read back
//! by inquiry.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::Duration;

use async_trait::async_trait;
use rand::RngCore;
use url::Url;

use super::{Callback, Checkout, CheckoutRequest, Done, Gateway, GatewayError, Notice, Status};
use crate::money::Money;
use crate::payments::order::Action;
use crate::payments::payment::{IdempotencyKey, Payment};

pub const NAME: &str = "sandbox";

/// One test checkout as the hosted page shows it.
#[derive(Clone, Debug)]
pub struct SandboxCheckout {
    pub description: String,
    pub amount: Money,
    pub action: Action,
    pub status: Status,
    /// Whether the authorisation was captured (only once, as at Payflow).
    captured: bool,
    return_url: Url,
    cancel_url: Url,
    notify_url: Url,
}

#[derive(Default)]
struct Ledger {
    checkouts: HashMap<String, SandboxCheckout>,
    /// Answers by idempotency key: a retried step gets the first answer again.
    answers: HashMap<String, Result<Done, GatewayError>>,
}

pub struct Sandbox {
    /// Where tollbooth serves the hosted page (`{base}payments/sandbox/checkout/{id}`).
    base: Url,
    ledger: Mutex<Ledger>,
    http: reqwest::Client,
}

/// What the payer chose on the test page.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Decision {
    Approve,
    Decline,
    Cancel,
}

fn random_id(prefix: &str) -> String {
    let mut bytes = [0u8; 8];
    rand::rng().fill_bytes(&mut bytes);
    format!("{prefix}{}", hex::encode(bytes))
}

impl Sandbox {
    pub fn new(base: Url) -> Sandbox {
        Sandbox { base, ledger: Mutex::default(), http: reqwest::Client::new() }
    }

    fn ledger(&self) -> std::sync::MutexGuard<'_, Ledger> {
        // Every update under the lock is a single assignment, so a panic cannot leave half of one.
        self.ledger.lock().unwrap_or_else(|e| e.into_inner())
    }

    pub fn checkout(&self, id: &str) -> Option<SandboxCheckout> {
        self.ledger().checkouts.get(id).cloned()
    }

    /// Records the payer's choice, posts the callback as a real gateway would, and returns where
    /// the payer's browser goes next. A checkout is decided once; later choices change nothing.
    pub async fn decide(&self, id: &str, decision: Decision) -> Option<Url> {
        let (notify, next) = {
            let mut ledger = self.ledger();
            let checkout = ledger.checkouts.get_mut(id)?;
            if checkout.status == Status::Open {
                let reference = random_id("SBX");
                checkout.status = match (decision, checkout.action) {
                    (Decision::Approve, Action::Authorise) => {
                        Status::Authorised { reference, amount: checkout.amount }
                    }
                    (Decision::Approve, Action::Sale) => {
                        Status::Sold { reference, amount: checkout.amount }
                    }
                    (Decision::Decline, _) => {
                        Status::Declined { reason: "declined by the tester".into() }
                    }
                    (Decision::Cancel, _) => Status::Open,
                };
            }
            let next = match decision {
                Decision::Cancel => checkout.cancel_url.clone(),
                _ => checkout.return_url.clone(),
            };
            (checkout.notify_url.clone(), next)
        };
        if decision != Decision::Cancel {
            // Like a silent post: best effort, and the return page inquires anyway.
            let sent = self
                .http
                .post(notify)
                .form(&[("checkout", id)])
                .timeout(Duration::from_secs(10))
                .send()
                .await;
            if let Err(e) = sent {
                tracing::warn!(checkout = id, error = %e, "sandbox callback not delivered");
            }
        }
        Some(next)
    }

    fn remember(
        &self,
        key: &IdempotencyKey,
        run: impl FnOnce(&mut Ledger) -> Result<Done, GatewayError>,
    ) -> Result<Done, GatewayError> {
        let mut ledger = self.ledger();
        if let Some(answer) = ledger.answers.get(key.as_str()) {
            return answer.clone();
        }
        let answer = run(&mut ledger);
        ledger.answers.insert(key.as_str().to_owned(), answer.clone());
        answer
    }
}

fn checkout_of<'a>(
    ledger: &'a mut Ledger,
    payment: &Payment,
) -> Result<&'a mut SandboxCheckout, GatewayError> {
    payment
        .checkout_ref
        .as_deref()
        .and_then(|id| ledger.checkouts.get_mut(id))
        .ok_or_else(|| GatewayError::Refused(format!("no sandbox checkout for {}", payment.id)))
}

#[async_trait]
impl Gateway for Sandbox {
    fn name(&self) -> &'static str {
        NAME
    }

    /// Test money: any part the payment's state machine allows is given back.
    fn refunds_partially(&self) -> bool {
        true
    }

    async fn create_checkout(&self, r: &CheckoutRequest) -> Result<Checkout, GatewayError> {
        let id = random_id("sbx_");
        let mut redirect = self
            .base
            .join(&format!("payments/sandbox/checkout/{id}"))
            .map_err(|e| GatewayError::Unsupported(e.to_string()))?;
        // The test page is ours, so it speaks the payer's language like the pay page did.
        redirect.query_pairs_mut().append_pair("lang", r.lang.code());
        self.ledger().checkouts.insert(
            id.clone(),
            SandboxCheckout {
                description: r.description.clone(),
                amount: r.amount,
                action: r.action,
                status: Status::Open,
                captured: false,
                return_url: r.return_url.clone(),
                cancel_url: r.cancel_url.clone(),
                notify_url: r.notify_url.clone(),
            },
        );
        Ok(Checkout { redirect, reference: id, token: None })
    }

    async fn verify_callback(&self, callback: &Callback) -> Result<Option<Notice>, GatewayError> {
        // Unsigned, like a silent post: the inquiry that follows is what counts.
        let checkout = callback
            .form()
            .into_iter()
            .find(|(k, _)| k == "checkout")
            .map(|(_, v)| v.clone())
            .ok_or_else(|| GatewayError::BadCallback("no `checkout` field".into()))?;
        Ok(Some(Notice {
            checkout_ref: checkout.clone(),
            order: None,
            amount: None,
            currency: None,
            fields: [("checkout".to_owned(), checkout)].into(),
        }))
    }

    async fn inquire(&self, payment: &Payment) -> Result<Status, GatewayError> {
        Ok(checkout_of(&mut self.ledger(), payment)?.status.clone())
    }

    async fn capture(
        &self,
        payment: &Payment,
        amount: Money,
        key: &IdempotencyKey,
    ) -> Result<Done, GatewayError> {
        self.remember(key, |ledger| {
            let checkout = checkout_of(ledger, payment)?;
            match &checkout.status {
                Status::Authorised { amount: held, .. }
                    if !checkout.captured && amount.amount() <= held.amount() =>
                {
                    checkout.captured = true;
                    Ok(Done { reference: random_id("SBX") })
                }
                other => Err(GatewayError::Refused(format!("cannot capture {other:?}"))),
            }
        })
    }

    async fn void(&self, payment: &Payment, key: &IdempotencyKey) -> Result<Done, GatewayError> {
        self.remember(key, |ledger| {
            let checkout = checkout_of(ledger, payment)?;
            match &checkout.status {
                Status::Authorised { .. } if !checkout.captured => {
                    checkout.status = Status::Declined { reason: "voided".into() };
                    Ok(Done { reference: random_id("SBX") })
                }
                other => Err(GatewayError::Refused(format!("cannot void {other:?}"))),
            }
        })
    }

    async fn refund(
        &self,
        payment: &Payment,
        _amount: Money,
        key: &IdempotencyKey,
    ) -> Result<Done, GatewayError> {
        // The payment's own state machine bounds the amount; test money needs no ledger.
        self.remember(key, |ledger| {
            let checkout = checkout_of(ledger, payment)?;
            match &checkout.status {
                Status::Sold { .. } => Ok(Done { reference: random_id("SBX") }),
                Status::Authorised { .. } if checkout.captured => {
                    Ok(Done { reference: random_id("SBX") })
                }
                other => Err(GatewayError::Refused(format!("cannot refund {other:?}"))),
            }
        })
    }
}
