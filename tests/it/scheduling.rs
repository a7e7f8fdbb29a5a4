//! A pay-per-use host schedules a meeting in chat and pays for that meeting: the order is bound
//! to it, `/session start` hands out the start link only once it is paid, and the paid order
//! lets that meeting start but no other (Webex and Zoom emulators, Payflow emulator, both
//! backends).

use crate::common;
use crate::common::chat;
use crate::common::pay;
use crate::common::world;

use serde_json::{Value, json};
use tollbooth_core::platform::PlatformKind;
use tollbooth_core::store::Switches;

use chat::{MEMBER, ask, command, link, options, sub};
use common::Db;
use pay::{choose, on_payflow_page, text};
use world::{HOST, HOST_USER, World};

on_both_backends!(
    a_meeting_scheduled_and_paid_in_chat_starts_and_no_other_does,
    a_zoom_meeting_scheduled_and_paid_in_chat_starts_by_its_number_and_no_other_does,
    nothing_is_left_on_the_platform_when_scheduling_fails_on_our_side,
);

async fn world(db: &Db) -> World {
    let switches =
        Switches { ecommerce_enabled: true, pay_per_use_enabled: true, fee_based_enabled: false };
    World::serve(db, switches, 10).await
}

impl World {
    async fn session(&self, token: &str, subcommand: &str, pairs: &[(&str, Value)]) -> Value {
        let interaction =
            command(HOST_USER, token, "session", sub(subcommand, options(pairs)), MEMBER);
        ask(&self.app.base, &self.discord, &interaction).await
    }

    /// Schedules a meeting on `platform` for 10 computers and 3 phones, checks that
    /// `/session start` withholds the start link until the order is paid (Payflow) and then
    /// hands it out, and returns the meeting id the chat named.
    async fn schedule_and_pay(&self, platform: PlatformKind) -> String {
        let scheduled = self
            .session(
                "schedule",
                "schedule",
                &[
                    ("title", json!("Onboarding")),
                    ("start", json!("2030-12-01 14:00")),
                    ("minutes", json!(60)),
                    ("platform", json!(platform.as_str())),
                    ("computers", json!(10)),
                    ("phones", json!(3)),
                ],
            )
            .await;
        let said = scheduled["content"].as_str().unwrap();
        assert!(said.contains(&format!("Scheduled **Onboarding** on {platform}")), "{said}");
        // The estimate of the plan (81.00 USD) plus 15 % headroom.
        assert!(said.contains("Pay 93.15 USD"), "{said}");
        let meeting = said.split('`').nth(1).unwrap().to_owned();
        let start_url = match platform {
            PlatformKind::Webex => self.webex.meetings()[0].web_link.clone(),
            PlatformKind::Zoom => self.zoom.meetings()[0].start_url.clone(),
        };

        let where_ = [("platform", json!(platform.as_str())), ("meeting", json!(meeting.clone()))];
        let early = self.session("start-1", "start", &where_).await;
        assert!(early["content"].as_str().unwrap().contains("not paid for yet"), "{early}");
        assert!(link(&early).is_none(), "no start link before paying");

        let pay_link = link(&scheduled).unwrap();
        let back = on_payflow_page(&choose(&pay_link, "payflow").await, "approve").await;
        assert!(text(&back).await.contains("Payment authorised"));
        assert_eq!(self.payflow.charges(), 0, "held, not taken");
        let start = self.session("start-2", "start", &where_).await;
        assert_eq!(link(&start).as_deref(), Some(start_url.as_str()), "{start}");
        meeting
    }

    /// Reports a Webex `started` for `meeting` and returns the session as the API then shows it.
    async fn webex_started(&self, meeting: &str) -> Value {
        let body = json!({"id": "hook", "resource": "meetings", "event": "started",
            "data": {"id": meeting, "start": "2030-12-01T14:00:00Z", "hostEmail": HOST}});
        assert_eq!(self.sender.webex(body.to_string().as_bytes()).await.status(), 200);
        self.sender.settled_session("webex", meeting).await
    }

    /// Reports a Zoom `meeting.started` for the instance `uuid` of meeting `number` (a JSON
    /// number, as Zoom documents it) and returns the session as the API then shows it.
    async fn zoom_started(&self, number: u64, uuid: &str) -> Value {
        let body = json!({"event": "meeting.started", "event_ts": 1_922_450_400_000_u64,
            "payload": {"account_id": "AAAAAAAAAAAAAAAAAAAAAA", "object": {
                "id": number, "uuid": uuid, "host_id": "z8yCxjabcdEFGHfp8uQ", "topic": "Onboarding",
                "type": 2, "start_time": "2030-12-01T14:00:00Z", "duration": 60,
                "host_email": HOST}}});
        assert_eq!(self.sender.zoom(body.to_string().as_bytes()).await.status(), 200);
        self.sender.settled_session("zoom", uuid).await
    }
}

async fn a_meeting_scheduled_and_paid_in_chat_starts_and_no_other_does(db: Db) {
    let w = world(&db).await;
    let meeting = w.schedule_and_pay(PlatformKind::Webex).await;
    // Another of the host's meetings is not paid for by this order...
    let other = w.webex_started("0123456789abcdef0123456789abcdef_I_1").await;
    assert_eq!(other["state"], "blocked", "{other}");
    // ...but an occurrence of the scheduled one is.
    let paid = w.webex_started(&format!("{meeting}_I_1")).await;
    assert_eq!(paid["state"], "running", "{paid}");
}

/// A Zoom session is keyed by the instance's uuid; the order is bound to the meeting number
/// that scheduling returned, which the `started` carries as `object.id`.
async fn a_zoom_meeting_scheduled_and_paid_in_chat_starts_by_its_number_and_no_other_does(db: Db) {
    let w = world(&db).await;
    let meeting = w.schedule_and_pay(PlatformKind::Zoom).await;
    let number: u64 = meeting.parse().expect("a Zoom meeting number");
    // Another of the host's meetings is not paid for by this order, and does not spend it...
    let other = w.zoom_started(number + 1, "4444AAAiAAAAAiAiAiiAii==").await;
    assert_eq!(other["state"], "blocked", "{other}");
    // ...which still pays for an instance of the scheduled one.
    let paid = w.zoom_started(number, "tubFEWg9SAaVamwu6V0+kw==").await;
    assert_eq!(paid["state"], "running", "{paid}");
}

async fn nothing_is_left_on_the_platform_when_scheduling_fails_on_our_side(db: Db) {
    let w = world(&db).await;
    let onboarding = |platform: &str, computers: i64| {
        vec![
            ("title", json!("Onboarding")),
            ("start", json!("2030-12-01 14:00")),
            ("minutes", json!(60)),
            ("platform", json!(platform)),
            ("computers", json!(computers)),
        ]
    };
    // A plan that cannot be priced is refused before the platform is asked for anything.
    let refused = w.session("bad-plan", "schedule", &onboarding("webex", 0)).await;
    let said = refused["content"].as_str().unwrap();
    assert!(said.contains("computers"), "{said}");
    assert!(w.webex.state().calls.is_empty(), "nothing asked of Webex");

    // The meeting is made, then the database refuses to keep it: the meeting is deleted again,
    // on either platform, and the host is told to try again.
    let mut db_conn = <sqlx::AnyConnection as sqlx::Connection>::connect(&db.url).await.unwrap();
    sqlx::query("ALTER TABLE scheduled_sessions RENAME TO scheduled_sessions_away")
        .execute(&mut db_conn)
        .await
        .unwrap();
    for (n, platform) in ["webex", "zoom"].into_iter().enumerate() {
        let failed = w.session(&format!("lost-{n}"), "schedule", &onboarding(platform, 10)).await;
        let said = failed["content"].as_str().unwrap();
        assert!(said.contains("try again"), "{said}");
    }
    let webex_calls = w.webex.state().calls.clone();
    assert_eq!(webex_calls.len(), 2, "{webex_calls:?}");
    let made = webex_calls[0].body.clone().unwrap();
    assert_eq!(made["hostEmail"], HOST);
    assert_eq!(webex_calls[1].method, axum::http::Method::DELETE);
    assert_eq!(webex_calls[1].query.as_deref(), Some("hostEmail=host%40example.com"));
    assert!(w.webex.meetings().is_empty(), "deleted again");
    assert!(w.zoom.meetings().is_empty(), "deleted again");
    assert!(w.zoom.state().calls.iter().any(|c| c.method == axum::http::Method::DELETE));
}
