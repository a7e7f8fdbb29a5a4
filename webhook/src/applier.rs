//! Applies stored deliveries to sessions in the background, so that what was acknowledged is
//! processed from what was stored: after a crash, a restart finishes the work.

use std::sync::Arc;
use std::time::Duration;

use tokio::sync::Notify;
use tollbooth_core::store::Store;
use tollbooth_core::terms::Terms;

const BATCH: usize = 500;
/// Also look without being woken: deliveries stored by another instance, or before a restart.
const IDLE_POLL: Duration = Duration::from_secs(1);

pub fn start(store: Arc<dyn Store>, stored: Arc<Notify>, terms: Terms) {
    tokio::spawn(async move {
        let mut backoff = Duration::from_millis(100);
        loop {
            match store.apply_deliveries(BATCH, &terms).await {
                Ok(applied) => {
                    backoff = Duration::from_millis(100);
                    metrics::counter!("webhook_deliveries_applied_total").increment(applied as u64);
                    if applied == BATCH {
                        continue;
                    }
                    let _ = tokio::time::timeout(IDLE_POLL, stored.notified()).await;
                }
                Err(e) => {
                    metrics::counter!("webhook_apply_failures_total").increment(1);
                    tracing::warn!(error = %e, cause = ?std::error::Error::source(&e), retry_in = ?backoff, "applying deliveries failed");
                    tokio::time::sleep(backoff).await;
                    backoff = (backoff * 2).min(Duration::from_secs(30));
                }
            }
        }
    });
}
