//! Waiting lists on SQLite and PostgreSQL: a full session takes registrations for its line, a
//! freed seat is offered to the first in line and held for them, an offer that runs out passes
//! on, a payment after its offer ran out is refunded unless a seat is free, and however
//! payments, leavers and sweeps interleave, no more seats are held than the session has.

use crate::common;
use crate::fee_based::{content, eventually, world};
use tollbooth_core::fee_based;
use tollbooth_core::payments::service::record_transition;

use chrono::{Duration, SubsecRound, Utc};
use rust_decimal::Decimal;
use serde_json::{Value, json};
use tollbooth_core::fee_based::refunds::CancellationTerms;
use tollbooth_core::fee_based::registration::{
    Fee, Registration, RegistrationState as S, ScheduledSession,
};
use tollbooth_core::fee_based::service::{Asking, Left, RefundOutcome, Refunds, Registering};
use tollbooth_core::fee_based::waiting::{self, Line};
use tollbooth_core::lang::Lang;
use tollbooth_core::money::Money;
use tollbooth_core::outbox::Effect;
use tollbooth_core::payments::payment::{Applied, CaptureLimit, Event, Payment};
use tollbooth_core::platform::PlatformKind;
use tollbooth_core::store::{
    self, OutboxStore, PaymentStore, RegistrationStore, SiteStore, SqlStore,
};

use common::Db;
use common::chat::{MEMBER, click, command, dms, interaction, respond, sub};

on_both_backends!(
    a_full_sessions_first_offer_runs_out_and_the_second_in_line_pays_and_is_admitted,
    twenty_payers_cancellers_leavers_and_lapsing_offers_never_hold_more_than_the_last_two_seats,
    groups_and_singles_paying_at_once_for_the_last_three_seats_never_hold_more,
    a_full_session_in_chat_offers_its_line_says_the_place_and_lets_one_leave,
    a_seat_the_platform_gives_back_is_offered_in_chat_and_paid_through_its_link,
);

fn usd(s: &str) -> Money {
    Money::parse_exact(s, "USD".parse().unwrap()).unwrap()
}

fn session(meeting: &str, capacity: u32) -> ScheduledSession {
    ScheduledSession {
        platform: PlatformKind::Zoom,
        meeting_id: meeting.into(),
        title: "Rust for payments".into(),
        host_email: "host@example.com".into(),
        starts_at: Utc::now() + Duration::days(7),
        minutes: 60,
        join_url: format!("https://zoom.us/j/{meeting}"),
        start_url: format!("https://zoom.us/s/{meeting}"),
        fee: Some(Fee { amount: usd("25.00"), capacity: Some(capacity), deadline: None }),
        cancelled_at: None,
    }
}

async fn open(db: &Db) -> SqlStore {
    let s = store::open(&db.url).await.unwrap();
    let prices = tollbooth_core::pricing::Prices {
        currency: "USD".parse().unwrap(),
        person_minute: "0.12".parse().unwrap(),
        teleconference_minute: "0.05".parse().unwrap(),
    };
    s.apply_config("US".parse().unwrap(), tollbooth_core::time::Tz::UTC, &prices).await.unwrap();
    s.set_switches(store::Switches {
        ecommerce_enabled: true,
        pay_per_use_enabled: false,
        fee_based_enabled: true,
    })
    .await
    .unwrap();
    s
}

/// `/register` by Discord user `user` for `meeting`, through the service.
async fn register(s: &SqlStore, meeting: &str, user: u64) -> Registering {
    register_seats(s, meeting, user, 1).await
}

/// `/register seats:N` by Discord user `user` for `meeting`, with `seats - 1` guests.
async fn register_seats(s: &SqlStore, meeting: &str, user: u64, seats: u32) -> Registering {
    let guests = (2..=seats)
        .map(|seat| tollbooth_core::platform::control::Attendee {
            first_name: "Guest".into(),
            last_name: format!("Seat{seat}"),
            email: format!("g{user}-{seat}@example.com"),
        })
        .collect();
    let asking = Asking {
        session: format!("zoom/{meeting}"),
        first_name: "A".into(),
        last_name: format!("Tester{user}"),
        email: format!("a{user}@example.com"),
        code: None,
        discord_user_id: user,
        lang: Lang::En,
        guests,
        max_seats: 10,
    };
    let (vat, reach) = (Default::default(), Default::default());
    fee_based::service::register(s, &asking, &vat, reach, Utc::now()).await.unwrap()
}

/// A payment of the registration's order, sold at the gateway, with what the features decide.
async fn pay(s: &SqlStore, r: &Registration) -> Payment {
    let order = s.order(&r.order_id).await.unwrap().unwrap();
    let created = s.create_payment(&order, "sandbox").await.unwrap();
    let event = Event::Sold { reference: format!("ref-{}", created.id), amount: order.amount };
    let Ok(Applied::Changed(next)) = created.apply(&event, CaptureLimit::Authorised) else {
        panic!()
    };
    let when_paid = tollbooth_core::when_paid(Default::default(), Default::default());
    // Another writer applying first makes this `false`; these payments are each their own.
    assert!(record_transition(s, &when_paid, &created, &next, &event).await.unwrap());
    *next
}

async fn now_of(s: &SqlStore, r: &Registration) -> Registration {
    s.registration(&r.id).await.unwrap().unwrap()
}

/// The effects queued so far, by key.
async fn queued(s: &SqlStore) -> Vec<(String, Effect)> {
    let now = Utc::now();
    let claimed = s.claim("test", now, now + Duration::seconds(60), 1000).await.unwrap();
    claimed.into_iter().map(|c| (c.key, c.effect)).collect()
}

async fn a_full_sessions_first_offer_runs_out_and_the_second_in_line_pays_and_is_admitted(db: Db) {
    let s = open(&db).await;
    let meeting = "85746065001";
    s.save_scheduled(&session(meeting, 1)).await.unwrap();
    let offers = common::offers();

    // Ada takes the one seat.
    let Registering::Pay { registration: ada, held_until: None, .. } =
        register(&s, meeting, 1).await
    else {
        panic!("a free seat is paid for")
    };
    pay(&s, &ada).await;
    assert_eq!(now_of(&s, &ada).await.state, S::Paid);

    // Bob and Cy find it full and join its line, in order of asking.
    let mut line = Vec::new();
    for user in [2, 3] {
        let Registering::Full { registration, .. } = register(&s, meeting, user).await else {
            panic!("the session is full")
        };
        let joined =
            fee_based::service::join_waiting_list(&s, &registration.id, user, Utc::now(), &offers)
                .await
                .unwrap();
        let Some(Registering::InLine { place, .. }) = joined else { panic!("{joined:?}") };
        assert_eq!(place, user as u32 - 1);
        line.push(registration);
    }
    let (bob, cy) = (&line[0], &line[1]);
    assert!(
        matches!(register(&s, meeting, 3).await, Registering::InLine { place: 2, .. }),
        "asking again says the place"
    );
    // Only the owner may move a registration in line.
    let stranger = fee_based::service::leave_waiting_list(&s, &bob.id, 99, Utc::now(), &offers);
    assert_eq!(stranger.await.unwrap(), Left::NotInLine);

    // The platform refuses Ada (on main, what gives a seat back): the seat goes to Bob, held
    // for 24 hours from a moment a day ago, so it has run out by now.
    // Stored to the millisecond.
    let a_day_ago = (Utc::now() - Duration::hours(25)).trunc_subsecs(3);
    fee_based::service::registrant_refused(&s, &ada.id, &offers, a_day_ago).await.unwrap();
    let bob_now = now_of(&s, bob).await;
    assert_eq!(bob_now.offer_until, Some(a_day_ago + Duration::hours(24)));
    let effects = queued(&s).await;
    let offer = effects
        .iter()
        .find(|(k, _)| k.starts_with(&format!("offer:{}", bob.id)))
        .unwrap_or_else(|| panic!("Bob is offered the seat: {effects:?}"));
    let Effect::ChatMessage(told) = &offer.1 else { panic!("{offer:?}") };
    assert!(told.text.contains("A seat is free in **Rust for payments**"), "{}", told.text);
    assert!(told.link.as_ref().unwrap().url.contains("/pay/"), "with the pay link");
    assert!(effects.iter().all(|(k, _)| !k.contains(&cy.id.to_string())), "not Cy yet");

    // The sweep passes Bob's run-out offer on to Cy; a second sweep (another instance) finds
    // nothing left to do.
    let now = Utc::now();
    assert_eq!(fee_based::service::expire_offers(&s, &offers, now).await.unwrap(), 1);
    assert_eq!(fee_based::service::expire_offers(&s, &offers, now).await.unwrap(), 0);
    assert_eq!(waiting::line(&now_of(&s, bob).await, now), Line::Out);
    assert!(matches!(waiting::line(&now_of(&s, cy).await, now), Line::Offered { .. }));
    let effects = queued(&s).await;
    let keys: Vec<&str> = effects.iter().map(|(k, _)| k.as_str()).collect();
    assert!(keys.iter().any(|k| k.starts_with(&format!("lapsed:{}", bob.id))), "{keys:?}");
    assert!(keys.iter().any(|k| k.starts_with(&format!("offer:{}", cy.id))), "{keys:?}");
    let held = s.seats_taken(PlatformKind::Zoom, meeting, now, None).await.unwrap();
    assert_eq!(held, 1, "Cy's offer holds the seat");

    // Bob pays after his offer ran out: the seat is Cy's, so he is refunded.
    let late = pay(&s, bob).await;
    assert_eq!(now_of(&s, bob).await.state, S::Refunded);
    let effects = queued(&s).await;
    assert!(effects.iter().any(|(k, _)| *k == format!("refund:{}", late.id)), "{effects:?}");

    // Cy pays within hers and is admitted: one registrant on the platform is queued.
    pay(&s, cy).await;
    assert_eq!(now_of(&s, cy).await.state, S::Paid);
    let effects = queued(&s).await;
    assert!(effects.iter().any(|(k, _)| *k == format!("admit:{}", cy.id)), "{effects:?}");
    let later = Utc::now() + Duration::hours(48);
    assert_eq!(fee_based::service::expire_offers(&s, &offers, later).await.unwrap(), 0);
    assert_eq!(s.seats_taken(PlatformKind::Zoom, meeting, later, None).await.unwrap(), 1);
}

async fn twenty_payers_cancellers_leavers_and_lapsing_offers_never_hold_more_than_the_last_two_seats(
    db: Db,
) {
    let s = open(&db).await;
    let offers = common::offers();
    let refunds = Refunds { partial: Default::default(), offers: offers.clone() };
    let terms = CancellationTerms { until_hours: Some(1), fee_percent: Decimal::ZERO };
    for run in 0..6 {
        let meeting = format!("8574606{run:04}");
        s.save_scheduled(&session(&meeting, 4)).await.unwrap();
        let base = 1000 * (run + 1);
        // Two seats are sold (the second's buyer will cancel); the last two are fought over.
        let mut sold = Vec::new();
        for user in [base, base + 100] {
            let Registering::Pay { registration, .. } = register(&s, &meeting, user).await else {
                panic!()
            };
            pay(&s, &registration).await;
            sold.push(registration);
        }
        let [first, canceller] = &sold[..] else { panic!() };
        // Twenty with pay links, taken while seats were free.
        let mut payers = Vec::new();
        for user in base + 1..=base + 20 {
            let Registering::Pay { registration, .. } = register(&s, &meeting, user).await else {
                panic!()
            };
            payers.push(registration);
        }
        // Four stand in line; the first two are offered the free seats at once, held from a
        // day ago so that they have run out by now.
        let a_day_ago = Utc::now() - Duration::hours(25);
        let mut line = Vec::new();
        for r in payers.iter().skip(16) {
            let joined = fee_based::service::join_waiting_list(
                &s,
                &r.id,
                r.discord_user_id,
                a_day_ago,
                &offers,
            );
            joined.await.unwrap().unwrap();
            line.push(r.clone());
        }
        let held = s.seats_taken(PlatformKind::Zoom, &meeting, a_day_ago, None).await.unwrap();
        assert_eq!(held, 4, "run {run}: two offers hold the last two seats");

        // Everything at once: sixteen payments, the four in line paying too, one of them
        // leaving, a paid attendee cancelling, and two instances sweeping run-out offers.
        let pays = futures_util::future::join_all(payers.iter().map(|r| pay(&s, r)));
        let leave = fee_based::service::leave_waiting_list(
            &s,
            &line[3].id,
            line[3].discord_user_id,
            Utc::now(),
            &offers,
        );
        let cancel = fee_based::service::cancel_registration(
            &s,
            &refunds,
            &canceller.id,
            canceller.discord_user_id,
            &terms,
            Utc::now(),
        );
        let sweep = || fee_based::service::expire_offers(&s, &offers, Utc::now());
        let (_, left, cancelled, a, b) = tokio::join!(pays, leave, cancel, sweep(), sweep());
        left.unwrap();
        let cancelled = cancelled.unwrap();
        assert!(matches!(cancelled, RefundOutcome::Decided { freed: true, .. }), "{cancelled:?}");
        a.unwrap();
        b.unwrap();
        fee_based::service::expire_offers(&s, &offers, Utc::now()).await.unwrap();

        let now = Utc::now();
        let held = s.seats_taken(PlatformKind::Zoom, &meeting, now, None).await.unwrap();
        assert!(held <= 4, "run {run}: {held} seats held of 4");
        assert_eq!(now_of(&s, canceller).await.state, S::Refunded);
        let mut paid = 1;
        let mut refunded = 0;
        for r in &payers {
            match now_of(&s, r).await.state {
                S::Paid => paid += 1,
                S::Refunded => refunded += 1,
                _ => {}
            }
        }
        assert!(paid <= 4, "run {run}: {paid} paid for 4 seats, the canceller's given up");
        let ours = |k: &str| payers.iter().chain([first]).any(|r| k.ends_with(r.id.as_str()));
        let effects = queued(&s).await;
        let admitted = effects.iter().filter(|(k, _)| k.starts_with("admit:") && ours(k)).count();
        assert_eq!(admitted, paid, "run {run}: one registrant per paid seat");
        let refunds = effects.iter().filter(|(k, _)| k.starts_with("refund:")).count();
        // The canceller's refund is one more, under its request's key.
        assert_eq!(refunds, refunded + 1, "run {run}: every refused payer is refunded, once");
    }
}

/// Groups of two and singles hold pay links for the last three seats and all pay at once:
/// a group takes both its seats or is refunded whole, and no more seats are held than the
/// session has.
async fn groups_and_singles_paying_at_once_for_the_last_three_seats_never_hold_more(db: Db) {
    let s = open(&db).await;
    for run in 0..6 {
        let meeting = format!("8574607{run:04}");
        s.save_scheduled(&session(&meeting, 4)).await.unwrap();
        let base = 1000 * (run + 1);
        let Registering::Pay { registration: first, .. } = register(&s, &meeting, base).await
        else {
            panic!()
        };
        pay(&s, &first).await;
        let mut payers = Vec::new();
        for user in base + 1..=base + 12 {
            let seats = if user % 2 == 0 { 2 } else { 1 };
            let Registering::Pay { registration, .. } =
                register_seats(&s, &meeting, user, seats).await
            else {
                panic!()
            };
            assert_eq!(registration.seats, seats);
            payers.push(registration);
        }
        futures_util::future::join_all(payers.iter().map(|r| pay(&s, r))).await;

        let held = s.seats_taken(PlatformKind::Zoom, &meeting, Utc::now(), None).await.unwrap();
        assert!(held <= 4, "run {run}: {held} seats held of 4");
        let (mut seated, mut refunded) = (1, 0);
        for r in &payers {
            match now_of(&s, r).await.state {
                S::Paid => seated += r.seats,
                S::Refunded => refunded += 1,
                other => panic!("run {run}: {other:?}"),
            }
        }
        assert_eq!(seated, held, "run {run}: the seats held are the seats paid for");
        assert!(held >= 3, "run {run}: the last seats are sold to someone");
        let ours = |k: &str| payers.iter().chain([&first]).any(|r| k.contains(r.id.as_str()));
        let effects = queued(&s).await;
        let admitted = effects.iter().filter(|(k, _)| k.starts_with("admit:") && ours(k)).count();
        assert_eq!(admitted, seated as usize, "run {run}: one registrant per seat paid for");
        let refunds = effects.iter().filter(|(k, _)| k.starts_with("refund:")).count();
        assert_eq!(refunds, refunded, "run {run}: every group or single refused is refunded once");
    }
}

fn custom_id(message: &Value, button: usize) -> String {
    message["components"][0]["components"][button]["custom_id"].as_str().unwrap().to_owned()
}

async fn a_full_session_in_chat_offers_its_line_says_the_place_and_lets_one_leave(db: Db) {
    let w = world(&db).await;
    let meeting = w.schedule("zoom", "25.00", Some(1)).await;
    let pay_link = w.pay_link(5001, &meeting, "Ada").await;
    assert!(w.pay_in_sandbox(&pay_link).await.contains("Payment received"));
    eventually("Ada admitted", || w.zoom.registrants(&meeting).len() == 1).await;
    // Full, it is still suggested: it takes registrations for its line.
    let focused = json!([{"name": "session", "type": 3, "value": "rust", "focused": true}]);
    let data = json!({"id": "55", "name": "register", "type": 1, "options": focused});
    let asked = interaction(5002, "suggest", 4, data, "en-US", MEMBER);
    let suggested = respond(&w.app.base, &asked).await;
    assert_eq!(suggested["data"]["choices"][0]["value"], format!("zoom/{meeting}"), "{suggested}");

    for (user, name, place) in [(5002, "Bob", 1), (5003, "Cy", 2)] {
        let email = format!("{}@example.com", name.to_lowercase());
        let full = w.register(user, &meeting, name, &email).await;
        let text = content(&full);
        assert!(text.contains("the session is full") && text.contains("waiting list"), "{text}");
        let token = format!("join-{user}");
        let joined = w.ask(click(user, &token, &custom_id(&full, 0))).await;
        let said = content(&joined);
        assert!(said.contains(&format!("You are number {place} on the waiting list")), "{said}");
    }
    // Bob cannot take Cy's place in line through her button.
    let mine = w.ask(command(5003, "list-cy", "registrations", sub("list", json!([])), MEMBER));
    let mine = mine.await;
    assert!(content(&mine).contains("number 2 on the waiting list"), "{mine}");
    let leave = custom_id(&mine, 0);
    let stolen = w.ask(click(5002, "steal", &leave)).await;
    assert!(content(&stolen).contains("not on a waiting list"), "{stolen}");
    // Cy leaves: Bob stays first, and Cy's list says she left.
    let left = w.ask(click(5003, "leave-cy", &leave)).await;
    assert!(content(&left).contains("You have left the waiting list"), "{left}");
    assert!(w.registrations(5002).await.contains("number 1 on the waiting list"));
    assert!(w.registrations(5003).await.contains("cancelled"));
    assert!(dms(&w.discord, 5002).is_empty(), "nothing offered: no seat was freed");
}

async fn a_seat_the_platform_gives_back_is_offered_in_chat_and_paid_through_its_link(db: Db) {
    let w = world(&db).await;
    let meeting = w.schedule("zoom", "25.00", Some(1)).await;
    // Adding Ada on Zoom fails once for a while (retried in 5 s), then for good.
    w.zoom.fail_next(1, reqwest::StatusCode::SERVICE_UNAVAILABLE);
    w.zoom.fail_next(1, reqwest::StatusCode::UNPROCESSABLE_ENTITY);
    let ada = w.pay_link(5001, &meeting, "Ada").await;
    assert!(w.pay_in_sandbox(&ada).await.contains("Payment received"));

    // Meanwhile the session is full: Bob joins its line.
    let full = w.register(5002, &meeting, "Bob", "bob@example.com").await;
    assert!(content(&full).contains("the session is full"), "{full}");
    let joined = w.ask(click(5002, "join-bob", &custom_id(&full, 0))).await;
    assert!(content(&joined).contains("number 1 on the waiting list"), "{joined}");

    // Zoom refuses Ada for good: she is refunded, and her seat is offered to Bob.
    eventually("Bob offered the seat", || !dms(&w.discord, 5002).is_empty()).await;
    let offer = &dms(&w.discord, 5002)[0];
    let text = content(offer);
    assert!(text.contains("A seat is free in **Rust for payments**"), "{text}");
    assert!(text.contains("held for you until"), "{text}");
    let said = w.registrations(5002).await;
    assert!(said.contains("a seat is held for you until"), "{said}");
    let link = common::chat::link(offer).expect("the offer's pay link");
    // The pay page takes the payment: the seat it holds is Bob's own.
    assert!(w.pay_in_sandbox(&link).await.contains("Payment received"));
    eventually("Bob is Zoom's one registrant", || {
        w.zoom.registrants(&meeting).iter().map(|r| r.email.as_str()).eq(["bob@example.com"])
    })
    .await;
    eventually("Bob's join link", || dms(&w.discord, 5002).len() == 2).await;
    assert!(content(&dms(&w.discord, 5002)[1]).contains("You are registered"));
    let ada_told = content(&dms(&w.discord, 5001)[0]);
    assert!(ada_told.contains("refused") && ada_told.contains("refunded"), "{ada_told}");
}
