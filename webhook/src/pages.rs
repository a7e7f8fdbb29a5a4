//! HTML pages (askama templates under `templates/`, which escape every value they print). The
//! templates take their words from the page's `lang` (`lang.text("…")`).

use askama::Template;
use axum::http::StatusCode;
use axum::response::{Html, IntoResponse, Response};
use tollbooth_core::pricing::Estimate;

use crate::ApiError;
use crate::i18n::Lang;

#[derive(Template)]
#[template(path = "pay.html")]
pub struct PayPage<'a> {
    pub lang: Lang,
    pub estimate: Option<Estimate>,
    /// The estimate's plan in words (`60 minutes, 1 computer, 0 phones`), when there is one.
    pub plan: String,
    /// What an order without an estimate is for: a session fee or an outstanding balance.
    pub label: String,
    pub amount: String,
    pub currency: &'a str,
    pub change_url: Option<String>,
    /// Where the form that changes the estimate posts (relative to `/pay/`), when it can.
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

pub fn message(
    status: StatusCode,
    lang: Lang,
    title: &str,
    body: &str,
    link: Option<(String, &str)>,
) -> Result<Response, ApiError> {
    render(status, &MessagePage { lang, title, body, link })
}
