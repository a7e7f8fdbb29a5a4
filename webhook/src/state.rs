//! What every handler can reach.

use std::sync::Arc;

use metrics_exporter_prometheus::PrometheusHandle;
use secrecy::SecretString;
use tollbooth_core::config::Config;
use tollbooth_core::platform::PlatformKind;
use tollbooth_core::store::Store;

use crate::ingest::Ingest;

#[derive(Clone)]
pub struct AppState {
    pub store: Arc<dyn Store>,
    pub config: Arc<Config>,
    pub metrics: PrometheusHandle,
    pub ingest: Ingest,
}

impl AppState {
    /// Starts the background tasks that the application needs: the delivery writer and the
    /// applier. Must be called inside a Tokio runtime.
    pub fn new(store: Arc<dyn Store>, config: Arc<Config>) -> AppState {
        let ingest = Ingest::start(store.clone());
        crate::applier::start(store.clone(), ingest.stored.clone());
        AppState { store, config, metrics: crate::metrics::handle(), ingest }
    }

    /// The secrets a platform's deliveries may be signed with.
    pub fn webhook_secrets(&self, platform: PlatformKind) -> Vec<SecretString> {
        match platform {
            PlatformKind::Webex => self.config.webex.webhook_secret.clone(),
            PlatformKind::Zoom => self.config.zoom.webhook_secret_token.iter().cloned().collect(),
        }
    }
}
