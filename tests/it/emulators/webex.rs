//! The Webex REST API (`https://webexapis.com/v1`) as far as tollbooth uses it: webhooks
//! (list, get, create, update, delete), meetings (create, get, delete, end), their registration
//! form and registrants (register, query, approve, reject, cancel), what Webex recorded of a
//! meeting instance (`GET /meetingParticipants`, `GET /meetings/{id}`) and the site's usage
//! report (`GET /meetingReports/usage`), lists paged with `max` and `Link: <…>; rel="next"`,
//! with Webex's bearer-token check, validation and error JSON (`message`,
//! `errors[].description`, `trackingId`).
//! The token is a site administrator's: calls on another host's meeting must name that host
//! (`?hostEmail=`), or the meeting is not found.
//!
//! Every request is recorded (method, path, query, JSON body) before it is answered, so tests
//! can count exactly what was sent. Tests can also disable a hook as Webex does after failed
//! deliveries, slow the list of hooks down, seed meetings as if made in Webex's own UI, seed
//! what Webex recorded of a meeting instance (participants and their devices, the end, the
//! usage report's line), have that record answer 404 while Webex "syncs", and queue error
//! answers.

use std::collections::VecDeque;
use std::sync::{Arc, Mutex, MutexGuard};

use super::Call;
use super::oauth::{Provider, Shape};
use axum::Router;
use axum::body::Bytes;
use axum::extract::{Path, Query, Request, State};
use axum::http::HeaderMap;
use axum::http::{Method, StatusCode, header};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post, put};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use tokio::task::JoinHandle;

/// The integration's token, which the emulator accepts everywhere.
pub const TOKEN: &str = "emulator-token";
/// A bot's token, accepted for `POST /messages` only.
pub const BOT_TOKEN: &str = "emulator-bot-token";
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

/// A meeting, with the fields Webex returns that tollbooth's calls touch.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Meeting {
    /// 32 hex characters, as Webex's series ids.
    pub id: String,
    pub title: String,
    pub start: String,
    pub end: String,
    pub host_email: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub password: Option<String>,
    pub enabled_join_before_host: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub recurrence: Option<String>,
    pub web_link: String,
    /// The registration form exactly as last sent, while registration is on.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub registration: Option<Value>,
    #[serde(skip)]
    pub registrants: Vec<Registrant>,
}

/// A registrant, as Webex returns it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Registrant {
    pub id: String,
    /// `pending`, `approved`, `rejected` or `cancelled`.
    pub status: String,
    pub first_name: String,
    pub last_name: String,
    pub email: String,
    pub registration_time: String,
}

impl Meeting {
    /// The registration form, or Webex's 400 for a meeting without registration.
    fn form(&self) -> Result<&Value, Rejection> {
        self.registration.as_ref().ok_or_else(|| {
            bad_request(format!("Registration is not enabled for meeting {}.", self.id))
        })
    }

    /// Webex's preconditions for registration on a meeting.
    fn check_registrable(&self) -> Result<(), Rejection> {
        if self.password.as_deref().unwrap_or("").is_empty() {
            return Err(bad_request(
                "registration: a meeting without a password cannot use registration",
            ));
        }
        if self.enabled_join_before_host {
            return Err(bad_request(
                "registration: a meeting with enabledJoinBeforeHost cannot use registration",
            ));
        }
        if self.recurrence.is_some() {
            return Err(bad_request("registration: a recurring meeting cannot use registration"));
        }
        Ok(())
    }

    fn registrant(&mut self, id: &str) -> Result<&mut Registrant, Rejection> {
        self.registrants
            .iter_mut()
            .find(|r| r.id == id)
            .ok_or_else(|| not_found_named(format!("Registrant {id} not found.")))
    }
}

/// A device of a participant, as `GET /meetingParticipants` lists it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Device {
    /// One per join.
    pub correlation_id: String,
    /// `mac`, `windows`, `iphone`, … or `pstn` / `phone` for a telephone.
    pub device_type: String,
    /// `voip`, `pstn` or `inactive`.
    pub audio_type: String,
    /// Absent or `1970-01-01T00:00:00.000Z` while Webex has not filled it in.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub joined_time: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub left_time: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub duration_second: Option<u64>,
}

impl Device {
    /// A laptop on computer audio, from `joined` to `left`.
    pub fn computer(correlation_id: &str, joined: &str, left: &str) -> Device {
        Device::new(correlation_id, "mac", "voip", joined, left)
    }

    /// A telephone that dialled in, from `joined` to `left`.
    pub fn telephone(correlation_id: &str, joined: &str, left: &str) -> Device {
        Device::new(correlation_id, "pstn", "pstn", joined, left)
    }

    fn new(correlation_id: &str, kind: &str, audio: &str, joined: &str, left: &str) -> Device {
        let seconds = |at: &str| chrono::DateTime::parse_from_rfc3339(at).ok();
        let duration = match (seconds(joined), seconds(left)) {
            (Some(j), Some(l)) if l.timestamp() > 0 => Some((l - j).num_seconds().max(0) as u64),
            _ => None,
        };
        Device {
            correlation_id: correlation_id.into(),
            device_type: kind.into(),
            audio_type: audio.into(),
            joined_time: Some(joined.into()),
            left_time: Some(left.into()),
            duration_second: duration,
        }
    }
}

/// A participant of a meeting instance, as `GET /meetingParticipants` lists it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Participant {
    /// As given: Webex's begin with the instance id, which nothing here relies on.
    pub id: String,
    /// Filled in by [`WebexEmulator::record_participant`].
    pub meeting_id: String,
    pub host: bool,
    pub co_host: bool,
    pub email: String,
    pub display_name: String,
    pub invitee: bool,
    /// `lobby`, `joined`, `end` or `breakoutSession`.
    pub state: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub joined_time: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub left_time: Option<String>,
    pub devices: Vec<Device>,
}

impl Participant {
    /// A participant named by `person`, joined by `devices`; their own times span the
    /// devices' (the ones with a time).
    pub fn new(person: &str, devices: Vec<Device>) -> Participant {
        let times = |pick: fn(&Device) -> &Option<String>| -> Vec<String> {
            devices.iter().filter_map(|d| pick(d).clone()).collect()
        };
        Participant {
            id: person.into(),
            meeting_id: String::new(),
            host: false,
            co_host: false,
            email: format!("{person}@example.com"),
            display_name: person.into(),
            invitee: false,
            state: "end".into(),
            joined_time: times(|d| &d.joined_time).into_iter().min(),
            left_time: times(|d| &d.left_time).into_iter().max(),
            devices,
        }
    }
}

/// A meeting instance as Webex recorded it: what `GET /meetings/{id}` and
/// `GET /meetingParticipants?meetingId=` answer about it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Instance {
    /// `{series id}_I_{number}`.
    pub id: String,
    pub host_email: String,
    pub start: String,
    /// `inProgress` until [`WebexEmulator::end_instance`], then `ended`.
    pub state: String,
    pub end: Option<String>,
    pub participants: Vec<Participant>,
    /// Requests for the participants still to be answered 404, as while Webex syncs its
    /// REST resources with what webhooks already told.
    pub syncing: u32,
}

impl Instance {
    /// `GET /meetings/{id}` of an instance.
    fn json(&self) -> Value {
        let mut meeting = json!({
            "id": self.id,
            "meetingSeriesId": self.id.split("_I_").next().unwrap_or(&self.id),
            "meetingType": "meeting",
            "title": "Recorded session",
            "state": self.state,
            "start": self.start,
            "hostEmail": self.host_email,
        });
        if let Some(end) = &self.end {
            meeting["end"] = end.as_str().into();
        }
        meeting
    }
}

/// The only site the emulator reports on.
pub const SITE_URL: &str = "emulator.webex.com";

/// A meeting's line in the site's usage report, field by field as Webex returns it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct UsageReport {
    pub meeting_id: String,
    pub meeting_number: String,
    pub meeting_title: String,
    pub start: String,
    pub end: String,
    pub duration: u64,
    pub scheduled_type: String,
    pub host_display_name: String,
    pub host_email: String,
    pub total_people_minutes: u64,
    pub total_call_in_minutes: u64,
    pub total_call_out_domestic: u64,
    pub total_call_in_toll_free_minutes: u64,
    pub total_call_out_international: u64,
    pub total_voip_minutes: u64,
    pub total_participants: u64,
    pub total_participants_voip: u64,
    pub total_participants_call_in: u64,
    pub total_participants_call_out: u64,
    pub peak_attendee: u64,
    pub total_registered: u64,
    pub total_invitee: u64,
    /// `MeetingCenter`, `EventCenter`, `SupportCenter` or `TrainingCenter`.
    pub service_type: String,
    pub tracking_codes: Vec<TrackingCode>,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct TrackingCode {
    pub name: String,
    pub value: String,
}

impl UsageReport {
    /// A Training Center session of an hour from `start`, hosted by `host_email`, every
    /// total 0.
    pub fn training(meeting_id: &str, start: &str, host_email: &str) -> UsageReport {
        let start_at = chrono::DateTime::parse_from_rfc3339(start).expect("an RFC 3339 start");
        UsageReport {
            meeting_id: meeting_id.into(),
            meeting_number: "2552117799".into(),
            meeting_title: "Recorded session".into(),
            start: start.into(),
            end: (start_at + chrono::Duration::hours(1)).to_rfc3339(),
            duration: 60,
            scheduled_type: "meeting".into(),
            host_display_name: "Host".into(),
            host_email: host_email.into(),
            total_people_minutes: 0,
            total_call_in_minutes: 0,
            total_call_out_domestic: 0,
            total_call_in_toll_free_minutes: 0,
            total_call_out_international: 0,
            total_voip_minutes: 0,
            total_participants: 0,
            total_participants_voip: 0,
            total_participants_call_in: 0,
            total_participants_call_out: 0,
            peak_attendee: 0,
            total_registered: 0,
            total_invitee: 0,
            service_type: "TrainingCenter".into(),
            tracking_codes: Vec::new(),
        }
    }
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
    /// Direct messages the bot sent (`POST /messages`), as Webex returned them.
    pub messages: Vec<Value>,
    pub meetings: Vec<Meeting>,
    /// What Webex recorded of meeting instances.
    pub instances: Vec<Instance>,
    /// The usage report of [`SITE_URL`].
    pub usage: Vec<UsageReport>,
    /// How long `GET /webhooks` takes to answer, so that two instances' checks overlap.
    pub list_delay: std::time::Duration,
    /// How long `GET /meetingParticipants` takes to answer, so that a server can be stopped
    /// while it waits.
    pub records_delay: std::time::Duration,
    next_id: u64,
}

type Shared = Arc<Mutex<WebexState>>;

/// A running emulator; stops when dropped.
pub struct WebexEmulator {
    /// What to configure as `webex.api_base`, e.g. `http://127.0.0.1:41234/v1`.
    pub base: String,
    state: Shared,
    server: JoinHandle<()>,
    /// Sign-in and consent for hosts who link themselves (`/link`).
    pub oauth: Provider,
}

impl Drop for WebexEmulator {
    fn drop(&mut self) {
        self.server.abort();
    }
}

impl WebexEmulator {
    pub async fn start() -> WebexEmulator {
        let state = Shared::default();
        let oauth = Provider::new(Shape::Webex);
        let api = Router::new()
            .route("/webhooks", get(list_hooks).post(create_hook))
            .route("/webhooks/{id}", get(get_hook).put(update_hook).delete(delete_hook))
            .route("/meetings", post(create_meeting))
            .route("/meetings/{id}", get(get_meeting).delete(delete_meeting))
            .route("/meetings/{id}/end", post(end_meeting))
            .route("/meetings/{id}/registration", put(set_registration))
            .route("/meetings/{id}/registrants", post(register))
            .route("/meetings/{id}/registrants/query", post(query_registrants))
            .route("/meetings/{id}/registrants/{action}", post(registrants_action))
            .route("/meetingParticipants", get(list_participants))
            .route("/meetingReports/usage", get(usage_report))
            .route("/messages", post(create_message))
            .fallback(|| async { not_found() });
        let app = Router::new()
            .nest("/v1", api)
            .layer(middleware::from_fn_with_state(state.clone(), record_and_check))
            .with_state(state.clone())
            // Beside the REST API, outside its token check: the integration's own OAuth flow.
            .merge(oauth.routes());
        let (base, server) = super::serve(app, "/v1").await;
        WebexEmulator { base, state, server, oauth }
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
        super::count(&self.state().calls, method, path)
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

    pub fn meetings(&self) -> Vec<Meeting> {
        self.state().meetings.clone()
    }

    /// The registrants of a meeting, in the order they registered.
    pub fn registrants(&self, meeting_id: &str) -> Vec<Registrant> {
        let state = self.state();
        let meeting = state.meetings.iter().find(|m| m.id == meeting_id).expect("known meeting");
        meeting.registrants.clone()
    }

    /// Adds a meeting as if the host had scheduled it in Webex (tomorrow, one hour, with a
    /// password and no registration), and returns its id.
    pub fn create_meeting_directly(&self, title: &str, host_email: &str) -> String {
        let start = chrono::Utc::now() + chrono::Duration::days(1);
        let mut state = self.state();
        let id = state.new_meeting_id();
        state.meetings.push(Meeting {
            web_link: web_link(&id),
            id: id.clone(),
            title: title.into(),
            start: start.to_rfc3339(),
            end: (start + chrono::Duration::hours(1)).to_rfc3339(),
            host_email: host_email.into(),
            password: Some("Seeded1Pass".into()),
            enabled_join_before_host: false,
            recurrence: None,
            registration: None,
            registrants: Vec::new(),
        });
        id
    }

    /// The next authorised request gets this error instead of its answer.
    pub fn fail_next(&self, fault: Fault) {
        self.state().faults.push_back(fault);
    }

    /// Starts Webex's record of the meeting instance `id` (`{series}_I_{number}`), hosted by
    /// `host_email`, in progress since `start`, with no participants yet.
    pub fn record_instance(&self, id: &str, host_email: &str, start: &str) {
        self.state().instances.push(Instance {
            id: id.into(),
            host_email: host_email.into(),
            start: start.into(),
            state: "inProgress".into(),
            end: None,
            participants: Vec::new(),
            syncing: 0,
        });
    }

    /// Adds a participant to the record of instance `id`.
    pub fn record_participant(&self, id: &str, mut participant: Participant) {
        let mut state = self.state();
        let instance = state.instance(id).expect("a recorded instance");
        participant.meeting_id = id.into();
        instance.participants.push(participant);
    }

    /// The instance ended at `end`, as Webex records it.
    pub fn end_instance(&self, id: &str, end: &str) {
        let mut state = self.state();
        let instance = state.instance(id).expect("a recorded instance");
        instance.state = "ended".into();
        instance.end = Some(end.into());
    }

    /// Participant records are answered only after `by`.
    pub fn slow_records(&self, by: std::time::Duration) {
        self.state().records_delay = by;
    }

    /// The next `requests` for the instance's participants are answered 404, as while Webex
    /// syncs its REST resources (up to ten minutes after a webhook).
    pub fn syncing(&self, id: &str, requests: u32) {
        self.state().instance(id).expect("a recorded instance").syncing = requests;
    }

    /// Adds a meeting's line to the usage report of [`SITE_URL`].
    pub fn report_usage(&self, line: UsageReport) {
        self.state().usage.push(line);
    }
}

impl WebexState {
    fn new_id(&mut self) -> String {
        self.next_id += 1;
        // Webex ids are base64 of a `ciscospark://us/WEBHOOK/<uuid>` URI; the shape, not the
        // content, is what clients see.
        format!("Y2lzY29zcGFyazovL3VzL1dFQkhPT0svZW11bGF0b3It{:08}", self.next_id)
    }

    fn new_meeting_id(&mut self) -> String {
        self.next_id += 1;
        format!(
            "{:032x}",
            0x870f_51ff_287b_41be_8464_8412_0000_0000_u128 + u128::from(self.next_id)
        )
    }

    fn instance(&mut self, id: &str) -> Result<&mut Instance, Rejection> {
        self.instances
            .iter_mut()
            .find(|i| i.id == id)
            .ok_or_else(|| not_found_named(format!("Meeting {id} not found.")))
    }

    /// An instance as the token sees it: like [`WebexState::hosted_meeting`].
    fn hosted_instance(
        &mut self,
        id: &str,
        host_email: Option<&str>,
    ) -> Result<&mut Instance, Rejection> {
        let instance = self.instance(id)?;
        if !host_email.unwrap_or(OWNER).eq_ignore_ascii_case(&instance.host_email) {
            return Err(not_found_named(format!("Meeting {id} not found.")));
        }
        Ok(instance)
    }

    fn meeting(&mut self, id: &str) -> Result<&mut Meeting, Rejection> {
        self.meetings
            .iter_mut()
            .find(|m| m.id == id)
            .ok_or_else(|| not_found_named(format!("Meeting {id} not found.")))
    }

    /// A meeting as the token sees it. The token is a site administrator's ([`OWNER`]): it
    /// reaches another host's meeting only by naming that host in `hostEmail`; otherwise
    /// Webex answers as if the meeting did not exist.
    fn hosted_meeting(
        &mut self,
        id: &str,
        on_behalf: &OnBehalf,
    ) -> Result<&mut Meeting, Rejection> {
        let meeting = self.meeting(id)?;
        let acting_for = on_behalf.host_email.as_deref().unwrap_or(OWNER);
        if !acting_for.eq_ignore_ascii_case(&meeting.host_email) {
            return Err(not_found_named(format!("Meeting {id} not found.")));
        }
        Ok(meeting)
    }
}

/// The user the emulator's token belongs to: a site administrator, host of the meetings made
/// without a `hostEmail`.
pub const OWNER: &str = "owner@example.com";

/// `?hostEmail=`: the host an administrator's token acts for.
#[derive(Deserialize)]
struct OnBehalf {
    #[serde(rename = "hostEmail")]
    host_email: Option<String>,
}

fn web_link(meeting_id: &str) -> String {
    format!("https://emulator.webex.com/emulator/j.php?MTID=m{meeting_id}")
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
#[derive(Debug)]
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
    not_found_named("The requested resource could not be found.".into())
}

fn not_found_named(message: String) -> Rejection {
    Rejection(StatusCode::NOT_FOUND, message)
}

/// Records the request, then answers 401 without the token, or a queued fault.
async fn record_and_check(State(state): State<Shared>, request: Request, next: Next) -> Response {
    let (call, request) = Call::record(request).await;
    let fault = {
        let mut state = state.lock().unwrap();
        let bot = call.method == Method::POST && call.path == "/v1/messages";
        let token = |t: &str| call.authorization.as_deref() == Some(&format!("Bearer {t}"));
        let authorised = token(TOKEN) || (bot && token(BOT_TOKEN));
        state.calls.push(call);
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
    next.run(request).await
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
    let delay = state.lock().unwrap().list_delay;
    tokio::time::sleep(delay).await;
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

/// `POST /messages`: a direct message to `toPersonEmail` (the only way tollbooth addresses
/// one), with `markdown` or `text`; answered with the message object.
async fn create_message(State(state): State<Shared>, body: Bytes) -> Result<Response, Rejection> {
    let body = object(&body)?;
    let to = body.get("toPersonEmail").and_then(Value::as_str).filter(|e| e.contains('@'));
    let to =
        to.ok_or_else(|| bad_request("toPersonEmail: a person's e-mail address is required"))?;
    let (text, markdown) = (body.get("text"), body.get("markdown"));
    if text.or(markdown).and_then(Value::as_str).is_none_or(str::is_empty) {
        return Err(bad_request("text or markdown is required"));
    }
    let mut state = state.lock().unwrap();
    let id = state.new_id();
    let mut message = json!({
        "id": id, "roomId": format!("room-{to}"), "roomType": "direct",
        "toPersonEmail": to, "personEmail": "tollbooth@webex.bot",
        "created": "2026-11-25T10:00:00.000Z",
    });
    for (field, value) in [("text", text), ("markdown", markdown)] {
        if let Some(value) = value {
            message[field] = value.clone();
        }
    }
    state.messages.push(message.clone());
    Ok(axum::Json(message).into_response())
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

/// A boolean field: `Ok(None)` when absent, an error when present but not a boolean.
fn flag(body: &serde_json::Map<String, Value>, key: &str) -> Result<Option<bool>, Rejection> {
    match body.get(key) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::Bool(b)) => Ok(Some(*b)),
        Some(_) => Err(bad_request(format!("{key}: must be true or false"))),
    }
}

/// A date-time field, as sent and as read.
fn date(
    body: &serde_json::Map<String, Value>,
    key: &str,
) -> Result<(String, chrono::DateTime<chrono::FixedOffset>), Rejection> {
    let value = required(body, key)?;
    let at = chrono::DateTime::parse_from_rfc3339(&value)
        .map_err(|_| bad_request(format!("{key}: `{value}` is not an ISO 8601 date-time")))?;
    Ok((value, at))
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

/// Records the meeting as ended (and a recorded instance as ended now); the optional body is
/// `{"reason": "..."}`.
async fn end_meeting(State(state): State<Shared>, Path(id): Path<String>) -> StatusCode {
    let mut state = state.lock().unwrap();
    if let Ok(instance) = state.instance(&id) {
        instance.state = "ended".into();
        instance.end = Some(now());
    }
    state.ended_meetings.push(id);
    StatusCode::NO_CONTENT
}

/// `GET /meetings/{id}`: a recorded instance (with its `state` and `end`), or a scheduled
/// meeting (state `active`, as Webex gives a series).
async fn get_meeting(
    State(state): State<Shared>,
    Path(id): Path<String>,
    Query(on_behalf): Query<OnBehalf>,
) -> Result<Response, Rejection> {
    let mut state = state.lock().unwrap();
    if state.instances.iter().any(|i| i.id == id) {
        let instance = state.hosted_instance(&id, on_behalf.host_email.as_deref())?;
        return Ok(axum::Json(instance.json()).into_response());
    }
    let meeting = state.hosted_meeting(&id, &on_behalf)?;
    let mut answer = serde_json::to_value(&*meeting).expect("a meeting serialises");
    answer["state"] = "active".into();
    Ok(axum::Json(answer).into_response())
}

/// The page size asked for: `default` when absent, refused outside 1..=`most`.
fn page_size(max: Option<&str>, default: usize, most: usize) -> Result<usize, Rejection> {
    match max.map(str::parse::<usize>) {
        None => Ok(default),
        Some(Ok(max)) if (1..=most).contains(&max) => Ok(max),
        _ => Err(bad_request(format!("max: must be an integer between 1 and {most}"))),
    }
}

/// The offset a `cursor` stands for (the emulator's cursors are offsets, opaque to clients).
fn cursor_offset(cursor: Option<&str>) -> Result<usize, Rejection> {
    match cursor {
        None => Ok(0),
        Some(cursor) => cursor
            .strip_prefix("offset-")
            .and_then(|n| n.parse().ok())
            .ok_or_else(|| bad_request("cursor: is not a cursor this server handed out")),
    }
}

/// `items[offset..offset + max]`, with a `Link: <…>; rel="next"` to the rest when there is
/// more: the request's own URL (`headers`' host, `path`, `query`) with `cursor` moved on.
fn page<T: Serialize>(
    items: &[T],
    offset: usize,
    max: usize,
    (headers, path, query): (&HeaderMap, &str, &[(String, String)]),
) -> Response {
    let shown: Vec<&T> = items.iter().skip(offset).take(max).collect();
    let next = offset + shown.len();
    let mut response = axum::Json(json!({ "items": shown })).into_response();
    if next < items.len() {
        let host = headers.get(header::HOST).and_then(|h| h.to_str().ok()).unwrap_or("localhost");
        let mut url = url::Url::parse(&format!("http://{host}{path}")).expect("a URL");
        url.query_pairs_mut()
            .extend_pairs(query.iter().filter(|(k, _)| k != "cursor"))
            .append_pair("cursor", &format!("offset-{next}"));
        let link = format!("<{url}>; rel=\"next\"");
        response.headers_mut().insert(header::LINK, link.parse().expect("a header value"));
    }
    response
}

/// A query parameter by name.
fn param<'a>(query: &'a [(String, String)], name: &str) -> Option<&'a str> {
    query.iter().find(|(k, _)| k == name).map(|(_, v)| v.as_str())
}

/// `GET /meetingParticipants?meetingId=…&max=…&hostEmail=…`: the instance's participants,
/// at most 100 a page; 404 while the record syncs.
async fn list_participants(
    State(state): State<Shared>,
    Query(query): Query<Vec<(String, String)>>,
    headers: HeaderMap,
) -> Result<Response, Rejection> {
    let meeting_id = param(&query, "meetingId").filter(|m| !m.is_empty());
    let meeting_id = meeting_id.ok_or_else(|| bad_request("meetingId: may not be empty"))?;
    let max = page_size(param(&query, "max"), 10, 100)?;
    let offset = cursor_offset(param(&query, "cursor"))?;
    let delay = state.lock().unwrap().records_delay;
    tokio::time::sleep(delay).await;
    let mut state = state.lock().unwrap();
    let instance = state.hosted_instance(meeting_id, param(&query, "hostEmail"))?;
    if instance.syncing > 0 {
        instance.syncing -= 1;
        return Err(not_found());
    }
    let participants = &instance.participants;
    Ok(page(participants, offset, max, (&headers, "/v1/meetingParticipants", &query)))
}

/// `GET /meetingReports/usage?siteUrl=…&serviceType=…&from=…&to=…&max=…`: the site's lines of
/// that service whose meeting started in [from, to), latest first, at most 1,000 a page.
/// `from` may be at most 90 days ago and the window at most 30 days, as Webex documents.
async fn usage_report(
    State(state): State<Shared>,
    Query(query): Query<Vec<(String, String)>>,
    headers: HeaderMap,
) -> Result<Response, Rejection> {
    let site = param(&query, "siteUrl").filter(|s| !s.is_empty());
    let site = site.ok_or_else(|| bad_request("siteUrl: may not be empty"))?;
    if !site.eq_ignore_ascii_case(SITE_URL) {
        return Err(bad_request(format!("siteUrl: {site} is not a site of this organization")));
    }
    let service = param(&query, "serviceType").unwrap_or("MeetingCenter");
    if !matches!(service, "MeetingCenter" | "EventCenter" | "SupportCenter" | "TrainingCenter") {
        return Err(bad_request(format!("serviceType: unknown service type '{service}'")));
    }
    let time = |name: &str, default: chrono::DateTime<chrono::Utc>| match param(&query, name) {
        None => Ok(default),
        Some(text) => chrono::DateTime::parse_from_rfc3339(text)
            .map(|t| t.to_utc())
            .map_err(|_| bad_request(format!("{name}: `{text}` is not an ISO 8601 date-time"))),
    };
    let to = time("to", chrono::Utc::now())?;
    let from = time("from", to - chrono::Duration::days(7))?;
    if from >= to || to - from > chrono::Duration::days(30) {
        return Err(bad_request("from, to: the interval must be positive and at most 30 days"));
    }
    if from < chrono::Utc::now() - chrono::Duration::days(90) {
        return Err(bad_request("from: may be at most 90 days ago"));
    }
    let max = page_size(param(&query, "max"), 10, 1000)?;
    let offset = cursor_offset(param(&query, "cursor"))?;
    let state = state.lock().unwrap();
    let started = |line: &UsageReport| chrono::DateTime::parse_from_rfc3339(&line.start).ok();
    let mut lines: Vec<&UsageReport> = state
        .usage
        .iter()
        .filter(|line| line.service_type == service)
        .filter(|line| started(line).is_some_and(|s| s >= from && s < to))
        .collect();
    lines.sort_by_key(|line| std::cmp::Reverse(started(line)));
    Ok(page(&lines, offset, max, (&headers, "/v1/meetingReports/usage", &query)))
}

/// `POST /meetings`: a one-off or recurring meeting, with registration when the body carries a
/// `registration` form.
async fn create_meeting(State(state): State<Shared>, body: Bytes) -> Result<Response, Rejection> {
    let body = object(&body)?;
    let title = required(&body, "title")?;
    let (start, start_at) = date(&body, "start")?;
    let (end, end_at) = date(&body, "end")?;
    if end_at <= start_at {
        return Err(bad_request("end: must be after start"));
    }
    let mut state = state.lock().unwrap();
    let id = state.new_meeting_id();
    let meeting = Meeting {
        web_link: web_link(&id),
        id,
        title,
        start,
        end,
        host_email: text(&body, "hostEmail")?.unwrap_or_else(|| OWNER.into()),
        password: text(&body, "password")?,
        enabled_join_before_host: flag(&body, "enabledJoinBeforeHost")?.unwrap_or(false),
        recurrence: text(&body, "recurrence")?,
        registration: body.get("registration").cloned(),
        registrants: Vec::new(),
    };
    if let Some(form) = &meeting.registration {
        check_form(form)?;
        meeting.check_registrable()?;
    }
    state.meetings.push(meeting.clone());
    Ok(axum::Json(meeting).into_response())
}

/// A registration form as Webex validates it: the name and e-mail fields cannot be turned off.
fn check_form(form: &Value) -> Result<(), Rejection> {
    let Value::Object(form) = form else {
        return Err(bad_request("registration: must be an object"));
    };
    for key in ["requireFirstName", "requireLastName", "requireEmail"] {
        if flag(form, key)? == Some(false) {
            return Err(bad_request(format!("registration.{key}: must be true")));
        }
    }
    flag(form, "autoAcceptRequest")?;
    match form.get("maxRegisterNum") {
        None | Some(Value::Null) => Ok(()),
        Some(n) if n.as_u64().is_some_and(|n| n > 0) => Ok(()),
        Some(_) => Err(bad_request("registration.maxRegisterNum: must be a positive integer")),
    }
}

async fn delete_meeting(
    State(state): State<Shared>,
    Path(id): Path<String>,
    Query(on_behalf): Query<OnBehalf>,
) -> Result<StatusCode, Rejection> {
    let mut state = state.lock().unwrap();
    state.hosted_meeting(&id, &on_behalf)?;
    state.meetings.retain(|m| m.id != id);
    Ok(StatusCode::NO_CONTENT)
}

/// `PUT /meetings/{id}/registration`: turns registration on with this form (200, the form).
async fn set_registration(
    State(state): State<Shared>,
    Path(id): Path<String>,
    Query(on_behalf): Query<OnBehalf>,
    body: Bytes,
) -> Result<Response, Rejection> {
    let form = Value::Object(object(&body)?);
    check_form(&form)?;
    let mut state = state.lock().unwrap();
    let meeting = state.hosted_meeting(&id, &on_behalf)?;
    meeting.check_registrable()?;
    meeting.registration = Some(form.clone());
    Ok(axum::Json(form).into_response())
}

/// `POST /meetings/{id}/registrants`: a new registrant, pending unless the form accepts
/// everyone; refused once `maxRegisterNum` registrants hold a place.
async fn register(
    State(state): State<Shared>,
    Path(id): Path<String>,
    Query(on_behalf): Query<OnBehalf>,
    body: Bytes,
) -> Result<Response, Rejection> {
    let body = object(&body)?;
    let first_name = required(&body, "firstName")?;
    let last_name = required(&body, "lastName")?;
    let email = required(&body, "email")?;
    flag(&body, "sendEmail")?;
    let mut state = state.lock().unwrap();
    state.next_id += 1;
    let registrant_id = format!("fbd83190-97b2-4bb0-b56b-{:012x}", state.next_id);
    let meeting = state.hosted_meeting(&id, &on_behalf)?;
    let form = meeting.form()?;
    let auto_accept = form["autoAcceptRequest"].as_bool().unwrap_or(false);
    let holding = meeting.registrants.iter().filter(|r| holds_place(r)).count() as u64;
    if form["maxRegisterNum"].as_u64().is_some_and(|max| holding >= max) {
        return Err(bad_request(format!(
            "maxRegisterNum: meeting {id} already has its maximum of {holding} registrants"
        )));
    }
    if meeting.registrants.iter().any(|r| r.email.eq_ignore_ascii_case(&email)) {
        return Err(bad_request(format!("email: {email} is already registered for meeting {id}")));
    }
    let registrant = Registrant {
        id: registrant_id,
        status: if auto_accept { "approved" } else { "pending" }.into(),
        first_name,
        last_name,
        email,
        registration_time: now(),
    };
    meeting.registrants.push(registrant.clone());
    Ok(axum::Json(registrant).into_response())
}

/// Whether a registrant counts against `maxRegisterNum`.
fn holds_place(registrant: &Registrant) -> bool {
    matches!(registrant.status.as_str(), "pending" | "approved")
}

/// `POST /meetings/{id}/registrants/query`: the registrants with these e-mails.
async fn query_registrants(
    State(state): State<Shared>,
    Path(id): Path<String>,
    Query(on_behalf): Query<OnBehalf>,
    body: Bytes,
) -> Result<Response, Rejection> {
    let body = object(&body)?;
    let emails: Vec<&str> = match body.get("emails") {
        Some(Value::Array(emails)) if !emails.is_empty() => {
            emails.iter().filter_map(Value::as_str).collect()
        }
        _ => return Err(bad_request("emails: may not be empty")),
    };
    let mut state = state.lock().unwrap();
    let meeting = state.hosted_meeting(&id, &on_behalf)?;
    meeting.form()?;
    let items: Vec<&Registrant> = meeting
        .registrants
        .iter()
        .filter(|r| emails.iter().any(|e| e.eq_ignore_ascii_case(&r.email)))
        .collect();
    Ok(axum::Json(json!({ "items": items })).into_response())
}

/// `POST /meetings/{id}/registrants/{approve|reject|cancel}` (204).
async fn registrants_action(
    State(state): State<Shared>,
    Path((id, action)): Path<(String, String)>,
    Query(on_behalf): Query<OnBehalf>,
    body: Bytes,
) -> Result<StatusCode, Rejection> {
    let status = match action.as_str() {
        "approve" => "approved",
        "reject" => "rejected",
        "cancel" => "cancelled",
        _ => return Err(not_found()),
    };
    let body = object(&body)?;
    flag(&body, "sendEmail")?;
    let ids: Vec<&str> = match body.get("registrants") {
        Some(Value::Array(list)) if !list.is_empty() => {
            list.iter().map(|r| r["id"].as_str().unwrap_or("")).collect()
        }
        _ => return Err(bad_request("registrants: may not be empty")),
    };
    let mut state = state.lock().unwrap();
    let meeting = state.hosted_meeting(&id, &on_behalf)?;
    meeting.form()?;
    // All or nothing, as one unknown id fails the whole request.
    for registrant_id in &ids {
        meeting.registrant(registrant_id)?;
    }
    for registrant_id in ids {
        meeting.registrant(registrant_id)?.status = status.into();
    }
    Ok(StatusCode::NO_CONTENT)
}
