//! Gateway callbacks (`POST /payments/{gateway}/notify`) and the sandbox gateway's hosted test
//! checkout (`/payments/sandbox/checkout/{id}`).

use axum::Form;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{Redirect, Response};
use serde::Deserialize;
use tollbooth_core::gateway::sandbox::Decision;

use crate::i18n::Lang;
use crate::pages::{self, SandboxPage};
use crate::{ApiError, AppState};

/// A server-to-server callback: checked against the order, confirmed by inquiry, recorded.
/// Refused callbacks answer 400, which also tells Payflow (with silent-post confirmation) to
/// void what it did.
pub async fn notify(
    State(state): State<AppState>,
    Path(gateway): Path<String>,
    Form(form): Form<Vec<(String, String)>>,
) -> Result<&'static str, ApiError> {
    state.cashier.on_callback(&gateway, &form).await?;
    Ok("ok")
}

#[derive(Deserialize)]
pub struct LangQuery {
    lang: Option<String>,
}

pub async fn sandbox_page(
    State(state): State<AppState>,
    Path(id): Path<String>,
    Query(query): Query<LangQuery>,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    let lang = Lang::detect(query.lang.as_deref(), &headers);
    let checkout =
        state.sandbox.checkout(&id).ok_or_else(|| ApiError::NotFound("sandbox checkout".into()))?;
    pages::render(
        StatusCode::OK,
        &SandboxPage {
            lang: lang.code(),
            t: lang.texts(),
            description: &checkout.description,
            amount: checkout.amount.to_string(),
            currency: checkout.amount.currency().code(),
        },
    )
}

#[derive(Deserialize)]
pub struct DecisionForm {
    decision: String,
}

pub async fn sandbox_decide(
    State(state): State<AppState>,
    Path(id): Path<String>,
    Form(form): Form<DecisionForm>,
) -> Result<Redirect, ApiError> {
    let decision = match form.decision.as_str() {
        "approve" => Decision::Approve,
        "decline" => Decision::Decline,
        "cancel" => Decision::Cancel,
        other => return Err(ApiError::BadRequest(format!("unknown decision `{other}`"))),
    };
    let next = state
        .sandbox
        .decide(&id, decision)
        .await
        .ok_or_else(|| ApiError::NotFound("sandbox checkout".into()))?;
    Ok(Redirect::to(next.as_str()))
}
