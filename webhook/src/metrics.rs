//! Prometheus metrics: request counts and latencies per route, plus whatever the domain records.

use std::sync::OnceLock;
use std::time::Instant;

use axum::extract::{MatchedPath, Request, State};
use axum::middleware::Next;
use axum::response::Response;
use metrics_exporter_prometheus::{PrometheusBuilder, PrometheusHandle};

use crate::AppState;

/// The process-wide recorder; installed once, shared by every router built in this process.
pub fn handle() -> PrometheusHandle {
    static HANDLE: OnceLock<PrometheusHandle> = OnceLock::new();
    HANDLE
        .get_or_init(|| {
            let recorder = PrometheusBuilder::new().build_recorder();
            let handle = recorder.handle();
            // Fails only if another recorder is already installed; ours then stays empty.
            let _ = metrics::set_global_recorder(recorder);
            handle
        })
        .clone()
}

/// The stages a delivery passes on its way in, timed in `webhook_stage_seconds`.
#[derive(Clone, Copy)]
pub enum Stage {
    /// Signature check and parse.
    Verify,
    /// From handing the delivery to the ingest writer until its commit answered.
    Store,
    /// A batch waiting for the applier to catch up before its commit (see `ingest`).
    Hold,
    /// One group commit.
    Commit,
    /// One applier pass that applied something.
    Apply,
}

/// Records how long `stage` took since `started`.
pub fn stage(stage: Stage, started: Instant) {
    let name = match stage {
        Stage::Verify => "verify",
        Stage::Store => "store",
        Stage::Hold => "hold",
        Stage::Commit => "commit",
        Stage::Apply => "apply",
    };
    metrics::histogram!("webhook_stage_seconds", "stage" => name)
        .record(started.elapsed().as_secs_f64());
}

pub async fn render(State(state): State<AppState>) -> String {
    state.metrics.render()
}

pub async fn track(request: Request, next: Next) -> Response {
    let route = request
        .extensions()
        .get::<MatchedPath>()
        .map_or_else(|| "unmatched".to_owned(), |p| p.as_str().to_owned());
    let method = request.method().to_string();
    let started = Instant::now();
    let response = next.run(request).await;
    let labels =
        [("method", method), ("route", route), ("status", response.status().as_u16().to_string())];
    metrics::counter!("http_requests_total", &labels).increment(1);
    metrics::histogram!("http_request_duration_seconds", &labels)
        .record(started.elapsed().as_secs_f64());
    response
}
