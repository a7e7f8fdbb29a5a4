//! PayPal's current REST API, Orders v2 (`reference/payments.md` §4.1): an OAuth
//! client-credentials token, an order per payment with intent `AUTHORIZE` (pay-per-use) or
//! `CAPTURE` (fees), the payer's approval on PayPal's page, then the order authorised or
//! captured by tollbooth, authorisations captured or voided, captures refunded. Every POST
//! carries a `PayPal-Request-Id` from (order, step); webhooks are verified by asking PayPal
//! (`/v1/notifications/verify-webhook-signature`) before anything is read from them.

use std::time::{Duration, Instant};

use async_trait::async_trait;
use rust_decimal::Decimal;
use secrecy::{ExposeSecret, SecretString};
use serde_json::{Value, json};
use tokio::sync::Mutex;
use url::Url;

use super::{
    Callback, Checkout, CheckoutRequest, Done, Gateway, GatewayError, Notice, Status, http,
};
use crate::config::PaypalConfig;
use crate::money::{Currency, Money};
use crate::payments::order::Action;
use crate::payments::payment::{IdempotencyKey, Payment, Step};

pub const NAME: &str = "paypal";

/// Headers PayPal signs a webhook delivery with; all are passed to verification.
const TRANSMISSION_HEADERS: [(&str, &str); 5] = [
    ("auth_algo", "paypal-auth-algo"),
    ("cert_url", "paypal-cert-url"),
    ("transmission_id", "paypal-transmission-id"),
    ("transmission_sig", "paypal-transmission-sig"),
    ("transmission_time", "paypal-transmission-time"),
];

/// PayPal's issues that mean the payer's funding was refused, not that the request was wrong.
const DECLINE_ISSUES: [&str; 4] =
    ["INSTRUMENT_DECLINED", "PAYER_ACTION_REQUIRED", "TRANSACTION_REFUSED", "PAYER_CANNOT_PAY"];

pub struct PaypalOrders {
    api: Url,
    client_id: String,
    client_secret: SecretString,
    webhook_id: String,
    timeout: Duration,
    http: reqwest::Client,
    /// The access token and when to stop using it.
    token: Mutex<Option<(SecretString, Instant)>>,
}

/// PayPal's `value`: a decimal string with the currency's decimals, except HUF, JPY and TWD,
/// which PayPal takes in whole units only (`payments.md` §5); amounts that do not fit are
/// refused, never rounded.
pub fn value(money: Money) -> Result<String, GatewayError> {
    let decimals = match money.currency().code() {
        "HUF" | "JPY" | "TWD" => 0,
        _ => money.currency().minor_units(),
    };
    let amount = money.amount();
    if amount.round_dp(decimals) != amount {
        return Err(GatewayError::Unsupported(format!(
            "PayPal takes {} in whole units; {money} has decimals",
            money.currency()
        )));
    }
    let mut shown = amount;
    shown.rescale(decimals);
    Ok(shown.to_string())
}

fn money_of(amount: &Value) -> Result<Money, GatewayError> {
    let currency: Currency = amount["currency_code"]
        .as_str()
        .unwrap_or_default()
        .parse()
        .map_err(|e| GatewayError::Communication(format!("answer with {e}")))?;
    let value: Decimal = amount["value"]
        .as_str()
        .and_then(|v| v.parse().ok())
        .ok_or_else(|| GatewayError::Communication(format!("answer with amount {amount}")))?;
    Ok(Money::round(value, currency))
}

/// PayPal's error body: `{"name", "message", "details": [{"issue", "description"}], "debug_id"}`.
fn error(status: u16, text: &str) -> GatewayError {
    let body: Value = serde_json::from_str(text).unwrap_or_default();
    let issue = body["details"][0]["issue"].as_str().unwrap_or_default();
    let message = format!(
        "{} {} ({}, HTTP {status})",
        body["name"].as_str().unwrap_or_default(),
        body["message"].as_str().unwrap_or(&http::excerpt(text)),
        if issue.is_empty() { "no issue" } else { issue }
    );
    if DECLINE_ISSUES.contains(&issue) {
        GatewayError::Declined(message)
    } else {
        GatewayError::Refused(message)
    }
}

impl PaypalOrders {
    pub fn new(config: &PaypalConfig) -> PaypalOrders {
        PaypalOrders {
            api: config.api_base.clone(),
            client_id: config.client_id.clone(),
            client_secret: config.client_secret.clone(),
            webhook_id: config.webhook_id.clone(),
            timeout: Duration::from_secs(config.timeout_secs),
            http: reqwest::Client::new(),
            token: Mutex::default(),
        }
    }

    fn url(&self, path: &str) -> Url {
        self.api.join(path).expect("a relative path joins any base URL")
    }

    /// A cached access token, fetched again a minute before it expires.
    async fn token(&self) -> Result<SecretString, GatewayError> {
        let mut cached = self.token.lock().await;
        if let Some((token, until)) = cached.as_ref()
            && Instant::now() < *until
        {
            return Ok(token.clone());
        }
        let request = self
            .http
            .post(self.url("v1/oauth2/token"))
            .basic_auth(&self.client_id, Some(self.client_secret.expose_secret()))
            .form(&[("grant_type", "client_credentials")])
            .timeout(self.timeout);
        let (status, text) = http::send(request).await?;
        if status != 200 {
            return Err(GatewayError::Refused(format!(
                "OAuth token refused (HTTP {status}): {}",
                http::excerpt(&text)
            )));
        }
        let body: Value = serde_json::from_str(&text)
            .map_err(|e| GatewayError::Communication(format!("token answer is not JSON: {e}")))?;
        let token = body["access_token"].as_str().ok_or_else(|| {
            GatewayError::Communication("token answer without access_token".into())
        })?;
        let lifetime = body["expires_in"].as_u64().unwrap_or(300).saturating_sub(60);
        let token = SecretString::from(token.to_owned());
        *cached = Some((token.clone(), Instant::now() + Duration::from_secs(lifetime)));
        Ok(token)
    }

    /// A JSON request, with `PayPal-Request-Id` when it moves money, retried with the same id.
    async fn call(
        &self,
        method: reqwest::Method,
        path: &str,
        body: Option<&Value>,
        request_id: Option<&str>,
    ) -> Result<Value, GatewayError> {
        http::with_retries(NAME, path, || async {
            let token = self.token().await?;
            let mut request = self
                .http
                .request(method.clone(), self.url(path))
                .bearer_auth(token.expose_secret())
                .header("Prefer", "return=representation")
                .timeout(self.timeout);
            if let Some(id) = request_id {
                request = request.header("PayPal-Request-Id", id);
            }
            if let Some(body) = body {
                request = request.json(body);
            }
            let (status, text) = http::send(request).await?;
            if status == 401 {
                // The token expired or was revoked early: the retry fetches a new one.
                *self.token.lock().await = None;
                return Err(GatewayError::Communication("PayPal refused the access token".into()));
            }
            if !(200..300).contains(&status) {
                return Err(error(status, &text));
            }
            if text.is_empty() {
                return Ok(Value::Null);
            }
            serde_json::from_str(&text)
                .map_err(|e| GatewayError::Communication(format!("answer is not JSON: {e}")))
        })
        .await
    }

    async fn post(&self, path: &str, body: &Value, key: &str) -> Result<Value, GatewayError> {
        self.call(reqwest::Method::POST, path, Some(body), Some(key)).await
    }

    fn reference(&self, payment: &Payment) -> Result<String, GatewayError> {
        payment
            .reference
            .clone()
            .ok_or_else(|| GatewayError::Refused(format!("{} has no PayPal reference", payment.id)))
    }

    /// Asks PayPal whether it sent this delivery.
    async fn verify(&self, callback: &Callback, event: &Value) -> Result<(), GatewayError> {
        let mut body = json!({"webhook_id": self.webhook_id, "webhook_event": event});
        for (field, header) in TRANSMISSION_HEADERS {
            let value = callback
                .header(header)
                .ok_or_else(|| GatewayError::Unverified(format!("no {header} header")))?;
            body[field] = json!(value);
        }
        let answer = self
            .call(
                reqwest::Method::POST,
                "v1/notifications/verify-webhook-signature",
                Some(&body),
                None,
            )
            .await?;
        match answer["verification_status"].as_str() {
            Some("SUCCESS") => Ok(()),
            other => Err(GatewayError::Unverified(format!(
                "PayPal answered {} to verify-webhook-signature",
                other.unwrap_or("nothing")
            ))),
        }
    }
}

/// What an order says of the payment, once authorised or captured.
fn status_of(order: &Value) -> Result<Status, GatewayError> {
    let payments = &order["purchase_units"][0]["payments"];
    let (kind, record) =
        match (payments["authorizations"][0].is_object(), payments["captures"][0].is_object()) {
            (true, _) => ("authorization", &payments["authorizations"][0]),
            (false, true) => ("capture", &payments["captures"][0]),
            (false, false) => {
                return Ok(match order["status"].as_str() {
                    Some("VOIDED") => Status::Declined { reason: "the order was voided".into() },
                    _ => Status::Open,
                });
            }
        };
    let reference = record["id"]
        .as_str()
        .ok_or_else(|| GatewayError::Communication(format!("{kind} without id")))?
        .to_owned();
    let status = record["status"].as_str().unwrap_or_default();
    Ok(match (kind, status) {
        // An authorisation later captured is still the authorisation this payment holds.
        ("authorization", "CREATED" | "CAPTURED" | "PARTIALLY_CAPTURED") => {
            Status::Authorised { amount: money_of(&record["amount"])?, reference }
        }
        ("capture", "COMPLETED" | "PARTIALLY_REFUNDED" | "REFUNDED") => {
            Status::Sold { amount: money_of(&record["amount"])?, reference }
        }
        (_, "DENIED" | "DECLINED" | "FAILED" | "VOIDED" | "EXPIRED") => {
            Status::Declined { reason: format!("PayPal {kind} {status}") }
        }
        // PENDING: PayPal is still deciding (a review, an eCheck); its webhook will come.
        _ => Status::Open,
    })
}

#[async_trait]
impl Gateway for PaypalOrders {
    fn name(&self) -> &'static str {
        NAME
    }

    /// A capture's refund with an `amount` is partial (`payments.md` §4.1).
    fn refunds_partially(&self) -> bool {
        true
    }

    async fn create_checkout(&self, r: &CheckoutRequest) -> Result<Checkout, GatewayError> {
        let intent = match r.action {
            Action::Authorise => "AUTHORIZE",
            Action::Sale => "CAPTURE",
        };
        let description: String = r.description.chars().take(127).collect();
        let body = json!({
            "intent": intent,
            "purchase_units": [{
                "reference_id": r.payment.as_str(),
                // custom_id names the order; invoice_id must be unique per attempt at PayPal.
                "custom_id": r.order.as_str(),
                "invoice_id": r.payment.as_str(),
                "description": description,
                "amount": {"currency_code": r.amount.currency().code(), "value": value(r.amount)?},
            }],
            "payment_source": {"paypal": {"experience_context": {
                "shipping_preference": "NO_SHIPPING",
                "user_action": "PAY_NOW",
                "return_url": r.return_url.as_str(),
                "cancel_url": r.cancel_url.as_str(),
            }}},
        });
        let order = self.post("v2/checkout/orders", &body, r.key.as_str()).await?;
        let id = order["id"]
            .as_str()
            .ok_or_else(|| GatewayError::Communication("order without id".into()))?;
        let redirect = order["links"]
            .as_array()
            .into_iter()
            .flatten()
            .find(|l| matches!(l["rel"].as_str(), Some("payer-action" | "approve")))
            .and_then(|l| l["href"].as_str())
            .and_then(|href| Url::parse(href).ok())
            .ok_or_else(|| {
                GatewayError::Communication(format!("order {id} without an approval link"))
            })?;
        Ok(Checkout { redirect, reference: id.to_owned(), token: None })
    }

    async fn verify_callback(&self, callback: &Callback) -> Result<Option<Notice>, GatewayError> {
        let event = callback.json()?;
        self.verify(callback, &event).await?;
        let resource = &event["resource"];
        let kind = event["event_type"].as_str().unwrap_or_default();
        // Orders name themselves; captures and authorisations name their order.
        let (order_id, unit) = match event["resource_type"].as_str() {
            Some("checkout-order") => (resource["id"].as_str(), &resource["purchase_units"][0]),
            Some("capture" | "authorization") => {
                (resource["supplementary_data"]["related_ids"]["order_id"].as_str(), resource)
            }
            _ => return Ok(None),
        };
        let order_id =
            order_id.ok_or_else(|| GatewayError::BadCallback(format!("{kind} names no order")))?;
        let amount = &unit["amount"];
        let fields = [
            ("event", event["id"].as_str().unwrap_or_default()),
            ("event_type", kind),
            ("order", order_id),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_owned(), v.to_owned()))
        .collect();
        Ok(Some(Notice {
            checkout_ref: order_id.to_owned(),
            order: unit["custom_id"].as_str().map(str::to_owned),
            amount: amount["value"].as_str().map(str::to_owned),
            currency: amount["currency_code"].as_str().map(str::to_owned),
            fields,
        }))
    }

    async fn inquire(&self, payment: &Payment) -> Result<Status, GatewayError> {
        let id = payment
            .checkout_ref
            .as_deref()
            .ok_or_else(|| GatewayError::Refused(format!("{} has no PayPal order", payment.id)))?;
        let order = self
            .call(reqwest::Method::GET, &format!("v2/checkout/orders/{id}"), None, None)
            .await?;
        let amount = money_of(&order["purchase_units"][0]["amount"])?;
        if amount != payment.amount {
            return Err(GatewayError::Refused(format!(
                "PayPal order {id} is for {amount} {}, the payment for {} {}",
                amount.currency(),
                payment.amount,
                payment.currency()
            )));
        }
        if order["status"].as_str() != Some("APPROVED") {
            return status_of(&order);
        }
        // Approved by the payer: tollbooth completes it, once, whoever asks first.
        let action = match payment.action {
            Action::Authorise => "authorize",
            Action::Sale => "capture",
        };
        let key = payment.key(Step::Complete);
        match self
            .post(&format!("v2/checkout/orders/{id}/{action}"), &json!({}), key.as_str())
            .await
        {
            Ok(order) => status_of(&order),
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
        let authorization = self.reference(payment)?;
        let body = json!({
            "amount": {"currency_code": amount.currency().code(), "value": value(amount)?},
            "final_capture": true,
        });
        let capture = self
            .post(
                &format!("v2/payments/authorizations/{authorization}/capture"),
                &body,
                key.as_str(),
            )
            .await?;
        done(&capture, "COMPLETED")
    }

    async fn void(&self, payment: &Payment, key: &IdempotencyKey) -> Result<Done, GatewayError> {
        let authorization = self.reference(payment)?;
        self.post(
            &format!("v2/payments/authorizations/{authorization}/void"),
            &json!({}),
            key.as_str(),
        )
        .await?;
        Ok(Done { reference: authorization })
    }

    async fn refund(
        &self,
        payment: &Payment,
        amount: Money,
        key: &IdempotencyKey,
    ) -> Result<Done, GatewayError> {
        // A refund refers to the capture: the authorisation's capture, or the sale itself.
        let capture = match &payment.capture_ref {
            Some(capture) => capture.clone(),
            None => self.reference(payment)?,
        };
        let body =
            json!({"amount": {"currency_code": amount.currency().code(), "value": value(amount)?}});
        let refund = self
            .post(&format!("v2/payments/captures/{capture}/refund"), &body, key.as_str())
            .await?;
        done(&refund, "COMPLETED")
    }
}

/// The id of a capture or refund that reached `expected` (or is still pending at PayPal).
fn done(answer: &Value, expected: &str) -> Result<Done, GatewayError> {
    let status = answer["status"].as_str().unwrap_or_default();
    if status != expected && status != "PENDING" {
        return Err(GatewayError::Refused(format!("PayPal answered status {status}")));
    }
    let id = answer["id"]
        .as_str()
        .ok_or_else(|| GatewayError::Communication("answer without id".into()))?;
    Ok(Done { reference: id.to_owned() })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn values_have_paypal_decimals_or_are_refused() {
        let m = |s: &str, c: &str| Money::parse_exact(s, c.parse().unwrap()).unwrap();
        assert_eq!(value(m("81", "USD")).unwrap(), "81.00");
        assert_eq!(value(m("1200", "JPY")).unwrap(), "1200");
        assert_eq!(value(m("1500", "HUF")).unwrap(), "1500");
        assert!(value(m("1500.50", "HUF")).is_err());
        assert_eq!(value(m("1.250", "KWD")).unwrap(), "1.250");
    }

    #[test]
    fn declines_are_told_from_refusals() {
        let body = r#"{"name":"UNPROCESSABLE_ENTITY","details":[{"issue":"INSTRUMENT_DECLINED"}]}"#;
        assert!(matches!(error(422, body), GatewayError::Declined(_)));
        let body = r#"{"name":"UNPROCESSABLE_ENTITY","details":[{"issue":"ORDER_NOT_APPROVED"}]}"#;
        assert!(matches!(error(422, body), GatewayError::Refused(_)));
    }
}
