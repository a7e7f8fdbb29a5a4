//! The one app harness: the router and its workers on a real port with a fresh store, and
//! orders with signed pay links.

use std::sync::Arc;

use chrono::{Duration, Utc};
use secrecy::SecretString;
use tollbooth_core::config::Config;
use tollbooth_core::payments::order::{Binding, Order};
use tollbooth_core::platform::PlatformKind;
use tollbooth_core::pricing::{Estimate, SessionPlan};
use tollbooth_core::store::{self, PaymentStore, SiteStore, SqlStore};
use tollbooth_webhook::AppState;

use super::Db;

pub struct App {
    pub base: String,
    pub state: AppState,
    pub store: SqlStore,
}

impl App {
    /// Serves on 127.0.0.1:0, configured as `tollbooth serve` would be by the environment
    /// pairs `env`, on top of the test secrets and admin token.
    pub async fn start(db: &Db, env: &[(&str, &str)]) -> App {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        App::serve(listener, db, super::config(db, env)).await
    }

    /// Serves on 127.0.0.1:0 with the default configuration (its public URL this server's,
    /// with a fixed pay link secret), changed by `configure`.
    pub async fn configured(db: &Db, configure: impl FnOnce(&mut Config)) -> App {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let base = format!("http://{}", listener.local_addr().unwrap());
        let mut config = Config {
            public_url: format!("{base}/").parse().unwrap(),
            pay_link_secret: Some(SecretString::from("test-pay-link-secret-of-32-chars-or-more")),
            ..Config::default()
        };
        configure(&mut config);
        App::serve(listener, db, config).await
    }

    /// The store opened and brought in line with `config`, the workers started, and the
    /// router served on `listener`.
    async fn serve(listener: tokio::net::TcpListener, db: &Db, config: Config) -> App {
        let base = format!("http://{}", listener.local_addr().unwrap());
        let store = store::open_with(&db.url, config.database_deadline()).await.unwrap();
        store
            .apply_config(config.site.country, config.site.timezone, &config.prices())
            .await
            .unwrap();
        let (state, workers) = AppState::new(Arc::new(store.clone()), Arc::new(config));
        workers.spawn();
        tokio::spawn(tollbooth_webhook::serve(listener, state.clone(), std::future::pending()));
        App { base, state, store }
    }
}

impl App {
    /// A host's pay-per-use order for 60 minutes, 10 computers and 3 phones at the default
    /// prices, built as the bot builds it: the estimate of 600 × 0.12 + 180 × 0.05 = 81.00 USD
    /// plus the configured headroom (15 % by default), so 93.15 USD is authorised.
    pub async fn session_order(&self) -> Order {
        let meeting_id = "560d7b784f5143e3be2fc3064a5c4999".into();
        self.session_order_for(Binding::Meeting { platform: PlatformKind::Webex, meeting_id }).await
    }

    /// A session order of the host's, bound as `bound` says, for the same estimate.
    pub async fn session_order_for(&self, bound: Binding) -> Order {
        let prices = self.state.config.prices();
        let estimate = Estimate::new(SessionPlan::new(60, 10, 3).unwrap(), &prices).unwrap();
        let order = Order::for_session(
            bound,
            "host@example.com".into(),
            &estimate,
            prices,
            Some("https://discord.com/channels/1/2/3".into()),
        )
        .with_headroom(self.state.config.pay_per_use.headroom_percent);
        self.store.create_order(&order).await.unwrap();
        order
    }

    /// An attendee's registration fee, taken at once.
    pub async fn registration_order(&self, fee: &str) -> Order {
        let fee = tollbooth_core::money::Money::parse_exact(fee, self.state.config.site.currency)
            .unwrap();
        let order = Order::for_registration("zoom/abc".into(), "attendee@example.com".into(), fee);
        self.store.create_order(&order).await.unwrap();
        order
    }

    /// The pay link for an order, valid for `hours` (negative: expired).
    pub fn pay_link(&self, order: &Order, hours: i64) -> String {
        let token = self.state.pay_links.sign(&order.id, Utc::now() + Duration::hours(hours));
        format!("{}/pay/{token}", self.base)
    }
}

/// An HTTP client that shows redirects instead of following them, as the tests walk each step.
pub fn browser() -> reqwest::Client {
    reqwest::Client::builder().redirect(reqwest::redirect::Policy::none()).build().unwrap()
}
