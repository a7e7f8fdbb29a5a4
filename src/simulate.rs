//! `tollbooth simulate`: plays realistic, correctly signed sessions against a running server,
//! then reads back what the server made of them next to what the generator expected. With
//! `--lose P` it drops a share of the deliveries and serves what the platform recorded, which
//! the server settles against. With `--sessions N --concurrency K` it is also the load
//! generator for benchmarks.

use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use chrono::Utc;
use clap::Args;
use rand::SeedableRng;
use rand::seq::SliceRandom;
use secrecy::{ExposeSecret, SecretString};
use serde_json::{Value, json};
use tollbooth::simulation::{Plan, Simulated, records, simulate};
use tollbooth_core::config::Config;
use tollbooth_core::metering::Usage;
use tollbooth_core::platform::{PlatformKind, webex, zoom};
use url::Url;

use crate::cli::Failure;

#[derive(Args)]
pub struct SimulateArgs {
    /// Base URL of the running server, e.g. http://127.0.0.1:8080
    #[arg(long)]
    url: Url,
    #[arg(long, default_value = "webex", value_parser = parse_platform)]
    platform: PlatformKind,
    /// Computers besides the host's.
    #[arg(long, default_value_t = 5)]
    computers: u32,
    #[arg(long, default_value_t = 1)]
    phones: u32,
    #[arg(long, default_value_t = 60, value_parser = clap::value_parser!(u32).range(1..=1440))]
    minutes: u32,
    /// Send every delivery twice, as platforms do after a slow answer.
    #[arg(long)]
    duplicates: bool,
    /// Send each session's deliveries in a random order.
    #[arg(long)]
    shuffle: bool,
    #[arg(long, default_value_t = 1, value_parser = clap::value_parser!(u32).range(1..=1_000_000))]
    sessions: u32,
    /// Requests in flight at once.
    #[arg(long, default_value_t = 4, value_parser = clap::value_parser!(u32).range(1..=1024))]
    concurrency: u32,
    /// Seed of the generator (random when absent); the same seed plays the same sessions.
    #[arg(long)]
    seed: Option<u64>,
    /// Only send and measure; do not read the sessions back (for load runs).
    #[arg(long)]
    no_verify: bool,
    /// Share of each session's deliveries never sent, from 0 up to (not including) 1, as if
    /// the platform lost them. Simulate then serves the platform's record of every session
    /// (see --records-bind) and waits for each to settle against it.
    #[arg(long, value_name = "P", value_parser = parse_share)]
    lose: Option<f64>,
    /// Where to serve the platform's records (default 127.0.0.1:8099 with --lose): the server
    /// reads them with webex.api_base http://ADDR/v1 or zoom.api_base http://ADDR/v2.
    #[arg(long, value_name = "ADDR")]
    records_bind: Option<SocketAddr>,
    /// Print one JSON object instead of text.
    #[arg(long)]
    json: bool,
}

fn parse_platform(s: &str) -> Result<PlatformKind, String> {
    s.parse().map_err(|e: tollbooth_core::platform::UnknownPlatform| e.to_string())
}

/// Where the records are served when `--lose` is given alone: a fixed address, since the
/// server must be configured with it before simulate runs.
const RECORDS_BIND: SocketAddr =
    SocketAddr::new(std::net::IpAddr::V4(std::net::Ipv4Addr::LOCALHOST), 8099);

/// How long verification waits without any session becoming ready to compare.
const PATIENCE: Duration = Duration::from_secs(60);

fn parse_share(s: &str) -> Result<f64, String> {
    match s.parse::<f64>() {
        Ok(p) if (0.0..1.0).contains(&p) => Ok(p),
        _ => Err(format!("must be a share from 0 up to (not including) 1, got {s}")),
    }
}

/// How to run a server that reads the platform's records from simulate at `addr`.
fn server_settings(platform: PlatformKind, addr: SocketAddr) -> String {
    let (section, version) = match platform {
        PlatformKind::Webex => ("WEBEX", "v1"),
        PlatformKind::Zoom => ("ZOOM", "v2"),
    };
    format!(
        "TOLLBOOTH_{section}__API_BASE=http://{addr}/{version} TOLLBOOTH_{section}__TOKEN=simulate \
         TOLLBOOTH_SETTLEMENT__DELAY_SECS=0 TOLLBOOTH_SETTLEMENT__STALE_AFTER_SECS=1 tollbooth serve"
    )
}

/// One request, prepared before the clock starts so that signing is not measured.
struct Prepared {
    body: Vec<u8>,
    headers: Vec<(&'static str, String)>,
}

pub async fn run(args: SimulateArgs, config: &Config) -> Result<(), Failure> {
    let secret = signing_secret(args.platform, config)?;
    let admin_token = match (&config.admin_token, args.no_verify) {
        (Some(token), false) => Some(token.clone()),
        (None, false) => {
            return Err(Failure::Usage(
                "simulate reads the sessions back: set TOLLBOOTH_ADMIN_TOKEN (or pass --no-verify)"
                    .into(),
            ));
        }
        (_, true) => None,
    };
    let records_bind = match (args.lose, args.records_bind) {
        (None, None) => None,
        (_, bind) => Some(bind.unwrap_or(RECORDS_BIND)),
    };
    if records_bind.is_some() && args.no_verify {
        return Err(Failure::Usage(
            "--lose and --records-bind serve the platform's records only while simulate waits \
             for the sessions to settle: drop --no-verify"
                .into(),
        ));
    }
    let seed = args.seed.unwrap_or_else(rand::random);
    let started_at = Utc::now() - chrono::Duration::minutes(i64::from(args.minutes) + 5);
    let mut sessions: Vec<Simulated> = (0..args.sessions)
        .map(|i| {
            simulate(&Plan {
                platform: args.platform,
                computers: args.computers,
                phones: args.phones,
                minutes: args.minutes,
                started_at,
                seed: seed.wrapping_add(u64::from(i)),
            })
        })
        .collect();
    let mut rng = rand::rngs::StdRng::seed_from_u64(seed);
    let lost: usize = match args.lose {
        Some(share) => sessions.iter_mut().map(|s| s.lose(share, &mut rng)).sum(),
        None => 0,
    };
    // Served before the first delivery: gap fill may look a session up while others are sent.
    let records_at = match records_bind {
        Some(bind) => Some(serve_records(bind, &sessions).await?),
        None => None,
    };
    let settle = records_at.map(|addr| server_settings(args.platform, addr));
    if let (Some(addr), Some(how)) = (records_at, &settle) {
        tracing::info!(%addr, "serving the platform's records; a server reads them when run as {how}");
    }
    let mut requests = Vec::new();
    for session in &sessions {
        let mut bodies: Vec<&Vec<u8>> = session.deliveries.iter().collect();
        if args.duplicates {
            bodies = bodies.into_iter().flat_map(|b| [b, b]).collect();
        }
        if args.shuffle {
            bodies.shuffle(&mut rng);
        }
        requests.extend(bodies.into_iter().map(|b| prepare(args.platform, &secret, b)));
    }
    let target = args.url.join(match args.platform {
        PlatformKind::Webex => "webhooks/webex",
        PlatformKind::Zoom => "webhooks/zoom",
    })?;
    let load = send_all(target, requests, args.concurrency as usize).await?;
    let checks = match admin_token {
        Some(token) => {
            verify(&args.url, &token, args.platform, &sessions, config, settle.as_deref()).await?
        }
        None => Vec::new(),
    };
    let mismatches = checks.iter().filter(|c| !c.matches).count();
    let run = Run { seed, lost, records_at, load };
    if args.json {
        println!("{}", serde_json::to_string_pretty(&summary_json(&args, &run, &checks))?);
    } else {
        print_text(&args, &run, &checks);
    }
    let load = run.load;
    if load.failed > 0 || mismatches > 0 {
        return Err(Failure::Other(anyhow::anyhow!(
            "{} deliveries not accepted, {mismatches} sessions differ from what was expected",
            load.failed
        )));
    }
    Ok(())
}

/// Listens on `bind` and serves the sessions' records there until simulate exits; returns the
/// address it listens on.
async fn serve_records(bind: SocketAddr, sessions: &[Simulated]) -> Result<SocketAddr, Failure> {
    let listener = tokio::net::TcpListener::bind(bind)
        .await
        .map_err(|e| Failure::Usage(format!("--records-bind {bind}: cannot listen there: {e}")))?;
    let addr = listener.local_addr()?;
    let router = records::router(sessions);
    tokio::spawn(async move {
        if let Err(e) = axum::serve(listener, router).await {
            tracing::warn!(error = %e, "serving the platform's records stopped");
        }
    });
    Ok(addr)
}

fn signing_secret(platform: PlatformKind, config: &Config) -> Result<SecretString, Failure> {
    let secret = match platform {
        PlatformKind::Webex => config.webex.webhook_secret.first().cloned(),
        PlatformKind::Zoom => config.zoom.webhook_secret_token.clone(),
    };
    secret.ok_or_else(|| {
        Failure::Usage(match platform {
            PlatformKind::Webex => {
                "simulate signs deliveries: set TOLLBOOTH_WEBEX__WEBHOOK_SECRET".into()
            }
            PlatformKind::Zoom => {
                "simulate signs deliveries: set TOLLBOOTH_ZOOM__WEBHOOK_SECRET_TOKEN".into()
            }
        })
    })
}

fn prepare(platform: PlatformKind, secret: &SecretString, body: &[u8]) -> Prepared {
    let headers = match platform {
        PlatformKind::Webex => {
            vec![(webex::SIGNATURE_HEADER, webex::sign(secret.expose_secret(), body))]
        }
        PlatformKind::Zoom => {
            let ts = Utc::now().timestamp().to_string();
            vec![
                (zoom::SIGNATURE_HEADER, zoom::sign(secret, &ts, body)),
                (zoom::TIMESTAMP_HEADER, ts),
            ]
        }
    };
    Prepared { body: body.to_vec(), headers }
}

struct Load {
    sent: usize,
    failed: usize,
    elapsed: Duration,
    /// Sorted answer latencies.
    latencies: Vec<Duration>,
    statuses: std::collections::BTreeMap<String, usize>,
}

impl Load {
    fn percentile(&self, p: f64) -> Duration {
        if self.latencies.is_empty() {
            return Duration::ZERO;
        }
        let rank = ((p / 100.0) * self.latencies.len() as f64).ceil() as usize;
        self.latencies[rank.clamp(1, self.latencies.len()) - 1]
    }

    fn per_second(&self) -> f64 {
        self.sent as f64 / self.elapsed.as_secs_f64().max(f64::EPSILON)
    }
}

/// Sends every request with `concurrency` in flight; each worker takes the next one in order.
async fn send_all(
    target: Url,
    requests: Vec<Prepared>,
    concurrency: usize,
) -> Result<Load, Failure> {
    let client = reqwest::Client::builder().pool_max_idle_per_host(concurrency).build()?;
    let requests = Arc::new(requests);
    let next = Arc::new(AtomicUsize::new(0));
    let started = Instant::now();
    let workers: Vec<_> = (0..concurrency)
        .map(|_| {
            let (client, requests, next, target) =
                (client.clone(), requests.clone(), next.clone(), target.clone());
            tokio::spawn(async move {
                let mut seen = Vec::new();
                loop {
                    let i = next.fetch_add(1, Ordering::Relaxed);
                    let Some(r) = requests.get(i) else { break };
                    let mut request = client
                        .post(target.clone())
                        .header("content-type", "application/json")
                        .body(r.body.clone());
                    for (name, value) in &r.headers {
                        request = request.header(*name, value);
                    }
                    let sent = Instant::now();
                    let status = match request.send().await {
                        Ok(response) => response.status().as_u16().to_string(),
                        Err(e) => format!("error: {}", e.without_url()),
                    };
                    seen.push((sent.elapsed(), status));
                }
                seen
            })
        })
        .collect();
    let mut load = Load {
        sent: 0,
        failed: 0,
        elapsed: Duration::ZERO,
        latencies: Vec::new(),
        statuses: Default::default(),
    };
    for worker in workers {
        for (latency, status) in worker.await? {
            load.sent += 1;
            if !status.starts_with('2') {
                load.failed += 1;
            }
            load.latencies.push(latency);
            *load.statuses.entry(status).or_default() += 1;
        }
    }
    load.elapsed = started.elapsed();
    load.latencies.sort();
    Ok(load)
}

struct Check {
    meeting_id: String,
    expected: Usage,
    expected_total: String,
    server: Value,
    matches: bool,
}

/// Reads each session back once the server has applied every delivery for it (and, when
/// simulate serves the platform's records, once it settled: `settle` says how a server reads
/// them). A session settled against the platform's record is compared with what the record
/// adds up to, one on webhooks alone with what webhooks add up to.
async fn verify(
    base: &Url,
    token: &SecretString,
    platform: PlatformKind,
    sessions: &[Simulated],
    config: &Config,
    settle: Option<&str>,
) -> Result<Vec<Check>, Failure> {
    let client = reqwest::Client::new();
    let prices = config.prices();
    let mut checks = Vec::with_capacity(sessions.len());
    let mut unready = Vec::new();
    let mut deadline = Instant::now() + PATIENCE;
    for session in sessions {
        let mut url = base.clone();
        url.path_segments_mut()
            .map_err(|_| anyhow::anyhow!("--url cannot be a base URL"))?
            .pop_if_empty()
            .extend(["api", "v1", "sessions", platform.as_str(), &session.meeting_id]);
        let server = loop {
            let response =
                client.get(url.clone()).bearer_auth(token.expose_secret()).send().await?;
            if response.status().is_success() {
                let v: Value = response.json().await?;
                let settled =
                    matches!(v["settlement"]["state"].as_str(), Some("settled" | "final"));
                if v["pending_deliveries"] == 0
                    && v["state"] != "running"
                    && (settle.is_none() || settled)
                {
                    deadline = Instant::now() + PATIENCE;
                    break Some(v);
                }
            }
            if Instant::now() > deadline {
                break None;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        };
        let Some(server) = server else {
            unready.push(session.meeting_id.as_str());
            continue;
        };
        let from_record = server["settlement"]["source"].as_str().is_some_and(|s| s != "webhooks");
        let e = if from_record { session.expected_recorded } else { session.expected };
        let expected_total = prices
            .cost(e.person_minutes, e.teleconference_minutes)
            .map(|c| c.total.to_string())
            .unwrap_or_default();
        let u = &server["usage"];
        let matches = u["person_seconds"] == e.person_seconds
            && u["person_minutes"] == e.person_minutes
            && u["teleconference_seconds"] == e.teleconference_seconds
            && u["teleconference_minutes"] == e.teleconference_minutes
            && u["connections"] == e.connections
            && server["cost"]["total"] == expected_total.as_str();
        checks.push(Check {
            meeting_id: session.meeting_id.clone(),
            expected: e,
            expected_total,
            server,
            matches,
        });
    }
    if !unready.is_empty() {
        let what = match settle {
            Some(_) => "never settled",
            None => "still had deliveries to apply or had not ended",
        };
        let hint = settle
            .map(|how| {
                format!("; a server reads the platform's records from simulate when run as {how}")
            })
            .unwrap_or_default();
        return Err(Failure::Other(anyhow::anyhow!(
            "{} of {} sessions {what} ({} s passed without one getting there): {}{hint}",
            unready.len(),
            sessions.len(),
            PATIENCE.as_secs(),
            unready.join(", ")
        )));
    }
    Ok(checks)
}

fn ms(d: Duration) -> f64 {
    (d.as_secs_f64() * 1e6).round() / 1e3
}

/// What a run did, for the summary.
struct Run {
    seed: u64,
    /// Deliveries never sent (`--lose`).
    lost: usize,
    /// Where the platform's records were served.
    records_at: Option<SocketAddr>,
    load: Load,
}

fn summary_json(args: &SimulateArgs, run: &Run, checks: &[Check]) -> Value {
    let load = &run.load;
    json!({
        "platform": args.platform,
        "seed": run.seed,
        "sessions": args.sessions,
        "deliveries": load.sent,
        "lost": run.lost,
        "records": run.records_at.map(|addr| format!("http://{addr}")),
        "failed": load.failed,
        "seconds": load.elapsed.as_secs_f64(),
        "per_second": load.per_second().round(),
        "latency_ms": { "p50": ms(load.percentile(50.0)), "p90": ms(load.percentile(90.0)),
                        "p99": ms(load.percentile(99.0)), "max": ms(load.percentile(100.0)) },
        "statuses": load.statuses,
        "verified": checks.len(),
        "mismatches": checks.iter().filter(|c| !c.matches).count(),
        "results": checks.iter().map(|c| json!({
            "meeting_id": c.meeting_id, "matches": c.matches,
            "settled_from": c.server["settlement"]["source"],
            "expected": { "usage": c.expected, "total": c.expected_total },
            "server": { "usage": c.server["usage"], "cost": c.server["cost"] },
        })).collect::<Vec<_>>(),
    })
}

fn print_text(args: &SimulateArgs, run: &Run, checks: &[Check]) {
    let load = &run.load;
    println!(
        "played {} {} session(s) of {} min with {} computers + host and {} phones (seed {}{}{})",
        args.sessions,
        args.platform,
        args.minutes,
        args.computers,
        args.phones,
        run.seed,
        if args.duplicates { ", every delivery twice" } else { "" },
        if args.shuffle { ", shuffled" } else { "" },
    );
    if let Some(share) = args.lose {
        println!("lost: {} deliveries never sent (--lose {share})", run.lost);
    }
    if let Some(addr) = run.records_at {
        println!("records: the platform's record of every session served at http://{addr}");
    }
    let statuses: Vec<String> = load.statuses.iter().map(|(s, n)| format!("{s} × {n}")).collect();
    println!(
        "deliveries: {} in {:.2} s = {:.0}/s with {} in flight; answers: {}",
        load.sent,
        load.elapsed.as_secs_f64(),
        load.per_second(),
        args.concurrency,
        statuses.join(", ")
    );
    println!(
        "latency: p50 {:.2} ms, p90 {:.2} ms, p99 {:.2} ms, max {:.2} ms",
        ms(load.percentile(50.0)),
        ms(load.percentile(90.0)),
        ms(load.percentile(99.0)),
        ms(load.percentile(100.0))
    );
    for c in checks {
        let settled = match c.server["settlement"]["source"].as_str() {
            Some(source) => format!(" (settled from {source})"),
            None => String::new(),
        };
        let verdict = if c.matches { "matches" } else { "MISMATCH" };
        println!("\nsession {}: {verdict}{settled}", c.meeting_id);
        println!("  {:<24}{:>12}{:>12}", "", "expected", "server");
        let u = &c.server["usage"];
        let e = c.expected;
        for (name, expected) in [
            ("person_seconds", e.person_seconds),
            ("person_minutes", e.person_minutes),
            ("teleconference_seconds", e.teleconference_seconds),
            ("teleconference_minutes", e.teleconference_minutes),
            ("connections", e.connections),
        ] {
            println!("  {name:<24}{expected:>12}{:>12}", u[name].to_string());
        }
        let currency = c.server["cost"]["currency"].as_str().unwrap_or_default();
        let total = c.server["cost"]["total"].as_str().unwrap_or_default();
        println!("  {:<24}{:>12}{:>12}", format!("total ({currency})"), c.expected_total, total);
    }
}
