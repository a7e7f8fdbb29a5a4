//! Ingest benchmark: signed webhook deliveries through the real server on SQLite and on
//! PostgreSQL, next to a bare axum handler that answers 200, all driven by the same load
//! generator (`tollbooth simulate --no-verify`, a separate process) in the same run, at each
//! number of deliveries in flight, in rounds in which the targets take turns.
//!
//! Per target it prints its median round: deliveries/s (and the range of all rounds), latency,
//! the ratio to the bare handler's median at the same concurrency, the CPU the server, a local
//! PostgreSQL and the load generator used (from `/proc`, in per cent of one core; the
//! machine's cores are shared by all), the metering lag (from the last acknowledgement until
//! every delivery is applied, read from the database), and the mean time of each ingest stage
//! from the server's `/metrics`.
//!
//! Then, per tollbooth target, two very large sessions: a join storm (by default 10,000
//! participants in one meeting), timed from its last acknowledgement until the session API
//! shows every delivery applied; and a session of 50,000 connections, whose bill (the
//! session API: every connection loaded and summed) is timed once it is applied. Last, each
//! server's resident memory, idle before the load and idle after it.
//!
//! `cargo bench --bench ingest` (PostgreSQL from `TEST_POSTGRES_URL`, default
//! `postgres://postgres@127.0.0.1:5432/test`). Knobs: `BENCH_SESSIONS` (default 400, about
//! 52 deliveries each), `BENCH_CONCURRENCY` (default `32,128`; a comma-separated list),
//! `BENCH_ROUNDS` (default 3), `BENCH_STORM` and `BENCH_BILLED` (participants of the two large
//! sessions; 0 skips one), `BENCH_SERVER` (another `tollbooth` binary to serve, such as an
//! earlier commit's, to compare with the same load generator on the same machine state).

use std::collections::BTreeMap;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use axum::Router;
use axum::http::StatusCode;
use axum::routing::post;
use chrono::Utc;
use serde_json::Value;
use sqlx::Connection;
use tollbooth::simulation::{Plan, simulate};
use tollbooth_core::platform::PlatformKind;

const SECRET: &str = "bench-secret";
const ADMIN: &str = "bench-admin";
/// The stages `webhook_stage_seconds` times, in the order a delivery passes them.
const STAGES: [&str; 5] = ["verify", "store", "hold", "commit", "apply"];

struct Target {
    name: &'static str,
    /// The database a tollbooth server stores into; none for the bare handler.
    database: Option<String>,
    server: Option<Server>,
}

struct Server {
    child: std::process::Child,
    base: String,
    /// Resident memory once started, before any load, in KiB (see [`rss_kb`]).
    idle_rss_kb: Rss,
}

/// One measured load run.
struct Row {
    target: &'static str,
    concurrency: u32,
    load: Value,
    server_cpu: f64,
    /// PostgreSQL's processes, when it serves the target from this machine.
    database_cpu: Option<f64>,
    load_cpu: f64,
    lag: Option<Duration>,
    stages: BTreeMap<&'static str, f64>,
}

/// One very large session, played once.
struct Large {
    target: &'static str,
    participants: u32,
    load: Value,
    /// From the last acknowledgement until the session API showed every delivery applied.
    readable_after: Duration,
    /// One session API answer once applied (every connection loaded and billed), the median
    /// of five.
    bill: Duration,
    connections: u64,
    /// The server's usage equals what the generator's timeline adds up to.
    matches: bool,
}

fn main() {
    sqlx::any::install_default_drivers();
    let runtime = tokio::runtime::Runtime::new().expect("runtime");
    let sessions = std::env::var("BENCH_SESSIONS").unwrap_or_else(|_| "400".into());
    let concurrencies: Vec<u32> = std::env::var("BENCH_CONCURRENCY")
        .unwrap_or_else(|_| "32,128".into())
        .split(',')
        .map(|c| c.trim().parse().expect("BENCH_CONCURRENCY is a list of numbers"))
        .collect();

    let bare = runtime.block_on(bare_server());
    let dir = std::env::temp_dir().join(format!("tollbooth-bench-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let sqlite = format!("sqlite://{}", dir.join("bench.db").display());
    let mut targets =
        vec![Target { name: "bare axum handler (200)", database: None, server: None }];
    for (name, url) in [
        ("tollbooth on SQLite", Some(sqlite)),
        ("tollbooth on PostgreSQL", runtime.block_on(fresh_postgres())),
    ] {
        match url {
            Some(url) => {
                let server = start_server(&url, &dir);
                targets.push(Target { name, database: Some(url), server: Some(server) });
            }
            None => println!("{name}: skipped (no PostgreSQL)"),
        }
    }

    let rounds: usize = std::env::var("BENCH_ROUNDS")
        .map_or(3, |n| n.parse().expect("BENCH_ROUNDS is a number of rounds"))
        .max(1);
    let base_of = |target: &Target| target.server.as_ref().map_or(bare.clone(), |s| s.base.clone());

    // Each run sends new sessions (its own seed): a repeated run would only send duplicates.
    // The targets take turns round by round, so that a slow spell of the machine falls on
    // every target alike rather than on the one measured during it.
    let mut seed = 0;
    // Per concurrency, per target: its rounds.
    let mut measured: Vec<Vec<Row>> = Vec::new();
    for &concurrency in &concurrencies {
        for target in &targets {
            seed += 1;
            load(&base_of(target), &sessions, concurrency, seed); // warms connections and caches
        }
        let mut rounds_of: Vec<Vec<Row>> = targets.iter().map(|_| Vec::new()).collect();
        for _ in 0..rounds {
            for (target, its_rounds) in targets.iter().zip(&mut rounds_of) {
                seed += 1;
                let base = base_of(target);
                its_rounds.push(runtime.block_on(measure(
                    target,
                    &base,
                    &sessions,
                    concurrency,
                    seed,
                )));
            }
        }
        measured.extend(rounds_of);
    }
    let mut large = Vec::new();
    for (knob, default) in [("BENCH_STORM", 10_000), ("BENCH_BILLED", 50_000)] {
        let participants = std::env::var(knob).map_or(default, |n| {
            n.parse().unwrap_or_else(|_| panic!("{knob} is a number of participants"))
        });
        for target in targets.iter().filter(|t| t.server.is_some() && participants > 0) {
            seed += 1;
            large.push(runtime.block_on(play_large(target, participants, seed)));
        }
    }
    // Idle again: what the servers keep once the load is over.
    std::thread::sleep(Duration::from_secs(2));
    let memory: Vec<(&str, Rss, Rss)> = targets
        .iter()
        .filter_map(|t| t.server.as_ref().map(|s| (t.name, s.idle_rss_kb, rss_kb(s.child.id()))))
        .collect();
    for target in &mut targets {
        if let Some(server) = &mut target.server {
            let _ = server.child.kill();
            let _ = server.child.wait();
        }
    }
    let _ = std::fs::remove_dir_all(&dir);
    let medians: Vec<Median> = measured.iter_mut().map(|rounds| Median::of(rounds)).collect();
    report(&medians, &sessions, rounds);
    report_large(&large, &memory);
}

/// Runs the load once, measured: throughput and latency from the generator, CPU from `/proc`,
/// the lag until the database has applied everything, and the stage times the server saw.
async fn measure(target: &Target, base: &str, sessions: &str, concurrency: u32, seed: u32) -> Row {
    let pid = target.server.as_ref().map_or(std::process::id(), |s| s.child.id());
    let stages_before = stage_totals(target, base).await;
    let on_postgres = target.database.as_ref().is_some_and(|url| url.starts_with("postgres"));
    let database_ticks = || if on_postgres { postgres_ticks() } else { 0 };
    let (server_before, children_before, database_before) =
        (cpu_ticks(pid), children_ticks(), database_ticks());
    let started = Instant::now();
    let result = load(base, sessions, concurrency, seed);
    let elapsed = started.elapsed().as_secs_f64();
    let server_ticks = cpu_ticks(pid) - server_before;
    let load_ticks = children_ticks() - children_before;
    let database_ticks = database_ticks().saturating_sub(database_before);
    let lag = match &target.database {
        Some(url) => Some(metering_lag(url).await),
        None => None,
    };
    let stages_after = stage_totals(target, base).await;
    let stages = STAGES
        .iter()
        .filter_map(|stage| {
            let (sum, count) = stages_after.get(*stage)?;
            let (sum0, count0) = stages_before.get(*stage).copied().unwrap_or_default();
            (count > &count0).then(|| (*stage, (sum - sum0) / (count - count0) * 1000.0))
        })
        .collect();
    let per_cent = |ticks: u64| ticks as f64 / ticks_per_second() / elapsed * 100.0;
    Row {
        target: target.name,
        concurrency,
        load: result,
        // The bare handler runs in this process, beside nothing else.
        server_cpu: per_cent(server_ticks),
        database_cpu: (database_ticks > 0).then(|| per_cent(database_ticks)),
        load_cpu: per_cent(load_ticks),
        lag,
        stages,
    }
}

fn rate(row: &Row) -> f64 {
    row.load["per_second"].as_f64().unwrap_or(0.0)
}

/// One target's rounds at one concurrency, as reported.
struct Median<'r> {
    /// The median round by deliveries/s (of an even number, the lower middle one).
    row: &'r Row,
    /// The lowest and highest rate of all the rounds.
    low: f64,
    high: f64,
}

impl<'r> Median<'r> {
    fn of(rounds: &'r mut [Row]) -> Median<'r> {
        rounds.sort_by(|a, b| rate(a).total_cmp(&rate(b)));
        let (low, high) = (rate(&rounds[0]), rate(&rounds[rounds.len() - 1]));
        Median { row: &rounds[(rounds.len() - 1) / 2], low, high }
    }
}

fn report(medians: &[Median], sessions: &str, rounds: usize) {
    println!(
        "\ningest benchmark: {sessions} sessions × ~52 signed deliveries per run, {rounds} \
         rounds with the targets taking turns; each line is a target's median round, the \
         ratio is its rate over the bare handler's median at the same concurrency; server and \
         load generator share the machine's cores; CPU in per cent of one core (db: \
         PostgreSQL's processes; SQLite is inside the server)\n"
    );
    println!(
        "{:<26}{:>6}{:>10}{:>16}{:>9}{:>9}{:>9}{:>8}{:>10}{:>10}{:>10}{:>10}",
        "target",
        "conc",
        "events/s",
        "rounds' range",
        "p50 ms",
        "p99 ms",
        "max ms",
        "ratio",
        "srv CPU",
        "db CPU",
        "gen CPU",
        "lag ms"
    );
    for &Median { row, low, high } in medians {
        let bare = medians
            .iter()
            .find(|m| m.row.concurrency == row.concurrency && m.row.target.starts_with("bare"))
            .map_or(1.0, |m| rate(m.row));
        let lat = |q: &str| row.load["latency_ms"][q].as_f64().unwrap_or(0.0);
        println!(
            "{:<26}{:>6}{:>10.0}{:>16}{:>9.2}{:>9.2}{:>9.2}{:>8.2}{:>9.0}%{:>10}{:>9.0}%{:>10}",
            row.target,
            row.concurrency,
            rate(row),
            format!("{low:.0}–{high:.0}"),
            lat("p50"),
            lat("p99"),
            lat("max"),
            rate(row) / bare,
            row.server_cpu,
            row.database_cpu.map_or("-".to_owned(), |c| format!("{c:.0}%")),
            row.load_cpu,
            row.lag.map_or("-".to_owned(), |l| format!("{:.0}", l.as_secs_f64() * 1000.0)),
        );
    }
    println!(
        "\nmean time per stage, ms (webhook_stage_seconds; store = from handing a delivery to \
         the writer until its commit answered; hold = counting the backlog, every 50 ms, and \
         waiting while over 4,000 wait to be applied; apply is per applied batch)\n"
    );
    println!(
        "{:<26}{:>6}{:>10}{:>10}{:>10}{:>10}{:>10}",
        "target", "conc", "verify", "store", "hold", "commit", "apply"
    );
    for row in medians.iter().map(|m| m.row).filter(|r| !r.stages.is_empty()) {
        let stage = |s: &str| row.stages.get(s).map_or("-".to_owned(), |ms| format!("{ms:.3}"));
        println!(
            "{:<26}{:>6}{:>10}{:>10}{:>10}{:>10}{:>10}",
            row.target,
            row.concurrency,
            stage("verify"),
            stage("store"),
            stage("hold"),
            stage("commit"),
            stage("apply")
        );
    }
}

/// Runs the load generator once against `base` (sessions of 20 computers, the host's and 2
/// phones) and returns its JSON summary.
fn load(base: &str, sessions: &str, concurrency: u32, seed: u32) -> Value {
    generate(
        base,
        &["--sessions", sessions, "--computers", "20", "--phones", "2"],
        concurrency,
        seed,
    )
}

fn generate(base: &str, shape: &[&str], concurrency: u32, seed: u32) -> Value {
    let out = Command::new(env!("CARGO_BIN_EXE_tollbooth"))
        .args(["simulate", "--url", base])
        .args(shape)
        .args(["--concurrency", &concurrency.to_string(), "--seed", &seed.to_string()])
        .args(["--no-verify", "--json"])
        .env("TOLLBOOTH_WEBEX__WEBHOOK_SECRET", SECRET)
        .env("RUST_LOG", "error")
        .stderr(Stdio::inherit())
        .output()
        .expect("run the load generator");
    assert!(out.status.success(), "load generator failed against {base}");
    serde_json::from_slice(&out.stdout).expect("load generator JSON")
}

/// How long until the database holds no delivery that is not applied yet.
async fn metering_lag(url: &str) -> Duration {
    let started = Instant::now();
    all_applied(url, started).await;
    started.elapsed()
}

/// Waits until the database holds no delivery that is not applied yet (at most two minutes
/// after `since`).
async fn all_applied(url: &str, since: Instant) {
    let mut db = sqlx::AnyConnection::connect(url).await.expect("read the bench database");
    // A `BENCH_SERVER` from before migration 0028 marks applied deliveries instead.
    let queued: Option<i64> =
        sqlx::query_scalar("SELECT COUNT(*) FROM pending_deliveries").fetch_one(&mut db).await.ok();
    let count = match queued {
        Some(_) => "SELECT COUNT(*) FROM pending_deliveries",
        None => "SELECT COUNT(*) FROM deliveries WHERE processed_at IS NULL",
    };
    loop {
        let pending: i64 =
            sqlx::query_scalar(count).fetch_one(&mut db).await.expect("count pending deliveries");
        if pending == 0 || since.elapsed() > Duration::from_secs(120) {
            return;
        }
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
}

/// Plays one session of `participants` computers besides the host (at 64 in flight), then
/// times how soon the session API shows all of it applied and how long one bill takes.
async fn play_large(target: &Target, participants: u32, seed: u32) -> Large {
    let server = target.server.as_ref().expect("a tollbooth server");
    let shape = ["--sessions", "1", "--computers", &participants.to_string(), "--phones", "0"];
    let load = generate(&server.base, &shape, 64, seed);
    let acknowledged = Instant::now();
    // The generator's session, made again from its seed: its id and what it adds up to.
    let played = simulate(&Plan {
        platform: PlatformKind::Webex,
        computers: participants,
        phones: 0,
        minutes: 60,
        started_at: Utc::now(),
        seed: u64::from(seed),
    });
    let url = format!("{}/api/v1/sessions/webex/{}", server.base, played.meeting_id);
    let client = reqwest::Client::new();
    let read = || async {
        let started = Instant::now();
        let response = client.get(&url).bearer_auth(ADMIN).send().await.expect("session API");
        assert!(response.status().is_success(), "session API answered {}", response.status());
        let view: Value = response.json().await.expect("session JSON");
        (view, started.elapsed())
    };
    let database = target.database.as_deref().expect("a database");
    let view = loop {
        all_applied(database, acknowledged).await;
        let (view, _) = read().await;
        if view["pending_deliveries"] == 0 || acknowledged.elapsed() > Duration::from_secs(120) {
            break view;
        }
    };
    let readable_after = acknowledged.elapsed();
    let mut bills = Vec::new();
    for _ in 0..5 {
        bills.push(read().await.1);
    }
    bills.sort();
    let usage = &view["usage"];
    let expected = played.expected;
    Large {
        target: target.name,
        participants,
        load,
        readable_after,
        bill: bills[bills.len() / 2],
        connections: usage["connections"].as_u64().unwrap_or(0),
        matches: usage["person_seconds"] == expected.person_seconds
            && usage["teleconference_seconds"] == expected.teleconference_seconds,
    }
}

fn report_large(large: &[Large], memory: &[(&str, Rss, Rss)]) {
    println!(
        "\nlarge sessions: one meeting of N computers and its host, 64 in flight; applied = \
         from the last acknowledgement until the session API shows every delivery applied; \
         bill = one session API answer (every connection loaded and summed), median of 5\n"
    );
    println!(
        "{:<26}{:>8}{:>12}{:>10}{:>12}{:>10}{:>9}",
        "target", "N", "connections", "events/s", "applied ms", "bill ms", "usage"
    );
    for l in large {
        println!(
            "{:<26}{:>8}{:>12}{:>10.0}{:>12.0}{:>10.1}{:>9}",
            l.target,
            l.participants,
            l.connections,
            l.load["per_second"].as_f64().unwrap_or(0.0),
            l.readable_after.as_secs_f64() * 1000.0,
            l.bill.as_secs_f64() * 1000.0,
            if l.matches { "equal" } else { "DIFFERS" },
        );
    }
    println!(
        "\nresident memory, MiB: the server's own (RssAnon) and the files it maps (RssFile: its \
         binary and, on SQLite, the database; page cache), idle after start and after all of the above\n"
    );
    println!("{:<26}{:>10}{:>10}{:>10}{:>10}", "target", "own", "mapped", "own", "mapped");
    let mib = |kb: u64| kb as f64 / 1024.0;
    for (name, idle, after) in memory {
        println!(
            "{name:<26}{:>10.1}{:>10.1}{:>10.1}{:>10.1}",
            mib(idle.own),
            mib(idle.mapped),
            mib(after.own),
            mib(after.mapped)
        );
    }
}

/// Resident memory of a process, in KiB.
#[derive(Clone, Copy)]
struct Rss {
    own: u64,
    mapped: u64,
}

/// Resident memory of a process, in KiB: its own (`RssAnon` in `/proc/{pid}/status`: heap,
/// stacks) and the database file it maps (`RssFile`: the kernel's page cache, shared and given
/// back under memory pressure; SQLite's reads map the file).
fn rss_kb(pid: u32) -> Rss {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
    let field = |name: &str| {
        status
            .lines()
            .find_map(|l| l.strip_prefix(name))
            .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
            .unwrap_or(0)
    };
    Rss { own: field("RssAnon:"), mapped: field("RssFile:") }
}

/// `webhook_stage_seconds` sums and counts per stage, from the server's `/metrics`.
async fn stage_totals(target: &Target, base: &str) -> BTreeMap<String, (f64, f64)> {
    let mut totals = BTreeMap::new();
    if target.server.is_none() {
        return totals;
    }
    let text = reqwest::get(format!("{base}/metrics"))
        .await
        .expect("scrape /metrics")
        .text()
        .await
        .expect("read /metrics");
    for line in text.lines() {
        let Some(rest) = line.strip_prefix("webhook_stage_seconds_") else { continue };
        let Some((kind, rest)) = rest.split_once("{stage=\"") else { continue };
        let Some((stage, value)) = rest.split_once("\"}") else { continue };
        let value: f64 = value.trim().parse().unwrap_or(0.0);
        let entry = totals.entry(stage.to_owned()).or_insert((0.0, 0.0));
        match kind {
            "sum" => entry.0 = value,
            "count" => entry.1 = value,
            _ => {}
        }
    }
    totals
}

/// CPU time of every process of this machine named `postgres` (the server and its
/// backends), in clock ticks; 0 where PostgreSQL runs elsewhere.
fn postgres_ticks() -> u64 {
    let Ok(processes) = std::fs::read_dir("/proc") else { return 0 };
    processes
        .flatten()
        .filter(|p| p.file_name().to_str().is_some_and(|n| n.bytes().all(|b| b.is_ascii_digit())))
        .filter_map(|p| std::fs::read_to_string(p.path().join("stat")).ok())
        .filter(|stat| stat.contains(" (postgres) "))
        .map(|stat| stat_fields(&stat, 14, 15))
        .sum()
}

/// User and system CPU time of a process so far, in clock ticks (`/proc/{pid}/stat`).
fn cpu_ticks(pid: u32) -> u64 {
    stat_fields(&read_stat(&format!("/proc/{pid}/stat")), 14, 15)
}

/// CPU time of this process's children that have ended and been waited for (the load
/// generator's runs), in clock ticks.
fn children_ticks() -> u64 {
    stat_fields(&read_stat("/proc/self/stat"), 16, 17)
}

/// A `/proc/*/stat` line; empty if the process is gone.
fn read_stat(path: &str) -> String {
    std::fs::read_to_string(path).unwrap_or_default()
}

/// The sum of fields `a` and `b` (numbered from 1, as in `man 5 proc`) of a `/proc/*/stat`
/// line.
fn stat_fields(stat: &str, a: usize, b: usize) -> u64 {
    // The command (field 2) is in parentheses and may hold spaces; field 3 follows it.
    let after = stat.rsplit_once(')').map_or("", |(_, rest)| rest);
    let fields: Vec<&str> = after.split_whitespace().collect();
    let field = |n: usize| fields.get(n - 3).and_then(|f| f.parse::<u64>().ok()).unwrap_or(0);
    field(a) + field(b)
}

/// Clock ticks per second (`getconf CLK_TCK`; 100 on Linux).
fn ticks_per_second() -> f64 {
    Command::new("getconf")
        .arg("CLK_TCK")
        .output()
        .ok()
        .and_then(|o| String::from_utf8(o.stdout).ok())
        .and_then(|s| s.trim().parse().ok())
        .unwrap_or(100.0)
}

async fn bare_server() -> String {
    let app = Router::new().route("/webhooks/webex", post(|| async { StatusCode::OK }));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await });
    base
}

fn start_server(database_url: &str, dir: &std::path::Path) -> Server {
    let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let base = format!("http://127.0.0.1:{port}");
    let binary =
        std::env::var("BENCH_SERVER").unwrap_or_else(|_| env!("CARGO_BIN_EXE_tollbooth").into());
    let mut child = Command::new(binary)
        .current_dir(dir)
        .arg("serve")
        .env("TOLLBOOTH_DATABASE_URL", database_url)
        .env("TOLLBOOTH_BIND", format!("127.0.0.1:{port}"))
        .env("TOLLBOOTH_WEBEX__WEBHOOK_SECRET", SECRET)
        .env("TOLLBOOTH_ADMIN_TOKEN", ADMIN)
        .env("RUST_LOG", "warn")
        .spawn()
        .expect("start tollbooth serve");
    for _ in 0..200 {
        if std::net::TcpStream::connect(("127.0.0.1", port)).is_ok() {
            // Let start-up work (migrations, workers' first passes) settle before measuring.
            std::thread::sleep(Duration::from_secs(1));
            let idle_rss_kb = rss_kb(child.id());
            return Server { child, base, idle_rss_kb };
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
