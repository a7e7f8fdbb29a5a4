//! Keeping the manifest's Webex webhooks registered and enabled. [`sync`] brings one
//! subscription's hook in line; `tollbooth register webhooks` runs it once per subscription.

use rand::RngCore;
use secrecy::SecretString;
use url::{Host, Url};

use super::webex_api::{NewWebhook, WebexApi, WebexError, Webhook, WebhookStatus};
use crate::manifest::WebexSubscription;
use crate::store::{StoreError, WebhookSecretStore};

const PLATFORM: &str = "webex";

#[derive(Debug, thiserror::Error)]
pub enum HookError {
    #[error(transparent)]
    Webex(#[from] WebexError),
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// What was done to one hook.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    Created,
    ReEnabled,
    /// Active, but its secret is not in our database (it was created by an earlier run whose
    /// database is gone, or the run stopped between creating and storing): without a secret
    /// we know, every delivery would be refused, so a new one is set.
    SecretRenewed,
    Unchanged,
    /// Inactive, and left so for now (the caller's `wait` said so).
    Waiting,
}

impl Outcome {
    pub fn as_str(self) -> &'static str {
        match self {
            Outcome::Created => "created",
            Outcome::ReEnabled => "re-enabled",
            Outcome::SecretRenewed => "secret renewed",
            Outcome::Unchanged => "unchanged",
            Outcome::Waiting => "waiting",
        }
    }
}

/// Brings one subscription's hook in line with `existing` (Webex's list); returns what was
/// done and the hook's id. An inactive hook for which `wait` says true is left as it is.
pub async fn sync(
    api: &WebexApi,
    store: &(impl WebhookSecretStore + ?Sized),
    existing: &[Webhook],
    wanted: &WebexSubscription,
    target_url: &str,
    wait: impl Fn(&Webhook) -> bool,
) -> Result<(Outcome, String), HookError> {
    // Of duplicates, an active one is kept: it is delivering now.
    let matching = existing
        .iter()
        .filter(|h| {
            h.resource == wanted.resource && h.event == wanted.event && h.target_url == target_url
        })
        .min_by_key(|h| h.status != WebhookStatus::Active);
    let Some(hook) = matching else {
        let secret = fresh_secret();
        let new = NewWebhook {
            name: &wanted.name,
            target_url,
            resource: &wanted.resource,
            event: &wanted.event,
            owned_by: &wanted.owned_by,
            filter: None,
        };
        let created = api.create_webhook(new, &secret).await?;
        store.put_webhook_secret(PLATFORM, &created.id, &secret).await?;
        return Ok((Outcome::Created, created.id));
    };
    if hook.status == WebhookStatus::Inactive && wait(hook) {
        return Ok((Outcome::Waiting, hook.id.clone()));
    }
    let known = store.webhook_secret(PLATFORM, &hook.id).await?;
    let outcome = match (hook.status, &known) {
        (WebhookStatus::Active, Some(_)) => return Ok((Outcome::Unchanged, hook.id.clone())),
        (WebhookStatus::Active, None) => Outcome::SecretRenewed,
        (WebhookStatus::Inactive, _) => Outcome::ReEnabled,
    };
    let secret = match known {
        Some(secret) => secret,
        None => {
            // Stored before Webex starts signing with it, so that no delivery finds the
            // receiver without it.
            let secret = fresh_secret();
            store.put_webhook_secret(PLATFORM, &hook.id, &secret).await?;
            secret
        }
    };
    api.reactivate_webhook(&hook.id, &wanted.name, target_url, &secret).await?;
    Ok((outcome, hook.id.clone()))
}

/// 32 random bytes, hex-encoded: the HMAC key Webex signs one hook's deliveries with.
fn fresh_secret() -> SecretString {
    let mut bytes = [0u8; 32];
    rand::rng().fill_bytes(&mut bytes);
    SecretString::from(hex::encode(bytes))
}

/// A `public_url` that Webex cannot deliver to; the message names the key and why.
#[derive(Debug, thiserror::Error)]
#[error("public_url (TOLLBOOTH_PUBLIC_URL) `{url}` {why}")]
pub struct Undeliverable {
    url: Url,
    why: &'static str,
}

/// `public_url` followed by `path`, refused when Webex could not deliver to it.
pub fn target_url(public_url: &Url, path: &str) -> Result<String, Undeliverable> {
    let problem = |why| Undeliverable { url: public_url.clone(), why };
    if !matches!(public_url.scheme(), "http" | "https") {
        return Err(problem("must be an http:// or https:// URL"));
    }
    if public_url.query().is_some() || public_url.fragment().is_some() {
        return Err(problem("must not carry a query or fragment"));
    }
    let local = match public_url.host() {
        Some(Host::Domain(name)) => name == "localhost" || name.ends_with(".localhost"),
        Some(Host::Ipv4(ip)) => ip.is_loopback() || ip.is_unspecified(),
        Some(Host::Ipv6(ip)) => ip.is_loopback() || ip.is_unspecified(),
        None => true,
    };
    if local {
        return Err(problem(
            "is a local address that Webex cannot deliver to; set it to this server's public URL",
        ));
    }
    Ok(format!("{}{path}", public_url.as_str().trim_end_matches('/')))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn target(public: &str) -> Result<String, String> {
        target_url(&Url::parse(public).unwrap(), "/webhooks/webex").map_err(|e| e.to_string())
    }

    #[test]
    fn target_url_keeps_a_path_prefix() {
        assert_eq!(
            target("https://pay.example.com").unwrap(),
            "https://pay.example.com/webhooks/webex"
        );
        assert_eq!(
            target("https://example.com/tollbooth/").unwrap(),
            "https://example.com/tollbooth/webhooks/webex"
        );
    }

    #[test]
    fn target_url_refuses_what_webex_cannot_reach() {
        for url in
            ["http://127.0.0.1:8080/", "http://localhost/", "http://[::1]/", "http://0.0.0.0/"]
        {
            assert!(target(url).unwrap_err().contains("local address"), "{url}");
        }
        assert!(target("https://example.com/?a=b").unwrap_err().contains("query"));
        assert!(target("ftp://example.com/").unwrap_err().contains("http"));
    }

    #[test]
    fn secrets_are_32_random_bytes_in_hex() {
        use secrecy::ExposeSecret;
        let (a, b) = (fresh_secret(), fresh_secret());
        assert_eq!(a.expose_secret().len(), 64);
        assert!(a.expose_secret().chars().all(|c| c.is_ascii_hexdigit()));
        assert_ne!(a.expose_secret(), b.expose_secret());
    }
}
