//! What every handler can reach.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use metrics_exporter_prometheus::PrometheusHandle;
use secrecy::SecretString;
use serenity::all::Http;
use tokio::sync::RwLock;
use tollbooth_bot::{Bot, Dependencies};
use tollbooth_core::config::{Config, DiscordMode};
use tollbooth_core::fee_based::service::Offers;
use tollbooth_core::linking::Linking;
use tollbooth_core::linking::oauth::OAuthClient;
use tollbooth_core::linking::state::States;
use tollbooth_core::pay_per_use::terms::Terms;
use tollbooth_core::payments::cashier::Cashier;
use tollbooth_core::payments::gateway::Gateways;
use tollbooth_core::payments::gateway::express_checkout::ExpressCheckout;
use tollbooth_core::payments::gateway::payflow::Payflow;
use tollbooth_core::payments::gateway::paypal_orders::PaypalOrders;
use tollbooth_core::payments::gateway::sandbox::Sandbox;
use tollbooth_core::payments::gateway::stripe::Stripe;
use tollbooth_core::payments::gateway::website_payments_pro::WebsitePaymentsPro;
use tollbooth_core::payments::method::Method;
use tollbooth_core::payments::paylink::{Links, PayLinks};
use tollbooth_core::platform::webex_api::WebexApi;
use tollbooth_core::platform::zoom_api::ZoomApi;
use tollbooth_core::platform::{MeetingControl, PlatformKind, Platforms};
use tollbooth_core::reach::Channels;
use tollbooth_core::settlement::{Asks, Settings};
use tollbooth_core::store::Store;
use url::Url;

use crate::applier::Applier;
use crate::checkpointer::Checkpointer;
use crate::discord::Endpoint;
use crate::health::{Health, StorageProbe};
use crate::ingest::Ingest;
use crate::outbox::{self, Deliverers};
use crate::retention::Retention;
use crate::settlement::SettlementWorker;
use crate::waiting_list::OfferSweep;
use crate::workers::Workers;

/// Hook secrets are re-read at most this often, however many bad signatures arrive.
const SECRETS_RELOAD_INTERVAL: Duration = Duration::from_secs(1);

/// When the registered hooks' secrets were read, and what they were.
type StoredSecrets = (Instant, Vec<SecretString>);

/// What handlers share, behind one pointer: axum clones the state for every request, and a
/// clone of its parts (some dozens of `Arc`s and strings) was 4 % of the server's CPU under
/// load.
#[derive(Clone)]
pub struct AppState(Arc<Parts>);

impl std::ops::Deref for AppState {
    type Target = Parts;
    fn deref(&self) -> &Parts {
        &self.0
    }
}

pub struct Parts {
    pub store: Arc<dyn Store>,
    pub config: Arc<Config>,
    pub metrics: PrometheusHandle,
    pub ingest: Ingest,
    pub cashier: Cashier,
    /// The sandbox gateway, whose hosted test page tollbooth serves itself.
    pub sandbox: Arc<Sandbox>,
    pub pay_links: PayLinks,
    /// What the applier decides starts and bills sessions with.
    pub terms: Terms,
    /// The chat bot's command core, for whichever transport `discord.mode` picks.
    pub bot: Bot,
    /// Hosts who link themselves: `/link`'s consent and its callback.
    pub linking: Linking,
    /// The interactions endpoint, when `discord.mode = "http"`.
    pub discord: Option<Endpoint>,
    /// What the background workers and the write probe last said, for `/readyz`.
    pub health: Health,
    /// Secrets of hooks that `tollbooth register webhooks` created, with when they were read.
    stored_secrets: RwLock<HashMap<PlatformKind, StoredSecrets>>,
}

impl AppState {
    /// What handlers need, and the background workers that must run beside them (see
    /// [`Workers`]); nothing is started here.
    pub fn new(store: Arc<dyn Store>, config: Arc<Config>) -> (AppState, Workers) {
        let health = Health::default();
        let (ingest, ingest_writer) = Ingest::new(store.clone(), health.clone());
        let sandbox = Arc::new(Sandbox::new(base(&config.public_url)));
        let mut gateways = Gateways::default();
        for method in &config.payments.methods {
            gateways = match method {
                Method::Sandbox => gateways.with(sandbox.clone()),
                Method::Payflow => gateways.with(Arc::new(Payflow::new(&config.payflow))),
                Method::Stripe => gateways.with(Arc::new(Stripe::new(&config.stripe))),
                Method::Paypal => gateways.with(Arc::new(PaypalOrders::new(&config.paypal))),
                Method::ExpressCheckout => {
                    gateways.with(Arc::new(ExpressCheckout::new(&config.paypal_classic)))
                }
                Method::WebsitePaymentsPro => {
                    gateways.with(Arc::new(WebsitePaymentsPro::new(&config.paypal_classic)))
                }
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
        let pay_links = PayLinks::new(secret.clone());
        let links = Links {
            signer: pay_links.clone(),
            base: base(&config.public_url),
            pay_link_hours: i64::try_from(config.payments.pay_link_hours).unwrap_or(i64::MAX),
        };
        let mail = config.smtp.mailer().expect("smtp.* was checked when the configuration loaded");
        let webex_bot = webex_bot(&config);
        let reach = Channels { email: mail.is_some(), webex: webex_bot.is_some() };
        let offers = Offers {
            hours: i64::try_from(config.registration.offer_hours).unwrap_or(i64::MAX),
            links: links.clone(),
            reach,
        };
        let terms = Terms {
            reach,
            links,
            captures: gateways.capture_limits(),
            headroom_percent: config.pay_per_use.headroom_percent,
            settlement: Settings {
                asks: Asks {
                    webex: config.webex.token.is_some(),
                    zoom: config.zoom.token.is_some(),
                },
                ..config.settlement.settings()
            },
        };
        let applier = Applier {
            store: store.clone(),
            stored: ingest.stored.clone(),
            terms: terms.clone(),
            health: health.clone(),
        };
        let platforms = Platforms {
            webex: platform_api(&config, PlatformKind::Webex),
            zoom: platform_api(&config, PlatformKind::Zoom),
        };
        let linking = linking(&config, store.clone(), &secret);
        let bot = Bot::new(Dependencies {
            store: store.clone(),
            pay_links: pay_links.clone(),
            public_url: base(&config.public_url),
            methods: config.payments.methods.clone(),
            pay_link_hours: config.payments.pay_link_hours,
            headroom_percent: config.pay_per_use.headroom_percent,
            platforms: platforms.clone(),
            linking: linking.clone(),
            reach,
            partial_refunds: gateways.partial_refunds(),
            vat: config.site.vat(),
            offers: offers.clone(),
            max_seats: u32::try_from(config.registration.max_seats).unwrap_or(u32::MAX),
        });
        let cashier = Cashier::new(
            store.clone(),
            gateways,
            tollbooth_core::when_paid(reach, config.invoicing()),
        );
        let http = discord_http(&config);
        let deliverers = Deliverers {
            discord: http.clone().filter(|_| config.discord.token.is_some()),
            platforms: platforms.clone(),
            cashier: cashier.clone(),
            mail,
            webex_bot,
            links: terms.links.clone(),
            offers: offers.clone(),
        };
        let outbox = outbox::Worker {
            store: store.clone(),
            deliverers,
            name: format!("{}-{}", std::process::id(), rand::random::<u32>()),
            health: health.clone(),
        };
        let workers = Workers {
            ingest_writer,
            applier,
            outbox,
            storage_probe: StorageProbe { store: store.clone(), health: health.clone() },
            retention: Retention { store: store.clone(), days: config.retention.deliveries_days },
            checkpointer: Checkpointer { store: store.clone() },
            offer_sweep: OfferSweep { store: store.clone(), offers },
            settlement: SettlementWorker {
                store: store.clone(),
                platforms: platforms.clone(),
                terms: terms.clone(),
                stored: ingest.stored.clone(),
            },
        };
        let discord = http.and_then(|http| endpoint(&config, &bot, http));
        let state = AppState(Arc::new(Parts {
            cashier,
            terms,
            store,
            metrics: crate::metrics::handle(),
            ingest,
            sandbox,
            pay_links,
            bot,
            linking,
            discord,
            health,
            config,
            stored_secrets: RwLock::default(),
        }));
        (state, workers)
    }

    /// An absolute URL under the public base URL, for links that leave this process.
    pub fn url(&self, path: &str) -> Url {
        base(&self.config.public_url).join(path).expect("a relative path joins any base URL")
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

/// Discord's REST client, unless Discord is off.
fn discord_http(config: &Config) -> Option<Arc<Http>> {
    if config.discord.mode == DiscordMode::Off {
        return None;
    }
    // The configuration was checked when it loaded, so this cannot fail.
    Some(Arc::new(tollbooth_bot::api::http(&config.discord).expect("valid discord settings")))
}

/// The interactions endpoint, in HTTP mode.
fn endpoint(config: &Config, bot: &Bot, http: Arc<Http>) -> Option<Endpoint> {
    let key = config.discord.public_key.as_deref()?;
    (config.discord.mode == DiscordMode::Http)
        .then(|| Endpoint::new(key, bot.clone(), http).expect("valid discord.public_key"))
}

/// The platform's REST client (ending unpaid meetings, scheduling, registrants), when its token
/// is configured.
fn platform_api(config: &Config, platform: PlatformKind) -> Option<Arc<dyn MeetingControl>> {
    let made: Result<Arc<dyn MeetingControl>, String> = match platform {
        PlatformKind::Webex => {
            let token = config.webex.token.clone()?;
            WebexApi::new(config.webex.api_base.clone(), token)
                .map(|api| api.with_site_url(config.webex.site_url.clone()))
                .map(|api| Arc::new(api) as Arc<dyn MeetingControl>)
                .map_err(|e| e.to_string())
        }
        PlatformKind::Zoom => {
            let token = config.zoom.token.clone()?;
            ZoomApi::new(config.zoom.api_base.clone(), token)
                .map(|api| Arc::new(api) as Arc<dyn MeetingControl>)
                .map_err(|e| e.to_string())
        }
    };
    made.map_err(|e| tracing::warn!(%platform, error = %e, "cannot call the platform API")).ok()
}

/// The OAuth clients of the platforms whose client id and secret are configured; states are
/// signed with a key derived from the pay-link secret.
fn linking(config: &Config, store: Arc<dyn Store>, secret: &SecretString) -> Linking {
    let public = base(&config.public_url);
    let client = |platform, api_base: &Url| {
        let app = config.oauth(platform)?;
        Some(OAuthClient::new(platform, app, api_base.clone(), &public))
    };
    Linking::new(
        store,
        States::new(secret),
        client(PlatformKind::Webex, &config.webex.api_base),
        client(PlatformKind::Zoom, &config.zoom.api_base),
    )
}

/// The Webex bot that messages Webex hosts, when `webex.bot_token` is set.
fn webex_bot(config: &Config) -> Option<WebexApi> {
    let token = config.webex.bot_token.clone()?;
    WebexApi::new(config.webex.api_base.clone(), token)
        .map_err(|e| tracing::warn!(error = %e, "cannot message Webex hosts"))
        .ok()
}

/// The public URL with a trailing slash, so that joining appends instead of replacing.
fn base(url: &Url) -> Url {
    let mut url = url.clone();
    if !url.path().ends_with('/') {
        url.set_path(&format!("{}/", url.path()));
    }
    url
}
