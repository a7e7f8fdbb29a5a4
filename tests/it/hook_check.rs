//! `serve`'s check of the Webex hooks (`webex.hook_check_secs`): as a process against the
//! Webex emulator, and the keeper in this process with the clock passed in, so that Webex's
//! five-minute penalty window is crossed without waiting for it.

use crate::common;
use crate::emulators;

use std::time::{Duration, Instant};

use axum::http::{Method, StatusCode};
use secrecy::{ExposeSecret, SecretString};
use tollbooth_core::manifest::{self, Manifest};
use tollbooth_core::platform::hooks::{Keeper, Outcome, PENALTY_WINDOW};
use tollbooth_core::platform::webex_api::WebexApi;
use tollbooth_core::store::{self, SqlStore, WebhookSecretStore};

use Outcome::{Created, ReEnabled, SecretRenewed, Unchanged, Waiting};
use common::{Db, Server, TempDir};
use emulators::webex::{Fault, TOKEN, WebexEmulator};

const PUBLIC_URL: &str = "https://tollbooth.example.com";
const TARGET_URL: &str = "https://tollbooth.example.com/webhooks/webex";
const HOOKS: &str = "/v1/webhooks";

/// A keeper of the built-in manifest's hooks on `db`, as `serve` makes it.
async fn keeper(db: &Db, webex: &WebexEmulator) -> Keeper<SqlStore> {
    let manifest = Manifest::parse(manifest::BUILT_IN, "built in").unwrap();
    let api = WebexApi::new(webex.base.parse().unwrap(), SecretString::from(TOKEN)).unwrap();
    let store = store::open(&db.url).await.unwrap();
    let subscriptions = manifest.webhooks.webex.subscriptions;
    Keeper::new(api, store, subscriptions, TARGET_URL.into(), Duration::from_secs(600))
}

async fn check(keeper: &mut Keeper<SqlStore>, at: Instant) -> Vec<Outcome> {
    keeper.check(at).await.unwrap().expect("the only instance holds the lease")
}

on_both_backends!(
    a_disabled_hook_is_re_enabled_only_once_seen_inactive_for_five_minutes,
    of_two_instances_only_the_lease_holder_checks,
    two_servers_sharing_a_database_create_each_hook_once,
);

async fn a_disabled_hook_is_re_enabled_only_once_seen_inactive_for_five_minutes(db: Db) {
    let webex = WebexEmulator::start().await;
    let mut keeper = keeper(&db, &webex).await;
    let start = Instant::now();
    assert_eq!(check(&mut keeper, start).await, [Created; 4]);
    let disabled = webex.hooks()[1].clone();
    webex.auto_disable(&disabled.id);
    let put = format!("{HOOKS}/{}", disabled.id);

    let seen = start + Duration::from_secs(600);
    let waiting = [Unchanged, Waiting, Unchanged, Unchanged];
    assert_eq!(check(&mut keeper, seen).await, waiting);
    let almost = seen + PENALTY_WINDOW - Duration::from_secs(1);
    assert_eq!(check(&mut keeper, almost).await, waiting);
    assert_eq!(webex.count(Method::PUT, &put), 0, "not inside the penalty window");

    let after = seen + PENALTY_WINDOW;
    assert_eq!(check(&mut keeper, after).await, [Unchanged, ReEnabled, Unchanged, Unchanged]);
    assert_eq!(webex.count(Method::PUT, &put), 1);
    assert_eq!(webex.count(Method::POST, HOOKS), 4, "re-enabled, not recreated");
    assert!(webex.hooks().iter().all(|h| h.status == "active"));
    let s = store::open(&db.url).await.unwrap();
    let known = s.webhook_secret("webex", &disabled.id).await.unwrap().unwrap();
    assert_eq!(Some(known.expose_secret()), disabled.secret.as_deref(), "the secret kept");
}

#[tokio::test]
async fn a_hook_already_disabled_at_start_waits_out_a_whole_window() {
    // Webex does not say when it disabled a hook: the first sighting counts as the moment.
    let db = Db::sqlite();
    let webex = WebexEmulator::start().await;
    let manifest = Manifest::parse(manifest::BUILT_IN, "built in").unwrap();
    let ids: Vec<String> = manifest
        .webhooks
        .webex
        .subscriptions
        .iter()
        .map(|s| webex.seed_hook(&s.name, TARGET_URL, &s.resource, &s.event))
        .collect();
    webex.auto_disable(&ids[3]);
    let mut keeper = keeper(&db, &webex).await;
    let start = Instant::now();
    let first = check(&mut keeper, start).await;
    assert_eq!(first, [SecretRenewed, SecretRenewed, SecretRenewed, Waiting]);
    assert_eq!(webex.count(Method::PUT, &format!("{HOOKS}/{}", ids[3])), 0);
    let after = check(&mut keeper, start + PENALTY_WINDOW).await;
    assert_eq!(after, [Unchanged, Unchanged, Unchanged, ReEnabled]);
}

#[tokio::test]
async fn a_hook_re_enabled_by_hand_starts_a_new_window_when_disabled_again() {
    let db = Db::sqlite();
    let webex = WebexEmulator::start().await;
    let mut keeper = keeper(&db, &webex).await;
    let start = Instant::now();
    check(&mut keeper, start).await;
    let id = webex.hooks()[0].id.clone();
    webex.auto_disable(&id);
    assert_eq!(check(&mut keeper, start).await[0], Waiting);
    webex.state().hooks[0].status = "active".into();
    let minute = Duration::from_secs(60);
    assert_eq!(check(&mut keeper, start + minute).await[0], Unchanged);

    webex.auto_disable(&id);
    let again = start + PENALTY_WINDOW;
    assert_eq!(check(&mut keeper, again).await[0], Waiting, "seen inactive just now");
    assert_eq!(check(&mut keeper, again + PENALTY_WINDOW).await[0], ReEnabled);
    assert_eq!(webex.count(Method::PUT, &format!("{HOOKS}/{id}")), 1);
}

async fn of_two_instances_only_the_lease_holder_checks(db: Db) {
    let webex = WebexEmulator::start().await;
    let mut first = keeper(&db, &webex).await;
    let mut second = keeper(&db, &webex).await;
    let now = Instant::now();
    assert_eq!(first.check(now).await.unwrap(), Some(vec![Created; 4]));
    let calls = webex.calls().len();
    assert_eq!(second.check(now).await.unwrap(), None);
    assert_eq!(webex.calls().len(), calls, "the second called nobody");
    assert!(first.check(now).await.unwrap().is_some(), "the holder keeps its lease");
}

/// The environment of a `serve` that checks the hooks on `webex` every second.
fn checking<'a>(db: &'a Db, webex: &'a WebexEmulator) -> Vec<(&'static str, &'a str)> {
    vec![
        ("TOLLBOOTH_DATABASE_URL", db.url.as_str()),
        ("TOLLBOOTH_PUBLIC_URL", PUBLIC_URL),
        ("TOLLBOOTH_WEBEX__API_BASE", webex.base.as_str()),
        ("TOLLBOOTH_WEBEX__TOKEN", TOKEN),
        ("TOLLBOOTH_WEBEX__HOOK_CHECK_SECS", "1"),
    ]
}

/// Waits up to ten seconds for `done`.
async fn eventually(what: &str, mut done: impl AsyncFnMut() -> bool) {
    for _ in 0..100 {
        if done().await {
            return;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("never happened: {what}");
}

async fn metrics(server: &Server) -> String {
    reqwest::get(format!("{}/metrics", server.base)).await.unwrap().text().await.unwrap()
}

fn gauge(status: &str, n: u32) -> String {
    format!("webhook_hooks{{platform=\"webex\",status=\"{status}\"}} {n}\n")
}

#[tokio::test]
async fn serve_creates_the_missing_hooks_and_counts_them_by_status_in_metrics() {
    let db = Db::sqlite();
    let webex = WebexEmulator::start().await;
    webex.fail_next(Fault {
        status: StatusCode::SERVICE_UNAVAILABLE,
        message: "Service Unavailable".into(),
        retry_after: None,
    });
    let dir = TempDir::new();
    let server = Server::start(&dir, &checking(&db, &webex));
    server.wait_healthy().await;
    eventually("four hooks", async || webex.hooks().len() == 4).await;
    assert!(webex.count(Method::GET, HOOKS) >= 2, "the failed check was tried again");
    eventually("4 active in /metrics", async || {
        let text = metrics(&server).await;
        text.contains(&gauge("active", 4)) && text.contains(&gauge("inactive", 0))
    })
    .await;

    let disabled = webex.hooks()[2].id.clone();
    webex.auto_disable(&disabled);
    eventually("1 inactive in /metrics", async || {
        let text = metrics(&server).await;
        text.contains(&gauge("active", 3)) && text.contains(&gauge("inactive", 1))
    })
    .await;
    let checks = webex.count(Method::GET, HOOKS);
    eventually("two more checks", async || webex.count(Method::GET, HOOKS) >= checks + 2).await;
    assert_eq!(webex.count(Method::PUT, &format!("{HOOKS}/{disabled}")), 0, "inside the window");
    assert_eq!(webex.count(Method::POST, HOOKS), 4, "nothing created twice");
    assert!(server.terminate().success());
}

async fn two_servers_sharing_a_database_create_each_hook_once(db: Db) {
    // Migrated first: two processes migrating one new database at once trip over each other
    // before any check runs.
    store::open(&db.url).await.unwrap().close().await;
    let webex = WebexEmulator::start().await;
    // Both servers' first checks list the (no) hooks at once, as two that started together.
    webex.state().list_delay = Duration::from_millis(1500);
    let (one, two) = (TempDir::new(), TempDir::new());
    let first = Server::start(&one, &checking(&db, &webex));
    let second = Server::start(&two, &checking(&db, &webex));
    first.wait_healthy().await;
    second.wait_healthy().await;
    eventually("four hooks", async || webex.hooks().len() == 4).await;
    let checks = webex.count(Method::GET, HOOKS);
    eventually("three more checks", async || webex.count(Method::GET, HOOKS) >= checks + 3).await;
    assert_eq!(webex.count(Method::POST, HOOKS), 4);
    assert_eq!(webex.hooks().len(), 4);
}

#[tokio::test]
async fn serve_leaves_webex_alone_when_the_check_is_off_or_cannot_be_delivered_to() {
    let db = Db::sqlite();
    let webex = WebexEmulator::start().await;
    let base = checking(&db, &webex);
    let off = [base.as_slice(), &[("TOLLBOOTH_WEBEX__HOOK_CHECK_SECS", "0")]].concat();
    let local = [base.as_slice(), &[("TOLLBOOTH_PUBLIC_URL", "http://127.0.0.1:8080/")]].concat();
    for env in [off, local] {
        let dir = TempDir::new();
        let server = Server::start(&dir, &env);
        server.wait_healthy().await;
        tokio::time::sleep(Duration::from_millis(1500)).await;
        assert!(webex.calls().is_empty(), "{env:?}");
        assert!(server.terminate().success());
    }
}
