//! Fee-based training end to end on both backends: a host schedules a session with a fee in
//! chat, attendees register in chat and pay (sandbox and the Payflow emulator), and tollbooth
//! makes them approved registrants on the platform (Webex and Zoom emulators), sends the join
//! link (Discord emulator), and refunds what it cannot honour — each effect once.

use crate::common;
use crate::common::chat;
use crate::common::pay;
use crate::common::world;

use std::time::Duration;

use chrono::Utc;
use serde_json::{Value, json};
use tollbooth_core::email::Email;
use tollbooth_core::fee_based::registration::{Fee, RegistrationState, ScheduledSession};
use tollbooth_core::money::Money;
use tollbooth_core::payments::order::OrderId;
use tollbooth_core::payments::payment::State;
use tollbooth_core::platform::PlatformKind;
use tollbooth_core::store::{DiscordLinkStore, PaymentStore, RegistrationStore, Switches};

use chat::{ADMIN, MEMBER, ask, command, dms, interaction, link, options, respond, sub};
use common::Db;
use common::app::browser;
use pay::{choose, location, on_payflow_page, text};
use world::{HOST, HOST_USER, World};

on_both_backends!(
    a_zoom_attendee_registers_pays_and_gets_the_join_link,
    a_webex_attendee_pays_by_card_and_duplicate_callbacks_register_once,
    a_declined_payment_makes_no_registrant_and_registering_again_reuses_the_order,
    three_payers_for_two_seats_give_two_registrants_and_one_refund,
    cancelling_a_session_refunds_every_paid_registration_once,
    a_failing_registrant_call_is_retried_and_registers_once,
    a_registrant_the_platform_refuses_is_refunded_and_told,
    attendees_and_other_hosts_never_see_what_is_not_theirs,
    a_second_attendee_with_the_same_e_mail_is_refused_and_the_first_keeps_theirs,
    a_fee_that_cannot_change_is_refused_before_the_platform_is_asked,
    a_deadline_must_be_ahead_and_within_the_session,
    a_payment_made_after_the_deadline_is_refunded_and_the_attendee_told,
    an_attendee_without_names_registers_through_the_form,
    the_session_option_suggests_open_fee_based_sessions_only,
);

const ADA: u64 = 5001;
const BOB: u64 = 5002;
const CY: u64 = 5003;

pub(crate) async fn world(db: &Db) -> World {
    let switches =
        Switches { ecommerce_enabled: true, pay_per_use_enabled: false, fee_based_enabled: true };
    World::serve(db, switches, 10).await
}

/// Polls `check` until it holds (the outbox worker runs every second; a retry waits 5 s).
pub(crate) async fn eventually(what: &str, mut check: impl FnMut() -> bool) {
    for _ in 0..300 {
        if check() {
            return;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("never happened: {what}");
}

pub(crate) fn content(message: &Value) -> String {
    message["content"].as_str().unwrap_or_default().to_owned()
}

impl World {
    pub(crate) async fn ask(&self, interaction: Value) -> Value {
        ask(&self.app.base, &self.discord, &interaction).await
    }

    /// `/session schedule` by the host; returns the meeting id the platform gave.
    pub(crate) async fn schedule(
        &self,
        platform: &str,
        fee: &str,
        capacity: Option<i64>,
    ) -> String {
        self.schedule_starting(platform, fee, capacity, "2030-12-01 14:00").await
    }

    /// As [`World::schedule`], starting at `start` (in the site's zone, UTC).
    pub(crate) async fn schedule_starting(
        &self,
        platform: &str,
        fee: &str,
        capacity: Option<i64>,
        start: &str,
    ) -> String {
        let mut opts = vec![
            ("title", json!("Rust for payments")),
            ("start", json!(start)),
            ("minutes", json!(90)),
            ("platform", json!(platform)),
            ("fee", json!(fee)),
        ];
        if let Some(capacity) = capacity {
            opts.push(("capacity", json!(capacity)));
        }
        let token = format!("schedule-{platform}-{}", rand::random::<u32>());
        let answer = self
            .ask(command(HOST_USER, &token, "session", sub("schedule", options(&opts)), MEMBER))
            .await;
        let text = content(&answer);
        assert!(text.contains("Scheduled **Rust for payments**"), "{text}");
        assert!(text.contains(&format!("Fee {fee} USD")), "{text}");
        text.split('`').nth(1).unwrap().to_owned()
    }

    /// `/register` by `user`; returns the answer.
    pub(crate) async fn register(
        &self,
        user: u64,
        session: &str,
        first: &str,
        email: &str,
    ) -> Value {
        let opts = options(&[
            ("session", json!(session)),
            ("first_name", json!(first)),
            ("last_name", json!("Tester")),
            ("email", json!(email)),
        ]);
        let token = format!("register-{user}-{}", rand::random::<u32>());
        self.ask(command(user, &token, "register", opts, MEMBER)).await
    }

    /// Registers `user` and returns their pay link.
    pub(crate) async fn pay_link(&self, user: u64, session: &str, first: &str) -> String {
        let email = format!("{}@example.com", first.to_lowercase());
        let answer = self.register(user, session, first, &email).await;
        assert!(content(&answer).contains("Pay the fee of 25.00 USD"), "{answer}");
        assert_eq!(answer["flags"].as_u64().unwrap_or(0) & 64, 64, "ephemeral: {answer}");
        link(&answer).unwrap()
    }

    /// `/session fee` by the host with these options (besides the platform and meeting).
    async fn set_fee(&self, platform: &str, meeting: &str, opts: &[(&str, Value)]) -> String {
        let mut all = vec![("platform", json!(platform)), ("meeting", json!(meeting))];
        all.extend_from_slice(opts);
        let token = format!("fee-{platform}-{}", rand::random::<u32>());
        let interaction = command(HOST_USER, &token, "session", sub("fee", options(&all)), MEMBER);
        content(&self.ask(interaction).await)
    }

    pub(crate) async fn registrations(&self, user: u64) -> String {
        let token = format!("list-{user}-{}", rand::random::<u32>());
        content(
            &self.ask(command(user, &token, "registrations", sub("list", json!([])), MEMBER)).await,
        )
    }

    /// The attendee's registration's payments (one order per registration).
    pub(crate) async fn payments_of(
        &self,
        user: u64,
    ) -> Vec<tollbooth_core::payments::payment::Payment> {
        let mine = self.app.store.registrations_of(user).await.unwrap();
        let order: &OrderId = &mine[0].0.order_id;
        self.app.store.payments(order).await.unwrap()
    }

    /// Waits until the refund of `user`'s payment went through (the outbox worker refunds).
    async fn refunded(&self, user: u64) {
        for _ in 0..100 {
            if self.payments_of(user).await[0].state == State::Refunded {
                return;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        panic!("the payment of {user} was never refunded");
    }

    pub(crate) async fn state_of(&self, user: u64) -> RegistrationState {
        self.app.store.registrations_of(user).await.unwrap()[0].0.state
    }
}

async fn a_zoom_attendee_registers_pays_and_gets_the_join_link(db: Db) {
    let w = world(&db).await;
    let meeting = w.schedule("zoom", "25.00", Some(2)).await;
    let created = w.zoom.calls().into_iter().find(|c| c.path.ends_with("/meetings")).unwrap();
    assert_eq!(created.path, format!("/v2/users/{HOST}/meetings"));
    assert_eq!(created.body.as_ref().unwrap()["settings"]["approval_type"], 1, "manual approval");

    let pay_link = w.pay_link(ADA, &meeting, "Ada").await;
    let page = text(&pay_link).await;
    assert!(page.contains("25.00 USD"), "{page}");
    assert!(w.pay_in_sandbox(&pay_link).await.contains("Payment received"));

    eventually("Ada's join link", || !dms(&w.discord, ADA).is_empty()).await;
    let joined = &dms(&w.discord, ADA)[0];
    let registrants = w.zoom.registrants(&meeting);
    assert_eq!(registrants.len(), 1, "{registrants:?}");
    assert_eq!(
        (registrants[0].email.as_str(), registrants[0].status.as_str()),
        ("ada@example.com", "approved")
    );
    let join_url = link(joined).unwrap();
    assert_eq!(Some(join_url.as_str()), registrants[0].join_url.as_deref(), "Zoom's own join_url");
    let receipt = content(joined);
    assert!(receipt.contains("You are registered for **Rust for payments**"), "{receipt}");
    assert!(receipt.contains("25.00 USD") && receipt.contains("payment reference"), "{receipt}");
    assert_eq!(w.state_of(ADA).await, RegistrationState::Approved);

    let mine = w.registrations(ADA).await;
    assert!(mine.contains("registered") && mine.contains(&join_url), "{mine}");
    // Registering again says so, and makes no second order.
    let again = w.register(ADA, &format!("zoom/{meeting}"), "Ada", "ada@example.com").await;
    assert!(content(&again).contains("registered for **Rust for payments** already"), "{again}");
    assert_eq!(w.app.store.registrations_of(ADA).await.unwrap().len(), 1);
    tokio::time::sleep(Duration::from_millis(1500)).await;
    assert_eq!(dms(&w.discord, ADA).len(), 1, "told once");
}

async fn a_webex_attendee_pays_by_card_and_duplicate_callbacks_register_once(db: Db) {
    let w = world(&db).await;
    let meeting = w.schedule("webex", "25.00", None).await;
    let created = w.webex.calls().into_iter().find(|c| c.path == "/v1/meetings").unwrap();
    let body = created.body.unwrap();
    assert_eq!(body["registration"]["autoAcceptRequest"], false, "{body}");
    assert_eq!(body["hostEmail"], HOST);

    let pay_link = w.pay_link(BOB, &meeting, "Bob").await;
    let back = on_payflow_page(&choose(&pay_link, "payflow").await, "approve").await;
    let silent_post = w.payflow.last_silent_post().unwrap();
    let notify = format!("{}/payments/payflow/notify", w.app.base);
    let post = || browser().post(&notify).form(&silent_post).send();
    let (a, b, page) = tokio::join!(post(), post(), browser().get(&back).send());
    assert_eq!((a.unwrap().status().as_u16(), b.unwrap().status().as_u16()), (200, 200));
    assert_eq!(page.unwrap().status(), 200);

    eventually("Bob's join message", || !dms(&w.discord, BOB).is_empty()).await;
    let registrants = w.webex.registrants(&meeting);
    assert_eq!(registrants.len(), 1, "one registrant for three reports of one payment");
    assert_eq!(registrants[0].status, "approved");
    let message = &dms(&w.discord, BOB)[0];
    assert!(content(message).contains("Webex also e-mails you the link"), "{message}");
    assert_eq!(w.payflow.charges(), 1);
    tokio::time::sleep(Duration::from_millis(1500)).await;
    assert_eq!(dms(&w.discord, BOB).len(), 1);
    assert_eq!(w.webex.registrants(&meeting).len(), 1);
}

async fn a_declined_payment_makes_no_registrant_and_registering_again_reuses_the_order(db: Db) {
    let w = world(&db).await;
    let meeting = w.schedule("zoom", "25.00", None).await;
    let pay_link = w.pay_link(CY, &meeting, "Cy").await;
    let back = on_payflow_page(&choose(&pay_link, "payflow").await, "decline").await;
    assert!(text(&back).await.to_lowercase().contains("declined"));
    tokio::time::sleep(Duration::from_millis(1500)).await;
    assert!(w.zoom.registrants(&meeting).is_empty());
    assert!(dms(&w.discord, CY).is_empty());
    assert_eq!(w.state_of(CY).await, RegistrationState::AwaitingPayment);

    // Registering again gives a link to the same order, which can still be paid.
    let again = w.pay_link(CY, &meeting, "Cy").await;
    assert_eq!(w.app.store.registrations_of(CY).await.unwrap().len(), 1, "the open one reused");
    assert!(w.pay_in_sandbox(&again).await.contains("Payment received"));
    eventually("Cy registered", || w.zoom.registrants(&meeting).len() == 1).await;
    let payments = w.payments_of(CY).await;
    let states: Vec<State> = payments.iter().map(|p| p.state).collect();
    assert_eq!(states, [State::Failed, State::Sale], "one order, two attempts");
}

async fn three_payers_for_two_seats_give_two_registrants_and_one_refund(db: Db) {
    let w = world(&db).await;
    let meeting = w.schedule("zoom", "25.00", Some(2)).await;
    // All three register while seats are free and are on the gateway's page at once.
    let mut checkouts = Vec::new();
    for (user, name) in [(ADA, "Ada"), (BOB, "Bob"), (CY, "Cy")] {
        checkouts.push(choose(&w.pay_link(user, &meeting, name).await, "sandbox").await);
    }
    let approve = |checkout: &str| {
        browser().post(checkout.to_owned()).form(&[("decision", "approve")]).send()
    };
    let (a, b, c) =
        tokio::join!(approve(&checkouts[0]), approve(&checkouts[1]), approve(&checkouts[2]));
    for r in [a, b, c] {
        assert_eq!(r.unwrap().status(), 303);
    }

    eventually("two registrants", || w.zoom.registrants(&meeting).len() == 2).await;
    eventually("all three told", || [ADA, BOB, CY].iter().all(|u| !dms(&w.discord, *u).is_empty()))
        .await;
    let mut refunded = Vec::new();
    for user in [ADA, BOB, CY] {
        let state = w.state_of(user).await;
        if state == RegistrationState::Refunded {
            refunded.push(user);
            let told = content(&dms(&w.discord, user)[0]);
            assert!(told.contains("the session is full") && told.contains("refunded"), "{told}");
            let refund = || async { w.payments_of(user).await[0].state };
            for _ in 0..100 {
                if refund().await == State::Refunded {
                    break;
                }
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
            assert_eq!(refund().await, State::Refunded);
        } else {
            assert_eq!(state, RegistrationState::Approved);
        }
    }
    assert_eq!(refunded.len(), 1, "exactly one payer is refunded");
    let held = w.app.store.seats_taken(PlatformKind::Zoom, &meeting, Utc::now(), None).await;
    assert_eq!(held.unwrap(), 2);
    // The full session refuses a fourth attendee before they pay.
    let late = w.register(6001, &meeting, "Di", "di@example.com").await;
    assert!(content(&late).contains("the session is full"), "{late}");
}

async fn cancelling_a_session_refunds_every_paid_registration_once(db: Db) {
    let w = world(&db).await;
    let meeting = w.schedule("webex", "25.00", None).await;
    for (user, name) in [(ADA, "Ada"), (BOB, "Bob")] {
        let link = w.pay_link(user, &meeting, name).await;
        let back = on_payflow_page(&choose(&link, "payflow").await, "approve").await;
        text(&back).await;
    }
    let unpaid = w.pay_link(CY, &meeting, "Cy").await;
    // Cy is on the card page when the host cancels.
    let cy_checkout = choose(&unpaid, "payflow").await;
    eventually("two registrants", || w.webex.registrants(&meeting).len() == 2).await;

    let cancel = |token: &str| {
        let opts = options(&[("platform", json!("webex")), ("meeting", json!(meeting.clone()))]);
        command(HOST_USER, token, "session", sub("cancel", opts), MEMBER)
    };
    let answer = content(&w.ask(cancel("cancel-1")).await);
    assert!(answer.contains("2 paid registrations are being refunded, 1 unpaid"), "{answer}");
    let again = content(&w.ask(cancel("cancel-2")).await);
    assert!(again.contains("0 paid registrations"), "{again}");

    eventually("two credits", || w.payflow.credits() == 2).await;
    eventually("meeting deleted", || {
        w.webex
            .calls()
            .iter()
            .any(|c| c.method == "DELETE" && c.path == format!("/v1/meetings/{meeting}"))
    })
    .await;
    for user in [ADA, BOB] {
        eventually("refunded", || dms(&w.discord, user).len() == 2).await;
        assert!(content(&dms(&w.discord, user)[1]).contains("was cancelled by its host"));
    }
    // The pay page takes no new payment for a cancelled session...
    assert!(text(&unpaid).await.contains("Registration is closed"));
    let refused = browser().post(&unpaid).form(&[("method", "payflow")]).send().await.unwrap();
    assert_eq!(refused.status(), 409);
    // ...and Cy, paying on the card page after the cancellation, is refunded, never registered.
    let back = on_payflow_page(&cy_checkout, "approve").await;
    let returned = text(&back).await;
    assert!(returned.contains("could not be honoured: the session was cancelled"), "{returned}");
    eventually("Cy told", || !dms(&w.discord, CY).is_empty()).await;
    assert!(content(&dms(&w.discord, CY)[0]).contains("the session was cancelled"));
    eventually("three credits", || w.payflow.credits() == 3).await;
    tokio::time::sleep(Duration::from_millis(2500)).await;
    assert_eq!(w.payflow.credits(), 3, "each refunded once");
    for user in [ADA, BOB, CY] {
        assert_eq!(w.payments_of(user).await[0].state, State::Refunded);
        assert_eq!(w.state_of(user).await, RegistrationState::Refunded);
    }
    let deletes = w.webex.calls().iter().filter(|c| c.method == "DELETE").count();
    assert_eq!(deletes, 1);
}

async fn a_failing_registrant_call_is_retried_and_registers_once(db: Db) {
    let w = world(&db).await;
    let meeting = w.schedule("zoom", "25.00", None).await;
    let link = w.pay_link(ADA, &meeting, "Ada").await;
    w.zoom.fail_next(1, axum::http::StatusCode::INTERNAL_SERVER_ERROR);
    assert!(w.pay_in_sandbox(&link).await.contains("Payment received"));
    eventually("the first attempt failed", || {
        w.zoom.calls().iter().any(|c| c.path.contains("/registrants"))
    })
    .await;
    assert!(dms(&w.discord, ADA).is_empty());
    eventually("registered after the retry", || !dms(&w.discord, ADA).is_empty()).await;
    assert_eq!(w.zoom.registrants(&meeting).len(), 1);
    assert_eq!(w.state_of(ADA).await, RegistrationState::Approved);
}

async fn attendees_and_other_hosts_never_see_what_is_not_theirs(db: Db) {
    let w = world(&db).await;
    let meeting = w.schedule("zoom", "25.00", None).await;
    let link = w.pay_link(ADA, &meeting, "Ada").await;
    assert!(w.pay_in_sandbox(&link).await.contains("Payment received"));
    eventually("Ada registered", || !dms(&w.discord, ADA).is_empty()).await;

    let bobs = w.registrations(BOB).await;
    assert!(bobs.contains("no registrations") && !bobs.contains("Ada"), "{bobs}");
    // Another host cannot cancel (or even see) the session; an administrator can.
    let other: Email = "other@example.com".parse().unwrap();
    w.app.store.link_discord_user(BOB, &other, 1).await.unwrap();
    let opts = options(&[("platform", json!("zoom")), ("meeting", json!(meeting.clone()))]);
    let by_bob = command(BOB, "cancel-bob", "session", sub("cancel", opts.clone()), MEMBER);
    assert!(content(&w.ask(by_bob).await).contains("No session zoom/"));
    assert_eq!(w.state_of(ADA).await, RegistrationState::Approved, "nothing cancelled");
    let by_admin = command(BOB, "cancel-admin", "session", sub("cancel", opts), ADMIN);
    assert!(content(&w.ask(by_admin).await).contains("1 paid registration is being refunded"));
    // Bad input is named.
    let bad = w.register(BOB, &meeting, "Bob", "not-an-address").await;
    assert!(content(&bad).contains("`not-an-address` is not an e-mail address"), "{bad}");
    let no_fee = options(&[
        ("title", json!("Free")),
        ("start", json!("2030-12-01 14:00")),
        ("minutes", json!(30)),
        ("platform", json!("zoom")),
        ("capacity", json!(5)),
    ]);
    let no_fee = command(HOST_USER, "no-fee", "session", sub("schedule", no_fee), MEMBER);
    let answer = content(&w.ask(no_fee).await);
    assert_eq!(answer, "Option `capacity` needs `fee`.");
    let unknown = w.register(BOB, "nope", "Bob", "bob@example.com").await;
    assert!(content(&unknown).contains("No session with a fee has the id `nope`"), "{unknown}");
}

async fn a_registrant_the_platform_refuses_is_refunded_and_told(db: Db) {
    let w = world(&db).await;
    // A session whose Zoom meeting had registration switched off by hand after scheduling.
    let meeting = w.zoom.create_meeting_directly("Rust for payments", HOST);
    let fee = Money::parse_exact("25.00", "USD".parse().unwrap()).unwrap();
    let session = ScheduledSession {
        platform: PlatformKind::Zoom,
        meeting_id: meeting.clone(),
        title: "Rust for payments".into(),
        host_email: HOST.into(),
        starts_at: Utc::now() + chrono::Duration::days(1),
        minutes: 60,
        join_url: format!("https://zoom.us/j/{meeting}"),
        start_url: format!("https://zoom.us/s/{meeting}"),
        fee: Some(Fee { amount: fee, capacity: None, deadline: None }),
        cancelled_at: None,
    };
    w.app.store.save_scheduled(&session).await.unwrap();
    let link = w.pay_link(ADA, &meeting, "Ada").await;
    assert!(w.pay_in_sandbox(&link).await.contains("Payment received"));

    eventually("Ada told", || !dms(&w.discord, ADA).is_empty()).await;
    let told = content(&dms(&w.discord, ADA)[0]);
    assert!(
        told.contains("the platform refused the registration") && told.contains("refunded"),
        "{told}"
    );
    assert!(w.zoom.registrants(&meeting).is_empty());
    assert_eq!(w.state_of(ADA).await, RegistrationState::Refunded);
    w.refunded(ADA).await;
}

async fn a_second_attendee_with_the_same_e_mail_is_refused_and_the_first_keeps_theirs(db: Db) {
    let w = world(&db).await;
    let meeting = w.schedule("zoom", "25.00", None).await;
    w.pay_link(ADA, &meeting, "Ada").await;
    let order = w.app.store.registrations_of(ADA).await.unwrap()[0].0.order_id.clone();
    // Bob types Ada's address (another case): Zoom would hand him Ada's registrant.
    let bobs = w.register(BOB, &meeting, "Bob", "ADA@Example.com").await;
    let text = content(&bobs);
    assert!(text.contains("Someone else has already registered"), "{bobs}");
    // The address as it is compared: in its one normal form (D-166).
    assert!(text.contains("ada@example.com") && text.contains("your own e-mail"), "{bobs}");
    assert_eq!(bobs["flags"].as_u64().unwrap_or(0) & 64, 64, "ephemeral: {bobs}");
    assert_eq!(link(&bobs), None, "no pay link");
    assert!(w.app.store.registrations_of(BOB).await.unwrap().is_empty(), "no order for Bob");
    // In Norwegian too.
    let opts = options(&[
        ("session", json!(meeting.clone())),
        ("first_name", json!("Bob")),
        ("last_name", json!("Tester")),
        ("email", json!("ada@example.com")),
    ]);
    let data = json!({"id": "55", "name": "register", "type": 1, "options": opts});
    let norwegian = w.ask(interaction(BOB, "register-bob-no", 2, data, "no", MEMBER)).await;
    assert!(content(&norwegian).contains("Noen andre har allerede registrert seg"), "{norwegian}");

    // Ada registering again reuses her order, and she pays and is registered as before.
    let again = w.pay_link(ADA, &meeting, "Ada").await;
    let adas = w.app.store.registrations_of(ADA).await.unwrap();
    assert_eq!((adas.len(), &adas[0].0.order_id), (1, &order), "the open one reused");
    assert!(w.pay_in_sandbox(&again).await.contains("Payment received"));
    eventually("Ada's join link", || !dms(&w.discord, ADA).is_empty()).await;
    assert_eq!(w.state_of(ADA).await, RegistrationState::Approved);
    let registrants = w.zoom.registrants(&meeting);
    assert_eq!(registrants.len(), 1, "{registrants:?}");
    assert_eq!(registrants[0].email, "ada@example.com");
    assert!(dms(&w.discord, BOB).is_empty());
}

async fn a_fee_that_cannot_change_is_refused_before_the_platform_is_asked(db: Db) {
    let w = world(&db).await;
    for platform in ["webex", "zoom"] {
        let meeting = w.schedule(platform, "25.00", None).await;
        w.pay_link(ADA, &format!("{platform}/{meeting}"), "Ada").await;
        let calls = |w: &World| match platform {
            "webex" => w.webex.state().calls.len(),
            _ => w.zoom.state().calls.len(),
        };
        let before = calls(&w);
        let answer = w.set_fee(platform, &meeting, &[("amount", json!("30.00"))]).await;
        assert!(answer.contains("attendees have registered"), "{answer}");
        assert_eq!(calls(&w), before, "{platform} was not asked to change the meeting");
        let stored = w.app.store.scheduled(platform.parse().unwrap(), &meeting).await.unwrap();
        assert_eq!(stored.unwrap().fee.unwrap().amount.to_string(), "25.00", "fee unchanged");
    }
}

async fn a_deadline_must_be_ahead_and_within_the_session(db: Db) {
    let w = world(&db).await;
    let schedule = |deadline: &str| {
        let opts = options(&[
            ("title", json!("Rust for payments")),
            ("start", json!("2030-12-01 14:00")),
            ("minutes", json!(90)),
            ("platform", json!("zoom")),
            ("fee", json!("25.00")),
            ("deadline", json!(deadline)),
        ]);
        let token = format!("schedule-deadline-{}", rand::random::<u32>());
        command(HOST_USER, &token, "session", sub("schedule", opts), MEMBER)
    };
    let past = content(&w.ask(schedule("2020-01-01 10:00")).await);
    assert!(past.contains("`deadline`") && past.contains("in the future"), "{past}");
    let after_end = content(&w.ask(schedule("2030-12-01 15:31")).await);
    assert!(after_end.contains("`deadline`") && after_end.contains("session ends"), "{after_end}");
    assert!(!w.zoom.calls().iter().any(|c| c.path.ends_with("/meetings")), "no meeting made");
    let fine = content(&w.ask(schedule("2030-12-01 15:30")).await);
    assert!(fine.contains("Scheduled **Rust for payments**"), "{fine}");

    let meeting = w.schedule("webex", "25.00", None).await;
    let before = w.webex.state().calls.len();
    for (deadline, why) in
        [("2020-01-01 10:00", "in the future"), ("2030-12-02 10:00", "session ends")]
    {
        let opts = [("amount", json!("30.00")), ("deadline", json!(deadline))];
        let answer = w.set_fee("webex", &meeting, &opts).await;
        assert!(answer.contains("`deadline`") && answer.contains(why), "{answer}");
    }
    assert_eq!(w.webex.state().calls.len(), before, "Webex was not asked");
    let answer = w.set_fee("webex", &meeting, &[("amount", json!("30.00"))]).await;
    assert!(answer.contains("Fee 30.00 USD"), "{answer}");
}

async fn a_payment_made_after_the_deadline_is_refunded_and_the_attendee_told(db: Db) {
    let w = world(&db).await;
    let meeting = w.schedule("zoom", "25.00", None).await;
    // A deadline seconds away (chat takes whole minutes), set the way `/session fee` sets it.
    let deadline = Utc::now() + chrono::Duration::seconds(5);
    let fee = Fee {
        amount: Money::parse_exact("25.00", "USD".parse().unwrap()).unwrap(),
        capacity: None,
        deadline: Some(deadline),
    };
    w.app.store.set_fee(PlatformKind::Zoom, &meeting, &fee).await.unwrap();
    // Ada opens the checkout in time, and pays once registration has closed.
    let pay_link = w.pay_link(ADA, &meeting, "Ada").await;
    let checkout = choose(&pay_link, "sandbox").await;
    let closed = (deadline - Utc::now()).to_std().unwrap_or_default();
    tokio::time::sleep(closed + Duration::from_millis(500)).await;
    let back =
        location(&browser().post(&checkout).form(&[("decision", "approve")]).send().await.unwrap());
    let returned = text(&back).await;
    assert!(returned.contains("registration for the session has closed"), "{returned}");
    assert!(returned.contains("It is being refunded in full"), "{returned}");

    eventually("Ada is told", || !dms(&w.discord, ADA).is_empty()).await;
    let told = content(&dms(&w.discord, ADA)[0]);
    assert!(told.contains("registration for the session has closed"), "{told}");
    assert!(told.contains("refunded in full"), "{told}");
    assert_eq!(w.state_of(ADA).await, RegistrationState::Refunded);
    w.refunded(ADA).await;
    assert!(w.zoom.registrants(&meeting).is_empty(), "nobody was added");
    // The pay link now says registration is closed, and takes no payment.
    assert!(text(&pay_link).await.contains("closed"));
}

/// `/register` naming only the session (and, here, a first name) opens a form asking for the
/// names, filled in with what was given; submitting it registers as the command would.
async fn an_attendee_without_names_registers_through_the_form(db: Db) {
    let w = world(&db).await;
    let meeting = w.schedule("zoom", "25.00", None).await;
    let opts = options(&[("session", json!(meeting)), ("first_name", json!("Ada"))]);
    let form = respond(&w.app.base, &command(ADA, "register-form", "register", opts, MEMBER)).await;
    assert_eq!(form["type"], 9, "a modal: {form}");
    let custom_id = form["data"]["custom_id"].as_str().unwrap().to_owned();
    assert_eq!(custom_id, format!("register:form:zoom/{meeting}"));
    let fields: Vec<&Value> = form["data"]["components"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| &r["components"][0])
        .collect();
    let ids: Vec<&str> = fields.iter().map(|f| f["custom_id"].as_str().unwrap()).collect();
    assert_eq!(ids, ["first_name", "last_name", "email", "code"]);
    assert_eq!(fields[3]["required"], false, "a promotion code is optional");
    assert_eq!(fields[0]["value"], "Ada", "what was given is filled in");

    let row = |id: &str, value: &str| json!({"type": 1, "components": [{"type": 4, "custom_id": id, "value": value}]});
    let submitted = json!({"custom_id": custom_id, "components": [
        row("first_name", "Ada"), row("last_name", "Lovelace"), row("email", " ada@example.com ")]});
    let answer = w.ask(interaction(ADA, "register-submit", 5, submitted, "en-US", MEMBER)).await;
    assert!(content(&answer).contains("Pay the fee of 25.00 USD"), "{answer}");
    assert_eq!(answer["flags"].as_u64().unwrap_or(0) & 64, 64, "ephemeral: {answer}");
    assert!(link(&answer).is_some_and(|l| l.contains("/pay/")), "{answer}");
    let (registration, _) = w.app.store.registrations_of(ADA).await.unwrap().remove(0);
    let who = &registration.attendee;
    assert_eq!(
        (who.first_name.as_str(), who.last_name.as_str(), who.email.as_str()),
        ("Ada", "Lovelace", "ada@example.com")
    );
    assert_eq!(registration.state, RegistrationState::AwaitingPayment);
}

/// What the attendee types into `session` is matched against the titles and ids of the
/// sessions open for registration: a cancelled one, one without a fee and one past its
/// deadline are never suggested.
async fn the_session_option_suggests_open_fee_based_sessions_only(db: Db) {
    let w = world(&db).await;
    let open = w.schedule("zoom", "25.00", None).await;
    let fee = Fee {
        amount: Money::parse_exact("25.00", "USD".parse().unwrap()).unwrap(),
        capacity: None,
        deadline: None,
    };
    let starts_at = Utc::now() + chrono::Duration::days(7);
    let other = |id: &str, fee: Option<Fee>| ScheduledSession {
        platform: PlatformKind::Zoom,
        meeting_id: id.into(),
        title: format!("Rust {id}"),
        host_email: HOST.into(),
        starts_at,
        minutes: 60,
        join_url: format!("https://zoom.us/j/{id}"),
        start_url: format!("https://zoom.us/s/{id}"),
        fee,
        cancelled_at: None,
    };
    let cancelled = ScheduledSession {
        cancelled_at: Some(Utc::now()),
        ..other("cancelled", Some(fee.clone()))
    };
    let past = Fee { deadline: Some(Utc::now() - chrono::Duration::hours(1)), ..fee.clone() };
    for session in [cancelled, other("feeless", None), other("closed", Some(past))] {
        w.app.store.save_scheduled(&session).await.unwrap();
    }
    let suggested = |typed: &str| {
        let focused = json!([{"name": "session", "type": 3, "value": typed, "focused": true}]);
        let data = json!({"id": "55", "name": "register", "type": 1, "options": focused});
        let asked = interaction(ADA, "suggest", 4, data, "en-US", MEMBER);
        let base = w.app.base.clone();
        async move { respond(&base, &asked).await }
    };
    let answer = suggested("RUST").await;
    assert_eq!(answer["type"], 8, "suggestions: {answer}");
    let choices = answer["data"]["choices"].as_array().unwrap().clone();
    assert_eq!(choices.len(), 1, "{answer}");
    assert_eq!(choices[0]["value"], format!("zoom/{open}"));
    let name = choices[0]["name"].as_str().unwrap();
    assert!(name.starts_with("Rust for payments (2030-12-01 14:00 UTC)"), "{name}");
    let by_id = suggested(&open[..4]).await;
    assert_eq!(by_id["data"]["choices"][0]["value"], format!("zoom/{open}"), "{by_id}");
    let none = suggested("cobol").await;
    assert_eq!(none["data"]["choices"], json!([]), "{none}");
}
