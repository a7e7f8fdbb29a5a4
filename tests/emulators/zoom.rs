//! The Zoom REST API (`https://api.zoom.us/v2`) as far as tollbooth uses it: ending a meeting
//! with `PUT /meetings/{meetingId}/status` and `{"action": "end"}`, with Zoom's bearer-token
//! check and error JSON (`code`, `message`).
//!
//! Every request is recorded (method, path, JSON body) before it is answered, so tests can
//! count exactly what was sent; tests can queue error answers for the next requests.

use std::collections::VecDeque;
use std::sync::{Arc, Mutex, MutexGuard};

use axum::Router;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, Method, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::put;
use serde_json::{Value, json};
use tokio::task::JoinHandle;

/// The only token the emulator accepts.
pub const TOKEN: &str = "zoom-emulator-token";

/// One request as the emulator received it.
#[derive(Clone, Debug)]
pub struct Call {
    pub method: Method,
    pub path: String,
    pub body: Option<Value>,
}

#[derive(Default)]
pub struct ZoomState {
    pub calls: Vec<Call>,
    /// Statuses to answer the next authorised requests with, instead of doing them.
    pub faults: VecDeque<StatusCode>,
    /// Meeting ids that were ended, in order.
    pub ended_meetings: Vec<String>,
}

type Shared = Arc<Mutex<ZoomState>>;

/// A running emulator; stops when dropped.
pub struct ZoomEmulator {
    /// What to configure as `zoom.api_base`, e.g. `http://127.0.0.1:41234/v2`.
    pub base: String,
    state: Shared,
    server: JoinHandle<()>,
}

impl Drop for ZoomEmulator {
    fn drop(&mut self) {
        self.server.abort();
    }
}

impl ZoomEmulator {
    pub async fn start() -> ZoomEmulator {
        let state = Shared::default();
        let app = Router::new()
            .route("/v2/meetings/{id}/status", put(meeting_status))
            .with_state(state.clone());
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let base = format!("http://{}/v2", listener.local_addr().unwrap());
        let server = tokio::spawn(async move {
            axum::serve(listener, app).await.unwrap();
        });
        ZoomEmulator { base, state, server }
    }

    pub fn state(&self) -> MutexGuard<'_, ZoomState> {
        self.state.lock().unwrap()
    }
}

fn error(status: StatusCode, code: u32, message: &str) -> Response {
    (status, axum::Json(json!({"code": code, "message": message}))).into_response()
}

/// `PUT /meetings/{meetingId}/status`: `end` ends the meeting (204); `recover` is Zoom's other
/// action, for deleted meetings, which tollbooth never sends.
async fn meeting_status(
    State(state): State<Shared>,
    Path(id): Path<String>,
    headers: HeaderMap,
    body: axum::body::Bytes,
) -> Response {
    let body: Option<Value> = serde_json::from_slice(&body).ok();
    let mut state = state.lock().unwrap();
    state.calls.push(Call {
        method: Method::PUT,
        path: format!("/v2/meetings/{id}/status"),
        body: body.clone(),
    });
    let authorised = headers.get(header::AUTHORIZATION).and_then(|v| v.to_str().ok())
        == Some(format!("Bearer {TOKEN}").as_str());
    if !authorised {
        return error(StatusCode::UNAUTHORIZED, 124, "Invalid access token.");
    }
    if let Some(status) = state.faults.pop_front() {
        return error(status, 0, "emulated failure");
    }
    match body.as_ref().and_then(|b| b["action"].as_str()) {
        Some("end") => {
            state.ended_meetings.push(id);
            StatusCode::NO_CONTENT.into_response()
        }
        Some("recover") => StatusCode::NO_CONTENT.into_response(),
        _ => error(StatusCode::BAD_REQUEST, 300, "Invalid action."),
    }
}
