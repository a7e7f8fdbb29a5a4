//! What an adversarial probe found, each now covered: deliveries a database cannot hold, one
//! bad item holding a queue back, databases that stall, vanish, fill up or reset, and clients
//! that send half a request.

use crate::common;

use std::time::{Duration, Instant};

use chrono::Utc;
use serde_json::{Value, json};
use tollbooth_core::outbox::{ChatMessage, Effect};
use tollbooth_core::platform::{Inbound, PlatformKind};
use tollbooth_core::store::{NewDelivery, OutboxStore, SessionStore};

use common::proxy::{Mode, Proxy};
use common::{ADMIN_TOKEN, App, Db, Sender};

on_both_backends!(
    deliveries_a_database_cannot_hold_are_refused_alone_and_metering_goes_on,
    a_stored_delivery_that_cannot_be_applied_is_quarantined_and_the_others_are_applied,
    a_delivery_is_applied_as_it_was_parsed_where_it_was_received,
    an_effect_that_no_longer_reads_is_quarantined_and_the_next_is_claimed,
    applied_deliveries_are_pruned_and_quarantined_ones_kept,
    a_group_commit_the_database_refuses_is_stored_again_one_by_one,
);

fn started(id: &str, host: &str) -> Vec<u8> {
    json!({"id": "hook", "resource": "meetings", "event": "started",
           "data": {"id": id, "start": "2026-11-25T10:00:00Z", "hostEmail": host}})
    .to_string()
    .into_bytes()
}

fn ended(id: &str) -> Vec<u8> {
    json!({"id": "hook", "resource": "meetings", "event": "ended",
           "data": {"id": id, "start": "2026-11-25T10:00:00Z", "end": "2026-11-25T11:00:00Z"}})
    .to_string()
    .into_bytes()
}

fn joined(meeting: &str, participant: &str, device: &str, at: &str) -> Vec<u8> {
    json!({"id": "hook", "resource": "meetingParticipants", "event": "joined",
           "data": {"id": participant, "meetingId": meeting, "devices": [
               {"correlationId": device, "deviceType": "mac", "joinedTime": at}]}})
    .to_string()
    .into_bytes()
}

async fn admin_get(base: &str, path: &str) -> (u16, Value) {
    let r = reqwest::Client::new()
        .get(format!("{base}{path}"))
        .bearer_auth(ADMIN_TOKEN)
        .send()
        .await
        .expect("admin request");
    let status = r.status().as_u16();
    (status, r.json().await.unwrap_or(Value::Null))
}

/// The quarantine list (`GET /api/v1/quarantine`) once it holds at least `deliveries`
/// deliveries (within 20 s).
async fn quarantined(base: &str, deliveries: usize) -> Value {
    eventually(Duration::from_secs(20), "deliveries quarantined", || async move {
        let (_, q) = admin_get(base, "/api/v1/quarantine").await;
        q["deliveries"].as_array().is_some_and(|d| d.len() >= deliveries)
    })
    .await;
    let (status, q) = admin_get(base, "/api/v1/quarantine").await;
    assert_eq!(status, 200);
    q
}

/// Polls `check` every 100 ms until it holds, for at most `within`.
async fn eventually<F, Fut>(within: Duration, what: &str, mut check: F)
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = bool>,
{
    let start = Instant::now();
    while start.elapsed() < within {
        if check().await {
            return;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("{what}: not within {within:?}");
}

async fn readyz(base: &str) -> (u16, String) {
    match reqwest::Client::new()
        .get(format!("{base}/readyz"))
        .timeout(Duration::from_secs(5))
        .send()
        .await
    {
        Ok(r) => (r.status().as_u16(), r.text().await.unwrap_or_default()),
        Err(e) => (0, e.to_string()),
    }
}

async fn deliveries_a_database_cannot_hold_are_refused_alone_and_metering_goes_on(db: Db) {
    let app = App::start(&db, &[]).await;
    let s = Sender::new(&app.base);
    let at = "2026-11-25T10:01:00Z";
    let long = "p".repeat(3000);
    let zoom_named = |name: &str| {
        json!({"event": "meeting.participant_joined", "payload": {"object": {"uuid": "zu1",
               "participant": {"id": "16", "user_name": name, "join_time": at}}}})
        .to_string()
        .into_bytes()
    };
    let cases: Vec<(&str, PlatformKind, Vec<u8>, &str)> = vec![
        (
            "NUL in a participant id",
            PlatformKind::Webex,
            joined("m_ok", "p\0", "c1", at),
            "data.id contains a NUL character",
        ),
        (
            "NUL in a correlationId",
            PlatformKind::Webex,
            joined("m_ok", "p", "c\0", at),
            "data.devices[].correlationId contains a NUL character",
        ),
        (
            "NUL in hostEmail",
            PlatformKind::Webex,
            started("m_h", "h\0@example.com"),
            "data.hostEmail contains a NUL character",
        ),
        (
            "NUL in a meeting id",
            PlatformKind::Webex,
            started("m\0", "h@example.com"),
            "data.id contains a NUL character",
        ),
        (
            "a 3,000-byte participant id",
            PlatformKind::Webex,
            joined("m_ok", &long, "c1", at),
            "data.id is 3000 bytes long",
        ),
        (
            "a 3,000-byte meeting id",
            PlatformKind::Webex,
            joined(&long, "p", "c1", at),
            "data.meetingId is 3000 bytes long",
        ),
        (
            "an empty meeting id",
            PlatformKind::Webex,
            started("", "h@example.com"),
            "data.id is empty",
        ),
        (
            "NUL in a Zoom user_name",
            PlatformKind::Zoom,
            zoom_named("Ann\0"),
            "payload.object.participant.user_name contains a NUL character",
        ),
        (
            "a join in year 0",
            PlatformKind::Webex,
            joined("m_ok", "p", "c1", "0000-01-01T00:00:00Z"),
            "is not a plausible time",
        ),
    ];
    for (what, platform, body, says) in &cases {
        let r = s.deliver(*platform, body).await;
        assert_eq!(r.status(), 400, "{what}");
        let error =
            r.json::<Value>().await.unwrap()["error"].as_str().unwrap_or_default().to_owned();
        assert!(error.contains(says), "{what}: {error}");
        assert!(!error.contains('\0'), "{what}: the answer quotes no NUL");
    }

    // Bad deliveries streamed beside good ones: each good one is stored, each bad one refused.
    s.webex(&started("m_good", "host@example.com")).await;
    let sends = (0..150).map(|i| {
        let good = joined("m_good", &format!("p{i}"), "c", at);
        let bad = started(&format!("m_bad{i}\0"), "h@example.com");
        let s = &s;
        async move { (s.webex(&good).await.status(), s.webex(&bad).await.status()) }
    });
    for (good, bad) in futures_util::future::join_all(sends).await {
        assert_eq!((good.as_u16(), bad.as_u16()), (200, 400));
    }
    s.webex(&ended("m_good")).await;
    let session = s.settled_session("webex", "m_good").await;
    assert_eq!(session["usage"]["connections"], 150);
    assert_eq!(session["state"], "ended");
    let (_, quarantine) = admin_get(&app.base, "/api/v1/quarantine").await;
    assert_eq!(quarantine["deliveries"], json!([]), "nothing bad was stored");
}

async fn a_stored_delivery_that_cannot_be_applied_is_quarantined_and_the_others_are_applied(
    db: Db,
) {
    let app = App::start(&db, &[]).await;
    let s = Sender::new(&app.base);
    assert_eq!(s.webex(&started("m_corrupt", "host@example.com")).await.status(), 200);
    s.settled_session("webex", "m_corrupt").await;
    // A bug or a manual edit leaves a session row that no longer reads.
    let pool = sqlx::AnyPool::connect(&db.url).await.unwrap();
    sqlx::query(
        "UPDATE sessions SET started_at = 9223372036854775807 WHERE meeting_id = 'm_corrupt'",
    )
    .execute(&pool)
    .await
    .unwrap();
    // And a delivery stored before the door checked what it holds (the NUL is escaped in the
    // JSON text, so it was storable; its participant id is not).
    let poison =
        String::from_utf8(joined("m_poison", "p\0", "c1", "2026-11-25T10:01:00Z")).unwrap();
    app.store
        .store_deliveries(&[NewDelivery {
            platform: PlatformKind::Webex,
            digest: "poison".into(),
            meeting_id: "m_poison".into(),
            body: poison,
            received_at: Utc::now(),
            observations: None,
        }])
        .await
        .unwrap();
    let at = "2026-11-25T10:02:00Z";
    assert_eq!(s.webex(&joined("m_corrupt", "p1", "c1", at)).await.status(), 200);
    assert_eq!(s.webex(&started("m_fine", "host@example.com")).await.status(), 200);
    assert_eq!(s.webex(&joined("m_fine", "p1", "c1", at)).await.status(), 200);

    let fine = s.settled_session("webex", "m_fine").await;
    assert_eq!(fine["usage"]["connections"], 1, "the meeting after the bad ones is metered");
    let q = quarantined(&app.base, 2).await;
    assert_eq!(q["deliveries"].as_array().unwrap().len(), 2, "{q}");
    let by_meeting = |m: &str| {
        q["deliveries"].as_array().unwrap().iter().find(|d| d["meeting_id"] == m).cloned().unwrap()
    };
    let corrupt = by_meeting("m_corrupt");
    assert!(corrupt["error"].as_str().unwrap().contains("started_at"), "{corrupt}");
    assert_eq!(corrupt["platform"], "webex");
    let poisoned = by_meeting("m_poison");
    assert!(poisoned["error"].as_str().unwrap().contains("NUL"), "{poisoned}");
    let metrics =
        reqwest::get(format!("{}/metrics", app.base)).await.unwrap().text().await.unwrap();
    assert!(metrics.contains("webhook_deliveries_quarantined_total"), "counted");
    let r = reqwest::get(format!("{}/api/v1/quarantine", app.base)).await.unwrap();
    assert_eq!(r.status(), 401, "the list is for administrators");
}

/// A delivery is parsed once, where it is received: the applier applies what was parsed
/// then, and reads a body back only for a delivery this process did not parse (another
/// instance's, or one stored before a restart). Each is stored here with a body that no
/// longer reads, so only the first, which brings what it was parsed into, can be applied.
async fn a_delivery_is_applied_as_it_was_parsed_where_it_was_received(db: Db) {
    let app = App::start(&db, &[]).await;
    let body = joined("m_parsed", "p1", "c1", "2026-11-25T10:01:00Z");
    let Ok(Inbound::Session { meeting_id, digest, observations }) =
        PlatformKind::Webex.adapter().parse(&body)
    else {
        panic!("the delivery reads");
    };
    let unreadable = |meeting_id: &str, digest: &str| NewDelivery {
        platform: PlatformKind::Webex,
        digest: digest.into(),
        meeting_id: meeting_id.into(),
        body: "no longer JSON".into(),
        received_at: Utc::now(),
        observations: None,
    };
    let parsed =
        NewDelivery { observations: Some(observations.into()), ..unreadable(&meeting_id, &digest) };
    app.store.store_deliveries(&[parsed, unreadable("m_unparsed", "unparsed")]).await.unwrap();
    let s = Sender::new(&app.base);
    let v = s.settled_session("webex", "m_parsed").await;
    assert_eq!(v["usage"]["connections"], 1, "applied as parsed: {v}");
    let q = quarantined(&app.base, 1).await;
    let set_aside: Vec<&Value> = q["deliveries"].as_array().unwrap().iter().collect();
    assert_eq!(set_aside.len(), 1, "{q}");
    assert_eq!(set_aside[0]["meeting_id"], "m_unparsed", "its body was read: {q}");
}

async fn an_effect_that_no_longer_reads_is_quarantined_and_the_next_is_claimed(db: Db) {
    let store = tollbooth_core::store::open(&db.url).await.unwrap();
    let pool = sqlx::AnyPool::connect(&db.url).await.unwrap();
    sqlx::query(
        "INSERT INTO outbox (effect_key, kind, payload, created_at, next_attempt_at)
         VALUES ('chat:garbled', 'chat_message', '{\"discord_user_id\": \"not a number\"', 0, 0)",
    )
    .execute(&pool)
    .await
    .unwrap();
    let message = ChatMessage { discord_user_id: 7, text: "hello".into(), link: None };
    assert!(store.enqueue("chat:fine", &Effect::ChatMessage(message)).await.unwrap());

    let now = Utc::now();
    let claimed = store.claim("w1", now, now + chrono::Duration::seconds(60), 10).await.unwrap();
    let keys: Vec<&str> = claimed.iter().map(|c| c.key.as_str()).collect();
    assert_eq!(keys, ["chat:fine"], "the garbled one before it holds nothing back");
    let quarantined = store.quarantined_effects(10).await.unwrap();
    assert_eq!(quarantined.len(), 1);
    assert_eq!(quarantined[0].key, "chat:garbled");
    assert!(quarantined[0].error.contains("cannot be read"), "{}", quarantined[0].error);
    let later = now + chrono::Duration::seconds(120);
    let again = store.claim("w2", later, later + chrono::Duration::seconds(60), 10).await.unwrap();
    assert!(again.iter().all(|c| c.key != "chat:garbled"), "a quarantined effect is not retried");
}

async fn applied_deliveries_are_pruned_and_quarantined_ones_kept(db: Db) {
    let app = App::start(&db, &[]).await;
    let s = Sender::new(&app.base);
    s.webex(&started("m_old", "host@example.com")).await;
    s.webex(&joined("m_old", "p1", "c1", "2026-11-25T10:01:00Z")).await;
    s.webex(&ended("m_old")).await;
    let before = s.settled_session("webex", "m_old").await;
    app.store
        .store_deliveries(&[NewDelivery {
            platform: PlatformKind::Webex,
            digest: "unreadable".into(),
            meeting_id: "m_old".into(),
            body: "{\"resource\":\"meetings\",\"event\":\"started\",\"data\":{}}".into(),
            received_at: Utc::now(),
            observations: None,
        }])
        .await
        .unwrap();
    s.settled_session("webex", "m_old").await;

    let pruned = app.store.prune_deliveries(Utc::now() + chrono::Duration::minutes(1), 1000).await;
    assert_eq!(pruned.unwrap(), 3, "the three applied deliveries");
    assert_eq!(app.store.quarantined_deliveries(10).await.unwrap().len(), 1, "kept for a person");
    let after = s.settled_session("webex", "m_old").await;
    assert_eq!(after["usage"], before["usage"], "what they said lives on in the session");
    let none = app.store.prune_deliveries(Utc::now() - chrono::Duration::days(90), 1000).await;
    assert_eq!(none.unwrap(), 0, "nothing is younger than the retention");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stalled_or_reset_database_answers_503_then_recovers_without_a_restart() {
    let Some(db) = Db::postgres().await else { return };
    let target = url::Url::parse(&db.url).unwrap();
    let proxy =
        Proxy::start(format!("{}:{}", target.host_str().unwrap(), target.port().unwrap_or(5432)))
            .await;
    let app =
        App::start(&db.through_port(proxy.port), &[("TOLLBOOTH_DATABASE__TIMEOUT_SECS", "2")])
            .await;
    let s = Sender::new(&app.base);
    assert_eq!(s.webex(&started("m_stall", "host@example.com")).await.status(), 200);
    s.settled_session("webex", "m_stall").await;

    proxy.set(Mode::Stall);
    let stalled_at = Instant::now();
    let first = joined("m_stall", "p1", "c1", "2026-11-25T10:01:00Z");
    let r = s.webex(&first).await;
    assert_eq!(r.status(), 503, "a silent database is an outage, answered within its deadline");
    assert_eq!(r.headers()["retry-after"], "5");
    assert!(stalled_at.elapsed() < Duration::from_secs(10), "{:?}", stalled_at.elapsed());
    let base = app.base.clone();
    eventually(Duration::from_secs(15), "readyz says not ready", || {
        let base = base.clone();
        async move { readyz(&base).await.0 == 503 }
    })
    .await;
    tokio::time::sleep(Duration::from_secs(8).saturating_sub(stalled_at.elapsed())).await;

    proxy.set(Mode::Pass);
    eventually(Duration::from_secs(30), "the retried delivery is stored", || async {
        s.webex(&first).await.status() == 200
    })
    .await;
    let session = s.settled_session("webex", "m_stall").await;
    assert_eq!(session["usage"]["connections"], 1, "the applier came back by itself");
    eventually(Duration::from_secs(30), "readyz says ready again", || {
        let base = base.clone();
        async move { readyz(&base).await.0 == 200 }
    })
    .await;

    // Every connection reset, and new ones closed during set-up.
    proxy.set(Mode::Cut);
    let second = joined("m_stall", "p2", "c1", "2026-11-25T10:02:00Z");
    let r = s.webex(&second).await;
    assert_eq!(r.status(), 503, "a reset is an outage too");
    assert_eq!(r.headers()["retry-after"], "5");
    proxy.set(Mode::Pass);
    eventually(Duration::from_secs(30), "stored once the network is back", || async {
        s.webex(&second).await.status() == 200
    })
    .await;
    assert_eq!(s.settled_session("webex", "m_stall").await["usage"]["connections"], 2);
}

/// A PostgreSQL connection used within the last second is not pinged before its next statement
/// (D-261); one idle for longer is, so that connections the database server dropped meanwhile
/// (a restart, say) are replaced before a statement needs one.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_connections_dropped_while_idle_are_replaced_before_the_next_statement() {
    use sqlx::Connection;
    use tollbooth_core::store::Store;
    let Some(db) = Db::postgres().await else { return };
    let store = tollbooth_core::store::SqlStore::connect(&db.url).await.unwrap();
    store.ping().await.unwrap();

    let mut admin = sqlx::PgConnection::connect(&db.url).await.unwrap();
    let dropped: Vec<bool> = sqlx::query_scalar(
        "SELECT pg_terminate_backend(pid) FROM pg_stat_activity
         WHERE datname = current_database() AND pid <> pg_backend_pid()",
    )
    .fetch_all(&mut admin)
    .await
    .unwrap();
    assert!(!dropped.is_empty() && dropped.iter().all(|d| *d), "the store's connections ended");
    tokio::time::sleep(Duration::from_millis(1100)).await;

    store.ping().await.expect("a new connection in place of the dropped one");
}

/// Every delivery leaves a dead row in PostgreSQL's queue of pending ones, which the session
/// API's count and the applier's read walk until a vacuum: `serve` vacuums it itself, whatever
/// autovacuum is set to (this project's test server runs with it off).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_s_queue_of_pending_deliveries_is_vacuumed_once_they_are_applied() {
    use sqlx::Connection;
    let Some(db) = Db::postgres().await else { return };
    let app = App::start(&db, &[]).await;
    let s = Sender::new(&app.base);
    s.webex(&started("m_vac", "host@example.com")).await;
    for n in 0..20 {
        let participant = format!("p{n}");
        s.webex(&joined("m_vac", &participant, "c1", "2026-11-25T10:01:00Z")).await;
    }
    s.settled_session("webex", "m_vac").await;
    eventually(Duration::from_secs(10), "the queue vacuumed of its dead rows", || {
        let url = db.url.clone();
        async move {
            // A connection each look, so that it sees the counters as they are now.
            let mut conn = sqlx::PgConnection::connect(&url).await.unwrap();
            let stats = "SELECT vacuum_count, n_dead_tup FROM pg_stat_user_tables
                         WHERE relname = 'pending_deliveries'";
            let (vacuums, dead): (i64, i64) =
                sqlx::query_as(stats).fetch_one(&mut conn).await.unwrap();
            vacuums > 0 && dead == 0
        }
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_missing_postgres_database_answers_503_and_readiness_says_so() {
    use sqlx::Connection;
    let Some(db) = Db::postgres().await else { return };
    let app = App::start(&db, &[("TOLLBOOTH_DATABASE__TIMEOUT_SECS", "2")]).await;
    let s = Sender::new(&app.base);
    assert_eq!(s.webex(&started("m_gone", "host@example.com")).await.status(), 200);
    let admin_url = std::env::var(common::POSTGRES_URL_VAR).unwrap();
    let mut admin = sqlx::PgConnection::connect(&admin_url).await.unwrap();
    let drop = format!("DROP DATABASE {} WITH (FORCE)", db.postgres_name());
    sqlx::raw_sql(sqlx::AssertSqlSafe(drop)).execute(&mut admin).await.unwrap();

    let late = joined("m_gone", "p1", "c1", "2026-11-25T10:01:00Z");
    eventually(Duration::from_secs(15), "deliveries answered 503", || async {
        let r = s.webex(&late).await;
        r.status() == 503 && r.headers().get("retry-after").is_some()
    })
    .await;
    let base = app.base.clone();
    eventually(Duration::from_secs(15), "readyz names the missing database", || {
        let base = base.clone();
        async move {
            let (status, body) = readyz(&base).await;
            status == 503 && body.contains("database missing")
        }
    })
    .await;
}

/// A tmpfs of `size` at `dir`, or `None` (with a note) where mounting is not allowed.
fn small_disk(dir: &std::path::Path, size: &str) -> Option<()> {
    let mounted = std::process::Command::new("mount")
        .args(["-t", "tmpfs", "-o", &format!("size={size}"), "tmpfs"])
        .arg(dir)
        .status();
    if !mounted.is_ok_and(|s| s.success()) {
        eprintln!("note: cannot mount a tmpfs here; the full-disk test is skipped");
        return None;
    }
    Some(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_full_sqlite_disk_answers_503_and_recovers_when_space_is_freed() {
    let dir = common::TempDir::new();
    if small_disk(&dir.0, "3m").is_none() {
        return;
    }
    let db = Db::sqlite_at(&dir.0.join("tollbooth.db"));
    let app = App::start(&db, &[]).await;
    let s = Sender::new(&app.base);
    assert_eq!(s.webex(&started("m_full", "host@example.com")).await.status(), 200);
    let padding = "x".repeat(900 * 1024);
    let big = |i: usize| {
        json!({"id": "hook", "resource": "meetingParticipants", "event": "joined",
               "data": {"id": format!("p{i}"), "meetingId": "m_full", "padding": padding,
               "devices": [{"correlationId": "c", "joinedTime": "2026-11-25T10:01:00Z"}]}})
        .to_string()
        .into_bytes()
    };
    let mut refused = None;
    for i in 0..20 {
        let r = s.webex(&big(i)).await;
        if r.status() != 200 {
            refused = Some((i, r));
            break;
        }
    }
    let (i, r) = refused.expect("the disk fills up");
    assert_eq!(r.status(), 503, "a full disk is an outage: the platform retries");
    assert_eq!(r.headers()["retry-after"], "5");
    let (status, body) = readyz(&app.base).await;
    assert_eq!(status, 503, "{body}");

    let grown = std::process::Command::new("mount")
        .args(["-o", "remount,size=64m"])
        .arg(&dir.0)
        .status()
        .unwrap();
    assert!(grown.success());
    eventually(Duration::from_secs(20), "the retried delivery is stored", || async {
        s.webex(&big(i)).await.status() == 200
    })
    .await;
    let base = app.base.clone();
    eventually(Duration::from_secs(20), "readyz says ready again", || {
        let base = base.clone();
        async move { readyz(&base).await.0 == 200 }
    })
    .await;
    drop(app);
    let _ = std::process::Command::new("umount").arg("-l").arg(&dir.0).status();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn half_sent_requests_are_closed_and_health_still_answers() {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let dir = common::TempDir::new();
    let port = common::free_port();
    // 256 file descriptors, as the probe had; the server keeps its connections well under it.
    let mut child = std::process::Command::new("sh")
        .args(["-c", "ulimit -n 256 && exec \"$0\" serve", common::binary()])
        .current_dir(&dir.0)
        .env("RUST_LOG", "error")
        .env("TOLLBOOTH_BIND", format!("127.0.0.1:{port}"))
        .env("TOLLBOOTH_ADMIN_TOKEN", ADMIN_TOKEN)
        .env("TOLLBOOTH_WEBEX__WEBHOOK_SECRET", common::WEBEX_SECRET)
        .env("TOLLBOOTH_SERVER__MAX_CONNECTIONS", "128")
        .env("TOLLBOOTH_SERVER__HEADER_READ_TIMEOUT_SECS", "1")
        .stdout(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let base = format!("http://127.0.0.1:{port}");
    eventually(Duration::from_secs(20), "the server starts", || {
        let base = base.clone();
        async move { reqwest::get(format!("{base}/healthz")).await.is_ok() }
    })
    .await;

    let mut half_sent = Vec::new();
    for _ in 0..900 {
        let connect = tokio::net::TcpStream::connect(("127.0.0.1", port));
        let Ok(Ok(mut stream)) = tokio::time::timeout(Duration::from_millis(200), connect).await
        else {
            continue;
        };
        let _ = stream.write_all(b"POST /webhooks/webex HTTP/1.1\r\nHost: x\r\n").await;
        half_sent.push(stream);
    }
    assert!(half_sent.len() > 256, "more half-sent requests than descriptors: {}", half_sent.len());

    let client = reqwest::Client::builder().timeout(Duration::from_secs(30)).build().unwrap();
    let health = client.get(format!("{base}/healthz")).send().await.expect("healthz answers");
    assert_eq!(health.status(), 200);
    let ready = client.get(format!("{base}/readyz")).send().await.expect("readyz answers");
    assert_eq!(ready.status(), 200, "the database still has descriptors");
    let s = Sender { base: base.clone(), client };
    assert_eq!(s.webex(&started("m_slow", "host@example.com")).await.status(), 200);

    // The first ones were closed by the server once their header time ran out.
    for stream in half_sent.iter_mut().take(50) {
        let mut answer = Vec::new();
        let read = tokio::time::timeout(Duration::from_secs(5), stream.read_to_end(&mut answer));
        assert!(read.await.is_ok(), "a half-sent request is closed after the header timeout");
    }
    let _ = child.kill();
    let _ = child.wait();
}

async fn a_group_commit_the_database_refuses_is_stored_again_one_by_one(db: Db) {
    use std::sync::Arc;
    use tollbooth_core::store::Store;
    use tollbooth_webhook::health::Health;
    use tollbooth_webhook::ingest::{Failure, Ingest};
    let store: Arc<dyn Store> = Arc::new(tollbooth_core::store::open(&db.url).await.unwrap());
    let (ingest, writer) = Ingest::new(store.clone(), Health::default());
    tokio::spawn(writer.run());
    // Past the door's checks (which refuse it with 400): what the database itself refuses.
    let delivery = |i: usize| NewDelivery {
        platform: PlatformKind::Webex,
        digest: format!("digest-{i}"),
        meeting_id: if i == 25 { "m\0bad".into() } else { "m_fine".into() },
        body: "{}".into(),
        received_at: Utc::now(),
        observations: None,
    };
    let outcomes =
        futures_util::future::join_all((0..50).map(|i| ingest.submit(delivery(i)))).await;
    for (i, outcome) in outcomes.into_iter().enumerate() {
        match (db.backend, i) {
            ("postgres", 25) => assert_eq!(
                outcome,
                Err(Failure::Refused("a text value contains a NUL character".into()))
            ),
            _ => assert_eq!(outcome, Ok(()), "delivery {i} on {}", db.backend),
        }
    }
}
