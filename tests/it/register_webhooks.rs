//! `tollbooth register webhooks` as a process against the Webex emulator, on both backends.

use crate::common;
use crate::emulators;

use std::collections::HashSet;
use std::process::Output;

use axum::http::{Method, StatusCode};
use secrecy::ExposeSecret;
use tollbooth_core::store::{self, WebhookSecretStore};

use common::{Db, TempDir, binary};
use emulators::webex::{Fault, TOKEN, WebexEmulator};

const PUBLIC_URL: &str = "https://tollbooth.example.com";
const TARGET_URL: &str = "https://tollbooth.example.com/webhooks/webex";
const HOOKS: &str = "/v1/webhooks";

/// The manifest's subscriptions, in its order.
const MANIFEST: [(&str, &str); 4] = [
    ("meetings", "started"),
    ("meetings", "ended"),
    ("meetingParticipants", "joined"),
    ("meetingParticipants", "left"),
];

/// Runs `tollbooth register webhooks ARGS` in a fresh folder with only the given configuration.
async fn tollbooth(args: &[&str], env: &[(&str, &str)]) -> Output {
    let dir = TempDir::new();
    let mut cmd = tokio::process::Command::new(binary());
    cmd.current_dir(&dir.0).args(["register", "webhooks"]).args(args).env("RUST_LOG", "warn");
    for (k, _) in std::env::vars().filter(|(k, _)| k.starts_with("TOLLBOOTH_")) {
        cmd.env_remove(k);
    }
    cmd.envs(env.iter().copied()).output().await.expect("run tollbooth")
}

/// Registers against `webex` with a complete configuration, which `extra` adds to or overrides.
async fn register_with(
    db: &Db,
    webex: &WebexEmulator,
    args: &[&str],
    extra: &[(&str, &str)],
) -> Output {
    let mut env = vec![
        ("TOLLBOOTH_DATABASE_URL", db.url.as_str()),
        ("TOLLBOOTH_PUBLIC_URL", PUBLIC_URL),
        ("TOLLBOOTH_WEBEX__API_BASE", &webex.base),
        ("TOLLBOOTH_WEBEX__TOKEN", TOKEN),
    ];
    env.extend_from_slice(extra);
    tollbooth(args, &env).await
}

async fn register(db: &Db, webex: &WebexEmulator) -> Output {
    register_with(db, webex, &[], &[]).await
}

fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

/// What each summary line (`created: meetings started (id)`) says was done.
fn outcomes(o: &Output) -> Vec<String> {
    stdout(o).lines().map(|l| l.split(':').next().unwrap().to_owned()).collect()
}

on_both_backends!(
    first_run_creates_the_manifest_hooks_and_stores_their_secrets,
    second_run_changes_nothing,
    an_auto_disabled_hook_is_re_enabled_with_its_known_secret,
    an_active_hook_with_an_unknown_secret_gets_a_new_one,
    a_webex_error_exits_1_with_webex_message,
);

async fn first_run_creates_the_manifest_hooks_and_stores_their_secrets(db: Db) {
    let webex = WebexEmulator::start().await;
    let out = register(&db, &webex).await;
    assert!(out.status.success(), "{}", stderr(&out));
    assert_eq!(outcomes(&out), ["created"; 4], "{}", stdout(&out));
    assert_eq!(webex.count(Method::GET, HOOKS), 1);
    assert_eq!(webex.count(Method::POST, HOOKS), 4);
    assert_eq!(webex.calls().len(), 5, "nothing else was called");

    let hooks = webex.hooks();
    let pairs: Vec<_> = hooks.iter().map(|h| (h.resource.as_str(), h.event.as_str())).collect();
    assert_eq!(pairs, MANIFEST);
    let s = store::open(&db.url).await.unwrap();
    for hook in &hooks {
        assert_eq!(hook.target_url, TARGET_URL);
        assert_eq!(hook.owned_by, "org");
        assert_eq!(hook.status, "active");
        assert!(hook.name.starts_with("tollbooth: "), "{}", hook.name);
        let sent = hook.secret.as_deref().expect("a secret was sent");
        assert_eq!(sent.len(), 64, "32 bytes in hex");
        assert!(sent.chars().all(|c| c.is_ascii_hexdigit()));
        let stored = s.webhook_secret("webex", &hook.id).await.unwrap().expect("stored");
        assert_eq!(stored.expose_secret(), sent);
        assert!(!stdout(&out).contains(sent) && !stderr(&out).contains(sent), "secret printed");
    }
    let distinct: HashSet<_> = hooks.iter().map(|h| h.secret.clone()).collect();
    assert_eq!(distinct.len(), 4, "one secret per hook");
    let all: HashSet<String> = s
        .webhook_secrets("webex")
        .await
        .unwrap()
        .iter()
        .map(|x| x.expose_secret().to_owned())
        .collect();
    assert_eq!(all, hooks.iter().map(|h| h.secret.clone().unwrap()).collect());
}

async fn second_run_changes_nothing(db: Db) {
    let webex = WebexEmulator::start().await;
    assert!(register(&db, &webex).await.status.success());
    let before = webex.hooks();
    let out = register(&db, &webex).await;
    assert!(out.status.success(), "{}", stderr(&out));
    assert_eq!(outcomes(&out), ["unchanged"; 4], "{}", stdout(&out));
    assert_eq!(webex.count(Method::GET, HOOKS), 2);
    assert_eq!(webex.count(Method::POST, HOOKS), 4, "nothing created the second time");
    assert_eq!(webex.calls().len(), 6, "no PUT either");
    assert_eq!(webex.hooks(), before);
}

async fn an_auto_disabled_hook_is_re_enabled_with_its_known_secret(db: Db) {
    let webex = WebexEmulator::start().await;
    assert!(register(&db, &webex).await.status.success());
    let disabled = webex.hooks()[2].clone();
    webex.auto_disable(&disabled.id);

    let out = register(&db, &webex).await;
    assert!(out.status.success(), "{}", stderr(&out));
    assert_eq!(outcomes(&out), ["unchanged", "unchanged", "re-enabled", "unchanged"]);
    let path = format!("{HOOKS}/{}", disabled.id);
    assert_eq!(webex.count(Method::PUT, &path), 1);
    assert_eq!(webex.count(Method::POST, HOOKS), 4, "re-enabled, not recreated");
    let put = webex.calls().into_iter().find(|c| c.method == Method::PUT).unwrap();
    let body = put.body.unwrap();
    assert_eq!(body["status"], "active");
    assert_eq!(body["targetUrl"], TARGET_URL);
    assert_eq!(body["name"], disabled.name.as_str());
    assert_eq!(body["secret"], disabled.secret.as_deref().unwrap(), "the secret we know");

    let after = webex.hooks();
    assert!(after.iter().all(|h| h.status == "active"));
    let s = store::open(&db.url).await.unwrap();
    let stored = s.webhook_secret("webex", &disabled.id).await.unwrap().unwrap();
    assert_eq!(Some(stored.expose_secret()), after[2].secret.as_deref());
}

async fn an_active_hook_with_an_unknown_secret_gets_a_new_one(db: Db) {
    let webex = WebexEmulator::start().await;
    let id = webex.seed_hook("made elsewhere", TARGET_URL, "meetings", "ended");
    let out = register(&db, &webex).await;
    assert!(out.status.success(), "{}", stderr(&out));
    assert_eq!(outcomes(&out), ["created", "secret renewed", "created", "created"]);
    assert_eq!(webex.count(Method::POST, HOOKS), 3);
    assert_eq!(webex.count(Method::PUT, &format!("{HOOKS}/{id}")), 1);
    let hook = webex.hooks().into_iter().find(|h| h.id == id).unwrap();
    assert_ne!(hook.secret.as_deref(), Some("someone-elses-secret"));
    let s = store::open(&db.url).await.unwrap();
    let stored = s.webhook_secret("webex", &id).await.unwrap().unwrap();
    assert_eq!(Some(stored.expose_secret()), hook.secret.as_deref());
    assert_eq!(hook.name, "tollbooth: meetings ended");
}

async fn a_webex_error_exits_1_with_webex_message(db: Db) {
    let webex = WebexEmulator::start().await;
    webex.fail_next(Fault {
        status: StatusCode::INTERNAL_SERVER_ERROR,
        message: "Failed to get webhooks: backend unavailable".into(),
        retry_after: None,
    });
    let out = register(&db, &webex).await;
    let err = stderr(&out);
    assert_eq!(out.status.code(), Some(1), "{err}");
    assert!(err.contains("500"), "{err}");
    assert!(err.contains("Failed to get webhooks: backend unavailable"), "{err}");
    assert!(err.contains("trackingId EMULATOR_"), "{err}");
    assert_eq!(webex.count(Method::POST, HOOKS), 0);
    let s = store::open(&db.url).await.unwrap();
    assert!(s.webhook_secrets("webex").await.unwrap().is_empty());
}

#[tokio::test]
async fn a_rate_limited_list_is_retried_after_the_wait_webex_asks_for() {
    let db = Db::sqlite();
    let webex = WebexEmulator::start().await;
    webex.fail_next(Fault {
        status: StatusCode::TOO_MANY_REQUESTS,
        message: "Too Many Requests".into(),
        retry_after: Some(1),
    });
    let started = std::time::Instant::now();
    let out = register(&db, &webex).await;
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(started.elapsed() >= std::time::Duration::from_secs(1), "waited Retry-After");
    assert_eq!(webex.count(Method::GET, HOOKS), 2);
    assert_eq!(webex.count(Method::POST, HOOKS), 4);
}

#[tokio::test]
async fn configuration_problems_exit_2_with_one_line_and_call_nobody() {
    let db = Db::sqlite();
    let webex = WebexEmulator::start().await;
    let base =
        [("TOLLBOOTH_DATABASE_URL", db.url.as_str()), ("TOLLBOOTH_WEBEX__API_BASE", &webex.base)];
    let cases: &[(&[(&str, &str)], &str)] = &[
        (
            &[("TOLLBOOTH_PUBLIC_URL", PUBLIC_URL)],
            "webex.token (TOLLBOOTH_WEBEX__TOKEN) is required",
        ),
        (
            &[("TOLLBOOTH_WEBEX__TOKEN", TOKEN)],
            "public_url (TOLLBOOTH_PUBLIC_URL) `http://127.0.0.1:8080/` is a local address",
        ),
        (
            &[("TOLLBOOTH_WEBEX__TOKEN", TOKEN), ("TOLLBOOTH_PUBLIC_URL", "ftp://example.com")],
            "must be an http:// or https:// URL",
        ),
    ];
    for (env, reason) in cases {
        let mut all = base.to_vec();
        all.extend_from_slice(env);
        let out = tollbooth(&[], &all).await;
        let err = stderr(&out);
        assert_eq!(out.status.code(), Some(2), "{env:?}: {err}");
        assert!(err.contains(reason), "{env:?}: expected {reason:?} in {err}");
        assert_eq!(err.lines().count(), 1, "{err}");
    }
    assert!(webex.calls().is_empty());
}

#[tokio::test]
async fn a_rejected_token_is_named() {
    let db = Db::sqlite();
    let webex = WebexEmulator::start().await;
    let out =
        register_with(&db, &webex, &[], &[("TOLLBOOTH_WEBEX__TOKEN", "hunter2-expired")]).await;
    let err = stderr(&out);
    assert_eq!(out.status.code(), Some(1), "{err}");
    assert!(err.contains("401") && err.contains("valid access token"), "{err}");
    assert!(!err.contains("hunter2"), "the token is never printed: {err}");
}

#[tokio::test]
async fn nothing_secret_is_logged_even_at_trace_level() {
    let db = Db::sqlite();
    let webex = WebexEmulator::start().await;
    let out = register_with(&db, &webex, &[], &[("RUST_LOG", "trace")]).await;
    assert!(out.status.success(), "{}", stderr(&out));
    let printed = format!("{}{}", stdout(&out), stderr(&out));
    assert!(!printed.contains(TOKEN), "token logged");
    for hook in webex.hooks() {
        assert!(!printed.contains(hook.secret.as_deref().unwrap()), "secret logged");
    }
}

#[tokio::test]
async fn another_manifest_can_be_named() {
    let db = Db::sqlite();
    let webex = WebexEmulator::start().await;
    let dir = TempDir::new();
    let manifest = dir.0.join("manifest.json");
    std::fs::write(
        &manifest,
        r#"{"webhooks": {"webex": {"target_path": "/hooks/webex", "subscriptions": [
            {"name": "only ended", "resource": "meetings", "event": "ended", "owned_by": "creator"}
        ]}}}"#,
    )
    .unwrap();
    let out = register_with(&db, &webex, &["--manifest", manifest.to_str().unwrap()], &[]).await;
    assert!(out.status.success(), "{}", stderr(&out));
    let hooks = webex.hooks();
    assert_eq!(hooks.len(), 1);
    assert_eq!(hooks[0].target_url, format!("{PUBLIC_URL}/hooks/webex"));
    assert_eq!((hooks[0].event.as_str(), hooks[0].owned_by.as_str()), ("ended", "creator"));

    std::fs::write(&manifest, r#"{"webhooks": {}}"#).unwrap();
    let out = register_with(&db, &webex, &["--manifest", manifest.to_str().unwrap()], &[]).await;
    let err = stderr(&out);
    assert_eq!(out.status.code(), Some(2), "{err}");
    assert!(err.contains("manifest.json") && err.contains("missing field `webex`"), "{err}");
    let out = register_with(&db, &webex, &["--manifest", "/no/such/manifest.json"], &[]).await;
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    assert!(stderr(&out).contains("manifest /no/such/manifest.json: "), "{}", stderr(&out));
}

#[tokio::test]
async fn of_two_matching_hooks_the_active_one_is_kept() {
    let db = Db::sqlite();
    let webex = WebexEmulator::start().await;
    assert!(register(&db, &webex).await.status.success());
    let original = webex.hooks()[0].clone();
    webex.auto_disable(&original.id);
    // Someone recreated it by hand, as Cisco's samples do with disabled hooks.
    let twin = webex.seed_hook("by hand", TARGET_URL, &original.resource, &original.event);

    let out = register(&db, &webex).await;
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(stdout(&out).lines().next().unwrap().contains(&twin), "{}", stdout(&out));
    assert_eq!(webex.count(Method::PUT, &format!("{HOOKS}/{}", original.id)), 0);
    assert_eq!(webex.count(Method::PUT, &format!("{HOOKS}/{twin}")), 1, "its secret is unknown");
}
