//! Stripe Checkout (`reference/payments.md` §4.2): a Checkout Session per payment, in minor
//! units; pay-per-use holds with `capture_method=manual` and captures the PaymentIntent later;
//! refunds by PaymentIntent. Every POST carries an `Idempotency-Key` from (order, step), and
//! webhooks are verified by `Stripe-Signature` before anything else is read from them.

use std::time::Duration;

use async_trait::async_trait;
use chrono::Utc;
use hmac::{KeyInit, Mac};
use secrecy::{ExposeSecret, SecretString};
use serde_json::Value;
use sha2::Sha256;
use url::Url;

use super::{
    Callback, Checkout, CheckoutRequest, Done, Gateway, GatewayError, Notice, Status, http,
};
use crate::config::StripeConfig;
use crate::money::{Currency, Money};
use crate::payments::order::Action;
use crate::payments::payment::{IdempotencyKey, Payment};

pub const NAME: &str = "stripe";

/// How old a signed webhook may be (the official libraries' default, `anchors.md` B.3).
pub const TOLERANCE_SECS: i64 = 300;

/// Checkout events that say something about a session; every other event is ignored.
const SESSION_EVENTS: [&str; 4] = [
    "checkout.session.completed",
    "checkout.session.async_payment_succeeded",
    "checkout.session.async_payment_failed",
    "checkout.session.expired",
];

type HmacSha256 = hmac::Hmac<Sha256>;

pub struct Stripe {
    api: Url,
    secret_key: SecretString,
    webhook_secret: SecretString,
    timeout: Duration,
    http: reqwest::Client,
}

/// Stripe counts in the currency's minor unit. Where Stripe's unit differs from ISO 4217's
/// (MGA is zero-decimal at Stripe, two decimals in ISO) the amount is refused, never guessed.
pub fn minor_units(money: Money) -> Result<i64, GatewayError> {
    if money.currency().code() == "MGA" {
        return Err(GatewayError::Unsupported(
            "Stripe counts MGA without decimals, unlike ISO 4217; charge another currency".into(),
        ));
    }
    money.minor().map_err(|e| GatewayError::Unsupported(format!("{money}: {e}")))
}

fn money_of(minor: Option<i64>, currency: Option<&str>) -> Result<Money, GatewayError> {
    let minor =
        minor.ok_or_else(|| GatewayError::Communication("answer without an amount".into()))?;
    let currency: Currency = currency
        .unwrap_or_default()
        .parse()
        .map_err(|e| GatewayError::Communication(format!("answer with {e}")))?;
    Ok(Money::from_minor(minor, currency))
}

/// Checks a `Stripe-Signature` header (`t=…,v1=…[,v1=…]`) over `"{t}.{body}"`: any `v1` may
/// match (secrets are rotated), compared in constant time, and `t` must be within
/// [`TOLERANCE_SECS`] of `now`.
pub fn verify_signature(
    secret: &SecretString,
    header: &str,
    body: &[u8],
    now: i64,
) -> Result<(), GatewayError> {
    let mut timestamp = None;
    let mut signatures = Vec::new();
    for part in header.split(',') {
        match part.trim().split_once('=') {
            Some(("t", t)) => timestamp = t.parse::<i64>().ok(),
            Some(("v1", v)) => signatures.push(v),
            _ => {}
        }
    }
    let t = timestamp
        .ok_or_else(|| GatewayError::Unverified("no timestamp in Stripe-Signature".into()))?;
    if signatures.is_empty() {
        return Err(GatewayError::Unverified("no v1 signature in Stripe-Signature".into()));
    }
    if (now - t).abs() > TOLERANCE_SECS {
        return Err(GatewayError::Unverified(format!(
            "Stripe-Signature timestamp is {}s away from now (tolerance {TOLERANCE_SECS}s)",
            now - t
        )));
    }
    let matches = signatures.iter().any(|v| {
        let Ok(expected) = hex::decode(v) else { return false };
        let mut mac = mac(secret);
        mac.update(format!("{t}.").as_bytes());
        mac.update(body);
        // `verify_slice` compares in constant time.
        mac.verify_slice(&expected).is_ok()
    });
    if matches { Ok(()) } else { Err(GatewayError::Unverified("no v1 signature matches".into())) }
}

/// The header Stripe would send for `body` at `t`, for emulators and tests.
pub fn sign(secret: &SecretString, t: i64, body: &[u8]) -> String {
    let mut mac = mac(secret);
    mac.update(format!("{t}.").as_bytes());
    mac.update(body);
    format!("t={t},v1={}", hex::encode(mac.finalize().into_bytes()))
}

fn mac(secret: &SecretString) -> HmacSha256 {
    HmacSha256::new_from_slice(secret.expose_secret().as_bytes())
        .expect("HMAC takes any key length")
}

/// Stripe's error body, `{"error": {"type", "code", "message", "decline_code"}}`.
fn error(status: u16, text: &str) -> GatewayError {
    let body: Value = serde_json::from_str(text).unwrap_or_default();
    let e = &body["error"];
    let message = format!(
        "{} ({}, HTTP {status})",
        e["message"].as_str().unwrap_or(&http::excerpt(text)),
        e["code"].as_str().or(e["type"].as_str()).unwrap_or("no code")
    );
    match status {
        // 402: the card was declined.
        402 => GatewayError::Declined(message),
        _ => GatewayError::Refused(message),
    }
}

impl Stripe {
    pub fn new(config: &StripeConfig) -> Stripe {
        Stripe {
            api: config.api_base.clone(),
            secret_key: config.secret_key.clone(),
            webhook_secret: config.webhook_secret.clone(),
            timeout: Duration::from_secs(config.timeout_secs),
            http: reqwest::Client::new(),
        }
    }

    fn url(&self, path: &str) -> Url {
        self.api.join(path).expect("a relative path joins any base URL")
    }

    /// A form POST with the step's idempotency key, retried with the same key.
    async fn post(
        &self,
        path: &str,
        form: &[(&str, String)],
        key: &str,
    ) -> Result<Value, GatewayError> {
        http::with_retries(NAME, path, || async {
            let request = self
                .http
                .post(self.url(path))
                .bearer_auth(self.secret_key.expose_secret())
                .header("Idempotency-Key", key)
                .form(form)
                .timeout(self.timeout);
            self.answer(request).await
        })
        .await
    }

    async fn get(&self, path: &str, query: &[(&str, &str)]) -> Result<Value, GatewayError> {
        http::with_retries(NAME, path, || async {
            let mut url = self.url(path);
            url.query_pairs_mut().extend_pairs(query);
            let request = self
                .http
                .get(url)
                .bearer_auth(self.secret_key.expose_secret())
                .timeout(self.timeout);
            self.answer(request).await
        })
        .await
    }

    async fn answer(&self, request: reqwest::RequestBuilder) -> Result<Value, GatewayError> {
        let (status, text) = http::send(request).await?;
        if !(200..300).contains(&status) {
            return Err(error(status, &text));
        }
        serde_json::from_str(&text)
            .map_err(|e| GatewayError::Communication(format!("answer is not JSON: {e}")))
    }

    fn intent(&self, payment: &Payment) -> Result<String, GatewayError> {
        payment
            .reference
            .clone()
            .ok_or_else(|| GatewayError::Refused(format!("{} has no PaymentIntent", payment.id)))
    }
}

/// What a Checkout Session (with its PaymentIntent expanded) says of the payment. The
/// PaymentIntent's status is the truth: `payment_status` reads `unpaid` for a held card too.
fn status_of(session: &Value) -> Result<Status, GatewayError> {
    let intent = &session["payment_intent"];
    let reference = intent["id"].as_str().map(str::to_owned);
    let currency = intent["currency"].as_str();
    match (session["status"].as_str(), intent["status"].as_str(), reference) {
        (_, Some("requires_capture"), Some(reference)) => Ok(Status::Authorised {
            amount: money_of(intent["amount_capturable"].as_i64(), currency)?,
            reference,
        }),
        (_, Some("succeeded"), Some(reference)) => Ok(Status::Sold {
            amount: money_of(intent["amount_received"].as_i64(), currency)?,
            reference,
        }),
        (Some("complete"), Some("requires_payment_method" | "canceled"), _) => {
            let why = intent["last_payment_error"]["message"].as_str().unwrap_or("payment failed");
            Ok(Status::Declined { reason: why.to_owned() })
        }
        (Some("expired"), _, _) => {
            Ok(Status::Declined { reason: "the checkout session expired".into() })
        }
        // Open, or an asynchronous payment still processing.
        _ => Ok(Status::Open),
    }
}

#[async_trait]
impl Gateway for Stripe {
    fn name(&self) -> &'static str {
        NAME
    }

    /// `POST /v1/refunds` takes an `amount` below the charge's (`payments.md` §4.2).
    fn refunds_partially(&self) -> bool {
        true
    }

    async fn create_checkout(&self, r: &CheckoutRequest) -> Result<Checkout, GatewayError> {
        let mut form = vec![
            ("mode", "payment".to_owned()),
            (
                "line_items[0][price_data][currency]",
                r.amount.currency().code().to_ascii_lowercase(),
            ),
            ("line_items[0][price_data][unit_amount]", minor_units(r.amount)?.to_string()),
            ("line_items[0][price_data][product_data][name]", r.description.clone()),
            ("line_items[0][quantity]", "1".to_owned()),
            ("success_url", r.return_url.to_string()),
            ("cancel_url", r.cancel_url.to_string()),
            ("client_reference_id", r.order.to_string()),
            ("metadata[order]", r.order.to_string()),
            ("metadata[payment]", r.payment.to_string()),
            ("payment_intent_data[metadata][payment]", r.payment.to_string()),
        ];
        if r.action == Action::Authorise {
            // Pay-per-use holds the estimate and captures the real cost when the session ends.
            form.push(("payment_intent_data[capture_method]", "manual".to_owned()));
        }
        let session = self.post("v1/checkout/sessions", &form, r.key.as_str()).await?;
        let id = session["id"]
            .as_str()
            .ok_or_else(|| GatewayError::Communication("session without id".into()))?;
        let redirect = session["url"]
            .as_str()
            .and_then(|u| Url::parse(u).ok())
            .ok_or_else(|| GatewayError::Communication(format!("session {id} without a url")))?;
        Ok(Checkout { redirect, reference: id.to_owned(), token: None })
    }

    async fn verify_callback(&self, callback: &Callback) -> Result<Option<Notice>, GatewayError> {
        let header = callback
            .header("stripe-signature")
            .ok_or_else(|| GatewayError::Unverified("no Stripe-Signature header".into()))?;
        verify_signature(&self.webhook_secret, header, &callback.body, Utc::now().timestamp())?;
        let event = callback.json()?;
        let kind = event["type"].as_str().unwrap_or_default();
        if !SESSION_EVENTS.contains(&kind) {
            return Ok(None);
        }
        let session = &event["data"]["object"];
        let id = session["id"]
            .as_str()
            .ok_or_else(|| GatewayError::BadCallback(format!("{kind} without a session id")))?;
        let currency = session["currency"].as_str().map(str::to_ascii_uppercase);
        let amount = match (session["amount_total"].as_i64(), currency.as_deref()) {
            (Some(minor), Some(code)) => Some(
                money_of(Some(minor), Some(code))
                    .map_err(|e| GatewayError::BadCallback(e.to_string()))?
                    .to_string(),
            ),
            _ => None,
        };
        let fields = [
            ("event", event["id"].as_str().unwrap_or_default()),
            ("type", kind),
            ("session", id),
            ("payment_status", session["payment_status"].as_str().unwrap_or_default()),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_owned(), v.to_owned()))
        .collect();
        Ok(Some(Notice {
            checkout_ref: id.to_owned(),
            order: session["client_reference_id"].as_str().map(str::to_owned),
            amount,
            currency,
            fields,
        }))
    }

    async fn inquire(&self, payment: &Payment) -> Result<Status, GatewayError> {
        let id = payment.checkout_ref.as_deref().ok_or_else(|| {
            GatewayError::Refused(format!("{} has no checkout session", payment.id))
        })?;
        let session = self
            .get(&format!("v1/checkout/sessions/{id}"), &[("expand[]", "payment_intent")])
            .await?;
        status_of(&session)
    }

    async fn capture(
        &self,
        payment: &Payment,
        amount: Money,
        key: &IdempotencyKey,
    ) -> Result<Done, GatewayError> {
        let intent = self.intent(payment)?;
        let form = [("amount_to_capture", minor_units(amount)?.to_string())];
        let answer =
            self.post(&format!("v1/payment_intents/{intent}/capture"), &form, key.as_str()).await?;
        if answer["status"].as_str() != Some("succeeded") {
            return Err(GatewayError::Refused(format!(
                "capture of {intent} left it {}",
                answer["status"]
            )));
        }
        // The charge is what the money moved by; the intent when Stripe does not say.
        let reference = answer["latest_charge"].as_str().unwrap_or(&intent).to_owned();
        Ok(Done { reference })
    }

    async fn void(&self, payment: &Payment, key: &IdempotencyKey) -> Result<Done, GatewayError> {
        let intent = self.intent(payment)?;
        self.post(&format!("v1/payment_intents/{intent}/cancel"), &[], key.as_str()).await?;
        Ok(Done { reference: intent })
    }

    async fn refund(
        &self,
        payment: &Payment,
        amount: Money,
        key: &IdempotencyKey,
    ) -> Result<Done, GatewayError> {
        let form = [
            ("payment_intent", self.intent(payment)?),
            ("amount", minor_units(amount)?.to_string()),
        ];
        let refund = self.post("v1/refunds", &form, key.as_str()).await?;
        match refund["status"].as_str() {
            Some("succeeded" | "pending") => {}
            other => {
                return Err(GatewayError::Refused(format!(
                    "refund is {}",
                    other.unwrap_or("unknown")
                )));
            }
        }
        let id = refund["id"]
            .as_str()
            .ok_or_else(|| GatewayError::Communication("refund without id".into()))?;
        Ok(Done { reference: id.to_owned() })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn secret() -> SecretString {
        SecretString::from("whsec_test".to_owned())
    }

    #[test]
    fn signatures_hold_within_the_tolerance_only() {
        let body = br#"{"id":"evt_1"}"#;
        let now = 1_700_000_000;
        let header = sign(&secret(), now, body);
        assert!(verify_signature(&secret(), &header, body, now + 299).is_ok());
        assert!(verify_signature(&secret(), &header, body, now + 301).is_err(), "too old");
        assert!(verify_signature(&secret(), &header, b"{}", now).is_err(), "tampered body");
        let other = SecretString::from("whsec_other".to_owned());
        assert!(verify_signature(&other, &header, body, now).is_err(), "wrong secret");
        // Rotation: one bad and one good v1.
        let v1 = header.split_once(",v1=").unwrap().1;
        let rotated = format!("t={now},v1={},v1={v1}", "0".repeat(64));
        assert!(verify_signature(&secret(), &rotated, body, now).is_ok());
        for malformed in ["", "t=abc,v1=00", &format!("t={now}"), &format!("t={now},v0={v1}")] {
            assert!(verify_signature(&secret(), malformed, body, now).is_err(), "{malformed}");
        }
    }

    #[test]
    fn amounts_in_minor_units() {
        let m = |s: &str, c: &str| Money::parse_exact(s, c.parse().unwrap()).unwrap();
        assert_eq!(minor_units(m("81.00", "USD")).unwrap(), 8100);
        assert_eq!(minor_units(m("1200", "JPY")).unwrap(), 1200);
        assert_eq!(minor_units(m("1.250", "KWD")).unwrap(), 1250);
        assert!(minor_units(m("100", "MGA")).is_err());
        assert_eq!(Money::from_minor(3690, "JPY".parse().unwrap()).to_string(), "3690");
    }
}
