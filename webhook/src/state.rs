//! What every handler can reach.

use std::sync::Arc;

use metrics_exporter_prometheus::PrometheusHandle;
use tollbooth_core::config::Config;
use tollbooth_core::store::Store;

#[derive(Clone)]
pub struct AppState {
    pub store: Arc<dyn Store>,
    pub config: Arc<Config>,
    pub metrics: PrometheusHandle,
}

impl AppState {
    pub fn new(store: Arc<dyn Store>, config: Arc<Config>) -> AppState {
        AppState { store, config, metrics: crate::metrics::handle() }
    }
}
