//! `tollbooth register webhooks|commands`: makes the platform's webhooks, or the Discord
//! application's slash commands, match manifest.json.

use std::path::PathBuf;

use clap::Subcommand;
use rand::RngCore;
use secrecy::SecretString;
use serenity::all::GuildId;
use tollbooth_bot::api;
use tollbooth_core::config::Config;
use tollbooth_core::manifest::{self, Manifest, WebexSubscription};
use tollbooth_core::platform::webex_api::{NewWebhook, WebexApi, Webhook, WebhookStatus};
use tollbooth_core::store::{self, WebhookSecretStore};
use url::{Host, Url};

use crate::cli::Failure;

const PLATFORM: &str = "webex";

#[derive(Subcommand)]
pub enum Register {
    /// Creates the manifest's Webex webhooks, and re-enables those Webex disabled.
    Webhooks {
        /// Manifest to read (default: the manifest.json built into this binary).
        #[arg(long, value_name = "PATH")]
        manifest: Option<PathBuf>,
    },
    /// Replaces the Discord application's slash commands with the manifest's (bulk overwrite).
    Commands {
        /// Register in this guild only, where changes show at once (default: globally).
        #[arg(long, value_name = "ID")]
        guild: Option<u64>,
        /// Manifest to read (default: the manifest.json built into this binary).
        #[arg(long, value_name = "PATH")]
        manifest: Option<PathBuf>,
    },
}

fn load(path: Option<PathBuf>) -> Result<Manifest, Failure> {
    match path {
        Some(path) => Manifest::load(&path),
        None => Manifest::parse(manifest::BUILT_IN, "built into tollbooth"),
    }
    .map_err(|e| Failure::Usage(e.to_string()))
}

/// What was done to one hook.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Outcome {
    Created,
    ReEnabled,
    /// Active, but its secret is not in our database (it was created by an earlier run whose
    /// database is gone, or the run stopped between creating and storing): without a secret
    /// we know, every delivery would be refused, so a new one is set.
    SecretRenewed,
    Unchanged,
}

impl Outcome {
    fn as_str(self) -> &'static str {
        match self {
            Outcome::Created => "created",
            Outcome::ReEnabled => "re-enabled",
            Outcome::SecretRenewed => "secret renewed",
            Outcome::Unchanged => "unchanged",
        }
    }
}

pub async fn run(what: Register, config: &Config) -> Result<(), Failure> {
    match what {
        Register::Webhooks { manifest } => webhooks(load(manifest)?, config).await,
        Register::Commands { guild, manifest } => commands(load(manifest)?, guild, config).await,
    }
}

/// Bulk-overwrites the commands; prints one line per command Discord now has.
async fn commands(manifest: Manifest, guild: Option<u64>, config: &Config) -> Result<(), Failure> {
    let discord = &config.discord;
    if discord.token.is_none() || discord.application_id.is_none() {
        return Err(Failure::Usage(
            "discord.token and discord.application_id (TOLLBOOTH_DISCORD__TOKEN, TOLLBOOTH_DISCORD__APPLICATION_ID) are required to register commands".into(),
        ));
    }
    let guild = match guild {
        Some(0) => return Err(Failure::Usage("--guild must be a Discord id, not 0".into())),
        other => other.map(GuildId::new),
    };
    let http = api::http(discord).map_err(|e| Failure::Usage(e.to_string()))?;
    let names = api::register_commands(&http, &manifest.discord.commands, guild).await?;
    let scope = guild.map_or_else(|| "global".to_owned(), |g| format!("guild {g}"));
    for name in names {
        println!("registered ({scope}): /{name}");
    }
    Ok(())
}

async fn webhooks(manifest: Manifest, config: &Config) -> Result<(), Failure> {
    let token = config.webex.token.clone().ok_or_else(|| {
        Failure::Usage(
            "webex.token (TOLLBOOTH_WEBEX__TOKEN) is required to register webhooks".into(),
        )
    })?;
    let target_url = target_url(&config.public_url, &manifest.webhooks.webex.target_path)?;
    let api = WebexApi::new(config.webex.api_base.clone(), token)
        .map_err(|e| Failure::Usage(e.to_string()))?;
    let store = store::open(&config.database_url).await?;

    let existing = api.list_webhooks().await?;
    for subscription in &manifest.webhooks.webex.subscriptions {
        let (outcome, id) = sync(&api, &store, &existing, subscription, &target_url).await?;
        println!("{}: {} {} ({id})", outcome.as_str(), subscription.resource, subscription.event);
    }
    Ok(())
}

/// Brings one subscription's hook in line; returns what was done and the hook's id.
async fn sync(
    api: &WebexApi,
    store: &impl WebhookSecretStore,
    existing: &[Webhook],
    wanted: &WebexSubscription,
    target_url: &str,
) -> Result<(Outcome, String), Failure> {
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

/// `public_url` followed by `path`, refused when Webex could not deliver to it.
fn target_url(public_url: &Url, path: &str) -> Result<String, Failure> {
    let problem = |why: &str| {
        Failure::Usage(format!("public_url (TOLLBOOTH_PUBLIC_URL) `{public_url}` {why}"))
    };
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
        target_url(&Url::parse(public).unwrap(), "/webhooks/webex").map_err(|f| match f {
            Failure::Usage(why) => why,
            Failure::Other(e) => panic!("expected a usage error, got {e}"),
        })
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
