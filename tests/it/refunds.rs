//! Partial and self-service refunds end to end on both backends: an administrator sets the
//! cancellation terms in chat, attendees pay through the Payflow and Stripe emulators and
//! cancel themselves, hosts refund parts in chat once per request id, and the emulators' own
//! records show each refund once, of the right amount.

use crate::common;
use crate::common::chat;
use crate::common::pay;
use crate::common::world;
use crate::fee_based::{content, eventually};

use std::time::Duration;

use chrono::{NaiveDateTime, Utc};
use rust_decimal::Decimal;
use serde_json::{Value, json};
use tollbooth_core::config::Config;
use tollbooth_core::fee_based::registration::RegistrationState;
use tollbooth_core::payments::method::Method;
use tollbooth_core::payments::payment::State;
use tollbooth_core::store::{RegistrationStore, Switches};

use chat::{ADMIN, MEMBER, command, dms, interaction, link, options, sub};
use common::Db;
use common::app::browser;
use pay::{choose, location, on_payflow_page, text};
use world::{HOST_USER, World};

on_both_backends!(
    an_attendee_cancels_before_the_deadline_and_gets_the_fee_less_amount_back_through_payflow,
    an_attendee_cancels_through_stripe_and_stripe_records_one_refund_of_the_fee_less_amount,
    cancelling_after_the_deadline_is_refused_with_the_deadline_in_the_attendees_time,
    a_host_refunds_10_of_25_through_payflow_once_per_request_id_and_never_more_than_remains,
    a_host_refunds_10_of_25_through_stripe_once_per_request_id,
    a_member_who_is_not_the_host_is_refused_and_an_administrator_may_refund,
    a_duplicate_delivery_and_a_retry_after_a_lost_gateway_answer_refund_once,
    a_norwegian_attendee_is_told_of_a_partial_refund_in_chat_and_by_e_mail_in_norwegian,
);

const ADA: u64 = 7001;
const BOB: u64 = 7002;
const OPS: u64 = 7009;

fn switches() -> Switches {
    Switches { ecommerce_enabled: true, pay_per_use_enabled: false, fee_based_enabled: true }
}

fn with_stripe(c: &mut Config) {
    c.payments.methods.push(Method::Stripe);
}

fn usd(s: &str) -> Decimal {
    s.parse().unwrap()
}

/// `/admin cancellation` by an administrator; returns the answer.
async fn set_terms(w: &World, hours: i64, fee: &str) -> String {
    let opts = options(&[("hours", json!(hours)), ("fee", json!(fee))]);
    let token = format!("terms-{}", rand::random::<u32>());
    content(&w.ask(command(OPS, &token, "admin", sub("cancellation", opts), ADMIN)).await)
}

/// Registers `user` and pays the fee with `method` (`payflow` or `stripe`); waits until they
/// are an approved registrant.
async fn pay(w: &World, user: u64, meeting: &str, name: &str, method: &str) {
    let pay_link = w.pay_link(user, meeting, name).await;
    let checkout = choose(&pay_link, method).await;
    let back = match method {
        "payflow" => on_payflow_page(&checkout, "approve").await,
        _ => location(
            &browser().post(&checkout).form(&[("decision", "approve")]).send().await.unwrap(),
        ),
    };
    assert!(text(&back).await.contains("Payment received"));
    for _ in 0..300 {
        if w.state_of(user).await == RegistrationState::Approved {
            return;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("{user} was never admitted");
}

/// `/registrations cancel session` by `user` in `locale`.
async fn cancel(w: &World, user: u64, meeting: &str, locale: &str) -> String {
    let data = json!({"id": "55", "name": "registrations", "type": 1,
                      "options": sub("cancel", options(&[("session", json!(meeting))]))});
    let token = format!("cancel-{user}-{}", rand::random::<u32>());
    content(&w.ask(interaction(user, &token, 2, data, locale, MEMBER)).await)
}

/// `/registrations refund` of `user`'s registration by `by` with `permissions`, under
/// `request` when given.
fn refund_command(w_reg: &str, by: u64, amount: &str, request: Option<&str>, perms: &str) -> Value {
    let mut opts = vec![("registration", json!(w_reg)), ("amount", json!(amount))];
    if let Some(request) = request {
        opts.push(("request", json!(request)));
    }
    let token = format!("refund-{by}-{}", rand::random::<u32>());
    command(by, &token, "registrations", sub("refund", options(&opts)), perms)
}

async fn registration_of(w: &World, user: u64) -> String {
    w.app.store.registrations_of(user).await.unwrap()[0].0.id.to_string()
}

/// The host refunds `amount` of `user`'s registration under `request`.
async fn host_refunds(w: &World, user: u64, amount: &str, request: &str) -> String {
    let reg = registration_of(w, user).await;
    content(&w.ask(refund_command(&reg, HOST_USER, amount, Some(request), MEMBER)).await)
}

/// Waits until the gateway's refunds of `user`'s payment are recorded as `refunded`.
async fn refunded(
    w: &World,
    user: u64,
    refunded: &str,
) -> tollbooth_core::payments::payment::Payment {
    for _ in 0..300 {
        let payment = w.payments_of(user).await.pop().unwrap();
        if payment.refunded.amount() == usd(refunded) {
            return payment;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("{user}'s payment never had {refunded} refunded");
}

async fn an_attendee_cancels_before_the_deadline_and_gets_the_fee_less_amount_back_through_payflow(
    db: Db,
) {
    let w = World::serve(&db, switches(), 10).await;
    let set = set_terms(&w, 48, "10").await;
    assert!(set.contains("until 48 hours before the start") && set.contains("10 %"), "{set}");
    let status =
        content(&w.ask(command(OPS, "status", "admin", sub("status", json!([])), ADMIN)).await);
    assert!(status.contains("Attendees may cancel until 48 hours"), "{status}");
    let meeting = w.schedule("zoom", "25.00", Some(1)).await;
    pay(&w, ADA, &meeting, "Ada", "payflow").await;

    let answer = cancel(&w, ADA, &meeting, "en-US").await;
    assert!(
        answer.contains("is cancelled: 22.50 USD is being refunded (cancellation fee 2.50 USD)"),
        "{answer}"
    );
    eventually("one credit", || w.payflow.credited() == [usd("22.50")]).await;
    let payment = refunded(&w, ADA, "22.50").await;
    assert_eq!((payment.state, payment.captured.amount()), (State::Sale, usd("25.00")));
    assert_eq!(w.state_of(ADA).await, RegistrationState::Refunded);
    eventually("Ada told", || dms(&w.discord, ADA).len() == 2).await;
    let told = content(&dms(&w.discord, ADA)[1]);
    assert!(told.contains("22.50 USD is being refunded") && told.contains("2.50 USD"), "{told}");

    // Cancelling again refunds nothing more; the seat is free for the next attendee.
    let again = cancel(&w, ADA, &meeting, "en-US").await;
    assert!(again.contains("You hold no paid registration"), "{again}");
    let mine = w.registrations(ADA).await;
    assert!(mine.contains("refunded (cancelled by the attendee)"), "{mine}");
    w.pay_link(BOB, &meeting, "Bob").await;
    tokio::time::sleep(Duration::from_millis(1500)).await;
    assert_eq!(w.payflow.credited(), [usd("22.50")], "refunded once");
}

async fn an_attendee_cancels_through_stripe_and_stripe_records_one_refund_of_the_fee_less_amount(
    db: Db,
) {
    let w = World::serve_with(&db, switches(), 10, with_stripe).await;
    set_terms(&w, 24, "12.5").await;
    let meeting = w.schedule("zoom", "25.00", None).await;
    pay(&w, ADA, &meeting, "Ada", "stripe").await;

    let answer = cancel(&w, ADA, &meeting, "en-US").await;
    // 12.5 % of 25.00 is 3.125, kept as 3.13 (half-up): 21.87 back.
    assert!(answer.contains("21.87 USD is being refunded (cancellation fee 3.13 USD)"), "{answer}");
    eventually("one Stripe refund", || w.stripe.refunds().len() == 1).await;
    refunded(&w, ADA, "21.87").await;
    let payment = w.payments_of(ADA).await.pop().unwrap();
    assert_eq!(w.stripe.refunds(), [(payment.reference.clone().unwrap(), 2187)]);
    tokio::time::sleep(Duration::from_millis(1500)).await;
    assert_eq!(w.stripe.refunds().len(), 1, "refunded once");
}

async fn cancelling_after_the_deadline_is_refused_with_the_deadline_in_the_attendees_time(db: Db) {
    let w = World::serve(&db, switches(), 10).await;
    set_terms(&w, 48, "0").await;
    let start = (Utc::now() + chrono::Duration::hours(24)).format("%Y-%m-%d %H:%M").to_string();
    let meeting = w.schedule_starting("zoom", "25.00", None, &start).await;
    pay(&w, ADA, &meeting, "Ada", "payflow").await;

    let starts = NaiveDateTime::parse_from_str(&start, "%Y-%m-%d %H:%M").unwrap().and_utc();
    let deadline = format!("<t:{}:F>", (starts - chrono::Duration::hours(48)).timestamp());
    let answer = cancel(&w, ADA, &meeting, "en-US").await;
    assert!(answer.contains(&format!("Cancelling closed at {deadline}")), "{answer}");
    let norsk = cancel(&w, ADA, &meeting, "no").await;
    assert!(norsk.contains(&format!("Avbestillingen stengte {deadline}")), "{norsk}");
    tokio::time::sleep(Duration::from_millis(1500)).await;
    assert!(w.payflow.credited().is_empty());
    assert_eq!(w.state_of(ADA).await, RegistrationState::Approved);
}

async fn a_host_refunds_10_of_25_through_payflow_once_per_request_id_and_never_more_than_remains(
    db: Db,
) {
    let w = World::serve(&db, switches(), 10).await;
    let meeting = w.schedule("webex", "25.00", None).await;
    pay(&w, ADA, &meeting, "Ada", "payflow").await;
    let reg = registration_of(&w, ADA).await;

    let first = host_refunds(&w, ADA, "10.00", "r-1").await;
    assert!(
        first.contains(&format!("Refunding 10.00 USD of registration {reg} (request `r-1`)"))
            && first.contains("15.00 USD remains refundable. The attendee keeps their seat."),
        "{first}"
    );
    let same = host_refunds(&w, ADA, "10.00", "r-1").await;
    assert!(same.contains("Request `r-1` was done already (10.00 USD)"), "{same}");
    let second = host_refunds(&w, ADA, "10.00", "r-2").await;
    assert!(second.contains("5.00 USD remains refundable"), "{second}");
    let too_much = host_refunds(&w, ADA, "5.01", "r-3").await;
    assert!(too_much.contains("5.01 USD is more than remains refundable: 5.00 USD"), "{too_much}");
    let bad = host_refunds(&w, ADA, "1.234", "r-3").await;
    assert!(bad.contains("`1.234` is not an amount to refund in USD"), "{bad}");

    eventually("two credits", || w.payflow.credited() == [usd("10.00"), usd("10.00")]).await;
    let payment = refunded(&w, ADA, "20.00").await;
    assert_eq!(payment.state, State::Sale, "part refunded: the payment keeps its state");
    assert_eq!(w.state_of(ADA).await, RegistrationState::Approved, "the seat is kept");
    eventually("Ada told twice", || dms(&w.discord, ADA).len() == 3).await;
    let told = content(&dms(&w.discord, ADA)[1]);
    assert!(
        told.contains("The host refunded 10.00 USD") && told.contains("keep your seat"),
        "{told}"
    );
    let mine = w.registrations(ADA).await;
    assert!(mine.contains("registered") && mine.contains("— 20.00 USD refunded"), "{mine}");

    // The rest frees the seat.
    let rest = host_refunds(&w, ADA, "5.00", "r-4").await;
    assert!(rest.contains("0.00 USD remains refundable. The seat is freed."), "{rest}");
    eventually("three credits", || w.payflow.credited().len() == 3).await;
    assert_eq!(refunded(&w, ADA, "25.00").await.state, State::Refunded);
    assert_eq!(w.state_of(ADA).await, RegistrationState::Refunded);
    tokio::time::sleep(Duration::from_millis(1500)).await;
    assert_eq!(w.payflow.credited(), [usd("10.00"), usd("10.00"), usd("5.00")]);
}

async fn a_host_refunds_10_of_25_through_stripe_once_per_request_id(db: Db) {
    let w = World::serve_with(&db, switches(), 10, with_stripe).await;
    let meeting = w.schedule("zoom", "25.00", None).await;
    pay(&w, ADA, &meeting, "Ada", "stripe").await;

    assert!(host_refunds(&w, ADA, "10.00", "s-1").await.contains("15.00 USD remains"));
    assert!(host_refunds(&w, ADA, "10.00", "s-1").await.contains("was done already"));
    assert!(host_refunds(&w, ADA, "10", "s-2").await.contains("5.00 USD remains"));
    eventually("two Stripe refunds", || w.stripe.refunds().len() == 2).await;
    refunded(&w, ADA, "20.00").await;
    let intent = w.payments_of(ADA).await.pop().unwrap().reference.unwrap();
    tokio::time::sleep(Duration::from_millis(1500)).await;
    assert_eq!(w.stripe.refunds(), [(intent.clone(), 1000), (intent, 1000)]);
}

async fn a_member_who_is_not_the_host_is_refused_and_an_administrator_may_refund(db: Db) {
    let w = World::serve(&db, switches(), 10).await;
    let meeting = w.schedule("zoom", "25.00", None).await;
    pay(&w, ADA, &meeting, "Ada", "payflow").await;
    let reg = registration_of(&w, ADA).await;

    for by in [BOB, ADA] {
        let refused = content(&w.ask(refund_command(&reg, by, "10.00", Some("x-1"), MEMBER)).await);
        assert!(refused.contains("Only the session's host or a site administrator"), "{refused}");
    }
    let unknown = "reg_000000000000000000000000";
    let none = content(&w.ask(refund_command(unknown, HOST_USER, "1.00", None, MEMBER)).await);
    assert!(none.contains(&format!("There is no registration `{unknown}`")), "{none}");
    let admin = content(&w.ask(refund_command(&reg, OPS, "2.50", Some("x-1"), ADMIN)).await);
    assert!(admin.contains("22.50 USD remains refundable"), "{admin}");
    eventually("one credit", || w.payflow.credited() == [usd("2.50")]).await;
}

async fn a_duplicate_delivery_and_a_retry_after_a_lost_gateway_answer_refund_once(db: Db) {
    // Payflow calls time out after 1 s.
    let w = World::serve(&db, switches(), 1).await;
    let meeting = w.schedule("zoom", "25.00", None).await;
    pay(&w, ADA, &meeting, "Ada", "payflow").await;
    let reg = registration_of(&w, ADA).await;

    // The credit is carried out, but its answer comes after tollbooth stopped waiting.
    w.payflow.slow_next(1, Duration::from_secs(3));
    // Without a request id the interaction's id is the request: Discord delivering the same
    // interaction twice is one request.
    let mut delivery = refund_command(&reg, HOST_USER, "10.00", None, MEMBER);
    delivery["id"] = json!("1300000000000000001");
    let first = content(&w.ask(delivery.clone()).await);
    assert!(first.contains("(request `1300000000000000001`)"), "{first}");
    delivery["token"] = json!("refund-again");
    let again = content(&w.ask(delivery).await);
    assert!(again.contains("was done already (10.00 USD)"), "{again}");

    let payment = refunded(&w, ADA, "10.00").await;
    assert_eq!(w.payflow.credited(), [usd("10.00")]);
    assert!(w.payflow.duplicates() >= 1, "the retry was answered from Payflow's duplicate store");
    tokio::time::sleep(Duration::from_millis(1500)).await;
    assert_eq!(w.payflow.credited().len(), 1);
    assert_eq!(w.payments_of(ADA).await.pop().unwrap().refunded, payment.refunded);
}

async fn a_norwegian_attendee_is_told_of_a_partial_refund_in_chat_and_by_e_mail_in_norwegian(
    db: Db,
) {
    let w = World::serve_reaching_out(&db, switches(), |_| {}).await;
    let meeting = w.schedule("zoom", "25.00", None).await;
    // Ada registers in Norwegian: what she is told later is in Norwegian.
    let data = json!({"id": "55", "name": "register", "type": 1, "options": options(&[
        ("session", json!(meeting)), ("first_name", json!("Ada")),
        ("last_name", json!("Tester")), ("email", json!("ada@example.com"))])});
    let answer = w.ask(interaction(ADA, "register-no", 2, data, "no", MEMBER)).await;
    assert!(content(&answer).contains("Betal gebyret på 25.00 USD"), "{answer}");
    let back = on_payflow_page(&choose(&link(&answer).unwrap(), "payflow").await, "approve").await;
    text(&back).await;
    eventually("Ada's join e-mail", || w.smtp.as_ref().unwrap().received().len() == 1).await;

    host_refunds(&w, ADA, "10.00", "n-1").await;
    eventually("Ada's refund e-mail", || w.smtp.as_ref().unwrap().received().len() == 2).await;
    let mail = &w.smtp.as_ref().unwrap().received()[1];
    assert_eq!(mail.header("subject").as_deref(), Some("Refusjon: Rust for payments"));
    let plain = mail.part("text/plain").unwrap();
    assert!(
        plain.contains("Verten refunderte 10.00 USD") && plain.contains("beholder plassen"),
        "{plain}"
    );
    eventually("Ada's refund message", || dms(&w.discord, ADA).len() == 2).await;
    let told = content(&dms(&w.discord, ADA)[1]);
    assert!(told.contains("Verten refunderte 10.00 USD av registreringsgebyret ditt"), "{told}");
    refunded(&w, ADA, "10.00").await;
}
