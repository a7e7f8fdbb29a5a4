//! `tollbooth serve`: the HTTP application (and the Discord gateway client when
//! `discord.mode = "gateway"`) until SIGINT or SIGTERM.

use std::sync::Arc;

use tokio::net::TcpListener;
use tokio::signal::unix::{SignalKind, signal};
use tollbooth_core::config::{Config, DiscordMode};
use tollbooth_core::store::Store;
use tollbooth_webhook::AppState;

use crate::cli::{Failure, open_site};

pub async fn run(config: Config) -> Result<(), Failure> {
    let store = open_site(&config).await?;
    let bind = config.bind;
    let listener = TcpListener::bind(bind)
        .await
        .map_err(|e| anyhow::anyhow!("cannot listen on {bind}: {e}"))?;
    tracing::info!(address = %listener.local_addr()?, backend = store.backend().name(), "listening");
    let gateway = config.discord.mode == DiscordMode::Gateway;
    let http =
        tollbooth_bot::api::http(&config.discord).map_err(|e| Failure::Usage(e.to_string()))?;
    let (state, workers) = AppState::new(Arc::new(store), Arc::new(config));
    // The ingest writer, the applier, the outbox worker, the storage probe and retention.
    workers.spawn();
    if gateway {
        let bot = state.bot.clone();
        tokio::spawn(async move {
            // Discord delivers interactions to the gateway or to an endpoint, never both: a
            // failed gateway is logged, and the HTTP side (pay pages, webhooks) keeps serving.
            if let Err(e) = tollbooth_bot::gateway::run(bot, http).await {
                tracing::error!(error = %e, "Discord gateway stopped");
            }
        });
    }
    tollbooth_webhook::serve(listener, state, shutdown_signal()).await?;
    tracing::info!("stopped");
    Ok(())
}

async fn shutdown_signal() {
    let mut term = signal(SignalKind::terminate()).expect("SIGTERM handler");
    tokio::select! {
        _ = tokio::signal::ctrl_c() => {}
        _ = term.recv() => {}
    }
    tracing::info!("shutting down; finishing requests in flight");
}
