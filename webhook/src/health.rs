//! Liveness and readiness.
//!
//! Readiness is more than "the database answers a query": the background workers report how
//! their last pass went ([`Health::report`]), and a probe writes one row every few seconds,
//! since a full disk, a read-only file or a standby server still answers reads. `/readyz` is
//! 503 while any of them fails or a worker is stuck in one pass past its deadline, and turns
//! 200 again by itself once they recover.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::Json;
use axum::extract::State;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use chrono::Utc;
use serde_json::json;
use tollbooth_core::store::{Store, StoreError, within};

use crate::AppState;

/// How often the write probe runs.
const PROBE_EVERY: Duration = Duration::from_secs(2);

/// What the workers and the write probe last said.
#[derive(Clone, Default)]
pub struct Health(Arc<Mutex<BTreeMap<&'static str, Status>>>);

#[derive(Clone, Debug)]
enum Status {
    /// In a pass since then, which may take up to the given time.
    Busy {
        since: Instant,
        allowed: Duration,
    },
    Ok,
    /// The last pass failed, with why (never a secret: store errors name a cause only).
    /// (For a part that only works when asked, the failure counts until `until`.)
    Failing {
        since: Instant,
        why: String,
        until: Option<Instant>,
    },
}

impl Health {
    /// `part` starts a pass that should take no longer than `allowed`.
    pub fn busy(&self, part: &'static str, allowed: Duration) {
        let mut parts = self.0.lock().expect("health lock");
        // A failing part stays failing until a pass succeeds.
        if !matches!(parts.get(part), Some(Status::Failing { .. })) {
            parts.insert(part, Status::Busy { since: Instant::now(), allowed });
        }
    }

    /// How `part`'s pass ended.
    pub fn report<T>(&self, part: &'static str, outcome: &Result<T, StoreError>) {
        self.record(part, outcome.as_ref().map(|_| ()).map_err(ToString::to_string), None);
    }

    /// How a part that works only when asked (storing deliveries) last did. A failure counts
    /// for `lasting` only: while not ready, no one may ask again, and readiness must not wait
    /// for a success that never comes.
    pub fn report_for(&self, part: &'static str, outcome: Result<(), String>, lasting: Duration) {
        self.record(part, outcome, Some(Instant::now() + lasting));
    }

    fn record(&self, part: &'static str, outcome: Result<(), String>, until: Option<Instant>) {
        let mut parts = self.0.lock().expect("health lock");
        match outcome {
            Ok(()) => _ = parts.insert(part, Status::Ok),
            Err(why) => {
                let since = match parts.get(part) {
                    Some(Status::Failing { since, .. }) => *since,
                    _ => Instant::now(),
                };
                parts.insert(part, Status::Failing { since, why, until });
            }
        }
    }

    /// Each part's problem, if any; empty when ready.
    fn problems(&self) -> BTreeMap<&'static str, String> {
        let parts = self.0.lock().expect("health lock");
        parts
            .iter()
            .filter_map(|(part, status)| match status {
                Status::Ok => None,
                Status::Busy { since, allowed } => (since.elapsed() > *allowed).then(|| {
                    (*part, format!("stuck in one pass for {} s", since.elapsed().as_secs()))
                }),
                Status::Failing { until: Some(until), .. } if *until < Instant::now() => None,
                Status::Failing { since, why, .. } => {
                    Some((*part, format!("{why} (for {} s)", since.elapsed().as_secs())))
                }
            })
            .collect()
    }
}

/// Writes one row every [`PROBE_EVERY`], within the store's deadline, and reports it as
/// `storage`.
pub struct StorageProbe {
    pub store: Arc<dyn Store>,
    pub health: Health,
}

impl StorageProbe {
    #[tracing::instrument(name = "storage_probe", skip_all)]
    pub async fn run(self) {
        loop {
            probe_once(self.store.as_ref(), &self.health).await;
            tokio::time::sleep(PROBE_EVERY).await;
        }
    }
}

async fn probe_once(store: &dyn Store, health: &Health) {
    let deadline = store.deadline();
    health.busy("storage", deadline * 2);
    let outcome = within(deadline, store.probe_write(Utc::now())).await;
    if let Err(e) = &outcome {
        tracing::warn!(error = %e, "storage cannot write");
    }
    health.report("storage", &outcome);
}

/// The process is up.
pub async fn live() -> &'static str {
    "ok"
}

/// The process can do its work: the database answers now, storage took the last probe's
/// write, and no worker is failing or stuck.
pub async fn ready(State(state): State<AppState>) -> Response {
    let mut problems = state.health.problems();
    let store = state.store.as_ref();
    if let Err(e) = within(store.deadline(), store.ping()).await {
        problems.insert("database", e.to_string());
    }
    if problems.is_empty() {
        return "ready".into_response();
    }
    let mut answer = (
        StatusCode::SERVICE_UNAVAILABLE,
        Json(json!({ "status": "not ready", "problems": problems })),
    )
        .into_response();
    answer.headers_mut().insert(header::RETRY_AFTER, HeaderValue::from_static(RETRY_AFTER_SECS));
    answer
}

/// What a 503 asks callers to wait, in seconds.
pub const RETRY_AFTER_SECS: &str = "5";
