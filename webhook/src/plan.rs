//! `POST /pay/{token}/plan`: a host changes the estimate behind a pay-per-use pay link (the
//! one a blocked start offered, say) before paying. The order itself never changes: a new
//! order is made for the new plan, at today's prices with the site's headroom, for the same
//! meetings and the same host, and the payer is sent to its pay page.

use axum::Form;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use chrono::Utc;
use serde::Deserialize;
use tollbooth_core::messages::Args as TextArgs;
use tollbooth_core::payments::order::{Order, Purchase};
use tollbooth_core::pricing::{Estimate, EstimateError, SessionPlan};

use crate::i18n::{Lang, Localised};
use crate::pages;
use crate::pay::{is_paid, open};
use crate::{ApiError, AppState};

/// The form's fields, as typed: a number that is not one is named like one out of range.
#[derive(Deserialize)]
pub struct PlanForm {
    minutes: String,
    computers: String,
    phones: String,
    lang: Option<String>,
}

pub async fn change(
    State(state): State<AppState>,
    Path(token): Path<String>,
    headers: HeaderMap,
    Form(form): Form<PlanForm>,
) -> Result<Response, ApiError> {
    let lang = Lang::detect(form.lang.as_deref(), &headers);
    let order = match open(&state, &token, lang).await? {
        Ok(order) => order,
        Err(page) => return Ok(page),
    };
    let back = format!("/pay/{token}?lang={}", lang.code());
    let Purchase::Session { bound, .. } = &order.purchase else {
        return Err(ApiError::BadRequest("only a session's estimate can be changed".into()));
    };
    // Paid meanwhile (another tab): the pay page says so.
    if is_paid(&state, &order).await? {
        return Ok(Redirect::to(&back).into_response());
    }
    let plan = match plan(&form, lang) {
        Ok(plan) => plan,
        Err(why) => {
            let again = lang.text("try-again");
            return pages::message(
                StatusCode::UNPROCESSABLE_ENTITY,
                lang,
                &lang.text("plan-title"),
                &why,
                Some((back, &again)),
            );
        }
    };
    let prices = state.store.prices_at(Utc::now()).await?;
    let estimate = Estimate::new(plan, &prices).map_err(ApiError::internal)?;
    let headroom = state.config.pay_per_use.headroom_percent;
    let changed = Order::for_session(bound.clone(), order.payer.clone(), &estimate, prices, None)
        .with_headroom(headroom);
    state.store.create_order(&changed).await?;
    tracing::info!(from = %order.id, to = %changed.id, "estimate changed on the pay page");
    let next = state.terms.links.pay(&changed.id, Utc::now(), lang);
    Ok(Redirect::to(next.as_str()).into_response())
}

fn plan(form: &PlanForm, lang: Lang) -> Result<SessionPlan, String> {
    let number = |name: &'static str, text: &str| {
        text.trim().parse::<i128>().map_err(|_| {
            let args = TextArgs::new().str("field", name).str("text", text);
            lang.text_with("plan-not-a-number", &args)
        })
    };
    let (minutes, computers, phones) = (
        number("minutes", &form.minutes)?,
        number("computers", &form.computers)?,
        number("phones", &form.phones)?,
    );
    SessionPlan::new(minutes, computers, phones).map_err(|e| {
        let EstimateError::OutOfRange { name, min, max, got } = e;
        let args =
            TextArgs::new().str("field", name).str("min", min).str("max", max).str("got", got);
        lang.text_with("plan-out-of-range", &args)
    })
}
