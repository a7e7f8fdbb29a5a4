//! Slash commands as Discord sends them to the interactions endpoint: signed with the
//! application's Ed25519 key, from a given member.

use axum::http::Method;
use ed25519_dalek::{Signer, SigningKey};
use serde_json::{Value, json};

use crate::emulators::discord::{APPLICATION_ID, DiscordEmulator};

/// The application's signing key, as Discord holds it; the server knows the public half.
pub fn key() -> SigningKey {
    crate::emulators::discord::application_key()
}

/// Manage Server, and no permissions at all.
pub const ADMIN: &str = "32";
pub const MEMBER: &str = "0";

/// What a guild member's client sends; `permissions` are those Discord computed for them, and
/// `token` names the interaction, so that its deferred answer can be told from others'.
pub fn interaction(
    user: u64,
    token: &str,
    kind: u8,
    data: Value,
    locale: &str,
    permissions: &str,
) -> Value {
    json!({
        "type": kind, "id": "1100", "application_id": APPLICATION_ID, "token": token,
        "version": 1, "channel_id": "800", "guild_id": "700", "locale": locale,
        "guild_locale": "en-US", "app_permissions": "0", "entitlements": [],
        "attachment_size_limit": 8388608, "authorizing_integration_owners": {"0": "700"},
        "context": 0,
        "member": {
            "user": {"id": user.to_string(), "username": "member", "discriminator": "0",
                     "global_name": null, "avatar": null},
            "roles": [], "joined_at": "2024-01-01T00:00:00.000000+00:00", "deaf": false,
            "mute": false, "flags": 0, "permissions": permissions
        },
        "data": data
    })
}

/// A slash command in English.
pub fn command(user: u64, token: &str, name: &str, options: Value, permissions: &str) -> Value {
    let data = json!({"id": "55", "name": name, "type": 1, "options": options});
    interaction(user, token, 2, data, "en-US", permissions)
}

/// A click by `user` on one of the bot's buttons; Discord sends the whole message it sits on.
pub fn click(user: u64, token: &str, custom_id: &str) -> Value {
    let data = json!({"custom_id": custom_id, "component_type": 2});
    let mut click = interaction(user, token, 3, data, "en-US", MEMBER);
    click["message"] = json!({
        "id": "9001", "channel_id": "800", "guild_id": "700",
        "author": {"id": "1", "username": "tollbooth", "discriminator": "0", "global_name": null, "avatar": null},
        "content": "quote", "timestamp": "2026-11-25T10:00:00.000000+00:00", "edited_timestamp": null,
        "tts": false, "mention_everyone": false, "mentions": [], "mention_roles": [],
        "attachments": [], "embeds": [], "pinned": false, "type": 0
    });
    click
}

/// A subcommand with its options.
pub fn sub(name: &str, options: Value) -> Value {
    json!([{"name": name, "type": 1, "options": options}])
}

/// Options from (name, value) pairs: integers as type 4, everything else as text.
pub fn options(pairs: &[(&str, Value)]) -> Value {
    pairs
        .iter()
        .map(|(name, value)| {
            let kind = if value.is_i64() { 4 } else { 3 };
            json!({"name": name, "type": kind, "value": value})
        })
        .collect()
}

/// Posts a signed interaction to `base` and returns the endpoint's answer as it is, with its
/// callback `type` (a modal, suggestions, a deferral…).
pub async fn respond(base: &str, interaction: &Value) -> Value {
    let body = interaction.to_string();
    let ts = chrono::Utc::now().timestamp().to_string();
    let signature = key().sign(&[ts.as_bytes(), body.as_bytes()].concat());
    let response = reqwest::Client::new()
        .post(format!("{base}/discord/interactions"))
        .header("content-type", "application/json")
        .header("x-signature-ed25519", hex::encode(signature.to_bytes()))
        .header("x-signature-timestamp", ts)
        .body(body)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    response.json().await.unwrap()
}

/// Posts a signed interaction to `base` and returns Discord's view of the final answer: the
/// immediate one, or for a deferred command the message that replaced "thinking…" (with the
/// deferral's flags).
pub async fn ask(base: &str, discord: &DiscordEmulator, interaction: &Value) -> Value {
    let answer = respond(base, interaction).await;
    if answer["type"] != 5 {
        return answer["data"].clone();
    }
    let token = interaction["token"].as_str().unwrap();
    let path = format!("/api/v10/webhooks/{APPLICATION_ID}/{token}/messages/@original");
    let mut message = discord.wait_for(Method::PATCH, &path).await.body.unwrap();
    // Whether the member alone sees it was settled by the deferral; the edit keeps it.
    message["flags"] = answer["data"]["flags"].clone();
    message
}

/// The URL of a message's first link button.
pub fn link(message: &Value) -> Option<String> {
    message["components"][0]["components"][0]["url"].as_str().map(str::to_owned)
}

/// The direct messages `user` received, in order.
pub fn dms(discord: &DiscordEmulator, user: u64) -> Vec<Value> {
    let channel = format!("7{user}");
    discord
        .state()
        .messages
        .iter()
        .filter(|m| m.channel_id == channel)
        .map(|m| m.body.clone())
        .collect()
}
