//! `POST /webhooks/webex` and `POST /webhooks/zoom`: verify, store, then answer.

use std::time::Instant;

use axum::Json;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::HeaderMap;
use chrono::Utc;
use secrecy::SecretString;
use serde_json::{Value, json};
use tollbooth_core::platform::{
    Inbound, Malformed, PlatformKind, SignatureError, SignedRequest, zoom,
};
use tollbooth_core::store::NewDelivery;

use crate::metrics::{Stage, stage};
use crate::{ApiError, AppState};

/// The largest delivery accepted; larger ones are answered 413 before any work is done.
pub const MAX_BODY: usize = 1024 * 1024;

pub async fn webex(
    State(state): State<AppState>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Json<Value>, ApiError> {
    receive(PlatformKind::Webex, &state, &headers, body).await
}

pub async fn zoom(
    State(state): State<AppState>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Json<Value>, ApiError> {
    receive(PlatformKind::Zoom, &state, &headers, body).await
}

async fn receive(
    platform: PlatformKind,
    state: &AppState,
    headers: &HeaderMap,
    body: Bytes,
) -> Result<Json<Value>, ApiError> {
    let started = Instant::now();
    let mut secrets = state.webhook_secrets(platform).await;
    let mut inbound = verify_then_parse(platform, &secrets, headers, &body);
    if matches!(inbound, Err(Refused::Signature(_))) && state.reload_webhook_secrets(platform).await
    {
        // A hook registered since the secrets were last read signs with a new secret.
        secrets = state.webhook_secrets(platform).await;
        inbound = verify_then_parse(platform, &secrets, headers, &body);
    }
    let inbound = inbound.map_err(|refused| match refused {
        Refused::Signature(why) => {
            metrics::counter!("webhook_deliveries_rejected_total", "platform" => platform.as_str())
                .increment(1);
            tracing::warn!(%platform, reason = %why, "delivery rejected");
            ApiError::Unauthorized
        }
        Refused::Malformed(why) => ApiError::BadRequest(why.to_string()),
    })?;
    match inbound {
        Inbound::Session { meeting_id, digest, observations } => {
            // Kept as received: the bytes move into the string without a copy.
            let body = String::from_utf8(Vec::from(body))
                .map_err(|_| ApiError::BadRequest("body is not UTF-8".into()))?;
            // What the body says goes along, so that it is parsed this once.
            let observations = Some(observations.into());
            let received_at = Utc::now();
            let delivery =
                NewDelivery { platform, digest, meeting_id, body, received_at, observations };
            stage(Stage::Verify, started);
            let verified = Instant::now();
            state.ingest.submit(delivery).await?;
            stage(Stage::Store, verified);
            Ok(Json(json!({ "status": "stored" })))
        }
        Inbound::Ignored { what } => {
            tracing::debug!(%platform, event = %what, "event ignored");
            Ok(Json(json!({ "status": "ignored" })))
        }
        Inbound::UrlValidation { plain_token } => {
            // Verified above with the one secret Zoom apps have.
            let secret: &SecretString = secrets.first().ok_or(ApiError::Unauthorized)?;
            let encrypted = zoom::encrypted_token(secret, &plain_token);
            Ok(Json(json!({ "plainToken": plain_token, "encryptedToken": encrypted })))
        }
    }
}

enum Refused {
    Signature(SignatureError),
    Malformed(Malformed),
}

/// Nothing is parsed before the signature over the raw bytes checks out.
fn verify_then_parse(
    platform: PlatformKind,
    secrets: &[SecretString],
    headers: &HeaderMap,
    body: &[u8],
) -> Result<Inbound, Refused> {
    let adapter = platform.adapter();
    let header = |name: &str| headers.get(name).and_then(|v| v.to_str().ok()).map(str::to_owned);
    let request = SignedRequest { body, header: &header };
    adapter.verify(&request, secrets, Utc::now()).map_err(Refused::Signature)?;
    adapter.parse(body).map_err(Refused::Malformed)
}
