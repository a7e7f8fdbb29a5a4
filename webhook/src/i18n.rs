//! The language of a page: chosen from the request. The words are Fluent messages
//! (`tollbooth_core::messages`), which templates read with `lang.text("…")`.

use axum::http::HeaderMap;
use axum::http::header::ACCEPT_LANGUAGE;
use tollbooth_core::money::Money;
use tollbooth_core::pay_per_use::budget::OverBudget;

pub use tollbooth_core::lang::Lang;

/// What pages add to the domain's [`Lang`]: choosing it from a request.
pub trait Localised: Sized {
    /// `?lang=` wins; then the first language of `Accept-Language` that we speak; else English.
    fn detect(query: Option<&str>, headers: &HeaderMap) -> Self;

    /// Why a session over its division's budget cannot be paid for, with the figures.
    fn over_budget(self, o: &OverBudget, estimate: Money) -> String;
}

impl Localised for Lang {
    fn detect(query: Option<&str>, headers: &HeaderMap) -> Lang {
        if let Some(lang) = query.and_then(Lang::parse) {
            return lang;
        }
        headers
            .get(ACCEPT_LANGUAGE)
            .and_then(|v| v.to_str().ok())
            .into_iter()
            .flat_map(|v| v.split(','))
            .filter_map(|tag| Lang::parse(tag.split(';').next().unwrap_or_default()))
            .next()
            .unwrap_or(Lang::En)
    }

    fn over_budget(self, o: &OverBudget, estimate: Money) -> String {
        format!("{} {}", o.explain(self, estimate), self.text("over-budget-rule"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::http::HeaderValue;

    #[test]
    fn query_then_accept_language_then_english() {
        let mut headers = HeaderMap::new();
        assert_eq!(Lang::detect(None, &headers), Lang::En);
        headers.insert(ACCEPT_LANGUAGE, HeaderValue::from_static("de-DE, nb-NO;q=0.8, en;q=0.5"));
        assert_eq!(Lang::detect(None, &headers), Lang::from_locale("no"));
        assert_eq!(Lang::detect(Some("en"), &headers), Lang::En);
        assert_eq!(Lang::detect(Some("no"), &HeaderMap::new()), Lang::from_locale("no"));
        assert_eq!(Lang::detect(Some("xx"), &HeaderMap::new()), Lang::En);
    }
}
