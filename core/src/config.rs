//! Configuration: defaults, then `tollbooth.toml` (or `--config PATH`), then `TOLLBOOTH_*`
//! environment variables (`__` between levels). Parsed into valid types up front, so a bad
//! value stops start-up with an error that names its key; secrets never print.

use std::net::SocketAddr;
use std::path::Path;

use figment::Figment;
use figment::providers::{Format, Serialized, Toml};
use rust_decimal::Decimal;
use secrecy::{ExposeSecret, SecretString};
use serde::{Deserialize, Deserializer};
use url::Url;

use crate::invoicing::invoice::{Party, Prefix, VatId};
use crate::invoicing::service::Terms;
use crate::invoicing::vat::{Pricing, Rate, Vat};
use crate::money::{Country, Currency, parse_non_negative};
use crate::payments::method::{self, Method};
use crate::platform::PlatformKind;
use crate::pricing::Prices;
use crate::time::Tz;

pub const ENV_PREFIX: &str = "TOLLBOOTH_";
/// The longest default gateway timeout (Payflow's; the others wait 30 s): the outbox leases a
/// capture or refund for one such call.
pub const LONGEST_GATEWAY_TIMEOUT_SECS: u64 = 45;

#[derive(Debug, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Config {
    /// `sqlite://…` or `postgres://…`.
    pub database_url: String,
    pub bind: SocketAddr,
    /// Base URL of links that the bot hands out.
    #[serde(deserialize_with = "http_url")]
    pub public_url: Url,
    /// Bearer token for `/api/v1/*`; without it the admin API answers 401 to everyone.
    pub admin_token: Option<SecretString>,
    pub log_format: LogFormat,
    pub site: SiteConfig,
    pub pricing: PricingConfig,
    pub webex: WebexConfig,
    pub zoom: ZoomConfig,
    pub discord: DiscordConfig,
    pub smtp: SmtpConfig,
    /// Key of the HMAC that signs pay links (at least 32 characters). Without it, a random key
    /// is made at start-up and pay links stop working when the process restarts.
    pub pay_link_secret: Option<SecretString>,
    pub payments: PaymentsConfig,
    pub pay_per_use: PayPerUseConfig,
    pub registration: RegistrationConfig,
    pub payflow: PayflowConfig,
    pub stripe: StripeConfig,
    pub paypal: PaypalConfig,
    pub paypal_classic: PaypalClassicConfig,
    pub database: DatabaseConfig,
    pub server: ServerConfig,
    pub retention: RetentionConfig,
    pub settlement: SettlementConfig,
}

/// How long database work may take (the URL is `database_url`).
#[derive(Debug, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct DatabaseConfig {
    /// Seconds one database call may take before it counts as an outage (answered 503,
    /// retried by workers); PostgreSQL enforces it as `statement_timeout` and `lock_timeout`.
    #[serde(deserialize_with = "positive_seconds")]
    pub timeout_secs: u64,
}

impl Default for DatabaseConfig {
    fn default() -> Self {
        DatabaseConfig { timeout_secs: 10 }
    }
}

/// Limits that keep slow or idle clients from using up the server.
#[derive(Debug, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ServerConfig {
    /// Connections open at once; more wait in the kernel's queue until one closes. Keep it
    /// well under the process's file descriptor limit (`ulimit -n`), which the database
    /// connections and outgoing calls share.
    #[serde(deserialize_with = "positive_count")]
    pub max_connections: u64,
    /// Seconds a client has to send a request's headers, on a new or an idle kept-alive
    /// connection, before the connection is closed.
    #[serde(deserialize_with = "positive_seconds")]
    pub header_read_timeout_secs: u64,
    /// Seconds a client may pause while sending a request's body before it is answered 408.
    #[serde(deserialize_with = "positive_seconds")]
    pub body_read_timeout_secs: u64,
}

impl Default for ServerConfig {
    fn default() -> Self {
        ServerConfig {
            max_connections: 512,
            header_read_timeout_secs: 10,
            body_read_timeout_secs: 10,
        }
    }
}

/// How long raw data is kept.
#[derive(Debug, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct RetentionConfig {
    /// Days an applied webhook delivery's raw body is kept; sessions, connections, charges,
    /// payments and quarantined deliveries are kept regardless.
    #[serde(deserialize_with = "positive_count")]
    pub deliveries_days: u64,
}

impl Default for RetentionConfig {
    fn default() -> Self {
        RetentionConfig { deliveries_days: 90 }
    }
}

/// When a paid session is settled against the platform's own record (README, Settlement).
/// Times count from the session's end.
#[derive(Debug, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct SettlementConfig {
    /// Before the platform's participant record is first asked for (default 600).
    #[serde(deserialize_with = "whole_number")]
    pub delay_secs: u64,
    /// When a record that never came is given up on and the session settles on webhooks
    /// alone (default 21600).
    #[serde(deserialize_with = "whole_number")]
    pub give_up_after_secs: u64,
    /// When the usage report is checked and the settlement becomes final (default 86400).
    #[serde(deserialize_with = "whole_number")]
    pub final_after_secs: u64,
    /// Minutes per category a later figure may differ by without an adjustment (default 1).
    #[serde(deserialize_with = "whole_number")]
    pub tolerance_minutes: u64,
    /// An open session with no delivery for this long is looked up on the platform
    /// (default 3600).
    #[serde(deserialize_with = "positive_count")]
    pub stale_after_secs: u64,
}

impl Default for SettlementConfig {
    fn default() -> Self {
        let d = crate::settlement::Settings::default();
        SettlementConfig {
            delay_secs: d.delay.as_secs(),
            give_up_after_secs: d.give_up_after.as_secs(),
            final_after_secs: d.final_after.as_secs(),
            tolerance_minutes: d.tolerance_minutes,
            stale_after_secs: d.stale_after.as_secs(),
        }
    }
}

impl SettlementConfig {
    pub fn settings(&self) -> crate::settlement::Settings {
        use std::time::Duration;
        crate::settlement::Settings {
            delay: Duration::from_secs(self.delay_secs),
            give_up_after: Duration::from_secs(self.give_up_after_secs),
            final_after: Duration::from_secs(self.final_after_secs),
            tolerance_minutes: self.tolerance_minutes,
            stale_after: Duration::from_secs(self.stale_after_secs),
            asks: crate::settlement::Asks::default(),
        }
    }

    /// The record is waited for after the first ask, and the final check comes after both.
    fn validate(&self) -> Result<(), ConfigError> {
        if self.give_up_after_secs < self.delay_secs {
            return Err(ConfigError(format!(
                "settlement.give_up_after_secs (TOLLBOOTH_SETTLEMENT__GIVE_UP_AFTER_SECS) must be at least settlement.delay_secs ({}), got {}",
                self.delay_secs, self.give_up_after_secs
            )));
        }
        if self.final_after_secs < self.give_up_after_secs {
            return Err(ConfigError(format!(
                "settlement.final_after_secs (TOLLBOOTH_SETTLEMENT__FINAL_AFTER_SECS) must be at least settlement.give_up_after_secs ({}), got {}",
                self.give_up_after_secs, self.final_after_secs
            )));
        }
        Ok(())
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum LogFormat {
    Text,
    Json,
}

#[derive(Debug, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct SiteConfig {
    pub currency: Currency,
    pub country: Country,
    /// The IANA zone that times typed in chat without an offset are read in.
    pub timezone: Tz,
    /// VAT in percent on everything sold, 0 to 100 with up to two decimals (default 0).
    #[serde(deserialize_with = "vat_rate")]
    pub vat_percent: Rate,
    /// Whether fees and prices are entered with VAT included (default) or VAT is added on top
    /// of them when a registration's fee is charged.
    #[serde(deserialize_with = "boolean")]
    pub prices_include_vat: bool,
    /// The seller, as invoices print it: name, postal address (lines separated by `\n`) and
    /// VAT id.
    pub seller_name: Option<String>,
    pub seller_address: Option<String>,
    #[serde(deserialize_with = "optional_vat_id")]
    pub seller_vat_id: Option<VatId>,
}

impl SiteConfig {
    pub fn vat(&self) -> Vat {
        let pricing = if self.prices_include_vat { Pricing::Inclusive } else { Pricing::Exclusive };
        Vat { rate: self.vat_percent, pricing }
    }
}

#[derive(Debug, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct PricingConfig {
    #[serde(deserialize_with = "price")]
    pub person_minute: Decimal,
    #[serde(deserialize_with = "price")]
    pub teleconference_minute: Decimal,
}

#[derive(Debug, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct WebexConfig {
    /// One secret, or several separated by commas while they are rotated.
    #[serde(deserialize_with = "secret_list")]
    pub webhook_secret: Vec<SecretString>,
    #[serde(deserialize_with = "http_url")]
    pub api_base: Url,
    pub token: Option<SecretString>,
    /// A Webex bot's token: with it, Webex hosts are also told in Webex (`POST /messages` to
    /// their address), the one channel every Webex host has.
    pub bot_token: Option<SecretString>,
    /// The Webex site whose usage report bills are settled against, as Webex names it in
    /// `siteUrl` (`example.webex.com`). Without it the report is not read.
    #[serde(deserialize_with = "site_host")]
    pub site_url: Option<String>,
    /// Seconds between `serve`'s checks of the manifest's hooks (with a token and a public
    /// URL Webex can reach): missing ones are created, disabled ones re-enabled. 0 turns the
    /// check off.
    #[serde(deserialize_with = "seconds_or_off")]
    pub hook_check_secs: u64,
    /// The Webex integration hosts link themselves through (`/link`); both or neither.
    pub client_id: Option<String>,
    pub client_secret: Option<SecretString>,
    /// Where `/authorize`, `/access_token` and `/people/me` are.
    #[serde(deserialize_with = "http_url")]
    pub oauth_base: Url,
}

impl WebexConfig {
    /// How often `serve` checks the hooks, or `None` when it does not.
    pub fn hook_check_every(&self) -> Option<std::time::Duration> {
        (self.hook_check_secs > 0).then(|| std::time::Duration::from_secs(self.hook_check_secs))
    }
}

#[derive(Debug, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ZoomConfig {
    pub webhook_secret_token: Option<SecretString>,
    #[serde(deserialize_with = "http_url")]
    pub api_base: Url,
    pub token: Option<SecretString>,
    /// The Zoom OAuth app hosts link themselves through (`/link`); both or neither.
    pub client_id: Option<String>,
    pub client_secret: Option<SecretString>,
    /// Where `/oauth/authorize` and `/oauth/token` are (`/users/me` is under `api_base`).
    #[serde(deserialize_with = "http_url")]
    pub oauth_base: Url,
}

/// An OAuth client of a platform: what `/link` sends members to consent with.
#[derive(Clone, Debug)]
pub struct OAuthApp {
    pub client_id: String,
    pub client_secret: SecretString,
    pub oauth_base: Url,
}

impl Config {
    /// The OAuth app `/link` uses on `platform`, when its client id and secret are set.
    pub fn oauth(&self, platform: PlatformKind) -> Option<OAuthApp> {
        self.oauth_checked(platform).ok().flatten()
    }

    /// As [`Config::oauth`], checked: an id without its secret or the other way round is a
    /// mistake, named by its keys.
    fn oauth_checked(&self, platform: PlatformKind) -> Result<Option<OAuthApp>, ConfigError> {
        let (client_id, client_secret, oauth_base) = match platform {
            PlatformKind::Webex => {
                (&self.webex.client_id, &self.webex.client_secret, &self.webex.oauth_base)
            }
            PlatformKind::Zoom => {
                (&self.zoom.client_id, &self.zoom.client_secret, &self.zoom.oauth_base)
            }
        };
        let id = client_id.as_deref().map(str::trim).filter(|s| !s.is_empty());
        let secret = client_secret.as_ref().filter(|s| !s.expose_secret().trim().is_empty());
        match (id, secret) {
            (None, None) => Ok(None),
            (Some(id), Some(secret)) => Ok(Some(OAuthApp {
                client_id: id.to_owned(),
                client_secret: secret.clone(),
                oauth_base: oauth_base.clone(),
            })),
            _ => {
                let (id, secret) =
                    (format!("{platform}.client_id"), format!("{platform}.client_secret"));
                Err(ConfigError(format!(
                    "{id} ({}) and {secret} ({}) go together: set both for /link, or neither",
                    env_name(&id),
                    env_name(&secret)
                )))
            }
        }
    }
}

/// Where e-mail is sent from; both or neither (then no e-mail is sent).
#[derive(Debug, Default, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct SmtpConfig {
    /// `smtp://host:port`, `smtps://user:password@host`, `smtp://host?tls=required` (lettre's
    /// URL form). A secret, since it may hold a password.
    pub url: Option<SecretString>,
    /// The sender, `tollbooth@example.com` or `Tollbooth <tollbooth@example.com>`.
    pub from: Option<String>,
}

impl SmtpConfig {
    /// The transport and the sender, when e-mail is on. Only builds the transport: nothing
    /// connects until a message is sent.
    pub fn mailer(&self) -> Result<Option<crate::reach::mail::Mailer>, ConfigError> {
        let (url, from) = match (&self.url, &self.from) {
            (None, None) => return Ok(None),
            (Some(url), Some(from)) => (url, from),
            _ => {
                return Err(ConfigError(
                    "smtp.url and smtp.from (TOLLBOOTH_SMTP__URL, TOLLBOOTH_SMTP__FROM) are set together or not at all".into(),
                ));
            }
        };
        let from = from.parse().map_err(|e| {
            ConfigError(format!("smtp.from (TOLLBOOTH_SMTP__FROM): `{from}` is not a mailbox: {e}"))
        })?;
        // lettre's error may quote the URL, which may hold a password: only the key is named.
        crate::reach::mail::Mailer::new(url, from).map(Some).map_err(|_| {
            ConfigError(
                "smtp.url (TOLLBOOTH_SMTP__URL) must be an smtp:// or smtps:// URL, such as smtp://mail.example.com:587?tls=required".into(),
            )
        })
    }

    fn validate(&self) -> Result<(), ConfigError> {
        self.mailer().map(|_| ())
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum DiscordMode {
    Off,
    Http,
    Gateway,
}

#[derive(Debug, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct DiscordConfig {
    pub mode: DiscordMode,
    pub public_key: Option<String>,
    pub application_id: Option<String>,
    pub token: Option<SecretString>,
    #[serde(deserialize_with = "http_url")]
    pub api_base: Url,
}

#[derive(Debug, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct PayPerUseConfig {
    /// What a host's authorisation holds above the estimate, in percent, so that a session
    /// that runs a little longer or larger than planned is still covered (default 15).
    #[serde(deserialize_with = "percent")]
    pub headroom_percent: u32,
}

impl Default for PayPerUseConfig {
    fn default() -> Self {
        PayPerUseConfig { headroom_percent: 15 }
    }
}

/// Registration for sessions with a fee, and the receipts of what is paid.
#[derive(Debug, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct RegistrationConfig {
    /// How long a seat freed for the next person on a waiting list is held for them to pay
    /// (default 24, at most a week: past that the line stands still).
    #[serde(deserialize_with = "whole_number")]
    pub offer_hours: u64,
    /// What comes before every invoice number (`TB-` gives `TB-000001`): up to 12 letters,
    /// digits, `-`, `_` or `/`; none by default.
    pub invoice_prefix: Prefix,
    /// The most seats one `/register seats:N` takes (default 10, at most 25: Discord's modal
    /// field holds one attendee a line, and the platforms add registrants one call each).
    #[serde(deserialize_with = "whole_number")]
    pub max_seats: u64,
}

impl Default for RegistrationConfig {
    fn default() -> Self {
        RegistrationConfig { offer_hours: 24, invoice_prefix: Prefix::default(), max_seats: 10 }
    }
}

/// The most seats a site may let one registration take.
const MOST_SEATS: u64 = 25;

/// The longest a freed seat may be held for one person.
const MAX_OFFER_HOURS: u64 = 7 * 24;

#[derive(Debug, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct PaymentsConfig {
    /// The payment methods offered, in this order, where the site's country allows them.
    #[serde(deserialize_with = "methods")]
    pub methods: Vec<Method>,
    /// How long a pay link works after it was handed out.
    #[serde(deserialize_with = "whole_number")]
    pub pay_link_hours: u64,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum PayflowMode {
    Test,
    Live,
}

impl PayflowMode {
    /// As Payflow's hosted pages take it (`MODE=TEST|LIVE`).
    pub fn as_str(self) -> &'static str {
        match self {
            PayflowMode::Test => "TEST",
            PayflowMode::Live => "LIVE",
        }
    }
}

/// PayPal Payflow Pro. `host` and `hosted_host` default to PayPal's pilot or live hosts by
/// `mode`; tests point them at a local emulator.
#[derive(Debug, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct PayflowConfig {
    pub mode: PayflowMode,
    /// The API (server-to-server NVP) base URL.
    #[serde(deserialize_with = "optional_http_url")]
    pub host: Option<Url>,
    /// The hosted checkout pages' URL.
    #[serde(deserialize_with = "optional_http_url")]
    pub hosted_host: Option<Url>,
    pub partner: String,
    pub vendor: String,
    /// The API user; the vendor when not set.
    pub user: Option<String>,
    pub password: SecretString,
    /// Seconds to wait for an answer (`X-VPS-CLIENT-TIMEOUT`).
    #[serde(deserialize_with = "whole_number")]
    pub timeout_secs: u64,
}

impl PayflowConfig {
    pub fn api_url(&self) -> Url {
        self.host.clone().unwrap_or_else(|| {
            let host = match self.mode {
                PayflowMode::Test => "https://pilot-payflowpro.paypal.com/",
                PayflowMode::Live => "https://payflowpro.paypal.com/",
            };
            Url::parse(host).expect("valid default URL")
        })
    }

    pub fn hosted_url(&self) -> Url {
        self.hosted_host.clone().unwrap_or_else(|| {
            let host = match self.mode {
                PayflowMode::Test => "https://pilot-payflowlink.paypal.com/",
                PayflowMode::Live => "https://payflowlink.paypal.com/",
            };
            Url::parse(host).expect("valid default URL")
        })
    }
}

/// Stripe Checkout. `api_base` lets tests point the adapter at a local emulator.
#[derive(Debug, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct StripeConfig {
    #[serde(deserialize_with = "http_url")]
    pub api_base: Url,
    /// The secret API key (`sk_…`).
    pub secret_key: SecretString,
    /// The webhook endpoint's signing secret (`whsec_…`).
    pub webhook_secret: SecretString,
    #[serde(deserialize_with = "whole_number")]
    pub timeout_secs: u64,
}

/// PayPal's REST API (Orders v2). `api_base` is the sandbox or the live host.
#[derive(Debug, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct PaypalConfig {
    #[serde(deserialize_with = "http_url")]
    pub api_base: Url,
    pub client_id: String,
    pub client_secret: SecretString,
    /// The id of tollbooth's webhook subscription, which verification names.
    pub webhook_id: String,
    #[serde(deserialize_with = "whole_number")]
    pub timeout_secs: u64,
}

/// PayPal's classic NVP API, which Express Checkout and Website Payments Pro share.
#[derive(Debug, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct PaypalClassicConfig {
    /// The NVP endpoint (signature credentials).
    #[serde(deserialize_with = "http_url")]
    pub api_url: Url,
    /// Where payers are sent with an Express Checkout token (`…/cgi-bin/webscr`).
    #[serde(deserialize_with = "http_url")]
    pub web_url: Url,
    /// Where IPN messages are posted back for verification.
    #[serde(deserialize_with = "http_url")]
    pub ipn_url: Url,
    pub user: String,
    pub password: SecretString,
    pub signature: SecretString,
    /// The merchant's PayPal address; IPN messages for another receiver are refused.
    pub receiver_email: Option<String>,
    #[serde(deserialize_with = "whole_number")]
    pub timeout_secs: u64,
}

impl Default for StripeConfig {
    fn default() -> Self {
        StripeConfig {
            api_base: Url::parse("https://api.stripe.com/").expect("valid default URL"),
            secret_key: SecretString::from(String::new()),
            webhook_secret: SecretString::from(String::new()),
            timeout_secs: 30,
        }
    }
}

impl Default for PaypalConfig {
    fn default() -> Self {
        PaypalConfig {
            api_base: Url::parse("https://api-m.paypal.com/").expect("valid default URL"),
            client_id: String::new(),
            client_secret: SecretString::from(String::new()),
            webhook_id: String::new(),
            timeout_secs: 30,
        }
    }
}

impl Default for PaypalClassicConfig {
    fn default() -> Self {
        let url = |u: &str| Url::parse(u).expect("valid default URL");
        PaypalClassicConfig {
            api_url: url("https://api-3t.paypal.com/nvp"),
            web_url: url("https://www.paypal.com/cgi-bin/webscr"),
            ipn_url: url("https://ipnpb.paypal.com/cgi-bin/webscr"),
            user: String::new(),
            password: SecretString::from(String::new()),
            signature: SecretString::from(String::new()),
            receiver_email: None,
            timeout_secs: 30,
        }
    }
}

impl Default for PaymentsConfig {
    fn default() -> Self {
        PaymentsConfig { methods: vec![Method::Sandbox], pay_link_hours: 72 }
    }
}

impl Default for PayflowConfig {
    fn default() -> Self {
        PayflowConfig {
            mode: PayflowMode::Test,
            host: None,
            hosted_host: None,
            partner: "PayPal".into(),
            vendor: String::new(),
            user: None,
            password: SecretString::from(String::new()),
            timeout_secs: LONGEST_GATEWAY_TIMEOUT_SECS,
        }
    }
}

impl Default for Config {
    fn default() -> Self {
        let bind: SocketAddr = "127.0.0.1:8080".parse().expect("valid default address");
        Config {
            database_url: "sqlite://tollbooth.db".into(),
            bind,
            public_url: Url::parse("http://127.0.0.1:8080/").expect("valid default URL"),
            admin_token: None,
            log_format: LogFormat::Text,
            site: SiteConfig::default(),
            pricing: PricingConfig::default(),
            webex: WebexConfig::default(),
            zoom: ZoomConfig::default(),
            discord: DiscordConfig::default(),
            smtp: SmtpConfig::default(),
            pay_link_secret: None,
            payments: PaymentsConfig::default(),
            pay_per_use: PayPerUseConfig::default(),
            registration: RegistrationConfig::default(),
            payflow: PayflowConfig::default(),
            stripe: StripeConfig::default(),
            paypal: PaypalConfig::default(),
            paypal_classic: PaypalClassicConfig::default(),
            database: DatabaseConfig::default(),
            server: ServerConfig::default(),
            retention: RetentionConfig::default(),
            settlement: SettlementConfig::default(),
        }
    }
}

impl Default for SiteConfig {
    fn default() -> Self {
        SiteConfig {
            currency: Currency::USD,
            country: Country::US,
            timezone: Tz::UTC,
            vat_percent: Rate::default(),
            prices_include_vat: true,
            seller_name: None,
            seller_address: None,
            seller_vat_id: None,
        }
    }
}

impl Default for PricingConfig {
    fn default() -> Self {
        PricingConfig {
            person_minute: Decimal::new(12, 2),
            teleconference_minute: Decimal::new(5, 2),
        }
    }
}

impl Default for WebexConfig {
    fn default() -> Self {
        WebexConfig {
            webhook_secret: Vec::new(),
            api_base: Url::parse("https://webexapis.com/v1").expect("valid default URL"),
            token: None,
            bot_token: None,
            site_url: None,
            hook_check_secs: 600,
            client_id: None,
            client_secret: None,
            oauth_base: Url::parse("https://webexapis.com/v1").expect("valid default URL"),
        }
    }
}

impl Default for ZoomConfig {
    fn default() -> Self {
        ZoomConfig {
            webhook_secret_token: None,
            api_base: Url::parse("https://api.zoom.us/v2").expect("valid default URL"),
            token: None,
            client_id: None,
            client_secret: None,
            oauth_base: Url::parse("https://zoom.us").expect("valid default URL"),
        }
    }
}

impl DiscordConfig {
    /// What Discord's clients need, checked here so that a typo stops start-up with the key's
    /// name instead of failing the first request.
    fn validate(&self) -> Result<(), ConfigError> {
        if let Some(key) = &self.public_key {
            let ok = key.len() == 64 && key.bytes().all(|b| b.is_ascii_hexdigit());
            if !ok {
                return Err(ConfigError(
                    "discord.public_key (TOLLBOOTH_DISCORD__PUBLIC_KEY) must be the application's 64-hex-digit public key".into(),
                ));
            }
        }
        if let Some(id) = &self.application_id
            && (id.is_empty() || !id.bytes().all(|b| b.is_ascii_digit()))
        {
            return Err(ConfigError(format!(
                "discord.application_id (TOLLBOOTH_DISCORD__APPLICATION_ID) must be digits, got `{id}`"
            )));
        }
        // serenity builds every route as https://discord.com/api/v10/…, and can only swap the
        // origin, so the path must be exactly that.
        if self.api_base.path().trim_end_matches('/') != "/api/v10" {
            return Err(ConfigError(format!(
                "discord.api_base (TOLLBOOTH_DISCORD__API_BASE) must end in /api/v10, got the path `{}`",
                self.api_base.path()
            )));
        }
        Ok(())
    }
}

impl Default for DiscordConfig {
    fn default() -> Self {
        DiscordConfig {
            mode: DiscordMode::Off,
            public_key: None,
            application_id: None,
            token: None,
            api_base: Url::parse("https://discord.com/api/v10").expect("valid default URL"),
        }
    }
}

/// A configuration that cannot be used; the message names the key and what is wrong with it.
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct ConfigError(String);

impl Config {
    /// Loads `path` if given (it must exist), else `tollbooth.toml` if present, then the
    /// environment.
    pub fn load(path: Option<&Path>) -> Result<Config, ConfigError> {
        Self::load_from(path, std::env::vars())
    }

    /// As [`Config::load`], with the environment passed in so tests need not change the process's.
    pub fn load_from(
        path: Option<&Path>,
        env: impl IntoIterator<Item = (String, String)>,
    ) -> Result<Config, ConfigError> {
        let mut figment = Figment::new();
        match path {
            Some(path) if !path.exists() => {
                return Err(ConfigError(format!("config file {} does not exist", path.display())));
            }
            Some(path) => {
                check_toml_syntax(path)?;
                figment = figment.merge(Toml::file_exact(path));
            }
            None if Path::new("tollbooth.toml").exists() => {
                check_toml_syntax(Path::new("tollbooth.toml"))?;
                figment = figment.merge(Toml::file_exact("tollbooth.toml"));
            }
            None => {}
        }
        // Environment values stay strings: figment would otherwise read "0.12" as a float, and
        // money must never pass through one.
        for (key, value) in env {
            let Some(rest) = key.strip_prefix(ENV_PREFIX) else {
                continue;
            };
            if rest.is_empty() || value.is_empty() {
                continue;
            }
            let path = rest.to_ascii_lowercase().replace("__", ".");
            figment = figment.merge(Serialized::global(&path, value));
        }
        let config: Config = figment.extract().map_err(|e| describe(&e))?;
        config.validate()?;
        Ok(config)
    }

    fn validate(&self) -> Result<(), ConfigError> {
        check_database_url(&self.database_url)?;
        self.settlement.validate()?;
        for platform in [PlatformKind::Webex, PlatformKind::Zoom] {
            self.oauth_checked(platform)?;
        }
        if self.discord.mode == DiscordMode::Http && self.discord.public_key.is_none() {
            return Err(ConfigError(
                "discord.public_key (TOLLBOOTH_DISCORD__PUBLIC_KEY) is required when discord.mode = \"http\"".into(),
            ));
        }
        self.discord.validate()?;
        if self.discord.mode == DiscordMode::Gateway && self.discord.token.is_none() {
            return Err(ConfigError(
                "discord.token (TOLLBOOTH_DISCORD__TOKEN) is required when discord.mode = \"gateway\"".into(),
            ));
        }
        if self.pay_link_secret.as_ref().is_some_and(|s| s.expose_secret().len() < 32) {
            return Err(ConfigError(
                "pay_link_secret (TOLLBOOTH_PAY_LINK_SECRET) must be at least 32 characters".into(),
            ));
        }
        self.smtp.validate()?;
        if !(1..=MAX_OFFER_HOURS).contains(&self.registration.offer_hours) {
            return Err(ConfigError(format!(
                "registration.offer_hours (TOLLBOOTH_REGISTRATION__OFFER_HOURS) must be from 1 to {MAX_OFFER_HOURS}"
            )));
        }
        if !(1..=MOST_SEATS).contains(&self.registration.max_seats) {
            return Err(ConfigError(format!(
                "registration.max_seats (TOLLBOOTH_REGISTRATION__MAX_SEATS) must be from 1 to {MOST_SEATS}"
            )));
        }
        if self.payments.methods.is_empty() {
            return Err(ConfigError(
                "payments.methods (TOLLBOOTH_PAYMENTS__METHODS) must name at least one method"
                    .into(),
            ));
        }
        let methods = &self.payments.methods;
        let empty = |s: &SecretString| s.expose_secret().is_empty();
        let payflow = &self.payflow;
        if methods.contains(&Method::Payflow)
            && (payflow.vendor.is_empty() || empty(&payflow.password))
        {
            return Err(ConfigError(
                "payflow.vendor and payflow.password (TOLLBOOTH_PAYFLOW__VENDOR, TOLLBOOTH_PAYFLOW__PASSWORD) are required when payments.methods includes payflow".into(),
            ));
        }
        let stripe = &self.stripe;
        if methods.contains(&Method::Stripe)
            && (empty(&stripe.secret_key) || empty(&stripe.webhook_secret))
        {
            return Err(ConfigError(
                "stripe.secret_key and stripe.webhook_secret (TOLLBOOTH_STRIPE__SECRET_KEY, TOLLBOOTH_STRIPE__WEBHOOK_SECRET) are required when payments.methods includes stripe".into(),
            ));
        }
        let paypal = &self.paypal;
        if methods.contains(&Method::Paypal)
            && (paypal.client_id.is_empty()
                || empty(&paypal.client_secret)
                || paypal.webhook_id.is_empty())
        {
            return Err(ConfigError(
                "paypal.client_id, paypal.client_secret and paypal.webhook_id (TOLLBOOTH_PAYPAL__CLIENT_ID, TOLLBOOTH_PAYPAL__CLIENT_SECRET, TOLLBOOTH_PAYPAL__WEBHOOK_ID) are required when payments.methods includes paypal".into(),
            ));
        }
        let classic = &self.paypal_classic;
        if methods.iter().any(|m| matches!(m, Method::ExpressCheckout | Method::WebsitePaymentsPro))
            && (classic.user.is_empty() || empty(&classic.password) || empty(&classic.signature))
        {
            return Err(ConfigError(
                "paypal_classic.user, paypal_classic.password and paypal_classic.signature (TOLLBOOTH_PAYPAL_CLASSIC__USER, TOLLBOOTH_PAYPAL_CLASSIC__PASSWORD, TOLLBOOTH_PAYPAL_CLASSIC__SIGNATURE) are required when payments.methods includes express-checkout or website-payments-pro".into(),
            ));
        }
        Ok(())
    }

    /// How long one database call may take.
    pub fn database_deadline(&self) -> std::time::Duration {
        std::time::Duration::from_secs(self.database.timeout_secs)
    }

    /// What the site's invoices are issued with.
    pub fn invoicing(&self) -> Terms {
        let text = |s: &Option<String>| {
            s.as_deref().map(str::trim).filter(|s| !s.is_empty()).map(str::to_owned)
        };
        Terms {
            prefix: self.registration.invoice_prefix.clone(),
            seller: Party {
                name: text(&self.site.seller_name),
                address: text(&self.site.seller_address).map(|a| a.replace("\\n", "\n")),
                email: None,
                vat_id: self.site.seller_vat_id.clone(),
            },
            vat: self.site.vat(),
        }
    }

    /// The prices that this configuration asks for.
    pub fn prices(&self) -> Prices {
        Prices {
            currency: self.site.currency,
            person_minute: self.pricing.person_minute,
            teleconference_minute: self.pricing.teleconference_minute,
        }
    }
}

/// Keys whose values are secrets (every `SecretString` above), and `database_url`, which may
/// hold a password: an error about one of them names the key and never what was written.
const SECRET_KEYS: &[&str] = &[
    "admin_token",
    "pay_link_secret",
    "database_url",
    "webex.webhook_secret",
    "webex.token",
    "webex.client_secret",
    "webex.bot_token",
    "smtp.url",
    "zoom.webhook_secret_token",
    "zoom.token",
    "zoom.client_secret",
    "discord.token",
    "payflow.password",
    "stripe.secret_key",
    "stripe.webhook_secret",
    "paypal.client_secret",
    "paypal_classic.password",
    "paypal_classic.signature",
];

/// A key's environment variable: `webex.api_base` → `TOLLBOOTH_WEBEX__API_BASE`.
fn env_name(key: &str) -> String {
    format!("{ENV_PREFIX}{}", key.to_ascii_uppercase().replace('.', "__"))
}

/// Turns figment's error into one line naming the key both as written in the file and as an
/// environment variable, and the file when it came from one.
fn describe(error: &figment::Error) -> ConfigError {
    let mut lines = Vec::new();
    for e in error.clone() {
        let key = e.path.join(".");
        let mut line = String::new();
        if !key.is_empty() {
            line.push_str(&format!("{key} ({}): ", env_name(&key)));
        }
        line.push_str(&reason(&key, &e.kind));
        if let Some(file) = e.metadata.as_ref().and_then(|m| m.source.as_ref()?.file_path()) {
            line.push_str(&format!(" (in {})", file.display()));
        }
        lines.push(line);
    }
    ConfigError(lines.join("; "))
}

/// What is wrong, without the value where it could be a secret.
fn reason(key: &str, kind: &figment::error::Kind) -> String {
    use figment::error::Kind;
    match kind {
        // The type alone says what is wrong; the value could be a secret written unquoted
        // (`admin_token = 12345`), whatever the key.
        Kind::InvalidType(actual, expected) => {
            format!("expected {expected}, found {}", type_name(actual))
        }
        _ if !SECRET_KEYS.contains(&key) => kind.to_string(),
        Kind::InvalidValue(_, expected) => format!("invalid value, expected {expected}"),
        Kind::MissingField(_) | Kind::DuplicateField(_) | Kind::UnknownField(..) => {
            kind.to_string()
        }
        _ => "invalid value (not shown, since this key is secret)".to_owned(),
    }
}

/// The kind of a value without the value.
fn type_name(actual: &figment::error::Actual) -> &'static str {
    use figment::error::Actual;
    match actual {
        Actual::Bool(_) => "a boolean",
        Actual::Unsigned(_) | Actual::Signed(_) => "an integer",
        Actual::Float(_) => "a float",
        Actual::Char(_) => "a character",
        Actual::Str(_) => "a string",
        Actual::Bytes(_) => "bytes",
        Actual::Unit => "nothing",
        Actual::Seq => "an array",
        Actual::Map => "a table",
        _ => "a value of another type",
    }
}

/// figment's TOML syntax error quotes the offending line, which may hold a secret: the file is
/// parsed here first so that the error tells only where and what.
fn check_toml_syntax(path: &Path) -> Result<(), ConfigError> {
    let text = std::fs::read_to_string(path)
        .map_err(|e| ConfigError(format!("config file {}: {e}", path.display())))?;
    let Err(e) = toml::from_str::<toml::Table>(&text) else { return Ok(()) };
    let (line, column) = e.span().map_or((1, 1), |span| line_and_column(&text, span.start));
    // toml's messages name keys and what the grammar expected, never the value; some take
    // two lines.
    let what: Vec<&str> = e.message().lines().map(str::trim).filter(|l| !l.is_empty()).collect();
    Err(ConfigError(format!(
        "config file {}: TOML syntax error at line {line}, column {column}: {}",
        path.display(),
        what.join("; ")
    )))
}

/// 1-based line and column (in characters) of a byte offset.
fn line_and_column(text: &str, offset: usize) -> (usize, usize) {
    let mut offset = offset.min(text.len());
    while !text.is_char_boundary(offset) {
        offset -= 1;
    }
    let before = &text[..offset];
    let line = before.matches('\n').count() + 1;
    let line_start = before.rfind('\n').map_or(0, |i| i + 1);
    (line, before[line_start..].chars().count() + 1)
}

/// `database_url` as the store will read it (sqlx parses it as a URL, then per backend), so a
/// bad port or host stops start-up naming the key. The URL is never shown: it may hold a
/// password.
fn check_database_url(url: &str) -> Result<(), ConfigError> {
    use sqlx::ConnectOptions;
    let bad = |what: String| ConfigError(format!("database_url (TOLLBOOTH_DATABASE_URL): {what}"));
    // The store picks its backend by this prefix, case and all.
    let scheme = url.split(':').next().unwrap_or_default();
    if !matches!(scheme, "sqlite" | "postgres" | "postgresql") {
        // A scheme followed by `://` is one; anything else may be a password pasted alone.
        let got = if url.starts_with(&format!("{scheme}://"))
            && scheme.bytes().all(|b| b.is_ascii_alphanumeric() || b"+-.".contains(&b))
        {
            format!(", got `{scheme}:`")
        } else {
            String::new()
        };
        return Err(bad(format!("expected sqlite://… or postgres://…{got}")));
    }
    let parsed = Url::parse(url).map_err(|e| bad(url_problem(e)))?;
    let checked = if scheme == "sqlite" {
        sqlx::sqlite::SqliteConnectOptions::from_url(&parsed).map(drop)
    } else {
        sqlx::postgres::PgConnectOptions::from_url(&parsed).map(drop)
    };
    checked.map_err(|e| {
        // sqlx's own wording ("unknown value "x" for `ssl_mode`") names a parameter, not the
        // URL; it wraps it in "error with configuration: " once or twice.
        let mut text = e.to_string();
        while let Some(rest) = text.strip_prefix("error with configuration: ") {
            text = rest.to_owned();
        }
        bad(text)
    })
}

/// What is wrong with a URL, in words, without the URL.
fn url_problem(e: url::ParseError) -> String {
    use url::ParseError as P;
    match e {
        P::InvalidPort => "the port must be a number from 0 to 65535".into(),
        P::EmptyHost => "the host is empty".into(),
        P::InvalidIpv4Address => "the host is not a valid IPv4 address".into(),
        P::InvalidIpv6Address => "the host is not a valid IPv6 address".into(),
        P::IdnaError | P::InvalidDomainCharacter => "the host is not a valid host name".into(),
        P::RelativeUrlWithoutBase => {
            "not a URL: it must start with a scheme, such as https://".into()
        }
        other => format!("not a valid URL: {other}"),
    }
}

/// An `http://` or `https://` URL (every URL key is an HTTP endpoint). The error does not
/// echo the value, since a URL may carry credentials.
fn http_url<'de, D: Deserializer<'de>>(d: D) -> Result<Url, D::Error> {
    let text = String::deserialize(d)?;
    let url = Url::parse(&text).map_err(|e| serde::de::Error::custom(url_problem(e)))?;
    if !matches!(url.scheme(), "http" | "https") {
        return Err(serde::de::Error::custom("must be an http:// or https:// URL"));
    }
    Ok(url)
}

fn optional_http_url<'de, D: Deserializer<'de>>(d: D) -> Result<Option<Url>, D::Error> {
    http_url(d).map(Some)
}

/// A host name as Webex's `siteUrl` takes it: no scheme, no path.
fn site_host<'de, D: Deserializer<'de>>(d: D) -> Result<Option<String>, D::Error> {
    let text = String::deserialize(d)?;
    let host = text.trim();
    let allowed = |c: char| c.is_ascii_alphanumeric() || matches!(c, '-' | '.');
    if host.is_empty() || !host.chars().all(allowed) {
        return Err(serde::de::Error::custom(format!(
            "`{host}` is not a site's host name, such as example.webex.com (no https:// or path)"
        )));
    }
    Ok(Some(host.to_ascii_lowercase()))
}

fn price<'de, D: Deserializer<'de>>(d: D) -> Result<Decimal, D::Error> {
    let text = String::deserialize(d)
        .map_err(|_| serde::de::Error::custom("expected a decimal string such as \"0.12\""))?;
    parse_non_negative(&text).map_err(serde::de::Error::custom)
}

/// A list written as a TOML array or, as environment variables must, separated by commas.
fn methods<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<Method>, D::Error> {
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum List {
        One(String),
        Many(Vec<String>),
    }
    let text = match List::deserialize(d)? {
        List::One(text) => text,
        List::Many(names) => names.join(","),
    };
    method::parse_list(&text).map_err(serde::de::Error::custom)
}

/// A whole number written as a number (in a file) or a string (in the environment).
/// A whole percentage from 0 to 1000: more headroom than ten times the estimate is a typo.
fn percent<'de, D: Deserializer<'de>>(d: D) -> Result<u32, D::Error> {
    let n = whole_number(d)?;
    u32::try_from(n).ok().filter(|n| *n <= 1000).ok_or_else(|| {
        serde::de::Error::custom(format!("expected a percentage from 0 to 1000, got {n}"))
    })
}

/// A whole number of seconds from 1 to a day.
fn positive_seconds<'de, D: Deserializer<'de>>(d: D) -> Result<u64, D::Error> {
    let n = whole_number(d)?;
    (1..=86_400).contains(&n).then_some(n).ok_or_else(|| {
        serde::de::Error::custom(format!("expected seconds from 1 to 86400, got {n}"))
    })
}

/// A whole number of seconds from 1 to a day, or 0 for off.
fn seconds_or_off<'de, D: Deserializer<'de>>(d: D) -> Result<u64, D::Error> {
    let n = whole_number(d)?;
    (n <= 86_400).then_some(n).ok_or_else(|| {
        serde::de::Error::custom(format!("expected seconds from 1 to 86400, or 0 for off, got {n}"))
    })
}

/// A whole number of at least 1.
fn positive_count<'de, D: Deserializer<'de>>(d: D) -> Result<u64, D::Error> {
    let n = whole_number(d)?;
    (n >= 1)
        .then_some(n)
        .ok_or_else(|| serde::de::Error::custom(format!("expected at least 1, got {n}")))
}

fn whole_number<'de, D: Deserializer<'de>>(d: D) -> Result<u64, D::Error> {
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum Number {
        Int(u64),
        Text(String),
    }
    match Number::deserialize(d)? {
        Number::Int(n) => Ok(n),
        Number::Text(t) => t
            .trim()
            .parse()
            .map_err(|_| serde::de::Error::custom(format!("expected a whole number, got `{t}`"))),
    }
}

/// `true` or `false`, written as a boolean (in a file) or a string (in the environment).
fn boolean<'de, D: Deserializer<'de>>(d: D) -> Result<bool, D::Error> {
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum Flag {
        Bool(bool),
        Text(String),
    }
    match Flag::deserialize(d)? {
        Flag::Bool(b) => Ok(b),
        Flag::Text(t) => match t.trim().to_ascii_lowercase().as_str() {
            "true" => Ok(true),
            "false" => Ok(false),
            _ => Err(serde::de::Error::custom(format!("expected true or false, got `{t}`"))),
        },
    }
}

/// A whole number, or a decimal written as a string (`"12.5"`): never through a float.
fn vat_rate<'de, D: Deserializer<'de>>(d: D) -> Result<Rate, D::Error> {
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum Number {
        Int(u64),
        Text(String),
    }
    let text = match Number::deserialize(d).map_err(|_| {
        serde::de::Error::custom(
            "expected a percentage such as 25 or \"12.5\" (decimals as a string)",
        )
    })? {
        Number::Int(n) => n.to_string(),
        Number::Text(t) => t,
    };
    text.parse().map_err(serde::de::Error::custom)
}

fn optional_vat_id<'de, D: Deserializer<'de>>(d: D) -> Result<Option<VatId>, D::Error> {
    let text = String::deserialize(d)?;
    if text.trim().is_empty() {
        return Ok(None);
    }
    text.parse().map(Some).map_err(serde::de::Error::custom)
}

fn secret_list<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<SecretString>, D::Error> {
    let text = String::deserialize(d)?;
    Ok(text
        .split(',')
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(|s| SecretString::from(s.to_owned()))
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
        pairs.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect()
    }

    fn load(pairs: &[(&str, &str)]) -> Result<Config, ConfigError> {
        Config::load_from(Some(Path::new("/dev/null")), env(pairs))
    }

    #[test]
    fn defaults_need_no_configuration() {
        let c = load(&[]).unwrap();
        assert_eq!(c.database_url, "sqlite://tollbooth.db");
        assert_eq!(c.bind.to_string(), "127.0.0.1:8080");
        assert_eq!(c.site.currency.code(), "USD");
        assert_eq!(c.site.country.code(), "US");
        assert_eq!(c.discord.mode, DiscordMode::Off);
        assert_eq!(c.webex.api_base.as_str(), "https://webexapis.com/v1");
    }

    #[test]
    fn environment_overrides_with_nested_keys() {
        let c = load(&[
            ("TOLLBOOTH_DATABASE_URL", "postgres://x@127.0.0.1/test"),
            ("TOLLBOOTH_SITE__CURRENCY", "nok"),
            ("TOLLBOOTH_PRICING__PERSON_MINUTE", "0.125"),
            ("TOLLBOOTH_WEBEX__WEBHOOK_SECRET", "old, new"),
            ("UNRELATED", "x"),
        ])
        .unwrap();
        assert_eq!(c.database_url, "postgres://x@127.0.0.1/test");
        assert_eq!(c.site.currency.code(), "NOK");
        assert_eq!(c.pricing.person_minute.to_string(), "0.125");
        let secrets: Vec<_> = c.webex.webhook_secret.iter().map(|s| s.expose_secret()).collect();
        assert_eq!(secrets, ["old", "new"]);
    }

    #[test]
    fn file_then_environment() {
        let dir = std::env::temp_dir().join(format!("tollbooth-config-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let file = dir.join("tollbooth.toml");
        std::fs::write(
            &file,
            "bind = \"127.0.0.1:9000\"\n[site]\ncountry = \"GB\"\ncurrency = \"GBP\"\n",
        )
        .unwrap();
        let c = Config::load_from(Some(&file), env(&[("TOLLBOOTH_SITE__COUNTRY", "NO")])).unwrap();
        assert_eq!(c.bind.port(), 9000);
        assert_eq!(c.site.currency.code(), "GBP");
        assert_eq!(c.site.country.code(), "NO");
    }

    #[test]
    fn the_sites_zone_is_an_iana_name_and_utc_by_default() {
        assert_eq!(load(&[]).unwrap().site.timezone, Tz::UTC);
        let c = load(&[("TOLLBOOTH_SITE__TIMEZONE", "Europe/Oslo")]).unwrap();
        assert_eq!(c.site.timezone, Tz::Europe__Oslo);
        let err = load(&[("TOLLBOOTH_SITE__TIMEZONE", "Mars/Olympus")]).unwrap_err().to_string();
        assert!(err.starts_with("site.timezone (TOLLBOOTH_SITE__TIMEZONE): "), "{err}");
        assert!(err.contains("Mars/Olympus"), "{err}");
    }

    #[test]
    fn bad_values_name_their_key() {
        let err = load(&[("TOLLBOOTH_SITE__CURRENCY", "XYZ")]).unwrap_err().to_string();
        assert!(err.contains("site.currency (TOLLBOOTH_SITE__CURRENCY)"), "{err}");
        assert!(err.contains("unknown currency `XYZ`"), "{err}");
        let err =
            load(&[("TOLLBOOTH_PRICING__TELECONFERENCE_MINUTE", "-1")]).unwrap_err().to_string();
        assert!(err.contains("pricing.teleconference_minute"), "{err}");
        let err = load(&[("TOLLBOOTH_BIND", "nowhere")]).unwrap_err().to_string();
        assert!(err.contains("bind (TOLLBOOTH_BIND)"), "{err}");
        let err = load(&[("TOLLBOOTH_SITE__COLOUR", "red")]).unwrap_err().to_string();
        assert!(err.contains("colour"), "{err}");
        let err = load(&[("TOLLBOOTH_DATABASE_URL", "mysql://x")]).unwrap_err().to_string();
        assert!(err.contains("TOLLBOOTH_DATABASE_URL"), "{err}");
    }

    #[test]
    fn the_webex_site_is_a_host_name() {
        assert_eq!(load(&[]).unwrap().webex.site_url, None);
        let c = load(&[("TOLLBOOTH_WEBEX__SITE_URL", " Example.webex.com ")]).unwrap();
        assert_eq!(c.webex.site_url.as_deref(), Some("example.webex.com"));
        for bad in ["https://example.webex.com", "example.webex.com/meet", "a b.webex.com"] {
            let err = load(&[("TOLLBOOTH_WEBEX__SITE_URL", bad)]).unwrap_err().to_string();
            assert!(err.starts_with("webex.site_url (TOLLBOOTH_WEBEX__SITE_URL): "), "{err}");
            assert!(err.contains("such as example.webex.com"), "{err}");
        }
    }

    #[test]
    fn the_webex_hook_check_runs_every_ten_minutes_unless_turned_off() {
        let every = |pairs: &[(&str, &str)]| load(pairs).unwrap().webex.hook_check_every();
        assert_eq!(every(&[]), Some(std::time::Duration::from_secs(600)));
        assert_eq!(every(&[("TOLLBOOTH_WEBEX__HOOK_CHECK_SECS", "30")]).unwrap().as_secs(), 30);
        assert_eq!(every(&[("TOLLBOOTH_WEBEX__HOOK_CHECK_SECS", "0")]), None);
        for bad in ["86401", "-1", "ten"] {
            let err = load(&[("TOLLBOOTH_WEBEX__HOOK_CHECK_SECS", bad)]).unwrap_err().to_string();
            assert!(
                err.starts_with("webex.hook_check_secs (TOLLBOOTH_WEBEX__HOOK_CHECK_SECS): "),
                "{err}"
            );
        }
    }

    #[test]
    fn discord_settings_are_checked() {
        let err = load(&[("TOLLBOOTH_DISCORD__PUBLIC_KEY", "abc")]).unwrap_err().to_string();
        assert!(err.contains("TOLLBOOTH_DISCORD__PUBLIC_KEY"), "{err}");
        let err = load(&[("TOLLBOOTH_DISCORD__APPLICATION_ID", "app")]).unwrap_err().to_string();
        assert!(err.contains("TOLLBOOTH_DISCORD__APPLICATION_ID"), "{err}");
        let err = load(&[("TOLLBOOTH_DISCORD__API_BASE", "http://127.0.0.1:1/v9")])
            .unwrap_err()
            .to_string();
        assert!(err.contains("must end in /api/v10"), "{err}");
        let c = load(&[("TOLLBOOTH_DISCORD__TOKEN", "hunter2-discord")]).unwrap();
        assert!(!format!("{c:?}").contains("hunter2"));
    }

    #[test]
    fn an_oauth_client_id_needs_its_secret() {
        assert!(load(&[]).unwrap().oauth(PlatformKind::Webex).is_none(), "off unless configured");
        let err = load(&[("TOLLBOOTH_ZOOM__CLIENT_ID", "abc")]).unwrap_err().to_string();
        assert!(err.starts_with("zoom.client_id (TOLLBOOTH_ZOOM__CLIENT_ID) and zoom.client_secret (TOLLBOOTH_ZOOM__CLIENT_SECRET) go together"), "{err}");
        let err = load(&[("TOLLBOOTH_WEBEX__CLIENT_SECRET", "hunter2")]).unwrap_err().to_string();
        assert!(err.contains("webex.client_id (TOLLBOOTH_WEBEX__CLIENT_ID)"), "{err}");
        assert!(!err.contains("hunter2"), "{err}");
        let c = load(&[
            ("TOLLBOOTH_WEBEX__CLIENT_ID", "abc"),
            ("TOLLBOOTH_WEBEX__CLIENT_SECRET", "hunter2-webex"),
        ])
        .unwrap();
        let app = c.oauth(PlatformKind::Webex).unwrap();
        assert_eq!(app.client_id, "abc");
        assert_eq!(app.oauth_base.as_str(), "https://webexapis.com/v1");
        assert_eq!(c.zoom.oauth_base.as_str(), "https://zoom.us/");
        assert!(!format!("{c:?}").contains("hunter2"));
    }

    #[test]
    fn secrets_do_not_print() {
        let c = load(&[
            ("TOLLBOOTH_ADMIN_TOKEN", "hunter2-admin"),
            ("TOLLBOOTH_WEBEX__WEBHOOK_SECRET", "hunter2-webex"),
            ("TOLLBOOTH_ZOOM__WEBHOOK_SECRET_TOKEN", "hunter2-zoom"),
        ])
        .unwrap();
        let printed = format!("{c:?}");
        assert!(!printed.contains("hunter2"), "{printed}");
    }

    #[test]
    fn payments_and_payflow_from_the_environment() {
        let c = load(&[]).unwrap();
        assert_eq!(c.payments.methods, [Method::Sandbox]);
        assert_eq!(c.payflow.api_url().as_str(), "https://pilot-payflowpro.paypal.com/");
        let c = load(&[
            ("TOLLBOOTH_PAYMENTS__METHODS", "sandbox, payflow"),
            ("TOLLBOOTH_PAYFLOW__MODE", "live"),
            ("TOLLBOOTH_PAYFLOW__VENDOR", "acme"),
            ("TOLLBOOTH_PAYFLOW__PASSWORD", "hunter2-payflow"),
            ("TOLLBOOTH_PAYFLOW__TIMEOUT_SECS", "5"),
            ("TOLLBOOTH_PAY_LINK_SECRET", "hunter2-hunter2-hunter2-hunter2-hunter2"),
        ])
        .unwrap();
        assert_eq!(c.payments.methods, [Method::Sandbox, Method::Payflow]);
        assert_eq!(c.payflow.api_url().as_str(), "https://payflowpro.paypal.com/");
        assert_eq!(c.payflow.hosted_url().as_str(), "https://payflowlink.paypal.com/");
        assert_eq!(c.payflow.timeout_secs, 5);
        assert!(!format!("{c:?}").contains("hunter2"));
    }

    #[test]
    fn pay_per_use_headroom_defaults_to_15_percent() {
        assert_eq!(load(&[]).unwrap().pay_per_use.headroom_percent, 15);
        let c = load(&[("TOLLBOOTH_PAY_PER_USE__HEADROOM_PERCENT", "20")]).unwrap();
        assert_eq!(c.pay_per_use.headroom_percent, 20);
        let err = load(&[("TOLLBOOTH_PAY_PER_USE__HEADROOM_PERCENT", "-1")]).unwrap_err();
        assert!(err.to_string().contains("headroom_percent"), "{err}");
    }

    #[test]
    fn one_registration_takes_at_most_10_seats_unless_set_from_1_to_25() {
        assert_eq!(load(&[]).unwrap().registration.max_seats, 10);
        let c = load(&[("TOLLBOOTH_REGISTRATION__MAX_SEATS", "3")]).unwrap();
        assert_eq!(c.registration.max_seats, 3);
        for bad in ["0", "26", "-1", "2.5"] {
            let err = load(&[("TOLLBOOTH_REGISTRATION__MAX_SEATS", bad)]).unwrap_err();
            assert!(err.to_string().contains("max_seats"), "{bad}: {err}");
        }
    }

    #[test]
    fn a_freed_seat_is_held_24_hours_unless_set_from_1_to_a_week() {
        assert_eq!(load(&[]).unwrap().registration.offer_hours, 24);
        let c = load(&[("TOLLBOOTH_REGISTRATION__OFFER_HOURS", "2")]).unwrap();
        assert_eq!(c.registration.offer_hours, 2);
        for bad in ["0", "169", "-1"] {
            let err = load(&[("TOLLBOOTH_REGISTRATION__OFFER_HOURS", bad)]).unwrap_err();
            assert!(err.to_string().contains("offer_hours"), "{bad}: {err}");
        }
    }

    #[test]
    fn bad_payment_settings_name_their_key() {
        let err = load(&[("TOLLBOOTH_PAYMENTS__METHODS", "payflow")]).unwrap_err().to_string();
        assert!(err.contains("TOLLBOOTH_PAYFLOW__VENDOR"), "{err}");
        let err = load(&[("TOLLBOOTH_PAYMENTS__METHODS", "stripe")]).unwrap_err().to_string();
        assert!(err.contains("TOLLBOOTH_STRIPE__SECRET_KEY"), "{err}");
        let err = load(&[("TOLLBOOTH_PAYMENTS__METHODS", "paypal")]).unwrap_err().to_string();
        assert!(err.contains("TOLLBOOTH_PAYPAL__WEBHOOK_ID"), "{err}");
        let err =
            load(&[("TOLLBOOTH_PAYMENTS__METHODS", "express-checkout")]).unwrap_err().to_string();
        assert!(err.contains("TOLLBOOTH_PAYPAL_CLASSIC__SIGNATURE"), "{err}");
        let err = load(&[("TOLLBOOTH_PAYMENTS__METHODS", "cash")]).unwrap_err().to_string();
        assert!(err.contains("payments.methods"), "{err}");
        let err = load(&[("TOLLBOOTH_PAY_LINK_SECRET", "short")]).unwrap_err().to_string();
        assert!(err.contains("at least 32"), "{err}");
    }

    #[test]
    fn the_new_gateways_from_the_environment() {
        let c = load(&[
            ("TOLLBOOTH_PAYMENTS__METHODS", "stripe,paypal,express-checkout,website-payments-pro"),
            ("TOLLBOOTH_STRIPE__SECRET_KEY", "sk_test_hunter2"),
            ("TOLLBOOTH_STRIPE__WEBHOOK_SECRET", "whsec_hunter2"),
            ("TOLLBOOTH_STRIPE__API_BASE", "http://127.0.0.1:9/"),
            ("TOLLBOOTH_PAYPAL__CLIENT_ID", "client"),
            ("TOLLBOOTH_PAYPAL__CLIENT_SECRET", "hunter2-paypal"),
            ("TOLLBOOTH_PAYPAL__WEBHOOK_ID", "WH-1"),
            ("TOLLBOOTH_PAYPAL_CLASSIC__USER", "api-user"),
            ("TOLLBOOTH_PAYPAL_CLASSIC__PASSWORD", "hunter2-nvp"),
            ("TOLLBOOTH_PAYPAL_CLASSIC__SIGNATURE", "hunter2-signature"),
            ("TOLLBOOTH_PAYPAL_CLASSIC__TIMEOUT_SECS", "7"),
        ])
        .unwrap();
        assert_eq!(c.payments.methods.len(), 4);
        assert_eq!(c.stripe.api_base.as_str(), "http://127.0.0.1:9/");
        assert_eq!(c.paypal.api_base.as_str(), "https://api-m.paypal.com/");
        assert_eq!(c.paypal_classic.timeout_secs, 7);
        assert!(!format!("{c:?}").contains("hunter2"));
        let err = load(&[("TOLLBOOTH_STRIPE__COLOUR", "red")]).unwrap_err().to_string();
        assert!(err.contains("colour"), "{err}");
    }

    #[test]
    fn a_missing_config_file_is_an_error() {
        let err =
            Config::load_from(Some(Path::new("/no/such/tollbooth.toml")), env(&[])).unwrap_err();
        assert!(err.to_string().contains("/no/such/tollbooth.toml"));
    }

    /// A file of its own in a fresh folder, for tests that need a configuration file.
    fn file(name: &str, text: &str) -> std::path::PathBuf {
        let dir =
            std::env::temp_dir().join(format!("tollbooth-config-{}-{name}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let file = dir.join("tollbooth.toml");
        std::fs::write(&file, text).unwrap();
        file
    }

    #[test]
    fn a_secret_written_as_a_number_is_named_but_never_shown() {
        for key in SECRET_KEYS {
            let text = match key.split_once('.') {
                Some((section, name)) => format!("[{section}]\n{name} = 918273645\n"),
                None => format!("{key} = 918273645\n"),
            };
            let path = file(&key.replace('.', "-"), &text);
            let err = Config::load_from(Some(&path), env(&[])).unwrap_err().to_string();
            assert!(err.contains(&format!("{key} ({})", env_name(key))), "{err}");
            assert!(err.contains("expected a string, found an integer"), "{err}");
            assert!(err.contains(&path.display().to_string()), "names the file: {err}");
            assert!(!err.contains("918273645"), "{key}: {err}");
        }
    }

    #[test]
    fn a_secret_of_any_other_wrong_type_is_not_shown_either() {
        let path = file("secret-array", "[stripe]\nsecret_key = [\"sk_live_hunter2\"]\n");
        let err = Config::load_from(Some(&path), env(&[])).unwrap_err().to_string();
        assert!(err.contains("stripe.secret_key (TOLLBOOTH_STRIPE__SECRET_KEY)"), "{err}");
        assert!(!err.contains("hunter2"), "{err}");
        let path = file("secret-float", "pay_link_secret = 3.14159\n");
        let err = Config::load_from(Some(&path), env(&[])).unwrap_err().to_string();
        assert!(err.contains("pay_link_secret (TOLLBOOTH_PAY_LINK_SECRET)"), "{err}");
        assert!(!err.contains("3.14159"), "{err}");
    }

    #[test]
    fn a_wrong_type_names_its_key_and_the_types_only() {
        let path = file("bind-number", "bind = 8080\n");
        let err = Config::load_from(Some(&path), env(&[])).unwrap_err().to_string();
        assert!(err.starts_with("bind (TOLLBOOTH_BIND): expected "), "{err}");
        assert!(err.contains("found an integer"), "{err}");
        assert!(!err.contains("8080"), "{err}");
    }

    #[test]
    fn a_toml_syntax_error_gives_line_and_column_but_not_the_line() {
        let text = "bind = \"127.0.0.1:9000\"\n[webex]\nwebhook_secret = \"hunter2-unterminated\n";
        let path = file("syntax", text);
        let err = Config::load_from(Some(&path), env(&[])).unwrap_err().to_string();
        assert!(
            err.starts_with(&format!(
                "config file {}: TOML syntax error at line 3, column ",
                path.display()
            )),
            "{err}"
        );
        assert!(!err.contains("hunter2"), "{err}");
        assert_eq!(err.lines().count(), 1, "{err}");
        let path = file("syntax-key", "admin_token = \"ok\"\nhunter2-pasted-alone\n");
        let err = Config::load_from(Some(&path), env(&[])).unwrap_err().to_string();
        assert!(err.contains("line 2, column "), "{err}");
        assert!(!err.contains("hunter2"), "{err}");
    }

    #[test]
    fn line_and_column_count_characters_from_one() {
        assert_eq!(line_and_column("a = 1\nbé = x", 11), (2, 5));
        assert_eq!(line_and_column("", 0), (1, 1));
        assert_eq!(line_and_column("ab", 99), (1, 3));
        assert_eq!(line_and_column("é", 1), (1, 1)); // inside a character: its start
    }

    #[test]
    fn a_bad_database_url_names_the_key_and_what_is_wrong_but_not_the_url() {
        let cases = [
            (
                "postgres://u:hunter2@127.0.0.1:99999/db",
                "the port must be a number from 0 to 65535",
            ),
            ("postgres://u:hunter2@127.0.0.1:port/db", "the port must be a number"),
            ("postgres://u:hunter2@[::1/db", "the host is not a valid IPv6 address"),
            ("postgres://u:hunter2@exa mple.com/db", "the host is not a valid host name"),
            (
                "postgres://u:hunter2@h/db?sslmode=sometimes",
                ": unknown value \"sometimes\" for `ssl_mode`",
            ),
            ("mysql://u:hunter2@h/db", "expected sqlite://… or postgres://…, got `mysql:`"),
            ("u:hunter2@h/db", "expected sqlite://… or postgres://…"),
            ("hunter2", "expected sqlite://… or postgres://…"),
            (
                "sqlite://db.sqlite?mode=sometimes&hunter2",
                ": unknown value \"sometimes\" for `mode`",
            ),
        ];
        for (url, reason) in cases {
            let err = load(&[("TOLLBOOTH_DATABASE_URL", url)]).unwrap_err().to_string();
            assert!(err.starts_with("database_url (TOLLBOOTH_DATABASE_URL): "), "{url}: {err}");
            assert!(err.contains(reason), "{url}: expected {reason:?} in {err}");
            assert!(!err.contains("hunter2"), "{url}: {err}");
        }
    }

    #[test]
    fn good_database_urls_of_both_backends_load() {
        for url in [
            "sqlite://tollbooth.db",
            "sqlite::memory:",
            "sqlite:///var/lib/tollbooth/db.sqlite?mode=rwc",
            "postgres://tollbooth:p%40ss@db.internal:5432/tollbooth?sslmode=require",
            "postgresql://127.0.0.1/tollbooth",
            "postgres:///tollbooth?host=/var/run/postgresql",
        ] {
            let c = load(&[("TOLLBOOTH_DATABASE_URL", url)]);
            assert!(c.is_ok(), "{url}: {}", c.unwrap_err());
        }
    }

    #[test]
    fn every_url_key_names_itself_and_hides_the_value() {
        let keys = [
            "public_url",
            "webex.api_base",
            "webex.oauth_base",
            "zoom.api_base",
            "zoom.oauth_base",
            "discord.api_base",
            "payflow.host",
            "payflow.hosted_host",
            "stripe.api_base",
            "paypal.api_base",
            "paypal_classic.api_url",
            "paypal_classic.web_url",
            "paypal_classic.ipn_url",
        ];
        for key in keys {
            let var = env_name(key);
            let err = load(&[(var.as_str(), "https://user:hunter2@example.com:99999/")])
                .unwrap_err()
                .to_string();
            assert!(err.starts_with(&format!("{key} ({var}): ")), "{err}");
            assert!(err.contains("the port must be a number"), "{err}");
            assert!(!err.contains("hunter2"), "{err}");
            let err = load(&[(var.as_str(), "example.com/hunter2")]).unwrap_err().to_string();
            assert!(err.contains("must start with a scheme"), "{err}");
            assert!(!err.contains("hunter2"), "{err}");
            let err = load(&[(var.as_str(), "ftp://example.com/hunter2")]).unwrap_err().to_string();
            assert!(err.contains("must be an http:// or https:// URL"), "{err}");
            assert!(!err.contains("hunter2"), "{err}");
        }
    }

    #[test]
    fn the_secret_keys_are_the_secret_strings() {
        // Setting each listed key from the environment must reach a secret field (not be an
        // unknown key), and must not show in Debug output.
        let mut pairs: Vec<(String, String)> = SECRET_KEYS
            .iter()
            .filter(|k| **k != "database_url")
            .map(|k| (env_name(k), format!("hunter2-{k}-hunter2-hunter2-hunter2")))
            .collect();
        pairs.push(("TOLLBOOTH_DISCORD__MODE".into(), "gateway".into()));
        // A client secret goes with its client id.
        pairs.push(("TOLLBOOTH_WEBEX__CLIENT_ID".into(), "webex-client".into()));
        pairs.push(("TOLLBOOTH_ZOOM__CLIENT_ID".into(), "zoom-client".into()));
        pairs.retain(|(k, _)| k != "TOLLBOOTH_SMTP__URL");
        pairs.push(("TOLLBOOTH_SMTP__URL".into(), "smtp://hunter2:hunter2@localhost:25".into()));
        pairs.push(("TOLLBOOTH_SMTP__FROM".into(), "tollbooth@example.com".into()));
        let c = Config::load_from(Some(Path::new("/dev/null")), pairs).unwrap();
        assert!(!format!("{c:?}").contains("hunter2"), "{c:?}");
    }

    #[test]
    fn invoicing_settings_from_the_environment_and_their_errors() {
        let c = load(&[
            ("TOLLBOOTH_SITE__VAT_PERCENT", "25"),
            ("TOLLBOOTH_SITE__PRICES_INCLUDE_VAT", "false"),
            ("TOLLBOOTH_SITE__SELLER_NAME", "Kurs AS"),
            ("TOLLBOOTH_SITE__SELLER_ADDRESS", "Storgata 1\\n0155 Oslo"),
            ("TOLLBOOTH_SITE__SELLER_VAT_ID", "no 999 999 999 mva"),
            ("TOLLBOOTH_REGISTRATION__INVOICE_PREFIX", "TB-"),
        ])
        .unwrap();
        let terms = c.invoicing();
        assert_eq!(terms.prefix.label(1), "TB-000001");
        assert_eq!(terms.vat, Vat { rate: "25".parse().unwrap(), pricing: Pricing::Exclusive });
        assert_eq!(terms.seller.address.as_deref(), Some("Storgata 1\n0155 Oslo"));
        assert_eq!(terms.seller.vat_id.unwrap().as_str(), "NO999999999MVA");
        let defaults = load(&[]).unwrap().invoicing();
        assert_eq!((defaults.prefix.label(1), defaults.vat), ("000001".into(), Vat::default()));
        for (key, value, says) in [
            ("TOLLBOOTH_SITE__VAT_PERCENT", "101", "site.vat_percent"),
            ("TOLLBOOTH_SITE__VAT_PERCENT", "12.345", "is not a VAT rate"),
            ("TOLLBOOTH_SITE__PRICES_INCLUDE_VAT", "yes", "expected true or false"),
            ("TOLLBOOTH_SITE__SELLER_VAT_ID", "12", "is not a VAT id"),
            ("TOLLBOOTH_REGISTRATION__INVOICE_PREFIX", "TB 2026", "registration.invoice_prefix"),
        ] {
            let e = load(&[(key, value)]).unwrap_err().to_string();
            assert!(e.contains(says), "{key}={value}: {e}");
        }
    }

    #[test]
    fn e_mail_needs_both_its_url_and_its_sender() {
        let load =
            |pairs: &[(&str, &str)]| Config::load_from(Some(Path::new("/dev/null")), env(pairs));
        let err = load(&[("TOLLBOOTH_SMTP__URL", "smtp://localhost:2525")]).unwrap_err();
        assert!(err.to_string().contains("smtp.url and smtp.from"), "{err}");
        let err = load(&[
            ("TOLLBOOTH_SMTP__URL", "http://hunter2@localhost"),
            ("TOLLBOOTH_SMTP__FROM", "tollbooth@example.com"),
        ])
        .unwrap_err()
        .to_string();
        assert!(
            err.contains("smtp.url (TOLLBOOTH_SMTP__URL)") && !err.contains("hunter2"),
            "{err}"
        );
        let err = load(&[
            ("TOLLBOOTH_SMTP__URL", "smtp://localhost:2525"),
            ("TOLLBOOTH_SMTP__FROM", "not a mailbox"),
        ])
        .unwrap_err();
        assert!(err.to_string().contains("smtp.from (TOLLBOOTH_SMTP__FROM)"), "{err}");
        let on = load(&[
            ("TOLLBOOTH_SMTP__URL", "smtp://localhost:2525"),
            ("TOLLBOOTH_SMTP__FROM", "Tollbooth <tollbooth@example.com>"),
        ])
        .unwrap();
        assert!(on.smtp.mailer().unwrap().is_some());
        assert!(Config::default().smtp.mailer().unwrap().is_none());
    }
}
