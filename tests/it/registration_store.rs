//! Registrations in the store, on SQLite and PostgreSQL: what a paid registration order does
//! inside the payment's own transaction (seats, refunds, effects), concurrent payments for the
//! last seats, reuse of an open registration, and cancelling.

use crate::common;
use tollbooth_core::fee_based;
use tollbooth_core::payments::service::record_transition;

use chrono::{Duration, Utc};
use tollbooth_core::fee_based::registration::{
    self, Fee, Registration, RegistrationState as S, ScheduledSession,
};
use tollbooth_core::money::Money;
use tollbooth_core::outbox::Effect;
use tollbooth_core::payments::order::Order;
use tollbooth_core::payments::payment::{Applied, CaptureLimit, Event, Payment};
use tollbooth_core::platform::PlatformKind;
use tollbooth_core::platform::control::Registrant;
use tollbooth_core::reach::Channels;
use tollbooth_core::store::{
    self, OutboxStore, PaymentStore, Registered, RegistrationStore, SqlStore, StoreError,
};

use common::Db;

on_both_backends!(
    concurrent_payments_for_the_last_seats_admit_capacity_and_refund_the_rest,
    a_second_payment_and_a_replayed_one_are_told_apart,
    an_open_registration_is_reused_even_when_registering_twice_at_once,
    a_fee_is_fixed_once_someone_registered,
    cancelling_refunds_paid_closes_unpaid_and_is_idempotent,
    a_payment_after_the_deadline_is_refunded_with_the_reason,
    an_e_mail_is_open_for_one_attendee_per_session_whatever_its_case,
);

const MEETING: &str = "85746065432";

fn usd(s: &str) -> Money {
    Money::parse_exact(s, "USD".parse().unwrap()).unwrap()
}

fn session(capacity: Option<u32>) -> ScheduledSession {
    ScheduledSession {
        platform: PlatformKind::Zoom,
        meeting_id: MEETING.into(),
        title: "Rust for payments".into(),
        host_email: "host@example.com".into(),
        starts_at: Utc::now() + Duration::days(7),
        minutes: 60,
        join_url: format!("https://zoom.us/j/{MEETING}"),
        start_url: format!("https://zoom.us/s/{MEETING}"),
        fee: Some(Fee { amount: usd("25.00"), capacity, deadline: None }),
        cancelled_at: None,
    }
}

async fn open(db: &Db, capacity: Option<u32>) -> SqlStore {
    let s = store::open(&db.url).await.unwrap();
    s.save_scheduled(&session(capacity)).await.unwrap();
    s
}

/// Registers Discord user `user` and returns the registration.
async fn register(s: &SqlStore, user: u64) -> Registration {
    let session = session(None);
    let email = format!("a{user}@example.com");
    let order = Order::for_registration(session.key(), email.clone(), usd("25.00"));
    let attendee = registration::attendee("A", "Tester", &email).unwrap();
    let r = Registration::new(&session, user, attendee, order.id.clone());
    match s.register(&r, &order).await.unwrap() {
        Registered::New(r) => r,
        Registered::Existing(r) => panic!("not new: {r:?}"),
    }
}

/// A payment for the registration's order, sold at the gateway: the transition the cashier
/// records when the gateway confirms it, with what the features decide about it.
async fn pay(s: &SqlStore, r: &Registration) -> Payment {
    let order = s.order(&r.order_id).await.unwrap().unwrap();
    let created = s.create_payment(&order, "sandbox").await.unwrap();
    let event = Event::Sold { reference: format!("ref-{}", created.id), amount: order.amount };
    let Ok(Applied::Changed(next)) = created.apply(&event, CaptureLimit::Authorised) else {
        panic!()
    };
    let when_paid = tollbooth_core::when_paid(Channels::default(), Default::default());
    assert!(record_transition(s, &when_paid, &created, &next, &event).await.unwrap());
    *next
}

async fn state(s: &SqlStore, r: &Registration) -> S {
    s.registration(&r.id).await.unwrap().unwrap().state
}

/// Every queued effect's key.
async fn queued(s: &SqlStore) -> Vec<(String, Effect)> {
    let now = Utc::now();
    let mut claimed = s.claim("test", now, now + Duration::seconds(60), 100).await.unwrap();
    claimed.sort_by(|a, b| a.key.cmp(&b.key));
    claimed.into_iter().map(|c| (c.key, c.effect)).collect()
}

async fn concurrent_payments_for_the_last_seats_admit_capacity_and_refund_the_rest(db: Db) {
    let s = open(&db, Some(2)).await;
    let mut regs = Vec::new();
    for user in 1..=5 {
        regs.push(register(&s, user).await);
    }
    let payments = futures_util::future::join_all(regs.iter().map(|r| pay(&s, r))).await;
    let mut states = Vec::new();
    for r in &regs {
        states.push(state(&s, r).await);
    }
    assert_eq!(states.iter().filter(|st| **st == S::Paid).count(), 2, "{states:?}");
    assert_eq!(states.iter().filter(|st| **st == S::Refunded).count(), 3, "{states:?}");
    assert_eq!(s.seats_taken(PlatformKind::Zoom, MEETING, Utc::now(), None).await.unwrap(), 2);

    let effects = queued(&s).await;
    let admits = effects.iter().filter(|(_, e)| matches!(e, Effect::Admit(_))).count();
    let refunds: Vec<&str> = effects
        .iter()
        .filter_map(|(_, e)| match e {
            Effect::Refund(r) => Some(r.payment.as_str()),
            _ => None,
        })
        .collect();
    assert_eq!(admits, 2);
    assert_eq!(refunds.len(), 3);
    for (r, p) in regs.iter().zip(&payments) {
        let refunded = refunds.contains(&p.id.as_str());
        assert_eq!(refunded, state(&s, r).await == S::Refunded, "the refused payment is refunded");
    }
}

async fn a_second_payment_and_a_replayed_one_are_told_apart(db: Db) {
    let s = open(&db, None).await;
    let r = register(&s, 1).await;
    let first = pay(&s, &r).await;
    let second = pay(&s, &r).await;
    assert_eq!(state(&s, &r).await, S::Paid);
    let stored = s.registration(&r.id).await.unwrap().unwrap();
    assert_eq!(stored.payment_id.as_deref(), Some(first.id.as_str()));
    let keys: Vec<String> = queued(&s).await.into_iter().map(|(k, _)| k).collect();
    assert_eq!(
        keys,
        [
            format!("admit:{}", r.id),
            format!("refund:{}", second.id),
            format!("second:{}", second.id)
        ]
    );

    // The platform approved the registrant: approved, and the join link queued once.
    let registrant =
        Registrant { id: "rg1".into(), join_url: Some("https://zoom.us/w/1?tk=a".into()) };
    fee_based::service::registrant_admitted(
        &s,
        &r.id,
        &registrant,
        Channels::default(),
        &crate::common::links(),
    )
    .await
    .unwrap();
    fee_based::service::registrant_admitted(
        &s,
        &r.id,
        &registrant,
        Channels::default(),
        &crate::common::links(),
    )
    .await
    .unwrap();
    let stored = s.registration(&r.id).await.unwrap().unwrap();
    assert_eq!(
        (stored.state, stored.join_url.as_deref()),
        (S::Approved, Some("https://zoom.us/w/1?tk=a"))
    );
    let joined = queued(&s).await;
    assert_eq!(joined.len(), 1, "{joined:?}");
    let Effect::ChatMessage(m) = &joined[0].1 else { panic!("{joined:?}") };
    assert!(
        m.text.contains("25.00 USD") && m.text.contains(&format!("ref-{}", first.id)),
        "{}",
        m.text
    );
    assert_eq!(m.link.as_ref().unwrap().url, "https://zoom.us/w/1?tk=a");
}

async fn an_open_registration_is_reused_even_when_registering_twice_at_once(db: Db) {
    let s = open(&db, None).await;
    let session = session(None);
    let attempt = || {
        let order = Order::for_registration(session.key(), "a@example.com".into(), usd("25.00"));
        let attendee = registration::attendee("A", "Tester", "a@example.com").unwrap();
        let r = Registration::new(&session, 9, attendee, order.id.clone());
        let s = s.clone();
        async move { s.register(&r, &order).await.unwrap() }
    };
    let (a, b) = tokio::join!(attempt(), attempt());
    let ids: Vec<_> = [a, b]
        .into_iter()
        .map(|r| match r {
            Registered::New(r) | Registered::Existing(r) => r.order_id,
        })
        .collect();
    assert_eq!(ids[0], ids[1], "one order for both");
    assert_eq!(s.registrations_of(9).await.unwrap().len(), 1);
    let again = attempt().await;
    assert!(matches!(again, Registered::Existing(_)));
}

async fn a_fee_is_fixed_once_someone_registered(db: Db) {
    let s = open(&db, None).await;
    let fee = Fee { amount: usd("30.00"), capacity: Some(10), deadline: None };
    s.set_fee(PlatformKind::Zoom, MEETING, &fee).await.unwrap();
    let stored = s.scheduled(PlatformKind::Zoom, MEETING).await.unwrap().unwrap();
    assert_eq!(stored.fee, Some(fee.clone()));
    assert!(!s.fee_is_fixed(PlatformKind::Zoom, MEETING).await.unwrap());
    let r = register(&s, 1).await;
    assert!(s.fee_is_fixed(PlatformKind::Zoom, MEETING).await.unwrap(), "once unpaid");
    let refused = s.set_fee(PlatformKind::Zoom, MEETING, &fee).await.unwrap_err();
    assert!(
        matches!(&refused, StoreError::Invalid(why) if why.contains("attendees have registered"))
    );
    pay(&s, &r).await;
    assert!(s.set_fee(PlatformKind::Zoom, MEETING, &fee).await.is_err(), "nor once paid");
    let unknown = s.set_fee(PlatformKind::Webex, MEETING, &fee).await.unwrap_err();
    assert!(matches!(unknown, StoreError::NotFound(_)));
}

async fn cancelling_refunds_paid_closes_unpaid_and_is_idempotent(db: Db) {
    let s = open(&db, None).await;
    let paid = register(&s, 1).await;
    let payment = pay(&s, &paid).await;
    let unpaid = register(&s, 2).await;
    queued(&s).await;
    let done = fee_based::service::cancel_session(
        &s,
        PlatformKind::Zoom,
        MEETING,
        Utc::now(),
        Channels::default(),
    )
    .await
    .unwrap();
    assert_eq!((done.refunds, done.closed, done.now), (1, 1, true));
    assert_eq!((state(&s, &paid).await, state(&s, &unpaid).await), (S::Refunded, S::Cancelled));
    let keys: Vec<String> = queued(&s).await.into_iter().map(|(k, _)| k).collect();
    assert_eq!(
        keys,
        [
            format!("cancel:zoom:{MEETING}"),
            format!("cancelled:{}", paid.id),
            format!("refund:{}", payment.id)
        ]
    );
    let again = fee_based::service::cancel_session(
        &s,
        PlatformKind::Zoom,
        MEETING,
        Utc::now(),
        Channels::default(),
    )
    .await
    .unwrap();
    assert_eq!((again.refunds, again.closed, again.now), (0, 0, false));
    // The unpaid attendee pays after all: refunded, with the reason.
    let late = pay(&s, &unpaid).await;
    assert_eq!(state(&s, &unpaid).await, S::Refunded);
    let keys: Vec<String> = queued(&s).await.into_iter().map(|(k, _)| k).collect();
    assert_eq!(keys, [format!("refund:{}", late.id), format!("refused:{}", unpaid.id)]);
}

async fn a_payment_after_the_deadline_is_refunded_with_the_reason(db: Db) {
    let s = open(&db, None).await;
    // Registered just before the deadline (set here as already passed), paid after it.
    let deadline = Some(Utc::now() - Duration::minutes(1));
    let fee = Fee { amount: usd("25.00"), capacity: None, deadline };
    s.set_fee(PlatformKind::Zoom, MEETING, &fee).await.unwrap();
    // A Norwegian attendee: the reason is stored in English, told in Norwegian.
    let session = session(None);
    let order = Order::for_registration(session.key(), "a@example.com".into(), usd("25.00"));
    let attendee = registration::attendee("A", "Tester", "a@example.com").unwrap();
    let r =
        Registration::new(&session, 1, attendee, order.id.clone()).in_language(common::norwegian());
    s.register(&r, &order).await.unwrap();
    let late = pay(&s, &r).await;
    let stored = s.registration(&r.id).await.unwrap().unwrap();
    assert_eq!((stored.state, stored.lang), (S::Refunded, common::norwegian()));
    assert_eq!(stored.reason.as_deref(), Some("registration for the session has closed"));
    let effects = queued(&s).await;
    assert_eq!(effects[0].0, format!("refund:{}", late.id));
    let Effect::ChatMessage(told) = &effects[1].1 else { panic!("{effects:?}") };
    assert!(told.text.contains("registreringen til økten er stengt"), "{}", told.text);
    assert_eq!(told.discord_user_id, 1);
}

async fn an_e_mail_is_open_for_one_attendee_per_session_whatever_its_case(db: Db) {
    let s = open(&db, None).await;
    let attempt = |user: u64, email: &'static str| {
        let s = &s;
        async move {
            let session = session(None);
            let order = Order::for_registration(session.key(), email.into(), usd("25.00"));
            let attendee = registration::attendee("A", "Tester", email).unwrap();
            let r = Registration::new(&session, user, attendee, order.id.clone());
            s.register(&r, &order).await
        }
    };
    let Ok(Registered::New(first)) = attempt(1, "Ada@Example.com").await else { panic!() };
    // Another attendee with the same address, written differently: refused, nothing stored.
    match attempt(2, "ada@example.COM").await {
        Err(StoreError::EmailTaken { session, email }) => {
            assert_eq!((session.as_str(), email.as_str()), ("zoom/85746065432", "ada@example.com"))
        }
        other => panic!("{other:?}"),
    }
    // Beyond ASCII too, on both backends alike (SQLite's lower() folds only ASCII; D-166).
    assert!(matches!(attempt(4, "ÅSE@Example.no").await, Ok(Registered::New(_))));
    assert!(matches!(attempt(5, "åse@example.no").await, Err(StoreError::EmailTaken { .. })));
    assert!(s.registrations_of(2).await.unwrap().is_empty());
    // The first attendee registering again still gets their own registration and order.
    let Ok(Registered::Existing(again)) = attempt(1, "ada@example.com").await else { panic!() };
    assert_eq!((again.id, again.order_id), (first.id.clone(), first.order_id.clone()));
    // With their own address the second attendee registers.
    assert!(matches!(attempt(2, "bob@example.com").await, Ok(Registered::New(_))));
    // A closed registration holds its address no longer.
    fee_based::service::cancel_session(
        &s,
        PlatformKind::Zoom,
        MEETING,
        Utc::now(),
        Channels::default(),
    )
    .await
    .unwrap();
    assert_eq!(state(&s, &first).await, S::Cancelled);
    assert!(matches!(attempt(3, "ADA@example.com").await, Ok(Registered::New(_))));
}
