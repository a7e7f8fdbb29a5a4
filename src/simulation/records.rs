//! What the platform would report, served: the Webex and Zoom REST endpoints that settlement
//! reads (a meeting instance's participants, and whether it ended), answered from the
//! generator's [`Record`] of each session. A server whose `webex.api_base` or `zoom.api_base`
//! points here settles simulated sessions as it would real ones, deliveries lost or not.
//!
//! Webex under `/v1`: `GET /meetingParticipants?meetingId=…` (paged with `max` and
//! `Link: <…>; rel="next"`) and `GET /meetings/{id}`. Zoom under `/v2`:
//! `GET /report/meetings/{uuid}/participants` and `GET /past_meetings/{uuid}/participants`
//! (paged with `page_size` and `next_page_token`) and `GET /past_meetings/{uuid}`. Any
//! non-empty bearer token will do: this stands in for the platform on a test machine.

use std::collections::HashMap;
use std::sync::Arc;

use axum::Router;
use axum::extract::{Path, Query, Request, State};
use axum::http::{StatusCode, header};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use serde::Deserialize;
use serde_json::{Value, json};

use super::{Record, Simulated};

/// Each session's record by meeting id.
type Records = Arc<HashMap<String, Record>>;

/// The router answering for `sessions`.
pub fn router(sessions: &[Simulated]) -> Router {
    let records: Records =
        Arc::new(sessions.iter().map(|s| (s.meeting_id.clone(), s.record.clone())).collect());
    Router::new()
        .route("/v1/meetingParticipants", get(webex_participants))
        .route("/v1/meetings/{id}", get(webex_meeting))
        .route("/v2/report/meetings/{uuid}/participants", get(zoom_participants))
        .route("/v2/past_meetings/{uuid}/participants", get(zoom_participants))
        .route("/v2/past_meetings/{uuid}", get(zoom_meeting))
        .layer(middleware::from_fn(bearer))
        .with_state(records)
}

/// Both platforms answer a request without a token 401; the body carries what either
/// client reads of an error (Webex `message`, Zoom `code` and `message`).
async fn bearer(request: Request, next: Next) -> Response {
    let token = request
        .headers()
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .is_some_and(|t| !t.trim().is_empty());
    if !token {
        let message = "The request requires a valid access token set in the Authorization header.";
        return (StatusCode::UNAUTHORIZED, axum::Json(json!({"code": 124, "message": message})))
            .into_response();
    }
    next.run(request).await
}

fn not_found(message: String) -> Response {
    (StatusCode::NOT_FOUND, axum::Json(json!({"code": 3001, "message": message}))).into_response()
}

fn bad_request(message: &str) -> Response {
    (StatusCode::BAD_REQUEST, axum::Json(json!({"code": 300, "message": message}))).into_response()
}

/// A page size from the query: `default` when absent, refused outside 1..=`most`.
fn page_size(
    asked: Option<&str>,
    default: usize,
    most: usize,
    name: &str,
) -> Result<usize, String> {
    match asked.map(str::parse::<usize>) {
        None => Ok(default),
        Some(Ok(n)) if (1..=most).contains(&n) => Ok(n),
        Some(_) => Err(format!("{name}: must be a whole number from 1 to {most}")),
    }
}

/// Where a page starts: the offset the previous page handed out, 0 for the first.
fn offset(token: Option<&str>, name: &str) -> Result<usize, String> {
    match token.filter(|t| !t.is_empty()) {
        None => Ok(0),
        Some(t) => t.parse().map_err(|_| format!("{name}: not a page of this list")),
    }
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct WebexQuery {
    meeting_id: Option<String>,
    max: Option<String>,
    cursor: Option<String>,
}

/// `GET /v1/meetingParticipants`: 10 a page unless asked, at most 100, as Webex documents;
/// the next page is linked on this host.
async fn webex_participants(
    State(records): State<Records>,
    Query(q): Query<WebexQuery>,
) -> Response {
    let Some(meeting_id) = q.meeting_id.filter(|id| !id.is_empty()) else {
        return bad_request("meetingId: required");
    };
    let (max, from) = match (
        page_size(q.max.as_deref(), 10, 100, "max"),
        offset(q.cursor.as_deref(), "cursor"),
    ) {
        (Ok(max), Ok(from)) => (max, from),
        (Err(e), _) | (_, Err(e)) => return bad_request(&e),
    };
    let Some(record) = records.get(&meeting_id) else {
        return not_found(format!("Meeting {meeting_id} was not found."));
    };
    let items: Vec<&Value> = record.participants.iter().skip(from).take(max).collect();
    let next = from + items.len();
    let mut response = axum::Json(json!({ "items": items })).into_response();
    if next < record.participants.len() {
        // Relative to the request, which RFC 8288 allows and the client resolves; Webex
        // itself links absolutely, on the host it was asked at.
        let query = url::form_urlencoded::Serializer::new(String::new())
            .append_pair("meetingId", &meeting_id)
            .append_pair("max", &max.to_string())
            .append_pair("cursor", &next.to_string())
            .finish();
        if let Ok(link) = format!("</v1/meetingParticipants?{query}>; rel=\"next\"").parse() {
            response.headers_mut().insert(header::LINK, link);
        }
    }
    response
}

/// `GET /v1/meetings/{id}`: the instance, ended.
async fn webex_meeting(State(records): State<Records>, Path(id): Path<String>) -> Response {
    match records.get(&id) {
        Some(record) => axum::Json(&record.meeting).into_response(),
        None => not_found(format!("Meeting {id} was not found.")),
    }
}

#[derive(Deserialize)]
struct ZoomQuery {
    page_size: Option<String>,
    next_page_token: Option<String>,
}

/// A page of the join segments (30 unless asked, at most 300); the token is the offset of the
/// next page, "" after the last. Zoom leaves a meeting of one participant out of its reports;
/// this serves it all the same, so that such a run settles too.
async fn zoom_participants(
    State(records): State<Records>,
    Path(uuid): Path<String>,
    Query(q): Query<ZoomQuery>,
) -> Response {
    let (size, from) = match (
        page_size(q.page_size.as_deref(), 30, 300, "page_size"),
        offset(q.next_page_token.as_deref(), "next_page_token"),
    ) {
        (Ok(size), Ok(from)) => (size, from),
        (Err(e), _) | (_, Err(e)) => return bad_request(&e),
    };
    let Some(record) = records.get(&uuid) else {
        return not_found(format!("Meeting does not exist: {uuid}."));
    };
    let rows = &record.participants;
    let page: Vec<&Value> = rows.iter().skip(from).take(size).collect();
    let next = from + page.len();
    axum::Json(json!({
        "page_count": rows.len().div_ceil(size),
        "page_size": size,
        "total_records": rows.len(),
        "next_page_token": if next < rows.len() { next.to_string() } else { String::new() },
        "participants": page,
    }))
    .into_response()
}

/// `GET /v2/past_meetings/{uuid}`: the instance, with its end time.
async fn zoom_meeting(State(records): State<Records>, Path(uuid): Path<String>) -> Response {
    match records.get(&uuid) {
        Some(record) => axum::Json(&record.meeting).into_response(),
        None => not_found(format!("Meeting does not exist: {uuid}.")),
    }
}
