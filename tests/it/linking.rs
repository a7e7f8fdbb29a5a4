//! Hosts who link themselves (`/link`): the member follows the button to the platform's
//! OAuth consent (the Webex or Zoom emulator), the platform sends them back to
//! `/oauth/{platform}/callback`, and they can pay without an administrator. Whatever goes
//! wrong on the way changes nothing.

use crate::common;
use crate::common::chat;
use crate::emulators;

use serde_json::{Value, json};
use tollbooth_core::config::Config;
use tollbooth_core::email::Email;
use tollbooth_core::site::{Division, DivisionId};
use tollbooth_core::store::{DiscordLinkStore, SiteStore, Switches};

use chat::MEMBER;
use common::Db;
use common::app::browser;
use common::pay::location;
use common::world::{HOST, HOST_USER, World};
use emulators::oauth::{self, Provider};

/// A member no administrator linked.
const MEMBER_ID: u64 = 5151;
const EMAIL: &str = "self-linked@example.com";
const DIVISION: &str = "training";

on_both_backends!(
    a_member_links_through_webex_and_pays_without_an_administrator,
    a_member_links_through_zoom_and_pays_without_an_administrator,
    a_replayed_state_or_code_changes_nothing,
    denied_consent_changes_nothing,
    an_email_another_member_linked_is_refused,
    link_says_when_the_platform_is_not_set_up,
);

fn with_oauth(c: &mut Config) {
    oauth::apps(c);
}

/// Everything started with both platforms' OAuth apps, pay-per-use on, and a default division.
async fn world(db: &Db) -> World {
    let switches =
        Switches { ecommerce_enabled: true, pay_per_use_enabled: true, fee_based_enabled: false };
    let w = World::serve_with(db, switches, 30, with_oauth).await;
    let training: DivisionId = DIVISION.parse().unwrap();
    let division = Division { id: training.clone(), name: "Training".into() };
    w.app.store.put_division(&division).await.unwrap();
    w.app.store.set_default_division(&training).await.unwrap();
    w
}

/// `/link` (on `platform`, or the default) as [`MEMBER_ID`]; the ephemeral answer.
async fn link(w: &World, platform: Option<&str>) -> Value {
    let options = match platform {
        Some(p) => json!([{"name": "platform", "type": 3, "value": p}]),
        None => json!([]),
    };
    let token = format!("link-{}", rand::random::<u32>());
    let command = chat::command(MEMBER_ID, &token, "link", options, MEMBER);
    chat::ask(&w.app.base, &w.discord, &command).await
}

/// Follows the consent button as the member's browser: the platform's authorize page sends
/// it back; returns the callback URL it was sent to.
async fn consent(button: &str) -> String {
    location(&browser().get(button).send().await.unwrap())
}

/// Opens a callback URL; its status and page.
async fn open(url: &str) -> (u16, String) {
    let response = browser().get(url).send().await.unwrap();
    (response.status().as_u16(), response.text().await.unwrap())
}

/// Runs `/link` and follows its button; the callback URL the platform sent the browser to.
async fn through_consent(w: &World, platform: Option<&str>) -> String {
    let answer = link(w, platform).await;
    assert_eq!(answer["flags"], 64, "the consent link is for the member's eyes only");
    let button = chat::link(&answer).expect("a link button");
    consent(&button).await
}

async fn linked(w: &World, member: u64) -> Option<Email> {
    w.app.store.linked_host(member).await.unwrap()
}

async fn links_and_pays(db: Db, platform: &str, provider: fn(&World) -> &Provider) {
    let w = world(&db).await;
    provider(&w).sign_in(EMAIL);
    let option = (platform != "webex").then_some(platform);
    let callback = through_consent(&w, option).await;
    assert!(callback.starts_with(&format!("{}/oauth/{platform}/callback?", w.app.base)));
    let (status, page) = open(&callback).await;
    assert_eq!(status, 200, "{page}");
    assert!(page.contains(&format!("Discord member {MEMBER_ID} now acts as host {EMAIL}")));
    let email: Email = EMAIL.parse().unwrap();
    assert_eq!(linked(&w, MEMBER_ID).await, Some(email.clone()));
    let host = w.app.store.host(&email).await.unwrap().unwrap();
    assert_eq!(host.division.unwrap().as_str(), DIVISION, "a new host lands in the default");

    // No administrator ran anything: the member's own pay link works.
    let click = chat::click(MEMBER_ID, "pay-1", "quote:pay:60:10:3");
    let paid = chat::ask(&w.app.base, &w.discord, &click).await;
    let pay_link = chat::link(&paid).expect("a pay link, not a request to be linked");
    let back = w.pay_in_sandbox(&pay_link).await;
    assert!(back.contains("Payment authorised"), "{back}");
}

async fn a_member_links_through_webex_and_pays_without_an_administrator(db: Db) {
    links_and_pays(db, "webex", |w| &w.webex.oauth).await;
}

async fn a_member_links_through_zoom_and_pays_without_an_administrator(db: Db) {
    links_and_pays(db, "zoom", |w| &w.zoom.oauth).await;
}

async fn a_replayed_state_or_code_changes_nothing(db: Db) {
    let w = world(&db).await;
    w.webex.oauth.sign_in(EMAIL);
    let first = through_consent(&w, None).await;
    assert_eq!(open(&first).await.0, 200);
    let email: Email = EMAIL.parse().unwrap();
    assert_eq!(linked(&w, MEMBER_ID).await, Some(email.clone()));

    // The same callback again (a reload, or someone who saw the URL): refused before the code
    // is tried again, on any instance.
    let (status, page) = open(&first).await;
    assert_eq!(status, 410, "{page}");
    assert!(page.contains("already used"), "{page}");
    // Another instance on the same database knows it was spent too.
    let second = w.another_server(&db).await;
    assert_eq!(open(&first.replace(&w.app.base, &second.base)).await.0, 410);
    assert_eq!(w.webex.oauth.tokens_issued(), 1);

    // The spent code under a fresh state, now for another account: the platform refuses it.
    w.webex.oauth.sign_in("someone-else@example.com");
    let fresh = through_consent(&w, None).await;
    let code = |url: &str| {
        let url = url::Url::parse(url).unwrap();
        url.query_pairs().find(|(k, _)| k == "code").unwrap().1.into_owned()
    };
    let replayed = fresh.replace(&code(&fresh), &code(&first));
    let (status, page) = open(&replayed).await;
    assert_eq!(status, 400, "{page}");
    assert!(page.contains("nothing changed"), "{page}");
    assert_eq!(w.webex.oauth.tokens_issued(), 1, "the spent code bought no token");
    assert_eq!(linked(&w, MEMBER_ID).await, Some(email));

    // A forged state is refused outright.
    let forged = first.replace("state=", "state=x");
    assert_eq!(open(&forged).await.0, 400);
}

async fn denied_consent_changes_nothing(db: Db) {
    let w = world(&db).await;
    w.zoom.oauth.sign_in(EMAIL);
    w.zoom.oauth.refuse();
    let callback = through_consent(&w, Some("zoom")).await;
    assert!(callback.contains("error=access_denied"), "{callback}");
    let (status, page) = open(&callback).await;
    assert_eq!(status, 200, "{page}");
    assert!(page.contains("You did not allow access, so nothing changed"), "{page}");
    assert_eq!(linked(&w, MEMBER_ID).await, None);
    assert_eq!(w.app.store.host(&EMAIL.parse().unwrap()).await.unwrap(), None);
    assert_eq!(w.zoom.oauth.tokens_issued(), 0);
}

async fn an_email_another_member_linked_is_refused(db: Db) {
    let w = world(&db).await;
    // World linked HOST_USER to HOST; another member signs in with that account.
    w.webex.oauth.sign_in(HOST);
    let callback = through_consent(&w, None).await;
    let (status, page) = open(&callback).await;
    assert_eq!(status, 409, "{page}");
    assert!(page.contains(&format!("already acts as host {HOST}")), "{page}");
    assert_eq!(linked(&w, MEMBER_ID).await, None);
    assert_eq!(linked(&w, HOST_USER).await, Some(HOST.parse().unwrap()));
    let host = w.app.store.host(&HOST.parse().unwrap()).await.unwrap();
    assert_eq!(host, None, "not put in the default division either");
}

async fn link_says_when_the_platform_is_not_set_up(db: Db) {
    let switches =
        Switches { ecommerce_enabled: true, pay_per_use_enabled: true, fee_based_enabled: false };
    let w = World::serve(&db, switches, 30).await;
    let answer = link(&w, Some("zoom")).await;
    assert_eq!(chat::link(&answer), None);
    let text = answer["content"].as_str().unwrap();
    assert!(text.contains("Linking through Zoom is not set up"), "{text}");
}
