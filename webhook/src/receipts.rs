//! `GET /receipts/{token}`: the receipt of a paid session, behind a signed link (the host gets
//! it in chat). A token is signed like a pay link, so only its holder can read the receipt.

use askama::Template;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use chrono::Utc;

use tollbooth_core::pay_per_use::billing::Charge;

use crate::i18n::{Lang, Localised};
use crate::pages::render;
use crate::pay::PageQuery;
use crate::{ApiError, AppState};

#[derive(Template)]
#[template(path = "receipt.html")]
struct ReceiptPage {
    lang: Lang,
    title: String,
    lines: Vec<String>,
    /// The order's invoices and credit notes: (label, address relative to this page).
    invoices: Vec<(String, String)>,
}

pub async fn show(
    State(state): State<AppState>,
    Path(token): Path<String>,
    Query(query): Query<PageQuery>,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    let lang = Lang::detect(query.lang.as_deref(), &headers);
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
    let adjustments = state.store.adjustments_of(&order).await?;
    let (title, lines) = (Charge::receipt_title(lang), charge.receipt_lines(lang, &adjustments));
    // The receipt's token is the order's, which is what an invoice link is signed with.
    let invoices = state
        .store
        .invoices_of_order(&order)
        .await?
        .into_iter()
        .map(|i| (i.label, format!("../invoices/{token}/{}?lang={}", i.number, lang.code())))
        .collect();
    render(StatusCode::OK, &ReceiptPage { lang, title, lines, invoices })
}
