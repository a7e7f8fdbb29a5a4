//! The Discord interactions endpoint over real HTTP, with real Ed25519 signatures, on both
//! backends; deferred answers and pay links against the Discord emulator.

use crate::common;
use crate::common::chat;
use crate::emulators;

use axum::http::Method;
use ed25519_dalek::{Signer, SigningKey};
use serde_json::{Value, json};
use tollbooth_core::config::Config;
use tollbooth_core::email::Email;
use tollbooth_core::payments::method::Method as PayMethod;
use tollbooth_core::payments::order::OrderId;
use tollbooth_core::platform::PlatformKind;
use tollbooth_core::site::{Division, OverBudgetPolicy};
use tollbooth_core::store::{
    DiscordLinkStore, NewDelivery, PaymentStore, SessionStore, SiteStore, Switches,
};

use chat::{ADMIN, MEMBER, key, sub};
use common::app::{App, browser};
use common::{Db, TempDir, binary};
use emulators::discord::{APPLICATION_ID, DiscordEmulator};

const USER_ID: u64 = 4242;

struct Bot {
    app: App,
    discord: DiscordEmulator,
    client: reqwest::Client,
}

async fn start(db: &Db) -> Bot {
    start_with(db, |_| {}).await
}

/// The bot over HTTP with the configuration further changed by `configure`.
async fn start_with(db: &Db, configure: impl FnOnce(&mut Config)) -> Bot {
    let discord = DiscordEmulator::start().await;
    let clients = emulators::clients(None, None, Some(&discord));
    let app = App::configured(db, |c| {
        clients(c);
        configure(c);
    })
    .await;
    Bot { app, discord, client: reqwest::Client::new() }
}

impl Bot {
    /// Posts `body` signed with `signer` (None: no signature headers at all).
    async fn post_signed(&self, body: &[u8], signer: Option<&SigningKey>) -> reqwest::Response {
        let mut request = self
            .client
            .post(format!("{}/discord/interactions", self.app.base))
            .header("content-type", "application/json")
            .body(body.to_vec());
        if let Some(signer) = signer {
            let ts = chrono::Utc::now().timestamp().to_string();
            let signature = signer.sign(&[ts.as_bytes(), body].concat());
            request = request
                .header("x-signature-ed25519", hex::encode(signature.to_bytes()))
                .header("x-signature-timestamp", ts);
        }
        request.send().await.unwrap()
    }

    /// Sends an interaction signed with the application's key and returns the JSON answer.
    async fn interact(&self, interaction: &Value) -> Value {
        let response = self.post_signed(interaction.to_string().as_bytes(), Some(&key())).await;
        assert_eq!(response.status(), 200);
        response.json().await.unwrap()
    }
}

fn interaction(kind: u8, data: Value, locale: &str, permissions: &str) -> Value {
    chat::interaction(USER_ID, "itok-1", kind, data, locale, permissions)
}

fn command(name: &str, options: Value, locale: &str, permissions: &str) -> Value {
    interaction(
        2,
        json!({"id": "55", "name": name, "type": 1, "options": options}),
        locale,
        permissions,
    )
}

fn quote(minutes: i64, computers: i64, phones: i64) -> Value {
    command(
        "quote",
        json!([
            {"name": "minutes", "type": 4, "value": minutes},
            {"name": "computers", "type": 4, "value": computers},
            {"name": "phones", "type": 4, "value": phones}
        ]),
        "en-US",
        MEMBER,
    )
}

const EPHEMERAL: u64 = 64;

fn content(answer: &Value) -> &str {
    answer["data"]["content"].as_str().unwrap_or_default()
}

fn is_ephemeral(answer: &Value) -> bool {
    answer["data"]["flags"].as_u64().unwrap_or(0) & EPHEMERAL != 0
}

on_both_backends!(
    only_requests_signed_with_the_application_key_are_answered,
    quote_gives_the_same_lines_and_total_as_the_command_line,
    change_opens_a_form_and_its_answer_quotes_again,
    pay_answers_with_an_ephemeral_link_to_the_pay_page,
    admin_is_refused_to_members_without_manage_server,
    admin_methods_choose_what_the_pay_page_offers,
    bad_options_get_an_ephemeral_error_naming_the_option,
    a_slow_command_is_deferred_and_finished_through_the_webhook,
    a_host_sees_only_the_sessions_the_platform_says_they_host,
    a_quote_warns_when_it_would_take_the_division_over_its_budget,
    paying_over_a_divisions_budget_is_refused_in_chat_and_on_the_pay_page_when_the_site_blocks_it,
);

async fn only_requests_signed_with_the_application_key_are_answered(db: Db) {
    let bot = start(&db).await;
    let ping = json!({"type": 1, "id": "1", "application_id": APPLICATION_ID, "token": "tok", "version": 1});
    let body = ping.to_string();
    let good = bot.post_signed(body.as_bytes(), Some(&key())).await;
    assert_eq!(good.status(), 200);
    assert!(good.headers()["content-type"].to_str().unwrap().starts_with("application/json"));
    let pong: Value = good.json().await.unwrap();
    assert_eq!(pong["type"], 1, "PING → PONG");

    let missing = bot.post_signed(body.as_bytes(), None).await;
    assert_eq!(missing.status(), 401);
    let other_key = SigningKey::from_bytes(&[8; 32]);
    assert_eq!(bot.post_signed(body.as_bytes(), Some(&other_key)).await.status(), 401);
    // Signed, then changed on the way: the signature no longer covers the body.
    let ts = chrono::Utc::now().timestamp().to_string();
    let signature = key().sign(&[ts.as_bytes(), body.as_bytes()].concat());
    let tampered = bot
        .client
        .post(format!("{}/discord/interactions", bot.app.base))
        .header("x-signature-ed25519", hex::encode(signature.to_bytes()))
        .header("x-signature-timestamp", &ts)
        .body(body.replace("\"tok\"", "\"tak\""))
        .send()
        .await
        .unwrap();
    assert_eq!(tampered.status(), 401);
    let garbage = bot
        .client
        .post(format!("{}/discord/interactions", bot.app.base))
        .header("x-signature-ed25519", "zz")
        .header("x-signature-timestamp", &ts)
        .body(body.clone())
        .send()
        .await
        .unwrap();
    assert_eq!(garbage.status(), 401);
}

async fn quote_gives_the_same_lines_and_total_as_the_command_line(db: Db) {
    let bot = start(&db).await;
    let answer = bot.interact(&quote(60, 10, 3)).await;
    assert_eq!(answer["type"], 4);
    let text = content(&answer);

    let dir = TempDir::new();
    let out = std::process::Command::new(binary())
        .current_dir(&dir.0)
        .args(["quote", "--minutes", "60", "--computers", "10", "--phones", "3", "--json"])
        .env("TOLLBOOTH_DATABASE_URL", &db.url)
        .env("RUST_LOG", "warn")
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let cli: Value = serde_json::from_slice(&out.stdout).unwrap();
    let cost = &cli["cost"];
    let cur = cost["currency"].as_str().unwrap();
    let line = |label: &str, l: &Value| {
        format!(
            "{label}: {} × {} {cur} = {} {cur}",
            l["minutes"],
            l["price_per_minute"].as_str().unwrap(),
            l["amount"].as_str().unwrap()
        )
    };
    assert!(text.contains(&line("Person-minutes", &cost["person"])), "{text}");
    assert!(text.contains(&line("Teleconference minutes", &cost["teleconference"])), "{text}");
    assert!(text.contains(&format!("Total: {} {cur}", cost["total"].as_str().unwrap())), "{text}");
    assert_eq!(cost["total"], "81.00");

    let buttons = &answer["data"]["components"][0]["components"];
    assert_eq!(buttons[0]["custom_id"], "quote:change:60:10:3");
    assert_eq!(buttons[1]["custom_id"], "quote:pay:60:10:3");

    let mut norwegian = quote(60, 10, 3);
    norwegian["locale"] = json!("no");
    let answer = bot.interact(&norwegian).await;
    assert!(content(&answer).contains("Beregnet øktkostnad"), "{}", content(&answer));
    assert!(content(&answer).contains("Totalt: 81.00 USD"), "{}", content(&answer));

    // Counts take their plural, in both languages.
    let one = content(&bot.interact(&quote(1, 1, 1)).await).to_owned();
    assert!(one.contains("1 minute, 1 computer, 1 phone\n"), "{one}");
    let mut norwegian = quote(1, 1, 0);
    norwegian["locale"] = json!("no");
    let one = content(&bot.interact(&norwegian).await).to_owned();
    assert!(one.contains("1 minutt, 1 datamaskin, 0 telefoner\n"), "{one}");
}

/// A click on one of the quote's buttons.
fn click(custom_id: &str) -> Value {
    chat::click(USER_ID, "itok-1", custom_id)
}

async fn change_opens_a_form_and_its_answer_quotes_again(db: Db) {
    let bot = start(&db).await;
    let form = bot.interact(&click("quote:change:60:10:3")).await;
    assert_eq!(form["type"], 9, "a modal");
    assert_eq!(form["data"]["custom_id"], "quote:form");
    let fields: Vec<_> = form["data"]["components"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["components"][0].clone())
        .collect();
    assert_eq!(fields[0]["custom_id"], "minutes");
    assert_eq!(fields[0]["value"], "60");

    let submit = |minutes: &str| {
        let row = |id: &str, value: &str| json!({"type": 1, "components": [{"type": 4, "custom_id": id, "value": value}]});
        interaction(
            5,
            json!({"custom_id": "quote:form", "components": [
                row("minutes", minutes), row("computers", "10"), row("phones", "0")]}),
            "en-US",
            MEMBER,
        )
    };
    let updated = bot.interact(&submit("30")).await;
    assert_eq!(updated["type"], 7, "the quote message is replaced");
    assert!(
        content(&updated).contains("Person-minutes: 300 × 0.12 USD = 36.00 USD"),
        "{}",
        content(&updated)
    );
    assert!(content(&updated).contains("Total: 36.00 USD"));

    let refused = bot.interact(&submit("thirty")).await;
    assert!(is_ephemeral(&refused));
    assert!(content(&refused).contains("`minutes`"), "{}", content(&refused));
}

async fn pay_answers_with_an_ephemeral_link_to_the_pay_page(db: Db) {
    let bot = start(&db).await;
    let off = bot.interact(&click("quote:pay:60:10:3")).await;
    assert!(is_ephemeral(&off));
    assert!(content(&off).contains("turned off"), "{}", content(&off));

    let store = &bot.app.store;
    store
        .set_switches(Switches {
            ecommerce_enabled: true,
            pay_per_use_enabled: true,
            fee_based_enabled: false,
        })
        .await
        .unwrap();
    let unlinked = bot.interact(&click("quote:pay:60:10:3")).await;
    assert!(content(&unlinked).contains("/admin link"), "{}", content(&unlinked));

    let host: Email = "host@example.com".parse().unwrap();
    store.link_discord_user(USER_ID, &host, 1).await.unwrap();
    let paid = bot.interact(&click("quote:pay:60:10:3")).await;
    assert_eq!(paid["type"], 4);
    assert!(is_ephemeral(&paid), "pay links are for the payer's eyes only");
    // The estimate (81.00) plus the default 15 % headroom.
    assert!(content(&paid).contains("Pay 93.15 USD"), "{}", content(&paid));
    assert!(content(&paid).contains("estimate of 81.00 USD"), "{}", content(&paid));
    let button = &paid["data"]["components"][0]["components"][0];
    assert_eq!(button["style"], 5, "a link button");
    let url = button["url"].as_str().unwrap();
    assert!(url.starts_with(&format!("{}/pay/", bot.app.base)), "{url}");
    // The member's language rides on the link, whatever the browser prefers.
    assert!(url.ends_with("?lang=en"), "{url}");
    let page = reqwest::get(url).await.unwrap();
    assert_eq!(page.status(), 200);
    let html = page.text().await.unwrap();
    assert!(html.contains("81.00") && html.contains("93.15"), "the estimate and what is held");
    // One way to change the plan: the page's own form, not a link back to the quote too.
    assert!(html.contains("id=\"change-plan\""), "{html}");
    assert!(!html.contains("https://discord.com/channels/700/800/9001"), "{html}");

    // A Norwegian member's *Pay now* opens the pay page in Norwegian, even for a browser that
    // asks for English.
    let mut norwegian = click("quote:pay:60:10:3");
    norwegian["locale"] = json!("no");
    let paid = bot.interact(&norwegian).await;
    assert!(content(&paid).starts_with("Betal 93.15 USD"), "{}", content(&paid));
    let button = &paid["data"]["components"][0]["components"][0];
    assert_eq!(button["label"], "Betal nå");
    let url = button["url"].as_str().unwrap();
    assert!(url.ends_with("?lang=no"), "{url}");
    let page = reqwest::Client::new().get(url).header("accept-language", "en").send().await;
    let html = page.unwrap().text().await.unwrap();
    assert!(html.contains(r#"<html lang="no">"#), "{html}");
    assert!(html.contains("Beregnet øktkostnad"), "{html}");
    assert!(html.contains("60 minutter, 10 datamaskiner, 3 telefoner"), "{html}");
}

async fn admin_is_refused_to_members_without_manage_server(db: Db) {
    let bot = start(&db).await;
    let on = sub("ecommerce", json!([{"name": "enabled", "type": 5, "value": true}]));
    let refused = bot.interact(&command("admin", on.clone(), "en-US", MEMBER)).await;
    assert!(is_ephemeral(&refused));
    assert!(content(&refused).contains("Manage Server"), "{}", content(&refused));
    assert!(!bot.app.store.site_settings().await.unwrap().ecommerce_enabled);

    let done = bot.interact(&command("admin", on, "en-US", ADMIN)).await;
    assert!(content(&done).contains("E-commerce: on"), "{}", content(&done));
    assert!(bot.app.store.site_settings().await.unwrap().ecommerce_enabled);

    let prices = sub(
        "prices",
        json!([
        {"name": "person_minute", "type": 3, "value": "0.10"},
        {"name": "teleconference_minute", "type": 3, "value": "0.04"}]),
    );
    let set = bot.interact(&command("admin", prices, "no", ADMIN)).await;
    assert!(content(&set).contains("Priser fra nå: 0.10 USD"), "{}", content(&set));
    let after = bot.interact(&quote(10, 1, 0)).await;
    assert!(content(&after).contains("Total: 1.00 USD"), "{}", content(&after));

    let link = sub(
        "link",
        json!([
        {"name": "member", "type": 6, "value": "5151"},
        {"name": "email", "type": 3, "value": "Host@Example.com"}]),
    );
    bot.interact(&command("admin", link, "en-US", ADMIN)).await;
    let linked = bot.app.store.linked_host(5151).await.unwrap();
    assert_eq!(linked.unwrap().as_str(), "host@example.com");

    let host = sub(
        "host",
        json!([
        {"name": "email", "type": 3, "value": "host@example.com"},
        {"name": "division", "type": 3, "value": "nowhere"}]),
    );
    let unknown = bot.interact(&command("admin", host, "en-US", ADMIN)).await;
    assert!(content(&unknown).contains("nowhere"), "{}", content(&unknown));
}

/// The methods the pay page at `url` offers, by their form values.
async fn offered(url: &str) -> Vec<String> {
    let html = reqwest::get(url).await.unwrap().text().await.unwrap();
    html.split("id=\"method-")
        .skip(1)
        .map(|rest| rest.split('"').next().unwrap().to_owned())
        .collect()
}

async fn admin_methods_choose_what_the_pay_page_offers(db: Db) {
    let bot = start_with(&db, |c| {
        c.payments.methods = vec![PayMethod::Sandbox, PayMethod::Payflow];
    })
    .await;
    let order = bot.app.session_order().await;
    let url = bot.app.pay_link(&order, 1);
    assert_eq!(offered(&url).await, ["sandbox", "payflow"], "every configured method at first");
    let methods =
        |value: &str| sub("methods", json!([{"name": "methods", "type": 3, "value": value}]));

    let refused = bot.interact(&command("admin", methods("payflow"), "en-US", MEMBER)).await;
    assert!(is_ephemeral(&refused));
    assert!(content(&refused).contains("Manage Server"), "{}", content(&refused));
    assert_eq!(offered(&url).await, ["sandbox", "payflow"]);

    let done = bot.interact(&command("admin", methods("Payflow"), "en-US", ADMIN)).await;
    assert!(is_ephemeral(&done));
    assert_eq!(content(&done), "Payment methods offered in US: payflow");
    assert_eq!(offered(&url).await, ["payflow"]);

    // Unknown, or known but without a gateway here: refused by name, and nothing changes.
    let unknown = bot.interact(&command("admin", methods("sandbox,bitcoin"), "en-US", ADMIN)).await;
    assert!(is_ephemeral(&unknown));
    assert!(content(&unknown).starts_with("Option `methods`"), "{}", content(&unknown));
    assert!(content(&unknown).contains("`bitcoin`"), "{}", content(&unknown));
    let absent = bot.interact(&command("admin", methods("stripe"), "en-US", ADMIN)).await;
    assert!(content(&absent).contains("`stripe`, which is not configured"), "{}", content(&absent));
    assert_eq!(offered(&url).await, ["payflow"]);

    let all = bot.interact(&command("admin", methods("all"), "no", ADMIN)).await;
    assert_eq!(content(&all), "Betalingsmåter som tilbys i US: sandbox, payflow");
    assert_eq!(offered(&url).await, ["sandbox", "payflow"]);
}

async fn bad_options_get_an_ephemeral_error_naming_the_option(db: Db) {
    let bot = start(&db).await;
    let zero = bot.interact(&quote(0, 10, 3)).await;
    assert!(is_ephemeral(&zero));
    assert_eq!(content(&zero), "Option `minutes` must be between 1 and 1440, got 0.");
    let missing =
        command("quote", json!([{"name": "minutes", "type": 4, "value": 5}]), "en-US", MEMBER);
    assert_eq!(content(&bot.interact(&missing).await), "Option `computers` is required.");
    let wrong = command(
        "quote",
        json!([
        {"name": "minutes", "type": 3, "value": "five"},
        {"name": "computers", "type": 4, "value": 1}]),
        "no",
        MEMBER,
    );
    assert_eq!(content(&bot.interact(&wrong).await), "Valget `minutes` må være et heltall.");
    let currency = sub("currency", json!([{"name": "code", "type": 3, "value": "XYZ"}]));
    let answer = bot.interact(&command("admin", currency, "en-US", ADMIN)).await;
    assert!(is_ephemeral(&answer));
    assert!(content(&answer).starts_with("Option `code`"), "{}", content(&answer));
    // An interaction that does not parse, but is signed: 400, never a panic.
    let body = br#"{"type":2,"id":"1"}"#;
    assert_eq!(bot.post_signed(body, Some(&key())).await.status(), 400);
}

async fn a_slow_command_is_deferred_and_finished_through_the_webhook(db: Db) {
    let bot = start(&db).await;
    let division = Division { id: "sales-emea".parse().unwrap(), name: "Sales EMEA".into() };
    bot.app.store.put_division(&division).await.unwrap();
    let report = command(
        "report",
        json!([
            {"name": "division", "type": 3, "value": "sales-emea"},
            {"name": "from", "type": 3, "value": "2026-11-01"},
            {"name": "to", "type": 3, "value": "2026-11-30"}]),
        "en-US",
        ADMIN,
    );
    let first = bot.interact(&report).await;
    assert_eq!(first["type"], 5, "deferred: the user sees “thinking…”");
    assert!(is_ephemeral(&first));
    let path = format!("/api/v10/webhooks/{APPLICATION_ID}/itok-1/messages/@original");
    let edit = bot.discord.wait_for(Method::PATCH, &path).await;
    let text = edit.body.unwrap()["content"].as_str().unwrap().to_owned();
    assert!(text.contains("Sales EMEA") && text.contains("2026-11-01"), "{text}");
    assert!(text.contains("Total: 0.00 USD (0 sessions)"), "{text}");

    let text = status(&bot, "itok-2", "nope", MEMBER).await;
    assert!(text.contains("No session webex/nope"), "{text}");
}

/// `/session status` for a Webex meeting, sent with interaction token `token`; the deferred
/// answer's text as the emulator received it.
async fn status(bot: &Bot, token: &str, meeting: &str, permissions: &str) -> String {
    let options = json!([
        {"name": "platform", "type": 3, "value": "webex"},
        {"name": "meeting", "type": 3, "value": meeting}]);
    let mut status = command("session", sub("status", options), "en-US", permissions);
    status["token"] = json!(token);
    assert_eq!(bot.interact(&status).await["type"], 5);
    let path = format!("/api/v10/webhooks/{APPLICATION_ID}/{token}/messages/@original");
    let edit = bot.discord.wait_for(Method::PATCH, &path).await;
    edit.body.unwrap()["content"].as_str().unwrap().to_owned()
}

async fn a_host_sees_only_the_sessions_the_platform_says_they_host(db: Db) {
    let bot = start(&db).await;
    let store = &bot.app.store;
    let started = json!({"id": "hook", "resource": "meetings", "event": "started",
        "data": {"id": "m_I_1", "start": "2026-11-25T10:00:00Z", "hostEmail": "host@example.com"}});
    let delivery = NewDelivery {
        platform: PlatformKind::Webex,
        digest: "started-m_I_1".into(),
        meeting_id: "m_I_1".into(),
        body: started.to_string(),
        received_at: chrono::Utc::now(),
        observations: None,
    };
    store.store_deliveries(&[delivery]).await.unwrap();
    let state = &bot.app.state;
    while store
        .apply_deliveries(
            tollbooth_core::store::Pending::Oldest(100),
            &tollbooth_core::pay_per_use::service::StartsAndEnds { terms: &state.terms },
        )
        .await
        .unwrap()
        > 0
    {}

    let unlinked = status(&bot, "t1", "m_I_1", MEMBER).await;
    assert!(unlinked.contains("No session webex/m_I_1"), "{unlinked}");
    let other: Email = "other@example.com".parse().unwrap();
    store.link_discord_user(USER_ID, &other, 1).await.unwrap();
    let others = status(&bot, "t2", "m_I_1", MEMBER).await;
    assert!(others.contains("No session webex/m_I_1"), "someone else's meeting: {others}");
    let host: Email = "HOST@example.com".parse().unwrap();
    store.link_discord_user(USER_ID, &host, 1).await.unwrap();
    let own = status(&bot, "t3", "m_I_1", MEMBER).await;
    assert!(
        // 2026-11-25T10:00:00Z, which each reader's client shows in their own zone.
        own.contains("**Session webex/m_I_1**: running, started <t:1795600800:F>"),
        "{own}"
    );
    assert!(own.contains("Total so far: 0.00 USD"), "{own}");
    let admin = status(&bot, "t4", "m_I_1", ADMIN).await;
    assert!(admin.contains("running"), "administrators see every session: {admin}");
}

async fn a_quote_warns_when_it_would_take_the_division_over_its_budget(db: Db) {
    let bot = start(&db).await;
    let admin = |name: &str, options: Value| command("admin", sub(name, options), "en-US", ADMIN);
    let opt = |name: &str, value: &str| json!({"name": name, "type": 3, "value": value});
    let month = chrono::Utc::now().format("%Y-%m").to_string();
    for (sub_name, options) in [
        ("division", json!([opt("id", "sales"), opt("name", "Sales")])),
        ("host", json!([opt("email", "host@example.com"), opt("division", "sales")])),
        ("budget", json!([opt("division", "sales"), opt("month", &month), opt("amount", "50.00")])),
        ("exempt", json!([opt("who", "sales"), {"name": "exempt", "type": 5, "value": false}])),
    ] {
        let answer = bot.interact(&admin(sub_name, options)).await;
        assert!(!content(&answer).contains("Option"), "{sub_name}: {}", content(&answer));
    }
    let bad = bot
        .interact(&admin(
            "budget",
            json!([opt("division", "sales"), opt("month", "2026-13"), opt("amount", "5")]),
        ))
        .await;
    assert!(content(&bad).contains("month `2026-13`"), "{}", content(&bad));
    let host: Email = "host@example.com".parse().unwrap();
    bot.app.store.link_discord_user(USER_ID, &host, 1).await.unwrap();
    // 81.00 against a budget of 50.00 with nothing spent yet.
    let over = bot.interact(&quote(60, 10, 3)).await;
    assert!(
        content(&over)
            .contains(&format!("take division sales 31.00 USD over its budget for {month}")),
        "{}",
        content(&over)
    );
    let within = bot.interact(&quote(10, 1, 0)).await;
    assert!(!content(&within).contains("budget"), "{}", content(&within));
}

async fn paying_over_a_divisions_budget_is_refused_in_chat_and_on_the_pay_page_when_the_site_blocks_it(
    db: Db,
) {
    let bot = start(&db).await;
    let store = &bot.app.store;
    let admin = |name: &str, options: Value| command("admin", sub(name, options), "en-US", ADMIN);
    let opt = |name: &str, value: &str| json!({"name": name, "type": 3, "value": value});
    let enabled = json!({"name": "enabled", "type": 5, "value": true});
    let month = chrono::Utc::now().format("%Y-%m").to_string();
    for (sub_name, options) in [
        ("ecommerce", json!([enabled])),
        ("feature", json!([opt("feature", "pay-per-use"), enabled])),
        ("division", json!([opt("id", "sales"), opt("name", "Sales")])),
        ("host", json!([opt("email", "host@example.com"), opt("division", "sales")])),
        ("budget", json!([opt("division", "sales"), opt("month", &month), opt("amount", "50.00")])),
    ] {
        let answer = bot.interact(&admin(sub_name, options)).await;
        assert!(!content(&answer).contains("Option"), "{sub_name}: {}", content(&answer));
    }
    let host: Email = "host@example.com".parse().unwrap();
    store.link_discord_user(USER_ID, &host, 1).await.unwrap();
    let pay_link = |answer: &Value| {
        answer["data"]["components"][0]["components"][0]["url"].as_str().map(str::to_owned)
    };

    // By default an estimate of 81.00 against a budget of 50.00 is only a warning.
    assert_eq!(store.site_settings().await.unwrap().over_budget, OverBudgetPolicy::Warn);
    let warned = bot.interact(&click("quote:pay:60:10:3")).await;
    assert!(content(&warned).contains("Pay 93.15 USD"), "{}", content(&warned));
    let earlier = pay_link(&warned).expect("a pay link");

    let set = bot.interact(&admin("over-budget", json!([opt("action", "block")]))).await;
    assert!(
        content(&set).contains("paying for a session over its division's budget is refused"),
        "{}",
        content(&set)
    );
    assert_eq!(store.site_settings().await.unwrap().over_budget, OverBudgetPolicy::Block);
    let quoted = bot.interact(&quote(60, 10, 3)).await;
    assert!(content(&quoted).contains("does not let you pay"), "{}", content(&quoted));
    let refused = bot.interact(&click("quote:pay:60:10:3")).await;
    assert!(is_ephemeral(&refused));
    let why = content(&refused);
    assert!(
        why.contains(&format!(
            "refused. Division sales has a budget of 50.00 USD for {month}, and this session (81.00 USD) would take it 31.00 USD over"
        )),
        "{why}"
    );
    assert_eq!(pay_link(&refused), None, "no pay link");

    // The order made while the site only warned is refused on the pay page too, and no
    // checkout is opened for it.
    let page = reqwest::get(&earlier).await.unwrap();
    assert_eq!(page.status(), 403);
    let html = page.text().await.unwrap();
    assert!(html.contains("Division sales has a budget of 50.00 USD"), "{html}");
    assert!(html.contains("would take it 31.00 USD over"), "{html}");
    let chosen = browser().post(&earlier).form(&[("method", "sandbox")]).send().await.unwrap();
    assert_eq!(chosen.status(), 403);
    let token = earlier.rsplit('/').next().unwrap();
    let order: OrderId = token.split('.').next().unwrap().parse().unwrap();
    assert!(store.payments(&order).await.unwrap().is_empty(), "no checkout was opened");

    // Within the budget, paying works as before; and warning again lets the earlier order pay.
    let small = bot.interact(&click("quote:pay:10:1:0")).await;
    let link = pay_link(&small).expect("a pay link within the budget");
    assert_eq!(reqwest::get(&link).await.unwrap().status(), 200);
    bot.interact(&admin("over-budget", json!([opt("action", "warn")]))).await;
    assert_eq!(reqwest::get(&earlier).await.unwrap().status(), 200);
}
