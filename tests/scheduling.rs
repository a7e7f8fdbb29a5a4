//! A pay-per-use host schedules a meeting in chat and pays for that meeting: the order is bound
//! to it, `/session start` hands out the start link only once it is paid, and the paid order
//! lets that meeting start but no other (Webex emulator, Payflow emulator, both backends).

#[path = "common/chat.rs"]
mod chat;
mod common;
mod emulators;
#[path = "common/pay.rs"]
mod pay;

use secrecy::SecretString;
use serde_json::{Value, json};
use tollbooth_core::site::HostEmail;
use tollbooth_core::store::{DiscordLinkStore, SiteStore, Switches};

use chat::{MEMBER, ask, command, link, options, sub};
use common::app::{self, App};
use common::{ADMIN_TOKEN, Db, Sender, WEBEX_SECRET};
use emulators::discord::DiscordEmulator;
use emulators::payflow::Payflow;
use emulators::webex::WebexEmulator;
use pay::{choose, on_payflow_page, text, with_payflow};

on_both_backends!(a_meeting_scheduled_and_paid_in_chat_starts_and_no_other_does);

const HOST: &str = "host@example.com";
const HOST_USER: u64 = 4242;

struct World {
    app: App,
    payflow: Payflow,
    webex: WebexEmulator,
    discord: DiscordEmulator,
}

async fn world(db: &Db) -> World {
    let (payflow, webex, discord) =
        (Payflow::start().await, WebexEmulator::start().await, DiscordEmulator::start().await);
    let payments = with_payflow(&payflow, 10);
    let clients = emulators::clients(Some(&webex), None, Some(&discord));
    let app = app::start(db, move |c| {
        payments(c);
        clients(c);
        c.admin_token = Some(SecretString::from(ADMIN_TOKEN));
        c.webex.webhook_secret = vec![SecretString::from(WEBEX_SECRET)];
    })
    .await;
    let switches =
        Switches { ecommerce_enabled: true, pay_per_use_enabled: true, fee_based_enabled: false };
    app.store.set_switches(switches).await.unwrap();
    let host: HostEmail = HOST.parse().unwrap();
    app.store.link_discord_user(HOST_USER, &host, 1).await.unwrap();
    World { app, payflow, webex, discord }
}

impl World {
    async fn session(&self, token: &str, subcommand: &str, pairs: &[(&str, Value)]) -> Value {
        let interaction =
            command(HOST_USER, token, "session", sub(subcommand, options(pairs)), MEMBER);
        ask(&self.app.base, &self.discord, &interaction).await
    }

    /// Reports a `started` for `meeting` and returns the session as the API then shows it.
    async fn start(&self, meeting: &str) -> Value {
        let sender = Sender::new(&self.app.base);
        let body = json!({"id": "hook", "resource": "meetings", "event": "started",
            "data": {"id": meeting, "start": "2030-12-01T14:00:00Z", "hostEmail": HOST}});
        assert_eq!(sender.webex(body.to_string().as_bytes()).await.status(), 200);
        sender.settled_session("webex", meeting).await
    }
}

async fn a_meeting_scheduled_and_paid_in_chat_starts_and_no_other_does(db: Db) {
    let w = world(&db).await;
    let scheduled = w
        .session(
            "schedule",
            "schedule",
            &[
                ("title", json!("Onboarding")),
                ("start", json!("2030-12-01 14:00")),
                ("minutes", json!(60)),
                ("platform", json!("webex")),
                ("computers", json!(10)),
                ("phones", json!(3)),
            ],
        )
        .await;
    let said = scheduled["content"].as_str().unwrap();
    assert!(said.contains("Scheduled **Onboarding** on webex"), "{said}");
    // The estimate of the plan (81.00 USD) plus 15 % headroom.
    assert!(said.contains("Pay 93.15 USD"), "{said}");
    let meeting = said.split('`').nth(1).unwrap().to_owned();
    let web_link = w.webex.meetings()[0].web_link.clone();

    let where_ = [("platform", json!("webex")), ("meeting", json!(meeting.clone()))];
    let early = w.session("start-1", "start", &where_).await;
    assert!(early["content"].as_str().unwrap().contains("not paid for yet"), "{early}");
    assert!(link(&early).is_none(), "no start link before paying");

    let pay_link = link(&scheduled).unwrap();
    let back = on_payflow_page(&choose(&pay_link, "payflow").await, "approve").await;
    assert!(text(&back).await.contains("Payment authorised"));
    assert_eq!(w.payflow.charges(), 0, "held, not taken");
    let start = w.session("start-2", "start", &where_).await;
    assert_eq!(link(&start).as_deref(), Some(web_link.as_str()), "{start}");

    // Another of the host's meetings is not paid for by this order...
    let other = w.start("0123456789abcdef0123456789abcdef_I_1").await;
    assert_eq!(other["state"], "blocked", "{other}");
    // ...but an occurrence of the scheduled one is.
    let paid = w.start(&format!("{meeting}_I_1")).await;
    assert_eq!(paid["state"], "running", "{paid}");
}
