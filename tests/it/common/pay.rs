//! Paying through the pages as a payer would: the pay page, the Payflow emulator's hosted
//! page, and the return.

use tollbooth_core::config::Config;
use tollbooth_core::payments::method::Method;

use crate::common::app::browser;
use crate::emulators::payflow::{self, Payflow};

pub fn with_payflow(emulator: &Payflow, timeout_secs: u64) -> impl FnOnce(&mut Config) + use<> {
    let base = emulator.base.clone();
    move |config: &mut Config| {
        config.payments.methods = vec![Method::Sandbox, Method::Payflow];
        config.payflow.host = Some(format!("{base}/").parse().unwrap());
        config.payflow.hosted_host = Some(format!("{base}/hosted").parse().unwrap());
        config.payflow.partner = payflow::PARTNER.into();
        config.payflow.vendor = payflow::VENDOR.into();
        config.payflow.password = payflow::PASSWORD.to_owned().into();
        config.payflow.timeout_secs = timeout_secs;
    }
}

pub fn location(r: &reqwest::Response) -> String {
    assert_eq!(r.status(), 303, "expected a redirect, got {}", r.status());
    r.headers()["location"].to_str().unwrap().to_owned()
}

/// Chooses `method` on the pay page; returns where the gateway's checkout is.
pub async fn choose(pay_link: &str, method: &str) -> String {
    let r = browser().post(pay_link).form(&[("method", method)]).send().await.unwrap();
    location(&r)
}

/// Pays (or not) on the Payflow emulator's hosted page; returns our return or cancel URL.
pub async fn on_payflow_page(checkout: &str, decision: &str) -> String {
    let url = url::Url::parse(checkout).unwrap();
    let page = browser().get(checkout).send().await.unwrap();
    assert_eq!(page.status(), 200, "{}", page.text().await.unwrap());
    let mut form: Vec<(String, String)> = url
        .query_pairs()
        .filter(|(k, _)| k.starts_with("SECURETOKEN"))
        .map(|(k, v)| (k.into_owned(), v.into_owned()))
        .collect();
    form.push(("decision".into(), decision.into()));
    let post_to = format!("{}://{}{}", url.scheme(), url.authority(), url.path());
    location(&browser().post(post_to).form(&form).send().await.unwrap())
}

pub async fn text(url: &str) -> String {
    let r = browser().get(url).send().await.unwrap();
    assert_eq!(r.status(), 200, "{url}");
    r.text().await.unwrap()
}
