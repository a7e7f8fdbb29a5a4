//! Pay-per-use workflows: deciding a start when a session starts, charging a paid session when
//! it ends, what a host owes, a capture the gateway refused for good, and giving back what is
//! not owed. Each runs on the transactional port, inside the transaction of the workflow that
//! set it off (applying deliveries, recording a payment) or one of its own, so that a decision
//! and the effects it queues are stored together or not at all; each decision is recorded
//! (`start_decision`, paid starts, charges) so that a replayed event decides nothing twice.

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use rust_decimal::Decimal;

use crate::email::Email;
use crate::messages::Args;
use crate::metering::service::{Applied, SessionKey, WhenApplied};
use crate::metering::session::Session;
use crate::money::Money;
use crate::outbox::{ChatMessage, Effect, Link, Recipient, Refund};
use crate::pay_per_use::billing;
use crate::pay_per_use::enforcement::{self, Block, StartDecision, StartFacts};
use crate::pay_per_use::terms::Terms;
use crate::payments::order::{Binding, Order, OrderId, Purchase};
use crate::payments::payment::{Payment, PaymentId, State};
use crate::payments::service::WhenPaid;
use crate::platform::PlatformKind;
use crate::pricing::Estimate;
use crate::reach;
use crate::settlement;
use crate::store::{DecidedStart, Store, StoreError, Tx};

/// Decides the starts that a batch of deliveries reported, with the site's `terms`, and hands
/// the paid sessions that ended over to settlement. Starts first: a session that started and
/// ended within one batch is decided, then handed over.
pub struct StartsAndEnds<'t> {
    pub terms: &'t Terms,
}

#[async_trait]
impl WhenApplied for StartsAndEnds<'_> {
    async fn applied(
        &self,
        tx: &mut dyn Tx,
        applied: &Applied,
        now: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        // The sessions as the transaction holds them, a start's block recorded in them too.
        let mut sessions = applied.sessions.clone();
        let mut ended = applied.ended.clone();
        // Read once for the whole batch: each read is a round trip inside the applier's
        // transaction, which on SQLite holds up every delivery coming in.
        let pay_per_use = !applied.started.is_empty() && tx.pay_per_use_on().await?;
        // What is read for each session is read for all of them at once, for the same reason.
        let started: Vec<&SessionKey> = applied.started.iter().collect();
        let decided = tx.decided_starts(&started).await?;
        let mut decisions = Vec::new();
        for key in started.into_iter().filter(|key| !decided.contains(*key)) {
            let Some(session) = sessions.get_mut(key) else { continue };
            let Some(start) = decide_start(tx, self.terms, session, pay_per_use, now).await? else {
                continue;
            };
            // Paid for, but its `ended` came first: handed over now.
            if matches!(start.decision, StartDecision::Paid(_)) && session.times.has_ended() {
                ended.insert(key.clone());
            }
            decisions.push(start);
        }
        tx.record_start_decisions(&decisions).await?;
        let ending: Vec<&SessionKey> =
            ended.iter().filter(|key| sessions.contains_key(*key)).collect();
        let mut paid = tx.uncharged_paid_starts(&ending).await?;
        let mut settled = tx.settlements(&ending).await?;
        let settings = &self.terms.settlement;
        let ending = ending
            .into_iter()
            .map(|key| (&sessions[key], paid.remove(key), settled.remove(key)))
            .collect();
        settlement::service::ended(tx, settings, ending, now).await?;
        for (platform, meeting_id) in &applied.after_end {
            settlement::service::late(tx, settings, *platform, meeting_id, now).await?;
        }
        Ok(())
    }
}

/// Decides a start that `decided_starts` did not find decided: free, paid by the host's
/// oldest unused authorisation, or blocked (the meeting ended, the host told, with an order to
/// pay; `session` notes the block). The caller records what was decided for the whole batch;
/// `None` when nothing could be (no host to hold to pay yet).
async fn decide_start(
    tx: &mut dyn Tx,
    terms: &Terms,
    session: &mut Session,
    pay_per_use: bool,
    now: DateTime<Utc>,
) -> Result<Option<DecidedStart>, StoreError> {
    let (platform, meeting_id) = (session.platform, session.meeting_id.as_str());
    // Without a host there is nobody to hold to pay; a later delivery may name them.
    let Some(reported) = session.host_email.as_deref() else { return Ok(None) };
    let Ok(host) = reported.parse::<Email>() else {
        tracing::warn!(%platform, meeting_id, host = reported, "host is not an e-mail address; start not decided");
        return Ok(None);
    };
    let running = !session.times.has_ended();
    let number = session.meeting_number.as_deref();
    let facts = start_facts(tx, pay_per_use, &host, platform, meeting_id, number).await?;
    let decision = enforcement::decide(facts);
    let mut blocked_reason = None;
    match &decision {
        StartDecision::Free => {}
        StartDecision::Paid(order) => {
            tx.record_paid_start(order, platform, meeting_id, &host, now).await?;
        }
        StartDecision::Blocked(block) => {
            tracing::info!(%platform, meeting_id, %host, reason = block.reason(), "unpaid start blocked");
            metrics::counter!("pay_per_use_blocked_starts_total").increment(1);
            let person = reach::host(tx, terms.reach, &host, platform).await?;
            let lang = person.lang;
            let order =
                order_to_unblock(tx, terms, block, &host, platform, meeting_id, now).await?;
            let pay = Link {
                label: block.pay_label(lang),
                url: terms.links.pay(&order, now, lang).to_string(),
            };
            let reach = (terms.reach, &person);
            let effects =
                enforcement::blocked_effects(platform, meeting_id, block, running, reach, pay);
            for (key, effect) in &effects {
                tx.enqueue(key, effect).await?;
            }
            blocked_reason = Some(block.reason());
        }
    }
    if let Some(reason) = &blocked_reason {
        session.blocked = true;
        session.blocked_reason = Some(reason.clone());
    }
    let session = (platform, meeting_id.to_owned());
    Ok(Some(DecidedStart { session, decision, blocked_reason }))
}

/// What a start of `meeting_id` by `host` is decided on.
async fn start_facts(
    tx: &mut dyn Tx,
    pay_per_use: bool,
    host: &Email,
    platform: PlatformKind,
    meeting_id: &str,
    meeting_number: Option<&str>,
) -> Result<StartFacts, StoreError> {
    // Only what can change the decision is read: each read is a round trip inside the
    // applier's transaction, which on SQLite holds up every delivery coming in.
    let exempt = pay_per_use && tx.exempt(host).await?;
    if enforcement::free_regardless(pay_per_use, exempt) {
        return Ok(StartFacts { pay_per_use, exempt, outstanding: None, authorisation: None });
    }
    let outstanding = owed(tx, host, None).await?;
    // Oldest first, so that an order paid earlier is used up first.
    let orders = tx.unused_session_orders(host, State::Authorised).await?;
    let authorisation = orders
        .into_iter()
        .find(|o| match &o.purchase {
            Purchase::Session { bound, .. } => {
                enforcement::binds(bound, platform, meeting_id, meeting_number)
            }
            _ => false,
        })
        .map(|o| o.id);
    Ok(StartFacts { pay_per_use, exempt, outstanding, authorisation })
}

/// What a blocked host is asked to pay: their balance; else their newest session order that
/// nobody paid; else a new one for [`enforcement::offered_plan`] at today's prices with the
/// site's headroom.
async fn order_to_unblock(
    tx: &mut dyn Tx,
    terms: &Terms,
    block: &Block,
    host: &Email,
    platform: PlatformKind,
    meeting_id: &str,
    now: DateTime<Utc>,
) -> Result<OrderId, StoreError> {
    let order = match block {
        Block::Outstanding(owed) => Order::for_balance(host.to_string(), *owed),
        Block::Unpaid => {
            let paid_once = State::all_where(State::was_paid);
            if let Some(unpaid) = tx.newest_session_order_without(host, &paid_once).await? {
                return Ok(unpaid);
            }
            let prices = tx.prices_in_force(now).await?;
            let estimate = Estimate::new(enforcement::offered_plan(), &prices).map_err(|e| {
                StoreError::Invalid(format!("offer for {platform}/{meeting_id}: {e}"))
            })?;
            let bound = Binding::BlockedStart { platform, meeting_id: meeting_id.to_owned() };
            Order::for_session(bound, host.to_string(), &estimate, prices, None)
                .with_headroom(terms.headroom_percent)
        }
    };
    tx.insert_order(&order).await?;
    Ok(order.id)
}

/// The Discord member who hears about `host`'s refused captures; one without a link is not
/// told, and what they owe stays in the session API and blocks their next start.
pub(crate) async fn recipient(
    tx: &mut dyn Tx,
    host: &Email,
) -> Result<Option<Recipient>, StoreError> {
    let found = tx.host_recipient(host).await?;
    if found.is_none() {
        tracing::warn!(%host, "host has no linked Discord member, so is not told; link with /admin link");
    }
    Ok(found)
}

/// What `host` owes from charges their authorisations did not cover, less what their balance
/// orders paid, leaving out `except`; `None` when they never owed.
pub(crate) async fn owed(
    tx: &mut dyn Tx,
    host: &Email,
    except: Option<&OrderId>,
) -> Result<Option<Money>, StoreError> {
    let outstanding = tx.outstanding_charges(host).await?;
    let paid = tx.balance_orders_paid(host, except, State::Sale).await?;
    Ok(billing::owed(&outstanding, &paid))
}

/// Whether a start of this meeting by `host` would be allowed now (pay-per-use off, the host
/// exempt, or a paid authorisation that can pay for it and nothing owed): what `/session
/// start` checks before it hands out the start link. `meeting_id` is the id scheduling
/// returned: a Webex series id, a Zoom meeting number.
pub async fn start_is_paid(
    store: &dyn Store,
    host: &Email,
    platform: PlatformKind,
    meeting_id: &str,
) -> Result<bool, StoreError> {
    let mut tx = store.read().await?;
    let number = (platform == PlatformKind::Zoom).then_some(meeting_id);
    let pay_per_use = tx.pay_per_use_on().await?;
    let facts = start_facts(tx.as_mut(), pay_per_use, host, platform, meeting_id, number).await?;
    Ok(!matches!(enforcement::decide(facts), StartDecision::Blocked(_)))
}

/// Whether `host` still owes something from sessions that cost more than their
/// authorisation: what a balance order is for.
pub async fn owes(store: &dyn Store, host: &Email) -> Result<bool, StoreError> {
    let mut tx = store.read().await?;
    Ok(owed(tx.as_mut(), host, None).await?.is_some_and(|m| !m.amount().is_zero()))
}

/// The gateway refused for good to capture a charge's payment (its authorisation expired or
/// was voided outside tollbooth): what the charge meant to capture becomes the host's
/// outstanding balance, and the host is told why. Done once, however often it is called.
pub async fn capture_refused(
    store: &dyn Store,
    payment: &PaymentId,
    why: &str,
) -> Result<(), StoreError> {
    let mut tx = store.begin().await?;
    let Some(charge) = tx.charge_of_payment(payment).await? else { return Ok(()) };
    let meant = charge.captured;
    if meant.amount().is_zero() {
        return Ok(());
    }
    let owed = charge
        .outstanding
        .checked_add(meant)
        .map_err(|e| StoreError::Invalid(format!("charge {}: {e}", charge.order)))?;
    let nothing = Money::round(Decimal::ZERO, meant.currency());
    if !tx.resettle_charge(&charge.order, nothing, owed, Utc::now()).await? {
        return Ok(());
    }
    tracing::warn!(order = charge.order, %payment, why, %owed, "capture refused for good; the cost is owed");
    metrics::counter!("pay_per_use_captures_refused_total").increment(1);
    let host: Email =
        charge.host_email.parse().map_err(|e| StoreError::corrupt("charges.host_email", e))?;
    if let Some(Recipient { discord_user_id, lang }) = recipient(tx.as_mut(), &host).await? {
        let args = Args::new()
            .str("amount", meant)
            .str("currency", meant.currency())
            .str("session", format!("{}/{}", charge.platform, charge.meeting_id))
            .str("why", why);
        let text = lang.text_with("capture-refused", &args);
        let told = Effect::ChatMessage(ChatMessage { discord_user_id, text, link: None });
        tx.enqueue(&format!("capture_refused:{}", charge.order), &told).await?;
    }
    tx.commit().await
}

/// A payment the host does not owe is given back at once, never kept: a second payment of a
/// session order (two tabs, or the quote's link and the blocked start's link to the same
/// order), or of a balance order, or a balance paid when nothing is owed any more (two balance
/// links for one debt).
pub struct GiveBackWhatIsNotOwed;

#[async_trait]
impl WhenPaid for GiveBackWhatIsNotOwed {
    async fn paid(
        &self,
        tx: &mut dyn Tx,
        payment: &Payment,
        _now: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        let Some(order) = tx.order(&payment.order_id).await? else { return Ok(()) };
        let kind = match &order.purchase {
            Purchase::Session { .. } => "session",
            Purchase::Balance { .. } => "balance",
            Purchase::Registration { .. } => return Ok(()),
        };
        let paid = State::all_where(State::is_paid);
        let second = tx.other_payments_in(&order.id, &payment.id, &paid).await? > 0;
        let surplus = second
            || (kind == "balance" && {
                let host = order
                    .payer
                    .parse::<Email>()
                    .map_err(|e| StoreError::corrupt("orders.payer", e))?;
                owed(tx, &host, Some(&order.id)).await?.is_none_or(|m| m.amount().is_zero())
            });
        if surplus {
            tracing::warn!(order = %order.id, payment = %payment.id, kind, "payment not owed; giving it back");
            metrics::counter!("pay_per_use_payments_given_back_total", "kind" => kind).increment(1);
            let back = Effect::Refund(Refund { payment: payment.id.to_string() });
            tx.enqueue(&format!("refund:{}", payment.id), &back).await?;
        }
        Ok(())
    }
}
