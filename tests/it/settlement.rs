//! Settlement end to end on both backends: a paid session that ended waits for the platform's
//! own record (Webex and Zoom emulators), is charged once for the reconciled cost, takes late
//! data as an adjustment, is found ended by gap fill when its `ended` was lost, settles on
//! webhooks alone when the record never comes, and is flagged when the platform's usage
//! report differs from what was billed.

use std::time::Duration;

use serde_json::{Value, json};
use tollbooth_core::config::Config;
use tollbooth_core::payments::order::{Binding, Order};
use tollbooth_core::payments::payment::State;
use tollbooth_core::platform::PlatformKind;
use tollbooth_core::store::PaymentStore;

use crate::common::chat;
use crate::common::world::{HOST, HOST_USER, World};
use crate::common::{self, ADMIN_TOKEN, Db};
use crate::emulators::webex::{Device, Participant, UsageReport};
use crate::emulators::zoom::Segment;
use crate::pay_per_use::{MEETING, usd, webex_computer, webex_meeting, world_with};

on_both_backends!(
    a_lost_leave_is_billed_at_the_time_the_platform_recorded,
    a_connection_only_the_platform_saw_is_added_to_the_bill,
    two_servers_settle_a_session_once,
    a_lost_ended_is_found_by_gap_fill_and_the_session_settled,
    a_zoom_meeting_rejoined_after_settlement_is_one_adjustment_charge,
    a_record_that_never_comes_settles_on_webhooks_at_the_give_up_time,
    a_zoom_meeting_of_one_participant_settles_on_webhooks_without_waiting,
    a_record_that_comes_late_and_lowers_the_cost_is_refunded_once,
    a_usage_report_that_differs_is_flagged_and_listed_not_charged,
);

const START: &str = "2026-11-25T10:00:00Z";

fn at(minute: u32) -> String {
    format!("2026-11-25T{:02}:{:02}:00Z", 10 + minute / 60, minute % 60)
}

/// The platform's record is asked for at once and given up on after two seconds.
fn quick(c: &mut Config) {
    c.settlement.delay_secs = 0;
    c.settlement.give_up_after_secs = 2;
}

impl World {
    /// The session JSON once its settlement is in `state`.
    async fn settled_as(&self, platform: &str, meeting: &str, state: &str) -> Value {
        for _ in 0..600 {
            let v = self.sender.settled_session(platform, meeting).await;
            if v["settlement"]["state"] == state {
                return v;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        let v = self.sender.settled_session(platform, meeting).await;
        panic!("session {platform}/{meeting} never reached settlement state {state}: {v}");
    }

    /// A Webex instance the emulator records as the platform would, one computer per
    /// `(who, from, to)` in minutes after 10:00.
    fn webex_record(&self, meeting: &str, devices: &[(&str, u32, u32)], end: u32) {
        self.webex.record_instance(meeting, HOST, START);
        for (who, from, to) in devices {
            let device = Device::computer(who, &at(*from), &at(*to));
            self.webex.record_participant(
                meeting,
                Participant::new(&format!("{meeting}_{who}"), vec![device]),
            );
        }
        self.webex.end_instance(meeting, &at(end));
    }

    async fn captured(&self, order: &Order) -> tollbooth_core::money::Money {
        self.delivered(&format!("capture:{}", order.id)).await;
        let payment = self.app.store.payments(&order.id).await.unwrap().remove(0);
        assert_eq!(payment.state, State::Captured);
        payment.captured
    }
}

/// A computer that joined at `from` and whose leave webhooks never told.
fn webex_joined(meeting: &str, who: &str, from: u32) -> Vec<u8> {
    json!({"id": "hook", "resource": "meetingParticipants", "event": "joined",
           "data": {"id": format!("{meeting}_{who}"), "meetingId": meeting,
                    "devices": [{"correlationId": who, "deviceType": "mac", "audioType": "voip",
                                 "joinedTime": at(from)}]}})
    .to_string()
    .into_bytes()
}

async fn a_lost_leave_is_billed_at_the_time_the_platform_recorded(db: Db) {
    let w = world_with(&db, quick).await;
    let order = w.paid_order().await;
    let meeting = format!("{MEETING}_I_1");
    w.start(&meeting).await;
    // Webhooks heard c0 join and never leave; the platform recorded it leaving at 10:10.
    w.sender.webex(&webex_joined(&meeting, "c0", 0)).await;
    w.webex_record(&meeting, &[("c0", 0, 10)], 30);
    w.sender.webex(&webex_meeting("ended", &meeting, START, &at(30))).await;
    let v = w.settled_as("webex", &meeting, "settled").await;
    let s = &v["settlement"];
    assert_eq!(s["source"], "platform", "{v}");
    assert_eq!(s["metered"]["person_minutes"], 30, "{v}");
    assert_eq!(s["platform"]["person_minutes"], 10, "{v}");
    assert_eq!(s["discrepancy"]["person_minutes"], -20, "{v}");
    // What the host pays is the platform's 10 minutes × 0.12, in the API and at the gateway.
    assert_eq!(
        (v["usage"]["person_minutes"].as_u64(), v["cost"]["total"].as_str()),
        (Some(10), Some("1.20"))
    );
    assert_eq!(w.captured(&order).await, usd("1.20"));
    assert_eq!(w.payflow.charges(), 1);
    assert_eq!(w.spend("training").await["total"], "1.20");
}

async fn a_connection_only_the_platform_saw_is_added_to_the_bill(db: Db) {
    let w = world_with(&db, quick).await;
    let order = w.paid_order().await;
    let meeting = format!("{MEETING}_I_2");
    w.start(&meeting).await;
    // Webhooks told of c0 (30 minutes); c1's join and leave were both lost.
    w.sender.webex(&webex_computer(&meeting, "c0", START, &at(30))).await;
    w.webex_record(&meeting, &[("c0", 0, 30), ("c1", 5, 15)], 30);
    w.sender.webex(&webex_meeting("ended", &meeting, START, &at(30))).await;
    let v = w.settled_as("webex", &meeting, "settled").await;
    assert_eq!(v["settlement"]["metered"]["person_minutes"], 30, "{v}");
    assert_eq!(v["usage"]["person_minutes"], 40, "{v}");
    assert_eq!(w.captured(&order).await, usd("4.80"));
}

async fn two_servers_settle_a_session_once(db: Db) {
    let w = world_with(&db, quick).await;
    let _other = w.another_server(&db).await;
    let order = w.paid_order().await;
    let meeting = format!("{MEETING}_I_3");
    w.start(&meeting).await;
    w.sender.webex(&webex_computer(&meeting, "c0", START, &at(20))).await;
    w.webex_record(&meeting, &[("c0", 0, 20)], 20);
    w.sender.webex(&webex_meeting("ended", &meeting, START, &at(20))).await;
    w.settled_as("webex", &meeting, "settled").await;
    assert_eq!(w.captured(&order).await, usd("2.40"));
    tokio::time::sleep(Duration::from_millis(1500)).await;
    assert_eq!(w.payflow.charges(), 1, "both servers' workers ran; one capture");
    let receipts = w
        .messages()
        .iter()
        .filter(|m| m["content"].as_str().unwrap_or("").starts_with("Receipt"))
        .count();
    assert_eq!(receipts, 1);
}

async fn a_lost_ended_is_found_by_gap_fill_and_the_session_settled(db: Db) {
    fn stale(c: &mut Config) {
        quick(c);
        c.settlement.stale_after_secs = 1;
    }
    let w = world_with(&db, stale).await;
    let order = w.paid_order().await;
    let meeting = format!("{MEETING}_I_4");
    w.start(&meeting).await;
    w.sender.webex(&webex_computer(&meeting, "c0", START, &at(25))).await;
    // The `ended` delivery is lost; Webex says the meeting ended at 10:25.
    w.webex_record(&meeting, &[("c0", 0, 25)], 25);
    let v = w.settled_as("webex", &meeting, "settled").await;
    assert_eq!(v["state"], "ended", "{v}");
    assert_eq!(v["ended_at"], at(25), "{v}");
    assert_eq!(w.captured(&order).await, usd("3.00"));
}

fn zoom(event: &str, object: Value) -> Vec<u8> {
    // Each delivery its own event time, so that a second `ended` is not a duplicate.
    static TS: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(1);
    let ts = TS.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    json!({"event": event, "event_ts": ts, "payload": {"object": object}}).to_string().into_bytes()
}

async fn a_zoom_meeting_rejoined_after_settlement_is_one_adjustment_charge(db: Db) {
    let w = world_with(&db, quick).await;
    let bound = Binding::Meeting { platform: PlatformKind::Zoom, meeting_id: "857".into() };
    let order = w.app.session_order_for(bound).await;
    w.pay(&w.app.pay_link(&order, 1)).await;
    let uuid = "zoom-rejoin";
    let object = |extra: Value| {
        let mut o = json!({"uuid": uuid, "id": 857, "host_email": HOST, "start_time": START});
        o.as_object_mut().unwrap().extend(extra.as_object().unwrap().clone());
        o
    };
    let participant = |join: u32, leave: Option<u32>| {
        let mut p = json!({"id": "p1", "user_name": "Ann", "join_time": at(join)});
        if let Some(leave) = leave {
            p["leave_time"] = json!(at(leave));
        }
        object(json!({"participant": p}))
    };
    w.sender.zoom(&zoom("meeting.started", object(json!({})))).await;
    w.sender.zoom(&zoom("meeting.participant_joined", participant(0, None))).await;
    w.sender.zoom(&zoom("meeting.participant_left", participant(0, Some(29)))).await;
    // Zoom reports meetings of two participants or more: Bob looked in for no time at all.
    w.zoom.record_instance(uuid, START);
    w.zoom.record_segment(uuid, Segment::new("p1", "Ann", &at(0), &at(29)));
    w.zoom.record_segment(uuid, Segment::new("p2", "Bob", &at(0), &at(0)));
    w.zoom.end_instance(uuid, &at(29));
    w.sender.zoom(&zoom("meeting.ended", object(json!({"end_time": at(29)})))).await;
    let v = w.settled_as("zoom", uuid, "settled").await;
    // 29 minutes of Ann (Bob's zero-length row adds nothing) × 0.12.
    assert_eq!(v["cost"]["total"], "3.48", "{v}");
    assert_eq!(w.captured(&order).await, usd("3.48"));

    // Ann re-joins for ten minutes; Zoom sends `ended` again.
    w.sender.zoom(&zoom("meeting.participant_joined", participant(40, None))).await;
    w.sender.zoom(&zoom("meeting.participant_left", participant(40, Some(50)))).await;
    w.zoom.record_segment(uuid, Segment::new("p1", "Ann", &at(40), &at(50)));
    w.zoom.end_instance(uuid, &at(50));
    w.sender.zoom(&zoom("meeting.ended", object(json!({"end_time": at(50)})))).await;
    let mut v = w.settled_as("zoom", uuid, "settled").await;
    // The answer's parts are read one after another: wait until the payment's figures show
    // the adjustment as well.
    for _ in 0..200 {
        let adjusted = !v["settlement"]["adjustments"].as_array().unwrap().is_empty();
        if adjusted && v["payment"]["outstanding"] == "1.20" {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
        v = w.settled_as("zoom", uuid, "settled").await;
    }
    // 39 minutes now: 4.68, the 1.20 more owed by one adjustment, never a silent change.
    let adjustments = v["settlement"]["adjustments"].as_array().unwrap().clone();
    assert_eq!(adjustments.len(), 1, "{v}");
    assert_eq!(adjustments[0]["kind"], "charge");
    assert_eq!(adjustments[0]["amount"], "1.20");
    assert_eq!(adjustments[0]["reason"], "late_data");
    assert_eq!(v["cost"]["total"], "4.68", "{v}");
    assert_eq!(v["payment"]["outstanding"], "1.20", "{v}");
    assert_eq!(w.spend("training").await["total"], "4.68");
    assert_eq!(w.payflow.charges(), 1, "an authorisation is captured once");
    // In chat, the host sees the same figures as the API.
    let options = chat::options(&[("platform", json!("zoom")), ("meeting", json!(uuid))]);
    let status =
        chat::command(HOST_USER, "status-z", "session", chat::sub("status", options), chat::MEMBER);
    let said = chat::ask(&w.app.base, &w.discord, &status).await;
    let said = said["content"].as_str().unwrap();
    assert!(said.contains("Total so far: 4.68 USD"), "{said}");
    assert!(said.contains("outstanding 1.20 USD"), "{said}");
    // The host is told, with a link to pay the balance, and the receipt is amended.
    w.delivered(&format!("adjustment_told:{}:1", order.id)).await;
    let told = w
        .messages()
        .into_iter()
        .find(|m| m["content"].as_str().unwrap_or("").contains("settled again"))
        .unwrap();
    assert!(told["content"].as_str().unwrap().contains("1.20 USD more, 4.68 USD in all"), "{told}");
    assert_eq!(told["components"][0]["components"][0]["label"], "Pay balance");
    let receipt = w
        .messages()
        .into_iter()
        .find(|m| m["content"].as_str().unwrap_or("").starts_with("Receipt"))
        .unwrap();
    let page =
        common::pay::text(receipt["components"][0]["components"][0]["url"].as_str().unwrap()).await;
    assert!(page.contains(&format!("Adjustment {}-a1", order.id)), "{page}");
    // Nothing more arrives: checked again, nothing moves.
    tokio::time::sleep(Duration::from_millis(1500)).await;
    let v = w.settled_as("zoom", uuid, "settled").await;
    assert_eq!(v["settlement"]["adjustments"].as_array().unwrap().len(), 1);
}

async fn a_record_that_never_comes_settles_on_webhooks_at_the_give_up_time(db: Db) {
    let w = world_with(&db, quick).await;
    let order = w.paid_order().await;
    let meeting = format!("{MEETING}_I_5");
    w.start(&meeting).await;
    w.webex.record_instance(&meeting, HOST, START);
    w.webex.syncing(&meeting, 10_000);
    let v = w.run_and_end(&meeting, 1, 15).await;
    assert_eq!(v["settlement"]["state"], "waiting", "{v}");
    assert!(v["settlement"]["platform"].is_null(), "{v}");
    let v = w.settled_as("webex", &meeting, "settled").await;
    assert_eq!(v["settlement"]["source"], "webhooks", "{v}");
    let note = v["settlement"]["note"].as_str().unwrap();
    assert!(note.contains("settled on webhooks alone") && note.contains("within 2 s"), "{note}");
    assert_eq!(w.captured(&order).await, usd("1.80"));
}

async fn a_zoom_meeting_of_one_participant_settles_on_webhooks_without_waiting(db: Db) {
    fn patient(c: &mut Config) {
        c.settlement.delay_secs = 0;
        c.settlement.give_up_after_secs = 3600;
    }
    let w = world_with(&db, patient).await;
    let bound = Binding::Meeting { platform: PlatformKind::Zoom, meeting_id: "858".into() };
    let order = w.app.session_order_for(bound).await;
    w.pay(&w.app.pay_link(&order, 1)).await;
    let uuid = "zoom-alone";
    let object = json!({"uuid": uuid, "id": 858, "host_email": HOST, "start_time": START});
    w.sender.zoom(&zoom("meeting.started", object.clone())).await;
    let mut left = object.clone();
    left["participant"] =
        json!({"id": "p1", "user_name": "Ann", "join_time": at(0), "leave_time": at(12)});
    w.sender.zoom(&zoom("meeting.participant_left", left)).await;
    let mut ended = object;
    ended["end_time"] = json!(at(12));
    w.sender.zoom(&zoom("meeting.ended", ended)).await;
    let v = w.settled_as("zoom", uuid, "settled").await;
    assert_eq!(v["settlement"]["source"], "webhooks", "{v}");
    let note = v["settlement"]["note"].as_str().unwrap();
    assert!(note.contains("fewer than two participants"), "{note}");
    assert_eq!(w.captured(&order).await, usd("1.44"));
    assert!(w.zoom.calls().iter().all(|c| !c.path.contains("participants")), "Zoom was not asked");
}

async fn a_record_that_comes_late_and_lowers_the_cost_is_refunded_once(db: Db) {
    let w = world_with(&db, quick).await;
    let order = w.paid_order().await;
    let meeting = format!("{MEETING}_I_7");
    w.start(&meeting).await;
    // Webhooks lost c0's leave, and the record was still syncing at the give-up time: the
    // session settles on webhooks alone for 30 minutes.
    w.sender.webex(&webex_joined(&meeting, "c0", 0)).await;
    w.webex_record(&meeting, &[("c0", 0, 10)], 30);
    w.webex.syncing(&meeting, 10_000);
    w.sender.webex(&webex_meeting("ended", &meeting, START, &at(30))).await;
    let v = w.settled_as("webex", &meeting, "settled").await;
    assert_eq!(v["settlement"]["source"], "webhooks", "{v}");
    assert_eq!(w.captured(&order).await, usd("3.60"));

    // The record syncs; a late delivery for the session has it checked again.
    w.webex.syncing(&meeting, 0);
    w.sender.webex(&webex_joined(&meeting, "c0", 1)).await;
    w.delivered(&format!("adjustment:{}:1", order.id)).await;
    let v = w.settled_as("webex", &meeting, "settled").await;
    let adjustment = &v["settlement"]["adjustments"][0];
    assert_eq!(
        (adjustment["kind"].as_str(), adjustment["amount"].as_str()),
        (Some("refund"), Some("2.40")),
        "{v}"
    );
    assert_eq!(v["cost"]["total"], "1.20", "{v}");
    assert_eq!(v["settlement"]["source"], "platform", "{v}");
    let payment = w.app.store.payments(&order.id).await.unwrap().remove(0);
    assert_eq!((payment.captured, payment.refunded), (usd("3.60"), usd("2.40")));
    assert_eq!(w.payflow.credits(), 1);
    assert_eq!(w.spend("training").await["total"], "1.20");
    // Checked again with nothing new, nothing moves and nothing is refunded twice.
    w.sender.webex(&webex_joined(&meeting, "c0", 2)).await;
    tokio::time::sleep(Duration::from_millis(1500)).await;
    let v = w.settled_as("webex", &meeting, "settled").await;
    assert_eq!(v["settlement"]["adjustments"].as_array().unwrap().len(), 1, "{v}");
    assert_eq!(w.payflow.credits(), 1);
}

async fn a_usage_report_that_differs_is_flagged_and_listed_not_charged(db: Db) {
    fn final_soon(c: &mut Config) {
        quick(c);
        c.settlement.final_after_secs = 2;
        c.webex.site_url = Some(crate::emulators::webex::SITE_URL.into());
    }
    let w = world_with(&db, final_soon).await;
    let order = w.paid_order().await;
    let meeting = format!("{MEETING}_I_6");
    w.start(&meeting).await;
    w.sender.webex(&webex_computer(&meeting, "c0", START, &at(20))).await;
    w.webex_record(&meeting, &[("c0", 0, 20)], 20);
    // Webex's report says 27 person-minutes where 20 were billed.
    let mut line = UsageReport::training(&meeting, START, HOST);
    line.total_people_minutes = 27;
    w.webex.report_usage(line);
    w.sender.webex(&webex_meeting("ended", &meeting, START, &at(20))).await;
    let v = w.settled_as("webex", &meeting, "final").await;
    assert_eq!(v["settlement"]["flagged"], true, "{v}");
    assert_eq!(v["settlement"]["discrepancy"]["person_minutes"], 7, "{v}");
    assert_eq!(v["cost"]["total"], "2.40", "flagged, not charged: {v}");
    assert_eq!(w.captured(&order).await, usd("2.40"));

    let r = reqwest::Client::new()
        .get(format!("{}/api/v1/reconciliation?from=2026-11-01&to=2026-12-31", w.app.base))
        .bearer_auth(ADMIN_TOKEN)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let listed: Value = r.json().await.unwrap();
    assert_eq!(listed["flagged"], 1, "{listed}");
    let row = &listed["sessions"][0];
    assert_eq!(
        (row["meeting_id"].as_str(), row["flagged"].as_bool()),
        (Some(meeting.as_str()), Some(true))
    );
    assert_eq!(row["reported"]["person_minutes"], 27);
    assert_eq!(row["billed"]["person_minutes"], 20);

    let dir = common::TempDir::new();
    let out = common::run_cli(
        &dir,
        &db.url,
        &["reconcile", "--from", "2026-11-01", "--to", "2026-12-31"],
    );
    let printed = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{printed} {}", String::from_utf8_lossy(&out.stderr));
    assert!(printed.contains(&format!("{meeting} {HOST} final: billed 20/0, platform record 20/0, report 27/0, 2.40 USD FLAGGED")), "{printed}");
    assert!(printed.contains("1 settled session, 1 flagged"), "{printed}");

    // An administrator's /report lists it under the division's spend.
    let period = [
        ("division", json!("training")),
        ("from", json!("2026-11-01")),
        ("to", json!("2026-12-31")),
    ];
    let report =
        chat::command(HOST_USER, "report-f", "report", chat::options(&period), chat::ADMIN);
    let said = chat::ask(&w.app.base, &w.discord, &report).await;
    let said = said["content"].as_str().unwrap();
    assert!(said.contains("Differing from the platform's report"), "{said}");
    assert!(
        said.contains("billed 20/0, platform record 20/0, report 27/0, 2.40 USD FLAGGED"),
        "{said}"
    );
}
