//! The outbox worker: delivers stored effects once each — direct messages through Discord's
//! REST API, e-mail through SMTP, Webex messages through the Webex bot, meeting ends through
//! the platforms' APIs, captures through the cashier. Claims are leased, so two instances
//! never deliver the same effect at once; a failed attempt is logged, counted
//! (`outbox_failures_total`) and retried with backoff; each adapter's own idempotency
//! (Discord's message nonce, the cashier's keys per order and step) makes a retry after a lost
//! answer harmless. SMTP and Webex messages have none: an answer lost after the message was
//! accepted means it is sent again (an e-mail then under the same `Message-ID`).

use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, Utc};
use serenity::all::Http;
use tollbooth_core::config::LONGEST_GATEWAY_TIMEOUT_SECS;
use tollbooth_core::fee_based::service::Offers;
use tollbooth_core::fee_based::{
    self,
    registration::{RegistrationId, RegistrationState},
};
use tollbooth_core::money::Money;
use tollbooth_core::outbox::{
    Admit, CancelMeeting, Capture, Claimed, Effect, EndMeeting, PartialRefund, Refund, next_attempt,
};
use tollbooth_core::pay_per_use;
use tollbooth_core::payments::cashier::{Cashier, CashierError};
use tollbooth_core::payments::paylink::Links;
use tollbooth_core::payments::payment::PaymentId;
use tollbooth_core::platform::control::{Attendee, HostedMeeting};
use tollbooth_core::platform::webex_api::WebexApi;
use tollbooth_core::platform::{LONGEST_REQUEST, MOST_REQUESTS_PER_CALL, Platforms};
use tollbooth_core::reach::mail::Mailer;
use tollbooth_core::reach::{Channels, WebexMessage};
use tollbooth_core::store::{Store, StoreError, within};

use crate::health::Health;

/// How long a claim holds a batch: only until the worker reaches each effect and renews its
/// lease for that delivery ([`lease_for`]); effects it has not reached by then may be taken
/// over by another instance, and are then skipped here. It is a gateway call's worst case with
/// a margin, since captures and refunds keep it for their delivery.
const LEASE: chrono::Duration = chrono::Duration::seconds(LONGEST_GATEWAY_TIMEOUT_SECS as i64 + 15);
/// How often the worker looks for due effects.
const POLL: Duration = Duration::from_secs(1);
const BATCH: u32 = 20;
/// The longest wait after passes whose store calls failed, doubling from [`POLL`].
const MOST_BACKOFF: Duration = Duration::from_secs(30);

/// Where each kind of effect goes. A missing one (no Discord token, no platform token) makes
/// its effects fail, visibly, until it is configured.
#[derive(Clone)]
pub struct Deliverers {
    pub discord: Option<Arc<Http>>,
    pub platforms: Platforms,
    pub cashier: Cashier,
    /// `smtp.*`, when e-mail is on.
    pub mail: Option<Mailer>,
    /// The Webex bot (`webex.bot_token`) that messages Webex hosts.
    pub webex_bot: Option<WebexApi>,
    /// Signs the links messages carry (a registration's invoice).
    pub links: Links,
    /// How a seat given back is offered to the waiting list (its `reach` is
    /// [`Deliverers::channels`]).
    pub offers: Offers,
}

impl Deliverers {
    /// The channels beyond Discord that effects queued here (join links) may use.
    pub fn channels(&self) -> Channels {
        Channels { email: self.mail.is_some(), webex: self.webex_bot.is_some() }
    }
}

/// The outbox worker: its inputs, and [`Worker::run`], its loop. Each store call has the store's
/// deadline; a pass whose store calls fail is reported to `/readyz` and tried again after
/// [`POLL`]. Deliveries themselves are bounded by their adapters' timeouts.
pub struct Worker {
    pub store: Arc<dyn Store>,
    pub deliverers: Deliverers,
    /// This instance's name in leases.
    pub name: String,
    pub health: Health,
}

impl Worker {
    #[tracing::instrument(name = "outbox", skip_all, fields(worker = %self.name))]
    pub async fn run(self) {
        let Worker { store, deliverers, name, health } = self;
        run(store, deliverers, name, health).await;
    }
}

async fn run(store: Arc<dyn Store>, deliverers: Deliverers, worker: String, health: Health) {
    let mut wait = POLL;
    loop {
        let outcome = run_once(store.as_ref(), &deliverers, &worker, Utc::now()).await;
        health.report("outbox", &outcome);
        match outcome {
            Ok(_) => wait = POLL,
            Err(e) => {
                wait = (wait * 2).min(MOST_BACKOFF);
                tracing::warn!(error = %e, retry_in = ?wait, "outbox: could not claim or record effects");
            }
        }
        tokio::time::sleep(wait).await;
    }
}

/// Delivers what is due at `now`; returns how many effects were delivered.
pub async fn run_once(
    store: &dyn Store,
    deliverers: &Deliverers,
    worker: &str,
    now: DateTime<Utc>,
) -> Result<usize, StoreError> {
    let claimed = within(store.deadline(), store.claim(worker, now, now + LEASE, BATCH)).await?;
    deliver_claimed(store, deliverers, worker, claimed, now).await
}

/// Delivers effects `worker` claimed at `now`, one by one, each only after renewing its lease
/// for the whole delivery: the batch's lease may have run out while earlier ones were
/// delivered, and another instance may have claimed the effect since. Returns how many effects
/// were delivered.
pub async fn deliver_claimed(
    store: &dyn Store,
    deliverers: &Deliverers,
    worker: &str,
    claimed: Vec<Claimed>,
    now: DateTime<Utc>,
) -> Result<usize, StoreError> {
    // `now` moved on by the time spent here, so tests can run the worker at a chosen time.
    let started = std::time::Instant::now();
    let clock = || now + chrono::Duration::from_std(started.elapsed()).unwrap_or(LEASE);
    let deadline = store.deadline();
    let mut delivered = 0;
    for claimed in claimed {
        let kind = claimed.effect.kind();
        let until = clock() + lease_for(&claimed.effect);
        if !within(deadline, store.renew_lease(claimed.id, worker, until)).await? {
            tracing::warn!(key = claimed.key, "outbox: lease lost before delivering; skipped");
            continue;
        }
        match deliver(deliverers, store, &claimed).await {
            Ok(()) => {
                if within(deadline, store.mark_sent(claimed.id, worker, Utc::now())).await? {
                    metrics::counter!("outbox_delivered_total", "kind" => kind).increment(1);
                    delivered += 1;
                } else {
                    tracing::warn!(key = claimed.key, "outbox: lease lost while delivering");
                }
            }
            Err(e) => {
                metrics::counter!("outbox_failures_total", "kind" => kind).increment(1);
                let retry_at = next_attempt(claimed.attempts, clock());
                tracing::warn!(key = claimed.key, kind, attempts = claimed.attempts, %retry_at, error = %e, "outbox: delivery failed");
                if !within(deadline, store.mark_failed(claimed.id, worker, &e, retry_at)).await? {
                    tracing::warn!(key = claimed.key, "outbox: lease lost while delivering");
                }
            }
        }
    }
    Ok(delivered)
}

/// How long one delivery of `effect` may take at worst, so that no other instance claims it
/// meanwhile. A platform effect makes up to [`MOST_REQUESTS_PER_CALL`] requests, each of
/// which may time out on every try and wait out rate limits ([`LONGEST_REQUEST`]): 25 min for
/// an admission, 5 min otherwise. A gateway call waits at most its timeout (45 s at the
/// longest by default), and a direct message is one Discord call; for those the claim's own
/// lease is enough, which keeps a crashed worker's captures waiting only a minute.
fn lease_for(effect: &Effect) -> chrono::Duration {
    let requests = match effect {
        Effect::Admit(_) => MOST_REQUESTS_PER_CALL,
        Effect::EndMeeting(_) | Effect::CancelMeeting(_) | Effect::WebexMessage(_) => 1,
        Effect::ChatMessage(_)
        | Effect::Email(_)
        | Effect::Capture(_)
        | Effect::Refund(_)
        | Effect::PartialRefund(_) => return LEASE,
    };
    chrono::Duration::from_std(LONGEST_REQUEST * requests).expect("minutes fit")
}

/// One attempt at one effect; the error says what went wrong, for the log and the row.
#[tracing::instrument(skip_all, fields(key = %claimed.key, kind = claimed.effect.kind()))]
async fn deliver(d: &Deliverers, store: &dyn Store, claimed: &Claimed) -> Result<(), String> {
    match &claimed.effect {
        Effect::ChatMessage(message) => {
            let http = d.discord.as_ref().ok_or("no Discord bot token (discord.token) is set")?;
            tollbooth_bot::api::send_dm(http, message, &claimed.key)
                .await
                .map_err(|e| e.to_string())
        }
        Effect::Email(mail) => {
            let mailer = d.mail.as_ref().ok_or("no SMTP server (smtp.url, smtp.from) is set")?;
            mailer.send(mail, &claimed.key).await
        }
        Effect::WebexMessage(WebexMessage { to_person_email, markdown }) => {
            let bot = d.webex_bot.as_ref().ok_or("no Webex bot token (webex.bot_token) is set")?;
            bot.send_message(to_person_email.as_str(), markdown).await.map_err(|e| e.to_string())
        }
        Effect::EndMeeting(EndMeeting { platform, meeting_id }) => {
            let control = d.platforms.get(*platform)?;
            control.end_meeting(meeting_id).await.map_err(|e| e.to_string())
        }
        Effect::Admit(a) => admit(d, store, a).await,
        Effect::Refund(Refund { payment }) => {
            let id: PaymentId = payment.parse().map_err(|e| format!("refund of {payment}: {e}"))?;
            d.cashier
                .give_back(&id)
                .await
                .map(|_| ())
                .map_err(|e| format!("refund of {payment}: {e}"))
        }
        Effect::PartialRefund(PartialRefund { payment, amount, currency, part }) => {
            let id: PaymentId = payment.parse().map_err(|e| format!("refund of {payment}: {e}"))?;
            let amount = Money::parse_exact(&amount.to_string(), *currency)
                .map_err(|e| format!("refund of {payment}: {e}"))?;
            d.cashier
                .refund_part(&id, amount, part.clone())
                .await
                .map(|_| ())
                .map_err(|e| format!("refund of {amount} of {payment}: {e}"))
        }
        Effect::CancelMeeting(CancelMeeting { platform, meeting_id, host_email }) => {
            let control = d.platforms.get(*platform)?;
            let meeting = HostedMeeting { id: meeting_id, host_email };
            control.cancel_meeting(meeting).await.map_err(|e| e.to_string())
        }
        Effect::Capture(Capture { payment, amount, currency }) => {
            let id: PaymentId =
                payment.parse().map_err(|e| format!("capture of {payment}: {e}"))?;
            let amount = Money::parse_exact(&amount.to_string(), *currency)
                .map_err(|e| format!("capture of {payment}: {e}"))?;
            // Nothing used: the whole hold is released instead of capturing zero.
            if amount.amount().is_zero() {
                let done = d.cashier.void(&id).await;
                return done.map(|_| ()).map_err(|e| format!("void of {payment}: {e}"));
            }
            match d.cashier.capture(&id, amount).await {
                Ok(_) => Ok(()),
                // Retrying cannot collect it, so the host owes it instead.
                Err(e) if refused_for_good(&e) => {
                    pay_per_use::service::capture_refused(store, &id, &e.to_string())
                        .await
                        .map_err(|e| e.to_string())
                }
                Err(e) => Err(format!("capture of {payment}: {e}")),
            }
        }
    }
}

/// A capture the gateway refused (the hold expired or was voided elsewhere), or one the
/// payment's state no longer allows, as opposed to an outage worth another try.
fn refused_for_good(e: &CashierError) -> bool {
    match e {
        CashierError::Gateway(g) => !g.is_retryable(),
        CashierError::Illegal(_) => true,
        _ => false,
    }
}

/// Adds and approves the attendee on the platform, then records the registrant, which queues
/// the join link. A retry after a lost answer finds the registrant the first attempt added.
async fn admit(d: &Deliverers, store: &dyn Store, admit: &Admit) -> Result<(), String> {
    let id: RegistrationId = admit.registration.parse()?;
    // Refunded meanwhile (the session was cancelled, its meeting deleted): nobody to add.
    let current = store.registration(&id).await.map_err(|e| e.to_string())?;
    // A guest's seat is added while the group holds its seats (the payer's own seat may be
    // approved first), unless it was refunded alone meanwhile.
    let wanted = match admit.seat {
        None => current.is_some_and(|r| r.state == RegistrationState::Paid),
        Some(seat) => {
            let guests = store.guest_seats(&id).await.map_err(|e| e.to_string())?;
            current.is_some_and(|r| r.state.holds_seat())
                && guests.iter().any(|g| g.seat == seat && !g.refunded)
        }
    };
    if !wanted {
        return Ok(());
    }
    let attendee = Attendee {
        first_name: admit.first_name.clone(),
        last_name: admit.last_name.clone(),
        email: admit.email.clone(),
    };
    let control = d.platforms.get(admit.platform)?;
    let meeting = HostedMeeting { id: &admit.meeting_id, host_email: &admit.host_email };
    match control.admit(meeting, &attendee).await {
        Ok(registrant) => match admit.seat {
            Some(seat) => {
                fee_based::service::guest_admitted(store, &id, seat, &registrant, d.channels())
                    .await
                    .map_err(|e| e.to_string())
            }
            None => fee_based::service::registrant_admitted(
                store,
                &id,
                &registrant,
                d.channels(),
                &d.links,
            )
            .await
            .map_err(|e| e.to_string()),
        },
        // A guest the platform refuses is not refunded by itself: it stays failing, for
        // the host to refund that seat (`/registrations refund seat:`).
        Err(e) if e.is_refusal() && admit.seat.is_some() => Err(e.to_string()),
        // Retrying cannot change a refusal: the payment cannot be honoured, so it is given back.
        Err(e) if e.is_refusal() => {
            tracing::warn!(registration = %id, error = %e, "platform refused a paid registrant; refunding");
            fee_based::service::registrant_refused(store, &id, &d.offers, Utc::now())
                .await
                .map_err(|e| e.to_string())
        }
        Err(e) => Err(e.to_string()),
    }
}
