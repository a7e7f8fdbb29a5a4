//! A PayPal REST emulator (Orders v2 and Payments v2) built from `reference/payments.md` §4.1:
//! OAuth client credentials, orders with intent CAPTURE or AUTHORIZE and their documented
//! refusals (`ORDER_NOT_APPROVED`, `ACTION_DOES_NOT_MATCH_INTENT`, `DECIMAL_PRECISION`,
//! `INSTRUMENT_DECLINED`, `AUTHORIZATION_ALREADY_CAPTURED`, `REFUND_AMOUNT_EXCEEDED`), a payer
//! approval page at `checkoutnow?token=…`, captures, voids and refunds, `PayPal-Request-Id`
//! replay (201 first, 200 on replay), and webhooks with the PAYPAL-TRANSMISSION-* headers that
//! `verify-webhook-signature` confirms only for events it really sent. It counts charges and
//! can be told to fail, to answer slowly, or to hold its webhooks back.

use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, Mutex, MutexGuard};

use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{Html, IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use axum::{Form, Json, Router};
use base64::Engine;
use rust_decimal::Decimal;
use serde_json::{Value, json};

use super::{Controls, Delivery, Knobs};

pub const CLIENT_ID: &str = "emulator-client";
pub const CLIENT_SECRET: &str = "emulator-secret";
pub const WEBHOOK_ID: &str = "WH-EMULATOR-1";

struct Order {
    id: String,
    intent: String,
    amount: Decimal,
    value: String,
    currency: String,
    custom_id: Option<String>,
    invoice_id: Option<String>,
    return_url: String,
    cancel_url: String,
    status: &'static str,
    /// The payer's funding will be refused when the order is authorised or captured.
    declined: bool,
    authorization: Option<String>,
    capture: Option<String>,
}

struct Money {
    id: String,
    order: String,
    amount: Decimal,
    currency: String,
    status: &'static str,
    refunded: Decimal,
}

#[derive(Default)]
struct Ledger {
    base: String,
    tokens: Vec<String>,
    orders: HashMap<String, Order>,
    authorizations: HashMap<String, Money>,
    captures: HashMap<String, Money>,
    /// First answer per `PayPal-Request-Id`, with the path it answered.
    answers: HashMap<String, (String, u16, Value)>,
    /// Every webhook sent, by transmission id, for verification.
    sent: HashMap<String, Value>,
    next: u32,
    knobs: Knobs,
    /// Webhooks waiting to be sent once the lock is released.
    outbox: Vec<Delivery>,
}

impl Ledger {
    fn id(&mut self, prefix: &str) -> String {
        self.next += 1;
        format!("{prefix}{:013}", self.next)
    }
}

type Shared = Arc<Mutex<Ledger>>;

#[derive(Clone)]
pub struct Paypal {
    pub base: String,
    ledger: Shared,
}

impl Controls for Paypal {
    fn knobs<R>(&self, f: impl FnOnce(&mut Knobs) -> R) -> R {
        f(&mut self.ledger().knobs)
    }
}

impl Paypal {
    pub async fn start() -> Paypal {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let base = format!("http://{}", listener.local_addr().unwrap());
        let ledger = Shared::default();
        ledger.lock().unwrap().base = base.clone();
        let app = Router::new()
            .route("/v1/oauth2/token", post(oauth))
            .route("/v1/notifications/verify-webhook-signature", post(verify))
            .route("/v2/{*path}", post(api_post).get(api_get))
            .route("/checkoutnow", get(approval_page).post(approval))
            .with_state(ledger.clone());
        tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
        Paypal { base, ledger }
    }

    fn ledger(&self) -> MutexGuard<'_, Ledger> {
        self.ledger.lock().unwrap()
    }

    /// A webhook PayPal vouches for (as its webhook simulator would send) whose order claims
    /// `value`.
    pub fn event_claiming(&self, order: &str, value: &str) -> Delivery {
        let mut l = self.ledger();
        let mut resource = order_json(&l, &l.orders[order]);
        resource["purchase_units"][0]["amount"]["value"] = json!(value);
        webhook(&mut l, "CHECKOUT.ORDER.APPROVED", "checkout-order", resource)
    }
}

/// PayPal's answer for an id it does not know.
fn unknown_resource() -> (u16, Value) {
    issue(
        StatusCode::NOT_FOUND,
        "RESOURCE_NOT_FOUND",
        "INVALID_RESOURCE_ID",
        "Specified resource ID does not exist.",
    )
}

fn issue(status: StatusCode, name: &str, issue: &str, message: &str) -> (u16, Value) {
    let body = json!({
        "name": name, "message": message, "debug_id": "emulator",
        "details": [{"issue": issue, "description": message}],
    });
    (status.as_u16(), body)
}

fn unprocessable(code: &str, message: &str) -> (u16, Value) {
    issue(StatusCode::UNPROCESSABLE_ENTITY, "UNPROCESSABLE_ENTITY", code, message)
}

fn reply((status, body): (u16, Value)) -> Response {
    (StatusCode::from_u16(status).unwrap(), Json(body)).into_response()
}

async fn oauth(State(ledger): State<Shared>, headers: HeaderMap, body: String) -> Response {
    let expected =
        base64::engine::general_purpose::STANDARD.encode(format!("{CLIENT_ID}:{CLIENT_SECRET}"));
    let auth = headers.get("authorization").and_then(|v| v.to_str().ok()).unwrap_or_default();
    if auth != format!("Basic {expected}") || body != "grant_type=client_credentials" {
        let body =
            json!({"error": "invalid_client", "error_description": "Client Authentication failed"});
        return (StatusCode::UNAUTHORIZED, Json(body)).into_response();
    }
    let mut l = ledger.lock().unwrap();
    let token = l.id("A21AA");
    l.tokens.push(token.clone());
    Json(json!({
        "scope": "https://uri.paypal.com/services/payments/payment", "access_token": token,
        "token_type": "Bearer", "app_id": "APP-80W284485P519543T", "expires_in": 32400, "nonce": "emulator",
    }))
    .into_response()
}

fn bearer_ok(l: &Ledger, headers: &HeaderMap) -> bool {
    let auth = headers.get("authorization").and_then(|v| v.to_str().ok()).unwrap_or_default();
    auth.strip_prefix("Bearer ").is_some_and(|t| l.tokens.iter().any(|known| known == t))
}

fn unauthorised() -> Response {
    reply(issue(
        StatusCode::UNAUTHORIZED,
        "AUTHENTICATION_FAILURE",
        "INVALID_TOKEN",
        "Authentication failed due to invalid authentication credentials or a missing Authorization header.",
    ))
}

async fn verify(
    State(ledger): State<Shared>,
    headers: HeaderMap,
    Json(body): Json<Value>,
) -> Response {
    let l = ledger.lock().unwrap();
    if !bearer_ok(&l, &headers) {
        return unauthorised();
    }
    let genuine = body["webhook_id"] == WEBHOOK_ID
        && ["auth_algo", "cert_url", "transmission_sig", "transmission_time"]
            .iter()
            .all(|f| body[f].is_string())
        && body["transmission_id"].as_str().and_then(|id| l.sent.get(id))
            == Some(&body["webhook_event"]);
    Json(json!({"verification_status": if genuine { "SUCCESS" } else { "FAILURE" }}))
        .into_response()
}

async fn api_post(
    State(ledger): State<Shared>,
    Path(path): Path<String>,
    headers: HeaderMap,
    body: String,
) -> Response {
    let request_id =
        headers.get("paypal-request-id").and_then(|v| v.to_str().ok()).map(str::to_owned);
    let (answer, outbox, url, delay) = {
        let mut l = ledger.lock().unwrap();
        if !bearer_ok(&l, &headers) {
            return unauthorised();
        }
        if path.ends_with("/refund") && l.knobs.refund_fails() {
            return reply(issue(
                StatusCode::SERVICE_UNAVAILABLE,
                "INTERNAL_SERVER_ERROR",
                "INTERNAL_SERVICE_ERROR",
                "emulated outage",
            ));
        }
        let answer = match request_id.as_ref().and_then(|id| l.answers.get(id)).cloned() {
            Some((first, status, answer)) if first == path => {
                l.knobs.replays += 1;
                // A replay answers 200 with the original's latest representation.
                (if status == 201 { 200 } else { status }, answer)
            }
            Some(_) => unprocessable(
                "PAYPAL_REQUEST_ID_PREVIOUSLY_USED",
                "The PayPal-Request-Id has already been used for another request.",
            ),
            None => {
                let body: Value = serde_json::from_str(&body).unwrap_or(Value::Null);
                let answer = execute(&mut l, &path, &body);
                if let Some(id) = &request_id {
                    l.answers.insert(id.clone(), (path.clone(), answer.0, answer.1.clone()));
                }
                answer
            }
        };
        let delay = if path.ends_with("/capture") { l.knobs.capture_delay() } else { None };
        let outbox = std::mem::take(&mut l.outbox);
        let url = if l.knobs.hold_callbacks { None } else { l.knobs.callback_url.clone() };
        (answer, outbox, url, delay)
    };
    send_all(outbox, url);
    if let Some(delay) = delay {
        tokio::time::sleep(delay).await;
    }
    reply(answer)
}

fn send_all(outbox: Vec<Delivery>, url: Option<String>) {
    if let Some(url) = url {
        tokio::spawn(async move {
            for delivery in outbox {
                delivery.send(&url).await;
            }
        });
    }
}

fn execute(l: &mut Ledger, path: &str, body: &Value) -> (u16, Value) {
    let parts: Vec<&str> = path.split('/').collect();
    match parts.as_slice() {
        ["checkout", "orders"] => create_order(l, body),
        ["checkout", "orders", id, action @ ("authorize" | "capture")] => complete(l, id, action),
        ["payments", "authorizations", id, "capture"] => capture_authorization(l, id, body),
        ["payments", "authorizations", id, "void"] => void(l, id),
        ["payments", "captures", id, "refund"] => refund(l, id, body),
        _ => unknown_resource(),
    }
}

/// The decimals PayPal wants in `value`.
fn decimals(currency: &str) -> usize {
    match currency {
        "HUF" | "JPY" | "TWD" => 0,
        "BHD" | "JOD" | "KWD" | "OMR" | "TND" => 3,
        _ => 2,
    }
}

fn parse_amount(amount: &Value) -> Result<(Decimal, String, String), (u16, Value)> {
    let (Some(currency), Some(value)) =
        (amount["currency_code"].as_str(), amount["value"].as_str())
    else {
        return Err(issue(
            StatusCode::BAD_REQUEST,
            "INVALID_REQUEST",
            "MISSING_REQUIRED_PARAMETER",
            "amount needs currency_code and value (a string)",
        ));
    };
    let places = value.split_once('.').map_or(0, |(_, d)| d.len());
    let Ok(parsed) = value.parse::<Decimal>() else {
        return Err(issue(
            StatusCode::BAD_REQUEST,
            "INVALID_REQUEST",
            "INVALID_PARAMETER_SYNTAX",
            "value is not a number",
        ));
    };
    if places != decimals(currency) || parsed <= Decimal::ZERO {
        return Err(unprocessable(
            "DECIMAL_PRECISION",
            &format!("{currency} takes {} decimals", decimals(currency)),
        ));
    }
    Ok((parsed, value.to_owned(), currency.to_owned()))
}

fn create_order(l: &mut Ledger, body: &Value) -> (u16, Value) {
    let intent = body["intent"].as_str().unwrap_or_default();
    if !matches!(intent, "CAPTURE" | "AUTHORIZE") {
        return issue(
            StatusCode::BAD_REQUEST,
            "INVALID_REQUEST",
            "INVALID_PARAMETER_VALUE",
            "intent must be CAPTURE or AUTHORIZE",
        );
    }
    let unit = &body["purchase_units"][0];
    let (amount, value, currency) = match parse_amount(&unit["amount"]) {
        Ok(parsed) => parsed,
        Err(e) => return e,
    };
    let context = &body["payment_source"]["paypal"]["experience_context"];
    let (Some(return_url), Some(cancel_url)) =
        (context["return_url"].as_str(), context["cancel_url"].as_str())
    else {
        return issue(
            StatusCode::BAD_REQUEST,
            "INVALID_REQUEST",
            "MISSING_REQUIRED_PARAMETER",
            "experience_context needs return_url and cancel_url",
        );
    };
    let invoice_id = unit["invoice_id"].as_str().map(str::to_owned);
    if invoice_id.is_some() && l.orders.values().any(|o| o.invoice_id == invoice_id) {
        return unprocessable("DUPLICATE_INVOICE_ID", "Duplicate Invoice ID detected.");
    }
    let id = l.id("5O");
    let order = Order {
        id: id.clone(),
        intent: intent.to_owned(),
        amount,
        value,
        currency,
        custom_id: unit["custom_id"].as_str().map(str::to_owned),
        invoice_id,
        return_url: return_url.to_owned(),
        cancel_url: cancel_url.to_owned(),
        status: "PAYER_ACTION_REQUIRED",
        declined: false,
        authorization: None,
        capture: None,
    };
    let json = order_json(l, &order);
    l.orders.insert(id, order);
    (201, json)
}

fn money_json(m: &Money, order: &Order) -> Value {
    json!({
        "id": m.id, "status": m.status,
        "amount": {"currency_code": m.currency, "value": format!("{:.*}", decimals(&m.currency), m.amount)},
        "custom_id": order.custom_id, "invoice_id": order.invoice_id,
        "supplementary_data": {"related_ids": {"order_id": order.id}},
    })
}

fn order_json(l: &Ledger, o: &Order) -> Value {
    let mut unit = json!({
        "reference_id": "default", "custom_id": o.custom_id, "invoice_id": o.invoice_id,
        "amount": {"currency_code": o.currency, "value": o.value},
    });
    if let Some(a) = o.authorization.as_ref().and_then(|id| l.authorizations.get(id)) {
        unit["payments"] = json!({"authorizations": [money_json(a, o)]});
    }
    if let Some(c) = o.capture.as_ref().and_then(|id| l.captures.get(id)) {
        unit["payments"] = json!({"captures": [money_json(c, o)]});
    }
    json!({
        "id": o.id, "intent": o.intent, "status": o.status, "purchase_units": [unit],
        "links": [
            {"href": format!("{}/v2/checkout/orders/{}", l.base, o.id), "rel": "self", "method": "GET"},
            {"href": format!("{}/checkoutnow?token={}", l.base, o.id), "rel": "payer-action", "method": "GET"},
        ],
    })
}

fn complete(l: &mut Ledger, id: &str, action: &str) -> (u16, Value) {
    let money_id = l.id(if action == "authorize" { "0VF" } else { "3C6" });
    let Some(order) = l.orders.get(id) else {
        return unknown_resource();
    };
    let matches_intent = (action == "authorize") == (order.intent == "AUTHORIZE");
    if !matches_intent {
        return unprocessable(
            "ACTION_DOES_NOT_MATCH_INTENT",
            "Order was created with an intent of another kind.",
        );
    }
    match order.status {
        "APPROVED" => {}
        "COMPLETED" if action == "capture" => {
            return unprocessable("ORDER_ALREADY_CAPTURED", "Order already captured.");
        }
        "COMPLETED" => {
            return unprocessable("ORDER_ALREADY_AUTHORIZED", "Order already authorized.");
        }
        _ => {
            return unprocessable(
                "ORDER_NOT_APPROVED",
                "Payer has not yet approved the Order for payment.",
            );
        }
    }
    if order.declined {
        return unprocessable(
            "INSTRUMENT_DECLINED",
            "The instrument presented was either declined by the processor or bank, or it can't be used for this payment.",
        );
    }
    let money = Money {
        id: money_id.clone(),
        order: id.to_owned(),
        amount: order.amount,
        currency: order.currency.clone(),
        status: if action == "authorize" { "CREATED" } else { "COMPLETED" },
        refunded: Decimal::ZERO,
    };
    let (event, kind) = if action == "authorize" {
        l.authorizations.insert(money_id.clone(), money);
        ("PAYMENT.AUTHORIZATION.CREATED", "authorization")
    } else {
        l.knobs.charges += 1;
        l.captures.insert(money_id.clone(), money);
        ("PAYMENT.CAPTURE.COMPLETED", "capture")
    };
    let order = l.orders.get_mut(id).unwrap();
    order.status = "COMPLETED";
    if action == "authorize" {
        order.authorization = Some(money_id.clone());
    } else {
        order.capture = Some(money_id.clone());
    }
    let order = &l.orders[id];
    let resource = if kind == "authorization" {
        money_json(&l.authorizations[&money_id], order)
    } else {
        money_json(&l.captures[&money_id], order)
    };
    let json = order_json(l, order);
    let delivery = webhook(l, event, kind, resource);
    l.outbox.push(delivery);
    (201, json)
}

fn capture_authorization(l: &mut Ledger, id: &str, body: &Value) -> (u16, Value) {
    let capture_id = l.id("3C6");
    let Some(auth) = l.authorizations.get_mut(id) else {
        return unknown_resource();
    };
    match auth.status {
        "CREATED" => {}
        "CAPTURED" => {
            return unprocessable(
                "AUTHORIZATION_ALREADY_CAPTURED",
                "Authorization has been previously captured and hence cannot be captured again.",
            );
        }
        _ => {
            return unprocessable(
                "AUTHORIZATION_VOIDED",
                "A voided authorization cannot be captured.",
            );
        }
    }
    let amount = if body["amount"].is_object() {
        match parse_amount(&body["amount"]) {
            Ok((a, _, c)) if c == auth.currency => a,
            Ok(_) => {
                return unprocessable(
                    "CURRENCY_MISMATCH",
                    "Currency of capture must be the same as the currency of the authorization.",
                );
            }
            Err(e) => return e,
        }
    } else {
        auth.amount
    };
    if amount > auth.amount {
        return unprocessable(
            "MAX_CAPTURE_AMOUNT_EXCEEDED",
            "Capture amount exceeds the allowable limit.",
        );
    }
    auth.status = "CAPTURED";
    let capture = Money {
        id: capture_id.clone(),
        order: auth.order.clone(),
        amount,
        currency: auth.currency.clone(),
        status: "COMPLETED",
        refunded: Decimal::ZERO,
    };
    l.knobs.charges += 1;
    let order = &l.orders[&capture.order];
    let json = money_json(&capture, order);
    let delivery = webhook(l, "PAYMENT.CAPTURE.COMPLETED", "capture", json.clone());
    l.outbox.push(delivery);
    l.captures.insert(capture_id, capture);
    (201, json)
}

fn void(l: &mut Ledger, id: &str) -> (u16, Value) {
    let Some(auth) = l.authorizations.get_mut(id) else {
        return unknown_resource();
    };
    if auth.status != "CREATED" {
        return unprocessable(
            "PREVIOUSLY_CAPTURED",
            "Authorization has been previously captured and hence cannot be voided.",
        );
    }
    auth.status = "VOIDED";
    let order = &l.orders[&auth.order];
    (200, money_json(auth, order))
}

fn refund(l: &mut Ledger, id: &str, body: &Value) -> (u16, Value) {
    let refund_id = l.id("1JU");
    let Some(capture) = l.captures.get_mut(id) else {
        return unknown_resource();
    };
    let left = capture.amount - capture.refunded;
    let amount = if body["amount"].is_object() {
        match parse_amount(&body["amount"]) {
            // A refund is in the capture's currency.
            Ok((_, _, currency)) if currency != capture.currency => {
                return unprocessable(
                    "CURRENCY_MISMATCH",
                    "The currency of the refund must be the same as the currency of the capture.",
                );
            }
            Ok((a, _, _)) => a,
            Err(e) => return e,
        }
    } else {
        left
    };
    if amount > left || left.is_zero() {
        return unprocessable(
            "REFUND_AMOUNT_EXCEEDED",
            "The refund amount must be less than or equal to the capture amount that has not yet been refunded.",
        );
    }
    capture.refunded += amount;
    capture.status =
        if capture.refunded == capture.amount { "REFUNDED" } else { "PARTIALLY_REFUNDED" };
    let value = format!("{:.*}", decimals(&capture.currency), amount);
    (
        201,
        json!({"id": refund_id, "status": "COMPLETED", "amount": {"currency_code": capture.currency, "value": value}}),
    )
}

async fn api_get(
    State(ledger): State<Shared>,
    Path(path): Path<String>,
    headers: HeaderMap,
) -> Response {
    let l = ledger.lock().unwrap();
    if !bearer_ok(&l, &headers) {
        return unauthorised();
    }
    match path.strip_prefix("checkout/orders/").and_then(|id| l.orders.get(id)) {
        Some(order) => Json(order_json(&l, order)).into_response(),
        None => reply(unknown_resource()),
    }
}

async fn approval_page(
    State(ledger): State<Shared>,
    Query(q): Query<BTreeMap<String, String>>,
) -> Response {
    let l = ledger.lock().unwrap();
    match q.get("token").and_then(|t| l.orders.get(t)) {
        Some(o) if o.status == "PAYER_ACTION_REQUIRED" => Html(format!(
            "<h1>PayPal (emulated): {} {}</h1><form method=post>\
             <button name=decision value=approve>Pay Now</button>\
             <button name=decision value=decline>Pay with a card that is declined</button>\
             <button name=decision value=cancel>Cancel and return</button></form>",
            o.value, o.currency
        ))
        .into_response(),
        Some(_) => (StatusCode::GONE, "This order can no longer be approved").into_response(),
        None => (StatusCode::NOT_FOUND, "No such order").into_response(),
    }
}

/// The payer approves (or cancels) on PayPal's page and is sent back with `token` and
/// `PayerID`. Choosing a card that will be declined approves the order, and the decline comes
/// when tollbooth authorises or captures it.
async fn approval(
    State(ledger): State<Shared>,
    Query(q): Query<BTreeMap<String, String>>,
    Form(f): Form<BTreeMap<String, String>>,
) -> Response {
    let decision = f.get("decision").cloned().unwrap_or_default();
    let token = q.get("token").cloned().unwrap_or_default();
    let (back, outbox, url) = {
        let mut l = ledger.lock().unwrap();
        let Some(order) = l.orders.get_mut(&token).filter(|o| o.status == "PAYER_ACTION_REQUIRED")
        else {
            return (StatusCode::GONE, "This order can no longer be approved").into_response();
        };
        let target = if decision == "cancel" { &order.cancel_url } else { &order.return_url };
        let mut back = url::Url::parse(target).unwrap();
        back.query_pairs_mut().append_pair("token", &token);
        if decision == "cancel" {
            return Redirect::to(back.as_str()).into_response();
        }
        back.query_pairs_mut().append_pair("PayerID", "EMUPAYER01");
        order.status = "APPROVED";
        order.declined = decision != "approve";
        let resource = order_json(&l, &l.orders[&token]);
        let delivery = webhook(&mut l, "CHECKOUT.ORDER.APPROVED", "checkout-order", resource);
        l.outbox.push(delivery);
        let url = if l.knobs.hold_callbacks { None } else { l.knobs.callback_url.clone() };
        (back, std::mem::take(&mut l.outbox), url)
    };
    send_all(outbox, url);
    Redirect::to(back.as_str()).into_response()
}

/// A webhook delivery with PayPal's transmission headers, remembered for verification. The
/// signature is not RSA: this emulator confirms deliveries through verify-webhook-signature
/// only, which is how tollbooth verifies them.
fn webhook(l: &mut Ledger, event_type: &str, resource_type: &str, resource: Value) -> Delivery {
    let id = l.id("WH-");
    let transmission = l.id("tx-");
    let event = json!({
        "id": id, "event_version": "1.0", "create_time": chrono::Utc::now().to_rfc3339(),
        "resource_type": resource_type, "event_type": event_type,
        "summary": format!("{event_type} (emulated)"), "resource": resource,
    });
    l.sent.insert(transmission.clone(), event.clone());
    let sig =
        base64::engine::general_purpose::STANDARD.encode(format!("{transmission}|{WEBHOOK_ID}"));
    let delivery = Delivery {
        headers: vec![
            ("content-type".into(), "application/json".into()),
            ("paypal-transmission-id".into(), transmission),
            ("paypal-transmission-time".into(), chrono::Utc::now().to_rfc3339()),
            ("paypal-transmission-sig".into(), sig),
            ("paypal-cert-url".into(), format!("{}/v1/notifications/certs/CERT-EMULATOR", l.base)),
            ("paypal-auth-algo".into(), "SHA256withRSA".into()),
        ],
        body: serde_json::to_vec(&event).unwrap(),
    };
    l.knobs.last_callback = Some(delivery.clone());
    delivery
}
