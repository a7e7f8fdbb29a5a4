//! One payer, several seats, on both backends: `/register seats:3` opens a form with one
//! attendee a line, one order of three seats is paid once through the Payflow emulator, the
//! Zoom emulator gets three registrants with three join links, and one guest's seat refunded
//! alone is one credit of one seat's fee whose seat goes to the waiting list.

use crate::common;
use crate::common::chat;
use crate::common::pay;
use crate::fee_based::{content, eventually, world};

use chrono::Utc;
use rust_decimal::Decimal;
use serde_json::{Value, json};
use tollbooth_core::fee_based::registration::RegistrationState;
use tollbooth_core::platform::PlatformKind;
use tollbooth_core::store::RegistrationStore;

use chat::{MEMBER, click, command, dms, interaction, link, options, respond, sub};
use common::Db;
use common::world::{HOST_USER, World};
use pay::{choose, on_payflow_page, text};

on_both_backends!(
    a_group_of_three_pays_once_and_is_admitted_as_three_registrants_with_their_own_join_links,
    one_guests_seat_refunded_alone_is_one_credit_of_its_fee_and_goes_to_the_waiting_list,
    seats_over_the_site_maximum_or_the_seats_left_and_a_bad_attendee_line_are_refused_by_name,
    a_group_in_line_is_offered_its_seats_only_when_all_are_free_and_keeps_its_place,
);

const ADA: u64 = 7101;
const BOB: u64 = 7102;
const CY: u64 = 7103;
const DAN: u64 = 7104;

const THREE: &str = "Ada Lovelace <ada@example.com>\nGrace Hopper, grace@example.com\n\
                     Alan Turing <alan@example.com>";

fn usd(s: &str) -> Decimal {
    s.parse().unwrap()
}

/// `/register session seats:N` by `user` in `locale`: Discord's immediate answer (a form, or
/// a refusal).
async fn ask_seats(w: &World, user: u64, meeting: &str, seats: i64, locale: &str) -> Value {
    let opts = options(&[("session", json!(meeting)), ("seats", json!(seats))]);
    let data = json!({"id": "55", "name": "register", "type": 1, "options": opts});
    let token = format!("group-{user}-{}", rand::random::<u32>());
    respond(&w.app.base, &interaction(user, &token, 2, data, locale, MEMBER)).await
}

/// Submits the group form `custom_id` with `attendees` typed in, in `locale`.
async fn submit(w: &World, user: u64, custom_id: &str, attendees: &str, locale: &str) -> Value {
    let row = |id: &str, value: &str| json!({"type": 1, "components": [{"type": 4, "custom_id": id, "value": value}]});
    let data = json!({"custom_id": custom_id, "components": [row("attendees", attendees)]});
    let token = format!("group-form-{user}-{}", rand::random::<u32>());
    w.ask(interaction(user, &token, 5, data, locale, MEMBER)).await
}

/// Registers `attendees` for `seats` seats of `meeting` as `user` through the form; returns
/// the answer to the submitted form.
async fn register_group(w: &World, user: u64, meeting: &str, seats: i64, attendees: &str) -> Value {
    let form = ask_seats(w, user, meeting, seats, "en-US").await;
    assert_eq!(form["type"], 9, "a modal: {form}");
    let custom_id = form["data"]["custom_id"].as_str().unwrap().to_owned();
    assert_eq!(custom_id, format!("register:group:{seats}:zoom/{meeting}"));
    let field = &form["data"]["components"][0]["components"][0];
    assert_eq!(
        (field["custom_id"].as_str(), field["style"].as_u64()),
        (Some("attendees"), Some(2))
    );
    submit(w, user, &custom_id, attendees, "en-US").await
}

/// Ada registers and pays for the group of three through Payflow; waits until all three are
/// registrants on Zoom. Returns the registration's id.
async fn three_paid(w: &World, meeting: &str) -> String {
    let answer = register_group(w, ADA, meeting, 3, THREE).await;
    let said = content(&answer);
    assert!(said.contains("Pay the fee of 75.00 USD"), "{said}");
    assert!(said.contains("The payment buys 3 seats"), "{said}");
    let back = on_payflow_page(&choose(&link(&answer).unwrap(), "payflow").await, "approve").await;
    assert!(text(&back).await.contains("Payment received"));
    eventually("three registrants", || {
        let r = w.zoom.registrants(meeting);
        r.len() == 3 && r.iter().all(|r| r.status == "approved")
    })
    .await;
    w.app.store.registrations_of(ADA).await.unwrap()[0].0.id.to_string()
}

async fn a_group_of_three_pays_once_and_is_admitted_as_three_registrants_with_their_own_join_links(
    db: Db,
) {
    let w = world(&db).await;
    let meeting = w.schedule("zoom", "25.00", Some(5)).await;
    three_paid(&w, &meeting).await;

    // One sale of three seats' fee; the payer's registration holds three seats.
    assert_eq!(w.payflow.sold(), [usd("75.00")]);
    let (reg, _) = w.app.store.registrations_of(ADA).await.unwrap().remove(0);
    let held = w.app.store.seats_taken(PlatformKind::Zoom, &meeting, Utc::now(), None).await;
    assert_eq!(held.unwrap(), 3);
    let mut emails: Vec<String> =
        w.zoom.registrants(&meeting).iter().map(|r| r.email.clone()).collect();
    emails.sort();
    assert_eq!(emails, ["ada@example.com", "alan@example.com", "grace@example.com"]);

    // Each attendee's own join link is told, the guests' to the payer in chat.
    eventually("three join links told", || dms(&w.discord, ADA).len() == 3).await;
    let mut told: Vec<String> = dms(&w.discord, ADA).iter().map(|m| link(m).unwrap()).collect();
    let mut links: Vec<String> =
        w.zoom.registrants(&meeting).iter().map(|r| r.join_url.clone().unwrap()).collect();
    told.sort();
    links.sort();
    told.dedup();
    assert_eq!(told.len(), 3, "three different links: {told:?}");
    assert_eq!(told, links);
    let texts: Vec<String> = dms(&w.discord, ADA).iter().map(content).collect();
    assert!(texts.iter().any(|t| t.contains("Grace Hopper")), "{texts:?}");
    // The payer's receipt links one invoice for the three seats.
    let receipt = texts.iter().find(|t| t.contains("/invoices/")).expect("the invoice's link");
    let invoice = crate::common::pay::text(&crate::invoices::invoice_link(receipt)).await;
    assert!(invoice.contains("Registration fees: Rust for payments, 3 seats"), "{invoice}");
    assert!(invoice.contains("75.00 USD"), "{invoice}");
    let guests = w.app.store.guest_seats(&reg.id).await.unwrap();
    let seats: Vec<(u32, &str)> =
        guests.iter().map(|g| (g.seat, g.attendee.email.as_str())).collect();
    assert_eq!(seats, [(2, "grace@example.com"), (3, "alan@example.com")]);
    assert!(guests.iter().all(|g| g.registrant_id.is_some() && g.join_url.is_some()));
    assert_eq!(w.state_of(ADA).await, RegistrationState::Approved);
    // Nothing is added twice, whatever the outbox retried.
    tokio::time::sleep(std::time::Duration::from_millis(1500)).await;
    assert_eq!(w.zoom.registrants(&meeting).len(), 3);
    assert_eq!(dms(&w.discord, ADA).len(), 3);
}

/// `/registrations refund registration seat request` by the host.
async fn refund_seat(w: &World, reg: &str, seat: i64, request: &str) -> String {
    let opts = options(&[
        ("registration", json!(reg)),
        ("seat", json!(seat)),
        ("request", json!(request)),
    ]);
    let token = format!("refund-seat-{}", rand::random::<u32>());
    content(&w.ask(command(HOST_USER, &token, "registrations", sub("refund", opts), MEMBER)).await)
}

async fn one_guests_seat_refunded_alone_is_one_credit_of_its_fee_and_goes_to_the_waiting_list(
    db: Db,
) {
    let w = world(&db).await;
    let meeting = w.schedule("zoom", "25.00", Some(3)).await;
    let reg = three_paid(&w, &meeting).await;

    // The group fills the session: Bob joins its waiting list.
    let full = w.register(BOB, &meeting, "Bob", "bob@example.com").await;
    assert!(content(&full).contains("the session is full"), "{full}");
    let join = full["components"][0]["components"][0]["custom_id"].as_str().unwrap().to_owned();
    let joined = content(&w.ask(click(BOB, "bob-joins", &join)).await);
    assert!(joined.contains("You are number 1 on the waiting list"), "{joined}");

    // The host refunds Grace's seat alone: one seat's fee, and the seat is Bob's offer.
    let refunded = refund_seat(&w, &reg, 2, "g-1").await;
    assert!(
        refunded.contains("Refunding 25.00 USD of registration")
            && refunded.contains("50.00 USD remains refundable. The seat is freed."),
        "{refunded}"
    );
    eventually("one credit", || w.payflow.credited() == [usd("25.00")]).await;
    eventually("Bob offered the seat", || {
        dms(&w.discord, BOB).iter().any(|m| content(m).contains("A seat is free"))
    })
    .await;
    let held = w.app.store.seats_taken(PlatformKind::Zoom, &meeting, Utc::now(), None).await;
    assert_eq!(held.unwrap(), 3, "two of the group's and Bob's offer");
    eventually("Ada told", || {
        dms(&w.discord, ADA)
            .iter()
            .any(|m| content(m).contains("The host refunded 25.00 USD for seat 2 of your group"))
    })
    .await;

    // The same request refunds nothing more; the seat is not refunded twice; the payer's seat
    // (1) goes only with the whole registration; a seat the group never had is named.
    assert!(refund_seat(&w, &reg, 2, "g-1").await.contains("was done already (25.00 USD)"));
    let again = refund_seat(&w, &reg, 2, "g-2").await;
    assert!(again.contains("has no guest's seat 2 still held"), "{again}");
    let never = refund_seat(&w, &reg, 4, "g-4").await;
    assert!(never.contains("has no guest's seat 4 still held"), "{never}");
    let payer = refund_seat(&w, &reg, 1, "g-3").await;
    assert!(payer.contains("`seat` must be between 2 and 25, got 1"), "{payer}");
    assert_eq!(w.state_of(ADA).await, RegistrationState::Approved, "the group keeps two seats");
    let mine = w.registrations(ADA).await;
    assert!(mine.contains("— 2 seats") && mine.contains("25.00 USD refunded"), "{mine}");
    let guests = w.app.store.guest_seats(&reg.parse().unwrap()).await.unwrap();
    assert_eq!(guests.iter().map(|g| g.refunded).collect::<Vec<_>>(), [true, false]);
    tokio::time::sleep(std::time::Duration::from_millis(1500)).await;
    assert_eq!(w.payflow.credited(), [usd("25.00")], "credited once");
}

async fn seats_over_the_site_maximum_or_the_seats_left_and_a_bad_attendee_line_are_refused_by_name(
    db: Db,
) {
    let w = world(&db).await;
    let meeting = w.schedule("zoom", "25.00", Some(2)).await;

    // Over the site's maximum (10 by default): refused before the form.
    let over = ask_seats(&w, ADA, &meeting, 11, "en-US").await;
    let said = over["data"]["content"].as_str().unwrap_or_default();
    assert!(said.contains("11 seats is more than the 10 one registration may take"), "{over}");
    let norsk = ask_seats(&w, ADA, &meeting, 11, "no").await;
    let said = norsk["data"]["content"].as_str().unwrap_or_default();
    assert!(said.contains("11 plasser er flere enn de 10 én registrering kan ta"), "{norsk}");

    // Over the seats left: refused once the attendees are given; nothing is stored.
    let left = content(&register_group(&w, ADA, &meeting, 3, THREE).await);
    assert!(left.contains("3 seats asked for, only 2 left"), "{left}");
    assert!(w.app.store.registrations_of(ADA).await.unwrap().is_empty());

    // A bad line is named by its number and what is wrong, in the attendee's language.
    let id = format!("register:group:2:zoom/{meeting}");
    let typed = "Ada Lovelace <ada@example.com>\nBob bob@example.com";
    let bad = content(&submit(&w, ADA, &id, typed, "en-US").await);
    assert!(bad.contains("Line 2 (`Bob bob@example.com`): write `First Last <email>`"), "{bad}");
    let bad = content(&submit(&w, ADA, &id, typed, "no").await);
    assert!(bad.contains("Linje 2 (`Bob bob@example.com`): skriv"), "{bad}");
    let twice = "Ada Lovelace <ada@example.com>\nAda Byron, ADA@example.com";
    let bad = content(&submit(&w, ADA, &id, twice, "en-US").await);
    assert!(bad.contains("Line 2") && bad.contains("on an earlier line"), "{bad}");
    let short = content(&submit(&w, ADA, &id, "Ada Lovelace <ada@example.com>", "en-US").await);
    assert!(short.contains("You asked for 2 seats but gave 1 attendees"), "{short}");

    // Two seats fit: the order is for both.
    let two = "Ada Lovelace <ada@example.com>\nGrace Hopper, grace@example.com";
    let fits = content(&submit(&w, ADA, &id, two, "en-US").await);
    assert!(fits.contains("Pay the fee of 50.00 USD") && fits.contains("2 seats"), "{fits}");
}

/// Joins the waiting list with the button under a *full* answer; returns what was said.
async fn join_line(w: &World, user: u64, full: &Value) -> String {
    assert!(content(full).contains("the session is full"), "{full}");
    let join = full["components"][0]["components"][0]["custom_id"].as_str().unwrap();
    content(&w.ask(click(user, &format!("join-{user}"), join)).await)
}

/// `/registrations refund registration amount` of `user`'s registration by the host.
async fn refund_whole(w: &World, user: u64, amount: &str) -> String {
    let reg = w.app.store.registrations_of(user).await.unwrap()[0].0.id.to_string();
    let opts = options(&[("registration", json!(reg)), ("amount", json!(amount))]);
    let token = format!("refund-{user}-{}", rand::random::<u32>());
    content(&w.ask(command(HOST_USER, &token, "registrations", sub("refund", opts), MEMBER)).await)
}

async fn a_group_in_line_is_offered_its_seats_only_when_all_are_free_and_keeps_its_place(db: Db) {
    let w = world(&db).await;
    let meeting = w.schedule("zoom", "25.00", Some(2)).await;
    for (user, name) in [(ADA, "Ada"), (CY, "Cy")] {
        let pay_link = w.pay_link(user, &meeting, name).await;
        assert!(w.pay_in_sandbox(&pay_link).await.contains("Payment received"));
    }
    eventually("two admitted", || w.zoom.registrants(&meeting).len() == 2).await;

    // Bob's group of two, then Dan alone, join the line.
    let two = "Bob Builder <bob@example.com>\nWendy Builder, wendy@example.com";
    let full = register_group(&w, BOB, &meeting, 2, two).await;
    assert!(join_line(&w, BOB, &full).await.contains("You are number 1"));
    let full = w.register(DAN, &meeting, "Dan", "dan@example.com").await;
    assert!(join_line(&w, DAN, &full).await.contains("You are number 2"));

    // One seat freed: the group waits for both, and Dan does not pass it in line.
    assert!(refund_whole(&w, ADA, "25.00").await.contains("The seat is freed"));
    tokio::time::sleep(std::time::Duration::from_millis(1500)).await;
    let offered =
        |user| dms(&w.discord, user).iter().any(|m| content(m).contains("A seat is free"));
    assert!(!offered(BOB) && !offered(DAN), "nobody is offered one seat of two");
    let held = w.app.store.seats_taken(PlatformKind::Zoom, &meeting, Utc::now(), None).await;
    assert_eq!(held.unwrap(), 1);

    // The second seat freed: both are offered to the group, held as two.
    assert!(refund_whole(&w, CY, "25.00").await.contains("The seat is freed"));
    eventually("Bob offered the seats", || offered(BOB)).await;
    let held = w.app.store.seats_taken(PlatformKind::Zoom, &meeting, Utc::now(), None).await;
    assert_eq!(held.unwrap(), 2, "the group's offer holds both seats");
    assert!(!offered(DAN));
}
