//! Gateway callbacks (`POST /payments/{gateway}/notify`) and the sandbox gateway's hosted test
//! checkout (`/payments/sandbox/checkout/{id}`).

use axum::Form;
use axum::body::Bytes;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{Redirect, Response};
use serde::Deserialize;
use tollbooth_core::payments::gateway::Callback;
use tollbooth_core::payments::gateway::sandbox::Decision;

use crate::i18n::{Lang, Localised};
use crate::pages::{self, SandboxPage};
use crate::{ApiError, AppState};

/// A server-to-server callback (silent post, IPN or webhook, form or JSON): verified, checked
/// against the order, confirmed by inquiry, recorded. Refused callbacks answer 400, which also
/// tells Payflow (with silent-post confirmation) to void what it did; genuine callbacks about
/// nothing tollbooth acts on answer 200.
pub async fn notify(
    State(state): State<AppState>,
    Path(gateway): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<&'static str, ApiError> {
    let callback = Callback {
        headers: headers
            .iter()
            .filter_map(|(k, v)| Some((k.as_str().to_owned(), v.to_str().ok()?.to_owned())))
            .collect(),
        body: body.to_vec(),
    };
    state.cashier.on_callback(&gateway, &callback).await?;
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
            lang,
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
