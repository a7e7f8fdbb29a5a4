//! `tollbooth serve`: the HTTP application (and the Discord gateway client when
//! `discord.mode = "gateway"`, and the check of the Webex hooks when there is a Webex token)
//! until SIGINT or SIGTERM.

use std::sync::Arc;

use tokio::net::TcpListener;
use tokio::signal::unix::{SignalKind, signal};
use tollbooth_core::config::{Config, DiscordMode};
use tollbooth_core::manifest::{self, Manifest};
use tollbooth_core::platform::hooks::{Keeper, target_url};
use tollbooth_core::platform::webex_api::WebexApi;
use tollbooth_core::store::{SqlStore, Store};
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
    let hooks = hook_keeper(&config, store.clone())?;
    let (state, workers) = AppState::new(Arc::new(store), Arc::new(config));
    // The ingest writer, the applier, the outbox worker, the storage probe and retention.
    workers.spawn();
    if let Some(keeper) = hooks {
        tokio::spawn(keeper.run());
    }
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

/// What keeps the manifest's Webex hooks registered and enabled, when `webex.hook_check_secs`
/// is not 0 and there is a token to do it with and a public URL Webex can deliver to.
fn hook_keeper(config: &Config, store: SqlStore) -> Result<Option<Keeper<SqlStore>>, Failure> {
    let (Some(token), Some(every)) = (&config.webex.token, config.webex.hook_check_every()) else {
        return Ok(None);
    };
    let manifest = Manifest::parse(manifest::BUILT_IN, "built into tollbooth")?;
    let webex = manifest.webhooks.webex;
    let target_url = match target_url(&config.public_url, &webex.target_path) {
        Ok(url) => url,
        Err(e) => {
            // Deliveries may still come to hooks registered elsewhere: serving goes on.
            tracing::warn!("the Webex hooks are not checked: {e}");
            return Ok(None);
        }
    };
    let api = WebexApi::new(config.webex.api_base.clone(), token.clone())
        .map_err(|e| Failure::Usage(e.to_string()))?;
    Ok(Some(Keeper::new(api, store, webex.subscriptions, target_url, every)))
}

async fn shutdown_signal() {
    let mut term = signal(SignalKind::terminate()).expect("SIGTERM handler");
    tokio::select! {
        _ = tokio::signal::ctrl_c() => {}
        _ = term.recv() => {}
    }
    tracing::info!("shutting down; finishing requests in flight");
}
