//! An emulator of PayPal's classic NVP API, which Express Checkout and Website Payments Pro
//! share (one endpoint, one set of credentials), built from `reference/payments.md` §2 and §3:
//! SetExpressCheckout, the approval page at `cgi-bin/webscr?cmd=_express-checkout&token=…`,
//! GetExpressCheckoutDetails, DoExpressCheckoutPayment (10415 when a token is paid twice
//! without the same `MSGSUBID`, 10417 for declined funding), BMCreateButton with a token
//! button and its hosted payment page, TransactionSearch, GetTransactionDetails, DoCapture,
//! DoVoid, RefundTransaction with their documented refusals, `MSGSUBID` replay, ACK and
//! `L_ERRORCODEn` errors, URL-encoded answers, and IPN messages that the postback with
//! `cmd=_notify-validate` answers VERIFIED only for messages PayPal really sent. It counts
//! charges and can be told to fail, to answer slowly, or to hold its IPNs back.

use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, Mutex, MutexGuard};

use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{Html, IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use axum::{Form, Router};
use rust_decimal::Decimal;

use super::{Controls, Delivery, Knobs};

pub const USER: &str = "emulator_api1.example.com";
pub const PASSWORD: &str = "EMULATORPWD";
pub const SIGNATURE: &str = "A-emulator-signature";
pub const RECEIVER: &str = "merchant@example.com";

type Fields = BTreeMap<String, String>;

/// An Express Checkout token, or a hosted-solution button: what the payer is asked to pay.
struct Checkout {
    amount: Decimal,
    currency: String,
    /// `Sale` or `Authorization`.
    action: String,
    invoice: String,
    custom: String,
    notify_url: String,
    return_url: String,
    cancel_url: String,
    payer: Option<String>,
    declined: bool,
    /// The transaction that paid it.
    paid_by: Option<String>,
}

struct Txn {
    kind: &'static str,
    invoice: String,
    custom: String,
    amount: Decimal,
    currency: String,
    status: &'static str,
    pending_reason: &'static str,
    refunded: Decimal,
    notify_url: String,
}

#[derive(Default)]
struct Ledger {
    base: String,
    /// Express Checkout tokens and hosted buttons, by token or button id.
    checkouts: HashMap<String, Checkout>,
    txns: HashMap<String, Txn>,
    /// First answer per `MSGSUBID`, with the method it answered.
    answers: HashMap<String, (String, String)>,
    /// Every IPN body sent, for the postback.
    sent: Vec<Vec<u8>>,
    next: u32,
    knobs: Knobs,
    outbox: Vec<(String, Delivery)>,
}

impl Ledger {
    /// 17-character transaction ids, like PayPal's.
    fn txn_id(&mut self) -> String {
        self.next += 1;
        format!("9EM{:014}", self.next)
    }

    /// Records an IPN for `txn` and queues it for its notify URL.
    fn ipn(&mut self, txn_id: &str, txn_type: &str, parent: Option<&str>) {
        let t = &self.txns[txn_id];
        let mut pairs = vec![
            ("txn_id", txn_id.to_owned()),
            ("txn_type", txn_type.to_owned()),
            ("payment_status", t.status.to_owned()),
            ("pending_reason", t.pending_reason.to_owned()),
            ("invoice", t.invoice.clone()),
            ("custom", t.custom.clone()),
            ("mc_gross", format!("{:.2}", t.amount)),
            ("mc_currency", t.currency.clone()),
            ("receiver_email", RECEIVER.to_owned()),
            ("payer_id", "EMUPAYER01".to_owned()),
            ("notify_version", "3.9".to_owned()),
        ];
        if let Some(parent) = parent {
            pairs.push(("parent_txn_id", parent.to_owned()));
        }
        let url = t.notify_url.clone();
        let pairs: Vec<(String, String)> =
            pairs.into_iter().map(|(k, v)| (k.to_owned(), v)).collect();
        let delivery = Delivery::form(&pairs);
        self.sent.push(delivery.body.clone());
        self.knobs.last_callback = Some(delivery.clone());
        if !self.knobs.hold_callbacks {
            self.outbox.push((url, delivery));
        }
    }
}

type Shared = Arc<Mutex<Ledger>>;

#[derive(Clone)]
pub struct PaypalClassic {
    pub base: String,
    ledger: Shared,
}

impl Controls for PaypalClassic {
    fn knobs<R>(&self, f: impl FnOnce(&mut Knobs) -> R) -> R {
        f(&mut self.ledger().knobs)
    }
}

impl PaypalClassic {
    pub async fn start() -> PaypalClassic {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let base = format!("http://{}", listener.local_addr().unwrap());
        let ledger = Shared::default();
        ledger.lock().unwrap().base = base.clone();
        let app = Router::new()
            .route("/nvp", post(nvp))
            .route("/cgi-bin/webscr", get(approval_page).post(webscr))
            .route("/hosted/{button}", get(hosted_page).post(hosted_decision))
            .with_state(ledger.clone());
        tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
        PaypalClassic { base, ledger }
    }

    fn ledger(&self) -> MutexGuard<'_, Ledger> {
        self.ledger.lock().unwrap()
    }

    /// An IPN PayPal vouches for (as its IPN simulator would send) about `invoice` that claims
    /// `mc_gross`.
    pub fn ipn_claiming(
        &self,
        invoice: &str,
        custom: &str,
        mc_gross: &str,
        currency: &str,
    ) -> Delivery {
        let mut l = self.ledger();
        let id = l.txn_id();
        let pairs: Vec<(String, String)> = [
            ("txn_id", id.as_str()),
            ("txn_type", "express_checkout"),
            ("payment_status", "Completed"),
            ("invoice", invoice),
            ("custom", custom),
            ("mc_gross", mc_gross),
            ("mc_currency", currency),
            ("receiver_email", RECEIVER),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_owned(), v.to_owned()))
        .collect();
        let delivery = Delivery::form(&pairs);
        l.sent.push(delivery.body.clone());
        delivery
    }
}

fn encode(pairs: &[(&str, String)]) -> String {
    let now = chrono::Utc::now().format("%Y-%m-%dT%H:%M:%SZ").to_string();
    url::form_urlencoded::Serializer::new(String::new())
        .append_pair("TIMESTAMP", &now)
        .append_pair("CORRELATIONID", "emu0c0rr3l4t")
        .extend_pairs(pairs.iter().map(|(k, v)| (*k, v.as_str())))
        .append_pair("VERSION", "124.0")
        .append_pair("BUILD", "000000")
        .finish()
}

fn success(pairs: &[(&str, String)]) -> String {
    let mut all = vec![("ACK", "Success".to_owned())];
    all.extend(pairs.iter().cloned());
    encode(&all)
}

fn failure(code: u32, short: &str, long: &str) -> String {
    encode(&[
        ("ACK", "Failure".to_owned()),
        ("L_ERRORCODE0", code.to_string()),
        ("L_SHORTMESSAGE0", short.to_owned()),
        ("L_LONGMESSAGE0", long.to_owned()),
        ("L_SEVERITYCODE0", "Error".to_owned()),
    ])
}

/// PayPal's decimals for `currency`, as the REST emulator has them.
fn decimals(currency: &str) -> usize {
    match currency {
        "HUF" | "JPY" | "TWD" => 0,
        _ => 2,
    }
}

fn amount(f: &Fields, name: &str, currency: &str) -> Option<Decimal> {
    let text = f.get(name)?;
    let places = text.split_once('.').map_or(0, |(_, d)| d.len());
    text.parse().ok().filter(|d: &Decimal| places == decimals(currency) && *d > Decimal::ZERO)
}

fn send_all(outbox: Vec<(String, Delivery)>) {
    tokio::spawn(async move {
        for (url, delivery) in outbox {
            delivery.send(&url).await;
        }
    });
}

async fn nvp(State(ledger): State<Shared>, body: String) -> Response {
    let f: Fields = url::form_urlencoded::parse(body.as_bytes()).into_owned().collect();
    let (answer, delay, outbox) = {
        let mut l = ledger.lock().unwrap();
        let method = f.get("METHOD").map(String::as_str);
        if method == Some("RefundTransaction") && l.knobs.refund_fails() {
            return StatusCode::SERVICE_UNAVAILABLE.into_response();
        }
        let get = |k: &str| f.get(k).map(String::as_str).unwrap_or_default();
        let answer = if get("USER") != USER
            || get("PWD") != PASSWORD
            || get("SIGNATURE") != SIGNATURE
        {
            failure(10002, "Security error", "Security header is not valid")
        } else if get("VERSION").is_empty() {
            failure(10008, "Security error", "Security header is not valid: VERSION missing")
        } else {
            let method = get("METHOD").to_owned();
            match f.get("MSGSUBID").and_then(|id| l.answers.get(id)).cloned() {
                Some((first, answer)) if first == method => {
                    l.knobs.replays += 1;
                    answer
                }
                Some(_) => failure(
                    11607,
                    "Duplicate Request",
                    "A successful transaction has already been completed for this MsgSubID with another method.",
                ),
                None => {
                    let answer = call(&mut l, &method, &f);
                    if let Some(id) = f.get("MSGSUBID") {
                        l.answers.insert(id.clone(), (method, answer.clone()));
                    }
                    answer
                }
            }
        };
        let delay = if method == Some("DoCapture") { l.knobs.capture_delay() } else { None };
        (answer, delay, std::mem::take(&mut l.outbox))
    };
    send_all(outbox);
    if let Some(delay) = delay {
        tokio::time::sleep(delay).await;
    }
    answer.into_response()
}

fn call(l: &mut Ledger, method: &str, f: &Fields) -> String {
    match method {
        "SetExpressCheckout" => set_express_checkout(l, f),
        "GetExpressCheckoutDetails" => get_details(l, f),
        "DoExpressCheckoutPayment" => do_express_checkout(l, f),
        "BMCreateButton" => create_button(l, f),
        "TransactionSearch" => search(l, f),
        "GetTransactionDetails" => transaction_details(l, f),
        "DoCapture" => capture(l, f),
        "DoVoid" => void(l, f),
        "RefundTransaction" => refund(l, f),
        _ => failure(81002, "Unspecified Method", "Method Specified is not Supported"),
    }
}

fn set_express_checkout(l: &mut Ledger, f: &Fields) -> String {
    let currency = f.get("PAYMENTREQUEST_0_CURRENCYCODE").cloned().unwrap_or_else(|| "USD".into());
    let Some(amt) = amount(f, "PAYMENTREQUEST_0_AMT", &currency) else {
        return failure(
            10401,
            "Transaction refused because of an invalid argument.",
            "Order total is invalid.",
        );
    };
    if f.get("PAYMENTREQUEST_0_ITEMAMT").is_some_and(|item| {
        amount(f, "PAYMENTREQUEST_0_ITEMAMT", &currency) != Some(amt) || item.is_empty()
    }) {
        return failure(
            10413,
            "Transaction refused because of an invalid argument.",
            "The totals of the cart item amounts do not match order amounts.",
        );
    }
    let (Some(return_url), Some(cancel_url)) = (f.get("RETURNURL"), f.get("CANCELURL")) else {
        return failure(
            10471,
            "Transaction refused because of an invalid argument.",
            "ReturnURL and CancelURL are required.",
        );
    };
    let action = f.get("PAYMENTREQUEST_0_PAYMENTACTION").cloned().unwrap_or_else(|| "Sale".into());
    if !matches!(action.as_str(), "Sale" | "Authorization") {
        return failure(
            10004,
            "Transaction refused because of an invalid argument.",
            "PaymentAction is invalid.",
        );
    }
    l.next += 1;
    let token = format!("EC-{:017}", l.next);
    let get = |k: &str| f.get(k).cloned().unwrap_or_default();
    l.checkouts.insert(
        token.clone(),
        Checkout {
            amount: amt,
            currency,
            action,
            invoice: get("PAYMENTREQUEST_0_INVNUM"),
            custom: get("PAYMENTREQUEST_0_CUSTOM"),
            notify_url: get("PAYMENTREQUEST_0_NOTIFYURL"),
            return_url: return_url.clone(),
            cancel_url: cancel_url.clone(),
            payer: None,
            declined: false,
            paid_by: None,
        },
    );
    success(&[("TOKEN", token)])
}

fn get_details(l: &mut Ledger, f: &Fields) -> String {
    let token = f.get("TOKEN").cloned().unwrap_or_default();
    let Some(c) = l.checkouts.get(&token) else {
        return failure(10410, "Invalid token", "Invalid token.");
    };
    let status = match (&c.payer, &c.paid_by) {
        (_, Some(_)) => "PaymentActionCompleted",
        (Some(_), None) => "PaymentActionNotInitiated",
        (None, None) => "PaymentActionNotInitiated",
    };
    let mut pairs = vec![
        ("TOKEN", token.clone()),
        ("CHECKOUTSTATUS", status.to_owned()),
        ("PAYMENTREQUEST_0_AMT", format!("{:.*}", decimals(&c.currency), c.amount)),
        ("PAYMENTREQUEST_0_CURRENCYCODE", c.currency.clone()),
        ("PAYMENTREQUEST_0_INVNUM", c.invoice.clone()),
        ("PAYMENTREQUEST_0_CUSTOM", c.custom.clone()),
    ];
    if let Some(payer) = &c.payer {
        pairs.extend([
            ("PAYERID", payer.clone()),
            ("PAYERSTATUS", "verified".to_owned()),
            ("COUNTRYCODE", "US".to_owned()),
        ]);
    }
    success(&pairs)
}

fn do_express_checkout(l: &mut Ledger, f: &Fields) -> String {
    let token = f.get("TOKEN").cloned().unwrap_or_default();
    let id = l.txn_id();
    let Some(c) = l.checkouts.get_mut(&token) else {
        return failure(10410, "Invalid token", "Invalid token.");
    };
    if c.payer.is_none() || f.get("PAYERID") != c.payer.as_ref() {
        return failure(
            10419,
            "Express Checkout PayerID is missing.",
            "Express Checkout PayerID is missing or does not match the token.",
        );
    }
    if c.paid_by.is_some() {
        return failure(
            10415,
            "Transaction refused because of an invalid argument.",
            "A successful transaction has already been completed for this token.",
        );
    }
    if f.get("PAYMENTREQUEST_0_PAYMENTACTION") != Some(&c.action) {
        return failure(
            10423,
            "Transaction refused because of an invalid argument.",
            "This transaction cannot be processed. The amount to be charged is zero or the payment action differs from SetExpressCheckout.",
        );
    }
    if amount(f, "PAYMENTREQUEST_0_AMT", &c.currency) != Some(c.amount) {
        return failure(
            10401,
            "Transaction refused because of an invalid argument.",
            "Order total is invalid.",
        );
    }
    if c.declined {
        return failure(
            10417,
            "Transaction cannot complete.",
            "The transaction cannot complete successfully. Instruct the customer to use an alternative payment method.",
        );
    }
    c.paid_by = Some(id.clone());
    let sale = c.action == "Sale";
    let txn = Txn {
        kind: if sale { "Payment" } else { "Authorization" },
        invoice: c.invoice.clone(),
        custom: c.custom.clone(),
        amount: c.amount,
        currency: c.currency.clone(),
        status: if sale { "Completed" } else { "Pending" },
        pending_reason: if sale { "None" } else { "authorization" },
        refunded: Decimal::ZERO,
        notify_url: c.notify_url.clone(),
    };
    if sale {
        l.knobs.charges += 1;
    }
    let pairs = vec![
        ("TOKEN", token),
        ("PAYMENTINFO_0_TRANSACTIONID", id.clone()),
        ("PAYMENTINFO_0_TRANSACTIONTYPE", "expresscheckout".to_owned()),
        ("PAYMENTINFO_0_PAYMENTTYPE", "instant".to_owned()),
        ("PAYMENTINFO_0_AMT", format!("{:.*}", decimals(&txn.currency), txn.amount)),
        ("PAYMENTINFO_0_CURRENCYCODE", txn.currency.clone()),
        ("PAYMENTINFO_0_PAYMENTSTATUS", txn.status.to_owned()),
        ("PAYMENTINFO_0_PENDINGREASON", txn.pending_reason.to_owned()),
        ("PAYMENTINFO_0_ACK", "Success".to_owned()),
        ("MSGSUBID", f.get("MSGSUBID").cloned().unwrap_or_default()),
    ];
    l.txns.insert(id.clone(), txn);
    l.ipn(&id, "express_checkout", None);
    success(&pairs)
}

fn create_button(l: &mut Ledger, f: &Fields) -> String {
    if f.get("BUTTONCODE").map(String::as_str) != Some("TOKEN")
        || f.get("BUTTONTYPE").map(String::as_str) != Some("PAYMENT")
    {
        return failure(
            11925,
            "Invalid Argument",
            "This emulator makes hosted-solution token buttons only (BUTTONCODE=TOKEN, BUTTONTYPE=PAYMENT).",
        );
    }
    let vars: Fields = (0..)
        .map_while(|n| f.get(&format!("L_BUTTONVAR{n}")))
        .filter_map(|v| v.split_once('=').map(|(k, v)| (k.to_owned(), v.to_owned())))
        .collect();
    let currency = vars.get("currency_code").cloned().unwrap_or_default();
    let Some(amt) = amount(&vars, "subtotal", &currency) else {
        return failure(11914, "Invalid Argument", "The subtotal is invalid.");
    };
    let action = match vars.get("paymentaction").map(String::as_str) {
        Some("authorization") => "Authorization",
        _ => "Sale",
    };
    l.next += 1;
    let button = format!("HSB{:010}", l.next);
    let get = |k: &str| vars.get(k).cloned().unwrap_or_default();
    l.checkouts.insert(
        button.clone(),
        Checkout {
            amount: amt,
            currency,
            action: action.to_owned(),
            invoice: get("invoice"),
            custom: get("custom"),
            notify_url: get("notify_url"),
            return_url: get("return"),
            cancel_url: get("cancel_return"),
            payer: None,
            declined: false,
            paid_by: None,
        },
    );
    let link = format!("{}/hosted/{button}", l.base);
    success(&[
        (
            "WEBSITECODE",
            format!(
                "<form action=\"{link}\" method=\"post\"><input type=\"submit\" value=\"Pay\"></form>"
            ),
        ),
        ("EMAILLINK", link),
        ("HOSTEDBUTTONID", String::new()),
    ])
}

fn search(l: &mut Ledger, f: &Fields) -> String {
    if !f.contains_key("STARTDATE") {
        return failure(
            10004,
            "Transaction refused because of an invalid argument.",
            "Start date is a required parameter.",
        );
    }
    let invoice = f.get("INVNUM");
    let mut pairs = Vec::new();
    let mut found: Vec<(&String, &Txn)> =
        l.txns.iter().filter(|(_, t)| Some(&t.invoice) == invoice).collect();
    found.sort_by(|a, b| b.0.cmp(a.0));
    for (n, (id, t)) in found.into_iter().enumerate() {
        pairs.push((format!("L_TRANSACTIONID{n}"), (*id).clone()));
        pairs.push((format!("L_TYPE{n}"), t.kind.to_owned()));
        pairs.push((format!("L_STATUS{n}"), t.status.to_owned()));
        pairs.push((format!("L_AMT{n}"), format!("{:.2}", t.amount)));
        pairs.push((format!("L_CURRENCYCODE{n}"), t.currency.clone()));
    }
    let pairs: Vec<(&str, String)> = pairs.iter().map(|(k, v)| (k.as_str(), v.clone())).collect();
    success(&pairs)
}

fn transaction_details(l: &mut Ledger, f: &Fields) -> String {
    let id = f.get("TRANSACTIONID").cloned().unwrap_or_default();
    let Some(t) = l.txns.get(&id) else {
        return failure(
            10004,
            "Transaction refused because of an invalid argument.",
            "The transaction id is not valid.",
        );
    };
    success(&[
        ("TRANSACTIONID", id.clone()),
        ("TRANSACTIONTYPE", "cart".to_owned()),
        ("PAYMENTSTATUS", t.status.to_owned()),
        ("PENDINGREASON", t.pending_reason.to_owned()),
        ("AMT", format!("{:.*}", decimals(&t.currency), t.amount)),
        ("CURRENCYCODE", t.currency.clone()),
        ("INVNUM", t.invoice.clone()),
        ("CUSTOM", t.custom.clone()),
        ("RECEIVEREMAIL", RECEIVER.to_owned()),
    ])
}

fn capture(l: &mut Ledger, f: &Fields) -> String {
    let auth_id = f.get("AUTHORIZATIONID").cloned().unwrap_or_default();
    let id = l.txn_id();
    let Some(auth) = l.txns.get_mut(&auth_id).filter(|t| t.kind == "Authorization") else {
        return failure(10609, "Transaction id is invalid.", "Transaction id is invalid.");
    };
    if auth.status != "Pending" {
        return failure(
            10602,
            "Authorization has already been completed.",
            "Authorization has already been completed.",
        );
    }
    let currency = auth.currency.clone();
    match amount(f, "AMT", &currency) {
        Some(a) if a <= auth.amount && f.get("CURRENCYCODE") == Some(&currency) => {
            auth.status = "Completed";
            auth.pending_reason = "None";
            let txn = Txn {
                kind: "Capture",
                invoice: auth.invoice.clone(),
                custom: auth.custom.clone(),
                amount: a,
                currency,
                status: "Completed",
                pending_reason: "None",
                refunded: Decimal::ZERO,
                notify_url: auth.notify_url.clone(),
            };
            l.knobs.charges += 1;
            let amt = format!("{:.2}", a);
            l.txns.insert(id.clone(), txn);
            l.ipn(&id, "express_checkout", Some(&auth_id));
            success(&[
                ("AUTHORIZATIONID", auth_id),
                ("TRANSACTIONID", id),
                ("PARENTTRANSACTIONID", f["AUTHORIZATIONID"].clone()),
                ("PAYMENTSTATUS", "Completed".into()),
                ("AMT", amt),
            ])
        }
        _ => failure(
            10610,
            "Amount specified exceeds allowable limit.",
            "Amount specified exceeds allowable limit or has the wrong currency or format.",
        ),
    }
}

fn void(l: &mut Ledger, f: &Fields) -> String {
    let auth_id = f.get("AUTHORIZATIONID").cloned().unwrap_or_default();
    let Some(auth) = l.txns.get_mut(&auth_id).filter(|t| t.kind == "Authorization") else {
        return failure(10609, "Transaction id is invalid.", "Transaction id is invalid.");
    };
    if auth.status != "Pending" {
        return failure(
            10602,
            "Authorization has already been completed.",
            "Authorization has already been completed.",
        );
    }
    auth.status = "Voided";
    auth.pending_reason = "None";
    success(&[("AUTHORIZATIONID", auth_id)])
}

fn refund(l: &mut Ledger, f: &Fields) -> String {
    let txn_id = f.get("TRANSACTIONID").cloned().unwrap_or_default();
    let id = l.txn_id();
    let Some(t) =
        l.txns.get_mut(&txn_id).filter(|t| t.status == "Completed" && t.kind != "Authorization")
    else {
        return failure(
            10004,
            "Transaction refused because of an invalid argument.",
            "The transaction id is not valid or cannot be refunded.",
        );
    };
    let left = t.amount - t.refunded;
    // A partial refund's CURRENCYCODE must be the transaction's.
    if f.get("CURRENCYCODE").is_some_and(|c| *c != t.currency) {
        return failure(
            10004,
            "Transaction refused because of an invalid argument.",
            "The currency code of the refund does not match the transaction's.",
        );
    }
    let a = match f.get("REFUNDTYPE").map(String::as_str) {
        Some("Full") => left,
        Some("Partial") => match amount(f, "AMT", &t.currency.clone()) {
            Some(a) => a,
            None => {
                return failure(
                    10004,
                    "Transaction refused because of an invalid argument.",
                    "The partial refund amount is not valid.",
                );
            }
        },
        _ => {
            return failure(
                10004,
                "Transaction refused because of an invalid argument.",
                "RefundType is invalid.",
            );
        }
    };
    if a > left || left.is_zero() {
        return failure(
            10009,
            "Transaction refused",
            "The partial refund amount must be less than or equal to the remaining amount.",
        );
    }
    t.refunded += a;
    success(&[
        ("REFUNDTRANSACTIONID", id),
        ("GROSSREFUNDAMT", format!("{a:.2}")),
        ("TOTALREFUNDEDAMOUNT", format!("{:.2}", t.refunded)),
        ("CURRENCYCODE", t.currency.clone()),
        ("REFUNDSTATUS", "Instant".into()),
        ("PENDINGREASON", "None".into()),
    ])
}

async fn approval_page(State(ledger): State<Shared>, Query(q): Query<Fields>) -> Response {
    let l = ledger.lock().unwrap();
    match q.get("token").and_then(|t| l.checkouts.get(t)) {
        Some(c)
            if q.get("cmd").map(String::as_str) == Some("_express-checkout")
                && c.payer.is_none() =>
        {
            Html(format!(
                "<h1>PayPal Express Checkout (emulated): {} {}</h1><form method=post>\
             <button name=decision value=approve>Pay Now</button>\
             <button name=decision value=decline>Pay with funding that will be refused</button>\
             <button name=decision value=cancel>Cancel and return</button></form>",
                c.amount, c.currency
            ))
            .into_response()
        }
        Some(_) => (StatusCode::GONE, "This token can no longer be approved").into_response(),
        None => (StatusCode::BAD_REQUEST, "Invalid token").into_response(),
    }
}

/// `cgi-bin/webscr` takes two posts: the payer's choice on the Express Checkout page
/// (`?cmd=_express-checkout&token=…`), and IPN postbacks (`cmd=_notify-validate&…` in the body).
async fn webscr(State(ledger): State<Shared>, Query(q): Query<Fields>, body: String) -> Response {
    if let Some(message) = body.strip_prefix("cmd=_notify-validate&") {
        let l = ledger.lock().unwrap();
        let genuine = l.sent.iter().any(|sent| sent == message.as_bytes());
        return if genuine { "VERIFIED" } else { "INVALID" }.into_response();
    }
    let f: Fields = url::form_urlencoded::parse(body.as_bytes()).into_owned().collect();
    let token = q.get("token").cloned().unwrap_or_default();
    let decision = f.get("decision").cloned().unwrap_or_default();
    let mut l = ledger.lock().unwrap();
    let Some(c) = l.checkouts.get_mut(&token).filter(|c| c.payer.is_none()) else {
        return (StatusCode::GONE, "This token can no longer be approved").into_response();
    };
    let target = if decision == "cancel" { &c.cancel_url } else { &c.return_url };
    let mut back = url::Url::parse(target).unwrap();
    back.query_pairs_mut().append_pair("token", &token);
    if decision != "cancel" {
        c.payer = Some("EMUPAYER01".into());
        c.declined = decision != "approve";
        back.query_pairs_mut().append_pair("PayerID", "EMUPAYER01");
    }
    Redirect::to(back.as_str()).into_response()
}

async fn hosted_page(State(ledger): State<Shared>, Path(button): Path<String>) -> Response {
    let l = ledger.lock().unwrap();
    match l.checkouts.get(&button) {
        Some(c) if c.paid_by.is_none() => Html(format!(
            "<h1>PayPal hosted payment (emulated): {} {}</h1><p>Card details are typed here, at PayPal.</p>\
             <form method=post><button name=decision value=approve>Pay</button>\
             <button name=decision value=decline>Pay with a card that is declined</button>\
             <button name=decision value=cancel>Cancel</button></form>",
            c.amount, c.currency
        ))
        .into_response(),
        Some(_) => (StatusCode::GONE, "This payment has been made").into_response(),
        None => (StatusCode::NOT_FOUND, "No such button").into_response(),
    }
}

/// The payer pays on the hosted page: a transaction is made (held, taken, or denied), its IPN
/// sent, and the browser returned to the merchant.
async fn hosted_decision(
    State(ledger): State<Shared>,
    Path(button): Path<String>,
    Form(f): Form<Fields>,
) -> Response {
    let decision = f.get("decision").cloned().unwrap_or_default();
    let (back, outbox) = {
        let mut l = ledger.lock().unwrap();
        let id = l.txn_id();
        let Some(c) = l.checkouts.get_mut(&button).filter(|c| c.paid_by.is_none()) else {
            return (StatusCode::GONE, "This payment has been made").into_response();
        };
        if decision == "cancel" {
            return Redirect::to(&c.cancel_url.clone()).into_response();
        }
        c.paid_by = Some(id.clone());
        let sale = c.action == "Sale";
        let (status, reason) = match (decision == "approve", sale) {
            (false, _) => ("Denied", "None"),
            (true, true) => ("Completed", "None"),
            (true, false) => ("Pending", "authorization"),
        };
        let txn = Txn {
            kind: if sale { "Payment" } else { "Authorization" },
            invoice: c.invoice.clone(),
            custom: c.custom.clone(),
            amount: c.amount,
            currency: c.currency.clone(),
            status,
            pending_reason: reason,
            refunded: Decimal::ZERO,
            notify_url: c.notify_url.clone(),
        };
        let mut back = url::Url::parse(&c.return_url).unwrap();
        back.query_pairs_mut().append_pair("tx", &id).append_pair("st", status);
        if status == "Completed" {
            l.knobs.charges += 1;
        }
        l.txns.insert(id.clone(), txn);
        l.ipn(&id, "pro_hosted", None);
        (back, std::mem::take(&mut l.outbox))
    };
    send_all(outbox);
    Redirect::to(back.as_str()).into_response()
}
