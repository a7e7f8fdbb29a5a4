//! `tollbooth register webhooks|commands`: makes the platform's webhooks, or the Discord
//! application's slash commands, match manifest.json.

use std::path::PathBuf;

use clap::Subcommand;
use serenity::all::GuildId;
use tollbooth_bot::api;
use tollbooth_core::config::Config;
use tollbooth_core::manifest::{self, Manifest};
use tollbooth_core::platform::hooks::{sync, target_url};
use tollbooth_core::platform::webex_api::WebexApi;
use tollbooth_core::store;

use crate::cli::Failure;

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
    let target_url = target_url(&config.public_url, &manifest.webhooks.webex.target_path)
        .map_err(|e| Failure::Usage(e.to_string()))?;
    let api = WebexApi::new(config.webex.api_base.clone(), token)
        .map_err(|e| Failure::Usage(e.to_string()))?;
    let store = store::open(&config.database_url).await?;

    let existing = api.list_webhooks().await?;
    for subscription in &manifest.webhooks.webex.subscriptions {
        // Asked for by hand, so a disabled hook is re-enabled at once: whoever runs it has
        // fixed what made the deliveries fail.
        let (outcome, id) =
            sync(&api, &store, &existing, subscription, &target_url, |_| false).await?;
        println!("{}: {} {} ({id})", outcome.as_str(), subscription.resource, subscription.event);
    }
    Ok(())
}
