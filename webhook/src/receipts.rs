//! `GET /receipts/{token}`: the receipt of a paid session, behind a signed link (the host gets
//! it in chat). A token is signed like a pay link, so only its holder can read the receipt.

use askama::Template;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::Response;
use chrono::Utc;

use crate::pages::render;
use crate::{ApiError, AppState};

#[derive(Template)]
#[template(path = "receipt.html")]
struct ReceiptPage {
    lang: &'static str,
    lines: Vec<String>,
}

pub async fn show(
    State(state): State<AppState>,
    Path(token): Path<String>,
) -> Result<Response, ApiError> {
    // An expired or forged token and an order with no charge yet all look the same: not found.
    let order = state
        .pay_links
        .verify(&token, Utc::now())
        .map_err(|e| ApiError::NotFound(format!("receipt ({e})")))?;
    let charge = state
        .store
        .charge(&order)
        .await?
        .ok_or_else(|| ApiError::NotFound(format!("receipt for order {order}")))?;
    render(StatusCode::OK, &ReceiptPage { lang: "en", lines: charge.receipt_lines() })
}
