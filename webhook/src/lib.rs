//! The axum application: platform webhooks, payment callbacks, pay pages, the Discord
//! interactions endpoint, the admin API, and health and metrics. Handlers parse, call the
//! domain in `tollbooth-core`, and render; they hold no business rules.

mod admin;
pub mod applier;
mod checkpointer;
mod code;
mod discord;
mod divisions;
mod error;
pub mod health;
mod i18n;
pub mod ingest;
mod invoices;
mod linking;
mod metrics;
pub mod outbox;
mod pages;
mod pay;
mod payments;
mod plan;
mod quarantine;
mod receipts;
mod reconciliation;
pub mod retention;
pub mod server;
mod sessions;
pub mod settlement;
mod state;
pub mod waiting_list;
mod webhooks;
pub mod workers;

use std::future::Future;
use std::time::Duration;

use axum::Router;
use axum::extract::DefaultBodyLimit;
use axum::routing::{get, post};
use tokio::net::TcpListener;
use tower_http::limit::RequestBodyLimitLayer;
use tower_http::timeout::RequestBodyTimeoutLayer;
use tower_http::trace::TraceLayer;

pub use error::ApiError;
pub use state::AppState;
pub use webhooks::MAX_BODY as MAX_WEBHOOK_BODY;
pub use workers::Workers;

/// The whole HTTP surface of tollbooth.
pub fn router(state: AppState) -> Router {
    let body_read_timeout = Duration::from_secs(state.config.server.body_read_timeout_secs);
    let webhooks = Router::new()
        .route("/webhooks/webex", post(webhooks::webex))
        .route("/webhooks/zoom", post(webhooks::zoom))
        // Refuses a declared length over the limit before reading a byte of the body, and
        // stops reading an undeclared (chunked) one as soon as it passes the limit.
        .layer(DefaultBodyLimit::disable())
        .layer(RequestBodyLimitLayer::new(webhooks::MAX_BODY));
    Router::new()
        .merge(webhooks)
        .route("/discord/interactions", post(discord::interactions))
        .route("/api/v1/sessions/{platform}/{meeting_id}", get(sessions::show))
        .route("/api/v1/divisions/{division}/spend", get(divisions::spend))
        .route("/api/v1/quarantine", get(quarantine::list))
        .route("/api/v1/reconciliation", get(reconciliation::list))
        .route("/receipts/{token}", get(receipts::show))
        .route("/invoices/{token}/{number}", get(invoices::show))
        .route("/invoices/{token}/{number}/pdf", get(invoices::pdf))
        .route("/oauth/{platform}/callback", get(linking::callback))
        .route("/", get(pages::home))
        .route("/healthz", get(health::live))
        .route("/readyz", get(health::ready))
        .route("/metrics", get(metrics::render))
        .route("/pay/{token}", get(pay::show).post(pay::choose))
        .route("/pay/{token}/plan", post(plan::change))
        .route("/pay/{token}/code", post(code::apply))
        .route("/pay/{token}/return", get(pay::returned))
        .route("/pay/{token}/cancel", get(pay::cancelled))
        .route("/payments/{gateway}/notify", post(payments::notify))
        .route(
            "/payments/sandbox/checkout/{id}",
            get(payments::sandbox_page).post(payments::sandbox_decide),
        )
        // A client that stops sending a body part-way is answered 408 instead of holding
        // its handler (and connection) open.
        .layer(RequestBodyTimeoutLayer::new(body_read_timeout))
        .layer(axum::middleware::from_fn(metrics::track))
        .layer(TraceLayer::new_for_http())
        .with_state(state)
}

/// Serves on an already bound listener (port 0 in tests) until `shutdown` resolves, then lets
/// requests in flight finish; with the connection limits of the configuration's `server`.
pub async fn serve(
    listener: TcpListener,
    state: AppState,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    let server = &state.config.server;
    let limits = server::Limits {
        max_connections: usize::try_from(server.max_connections).unwrap_or(usize::MAX),
        header_read_timeout: Duration::from_secs(server.header_read_timeout_secs),
    };
    server::serve(listener, router(state), limits, shutdown).await
}
