//! `POST /pay/{token}/code`: an attendee applies a promotion code on a registration's pay page,
//! before paying. The domain decides (`fee_based::service::apply_code`); the payer goes back to
//! the pay page showing the fee, the discount and the total, or is told why the code was not
//! applied, or, when the code covers the whole fee, that they are registered.

use axum::Form;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use chrono::Utc;
use serde::Deserialize;
use tollbooth_core::fee_based::codes::PromotionCode;
use tollbooth_core::fee_based::service::{self, CodeApplied};
use tollbooth_core::messages::Args as TextArgs;

use crate::i18n::{Lang, Localised};
use crate::pages;
use crate::pay::{open, title_of};
use crate::{ApiError, AppState};

#[derive(Deserialize)]
pub struct CodeForm {
    code: String,
    lang: Option<String>,
}

pub async fn apply(
    State(state): State<AppState>,
    Path(token): Path<String>,
    headers: HeaderMap,
    Form(form): Form<CodeForm>,
) -> Result<Response, ApiError> {
    let lang = Lang::detect(form.lang.as_deref(), &headers);
    let order = match open(&state, &token, lang).await? {
        Ok(order) => order,
        Err(page) => return Ok(page),
    };
    let back = format!("/pay/{token}?lang={}", lang.code());
    let back_label = lang.text("back-to-pay");
    let not_applied = |why: String| {
        let body = lang.text_with("code-not-applied-body", &TextArgs::new().str("why", why));
        let title = lang.text("code-not-applied-title");
        let link = Some((back.clone(), back_label.as_str()));
        pages::message(StatusCode::UNPROCESSABLE_ENTITY, lang, &title, &body, link)
    };
    let code: PromotionCode = match form.code.parse() {
        Ok(code) => code,
        Err(bad) => return not_applied(bad.said(lang)),
    };
    let applied =
        service::apply_code(state.store.as_ref(), &order.id, &code, Utc::now(), state.bot.reach)
            .await?;
    match applied {
        Ok(CodeApplied::ToPay(_)) => Ok(Redirect::to(&back).into_response()),
        Ok(CodeApplied::Admitted(_)) => {
            let title = title_of(&state, &order, lang).await?;
            let args = TextArgs::new().str("code", &code).str("title", title);
            let body = lang.text_with("code-free-body", &args);
            pages::message(StatusCode::OK, lang, &lang.text("code-free-title"), &body, None)
        }
        Err(why) => not_applied(why.said(lang)),
    }
}
