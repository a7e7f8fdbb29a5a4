//! `tollbooth serve` as a process and the router on a real port: health, readiness, metrics,
//! graceful shutdown.

use crate::common;

use std::process::Command;
use std::sync::Arc;

use tollbooth_core::config::Config;
use tollbooth_core::store::{self, SqlStore};
use tollbooth_webhook::AppState;

use common::{Db, Server, TempDir, binary};

#[tokio::test]
async fn serve_with_no_configuration_answers_healthz_and_stops_on_sigterm() {
    let dir = TempDir::new();
    let server = Server::start(&dir, &[]);
    let health = server.wait_healthy().await;
    assert_eq!(health.status(), 200);
    assert_eq!(health.text().await.unwrap(), "ok");
    let ready = reqwest::get(format!("{}/readyz", server.base)).await.unwrap();
    assert_eq!(ready.status(), 200);
    let metrics = reqwest::get(format!("{}/metrics", server.base)).await.unwrap();
    assert_eq!(metrics.status(), 200);
    let text = metrics.text().await.unwrap();
    assert!(text.contains("http_requests_total"), "{text}");
    assert!(text.contains("route=\"/healthz\""), "{text}");
    assert!(dir.0.join("tollbooth.db").exists(), "the embedded default database was created");
    let status = server.terminate();
    assert!(status.success(), "graceful shutdown exits 0, got {status:?}");
}

#[tokio::test]
async fn serve_refuses_a_bad_configuration_with_status_2() {
    let dir = TempDir::new();
    let out = Command::new(binary())
        .current_dir(&dir.0)
        .arg("serve")
        .env("TOLLBOOTH_SITE__COUNTRY", "Narnia")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("site.country (TOLLBOOTH_SITE__COUNTRY)"), "{err}");
}

async fn router_on_port_0(store: SqlStore) -> String {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    let (state, workers) = AppState::new(Arc::new(store), Arc::new(Config::default()));
    workers.spawn();
    tokio::spawn(tollbooth_webhook::serve(listener, state, std::future::pending()));
    base
}

on_both_backends!(readyz_is_503_when_the_database_is_unreachable);

async fn readyz_is_503_when_the_database_is_unreachable(db: Db) {
    let store = store::open(&db.url).await.unwrap();
    let base = router_on_port_0(store.clone()).await;
    assert_eq!(reqwest::get(format!("{base}/readyz")).await.unwrap().status(), 200);
    store.close().await;
    let ready = reqwest::get(format!("{base}/readyz")).await.unwrap();
    assert_eq!(ready.status(), 503);
    assert_eq!(reqwest::get(format!("{base}/healthz")).await.unwrap().status(), 200, "still alive");
}
