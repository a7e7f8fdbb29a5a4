//! The storage interface on SQLite and on PostgreSQL: every test here runs on both.

use crate::common;
use tollbooth_core::payments::service::record_transition;
use tollbooth_core::reach::Channels;

use chrono::{Duration, Utc};
use secrecy::{ExposeSecret, SecretString};
use tollbooth_core::money::Country;
use tollbooth_core::money::Money;
use tollbooth_core::payments::method::Method;
use tollbooth_core::payments::order::{Binding, Order};
use tollbooth_core::payments::payment::{Applied, CaptureLimit, Event, State};
use tollbooth_core::platform::PlatformKind;
use tollbooth_core::pricing::Prices;
use tollbooth_core::pricing::{Estimate, SessionPlan};
use tollbooth_core::site::{Division, Host};
use tollbooth_core::store::{
    self, CallbackRecord, DiscordLinkStore, PaymentStore, PriceSource, SiteStore, StepState, Store,
    StoreError, Switches, WebhookSecretStore,
};
use tollbooth_core::time::Tz;

use common::Db;

fn prices(currency: &str, person: &str, tele: &str) -> Prices {
    Prices {
        currency: currency.parse().unwrap(),
        person_minute: person.parse().unwrap(),
        teleconference_minute: tele.parse().unwrap(),
    }
}

fn country(code: &str) -> Country {
    code.parse().unwrap()
}

on_both_backends!(
    config_seeds_the_site_once_and_admin_changes_survive_restarts,
    prices_are_versioned_in_time,
    divisions_and_hosts,
    a_host_in_an_unknown_division_is_refused,
    the_default_division_must_exist,
    migrating_twice_is_harmless,
    instances_opening_one_new_database_at_once_all_start,
    same_operations_give_same_results,
    webhook_secrets_are_kept_per_platform_and_hook,
    the_hook_check_lease_is_held_by_one_holder_until_it_runs_out,
    orders_and_payments_round_trip,
    a_transition_is_applied_by_one_writer_only,
    gateway_steps_are_reserved_once,
    discord_users_link_to_one_host_each,
    the_administrators_payment_methods_round_trip,
);

async fn discord_users_link_to_one_host_each(db: Db) {
    let s = store::open(&db.url).await.unwrap();
    assert_eq!(s.linked_host(42).await.unwrap(), None);
    let first = "first@example.com".parse().unwrap();
    s.link_discord_user(42, &first, 7).await.unwrap();
    assert_eq!(s.linked_host(42).await.unwrap(), Some(first));
    // Re-linking replaces; the largest snowflake round-trips although it exceeds BIGINT.
    let second: tollbooth_core::email::Email = "second@example.com".parse().unwrap();
    s.link_discord_user(42, &second, 7).await.unwrap();
    s.link_discord_user(u64::MAX, &second, 7).await.unwrap();
    assert_eq!(s.linked_host(42).await.unwrap(), Some(second.clone()));
    assert_eq!(s.linked_host(u64::MAX).await.unwrap(), Some(second));
    // A language is kept for linked users only; it links nobody.
    s.remember_lang(42, common::norwegian()).await.unwrap();
    s.remember_lang(42, common::norwegian()).await.unwrap();
    s.remember_lang(43, common::norwegian()).await.unwrap();
    assert_eq!(s.linked_host(43).await.unwrap(), None);
}

async fn config_seeds_the_site_once_and_admin_changes_survive_restarts(db: Db) {
    let s = store::open(&db.url).await.unwrap();
    let usd = prices("USD", "0.12", "0.05");
    assert!(s.apply_config(country("US"), Tz::UTC, &usd).await.unwrap());
    let site = s.site_settings().await.unwrap();
    assert!(!site.ecommerce_enabled, "e-commerce is off until an administrator turns it on");
    assert_eq!(site.country, country("US"));
    assert_eq!(site.prices, usd);
    assert_eq!(site.timezone, Tz::UTC);

    let admin = prices("USD", "0.10", "0.04");
    s.set_timezone(Tz::Europe__Oslo).await.unwrap();
    s.set_prices(&admin, Utc::now(), PriceSource::Admin).await.unwrap();
    s.set_switches(Switches {
        ecommerce_enabled: true,
        pay_per_use_enabled: true,
        fee_based_enabled: false,
    })
    .await
    .unwrap();
    s.close().await;

    // A restart with the same configuration keeps the administrator's prices and switches.
    let s = store::open(&db.url).await.unwrap();
    assert!(!s.apply_config(country("US"), Tz::UTC, &usd).await.unwrap());
    let site = s.site_settings().await.unwrap();
    assert_eq!(site.prices, admin);
    assert!(site.ecommerce_enabled && site.pay_per_use_enabled && !site.fee_based_enabled);
    assert_eq!(site.timezone, Tz::Europe__Oslo);

    // A changed configuration wins, for what it changed.
    let nok = prices("NOK", "1.20", "0.50");
    assert!(s.apply_config(country("NO"), Tz::UTC, &nok).await.unwrap());
    let site = s.site_settings().await.unwrap();
    assert_eq!(site.prices, nok);
    assert_eq!(site.country, country("NO"));
    assert!(site.ecommerce_enabled, "switches are the administrator's, not the configuration's");
    assert_eq!(site.timezone, Tz::Europe__Oslo, "the zone was not what changed");
    assert!(s.apply_config(country("NO"), Tz::America__New_York, &nok).await.unwrap());
    assert_eq!(s.site_settings().await.unwrap().timezone, Tz::America__New_York);
}

async fn the_administrators_payment_methods_round_trip(db: Db) {
    let s = store::open(&db.url).await.unwrap();
    let usd = prices("USD", "0.12", "0.05");
    s.apply_config(country("US"), Tz::UTC, &usd).await.unwrap();
    assert_eq!(s.site_settings().await.unwrap().payment_methods, None, "the configuration's");

    let chosen = [Method::Payflow, Method::ExpressCheckout];
    s.set_payment_methods(Some(&chosen)).await.unwrap();
    assert_eq!(s.site_settings().await.unwrap().payment_methods, Some(chosen.to_vec()));
    s.close().await;

    // Kept over a restart, even one with a changed configuration.
    let s = store::open(&db.url).await.unwrap();
    s.apply_config(country("CA"), Tz::UTC, &usd).await.unwrap();
    assert_eq!(s.site_settings().await.unwrap().payment_methods, Some(chosen.to_vec()));

    // An empty choice is a choice (nothing offered), unlike going back to the configuration.
    s.set_payment_methods(Some(&[])).await.unwrap();
    assert_eq!(s.site_settings().await.unwrap().payment_methods, Some(vec![]));
    s.set_payment_methods(None).await.unwrap();
    assert_eq!(s.site_settings().await.unwrap().payment_methods, None);
}

async fn prices_are_versioned_in_time(db: Db) {
    let s = store::open(&db.url).await.unwrap();
    let t0 = Utc::now() - Duration::days(10);
    let first = prices("USD", "0.12", "0.05");
    let second = prices("USD", "0.15", "0.06");
    let v1 = s.set_prices(&first, t0, PriceSource::Config).await.unwrap();
    let v2 = s.set_prices(&second, t0 + Duration::days(5), PriceSource::Admin).await.unwrap();
    assert!(v2 > v1);
    assert_eq!(s.prices_at(t0 - Duration::days(1)).await.unwrap(), first, "before any version");
    assert_eq!(s.prices_at(t0).await.unwrap(), first);
    assert_eq!(s.prices_at(t0 + Duration::days(4)).await.unwrap(), first);
    assert_eq!(s.prices_at(t0 + Duration::days(5)).await.unwrap(), second);
    assert_eq!(s.prices_at(Utc::now()).await.unwrap(), second);
}

async fn divisions_and_hosts(db: Db) {
    let s = store::open(&db.url).await.unwrap();
    let sales = Division { id: "sales".parse().unwrap(), name: "Sales".into() };
    s.put_division(&sales).await.unwrap();
    s.put_division(&Division { id: "eng".parse().unwrap(), name: "Engineering".into() })
        .await
        .unwrap();
    s.put_division(&Division { id: "sales".parse().unwrap(), name: "Sales EMEA".into() })
        .await
        .unwrap();
    let all = s.divisions().await.unwrap();
    let names: Vec<_> = all.iter().map(|d| (d.id.as_str(), d.name.as_str())).collect();
    assert_eq!(names, [("eng", "Engineering"), ("sales", "Sales EMEA")]);

    let host = Host { email: "Ann@Example.com".parse().unwrap(), division: Some(sales.id.clone()) };
    s.put_host(&host).await.unwrap();
    let found = s.host(&"ann@example.com".parse().unwrap()).await.unwrap().unwrap();
    assert_eq!(found, host);
    assert_eq!(s.host(&"bob@example.com".parse().unwrap()).await.unwrap(), None);
}

async fn the_default_division_must_exist(db: Db) {
    let s = store::open(&db.url).await.unwrap();
    let config = tollbooth_core::config::Config::default();
    s.apply_config(config.site.country, config.site.timezone, &config.prices()).await.unwrap();
    assert_eq!(s.site_settings().await.unwrap().default_division, None);
    match s.set_default_division(&"ghost".parse().unwrap()).await {
        Err(StoreError::Invalid(why)) => assert_eq!(why, "no division `ghost`"),
        other => panic!("expected Invalid, got {other:?}"),
    }
    let sales = Division { id: "sales".parse().unwrap(), name: "Sales".into() };
    s.put_division(&sales).await.unwrap();
    s.set_default_division(&sales.id).await.unwrap();
    assert_eq!(s.site_settings().await.unwrap().default_division, Some(sales.id));
}

async fn a_host_in_an_unknown_division_is_refused(db: Db) {
    let s = store::open(&db.url).await.unwrap();
    let host = Host {
        email: "ann@example.com".parse().unwrap(),
        division: Some("ghost".parse().unwrap()),
    };
    match s.put_host(&host).await {
        Err(StoreError::Invalid(why)) => assert_eq!(why, "division `ghost` does not exist"),
        other => panic!("expected Invalid, got {other:?}"),
    }
    assert_eq!(s.host(&host.email).await.unwrap(), None, "nothing half-written");
}

async fn instances_opening_one_new_database_at_once_all_start(db: Db) {
    let opened = futures_util::future::join_all((0..4).map(|_| store::open(&db.url))).await;
    for s in opened {
        s.unwrap().ping().await.unwrap();
    }
}

async fn migrating_twice_is_harmless(db: Db) {
    let s = store::open(&db.url).await.unwrap();
    s.migrate().await.unwrap();
    s.ping().await.unwrap();
}

/// A fixed script of operations whose every result is written down, so that the two backends
/// can be compared line by line.
async fn script(s: &dyn Store) -> Vec<String> {
    let mut out = Vec::new();
    let t0 = chrono::DateTime::parse_from_rfc3339("2026-01-01T00:00:00Z").unwrap().to_utc();
    out.push(format!(
        "{:?}",
        s.apply_config(country("GB"), Tz::UTC, &prices("GBP", "0.1", "0.02")).await
    ));
    out.push(format!(
        "{:?}",
        s.apply_config(country("GB"), Tz::UTC, &prices("GBP", "0.1", "0.02")).await
    ));
    out.push(format!(
        "{:?}",
        s.set_prices(&prices("KWD", "0.125", "0.0005"), t0, PriceSource::Admin).await.is_ok()
    ));
    out.push(format!("{:?}", s.prices_at(t0).await));
    out.push(format!("{:?}", s.site_settings().await.map(|x| (x.ecommerce_enabled, x.country))));
    out.push(format!(
        "{:?}",
        s.put_division(&Division { id: "a".parse().unwrap(), name: "Å ø".into() }).await
    ));
    out.push(format!("{:?}", s.divisions().await));
    out.push(format!("{:?}", s.division(&"a".parse().unwrap()).await));
    out.push(format!("{:?}", s.division(&"b".parse().unwrap()).await));
    let host = Host { email: "x@y.no".parse().unwrap(), division: None };
    out.push(format!("{:?}", s.put_host(&host).await));
    out.push(format!("{:?}", s.host(&host.email).await));
    out.push(format!("{:?}", s.set_country(country("NO")).await));
    out.push(format!("{:?}", s.site_settings().await.map(|x| x.country)));
    out
}

async fn same_operations_give_same_results(db: Db) {
    let s = store::open(&db.url).await.unwrap();
    let here = script(&s).await;
    let other = Db::sqlite();
    let reference = script(&store::open(&other.url).await.unwrap()).await;
    assert_eq!(here, reference, "{} differs from sqlite", db.backend);
    assert_eq!(here[0], "Ok(true)");
    assert_eq!(here[1], "Ok(false)");
    assert!(here[3].contains("KWD") && here[3].contains("0.0005"), "{}", here[3]);
}

async fn webhook_secrets_are_kept_per_platform_and_hook(db: Db) {
    let s = store::open(&db.url).await.unwrap();
    let secret = |text: &str| SecretString::from(text.to_owned());
    let exposed = |list: Vec<SecretString>| {
        let mut v: Vec<String> = list.iter().map(|x| x.expose_secret().to_owned()).collect();
        v.sort();
        v
    };
    assert!(s.webhook_secrets("webex").await.unwrap().is_empty());
    assert!(s.webhook_secret("webex", "h1").await.unwrap().is_none());
    s.put_webhook_secret("webex", "h1", &secret("one")).await.unwrap();
    s.put_webhook_secret("webex", "h2", &secret("two")).await.unwrap();
    s.put_webhook_secret("zoom", "h1", &secret("zoom")).await.unwrap();
    assert_eq!(exposed(s.webhook_secrets("webex").await.unwrap()), ["one", "two"]);
    s.put_webhook_secret("webex", "h1", &secret("uno")).await.unwrap();
    assert_eq!(exposed(s.webhook_secrets("webex").await.unwrap()), ["two", "uno"], "replaced");
    let h1 = s.webhook_secret("webex", "h1").await.unwrap().unwrap();
    assert_eq!(h1.expose_secret(), "uno");
    assert_eq!(exposed(s.webhook_secrets("zoom").await.unwrap()), ["zoom"]);
}

async fn the_hook_check_lease_is_held_by_one_holder_until_it_runs_out(db: Db) {
    let s = store::open(&db.url).await.unwrap();
    let now = Utc::now();
    let minute = Duration::minutes(1);
    let lease = |holder: &'static str, at, until| s.lease_hook_check("webex", holder, at, until);
    assert!(lease("a", now, now + minute).await.unwrap());
    assert!(!lease("b", now, now + minute).await.unwrap(), "a holds it");
    assert!(lease("a", now, now + minute * 2).await.unwrap(), "renewed by its holder");
    assert!(!lease("b", now + minute, now + minute * 3).await.unwrap(), "the renewal runs");
    assert!(s.lease_hook_check("zoom", "b", now, now + minute).await.unwrap(), "per platform");
    assert!(lease("b", now + minute * 2, now + minute * 3).await.unwrap(), "ran out: taken over");
    assert!(!lease("a", now + minute * 2, now + minute * 3).await.unwrap());
}

fn session_order() -> Order {
    let usd = prices("USD", "0.125", "0.05");
    let estimate = Estimate::new(SessionPlan::new(30, 3, 1).unwrap(), &usd).unwrap();
    let bound = Binding::Meeting { platform: PlatformKind::Webex, meeting_id: "m".into() };
    Order::for_session(bound, "h@example.com".into(), &estimate, usd, None)
}

async fn orders_and_payments_round_trip(db: Db) {
    let s = store::open(&db.url).await.unwrap();
    let session = session_order();
    s.create_order(&session).await.unwrap();
    assert_eq!(s.order(&session.id).await.unwrap().unwrap(), session);
    assert!(matches!(s.create_order(&session).await, Err(StoreError::Invalid(_))));
    let fee = Money::parse_exact("1.250", "KWD".parse().unwrap()).unwrap();
    let registration = Order::for_registration("zoom/z".into(), "a@example.com".into(), fee);
    s.create_order(&registration).await.unwrap();
    assert_eq!(s.order(&registration.id).await.unwrap().unwrap(), registration);

    let first = s.create_payment(&session, "sandbox").await.unwrap();
    let second = s.create_payment(&session, "payflow").await.unwrap();
    assert_eq!(first.id.as_str(), format!("{}-p1", session.id));
    assert_eq!(second.id.as_str(), format!("{}-p2", session.id));
    assert_eq!((first.state, first.amount, first.version), (State::Created, session.amount, 0));
    s.set_checkout(&first.id, "chk-1", Some("tok")).await.unwrap();
    let found = s.payment_by_checkout("sandbox", "chk-1").await.unwrap().unwrap();
    assert_eq!(found.checkout_token.as_deref(), Some("tok"));
    assert_eq!(s.payment_by_checkout("payflow", "chk-1").await.unwrap(), None);
    assert!(matches!(
        s.set_checkout(&second.id, "chk-1", None).await,
        Ok(()) // another gateway may use the same reference
    ));
    let third = s.create_payment(&session, "sandbox").await.unwrap();
    assert!(matches!(s.set_checkout(&third.id, "chk-1", None).await, Err(StoreError::Invalid(_))));
    assert_eq!(s.payments(&session.id).await.unwrap().len(), 3);

    let record = CallbackRecord {
        gateway: "payflow".into(),
        checkout_ref: Some("chk-1".into()),
        payment: Some(second.id.clone()),
        fields: [("RESULT".to_owned(), "0".to_owned())].into(),
        outcome: "unchanged".into(),
        received_at: Utc::now(),
    };
    s.record_callback(&record).await.unwrap();
    let kept = s.callbacks("payflow").await.unwrap();
    assert_eq!(
        (kept.len(), &kept[0].fields, &kept[0].outcome),
        (1, &record.fields, &record.outcome)
    );
}

async fn a_transition_is_applied_by_one_writer_only(db: Db) {
    let s = store::open(&db.url).await.unwrap();
    let order = session_order();
    s.create_order(&order).await.unwrap();
    let created = s.create_payment(&order, "sandbox").await.unwrap();
    let event = Event::Authorised { reference: "A1".into(), amount: order.amount };
    let Ok(Applied::Changed(next)) = created.apply(&event, CaptureLimit::Authorised) else {
        panic!()
    };
    let when_paid = tollbooth_core::when_paid(Channels::default(), Default::default());
    assert!(record_transition(&s, &when_paid, &created, &next, &event).await.unwrap());
    let stale = record_transition(&s, &when_paid, &created, &next, &event).await.unwrap();
    assert!(!stale, "stale version");
    let stored = s.payment(&created.id).await.unwrap().unwrap();
    assert_eq!(
        (stored.state, stored.reference.as_deref(), stored.version),
        (State::Authorised, Some("A1"), 1)
    );
    let trail = s.transitions(&created.id).await.unwrap();
    assert_eq!(trail.len(), 1);
    assert_eq!(
        (trail[0].from, trail[0].to, trail[0].reference.as_deref()),
        (State::Created, State::Authorised, Some("A1"))
    );
    assert_eq!(trail[0].amount.as_deref(), Some(order.amount.to_string().as_str()));
}

async fn gateway_steps_are_reserved_once(db: Db) {
    let s = store::open(&db.url).await.unwrap();
    let order = session_order();
    s.create_order(&order).await.unwrap();
    let p = s.create_payment(&order, "payflow").await.unwrap();
    assert_eq!(s.begin_step(&p, "capture", "k1").await.unwrap(), StepState::Pending);
    assert_eq!(s.begin_step(&p, "capture", "k1").await.unwrap(), StepState::Pending);
    assert!(matches!(s.begin_step(&p, "capture", "k2").await, Err(StoreError::Invalid(_))));
    s.finish_step(&p.id, "capture", &StepState::Done("D1".into())).await.unwrap();
    assert_eq!(s.begin_step(&p, "capture", "k1").await.unwrap(), StepState::Done("D1".into()));
    s.begin_step(&p, "refund-1", "r1").await.unwrap();
    s.finish_step(&p.id, "refund-1", &StepState::Done("C1".into())).await.unwrap();
    s.begin_step(&p, "refund-2", "r2").await.unwrap();
    assert_eq!(s.steps_done(&p.id, "refund-").await.unwrap(), 1, "a pending refund is not done");
}
