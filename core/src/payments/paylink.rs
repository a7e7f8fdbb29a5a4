//! Pay links: our own signed, expiring tokens, so that a link handed out in chat never holds a
//! gateway token (those expire within minutes to hours) and cannot be forged or extended.
//!
//! A token is `{order id}.{expiry, Unix seconds}.{hex HMAC-SHA256 of the first two parts}`.

use chrono::{DateTime, TimeZone, Utc};
use hmac::{KeyInit, Mac};
use secrecy::{ExposeSecret, SecretString};
use sha2::Sha256;

use url::Url;

use crate::lang::Lang;
use crate::payments::order::OrderId;

type HmacSha256 = hmac::Hmac<Sha256>;

#[derive(Clone)]
pub struct PayLinks {
    secret: SecretString,
}

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum PayLinkError {
    #[error("not a valid pay link")]
    Invalid,
    /// Genuine, but too old: the payer needs a fresh link.
    #[error("pay link for {order} expired at {expired_at}")]
    Expired { order: OrderId, expired_at: DateTime<Utc> },
}

impl PayLinks {
    pub fn new(secret: SecretString) -> PayLinks {
        PayLinks { secret }
    }

    pub fn sign(&self, order: &OrderId, expires_at: DateTime<Utc>) -> String {
        let payload = format!("{order}.{}", expires_at.timestamp());
        let signature = hex::encode(self.mac(&payload).finalize().into_bytes());
        format!("{payload}.{signature}")
    }

    /// The order a token pays for, if the signature holds and the link has not expired.
    pub fn verify(&self, token: &str, now: DateTime<Utc>) -> Result<OrderId, PayLinkError> {
        let (payload, signature) = token.rsplit_once('.').ok_or(PayLinkError::Invalid)?;
        let signature = hex::decode(signature).map_err(|_| PayLinkError::Invalid)?;
        // `verify_slice` compares in constant time.
        self.mac(payload).verify_slice(&signature).map_err(|_| PayLinkError::Invalid)?;
        let (order, expires) = payload.split_once('.').ok_or(PayLinkError::Invalid)?;
        let order: OrderId = order.parse().map_err(|_| PayLinkError::Invalid)?;
        let expired_at = expires
            .parse::<i64>()
            .ok()
            .and_then(|s| Utc.timestamp_opt(s, 0).single())
            .ok_or(PayLinkError::Invalid)?;
        if now >= expired_at {
            return Err(PayLinkError::Expired { order, expired_at });
        }
        Ok(order)
    }

    fn mac(&self, payload: &str) -> HmacSha256 {
        let mut mac = HmacSha256::new_from_slice(self.secret.expose_secret().as_bytes())
            .expect("HMAC takes keys of any length");
        mac.update(payload.as_bytes());
        mac
    }
}

/// Receipts stay readable for a year: hosts and their divisions reconcile after the fact.
const RECEIPT_DAYS: i64 = 366;

/// Invoices stay readable for ten years: bookkeeping keeps them at least that long in most
/// countries.
const INVOICE_DAYS: i64 = 3660;

/// The signed links background work hands out (a blocked start's pay link, a receipt), made
/// absolute under the public URL.
#[derive(Clone, Debug)]
pub struct Links {
    pub signer: PayLinks,
    /// The public URL with a trailing slash.
    pub base: Url,
    pub pay_link_hours: i64,
}

impl Links {
    /// `/pay/{token}?lang=…` for an order, valid for `pay_link_hours`, in the payer's language.
    pub fn pay(&self, order: &OrderId, now: DateTime<Utc>, lang: Lang) -> Url {
        self.pay_until(order, now + chrono::Duration::hours(self.pay_link_hours), lang)
    }

    /// `/pay/{token}?lang=…` for an order, valid until `until` (a seat held that long).
    pub fn pay_until(&self, order: &OrderId, until: DateTime<Utc>, lang: Lang) -> Url {
        let token = self.signer.sign(order, until);
        let mut url =
            self.base.join(&format!("pay/{token}")).expect("a relative path joins any base URL");
        url.query_pairs_mut().append_pair("lang", lang.code());
        url
    }

    /// `/receipts/{token}?lang=…`: the receipt of the session an order paid for, in `lang`.
    /// The token is signed like a pay link; either only ever shows its holder their own order.
    pub fn receipt(&self, order: &OrderId, now: DateTime<Utc>, lang: Lang) -> Url {
        let token = self.signer.sign(order, now + chrono::Duration::days(RECEIPT_DAYS));
        let mut url = self
            .base
            .join(&format!("receipts/{token}"))
            .expect("a relative path joins any base URL");
        url.query_pairs_mut().append_pair("lang", lang.code());
        url
    }
}

impl Links {
    /// `/invoices/{token}/{number}?lang=…`: invoice or credit note `number` of an order, in
    /// `lang`. The token is signed like a pay link for the order, and the page shows only that
    /// order's documents.
    pub fn invoice(&self, order: &OrderId, number: i64, now: DateTime<Utc>, lang: Lang) -> Url {
        let token = self.signer.sign(order, now + chrono::Duration::days(INVOICE_DAYS));
        let mut url = self
            .base
            .join(&format!("invoices/{token}/{number}"))
            .expect("a relative path joins any base URL");
        url.query_pairs_mut().append_pair("lang", lang.code());
        url
    }
}

impl std::fmt::Debug for PayLinks {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("PayLinks([REDACTED])")
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::Duration;

    fn links(secret: &str) -> PayLinks {
        PayLinks::new(SecretString::from(secret.to_owned()))
    }

    #[test]
    fn a_signed_link_verifies_until_it_expires() {
        let order = OrderId::random();
        let now = Utc::now();
        let token = links("s3cret").sign(&order, now + Duration::hours(1));
        assert_eq!(links("s3cret").verify(&token, now), Ok(order.clone()));
        let later = now + Duration::hours(2);
        assert!(matches!(
            links("s3cret").verify(&token, later),
            Err(PayLinkError::Expired { order: o, .. }) if o == order
        ));
    }

    #[test]
    fn forged_or_altered_links_are_invalid() {
        let order = OrderId::random();
        let now = Utc::now();
        let token = links("s3cret").sign(&order, now + Duration::hours(1));
        assert_eq!(links("other").verify(&token, now), Err(PayLinkError::Invalid));
        // Extending the expiry breaks the signature.
        let (_, sig) = token.rsplit_once('.').unwrap();
        let extended = format!("{order}.{}.{sig}", (now + Duration::days(99)).timestamp());
        assert_eq!(links("s3cret").verify(&extended, now), Err(PayLinkError::Invalid));
        for junk in ["", "abc", "a.b.c", &format!("{token}x")] {
            assert_eq!(links("s3cret").verify(junk, now), Err(PayLinkError::Invalid), "{junk}");
        }
    }
}
