//! Invoices end to end on both backends: a registration paid in chat gets invoice 1 and its
//! refunds credit notes referring to it, with VAT included in or added to the fee; the signed
//! page and its PDF over HTTP, in English and Norwegian; forged links are not found; and the
//! numbers stay gap-free across a server killed with SIGKILL while two instances take them.

use crate::common;
use crate::common::chat;
use crate::common::pay;
use crate::common::world;

use std::time::Duration;

use chrono::Utc;
use secrecy::SecretString;
use serde_json::{Value, json};
use sqlx::{Connection, Row};
use tollbooth_core::config::Config;
use tollbooth_core::invoicing::invoice::{Invoice, Kind};
use tollbooth_core::money::{Currency, Money};
use tollbooth_core::payments::order::{Order, OrderId};
use tollbooth_core::payments::paylink::PayLinks;
use tollbooth_core::payments::payment::{Payment, State};
use tollbooth_core::store::{InvoiceStore, PaymentStore, RegistrationStore, Store, Switches};

use crate::pay_page::{save_screenshot, screenshot_path};
use chat::{MEMBER, command, dms, options};
use common::app::{App, browser};
use common::chromium::{chromium, dump_dom};
use common::{Db, Server, TempDir};
use pay::{location, text};
use world::World;

on_both_backends!(
    a_registration_payment_gets_invoice_1_and_each_refund_a_credit_note_referring_to_it,
    a_fee_entered_without_vat_is_charged_with_it_and_the_buyers_vat_id_is_printed,
    the_invoice_page_and_pdf_speak_norwegian,
    invoice_numbers_stay_gap_free_across_a_kill_and_two_instances,
    a_rolled_back_transaction_gives_its_number_back,
);

const ADA: u64 = 6001;
const BOB: u64 = 6002;

fn seller(c: &mut Config) {
    c.registration.invoice_prefix = "TB-".parse().unwrap();
    c.site.vat_percent = "25".parse().unwrap();
    c.site.seller_name = Some("Kurs og Opplæring AS".into());
    c.site.seller_address = Some("Storgata 1\n0155 Oslo".into());
    c.site.seller_vat_id = Some("NO999999999MVA".parse().unwrap());
}

fn vat_included(c: &mut Config) {
    seller(c);
    c.site.prices_include_vat = true;
}

fn vat_added(c: &mut Config) {
    seller(c);
    c.site.prices_include_vat = false;
}

async fn world(db: &Db, tweak: fn(&mut Config)) -> World {
    let switches =
        Switches { ecommerce_enabled: true, pay_per_use_enabled: false, fee_based_enabled: true };
    World::serve_with(db, switches, 10, tweak).await
}

fn usd(s: &str) -> Money {
    Money::parse_exact(s, Currency::USD).unwrap()
}

fn content(message: &Value) -> String {
    message["content"].as_str().unwrap_or_default().to_owned()
}

/// The URL that follows `Invoice TB-…: ` (or `Faktura`) in a message.
pub(crate) fn invoice_link(message: &str) -> String {
    let at = message.find("/invoices/").expect("an invoice link");
    let start = message[..at].rfind("http").unwrap();
    message[start..].split_whitespace().next().unwrap().to_owned()
}

async fn order_of(w: &World, user: u64) -> OrderId {
    w.app.store.registrations_of(user).await.unwrap()[0].0.order_id.clone()
}

async fn payment_of(w: &World, order: &OrderId) -> Payment {
    let paid = w.app.store.payments(order).await.unwrap();
    paid.into_iter().find(|p| p.state.was_paid()).expect("a paid payment")
}

/// The PDF at `url` (the page's own PDF link), parsed, as text.
pub(crate) async fn pdf_text(url: &str) -> String {
    let r = browser().get(url).send().await.unwrap();
    assert_eq!(r.status(), 200, "{url}");
    assert_eq!(r.headers()["content-type"], "application/pdf");
    let bytes = r.bytes().await.unwrap();
    let doc = lopdf::Document::load_mem(&bytes).expect("a PDF that parses");
    assert_eq!(doc.get_pages().len(), 1);
    doc.extract_text(&[1]).unwrap()
}

/// The PDF link of an invoice page.
pub(crate) fn pdf_of(page_url: &str) -> String {
    let url = url::Url::parse(page_url).unwrap();
    let lang = url.query_pairs().find(|(k, _)| k == "lang").map(|(_, v)| v.into_owned());
    format!("{}://{}{}/pdf?lang={}", url.scheme(), url.authority(), url.path(), lang.unwrap())
}

async fn eventually_dm(w: &World, user: u64) -> String {
    for _ in 0..300 {
        if let Some(m) = dms(&w.discord, user).first() {
            return content(m);
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("no message to {user}");
}

async fn a_registration_payment_gets_invoice_1_and_each_refund_a_credit_note_referring_to_it(
    db: Db,
) {
    let w = world(&db, vat_included).await;
    let meeting = w.schedule("zoom", "25.00", None).await;
    let pay_link = w.pay_link(ADA, &meeting, "Ada").await;
    assert!(w.pay_in_sandbox(&pay_link).await.contains("Payment received"));
    let order = order_of(&w, ADA).await;
    let paid = payment_of(&w, &order).await;

    // The join message's receipt links the invoice, which was numbered with the payment.
    let joined = eventually_dm(&w, ADA).await;
    assert!(joined.contains("Invoice TB-000001: http"), "{joined}");
    let page_url = invoice_link(&joined);
    let page = text(&page_url).await;
    for shown in [
        "Invoice TB-000001",
        "Kurs og Opplæring AS",
        "Storgata 1",
        "VAT id NO999999999MVA",
        "Ada Tester",
        "ada@example.com",
        "Registration fee: Rust for payments",
        "VAT 25 %",
        "20.00 USD",
        "5.00 USD",
        "25.00 USD",
        "Prices include VAT.",
        paid.reference.as_deref().unwrap(),
    ] {
        assert!(page.contains(shown), "{shown} missing from {page}");
    }
    let pdf = pdf_text(&pdf_of(&page_url)).await;
    for shown in ["Invoice TB-000001", "Total", "20.00 USD", "5.00 USD", "25.00 USD", "Ada Tester"]
    {
        assert!(pdf.contains(shown), "{shown} missing from the PDF: {pdf}");
    }

    // A host refunds 10.00, then the rest: two credit notes, each correcting invoice 1.
    let cashier = &w.app.state.cashier;
    cashier.refund(&paid.id, usd("10.00")).await.unwrap();
    cashier.give_back(&paid.id).await.unwrap();
    let documents = w.app.store.invoices_of_order(&order).await.unwrap();
    let summary: Vec<(i64, Kind, Option<i64>, [String; 3])> = documents
        .iter()
        .map(|i| {
            let t = i.totals();
            let corrects = i.corrects.as_ref().map(|c| c.number);
            (i.number, i.kind, corrects, [t.net, t.vat, t.gross].map(|m| m.to_string()))
        })
        .collect();
    assert_eq!(
        summary,
        [
            (1, Kind::Invoice, None, ["20.00".into(), "5.00".into(), "25.00".into()]),
            (2, Kind::CreditNote, Some(1), ["8.00".into(), "2.00".into(), "10.00".into()]),
            (3, Kind::CreditNote, Some(1), ["12.00".into(), "3.00".into(), "15.00".into()]),
        ]
    );
    let credit = text(&page_url.replace("/1?", "/2?")).await;
    assert!(credit.contains("Credit note TB-000002"), "{credit}");
    assert!(credit.contains("Refund on invoice TB-000001"), "{credit}");
    assert!(credit.contains("Corrects invoice"), "{credit}");
    // From the invoice's link, the attendee finds every credit note of the order, and back.
    let page = text(&page_url).await;
    assert!(page.contains("Other documents of this order"), "{page}");
    assert!(page.contains(r#"<a href="2?lang=en">Credit note TB-000002</a>"#), "{page}");
    assert!(page.contains(r#"<a href="3?lang=en">Credit note TB-000003</a>"#), "{page}");
    assert!(credit.contains(r#"<a href="1?lang=en">Invoice TB-000001</a>"#), "{credit}");

    // A link whose signature was changed, or a number that is not this order's, is not found.
    let (head, signature) = page_url.split_once("?").unwrap().0.rsplit_once('.').unwrap();
    let flipped = if signature.starts_with('0') { "1" } else { "0" };
    let forged = format!("{head}.{flipped}{}?lang=en", &signature[1..]);
    for url in [forged.clone(), pdf_of(&forged), page_url.replace("/1?", "/4?")] {
        let status = browser().get(&url).send().await.unwrap().status();
        assert_eq!(status, 404, "{url}");
    }
    let no_number = page_url.replace("/1?", "/one?");
    assert_eq!(browser().get(&no_number).send().await.unwrap().status(), 404);
}

async fn a_fee_entered_without_vat_is_charged_with_it_and_the_buyers_vat_id_is_printed(db: Db) {
    let w = world(&db, vat_added).await;
    let meeting = w.schedule("zoom", "100.00", None).await;
    let opts = options(&[
        ("session", json!(meeting)),
        ("first_name", json!("Bob")),
        ("last_name", json!("Tester")),
        ("email", json!("bob@example.com")),
    ]);
    let answer = w.ask(command(BOB, "register-bob", "register", opts, MEMBER)).await;
    assert!(content(&answer).contains("Pay the fee of 125.00 USD"), "{answer}");
    let pay_link = chat::link(&answer).unwrap();
    assert!(text(&pay_link).await.contains("125.00 USD"));

    // A VAT id that is not one is refused by name, and nothing is opened at the gateway.
    let bad = [("method", "sandbox"), ("vat_id", "12")];
    let refused = browser().post(&pay_link).form(&bad).send().await.unwrap();
    assert_eq!(refused.status(), 400);
    assert!(refused.text().await.unwrap().contains("`12` is not a VAT id"));
    let order = order_of(&w, BOB).await;
    assert!(w.app.store.payments(&order).await.unwrap().is_empty());

    let form = [("method", "sandbox"), ("vat_id", "se 5560 0000 0001")];
    let checkout = location(&browser().post(&pay_link).form(&form).send().await.unwrap());
    let approve = [("decision", "approve")];
    let back = location(&browser().post(&checkout).form(&approve).send().await.unwrap());
    assert!(text(&back).await.contains("Payment received"));

    let documents = w.app.store.invoices_of_order(&order).await.unwrap();
    assert_eq!(documents.len(), 1);
    let invoice: &Invoice = &documents[0];
    let t = invoice.totals();
    assert_eq!((t.net, t.vat, t.gross), (usd("100.00"), usd("25.00"), usd("125.00")));
    assert_eq!(payment_of(&w, &order).await.captured, t.gross, "the total is what was charged");
    assert_eq!(invoice.buyer.vat_id.as_ref().unwrap().as_str(), "SE556000000001");
    let page_url = invoice_link(&eventually_dm(&w, BOB).await);
    let page = text(&page_url).await;
    for shown in ["VAT id SE556000000001", "VAT is added to the prices.", "100.00 USD"] {
        assert!(page.contains(shown), "{shown} missing from {page}");
    }
    let pdf = pdf_text(&pdf_of(&page_url)).await;
    for shown in ["TB-000001", "100.00 USD", "25.00 USD", "125.00 USD", "SE556000000001"] {
        assert!(pdf.contains(shown), "{shown} missing from the PDF: {pdf}");
    }
}

async fn the_invoice_page_and_pdf_speak_norwegian(db: Db) {
    let w = world(&db, vat_included).await;
    let meeting = w.schedule("zoom", "25.00", None).await;
    let pay_link = w.pay_link(ADA, &meeting, "Ada").await;
    assert!(w.pay_in_sandbox(&pay_link).await.contains("Payment received"));
    let page_url = invoice_link(&eventually_dm(&w, ADA).await).replace("lang=en", "lang=no");
    let page = text(&page_url).await;
    for shown in [
        "Faktura TB-000001",
        "Selger",
        "Kjøper",
        "MVA-nummer NO999999999MVA",
        "Registreringsgebyr: Rust for payments",
        "MVA 25 %",
        "Netto",
        "Beløp",
        "Prisene er inkludert MVA.",
        "Last ned som PDF",
    ] {
        assert!(page.contains(shown), "{shown} missing from {page}");
    }
    let pdf = pdf_text(&pdf_of(&page_url)).await;
    for shown in ["Faktura TB-000001", "Kjøper", "Beløp", "Sum", "25.00 USD", "Opplæring"] {
        assert!(pdf.contains(shown), "{shown} missing from the PDF: {pdf}");
    }

    // As a browser shows it; the page and the PDF are kept under target/tmp/ to look at.
    let Some(browser) = chromium() else { return };
    let dom = dump_dom(&browser, &page_url);
    assert!(dom.contains("Faktura TB-000001") && dom.contains("Kjøper"), "{dom}");
    save_screenshot(&browser, &page_url, &format!("invoice-{}.png", db.backend)).await;
    let bytes = browser_get(&pdf_of(&page_url)).await;
    std::fs::write(screenshot_path(&format!("invoice-{}.pdf", db.backend)), bytes).unwrap();
}

async fn browser_get(url: &str) -> Vec<u8> {
    browser().get(url).send().await.unwrap().bytes().await.unwrap().to_vec()
}

async fn a_rolled_back_transaction_gives_its_number_back(db: Db) {
    let store = tollbooth_core::store::open(&db.url).await.unwrap();
    let mut tx = store.begin().await.unwrap();
    assert_eq!(tx.take_invoice_number().await.unwrap(), 1);
    drop(tx); // rolled back
    let mut tx = store.begin().await.unwrap();
    assert_eq!(tx.take_invoice_number().await.unwrap(), 1, "the number came back");
    tx.commit().await.unwrap();
    let mut tx = store.begin().await.unwrap();
    assert_eq!(tx.take_invoice_number().await.unwrap(), 2, "a committed number is kept");
}

const PAY_LINK_SECRET: &str = "test-pay-link-secret-of-32-chars-or-more";
const ORDERS: usize = 36;

/// Pays `order` on the server at `base` through the sandbox; `false` when the server did not
/// answer (it was killed).
async fn pay_on(base: &str, order: &OrderId) -> bool {
    let token = PayLinks::new(SecretString::from(PAY_LINK_SECRET))
        .sign(order, Utc::now() + chrono::Duration::hours(1));
    let link = format!("{base}/pay/{token}");
    let Ok(r) = browser().post(&link).form(&[("method", "sandbox")]).send().await else {
        return false;
    };
    if r.status() != 303 {
        return false;
    }
    let checkout = location(&r);
    let approve = [("decision", "approve")];
    browser().post(&checkout).form(&approve).send().await.is_ok_and(|r| r.status() == 303)
}

async fn all_paid(store: &tollbooth_core::store::SqlStore, orders: &[OrderId]) -> bool {
    for order in orders {
        if !store.payments(order).await.unwrap().iter().any(|p| p.state.was_paid()) {
            return false;
        }
    }
    true
}

async fn all_unpaid(store: &tollbooth_core::store::SqlStore, orders: &[OrderId]) -> bool {
    for order in orders {
        if store.payments(order).await.unwrap().iter().any(|p| p.state.was_paid()) {
            return false;
        }
    }
    true
}

/// (the numbers issued, in order; the transitions that moved money) straight from the tables.
async fn numbers_and_movements(url: &str) -> (Vec<i64>, i64) {
    let numbers = "SELECT number FROM invoices ORDER BY number";
    let moved =
        "SELECT COUNT(*) FROM payment_transitions WHERE event IN ('sold', 'captured', 'refunded')";
    if url.starts_with("sqlite") {
        let mut c = sqlx::SqliteConnection::connect(url).await.unwrap();
        let rows = sqlx::query(numbers).fetch_all(&mut c).await.unwrap();
        let n = rows.iter().map(|r| r.get::<i64, _>(0)).collect();
        (n, sqlx::query_scalar(moved).fetch_one(&mut c).await.unwrap())
    } else {
        let mut c = sqlx::PgConnection::connect(url).await.unwrap();
        let rows = sqlx::query(numbers).fetch_all(&mut c).await.unwrap();
        let n = rows.iter().map(|r| r.get::<i64, _>(0)).collect();
        (n, sqlx::query_scalar(moved).fetch_one(&mut c).await.unwrap())
    }
}

async fn invoice_numbers_stay_gap_free_across_a_kill_and_two_instances(db: Db) {
    let dir = TempDir::new();
    // The sandbox sends the payer to its page under the public URL: the server's own port.
    let serve = |port: u16| {
        let public = format!("http://127.0.0.1:{port}/");
        let env = [
            ("TOLLBOOTH_DATABASE_URL", db.url.as_str()),
            ("TOLLBOOTH_PUBLIC_URL", public.as_str()),
            ("TOLLBOOTH_PAY_LINK_SECRET", PAY_LINK_SECRET),
            ("TOLLBOOTH_REGISTRATION__INVOICE_PREFIX", "TB-"),
            ("TOLLBOOTH_SITE__VAT_PERCENT", "25"),
        ];
        Server::start_on(port, &dir, &env)
    };
    let mut first = serve(common::free_port());
    first.wait_healthy().await;
    // A second instance on the same database refunds part of what the first one takes.
    let other =
        App::configured(&db, |c| c.registration.invoice_prefix = "TB-".parse().unwrap()).await;
    let switches =
        Switches { ecommerce_enabled: true, pay_per_use_enabled: false, fee_based_enabled: true };
    tollbooth_core::store::SiteStore::set_switches(&other.store, switches).await.unwrap();
    let mut orders = Vec::new();
    for i in 0..ORDERS {
        let order =
            Order::for_registration("zoom/crash".into(), format!("p{i}@example.com"), usd("10.00"));
        other.store.create_order(&order).await.unwrap();
        orders.push(order.id);
    }

    // Payments stream in twelve at a time, half through each instance, while the second refunds
    // 4.00 of each it took (its sandbox's ledger is in its process); the first server is
    // killed part-way.
    let through_other = |i: usize| i % 2 == 1;
    let mut refunded = std::collections::HashSet::new();
    for (batch, chunk) in orders.chunks(12).enumerate() {
        let paying: Vec<_> = chunk
            .iter()
            .enumerate()
            .map(|(k, o)| {
                let base = if through_other(batch * 12 + k) { &other.base } else { &first.base };
                let (base, o) = (base.clone(), o.clone());
                tokio::spawn(async move { pay_on(&base, &o).await })
            })
            .collect();
        if batch == 1 {
            // Killed as soon as the first server took one of this batch, the rest on their way.
            let its: Vec<OrderId> = (0..chunk.len())
                .filter(|k| !through_other(batch * 12 + k))
                .map(|k| chunk[k].clone())
                .collect();
            for _ in 0..500 {
                if !all_unpaid(&other.store, &its).await {
                    break;
                }
                tokio::time::sleep(Duration::from_millis(2)).await;
            }
            first.child.kill().expect("SIGKILL");
            first.child.wait().unwrap();
        }
        refund_what_the_other_took(&other, &orders, &mut refunded).await;
        let answered = futures_util::future::join_all(paying).await;
        if batch == 1 {
            let lost = answered.iter().filter(|a| !matches!(a, Ok(true))).count();
            eprintln!(
                "{lost} of the first server's last {} payments were cut off",
                chunk.len() / 2
            );
            break;
        }
    }

    // Restarted: whatever was not paid is paid now (through the same instance as before).
    let second = serve(common::free_port());
    second.wait_healthy().await;
    for _ in 0..5 {
        for (i, order) in orders.iter().enumerate() {
            let paid = other.store.payments(order).await.unwrap();
            if !paid.iter().any(|p| p.state.was_paid()) {
                pay_on(if through_other(i) { &other.base } else { &second.base }, order).await;
            }
        }
        if all_paid(&other.store, &orders).await {
            break;
        }
    }
    assert!(all_paid(&other.store, &orders).await, "every order paid in the end");
    refund_what_the_other_took(&other, &orders, &mut refunded).await;
    assert_eq!(refunded.len(), ORDERS / 2);

    let (numbers, moved) = numbers_and_movements(&db.url).await;
    let expected: Vec<i64> = (1..=moved).collect();
    assert_eq!(numbers, expected, "1..N without gaps or duplicates, one per movement");
    assert_eq!(moved as usize, ORDERS + ORDERS / 2, "each order paid once, half refunded once");
    for (i, order) in orders.iter().enumerate() {
        let documents = other.store.invoices_of_order(order).await.unwrap();
        let kinds: Vec<Kind> = documents.iter().map(|d| d.kind).collect();
        if through_other(i) {
            assert_eq!(kinds, [Kind::Invoice, Kind::CreditNote], "{order}");
            assert_eq!(documents[1].corrects.as_ref().unwrap().number, documents[0].number);
        } else {
            assert_eq!(kinds, [Kind::Invoice], "{order}");
        }
        assert_eq!(documents[0].label, format!("TB-{:06}", documents[0].number));
    }
}

/// Refunds 4.00 of every payment the in-process instance took and did not refund yet.
async fn refund_what_the_other_took(
    other: &App,
    orders: &[OrderId],
    refunded: &mut std::collections::HashSet<tollbooth_core::payments::payment::PaymentId>,
) {
    for (i, order) in orders.iter().enumerate() {
        if i % 2 == 0 {
            continue;
        }
        for p in other.store.payments(order).await.unwrap() {
            if p.state == State::Sale && refunded.insert(p.id.clone()) {
                other.state.cashier.refund(&p.id, usd("4.00")).await.unwrap();
            }
        }
    }
}
