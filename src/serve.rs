//! `tollbooth serve`: the HTTP application until SIGINT or SIGTERM.

use std::sync::Arc;

use tokio::net::TcpListener;
use tokio::signal::unix::{SignalKind, signal};
use tollbooth_core::config::Config;
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
    tollbooth_webhook::serve(
        listener,
        AppState::new(Arc::new(store), Arc::new(config)),
        shutdown_signal(),
    )
    .await?;
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
