//! Durable before acknowledged: a server killed with SIGKILL right after answering 2xx loses
//! nothing, and a restart finishes applying what it had stored.

mod common;

use chrono::{Duration, Utc};
use sqlx::Connection;
use tollbooth_core::platform::PlatformKind;
use tollbooth_core::simulation::{Plan, simulate};

use common::{ADMIN_TOKEN, Db, Sender, Server, TempDir, WEBEX_SECRET, ZOOM_SECRET};

on_both_backends!(killed_after_answering_then_restarted_ends_with_the_right_usage);

async fn killed_after_answering_then_restarted_ends_with_the_right_usage(db: Db) {
    let dir = TempDir::new();
    let env = [
        ("TOLLBOOTH_DATABASE_URL", db.url.as_str()),
        ("TOLLBOOTH_ADMIN_TOKEN", ADMIN_TOKEN),
        ("TOLLBOOTH_WEBEX__WEBHOOK_SECRET", WEBEX_SECRET),
        ("TOLLBOOTH_ZOOM__WEBHOOK_SECRET_TOKEN", ZOOM_SECRET),
    ];
    let session = simulate(&Plan {
        platform: PlatformKind::Webex,
        computers: 40,
        phones: 5,
        minutes: 90,
        started_at: Utc::now() - Duration::hours(3),
        seed: 11,
    });

    let mut first = Server::start(&dir, &env);
    first.wait_healthy().await;
    let sender = Sender::new(&first.base);
    // Many requests in flight, so that the kill lands while deliveries wait to be applied.
    let answers = send_all_at_once(&sender, &session.deliveries).await;
    assert!(answers.iter().all(|s| *s == 200), "{answers:?}");
    first.child.kill().expect("SIGKILL");
    first.child.wait().unwrap();

    let pending = pending_deliveries(&db.url).await;
    eprintln!(
        "{} of {} deliveries were stored but not applied at the kill",
        pending,
        session.deliveries.len()
    );

    let second = Server::start(&dir, &env);
    second.wait_healthy().await;
    let v = Sender::new(&second.base).settled_session("webex", &session.meeting_id).await;
    let e = session.expected;
    assert_eq!(v["state"], "ended", "{v}");
    assert_eq!(v["usage"]["person_seconds"], e.person_seconds, "{v}");
    assert_eq!(v["usage"]["teleconference_seconds"], e.teleconference_seconds, "{v}");
    assert_eq!(v["usage"]["connections"], e.connections, "{v}");
}

/// Sends every delivery at once and returns the statuses.
async fn send_all_at_once(sender: &Sender, deliveries: &[Vec<u8>]) -> Vec<u16> {
    let mut tasks = Vec::new();
    for body in deliveries {
        let (base, body) = (sender.base.clone(), body.clone());
        tasks.push(tokio::spawn(
            async move { Sender::new(&base).webex(&body).await.status().as_u16() },
        ));
    }
    let mut statuses = Vec::new();
    for task in tasks {
        statuses.push(task.await.unwrap());
    }
    statuses
}

async fn pending_deliveries(url: &str) -> i64 {
    let query = "SELECT COUNT(*) FROM deliveries WHERE processed_at IS NULL";
    if url.starts_with("sqlite") {
        let mut c = sqlx::SqliteConnection::connect(url).await.unwrap();
        sqlx::query_scalar(query).fetch_one(&mut c).await.unwrap()
    } else {
        let mut c = sqlx::PgConnection::connect(url).await.unwrap();
        sqlx::query_scalar(query).fetch_one(&mut c).await.unwrap()
    }
}
