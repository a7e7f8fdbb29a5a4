//! Liveness and readiness.

use axum::extract::State;

use crate::{ApiError, AppState};

/// The process is up.
pub async fn live() -> &'static str {
    "ok"
}

/// The process can do its work: the database answers.
pub async fn ready(State(state): State<AppState>) -> Result<&'static str, ApiError> {
    state.store.ping().await?;
    Ok("ready")
}
