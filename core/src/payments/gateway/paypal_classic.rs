//! PayPal's classic NVP API (`reference/payments.md` §2), which Express Checkout and Website
//! Payments Pro share: the call with `USER`/`PWD`/`SIGNATURE`/`VERSION`, `ACK` and the
//! `L_ERRORCODEn` errors, the money-moving calls on an existing transaction (DoCapture, DoVoid,
//! RefundTransaction, each with a `MSGSUBID` from (order, step)), reading a transaction's state,
//! and IPN messages verified by posting them back with `cmd=_notify-validate`.
//!
//! Unlike Payflow's length-tagged pairs, classic NVP requests and answers are ordinary
//! URL-encoded forms, so Payflow's codec does not apply; `url::form_urlencoded` does.

use std::collections::BTreeMap;
use std::time::Duration;

use rust_decimal::Decimal;
use secrecy::{ExposeSecret, SecretString};
use url::Url;

use super::{Callback, Done, GatewayError, Notice, Status, http};
use crate::config::PaypalClassicConfig;
use crate::money::{Currency, Money};
use crate::payments::payment::{IdempotencyKey, Payment};

/// The NVP API version whose field names (`PAYMENTREQUEST_0_*`, `PAYMENTINFO_0_*`) are used.
const VERSION: &str = "124.0";

/// Error codes that mean the buyer's funding was refused, not that the call was wrong.
const DECLINE_CODES: [&str; 6] = ["10417", "10486", "10422", "15005", "10201", "11610"];

/// Error codes PayPal documents as temporary: retry with the same `MSGSUBID`.
const TEMPORARY_CODES: [&str; 2] = ["10001", "10445"];

/// IPN fields kept for the record.
const KEPT_IPN_FIELDS: [&str; 9] = [
    "txn_id",
    "txn_type",
    "parent_txn_id",
    "payment_status",
    "pending_reason",
    "invoice",
    "custom",
    "mc_gross",
    "mc_currency",
];

pub type Fields = BTreeMap<String, String>;

pub struct Classic {
    api: Url,
    web: Url,
    ipn: Url,
    user: String,
    password: SecretString,
    signature: SecretString,
    receiver_email: Option<String>,
    timeout: Duration,
    http: reqwest::Client,
}

/// PayPal's amount format: the currency's decimals, except HUF, JPY and TWD in whole units
/// (the same table as the REST API's).
pub use super::paypal_orders::value as amt;

impl Classic {
    pub fn new(config: &PaypalClassicConfig) -> Classic {
        Classic {
            api: config.api_url.clone(),
            web: config.web_url.clone(),
            ipn: config.ipn_url.clone(),
            user: config.user.clone(),
            password: config.password.clone(),
            signature: config.signature.clone(),
            receiver_email: config.receiver_email.clone(),
            timeout: Duration::from_secs(config.timeout_secs),
            http: reqwest::Client::new(),
        }
    }

    /// Where payers go (`…/cgi-bin/webscr`).
    pub fn web_url(&self) -> &Url {
        &self.web
    }

    /// One NVP call, retried on communication failures; money-moving calls carry a `MSGSUBID`,
    /// so PayPal answers a retry of something it already did with the first answer.
    pub async fn call(
        &self,
        gateway: &str,
        method: &str,
        fields: &[(&str, String)],
    ) -> Result<Fields, GatewayError> {
        // The body holds the credentials: it is sent, never logged.
        let body = url::form_urlencoded::Serializer::new(String::new())
            .append_pair("METHOD", method)
            .append_pair("VERSION", VERSION)
            .append_pair("USER", &self.user)
            .append_pair("PWD", self.password.expose_secret())
            .append_pair("SIGNATURE", self.signature.expose_secret())
            .extend_pairs(fields.iter().map(|(k, v)| (*k, v.as_str())))
            .finish();
        http::with_retries(gateway, method, || async {
            let request = self
                .http
                .post(self.api.clone())
                .header("Content-Type", "application/x-www-form-urlencoded")
                .body(body.clone())
                .timeout(self.timeout);
            let (status, text) = http::send(request).await?;
            if !(200..300).contains(&status) {
                return Err(GatewayError::Refused(format!(
                    "HTTP {status}: {}",
                    http::excerpt(&text)
                )));
            }
            classify(url::form_urlencoded::parse(text.as_bytes()).into_owned().collect())
        })
        .await
    }

    /// Takes `amount` from an authorisation (`DoCapture`).
    pub async fn capture(
        &self,
        gateway: &str,
        payment: &Payment,
        amount: Money,
        key: &IdempotencyKey,
    ) -> Result<Done, GatewayError> {
        let fields = [
            ("AUTHORIZATIONID", reference(payment)?),
            ("AMT", amt(amount)?),
            ("CURRENCYCODE", amount.currency().code().to_owned()),
            // One capture per authorisation, as at every gateway tollbooth uses.
            ("COMPLETETYPE", "Complete".to_owned()),
            ("MSGSUBID", key.as_str().to_owned()),
        ];
        done(self.call(gateway, "DoCapture", &fields).await?, "TRANSACTIONID")
    }

    /// Releases an authorisation (`DoVoid`).
    pub async fn void(
        &self,
        gateway: &str,
        payment: &Payment,
        key: &IdempotencyKey,
    ) -> Result<Done, GatewayError> {
        let fields =
            [("AUTHORIZATIONID", reference(payment)?), ("MSGSUBID", key.as_str().to_owned())];
        done(self.call(gateway, "DoVoid", &fields).await?, "AUTHORIZATIONID")
    }

    /// Gives back `amount` of the sale or capture (`RefundTransaction`).
    pub async fn refund(
        &self,
        gateway: &str,
        payment: &Payment,
        amount: Money,
        key: &IdempotencyKey,
    ) -> Result<Done, GatewayError> {
        let transaction = match &payment.capture_ref {
            Some(capture) => capture.clone(),
            None => reference(payment)?,
        };
        let fields = [
            ("TRANSACTIONID", transaction),
            ("REFUNDTYPE", "Partial".to_owned()),
            ("AMT", amt(amount)?),
            ("CURRENCYCODE", amount.currency().code().to_owned()),
            ("MSGSUBID", key.as_str().to_owned()),
        ];
        done(self.call(gateway, "RefundTransaction", &fields).await?, "REFUNDTRANSACTIONID")
    }

    /// Verifies an IPN message by posting it back unchanged after `cmd=_notify-validate`, then
    /// parses it. Messages about transactions tollbooth made itself (captures, refunds, voids,
    /// which name a `parent_txn_id`) and messages for no checkout are genuine but ignored.
    pub async fn verify_ipn(&self, callback: &Callback) -> Result<Option<Notice>, GatewayError> {
        let mut body = b"cmd=_notify-validate&".to_vec();
        body.extend_from_slice(&callback.body);
        let request = self
            .http
            .post(self.ipn.clone())
            .header("Content-Type", "application/x-www-form-urlencoded")
            .body(body)
            .timeout(self.timeout);
        let (status, answer) = http::send(request).await?;
        match (status, answer.trim()) {
            (200, "VERIFIED") => {}
            (200, "INVALID") => {
                return Err(GatewayError::Unverified(
                    "PayPal answered INVALID to the IPN postback".into(),
                ));
            }
            _ => {
                return Err(GatewayError::Communication(format!(
                    "IPN postback answered HTTP {status}: {}",
                    http::excerpt(&answer)
                )));
            }
        }
        let form: Fields = callback.form().into_iter().collect();
        if let Some(expected) = &self.receiver_email {
            let receiver = form.get("receiver_email").map(String::as_str).unwrap_or_default();
            if !receiver.eq_ignore_ascii_case(expected) {
                return Err(GatewayError::BadCallback(format!(
                    "IPN for receiver `{receiver}`, not this merchant"
                )));
            }
        }
        let Some(invoice) = form.get("invoice").filter(|_| !form.contains_key("parent_txn_id"))
        else {
            return Ok(None);
        };
        Ok(Some(Notice {
            checkout_ref: invoice.clone(),
            order: form.get("custom").cloned(),
            amount: form.get("mc_gross").cloned(),
            currency: form.get("mc_currency").cloned(),
            fields: form
                .iter()
                .filter(|(k, _)| KEPT_IPN_FIELDS.contains(&k.as_str()))
                .map(|(k, v)| (k.clone(), v.clone()))
                .collect(),
        }))
    }

    /// The state of one transaction (`GetTransactionDetails`).
    pub async fn transaction(&self, gateway: &str, id: &str) -> Result<Status, GatewayError> {
        let fields = self
            .call(gateway, "GetTransactionDetails", &[("TRANSACTIONID", id.to_owned())])
            .await?;
        status_of(&fields, "")
    }
}

/// `ACK` Success or SuccessWithWarning is success; otherwise the first error decides.
pub fn classify(fields: Fields) -> Result<Fields, GatewayError> {
    match fields.get("ACK").map(String::as_str) {
        Some("Success" | "SuccessWithWarning") => return Ok(fields),
        Some(_) => {}
        None => return Err(GatewayError::Communication("answer without ACK".into())),
    }
    let code = fields.get("L_ERRORCODE0").map(String::as_str).unwrap_or_default();
    let message = format!(
        "{} ({code}: {})",
        fields
            .get("L_LONGMESSAGE0")
            .or(fields.get("L_SHORTMESSAGE0"))
            .map(String::as_str)
            .unwrap_or("no message"),
        fields.get("L_SHORTMESSAGE0").map(String::as_str).unwrap_or_default()
    );
    Err(if DECLINE_CODES.contains(&code) {
        GatewayError::Declined(message)
    } else if TEMPORARY_CODES.contains(&code) {
        GatewayError::Communication(message)
    } else {
        GatewayError::Refused(message)
    })
}

/// What a transaction's fields (named with `prefix`: `PAYMENTINFO_0_` in DoExpressCheckout-
/// Payment's answer, none in GetTransactionDetails') say of the payment.
pub fn status_of(fields: &Fields, prefix: &str) -> Result<Status, GatewayError> {
    let get =
        |name: &str| fields.get(&format!("{prefix}{name}")).map(String::as_str).unwrap_or_default();
    let reference = get("TRANSACTIONID").to_owned();
    let money = || -> Result<Money, GatewayError> {
        let currency: Currency = get("CURRENCYCODE")
            .parse()
            .map_err(|e| GatewayError::Communication(format!("answer with {e}")))?;
        let amount: Decimal = get("AMT").parse().map_err(|_| {
            GatewayError::Communication(format!("answer with AMT `{}`", get("AMT")))
        })?;
        Ok(Money::round(amount, currency))
    };
    Ok(match (get("PAYMENTSTATUS"), get("PENDINGREASON")) {
        ("Completed", _) => Status::Sold { amount: money()?, reference },
        ("Pending", "authorization") => Status::Authorised { amount: money()?, reference },
        (status @ ("Denied" | "Failed" | "Expired" | "Voided"), _) => {
            Status::Declined { reason: format!("PayPal payment status {status}") }
        }
        // Pending for another reason (review, eCheck): PayPal's IPN will say when it is done.
        _ => Status::Open,
    })
}

fn reference(payment: &Payment) -> Result<String, GatewayError> {
    payment
        .reference
        .clone()
        .ok_or_else(|| GatewayError::Refused(format!("{} has no PayPal transaction", payment.id)))
}

fn done(fields: Fields, field: &str) -> Result<Done, GatewayError> {
    let reference = fields
        .get(field)
        .cloned()
        .ok_or_else(|| GatewayError::Communication(format!("answer without {field}")))?;
    Ok(Done { reference })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fields(pairs: &[(&str, &str)]) -> Fields {
        pairs.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect()
    }

    #[test]
    fn ack_and_error_codes() {
        assert!(classify(fields(&[("ACK", "SuccessWithWarning")])).is_ok());
        let failure = |code| {
            classify(fields(&[
                ("ACK", "Failure"),
                ("L_ERRORCODE0", code),
                ("L_SHORTMESSAGE0", "x"),
            ]))
        };
        assert!(matches!(failure("10417"), Err(GatewayError::Declined(_))));
        assert!(failure("10001").unwrap_err().is_retryable());
        assert!(matches!(failure("10002"), Err(GatewayError::Refused(_))));
        assert!(classify(fields(&[])).unwrap_err().is_retryable());
    }

    #[test]
    fn payment_status_decides() {
        let f = fields(&[
            ("PAYMENTINFO_0_TRANSACTIONID", "4YA742984J1256935"),
            ("PAYMENTINFO_0_PAYMENTSTATUS", "Pending"),
            ("PAYMENTINFO_0_PENDINGREASON", "authorization"),
            ("PAYMENTINFO_0_AMT", "81.00"),
            ("PAYMENTINFO_0_CURRENCYCODE", "USD"),
        ]);
        assert!(matches!(status_of(&f, "PAYMENTINFO_0_"), Ok(Status::Authorised { .. })));
        let f = fields(&[("PAYMENTSTATUS", "Denied")]);
        assert!(matches!(status_of(&f, ""), Ok(Status::Declined { .. })));
        let f = fields(&[("PAYMENTSTATUS", "Pending"), ("PENDINGREASON", "echeck")]);
        assert_eq!(status_of(&f, ""), Ok(Status::Open));
    }
}
