//! Promotion codes end to end on both backends: hosts and administrators manage them in chat
//! (`/session code`), attendees enter them at `/register` or on the pay page, the gateway
//! (the Payflow emulator) is asked for the discounted total, a code covering the whole fee
//! admits without a payment, and a code's last use is taken once however attendees race.

use crate::common;
use crate::common::chat;
use crate::common::pay;
use crate::common::world;

use std::time::Duration;

use chrono::Utc;
use rust_decimal::Decimal;
use serde_json::{Value, json};
use tollbooth_core::email::Email;
use tollbooth_core::fee_based::codes::{Code, CodeId, ForSession, Off};
use tollbooth_core::fee_based::registration::RegistrationState;
use tollbooth_core::platform::PlatformKind;
use tollbooth_core::store::{
    DiscordLinkStore, PaymentStore, PromotionCodeStore, RegistrationStore, Switches,
};

use chat::{ADMIN, MEMBER, dms, interaction, link, options};
use common::Db;
use common::app::browser;
use common::chromium::{chromium, dump_dom};
use pay::{choose, on_payflow_page, text};
use world::{HOST_USER, World};

on_both_backends!(
    each_refusal_names_the_code_and_why_unknown_expired_used_up_other_session,
    a_percentage_code_at_register_charges_the_discounted_total_at_the_gateway,
    a_fixed_code_on_the_pay_page_charges_the_discounted_total_at_the_gateway,
    a_hundred_percent_code_admits_without_payment_and_a_full_session_still_refuses,
    two_attendees_racing_for_a_codes_last_use_exactly_one_gets_it,
    codes_are_managed_by_the_sessions_host_or_an_administrator_only,
    attendees_and_hosts_read_codes_in_norwegian,
    cancelling_a_session_gives_back_the_uses_of_its_unpaid_and_free_registrations,
    the_pay_page_with_a_code_applied_in_chromium,
);

const ADA: u64 = 7001;
const BOB: u64 = 7002;
const CY: u64 = 7003;

async fn world(db: &Db) -> World {
    let switches =
        Switches { ecommerce_enabled: true, pay_per_use_enabled: false, fee_based_enabled: true };
    World::serve(db, switches, 10).await
}

fn content(message: &Value) -> String {
    message["content"].as_str().unwrap_or_default().to_owned()
}

async fn eventually(what: &str, mut check: impl FnMut() -> bool) {
    for _ in 0..300 {
        if check() {
            return;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("never happened: {what}");
}

fn usd(text: &str) -> Decimal {
    text.parse().unwrap()
}

impl World {
    /// `/session code <sub>` by `user` with `permissions`, in `locale`; the answer's text.
    async fn code(
        &self,
        user: u64,
        permissions: &str,
        sub: &str,
        opts: &[(&str, Value)],
        locale: &str,
    ) -> String {
        let group = json!([{"name": "code", "type": 2, "options": [
            {"name": sub, "type": 1, "options": options(opts)}]}]);
        let data = json!({"id": "55", "name": "session", "type": 1, "options": group});
        let token = format!("code-{user}-{}", rand::random::<u32>());
        content(&self.ask(interaction(user, &token, 2, data, locale, permissions)).await)
    }

    /// The host adds a code for `meeting` on Zoom.
    async fn host_adds(&self, meeting: &str, opts: &[(&str, Value)]) -> String {
        let mut all = vec![("platform", json!("zoom")), ("meeting", json!(meeting))];
        all.extend_from_slice(opts);
        self.code(HOST_USER, MEMBER, "add", &all, "en-US").await
    }

    /// `/register` by `user` for `meeting`, with `code` if given, in `locale`; the answer.
    async fn register_with(
        &self,
        user: u64,
        meeting: &str,
        name: &str,
        code: Option<&str>,
        locale: &str,
    ) -> Value {
        let mut opts = vec![
            ("session", json!(meeting)),
            ("first_name", json!(name)),
            ("last_name", json!("Tester")),
            ("email", json!(format!("{}@example.com", name.to_lowercase()))),
        ];
        if let Some(code) = code {
            opts.push(("code", json!(code)));
        }
        let data = json!({"id": "55", "name": "register", "type": 1, "options": options(&opts)});
        let token = format!("register-{user}-{}", rand::random::<u32>());
        self.ask(interaction(user, &token, 2, data, locale, MEMBER)).await
    }

    async fn registration_state(&self, user: u64) -> RegistrationState {
        self.app.store.registrations_of(user).await.unwrap()[0].0.state
    }

    async fn uses(&self, code: &str) -> u32 {
        self.app.store.live_code(&code.parse().unwrap()).await.unwrap().unwrap().uses
    }
}

/// Applies `code` on the pay page behind `link`, as its form does.
async fn apply(link: &str, code: &str) -> reqwest::Response {
    let (page, query) = link.split_once('?').unwrap_or((link, ""));
    let lang = query.strip_prefix("lang=").unwrap_or("en");
    browser()
        .post(format!("{page}/code"))
        .form(&[("code", code), ("lang", lang)])
        .send()
        .await
        .unwrap()
}

/// A code stored as `/session code add` stores it, with times chat cannot type.
fn stored_code(name: &str, meeting: &str, off: Off, max_uses: Option<u32>) -> Code {
    Code {
        id: CodeId::random(),
        code: name.parse().unwrap(),
        session: Some(ForSession { platform: PlatformKind::Zoom, meeting_id: meeting.into() }),
        off,
        max_uses,
        uses: 0,
        expires_at: None,
        created_by: HOST_USER,
        created_at: Utc::now(),
    }
}

async fn each_refusal_names_the_code_and_why_unknown_expired_used_up_other_session(db: Db) {
    let w = world(&db).await;
    let meeting = w.schedule("zoom", "25.00", None).await;
    let other = w.schedule("zoom", "25.00", None).await;
    let added = w
        .host_adds(
            &meeting,
            &[("code", json!("once")), ("percent", json!("10")), ("uses", json!(1))],
        )
        .await;
    assert!(added.contains("Added the code `ONCE`: 10 % off for session zoom/"), "{added}");
    assert!(added.contains("used 0 of 1"), "{added}");
    w.host_adds(&other, &[("code", json!("ELSEWHERE")), ("amount", json!("5.00"))]).await;
    let past = Code {
        expires_at: Some(Utc::now() - chrono::Duration::minutes(1)),
        ..stored_code("OLD", &meeting, Off::Percent(Decimal::TEN), None)
    };
    w.app.store.add_code(&past).await.unwrap();

    let refused = |answer: &Value, why: &str| {
        let text = content(answer);
        assert!(text.starts_with("The code was not applied:") && text.contains(why), "{text}");
        assert_eq!(link(answer), None, "no pay link: {answer}");
    };
    let unknown = w.register_with(ADA, &meeting, "Ada", Some("nope"), "en-US").await;
    refused(&unknown, "there is no promotion code `NOPE`");
    let expired = w.register_with(ADA, &meeting, "Ada", Some("old"), "en-US").await;
    refused(&expired, "the promotion code `OLD` has expired");
    let elsewhere = w.register_with(ADA, &meeting, "Ada", Some("elsewhere"), "en-US").await;
    refused(&elsewhere, "the promotion code `ELSEWHERE` is for another session");
    let malformed = w.register_with(ADA, &meeting, "Ada", Some("no way"), "en-US").await;
    assert!(content(&malformed).contains("`no way` is not a promotion code"), "{malformed}");

    let bobs = w.register_with(BOB, &meeting, "Bob", Some("Once"), "en-US").await;
    assert!(content(&bobs).contains("Pay 22.50 USD"), "{bobs}");
    let cys = w.register_with(CY, &meeting, "Cy", Some("ONCE"), "en-US").await;
    refused(&cys, "the promotion code `ONCE` is used up");
    assert_eq!(w.uses("ONCE").await, 1);
    // Ada, refused four times, still registers without a code at the full fee.
    let plain = w.register_with(ADA, &meeting, "Ada", None, "en-US").await;
    assert!(content(&plain).contains("Pay the fee of 25.00 USD"), "{plain}");
}

async fn a_percentage_code_at_register_charges_the_discounted_total_at_the_gateway(db: Db) {
    let w = world(&db).await;
    let meeting = w.schedule("zoom", "25.00", None).await;
    w.host_adds(&meeting, &[("code", json!("spring")), ("percent", json!("20"))]).await;
    let answer = w.register_with(ADA, &meeting, "Ada", Some("Spring"), "en-US").await;
    let said = content(&answer);
    assert!(
        said.contains("Pay 20.00 USD for **Rust for payments**")
            && said.contains("the fee of 25.00 USD less 5.00 USD with the code `SPRING`"),
        "{said}"
    );
    let pay_link = link(&answer).unwrap();
    let page = text(&pay_link).await;
    assert!(page.contains("Discount (code SPRING)") && page.contains("−5.00 USD"), "{page}");
    assert!(page.contains("25.00 USD") && page.contains("20.00 USD"), "{page}");
    assert!(!page.contains("id=\"code-form\""), "one code per order: {page}");
    // Registering again with the same code changes nothing and says the same.
    let again = w.register_with(ADA, &meeting, "Ada", Some("spring"), "en-US").await;
    assert!(content(&again).contains("Pay 20.00 USD"), "{again}");
    assert_eq!(w.uses("SPRING").await, 1);

    let back = on_payflow_page(&choose(&pay_link, "payflow").await, "approve").await;
    assert!(text(&back).await.contains("Payment received"));
    assert_eq!(w.payflow.sold(), [usd("20.00")], "the gateway was asked for the total");
    eventually("Ada's join link", || !dms(&w.discord, ADA).is_empty()).await;
    let joined = content(&dms(&w.discord, ADA)[0]);
    assert!(joined.contains("20.00 USD"), "{joined}");
    // The invoice lists the fee and the code's discount as lines of their own.
    let invoice = crate::invoices::invoice_link(&joined);
    let page = text(&invoice).await;
    assert!(page.contains("Discount (code SPRING)") && page.contains("-5.00"), "{page}");
    let pdf = crate::invoices::pdf_text(&crate::invoices::pdf_of(&invoice)).await;
    assert!(pdf.contains("Discount (code SPRING)") && pdf.contains("20.00 USD"), "{pdf}");
    if let Some(browser) = chromium() {
        let shot = format!("invoice-discount-{}.png", db.backend);
        crate::pay_page::save_screenshot(&browser, &invoice, &shot).await;
    }
    assert_eq!(w.registration_state(ADA).await, RegistrationState::Approved);
    let mine = w.app.store.registrations_of(ADA).await.unwrap();
    let order = w.app.store.order(&mine[0].0.order_id).await.unwrap().unwrap();
    let discount = order.discount.unwrap();
    assert_eq!((discount.code.as_str(), discount.amount.to_string().as_str()), ("SPRING", "5.00"));
    assert_eq!(order.amount.to_string(), "20.00", "the order's amount is what is paid");
}

async fn a_fixed_code_on_the_pay_page_charges_the_discounted_total_at_the_gateway(db: Db) {
    let w = world(&db).await;
    let meeting = w.schedule("zoom", "25.00", None).await;
    // A site-wide code, which only an administrator makes.
    let added = w
        .code(BOB, ADMIN, "add", &[("code", json!("seven")), ("amount", json!("7.50"))], "en-US")
        .await;
    assert!(
        added.contains("`SEVEN`: 7.50 USD off for every session; used 0 of no limit"),
        "{added}"
    );
    let answer = w.register_with(ADA, &meeting, "Ada", None, "en-US").await;
    let pay_link = link(&answer).unwrap();
    assert!(text(&pay_link).await.contains("id=\"code-form\""));

    let applied = apply(&pay_link, " seven ").await;
    assert_eq!(applied.status(), 303);
    let page = text(&pay_link).await;
    assert!(page.contains("Discount (code SEVEN)") && page.contains("−7.50 USD"), "{page}");
    assert!(page.contains("17.50 USD") && !page.contains("id=\"code-form\""), "{page}");
    let twice = apply(&pay_link, "seven").await;
    assert_eq!(twice.status(), 422);
    assert!(
        twice.text().await.unwrap().contains("the code `SEVEN` is applied to this order already")
    );

    // Bob opens a checkout first: his order's price is fixed while it is under way.
    let bobs = link(&w.register_with(BOB, &meeting, "Bob", None, "en-US").await).unwrap();
    let bobs_checkout = choose(&bobs, "payflow").await;
    let under_way = apply(&bobs, "seven").await;
    assert_eq!(under_way.status(), 422);
    assert!(under_way.text().await.unwrap().contains("a payment of this order is under way"));
    assert_eq!(w.uses("SEVEN").await, 1, "a refused code takes no use");

    let back = on_payflow_page(&choose(&pay_link, "payflow").await, "approve").await;
    assert!(text(&back).await.contains("Payment received"));
    let bob_back = on_payflow_page(&bobs_checkout, "approve").await;
    assert!(text(&bob_back).await.contains("Payment received"));
    assert_eq!(w.payflow.sold(), [usd("17.50"), usd("25.00")]);
    eventually("both registered", || w.zoom.registrants(&meeting).len() == 2).await;
}

async fn a_hundred_percent_code_admits_without_payment_and_a_full_session_still_refuses(db: Db) {
    let w = world(&db).await;
    let meeting = w.schedule("zoom", "25.00", Some(1)).await;
    w.host_adds(
        &meeting,
        &[("code", json!("free")), ("percent", json!("100")), ("uses", json!(5))],
    )
    .await;
    // Bob registers while the seat is free, and has his pay link.
    let bobs = link(&w.register_with(BOB, &meeting, "Bob", None, "en-US").await).unwrap();

    let answer = w.register_with(ADA, &meeting, "Ada", Some("free"), "en-US").await;
    let said = content(&answer);
    assert!(
        said.contains("The code `FREE` covers the whole fee of **Rust for payments**"),
        "{said}"
    );
    assert_eq!(link(&answer), None, "nothing to pay: {answer}");
    eventually("Ada's join link", || !dms(&w.discord, ADA).is_empty()).await;
    let registrants = w.zoom.registrants(&meeting);
    assert_eq!(registrants.len(), 1);
    assert_eq!(
        (registrants[0].email.as_str(), registrants[0].status.as_str()),
        ("ada@example.com", "approved")
    );
    assert!(
        content(&dms(&w.discord, ADA)[0]).contains("You are registered for **Rust for payments**")
    );
    assert_eq!(w.registration_state(ADA).await, RegistrationState::Approved);
    let adas = w.app.store.registrations_of(ADA).await.unwrap();
    assert!(w.app.store.payments(&adas[0].0.order_id).await.unwrap().is_empty(), "no payment");
    assert_eq!(w.payflow.charges(), 0);

    // The seat is taken: Bob's free code is refused as a payment would be, and takes no use.
    let refused = apply(&bobs, "FREE").await;
    assert_eq!(refused.status(), 422);
    assert!(refused.text().await.unwrap().contains("the session is full"));
    assert_eq!(w.uses("FREE").await, 1);
    assert_eq!(w.registration_state(BOB).await, RegistrationState::AwaitingPayment);
    tokio::time::sleep(Duration::from_millis(1500)).await;
    assert_eq!(dms(&w.discord, ADA).len(), 1, "told once");
    assert_eq!(w.zoom.registrants(&meeting).len(), 1);

    // Ada cancels her free seat before the site's deadline: nothing to refund, the code's use
    // comes back, and the seat is free for Bob's code.
    let terms = chat::sub("cancellation", options(&[("hours", json!(1))]));
    let set = w.ask(chat::command(BOB, "terms", "admin", terms, ADMIN)).await;
    assert!(content(&set).contains("1"), "{set}");
    let cancel = chat::sub("cancel", options(&[("session", json!(meeting))]));
    let cancelled = w.ask(chat::command(ADA, "cancel-free", "registrations", cancel, MEMBER)).await;
    assert!(content(&cancelled).contains("nothing is refunded"), "{cancelled}");
    assert_eq!(w.registration_state(ADA).await, RegistrationState::Cancelled);
    assert_eq!(w.uses("FREE").await, 0);
    assert!(w.payflow.credited().is_empty());
    assert_eq!(apply(&bobs, "FREE").await.status(), 200, "the freed seat takes Bob's code");
    eventually("Bob admitted", || w.zoom.registrants(&meeting).len() == 2).await;
    assert_eq!(w.uses("FREE").await, 1);
}

async fn two_attendees_racing_for_a_codes_last_use_exactly_one_gets_it(db: Db) {
    let w = world(&db).await;
    let meeting = w.schedule("zoom", "25.00", None).await;
    for round in 0..5u64 {
        let name = format!("LAST{round}");
        let code = stored_code(&name, &meeting, Off::Percent(Decimal::TEN), Some(1));
        w.app.store.add_code(&code).await.unwrap();
        let (a, b) = (8000 + 2 * round, 8001 + 2 * round);
        let link_a =
            link(&w.register_with(a, &meeting, &format!("A{round}"), None, "en-US").await).unwrap();
        let link_b =
            link(&w.register_with(b, &meeting, &format!("B{round}"), None, "en-US").await).unwrap();
        let (ra, rb) = tokio::join!(apply(&link_a, &name), apply(&link_b, &name));
        let mut statuses = [ra.status().as_u16(), rb.status().as_u16()];
        statuses.sort();
        assert_eq!(statuses, [303, 422], "round {round}: exactly one gets the last use");
        let refused = if ra.status() == 422 { ra } else { rb };
        assert!(refused.text().await.unwrap().contains("is used up"), "round {round}");
        assert_eq!(w.uses(&name).await, 1, "round {round}");
        let mut got = Vec::new();
        for user in [a, b] {
            let mine = w.app.store.registrations_of(user).await.unwrap();
            let order = w.app.store.order(&mine[0].0.order_id).await.unwrap().unwrap();
            got.push(order.discount.is_some());
        }
        assert_eq!(got.iter().filter(|d| **d).count(), 1, "round {round}: {got:?}");
    }
}

async fn codes_are_managed_by_the_sessions_host_or_an_administrator_only(db: Db) {
    let w = world(&db).await;
    let meeting = w.schedule("zoom", "25.00", None).await;
    let other: Email = "other@example.com".parse().unwrap();
    w.app.store.link_discord_user(BOB, &other, 1).await.unwrap();
    let on_meeting = |code: &str| {
        vec![
            ("code", json!(code)),
            ("percent", json!("10")),
            ("platform", json!("zoom")),
            ("meeting", json!(meeting.clone())),
        ]
    };
    // Another host neither adds to nor removes from this host's session, nor adds site-wide.
    let by_bob = w.code(BOB, MEMBER, "add", &on_meeting("BOBS"), "en-US").await;
    assert!(by_bob.contains("No session zoom/"), "{by_bob}");
    let site_wide = w
        .code(BOB, MEMBER, "add", &[("code", json!("ALL")), ("percent", json!("10"))], "en-US")
        .await;
    assert!(site_wide.contains("Only a site administrator"), "{site_wide}");
    assert!(
        w.host_adds(&meeting, &[("code", json!("HOSTS")), ("percent", json!("10"))])
            .await
            .contains("Added")
    );
    let removed_by_bob = w.code(BOB, MEMBER, "remove", &[("code", json!("hosts"))], "en-US").await;
    assert!(removed_by_bob.contains("No live code `HOSTS` is yours"), "{removed_by_bob}");
    // Bad input is named.
    let bad_percent =
        w.host_adds(&meeting, &[("code", json!("BAD")), ("percent", json!("150"))]).await;
    assert!(
        bad_percent.contains("`percent`") && bad_percent.contains("above 0 and at most 100"),
        "{bad_percent}"
    );
    let both = w
        .host_adds(
            &meeting,
            &[("code", json!("BAD")), ("percent", json!("10")), ("amount", json!("1.00"))],
        )
        .await;
    assert!(both.contains("either a percentage or an amount"), "{both}");
    let fraction =
        w.host_adds(&meeting, &[("code", json!("BAD")), ("amount", json!("1.005"))]).await;
    assert!(fraction.contains("`amount`"), "{fraction}");
    let half = w
        .code(
            HOST_USER,
            MEMBER,
            "add",
            &[("code", json!("BAD")), ("percent", json!("5")), ("platform", json!("zoom"))],
            "en-US",
        )
        .await;
    assert!(half.contains("`meeting`"), "{half}");
    let past = w
        .host_adds(
            &meeting,
            &[
                ("code", json!("BAD")),
                ("percent", json!("5")),
                ("expires", json!("2020-01-01 10:00")),
            ],
        )
        .await;
    assert!(past.contains("`expires`") && past.contains("in the future"), "{past}");
    let again = w.host_adds(&meeting, &[("code", json!("hosts")), ("percent", json!("5"))]).await;
    assert!(again.contains("A live code `HOSTS` exists already"), "{again}");
    let expiring = w
        .host_adds(
            &meeting,
            &[
                ("code", json!("LATER")),
                ("amount", json!("2.00")),
                ("expires", json!("2030-11-30 12:00")),
            ],
        )
        .await;
    assert!(expiring.contains("expires <t:"), "{expiring}");

    let listed = w
        .code(
            HOST_USER,
            MEMBER,
            "list",
            &[("platform", json!("zoom")), ("meeting", json!(meeting.clone()))],
            "en-US",
        )
        .await;
    assert!(
        listed.starts_with("Promotion codes:")
            && listed.contains("`HOSTS`")
            && listed.contains("`LATER`"),
        "{listed}"
    );
    assert!(!listed.contains("BAD"), "{listed}");
    let all = w.code(BOB, ADMIN, "list", &[], "en-US").await;
    assert!(all.contains("`HOSTS`"), "{all}");
    let removed = w.code(BOB, ADMIN, "remove", &[("code", json!("Hosts"))], "en-US").await;
    assert!(removed.contains("Removed the code `HOSTS`"), "{removed}");
    let gone = w.register_with(ADA, &meeting, "Ada", Some("hosts"), "en-US").await;
    assert!(content(&gone).contains("there is no promotion code `HOSTS`"), "{gone}");
    // The name is free again.
    assert!(
        w.host_adds(&meeting, &[("code", json!("HOSTS")), ("percent", json!("15"))])
            .await
            .contains("Added")
    );
}

async fn attendees_and_hosts_read_codes_in_norwegian(db: Db) {
    let w = world(&db).await;
    let meeting = w.schedule("zoom", "25.00", None).await;
    let mut opts = vec![("platform", json!("zoom")), ("meeting", json!(meeting.clone()))];
    opts.extend([("code", json!("vinter")), ("percent", json!("12.5"))]);
    let added = w.code(HOST_USER, MEMBER, "add", &opts, "no").await;
    assert!(added.contains("La til koden `VINTER`: 12.5 % rabatt for økten zoom/"), "{added}");
    let unknown = w.register_with(ADA, &meeting, "Ada", Some("sommer"), "no").await;
    assert!(
        content(&unknown).contains("Koden ble ikke brukt: det finnes ingen rabattkode `SOMMER`"),
        "{unknown}"
    );
    let answer = w.register_with(ADA, &meeting, "Ada", Some("vinter"), "no").await;
    // 25.00 × 12.5 % = 3.125, rounded half-up to 3.13.
    let said = content(&answer);
    assert!(
        said.contains("Betal 21.87 USD") && said.contains("minus 3.13 USD med koden `VINTER`"),
        "{said}"
    );
    let page = text(&link(&answer).unwrap()).await;
    assert!(page.contains("Rabatt (kode VINTER)") && page.contains("Gebyr"), "{page}");
    let refused = apply(&link(&answer).unwrap(), "vinter").await;
    assert!(refused.text().await.unwrap().contains("Koden ble ikke brukt"));
}

async fn cancelling_a_session_gives_back_the_uses_of_its_unpaid_and_free_registrations(db: Db) {
    let w = world(&db).await;
    let meeting = w.schedule("zoom", "25.00", None).await;
    w.host_adds(
        &meeting,
        &[("code", json!("FREE")), ("percent", json!("100")), ("uses", json!(3))],
    )
    .await;
    w.host_adds(&meeting, &[("code", json!("HALF")), ("percent", json!("50")), ("uses", json!(1))])
        .await;
    w.register_with(ADA, &meeting, "Ada", Some("free"), "en-US").await;
    eventually("Ada registered", || w.zoom.registrants(&meeting).len() == 1).await;
    let bobs = w.register_with(BOB, &meeting, "Bob", Some("half"), "en-US").await;
    assert!(content(&bobs).contains("Pay 12.50 USD"), "{bobs}");
    assert_eq!((w.uses("FREE").await, w.uses("HALF").await), (1, 1));

    let opts = options(&[("platform", json!("zoom")), ("meeting", json!(meeting.clone()))]);
    let data = json!({"id": "55", "name": "session", "type": 1,
        "options": [{"name": "cancel", "type": 1, "options": opts}]});
    let cancelled =
        content(&w.ask(interaction(HOST_USER, "cancel", 2, data, "en-US", MEMBER)).await);
    assert!(
        cancelled.contains("0 paid registrations are being refunded, 2 unpaid ones closed"),
        "{cancelled}"
    );
    assert_eq!((w.uses("FREE").await, w.uses("HALF").await), (0, 0), "both uses given back");
    for user in [ADA, BOB] {
        assert_eq!(w.registration_state(user).await, RegistrationState::Cancelled);
    }
    eventually("Ada told", || dms(&w.discord, ADA).len() == 2).await;
    let told = content(&dms(&w.discord, ADA)[1]);
    assert!(
        told.contains("was cancelled by its host") && told.contains("nothing was paid"),
        "{told}"
    );
    tokio::time::sleep(Duration::from_millis(1500)).await;
    assert_eq!(w.payflow.credits(), 0, "nothing was paid, nothing is refunded");
    assert!(dms(&w.discord, BOB).is_empty(), "Bob had nothing: he is not told");
}

async fn the_pay_page_with_a_code_applied_in_chromium(db: Db) {
    let Some(chrome) = chromium() else { return };
    let w = world(&db).await;
    let meeting = w.schedule("zoom", "25.00", None).await;
    w.host_adds(&meeting, &[("code", json!("SPRING25")), ("percent", json!("25"))]).await;
    let pay_link = link(&w.register_with(ADA, &meeting, "Ada", None, "en-US").await).unwrap();
    let before = tokio::task::spawn_blocking({
        let (chrome, pay_link) = (chrome.clone(), pay_link.clone());
        move || dump_dom(&chrome, &pay_link)
    })
    .await
    .unwrap();
    assert!(before.contains("id=\"code-form\"") && before.contains("Promotion code"), "{before}");
    let form = format!("pay-page-code-form-{}.png", db.backend);
    crate::pay_page::save_screenshot(&chrome, &pay_link, &form).await;
    assert_eq!(apply(&pay_link, "spring25").await.status(), 303);
    let dom = tokio::task::spawn_blocking({
        let (chrome, pay_link) = (chrome.clone(), pay_link.clone());
        move || dump_dom(&chrome, &pay_link)
    })
    .await
    .unwrap();
    for shown in [
        "<td>Fee</td><td class=\"num\">25.00 USD</td>",
        "<td>Discount (code SPRING25)</td><td class=\"num\">−6.25 USD</td>",
        "<td>Total</td><td class=\"num\">18.75 USD</td>",
        "id=\"method-payflow\"",
    ] {
        assert!(dom.contains(shown), "{shown}: {dom}");
    }
    let name = format!("pay-page-code-{}.png", db.backend);
    crate::pay_page::save_screenshot(&chrome, &pay_link, &name).await;
    println!("screenshot: {}", crate::pay_page::screenshot_path(&name).display());
}
