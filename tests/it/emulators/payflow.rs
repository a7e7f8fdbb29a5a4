//! A PayPal Payflow Pro emulator built from `reference/payments.md` §1: the NVP API with length
//! tags and `X-VPS-REQUEST-ID` duplicate detection, secure tokens, the A/S/D/V/C/I
//! transactions with their documented refusals (105, 108, 111, 19), a hosted page that
//! approves or declines, and silent posts. It counts charges and can be told to fail, to answer
//! slowly, to hold a capture's answer until released, or not to post.
//!
//! It parses with tollbooth's own NVP codec, whose documented cases are unit-tested in core; the
//! point here is the protocol's behaviour, not a second parser.

use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use tokio::sync::Notify;

use axum::extract::{Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{Html, IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use axum::{Form, Router};
use rust_decimal::Decimal;
use tollbooth_core::payments::gateway::payflow::nvp;

pub const PARTNER: &str = "PayPal";
pub const VENDOR: &str = "tollbooth-test";
pub const PASSWORD: &str = "emulator-password";

/// Secure tokens live 30 minutes (`payments.md` §1.6).
const TOKEN_LIFETIME: Duration = Duration::from_secs(30 * 60);

struct Token {
    token: String,
    trxtype: String,
    amt: Decimal,
    currency: String,
    invnum: String,
    return_url: String,
    cancel_url: String,
    silent_post_url: String,
    created: Instant,
    used: bool,
    pnref: Option<String>,
}

struct Txn {
    trxtype: String,
    result: u32,
    amt: Decimal,
    captured: bool,
    voided: bool,
    credited: Decimal,
}

#[derive(Default)]
struct Ledger {
    tokens: HashMap<String, Token>,
    txns: HashMap<String, Txn>,
    /// First answer per `X-VPS-REQUEST-ID`.
    answers: BTreeMap<String, String>,
    next_pnref: u32,
    charges: u32,
    /// The amount of every delayed capture carried out, in order.
    captured: Vec<Decimal>,
    duplicates: u32,
    fail_next: u32,
    slow_next: u32,
    slow_by: Duration,
    /// While `true`, delayed captures are carried out but answered only once it is `false`
    /// again; a retry with the same request id is answered at once from the duplicate store.
    hold_captures: bool,
    released: Arc<Notify>,
    silent_posts_off: bool,
    review: bool,
    last_silent_post: Option<Vec<(String, String)>>,
}

#[derive(Clone)]
pub struct Payflow {
    pub base: String,
    ledger: Arc<Mutex<Ledger>>,
}

impl Payflow {
    pub async fn start() -> Payflow {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let base = format!("http://{}", listener.local_addr().unwrap());
        let ledger = Arc::new(Mutex::new(Ledger::default()));
        let app = Router::new()
            .route("/", post(api))
            .route("/transaction", post(api))
            .route("/hosted", get(hosted_page).post(hosted_decision))
            .with_state(ledger.clone());
        tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
        Payflow { base, ledger }
    }

    fn ledger(&self) -> MutexGuard<'_, Ledger> {
        self.ledger.lock().unwrap()
    }

    /// Approved sales and delayed captures: money actually taken.
    pub fn charges(&self) -> u32 {
        self.ledger().charges
    }

    /// The amounts of the approved sales, smallest first: what payers were charged at once.
    pub fn sold(&self) -> Vec<Decimal> {
        let ledger = self.ledger();
        let mut sold: Vec<Decimal> = ledger
            .txns
            .values()
            .filter(|t| t.trxtype == "S" && t.result == 0)
            .map(|t| t.amt)
            .collect();
        sold.sort();
        sold
    }

    /// Credits (refunds) made, each once.
    pub fn credits(&self) -> usize {
        self.ledger().txns.values().filter(|t| t.trxtype == "C" && t.result == 0).count()
    }

    /// The amount of every credit (refund) made, in order.
    pub fn credited(&self) -> Vec<Decimal> {
        let l = self.ledger();
        let mut credits: Vec<_> =
            l.txns.iter().filter(|(_, t)| t.trxtype == "C" && t.result == 0).collect();
        credits.sort_by_key(|(pnref, _)| pnref.as_str());
        credits.into_iter().map(|(_, t)| t.amt).collect()
    }

    /// Requests answered from the duplicate store.
    pub fn duplicates(&self) -> u32 {
        self.ledger().duplicates
    }

    /// Voids authorisation `pnref` as the merchant could in PayPal Manager (or as its expiry
    /// does): a later delayed capture of it is refused with RESULT 111.
    pub fn void_outside(&self, pnref: &str) {
        let mut ledger = self.ledger();
        let txn = ledger.txns.get_mut(pnref).expect("a transaction the emulator made");
        txn.voided = true;
    }

    /// The next `n` API requests fail with HTTP 503 before anything is done.
    pub fn fail_next(&self, n: u32) {
        self.ledger().fail_next = n;
    }

    /// The next `n` API requests are carried out, then answered only after `by`: a client with
    /// a shorter timeout sees a timeout although the transaction happened.
    pub fn slow_next(&self, n: u32, by: Duration) {
        let mut ledger = self.ledger();
        ledger.slow_next = n;
        ledger.slow_by = by;
    }

    /// While `on`, delayed captures are carried out, then their answers wait until this is
    /// turned off: a client that dies meanwhile never learns that the money moved.
    pub fn hold_captures(&self, on: bool) {
        let mut ledger = self.ledger();
        ledger.hold_captures = on;
        if !on {
            ledger.released.notify_waiters();
        }
    }

    /// The amounts of the delayed captures carried out, in order.
    pub fn captured(&self) -> Vec<Decimal> {
        self.ledger().captured.clone()
    }

    /// Stops sending silent posts (a test then sends them itself).
    pub fn silent_posts(&self, on: bool) {
        self.ledger().silent_posts_off = !on;
    }

    /// Approvals on the hosted page are held by the fraud filters (RESULT 126) while `on`.
    pub fn fraud_review(&self, on: bool) {
        self.ledger().review = on;
    }

    pub fn last_silent_post(&self) -> Option<Vec<(String, String)>> {
        self.ledger().last_silent_post.clone()
    }
}

async fn api(
    State(ledger): State<Arc<Mutex<Ledger>>>,
    headers: HeaderMap,
    body: String,
) -> Response {
    let Some(request_id) = headers.get("X-VPS-REQUEST-ID").and_then(|v| v.to_str().ok()) else {
        return "RESULT=-41&RESPMSG=Missing X-VPS-REQUEST-ID".into_response();
    };
    let (answer, delay, held) = {
        let mut l = ledger.lock().unwrap();
        let captures_before = l.captured.len();
        if l.fail_next > 0 {
            l.fail_next -= 1;
            return StatusCode::SERVICE_UNAVAILABLE.into_response();
        }
        let answer = match l.answers.get(request_id).cloned() {
            Some(first) => {
                l.duplicates += 1;
                format!("{first}&DUPLICATE=1")
            }
            None => {
                let answer = match nvp::decode(&body) {
                    Ok(fields) => transact(&mut l, &fields),
                    Err(e) => format!("RESULT=-7&RESPMSG=Invalid name value pair: {e}"),
                };
                l.answers.insert(request_id.to_owned(), answer.clone());
                answer
            }
        };
        let delay = (l.slow_next > 0).then(|| {
            l.slow_next -= 1;
            l.slow_by
        });
        let held =
            (l.hold_captures && l.captured.len() > captures_before).then(|| l.released.clone());
        (answer, delay, held)
    };
    if let Some(delay) = delay {
        tokio::time::sleep(delay).await;
    }
    if let Some(released) = held {
        loop {
            let wake = released.notified();
            if !ledger.lock().unwrap().hold_captures {
                break;
            }
            wake.await;
        }
    }
    answer.into_response()
}

fn answer(pairs: &[(&str, String)]) -> String {
    nvp::encode(pairs)
}

fn refuse(result: u32, message: &str) -> String {
    answer(&[("RESULT", result.to_string()), ("RESPMSG", message.into())])
}

/// `AMT` with a point and exactly two decimals.
fn amount(text: &str) -> Option<Decimal> {
    let (_, cents) = text.split_once('.')?;
    if cents.len() != 2 {
        return None;
    }
    text.parse().ok().filter(|d: &Decimal| !d.is_sign_negative())
}

fn transact(l: &mut Ledger, f: &BTreeMap<String, String>) -> String {
    let get = |k: &str| f.get(k).map(String::as_str).unwrap_or_default();
    let user = f.get("USER").map(String::as_str).unwrap_or(get("VENDOR"));
    if get("PARTNER") != PARTNER
        || get("VENDOR") != VENDOR
        || user != VENDOR
        || get("PWD") != PASSWORD
    {
        return refuse(1, "User authentication failed");
    }
    if get("CREATESECURETOKEN") == "Y" {
        return create_token(l, f);
    }
    let trxtype = get("TRXTYPE");
    let pnref = || -> Option<String> {
        if trxtype == "I" && !get("SECURETOKEN").is_empty() {
            let token = l.tokens.values().find(|t| t.token == get("SECURETOKEN"))?;
            return token.pnref.clone();
        }
        f.get("ORIGID").cloned()
    };
    let Some(orig_id) = pnref() else {
        return match trxtype {
            "I" | "D" | "V" | "C" => refuse(19, "Original transaction ID not found"),
            // Card transactions without a hosted page would need card data, which tests never send.
            _ => refuse(23, "Invalid account number"),
        };
    };
    if !l.txns.contains_key(&orig_id) {
        return refuse(19, "Original transaction ID not found");
    }
    let requested = match f.get("AMT") {
        Some(text) => match amount(text) {
            Some(amt) => Some(amt),
            None => return refuse(4, "Invalid amount"),
        },
        None => None,
    };
    let pnref = new_pnref(l);
    let orig = l.txns.get_mut(&orig_id).unwrap();
    match trxtype {
        "I" => {
            let transstate = match (orig.result, orig.trxtype.as_str(), orig.captured, orig.voided)
            {
                (0, _, _, true) => 1003,
                (0, "A", false, _) => 3,
                (0, "A", true, _) => 9,
                (0, _, _, _) => 6,
                _ => 1,
            };
            let amt = orig.amt;
            answer(&[
                ("RESULT", "0".into()),
                ("PNREF", pnref),
                ("RESPMSG", "Approved".into()),
                ("ORIGRESULT", orig.result.to_string()),
                ("ORIGPNREF", orig_id),
                ("TRANSSTATE", transstate.to_string()),
                ("AMT", format!("{amt:.2}")),
            ])
        }
        "D" => {
            if orig.trxtype != "A" || orig.result != 0 || orig.captured || orig.voided {
                return refuse(111, "Capture error: the authorization is captured or voided");
            }
            // One capture per authorisation, for less or more than it (`payments.md` §1.5).
            let amt = requested.unwrap_or(orig.amt);
            orig.captured = true;
            l.charges += 1;
            l.captured.push(amt);
            l.txns.insert(pnref.clone(), txn("D", amt));
            approved(pnref)
        }
        "V" => {
            if orig.captured || orig.voided || orig.result != 0 {
                return refuse(108, "Void error");
            }
            orig.voided = true;
            l.txns.insert(pnref.clone(), txn("V", Decimal::ZERO));
            approved(pnref)
        }
        "C" => {
            if !matches!(orig.trxtype.as_str(), "S" | "D") || orig.result != 0 {
                return refuse(105, "Credit error: only sales and captures can be credited");
            }
            let amt = requested.unwrap_or(orig.amt - orig.credited);
            if orig.credited + amt > orig.amt {
                return refuse(105, "Credit error: more than the original amount");
            }
            orig.credited += amt;
            l.txns.insert(pnref.clone(), txn("C", amt));
            approved(pnref)
        }
        _ => refuse(3, "Invalid transaction type"),
    }
}

fn txn(trxtype: &str, amt: Decimal) -> Txn {
    Txn {
        trxtype: trxtype.into(),
        result: 0,
        amt,
        captured: false,
        voided: false,
        credited: Decimal::ZERO,
    }
}

fn approved(pnref: String) -> String {
    answer(&[("RESULT", "0".into()), ("PNREF", pnref), ("RESPMSG", "Approved".into())])
}

/// PNREFs are 12 characters.
fn new_pnref(l: &mut Ledger) -> String {
    l.next_pnref += 1;
    format!("EMU{:09}", l.next_pnref)
}

fn create_token(l: &mut Ledger, f: &BTreeMap<String, String>) -> String {
    let get = |k: &str| f.get(k).cloned().unwrap_or_default();
    let id = get("SECURETOKENID");
    if id.is_empty() || id.len() > 36 || !id.bytes().all(|b| b.is_ascii_alphanumeric()) {
        return refuse(7, "Field format error: SECURETOKENID");
    }
    if !matches!(get("TRXTYPE").as_str(), "A" | "S") {
        return refuse(3, "Invalid transaction type");
    }
    let Some(amt) = amount(&get("AMT")) else {
        return refuse(4, "Invalid amount");
    };
    if l.tokens.contains_key(&id) {
        return refuse(7, "Field format error: secure token id used already");
    }
    // Real tokens hold `+` and `=`, so the answer needs a length tag.
    let token = format!("Tk+{}{}==", id.len(), &id[..8]);
    l.tokens.insert(
        id.clone(),
        Token {
            token: token.clone(),
            trxtype: get("TRXTYPE"),
            amt,
            currency: get("CURRENCY"),
            invnum: get("INVNUM"),
            return_url: get("RETURNURL"),
            cancel_url: get("CANCELURL"),
            silent_post_url: get("SILENTPOSTURL"),
            created: Instant::now(),
            used: false,
            pnref: None,
        },
    );
    answer(&[
        ("RESULT", "0".into()),
        ("RESPMSG", "Approved".into()),
        ("SECURETOKEN", token),
        ("SECURETOKENID", id),
    ])
}

/// The token named by a hosted-page request, if it may still be used.
fn usable<'a>(l: &'a mut Ledger, f: &BTreeMap<String, String>) -> Result<&'a mut Token, String> {
    let id = f.get("SECURETOKENID").cloned().unwrap_or_default();
    let token = f.get("SECURETOKEN").cloned().unwrap_or_default();
    match l.tokens.get_mut(&id) {
        Some(t) if t.token == token && t.created.elapsed() < TOKEN_LIFETIME && !t.used => Ok(t),
        Some(t) if t.used => Err("Secure Token already used".into()),
        Some(t) if t.token == token => Err("Secure Token Expired".into()),
        _ => Err("Invalid Secure Token".into()),
    }
}

async fn hosted_page(
    State(ledger): State<Arc<Mutex<Ledger>>>,
    Query(q): Query<BTreeMap<String, String>>,
) -> Response {
    let mut l = ledger.lock().unwrap();
    match usable(&mut l, &q) {
        Ok(t) => Html(format!(
            "<h1>PayPal (emulated) — {} {}</h1>\
             <form method=post><input type=hidden name=SECURETOKEN value=\"{}\">\
             <input type=hidden name=SECURETOKENID value=\"{}\">\
             <button name=decision value=approve>Pay</button>\
             <button name=decision value=decline>Decline</button>\
             <button name=decision value=cancel>Cancel</button></form>",
            t.amt, t.currency, t.token, q["SECURETOKENID"]
        ))
        .into_response(),
        Err(why) => (StatusCode::BAD_REQUEST, format!("RESULT=7: {why}")).into_response(),
    }
}

/// The payer pays (or not) on the hosted page: the transaction is made, a silent post is sent
/// for an approval, and the browser goes back to the merchant.
async fn hosted_decision(
    State(ledger): State<Arc<Mutex<Ledger>>>,
    Form(f): Form<BTreeMap<String, String>>,
) -> Response {
    let decision = f.get("decision").cloned().unwrap_or_default();
    let (post, notify_url, back) = {
        let mut l = ledger.lock().unwrap();
        let token = match usable(&mut l, &f) {
            Ok(t) => t,
            Err(why) => {
                return (StatusCode::BAD_REQUEST, format!("RESULT=7: {why}")).into_response();
            }
        };
        if decision == "cancel" {
            return Redirect::to(&token.cancel_url.clone()).into_response();
        }
        token.used = true;
        // Pilot test amounts: 1012 and 2001 or more are declined (`payments.md` §1.8).
        let declined = decision != "approve"
            || token.amt == Decimal::from(1012)
            || token.amt >= Decimal::from(2001);
        let (result, message) = match (declined, l.review) {
            (true, _) => (12, "Declined"),
            (false, true) => (126, "Under review by Fraud Service"),
            (false, false) => (0, "Approved"),
        };
        let token = l.tokens.get_mut(&f["SECURETOKENID"]).unwrap();
        let (trxtype, amt) = (token.trxtype.clone(), token.amt);
        let fields: Vec<(String, String)> = [
            ("RESULT", u32::to_string(&result)),
            ("RESPMSG", message.to_owned()),
            ("TYPE", trxtype.clone()),
            ("AMT", format!("{amt:.2}")),
            ("CURRENCY", token.currency.clone()),
            ("INVNUM", token.invnum.clone()),
            ("SECURETOKEN", token.token.clone()),
            ("SECURETOKENID", f["SECURETOKENID"].clone()),
            // Card details a silent post carries and a merchant must not keep.
            ("ACCT", "1111".to_owned()),
            ("EXPDATE", "1230".to_owned()),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_owned(), v))
        .collect();
        let notify_url = token.silent_post_url.clone();
        let mut back = url::Url::parse(&token.return_url).unwrap();
        let pnref = new_pnref(&mut l);
        let token = l.tokens.get_mut(&f["SECURETOKENID"]).unwrap();
        token.pnref = Some(pnref.clone());
        let mut fields = fields;
        fields.push(("PNREF".into(), pnref.clone()));
        back.query_pairs_mut().extend_pairs(&fields);
        let mut t = txn(&trxtype, amt);
        t.result = result;
        l.txns.insert(pnref, t);
        if result == 0 && trxtype == "S" {
            l.charges += 1;
        }
        l.last_silent_post = Some(fields.clone());
        // Silent posts go out for approvals and for those held for review.
        let post = (result != 12 && !l.silent_posts_off).then_some(fields);
        (post, notify_url, back)
    };
    if let Some(fields) = post {
        let _ = reqwest::Client::new().post(&notify_url).form(&fields).send().await;
    }
    Redirect::to(back.as_str()).into_response()
}
