//! `GET /oauth/{platform}/callback`: where a platform sends a member back from the consent
//! that `/link` led them to. The page says who was linked to which host, or why nothing
//! changed; the rules are in `tollbooth_core::linking`.

use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use chrono::Utc;
use serde::Deserialize;
use tollbooth_core::linking::oauth::OAuthError;
use tollbooth_core::linking::{Callback, LinkError};
use tollbooth_core::messages::Args as TextArgs;
use tollbooth_core::platform::PlatformKind;

use crate::i18n::{Lang, Localised};
use crate::pages;
use crate::{ApiError, AppState};

#[derive(Deserialize)]
pub struct CallbackQuery {
    code: Option<String>,
    state: Option<String>,
    error: Option<String>,
    lang: Option<String>,
}

pub async fn callback(
    State(state): State<AppState>,
    Path(platform): Path<String>,
    Query(query): Query<CallbackQuery>,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    let lang = Lang::detect(query.lang.as_deref(), &headers);
    let platform: PlatformKind =
        platform.parse().map_err(|e| ApiError::NotFound(format!("OAuth callback ({e})")))?;
    let callback = Callback { code: query.code, state: query.state, error: query.error };
    let name = lang.text_with("platform-name", &TextArgs::new().str("platform", platform));
    let named = TextArgs::new().str("platform", name);
    let (status, title, body) = match state.linking.complete(platform, callback, Utc::now()).await {
        Ok(linked) => {
            let division = linked.division.map_or_else(|| "-".to_owned(), |d| d.to_string());
            let args = TextArgs::new()
                .str("member", linked.member)
                .str("email", linked.email)
                .str("division", division);
            (StatusCode::OK, lang.text("linked-title"), lang.text_with("linked-body", &args))
        }
        Err(LinkError::Denied(_)) => {
            (StatusCode::OK, lang.text("link-denied-title"), lang.text("link-denied-body"))
        }
        Err(LinkError::NotConfigured(_)) => (
            StatusCode::NOT_FOUND,
            lang.text("link-off-title"),
            lang.text_with("link-not-configured", &named),
        ),
        Err(LinkError::BadCallback) => (
            StatusCode::BAD_REQUEST,
            lang.text("link-invalid-title"),
            lang.text("link-invalid-body"),
        ),
        Err(LinkError::Expired) => {
            (StatusCode::GONE, lang.text("link-expired-title"), lang.text("link-expired-body"))
        }
        Err(LinkError::Replayed) => {
            (StatusCode::GONE, lang.text("link-used-title"), lang.text("link-used-body"))
        }
        Err(LinkError::Platform(OAuthError::CodeRefused { reason, .. })) => {
            tracing::info!(%platform, %reason, "the platform refused an OAuth code");
            (StatusCode::BAD_REQUEST, lang.text("link-used-title"), lang.text("link-used-body"))
        }
        Err(LinkError::Platform(e @ OAuthError::Failed { .. })) => {
            tracing::warn!(error = %e, "linking a member failed on the platform");
            (
                StatusCode::BAD_GATEWAY,
                lang.text("link-failed-title"),
                lang.text_with("link-failed-body", &named),
            )
        }
        Err(LinkError::Taken(email)) => (
            StatusCode::CONFLICT,
            lang.text("link-taken-title"),
            lang.text_with("link-taken-body", &TextArgs::new().str("email", email)),
        ),
        Err(LinkError::Store(e)) => return Err(e.into()),
    };
    pages::message(status, lang, &title, &body, None)
}
