//! PayPal Payflow Pro with secure tokens and hosted pages, for credit and debit cards
//! (`reference/payments.md` §1). The card is typed on Payflow's hosted page; tollbooth only
//! creates the token, reads the result back by inquiry, and captures, voids and credits by
//! reference.

pub mod nvp;

use std::collections::BTreeMap;
use std::time::Duration;

use async_trait::async_trait;
use rust_decimal::Decimal;
use secrecy::{ExposeSecret, SecretString};
use url::Url;

use super::http;
use super::{Callback, Checkout, CheckoutRequest, Done, Gateway, GatewayError, Notice, Status};
use crate::config::{PayflowConfig, PayflowMode};
use crate::money::{Currency, Money};
use crate::payments::order::Action;
use crate::payments::payment::{CaptureLimit, IdempotencyKey, Payment};

pub const NAME: &str = "payflow";

/// Silent-post fields worth keeping; everything else (card type, last digits, address) is not
/// ours to store.
const KEPT_FIELDS: [&str; 9] =
    ["RESULT", "RESPMSG", "PNREF", "TYPE", "AMT", "CURRENCY", "INVNUM", "SECURETOKENID", "TRXTYPE"];

pub struct Payflow {
    api: Url,
    hosted: Url,
    mode: PayflowMode,
    partner: String,
    vendor: String,
    user: String,
    password: SecretString,
    timeout: Duration,
    http: reqwest::Client,
}

type Fields = BTreeMap<String, String>;

impl Payflow {
    pub fn new(config: &PayflowConfig) -> Payflow {
        Payflow {
            api: config.api_url(),
            hosted: config.hosted_url(),
            mode: config.mode,
            partner: config.partner.clone(),
            vendor: config.vendor.clone(),
            user: config.user.clone().unwrap_or_else(|| config.vendor.clone()),
            password: config.password.clone(),
            timeout: Duration::from_secs(config.timeout_secs),
            http: reqwest::Client::new(),
        }
    }

    /// One API call, retried on communication failures with the same `X-VPS-REQUEST-ID`, so
    /// Payflow answers a retry of something it already did with the first answer.
    async fn call(
        &self,
        fields: &[(&str, String)],
        request_id: &str,
    ) -> Result<Fields, GatewayError> {
        let credentials = [
            ("PARTNER", self.partner.clone()),
            ("VENDOR", self.vendor.clone()),
            ("USER", self.user.clone()),
            ("PWD", self.password.expose_secret().to_owned()),
        ];
        // The body holds the password: it is sent, never logged.
        let all: Vec<(&str, String)> =
            credentials.into_iter().chain(fields.iter().cloned()).collect();
        let body = nvp::encode(&all);
        let trxtype = fields.iter().find(|(k, _)| *k == "TRXTYPE").map_or("", |(_, v)| v);
        http::with_retries(NAME, trxtype, || async {
            self.send(&body, request_id).await.and_then(classify)
        })
        .await
    }

    async fn send(&self, body: &str, request_id: &str) -> Result<Fields, GatewayError> {
        let response = self
            .http
            .post(self.api.clone())
            .header("Content-Type", "text/namevalue")
            .header("X-VPS-REQUEST-ID", request_id)
            .header("X-VPS-CLIENT-TIMEOUT", self.timeout.as_secs().to_string())
            .body(body.to_owned())
            .timeout(self.timeout)
            .send()
            .await
            .map_err(|e| GatewayError::Communication(e.to_string()))?;
        let status = response.status();
        let text = response.text().await.map_err(|e| GatewayError::Communication(e.to_string()))?;
        if status.is_server_error() {
            return Err(GatewayError::Communication(format!("HTTP {status}")));
        }
        if !status.is_success() {
            return Err(GatewayError::Refused(format!("HTTP {status}")));
        }
        nvp::decode(&text).map_err(|e| GatewayError::Communication(format!("bad answer: {e}")))
    }

    fn reference(&self, payment: &Payment) -> Result<String, GatewayError> {
        payment
            .reference
            .clone()
            .ok_or_else(|| GatewayError::Refused(format!("{} has no Payflow PNREF", payment.id)))
    }
}

/// Maps Payflow's RESULT to an outcome (`payments.md` §1.8).
pub fn classify(fields: Fields) -> Result<Fields, GatewayError> {
    let result: i64 = fields
        .get("RESULT")
        .and_then(|r| r.parse().ok())
        .ok_or_else(|| GatewayError::Communication("answer without RESULT".into()))?;
    let message = fields.get("RESPMSG").cloned().unwrap_or_default();
    let described = format!("{message} (RESULT {result})");
    match result {
        0 => Ok(fields),
        7 if message.to_ascii_lowercase().contains("expired") => Err(GatewayError::Expired),
        12 | 13 | 23 | 24 | 50 | 51 | 112 | 114 | 125 | 127 | 128 => {
            Err(GatewayError::Declined(described))
        }
        126 => Err(GatewayError::FraudReview(described)),
        // Not attempted, or the processor timed out or was busy: safe to retry.
        r if r < 0 => Err(GatewayError::Communication(described)),
        11 | 104 | 115 | 150 | 151 => Err(GatewayError::Communication(described)),
        _ => Err(GatewayError::Refused(described)),
    }
}

/// `AMT` is a decimal with exactly two digits after the point; amounts that do not fit are
/// refused rather than rounded.
pub fn amt(money: Money) -> Result<String, GatewayError> {
    let amount = money.amount();
    if amount.round_dp(2) != amount {
        return Err(GatewayError::Unsupported(format!(
            "Payflow takes two decimals; {money} {} has more",
            money.currency()
        )));
    }
    Ok(format!("{:.2}", amount))
}

fn money(fields: &Fields, default_currency: Currency) -> Result<Money, GatewayError> {
    let currency = match fields.get("CURRENCY") {
        Some(code) => code.parse().map_err(|e| GatewayError::BadCallback(format!("{e}")))?,
        None => default_currency,
    };
    let text = fields.get("AMT").ok_or_else(|| GatewayError::BadCallback("no AMT".into()))?;
    let value: Decimal =
        text.parse().map_err(|_| GatewayError::BadCallback(format!("AMT `{text}`")))?;
    Ok(Money::round(value, currency))
}

fn done(fields: Fields) -> Result<Done, GatewayError> {
    let reference = fields
        .get("PNREF")
        .cloned()
        .ok_or_else(|| GatewayError::Communication("answer without PNREF".into()))?;
    Ok(Done { reference })
}

/// A fresh id for calls that move no money (inquiries), which may be repeated freely.
fn fresh_request_id() -> String {
    use rand::RngCore;
    let mut bytes = [0u8; 16];
    rand::rng().fill_bytes(&mut bytes);
    hex::encode(bytes)
}

#[async_trait]
impl Gateway for Payflow {
    fn name(&self) -> &'static str {
        NAME
    }

    /// A credit (`TRXTYPE=C`) with `AMT` credits part of the original (`payments.md` §1.5).
    fn refunds_partially(&self) -> bool {
        true
    }

    /// A delayed capture may be for more than the authorisation (`payments.md` §1.5), so a
    /// session that ran over is charged in full instead of leaving a balance.
    fn capture_limit(&self) -> CaptureLimit {
        CaptureLimit::AboveAuthorised
    }

    async fn create_checkout(&self, r: &CheckoutRequest) -> Result<Checkout, GatewayError> {
        let trxtype = match r.action {
            Action::Authorise => "A",
            Action::Sale => "S",
        };
        // One token per payment: the payment's checkout key is unique and alphanumeric.
        let token_id = r.key.as_str().to_owned();
        let description: String = r.description.chars().take(128).collect();
        let answer = self
            .call(
                &[
                    ("TRXTYPE", trxtype.into()),
                    ("TENDER", "C".into()),
                    ("AMT", amt(r.amount)?),
                    ("CURRENCY", r.amount.currency().code().into()),
                    ("INVNUM", r.order.to_string()),
                    ("COMMENT1", description),
                    ("CREATESECURETOKEN", "Y".into()),
                    ("SECURETOKENID", token_id.clone()),
                    ("RETURNURL", r.return_url.to_string()),
                    ("CANCELURL", r.cancel_url.to_string()),
                    ("ERRORURL", r.return_url.to_string()),
                    ("SILENTPOSTURL", r.notify_url.to_string()),
                    ("SILENTPOST", "TRUE".into()),
                    ("URLMETHOD", "GET".into()),
                    ("DISABLERECEIPT", "TRUE".into()),
                ],
                r.key.as_str(),
            )
            .await?;
        let token = answer
            .get("SECURETOKEN")
            .ok_or_else(|| GatewayError::Communication("no SECURETOKEN in the answer".into()))?;
        let mut redirect = self.hosted.clone();
        redirect
            .query_pairs_mut()
            .append_pair("SECURETOKEN", token)
            .append_pair("SECURETOKENID", &token_id)
            .append_pair("MODE", self.mode.as_str());
        Ok(Checkout { redirect, reference: token_id, token: Some(token.clone()) })
    }

    async fn verify_callback(&self, callback: &Callback) -> Result<Option<Notice>, GatewayError> {
        // Silent posts are not signed (`payments.md` §1.7): the inquiry that follows is what
        // counts.
        let fields: BTreeMap<String, String> = callback
            .form()
            .into_iter()
            .filter(|(k, _)| KEPT_FIELDS.contains(&k.as_str()))
            .collect();
        let checkout_ref = fields
            .get("SECURETOKENID")
            .cloned()
            .ok_or_else(|| GatewayError::BadCallback("no SECURETOKENID".into()))?;
        Ok(Some(Notice {
            checkout_ref,
            order: fields.get("INVNUM").cloned(),
            amount: fields.get("AMT").cloned(),
            currency: fields.get("CURRENCY").cloned(),
            fields,
        }))
    }

    async fn inquire(&self, payment: &Payment) -> Result<Status, GatewayError> {
        let token = payment
            .checkout_token
            .clone()
            .ok_or_else(|| GatewayError::Refused(format!("{} has no secure token", payment.id)))?;
        let answer = self
            .call(
                &[
                    ("TRXTYPE", "I".into()),
                    ("TENDER", "C".into()),
                    ("SECURETOKEN", token),
                    ("VERBOSITY", "HIGH".into()),
                ],
                &fresh_request_id(),
            )
            .await;
        let fields = match answer {
            Ok(fields) => fields,
            // No transaction for this token yet: the payer has not finished.
            Err(GatewayError::Refused(why)) if why.contains("RESULT 19)") => {
                return Ok(Status::Open);
            }
            Err(e) => return Err(e),
        };
        let reference = fields
            .get("ORIGPNREF")
            .cloned()
            .ok_or_else(|| GatewayError::Communication("inquiry without ORIGPNREF".into()))?;
        let original = fields.get("ORIGRESULT").cloned().unwrap_or_default();
        let message = fields.get("RESPMSG").cloned().unwrap_or_default();
        let mut as_original = fields.clone();
        as_original.insert("RESULT".into(), original);
        Ok(match classify(as_original) {
            Ok(_) => {
                let amount = money(&fields, payment.currency())?;
                match payment.action {
                    Action::Authorise => Status::Authorised { reference, amount },
                    Action::Sale => Status::Sold { reference, amount },
                }
            }
            Err(GatewayError::FraudReview(_)) => Status::Review { reference },
            Err(GatewayError::Declined(why)) => Status::Declined { reason: why },
            Err(GatewayError::Expired) => Status::Declined { reason: message },
            Err(e) => return Err(e),
        })
    }

    async fn capture(
        &self,
        payment: &Payment,
        amount: Money,
        key: &IdempotencyKey,
    ) -> Result<Done, GatewayError> {
        let fields = [
            ("TRXTYPE", "D".into()),
            ("TENDER", "C".into()),
            ("ORIGID", self.reference(payment)?),
            ("AMT", amt(amount)?),
        ];
        done(self.call(&fields, key.as_str()).await?)
    }

    async fn void(&self, payment: &Payment, key: &IdempotencyKey) -> Result<Done, GatewayError> {
        let fields =
            [("TRXTYPE", "V".into()), ("TENDER", "C".into()), ("ORIGID", self.reference(payment)?)];
        done(self.call(&fields, key.as_str()).await?)
    }

    async fn refund(
        &self,
        payment: &Payment,
        amount: Money,
        key: &IdempotencyKey,
    ) -> Result<Done, GatewayError> {
        // A credit refers to the transaction that took the money: the capture, or the sale.
        let origin = match &payment.capture_ref {
            Some(capture) => capture.clone(),
            None => self.reference(payment)?,
        };
        let fields = [
            ("TRXTYPE", "C".into()),
            ("TENDER", "C".into()),
            ("ORIGID", origin),
            ("AMT", amt(amount)?),
        ];
        done(self.call(&fields, key.as_str()).await?)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fields(pairs: &[(&str, &str)]) -> Fields {
        pairs.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect()
    }

    #[test]
    fn result_codes_map_to_outcomes() {
        let r = |code: &str, msg: &str| classify(fields(&[("RESULT", code), ("RESPMSG", msg)]));
        assert!(r("0", "Approved").is_ok());
        assert!(matches!(r("12", "Declined"), Err(GatewayError::Declined(_))));
        assert!(matches!(r("126", "Under review"), Err(GatewayError::FraudReview(_))));
        assert_eq!(r("7", "Secure Token Expired"), Err(GatewayError::Expired));
        assert!(matches!(r("7", "Field format error"), Err(GatewayError::Refused(_))));
        assert!(r("-12", "Timeout").unwrap_err().is_retryable());
        assert!(r("104", "Timeout").unwrap_err().is_retryable());
        assert!(matches!(r("1", "User authentication failed"), Err(GatewayError::Refused(_))));
        assert!(matches!(r("111", "Capture error"), Err(GatewayError::Refused(_))));
    }

    #[test]
    fn amounts_have_two_decimals_or_are_refused() {
        let m = |s: &str, c: &str| Money::parse_exact(s, c.parse().unwrap()).unwrap();
        assert_eq!(amt(m("34", "USD")).unwrap(), "34.00");
        assert_eq!(amt(m("1200", "JPY")).unwrap(), "1200.00");
        assert_eq!(amt(m("1.250", "KWD")).unwrap(), "1.25");
        assert!(amt(m("1.255", "KWD")).is_err());
    }
}
