//! Deletes applied raw deliveries older than `retention.deliveries_days` (default 90), in the
//! background. What they said lives on in sessions and connections, and billing records,
//! payments and quarantined deliveries are never pruned. A platform retries a delivery for
//! minutes to hours at most, so a digest that old no longer guards against a duplicate.

use std::sync::Arc;
use std::time::Duration;

use chrono::Utc;
use tollbooth_core::store::{Store, within};

/// How often old deliveries are looked for.
const EVERY: Duration = Duration::from_secs(3600);
/// Deleted per statement, so that no prune holds SQLite's write lock for long.
const CHUNK: usize = 1000;

pub struct Retention {
    pub store: Arc<dyn Store>,
    /// `retention.deliveries_days`.
    pub days: u64,
}

impl Retention {
    #[tracing::instrument(name = "retention", skip_all, fields(days = self.days))]
    pub async fn run(self) {
        loop {
            prune(self.store.as_ref(), self.days).await;
            tokio::time::sleep(EVERY).await;
        }
    }
}

/// Prunes until nothing old is left; returns how many went.
pub async fn prune(store: &dyn Store, days: u64) -> u64 {
    let age = chrono::Duration::days(i64::try_from(days).unwrap_or(i64::MAX).min(100_000));
    let before = Utc::now() - age;
    let mut pruned = 0;
    loop {
        match within(store.deadline(), store.prune_deliveries(before, CHUNK)).await {
            Ok(n) => {
                pruned += n;
                metrics::counter!("webhook_deliveries_pruned_total").increment(n);
                if n < CHUNK as u64 {
                    break;
                }
            }
            Err(e) => {
                tracing::warn!(error = %e, "pruning old deliveries failed; trying again later");
                break;
            }
        }
    }
    if pruned > 0 {
        tracing::info!(pruned, days, "old deliveries pruned");
    }
    pruned
}
