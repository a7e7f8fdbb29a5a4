//! The Webex REST client against the Webex emulator over real HTTP.

mod emulators;

use axum::http::{Method, StatusCode};
use secrecy::SecretString;
use tollbooth_core::platform::webex_api::{NewWebhook, WebexApi, WebexError, WebhookStatus};

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
