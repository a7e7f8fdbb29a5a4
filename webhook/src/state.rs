//! What every handler can reach.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use metrics_exporter_prometheus::PrometheusHandle;
use secrecy::SecretString;
use tokio::sync::RwLock;
use tollbooth_core::config::Config;
use tollbooth_core::platform::PlatformKind;
use tollbooth_core::store::Store;

use crate::ingest::Ingest;

/// Hook secrets are re-read at most this often, however many bad signatures arrive.
const SECRETS_RELOAD_INTERVAL: Duration = Duration::from_secs(1);

/// When the registered hooks' secrets were read, and what they were.
type StoredSecrets = (Instant, Vec<SecretString>);

#[derive(Clone)]
pub struct AppState {
    pub store: Arc<dyn Store>,
    pub config: Arc<Config>,
    pub metrics: PrometheusHandle,
    pub ingest: Ingest,
    /// Secrets of hooks that `tollbooth register webhooks` created, with when they were read.
    stored_secrets: Arc<RwLock<HashMap<PlatformKind, StoredSecrets>>>,
}

impl AppState {
    /// Starts the background tasks that the application needs: the delivery writer and the
    /// applier. Must be called inside a Tokio runtime.
    pub fn new(store: Arc<dyn Store>, config: Arc<Config>) -> AppState {
        let ingest = Ingest::start(store.clone());
        crate::applier::start(store.clone(), ingest.stored.clone());
        AppState {
            store,
            config,
            metrics: crate::metrics::handle(),
            ingest,
            stored_secrets: Arc::default(),
        }
    }

    /// The secrets a platform's deliveries may be signed with: the configured ones (several
    /// while they are rotated) and those of the hooks tollbooth registered.
    pub async fn webhook_secrets(&self, platform: PlatformKind) -> Vec<SecretString> {
        let mut secrets = match platform {
            PlatformKind::Webex => self.config.webex.webhook_secret.clone(),
            PlatformKind::Zoom => self.config.zoom.webhook_secret_token.iter().cloned().collect(),
        };
        let cached = self.stored_secrets.read().await.get(&platform).map(|(_, s)| s.clone());
        match cached {
            Some(stored) => secrets.extend(stored),
            None => {
                self.reload_webhook_secrets(platform).await;
                let cache = self.stored_secrets.read().await;
                secrets.extend(cache.get(&platform).map(|(_, s)| s.clone()).unwrap_or_default());
            }
        }
        secrets
    }

    /// Re-reads the registered hooks' secrets (a hook may have been registered since); returns
    /// false when they were read too recently to try again.
    pub async fn reload_webhook_secrets(&self, platform: PlatformKind) -> bool {
        let mut cache = self.stored_secrets.write().await;
        if cache.get(&platform).is_some_and(|(at, _)| at.elapsed() < SECRETS_RELOAD_INTERVAL) {
            return false;
        }
        let stored = match self.store.webhook_secrets(platform.as_str()).await {
            Ok(stored) => stored,
            Err(e) => {
                tracing::warn!(%platform, error = %e, "registered hook secrets unavailable");
                Vec::new()
            }
        };
        cache.insert(platform, (Instant::now(), stored));
        true
    }
}
