//! The Webex REST API (`https://webexapis.com/v1`) as far as tollbooth uses it: webhooks
//! (list, get, create, update, delete) and ending meetings, with Webex's bearer-token check,
//! validation and error JSON (`message`, `errors[].description`, `trackingId`).
//!
//! Every request is recorded (method, path, query, JSON body) before it is answered, so tests
//! can count exactly what was sent. Tests can also disable a hook as Webex does after failed
//! deliveries, and queue error answers.

use std::collections::VecDeque;
use std::sync::{Arc, Mutex, MutexGuard};

use axum::Router;
use axum::body::{Body, Bytes};
use axum::extract::{Path, Query, Request, State};
use axum::http::{HeaderValue, Method, StatusCode, header};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use tokio::task::JoinHandle;

/// The only token the emulator accepts.
pub const TOKEN: &str = "emulator-token";
pub const ORG_ID: &str = "Y2lzY29zcGFyazovL3VzL09SR0FOSVpBVElPTi9lbXVsYXRvcg";

const RESOURCES: &[&str] = &[
    "attachmentActions",
    "dataSources",
    "memberships",
    "messages",
    "rooms",
    "meetings",
    "recordings",
    "convergedRecordings",
    "meetingParticipants",
    "meetingTranscripts",
    "telephony_calls",
    "telephony_conference",
    "telephony_mwi",
    "uc_counters",
    "serviceApp",
    "adminBatchJobs",
];
const EVENTS: &[&str] = &[
    "created",
    "updated",
    "deleted",
    "started",
    "ended",
    "joined",
    "left",
    "migrated",
    "authorized",
    "deauthorized",
    "statusChanged",
    "all",
];
/// Filter keys that make a hook org-wide, so that `ownedBy` must be `org`.
const ORG_FILTER_KEYS: &[&str] = &["hostEmail", "hostUserId", "ownerEmail", "ownerId"];

/// A webhook object, field by field as Webex returns it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Hook {
    pub id: String,
    pub name: String,
    pub target_url: String,
    pub resource: String,
    pub event: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub filter: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub secret: Option<String>,
    pub status: String,
    pub created: String,
    pub owned_by: String,
    pub org_id: String,
    pub created_by: String,
    pub app_id: String,
}

/// One request as the emulator received it.
#[derive(Clone, Debug)]
pub struct Call {
    pub method: Method,
    pub path: String,
    pub query: Option<String>,
    /// The body when it was JSON.
    pub body: Option<Value>,
}

/// An error answer queued by a test for the next authorised request.
#[derive(Clone, Debug)]
pub struct Fault {
    pub status: StatusCode,
    pub message: String,
    /// Seconds, sent as `Retry-After` (Webex sends it with 429).
    pub retry_after: Option<u64>,
}

#[derive(Default)]
pub struct WebexState {
    pub hooks: Vec<Hook>,
    pub calls: Vec<Call>,
    pub faults: VecDeque<Fault>,
    /// Meeting ids that `POST /meetings/{id}/end` was called for, in order.
    pub ended_meetings: Vec<String>,
    next_id: u64,
}

type Shared = Arc<Mutex<WebexState>>;

/// A running emulator; stops when dropped.
pub struct WebexEmulator {
    /// What to configure as `webex.api_base`, e.g. `http://127.0.0.1:41234/v1`.
    pub base: String,
    state: Shared,
    server: JoinHandle<()>,
}

impl Drop for WebexEmulator {
    fn drop(&mut self) {
        self.server.abort();
    }
}

impl WebexEmulator {
    pub async fn start() -> WebexEmulator {
        let state = Shared::default();
        let api = Router::new()
            .route("/webhooks", get(list_hooks).post(create_hook))
            .route("/webhooks/{id}", get(get_hook).put(update_hook).delete(delete_hook))
            .route("/meetings/{id}/end", post(end_meeting))
            .fallback(|| async { not_found() });
        let app = Router::new()
            .nest("/v1", api)
            .layer(middleware::from_fn_with_state(state.clone(), record_and_check))
            .with_state(state.clone());
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let base = format!("http://{}/v1", listener.local_addr().unwrap());
        let server = tokio::spawn(async move {
            axum::serve(listener, app).await.unwrap();
        });
        WebexEmulator { base, state, server }
    }

    /// The shared state, for what the helpers below do not cover.
    pub fn state(&self) -> MutexGuard<'_, WebexState> {
        self.state.lock().unwrap()
    }

    pub fn calls(&self) -> Vec<Call> {
        self.state().calls.clone()
    }

    /// How many requests with this method and path (e.g. `"/v1/webhooks"`) were received.
    pub fn count(&self, method: Method, path: &str) -> usize {
        self.state().calls.iter().filter(|c| c.method == method && c.path == path).count()
    }

    pub fn hooks(&self) -> Vec<Hook> {
        self.state().hooks.clone()
    }

    /// Adds a hook as if someone had created it earlier, and returns its id.
    pub fn seed_hook(&self, name: &str, target_url: &str, resource: &str, event: &str) -> String {
        let mut state = self.state();
        let id = state.new_id();
        state.hooks.push(Hook {
            id: id.clone(),
            name: name.into(),
            target_url: target_url.into(),
            resource: resource.into(),
            event: event.into(),
            filter: None,
            secret: Some("someone-elses-secret".into()),
            status: "active".into(),
            created: now(),
            owned_by: "org".into(),
            org_id: ORG_ID.into(),
            created_by: creator(),
            app_id: app(),
        });
        id
    }

    /// What Webex does after 100 failed deliveries in five minutes: the hook goes `inactive`.
    pub fn auto_disable(&self, hook_id: &str) {
        let mut state = self.state();
        let hook = state.hooks.iter_mut().find(|h| h.id == hook_id).expect("known hook");
        hook.status = "inactive".into();
    }

    /// The next authorised request gets this error instead of its answer.
    pub fn fail_next(&self, fault: Fault) {
        self.state().faults.push_back(fault);
    }
}

impl WebexState {
    fn new_id(&mut self) -> String {
        self.next_id += 1;
        // Webex ids are base64 of a `ciscospark://us/WEBHOOK/<uuid>` URI; the shape, not the
        // content, is what clients see.
        format!("Y2lzY29zcGFyazovL3VzL1dFQkhPT0svZW11bGF0b3It{:08}", self.next_id)
    }
}

fn now() -> String {
    chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Millis, true)
}

fn creator() -> String {
    "Y2lzY29zcGFyazovL3VzL1BFT1BMRS9hZG1pbg".into()
}

fn app() -> String {
    "Y2lzY29zcGFyazovL3VzL0FQUExJQ0FUSU9OL3RvbGxib290aA".into()
}

/// Webex's error answer.
fn error(status: StatusCode, message: &str) -> Response {
    let tracking = format!("EMULATOR_{}", chrono::Utc::now().timestamp_micros());
    let body = json!({
        "message": message,
        "errors": [{ "description": message }],
        "trackingId": tracking,
    });
    (status, [("trackingid", tracking)], axum::Json(body)).into_response()
}

/// An error answer, in Webex's shape once it becomes a response.
pub struct Rejection(StatusCode, String);

impl IntoResponse for Rejection {
    fn into_response(self) -> Response {
        error(self.0, &self.1)
    }
}

fn bad_request(message: impl Into<String>) -> Rejection {
    Rejection(StatusCode::BAD_REQUEST, message.into())
}

fn not_found() -> Rejection {
    Rejection(StatusCode::NOT_FOUND, "The requested resource could not be found.".into())
}

/// Records the request, then answers 401 without the token, or a queued fault.
async fn record_and_check(State(state): State<Shared>, request: Request, next: Next) -> Response {
    let (parts, body) = request.into_parts();
    let bytes = axum::body::to_bytes(body, 1 << 20).await.unwrap_or_default();
    let fault = {
        let mut state = state.lock().unwrap();
        state.calls.push(Call {
            method: parts.method.clone(),
            path: parts.uri.path().to_owned(),
            query: parts.uri.query().map(str::to_owned),
            body: serde_json::from_slice(&bytes).ok(),
        });
        let authorised = parts.headers.get(header::AUTHORIZATION)
            == Some(&HeaderValue::from_str(&format!("Bearer {TOKEN}")).unwrap());
        if !authorised {
            return error(
                StatusCode::UNAUTHORIZED,
                "The request requires a valid access token set in the Authorization request header.",
            );
        }
        state.faults.pop_front()
    };
    if let Some(fault) = fault {
        let mut response = error(fault.status, &fault.message);
        if let Some(seconds) = fault.retry_after {
            response.headers_mut().insert(header::RETRY_AFTER, seconds.into());
        }
        return response;
    }
    next.run(Request::from_parts(parts, Body::from(bytes))).await
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct ListQuery {
    max: Option<String>,
    owned_by: Option<String>,
}

async fn list_hooks(
    State(state): State<Shared>,
    Query(q): Query<ListQuery>,
) -> Result<Response, Rejection> {
    let max = match q.max.as_deref().map(str::parse::<usize>) {
        None => 100,
        Some(Ok(max)) if max > 0 => max,
        _ => return Err(bad_request("max: must be a positive integer")),
    };
    let state = state.lock().unwrap();
    let items: Vec<&Hook> = state
        .hooks
        .iter()
        .filter(|h| q.owned_by.as_deref().is_none_or(|o| h.owned_by == o))
        .take(max)
        .collect();
    Ok(axum::Json(json!({ "items": items })).into_response())
}

async fn get_hook(
    State(state): State<Shared>,
    Path(id): Path<String>,
) -> Result<Response, Rejection> {
    let state = state.lock().unwrap();
    let hook = state.hooks.iter().find(|h| h.id == id).ok_or_else(not_found)?;
    Ok(axum::Json(hook).into_response())
}

async fn delete_hook(
    State(state): State<Shared>,
    Path(id): Path<String>,
) -> Result<StatusCode, Rejection> {
    let mut state = state.lock().unwrap();
    let before = state.hooks.len();
    state.hooks.retain(|h| h.id != id);
    if state.hooks.len() == before { Err(not_found()) } else { Ok(StatusCode::NO_CONTENT) }
}

/// The body as a JSON object, or Webex's 400.
fn object(body: &Bytes) -> Result<serde_json::Map<String, Value>, Rejection> {
    match serde_json::from_slice(body) {
        Ok(Value::Object(map)) => Ok(map),
        _ => Err(bad_request("The request body is not a valid JSON object.")),
    }
}

/// A string field: `Ok(None)` when absent, an error when present but not a string.
fn text(body: &serde_json::Map<String, Value>, key: &str) -> Result<Option<String>, Rejection> {
    match body.get(key) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) => Ok(Some(s.clone())),
        Some(_) => Err(bad_request(format!("{key}: must be a string"))),
    }
}

fn required(body: &serde_json::Map<String, Value>, key: &str) -> Result<String, Rejection> {
    match text(body, key)? {
        Some(s) if !s.is_empty() => Ok(s),
        _ => Err(bad_request(format!("{key}: may not be empty"))),
    }
}

fn check_target_url(target_url: &str) -> Result<(), Rejection> {
    match url::Url::parse(target_url) {
        Ok(u) if matches!(u.scheme(), "http" | "https") && u.host().is_some() => Ok(()),
        _ => Err(bad_request("targetUrl: must be an absolute http(s) URL")),
    }
}

async fn create_hook(State(state): State<Shared>, body: Bytes) -> Result<Response, Rejection> {
    let body = object(&body)?;
    let name = required(&body, "name")?;
    let target_url = required(&body, "targetUrl")?;
    let resource = required(&body, "resource")?;
    let event = required(&body, "event")?;
    let filter = text(&body, "filter")?;
    let secret = text(&body, "secret")?;
    let owned_by = text(&body, "ownedBy")?.unwrap_or_else(|| "creator".into());
    check_target_url(&target_url)?;
    if !RESOURCES.contains(&resource.as_str()) {
        return Err(bad_request(format!("resource: unknown resource '{resource}'")));
    }
    if !EVENTS.contains(&event.as_str()) {
        return Err(bad_request(format!("event: unknown event '{event}'")));
    }
    if !matches!(owned_by.as_str(), "org" | "creator") {
        return Err(bad_request("ownedBy: must be 'org' or 'creator'"));
    }
    let org_filter = filter.as_deref().is_some_and(|f| {
        f.split('&').any(|pair| ORG_FILTER_KEYS.contains(&pair.split('=').next().unwrap_or("")))
    });
    if org_filter && owned_by != "org" {
        return Err(bad_request(
            "ownedBy: must be 'org' when the filter uses hostEmail, hostUserId, ownerEmail or ownerId",
        ));
    }
    let mut state = state.lock().unwrap();
    let hook = Hook {
        id: state.new_id(),
        name,
        target_url,
        resource,
        event,
        filter,
        secret,
        status: "active".into(),
        created: now(),
        owned_by,
        org_id: ORG_ID.into(),
        created_by: creator(),
        app_id: app(),
    };
    state.hooks.push(hook.clone());
    Ok(axum::Json(hook).into_response())
}

/// Webex honours only name, targetUrl, secret and status; status can only become `active`.
async fn update_hook(
    State(state): State<Shared>,
    Path(id): Path<String>,
    body: Bytes,
) -> Result<Response, Rejection> {
    let body = object(&body)?;
    let name = required(&body, "name")?;
    let target_url = required(&body, "targetUrl")?;
    check_target_url(&target_url)?;
    let secret = text(&body, "secret")?;
    let status = text(&body, "status")?;
    if status.as_deref().is_some_and(|s| s != "active") {
        return Err(bad_request("status: may only be set to 'active'"));
    }
    let mut state = state.lock().unwrap();
    let hook = state.hooks.iter_mut().find(|h| h.id == id).ok_or_else(not_found)?;
    hook.name = name;
    hook.target_url = target_url;
    if secret.is_some() {
        hook.secret = secret;
    }
    if let Some(status) = status {
        hook.status = status;
    }
    Ok(axum::Json(hook.clone()).into_response())
}

/// Records the meeting as ended; the optional body is `{"reason": "..."}`.
async fn end_meeting(State(state): State<Shared>, Path(id): Path<String>) -> StatusCode {
    state.lock().unwrap().ended_meetings.push(id);
    StatusCode::NO_CONTENT
}
