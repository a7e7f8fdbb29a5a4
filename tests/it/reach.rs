//! Reaching people outside Discord, end to end on both backends: e-mail through an SMTP sink
//! (text and HTML parts) and Webex direct messages through the Webex emulator's bot, beside
//! the Discord messages, each once through the outbox.

use crate::common;
use crate::common::world;
use crate::emulators;

use std::time::Duration;

use serde_json::json;
use tollbooth_core::store::Switches;

use common::Db;
use common::chat::{MEMBER, command, options, sub};
use common::pay::text;
use emulators::smtp::Mime;
use world::{HOST, HOST_USER, World};

on_both_backends!(
    an_unlinked_webex_host_blocked_at_start_gets_a_webex_message_and_an_e_mail_with_a_pay_link,
    a_paid_sessions_receipt_goes_by_e_mail_and_webex_too,
    an_attendee_is_e_mailed_the_join_link_and_the_refund_when_the_session_is_cancelled,
);

/// A Webex host nobody linked to a Discord member.
const UNLINKED: &str = "solo@example.com";

async fn world(db: &Db, pay_per_use: bool) -> World {
    let switches = Switches {
        ecommerce_enabled: true,
        pay_per_use_enabled: pay_per_use,
        fee_based_enabled: !pay_per_use,
    };
    World::serve_reaching_out(db, switches, |_| {}).await
}

impl World {
    fn mail(&self) -> Vec<Mime> {
        self.smtp.as_ref().expect("an SMTP sink").received()
    }

    /// The e-mail received, once there are `n` (the outbox worker runs every second).
    async fn mails(&self, n: usize) -> Vec<Mime> {
        for _ in 0..300 {
            let mail = self.mail();
            if mail.len() >= n {
                return mail;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        panic!("never received {n} e-mails: {:?}", self.mail());
    }
}

/// The first URL under `base` in `text`.
fn url_in(text: &str, base: &str) -> String {
    let at = text.find(base).unwrap_or_else(|| panic!("no {base} in {text}"));
    text[at..].split(|c: char| c.is_whitespace() || c == ')').next().unwrap().to_owned()
}

/// How an HTML attribute holds `url` (askama escapes `&`).
fn href(url: &str) -> String {
    format!(r#"href="{}""#, url.replace('&', "&#38;"))
}

async fn an_unlinked_webex_host_blocked_at_start_gets_a_webex_message_and_an_e_mail_with_a_pay_link(
    db: Db,
) {
    let w = world(&db, true).await;
    // The mail server is busy at first: the outbox tries again after its backoff.
    w.smtp.as_ref().unwrap().state().refuse = 1;
    let meeting = "9a1b2c3d4e5f60718293a4b5c6d7e8f9_I_1";
    let started = json!({"id": "hook", "resource": "meetings", "event": "started",
        "data": {"id": meeting, "start": "2026-11-25T10:00:00Z", "hostEmail": UNLINKED}});
    for _ in 0..2 {
        assert_eq!(w.sender.webex(started.to_string().as_bytes()).await.status(), 200);
    }
    let v = w.sender.settled_session("webex", meeting).await;
    assert_eq!(v["state"], "blocked", "{v}");
    w.delivered(&format!("webex:blocked:webex:{meeting}")).await;
    w.delivered(&format!("email:blocked:webex:{meeting}")).await;
    tokio::time::sleep(Duration::from_millis(1500)).await;

    let sent = w.webex.state().messages.clone();
    assert_eq!(sent.len(), 1, "messaged once: {sent:?}");
    assert_eq!(sent[0]["toPersonEmail"], UNLINKED);
    let markdown = sent[0]["markdown"].as_str().unwrap();
    assert!(markdown.contains("Your webex meeting was ended"), "{markdown}");
    let pay_link = url_in(markdown, &format!("{}/pay/", w.app.base));
    let calls = w.webex.calls();
    let call = calls.iter().find(|c| c.path == "/v1/messages").unwrap();
    assert_eq!(call.authorization.as_deref(), Some("Bearer emulator-bot-token"), "as the bot");

    assert_eq!(w.smtp.as_ref().unwrap().state().refused, 1);
    let mail = w.mail();
    assert_eq!(mail.len(), 1, "e-mailed once: {mail:?}");
    let received = w.smtp.as_ref().unwrap().state().received[0].clone();
    assert_eq!(
        (received.from.as_str(), received.to.as_slice()),
        ("tollbooth@example.com", &[UNLINKED.to_owned()][..])
    );
    assert!(mail[0].header("message-id").unwrap().ends_with("@example.com>"), "{mail:?}");
    let plain = mail[0].part("text/plain").unwrap();
    assert!(plain.contains("Your webex meeting was ended"), "{plain}");
    assert_eq!(url_in(plain, &format!("{}/pay/", w.app.base)), pay_link, "the same link");
    let html = mail[0].part("text/html").unwrap();
    assert!(html.contains(&href(&pay_link)), "{html}");
    assert!(w.messages().is_empty(), "nobody to tell in Discord");
    // The link pays for a start.
    assert!(text(&pay_link).await.contains("USD"));
}

async fn a_paid_sessions_receipt_goes_by_e_mail_and_webex_too(db: Db) {
    let w = world(&db, true).await;
    let order = w.paid_order().await;
    let meeting = "560d7b784f5143e3be2fc3064a5c4999_I_1";
    assert_eq!(w.start(meeting).await["state"], "running");
    w.run_and_end(meeting, 2, 30).await;
    for channel in ["", "email:", "webex:"] {
        w.delivered(&format!("{channel}receipt:{}", order.id)).await;
    }
    let mail = w.mail();
    assert_eq!(mail.len(), 1, "{mail:?}");
    assert!(mail[0].header("subject").unwrap().starts_with("Receipt"), "{mail:?}");
    let plain = mail[0].part("text/plain").unwrap();
    assert!(plain.contains("Total: 7.20 USD"), "{plain}");
    assert!(mail[0].part("text/html").unwrap().contains("Total: 7.20 USD"));
    let sent = w.webex.state().messages.clone();
    assert_eq!((sent.len(), sent[0]["toPersonEmail"].as_str()), (1, Some(HOST)), "{sent:?}");
    assert_eq!(w.messages().len(), 1, "and in Discord, as before");
}

async fn an_attendee_is_e_mailed_the_join_link_and_the_refund_when_the_session_is_cancelled(
    db: Db,
) {
    let w = world(&db, false).await;
    let meeting = w.schedule("zoom", "25.00", Some(2)).await;
    let pay_link = w.pay_link(5001, &meeting, "Ada").await;
    assert!(w.pay_in_sandbox(&pay_link).await.contains("Payment received"));
    let mail = w.mails(1).await;
    assert_eq!(mail.len(), 1, "{mail:?}");
    assert_eq!(w.smtp.as_ref().unwrap().state().received[0].to, ["ada@example.com"]);
    let join_url = w.zoom.registrants(&meeting)[0].join_url.clone().unwrap();
    let plain = mail[0].part("text/plain").unwrap();
    assert!(plain.contains("You are registered for Rust for payments"), "{plain}");
    assert!(plain.contains(&join_url), "{plain}");
    let html = mail[0].part("text/html").unwrap();
    assert!(html.contains("<strong>Rust for payments</strong>"), "{html}");
    assert!(html.contains(&href(&join_url)), "{html}");
    assert!(w.webex.state().messages.is_empty(), "attendees are not Webex hosts");

    let opts = options(&[("platform", json!("zoom")), ("meeting", json!(meeting))]);
    w.ask(command(HOST_USER, "cancel-1", "session", sub("cancel", opts), MEMBER)).await;
    let mail = w.mails(2).await;
    assert_eq!(mail[1].header("subject").as_deref(), Some("Refund: Rust for payments"));
    let plain = mail[1].part("text/plain").unwrap();
    assert!(plain.contains("was cancelled by its host"), "{plain}");
}
