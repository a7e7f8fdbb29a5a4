//! The shared gateway suite: the same scenarios, over real HTTP, against every gateway (the
//! sandbox, and each of the others against its emulator) on SQLite and PostgreSQL: a
//! pay-per-use hold captured and partly refunded (through an outage), a fee paid and refunded
//! in parts, a cancelled checkout and a decline before a payment that succeeds, a duplicate
//! callback, a callback racing the payer's return, a capture retried after a timeout that
//! charges once, and callbacks that claim the wrong amount or were tampered with. Then the pay
//! page, which offers each method only in the countries where it belongs.

use crate::common;
use crate::emulators;

use std::time::Duration;

use tollbooth_core::config::Config;
use tollbooth_core::money::Money;
use tollbooth_core::payments::cashier::CashierError;
use tollbooth_core::payments::method::Method;
use tollbooth_core::payments::order::Order;
use tollbooth_core::payments::payment::{Payment, RefundPart, State};
use tollbooth_core::store::PaymentStore;

use common::Db;
use common::app::{App, browser};
use emulators::payflow::{self, Payflow};
use emulators::paypal::{self, Paypal};
use emulators::paypal_classic::{self, PaypalClassic};
use emulators::stripe::{self, Stripe};
use emulators::{Controls, Delivery};

/// Adapters wait this long for an answer; a slowed emulator answers later than that.
const TIMEOUT_SECS: u64 = 2;
const SLOWER: Duration = Duration::from_millis(2600);

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Kind {
    Sandbox,
    Payflow,
    Stripe,
    Paypal,
    ExpressCheckout,
    WebsitePaymentsPro,
}

impl Kind {
    fn method(self) -> Method {
        match self {
            Kind::Sandbox => Method::Sandbox,
            Kind::Payflow => Method::Payflow,
            Kind::Stripe => Method::Stripe,
            Kind::Paypal => Method::Paypal,
            Kind::ExpressCheckout => Method::ExpressCheckout,
            Kind::WebsitePaymentsPro => Method::WebsitePaymentsPro,
        }
    }

    /// The gateway's emulator, started; `None` for the sandbox, which is tollbooth's own.
    async fn emulator(self) -> Option<Box<dyn Emulated>> {
        Some(match self {
            Kind::Sandbox => return None,
            Kind::Payflow => Box::new(Payflow::start().await),
            Kind::Stripe => Box::new(Stripe::start().await),
            Kind::Paypal => Box::new(Paypal::start().await),
            Kind::ExpressCheckout | Kind::WebsitePaymentsPro => {
                Box::new(PaypalClassic::start().await)
            }
        })
    }

    /// Website Payments Pro is offered in GB, in pounds; every other gateway runs in the US.
    fn site(self, config: &mut Config) {
        if self == Kind::WebsitePaymentsPro {
            config.site.country = "GB".parse().unwrap();
            config.site.currency = "GBP".parse().unwrap();
        }
    }
}

/// The suite's controls of an emulator whose ledger holds `Knobs`.
macro_rules! knob_controls {
    () => {
        fn deliver_to(&self, notify_url: String) {
            Controls::deliver_to(self, notify_url)
        }
        fn charges(&self) -> u32 {
            Controls::charges(self)
        }
        fn replays(&self) -> u32 {
            Controls::replays(self)
        }
        fn slow_captures(&self, n: u32) {
            Controls::slow_captures(self, n, SLOWER)
        }
        fn fail_refunds(&self, n: u32) {
            Controls::fail_refunds(self, n)
        }
        fn hold_callbacks(&self) {
            Controls::hold_callbacks(self, true)
        }
        fn last_callback(&self) -> Option<Delivery> {
            Controls::last_callback(self)
        }
    };
}

/// What the suite asks of every emulator.
trait Emulated: Send + Sync {
    /// Points tollbooth's adapter at the emulator.
    fn configure(&self, config: &mut Config);
    /// Where its webhooks go, for gateways that send them to a registered endpoint.
    fn deliver_to(&self, _notify_url: String) {}
    /// The form that makes `decision` on the hosted page at `checkout`, and where it is posted.
    fn decision_form(&self, checkout: &str, decision: &str) -> (String, Vec<(String, String)>) {
        (checkout.to_owned(), vec![("decision".into(), decision.into())])
    }
    /// Money the gateway really took.
    fn charges(&self) -> u32;
    /// Requests the gateway answered again from its idempotency store.
    fn replays(&self) -> u32;
    /// The next `n` captures are carried out but answered after the adapter gave up.
    fn slow_captures(&self, n: u32);
    /// The next `n` refunds fail as an outage would, before anything is done.
    fn fail_refunds(&self, n: u32);
    /// Callbacks are kept, not sent.
    fn hold_callbacks(&self);
    /// The last callback the gateway sent or held, if any yet.
    fn last_callback(&self) -> Option<Delivery>;
    /// A callback for `payment` that the gateway vouches for but that claims `amount`.
    fn callback_claiming(&self, payment: &Payment, amount: Money) -> Delivery;
    /// `delivery` changed after it was signed; `None` for unsigned callbacks (the inquiry
    /// that follows them is their check).
    fn tampered(&self, delivery: Delivery) -> Option<Delivery>;
}

impl Emulated for Payflow {
    fn configure(&self, config: &mut Config) {
        config.payflow.host = Some(format!("{}/", self.base).parse().unwrap());
        config.payflow.hosted_host = Some(format!("{}/hosted", self.base).parse().unwrap());
        config.payflow.partner = payflow::PARTNER.into();
        config.payflow.vendor = payflow::VENDOR.into();
        config.payflow.password = payflow::PASSWORD.to_owned().into();
        config.payflow.timeout_secs = TIMEOUT_SECS;
    }
    fn decision_form(&self, checkout: &str, decision: &str) -> (String, Vec<(String, String)>) {
        let url = url::Url::parse(checkout).unwrap();
        let mut form: Vec<(String, String)> = url
            .query_pairs()
            .filter(|(k, _)| k.starts_with("SECURETOKEN"))
            .map(|(k, v)| (k.into_owned(), v.into_owned()))
            .collect();
        form.push(("decision".into(), decision.into()));
        (format!("{}://{}{}", url.scheme(), url.authority(), url.path()), form)
    }
    fn charges(&self) -> u32 {
        Payflow::charges(self)
    }
    fn replays(&self) -> u32 {
        self.duplicates()
    }
    fn slow_captures(&self, n: u32) {
        // Payflow's emulator slows every call; nothing else calls it meanwhile.
        Payflow::slow_next(self, n, SLOWER)
    }
    fn fail_refunds(&self, n: u32) {
        // Payflow's emulator fails every call; nothing else calls it meanwhile.
        Payflow::fail_next(self, n)
    }
    fn hold_callbacks(&self) {
        self.silent_posts(false)
    }
    fn last_callback(&self) -> Option<Delivery> {
        self.last_silent_post().map(|post| Delivery::form(&post))
    }
    fn callback_claiming(&self, _: &Payment, amount: Money) -> Delivery {
        let mut post = self.last_silent_post().unwrap();
        post.iter_mut().filter(|(k, _)| k == "AMT").for_each(|(_, v)| *v = amount.to_string());
        Delivery::form(&post)
    }
    fn tampered(&self, _: Delivery) -> Option<Delivery> {
        None
    }
}

impl Emulated for Stripe {
    fn configure(&self, config: &mut Config) {
        config.stripe.api_base = format!("{}/", self.base).parse().unwrap();
        config.stripe.secret_key = stripe::SECRET_KEY.to_owned().into();
        config.stripe.webhook_secret = stripe::WEBHOOK_SECRET.to_owned().into();
        config.stripe.timeout_secs = TIMEOUT_SECS;
    }
    knob_controls!();
    fn callback_claiming(&self, payment: &Payment, amount: Money) -> Delivery {
        self.event_claiming(payment.checkout_ref.as_deref().unwrap(), amount.minor().unwrap())
    }
    fn tampered(&self, delivery: Delivery) -> Option<Delivery> {
        // Stripe signs the exact bytes: one more space breaks the signature.
        Some(delivery.replaced("\"type\"", "\"type\" "))
    }
}

impl Emulated for Paypal {
    fn configure(&self, config: &mut Config) {
        config.paypal.api_base = format!("{}/", self.base).parse().unwrap();
        config.paypal.client_id = paypal::CLIENT_ID.into();
        config.paypal.client_secret = paypal::CLIENT_SECRET.to_owned().into();
        config.paypal.webhook_id = paypal::WEBHOOK_ID.into();
        config.paypal.timeout_secs = TIMEOUT_SECS;
    }
    knob_controls!();
    fn callback_claiming(&self, payment: &Payment, amount: Money) -> Delivery {
        self.event_claiming(payment.checkout_ref.as_deref().unwrap(), &amount.to_string())
    }
    fn tampered(&self, delivery: Delivery) -> Option<Delivery> {
        // PayPal vouches only for the event it sent.
        Some(delivery.replaced("\"event_version\":\"1.0\"", "\"event_version\":\"1.1\""))
    }
}

impl Emulated for PaypalClassic {
    fn configure(&self, config: &mut Config) {
        let c = &mut config.paypal_classic;
        c.api_url = format!("{}/nvp", self.base).parse().unwrap();
        c.web_url = format!("{}/cgi-bin/webscr", self.base).parse().unwrap();
        c.ipn_url = format!("{}/cgi-bin/webscr", self.base).parse().unwrap();
        c.user = paypal_classic::USER.into();
        c.password = paypal_classic::PASSWORD.to_owned().into();
        c.signature = paypal_classic::SIGNATURE.to_owned().into();
        c.receiver_email = Some(paypal_classic::RECEIVER.into());
        c.timeout_secs = TIMEOUT_SECS;
    }
    knob_controls!();
    fn callback_claiming(&self, payment: &Payment, amount: Money) -> Delivery {
        let invoice = payment.checkout_ref.as_deref().unwrap();
        self.ipn_claiming(
            invoice,
            payment.order_id.as_str(),
            &amount.to_string(),
            amount.currency().code(),
        )
    }
    fn tampered(&self, delivery: Delivery) -> Option<Delivery> {
        // IPN is not signed: PayPal vouches, on postback, only for the message it sent.
        Some(delivery.replaced("txn_id=", "txn_id=X"))
    }
}

/// One gateway, its emulator, and tollbooth configured for it.
struct Rig {
    kind: Kind,
    app: App,
    emulator: Option<Box<dyn Emulated>>,
}

impl Rig {
    async fn start(kind: Kind, db: &Db) -> Rig {
        let emulator = kind.emulator().await;
        let app = App::configured(db, |config| {
            config.payments.methods = vec![kind.method()];
            kind.site(config);
            if let Some(e) = &emulator {
                e.configure(config);
            }
        })
        .await;
        let rig = Rig { kind, app, emulator };
        if let Some(e) = &rig.emulator {
            e.deliver_to(rig.notify_url());
        }
        rig
    }

    fn notify_url(&self) -> String {
        format!("{}/payments/{}/notify", self.app.base, self.kind.method())
    }

    fn money(&self, amount: &str) -> Money {
        Money::parse_exact(amount, self.app.state.config.site.currency).unwrap()
    }

    /// Chooses this gateway on the pay page, approves or declines on its hosted page, and
    /// returns where the payer's browser is sent back to.
    async fn pay(&self, link: &str, approve: bool) -> String {
        let back = self.walk(link, if approve { "approve" } else { "decline" }).await;
        assert!(back.starts_with(&format!("{link}/return?payment=")), "{back}");
        back
    }

    /// As [`Rig::pay`], but the payer cancels on the hosted page.
    async fn cancel(&self, link: &str) -> String {
        let back = self.walk(link, "cancel").await;
        assert!(back.starts_with(&format!("{link}/cancel?payment=")), "{back}");
        back
    }

    async fn walk(&self, link: &str, decision: &str) -> String {
        let method = self.kind.method();
        let chosen =
            browser().post(link).form(&[("method", method.as_str())]).send().await.unwrap();
        let checkout = location(&chosen);
        let page = browser().get(&checkout).send().await.unwrap();
        assert_eq!(page.status(), 200, "{checkout}");
        let (post_to, form) = match &self.emulator {
            Some(e) => e.decision_form(&checkout, decision),
            None => (checkout, vec![("decision".into(), decision.into())]),
        };
        location(&browser().post(post_to).form(&form).send().await.unwrap())
    }

    /// Money the gateway really took; `None` for the sandbox, which keeps no such count.
    fn charges(&self) -> Option<u32> {
        self.emulator.as_ref().map(|e| e.charges())
    }

    /// False when the gateway cannot be slowed (the sandbox).
    fn slow_captures(&self, n: u32) -> bool {
        self.emulator.as_ref().map(|e| e.slow_captures(n)).is_some()
    }

    fn fail_refunds(&self, n: u32) -> bool {
        self.emulator.as_ref().map(|e| e.fail_refunds(n)).is_some()
    }

    fn hold_callbacks(&self) {
        if let Some(e) = &self.emulator {
            e.hold_callbacks();
        }
    }

    /// The callback the gateway sent (or held back) for `payment`, to deliver again; `None`
    /// while there is none (Express Checkout's IPN follows the payment, which the payer's
    /// return completes).
    fn last_callback(&self, payment: &Payment) -> Option<Delivery> {
        match &self.emulator {
            Some(e) => e.last_callback(),
            None => {
                Some(Delivery::form(&[("checkout".into(), payment.checkout_ref.clone().unwrap())]))
            }
        }
    }

    /// `None` for the sandbox, whose callback claims no amount.
    fn callback_claiming(&self, payment: &Payment, amount: Money) -> Option<Delivery> {
        self.emulator.as_ref().map(|e| e.callback_claiming(payment, amount))
    }

    fn tampered(&self, delivery: Delivery) -> Option<Delivery> {
        self.emulator.as_ref().and_then(|e| e.tampered(delivery))
    }

    async fn only_payment(&self, order: &Order) -> Payment {
        let payments = self.app.store.payments(&order.id).await.unwrap();
        assert_eq!(payments.len(), 1, "{payments:?}");
        payments.into_iter().next().unwrap()
    }
}

fn location(r: &reqwest::Response) -> String {
    assert_eq!(r.status(), 303, "expected a redirect, got {}", r.status());
    r.headers()["location"].to_str().unwrap().to_owned()
}

async fn text(url: &str) -> String {
    let r = browser().get(url).send().await.unwrap();
    assert_eq!(r.status(), 200, "{url}");
    r.text().await.unwrap()
}

/// Each scenario, written once for every gateway.
mod scenarios {
    use super::*;

    /// Pay-per-use: the estimate is held, the real cost captured once, part of it refunded.
    pub async fn pay_per_use(kind: Kind, db: Db) {
        let rig = Rig::start(kind, &db).await;
        let order = rig.app.session_order().await;
        let back = rig.pay(&rig.app.pay_link(&order, 1), true).await;
        assert!(text(&back).await.contains("Payment authorised"));
        let payment = rig.only_payment(&order).await;
        assert_eq!(payment.state, State::Authorised);
        assert_eq!(rig.charges().unwrap_or(0), 0, "a hold charges nothing");

        let cashier = &rig.app.state.cashier;
        let p = cashier.capture(&payment.id, rig.money("64.20")).await.unwrap().payment;
        assert_eq!((p.state, p.captured), (State::Captured, rig.money("64.20")));
        assert!(!cashier.capture(&payment.id, rig.money("64.20")).await.unwrap().changed);
        assert_eq!(rig.charges().unwrap_or(1), 1);
        if rig.fail_refunds(3) {
            // A gateway that is down leaves nothing half done; the retry then goes through.
            let refund = cashier.refund(&payment.id, rig.money("4.20")).await;
            assert!(
                matches!(&refund, Err(CashierError::Gateway(e)) if e.is_retryable()),
                "{refund:?}"
            );
        }
        let p = cashier.refund(&payment.id, rig.money("4.20")).await.unwrap().payment;
        assert_eq!((p.state, p.refunded), (State::Captured, rig.money("4.20")));
        assert!(matches!(cashier.void(&payment.id).await, Err(CashierError::Illegal(_))));
    }

    /// Fee-based training: the fee is taken at once, then refunded in parts, never beyond.
    pub async fn fee_and_refunds(kind: Kind, db: Db) {
        let rig = Rig::start(kind, &db).await;
        let order = rig.app.registration_order("25.00").await;
        let back = rig.pay(&rig.app.pay_link(&order, 1), true).await;
        assert!(text(&back).await.contains("Payment received"));
        let payment = rig.only_payment(&order).await;
        assert_eq!((payment.state, payment.captured), (State::Sale, rig.money("25.00")));
        assert_eq!(rig.charges().unwrap_or(1), 1);

        let cashier = &rig.app.state.cashier;
        let p = cashier.refund(&payment.id, rig.money("10.00")).await.unwrap().payment;
        assert_eq!((p.state, p.refunded), (State::Sale, rig.money("10.00")));
        let too_much = cashier.refund(&payment.id, rig.money("15.01")).await;
        assert!(matches!(too_much, Err(CashierError::Illegal(_))), "{too_much:?}");
        let p = cashier.refund(&payment.id, rig.money("15.00")).await.unwrap().payment;
        assert_eq!(p.state, State::Refunded);
    }

    /// Refunds asked for under request ids: the gateway says it refunds in part, each request
    /// gives back its amount once (asked again, as a retry after its answer was recorded is,
    /// nothing moves and nothing is counted twice), and another request refunds again.
    pub async fn requested_refunds_once_each(kind: Kind, db: Db) {
        let rig = Rig::start(kind, &db).await;
        assert!(rig.app.state.bot.partial_refunds.of(kind.method().as_str()));
        let order = rig.app.registration_order("25.00").await;
        assert!(
            text(&rig.pay(&rig.app.pay_link(&order, 1), true).await)
                .await
                .contains("Payment received")
        );
        let payment = rig.only_payment(&order).await;

        let cashier = &rig.app.state.cashier;
        let part = |id: &str| RefundPart::Request(id.parse().unwrap());
        let p = cashier.refund_part(&payment.id, rig.money("10.00"), part("r-1")).await.unwrap();
        assert_eq!((p.changed, p.payment.refunded), (true, rig.money("10.00")));
        let again =
            cashier.refund_part(&payment.id, rig.money("10.00"), part("r-1")).await.unwrap();
        assert_eq!((again.changed, again.payment.refunded), (false, rig.money("10.00")));
        let p = cashier.refund_part(&payment.id, rig.money("10.00"), part("r-2")).await.unwrap();
        assert_eq!((p.payment.state, p.payment.refunded), (State::Sale, rig.money("20.00")));
        let too_much = cashier.refund_part(&payment.id, rig.money("5.01"), part("r-3")).await;
        assert!(matches!(too_much, Err(CashierError::Illegal(_))), "{too_much:?}");
        let refunds = rig.app.store.transitions(&payment.id).await.unwrap();
        assert_eq!(refunds.iter().filter(|t| t.event == "refunded").count(), 2);
        // A whole refund overtaking a part still queued: the part then gives nothing.
        assert_eq!(cashier.give_back(&payment.id).await.unwrap().payment.state, State::Refunded);
        let late = cashier.refund_part(&payment.id, rig.money("5.00"), part("r-4")).await.unwrap();
        assert_eq!((late.changed, late.payment.refunded), (false, rig.money("25.00")));
    }

    /// A cancelled checkout and a decline are said plainly and charge nothing, and a fresh
    /// checkout can then succeed.
    pub async fn decline(kind: Kind, db: Db) {
        let rig = Rig::start(kind, &db).await;
        let order = rig.app.registration_order("40.00").await;
        let link = rig.app.pay_link(&order, 1);
        let page = text(&rig.cancel(&link).await).await;
        assert!(page.contains("Payment cancelled") && page.contains("Try again"), "{page}");
        assert_eq!(rig.only_payment(&order).await.state, State::Expired);

        let page = text(&rig.pay(&link, false).await).await;
        assert!(page.contains("Payment declined") && page.contains("Try again"), "{page}");
        assert_eq!(rig.app.store.payments(&order.id).await.unwrap()[1].state, State::Failed);
        assert_eq!(rig.charges().unwrap_or(0), 0);

        assert!(text(&rig.pay(&link, true).await).await.contains("Payment received"));
        let states: Vec<_> =
            rig.app.store.payments(&order.id).await.unwrap().iter().map(|p| p.state).collect();
        assert_eq!(states, [State::Expired, State::Failed, State::Sale]);
        assert_eq!(rig.charges().unwrap_or(1), 1);
    }

    /// The same callback delivered again and again changes the payment once.
    pub async fn duplicate_callback(kind: Kind, db: Db) {
        let rig = Rig::start(kind, &db).await;
        let order = rig.app.registration_order("25.00").await;
        let back = rig.pay(&rig.app.pay_link(&order, 1), true).await;
        assert!(text(&back).await.contains("Payment received"));
        let payment = rig.only_payment(&order).await;
        let callback = rig.last_callback(&payment).expect("a callback was sent");
        for _ in 0..2 {
            assert_eq!(callback.send(&rig.notify_url()).await, 200);
        }
        let payment = rig.only_payment(&order).await;
        assert_eq!(payment.state, State::Sale);
        let trail = rig.app.store.transitions(&payment.id).await.unwrap();
        assert_eq!(trail.len(), 1, "one transition however often it was reported: {trail:?}");
        assert_eq!(rig.charges().unwrap_or(1), 1);
    }

    /// Callbacks and the payer's browser arrive at once: one transition, every answer 200.
    pub async fn callback_racing_the_return(kind: Kind, db: Db) {
        let rig = Rig::start(kind, &db).await;
        rig.hold_callbacks();
        let order = rig.app.session_order().await;
        let back = rig.pay(&rig.app.pay_link(&order, 1), true).await;
        let payment = rig.only_payment(&order).await;
        let early = rig.last_callback(&payment);
        let notify = rig.notify_url();
        let send = |d: Option<Delivery>| {
            let notify = notify.clone();
            async move { if let Some(d) = d { d.send(&notify).await } else { 200 } }
        };
        let (a, b, page, again) = tokio::join!(
            send(early.clone()),
            send(early.clone()),
            browser().get(&back).send(),
            browser().get(&back).send()
        );
        assert_eq!((a, b), (200, 200));
        for page in [page, again] {
            assert!(page.unwrap().text().await.unwrap().contains("Payment authorised"));
        }
        if early.is_none() {
            // The IPN that follows the payment the return completed, twice at once.
            let late = rig.last_callback(&payment).expect("an IPN follows the payment");
            let (a, b) = tokio::join!(send(Some(late.clone())), send(Some(late)));
            assert_eq!((a, b), (200, 200));
        }
        let payment = rig.only_payment(&order).await;
        assert_eq!(payment.state, State::Authorised);
        let trail = rig.app.store.transitions(&payment.id).await.unwrap();
        assert_eq!(trail.len(), 1, "{trail:?}");
        let outcomes: Vec<_> = rig
            .app
            .store
            .callbacks(kind.method().as_str())
            .await
            .unwrap()
            .into_iter()
            .map(|c| c.outcome)
            .collect();
        assert!(outcomes.iter().filter(|o| o.starts_with("applied")).count() <= 1, "{outcomes:?}");
    }

    /// A capture whose answers all come too late is retried with the same idempotency key:
    /// the gateway charged once and says so again.
    pub async fn retried_capture_charges_once(kind: Kind, db: Db) {
        let rig = Rig::start(kind, &db).await;
        let order = rig.app.session_order().await;
        let back = rig.pay(&rig.app.pay_link(&order, 1), true).await;
        assert!(text(&back).await.contains("Payment authorised"));
        let payment = rig.only_payment(&order).await;
        let cashier = &rig.app.state.cashier;
        if rig.slow_captures(3) {
            let first = cashier.capture(&payment.id, rig.money("81.00")).await;
            assert!(
                matches!(&first, Err(CashierError::Gateway(e)) if e.is_retryable()),
                "{first:?}"
            );
            assert_eq!(rig.only_payment(&order).await.state, State::Authorised);
            assert_eq!(rig.charges(), Some(1), "the first attempt did reach the gateway");
        }
        let (x, y) = tokio::join!(
            cashier.capture(&payment.id, rig.money("81.00")),
            cashier.capture(&payment.id, rig.money("81.00"))
        );
        assert_eq!(x.unwrap().payment.state, State::Captured);
        assert_eq!(y.unwrap().payment.state, State::Captured);
        assert_eq!(rig.charges().unwrap_or(1), 1, "charged once");
        if let Some(e) = &rig.emulator {
            assert!(e.replays() >= 1, "the retry was answered from the idempotency store");
        }
    }

    /// A callback the gateway vouches for but that claims another amount, and one whose body
    /// was changed after signing, are refused, recorded, and change nothing.
    pub async fn wrong_amount_rejected(kind: Kind, db: Db) {
        let rig = Rig::start(kind, &db).await;
        rig.hold_callbacks();
        let order = rig.app.session_order().await;
        rig.pay(&rig.app.pay_link(&order, 1), true).await;
        let payment = rig.only_payment(&order).await;
        let Some(cheap) = rig.callback_claiming(&payment, rig.money("1.00")) else {
            return;
        };
        assert_eq!(cheap.send(&rig.notify_url()).await, 400);
        if let Some(tampered) = rig.tampered(cheap) {
            assert_eq!(tampered.send(&rig.notify_url()).await, 400);
        }
        assert_eq!(rig.only_payment(&order).await.state, State::Created, "nothing changed");
        let outcomes: Vec<_> = rig
            .app
            .store
            .callbacks(kind.method().as_str())
            .await
            .unwrap()
            .into_iter()
            .map(|c| c.outcome)
            .collect();
        assert!(outcomes[0].contains("amount 1.00"), "{outcomes:?}");
        assert!(outcomes.iter().all(|o| o.starts_with("rejected")), "{outcomes:?}");
    }
}

/// Generates, for one gateway, every scenario on both backends.
macro_rules! suite {
    ($module:ident, $kind:expr) => {
        mod $module {
            use super::*;
            suite!(@each $kind; pay_per_use, fee_and_refunds, requested_refunds_once_each,
                decline, duplicate_callback, callback_racing_the_return,
                retried_capture_charges_once, wrong_amount_rejected);
        }
    };
    (@each $kind:expr; $($name:ident),*) => {
        $(async fn $name(db: Db) {
            scenarios::$name($kind, db).await
        })*
        on_both_backends!($($name),*);
    };
}

suite!(sandbox, Kind::Sandbox);
suite!(payflow_pro, Kind::Payflow);
suite!(stripe_checkout, Kind::Stripe);
suite!(paypal_orders, Kind::Paypal);
suite!(express_checkout, Kind::ExpressCheckout);
suite!(website_payments_pro, Kind::WebsitePaymentsPro);

on_both_backends!(the_pay_page_offers_each_method_only_where_it_belongs);

/// With every method enabled, the pay page of a site in the US, Canada, Great Britain and
/// Norway offers exactly what DESIGN allows there, and refuses a method that is not offered.
async fn the_pay_page_offers_each_method_only_where_it_belongs(db: Db) {
    let everywhere = ["sandbox", "payflow", "stripe", "paypal"];
    for (country, only_here) in [
        ("US", Some("express-checkout")),
        ("CA", Some("express-checkout")),
        ("GB", Some("website-payments-pro")),
        ("NO", None),
    ] {
        let app = App::configured(&db, |config| {
            config.payments.methods = tollbooth_core::payments::method::ALL.to_vec();
            config.site.country = country.parse().unwrap();
        })
        .await;
        let order = app.registration_order("25.00").await;
        let link = app.pay_link(&order, 1);
        let page = text(&link).await;
        for method in tollbooth_core::payments::method::ALL {
            let name = method.as_str();
            let offered = everywhere.contains(&name) || only_here == Some(name);
            let shown = page.contains(&format!("id=\"method-{name}\""));
            assert_eq!(shown, offered, "{name} in {country}: {page}");
            if !offered {
                let r = browser().post(&link).form(&[("method", name)]).send().await.unwrap();
                assert_eq!(r.status(), 400, "{name} chosen in {country}");
            }
        }
    }
}
