//! The outbox on both backends: effects stored once per key, claimed under a lease by one
//! worker at a time, and direct messages delivered once through the Discord emulator even
//! when an attempt fails or its answer is lost.

use crate::common;
use crate::emulators;

use std::sync::Arc;

use chrono::{DateTime, Duration, Utc};
use secrecy::SecretString;
use tollbooth_core::config::DiscordConfig;
use tollbooth_core::fee_based;
use tollbooth_core::fee_based::registration::{self, Fee, Registration, ScheduledSession};
use tollbooth_core::money::Money;
use tollbooth_core::outbox::{Admit, ChatMessage, Effect, Link};
use tollbooth_core::payments::cashier::Cashier;
use tollbooth_core::payments::gateway::Gateways;
use tollbooth_core::payments::order::Order;
use tollbooth_core::platform::PlatformKind;
use tollbooth_core::platform::Platforms;
use tollbooth_core::reach::Channels;
use tollbooth_core::store::{self, OutboxStore, RegistrationStore, Store};

use tollbooth_webhook::outbox::Deliverers;

use common::Db;
use emulators::discord::{DiscordEmulator, Fault, TOKEN};

fn dm(text: &str) -> Effect {
    Effect::ChatMessage(ChatMessage {
        discord_user_id: 4242,
        text: text.into(),
        link: Some(Link { label: "Pay".into(), url: "https://pay.example.com/pay/t".into() }),
    })
}

on_both_backends!(
    an_effect_is_stored_once_per_key,
    a_leased_effect_is_claimed_by_one_worker_until_its_lease_ends,
    a_lease_taken_over_cannot_be_renewed_nor_marked_by_its_first_holder,
    a_message_is_delivered_once_across_a_failure_and_a_lost_answer,
    an_effect_taken_over_by_another_worker_is_not_delivered_by_the_first,
    an_admit_for_a_registration_refunded_meanwhile_calls_no_platform,
);

async fn an_effect_is_stored_once_per_key(db: Db) {
    let s = store::open(&db.url).await.unwrap();
    assert!(s.enqueue("receipt/ord_1", &dm("one")).await.unwrap());
    assert!(
        !s.enqueue("receipt/ord_1", &dm("again")).await.unwrap(),
        "a duplicate changes nothing"
    );
    let now = Utc::now();
    let claimed = s.claim("w1", now, now + Duration::seconds(60), 10).await.unwrap();
    assert_eq!(claimed.len(), 1);
    assert_eq!(claimed[0].effect, dm("one"));
    assert_eq!(claimed[0].attempts, 1);
}

async fn a_leased_effect_is_claimed_by_one_worker_until_its_lease_ends(db: Db) {
    let s = store::open(&db.url).await.unwrap();
    for n in 0..5 {
        s.enqueue(&format!("k{n}"), &dm("x")).await.unwrap();
    }
    let now = Utc::now();
    let lease = now + Duration::seconds(60);
    // Two instances claiming at the same moment split the work; neither gets a row twice.
    let (a, b) = tokio::join!(s.claim("a", now, lease, 5), s.claim("b", now, lease, 5));
    let (a, b) = (a.unwrap(), b.unwrap());
    assert_eq!(a.len() + b.len(), 5, "a: {a:?}, b: {b:?}");
    assert!(a.iter().all(|x| b.iter().all(|y| x.id != y.id)));
    assert!(s.claim("c", now, lease, 5).await.unwrap().is_empty(), "all leased");

    let (mine, theirs) = if a.is_empty() { (&b, "a") } else { (&a, "b") };
    let first = &mine[0];
    let worker = if a.is_empty() { "b" } else { "a" };
    assert!(!s.mark_sent(first.id, theirs, now).await.unwrap(), "only the lease holder marks");
    assert!(s.mark_sent(first.id, worker, now).await.unwrap());
    assert!(s.sent_at(&first.key).await.unwrap().is_some());
    // Once the leases run out (a worker died), another worker takes the rest over.
    let later = lease + Duration::seconds(1);
    let rest = s.claim("c", later, later + Duration::seconds(60), 10).await.unwrap();
    assert_eq!(rest.len(), 4);
    assert!(rest.iter().all(|c| c.attempts == 2));

    let failed = &rest[0];
    s.mark_failed(failed.id, "c", "discord said 500", later + Duration::seconds(5)).await.unwrap();
    let not_yet = s.claim("d", later, later + Duration::seconds(60), 10).await.unwrap();
    assert!(not_yet.is_empty(), "failed one waits for its retry time, others are leased");
    let retry = later + Duration::seconds(5);
    let again = s.claim("d", retry, retry + Duration::seconds(60), 10).await.unwrap();
    assert_eq!(again.iter().map(|c| c.id).collect::<Vec<_>>(), [failed.id]);
}

/// A worker whose lease ran out (it was slow, not dead) and whose effect another worker then
/// claimed can neither extend that lease nor record an outcome over the new holder's.
async fn a_lease_taken_over_cannot_be_renewed_nor_marked_by_its_first_holder(db: Db) {
    let s = store::open(&db.url).await.unwrap();
    s.enqueue("receipt/ord_1", &dm("x")).await.unwrap();
    let now = Utc::now();
    let a = s.claim("a", now, now + Duration::seconds(60), 1).await.unwrap();
    let id = a[0].id;
    assert!(s.renew_lease(id, "a", now + Duration::seconds(30)).await.unwrap(), "still a's");

    let later = now + Duration::seconds(31);
    let b = s.claim("b", later, later + Duration::seconds(60), 1).await.unwrap();
    assert_eq!(b.iter().map(|c| c.id).collect::<Vec<_>>(), [id], "a's renewed lease ran out");
    assert!(!s.renew_lease(id, "a", later + Duration::seconds(600)).await.unwrap());
    assert!(!s.mark_sent(id, "a", later).await.unwrap(), "a no longer holds it");
    assert_eq!(s.sent_at("receipt/ord_1").await.unwrap(), None);
    assert!(!s.mark_failed(id, "a", "timed out", later).await.unwrap());
    let none = s.claim("c", later, later + Duration::seconds(60), 1).await.unwrap();
    assert!(none.is_empty(), "a's failure did not release b's lease");

    let sent = DateTime::from_timestamp_millis(later.timestamp_millis() + 1000).unwrap();
    assert!(s.renew_lease(id, "b", sent).await.unwrap());
    assert!(s.mark_sent(id, "b", sent).await.unwrap());
    assert!(!s.mark_sent(id, "a", sent + Duration::seconds(1)).await.unwrap());
    assert!(!s.renew_lease(id, "b", sent + Duration::seconds(60)).await.unwrap(), "sent");
    assert_eq!(s.sent_at("receipt/ord_1").await.unwrap(), Some(sent), "b's record stands");
}

/// Deliverers for direct messages through the Discord emulator.
fn discord_deliverers(s: &store::SqlStore, discord: &DiscordEmulator) -> Deliverers {
    let http = tollbooth_bot::api::http(&DiscordConfig {
        token: Some(SecretString::from(TOKEN)),
        api_base: discord.base.parse().unwrap(),
        ..DiscordConfig::default()
    })
    .unwrap();
    Deliverers {
        discord: Some(Arc::new(http)),
        platforms: Platforms::default(),
        cashier: Cashier::new(
            Arc::new(s.clone()),
            Gateways::default(),
            tollbooth_core::when_paid(Channels::default(), Default::default()),
        ),
        mail: None,
        webex_bot: None,
        links: crate::common::links(),
        offers: common::offers(),
    }
}

async fn a_message_is_delivered_once_across_a_failure_and_a_lost_answer(db: Db) {
    let s = store::open(&db.url).await.unwrap();
    let discord = DiscordEmulator::start().await;
    discord.state().faults.extend([Fault::Fail, Fault::LoseAnswer]);
    s.enqueue("pay-link/ord_1", &dm("Your pay link")).await.unwrap();
    let deliverers = discord_deliverers(&s, &discord);
    let store: &dyn Store = &s;
    let run = |at| tollbooth_webhook::outbox::run_once(store, &deliverers, "w", at);

    let now = Utc::now();
    assert_eq!(run(now).await.unwrap(), 0, "500: nothing posted");
    assert!(discord.state().messages.is_empty());
    assert_eq!(run(now).await.unwrap(), 0, "not due again yet");
    let retry = now + Duration::seconds(6);
    assert_eq!(run(retry).await.unwrap(), 0, "posted, but the answer was lost");
    assert_eq!(discord.state().messages.len(), 1);
    let retry = retry + Duration::seconds(11);
    assert_eq!(run(retry).await.unwrap(), 1, "the retry is recognised by its nonce");
    assert_eq!(run(retry + Duration::hours(1)).await.unwrap(), 0, "sent effects stay sent");

    let messages = discord.state().messages.clone();
    assert_eq!(messages.len(), 1, "delivered once: {messages:?}");
    assert_eq!(messages[0].channel_id, "74242", "the DM channel opened for the user");
    let body = &messages[0].body;
    assert_eq!(body["content"], "Your pay link");
    assert_eq!(body["components"][0]["components"][0]["url"], "https://pay.example.com/pay/t");
    assert!(s.sent_at("pay-link/ord_1").await.unwrap().is_some());
}

/// A worker claims two messages, then takes longer than its lease on the batch before reaching
/// them (earlier deliveries were slow); meanwhile another instance claimed the first. The first
/// worker delivers only the one it still holds, so the taken-over message is sent once, by its
/// new holder.
async fn an_effect_taken_over_by_another_worker_is_not_delivered_by_the_first(db: Db) {
    let s = store::open(&db.url).await.unwrap();
    let discord = DiscordEmulator::start().await;
    s.enqueue("pay-link/ord_1", &dm("taken over")).await.unwrap();
    s.enqueue("pay-link/ord_2", &dm("still mine")).await.unwrap();
    let deliverers = discord_deliverers(&s, &discord);

    let now = Utc::now();
    let claimed = s.claim("w", now, now + Duration::seconds(60), 10).await.unwrap();
    assert_eq!(claimed.len(), 2);
    let later = now + Duration::seconds(61);
    let other = s.claim("other", later, later + Duration::seconds(60), 1).await.unwrap();
    assert_eq!(other.iter().map(|c| c.key.as_str()).collect::<Vec<_>>(), ["pay-link/ord_1"]);

    let delivered =
        tollbooth_webhook::outbox::deliver_claimed(&s, &deliverers, "w", claimed, later).await;
    assert_eq!(delivered.unwrap(), 1);
    let texts: Vec<_> =
        discord.state().messages.iter().map(|m| m.body["content"].clone()).collect();
    assert_eq!(texts, ["still mine"], "the taken-over message was left to its new holder");
    assert_eq!(s.sent_at("pay-link/ord_1").await.unwrap(), None);
    assert!(s.sent_at("pay-link/ord_2").await.unwrap().is_some());

    // Its new holder delivers it.
    let delivered =
        tollbooth_webhook::outbox::deliver_claimed(&s, &deliverers, "other", other, later).await;
    assert_eq!(delivered.unwrap(), 1);
    assert_eq!(discord.state().messages.len(), 2, "each message sent once");
}

/// The host cancelled while the attendee's admission was queued: the worker drops it instead of
/// adding someone to a deleted meeting (no platform client is configured here, so a call would
/// fail and be retried for ever).
async fn an_admit_for_a_registration_refunded_meanwhile_calls_no_platform(db: Db) {
    let s = store::open(&db.url).await.unwrap();
    let fee = Money::parse_exact("25.00", "USD".parse().unwrap()).unwrap();
    let session = ScheduledSession {
        platform: PlatformKind::Zoom,
        meeting_id: "85746065432".into(),
        title: "Rust for payments".into(),
        host_email: "host@example.com".into(),
        starts_at: Utc::now() + Duration::days(7),
        minutes: 60,
        join_url: "https://zoom.us/j/85746065432".into(),
        start_url: "https://zoom.us/s/85746065432".into(),
        fee: Some(Fee { amount: fee, capacity: None, deadline: None }),
        cancelled_at: None,
    };
    s.save_scheduled(&session).await.unwrap();
    let attendee = registration::attendee("Ada", "Lovelace", "ada@example.com").unwrap();
    let order = Order::for_registration(session.key(), attendee.email.clone(), fee);
    let r = Registration::new(&session, 7, attendee, order.id.clone());
    s.register(&r, &order).await.unwrap();
    fee_based::service::cancel_session(
        &s,
        PlatformKind::Zoom,
        &session.meeting_id,
        Utc::now(),
        Channels::default(),
    )
    .await
    .unwrap();
    // Only the admission is to be due: the cancellation's own effects are claimed out of the way.
    let now = Utc::now();
    s.claim("other", now, now + Duration::seconds(600), 10).await.unwrap();
    let admit = Admit {
        registration: r.id.to_string(),
        platform: PlatformKind::Zoom,
        meeting_id: session.meeting_id.clone(),
        host_email: session.host_email.clone(),
        first_name: "Ada".into(),
        last_name: "Lovelace".into(),
        email: "ada@example.com".into(),
        seat: None,
    };
    s.enqueue(&format!("admit:{}", r.id), &Effect::Admit(admit)).await.unwrap();
    let deliverers = Deliverers {
        discord: None,
        platforms: Platforms::default(),
        cashier: Cashier::new(
            Arc::new(s.clone()),
            Gateways::default(),
            tollbooth_core::when_paid(Channels::default(), Default::default()),
        ),
        mail: None,
        webex_bot: None,
        links: crate::common::links(),
        offers: common::offers(),
    };
    let later = now + Duration::seconds(1);
    let delivered = tollbooth_webhook::outbox::run_once(&s, &deliverers, "w", later).await;
    assert_eq!(delivered.unwrap(), 1, "done, without calling Zoom");
}
