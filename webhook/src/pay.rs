//! The pay page (`/pay/{token}`): what the order costs and how it can be paid; choosing a
//! method opens a fresh gateway checkout. `/return` and `/cancel` are where gateways send the
//! payer back; both ask the gateway what happened rather than trusting the browser.

use axum::Form;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use chrono::Utc;
use serde::Deserialize;
use tollbooth_core::email::Email;
use tollbooth_core::fee_based;
use tollbooth_core::fee_based::registration::{GivenBack, ScheduledSession};
use tollbooth_core::invoicing::invoice::VatId;
use tollbooth_core::messages::Args as TextArgs;
use tollbooth_core::pay_per_use::{self as pay_per_use, budget};
use tollbooth_core::payments::cashier::{CashierError, CheckoutUrls};
use tollbooth_core::payments::gateway::GatewayError;
use tollbooth_core::payments::method::{self, Method};
use tollbooth_core::payments::order::{Action, Binding, Order, Purchase};
use tollbooth_core::payments::paylink::PayLinkError;
use tollbooth_core::payments::payment::{PaymentId, State as PaymentState};
use tollbooth_core::pricing::SessionPlan;
use tollbooth_core::site::OverBudgetPolicy;
use tollbooth_core::store::StoreError;

use crate::i18n::{Lang, Localised};
use crate::pages::{self, Bought, PayPage};
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
    /// The buyer's VAT id, optional, printed on the invoice.
    vat_id: Option<String>,
}

/// The order behind a token, or the page that explains why there is none.
pub(crate) async fn open(
    state: &AppState,
    token: &str,
    lang: Lang,
) -> Result<Result<Order, Response>, ApiError> {
    let invalid = || {
        let (title, body) = (lang.text("invalid-title"), lang.text("invalid-body"));
        pages::message(StatusCode::NOT_FOUND, lang, &title, &body, None)
    };
    let id = match state.pay_links.verify(token, Utc::now()) {
        Ok(id) => id,
        // Expiry is an everyday event, not an error: a page that says what to do next.
        Err(PayLinkError::Expired { .. }) => {
            let (title, body) = (lang.text("expired-title"), lang.text("expired-body"));
            return Ok(Err(pages::message(StatusCode::OK, lang, &title, &body, None)?));
        }
        Err(PayLinkError::Invalid) => return Ok(Err(invalid()?)),
    };
    match state.store.order(&id).await? {
        Some(order) => Ok(Ok(order)),
        None => Ok(Err(invalid()?)),
    }
}

/// The scheduled session an order is for: a registration's, or the meeting a session order
/// pays a start of.
async fn scheduled_of(
    state: &AppState,
    order: &Order,
) -> Result<Option<ScheduledSession>, ApiError> {
    let (platform, meeting) = match &order.purchase {
        Purchase::Registration { session, .. } => {
            let Some((platform, meeting)) = session.split_once('/') else { return Ok(None) };
            let Ok(platform) = platform.parse() else { return Ok(None) };
            (platform, meeting)
        }
        Purchase::Session { bound: Binding::Meeting { platform, meeting_id }, .. } => {
            (*platform, meeting_id.as_str())
        }
        Purchase::Session { .. } | Purchase::Balance { .. } => return Ok(None),
    };
    Ok(state.store.scheduled(platform, meeting).await?)
}

/// Whether the order is a registration for a session that takes no more (full, cancelled, past
/// its deadline): a payment now could only be refunded, so none is taken.
async fn registration_closed(state: &AppState, order: &Order) -> Result<bool, ApiError> {
    if !matches!(order.purchase, Purchase::Registration { .. }) {
        return Ok(false);
    }
    let Some(scheduled) = scheduled_of(state, order).await? else { return Ok(false) };
    // A seat offered to this registration from the waiting list is its own, not in its way.
    let own = state.store.registration_of_order(&order.id).await?.map(|r| r.id);
    let (platform, meeting) = (scheduled.platform, &scheduled.meeting_id);
    let taken = state.store.seats_taken(platform, meeting, Utc::now(), own.as_ref()).await?;
    Ok(scheduled.open_for(taken, Utc::now()).is_err())
}

/// What the order buys, as the payer is told: the session's title, or what stands for it.
pub(crate) async fn title_of(
    state: &AppState,
    order: &Order,
    lang: Lang,
) -> Result<String, ApiError> {
    Ok(bought(state, order, lang).await?.title)
}

/// What the order buys: the session, when it starts, its host and the host's division.
async fn bought(state: &AppState, order: &Order, lang: Lang) -> Result<Bought, ApiError> {
    let scheduled = scheduled_of(state, order).await?;
    let host = match (&order.purchase, &scheduled) {
        (Purchase::Registration { .. }, Some(s)) => Some(s.host_email.clone()),
        (Purchase::Registration { .. }, None) => None,
        (Purchase::Session { .. } | Purchase::Balance { .. }, _) => Some(order.payer.clone()),
    };
    let division = match host.as_deref().map(str::parse::<Email>) {
        Some(Ok(email)) => match state.store.host(&email).await?.and_then(|h| h.division) {
            Some(id) => state.store.division(&id).await?.map(|d| d.name),
            None => None,
        },
        _ => None,
    };
    let title = match (&scheduled, &order.purchase) {
        (Some(s), _) => s.title.clone(),
        (None, Purchase::Balance { .. }) => lang.text("outstanding-balance"),
        (None, Purchase::Registration { session, .. }) => session.clone(),
        (None, Purchase::Session { bound: Binding::Meeting { platform, meeting_id }, .. }) => {
            format!("{platform}/{meeting_id}")
        }
        (None, Purchase::Session { .. }) => lang.text("bought-next-session"),
    };
    let starts = scheduled.map(|s| s.starts_at.format("%Y-%m-%d %H:%M UTC").to_string());
    Ok(Bought { title, starts, host, division })
}

/// The page for a registration's payment that is being given back, saying why.
async fn given_back(
    state: &AppState,
    order: &Order,
    payment: &PaymentId,
    lang: Lang,
) -> Result<Option<Response>, ApiError> {
    let Some(registration) = state.store.registration_of_order(&order.id).await? else {
        return Ok(None);
    };
    let Some(why) = registration.gives_back(payment.as_str()) else { return Ok(None) };
    let title = match scheduled_of(state, order).await? {
        Some(s) => s.title,
        None => format!("{}/{}", registration.platform, registration.meeting_id),
    };
    let body = match why {
        GivenBack::Refused(closed) => {
            let why = closed.map_or_else(|| lang.text("refund-why-unknown"), |c| c.said(lang));
            lang.text_with(
                "refund-refused-body",
                &TextArgs::new().str("title", &title).str("why", why),
            )
        }
        GivenBack::Second => {
            lang.text_with("refund-second-body", &TextArgs::new().str("title", &title))
        }
    };
    pages::message(StatusCode::OK, lang, &lang.text("refund-title"), &body, None).map(Some)
}

/// Whether some payment of the order holds or took its money.
pub(crate) async fn is_paid(state: &AppState, order: &Order) -> Result<bool, ApiError> {
    Ok(state.store.payments(&order.id).await?.iter().any(|p| p.state.is_paid()))
}

/// Whether the order is a balance its host no longer owes (paid with another balance link):
/// a payment now could only be refunded, so none is taken.
async fn balance_settled(state: &AppState, order: &Order) -> Result<bool, ApiError> {
    let Purchase::Balance { host } = &order.purchase else { return Ok(false) };
    let host: Email = host.parse().map_err(|e| StoreError::corrupt("orders.session", e))?;
    Ok(!pay_per_use::service::owes(state.store.as_ref(), &host).await?)
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
    let host = order.payer.parse::<Email>();
    let (OverBudgetPolicy::Block, Ok(host)) = (policy, host) else { return Ok(None) };
    let total = estimate.cost.total;
    let Some(o) = budget::over_budget(state.store.as_ref(), &host, total, Utc::now()).await? else {
        return Ok(None);
    };
    tracing::info!(order = %order.id, division = %o.division, over = %o.over, "payment refused: over the division's budget");
    let title = lang.text("over-budget-title");
    pages::message(StatusCode::FORBIDDEN, lang, &title, &lang.over_budget(&o, total), None)
        .map(Some)
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
    let registration = matches!(order.purchase, Purchase::Registration { .. });
    // A code that left nothing to pay admitted the attendee: nothing is to be paid either.
    let free = registration && order.amount.amount().is_zero();
    let paid = free || is_paid(&state, &order).await?;
    if !paid && let Some(refusal) = over_budget(&state, &order, lang).await? {
        return Ok(refusal);
    }
    if !paid && registration_closed(&state, &order).await? {
        let (title, body) = (lang.text("closed-title"), lang.text("closed-body"));
        return pages::message(StatusCode::OK, lang, &title, &body, None);
    }
    if !paid && balance_settled(&state, &order).await? {
        let (title, body) = (lang.text("settled-title"), lang.text("settled-body"));
        return pages::message(StatusCode::OK, lang, &title, &body, None);
    }
    let methods =
        methods(&state).await?.into_iter().map(|m| (m.as_str(), label(lang, m))).collect();
    let priced = fee_based::service::priced(&order);
    let estimate = order.estimate();
    let plan = estimate.as_ref().map(|e| plan_in_words(lang, &e.plan)).unwrap_or_default();
    pages::render(
        StatusCode::OK,
        &PayPage {
            lang,
            site: state.config.public_url.host_str().unwrap_or_default().to_owned(),
            bought: bought(&state, &order, lang).await?,
            estimate,
            plan,
            label: match order.purchase {
                Purchase::Balance { .. } => lang.text("outstanding-balance"),
                Purchase::Session { .. } | Purchase::Registration { .. } => {
                    lang.text("session-fee")
                }
            },
            amount: order.amount.to_string(),
            fee: priced.fee.to_string(),
            discount: order.discount.as_ref().map(|d| {
                let label = lang.text_with("label-discount", &TextArgs::new().str("code", &d.code));
                (label, d.amount.to_string())
            }),
            // A registration's code is applied before paying, once.
            code_action: (registration && !paid && order.discount.is_none())
                .then(|| format!("{token}/code")),
            free,
            currency: order.amount.currency().code(),
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
    if registration_closed(&state, &order).await? {
        let (title, body) = (lang.text("closed-title"), lang.text("closed-body"));
        return pages::message(StatusCode::CONFLICT, lang, &title, &body, None);
    }
    if balance_settled(&state, &order).await? {
        let (title, body) = (lang.text("settled-title"), lang.text("settled-body"));
        return pages::message(StatusCode::CONFLICT, lang, &title, &body, None);
    }
    // A code left nothing to pay: there is no checkout to open.
    if order.amount.amount().is_zero() {
        return Ok(Redirect::to(&format!("/pay/{token}?lang={}", lang.code())).into_response());
    }
    let method: Method = choice.method.parse().map_err(ApiError::BadRequest)?;
    if !methods(&state).await?.contains(&method) {
        return Err(ApiError::BadRequest(format!("payment method `{method}` is not offered here")));
    }
    if let Some(refusal) = over_budget(&state, &order, lang).await? {
        return Ok(refusal);
    }
    let vat_id = choice.vat_id.as_deref().map(str::trim).filter(|v| !v.is_empty());
    let vat_id = vat_id.map(str::parse::<VatId>).transpose().map_err(ApiError::BadRequest)?;
    state.store.set_buyer_vat_id(&order.id, vat_id.as_ref()).await?;
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
    match state.cashier.start_checkout(&order, method.as_str(), lang, urls).await {
        Ok(redirect) => Ok(Redirect::to(redirect.as_str()).into_response()),
        // Paid in another tab meanwhile: the pay page says so.
        Err(CashierError::Rejected(_)) => {
            Ok(Redirect::to(&format!("/pay/{token}?lang={}", lang.code())).into_response())
        }
        Err(CashierError::Gateway(e)) => {
            tracing::warn!(order = %order.id, %method, error = %e, "could not open a checkout");
            let (title, body) = match e {
                GatewayError::Communication(_) => {
                    (lang.text("unavailable-title"), lang.text("unavailable-body"))
                }
                _ => (lang.text("declined-title"), lang.text("declined-body")),
            };
            let again = lang.text("try-again");
            let link = (format!("/pay/{token}?lang={}", lang.code()), again.as_str());
            pages::message(StatusCode::BAD_GATEWAY, lang, &title, &body, Some(link))
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
    // Paid, but not for anything the payer can have: the page says why, and that it is refunded.
    if matches!(payment_state, PaymentState::Captured | PaymentState::Sale | PaymentState::Refunded)
        && let Some(page) = given_back(&state, &order, &payment, lang).await?
    {
        return Ok(page);
    }
    let (title, body, again) = match payment_state {
        PaymentState::Authorised => {
            (lang.text("authorised-title"), lang.text("authorised-body"), false)
        }
        PaymentState::Captured | PaymentState::Sale => {
            (lang.text("paid-title"), lang.text("paid-body"), false)
        }
        PaymentState::Failed => (lang.text("declined-title"), lang.text("declined-body"), true),
        PaymentState::Created => (lang.text("pending-title"), lang.text("pending-body"), false),
        PaymentState::Expired | PaymentState::Voided | PaymentState::Refunded => {
            (lang.text("cancelled-title"), lang.text("cancelled-body"), true)
        }
    };
    let try_again = lang.text("try-again");
    let link = again.then(|| (format!("/pay/{token}?lang={}", lang.code()), try_again.as_str()));
    pages::message(StatusCode::OK, lang, &title, &body, link)
}

/// How a payment method is named to the payer.
fn label(lang: Lang, method: Method) -> String {
    match method {
        Method::Sandbox => lang.text("method-sandbox"),
        Method::Payflow => lang.text("method-payflow"),
        Method::Stripe => lang.text("method-stripe"),
        Method::Paypal => lang.text("method-paypal"),
        Method::ExpressCheckout => lang.text("method-express-checkout"),
        Method::WebsitePaymentsPro => lang.text("method-website-payments-pro"),
    }
}

/// `60 minutes, 1 computer, 0 phones`: counts as numbers, so each takes its plural.
fn plan_in_words(lang: Lang, plan: &SessionPlan) -> String {
    let args = TextArgs::new()
        .num("minutes", plan.minutes)
        .num("computers", plan.computers)
        .num("phones", plan.phones);
    lang.text_with("plan-summary", &args)
}
