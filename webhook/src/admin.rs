//! The admin bearer token that guards `/api/v1/*`.

use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use secrecy::ExposeSecret;
use subtle::ConstantTimeEq;

use crate::{ApiError, AppState};

/// Present in a handler's arguments: the request carried the configured admin token.
pub struct Admin;

impl FromRequestParts<AppState> for Admin {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, ApiError> {
        // No token configured: the admin API is closed to everyone.
        let expected = state.config.admin_token.as_ref().ok_or(ApiError::Unauthorized)?;
        let given = parts
            .headers
            .get(axum::http::header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.strip_prefix("Bearer "))
            .ok_or(ApiError::Unauthorized)?;
        if bool::from(given.as_bytes().ct_eq(expected.expose_secret().as_bytes())) {
            Ok(Admin)
        } else {
            Err(ApiError::Unauthorized)
        }
    }
}
