//! The webhook receiver over real HTTP on both backends: signatures, answers, duplicates,
//! ordering, and metering end to end.

use crate::common;

use chrono::{Duration, Utc};
use rand::SeedableRng;
use rand::seq::SliceRandom;
use serde_json::{Value, json};
use tollbooth::simulation::{Plan, Simulated, simulate};
use tollbooth_core::platform::PlatformKind;
use tollbooth_core::store::{PriceSource, SiteStore, WebhookSecretStore};

use common::{ADMIN_TOKEN, App, Db, Sender, ZOOM_SECRET};

on_both_backends!(
    signatures_are_checked_before_anything_else,
    zoom_timestamps_outside_five_minutes_are_refused,
    zoom_url_validation_is_answered,
    malformed_big_and_unknown_deliveries,
    webex_session_in_order_shuffled_and_duplicated_gives_identical_usage,
    zoom_session_in_order_shuffled_and_duplicated_gives_identical_usage,
    metering_rules_on_a_hand_made_webex_session,
    the_sessions_api_needs_the_admin_token,
    sessions_are_priced_with_the_prices_in_force_when_they_started,
    a_database_that_goes_away_answers_503,
    secrets_of_registered_hooks_verify_deliveries,
    past_the_backlog_a_delivery_is_acknowledged_once_the_applier_catches_up,
    past_the_backlog_a_delivery_held_too_long_is_stored_all_the_same,
);

fn webex_meeting(event: &str, id: &str, start: &str, end: &str) -> Vec<u8> {
    json!({"id": "hook", "resource": "meetings", "event": event,
           "data": {"id": id, "start": start, "end": end, "hostEmail": "host@example.com"}})
    .to_string()
    .into_bytes()
}

fn webex_participant(event: &str, meeting: &str, who: &str, devices: Value) -> Vec<u8> {
    json!({"id": "hook", "resource": "meetingParticipants", "event": event,
           "data": {"id": format!("{meeting}_{who}"), "meetingId": meeting, "devices": devices}})
    .to_string()
    .into_bytes()
}

async fn signatures_are_checked_before_anything_else(db: Db) {
    let app = App::start(&db, &[]).await;
    let s = Sender::new(&app.base);
    let body = webex_meeting("started", "m_I_1", "2026-11-25T10:00:00Z", "");
    assert_eq!(s.webex(&body).await.status(), 200);

    let good = tollbooth_core::platform::webex::sign(common::WEBEX_SECRET, &body);
    let mut tampered = body.clone();
    tampered[10] ^= 1;
    let wrong = tollbooth_core::platform::webex::sign("another-secret", &body);
    for (what, body, headers) in [
        ("tampered body", tampered.as_slice(), vec![("x-spark-signature", good.as_str())]),
        ("wrong secret", body.as_slice(), vec![("x-spark-signature", wrong.as_str())]),
        ("missing header", body.as_slice(), vec![]),
        ("not hex", body.as_slice(), vec![("x-spark-signature", "zz")]),
        ("empty", body.as_slice(), vec![("x-spark-signature", "")]),
    ] {
        let r = s.raw("/webhooks/webex", body, &headers).await;
        assert_eq!(r.status(), 401, "{what}");
    }
    // Malformed JSON with a bad signature is a 401, not a 400: nothing is parsed unverified.
    assert_eq!(
        s.raw("/webhooks/webex", b"{oops", &[("x-spark-signature", &wrong)]).await.status(),
        401
    );

    let zoom_body = br#"{"event":"meeting.started","payload":{"object":{"uuid":"u1"}}}"#;
    assert_eq!(s.zoom(zoom_body).await.status(), 200);
    let ts = Utc::now().timestamp().to_string();
    let r = s.raw("/webhooks/zoom", zoom_body, &[("x-zm-request-timestamp", &ts)]).await;
    assert_eq!(r.status(), 401, "missing signature");
    let sig = tollbooth_core::platform::zoom::sign(&ZOOM_SECRET.to_owned().into(), &ts, zoom_body);
    let r = s.raw("/webhooks/zoom", zoom_body, &[("x-zm-signature", &sig)]).await;
    assert_eq!(r.status(), 401, "missing timestamp");
    let r = s
        .raw(
            "/webhooks/zoom",
            br#"{"event":"meeting.started"}"#,
            &[("x-zm-signature", &sig), ("x-zm-request-timestamp", &ts)],
        )
        .await;
    assert_eq!(r.status(), 401, "tampered zoom body");
}

async fn zoom_timestamps_outside_five_minutes_are_refused(db: Db) {
    let app = App::start(&db, &[]).await;
    let s = Sender::new(&app.base);
    let body = br#"{"event":"meeting.started","payload":{"object":{"uuid":"u2"}}}"#;
    let now = Utc::now().timestamp();
    for (offset, status) in [(-400, 401), (-240, 200), (240, 200), (400, 401), (-100_000, 401)] {
        let r = s.zoom_at(body, &(now + offset).to_string()).await;
        assert_eq!(r.status(), status, "timestamp {offset:+} s");
    }
}

async fn zoom_url_validation_is_answered(db: Db) {
    let app = App::start(&db, &[]).await;
    let s = Sender::new(&app.base);
    let body = br#"{"payload":{"plainToken":"qgg8vlvZRS6UYooatFL8Aw"},"event_ts":1654503849680,"event":"endpoint.url_validation"}"#;
    let r = s.zoom(body).await;
    assert_eq!(r.status(), 200);
    let v: Value = r.json().await.unwrap();
    assert_eq!(v["plainToken"], "qgg8vlvZRS6UYooatFL8Aw");
    // Worked out independently of the adapter: hex HMAC-SHA256(secret, plainToken).
    use hmac::{Hmac, KeyInit, Mac};
    let mut mac = Hmac::<sha2::Sha256>::new_from_slice(ZOOM_SECRET.as_bytes()).unwrap();
    mac.update(b"qgg8vlvZRS6UYooatFL8Aw");
    assert_eq!(v["encryptedToken"], hex::encode(mac.finalize().into_bytes()));
    // Unsigned challenges are not answered.
    let r = s.raw("/webhooks/zoom", body, &[]).await;
    assert_eq!(r.status(), 401);
}

async fn malformed_big_and_unknown_deliveries(db: Db) {
    let app = App::start(&db, &[]).await;
    let s = Sender::new(&app.base);
    assert_eq!(s.webex(b"{not json").await.status(), 400);
    assert_eq!(
        s.webex(br#"{"resource":"meetings","event":"started","data":{}}"#).await.status(),
        400
    );
    assert_eq!(s.zoom(b"[1,2,3]").await.status(), 400);
    let bad_time = webex_meeting("started", "m_I_2", "last tuesday", "");
    let r = s.webex(&bad_time).await;
    assert_eq!(r.status(), 400);
    let v: Value = r.json().await.unwrap();
    assert!(v["error"].as_str().unwrap().contains("data.start"), "{v}");

    // Too big is refused without reading the body: a sender that declares 2 MiB and sends
    // nothing still gets its answer. One that streams without a length is cut off once past
    // the limit. (Raw TCP, because an HTTP client still sending its body when the server
    // answers and closes may lose the answer to the connection reset.)
    let declared = format!("Content-Length: {}\r\n", 2 * 1024 * 1024);
    assert_eq!(common::raw_http_status(&app.base, "/webhooks/webex", &declared, b"").await, 413);
    let past_limit = vec![b'x'; tollbooth_webhook::MAX_WEBHOOK_BODY + 1];
    let mut chunk = format!("{:x}\r\n", past_limit.len()).into_bytes();
    chunk.extend(&past_limit);
    assert_eq!(
        common::raw_http_status(
            &app.base,
            "/webhooks/webex",
            "Transfer-Encoding: chunked\r\n",
            &chunk
        )
        .await,
        413
    );

    let r = s.webex(br#"{"resource":"messages","event":"created","data":{"id":"x"}}"#).await;
    assert_eq!(r.status(), 200);
    assert_eq!(r.json::<Value>().await.unwrap()["status"], "ignored");
    let r = s.zoom(br#"{"event":"recording.completed","payload":{"object":{"uuid":"x"}}}"#).await;
    assert_eq!(r.status(), 200);
    assert_eq!(r.json::<Value>().await.unwrap()["status"], "ignored");
}

fn plan(platform: PlatformKind, seed: u64) -> Plan {
    Plan {
        platform,
        computers: 9,
        phones: 2,
        minutes: 50,
        started_at: Utc::now() - Duration::hours(2),
        seed,
    }
}

/// Plays `session` (in order, shuffled, or every delivery twice) and returns the usage JSON.
async fn play(s: &Sender, platform: PlatformKind, session: &Simulated, order: &str) -> Value {
    let mut deliveries: Vec<&Vec<u8>> = session.deliveries.iter().collect();
    match order {
        "shuffled" => deliveries.shuffle(&mut rand::rngs::StdRng::seed_from_u64(99)),
        "twice" => deliveries = deliveries.iter().flat_map(|d| [*d, *d]).collect(),
        _ => {}
    }
    for body in deliveries {
        let r = s.deliver(platform, body).await;
        assert_eq!(r.status(), 200, "{}", r.text().await.unwrap());
    }
    s.settled_session(platform.as_str(), &session.meeting_id).await
}

async fn identical_usage_whatever_the_order(db: Db, platform: PlatformKind) {
    let app = App::start(&db, &[]).await;
    let s = Sender::new(&app.base);
    let mut results = Vec::new();
    for (seed, order) in [(1, "in order"), (2, "shuffled"), (3, "twice")] {
        // The same session under three meeting ids: one generator seed per run would differ,
        // so the plan stays and only the id changes.
        let mut session = simulate(&plan(platform, 42));
        let fresh = simulate(&plan(platform, seed)).meeting_id;
        session.deliveries = session
            .deliveries
            .iter()
            .map(|d| String::from_utf8_lossy(d).replace(&session.meeting_id, &fresh).into_bytes())
            .collect();
        session.meeting_id = fresh;
        let v = play(&s, platform, &session, order).await;
        assert_eq!(v["state"], "ended", "{order}: {v}");
        let e = session.expected;
        assert_eq!(v["usage"]["person_seconds"], e.person_seconds, "{order}: {v}");
        assert_eq!(v["usage"]["person_minutes"], e.person_minutes, "{order}");
        assert_eq!(v["usage"]["teleconference_seconds"], e.teleconference_seconds, "{order}");
        assert_eq!(v["usage"]["teleconference_minutes"], e.teleconference_minutes, "{order}");
        assert_eq!(v["usage"]["connections"], e.connections, "{order}");
        results.push((v["usage"].clone(), v["cost"].clone()));
    }
    assert!(results.windows(2).all(|w| w[0] == w[1]), "{results:?}");
}

async fn webex_session_in_order_shuffled_and_duplicated_gives_identical_usage(db: Db) {
    identical_usage_whatever_the_order(db, PlatformKind::Webex).await
}

async fn zoom_session_in_order_shuffled_and_duplicated_gives_identical_usage(db: Db) {
    identical_usage_whatever_the_order(db, PlatformKind::Zoom).await
}

async fn metering_rules_on_a_hand_made_webex_session(db: Db) {
    let app = App::start(
        &db,
        &[
            ("TOLLBOOTH_PRICING__PERSON_MINUTE", "0.10"),
            ("TOLLBOOTH_PRICING__TELECONFERENCE_MINUTE", "0.25"),
        ],
    )
    .await;
    let s = Sender::new(&app.base);
    let m = "560d7b784f5143e3be2fc3064a5c4999_I_204252993233618782";
    let device = |id: &str, kind: &str, audio: &str, join: &str, left: Option<&str>| {
        let mut d = json!({"correlationId": id, "deviceType": kind, "audioType": audio, "joinedTime": join});
        if let Some(left) = left {
            d["leftTime"] = json!(left);
        }
        d
    };
    let deliveries = [
        // A leave that arrives before its join, carrying both times.
        webex_participant(
            "left",
            m,
            "a",
            json!([device(
                "a1",
                "mac",
                "voip",
                "2026-11-25T10:05:00.000Z",
                Some("2026-11-25T10:35:00.000Z")
            )]),
        ),
        webex_participant(
            "joined",
            m,
            "a",
            json!([device(
                "a1",
                "mac",
                "voip",
                "2026-11-25T10:05:00.000Z",
                Some("1970-01-01T00:00:00.000Z")
            )]),
        ),
        // Joined before the start (clipped), never left (closed at the end): 60 min.
        webex_participant(
            "joined",
            m,
            "b",
            json!([device("b1", "windows", "voip", "2026-11-25T09:50:00.000Z", None)]),
        ),
        // A computer on telephone audio: 10 min in both categories.
        webex_participant(
            "left",
            m,
            "c",
            json!([device(
                "c1",
                "mac",
                "pstn",
                "2026-11-25T10:10:00.000Z",
                Some("2026-11-25T10:20:00.000Z")
            )]),
        ),
        // A telephone: 20 min 30 s of teleconference only; left after the end: clipped.
        webex_participant(
            "left",
            m,
            "d",
            json!([device(
                "d1",
                "pstn",
                "pstn",
                "2026-11-25T10:40:00.000Z",
                Some("2026-11-25T11:20:30.000Z")
            )]),
        ),
        webex_meeting("started", m, "2026-11-25T10:00:00Z", "2026-11-25T11:00:00Z"),
        webex_meeting("ended", m, "2026-11-25T10:00:00Z", "2026-11-25T11:00:00Z"),
    ];
    for body in &deliveries {
        assert_eq!(s.webex(body).await.status(), 200);
    }
    let v = s.settled_session("webex", m).await;
    assert_eq!(v["platform"], "webex");
    assert_eq!(v["meeting_id"], m);
    assert_eq!(v["state"], "ended");
    assert_eq!(v["host_email"], "host@example.com");
    assert_eq!(v["started_at"], "2026-11-25T10:00:00Z");
    assert_eq!(v["ended_at"], "2026-11-25T11:00:00Z");
    // Person: a 30 + b 60 + c 10 = 100 min. Teleconference: c 10 + d 20 = 30 min.
    assert_eq!(
        v["usage"],
        json!({"person_seconds": 6000, "person_minutes": 100, "teleconference_seconds": 1800, "teleconference_minutes": 30, "connections": 4})
    );
    assert_eq!(
        v["cost"],
        json!({"currency": "USD", "person": "10.00", "teleconference": "7.50", "total": "17.50"})
    );
}

async fn the_sessions_api_needs_the_admin_token(db: Db) {
    let app = App::start(&db, &[]).await;
    let s = Sender::new(&app.base);
    assert_eq!(
        s.webex(&webex_meeting("started", "a/b c", "2026-11-25T10:00:00Z", "")).await.status(),
        200
    );
    let v = s.settled_session("webex", "a/b c").await;
    assert_eq!(v["meeting_id"], "a/b c", "percent-encoded ids round-trip");
    assert_eq!(v["state"], "running");
    let url = format!("{}/api/v1/sessions/webex/a%2Fb%20c", app.base);
    let get = |token: Option<&str>| {
        let mut r = s.client.get(&url);
        if let Some(t) = token {
            r = r.bearer_auth(t);
        }
        r.send()
    };
    assert_eq!(get(None).await.unwrap().status(), 401);
    assert_eq!(get(Some("wrong")).await.unwrap().status(), 401);
    assert_eq!(get(Some(ADMIN_TOKEN)).await.unwrap().status(), 200);
    let unknown = format!("{}/api/v1/sessions/webex/nope", app.base);
    assert_eq!(s.client.get(&unknown).bearer_auth(ADMIN_TOKEN).send().await.unwrap().status(), 404);
    let other = format!("{}/api/v1/sessions/teams/x", app.base);
    assert_eq!(s.client.get(&other).bearer_auth(ADMIN_TOKEN).send().await.unwrap().status(), 404);
}

async fn sessions_are_priced_with_the_prices_in_force_when_they_started(db: Db) {
    let app = App::start(&db, &[]).await;
    let s = Sender::new(&app.base);
    let start = Utc::now() - Duration::hours(1);
    let mut prices = app.store.prices_at(Utc::now()).await.unwrap();
    app.store.set_prices(&prices, start - Duration::days(1), PriceSource::Admin).await.unwrap();
    prices.person_minute = "9.99".parse().unwrap();
    app.store.set_prices(&prices, start + Duration::minutes(1), PriceSource::Admin).await.unwrap();
    let iso = |t: chrono::DateTime<Utc>| t.to_rfc3339();
    let m = "priced_I_1";
    s.webex(&webex_participant(
        "left",
        m,
        "a",
        json!([{"correlationId": "x", "deviceType": "mac", "audioType": "voip",
        "joinedTime": iso(start), "leftTime": iso(start + Duration::minutes(10))}]),
    ))
    .await;
    s.webex(&webex_meeting("started", m, &iso(start), &iso(start + Duration::minutes(10)))).await;
    s.webex(&webex_meeting("ended", m, &iso(start), &iso(start + Duration::minutes(10)))).await;
    let v = s.settled_session("webex", m).await;
    assert_eq!(v["cost"]["person"], "1.20", "10 min at the 0.12 in force at the start: {v}");
}

async fn a_database_that_goes_away_answers_503(db: Db) {
    let app = App::start(&db, &[]).await;
    let s = Sender::new(&app.base);
    assert_eq!(
        s.webex(&webex_meeting("started", "m_I_9", "2026-11-25T10:00:00Z", "")).await.status(),
        200
    );
    app.store.close().await;
    let r = s
        .webex(&webex_meeting("ended", "m_I_9", "2026-11-25T10:00:00Z", "2026-11-25T11:00:00Z"))
        .await;
    assert_eq!(r.status(), 503, "so that the platform retries");
}

async fn secrets_of_registered_hooks_verify_deliveries(db: Db) {
    let app = App::start(&db, &[]).await;
    let s = Sender::new(&app.base);
    let body = webex_meeting("started", "m_I_reg", "2026-11-25T10:00:00Z", "");
    let signature = tollbooth_core::platform::webex::sign("registered-secret", &body);
    let headers = [("x-spark-signature", signature.as_str())];
    let send = || s.raw("/webhooks/webex", &body, &headers);
    assert_eq!(send().await.status(), 401, "not registered yet");
    // `tollbooth register webhooks` stores the secret while the server runs.
    tokio::time::sleep(std::time::Duration::from_millis(1100)).await;
    let secret = secrecy::SecretString::from("registered-secret".to_owned());
    app.store.put_webhook_secret("webex", "hook-1", &secret).await.unwrap();
    assert_eq!(send().await.status(), 200, "read again after a bad signature");
}

/// Ingest with the backlog bounded at `most` and no applier running: stored deliveries stay
/// unapplied until the test applies them.
async fn ingest_without_applier(
    db: &Db,
    most: u64,
    longest_hold: std::time::Duration,
) -> (std::sync::Arc<dyn tollbooth_core::store::Store>, tollbooth_webhook::ingest::Ingest) {
    use tollbooth_webhook::health::Health;
    use tollbooth_webhook::ingest::{Backlog, Ingest};
    let store: std::sync::Arc<dyn tollbooth_core::store::Store> =
        std::sync::Arc::new(tollbooth_core::store::open(&db.url).await.unwrap());
    let (ingest, writer) =
        Ingest::with_backlog(store.clone(), Health::default(), Backlog { most, longest_hold });
    tokio::spawn(writer.run());
    (store, ingest)
}

fn stored_delivery(i: usize) -> tollbooth_core::store::NewDelivery {
    tollbooth_core::store::NewDelivery {
        platform: PlatformKind::Webex,
        digest: format!("backlog-{i}"),
        meeting_id: "m_backlog".into(),
        body: "{}".into(),
        received_at: Utc::now(),
        observations: None,
    }
}

async fn past_the_backlog_a_delivery_is_acknowledged_once_the_applier_catches_up(db: Db) {
    let hour = std::time::Duration::from_secs(3600);
    let (store, ingest) = ingest_without_applier(&db, 3, hour).await;
    for i in 0..4 {
        // One at a time, each counted afresh: within bounds until the fourth is stored.
        ingest.submit(stored_delivery(i)).await.unwrap();
        tokio::time::sleep(std::time::Duration::from_millis(60)).await;
    }
    let held = tokio::spawn({
        let ingest = ingest.clone();
        async move { ingest.submit(stored_delivery(4)).await }
    });
    tokio::time::sleep(std::time::Duration::from_millis(500)).await;
    assert!(!held.is_finished(), "four wait to be applied, more than three: the fifth is held");
    assert_eq!(store.unapplied_deliveries(100).await.unwrap(), 4, "and not stored yet");

    // The applier's part, done by hand: these bodies cannot be read, so they are set aside.
    for id in store.pending_deliveries(100).await.unwrap() {
        store.quarantine_delivery(id, "applied by the test").await.unwrap();
    }
    let answer = tokio::time::timeout(std::time::Duration::from_secs(10), held).await;
    assert_eq!(answer.expect("acknowledged once the backlog is gone").unwrap(), Ok(()));
    assert_eq!(store.unapplied_deliveries(100).await.unwrap(), 1, "the fifth, stored");
}

async fn past_the_backlog_a_delivery_held_too_long_is_stored_all_the_same(db: Db) {
    let (store, ingest) =
        ingest_without_applier(&db, 1, std::time::Duration::from_millis(200)).await;
    for i in 0..6 {
        let stored = tokio::time::timeout(
            std::time::Duration::from_secs(10),
            ingest.submit(stored_delivery(i)),
        );
        stored.await.expect("held at most 200 ms, then stored").unwrap();
        tokio::time::sleep(std::time::Duration::from_millis(60)).await;
    }
    assert_eq!(
        store.unapplied_deliveries(100).await.unwrap(),
        6,
        "a stalled applier slows acknowledgements down and turns nothing away"
    );
}
