//! The Webex REST client against the Webex emulator over real HTTP.

use crate::common::control;
use crate::emulators;

use axum::http::{Method, StatusCode};
use secrecy::SecretString;
use serde_json::{Value, json};
use tollbooth_core::platform::MeetingControl;
use tollbooth_core::platform::control::{ControlError, HostedMeeting, Registration};
use tollbooth_core::platform::records::{MeetingStanding, ReportedUsage};
use tollbooth_core::platform::webex_api::{NewWebhook, WebexApi, WebexError, WebhookStatus};

use control::{HOST, attendee, hosted, session};
use emulators::webex::{
    Device, Fault, Participant, SITE_URL, TOKEN, TrackingCode, UsageReport, WebexEmulator,
};

fn api(webex: &WebexEmulator, token: &str) -> WebexApi {
    WebexApi::new(webex.base.parse().unwrap(), SecretString::from(token.to_owned())).unwrap()
}

#[tokio::test]
async fn end_meeting_posts_to_the_meeting_and_accepts_204() {
    let webex = WebexEmulator::start().await;
    // A meeting instance id as Webex writes it, plus characters that must be escaped.
    let id = "560d7b784f5143e3be2fc3064a5c4999_I_204252993233618782";
    api(&webex, TOKEN).end_meeting(id).await.unwrap();
    api(&webex, TOKEN).end_meeting("a/b c").await.unwrap();
    assert_eq!(webex.count(Method::POST, &format!("/v1/meetings/{id}/end")), 1);
    assert_eq!(webex.count(Method::POST, "/v1/meetings/a%2Fb%20c/end"), 1);
    assert_eq!(webex.state().ended_meetings, [id, "a/b c"]);
}

#[tokio::test]
async fn webhooks_round_trip() {
    let webex = WebexEmulator::start().await;
    let api = api(&webex, TOKEN);
    let secret = SecretString::from("s3cret".to_owned());
    let new = NewWebhook {
        name: "n",
        target_url: "https://x.example.com/webhooks/webex",
        resource: "meetings",
        event: "started",
        owned_by: "org",
        filter: Some("hostEmail=a@example.com"),
    };
    let created = api.create_webhook(new, &secret).await.unwrap();
    assert_eq!(created.status, WebhookStatus::Active);
    assert_eq!(created.filter.as_deref(), Some("hostEmail=a@example.com"));
    webex.auto_disable(&created.id);
    let listed = api.list_webhooks().await.unwrap();
    assert_eq!(listed.len(), 1);
    assert_eq!(listed[0].status, WebhookStatus::Inactive);
    assert_eq!(webex.calls()[1].query.as_deref(), Some("max=100"));
    let back = api.reactivate_webhook(&created.id, "n2", new.target_url, &secret).await.unwrap();
    assert_eq!((back.status, back.name.as_str()), (WebhookStatus::Active, "n2"));
}

#[tokio::test]
async fn webex_errors_name_status_and_message() {
    let webex = WebexEmulator::start().await;
    let new = NewWebhook {
        name: "n",
        target_url: "https://x.example.com/",
        resource: "meetings",
        event: "exploded",
        owned_by: "org",
        filter: None,
    };
    let err = api(&webex, TOKEN)
        .create_webhook(new, &SecretString::from("s".to_owned()))
        .await
        .unwrap_err();
    match &err {
        WebexError::Api { status, message, tracking_id, .. } => {
            assert_eq!(*status, StatusCode::BAD_REQUEST);
            assert_eq!(message, "event: unknown event 'exploded'");
            assert!(tracking_id.is_some());
        }
        other => panic!("expected an API error, got {other:?}"),
    }
    let text = err.to_string();
    assert!(
        text.starts_with("Webex answered 400 Bad Request to POST /v1/webhooks: event"),
        "{text}"
    );

    let err = api(&webex, "wrong").end_meeting("m").await.unwrap_err().to_string();
    assert!(err.contains("401 Unauthorized") && err.contains("valid access token"), "{err}");
}

#[tokio::test]
async fn rate_limits_are_retried_a_bounded_number_of_times() {
    let webex = WebexEmulator::start().await;
    for _ in 0..4 {
        webex.fail_next(Fault {
            status: StatusCode::TOO_MANY_REQUESTS,
            message: "Too Many Requests".into(),
            retry_after: Some(0),
        });
    }
    let err = api(&webex, TOKEN).end_meeting("m").await.unwrap_err().to_string();
    assert!(err.contains("429"), "{err}");
    assert_eq!(webex.count(Method::POST, "/v1/meetings/m/end"), 4, "one try and three retries");

    // A wait longer than a command line should block for is not waited for.
    webex.fail_next(Fault {
        status: StatusCode::TOO_MANY_REQUESTS,
        message: "Too Many Requests".into(),
        retry_after: Some(3600),
    });
    let err = api(&webex, TOKEN).list_webhooks().await.unwrap_err().to_string();
    assert!(err.contains("429"), "{err}");
}

#[tokio::test]
async fn debug_output_hides_the_token() {
    let webex = WebexEmulator::start().await;
    let printed = format!("{:?}", api(&webex, "hunter2-token"));
    assert!(!printed.contains("hunter2"), "{printed}");
}

/// The body of the only request sent to `path` with `method`.
fn body_of(webex: &WebexEmulator, method: Method, path: &str) -> Value {
    let calls: Vec<_> =
        webex.calls().into_iter().filter(|c| c.method == method && c.path == path).collect();
    assert_eq!(calls.len(), 1, "{method} {path}: {calls:?}");
    calls[0].body.clone().expect("a JSON body")
}

/// Webex's status and message, from an error that must be Webex's answer.
fn api_error(err: WebexError) -> (StatusCode, String) {
    match err {
        WebexError::Api { status, message, .. } => (status, message),
        other => panic!("expected Webex's answer, got {other:?}"),
    }
}

fn server_error() -> Fault {
    Fault {
        status: StatusCode::INTERNAL_SERVER_ERROR,
        message: "try later".into(),
        retry_after: None,
    }
}

/// A meeting scheduled through the API with registration, and its id.
async fn registration_meeting(webex: &WebexEmulator, capacity: Option<u32>) -> String {
    let request = session(Some(Registration { capacity }));
    api(webex, TOKEN).schedule_meeting(&request).await.unwrap().meeting_id
}

#[tokio::test]
async fn schedule_meeting_sends_the_documented_fields_and_returns_the_web_link() {
    let webex = WebexEmulator::start().await;
    let api = api(&webex, TOKEN);
    let scheduled =
        api.schedule_meeting(&session(Some(Registration { capacity: Some(25) }))).await.unwrap();
    let mut sent = body_of(&webex, Method::POST, "/v1/meetings");
    let password = sent.as_object_mut().unwrap().remove("password").unwrap();
    let password = password.as_str().unwrap();
    assert!(
        password.len() == 12 && password.chars().all(|c| c.is_ascii_alphanumeric()),
        "{password}"
    );
    assert_eq!(
        sent,
        json!({
            "title": "Pricing 101",
            "start": "2026-12-01T15:00:00Z",
            "end": "2026-12-01T16:30:00Z",
            "hostEmail": HOST,
            "enabledJoinBeforeHost": false,
            "registration": {
                "autoAcceptRequest": false,
                "requireFirstName": true,
                "requireLastName": true,
                "requireEmail": true,
                "maxRegisterNum": 25,
            },
        })
    );
    let held = &webex.meetings()[0];
    assert_eq!(held.id.len(), 32);
    assert_eq!(scheduled.meeting_id, held.id);
    assert_eq!((&scheduled.join_url, &scheduled.start_url), (&held.web_link, &held.web_link));

    webex.state().calls.clear();
    api.schedule_meeting(&session(None)).await.unwrap();
    let sent = body_of(&webex, Method::POST, "/v1/meetings");
    assert_eq!(sent.get("registration"), None, "{sent}");
    assert_eq!(webex.meetings()[1].registration, None);
}

#[tokio::test]
async fn require_registration_turns_it_on_for_a_meeting_made_in_webex() {
    let webex = WebexEmulator::start().await;
    let id = webex.create_meeting_directly("Office hours", HOST);
    api(&webex, TOKEN)
        .require_registration(hosted(&id), &Registration { capacity: None })
        .await
        .unwrap();
    let form = json!({
        "autoAcceptRequest": false,
        "requireFirstName": true,
        "requireLastName": true,
        "requireEmail": true,
    });
    assert_eq!(body_of(&webex, Method::PUT, &format!("/v1/meetings/{id}/registration")), form);
    assert_eq!(webex.meetings()[0].registration, Some(form));
}

#[tokio::test]
async fn admit_registers_and_approves_once_however_often_it_is_called() {
    let webex = WebexEmulator::start().await;
    let id = registration_meeting(&webex, None).await;
    let control: &dyn MeetingControl = &api(&webex, TOKEN);
    let first = control.admit(hosted(&id), &attendee("ada@example.com")).await.unwrap();
    assert_eq!(first.join_url, None, "Webex e-mails the link");
    let registrants = format!("/v1/meetings/{id}/registrants");
    assert_eq!(
        body_of(&webex, Method::POST, &format!("{registrants}/query")),
        json!({"emails": ["ada@example.com"]})
    );
    assert_eq!(
        body_of(&webex, Method::POST, &registrants),
        json!({"firstName": "Ada", "lastName": "Lovelace", "email": "ada@example.com", "sendEmail": true})
    );
    assert_eq!(
        body_of(&webex, Method::POST, &format!("{registrants}/approve")),
        json!({"sendEmail": true, "registrants": [{"id": first.id}]})
    );

    // Again, the e-mail written differently: found, already approved, nothing sent but the query.
    let again = control.admit(hosted(&id), &attendee("ADA@example.com")).await.unwrap();
    assert_eq!(again, first);
    assert_eq!(webex.count(Method::POST, &registrants), 1);
    assert_eq!(webex.count(Method::POST, &format!("{registrants}/approve")), 1);
    let held = webex.registrants(&id);
    assert_eq!(held.len(), 1);
    assert_eq!((held[0].id.as_str(), held[0].status.as_str()), (first.id.as_str(), "approved"));
}

#[tokio::test]
async fn the_site_token_acts_on_a_hosts_meeting_by_naming_the_host() {
    let webex = WebexEmulator::start().await;
    let id = registration_meeting(&webex, None).await;
    let control: &dyn MeetingControl = &api(&webex, TOKEN);
    control.admit(hosted(&id), &attendee("ada@example.com")).await.unwrap();
    control.cancel_meeting(hosted(&id)).await.unwrap();
    let calls = webex.state().calls.clone();
    let on_the_meeting: Vec<_> =
        calls.iter().filter(|c| c.path.starts_with(&format!("/v1/meetings/{id}"))).collect();
    assert_eq!(on_the_meeting.len(), 4, "query, register, approve, delete: {calls:?}");
    for call in on_the_meeting {
        assert_eq!(call.query.as_deref(), Some("hostEmail=host%40example.com"), "{call:?}");
    }

    // Named wrongly, the meeting is not found: a refusal, which retrying will not change.
    let id = registration_meeting(&webex, None).await;
    let elsewhere = HostedMeeting { id: &id, host_email: "someone.else@example.com" };
    let err = control.admit(elsewhere, &attendee("ada@example.com")).await.unwrap_err();
    assert!(err.is_refusal() && err.to_string().contains("not found"), "{err}");
    assert!(webex.registrants(&id).is_empty());
}

#[tokio::test]
async fn admit_approves_a_registrant_left_pending_without_adding_another() {
    let webex = WebexEmulator::start().await;
    let id = registration_meeting(&webex, None).await;
    // An earlier attempt registered the attendee and lost the answer before approving.
    let api = api(&webex, TOKEN);
    webex.fail_next(server_error());
    let err = api.admit(hosted(&id), &attendee("ada@example.com")).await.unwrap_err();
    assert_eq!(api_error(err), (StatusCode::INTERNAL_SERVER_ERROR, "try later".into()));
    webex.state().meetings[0].registrants.push(emulators::webex::Registrant {
        id: "pending-1".into(),
        status: "pending".into(),
        first_name: "Ada".into(),
        last_name: "Lovelace".into(),
        email: "ada@example.com".into(),
        registration_time: "2026-11-25T10:00:00Z".into(),
    });
    let admitted = api.admit(hosted(&id), &attendee("ada@example.com")).await.unwrap();
    assert_eq!(admitted.id, "pending-1");
    assert_eq!(webex.count(Method::POST, &format!("/v1/meetings/{id}/registrants")), 0);
    assert_eq!(webex.registrants(&id)[0].status, "approved");
}

#[tokio::test]
async fn admit_fails_naming_a_meeting_without_registration_or_unknown() {
    let webex = WebexEmulator::start().await;
    let api = api(&webex, TOKEN);
    let id = webex.create_meeting_directly("Office hours", HOST);
    let (status, message) =
        api_error(api.admit(hosted(&id), &attendee("a@example.com")).await.unwrap_err());
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(message, format!("Registration is not enabled for meeting {id}."));

    let err =
        api.admit(hosted("0123456789abcdef0123456789abcdef"), &attendee("a@example.com")).await;
    let text = err.unwrap_err().to_string();
    assert!(
        text.contains("404 Not Found")
            && text.contains("Meeting 0123456789abcdef0123456789abcdef not found"),
        "{text}"
    );
    assert!(text.contains("trackingId"), "{text}");
}

#[tokio::test]
async fn admit_without_a_last_name_is_refused_naming_the_field() {
    let webex = WebexEmulator::start().await;
    let id = registration_meeting(&webex, None).await;
    let mut nameless = attendee("ada@example.com");
    nameless.last_name.clear();
    let err = api(&webex, TOKEN).admit(hosted(&id), &nameless).await.unwrap_err();
    assert_eq!(api_error(err), (StatusCode::BAD_REQUEST, "lastName: may not be empty".into()));
    assert!(webex.registrants(&id).is_empty());
}

#[tokio::test]
async fn a_full_meeting_refuses_the_next_registrant() {
    let webex = WebexEmulator::start().await;
    let id = registration_meeting(&webex, Some(1)).await;
    let api = api(&webex, TOKEN);
    api.admit(hosted(&id), &attendee("ada@example.com")).await.unwrap();
    let err = api.admit(hosted(&id), &attendee("bob@example.com")).await.unwrap_err();
    let (status, message) = api_error(err);
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert!(message.starts_with("maxRegisterNum:"), "{message}");
    assert_eq!(webex.registrants(&id).len(), 1);
}

#[tokio::test]
async fn cancel_meeting_deletes_it_and_a_meeting_already_gone_is_done() {
    let webex = WebexEmulator::start().await;
    let id = registration_meeting(&webex, None).await;
    let control: &dyn MeetingControl = &api(&webex, TOKEN);
    control.cancel_meeting(hosted(&id)).await.unwrap();
    assert!(webex.meetings().is_empty());
    // Gone already (deleted twice, or in Webex's UI): done all the same.
    control.cancel_meeting(hosted(&id)).await.unwrap();
    assert_eq!(webex.count(Method::DELETE, &format!("/v1/meetings/{id}")), 2);
}

#[tokio::test]
async fn a_server_error_surfaces_and_a_retry_succeeds() {
    let webex = WebexEmulator::start().await;
    let control: &dyn MeetingControl = &api(&webex, TOKEN);
    webex.fail_next(server_error());
    let err = control.schedule_meeting(&session(None)).await.unwrap_err();
    assert!(!err.is_refusal(), "an outage, retried: {err}");
    let ControlError::Webex(err) = err else { panic!("{err:?}") };
    assert_eq!(api_error(err).0, StatusCode::INTERNAL_SERVER_ERROR);
    assert!(webex.meetings().is_empty());
    control.schedule_meeting(&session(None)).await.unwrap();
    assert_eq!(webex.meetings().len(), 1);
}

/// A meeting instance id, as Webex writes one.
const INSTANCE: &str = "560d7b784f5143e3be2fc3064a5c4999_I_204252993233618782";
const STARTED: &str = "2026-11-25T10:00:00Z";

/// The instance, recorded by Webex with `people` participants of one laptop each, hosted by
/// [`HOST`].
fn record(webex: &WebexEmulator, people: usize) {
    webex.record_instance(INSTANCE, HOST, STARTED);
    for n in 0..people {
        let device = Device::computer(&format!("c{n}"), STARTED, "2026-11-25T11:00:00Z");
        webex.record_participant(INSTANCE, Participant::new(&format!("p{n}"), vec![device]));
    }
}

#[tokio::test]
async fn participants_come_back_complete_from_every_page() {
    let webex = WebexEmulator::start().await;
    record(&webex, 250);
    let control: &dyn MeetingControl = &api(&webex, TOKEN);
    let recorded = control.participants(hosted(INSTANCE)).await.unwrap();
    assert_eq!(recorded.len(), 250);
    let mut keys: Vec<_> = recorded.iter().map(|r| (&r.participant, &r.device)).collect();
    keys.dedup();
    assert_eq!(keys.len(), 250, "no participant twice");
    assert_eq!(
        (recorded[249].participant.as_str(), recorded[249].device.as_str()),
        ("p249", "c249")
    );
    assert!(recorded.iter().all(|r| r.kind_known && r.connection.computer));
    assert_eq!(webex.count(Method::GET, "/v1/meetingParticipants"), 3, "100 a page");
    let first = webex.calls()[0].query.clone().unwrap();
    assert_eq!(first, format!("meetingId={INSTANCE}&max=100&hostEmail=host%40example.com"));
}

#[tokio::test]
async fn a_record_still_syncing_is_an_error_until_it_is_synced() {
    let webex = WebexEmulator::start().await;
    record(&webex, 2);
    webex.syncing(INSTANCE, 2);
    let api = api(&webex, TOKEN);
    for _ in 0..2 {
        let (status, _) = api_error(api.participants(hosted(INSTANCE)).await.unwrap_err());
        assert_eq!(status, StatusCode::NOT_FOUND, "an error, never an empty list");
    }
    assert_eq!(api.participants(hosted(INSTANCE)).await.unwrap().len(), 2);

    // Another host's meeting is not found unless its host is named.
    let elsewhere = HostedMeeting { id: INSTANCE, host_email: "other@example.com" };
    let (status, _) = api_error(api.participants(elsewhere).await.unwrap_err());
    assert_eq!(status, StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn a_rate_limited_record_is_read_after_the_wait_and_a_server_error_surfaces() {
    let webex = WebexEmulator::start().await;
    record(&webex, 150);
    // The first page is limited once: waited out, then both pages are read.
    let api = api(&webex, TOKEN);
    webex.fail_next(Fault {
        status: StatusCode::TOO_MANY_REQUESTS,
        message: "Too Many Requests".into(),
        retry_after: Some(0),
    });
    assert_eq!(api.participants(hosted(INSTANCE)).await.unwrap().len(), 150);
    assert_eq!(webex.count(Method::GET, "/v1/meetingParticipants"), 3);

    webex.fail_next(server_error());
    let (status, message) = api_error(api.participants(hosted(INSTANCE)).await.unwrap_err());
    assert_eq!((status, message.as_str()), (StatusCode::INTERNAL_SERVER_ERROR, "try later"));
}

#[tokio::test]
async fn an_incomplete_row_comes_back_still_connected() {
    let webex = WebexEmulator::start().await;
    webex.record_instance(INSTANCE, HOST, STARTED);
    let epoch = Device::telephone("c1", STARTED, "1970-01-01T00:00:00.000Z");
    let mut missing = Device::computer("c2", STARTED, STARTED);
    (missing.joined_time, missing.left_time) = (None, None);
    webex.record_participant(INSTANCE, Participant::new("p", vec![epoch, missing]));
    let recorded = api(&webex, TOKEN).participants(hosted(INSTANCE)).await.unwrap();
    assert_eq!(recorded.len(), 2);
    assert_eq!(recorded[0].connection.joined_at, Some(STARTED.parse().unwrap()));
    assert_eq!(recorded[0].connection.left_at, None, "1970 is not filled in yet");
    assert!(recorded[0].connection.telephone_audio && !recorded[0].connection.computer);
    assert_eq!((recorded[1].connection.joined_at, recorded[1].connection.left_at), (None, None));

    // A time no meeting can have is refused, naming the field, rather than billed.
    let mut wrong = Device::computer("c3", STARTED, STARTED);
    wrong.left_time = Some("2199-01-01T00:00:00Z".into());
    webex.record_participant(INSTANCE, Participant::new("q", vec![wrong]));
    let err = api(&webex, TOKEN).participants(hosted(INSTANCE)).await.unwrap_err().to_string();
    assert!(err.contains("refuses") && err.contains("devices[].leftTime"), "{err}");
}

#[tokio::test]
async fn standing_follows_the_instances_state() {
    let webex = WebexEmulator::start().await;
    record(&webex, 0);
    let control: &dyn MeetingControl = &api(&webex, TOKEN);
    assert_eq!(control.standing(hosted(INSTANCE)).await.unwrap(), MeetingStanding::Running);
    webex.end_instance(INSTANCE, "2026-11-25T11:30:00Z");
    let ended = MeetingStanding::Ended { at: Some("2026-11-25T11:30:00Z".parse().unwrap()) };
    assert_eq!(control.standing(hosted(INSTANCE)).await.unwrap(), ended);
    assert_eq!(webex.calls()[0].query.as_deref(), Some("hostEmail=host%40example.com"));

    // A scheduled series is neither running nor ended; an unknown meeting is an error.
    let series = webex.create_meeting_directly("Office hours", HOST);
    assert_eq!(control.standing(hosted(&series)).await.unwrap(), MeetingStanding::Unknown);
    let err = control.standing(hosted("nope_I_1")).await.unwrap_err();
    assert!(err.is_refusal() && err.to_string().contains("404"), "{err}");
}

#[tokio::test]
async fn the_usage_report_is_found_by_the_instance_id_and_absent_until_listed() {
    let webex = WebexEmulator::start().await;
    let started = STARTED.parse().unwrap();
    let api = api(&webex, TOKEN).with_site_url(Some(SITE_URL.into()));
    assert_eq!(api.usage_report(hosted(INSTANCE), started).await.unwrap(), None);
    let query = webex.calls()[0].query.clone().unwrap();
    assert_eq!(
        query,
        "siteUrl=emulator.webex.com&serviceType=TrainingCenter&from=2026-11-24T10%3A00%3A00Z\
         &to=2026-11-27T10%3A00%3A00Z&max=1000"
    );

    // Another occurrence of the same series is not this session.
    let other = "560d7b784f5143e3be2fc3064a5c4999_I_204252993233618999";
    webex.report_usage(UsageReport::training(other, "2026-11-25T09:00:00Z", HOST));
    let mut line = UsageReport::training(INSTANCE, "2026-11-25T10:00:05Z", HOST);
    line.total_people_minutes = 240;
    (line.total_call_in_minutes, line.total_call_in_toll_free_minutes) = (30, 12);
    (line.total_call_out_domestic, line.total_call_out_international) = (5, 1);
    line.total_voip_minutes = 200;
    line.tracking_codes =
        vec![TrackingCode { name: "Division".into(), value: "Engineering".into() }];
    webex.report_usage(line);
    let control: &dyn MeetingControl = &api;
    let reported = control.usage_report(hosted(INSTANCE), started).await.unwrap().unwrap();
    assert_eq!(
        reported,
        ReportedUsage {
            person_minutes: 240,
            teleconference_minutes: 48,
            tracking_codes: vec![("Division".into(), "Engineering".into())],
        }
    );

    // Without a site there is no report to read, and nothing is asked.
    webex.state().calls.clear();
    let siteless = self::api(&webex, TOKEN);
    assert_eq!(siteless.usage_report(hosted(INSTANCE), started).await.unwrap(), None);
    assert!(webex.calls().is_empty());
}
