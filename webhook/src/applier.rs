//! Applies stored deliveries to sessions in the background, so that what was acknowledged is
//! processed from what was stored: after a crash, a restart finishes the work.
//!
//! One bad delivery must never hold back the others. A batch that fails for a reason other
//! than an outage is taken apart: its deliveries are applied one by one, and one that fails
//! alone is quarantined (kept with why, listed by `GET /api/v1/quarantine`). An outage (the
//! database unreachable, full, read-only, or past its deadline) quarantines nothing: the pass
//! is retried with backoff and reported to `/readyz`.

use std::sync::Arc;
use std::time::Duration;

use tokio::sync::Notify;
use tollbooth_core::pay_per_use::service::StartsAndEnds;
use tollbooth_core::pay_per_use::terms::Terms;
use tollbooth_core::store::{Pending, Store, StoreError, within};

use crate::health::Health;
use crate::metrics::{Stage, stage};

/// Most deliveries applied in one pass: what gathers in [`GATHER`] at full load, so that a busy
/// applier makes few large passes, whose cost is mostly per pass (D-257).
const BATCH: usize = 2000;
/// How long a busy applier lets deliveries gather before its next pass: well inside the
/// promise that what is acknowledged is metered within a second.
const GATHER: Duration = Duration::from_millis(60);
/// Also look without being woken: deliveries stored by another instance, or before a restart.
const IDLE_POLL: Duration = Duration::from_secs(1);
/// A pass writes a whole batch and its decisions: several statements, each within the
/// store's deadline.
const STATEMENTS_PER_PASS: u32 = 6;
const PART: &str = "applier";

/// The applier's inputs; [`Applier::run`] runs it.
pub struct Applier {
    pub store: Arc<dyn Store>,
    /// Woken by the ingest writer after each commit.
    pub stored: Arc<Notify>,
    pub terms: Terms,
    pub health: Health,
}

impl Applier {
    #[tracing::instrument(name = "applier", skip_all)]
    pub async fn run(self) {
        let Applier { store, stored, terms, health } = self;
        run(store, stored, terms, health).await;
    }
}

async fn run(store: Arc<dyn Store>, stored: Arc<Notify>, terms: Terms, health: Health) {
    let mut backoff = Duration::from_millis(100);
    loop {
        let deadline = store.deadline() * STATEMENTS_PER_PASS;
        health.busy(PART, deadline * 2);
        let started = std::time::Instant::now();
        let outcome = within(deadline, pass(store.as_ref(), &terms)).await;
        health.report(PART, &outcome);
        match outcome {
            Ok(applied) => {
                if applied > 0 {
                    stage(Stage::Apply, started);
                }
                backoff = Duration::from_millis(100);
                metrics::counter!("webhook_deliveries_applied_total").increment(applied as u64);
                if applied == BATCH {
                    continue;
                }
                let _ = tokio::time::timeout(IDLE_POLL, stored.notified()).await;
                if applied > 0 {
                    // Deliveries are streaming in: let more of them gather, so that one pass
                    // (whose reads and writes cost much the same for 10 deliveries as for
                    // 200) applies many. An idle applier answers the first delivery at once.
                    tokio::time::sleep(GATHER).await;
                }
            }
            Err(e) => {
                metrics::counter!("webhook_apply_failures_total").increment(1);
                tracing::warn!(error = %e, cause = ?std::error::Error::source(&e), retry_in = ?backoff, "applying deliveries failed");
                // A delivery committed meanwhile says the database takes writes again: try
                // at once rather than at the end of a backoff that may have grown to 30 s.
                let _ = tokio::time::timeout(backoff, stored.notified()).await;
                backoff = (backoff * 2).min(Duration::from_secs(30));
            }
        }
    }
}

/// Applies the oldest batch; if it fails for a reason other than an outage, applies its
/// deliveries one at a time and quarantines each that fails alone. Returns how many were
/// processed.
#[tracing::instrument(skip_all)]
async fn pass(store: &dyn Store, terms: &Terms) -> Result<usize, StoreError> {
    let decide = StartsAndEnds { terms };
    match store.apply_deliveries(Pending::Oldest(BATCH), &decide).await {
        Err(e) if !e.is_unavailable() => {
            tracing::warn!(error = %e, "a batch of deliveries failed; applying them one by one");
            let mut processed = 0;
            for id in store.pending_deliveries(BATCH).await? {
                processed += match store.apply_deliveries(Pending::One(id), &decide).await {
                    Ok(n) => n,
                    Err(e) if e.is_unavailable() => return Err(e),
                    Err(e) => quarantine(store, id, &e).await?,
                };
            }
            Ok(processed)
        }
        done => done,
    }
}

#[tracing::instrument(skip(store, e))]
async fn quarantine(store: &dyn Store, id: i64, e: &StoreError) -> Result<usize, StoreError> {
    // The error's own words and its cause: what a person needs to mend the delivery.
    let why = match std::error::Error::source(e) {
        Some(cause) => format!("{e}: {cause}"),
        None => e.to_string(),
    };
    tracing::error!(delivery = id, error = %why, "delivery quarantined; the ones after it go on");
    let set_aside = store.quarantine_delivery(id, &why).await?;
    if set_aside {
        metrics::counter!("webhook_deliveries_quarantined_total").increment(1);
    }
    Ok(usize::from(set_aside))
}
