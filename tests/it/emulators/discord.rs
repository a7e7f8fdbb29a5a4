//! Discord's REST API (`https://discord.com/api/v10`) as far as tollbooth uses it: bulk
//! overwrite of commands (global and guild), editing an interaction's original answer, and
//! direct messages (open a DM channel, create a message, with `nonce` + `enforce_nonce`
//! de-duplication), and interaction callbacks. It checks `Authorization: Bot <token>` where
//! Discord requires it, answers with the objects serenity expects, and records every request
//! before answering it.
//!
//! Its gateway (`GET /gateway/bot` points at it, on a port of its own) speaks Discord's
//! gateway protocol for one shard: HELLO, IDENTIFY checked against the bot token (closed with
//! 4004 otherwise), READY, heartbeats acknowledged, and the dispatches a test sends.

use std::collections::VecDeque;
use std::sync::{Arc, Mutex, MutexGuard};

use super::Call;
use axum::Router;
use axum::body::Bytes;
use axum::extract::{Path, Request, State};
use axum::http::{Method, StatusCode};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, patch, post, put};
use futures_util::{SinkExt, StreamExt};
use serde_json::{Value, json};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::mpsc;
use tokio::task::JoinHandle;
use tokio_tungstenite::WebSocketStream;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::protocol::CloseFrame;
use tokio_tungstenite::tungstenite::protocol::frame::coding::CloseCode;

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
    /// `ws://…` of the gateway.
    gateway_url: String,
    /// The IDENTIFY payloads the gateway accepted, token removed.
    pub identified: Vec<Value>,
    /// The identified shard's queue of events to dispatch.
    shard: Option<mpsc::UnboundedSender<Value>>,
}

type Shared = Arc<Mutex<DiscordState>>;

/// A running emulator; stops when dropped.
pub struct DiscordEmulator {
    /// What to configure as `discord.api_base`.
    pub base: String,
    state: Shared,
    server: JoinHandle<()>,
    gateway: JoinHandle<()>,
}

impl Drop for DiscordEmulator {
    fn drop(&mut self) {
        self.server.abort();
        self.gateway.abort();
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
            .route("/interactions/{id}/{token}/callback", post(interaction_callback))
            .route("/gateway", get(gateway_url))
            .route("/gateway/bot", get(gateway_bot))
            .fallback(|| async { error(StatusCode::NOT_FOUND, 0, "404: Not Found") });
        let app = Router::new()
            .nest("/api/v10", api)
            .layer(middleware::from_fn_with_state(state.clone(), record_and_check))
            .with_state(state.clone());
        let (base, server) = super::serve(app, "/api/v10").await;
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        state.lock().unwrap().gateway_url = format!("ws://{}", listener.local_addr().unwrap());
        let gateway = tokio::spawn(gateway(listener, state.clone()));
        DiscordEmulator { base, state, server, gateway }
    }

    /// Sends `interaction` to the identified shard as an `INTERACTION_CREATE` dispatch,
    /// waiting for a shard to identify first.
    pub async fn dispatch_interaction(&self, interaction: &Value) {
        for _ in 0..400 {
            if let Some(shard) = self.state().shard.clone() {
                let event = json!({"t": "INTERACTION_CREATE", "d": interaction});
                shard.send(event).expect("the shard is connected");
                return;
            }
            tokio::time::sleep(std::time::Duration::from_millis(25)).await;
        }
        panic!("no shard identified with the gateway");
    }

    pub fn state(&self) -> MutexGuard<'_, DiscordState> {
        self.state.lock().unwrap()
    }

    pub fn calls(&self) -> Vec<Call> {
        self.state().calls.clone()
    }

    /// Waits until a request to `path` arrived (deferred work arrives after the answer), for
    /// up to 20 s: a loaded machine is slow, and only a failure waits that long.
    pub async fn wait_for(&self, method: Method, path: &str) -> Call {
        for _ in 0..800 {
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

/// Interaction webhooks and callbacks carry their token in the URL and need no authorisation;
/// everything else needs the bot token, as on Discord.
async fn record_and_check(State(state): State<Shared>, request: Request, next: Next) -> Response {
    let (call, request) = Call::record(request).await;
    let webhook = ["/api/v10/webhooks/", "/api/v10/interactions/"]
        .iter()
        .any(|prefix| call.path.starts_with(prefix));
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

/// `POST /interactions/{id}/{token}/callback`: the first answer to an interaction that came
/// over the gateway (204).
async fn interaction_callback(body: Bytes) -> Response {
    match serde_json::from_slice::<Value>(&body) {
        Ok(v) if v["type"].is_u64() => StatusCode::NO_CONTENT.into_response(),
        _ => error(StatusCode::BAD_REQUEST, 50035, "Invalid Form Body"),
    }
}

async fn gateway_url(State(state): State<Shared>) -> Response {
    axum::Json(json!({"url": state.lock().unwrap().gateway_url})).into_response()
}

/// One shard, as Discord recommends for a bot in few servers.
async fn gateway_bot(State(state): State<Shared>) -> Response {
    axum::Json(json!({
        "url": state.lock().unwrap().gateway_url, "shards": 1,
        "session_start_limit": {"total": 1000, "remaining": 999, "reset_after": 14_400_000,
                                "max_concurrency": 1},
    }))
    .into_response()
}

async fn gateway(listener: TcpListener, state: Shared) {
    while let Ok((stream, _)) = listener.accept().await {
        let state = state.clone();
        tokio::spawn(async move {
            if let Ok(ws) = tokio_tungstenite::accept_async(stream).await {
                // A connection the client dropped ends here; nothing to report.
                let _ = shard(ws, state).await;
            }
        });
    }
}

fn frame(payload: Value) -> Message {
    Message::text(payload.to_string())
}

/// One shard's connection: HELLO, then IDENTIFY (op 2) answered with READY, heartbeats (op 1)
/// with HEARTBEAT_ACK (op 11), and queued events sent as dispatches (op 0) in sequence.
async fn shard(
    mut ws: WebSocketStream<TcpStream>,
    state: Shared,
) -> Result<(), tokio_tungstenite::tungstenite::Error> {
    ws.send(frame(json!({"op": 10, "d": {"heartbeat_interval": 41_250}}))).await?;
    let (events, mut queued) = mpsc::unbounded_channel::<Value>();
    let mut seq = 0u64;
    loop {
        tokio::select! {
            incoming = ws.next() => {
                let Some(Ok(Message::Text(text))) = incoming else { return Ok(()) };
                let payload: Value = serde_json::from_str(text.as_str()).unwrap_or_default();
                match payload["op"].as_u64() {
                    Some(1) => ws.send(frame(json!({"op": 11}))).await?,
                    Some(2) => {
                        let mut identify = payload["d"].clone();
                        let token = identify["token"].take();
                        if token.as_str().map(|t| t.trim_start_matches("Bot ")) != Some(TOKEN) {
                            let code = CloseCode::from(4004);
                            let close = CloseFrame { code, reason: "Authentication failed.".into() };
                            ws.close(Some(close)).await?;
                            return Ok(());
                        }
                        seq += 1;
                        let ready = ready(&state.lock().unwrap().gateway_url, &identify);
                        ws.send(frame(json!({"op": 0, "t": "READY", "s": seq, "d": ready}))).await?;
                        let mut s = state.lock().unwrap();
                        s.identified.push(identify);
                        s.shard = Some(events.clone());
                    }
                    _ => {}
                }
            }
            Some(event) = queued.recv() => {
                seq += 1;
                let dispatch = json!({"op": 0, "t": event["t"], "s": seq, "d": event["d"]});
                ws.send(frame(dispatch)).await?;
            }
        }
    }
}

/// READY for the application's bot user, in no guilds (slash commands need none).
fn ready(gateway_url: &str, identify: &Value) -> Value {
    json!({
        "v": 10,
        "user": {"id": "42", "username": "tollbooth", "discriminator": "0", "global_name": null,
                 "avatar": null, "bot": true, "verified": true, "mfa_enabled": false},
        "guilds": [],
        "session_id": "emulated-session",
        "resume_gateway_url": gateway_url,
        "shard": identify["shard"],
        "application": {"id": APPLICATION_ID, "flags": 0},
    })
}
