//! `POST /discord/interactions`: Discord's HTTP interactions. The Ed25519 signature over
//! timestamp and raw body is checked before anything is parsed (401 otherwise, which Discord
//! tests on purpose); the command core answers in the response body, and work that may be
//! slow is answered "thinking…" and finished through the interaction's webhook.

use std::sync::Arc;

use axum::Json;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use serenity::all::{Http, Interaction};
use serenity::interactions_endpoint::Verifier;
use tollbooth_bot::Bot;
use tollbooth_bot::reply::finish;

use crate::AppState;

/// The interactions endpoint's part of the state, present when `discord.mode = "http"`.
#[derive(Clone)]
pub struct Endpoint {
    verifier: Verifier,
    bot: Bot,
    http: Arc<Http>,
}

impl Endpoint {
    /// `public_key` is the application's 64 hex digits (checked when the configuration loads).
    pub fn new(public_key: &str, bot: Bot, http: Arc<Http>) -> Result<Endpoint, String> {
        let mut key = [0u8; 32];
        hex::decode_to_slice(public_key, &mut key)
            .map_err(|e| format!("discord.public_key is not hex: {e}"))?;
        let verifier = Verifier::try_new(key)
            .map_err(|e| format!("discord.public_key is not an Ed25519 key: {e}"))?;
        Ok(Endpoint { verifier, bot, http })
    }

    fn verify(&self, headers: &HeaderMap, body: &[u8]) -> bool {
        let header = |name| headers.get(name).and_then(|v| v.to_str().ok());
        match (header("x-signature-ed25519"), header("x-signature-timestamp")) {
            (Some(signature), Some(timestamp)) => {
                self.verifier.verify(signature, timestamp, body).is_ok()
            }
            _ => false,
        }
    }
}

pub async fn interactions(
    State(state): State<AppState>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let Some(endpoint) = &state.discord else {
        return (StatusCode::NOT_FOUND, "the interactions endpoint is off (discord.mode)")
            .into_response();
    };
    if !endpoint.verify(&headers, &body) {
        return (StatusCode::UNAUTHORIZED, "invalid request signature").into_response();
    }
    let interaction: Interaction = match serde_json::from_slice(&body) {
        Ok(interaction) => interaction,
        Err(e) => {
            tracing::warn!(error = %e, "a signed interaction did not parse");
            return (StatusCode::BAD_REQUEST, format!("not an interaction: {e}")).into_response();
        }
    };
    let token = interaction.token().to_owned();
    // Follow-ups go to /webhooks/{application}/{token}; the configuration may not name the
    // application, but every interaction does.
    if endpoint.http.application_id().is_none() {
        endpoint.http.set_application_id(interaction.application_id());
    }
    let (first, later) = endpoint.bot.handle(interaction).await.split();
    if let Some(work) = later {
        let http = endpoint.http.clone();
        tokio::spawn(async move { finish(&http, &token, work).await });
    }
    Json(first).into_response()
}
