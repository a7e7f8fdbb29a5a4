//! Ingest benchmark: signed webhook deliveries through the real server on SQLite and on
//! PostgreSQL, next to a bare axum handler that answers 200, all driven by the same load
//! generator (`tollbooth simulate --no-verify`, a separate process) in the same run.
//!
//! `cargo bench --bench ingest` (PostgreSQL from `TEST_POSTGRES_URL`, default
//! `postgres://postgres@127.0.0.1:5432/test`). Knobs: `BENCH_SESSIONS` (default 400, about
//! 52 deliveries each), `BENCH_CONCURRENCY` (default 32).

use std::process::{Command, Stdio};
use std::time::Duration;

use axum::Router;
use axum::http::StatusCode;
use axum::routing::post;
use serde_json::Value;
use sqlx::Connection;

const SECRET: &str = "bench-secret";

fn main() {
    let runtime = tokio::runtime::Runtime::new().expect("runtime");
    let sessions = std::env::var("BENCH_SESSIONS").unwrap_or_else(|_| "400".into());
    let concurrency = std::env::var("BENCH_CONCURRENCY").unwrap_or_else(|_| "32".into());
    let load = |url: &str| run_load(url, &sessions, &concurrency);

    let bare = runtime.block_on(bare_server());
    // A first pass warms connections and caches; the second is measured.
    load(&bare);
    let baseline = load(&bare);

    let mut rows = vec![("bare axum handler (200)".to_owned(), baseline.clone())];
    let dir = std::env::temp_dir().join(format!("tollbooth-bench-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let sqlite = format!("sqlite://{}", dir.join("bench.db").display());
    let postgres = runtime.block_on(fresh_postgres());
    for (name, url) in
        [("tollbooth on SQLite", Some(sqlite)), ("tollbooth on PostgreSQL", postgres)]
    {
        let Some(url) = url else {
            rows.push((format!("{name}: skipped (no PostgreSQL)"), Value::Null));
            continue;
        };
        let (mut server, base) = start_server(&url, &dir);
        load(&base);
        rows.push((name.to_owned(), load(&base)));
        let _ = server.kill();
        let _ = server.wait();
    }
    let _ = std::fs::remove_dir_all(&dir);

    let base_rate = baseline["per_second"].as_f64().unwrap_or(1.0);
    println!(
        "\ningest benchmark: {sessions} sessions × ~52 signed deliveries, {concurrency} in flight, 2 cores shared by server and load generator\n"
    );
    println!(
        "{:<28}{:>12}{:>10}{:>10}{:>10}{:>12}",
        "target", "events/s", "p50 ms", "p99 ms", "max ms", "ratio"
    );
    for (name, r) in &rows {
        if r.is_null() {
            println!("{name}");
            continue;
        }
        let rate = r["per_second"].as_f64().unwrap_or(0.0);
        println!(
            "{:<28}{:>12.0}{:>10.2}{:>10.2}{:>10.2}{:>12.2}",
            name,
            rate,
            r["latency_ms"]["p50"].as_f64().unwrap_or(0.0),
            r["latency_ms"]["p99"].as_f64().unwrap_or(0.0),
            r["latency_ms"]["max"].as_f64().unwrap_or(0.0),
            rate / base_rate
        );
    }
}

/// Runs the load generator once against `base` and returns its JSON summary.
fn run_load(base: &str, sessions: &str, concurrency: &str) -> Value {
    let out = Command::new(env!("CARGO_BIN_EXE_tollbooth"))
        .args([
            "simulate",
            "--url",
            base,
            "--sessions",
            sessions,
            "--computers",
            "20",
            "--phones",
            "2",
        ])
        .args(["--concurrency", concurrency, "--seed", "1", "--no-verify", "--json"])
        .env("TOLLBOOTH_WEBEX__WEBHOOK_SECRET", SECRET)
        .env("RUST_LOG", "error")
        .stderr(Stdio::inherit())
        .output()
        .expect("run the load generator");
    assert!(out.status.success(), "load generator failed against {base}");
    serde_json::from_slice(&out.stdout).expect("load generator JSON")
}

async fn bare_server() -> String {
    let app = Router::new().route("/webhooks/webex", post(|| async { StatusCode::OK }));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await });
    base
}

fn start_server(database_url: &str, dir: &std::path::Path) -> (std::process::Child, String) {
    let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let base = format!("http://127.0.0.1:{port}");
    let mut child = Command::new(env!("CARGO_BIN_EXE_tollbooth"))
        .current_dir(dir)
        .arg("serve")
        .env("TOLLBOOTH_DATABASE_URL", database_url)
        .env("TOLLBOOTH_BIND", format!("127.0.0.1:{port}"))
        .env("TOLLBOOTH_WEBEX__WEBHOOK_SECRET", SECRET)
        .env("RUST_LOG", "warn")
        .spawn()
        .expect("start tollbooth serve");
    for _ in 0..200 {
        if std::net::TcpStream::connect(("127.0.0.1", port)).is_ok() {
            return (child, base);
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    let _ = child.kill();
    let _ = child.wait();
    panic!("tollbooth serve did not start");
}

async fn fresh_postgres() -> Option<String> {
    let base = std::env::var("TEST_POSTGRES_URL")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/test".into());
    let mut admin = sqlx::PgConnection::connect(&base).await.ok()?;
    let name = format!("tollbooth_bench_{}", std::process::id());
    sqlx::raw_sql(sqlx::AssertSqlSafe(format!("DROP DATABASE IF EXISTS {name}")))
        .execute(&mut admin)
        .await
        .ok()?;
    sqlx::raw_sql(sqlx::AssertSqlSafe(format!("CREATE DATABASE {name}")))
        .execute(&mut admin)
        .await
        .ok()?;
    let mut url = url::Url::parse(&base).ok()?;
    url.set_path(&name);
    Some(url.to_string())
}
