//! Discord's REST API through serenity's [`Http`], pointed at `discord.api_base`: command
//! registration, deferred answers and direct messages.

use secrecy::ExposeSecret;
use serde_json::json;
use serenity::all::{
    ApplicationId, ChannelId, CreateActionRow, CreateButton, CreateMessage, GuildId, Http,
    HttpBuilder, Nonce, UserId,
};
use tollbooth_core::config::DiscordConfig;
use tollbooth_core::manifest;
use tollbooth_core::outbox::ChatMessage;
use url::Url;

/// Where serenity sends requests unless told otherwise.
const DISCORD: &str = "https://discord.com";
/// The API version serenity 0.12.5 speaks; its routes all start with this path.
const API_PATH: &str = "/api/v10";

#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    #[error("discord.api_base (TOLLBOOTH_DISCORD__API_BASE) must end in {API_PATH}, got `{0}`")]
    BadBase(Url),
    #[error(
        "discord.application_id (TOLLBOOTH_DISCORD__APPLICATION_ID) must be a Discord id (digits), got `{0}`"
    )]
    BadApplicationId(String),
    #[error("discord: {0}")]
    Discord(Box<serenity::Error>),
}

impl From<serenity::Error> for ApiError {
    fn from(e: serenity::Error) -> Self {
        ApiError::Discord(Box::new(e))
    }
}

/// A client for the configured API base. serenity can only be moved off discord.com through
/// its proxy setting, which it ignores while its rate limiter is on (serenity#1739): so the
/// rate limiter runs against real Discord, and is off against any other base (an emulator).
pub fn http(config: &DiscordConfig) -> Result<Http, ApiError> {
    let base = config.api_base.as_str().trim_end_matches('/');
    let origin =
        base.strip_suffix(API_PATH).ok_or_else(|| ApiError::BadBase(config.api_base.clone()))?;
    let token = config.token.as_ref().map(|t| t.expose_secret().to_owned()).unwrap_or_default();
    let mut builder = HttpBuilder::new(token);
    if origin != DISCORD {
        builder = builder.proxy(origin).ratelimiter_disabled(true);
    }
    if let Some(id) = application_id(config)? {
        builder = builder.application_id(id);
    }
    Ok(builder.build())
}

pub fn application_id(config: &DiscordConfig) -> Result<Option<ApplicationId>, ApiError> {
    config
        .application_id
        .as_deref()
        .map(|id| match id.trim().parse::<u64>() {
            Ok(n) if n > 0 => Ok(ApplicationId::new(n)),
            _ => Err(ApiError::BadApplicationId(id.to_owned())),
        })
        .transpose()
}

/// Replaces the application's commands (globally, or in one guild, where changes show at
/// once) with exactly the manifest's. Returns the names Discord now has.
pub async fn register_commands(
    http: &Http,
    commands: &[manifest::Command],
    guild: Option<GuildId>,
) -> Result<Vec<String>, ApiError> {
    let registered = match guild {
        Some(guild) => http.create_guild_commands(guild, &commands).await?,
        None => http.create_global_commands(&commands).await?,
    };
    Ok(registered.into_iter().map(|c| c.name).collect())
}

/// Sends a direct message. `key` identifies the message for good: it becomes Discord's
/// nonce with `enforce_nonce`, so a retry after a lost answer does not post it twice.
pub async fn send_dm(http: &Http, message: &ChatMessage, key: &str) -> Result<(), ApiError> {
    let user = UserId::new(message.discord_user_id);
    let channel = http.create_private_channel(&json!({ "recipient_id": user })).await?;
    let mut create = CreateMessage::new()
        .content(&message.text)
        .nonce(Nonce::String(nonce(key)))
        .enforce_nonce(true);
    if let Some(link) = &message.link {
        create = create.components(vec![CreateActionRow::Buttons(vec![
            CreateButton::new_link(&link.url).label(&link.label),
        ])]);
    }
    send(http, channel.id, create).await
}

async fn send(http: &Http, channel: ChannelId, message: CreateMessage) -> Result<(), ApiError> {
    http.send_message(channel, vec![], &message).await?;
    Ok(())
}

/// Discord's nonces are at most 25 characters: a digest of the key, stable across retries.
fn nonce(key: &str) -> String {
    use sha2::{Digest, Sha256};
    hex::encode(Sha256::digest(key.as_bytes()))[..25].to_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nonces_fit_discord_and_stay_the_same() {
        assert_eq!(nonce("k").len(), 25);
        assert_eq!(nonce("k"), nonce("k"));
        assert_ne!(nonce("k"), nonce("l"));
    }

    #[test]
    fn the_base_must_be_an_api_v10_url() {
        let mut config = DiscordConfig::default();
        assert!(http(&config).unwrap().proxy.is_none(), "real Discord needs no proxy");
        config.api_base = "http://127.0.0.1:9/api/v10".parse().unwrap();
        assert_eq!(http(&config).unwrap().proxy.as_deref(), Some("http://127.0.0.1:9"));
        config.api_base = "http://127.0.0.1:9/v10".parse().unwrap();
        assert!(http(&config).unwrap_err().to_string().contains("must end in /api/v10"));
        config.application_id = Some("x".into());
        config.api_base = DiscordConfig::default().api_base;
        assert!(http(&config).unwrap_err().to_string().contains("APPLICATION_ID"));
    }
}
