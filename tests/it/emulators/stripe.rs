//! A Stripe emulator built from `reference/payments.md` §4.2 and `anchors.md` B.3: Checkout
//! Sessions (form-encoded, minor units, `capture_method=manual`), a hosted checkout page,
//! PaymentIntent capture and cancel, refunds, Stripe's error shape, `Idempotency-Key` replay
//! (same key and parameters: the first answer again; other parameters: an idempotency error),
//! and webhooks signed with `Stripe-Signature` exactly as Stripe signs them. It counts charges
//! and can be told to fail, to answer slowly, or to hold its webhooks back.

use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, Mutex, MutexGuard};

use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{Html, IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use axum::{Form, Json, Router};
use hmac::{KeyInit, Mac};
use serde_json::{Value, json};

use super::{Controls, Delivery, Knobs};

pub const SECRET_KEY: &str = "sk_test_emulator";
pub const WEBHOOK_SECRET: &str = "whsec_emulator";

/// ISO 4217 currencies Stripe counts without decimals (`payments.md` §5), among those tests use.
const ZERO_DECIMAL: [&str; 4] = ["jpy", "krw", "vnd", "clp"];

struct Session {
    id: String,
    amount: i64,
    currency: String,
    name: String,
    success_url: String,
    cancel_url: String,
    client_reference_id: Option<String>,
    metadata: BTreeMap<String, String>,
    manual: bool,
    status: &'static str,
    payment_status: &'static str,
    intent: Option<String>,
}

struct Intent {
    id: String,
    amount: i64,
    currency: String,
    status: &'static str,
    capturable: i64,
    received: i64,
    refunded: i64,
    latest_charge: Option<String>,
    declined: bool,
}

#[derive(Default)]
struct Ledger {
    /// The emulator's own base URL, for hosted page links.
    base: String,
    sessions: HashMap<String, Session>,
    intents: HashMap<String, Intent>,
    /// First answer per idempotency key, with the request it answered.
    answers: HashMap<String, (String, u16, Value)>,
    next: u32,
    knobs: Knobs,
    /// Every refund made, in order: its PaymentIntent and amount in minor units.
    refunds: Vec<(String, i64)>,
}

impl Ledger {
    fn id(&mut self, prefix: &str) -> String {
        self.next += 1;
        format!("{prefix}_test_{:06}", self.next)
    }
}

type Shared = Arc<Mutex<Ledger>>;

#[derive(Clone)]
pub struct Stripe {
    pub base: String,
    ledger: Shared,
}

impl Controls for Stripe {
    fn knobs<R>(&self, f: impl FnOnce(&mut Knobs) -> R) -> R {
        f(&mut self.ledger().knobs)
    }
}

impl Stripe {
    pub async fn start() -> Stripe {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let base = format!("http://{}", listener.local_addr().unwrap());
        let ledger = Shared::default();
        ledger.lock().unwrap().base = base.clone();
        let app = Router::new()
            .route("/v1/{*path}", post(api_post).get(api_get))
            .route("/pay/{id}", get(hosted_page).post(hosted_decision))
            .with_state(ledger.clone());
        tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
        Stripe { base, ledger }
    }

    fn ledger(&self) -> MutexGuard<'_, Ledger> {
        self.ledger.lock().unwrap()
    }

    /// Every refund made, in order: its PaymentIntent and amount in minor units.
    pub fn refunds(&self) -> Vec<(String, i64)> {
        self.ledger().refunds.clone()
    }

    /// A genuinely signed `checkout.session.completed` for `session` that claims another total,
    /// as a compromised or buggy sender might.
    pub fn event_claiming(&self, session: &str, amount_total: i64) -> Delivery {
        let l = self.ledger();
        let mut object = session_json(&l, &l.sessions[session]);
        object["amount_total"] = json!(amount_total);
        signed(&event(999_999, "checkout.session.completed", object))
    }
}

fn stripe_error(status: StatusCode, kind: &str, code: &str, message: &str) -> (u16, Value) {
    let body = json!({"error": {"type": kind, "code": code, "message": message}});
    (status.as_u16(), body)
}

fn invalid(code: &str, message: &str) -> (u16, Value) {
    stripe_error(StatusCode::BAD_REQUEST, "invalid_request_error", code, message)
}

fn authorised(headers: &HeaderMap) -> bool {
    headers.get("authorization").and_then(|v| v.to_str().ok())
        == Some(&format!("Bearer {SECRET_KEY}"))
}

fn unauthorised() -> Response {
    let (status, body) = stripe_error(
        StatusCode::UNAUTHORIZED,
        "invalid_request_error",
        "api_key_invalid",
        "Invalid API Key provided",
    );
    (StatusCode::from_u16(status).unwrap(), Json(body)).into_response()
}

async fn api_post(
    State(ledger): State<Shared>,
    Path(path): Path<String>,
    headers: HeaderMap,
    body: String,
) -> Response {
    if !authorised(&headers) {
        return unauthorised();
    }
    let key = headers.get("idempotency-key").and_then(|v| v.to_str().ok()).map(str::to_owned);
    let (status, answer, replayed, delay) = {
        let mut l = ledger.lock().unwrap();
        if path == "refunds" && l.knobs.refund_fails() {
            // Before execution began: Stripe saves nothing for the key.
            let (s, b) =
                stripe_error(StatusCode::INTERNAL_SERVER_ERROR, "api_error", "", "emulated outage");
            return (StatusCode::from_u16(s).unwrap(), Json(b)).into_response();
        }
        let request = format!("{path}?{body}");
        let (status, answer, replayed) = match key.as_ref().and_then(|k| l.answers.get(k)) {
            Some((first, status, answer)) if *first == request => (*status, answer.clone(), true),
            Some(_) => {
                let (s, b) = invalid(
                    "idempotency_key_in_use",
                    "Keys for idempotent requests can only be used with the same parameters they were first used with.",
                );
                (s, b, false)
            }
            None => {
                let form: BTreeMap<String, String> =
                    url::form_urlencoded::parse(body.as_bytes()).into_owned().collect();
                let (status, answer) = execute(&mut l, &path, &form);
                if let Some(key) = &key {
                    l.answers.insert(key.clone(), (request, status, answer.clone()));
                }
                (status, answer, false)
            }
        };
        if replayed {
            l.knobs.replays += 1;
        }
        let delay = if path.ends_with("/capture") { l.knobs.capture_delay() } else { None };
        (status, answer, replayed, delay)
    };
    if let Some(delay) = delay {
        tokio::time::sleep(delay).await;
    }
    let mut response = (StatusCode::from_u16(status).unwrap(), Json(answer)).into_response();
    if replayed {
        response.headers_mut().insert("idempotent-replayed", "true".parse().unwrap());
    }
    response
}

fn execute(l: &mut Ledger, path: &str, f: &BTreeMap<String, String>) -> (u16, Value) {
    let parts: Vec<&str> = path.split('/').collect();
    match parts.as_slice() {
        ["checkout", "sessions"] => create_session(l, f),
        ["payment_intents", id, "capture"] => capture(l, id, f),
        ["payment_intents", id, "cancel"] => cancel(l, id),
        ["refunds"] => refund(l, f),
        _ => stripe_error(
            StatusCode::NOT_FOUND,
            "invalid_request_error",
            "resource_missing",
            "Unrecognized request URL",
        ),
    }
}

fn create_session(l: &mut Ledger, f: &BTreeMap<String, String>) -> (u16, Value) {
    for required in [
        "success_url",
        "line_items[0][price_data][currency]",
        "line_items[0][price_data][unit_amount]",
    ] {
        if !f.contains_key(required) {
            return invalid("parameter_missing", &format!("Missing required param: {required}."));
        }
    }
    if f.get("mode").map(String::as_str) != Some("payment") {
        return invalid("parameter_invalid", "Invalid mode: this emulator knows mode=payment");
    }
    let currency = f["line_items[0][price_data][currency]"].clone();
    if currency.len() != 3 || currency != currency.to_ascii_lowercase() {
        return invalid("parameter_invalid", &format!("Invalid currency: {currency}"));
    }
    let Ok(amount) = f["line_items[0][price_data][unit_amount]"].parse::<i64>() else {
        return invalid("parameter_invalid_integer", "Invalid integer: unit_amount");
    };
    if amount < 1 {
        return invalid("amount_too_small", "Amount must be at least 1 unit of the currency");
    }
    if f.get("line_items[0][quantity]").map(String::as_str) != Some("1") {
        return invalid("parameter_invalid", "quantity must be 1 in this emulator");
    }
    let id = l.id("cs");
    let metadata = f
        .iter()
        .filter_map(|(k, v)| {
            Some((k.strip_prefix("metadata[")?.strip_suffix(']')?.to_owned(), v.clone()))
        })
        .collect();
    let session = Session {
        id: id.clone(),
        amount,
        currency,
        name: f.get("line_items[0][price_data][product_data][name]").cloned().unwrap_or_default(),
        success_url: f["success_url"].clone(),
        cancel_url: f.get("cancel_url").cloned().unwrap_or_default(),
        client_reference_id: f.get("client_reference_id").cloned(),
        metadata,
        manual: f.get("payment_intent_data[capture_method]").map(String::as_str) == Some("manual"),
        status: "open",
        payment_status: "unpaid",
        intent: None,
    };
    let body = session_json(l, &session);
    l.sessions.insert(id, session);
    (200, body)
}

fn session_json(l: &Ledger, s: &Session) -> Value {
    json!({
        "id": s.id, "object": "checkout.session", "mode": "payment",
        "status": s.status, "payment_status": s.payment_status,
        "amount_subtotal": s.amount, "amount_total": s.amount, "currency": s.currency,
        "client_reference_id": s.client_reference_id, "metadata": s.metadata,
        "payment_intent": s.intent,
        "url": (s.status == "open").then(|| format!("{}/pay/{}", l.base, s.id)),
        "success_url": s.success_url, "cancel_url": s.cancel_url, "livemode": false,
    })
}

fn intent_json(i: &Intent) -> Value {
    json!({
        "id": i.id, "object": "payment_intent", "amount": i.amount, "currency": i.currency,
        "status": i.status, "amount_capturable": i.capturable, "amount_received": i.received,
        "latest_charge": i.latest_charge,
        "last_payment_error": i.declined.then(|| json!({"code": "card_declined", "message": "Your card was declined."})),
    })
}

fn capture(l: &mut Ledger, id: &str, f: &BTreeMap<String, String>) -> (u16, Value) {
    let charge = l.id("ch");
    let Some(intent) = l.intents.get_mut(id) else {
        return stripe_error(
            StatusCode::NOT_FOUND,
            "invalid_request_error",
            "resource_missing",
            &format!("No such payment_intent: '{id}'"),
        );
    };
    if intent.status != "requires_capture" {
        return invalid(
            "payment_intent_unexpected_state",
            &format!(
                "This PaymentIntent could not be captured because it has a status of {}.",
                intent.status
            ),
        );
    }
    let amount = match f.get("amount_to_capture").map(|a| a.parse::<i64>()) {
        None => intent.capturable,
        Some(Ok(a)) if a > 0 && a <= intent.capturable => a,
        Some(_) => {
            return invalid(
                "amount_too_large",
                "amount_to_capture must be at most amount_capturable",
            );
        }
    };
    intent.status = "succeeded";
    intent.received = amount;
    intent.capturable = 0;
    intent.latest_charge = Some(charge);
    let body = intent_json(intent);
    l.knobs.charges += 1;
    (200, body)
}

fn cancel(l: &mut Ledger, id: &str) -> (u16, Value) {
    let Some(intent) = l.intents.get_mut(id) else {
        return stripe_error(
            StatusCode::NOT_FOUND,
            "invalid_request_error",
            "resource_missing",
            &format!("No such payment_intent: '{id}'"),
        );
    };
    if intent.status != "requires_capture" {
        return invalid(
            "payment_intent_unexpected_state",
            &format!("cannot cancel a PaymentIntent that is {}", intent.status),
        );
    }
    intent.status = "canceled";
    intent.capturable = 0;
    (200, intent_json(intent))
}

fn refund(l: &mut Ledger, f: &BTreeMap<String, String>) -> (u16, Value) {
    let id = l.id("re");
    let Some(intent) = f.get("payment_intent").and_then(|pi| l.intents.get_mut(pi)) else {
        return invalid("resource_missing", "No such payment_intent");
    };
    if intent.status != "succeeded" {
        return invalid("charge_not_refundable", "This PaymentIntent has not been paid");
    }
    let left = intent.received - intent.refunded;
    let amount = match f.get("amount").map(|a| a.parse::<i64>()) {
        None => left,
        Some(Ok(a)) if a > 0 && a <= left => a,
        Some(_) => {
            return invalid(
                "amount_too_large",
                &format!("Refund amount is greater than unrefunded amount ({left})"),
            );
        }
    };
    intent.refunded += amount;
    let intent_id = intent.id.clone();
    let currency = intent.currency.clone();
    l.refunds.push((intent_id.clone(), amount));
    (
        200,
        json!({"id": id, "object": "refund", "amount": amount, "currency": currency, "payment_intent": intent_id, "status": "succeeded"}),
    )
}

async fn api_get(
    State(ledger): State<Shared>,
    Path(path): Path<String>,
    headers: HeaderMap,
    uri: axum::http::Uri,
) -> Response {
    if !authorised(&headers) {
        return unauthorised();
    }
    let l = ledger.lock().unwrap();
    let expand = uri.query().is_some_and(|q| q.contains("payment_intent"));
    let Some(id) = path.strip_prefix("checkout/sessions/") else {
        return (StatusCode::NOT_FOUND, Json(json!({"error": {"type": "invalid_request_error", "message": "Unrecognized request URL"}}))).into_response();
    };
    let Some(session) = l.sessions.get(id) else {
        return (StatusCode::NOT_FOUND, Json(json!({"error": {"type": "invalid_request_error", "code": "resource_missing", "message": format!("No such checkout.session: '{id}'")}}))).into_response();
    };
    let mut body = session_json(&l, session);
    if expand && let Some(intent) = session.intent.as_ref().and_then(|i| l.intents.get(i)) {
        body["payment_intent"] = intent_json(intent);
    }
    Json(body).into_response()
}

async fn hosted_page(State(ledger): State<Shared>, Path(id): Path<String>) -> Response {
    let l = ledger.lock().unwrap();
    match l.sessions.get(&id) {
        Some(s) if s.status == "open" => {
            let shown = if ZERO_DECIMAL.contains(&s.currency.as_str()) {
                s.amount.to_string()
            } else {
                format!("{}.{:02}", s.amount / 100, s.amount % 100)
            };
            Html(format!(
                "<h1>Stripe Checkout (emulated): {} — {shown} {}</h1><form method=post>\
                 <button name=decision value=approve>Pay</button>\
                 <button name=decision value=decline>Decline</button>\
                 <button name=decision value=cancel>Back</button></form>",
                s.name, s.currency
            ))
            .into_response()
        }
        Some(_) => (StatusCode::GONE, "This Checkout Session is no longer active").into_response(),
        None => (StatusCode::NOT_FOUND, "No such Checkout Session").into_response(),
    }
}

/// The payer pays on the hosted page. An approved card is held (manual capture) or charged;
/// a declined one is treated as a delayed payment method that fails, the path by which a
/// completed session ends unpaid (`checkout.session.async_payment_failed`).
async fn hosted_decision(
    State(ledger): State<Shared>,
    Path(id): Path<String>,
    Form(f): Form<BTreeMap<String, String>>,
) -> Response {
    let decision = f.get("decision").cloned().unwrap_or_default();
    let (events, url, back) = {
        let mut l = ledger.lock().unwrap();
        let intent_id = l.id("pi");
        let charge = l.id("ch");
        let Some(session) = l.sessions.get_mut(&id).filter(|s| s.status == "open") else {
            return (StatusCode::GONE, "This Checkout Session is no longer active").into_response();
        };
        if decision == "cancel" {
            return Redirect::to(&session.cancel_url).into_response();
        }
        let approved = decision == "approve";
        let status = match (approved, session.manual) {
            (false, _) => "requires_payment_method",
            (true, true) => "requires_capture",
            (true, false) => "succeeded",
        };
        session.status = "complete";
        // Held funds are not yet available: `unpaid` until captured.
        session.payment_status = if status == "succeeded" { "paid" } else { "unpaid" };
        session.intent = Some(intent_id.clone());
        let intent = Intent {
            id: intent_id.clone(),
            amount: session.amount,
            currency: session.currency.clone(),
            status,
            capturable: if status == "requires_capture" { session.amount } else { 0 },
            received: if status == "succeeded" { session.amount } else { 0 },
            refunded: 0,
            latest_charge: (status == "succeeded").then_some(charge),
            declined: !approved,
        };
        let back = session.success_url.replace("{CHECKOUT_SESSION_ID}", &id);
        if status == "succeeded" {
            l.knobs.charges += 1;
        }
        l.intents.insert(intent_id, intent);
        let object = session_json(&l, &l.sessions[&id]);
        let mut kinds = vec!["checkout.session.completed"];
        if !approved {
            kinds.push("checkout.session.async_payment_failed");
        }
        let events: Vec<Delivery> = kinds
            .into_iter()
            .map(|kind| {
                let n = l.next;
                l.next += 1;
                signed(&event(n, kind, object.clone()))
            })
            .collect();
        l.knobs.last_callback = events.first().cloned();
        let url = if l.knobs.hold_callbacks { None } else { l.knobs.callback_url.clone() };
        (events, url, back)
    };
    if let Some(url) = url {
        for delivery in events {
            delivery.send(&url).await;
        }
    }
    Redirect::to(&back).into_response()
}

fn event(n: u32, kind: &str, object: Value) -> Value {
    json!({
        "id": format!("evt_test_{n:06}"), "object": "event", "api_version": "2024-06-20",
        "created": chrono::Utc::now().timestamp(), "type": kind,
        "data": {"object": object, "previous_attributes": null},
        "livemode": false, "pending_webhooks": 1, "request": {"id": null, "idempotency_key": null},
    })
}

/// Signs as Stripe does: `t=<now>,v1=<hex HMAC-SHA256 of "{t}.{body}">` with the endpoint secret.
fn signed(event: &Value) -> Delivery {
    let body = serde_json::to_vec(event).unwrap();
    let t = chrono::Utc::now().timestamp();
    let mut mac = hmac::Hmac::<sha2::Sha256>::new_from_slice(WEBHOOK_SECRET.as_bytes()).unwrap();
    mac.update(format!("{t}.").as_bytes());
    mac.update(&body);
    let signature = hex::encode(mac.finalize().into_bytes());
    Delivery {
        headers: vec![
            ("content-type".into(), "application/json; charset=utf-8".into()),
            ("stripe-signature".into(), format!("t={t},v1={signature}")),
        ],
        body,
    }
}
