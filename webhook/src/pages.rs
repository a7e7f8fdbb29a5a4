//! HTML pages (askama templates under `templates/`, which escape every value they print). The
//! templates take their words from the page's `lang` (`lang.text("…")`).

use askama::Template;
use axum::extract::Query;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{Html, IntoResponse, Response};
use tollbooth_core::pricing::Estimate;

use crate::ApiError;
use crate::i18n::{Lang, Localised};
use crate::pay::PageQuery;

/// What an order buys, as its pay page names it.
pub struct Bought {
    /// The session's title, or what stands for it (the next session, a balance).
    pub title: String,
    /// When it starts, in UTC, when the session is a scheduled one.
    pub starts: Option<String>,
    pub host: Option<String>,
    /// The name of the division the host's charges are booked to.
    pub division: Option<String>,
}

#[derive(Template)]
#[template(path = "pay.html")]
pub struct PayPage<'a> {
    pub lang: Lang,
    /// The site the payer is on: the host name of the public URL.
    pub site: String,
    pub bought: Bought,
    pub estimate: Option<Estimate>,
    /// The estimate's plan in words (`60 minutes, 1 computer, 0 phones`), when there is one.
    pub plan: String,
    /// What an order without an estimate is for: a session fee or an outstanding balance.
    pub label: String,
    pub amount: String,
    /// A registration's fee before any discount.
    pub fee: String,
    /// The discount line of a promotion code applied to the order: its label and amount.
    pub discount: Option<(String, String)>,
    /// Where the form that applies a promotion code posts (relative to `/pay/`), while one can
    /// be applied: a registration's order, unpaid, without a code.
    pub code_action: Option<String>,
    /// A code covered the whole fee: nothing is left to pay.
    pub free: bool,
    pub currency: &'a str,
    /// Where the form that changes the estimate posts (relative to `/pay/`), when it can: the
    /// one way a payer changes the plan.
    pub plan_action: Option<String>,
    pub paid: bool,
    /// The money is held now and captured later, which the payer is told.
    pub authorise: bool,
    /// (form value, label) of each method offered.
    pub methods: Vec<(&'static str, String)>,
}

#[derive(Template)]
#[template(path = "sandbox.html")]
pub struct SandboxPage<'a> {
    pub lang: Lang,
    pub description: &'a str,
    pub amount: String,
    pub currency: &'a str,
}

/// A page that says what happened, with an optional link onwards.
#[derive(Template)]
#[template(path = "message.html")]
struct MessagePage<'a> {
    lang: Lang,
    title: &'a str,
    body: &'a str,
    link: Option<(String, &'a str)>,
}

pub fn render(status: StatusCode, page: &impl Template) -> Result<Response, ApiError> {
    let html = page.render().map_err(ApiError::internal)?;
    Ok((status, Html(html)).into_response())
}

/// `GET /`: what this server is, for whoever opens its address.
pub async fn home(
    Query(query): Query<PageQuery>,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    let lang = Lang::detect(query.lang.as_deref(), &headers);
    let (title, body) = (lang.text("home-title"), lang.text("home-body"));
    message(StatusCode::OK, lang, &title, &body, None)
}

pub fn message(
    status: StatusCode,
    lang: Lang,
    title: &str,
    body: &str,
    link: Option<(String, &str)>,
) -> Result<Response, ApiError> {
    render(status, &MessagePage { lang, title, body, link })
}
