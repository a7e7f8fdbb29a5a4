//! What every handler can reach.

use std::sync::Arc;

use metrics_exporter_prometheus::PrometheusHandle;
use secrecy::SecretString;
use tollbooth_core::cashier::Cashier;
use tollbooth_core::config::Config;
use tollbooth_core::gateway::Gateways;
use tollbooth_core::gateway::payflow::Payflow;
use tollbooth_core::gateway::sandbox::Sandbox;
use tollbooth_core::method::Method;
use tollbooth_core::paylink::PayLinks;
use tollbooth_core::store::Store;
use url::Url;

#[derive(Clone)]
pub struct AppState {
    pub store: Arc<dyn Store>,
    pub config: Arc<Config>,
    pub metrics: PrometheusHandle,
    pub cashier: Cashier,
    /// The sandbox gateway, whose hosted test page tollbooth serves itself.
    pub sandbox: Arc<Sandbox>,
    pub pay_links: PayLinks,
}

impl AppState {
    pub fn new(store: Arc<dyn Store>, config: Arc<Config>) -> AppState {
        let sandbox = Arc::new(Sandbox::new(base(&config.public_url)));
        let mut gateways = Gateways::default();
        for method in &config.payments.methods {
            gateways = match method {
                Method::Sandbox => gateways.with(sandbox.clone()),
                Method::Payflow => gateways.with(Arc::new(Payflow::new(&config.payflow))),
                // Refused when the configuration is loaded.
                _ => gateways,
            };
        }
        let secret = config.pay_link_secret.clone().unwrap_or_else(|| {
            tracing::warn!(
                "pay_link_secret is not set: pay links are signed with a random key and stop working when tollbooth restarts"
            );
            let mut bytes = [0u8; 32];
            rand::RngCore::fill_bytes(&mut rand::rng(), &mut bytes);
            SecretString::from(hex::encode(bytes))
        });
        AppState {
            cashier: Cashier::new(store.clone(), gateways),
            store,
            metrics: crate::metrics::handle(),
            sandbox,
            pay_links: PayLinks::new(secret),
            config,
        }
    }

    /// An absolute URL under the public base URL, for links that leave this process.
    pub fn url(&self, path: &str) -> Url {
        base(&self.config.public_url).join(path).expect("a relative path joins any base URL")
    }
}

/// The public URL with a trailing slash, so that joining appends instead of replacing.
fn base(url: &Url) -> Url {
    let mut url = url.clone();
    if !url.path().ends_with('/') {
        url.set_path(&format!("{}/", url.path()));
    }
    url
}
