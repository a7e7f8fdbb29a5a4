//! Local emulators of the services tollbooth calls, built from their documented protocols
//! (`reference/`), each a real HTTP server on a loopback port.

pub mod discord;
pub mod oauth;
pub mod payflow;
pub mod paypal;
pub mod paypal_classic;
pub mod smtp;
pub mod stripe;
pub mod webex;
pub mod zoom;

use std::time::Duration;

use axum::Router;
use axum::body::Body;
use axum::extract::Request;
use axum::http::{Method, header};
use secrecy::SecretString;
use serde_json::Value;
use tokio::task::JoinHandle;
use tollbooth_core::config::{Config, DiscordMode};

/// One request as an emulator received it.
#[derive(Clone, Debug)]
pub struct Call {
    pub method: Method,
    /// As sent, still percent-encoded.
    pub path: String,
    pub query: Option<String>,
    pub authorization: Option<String>,
    /// The body when it was JSON.
    pub body: Option<Value>,
}

impl Call {
    /// Reads the request into a record, and gives back a request with the same body for the
    /// handler (a body can only be read once).
    pub async fn record(request: Request) -> (Call, Request) {
        let (parts, body) = request.into_parts();
        let bytes = axum::body::to_bytes(body, 1 << 20).await.unwrap_or_default();
        let call = Call {
            method: parts.method.clone(),
            path: parts.uri.path().to_owned(),
            query: parts.uri.query().map(str::to_owned),
            authorization: parts
                .headers
                .get(header::AUTHORIZATION)
                .and_then(|v| v.to_str().ok())
                .map(str::to_owned),
            body: serde_json::from_slice(&bytes).ok(),
        };
        (call, Request::from_parts(parts, Body::from(bytes)))
    }
}

/// How many of `calls` had this method and path.
pub fn count(calls: &[Call], method: Method, path: &str) -> usize {
    calls.iter().filter(|c| c.method == method && c.path == path).count()
}

/// Serves `app` on a free loopback port; returns `http://127.0.0.1:{port}{prefix}` and the
/// server task (aborted when its emulator is dropped).
pub async fn serve(app: Router, prefix: &str) -> (String, JoinHandle<()>) {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}{prefix}", listener.local_addr().unwrap());
    let server = tokio::spawn(async move {
        axum::serve(listener, app).await.unwrap();
    });
    (base, server)
}

/// Points tollbooth's Webex, Zoom and Discord clients at the emulators given, with the tokens
/// they accept, and its interactions endpoint at the emulated application's key.
pub fn clients(
    webex: Option<&webex::WebexEmulator>,
    zoom: Option<&zoom::ZoomEmulator>,
    discord: Option<&discord::DiscordEmulator>,
) -> impl FnOnce(&mut Config) + use<> {
    let webex = webex.map(|e| e.base.clone());
    let zoom = zoom.map(|e| e.base.clone());
    let discord = discord.map(|e| e.base.clone());
    move |c: &mut Config| {
        if let Some(base) = webex {
            c.webex.api_base = base.parse().unwrap();
            c.webex.token = Some(SecretString::from(webex::TOKEN));
        }
        if let Some(base) = zoom {
            c.zoom.api_base = base.parse().unwrap();
            c.zoom.token = Some(SecretString::from(zoom::TOKEN));
        }
        if let Some(base) = discord {
            c.discord.mode = DiscordMode::Http;
            let public = discord::application_key().verifying_key().to_bytes();
            c.discord.public_key = Some(hex::encode(public));
            c.discord.application_id = Some(discord::APPLICATION_ID.into());
            c.discord.token = Some(SecretString::from(discord::TOKEN));
            c.discord.api_base = base.parse().unwrap();
        }
    }
}

/// What a payment emulator counts and can be told, kept in its ledger, so that the shared
/// gateway suite drives every emulator the same way.
#[derive(Debug, Default)]
pub struct Knobs {
    /// Money really taken.
    pub charges: u32,
    /// Requests answered again from the idempotency store.
    pub replays: u32,
    /// Refunds still to fail as an outage would, before anything is done.
    pub fail_refunds: u32,
    /// Captures still to carry out but answer only after `slow_by`.
    pub slow_captures: u32,
    pub slow_by: Duration,
    /// Where callbacks go, for gateways that send them to one registered endpoint.
    pub callback_url: Option<String>,
    /// While `true`, callbacks are kept but not sent (a test sends them itself).
    pub hold_callbacks: bool,
    pub last_callback: Option<Delivery>,
}

impl Knobs {
    /// Whether this refund is one a test asked to fail (using it up).
    pub fn refund_fails(&mut self) -> bool {
        let fails = self.fail_refunds > 0;
        self.fail_refunds = self.fail_refunds.saturating_sub(1);
        fails
    }

    /// How long to hold this capture's answer, when a test asked for a slow one (using it up).
    pub fn capture_delay(&mut self) -> Option<Duration> {
        (self.slow_captures > 0).then(|| {
            self.slow_captures -= 1;
            self.slow_by
        })
    }
}

/// The test-facing controls of an emulator whose ledger holds [`Knobs`].
pub trait Controls {
    /// Runs `f` on the knobs, under the emulator's lock.
    fn knobs<R>(&self, f: impl FnOnce(&mut Knobs) -> R) -> R;

    fn deliver_to(&self, url: String) {
        self.knobs(|k| k.callback_url = Some(url));
    }
    fn charges(&self) -> u32 {
        self.knobs(|k| k.charges)
    }
    fn replays(&self) -> u32 {
        self.knobs(|k| k.replays)
    }
    /// The next `n` refunds fail as an outage would. (Only refunds: callbacks trigger other
    /// calls in the background.)
    fn fail_refunds(&self, n: u32) {
        self.knobs(|k| k.fail_refunds = n);
    }
    /// The next `n` captures are carried out, then answered only after `by`: a client with a
    /// shorter timeout sees a timeout although the money moved.
    fn slow_captures(&self, n: u32, by: Duration) {
        self.knobs(|k| {
            k.slow_captures = n;
            k.slow_by = by;
        });
    }
    fn hold_callbacks(&self, hold: bool) {
        self.knobs(|k| k.hold_callbacks = hold);
    }
    fn last_callback(&self) -> Option<Delivery> {
        self.knobs(|k| k.last_callback.clone())
    }
}

/// A callback an emulated gateway sent (or held back): its headers and exact body, so that a
/// test can deliver it again, twice, or racing the payer's browser.
#[derive(Clone, Debug)]
pub struct Delivery {
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

impl Delivery {
    /// A form-encoded callback (silent post, IPN).
    pub fn form(pairs: &[(String, String)]) -> Delivery {
        let body =
            url::form_urlencoded::Serializer::new(String::new()).extend_pairs(pairs).finish();
        Delivery {
            headers: vec![("content-type".into(), "application/x-www-form-urlencoded".into())],
            body: body.into_bytes(),
        }
    }

    /// The same delivery with its body changed after it was signed.
    pub fn replaced(mut self, from: &str, to: &str) -> Delivery {
        let body = String::from_utf8(self.body).expect("a text body");
        assert!(body.contains(from), "`{from}` is not in {body}");
        self.body = body.replacen(from, to, 1).into_bytes();
        self
    }

    /// Posts it to `url`; the answer's status, or 0 when nothing answered.
    pub async fn send(&self, url: &str) -> u16 {
        let mut request = reqwest::Client::new().post(url).body(self.body.clone());
        for (k, v) in &self.headers {
            request = request.header(k, v);
        }
        request.send().await.map_or(0, |r| r.status().as_u16())
    }
}
