//! Payments end to end over real HTTP, on SQLite and PostgreSQL: the sandbox and PayPal Payflow
//! Pro (against the emulator) from the pay link to the money, and the ways callbacks go wrong.

use crate::common;
use crate::common::pay;
use crate::emulators;

use std::time::Duration;

use tollbooth_core::money::Money;
use tollbooth_core::payments::cashier::CashierError;
use tollbooth_core::payments::order::Order;
use tollbooth_core::payments::payment::{Payment, State};
use tollbooth_core::store::PaymentStore;

use common::Db;
use common::app::{App, browser};
use emulators::payflow::Payflow;
use pay::{choose, location, on_payflow_page, text, with_payflow};

on_both_backends!(
    a_full_sandbox_payment,
    a_full_payflow_payment,
    a_declined_card,
    silent_posts_for_unknown_orders_or_wrong_amounts_are_rejected_and_recorded,
    the_same_silent_post_three_times_racing_the_return_gives_one_payment,
    a_capture_retried_after_a_timeout_charges_once,
    an_expired_pay_link_answers_with_a_clear_page,
    a_cancelled_checkout_and_a_fraud_review_are_said_in_plain_words,
);

fn usd(s: &str) -> Money {
    Money::parse_exact(s, "USD".parse().unwrap()).unwrap()
}

async fn only_payment(app: &App, order: &Order) -> Payment {
    let payments = app.store.payments(&order.id).await.unwrap();
    assert_eq!(payments.len(), 1, "{payments:?}");
    payments.into_iter().next().unwrap()
}

async fn a_full_sandbox_payment(db: Db) {
    let app = App::configured(&db, |_| {}).await;
    let order = app.registration_order("25.00").await;
    let link = app.pay_link(&order, 1);
    let page = text(&link).await;
    assert!(page.contains("Session fee") && page.contains("25.00 USD"), "{page}");
    assert!(page.contains("Test payment (sandbox)"), "{page}");
    let norsk = text(&format!("{link}?lang=no")).await;
    assert!(norsk.contains("Øktgebyr") && norsk.contains("Testbetaling"), "{norsk}");

    let checkout = choose(&link, "sandbox").await;
    assert!(checkout.starts_with(&format!("{}/payments/sandbox/checkout/", app.base)));
    let test_page = text(&checkout).await;
    assert!(test_page.contains("TEST MODE"), "{test_page}");
    let back =
        location(&browser().post(&checkout).form(&[("decision", "approve")]).send().await.unwrap());
    assert!(back.starts_with(&format!("{link}/return?payment=")), "{back}");
    let done = text(&back).await;
    assert!(done.contains("Payment received"), "{done}");

    let payment = only_payment(&app, &order).await;
    assert_eq!((payment.state, payment.captured), (State::Sale, usd("25.00")));
    let callbacks = app.store.callbacks("sandbox").await.unwrap();
    assert_eq!(callbacks.len(), 1, "the sandbox posted its callback: {callbacks:?}");
    assert!(callbacks[0].outcome == "applied: sale" || callbacks[0].outcome == "unchanged");
    // The pay page now says the order is paid and offers nothing more.
    let page = text(&link).await;
    assert!(page.contains("This order is paid") && !page.contains("Choose how to pay"), "{page}");

    // A partial refund, then the rest; never more than was taken.
    let cashier = &app.state.cashier;
    let p = cashier.refund(&payment.id, usd("10.00")).await.unwrap().payment;
    assert_eq!((p.state, p.refunded), (State::Sale, usd("10.00")));
    assert!(matches!(
        cashier.refund(&payment.id, usd("15.01")).await,
        Err(CashierError::Illegal(_))
    ));
    let p = cashier.refund(&payment.id, usd("15.00")).await.unwrap().payment;
    assert_eq!(p.state, State::Refunded);
    let trail = app.store.transitions(&payment.id).await.unwrap();
    let steps: Vec<_> = trail.iter().map(|t| (t.from, t.to)).collect();
    assert_eq!(
        steps,
        [(State::Created, State::Sale), (State::Sale, State::Sale), (State::Sale, State::Refunded)]
    );
    assert!(trail.iter().all(|t| t.reference.is_some()), "every step keeps its reference");
}

async fn a_full_payflow_payment(db: Db) {
    let emulator = Payflow::start().await;
    let app = App::configured(&db, with_payflow(&emulator, 10)).await;
    let order = app.session_order().await;
    let link = app.pay_link(&order, 1);
    let page = text(&link).await;
    assert!(page.contains("Credit or debit card"), "{page}");

    let checkout = choose(&link, "payflow").await;
    assert!(checkout.starts_with(&format!("{}/hosted?SECURETOKEN=", emulator.base)), "{checkout}");
    let back = on_payflow_page(&checkout, "approve").await;
    assert!(back.starts_with(&format!("{link}/return?payment=")), "{back}");
    let done = text(&back).await;
    assert!(done.contains("Payment authorised"), "{done}");

    let payment = only_payment(&app, &order).await;
    assert_eq!(payment.state, State::Authorised);
    assert_eq!(payment.reference.as_deref().map(str::len), Some(12), "the PNREF");
    let callbacks = app.store.callbacks("payflow").await.unwrap();
    assert_eq!(callbacks.len(), 1);
    assert!(!callbacks[0].fields.contains_key("ACCT"), "card details are not kept");
    assert_eq!(emulator.charges(), 0, "an authorisation holds, it does not charge");

    // The session used less than estimated: capture part, then refund part of that.
    let cashier = &app.state.cashier;
    let p = cashier.capture(&payment.id, usd("64.20")).await.unwrap().payment;
    assert_eq!((p.state, p.captured), (State::Captured, usd("64.20")));
    assert_eq!(emulator.charges(), 1);
    let again = cashier.capture(&payment.id, usd("64.20")).await.unwrap();
    assert!(!again.changed, "a second capture changes nothing");
    assert_eq!(emulator.charges(), 1);
    let p = cashier.refund(&payment.id, usd("4.20")).await.unwrap().payment;
    assert_eq!((p.state, p.refunded), (State::Captured, usd("4.20")));
    assert!(matches!(cashier.void(&payment.id).await, Err(CashierError::Illegal(_))));
}

async fn a_declined_card(db: Db) {
    let emulator = Payflow::start().await;
    let app = App::configured(&db, with_payflow(&emulator, 10)).await;
    let order = app.registration_order("40.00").await;
    let link = app.pay_link(&order, 1);
    let back = on_payflow_page(&choose(&link, "payflow").await, "decline").await;
    let done = text(&back).await;
    assert!(done.contains("Payment declined") && done.contains("Try again"), "{done}");
    assert_eq!(only_payment(&app, &order).await.state, State::Failed);
    assert_eq!(emulator.charges(), 0);

    // Trying again opens a fresh checkout, and that one can succeed.
    let back = on_payflow_page(&choose(&link, "payflow").await, "approve").await;
    assert!(text(&back).await.contains("Payment received"));
    let states: Vec<_> =
        app.store.payments(&order.id).await.unwrap().iter().map(|p| p.state).collect();
    assert_eq!(states, [State::Failed, State::Sale]);
    assert_eq!(emulator.charges(), 1);
}

async fn silent_posts_for_unknown_orders_or_wrong_amounts_are_rejected_and_recorded(db: Db) {
    let emulator = Payflow::start().await;
    let app = App::configured(&db, with_payflow(&emulator, 10)).await;
    let notify = format!("{}/payments/payflow/notify", app.base);
    let post = |form: Vec<(&'static str, String)>| {
        let notify = notify.clone();
        async move { browser().post(notify).form(&form).send().await.unwrap() }
    };

    let unknown = post(vec![
        ("RESULT", "0".into()),
        ("PNREF", "EMU000000999".into()),
        ("AMT", "81.00".into()),
        ("SECURETOKENID", "0123456789abcdef0123456789abcdef".into()),
    ])
    .await;
    assert_eq!(unknown.status(), 400);

    let order = app.session_order().await;
    let checkout = choose(&app.pay_link(&order, 1), "payflow").await;
    let token_id = url::Url::parse(&checkout)
        .unwrap()
        .query_pairs()
        .find(|(k, _)| k == "SECURETOKENID")
        .unwrap()
        .1
        .into_owned();
    let cheap = post(vec![
        ("RESULT", "0".into()),
        ("AMT", "1.00".into()),
        ("INVNUM", order.id.to_string()),
        ("SECURETOKENID", token_id.clone()),
    ])
    .await;
    assert_eq!(cheap.status(), 400);
    let wrong_currency = post(vec![
        ("RESULT", "0".into()),
        ("AMT", order.amount.amount().to_string()),
        ("CURRENCY", "EUR".into()),
        ("SECURETOKENID", token_id),
    ])
    .await;
    assert_eq!(wrong_currency.status(), 400);

    assert_eq!(only_payment(&app, &order).await.state, State::Created, "nothing changed");
    let outcomes: Vec<_> = app
        .store
        .callbacks("payflow")
        .await
        .unwrap()
        .into_iter()
        .map(|c| (c.payment.is_some(), c.outcome))
        .collect();
    assert_eq!(outcomes.len(), 3, "{outcomes:?}");
    assert!(!outcomes[0].0 && outcomes[0].1.contains("unknown order"), "{outcomes:?}");
    assert!(outcomes[1].0 && outcomes[1].1.contains("amount 1.00 USD"), "{outcomes:?}");
    assert!(outcomes[2].1.contains("EUR"), "{outcomes:?}");
    let metrics = text(&format!("{}/metrics", app.base)).await;
    assert!(
        metrics.contains("payment_callbacks_total{gateway=\"payflow\",outcome=\"rejected\"}"),
        "{metrics}"
    );
}

async fn the_same_silent_post_three_times_racing_the_return_gives_one_payment(db: Db) {
    let emulator = Payflow::start().await;
    emulator.silent_posts(false);
    let app = App::configured(&db, with_payflow(&emulator, 10)).await;
    let order = app.session_order().await;
    let back = on_payflow_page(&choose(&app.pay_link(&order, 1), "payflow").await, "approve").await;
    let silent_post = emulator.last_silent_post().unwrap();
    let notify = format!("{}/payments/payflow/notify", app.base);
    let post = || browser().post(&notify).form(&silent_post).send();
    let (a, b, c, page) = tokio::join!(post(), post(), post(), browser().get(&back).send());
    for r in [a, b, c] {
        assert_eq!(r.unwrap().status(), 200);
    }
    assert!(page.unwrap().text().await.unwrap().contains("Payment authorised"));

    let payment = only_payment(&app, &order).await;
    assert_eq!(payment.state, State::Authorised);
    let trail = app.store.transitions(&payment.id).await.unwrap();
    assert_eq!(trail.len(), 1, "one transition, however often it was reported: {trail:?}");
    let outcomes: Vec<_> =
        app.store.callbacks("payflow").await.unwrap().into_iter().map(|c| c.outcome).collect();
    // The browser's return may have applied it first; then every callback changed nothing.
    assert!(outcomes.iter().filter(|o| *o == "applied: authorised").count() <= 1, "{outcomes:?}");
    assert_eq!(outcomes.len(), 3, "every callback is recorded: {outcomes:?}");

    // Two captures at once, as two instances ending the same session would: one charge.
    let cashier = &app.state.cashier;
    let (x, y) = tokio::join!(
        cashier.capture(&payment.id, usd("81.00")),
        cashier.capture(&payment.id, usd("81.00"))
    );
    assert_eq!(x.unwrap().payment.state, State::Captured);
    assert_eq!(y.unwrap().payment.state, State::Captured);
    assert_eq!(emulator.charges(), 1);
}

async fn a_capture_retried_after_a_timeout_charges_once(db: Db) {
    let emulator = Payflow::start().await;
    let app = App::configured(&db, with_payflow(&emulator, 1)).await;
    let order = app.session_order().await;
    let back = on_payflow_page(&choose(&app.pay_link(&order, 1), "payflow").await, "approve").await;
    assert!(text(&back).await.contains("Payment authorised"));
    let payment = only_payment(&app, &order).await;
    let cashier = &app.state.cashier;

    // Payflow does the capture but every answer comes too late: the outcome is unknown.
    emulator.slow_next(3, Duration::from_millis(1500));
    let first = cashier.capture(&payment.id, usd("81.00")).await;
    assert!(matches!(&first, Err(CashierError::Gateway(e)) if e.is_retryable()), "{first:?}");
    assert_eq!(only_payment(&app, &order).await.state, State::Authorised);
    assert_eq!(emulator.charges(), 1, "the first attempt did reach Payflow");

    // The retry carries the same X-VPS-REQUEST-ID: Payflow answers with the first result.
    let retried = cashier.capture(&payment.id, usd("81.00")).await.unwrap();
    assert_eq!(retried.payment.state, State::Captured);
    assert_eq!(emulator.charges(), 1, "charged once");
    assert!(emulator.duplicates() >= 3, "retries were answered as duplicates");

    // A gateway that is down leaves nothing half done either.
    emulator.fail_next(3);
    let refund = cashier.refund(&payment.id, usd("1.00")).await;
    assert!(matches!(refund, Err(CashierError::Gateway(_))), "{refund:?}");
    let p = cashier.refund(&payment.id, usd("1.00")).await.unwrap().payment;
    assert_eq!(p.refunded, usd("1.00"));
}

async fn an_expired_pay_link_answers_with_a_clear_page(db: Db) {
    let app = App::configured(&db, |_| {}).await;
    let order = app.session_order().await;
    let expired = app.pay_link(&order, -1);
    let page = text(&expired).await;
    assert!(page.contains("This pay link has expired"), "{page}");
    assert!(!page.contains("Choose how to pay"));
    let r = browser().post(&expired).form(&[("method", "sandbox")]).send().await.unwrap();
    assert_eq!(r.status(), 200, "choosing on an expired link opens no checkout");
    assert!(app.store.payments(&order.id).await.unwrap().is_empty());

    let norwegian = text(&format!("{expired}?lang=no")).await;
    assert!(norwegian.contains("Denne betalingslenken er utløpt"), "{norwegian}");

    let forged = browser().get(format!("{}x", app.pay_link(&order, 1))).send().await.unwrap();
    assert_eq!(forged.status(), 404);
    assert!(forged.text().await.unwrap().contains("not a valid pay link"));
}

async fn a_cancelled_checkout_and_a_fraud_review_are_said_in_plain_words(db: Db) {
    let emulator = Payflow::start().await;
    let app = App::configured(&db, with_payflow(&emulator, 10)).await;
    let order = app.session_order().await;
    let link = app.pay_link(&order, 1);

    let checkout = choose(&link, "sandbox").await;
    let back =
        location(&browser().post(&checkout).form(&[("decision", "cancel")]).send().await.unwrap());
    assert!(back.starts_with(&format!("{link}/cancel?payment=")), "{back}");
    let page = text(&back).await;
    assert!(page.contains("Payment cancelled") && page.contains("Try again"), "{page}");
    assert_eq!(only_payment(&app, &order).await.state, State::Expired);

    emulator.fraud_review(true);
    let back = on_payflow_page(&choose(&link, "payflow").await, "approve").await;
    let page = text(&back).await;
    assert!(page.contains("Waiting for confirmation"), "{page}");
    let payments = app.store.payments(&order.id).await.unwrap();
    assert_eq!(payments[1].state, State::Created, "held for review: not paid, not failed");
    let outcomes: Vec<_> =
        app.store.callbacks("payflow").await.unwrap().into_iter().map(|c| c.outcome).collect();
    assert_eq!(outcomes, ["unchanged"]);
}
