//! The cashier: where orders, payments, the store and the gateways meet. It opens checkouts,
//! turns callbacks into confirmed transitions, and moves money (capture, void, refund) so that
//! a retry, a duplicate or a race can never charge twice.

use crate::payments::service::{WhenPaid, record_transition};
use std::sync::Arc;

use chrono::Utc;
use rust_decimal::Decimal;
use url::Url;

use crate::lang::Lang;
use crate::messages::Args;
use crate::money::Money;
use crate::payments::gateway::{
    Callback, CheckoutRequest, Gateway, GatewayError, Gateways, Status,
};
use crate::payments::order::{Order, Purchase};
use crate::payments::payment::{
    Applied, Event, Illegal, Payment, PaymentId, RefundPart, State, Step,
};
use crate::store::{CallbackRecord, StepState, Store, StoreError};

#[derive(Debug, thiserror::Error)]
pub enum CashierError {
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error(transparent)]
    Gateway(#[from] GatewayError),
    #[error("refused: {0}")]
    Illegal(#[from] Illegal),
    /// A callback or request that does not fit what we know: recorded and refused.
    #[error("{0}")]
    Rejected(String),
    #[error("no gateway `{0}` is configured")]
    UnknownGateway(String),
}

/// Where a checkout's payer and callbacks go, per payment.
pub struct CheckoutUrls {
    pub return_url: Url,
    pub cancel_url: Url,
    pub notify_url: Url,
}

/// A payment after an operation, and whether the operation changed it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Outcome {
    pub payment: Payment,
    pub changed: bool,
}

/// A money-moving operation on an existing payment.
#[derive(Clone, Debug)]
enum Operation {
    Capture(Money),
    Void,
    /// With what the refund gives back when it is a named part (an adjustment, a request).
    Refund(Money, Option<RefundPart>),
}

#[derive(Clone)]
pub struct Cashier {
    store: Arc<dyn Store>,
    gateways: Gateways,
    /// What features decide when a payment becomes paid ([`crate::when_paid`]).
    when_paid: Vec<Arc<dyn WhenPaid>>,
}

impl Cashier {
    pub fn new(
        store: Arc<dyn Store>,
        gateways: Gateways,
        when_paid: Vec<Arc<dyn WhenPaid>>,
    ) -> Cashier {
        Cashier { store, gateways, when_paid }
    }

    fn gateway(&self, name: &str) -> Result<&Arc<dyn Gateway>, CashierError> {
        self.gateways.get(name).ok_or_else(|| CashierError::UnknownGateway(name.to_owned()))
    }

    /// Opens a fresh payment and gateway checkout for an order, and returns where to send the
    /// payer. Each visit gets a new one, since gateway checkouts expire. `lang` is the payer's,
    /// which the checkout speaks where the gateway lets it.
    pub async fn start_checkout(
        &self,
        order: &Order,
        gateway: &str,
        lang: Lang,
        urls: impl FnOnce(&PaymentId) -> CheckoutUrls,
    ) -> Result<Url, CashierError> {
        let gw = self.gateway(gateway)?;
        if self.store.payments(&order.id).await?.iter().any(|p| p.state.is_paid()) {
            return Err(CashierError::Rejected(format!("order {} is paid already", order.id)));
        }
        let payment = self.store.create_payment(order, gateway).await?;
        let urls = urls(&payment.id);
        let request = CheckoutRequest {
            order: order.id.clone(),
            payment: payment.id.clone(),
            action: order.action,
            amount: order.amount,
            description: describe(order, lang),
            lang,
            return_url: urls.return_url,
            cancel_url: urls.cancel_url,
            notify_url: urls.notify_url,
            key: payment.key(Step::Checkout),
        };
        match gw.create_checkout(&request).await {
            Ok(checkout) => {
                self.store
                    .set_checkout(&payment.id, &checkout.reference, checkout.token.as_deref())
                    .await?;
                Ok(checkout.redirect)
            }
            Err(e) => {
                self.apply(&payment.id, Event::Declined { reason: e.to_string() }).await?;
                Err(e.into())
            }
        }
    }

    /// Handles a gateway callback: it is verified and is then only a trigger, so after checking
    /// it against the order, the gateway is asked what happened. `None` for a genuine callback
    /// about nothing tollbooth acts on. Every callback is recorded with its outcome.
    pub async fn on_callback(
        &self,
        gateway: &str,
        callback: &Callback,
    ) -> Result<Option<Outcome>, CashierError> {
        let mut record = CallbackRecord {
            gateway: gateway.to_owned(),
            checkout_ref: None,
            payment: None,
            fields: Default::default(),
            outcome: String::new(),
            received_at: Utc::now(),
        };
        let result = self.confirm_callback(gateway, callback, &mut record).await;
        let (kind, outcome) = match &result {
            Ok(Some(o)) if o.changed => ("applied", format!("applied: {}", o.payment.state)),
            Ok(Some(_)) => ("unchanged", "unchanged".to_owned()),
            Ok(None) => ("ignored", "ignored".to_owned()),
            Err(e) => ("rejected", format!("rejected: {e}")),
        };
        record.outcome = outcome;
        metrics::counter!("payment_callbacks_total", "gateway" => gateway.to_owned(), "outcome" => kind)
            .increment(1);
        if result.is_err() {
            tracing::warn!(gateway, outcome = %record.outcome, "payment callback refused");
        }
        self.store.record_callback(&record).await?;
        result
    }

    async fn confirm_callback(
        &self,
        gateway: &str,
        callback: &Callback,
        record: &mut CallbackRecord,
    ) -> Result<Option<Outcome>, CashierError> {
        let gw = self.gateway(gateway)?;
        let notice = match gw.verify_callback(callback).await {
            Ok(Some(notice)) => notice,
            Ok(None) => return Ok(None),
            // The gateway could not be asked whether it sent this: it will send it again.
            Err(e) if e.is_retryable() => return Err(e.into()),
            Err(e) => return Err(CashierError::Rejected(e.to_string())),
        };
        record.fields = notice.fields.clone();
        record.checkout_ref = Some(notice.checkout_ref.clone());
        let payment =
            self.store.payment_by_checkout(gateway, &notice.checkout_ref).await?.ok_or_else(
                || {
                    CashierError::Rejected(format!(
                        "unknown order: no payment has checkout {}",
                        notice.checkout_ref
                    ))
                },
            )?;
        record.payment = Some(payment.id.clone());
        if let Some(order) = notice.order.as_deref().filter(|o| *o != payment.order_id.as_str()) {
            return Err(CashierError::Rejected(format!(
                "callback names order {order}, but checkout {} is for order {}",
                notice.checkout_ref, payment.order_id
            )));
        }
        let claimed_currency = notice.currency.as_deref().unwrap_or(payment.currency().code());
        let claimed_amount = notice.amount.as_deref().map(|a| a.parse::<Decimal>());
        let amount_differs = matches!(&claimed_amount, Some(Ok(a)) if *a != payment.amount.amount())
            || matches!(claimed_amount, Some(Err(_)));
        if amount_differs || !claimed_currency.eq_ignore_ascii_case(payment.currency().code()) {
            return Err(CashierError::Rejected(format!(
                "amount {} {claimed_currency} does not match the order's {} {}",
                notice.amount.as_deref().unwrap_or("?"),
                payment.amount,
                payment.currency()
            )));
        }
        self.reconcile(&payment.id).await.map(Some)
    }

    /// Asks the gateway what became of a payment's checkout and applies it. The browser's
    /// return and the callback both end here; whichever comes second changes nothing.
    pub async fn reconcile(&self, id: &PaymentId) -> Result<Outcome, CashierError> {
        let payment = self.load(id).await?;
        if payment.checkout_ref.is_none() {
            return Ok(Outcome { payment, changed: false });
        }
        let event = match self.gateway(&payment.gateway)?.inquire(&payment).await? {
            Status::Authorised { reference, amount } => Event::Authorised { reference, amount },
            Status::Sold { reference, amount } => Event::Sold { reference, amount },
            Status::Declined { reason } => Event::Declined { reason },
            Status::Open => return Ok(Outcome { payment, changed: false }),
            Status::Review { reference } => {
                tracing::warn!(payment = %id, reference, "payment held for fraud review at the gateway");
                return Ok(Outcome { payment, changed: false });
            }
        };
        self.apply(id, event).await
    }

    /// The payer left the checkout: unless the gateway says otherwise, it has expired.
    pub async fn abandon(&self, id: &PaymentId) -> Result<Outcome, CashierError> {
        let outcome = self.reconcile(id).await?;
        if outcome.payment.state != State::Created {
            return Ok(outcome);
        }
        self.apply(id, Event::Expired).await
    }

    /// Takes `amount` from an authorisation, once: at most what was authorised, unless the
    /// gateway allows more.
    pub async fn capture(&self, id: &PaymentId, amount: Money) -> Result<Outcome, CashierError> {
        self.move_money(id, Operation::Capture(amount)).await
    }

    /// Releases an authorisation without taking anything.
    pub async fn void(&self, id: &PaymentId) -> Result<Outcome, CashierError> {
        self.move_money(id, Operation::Void).await
    }

    /// Gives back `amount` (at most what was taken and not yet refunded).
    pub async fn refund(&self, id: &PaymentId, amount: Money) -> Result<Outcome, CashierError> {
        self.move_money(id, Operation::Refund(amount, None)).await
    }

    /// Gives back `amount` as `part` (a settled session's adjustment, a refund asked for):
    /// the part names the gateway step, so a retry sends the same key and refunds once. A part
    /// already refunded refunds nothing again.
    pub async fn refund_part(
        &self,
        id: &PaymentId,
        amount: Money,
        part: RefundPart,
    ) -> Result<Outcome, CashierError> {
        self.move_money(id, Operation::Refund(amount, Some(part))).await
    }

    /// Gives back everything a payment holds or took: an authorisation is voided, what was
    /// taken and not refunded yet is refunded; nothing when that is nothing (a retry after it
    /// went through).
    pub async fn give_back(&self, id: &PaymentId) -> Result<Outcome, CashierError> {
        let payment = self.load(id).await?;
        if payment.state == State::Authorised {
            return self.void(id).await;
        }
        let left =
            Money::round(payment.captured.amount() - payment.refunded.amount(), payment.currency());
        if left.amount().is_zero() {
            return Ok(Outcome { payment, changed: false });
        }
        self.refund(id, left).await
    }

    async fn move_money(&self, id: &PaymentId, op: Operation) -> Result<Outcome, CashierError> {
        let payment = self.load(id).await?;
        let step = match &op {
            // Already done: a retried capture or void must not reach the gateway again.
            Operation::Capture(_) if payment.state == State::Captured => {
                return Ok(Outcome { payment, changed: false });
            }
            Operation::Void if payment.state == State::Voided => {
                return Ok(Outcome { payment, changed: false });
            }
            Operation::Capture(amount) => {
                payment.check_capture(*amount, self.gateways.capture_limit(&payment.gateway))?;
                Step::Capture
            }
            Operation::Void => {
                payment.check_void()?;
                Step::Void
            }
            Operation::Refund(amount, Some(part)) => {
                let step = part.step();
                // The gateway did it already: a retry must not check the amount against what
                // this very refund left, only record it if that was lost.
                let done = self.store.step_state(id, &step.to_string()).await?;
                if let Some(StepState::Done(reference)) = done {
                    return self
                        .record_once(id, Event::Refunded { reference, amount: *amount })
                        .await;
                }
                // A whole refund (a cancelled session's) overtook this part: the payer has
                // everything back, so nothing is left for it to give.
                if payment.state == State::Refunded {
                    return Ok(Outcome { payment, changed: false });
                }
                payment.check_refund(*amount)?;
                step
            }
            Operation::Refund(amount, None) => {
                payment.check_refund(*amount)?;
                // A refund that timed out is still pending, so its retry gets the same number.
                Step::Refund(self.store.steps_done(id, "refund-").await? + 1)
            }
        };
        let name = step.to_string();
        let key = payment.key(step);
        let reference = match self.store.begin_step(&payment, &name, key.as_str()).await? {
            StepState::Done(reference) => reference,
            StepState::Pending | StepState::Failed(_) => {
                let gw = self.gateway(&payment.gateway)?;
                let answer = match &op {
                    Operation::Capture(amount) => gw.capture(&payment, *amount, &key).await,
                    Operation::Void => gw.void(&payment, &key).await,
                    Operation::Refund(amount, _) => gw.refund(&payment, *amount, &key).await,
                };
                match answer {
                    Ok(done) => {
                        let state = StepState::Done(done.reference.clone());
                        self.store.finish_step(id, &name, &state).await?;
                        done.reference
                    }
                    // Unknown outcome: the step stays pending and its retry sends the same key.
                    Err(e) if e.is_retryable() => return Err(e.into()),
                    Err(e) => {
                        let state = StepState::Failed(e.to_string());
                        self.store.finish_step(id, &name, &state).await?;
                        return Err(e.into());
                    }
                }
            }
        };
        let event = match op {
            Operation::Capture(amount) => Event::Captured { reference, amount },
            Operation::Void => Event::Voided { reference },
            Operation::Refund(amount, _) => Event::Refunded { reference, amount },
        };
        self.apply(id, event).await
    }

    /// Applies a refund the gateway made unless it was recorded already (by its reference).
    async fn record_once(&self, id: &PaymentId, event: Event) -> Result<Outcome, CashierError> {
        let recorded = self.store.transitions(id).await?;
        if recorded
            .iter()
            .any(|t| t.reference.is_some() && t.reference.as_deref() == event.reference())
        {
            return Ok(Outcome { payment: self.load(id).await?, changed: false });
        }
        self.apply(id, event).await
    }

    /// Applies an event, retrying when another writer changed the payment in between.
    async fn apply(&self, id: &PaymentId, event: Event) -> Result<Outcome, CashierError> {
        loop {
            let payment = self.load(id).await?;
            match payment.apply(&event, self.gateways.capture_limit(&payment.gateway)) {
                Ok(Applied::Changed(next)) => {
                    let store = self.store.as_ref();
                    if record_transition(store, &self.when_paid, &payment, &next, &event).await? {
                        metrics::counter!("payment_transitions_total", "gateway" => payment.gateway.clone(), "state" => next.state.as_str())
                            .increment(1);
                        tracing::info!(payment = %id, from = %payment.state, to = %next.state, reference = event.reference(), "payment transition");
                        return Ok(Outcome { payment: *next, changed: true });
                    }
                }
                Ok(Applied::Unchanged) => return Ok(Outcome { payment, changed: false }),
                Err(illegal) => {
                    tracing::warn!(payment = %id, state = %payment.state, event = event.name(), error = %illegal, "illegal payment transition refused");
                    return Err(illegal.into());
                }
            }
        }
    }

    async fn load(&self, id: &PaymentId) -> Result<Payment, CashierError> {
        Ok(self
            .store
            .payment(id)
            .await?
            .ok_or_else(|| StoreError::NotFound(format!("payment {id}")))?)
    }
}

/// What the gateway shows the payer and keeps as the transaction's comment.
fn describe(order: &Order, lang: Lang) -> String {
    match &order.purchase {
        Purchase::Session { bound, plan, .. } => {
            let args = Args::new()
                .str("session", bound)
                .num("minutes", plan.minutes)
                .num("computers", plan.computers)
                .num("phones", plan.phones);
            lang.text_with("checkout-session", &args)
        }
        Purchase::Registration { session, .. } => {
            lang.text_with("checkout-registration", &Args::new().str("session", session))
        }
        Purchase::Balance { host } => {
            lang.text_with("checkout-balance", &Args::new().str("host", host))
        }
    }
}
