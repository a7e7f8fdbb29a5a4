//! Discord's REST API (`https://discord.com/api/v10`) as far as tollbooth uses it: bulk
//! overwrite of commands (global and guild), editing an interaction's original answer, and
//! direct messages (open a DM channel, create a message, with `nonce` + `enforce_nonce`
//! de-duplication). It checks `Authorization: Bot <token>` where Discord requires it, answers
//! with the objects serenity expects, and records every request before answering it.

use std::collections::VecDeque;
use std::sync::{Arc, Mutex, MutexGuard};

use super::Call;
use axum::Router;
use axum::body::Bytes;
use axum::extract::{Path, Request, State};
use axum::http::{Method, StatusCode};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::{patch, post, put};
use serde_json::{Value, json};
use tokio::task::JoinHandle;

/// The only bot token the emulator accepts.
pub const TOKEN: &str = "discord-emulator-token";
/// The application's Ed25519 signing key, as Discord holds it; tollbooth is configured with
/// the public half and checks every interaction against it.
pub fn application_key() -> ed25519_dalek::SigningKey {
    ed25519_dalek::SigningKey::from_bytes(&[7; 32])
}

pub const APPLICATION_ID: &str = "123456789012345678";

/// What the next message creation does instead of succeeding plainly.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Fault {
    /// 500 before anything is stored.
    Fail,
    /// The message is posted, but the answer is a 500 (the client cannot tell it worked).
    LoseAnswer,
}

/// A message posted in a channel.
#[derive(Clone, Debug)]
pub struct Posted {
    pub channel_id: String,
    pub body: Value,
}

#[derive(Default)]
pub struct DiscordState {
    pub calls: Vec<Call>,
    pub faults: VecDeque<Fault>,
    pub messages: Vec<Posted>,
}

type Shared = Arc<Mutex<DiscordState>>;

/// A running emulator; stops when dropped.
pub struct DiscordEmulator {
    /// What to configure as `discord.api_base`.
    pub base: String,
    state: Shared,
    server: JoinHandle<()>,
}

impl Drop for DiscordEmulator {
    fn drop(&mut self) {
        self.server.abort();
    }
}

impl DiscordEmulator {
    pub async fn start() -> DiscordEmulator {
        let state = Shared::default();
        let api = Router::new()
            .route("/applications/{app}/commands", put(overwrite_commands))
            .route("/applications/{app}/guilds/{guild}/commands", put(overwrite_guild_commands))
            .route("/webhooks/{app}/{token}/messages/@original", patch(edit_original))
            .route("/users/@me/channels", post(open_dm))
            .route("/channels/{channel}/messages", post(create_message))
            .fallback(|| async { error(StatusCode::NOT_FOUND, 0, "404: Not Found") });
        let app = Router::new()
            .nest("/api/v10", api)
            .layer(middleware::from_fn_with_state(state.clone(), record_and_check))
            .with_state(state.clone());
        let (base, server) = super::serve(app, "/api/v10").await;
        DiscordEmulator { base, state, server }
    }

    pub fn state(&self) -> MutexGuard<'_, DiscordState> {
        self.state.lock().unwrap()
    }

    pub fn calls(&self) -> Vec<Call> {
        self.state().calls.clone()
    }

    /// Waits until a request to `path` arrived (deferred work arrives after the answer).
    pub async fn wait_for(&self, method: Method, path: &str) -> Call {
        for _ in 0..200 {
            let found = self.calls().into_iter().find(|c| c.method == method && c.path == path);
            if let Some(call) = found {
                return call;
            }
            tokio::time::sleep(std::time::Duration::from_millis(25)).await;
        }
        panic!("the emulator never received {method} {path}");
    }
}

fn error(status: StatusCode, code: u32, message: &str) -> Response {
    (status, axum::Json(json!({ "code": code, "message": message }))).into_response()
}

/// Interaction webhooks carry their token in the URL and need no authorisation; everything
/// else needs the bot token, as on Discord.
async fn record_and_check(State(state): State<Shared>, request: Request, next: Next) -> Response {
    let (call, request) = Call::record(request).await;
    let webhook = call.path.starts_with("/api/v10/webhooks/");
    let authorised = call.authorization.as_deref() == Some(&format!("Bot {TOKEN}"));
    state.lock().unwrap().calls.push(call);
    if !webhook && !authorised {
        return error(StatusCode::UNAUTHORIZED, 0, "401: Unauthorized");
    }
    next.run(request).await
}

/// Discord's answer to a bulk overwrite: each command as sent, with the fields it adds.
fn commands(app: &str, guild: Option<&str>, body: &Bytes) -> Response {
    let Ok(Value::Array(commands)) = serde_json::from_slice::<Value>(body) else {
        return error(StatusCode::BAD_REQUEST, 50035, "Invalid Form Body");
    };
    let answer: Vec<Value> = commands
        .into_iter()
        .enumerate()
        .map(|(i, mut c)| {
            let object = c.as_object_mut().expect("commands are objects");
            object.insert("id".into(), json!(format!("{}", 1_000_000 + i)));
            object.insert("application_id".into(), json!(app));
            object.insert("version".into(), json!("1"));
            object.entry("type").or_insert(json!(1));
            object.entry("default_member_permissions").or_insert(Value::Null);
            if let Some(guild) = guild {
                object.insert("guild_id".into(), json!(guild));
            }
            c
        })
        .collect();
    axum::Json(answer).into_response()
}

async fn overwrite_commands(Path(app): Path<String>, body: Bytes) -> Response {
    commands(&app, None, &body)
}

async fn overwrite_guild_commands(
    Path((app, guild)): Path<(String, String)>,
    body: Bytes,
) -> Response {
    commands(&app, Some(&guild), &body)
}

/// The smallest Message object serenity accepts.
fn message(id: usize, channel: &str, body: &Value) -> Value {
    json!({
        "id": format!("{}", 900_000 + id), "channel_id": channel,
        "author": {"id": "42", "username": "tollbooth", "discriminator": "0", "global_name": null, "avatar": null},
        "content": body.get("content").cloned().unwrap_or(json!("")),
        "timestamp": "2026-11-25T10:00:00.000000+00:00", "edited_timestamp": null,
        "tts": false, "mention_everyone": false, "mentions": [], "mention_roles": [],
        "attachments": [], "embeds": [], "pinned": false, "type": 0,
        "nonce": body.get("nonce").cloned().unwrap_or(Value::Null),
    })
}

async fn edit_original(body: Bytes) -> Response {
    let body: Value = serde_json::from_slice(&body).unwrap_or(Value::Null);
    axum::Json(message(0, "800", &body)).into_response()
}

async fn open_dm(body: Bytes) -> Response {
    let body: Value = serde_json::from_slice(&body).unwrap_or(Value::Null);
    let Some(user) = body["recipient_id"].as_str().map(str::to_owned) else {
        return error(StatusCode::BAD_REQUEST, 50035, "Invalid Form Body");
    };
    axum::Json(json!({
        "id": format!("7{user}"), "type": 1, "last_message_id": null,
        "recipients": [{"id": user, "username": "member", "discriminator": "0", "global_name": null, "avatar": null}],
    }))
    .into_response()
}

async fn create_message(
    State(state): State<Shared>,
    Path(channel): Path<String>,
    body: Bytes,
) -> Response {
    let body: Value = serde_json::from_slice(&body).unwrap_or(Value::Null);
    let mut s = state.lock().unwrap();
    let fault = s.faults.pop_front();
    if fault == Some(Fault::Fail) {
        return error(StatusCode::INTERNAL_SERVER_ERROR, 0, "500: Internal Server Error");
    }
    // With enforce_nonce, Discord answers a repeated nonce with the message made first.
    let nonce = body.get("nonce").filter(|_| body["enforce_nonce"] == json!(true)).cloned();
    let earlier = nonce.as_ref().and_then(|n| {
        s.messages.iter().position(|m| m.channel_id == channel && m.body.get("nonce") == Some(n))
    });
    let index = match earlier {
        Some(i) => i,
        None => {
            s.messages.push(Posted { channel_id: channel.clone(), body: body.clone() });
            s.messages.len() - 1
        }
    };
    if fault == Some(Fault::LoseAnswer) {
        return error(StatusCode::INTERNAL_SERVER_ERROR, 0, "500: Internal Server Error");
    }
    axum::Json(message(index, &channel, &s.messages[index].body)).into_response()
}
