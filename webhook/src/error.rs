//! The one error type of the HTTP layer. Client errors say what is wrong; server errors are
//! logged with where they were raised and answered with a generic body, never internals.

use std::panic::Location;

use axum::Json;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde_json::json;
use tollbooth_core::payments::cashier::CashierError;
use tollbooth_core::store::StoreError;

#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    #[error("{0}")]
    BadRequest(String),
    #[error("missing or invalid credentials")]
    Unauthorized,
    #[error("{0} not found")]
    NotFound(String),
    /// A gateway could not be reached or answered nonsense: 502 so that callers retry.
    #[error("payment gateway failed: {0}")]
    Gateway(String),
    /// The database cannot be reached: 503 so that platforms and gateways retry.
    #[error("temporarily unavailable")]
    Unavailable { location: &'static Location<'static>, cause: String },
    #[error("internal error")]
    Internal { location: &'static Location<'static>, source: BoxError },
}

/// The cause of an internal error, kept for the log and never put in the answer.
pub type BoxError = Box<dyn std::error::Error + Send + Sync>;

impl ApiError {
    #[track_caller]
    pub fn internal(source: impl Into<BoxError>) -> ApiError {
        ApiError::Internal { location: Location::caller(), source: source.into() }
    }
}

impl From<StoreError> for ApiError {
    #[track_caller]
    fn from(e: StoreError) -> Self {
        match e {
            StoreError::Unavailable { .. } => {
                ApiError::Unavailable { location: Location::caller(), cause: e.to_string() }
            }
            StoreError::NotFound(what) => ApiError::NotFound(what),
            StoreError::Invalid(why) => ApiError::BadRequest(why),
            other => ApiError::internal(other),
        }
    }
}

impl From<crate::ingest::Failure> for ApiError {
    #[track_caller]
    fn from(f: crate::ingest::Failure) -> Self {
        match f {
            crate::ingest::Failure::Unavailable => ApiError::Unavailable {
                location: Location::caller(),
                cause: "deliveries could not be stored".into(),
            },
            crate::ingest::Failure::Refused(why) => ApiError::BadRequest(why),
            crate::ingest::Failure::Failed => ApiError::internal("delivery could not be stored"),
        }
    }
}

impl From<CashierError> for ApiError {
    #[track_caller]
    fn from(e: CashierError) -> Self {
        match e {
            CashierError::Store(e) => e.into(),
            CashierError::Gateway(e) if e.is_retryable() => ApiError::Gateway(e.to_string()),
            CashierError::Gateway(e) => ApiError::BadRequest(e.to_string()),
            CashierError::Illegal(_) | CashierError::Rejected(_) => {
                ApiError::BadRequest(e.to_string())
            }
            CashierError::UnknownGateway(name) => ApiError::NotFound(format!("gateway `{name}`")),
        }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let status = match &self {
            ApiError::BadRequest(_) => StatusCode::BAD_REQUEST,
            ApiError::Unauthorized => StatusCode::UNAUTHORIZED,
            ApiError::NotFound(_) => StatusCode::NOT_FOUND,
            ApiError::Gateway(_) => StatusCode::BAD_GATEWAY,
            ApiError::Unavailable { location, cause } => {
                tracing::warn!(%location, %cause, "answered 503");
                StatusCode::SERVICE_UNAVAILABLE
            }
            ApiError::Internal { location, source } => {
                tracing::error!(%location, error = %source, cause = ?source.source(), "internal error");
                StatusCode::INTERNAL_SERVER_ERROR
            }
        };
        let mut answer = (status, Json(json!({ "error": self.to_string() }))).into_response();
        if status == StatusCode::SERVICE_UNAVAILABLE {
            // Platforms and gateways retry 5xx either way; this says when.
            answer.headers_mut().insert(
                axum::http::header::RETRY_AFTER,
                axum::http::HeaderValue::from_static(crate::health::RETRY_AFTER_SECS),
            );
        }
        answer
    }
}
