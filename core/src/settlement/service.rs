//! Settlement workflows. The applier hands a paid session over when it ends ([`ended`]) and
//! marks late deliveries for one that settled ([`late`]); the settlement worker then takes each
//! due settlement ([`Settler::pass`]) through its steps:
//!
//! - `waiting`: asks the platform for its participant record, reconciles it with what
//!   webhooks told ([`rule::reconcile`]) and charges the session once; a record that is not
//!   there yet (syncing, rate limited, an outage, rows without leave times) is asked for again
//!   with backoff until `give_up_after`, when the session settles on webhooks alone.
//! - `settled` with late data: the same reconciliation again; a cost that moved past the
//!   tolerance becomes an adjustment (less: a partial refund; more: owed, with a balance link).
//! - `settled`, at `final_after`: the platform's usage report (Webex) or participant record
//!   (Zoom) is compared with what was billed; a difference past the tolerance is flagged for
//!   `tollbooth reconcile`, never charged.
//!
//! The platform is called outside any transaction; each step's writes and the effects it
//! queues are committed together, after checking that the step is still the one taken.

use std::time::Duration;

use chrono::{DateTime, Utc};

use super::rule::{self, Reconciled};
use super::{AdjustmentKind, AdjustmentReason, AdjustmentRecord, Settings, Settlement, Stage};
use crate::email::Email;
use crate::messages::Args;
use crate::metering::session::{Bill, Session};
use crate::metering::{self, Connection, Usage};
use crate::outbox::{Capture, Effect, Link, PartialRefund};
use crate::pay_per_use::billing::{self, Charge};
use crate::pay_per_use::service::owed;
use crate::pay_per_use::terms::Terms;
use crate::payments::order::Order;
use crate::payments::payment::{RefundPart, State};
use crate::platform::control::{ControlError, HostedMeeting};
use crate::platform::records::{MeetingStanding, Recorded};
use crate::platform::{Inbound, PlatformKind, Platforms};
use crate::pricing::Prices;
use crate::reach::{self, Notice};
use crate::store::{NewDelivery, PaidStart, Store, StoreError, Tx};

/// How long one worker holds a settlement it took before another may take it. Only to save
/// work: a step commits only if the settlement is still at the stage it took, and a session is
/// charged once whatever runs twice, so a step that takes longer (a large record paged under
/// rate limits) or a worker that died costs at most a repeated platform call.
const HOLD: Duration = Duration::from_secs(60);

/// Settlements looked at per pass.
const PER_PASS: usize = 20;

/// In the transaction that applied sessions' `ended`: each session waits for the platform's
/// record, `settings.delay` from its end, with the order that paid for its start if one did
/// (its [`PaidStart`], read in this transaction; a start heard after the end sends a settled
/// free session back to waiting). Each comes with its settlement as this transaction holds it
/// ([`Tx::settlements`]), if it has one. The new settlements are opened in one write.
pub async fn ended(
    tx: &mut dyn Tx,
    settings: &Settings,
    sessions: Vec<(&Session, Option<PaidStart>, Option<Settlement>)>,
    now: DateTime<Utc>,
) -> Result<(), StoreError> {
    let mut opening = Vec::new();
    for (session, paid, settled) in sessions {
        // Ended by tollbooth before it could run: nothing was used that anyone pays for.
        if session.blocked {
            continue;
        }
        let waiting = waiting(settings, session, paid, now);
        match settled {
            None => opening.push(waiting),
            // A start heard after a free session's end brings its order: settled again, to
            // charge.
            Some(free) if free.order.is_none() && waiting.order.is_some() => {
                let again = Settlement {
                    order: waiting.order.clone(),
                    stage: Stage::Waiting,
                    due_at: waiting.due_at,
                    attempts: 0,
                    ..free
                };
                tx.save_settlement(&again).await?;
                log_waiting(&again);
            }
            Some(_) => {}
        }
    }
    let opened = tx.open_settlements(&opening).await?;
    for waiting in &opening {
        if opened.contains(&(waiting.platform, waiting.meeting_id.clone())) {
            log_waiting(waiting);
        }
    }
    Ok(())
}

/// The settlement of an ended `session`: waiting for the platform's record, `settings.delay`
/// from the end, with the order that paid for its start if one did.
fn waiting(
    settings: &Settings,
    session: &Session,
    paid: Option<PaidStart>,
    now: DateTime<Utc>,
) -> Settlement {
    let platform = session.platform;
    let ended_at = session.times.ended_received_at.unwrap_or(now);
    let delay = if settings.asks.platform(platform) { settings.delay } else { Duration::ZERO };
    Settlement {
        platform,
        meeting_id: session.meeting_id.clone(),
        order: paid.map(|p| p.order),
        stage: Stage::Waiting,
        source: None,
        ended_at,
        due_at: ended_at + delay,
        attempts: 0,
        late_data: false,
        billed: None,
        metered: None,
        platform_usage: None,
        reported: None,
        flagged: false,
        note: None,
    }
}

fn log_waiting(s: &Settlement) {
    let (platform, meeting_id) = (s.platform, s.meeting_id.as_str());
    tracing::info!(%platform, meeting_id, due_at = %s.due_at, paid = s.order.is_some(), "session ended; waiting for the platform's record");
}

/// In the transaction that applied deliveries for a session that had ended: one waiting or
/// settled is looked at again `settings.delay` after the latest of them.
pub async fn late(
    tx: &mut dyn Tx,
    settings: &Settings,
    platform: PlatformKind,
    meeting_id: &str,
    now: DateTime<Utc>,
) -> Result<(), StoreError> {
    tx.late_data(platform, meeting_id, now + settings.delay).await
}

/// What the settlement worker works with.
pub struct Settler<'a> {
    pub store: &'a dyn Store,
    pub platforms: &'a Platforms,
    pub terms: &'a Terms,
    pub settings: Settings,
}

/// What the platform said when asked for a session's record.
type Asked<T> = Result<T, String>;

impl Settler<'_> {
    /// Takes each due settlement through its next step; returns how many were looked at.
    pub async fn pass(&self, now: DateTime<Utc>) -> Result<usize, StoreError> {
        let due = self.store.due_settlements(now, PER_PASS).await?;
        let mut done = 0;
        for s in due {
            // Another instance took it first.
            if !self.store.take_settlement(&s, now + HOLD).await? {
                continue;
            }
            done += 1;
            let step = match s.stage {
                Stage::Waiting => self.settle(&s, now).await,
                Stage::Settled if s.late_data => self.recheck(&s, now).await,
                Stage::Settled => self.final_check(&s, now).await,
                Stage::Open | Stage::Final => Ok(()),
            };
            if let Err(e) = step {
                tracing::warn!(platform = %s.platform, meeting_id = s.meeting_id, stage = %s.stage, error = %e, "settlement step failed; trying again later");
                // The hold lapses and the step is taken again.
            }
        }
        Ok(done)
    }

    /// Gap fill: an open session that went quiet for `stale_after` (its `ended` may be lost),
    /// or that started more than a day ago (no meeting on either platform runs longer), is
    /// looked up on its platform; one that ended is ended with the delivery the platform
    /// would have sent. Returns how many were found ended.
    pub async fn fill_gaps(&self, now: DateTime<Utc>) -> Result<usize, StoreError> {
        let quiet_since = now - self.settings.stale_after;
        let day_ago = now - chrono::Duration::hours(24);
        let stale = self.store.stale_sessions(quiet_since, day_ago, PER_PASS).await?;
        let mut ended = 0;
        for (platform, meeting_id, host) in stale {
            // Recorded first: a lookup that fails is tried again a quiet period later.
            self.store.looked_up(platform, &meeting_id, now).await?;
            let Ok(control) = self.platforms.get(platform) else { continue };
            let host = host.unwrap_or_default();
            let meeting = HostedMeeting { id: &meeting_id, host_email: &host };
            let at = match control.standing(meeting).await {
                Ok(MeetingStanding::Ended { at }) => at,
                Ok(_) => continue,
                Err(e) => {
                    tracing::warn!(%platform, meeting_id, error = %e, "looking up a quiet session failed");
                    continue;
                }
            };
            let body = platform.ended_delivery(&meeting_id, at);
            let Ok(Inbound::Session { digest, observations, .. }) =
                platform.adapter().parse(body.as_bytes())
            else {
                return Err(StoreError::Invalid(format!(
                    "the {platform} ended delivery for {meeting_id} does not read"
                )));
            };
            let delivery = NewDelivery {
                platform,
                digest,
                meeting_id: meeting_id.clone(),
                body,
                received_at: now,
                observations: Some(observations.into()),
            };
            self.store.store_deliveries(&[delivery]).await?;
            tracing::warn!(%platform, meeting_id, "session had ended without an ended delivery; ended it from the platform's answer");
            metrics::counter!("settlement_gaps_filled_total").increment(1);
            ended += 1;
        }
        Ok(ended)
    }

    /// The platform's participant record, when one worth billing on is there: at least one
    /// complete row, and no incomplete one (Webex fills leave times in after the meeting).
    async fn record(&self, s: &Settlement) -> Asked<Vec<Recorded>> {
        let control = self.platforms.get(s.platform)?;
        let host = self.host(s).await.map_err(|e| e.to_string())?;
        let meeting = HostedMeeting { id: &s.meeting_id, host_email: &host };
        let records =
            control.participants(meeting).await.map_err(|e: ControlError| e.to_string())?;
        let complete = records.iter().filter(|r| rule::is_complete(r)).count();
        match (complete, records.len() - complete) {
            (0, _) => Err("the record has no complete row yet".into()),
            (_, 0) => Ok(records),
            (_, n) => Err(format!("{n} rows of the record have no leave time yet")),
        }
    }

    /// Why no record will come for this session, so that it settles on webhooks at once:
    /// no token for its platform, or a Zoom meeting of fewer than two participants, of which
    /// Zoom keeps no participant report.
    async fn nothing_to_ask(&self, s: &Settlement) -> Result<Option<String>, StoreError> {
        if let Err(why) = self.platforms.get(s.platform) {
            return Ok(Some(why));
        }
        if s.platform == PlatformKind::Zoom {
            let mut tx = self.store.read().await?;
            let metered = tx.metered(s.platform, &s.meeting_id).await?;
            let participants: std::collections::HashSet<&str> =
                metered.iter().map(|m| m.participant.as_str()).collect();
            if participants.len() < 2 {
                return Ok(Some("Zoom keeps no participant report of a meeting with fewer than two participants".into()));
            }
        }
        Ok(None)
    }

    async fn host(&self, s: &Settlement) -> Result<String, StoreError> {
        let mut tx = self.store.read().await?;
        let session = tx.session(s.platform, &s.meeting_id).await?;
        Ok(session.and_then(|s| s.host_email).unwrap_or_default())
    }

    /// `waiting` → `settled`: charges the reconciled cost once.
    async fn settle(&self, s: &Settlement, now: DateTime<Utc>) -> Result<(), StoreError> {
        let give_up_at = s.ended_at + self.settings.give_up_after;
        let (records, note) = match self.nothing_to_ask(s).await? {
            Some(why) => (Vec::new(), Some(format!("settled on webhooks alone: {why}"))),
            None => match self.record(s).await {
                Ok(records) => (records, None),
                Err(why) if now < give_up_at => {
                    return self.again(s, now, &why, Some(give_up_at)).await;
                }
                Err(why) => {
                    let secs = self.settings.give_up_after.as_secs();
                    tracing::warn!(platform = %s.platform, meeting_id = s.meeting_id, why, "the platform's record did not come; settling on webhooks alone");
                    let note = format!(
                        "settled on webhooks alone: the platform's record did not come within {secs} s of the end ({why})"
                    );
                    (Vec::new(), Some(note))
                }
            },
        };
        let mut tx = self.store.begin().await?;
        let Some(current) = tx.settlement(s.platform, &s.meeting_id).await? else {
            return Ok(());
        };
        if current.stage != Stage::Waiting {
            return Ok(());
        }
        let paid = tx.uncharged_paid_start(s.platform, &s.meeting_id).await?;
        let prices = match &paid {
            Some(paid) => paid.prices.clone(),
            None => tx.prices_in_force(s.ended_at).await?,
        };
        let Some(figures) = figures_at(tx.as_mut(), s, &records, &prices, now).await? else {
            return Ok(());
        };
        if let Some(paid) = &paid {
            charge(tx.as_mut(), self.terms, s, paid, &figures, now).await?;
        }
        let settled = Settlement {
            stage: Stage::Settled,
            source: Some(figures.reconciled.source),
            due_at: s.ended_at + self.settings.final_after,
            attempts: 0,
            // Whatever came before this step held the settlement is in its figures.
            late_data: false,
            billed: Some(figures.bill.usage),
            metered: Some(figures.metered),
            platform_usage: figures.platform,
            note,
            ..current
        };
        tx.save_settlement(&settled).await?;
        tx.commit().await?;
        metrics::counter!("settlements_total", "source" => figures.reconciled.source.as_str())
            .increment(1);
        Ok(())
    }

    /// Late data for a settled session: reconciled again, and an adjustment when the cost
    /// moved past the tolerance.
    async fn recheck(&self, s: &Settlement, now: DateTime<Utc>) -> Result<(), StoreError> {
        let records = match self.record(s).await {
            Ok(records) => records,
            Err(why) if rule::waited(s.attempts) < self.settings.give_up_after => {
                return self.again(s, now, &why, None).await;
            }
            Err(_) => Vec::new(),
        };
        let mut tx = self.store.begin().await?;
        let Some(current) = tx.settlement(s.platform, &s.meeting_id).await? else {
            return Ok(());
        };
        if current.stage != Stage::Settled || !current.late_data {
            return Ok(());
        }
        let charged = charge_of(tx.as_mut(), s).await?;
        let prices = match &charged {
            Some(charged) => prices_of(charged),
            None => tx.prices_in_force(s.ended_at).await?,
        };
        let Some(figures) = figures_at(tx.as_mut(), s, &records, &prices, now).await? else {
            return Ok(());
        };
        let billed = current.billed.unwrap_or_default();
        let moved =
            rule::beyond_tolerance(&billed, &figures.bill.usage, self.settings.tolerance_minutes);
        if moved && let Some(charged) = &charged {
            adjust(tx.as_mut(), self.terms, charged, &figures, AdjustmentReason::LateData, now)
                .await?;
        }
        let rechecked = Settlement {
            late_data: false,
            attempts: 0,
            due_at: (s.ended_at + self.settings.final_after).max(now),
            // A charged bill moves by adjustments only; a free session's figures just follow.
            billed: if moved || charged.is_none() {
                Some(figures.bill.usage)
            } else {
                current.billed
            },
            metered: Some(figures.metered),
            platform_usage: figures.platform.or(current.platform_usage),
            source: Some(figures.reconciled.source),
            ..current
        };
        tx.save_settlement(&rechecked).await?;
        tx.commit().await
    }

    /// `settled` → `final`: what was billed beside the platform's own report; a difference
    /// past the tolerance is flagged, never charged.
    async fn final_check(&self, s: &Settlement, now: DateTime<Utc>) -> Result<(), StoreError> {
        if now < s.ended_at + self.settings.final_after {
            // Taken early (its hold moved `due_at`): back to when it is due.
            let mut tx = self.store.begin().await?;
            if let Some(current) = tx.settlement(s.platform, &s.meeting_id).await? {
                let due_at = s.ended_at + self.settings.final_after;
                tx.save_settlement(&Settlement { due_at, ..current }).await?;
            }
            return tx.commit().await;
        }
        // A free session has no bill to check against a report.
        let reported = match s.order {
            Some(_) => self.report(s).await,
            None => Err("nothing was billed".to_owned()),
        };
        let give_up_at = s.ended_at + self.settings.final_after + self.settings.give_up_after;
        let (reported, note) = match reported {
            Ok(r) => (Some(r), None),
            Err(why) if now < give_up_at => {
                return self.again(s, now, &why, Some(give_up_at)).await;
            }
            Err(why) => (None, Some(format!("no usage report to check against ({why})"))),
        };
        let mut tx = self.store.begin().await?;
        let Some(current) = tx.settlement(s.platform, &s.meeting_id).await? else {
            return Ok(());
        };
        if current.stage != Stage::Settled {
            return Ok(());
        }
        let flagged = reported.is_some_and(|(person, teleconference)| {
            let billed = current.billed.unwrap_or_default();
            let report =
                Usage { person_minutes: person, teleconference_minutes: teleconference, ..billed };
            rule::beyond_tolerance(&billed, &report, self.settings.tolerance_minutes)
        });
        if flagged {
            tracing::warn!(platform = %s.platform, meeting_id = s.meeting_id, ?reported, "the platform's report differs from what was billed; flagged");
            metrics::counter!("settlements_flagged_total").increment(1);
        }
        let note = note.or(current.note.clone());
        let last =
            Settlement { stage: Stage::Final, reported, flagged, attempts: 0, note, ..current };
        tx.save_settlement(&last).await?;
        tx.commit().await
    }

    /// The platform's person and teleconference minutes for the session: Webex's usage
    /// report; on Zoom, which has none, its participant record summed.
    async fn report(&self, s: &Settlement) -> Asked<(u64, u64)> {
        match s.platform {
            PlatformKind::Webex => {
                let control = self.platforms.get(s.platform)?;
                let host = self.host(s).await.map_err(|e| e.to_string())?;
                let meeting = HostedMeeting { id: &s.meeting_id, host_email: &host };
                let started = self.started(s).await.map_err(|e| e.to_string())?;
                match control.usage_report(meeting, started).await {
                    Ok(Some(r)) => Ok((r.person_minutes, r.teleconference_minutes)),
                    Ok(None) => Err("the usage report does not list the meeting yet".into()),
                    Err(e) => Err(e.to_string()),
                }
            }
            PlatformKind::Zoom => {
                let records = self.record(s).await?;
                let mut tx = self.store.read().await.map_err(|e| e.to_string())?;
                let session =
                    tx.session(s.platform, &s.meeting_id).await.map_err(|e| e.to_string())?;
                let connections: Vec<Connection> = records.iter().map(|r| r.connection).collect();
                let window = metering::Window::of(
                    &session.map(|s| s.times).unwrap_or_default(),
                    &connections,
                    s.ended_at,
                );
                let usage = metering::usage(window, &connections).map_err(|e| e.to_string())?;
                Ok((usage.person_minutes, usage.teleconference_minutes))
            }
        }
    }

    async fn started(&self, s: &Settlement) -> Result<DateTime<Utc>, StoreError> {
        let mut tx = self.store.read().await?;
        let charge = charge_of(tx.as_mut(), s).await?;
        Ok(charge.map_or(s.ended_at, |c| c.started_at))
    }

    /// The platform had nothing usable yet: asked again after a backoff, and at the latest
    /// when it is given up on (`until`).
    async fn again(
        &self,
        s: &Settlement,
        now: DateTime<Utc>,
        why: &str,
        until: Option<DateTime<Utc>>,
    ) -> Result<(), StoreError> {
        tracing::info!(platform = %s.platform, meeting_id = s.meeting_id, attempts = s.attempts + 1, why, "the platform's record is not there yet; asking again later");
        let mut tx = self.store.begin().await?;
        let Some(current) = tx.settlement(s.platform, &s.meeting_id).await? else {
            return Ok(());
        };
        let attempts = current.attempts.saturating_add(1);
        let backoff = now + rule::backoff(current.attempts);
        let due_at = until.map_or(backoff, |until| backoff.min(until));
        tx.save_settlement(&Settlement { attempts, due_at, ..current }).await?;
        tx.commit().await
    }
}

/// A session's figures at settlement: reconciled and billed, beside webhooks alone and the
/// platform's record alone.
struct Figures {
    reconciled: Reconciled,
    bill: Bill,
    metered: Usage,
    platform: Option<Usage>,
    window: metering::Window,
}

async fn figures_at(
    tx: &mut dyn Tx,
    s: &Settlement,
    records: &[Recorded],
    prices: &Prices,
    now: DateTime<Utc>,
) -> Result<Option<Figures>, StoreError> {
    let Some(session) = tx.session(s.platform, &s.meeting_id).await? else { return Ok(None) };
    let metered = tx.metered(s.platform, &s.meeting_id).await?;
    let reconciled = rule::reconcile(&metered, records);
    let invalid = |e: &dyn std::fmt::Display| {
        StoreError::Invalid(format!("session {}/{}: {e}", s.platform, s.meeting_id))
    };
    let window = session.window(&reconciled.connections, now);
    let bill = Bill::new(window, &reconciled.connections, prices).map_err(|e| invalid(&e))?;
    let alone = |connections: &[Connection]| metering::usage(window, connections);
    let webhooks: Vec<Connection> = metered.iter().map(|m| m.connection).collect();
    let metered = alone(&webhooks).map_err(|e| invalid(&e))?;
    let recorded: Vec<Connection> =
        records.iter().filter(|r| rule::is_complete(r)).map(|r| r.connection).collect();
    let platform =
        if recorded.is_empty() { None } else { Some(alone(&recorded).map_err(|e| invalid(&e))?) };
    Ok(Some(Figures { reconciled, bill, metered, platform, window }))
}

/// The charge of a paid session, once charged.
async fn charge_of(tx: &mut dyn Tx, s: &Settlement) -> Result<Option<Charge>, StoreError> {
    match &s.order {
        Some(order) => tx.charge(order).await,
        None => Ok(None),
    }
}

/// The prices a charge was made at.
fn prices_of(charge: &Charge) -> Prices {
    Prices {
        currency: charge.cost.currency,
        person_minute: charge.cost.person.price_per_minute,
        teleconference_minute: charge.cost.teleconference.price_per_minute,
    }
}

/// Charges a settled session: books its cost to the host's division, and queues the capture
/// (as much of the cost as the payment's gateway lets it take) and the receipt.
async fn charge(
    tx: &mut dyn Tx,
    terms: &Terms,
    s: &Settlement,
    paid: &PaidStart,
    figures: &Figures,
    now: DateTime<Utc>,
) -> Result<(), StoreError> {
    let (platform, meeting_id, order) = (s.platform, s.meeting_id.as_str(), &paid.order);
    let Some(payment) = tx.newest_payment_in(order, State::Authorised).await? else {
        tracing::warn!(%order, %platform, meeting_id, "paid session ended, but its authorisation is no longer held; not charged");
        return Ok(());
    };
    let cost = &figures.bill.cost;
    let split = billing::settle(cost.total, payment.amount, terms.captures.of(&payment.gateway));
    let charge = Charge {
        order: order.to_string(),
        platform: platform.to_string(),
        meeting_id: meeting_id.to_owned(),
        host_email: paid.host.to_string(),
        division: tx.division_of(&paid.host).await?,
        cost: cost.clone(),
        authorised: payment.amount,
        captured: split.capture,
        outstanding: split.outstanding,
        // The capture is only queued here; its reference is read from the payment later.
        payment_reference: None,
        started_at: figures.window.start.unwrap_or(now),
        ended_at: figures.window.end,
    };
    tx.insert_charge(&charge, &payment.id, now).await?;
    let capture = Effect::Capture(Capture {
        payment: payment.id.to_string(),
        amount: split.capture.amount(),
        currency: paid.prices.currency,
    });
    tx.enqueue(&format!("capture:{order}"), &capture).await?;
    let host = reach::host(tx, terms.reach, &paid.host, platform).await?;
    let (lang, title) = (host.lang, Charge::receipt_title(host.lang));
    let receipt = Notice {
        subject: lang.text_with(
            "receipt-subject",
            &Args::new().str("session", format!("{platform}/{meeting_id}")),
        ),
        text: format!("{title}\n{}", charge.receipt_lines(lang, &[]).join("\n")),
        link: Some(Link {
            label: title.clone(),
            url: terms.links.receipt(order, now, lang).to_string(),
        }),
    };
    for (key, effect) in reach::tell(terms.reach, &format!("receipt:{order}"), &host, &receipt) {
        tx.enqueue(&key, &effect).await?;
    }
    tracing::info!(%order, %platform, meeting_id, total = %charge.cost.total, outstanding = %charge.outstanding, source = %figures.reconciled.source, "paid session settled and charged");
    Ok(())
}

/// Records an adjustment of a settled charge to the figures' cost, sets the charge to it (so
/// that spend and reports follow), queues the partial refund or the balance link, and tells
/// the host.
async fn adjust(
    tx: &mut dyn Tx,
    terms: &Terms,
    charged: &Charge,
    figures: &Figures,
    reason: AdjustmentReason,
    now: DateTime<Utc>,
) -> Result<(), StoreError> {
    let order: crate::payments::order::OrderId =
        charged.order.parse().map_err(|e| StoreError::corrupt("charges.order_id", e))?;
    let earlier = tx.adjustments(&order).await?;
    let refunded: rust_decimal::Decimal = earlier.iter().map(|a| a.refund.amount()).sum();
    let held = crate::money::Money::round(
        charged.captured.amount() - refunded,
        charged.captured.currency(),
    );
    let invalid =
        |e: crate::money::MoneyError| StoreError::Invalid(format!("adjustment of {order}: {e}"));
    let cost = &figures.bill.cost;
    let Some(change) = rule::adjustment(charged.cost.total, cost.total, held, charged.outstanding)
        .map_err(invalid)?
    else {
        return Ok(());
    };
    let seq = u32::try_from(earlier.len() + 1).unwrap_or(u32::MAX);
    let record = AdjustmentRecord {
        kind: change.kind,
        amount: change.amount,
        refund: change.refund,
        reason,
        at: now,
        reference: format!("{order}-a{seq}"),
    };
    tx.insert_adjustment(&order, seq, &record).await?;
    tx.rebill_charge(&order, cost, change.outstanding).await?;
    let payment = tx.newest_payment_in(&order, State::Captured).await?;
    if !change.refund.amount().is_zero()
        && let Some(payment) = &payment
    {
        let refund = Effect::PartialRefund(PartialRefund {
            payment: payment.id.to_string(),
            amount: change.refund.amount(),
            currency: change.refund.currency(),
            part: RefundPart::Adjustment(seq),
        });
        tx.enqueue(&format!("adjustment:{order}:{seq}"), &refund).await?;
    }
    tracing::info!(%order, kind = %record.kind, amount = %record.amount, refund = %record.refund, total = %cost.total, "settled session adjusted");
    metrics::counter!("settlement_adjustments_total", "kind" => record.kind.as_str()).increment(1);
    let host: Email =
        charged.host_email.parse().map_err(|e| StoreError::corrupt("charges.host_email", e))?;
    let platform: PlatformKind =
        charged.platform.parse().map_err(|e| StoreError::corrupt("charges.platform", e))?;
    let person = reach::host(tx, terms.reach, &host, platform).await?;
    let lang = person.lang;
    let args = Args::new()
        .str("session", format!("{}/{}", charged.platform, charged.meeting_id))
        .str("amount", record.amount)
        .str("refund", record.refund)
        .str("total", cost.total)
        .str("currency", cost.currency.code())
        .str("reason", reason.describe(lang));
    let (text, link) = match record.kind {
        AdjustmentKind::Refund => (
            lang.text_with("adjustment-refund", &args),
            Link {
                label: Charge::receipt_title(lang),
                url: terms.links.receipt(&order, now, lang).to_string(),
            },
        ),
        AdjustmentKind::Charge => {
            let owes = owed(tx, &host, None).await?.unwrap_or(record.amount);
            let balance = Order::for_balance(host.to_string(), owes);
            tx.insert_order(&balance).await?;
            let link = Link {
                label: lang.text("pay-balance"),
                url: terms.links.pay(&balance.id, now, lang).to_string(),
            };
            (lang.text_with("adjustment-charge", &args), link)
        }
    };
    let subject = lang.text_with("adjustment-subject", &args);
    let told = Notice { subject, text, link: Some(link) };
    for (key, effect) in
        reach::tell(terms.reach, &format!("adjustment_told:{order}:{seq}"), &person, &told)
    {
        tx.enqueue(&key, &effect).await?;
    }
    Ok(())
}

/// A session's figures as everyone is shown them (the session API, `/session status`): what
/// the host pays. Live metering until the session is settled; then the settled figures, which
/// for a paid session are its charge's, kept current by adjustments.
pub struct Shown {
    pub window: metering::Window,
    pub usage: Usage,
    pub cost: crate::pricing::Cost,
    /// How pay-per-use paid for it, when it decided the start.
    pub payment: Option<crate::pay_per_use::billing::SessionPayment>,
    /// Live metering, whatever was settled.
    pub live: Bill,
    /// The settlement and its adjustments, from the session's end.
    pub settled: Option<(Settlement, Vec<AdjustmentRecord>)>,
}

impl Shown {
    /// The settlement's state: its stage from the end, `open` for a paid session still
    /// running; none for one with nothing to settle yet.
    pub fn stage(&self) -> Option<Stage> {
        match &self.settled {
            Some((s, _)) => Some(s.stage),
            None => self.payment.as_ref().filter(|p| p.decision == "paid").map(|_| Stage::Open),
        }
    }
}

/// What `record` shows as of `now`.
pub async fn shown(
    store: &dyn Store,
    record: &crate::store::SessionRecord,
    now: DateTime<Utc>,
) -> Result<Shown, StoreError> {
    let session = &record.session;
    let (platform, meeting_id) = (session.platform, session.meeting_id.as_str());
    let window = session.window(&record.connections, now);
    let started = window.start.unwrap_or(now);
    let (payment, prices) = store.session_pricing(platform, meeting_id, started).await?;
    let invalid = |e: &dyn std::fmt::Display| {
        StoreError::Invalid(format!("session {platform}/{meeting_id}: {e}"))
    };
    let live = Bill::new(window, &record.connections, &prices).map_err(|e| invalid(&e))?;
    let settled = store.settlement_of(platform, meeting_id).await?;
    let charge = match settled.as_ref().and_then(|(s, _)| s.order.as_ref()) {
        Some(order) => store.charge(order).await?,
        None => None,
    };
    // A free session with late deliveries not checked yet shows them at once.
    let billed = settled
        .as_ref()
        .filter(|(s, _)| !(s.late_data && s.order.is_none()))
        .and_then(|(s, _)| s.billed);
    let (usage, cost) = match (billed, &charge) {
        (Some(billed), Some(charge)) => (billed, charge.cost.clone()),
        (Some(billed), None) => {
            let cost = prices
                .cost(billed.person_minutes, billed.teleconference_minutes)
                .map_err(|e| invalid(&e))?;
            (billed, cost)
        }
        _ => (live.usage, live.cost.clone()),
    };
    Ok(Shown { window, usage, cost, payment, live, settled })
}
