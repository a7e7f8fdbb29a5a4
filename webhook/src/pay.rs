//! The pay page (`/pay/{token}`): what the order costs and how it can be paid; choosing a
//! method opens a fresh gateway checkout. `/return` and `/cancel` are where gateways send the
//! payer back; both ask the gateway what happened rather than trusting the browser.

use axum::Form;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use chrono::Utc;
use serde::Deserialize;
use tollbooth_core::pay_per_use::budget;
use tollbooth_core::payments::cashier::{CashierError, CheckoutUrls};
use tollbooth_core::payments::gateway::GatewayError;
use tollbooth_core::payments::method::{self, Method};
use tollbooth_core::payments::order::{Action, Order, Purchase};
use tollbooth_core::payments::paylink::PayLinkError;
use tollbooth_core::payments::payment::{PaymentId, State as PaymentState};
use tollbooth_core::site::{HostEmail, OverBudgetPolicy};
use tollbooth_core::store::StoreError;

use crate::i18n::{Lang, Localised};
use crate::pages::{self, PayPage};
use crate::{ApiError, AppState};

#[derive(Deserialize)]
pub struct PageQuery {
    pub lang: Option<String>,
    /// Set on `/return` and `/cancel`; gateways may append fields of their own, which are ignored.
    payment: Option<String>,
}

#[derive(Deserialize)]
pub struct Choice {
    method: String,
    lang: Option<String>,
}

/// The order behind a token, or the page that explains why there is none.
pub(crate) async fn open(
    state: &AppState,
    token: &str,
    lang: Lang,
) -> Result<Result<Order, Response>, ApiError> {
    let t = lang.texts();
    let id = match state.pay_links.verify(token, Utc::now()) {
        Ok(id) => id,
        // Expiry is an everyday event, not an error: a page that says what to do next.
        Err(PayLinkError::Expired { .. }) => {
            return Ok(Err(pages::message(
                StatusCode::OK,
                lang,
                t.expired_title,
                t.expired_body,
                None,
            )?));
        }
        Err(PayLinkError::Invalid) => {
            return Ok(Err(pages::message(
                StatusCode::NOT_FOUND,
                lang,
                t.invalid_title,
                t.invalid_body,
                None,
            )?));
        }
    };
    match state.store.order(&id).await? {
        Some(order) => Ok(Ok(order)),
        None => Ok(Err(pages::message(
            StatusCode::NOT_FOUND,
            lang,
            t.invalid_title,
            t.invalid_body,
            None,
        )?)),
    }
}

/// Whether the order is a registration for a session that takes no more (full, cancelled, past
/// its deadline): a payment now could only be refunded, so none is taken.
async fn registration_closed(state: &AppState, order: &Order) -> Result<bool, ApiError> {
    let Purchase::Registration { session, .. } = &order.purchase else { return Ok(false) };
    let Some((platform, meeting)) = session.split_once('/') else { return Ok(false) };
    let Ok(platform) = platform.parse() else { return Ok(false) };
    let Some(scheduled) = state.store.scheduled(platform, meeting).await? else {
        return Ok(false);
    };
    let taken = state.store.seats_taken(platform, meeting).await?;
    Ok(scheduled.open_for(taken, Utc::now()).is_err())
}

/// Whether some payment of the order holds or took its money.
pub(crate) async fn is_paid(state: &AppState, order: &Order) -> Result<bool, ApiError> {
    Ok(state.store.payments(&order.id).await?.iter().any(|p| p.state.is_paid()))
}

/// Whether the order is a balance its host no longer owes (paid with another balance link):
/// a payment now could only be refunded, so none is taken.
async fn balance_settled(state: &AppState, order: &Order) -> Result<bool, ApiError> {
    let Purchase::Balance { host } = &order.purchase else { return Ok(false) };
    Ok(!state.store.owes(host).await?)
}

/// The methods offered as the site stands now (administrators may change the country and
/// choose among the configured methods).
async fn methods(state: &AppState) -> Result<Vec<Method>, ApiError> {
    let configured = &state.config.payments.methods;
    match state.store.site_settings().await {
        Ok(site) => Ok(site.offered_methods(configured)),
        Err(StoreError::NotFound(_)) => {
            Ok(method::offered(configured, None, state.config.site.country))
        }
        Err(e) => Err(e.into()),
    }
}

/// The page refusing a session order that would take its host's division over the month's
/// budget, when the site blocks that. Checked here as well as in chat: the budget, the spend
/// or the policy may have changed since the order was made.
async fn over_budget(
    state: &AppState,
    order: &Order,
    lang: Lang,
) -> Result<Option<Response>, ApiError> {
    let Some(estimate) = order.estimate() else { return Ok(None) };
    let policy = match state.store.site_settings().await {
        Ok(site) => site.over_budget,
        Err(StoreError::NotFound(_)) => OverBudgetPolicy::default(),
        Err(e) => return Err(e.into()),
    };
    let host = order.payer.parse::<HostEmail>();
    let (OverBudgetPolicy::Block, Ok(host)) = (policy, host) else { return Ok(None) };
    let total = estimate.cost.total;
    let Some(o) = budget::over_budget(state.store.as_ref(), &host, total, Utc::now()).await? else {
        return Ok(None);
    };
    tracing::info!(order = %order.id, division = %o.division, over = %o.over, "payment refused: over the division's budget");
    let title = lang.texts().over_budget_title;
    pages::message(StatusCode::FORBIDDEN, lang, title, &lang.over_budget(&o, total), None).map(Some)
}

pub async fn show(
    State(state): State<AppState>,
    Path(token): Path<String>,
    Query(query): Query<PageQuery>,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    let lang = Lang::detect(query.lang.as_deref(), &headers);
    let order = match open(&state, &token, lang).await? {
        Ok(order) => order,
        Err(page) => return Ok(page),
    };
    let paid = is_paid(&state, &order).await?;
    if !paid && let Some(refusal) = over_budget(&state, &order, lang).await? {
        return Ok(refusal);
    }
    let t = lang.texts();
    if !paid && registration_closed(&state, &order).await? {
        return pages::message(StatusCode::OK, lang, t.closed_title, t.closed_body, None);
    }
    if !paid && balance_settled(&state, &order).await? {
        return pages::message(StatusCode::OK, lang, t.settled_title, t.settled_body, None);
    }
    let methods = methods(&state).await?.into_iter().map(|m| (m.as_str(), t.method(m))).collect();
    pages::render(
        StatusCode::OK,
        &PayPage {
            lang: lang.code(),
            t,
            estimate: order.estimate(),
            label: match order.purchase {
                Purchase::Balance { .. } => t.outstanding_balance,
                Purchase::Session { .. } | Purchase::Registration { .. } => t.session_fee,
            },
            amount: order.amount.to_string(),
            currency: order.amount.currency().code(),
            change_url: order.change_url.clone(),
            // Only a pay-per-use estimate is the payer's to change, and only before paying.
            plan_action: matches!(order.purchase, Purchase::Session { .. })
                .then(|| format!("{token}/plan"))
                .filter(|_| !paid),
            paid,
            authorise: order.action == Action::Authorise,
            methods,
        },
    )
}

pub async fn choose(
    State(state): State<AppState>,
    Path(token): Path<String>,
    headers: HeaderMap,
    Form(choice): Form<Choice>,
) -> Result<Response, ApiError> {
    let lang = Lang::detect(choice.lang.as_deref(), &headers);
    let order = match open(&state, &token, lang).await? {
        Ok(order) => order,
        Err(page) => return Ok(page),
    };
    let t = lang.texts();
    if registration_closed(&state, &order).await? {
        return pages::message(StatusCode::CONFLICT, lang, t.closed_title, t.closed_body, None);
    }
    if balance_settled(&state, &order).await? {
        return pages::message(StatusCode::CONFLICT, lang, t.settled_title, t.settled_body, None);
    }
    let method: Method = choice.method.parse().map_err(ApiError::BadRequest)?;
    if !methods(&state).await?.contains(&method) {
        return Err(ApiError::BadRequest(format!("payment method `{method}` is not offered here")));
    }
    if let Some(refusal) = over_budget(&state, &order, lang).await? {
        return Ok(refusal);
    }
    let page_url = |suffix: &str, payment: &PaymentId| {
        let mut url = state.url(&format!("pay/{token}{suffix}"));
        url.query_pairs_mut()
            .append_pair("payment", payment.as_str())
            .append_pair("lang", lang.code());
        url
    };
    let urls = |payment: &PaymentId| CheckoutUrls {
        return_url: page_url("/return", payment),
        cancel_url: page_url("/cancel", payment),
        notify_url: state.url(&format!("payments/{method}/notify")),
    };
    match state.cashier.start_checkout(&order, method.as_str(), urls).await {
        Ok(redirect) => Ok(Redirect::to(redirect.as_str()).into_response()),
        // Paid in another tab meanwhile: the pay page says so.
        Err(CashierError::Rejected(_)) => {
            Ok(Redirect::to(&format!("/pay/{token}?lang={}", lang.code())).into_response())
        }
        Err(CashierError::Gateway(e)) => {
            tracing::warn!(order = %order.id, %method, error = %e, "could not open a checkout");
            let t = lang.texts();
            let (title, body) = match e {
                GatewayError::Communication(_) => (t.unavailable_title, t.unavailable_body),
                _ => (t.declined_title, t.declined_body),
            };
            let again = (format!("/pay/{token}?lang={}", lang.code()), t.try_again);
            pages::message(StatusCode::BAD_GATEWAY, lang, title, body, Some(again))
        }
        Err(e) => Err(e.into()),
    }
}

/// Where the gateway sends the payer after paying (or failing to).
pub async fn returned(
    state: State<AppState>,
    token: Path<String>,
    query: Query<PageQuery>,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    back(state, token, query, headers, false).await
}

/// Where the gateway sends the payer who cancelled.
pub async fn cancelled(
    state: State<AppState>,
    token: Path<String>,
    query: Query<PageQuery>,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    back(state, token, query, headers, true).await
}

async fn back(
    State(state): State<AppState>,
    Path(token): Path<String>,
    Query(query): Query<PageQuery>,
    headers: HeaderMap,
    cancelled: bool,
) -> Result<Response, ApiError> {
    let lang = Lang::detect(query.lang.as_deref(), &headers);
    let t = lang.texts();
    let order = match open(&state, &token, lang).await? {
        Ok(order) => order,
        Err(page) => return Ok(page),
    };
    let payment = query
        .payment
        .as_deref()
        .and_then(|p| p.parse::<PaymentId>().ok())
        .filter(|p| p.as_str().starts_with(&format!("{}-p", order.id)))
        .ok_or_else(|| ApiError::BadRequest("missing or foreign `payment`".into()))?;
    let outcome = if cancelled {
        state.cashier.abandon(&payment).await
    } else {
        state.cashier.reconcile(&payment).await
    };
    let payment_state = match outcome {
        Ok(outcome) => outcome.payment.state,
        // The gateway could not be asked now; its callback will still arrive.
        Err(CashierError::Gateway(e)) => {
            tracing::warn!(%payment, error = %e, "inquiry on return failed");
            PaymentState::Created
        }
        Err(e) => return Err(e.into()),
    };
    let again = || Some((format!("/pay/{token}?lang={}", lang.code()), t.try_again));
    let (title, body, link) = match payment_state {
        PaymentState::Authorised => (t.authorised_title, t.authorised_body, None),
        PaymentState::Captured | PaymentState::Sale => (t.paid_title, t.paid_body, None),
        PaymentState::Failed => (t.declined_title, t.declined_body, again()),
        PaymentState::Created => (t.pending_title, t.pending_body, None),
        PaymentState::Expired | PaymentState::Voided | PaymentState::Refunded => {
            (t.cancelled_title, t.cancelled_body, again())
        }
    };
    pages::message(StatusCode::OK, lang, title, body, link)
}
