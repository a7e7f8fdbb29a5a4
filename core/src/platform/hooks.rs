//! Keeping the manifest's Webex webhooks registered and enabled. [`sync`] brings one
//! subscription's hook in line; `tollbooth register webhooks` runs it once per subscription,
//! and `serve` runs it every `webex.hook_check_secs` through a [`Keeper`], which leaves a hook
//! Webex disabled alone until Webex's penalty window has passed (see [`PENALTY_WINDOW`]).

use std::collections::HashMap;
use std::time::{Duration, Instant};

use chrono::Utc;
use rand::RngCore;
use secrecy::SecretString;
use url::{Host, Url};

use super::webex_api::{NewWebhook, WebexApi, WebexError, Webhook, WebhookStatus};
use crate::manifest::WebexSubscription;
use crate::store::{StoreError, WebhookSecretStore};

const PLATFORM: &str = "webex";

/// Webex disables a hook after 100 failed deliveries in five minutes, and one re-enabled
/// within five minutes of that is disabled again at the first failure: a hook is re-enabled
/// only once it has been seen inactive for this long.
pub const PENALTY_WINDOW: Duration = Duration::from_secs(5 * 60);

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
    /// Inactive, and left so for now (inside the penalty window).
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

/// `serve`'s check of the manifest's hooks, every `webex.hook_check_secs`.
///
/// Webex does not say when it disabled a hook, so the keeper remembers when it first saw each
/// one inactive, and re-enables it once that is [`PENALTY_WINDOW`] ago. The memory is this
/// process's: after a start (or on taking the lease over from another instance) the first
/// sighting starts the window afresh, which delays a re-enable by at most five minutes and
/// never makes one early. Instances sharing a database take turns through a lease in the
/// store, so only one lists, creates and re-enables at a time, and two never create the same
/// hook.
pub struct Keeper<S> {
    api: WebexApi,
    store: S,
    subscriptions: Vec<WebexSubscription>,
    target_url: String,
    every: Duration,
    /// This instance's name in the lease.
    holder: String,
    /// When each inactive hook (by id) was first seen inactive.
    inactive_since: HashMap<String, Instant>,
}

impl<S: WebhookSecretStore + Send + Sync> Keeper<S> {
    pub fn new(
        api: WebexApi,
        store: S,
        subscriptions: Vec<WebexSubscription>,
        target_url: String,
        every: Duration,
    ) -> Keeper<S> {
        let holder = format!("{}-{}", std::process::id(), rand::random::<u32>());
        Keeper {
            api,
            store,
            subscriptions,
            target_url,
            every,
            holder,
            inactive_since: HashMap::new(),
        }
    }

    /// Checks now and then every `every`, for good; a failed check is logged and the next one
    /// tries again.
    #[tracing::instrument(name = "hook_check", skip_all, fields(every = self.every.as_secs()))]
    pub async fn run(mut self) {
        let mut ticks = tokio::time::interval(self.every);
        ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            ticks.tick().await;
            if let Err(e) = self.check(Instant::now()).await {
                tracing::warn!(error = %e, "checking the Webex hooks failed; trying again at the next check");
            }
        }
    }

    /// One check, as if at `now` (the penalty window is measured with it): what was done to
    /// each subscription's hook, or `None` when another instance holds the lease. Sets the
    /// `webhook_hooks{platform="webex",status}` gauges.
    pub async fn check(&mut self, now: Instant) -> Result<Option<Vec<Outcome>>, HookError> {
        if !self.lease().await? {
            // Whoever holds it watches the hooks; this instance's sightings grow stale.
            self.inactive_since.clear();
            return Ok(None);
        }
        let existing = self.api.list_webhooks().await?;
        let inactive: Vec<&str> = existing
            .iter()
            .filter(|h| h.status == WebhookStatus::Inactive)
            .map(|h| h.id.as_str())
            .collect();
        // A hook seen active again (re-enabled by hand) starts a new window when it next fails.
        self.inactive_since.retain(|id, _| inactive.contains(&id.as_str()));
        for id in inactive {
            self.inactive_since.entry(id.to_owned()).or_insert(now);
        }
        let mut outcomes = Vec::with_capacity(self.subscriptions.len());
        for wanted in &self.subscriptions {
            // Renewed before each call that may create, so that the lease outlasts it.
            if !self.lease().await? {
                return Ok(None);
            }
            let wait = |hook: &Webhook| {
                self.inactive_since
                    .get(&hook.id)
                    .is_none_or(|since| now.saturating_duration_since(*since) < PENALTY_WINDOW)
            };
            let (outcome, id) =
                sync(&self.api, &self.store, &existing, wanted, &self.target_url, wait).await?;
            match outcome {
                Outcome::Unchanged => {}
                // Said once, when first seen inactive (in this check).
                Outcome::Waiting if self.inactive_since.get(&id) == Some(&now) => {
                    tracing::warn!(hook = %id, resource = %wanted.resource, event = %wanted.event, "Webex disabled a hook; re-enabling it once Webex's five-minute penalty window has passed");
                }
                Outcome::Waiting => {}
                done => {
                    tracing::info!(hook = %id, resource = %wanted.resource, event = %wanted.event, "Webex hook {}", done.as_str());
                }
            }
            outcomes.push(outcome);
        }
        let inactive = outcomes.iter().filter(|o| **o == Outcome::Waiting).count();
        let gauge =
            |status| metrics::gauge!("webhook_hooks", "platform" => PLATFORM, "status" => status);
        gauge("active").set((outcomes.len() - inactive) as f64);
        gauge("inactive").set(inactive as f64);
        Ok(Some(outcomes))
    }

    /// Takes or renews the lease on checking the hooks, for long enough to reach the next
    /// check and to finish one request.
    async fn lease(&self) -> Result<bool, StoreError> {
        let now = Utc::now();
        let until = now + self.every + super::LONGEST_REQUEST;
        self.store.lease_hook_check(PLATFORM, &self.holder, now, until).await
    }
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
