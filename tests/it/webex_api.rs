//! The Webex REST client against the Webex emulator over real HTTP.

use crate::common::control;
use crate::emulators;

use axum::http::{Method, StatusCode};
use secrecy::SecretString;
use serde_json::{Value, json};
use tollbooth_core::platform::MeetingControl;
use tollbooth_core::platform::control::{ControlError, HostedMeeting, Registration};
use tollbooth_core::platform::webex_api::{NewWebhook, WebexApi, WebexError, WebhookStatus};

use control::{HOST, attendee, hosted, session};
use emulators::webex::{Fault, TOKEN, WebexEmulator};

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
