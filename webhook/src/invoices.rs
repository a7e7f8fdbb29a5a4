//! `GET /invoices/{token}/{number}` and `…/pdf`: an invoice or credit note, as a page and as a
//! PDF, behind a link signed for its order (like a receipt's): a forged or altered link, or a
//! number that is not the order's, is not found.

use askama::Template;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use chrono::Utc;

use tollbooth_core::invoicing::invoice::Invoice;
use tollbooth_core::invoicing::pdf;
use tollbooth_core::invoicing::view::{self, View};

use crate::i18n::{Lang, Localised};
use crate::pages::render;
use crate::pay::PageQuery;
use crate::{ApiError, AppState};

#[derive(Template)]
#[template(path = "invoice.html")]
struct InvoicePage {
    lang: Lang,
    view: View,
    /// The PDF's address, relative to the page.
    pdf: String,
    /// The order's other documents (its invoice, its credit notes), as titles and addresses
    /// relative to the page: a refund's credit note is found from the invoice's link.
    others: Vec<(String, String)>,
}

/// The document the link names, if the link is genuine and the document is its order's.
async fn find(state: &AppState, token: &str, number: &str) -> Result<Invoice, ApiError> {
    let not_found = |why: String| ApiError::NotFound(format!("invoice ({why})"));
    let order = state.pay_links.verify(token, Utc::now()).map_err(|e| not_found(e.to_string()))?;
    let number: i64 = number.parse().map_err(|_| not_found(format!("`{number}` is no number")))?;
    state
        .store
        .invoice(number)
        .await?
        .filter(|i| i.order == order.as_str())
        .ok_or_else(|| not_found(format!("number {number} of order {order}")))
}

pub async fn show(
    State(state): State<AppState>,
    Path((token, number)): Path<(String, String)>,
    Query(query): Query<PageQuery>,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    let lang = Lang::detect(query.lang.as_deref(), &headers);
    let invoice = find(&state, &token, &number).await?;
    let pdf = format!("{number}/pdf?lang={}", lang.code());
    let order = invoice.order.parse().map_err(ApiError::internal)?;
    let others = state
        .store
        .invoices_of_order(&order)
        .await?
        .iter()
        .filter(|other| other.number != invoice.number)
        .map(|other| (view::title(other, lang), format!("{}?lang={}", other.number, lang.code())))
        .collect();
    let page = InvoicePage { lang, view: View::of(&invoice, lang), pdf, others };
    render(StatusCode::OK, &page)
}

pub async fn pdf(
    State(state): State<AppState>,
    Path((token, number)): Path<(String, String)>,
    Query(query): Query<PageQuery>,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    let lang = Lang::detect(query.lang.as_deref(), &headers);
    let invoice = find(&state, &token, &number).await?;
    let bytes = pdf::render(&View::of(&invoice, lang)).map_err(ApiError::internal)?;
    let disposition = format!("inline; filename=\"{}.pdf\"", invoice.label);
    Ok((
        [
            (header::CONTENT_TYPE, "application/pdf".to_owned()),
            (header::CONTENT_DISPOSITION, disposition),
        ],
        bytes,
    )
        .into_response())
}
