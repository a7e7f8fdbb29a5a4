//! The OAuth 2.0 authorization-code flow (RFC 6749 §4.1) as a Webex integration and a Zoom
//! OAuth app see it, mounted beside each platform's REST emulator:
//!
//! - Webex: `GET /v1/authorize`, `POST /v1/access_token` (client id and secret in the form),
//!   `GET /v1/people/me` → `{"emails": […]}`;
//! - Zoom: `GET /oauth/authorize`, `POST /oauth/token` (HTTP Basic client authentication),
//!   `GET /v2/users/me` → `{"email": …}`.
//!
//! The authorize page stands for the platform's sign-in and consent: it answers at once with
//! the redirect back (`code` and `state`, or `error=access_denied` when a test has the account
//! refuse), for whichever account a test signed in. Codes are bound to their redirect URI and
//! work once; a used or unknown code is `invalid_grant` (400). "Who am I" needs the token and
//! the scope that reads the e-mail.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use axum::extract::{Query, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use axum::{Form, Json, Router};
use base64::Engine;
use serde::Deserialize;
use serde_json::json;
use url::Url;

pub const CLIENT_ID: &str = "emulator-oauth-client";
pub const CLIENT_SECRET: &str = "emulator-oauth-secret";

/// Whose protocol to speak.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Shape {
    Webex,
    Zoom,
}

impl Shape {
    /// The scope that lets "who am I" read the e-mail.
    fn scope(self) -> &'static str {
        match self {
            Shape::Webex => "spark:people_read",
            Shape::Zoom => "user:read",
        }
    }
}

struct Grant {
    redirect_uri: String,
    email: String,
    scope: String,
}

#[derive(Default)]
struct Accounts {
    /// Who is signed in at the authorize page, and whether they refuse.
    signed_in: Option<String>,
    refuses: bool,
    codes: HashMap<String, Grant>,
    used_codes: Vec<String>,
    /// Access token → (e-mail, scope).
    tokens: HashMap<String, (String, String)>,
    next: u64,
}

/// The emulated authorization server of one platform.
#[derive(Clone)]
pub struct Provider {
    shape: Shape,
    accounts: Arc<Mutex<Accounts>>,
}

impl Provider {
    pub fn new(shape: Shape) -> Provider {
        Provider { shape, accounts: Arc::default() }
    }

    /// The account that consents on the authorize page from now on.
    pub fn sign_in(&self, email: &str) {
        let mut accounts = self.accounts.lock().unwrap();
        accounts.signed_in = Some(email.to_owned());
        accounts.refuses = false;
    }

    /// The signed-in account refuses consent on the authorize page from now on.
    pub fn refuse(&self) {
        self.accounts.lock().unwrap().refuses = true;
    }

    /// How many access tokens were handed out.
    pub fn tokens_issued(&self) -> usize {
        self.accounts.lock().unwrap().tokens.len()
    }

    /// The routes, at the paths the platform serves them.
    pub fn routes(&self) -> Router {
        let (authorize, token, me) = match self.shape {
            Shape::Webex => ("/v1/authorize", "/v1/access_token", "/v1/people/me"),
            Shape::Zoom => ("/oauth/authorize", "/oauth/token", "/v2/users/me"),
        };
        Router::new()
            .route(authorize, get(authorize_page))
            .route(token, post(exchange))
            .route(me, get(who_am_i))
            .with_state(self.clone())
    }
}

#[derive(Deserialize)]
struct AuthorizeQuery {
    response_type: Option<String>,
    client_id: Option<String>,
    redirect_uri: Option<String>,
    scope: Option<String>,
    state: Option<String>,
}

fn refused(status: StatusCode, error: &str, description: &str) -> Response {
    (status, Json(json!({"error": error, "error_description": description}))).into_response()
}

async fn authorize_page(State(p): State<Provider>, Query(q): Query<AuthorizeQuery>) -> Response {
    if q.client_id.as_deref() != Some(CLIENT_ID) {
        return refused(StatusCode::BAD_REQUEST, "invalid_client", "unknown client_id");
    }
    let Some(redirect) = q.redirect_uri.as_deref().and_then(|r| Url::parse(r).ok()) else {
        return refused(StatusCode::BAD_REQUEST, "invalid_request", "redirect_uri is required");
    };
    let mut back = redirect.clone();
    let mut pairs = Vec::new();
    {
        let mut accounts = p.accounts.lock().unwrap();
        if q.response_type.as_deref() != Some("code") {
            pairs.push(("error", "unsupported_response_type".to_owned()));
        } else if accounts.refuses {
            pairs.push(("error", "access_denied".to_owned()));
        } else {
            let email = accounts.signed_in.clone().expect("a test signs an account in first");
            accounts.next += 1;
            let code = format!("code-{}-{}", accounts.next, rand::random::<u32>());
            let grant = Grant {
                redirect_uri: redirect.to_string(),
                email,
                scope: q.scope.clone().unwrap_or_default(),
            };
            accounts.codes.insert(code.clone(), grant);
            pairs.push(("code", code));
        }
    }
    if let Some(state) = q.state {
        pairs.push(("state", state));
    }
    back.query_pairs_mut().extend_pairs(pairs);
    Redirect::to(back.as_str()).into_response()
}

/// The client's id and secret: in the form (Webex), or HTTP Basic (Zoom).
fn client(shape: Shape, headers: &HeaderMap, form: &HashMap<String, String>) -> Option<String> {
    let (id, secret) = match shape {
        Shape::Webex => (form.get("client_id")?.clone(), form.get("client_secret")?.clone()),
        Shape::Zoom => {
            let basic =
                headers.get(header::AUTHORIZATION)?.to_str().ok()?.strip_prefix("Basic ")?;
            let decoded = base64::engine::general_purpose::STANDARD.decode(basic).ok()?;
            let (id, secret) = std::str::from_utf8(&decoded).ok()?.split_once(':')?;
            (id.to_owned(), secret.to_owned())
        }
    };
    (id == CLIENT_ID && secret == CLIENT_SECRET).then_some(id)
}

async fn exchange(
    State(p): State<Provider>,
    headers: HeaderMap,
    Form(form): Form<HashMap<String, String>>,
) -> Response {
    if client(p.shape, &headers, &form).is_none() {
        return refused(StatusCode::UNAUTHORIZED, "invalid_client", "bad client credentials");
    }
    if form.get("grant_type").map(String::as_str) != Some("authorization_code") {
        return refused(StatusCode::BAD_REQUEST, "unsupported_grant_type", "authorization_code");
    }
    let code = form.get("code").cloned().unwrap_or_default();
    let mut accounts = p.accounts.lock().unwrap();
    let Some(grant) = accounts.codes.remove(&code) else {
        let why =
            if accounts.used_codes.contains(&code) { "code already used" } else { "bad code" };
        return refused(StatusCode::BAD_REQUEST, "invalid_grant", why);
    };
    accounts.used_codes.push(code);
    if form.get("redirect_uri") != Some(&grant.redirect_uri) {
        return refused(StatusCode::BAD_REQUEST, "invalid_grant", "redirect_uri mismatch");
    }
    accounts.next += 1;
    let token = format!("access-{}-{}", accounts.next, rand::random::<u32>());
    accounts.tokens.insert(token.clone(), (grant.email, grant.scope.clone()));
    let body = match p.shape {
        Shape::Webex => json!({
            "access_token": token, "expires_in": 1_209_600,
            "refresh_token": "refresh-unused", "refresh_token_expires_in": 7_776_000,
        }),
        Shape::Zoom => json!({
            "access_token": token, "token_type": "bearer", "refresh_token": "refresh-unused",
            "expires_in": 3599, "scope": grant.scope,
        }),
    };
    Json(body).into_response()
}

async fn who_am_i(State(p): State<Provider>, headers: HeaderMap) -> Response {
    let bearer = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "));
    let accounts = p.accounts.lock().unwrap();
    let Some((email, scope)) = bearer.and_then(|t| accounts.tokens.get(t)) else {
        return refused(StatusCode::UNAUTHORIZED, "invalid_token", "unknown access token");
    };
    if !scope.split(' ').any(|s| s == p.shape.scope()) {
        return refused(StatusCode::FORBIDDEN, "insufficient_scope", p.shape.scope());
    }
    let body = match p.shape {
        Shape::Webex => json!({
            "id": "Y2lzY29zcGFyazovL3VzL1BFT1BMRS9lbXVsYXRvcg", "emails": [email],
            "displayName": "Emulated Host", "orgId": super::webex::ORG_ID, "type": "person",
        }),
        Shape::Zoom => json!({
            "id": "KDcuGIm1QgePTO8WbOqwIQ", "email": email, "first_name": "Emulated",
            "last_name": "Host", "type": 2, "account_id": "emulator-account",
        }),
    };
    Json(body).into_response()
}

/// Configures both platforms' OAuth clients against the emulators that `api_base` already
/// points at (run after [`super::clients`]): Webex serves OAuth under its `/v1`, Zoom at the
/// root of its host.
pub fn apps(c: &mut tollbooth_core::config::Config) {
    for (id, secret) in [
        (&mut c.webex.client_id, &mut c.webex.client_secret),
        (&mut c.zoom.client_id, &mut c.zoom.client_secret),
    ] {
        *id = Some(CLIENT_ID.to_owned());
        *secret = Some(secrecy::SecretString::from(CLIENT_SECRET));
    }
    c.webex.oauth_base = c.webex.api_base.clone();
    c.zoom.oauth_base = c.zoom.api_base.join("/").expect("an absolute path joins");
}
