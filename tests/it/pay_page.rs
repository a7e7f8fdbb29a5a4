//! The pay page in headless Chromium (Debian's `chromium`): the cost lines and total as a
//! person sees them, the methods per country, and a real mouse click through the sandbox to
//! the success page. Screenshots are saved under `target/tmp/` for a person to look at.

use crate::common;
use crate::common::chromium;

use std::path::{Path, PathBuf};
use std::process::{Child, Stdio};
use std::time::{Duration, Instant};

use base64::Engine;
use chrono::Utc;
use futures_util::{SinkExt, StreamExt};
use serde_json::{Value, json};
use tokio_tungstenite::tungstenite::Message;
use tollbooth_core::fee_based;
use tollbooth_core::fee_based::registration::{self, Fee, Registration, ScheduledSession};
use tollbooth_core::money::Money;
use tollbooth_core::payments::method::Method;
use tollbooth_core::payments::order::Order;
use tollbooth_core::payments::payment::State;
use tollbooth_core::platform::PlatformKind;
use tollbooth_core::reach::Channels;
use tollbooth_core::site::{Division, Host};
use tollbooth_core::store::{PaymentStore, RegistrationStore, SiteStore};

use chromium::{chromium, dump_dom, headless};
use common::app;
use common::pay::{choose, location, text};
use common::{App, Db, TempDir};

on_both_backends!(
    the_pay_page_in_chromium,
    a_registration_fee_and_its_closed_page_in_chromium,
    the_estimate_is_changed_on_the_pay_page_in_chromium,
    a_norwegian_payer_keeps_norwegian_through_the_sandbox_in_chromium,
    a_payer_whose_registration_cannot_be_honoured_reads_why_and_that_it_is_refunded_in_chromium,
    the_front_page_says_what_this_server_is,
);

pub(crate) fn screenshot_path(name: &str) -> PathBuf {
    let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR"));
    std::fs::create_dir_all(&dir).unwrap();
    dir.join(name)
}

/// Saves Chromium's rendering of `url` under `target/tmp/`, for a person to look at.
pub(crate) async fn save_screenshot(browser: &Path, url: &str, name: &str) {
    let shot = screenshot_path(name);
    let status = tokio::task::spawn_blocking({
        let (browser, url, shot) = (browser.to_owned(), url.to_owned(), shot.clone());
        move || {
            let profile = TempDir::new();
            headless(&browser, &profile)
                .arg(format!("--screenshot={}", shot.display()))
                .arg(&url)
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .status()
                .unwrap()
        }
    })
    .await
    .unwrap();
    assert!(status.success() && shot.exists(), "screenshot {}", shot.display());
}

async fn the_pay_page_in_chromium(db: Db) {
    let Some(browser) = chromium() else { return };
    let app = App::configured(&db, |config| {
        config.payments.methods = vec![Method::Sandbox, Method::Payflow];
    })
    .await;
    training_host(&app).await;
    let order = app.session_order().await;
    let link = app.pay_link(&order, 1);

    for country in ["US", "CA", "GB", "NO"] {
        app.store.set_country(country.parse().unwrap()).await.unwrap();
        let dom = tokio::task::spawn_blocking({
            let (browser, link) = (browser.clone(), link.clone());
            move || dump_dom(&browser, &link)
        })
        .await
        .unwrap();
        for line in [
            "Estimated session cost",
            "60 minutes, 10 computers, 3 phones",
            "Person-minutes</td><td class=\"num\">600</td><td class=\"num\">0.12 USD</td><td class=\"num\">72.00 USD",
            "Teleconference minutes</td><td class=\"num\">180</td><td class=\"num\">0.05 USD</td><td class=\"num\">9.00 USD",
            "Total</td><td></td><td></td><td class=\"num\">81.00 USD",
            "id=\"bought-title\">webex/560d7b784f5143e3be2fc3064a5c4999",
            "id=\"bought-host\">host@example.com",
            "id=\"bought-division\">Training",
            "id=\"change-plan\"",
        ] {
            assert!(dom.contains(line), "{country}: no `{line}` in {dom}");
        }
        assert!(!dom.contains("id=\"change\""), "one way to change the plan: {dom}");
        // Only sandbox and Payflow are enabled, and both are allowed everywhere.
        assert!(dom.contains("id=\"method-sandbox\""), "{country}: {dom}");
        assert!(dom.contains("id=\"method-payflow\""), "{country}: {dom}");
        assert!(!dom.contains("Express Checkout") && !dom.contains("Website Payments Pro"));
    }

    save_screenshot(&browser, &link, &format!("pay-page-{}.png", db.backend)).await;

    // Click through: the pay page, the sandbox's test checkout, the success page.
    let mut tab = Tab::open(&browser, &link).await;
    tab.wait_for("document.querySelector('#method-sandbox') !== null").await;
    tab.click("#method-sandbox").await;
    tab.wait_for("document.querySelector('#test-mode') !== null").await;
    assert!(tab.text().await.contains("TEST MODE"));
    tab.click("#approve").await;
    tab.wait_for("document.querySelector('#title') !== null").await;
    let done = tab.text().await;
    assert!(done.contains("Payment authorised"), "{done}");
    tab.screenshot(&screenshot_path(&format!("pay-success-{}.png", db.backend))).await;
    drop(tab);

    let payments = app.store.payments(&order.id).await.unwrap();
    assert_eq!(payments.len(), 1);
    assert_eq!(payments[0].state, State::Authorised);
}

/// `?lang=no` on a pay link holds through every hop: the pay page, the sandbox's test
/// checkout (whose link the gateway makes), and the page the payer comes back to, although
/// Chromium asks for English.
async fn a_norwegian_payer_keeps_norwegian_through_the_sandbox_in_chromium(db: Db) {
    let Some(browser) = chromium() else { return };
    let app = App::configured(&db, |_| {}).await;
    let order = app.session_order().await;
    let link = format!("{}?lang=no", app.pay_link(&order, 1));
    let mut tab = Tab::open(&browser, &link).await;
    tab.wait_for("document.querySelector('#method-sandbox') !== null").await;
    let page = tab.text().await;
    assert!(page.contains("Beregnet øktkostnad"), "{page}");
    assert!(page.contains("60 minutter, 10 datamaskiner, 3 telefoner"), "{page}");
    tab.click("#method-sandbox").await;
    tab.wait_for("document.querySelector('#test-mode') !== null").await;
    let sandbox = tab.text().await;
    assert!(sandbox.contains("TESTMODUS") && sandbox.contains("Godkjenn betalingen"), "{sandbox}");
    assert!(sandbox.contains("60 minutter, 10 datamaskiner, 3 telefoner"), "{sandbox}");
    assert_eq!(tab.eval("location.search").await, json!("?lang=no"));
    tab.screenshot(&screenshot_path(&format!("sandbox-no-{}.png", db.backend))).await;
    tab.click("#approve").await;
    tab.wait_for("document.querySelector('#title') !== null").await;
    let done = tab.text().await;
    assert!(done.contains("Betalingen er autorisert"), "{done}");
    drop(tab);
    let payments = app.store.payments(&order.id).await.unwrap();
    assert_eq!(payments[0].state, State::Authorised);
}

/// A host opens the estimate's form, types another plan and sees the new estimate, on a new
/// pay link; the order they came from is left as it was.
async fn the_estimate_is_changed_on_the_pay_page_in_chromium(db: Db) {
    let Some(browser) = chromium() else { return };
    let app = App::configured(&db, |_| {}).await;
    let order = app.session_order().await;
    let link = app.pay_link(&order, 1);
    let mut tab = Tab::open(&browser, &link).await;
    tab.wait_for("document.querySelector('#change-plan summary') !== null").await;
    tab.click("#change-plan summary").await;
    tab.wait_for("document.querySelector('#change-plan').open").await;
    tab.eval("document.querySelector('#plan-minutes').value = '90'").await;
    tab.eval("document.querySelector('#plan-computers').value = '3'").await;
    tab.eval("document.querySelector('#plan-phones').value = '0'").await;
    tab.click("#plan-submit").await;
    tab.wait_for("document.querySelector('#plan').innerText.startsWith('90 minutes')").await;
    let page = tab.text().await;
    assert!(page.contains("90 minutes, 3 computers, 0 phones"), "{page}");
    // 270 person-minutes at 0.12, and 15 % headroom held.
    assert!(page.contains("32.40 USD") && page.contains("37.26 USD"), "{page}");
    let moved = tab.eval("location.pathname").await;
    assert_ne!(moved.as_str(), url::Url::parse(&link).unwrap().path().into(), "a new pay link");
    tab.screenshot(&screenshot_path(&format!("pay-plan-{}.png", db.backend))).await;
    drop(tab);
    let unchanged = app.store.order(&order.id).await.unwrap().unwrap();
    assert_eq!(unchanged.amount, order.amount);
}

/// An attendee's pay page shows the session fee; once the session is cancelled, the same link
/// says registration is closed and offers no way to pay.
async fn a_registration_fee_and_its_closed_page_in_chromium(db: Db) {
    let Some(browser) = chromium() else { return };
    let app = App::configured(&db, |config| {
        config.payments.methods = vec![Method::Sandbox, Method::Payflow];
    })
    .await;
    training_host(&app).await;
    let (session, order) = ada_registers(&app).await;
    let link = app.pay_link(&order, 1);
    let render = |link: String| {
        let browser = browser.clone();
        tokio::task::spawn_blocking(move || dump_dom(&browser, &link))
    };

    let dom = render(link.clone()).await.unwrap();
    let starts = session.starts_at.format("%Y-%m-%d %H:%M UTC").to_string();
    for line in [
        "Session fee",
        "25.00 USD",
        "id=\"method-sandbox\"",
        "id=\"method-payflow\"",
        "id=\"bought-title\">Rust for payments",
        &format!("id=\"bought-starts\">{starts}"),
        "id=\"bought-host\">host@example.com",
        "id=\"bought-division\">Training",
    ] {
        assert!(dom.contains(line), "no `{line}` in {dom}");
    }
    assert!(!dom.contains("Estimated session cost"), "{dom}");

    fee_based::service::cancel_session(
        &app.store,
        PlatformKind::Zoom,
        &session.meeting_id,
        Utc::now(),
        Channels::default(),
    )
    .await
    .unwrap();
    let dom = render(link.clone()).await.unwrap();
    assert!(dom.contains("Registration is closed") && dom.contains("Nothing was charged"), "{dom}");
    assert!(!dom.contains("method-sandbox"), "no way to pay: {dom}");
    save_screenshot(&browser, &link, &format!("registration-closed-{}.png", db.backend)).await;
}

/// The host of the sessions these tests sell, booked to the Training division.
async fn training_host(app: &App) {
    let division = Division { id: "training".parse().unwrap(), name: "Training".into() };
    app.store.put_division(&division).await.unwrap();
    let host = Host { email: "host@example.com".parse().unwrap(), division: Some(division.id) };
    app.store.put_host(&host).await.unwrap();
}

/// A Zoom session a week ahead with a fee of 25.00, and Ada's registration for it, unpaid.
async fn ada_registers(app: &App) -> (ScheduledSession, Order) {
    let fee = Money::parse_exact("25.00", app.state.config.site.currency).unwrap();
    let session = ScheduledSession {
        platform: PlatformKind::Zoom,
        meeting_id: "85746065432".into(),
        title: "Rust for payments".into(),
        host_email: "host@example.com".into(),
        starts_at: Utc::now() + chrono::Duration::days(7),
        minutes: 60,
        join_url: "https://zoom.us/j/85746065432".into(),
        start_url: "https://zoom.us/s/85746065432".into(),
        fee: Some(Fee { amount: fee, capacity: Some(20), deadline: None }),
        cancelled_at: None,
    };
    app.store.save_scheduled(&session).await.unwrap();
    let order = Order::for_registration(session.key(), "ada@example.com".into(), fee);
    let attendee = registration::attendee("Ada", "Lovelace", "ada@example.com").unwrap();
    app.store
        .register(&Registration::new(&session, 7, attendee, order.id.clone()), &order)
        .await
        .unwrap();
    (session, order)
}

/// Ada opens the sandbox's checkout, the host cancels the session, and Ada approves the payment:
/// the page she comes back to says why it cannot be honoured and that it is being refunded.
async fn a_payer_whose_registration_cannot_be_honoured_reads_why_and_that_it_is_refunded_in_chromium(
    db: Db,
) {
    let Some(browser) = chromium() else { return };
    let app = App::configured(&db, |_| {}).await;
    let (session, order) = ada_registers(&app).await;
    let checkout = choose(&app.pay_link(&order, 1), "sandbox").await;
    fee_based::service::cancel_session(
        &app.store,
        session.platform,
        &session.meeting_id,
        Utc::now(),
        Channels::default(),
    )
    .await
    .unwrap();
    let back = location(
        &app::browser().post(&checkout).form(&[("decision", "approve")]).send().await.unwrap(),
    );
    assert!(back.contains("/return"), "{back}");

    let dom = tokio::task::spawn_blocking({
        let (browser, back) = (browser.clone(), back.clone());
        move || dump_dom(&browser, &back)
    })
    .await
    .unwrap();
    for line in [
        "Your payment is being refunded",
        "Your payment for Rust for payments could not be honoured: the session was cancelled.",
        "It is being refunded in full",
    ] {
        assert!(dom.contains(line), "no `{line}` in {dom}");
    }
    assert!(!dom.contains("Payment received"), "{dom}");
    let name = format!("registration-refunded-{}.png", db.backend);
    save_screenshot(&browser, &back, &name).await;
    println!(
        "screenshot of the refunded payer's return page: {}",
        screenshot_path(&name).display()
    );
}

async fn the_front_page_says_what_this_server_is(db: Db) {
    let app = App::configured(&db, |_| {}).await;
    let page = text(&format!("{}/", app.base)).await;
    assert!(page.contains("This server is tollbooth"), "{page}");
    assert!(page.contains("Webex and Zoom"), "{page}");
    let norsk = text(&format!("{}/?lang=no", app.base)).await;
    assert!(norsk.contains("Denne serveren er tollbooth"), "{norsk}");
}

type Socket =
    tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>>;

/// One Chromium tab driven over the DevTools protocol.
struct Tab {
    child: Child,
    socket: Socket,
    next_id: u64,
    _profile: TempDir,
}

impl Tab {
    async fn open(browser: &Path, url: &str) -> Tab {
        let profile = TempDir::new();
        let mut child = headless(browser, &profile)
            .arg("--remote-debugging-port=0")
            .arg(url)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        // Chromium writes the port it chose into the profile.
        let port_file = profile.0.join("DevToolsActivePort");
        let started = Instant::now();
        let port = loop {
            if let Some(port) = std::fs::read_to_string(&port_file)
                .ok()
                .and_then(|text| text.lines().next().and_then(|l| l.parse::<u16>().ok()))
            {
                break port;
            }
            if started.elapsed() > Duration::from_secs(30) {
                let _ = child.kill();
                panic!("chromium did not open its DevTools port");
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        };
        let targets: Vec<Value> = reqwest::get(format!("http://127.0.0.1:{port}/json/list"))
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        let page = targets.iter().find(|t| t["type"] == "page").expect("a page target");
        let ws = page["webSocketDebuggerUrl"].as_str().unwrap();
        let (socket, _) = tokio_tungstenite::connect_async(ws).await.unwrap();
        Tab { child, socket, next_id: 0, _profile: profile }
    }

    async fn call(&mut self, method: &str, params: Value) -> Value {
        self.next_id += 1;
        let id = self.next_id;
        let request = json!({ "id": id, "method": method, "params": params }).to_string();
        self.socket.send(Message::text(request)).await.unwrap();
        // Events arrive in between; the answer is the message with our id.
        let answer = tokio::time::timeout(Duration::from_secs(30), async {
            loop {
                let message = self.socket.next().await.expect("DevTools closed").unwrap();
                if let Message::Text(text) = message {
                    let value: Value = serde_json::from_str(&text).unwrap();
                    if value["id"] == id {
                        return value;
                    }
                }
            }
        })
        .await
        .expect("DevTools answered in time");
        assert!(answer.get("error").is_none(), "{method}: {answer}");
        answer["result"].clone()
    }

    async fn eval(&mut self, expression: &str) -> Value {
        let result = self
            .call("Runtime.evaluate", json!({ "expression": expression, "returnByValue": true }))
            .await;
        result["result"]["value"].clone()
    }

    async fn wait_for(&mut self, condition: &str) {
        let started = Instant::now();
        while self.eval(condition).await != json!(true) {
            let url = self.eval("location.href").await;
            assert!(started.elapsed() < Duration::from_secs(20), "waited for {condition} on {url}");
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    async fn text(&mut self) -> String {
        self.eval("document.body.innerText").await.as_str().unwrap_or_default().to_owned()
    }

    /// A real click: the mouse pressed and released over the middle of the element.
    async fn click(&mut self, selector: &str) {
        let centre = self
            .eval(&format!(
                "(() => {{ const r = document.querySelector('{selector}').getBoundingClientRect(); \
                 return [r.x + r.width / 2, r.y + r.height / 2]; }})()"
            ))
            .await;
        let (x, y) = (centre[0].as_f64().unwrap(), centre[1].as_f64().unwrap());
        for kind in ["mouseMoved", "mousePressed", "mouseReleased"] {
            self.call(
                "Input.dispatchMouseEvent",
                json!({ "type": kind, "x": x, "y": y, "button": "left", "clickCount": 1 }),
            )
            .await;
        }
    }

    async fn screenshot(&mut self, path: &Path) {
        let shot = self.call("Page.captureScreenshot", json!({ "format": "png" })).await;
        let png = base64::engine::general_purpose::STANDARD
            .decode(shot["data"].as_str().unwrap())
            .unwrap();
        std::fs::write(path, png).unwrap();
    }
}

impl Drop for Tab {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
