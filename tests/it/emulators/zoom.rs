//! The Zoom REST API (`https://api.zoom.us/v2`) as far as tollbooth uses it: ending a meeting
//! (`PUT /meetings/{meetingId}/status`), scheduling, updating and deleting meetings, their
//! registrants (add, list by status, approve / cancel / deny), and what Zoom recorded of past
//! meeting instances (`GET /past_meetings/{uuid}`, `GET /past_meetings/{uuid}/participants`,
//! `GET /report/meetings/{uuid}/participants`, paged with `page_size` and `next_page_token`),
//! with Zoom's bearer-token check and error JSON (`code`, `message`, and `errors[]` naming the
//! fields of a validation failure).
//!
//! Every request is recorded (method, path, query, JSON body) before it is answered, so tests
//! can count exactly what was sent; tests can seed meetings as if made in Zoom's own UI, seed
//! what Zoom recorded of an instance (join segments, its end, a report that lags behind, a
//! record that answers 404 for a while), and queue error answers for the next requests, rate limits among them (per second: 429 without
//! `Retry-After`; daily: `Retry-After` at the reset, as Zoom's rate-limit page describes).

use std::collections::VecDeque;
use std::sync::{Arc, Mutex, MutexGuard};

use super::Call;
use super::oauth::{Provider, Shape};
use axum::Router;
use axum::body::Bytes;
use axum::extract::{Path, Query, Request, State};
use axum::http::{Method, StatusCode, header};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, patch, post, put};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value, json};
use tokio::task::JoinHandle;

/// The only token the emulator accepts.
pub const TOKEN: &str = "zoom-emulator-token";
/// Zoom's limit of registrants per meeting.
pub const MAX_REGISTRANTS: usize = 4999;
/// The first meeting id the emulator hands out; Zoom's are 10 or 11 digits.
const FIRST_MEETING_ID: u64 = 85_746_065_432;

/// A scheduled meeting, with the fields Zoom returns that tollbooth's calls touch.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Meeting {
    pub id: u64,
    pub host_email: String,
    pub topic: String,
    #[serde(rename = "type")]
    pub kind: u64,
    pub start_time: String,
    pub duration: u64,
    /// The settings as sent (and patched), e.g. `approval_type`.
    pub settings: Map<String, Value>,
    pub join_url: String,
    pub start_url: String,
    #[serde(skip)]
    pub registrants: Vec<Registrant>,
}

/// A registrant, as Zoom lists it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Registrant {
    pub id: String,
    pub email: String,
    pub first_name: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub last_name: Option<String>,
    /// `pending`, `approved`, `denied` or `cancelled`.
    pub status: String,
    pub create_time: String,
    /// The personal link, once approved.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub join_url: Option<String>,
}

impl Meeting {
    /// Zoom's `approval_type`: 0 automatic, 1 manual, 2 no registration (the default).
    pub fn approval_type(&self) -> u64 {
        self.settings.get("approval_type").and_then(Value::as_u64).unwrap_or(2)
    }

    fn check_registration(&self) -> Result<(), Rejection> {
        if self.approval_type() == 2 {
            return Err(error(
                StatusCode::BAD_REQUEST,
                3000,
                &format!("Registration has not been enabled for this meeting: {}.", self.id),
            ));
        }
        Ok(())
    }

    fn approve(&mut self, index: usize) {
        let id = self.id;
        let registrant = &mut self.registrants[index];
        registrant.status = "approved".into();
        registrant.join_url = Some(format!("https://zoom.us/w/{id}?tk=emu-{}", registrant.id));
    }
}

/// One join segment, as Zoom's participant reports list it: a participant who rejoins gets
/// another row.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Segment {
    /// The participant's id in the meeting; "" for guests, whose ids Zoom hides since 2023.
    pub id: String,
    pub user_id: String,
    pub name: String,
    pub user_email: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub participant_uuid: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub join_time: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub leave_time: Option<String>,
    /// Seconds.
    pub duration: u64,
    pub failover: bool,
    /// `in_meeting` or `in_waiting_room`.
    pub status: String,
    pub customer_key: String,
    pub registrant_id: String,
}

static NEXT_USER_ID: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(16_778_240);

impl Segment {
    /// Participant `id` named `name`, connected from `join_time` to `leave_time`.
    pub fn new(id: &str, name: &str, join_time: &str, leave_time: &str) -> Segment {
        let at = |t: &str| chrono::DateTime::parse_from_rfc3339(t).expect("an RFC 3339 time");
        let duration = (at(leave_time) - at(join_time)).num_seconds().max(0) as u64;
        Segment {
            id: id.into(),
            // Zoom gives every join a new user id.
            user_id: NEXT_USER_ID.fetch_add(1, std::sync::atomic::Ordering::Relaxed).to_string(),
            name: name.into(),
            user_email: String::new(),
            participant_uuid: None,
            join_time: Some(join_time.into()),
            leave_time: Some(leave_time.into()),
            duration,
            failover: false,
            status: "in_meeting".into(),
            customer_key: String::new(),
            registrant_id: String::new(),
        }
    }
}

/// A meeting instance as Zoom recorded it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Instance {
    pub uuid: String,
    /// The meeting number.
    pub id: u64,
    pub host_email: String,
    pub start_time: String,
    /// None while the meeting runs: Zoom holds it in `past_meetings` only once it ended.
    pub end_time: Option<String>,
    pub segments: Vec<Segment>,
    /// How many of the segments the participant report has caught up with (None: all).
    pub reported: Option<usize>,
    /// Requests for the participants still to be answered 404, as before Zoom has the record.
    pub syncing: u32,
}

impl Instance {
    /// How many participants the segments are of (by id, else user id, and name).
    fn participant_count(&self, rows: &[Segment]) -> usize {
        let keys: std::collections::HashSet<(String, String)> = rows
            .iter()
            .map(|s| (if s.id.is_empty() { &s.user_id } else { &s.id }.clone(), s.name.clone()))
            .collect();
        keys.len()
    }
}

/// An answer given instead of doing a request.
#[derive(Clone, Copy, Debug)]
pub enum Fault {
    Status(StatusCode),
    /// A per-second limit: 429 with code 429 and no `Retry-After`.
    PerSecondLimit,
    /// A daily limit: 429 with `Retry-After` naming the next midnight UTC, when it resets.
    DailyLimit,
}

impl IntoResponse for Fault {
    fn into_response(self) -> Response {
        let limited = |kind: &str, message: &str| {
            let mut response = error(StatusCode::TOO_MANY_REQUESTS, 429, message).into_response();
            let headers = response.headers_mut();
            headers.insert("x-ratelimit-type", kind.parse().unwrap());
            headers.insert("x-ratelimit-category", "Light".parse().unwrap());
            response
        };
        match self {
            Fault::Status(status) => error(status, 0, "emulated failure").into_response(),
            Fault::PerSecondLimit => limited(
                "QPS",
                "You have reached the maximum per-second rate limit for this API. Try again later.",
            ),
            Fault::DailyLimit => {
                let mut response = limited(
                    "Daily-limit",
                    "You have exceeded the daily rate limit of 6000 for this API.",
                );
                let tomorrow = chrono::Utc::now().date_naive() + chrono::Days::new(1);
                let reset = format!("{}T00:00:00Z", tomorrow.format("%Y-%m-%d"));
                response.headers_mut().insert(header::RETRY_AFTER, reset.parse().unwrap());
                response
            }
        }
    }
}

#[derive(Default)]
pub struct ZoomState {
    pub calls: Vec<Call>,
    /// Answers to give the next authorised requests, instead of doing them.
    pub faults: VecDeque<Fault>,
    /// Meeting ids that were ended, in order.
    pub ended_meetings: Vec<String>,
    pub meetings: Vec<Meeting>,
    /// What Zoom recorded of meeting instances.
    pub instances: Vec<Instance>,
    next_id: u64,
}

impl ZoomState {
    /// An instance by its uuid as the path names it. Zoom's router decodes a path once before
    /// routing: a uuid that begins with `/` or contains `//` must arrive encoded twice, and
    /// one encoded once finds nothing.
    fn instance(&mut self, raw: &str) -> Result<&mut Instance, Rejection> {
        let missing =
            || error(StatusCode::NOT_FOUND, 3001, &format!("Meeting does not exist: {raw}."));
        if raw.starts_with('/') || raw.contains("//") {
            return Err(missing());
        }
        let uuid = percent_decoded(raw);
        self.instances.iter_mut().find(|i| i.uuid == uuid).ok_or_else(missing)
    }

    /// A recorded instance that has ended, or Zoom's 404 for a meeting not (yet) past.
    fn past(&mut self, raw: &str) -> Result<&mut Instance, Rejection> {
        let instance = self.instance(raw)?;
        if instance.end_time.is_none() {
            return Err(error(
                StatusCode::NOT_FOUND,
                3001,
                &format!("Meeting does not exist: {raw}."),
            ));
        }
        Ok(instance)
    }

    fn add_meeting(
        &mut self,
        host_email: String,
        topic: String,
        start_time: String,
        duration: u64,
        settings: Map<String, Value>,
    ) -> Meeting {
        let id = FIRST_MEETING_ID + self.next_id;
        self.next_id += 1;
        let meeting = Meeting {
            id,
            host_email,
            topic,
            kind: 2,
            start_time,
            duration,
            settings,
            join_url: format!("https://zoom.us/j/{id}?pwd=emulator"),
            start_url: format!("https://zoom.us/s/{id}?zak=emulator-host-key"),
            registrants: Vec::new(),
        };
        self.meetings.push(meeting.clone());
        meeting
    }

    fn meeting(&mut self, id: &str) -> Result<&mut Meeting, Rejection> {
        self.meetings.iter_mut().find(|m| m.id.to_string() == id).ok_or_else(|| {
            error(StatusCode::NOT_FOUND, 3001, &format!("Meeting does not exist: {id}."))
        })
    }
}

type Shared = Arc<Mutex<ZoomState>>;
type Answer = Result<Response, Rejection>;

/// A running emulator; stops when dropped.
pub struct ZoomEmulator {
    /// What to configure as `zoom.api_base`, e.g. `http://127.0.0.1:41234/v2`.
    pub base: String,
    state: Shared,
    server: JoinHandle<()>,
    /// Sign-in and consent for hosts who link themselves (`/link`).
    pub oauth: Provider,
}

impl Drop for ZoomEmulator {
    fn drop(&mut self) {
        self.server.abort();
    }
}

impl ZoomEmulator {
    pub async fn start() -> ZoomEmulator {
        let state = Shared::default();
        let oauth = Provider::new(Shape::Zoom);
        let api = Router::new()
            .route("/users/{user}/meetings", post(create_meeting))
            .route("/meetings/{id}", patch(update_meeting).delete(delete_meeting))
            .route("/meetings/{id}/status", put(meeting_status))
            .route("/meetings/{id}/registrants", post(add_registrant).get(list_registrants))
            .route("/meetings/{id}/registrants/status", put(registrant_status))
            .route("/past_meetings/{uuid}", get(past_meeting))
            .route("/past_meetings/{uuid}/participants", get(past_participants))
            .route("/report/meetings/{uuid}/participants", get(report_participants));
        let app = Router::new()
            .nest("/v2", api)
            .layer(middleware::from_fn_with_state(state.clone(), record_and_check))
            .with_state(state.clone())
            // Beside the REST API, outside its token check: the integration's own OAuth flow.
            .merge(oauth.routes());
        let (base, server) = super::serve(app, "/v2").await;
        ZoomEmulator { base, state, server, oauth }
    }

    pub fn state(&self) -> MutexGuard<'_, ZoomState> {
        self.state.lock().unwrap()
    }

    pub fn calls(&self) -> Vec<Call> {
        self.state().calls.clone()
    }

    /// How many requests with this method and path (e.g. `"/v2/meetings/1/registrants"`, still
    /// percent-encoded, without the query) were received.
    pub fn count(&self, method: Method, path: &str) -> usize {
        super::count(&self.state().calls, method, path)
    }

    pub fn meetings(&self) -> Vec<Meeting> {
        self.state().meetings.clone()
    }

    /// The registrants of a meeting, in the order they registered.
    pub fn registrants(&self, meeting_id: &str) -> Vec<Registrant> {
        let state = self.state();
        let meeting = state.meetings.iter().find(|m| m.id.to_string() == meeting_id);
        meeting.expect("known meeting").registrants.clone()
    }

    /// Adds a meeting as if the host had scheduled it in Zoom (tomorrow, an hour, without
    /// registration), and returns its id.
    pub fn create_meeting_directly(&self, topic: &str, host_email: &str) -> String {
        let start = chrono::Utc::now() + chrono::Duration::days(1);
        let start = start.format("%Y-%m-%dT%H:%M:%SZ").to_string();
        let meeting =
            self.state().add_meeting(host_email.into(), topic.into(), start, 60, Map::new());
        meeting.id.to_string()
    }

    /// The next `n` authorised requests get `status` instead of their answer.
    pub fn fail_next(&self, n: usize, status: StatusCode) {
        self.limit_next(n, Fault::Status(status));
    }

    /// The next `n` authorised requests get `fault` instead of their answer.
    pub fn limit_next(&self, n: usize, fault: Fault) {
        self.state().faults.extend(std::iter::repeat_n(fault, n));
    }

    /// Starts Zoom's record of instance `uuid` of a meeting, started at `start_time` and still
    /// running (not in `past_meetings` until [`ZoomEmulator::end_instance`]).
    pub fn record_instance(&self, uuid: &str, start_time: &str) {
        self.state().instances.push(Instance {
            uuid: uuid.into(),
            id: FIRST_MEETING_ID,
            host_email: "host@example.com".into(),
            start_time: start_time.into(),
            end_time: None,
            segments: Vec::new(),
            reported: None,
            syncing: 0,
        });
    }

    /// Adds a join segment to the record of instance `uuid`.
    pub fn record_segment(&self, uuid: &str, segment: Segment) {
        let mut state = self.state();
        let instance = state.instances.iter_mut().find(|i| i.uuid == uuid);
        instance.expect("a recorded instance").segments.push(segment);
    }

    /// The instance ended at `end_time`: it is a past meeting from now on.
    pub fn end_instance(&self, uuid: &str, end_time: &str) {
        let mut state = self.state();
        let instance = state.instances.iter_mut().find(|i| i.uuid == uuid);
        instance.expect("a recorded instance").end_time = Some(end_time.into());
    }

    /// The participant report lists only the first `rows` segments (it lags behind
    /// `past_meetings`).
    pub fn report_lags(&self, uuid: &str, rows: usize) {
        let mut state = self.state();
        let instance = state.instances.iter_mut().find(|i| i.uuid == uuid);
        instance.expect("a recorded instance").reported = Some(rows);
    }

    /// The next `requests` for the instance's participants (report or past meeting) are
    /// answered 404, code 3001.
    pub fn syncing(&self, uuid: &str, requests: u32) {
        let mut state = self.state();
        let instance = state.instances.iter_mut().find(|i| i.uuid == uuid);
        instance.expect("a recorded instance").syncing = requests;
    }
}

/// `text` with `%XX` escapes decoded (a second decoding, after axum's).
fn percent_decoded(text: &str) -> String {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let escape = (bytes[i] == b'%')
            .then(|| text.get(i + 1..i + 3))
            .flatten()
            .and_then(|hex| u8::from_str_radix(hex, 16).ok());
        match escape {
            Some(byte) => {
                out.push(byte);
                i += 3;
            }
            None => {
                out.push(bytes[i]);
                i += 1;
            }
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// An error answer, in Zoom's shape once it becomes a response.
pub struct Rejection {
    status: StatusCode,
    code: u32,
    message: String,
    /// The field a validation failure names.
    field: Option<String>,
}

impl IntoResponse for Rejection {
    fn into_response(self) -> Response {
        let mut body = json!({"code": self.code, "message": self.message});
        if let Some(field) = self.field {
            body["errors"] = json!([{"field": field, "message": "Invalid field."}]);
        }
        (self.status, axum::Json(body)).into_response()
    }
}

fn error(status: StatusCode, code: u32, message: &str) -> Rejection {
    Rejection { status, code, message: message.into(), field: None }
}

/// Zoom's validation failure, naming the field.
fn invalid(field: &str) -> Rejection {
    Rejection {
        status: StatusCode::BAD_REQUEST,
        code: 300,
        message: "Validation Failed.".into(),
        field: Some(field.into()),
    }
}

/// Records the request, then answers 401 without the token, or a queued fault.
async fn record_and_check(State(state): State<Shared>, request: Request, next: Next) -> Response {
    let (call, request) = Call::record(request).await;
    let fault = {
        let mut state = state.lock().unwrap();
        let authorised = call.authorization.as_deref() == Some(&format!("Bearer {TOKEN}"));
        state.calls.push(call);
        if !authorised {
            return error(StatusCode::UNAUTHORIZED, 124, "Invalid access token.").into_response();
        }
        state.faults.pop_front()
    };
    if let Some(fault) = fault {
        return fault.into_response();
    }
    next.run(request).await
}

fn object(body: &Bytes) -> Result<Map<String, Value>, Rejection> {
    match serde_json::from_slice(body) {
        Ok(Value::Object(map)) => Ok(map),
        _ => {
            Err(error(StatusCode::BAD_REQUEST, 300, "Request Body should be a valid JSON object."))
        }
    }
}

/// A non-empty string field, or a validation failure naming it.
fn required(body: &Map<String, Value>, key: &str) -> Result<String, Rejection> {
    match body.get(key) {
        Some(Value::String(s)) if !s.trim().is_empty() => Ok(s.clone()),
        _ => Err(invalid(key)),
    }
}

fn check_settings(settings: &Map<String, Value>) -> Result<(), Rejection> {
    match settings.get("approval_type") {
        None => Ok(()),
        Some(t) if t.as_u64().is_some_and(|t| t <= 2) => Ok(()),
        Some(_) => Err(invalid("settings.approval_type")),
    }
}

fn settings(body: &Map<String, Value>) -> Result<Map<String, Value>, Rejection> {
    let settings = match body.get("settings") {
        None => Map::new(),
        Some(Value::Object(settings)) => settings.clone(),
        Some(_) => return Err(invalid("settings")),
    };
    check_settings(&settings)?;
    Ok(settings)
}

/// `POST /users/{userId}/meetings`: a scheduled meeting (type 2) for a user named by e-mail
/// (201, the meeting).
async fn create_meeting(
    State(state): State<Shared>,
    Path(user): Path<String>,
    body: Bytes,
) -> Answer {
    if !user.contains('@') {
        return Err(error(StatusCode::NOT_FOUND, 1001, &format!("User does not exist: {user}.")));
    }
    let body = object(&body)?;
    if body.get("type").and_then(Value::as_u64) != Some(2) {
        return Err(invalid("type"));
    }
    let start_time = required(&body, "start_time")?;
    if chrono::NaiveDateTime::parse_from_str(&start_time, "%Y-%m-%dT%H:%M:%SZ").is_err() {
        return Err(invalid("start_time"));
    }
    let duration = body.get("duration").and_then(Value::as_u64).filter(|d| *d > 0);
    let duration = duration.ok_or_else(|| invalid("duration"))?;
    let topic = body.get("topic").and_then(Value::as_str).unwrap_or("Zoom Meeting").to_owned();
    let settings = settings(&body)?;
    let meeting = state.lock().unwrap().add_meeting(user, topic, start_time, duration, settings);
    Ok((StatusCode::CREATED, axum::Json(meeting)).into_response())
}

/// `PATCH /meetings/{meetingId}`: the topic and settings sent replace those held (204).
async fn update_meeting(
    State(state): State<Shared>,
    Path(id): Path<String>,
    body: Bytes,
) -> Answer {
    let body = object(&body)?;
    let settings = settings(&body)?;
    let mut state = state.lock().unwrap();
    let meeting = state.meeting(&id)?;
    if let Some(topic) = body.get("topic").and_then(Value::as_str) {
        meeting.topic = topic.to_owned();
    }
    meeting.settings.extend(settings);
    Ok(StatusCode::NO_CONTENT.into_response())
}

async fn delete_meeting(State(state): State<Shared>, Path(id): Path<String>) -> Answer {
    let mut state = state.lock().unwrap();
    state.meeting(&id)?;
    state.meetings.retain(|m| m.id.to_string() != id);
    Ok(StatusCode::NO_CONTENT.into_response())
}

/// `PUT /meetings/{meetingId}/status`: `end` ends the meeting (204); `recover` is Zoom's other
/// action, for deleted meetings, which tollbooth never sends. Any id is taken: webhooks name
/// meetings by instance uuids, which the emulator does not hold.
async fn meeting_status(
    State(state): State<Shared>,
    Path(id): Path<String>,
    body: Bytes,
) -> Response {
    let body: Option<Value> = serde_json::from_slice(&body).ok();
    match body.as_ref().and_then(|b| b["action"].as_str()) {
        Some("end") => {
            state.lock().unwrap().ended_meetings.push(id);
            StatusCode::NO_CONTENT.into_response()
        }
        Some("recover") => StatusCode::NO_CONTENT.into_response(),
        _ => error(StatusCode::BAD_REQUEST, 300, "Invalid action.").into_response(),
    }
}

/// `POST /meetings/{meetingId}/registrants` (201). An e-mail already registered gets its
/// existing registrant back, as Zoom does. `join_url` is only in the answer when the
/// registrant is approved at once (automatic approval, or `auto_approve`).
async fn add_registrant(
    State(state): State<Shared>,
    Path(id): Path<String>,
    body: Bytes,
) -> Answer {
    let body = object(&body)?;
    let email = required(&body, "email")?;
    if !email.contains('@') {
        return Err(invalid("email"));
    }
    let first_name = required(&body, "first_name")?;
    let last_name = body.get("last_name").and_then(Value::as_str).map(str::to_owned);
    let auto_approve = body.get("auto_approve").and_then(Value::as_bool).unwrap_or(false);
    let mut state = state.lock().unwrap();
    state.next_id += 1;
    let new_id = format!("emuRegistrant{:09}", state.next_id);
    let meeting = state.meeting(&id)?;
    meeting.check_registration()?;
    let index = match meeting.registrants.iter().position(|r| r.email.eq_ignore_ascii_case(&email))
    {
        Some(index) => index,
        None => {
            if meeting.registrants.len() >= MAX_REGISTRANTS {
                return Err(error(
                    StatusCode::BAD_REQUEST,
                    3043,
                    "Meeting has reached maximum attendee capacity.",
                ));
            }
            meeting.registrants.push(Registrant {
                id: new_id,
                email,
                first_name,
                last_name,
                status: "pending".into(),
                create_time: chrono::Utc::now().format("%Y-%m-%dT%H:%M:%SZ").to_string(),
                join_url: None,
            });
            let index = meeting.registrants.len() - 1;
            if auto_approve || meeting.approval_type() == 0 {
                meeting.approve(index);
            }
            index
        }
    };
    let registrant = &meeting.registrants[index];
    let mut answer = json!({
        "id": meeting.id,
        "registrant_id": registrant.id,
        "topic": meeting.topic,
        "start_time": meeting.start_time,
        "occurrences": [],
    });
    if let Some(join_url) = &registrant.join_url {
        answer["join_url"] = join_url.as_str().into();
    }
    Ok((StatusCode::CREATED, axum::Json(answer)).into_response())
}

#[derive(Deserialize)]
struct ListQuery {
    status: Option<String>,
    page_size: Option<usize>,
    next_page_token: Option<String>,
}

/// `GET /meetings/{meetingId}/registrants`: one page of the registrants with `status`
/// (`approved` when not given; `denied` includes cancelled ones). The page token is the
/// offset of the next page.
async fn list_registrants(
    State(state): State<Shared>,
    Path(id): Path<String>,
    Query(q): Query<ListQuery>,
) -> Answer {
    let status = q.status.as_deref().unwrap_or("approved");
    if !matches!(status, "pending" | "approved" | "denied") {
        return Err(invalid("status"));
    }
    let page_size = q.page_size.unwrap_or(30).clamp(1, 300);
    let offset = match q.next_page_token.as_deref().filter(|t| !t.is_empty()) {
        None => 0,
        Some(token) => token.parse().map_err(|_| invalid("next_page_token"))?,
    };
    let mut state = state.lock().unwrap();
    let meeting = state.meeting(&id)?;
    meeting.check_registration()?;
    let matching: Vec<&Registrant> = meeting
        .registrants
        .iter()
        .filter(|r| r.status == status || (status == "denied" && r.status == "cancelled"))
        .collect();
    let page: Vec<&&Registrant> = matching.iter().skip(offset).take(page_size).collect();
    let next = offset + page.len();
    let next_page_token = if next < matching.len() { next.to_string() } else { String::new() };
    Ok(axum::Json(json!({
        "page_size": page_size,
        "total_records": matching.len(),
        "next_page_token": next_page_token,
        "registrants": page,
    }))
    .into_response())
}

/// `GET /past_meetings/{uuid}`: an instance that has ended (404, code 3001, until then).
async fn past_meeting(State(state): State<Shared>, Path(uuid): Path<String>) -> Answer {
    let mut state = state.lock().unwrap();
    let instance = state.past(&uuid)?;
    let at = |t: &str| chrono::DateTime::parse_from_rfc3339(t).ok();
    let end_time = instance.end_time.clone().unwrap_or_default();
    let minutes = match (at(&instance.start_time), at(&end_time)) {
        (Some(start), Some(end)) => (end - start).num_minutes().max(0),
        _ => 0,
    };
    let participants = instance.participant_count(&instance.segments);
    Ok(axum::Json(json!({
        "uuid": instance.uuid,
        "id": instance.id,
        "host_id": "z8yAAAAA8bbbQ",
        "type": 2,
        "topic": "Recorded session",
        "user_name": "Host",
        "user_email": instance.host_email,
        "start_time": instance.start_time,
        "end_time": end_time,
        "duration": minutes,
        "participants_count": participants,
    }))
    .into_response())
}

#[derive(Deserialize)]
struct PageQuery {
    page_size: Option<usize>,
    next_page_token: Option<String>,
}

/// `GET /past_meetings/{uuid}/participants`: every segment of an ended instance.
async fn past_participants(
    State(state): State<Shared>,
    Path(uuid): Path<String>,
    Query(q): Query<PageQuery>,
) -> Answer {
    participants(&state, &uuid, q, false)
}

/// `GET /report/meetings/{uuid}/participants`: the segments the report has caught up with.
async fn report_participants(
    State(state): State<Shared>,
    Path(uuid): Path<String>,
    Query(q): Query<PageQuery>,
) -> Answer {
    participants(&state, &uuid, q, true)
}

/// One page of an ended instance's segments (30 a page unless asked, at most 300). Both
/// reports leave out a meeting with fewer than two participants, as Zoom documents. The page
/// token is the offset of the next page.
fn participants(state: &Shared, uuid: &str, q: PageQuery, report: bool) -> Answer {
    let page_size = q.page_size.unwrap_or(30);
    if !(1..=300).contains(&page_size) {
        return Err(invalid("page_size"));
    }
    let offset = match q.next_page_token.as_deref().filter(|t| !t.is_empty()) {
        None => 0,
        Some(token) => token.parse().map_err(|_| invalid("next_page_token"))?,
    };
    let mut state = state.lock().unwrap();
    let instance = state.past(uuid)?;
    if instance.syncing > 0 {
        instance.syncing -= 1;
        return Err(error(
            StatusCode::NOT_FOUND,
            3001,
            &format!("Meeting does not exist: {uuid}."),
        ));
    }
    let listed = match instance.reported {
        Some(rows) if report => &instance.segments[..rows.min(instance.segments.len())],
        _ => &instance.segments[..],
    };
    let listed = if instance.participant_count(listed) < 2 { &[][..] } else { listed };
    let page: Vec<&Segment> = listed.iter().skip(offset).take(page_size).collect();
    let next = offset + page.len();
    let next_page_token = if next < listed.len() { next.to_string() } else { String::new() };
    Ok(axum::Json(json!({
        "page_count": listed.len().div_ceil(page_size),
        "page_size": page_size,
        "total_records": listed.len(),
        "next_page_token": next_page_token,
        "participants": page,
    }))
    .into_response())
}

/// `PUT /meetings/{meetingId}/registrants/status`: `approve`, `cancel` (a cancelled
/// registrant's link stops working) or `deny` (204). Zoom does not document its answer to an
/// unknown registrant; the emulator refuses the whole request, naming it.
async fn registrant_status(
    State(state): State<Shared>,
    Path(id): Path<String>,
    body: Bytes,
) -> Answer {
    let body = object(&body)?;
    let status = match body.get("action").and_then(Value::as_str) {
        Some("approve") => "approved",
        Some("cancel") => "cancelled",
        Some("deny") => "denied",
        _ => return Err(invalid("action")),
    };
    let ids: Vec<&str> = match body.get("registrants") {
        Some(Value::Array(list)) if !list.is_empty() => {
            list.iter().map(|r| r["id"].as_str().unwrap_or("")).collect()
        }
        _ => return Err(invalid("registrants")),
    };
    let mut state = state.lock().unwrap();
    let meeting = state.meeting(&id)?;
    meeting.check_registration()?;
    let mut indices = Vec::new();
    for registrant_id in ids {
        let index = meeting.registrants.iter().position(|r| r.id == registrant_id);
        indices.push(index.ok_or_else(|| {
            error(
                StatusCode::BAD_REQUEST,
                300,
                &format!("Registrant does not exist: {registrant_id}."),
            )
        })?);
    }
    for index in indices {
        if status == "approved" {
            meeting.approve(index);
        } else {
            let registrant = &mut meeting.registrants[index];
            registrant.status = status.into();
            registrant.join_url = None;
        }
    }
    Ok(StatusCode::NO_CONTENT.into_response())
}
