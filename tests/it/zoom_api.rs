//! The Zoom REST client against the Zoom emulator over real HTTP.

use crate::common::control;
use crate::emulators;

use axum::http::{Method, StatusCode};
use secrecy::SecretString;
use serde_json::{Value, json};
use tollbooth_core::platform::MeetingControl;
use tollbooth_core::platform::control::{ControlError, Registration};
use tollbooth_core::platform::records::MeetingStanding;
use tollbooth_core::platform::zoom_api::{ZoomApi, ZoomError};

use control::{HOST, attendee, hosted, session};
use emulators::zoom::{Fault, MAX_REGISTRANTS, Segment, TOKEN, ZoomEmulator};

fn api(zoom: &ZoomEmulator) -> ZoomApi {
    ZoomApi::new(zoom.base.parse().unwrap(), SecretString::from(TOKEN)).unwrap()
}

/// The body of the only request sent to `path` with `method`.
fn body_of(zoom: &ZoomEmulator, method: Method, path: &str) -> Value {
    let calls: Vec<_> =
        zoom.calls().into_iter().filter(|c| c.method == method && c.path == path).collect();
    assert_eq!(calls.len(), 1, "{method} {path}: {calls:?}");
    calls[0].body.clone().expect("a JSON body")
}

/// Zoom's status, code and message, from an error that must be Zoom's answer.
fn api_error(err: ZoomError) -> (StatusCode, Option<u32>, String) {
    match err {
        ZoomError::Api { status, code, message, .. } => (status, code, message),
        other => panic!("expected Zoom's answer, got {other:?}"),
    }
}

/// A meeting scheduled through the API with registration, and its id.
async fn registration_meeting(zoom: &ZoomEmulator) -> String {
    let request = session(Some(Registration { capacity: Some(10) }));
    api(zoom).schedule_meeting(&request).await.unwrap().meeting_id
}

#[tokio::test]
async fn schedule_meeting_sends_the_documented_fields_and_returns_both_links() {
    let zoom = ZoomEmulator::start().await;
    let api = api(&zoom);
    let path = format!("/v2/users/{HOST}/meetings");
    let expected = |approval_type: u8| {
        json!({
            "topic": "Pricing 101",
            "type": 2,
            "start_time": "2026-12-01T15:00:00Z",
            "duration": 90,
            "settings": {
                "join_before_host": false,
                "waiting_room": false,
                "approval_type": approval_type,
                "registrants_email_notification": true,
            },
        })
    };
    let scheduled =
        api.schedule_meeting(&session(Some(Registration { capacity: Some(10) }))).await.unwrap();
    assert_eq!(body_of(&zoom, Method::POST, &path), expected(1), "no capacity: Zoom has none");
    let held = &zoom.meetings()[0];
    assert_eq!(scheduled.meeting_id, held.id.to_string());
    assert!(scheduled.meeting_id.chars().all(|c| c.is_ascii_digit()), "{scheduled:?}");
    assert_eq!((&scheduled.join_url, &scheduled.start_url), (&held.join_url, &held.start_url));
    assert_ne!(scheduled.join_url, scheduled.start_url);

    zoom.state().calls.clear();
    api.schedule_meeting(&session(None)).await.unwrap();
    assert_eq!(body_of(&zoom, Method::POST, &path), expected(2));
}

#[tokio::test]
async fn require_registration_sets_manual_approval_on_a_meeting_made_in_zoom() {
    let zoom = ZoomEmulator::start().await;
    let id = zoom.create_meeting_directly("Office hours", HOST);
    assert_eq!(zoom.meetings()[0].approval_type(), 2);
    api(&zoom)
        .require_registration(hosted(&id), &Registration { capacity: Some(5) })
        .await
        .unwrap();
    assert_eq!(
        body_of(&zoom, Method::PATCH, &format!("/v2/meetings/{id}")),
        json!({"settings": {"approval_type": 1}})
    );
    assert_eq!(zoom.meetings()[0].approval_type(), 1);
}

#[tokio::test]
async fn admit_registers_approves_once_and_returns_the_personal_link() {
    let zoom = ZoomEmulator::start().await;
    let id = registration_meeting(&zoom).await;
    let control: &dyn MeetingControl = &api(&zoom);
    let first = control.admit(hosted(&id), &attendee("ada@example.com")).await.unwrap();
    let link = first.join_url.clone().expect("Zoom lists the approved registrant's link");
    assert!(link.starts_with(&format!("https://zoom.us/w/{id}?tk=")), "{link}");
    let registrants = format!("/v2/meetings/{id}/registrants");
    let queries: Vec<_> = zoom
        .calls()
        .into_iter()
        .filter(|c| c.method == Method::GET)
        .map(|c| c.query.unwrap_or_default())
        .collect();
    // Looked for (pending, approved), then the link read once approved.
    assert_eq!(
        queries,
        [
            "status=pending&page_size=300",
            "status=approved&page_size=300",
            "status=approved&page_size=300"
        ]
    );
    assert_eq!(
        body_of(&zoom, Method::POST, &registrants),
        json!({"email": "ada@example.com", "first_name": "Ada", "last_name": "Lovelace"})
    );
    assert_eq!(
        body_of(&zoom, Method::PUT, &format!("{registrants}/status")),
        json!({"action": "approve", "registrants": [{"id": first.id, "email": "ada@example.com"}]})
    );

    let again = control.admit(hosted(&id), &attendee("Ada@Example.com")).await.unwrap();
    assert_eq!(again, first);
    assert_eq!(zoom.count(Method::POST, &registrants), 1);
    assert_eq!(zoom.count(Method::PUT, &format!("{registrants}/status")), 1);
    let held = zoom.registrants(&id);
    assert_eq!(held.len(), 1);
    assert_eq!((held[0].status.as_str(), held[0].join_url.as_ref()), ("approved", Some(&link)));
}

#[tokio::test]
async fn admit_finds_a_pending_registrant_beyond_the_first_page() {
    let zoom = ZoomEmulator::start().await;
    let id = registration_meeting(&zoom).await;
    let api = api(&zoom);
    // 301 pending registrants (earlier attempts whose answers were lost): the last is on page 2.
    zoom.state().meetings[0].registrants.extend((0..=300).map(|n| emulators::zoom::Registrant {
        id: format!("pending-{n}"),
        email: format!("a{n}@example.com"),
        first_name: "Ada".into(),
        last_name: None,
        status: "pending".into(),
        create_time: "2026-11-25T10:00:00Z".into(),
        join_url: None,
    }));
    zoom.state().calls.clear();
    let admitted = api.admit(hosted(&id), &attendee("a300@example.com")).await.unwrap();
    assert_eq!(admitted.id, "pending-300");
    assert!(admitted.join_url.is_some());
    assert_eq!(zoom.count(Method::POST, &format!("/v2/meetings/{id}/registrants")), 0);
    let second_page = zoom.calls()[1].query.clone().unwrap();
    assert_eq!(second_page, "status=pending&page_size=300&next_page_token=300");
}

#[tokio::test]
async fn admit_fails_naming_what_is_wrong() {
    let zoom = ZoomEmulator::start().await;
    let api = api(&zoom);
    let plain = zoom.create_meeting_directly("Office hours", HOST);
    let err = api.admit(hosted(&plain), &attendee("a@example.com")).await.unwrap_err();
    assert_eq!(
        api_error(err),
        (
            StatusCode::BAD_REQUEST,
            Some(3000),
            format!("Registration has not been enabled for this meeting: {plain}.")
        )
    );

    let err = api.admit(hosted("123"), &attendee("a@example.com")).await.unwrap_err().to_string();
    assert!(
        err.contains("404 Not Found") && err.contains("Meeting does not exist: 123. (code 3001)"),
        "{err}"
    );

    let id = registration_meeting(&zoom).await;
    let mut nameless = attendee("b@example.com");
    nameless.first_name.clear();
    let err = api.admit(hosted(&id), &nameless).await.unwrap_err();
    assert_eq!(
        api_error(err),
        (
            StatusCode::BAD_REQUEST,
            Some(300),
            "Validation Failed. (first_name: Invalid field.)".into()
        )
    );
}

#[tokio::test]
async fn a_meeting_at_zooms_limit_refuses_the_next_registrant() {
    let zoom = ZoomEmulator::start().await;
    let id = registration_meeting(&zoom).await;
    let full = (0..MAX_REGISTRANTS).map(|n| emulators::zoom::Registrant {
        id: format!("r{n}"),
        email: format!("r{n}@example.com"),
        first_name: "R".into(),
        last_name: None,
        status: "approved".into(),
        create_time: "2026-11-25T10:00:00Z".into(),
        join_url: None,
    });
    zoom.state().meetings[0].registrants.extend(full);
    let err = api(&zoom).admit(hosted(&id), &attendee("late@example.com")).await.unwrap_err();
    let (status, code, message) = api_error(err);
    assert_eq!((status, code), (StatusCode::BAD_REQUEST, Some(3043)));
    assert!(message.contains("maximum attendee capacity"), "{message}");
}

#[tokio::test]
async fn cancel_meeting_deletes_it_and_a_meeting_already_gone_is_done() {
    let zoom = ZoomEmulator::start().await;
    let id = registration_meeting(&zoom).await;
    let control: &dyn MeetingControl = &api(&zoom);
    control.cancel_meeting(hosted(&id)).await.unwrap();
    assert!(zoom.meetings().is_empty());
    // Gone already (deleted twice, or in Zoom's UI): Zoom's 3001 counts as done.
    control.cancel_meeting(hosted(&id)).await.unwrap();
    assert_eq!(zoom.count(Method::DELETE, &format!("/v2/meetings/{id}")), 2);
}

#[tokio::test]
async fn a_server_error_surfaces_and_a_retry_succeeds() {
    let zoom = ZoomEmulator::start().await;
    let control: &dyn MeetingControl = &api(&zoom);
    zoom.fail_next(1, StatusCode::INTERNAL_SERVER_ERROR);
    let err = control.schedule_meeting(&session(None)).await.unwrap_err();
    assert!(!err.is_refusal(), "an outage, retried: {err}");
    let ControlError::Zoom(err) = err else { panic!("{err:?}") };
    assert_eq!(api_error(err).0, StatusCode::INTERNAL_SERVER_ERROR);
    assert!(zoom.meetings().is_empty());
    control.schedule_meeting(&session(None)).await.unwrap();
    assert_eq!(zoom.meetings().len(), 1);
}

#[tokio::test]
async fn a_per_second_limit_is_waited_out_and_a_daily_one_is_left_to_the_outbox() {
    let zoom = ZoomEmulator::start().await;
    let api = api(&zoom);
    zoom.limit_next(2, Fault::PerSecondLimit);
    api.end_meeting("u1").await.unwrap();
    assert_eq!(zoom.count(Method::PUT, "/v2/meetings/u1/status"), 3, "two waits, then done");
    assert_eq!(zoom.state().ended_meetings, ["u1"]);

    // Still limited after three more tries: the answer is Zoom's, for the outbox to retry.
    zoom.limit_next(4, Fault::PerSecondLimit);
    let (status, code, message) = api_error(api.end_meeting("u2").await.unwrap_err());
    assert_eq!((status, code), (StatusCode::TOO_MANY_REQUESTS, Some(429)));
    assert!(message.contains("per-second rate limit"), "{message}");
    assert_eq!(zoom.count(Method::PUT, "/v2/meetings/u2/status"), 4);

    // A daily limit resets at midnight: not waited for here, and not a refusal.
    zoom.limit_next(1, Fault::DailyLimit);
    let control: &dyn MeetingControl = &api;
    let err = control.end_meeting("u3").await.unwrap_err();
    assert!(!err.is_refusal() && err.to_string().contains("429"), "{err}");
    assert_eq!(zoom.count(Method::PUT, "/v2/meetings/u3/status"), 1);
}

#[tokio::test]
async fn end_meeting_encodes_a_uuid_with_slashes_twice() {
    let zoom = ZoomEmulator::start().await;
    api(&zoom).end_meeting("/ab//c==").await.unwrap();
    assert_eq!(zoom.count(Method::PUT, "/v2/meetings/%252Fab%252F%252Fc%253D%253D/status"), 1);
    assert_eq!(zoom.state().ended_meetings, ["%2Fab%2F%2Fc%3D%3D"]);
}

#[tokio::test]
async fn an_unreachable_zoom_is_worth_retrying_and_a_refusal_is_not() {
    // Nothing listens on port 9 of the loopback address.
    let nowhere = ZoomApi::new("http://127.0.0.1:9/v2".parse().unwrap(), SecretString::from(TOKEN));
    let err = ControlError::from(nowhere.unwrap().cancel_meeting(hosted("1")).await.unwrap_err());
    assert!(!err.is_refusal(), "an outage, retried: {err}");

    let zoom = ZoomEmulator::start().await;
    let plain = zoom.create_meeting_directly("Office hours", HOST);
    let control: &dyn MeetingControl = &api(&zoom);
    let err = control.admit(hosted(&plain), &attendee("a@example.com")).await.unwrap_err();
    assert!(err.is_refusal(), "{err}");
}

/// An instance uuid that must be encoded twice in a path.
const UUID: &str = "/ajXp112QmuoKj4854875==";
/// How it arrives on the wire.
const UUID_IN_PATH: &str = "%252FajXp112QmuoKj4854875%253D%253D";
const STARTED: &str = "2026-11-25T10:00:00Z";
const ENDED: &str = "2026-11-25T11:00:00Z";

/// The instance, ended, recorded by Zoom with `people` participants who each joined twice.
fn record(zoom: &ZoomEmulator, people: usize) {
    zoom.record_instance(UUID, STARTED);
    for n in 0..people {
        let (id, name) = (format!("id{n}"), format!("Person {n}"));
        zoom.record_segment(UUID, Segment::new(&id, &name, STARTED, "2026-11-25T10:20:00Z"));
        zoom.record_segment(UUID, Segment::new(&id, &name, "2026-11-25T10:25:00Z", ENDED));
    }
    zoom.end_instance(UUID, ENDED);
}

fn report_path() -> String {
    format!("/v2/report/meetings/{UUID_IN_PATH}/participants")
}

fn past_path() -> String {
    format!("/v2/past_meetings/{UUID_IN_PATH}/participants")
}

#[tokio::test]
async fn participants_come_back_complete_from_every_page_of_the_report() {
    let zoom = ZoomEmulator::start().await;
    record(&zoom, 325);
    let control: &dyn MeetingControl = &api(&zoom);
    let recorded = control.participants(hosted(UUID)).await.unwrap();
    assert_eq!(recorded.len(), 650, "one row per join segment");
    assert_eq!(recorded[649].participant, "id324/Person 324", "keyed as webhooks key it");
    assert!(recorded.iter().all(|r| r.device.is_empty() && !r.kind_known));
    assert!(recorded.iter().all(|r| r.connection.computer && !r.connection.telephone_audio));
    let segment = &recorded[1].connection;
    assert_eq!(segment.joined_at, Some("2026-11-25T10:25:00Z".parse().unwrap()));
    assert_eq!(segment.left_at, Some(ENDED.parse().unwrap()));
    assert_eq!(zoom.count(Method::GET, &report_path()), 3, "300 a page");
    assert_eq!(zoom.count(Method::GET, &past_path()), 0);
    let queries: Vec<_> = zoom.calls().into_iter().filter_map(|c| c.query).collect();
    assert_eq!(
        queries,
        ["page_size=300", "page_size=300&next_page_token=300", "page_size=300&next_page_token=600"]
    );
}

#[tokio::test]
async fn a_report_of_fewer_than_two_participants_is_read_from_past_meetings() {
    let zoom = ZoomEmulator::start().await;
    record(&zoom, 3);
    zoom.report_lags(UUID, 2);
    let recorded = api(&zoom).participants(hosted(UUID)).await.unwrap();
    assert_eq!(recorded.len(), 6);
    assert_eq!(
        (zoom.count(Method::GET, &report_path()), zoom.count(Method::GET, &past_path())),
        (1, 1)
    );

    // An account without the report's plan or scope is refused it: past_meetings still has it.
    zoom.state().calls.clear();
    zoom.fail_next(1, StatusCode::FORBIDDEN);
    assert_eq!(api(&zoom).participants(hosted(UUID)).await.unwrap().len(), 6);
    assert_eq!(zoom.count(Method::GET, &past_path()), 1);
}

#[tokio::test]
async fn a_record_not_there_yet_is_an_error_until_it_is() {
    let zoom = ZoomEmulator::start().await;
    record(&zoom, 2);
    // Each try asks the report, then past_meetings: both answer 404 once.
    zoom.syncing(UUID, 2);
    let api = api(&zoom);
    let (status, code, _) = api_error(api.participants(hosted(UUID)).await.unwrap_err());
    assert_eq!((status, code), (StatusCode::NOT_FOUND, Some(3001)), "never an empty list");
    assert_eq!(api.participants(hosted(UUID)).await.unwrap().len(), 4);

    // A meeting still running has no record yet either.
    zoom.record_instance("running==", STARTED);
    let (status, _, _) = api_error(api.participants(hosted("running==")).await.unwrap_err());
    assert_eq!(status, StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn a_rate_limited_record_is_read_after_the_wait_and_a_server_error_surfaces() {
    let zoom = ZoomEmulator::start().await;
    record(&zoom, 2);
    let api = api(&zoom);
    zoom.limit_next(1, Fault::PerSecondLimit);
    assert_eq!(api.participants(hosted(UUID)).await.unwrap().len(), 4);
    assert_eq!(zoom.count(Method::GET, &report_path()), 2);

    zoom.fail_next(1, StatusCode::INTERNAL_SERVER_ERROR);
    let (status, _, _) = api_error(api.participants(hosted(UUID)).await.unwrap_err());
    assert_eq!(status, StatusCode::INTERNAL_SERVER_ERROR);
}

#[tokio::test]
async fn an_incomplete_row_comes_back_still_connected() {
    let zoom = ZoomEmulator::start().await;
    record(&zoom, 1);
    let mut open = Segment::new("id9", "Late", STARTED, ENDED);
    open.leave_time = None;
    zoom.record_segment(UUID, open);
    let recorded = api(&zoom).participants(hosted(UUID)).await.unwrap();
    let late = recorded.iter().find(|r| r.participant == "id9/Late").expect("the open row");
    assert_eq!(late.connection.joined_at, Some(STARTED.parse().unwrap()));
    assert_eq!(late.connection.left_at, None);
}

#[tokio::test]
async fn standing_is_running_until_zoom_holds_a_past_meeting() {
    let zoom = ZoomEmulator::start().await;
    zoom.record_instance(UUID, STARTED);
    let control: &dyn MeetingControl = &api(&zoom);
    assert_eq!(control.standing(hosted(UUID)).await.unwrap(), MeetingStanding::Running);
    zoom.end_instance(UUID, ENDED);
    let ended = MeetingStanding::Ended { at: Some(ENDED.parse().unwrap()) };
    assert_eq!(control.standing(hosted(UUID)).await.unwrap(), ended);
    assert_eq!(zoom.count(Method::GET, &format!("/v2/past_meetings/{UUID_IN_PATH}")), 2);

    zoom.fail_next(1, StatusCode::SERVICE_UNAVAILABLE);
    let err = control.standing(hosted(UUID)).await.unwrap_err();
    assert!(!err.is_refusal() && err.to_string().contains("503"), "{err}");
}

#[tokio::test]
async fn zoom_has_no_usage_report_to_read() {
    let zoom = ZoomEmulator::start().await;
    let control: &dyn MeetingControl = &api(&zoom);
    let started = STARTED.parse().unwrap();
    assert_eq!(control.usage_report(hosted(UUID), started).await.unwrap(), None);
    assert!(zoom.calls().is_empty());
}
