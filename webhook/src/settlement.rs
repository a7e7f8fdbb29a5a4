//! Runs settlement in the background: every few seconds each due settlement takes its next
//! step (`tollbooth_core::settlement::service`), and every minute quiet open sessions are
//! looked up on their platforms (gap fill). Several instances may run it: a step is taken by
//! one of them at a time.

use std::sync::Arc;
use std::time::Duration;

use chrono::Utc;
use tokio::sync::Notify;
use tollbooth_core::pay_per_use::terms::Terms;
use tollbooth_core::platform::Platforms;
use tollbooth_core::settlement::service::Settler;
use tollbooth_core::store::Store;

/// How often due settlements are looked for.
const EVERY: Duration = Duration::from_secs(1);
/// How often quiet open sessions are looked for, at most (sooner when `stale_after` is
/// shorter).
const GAPS_EVERY: Duration = Duration::from_secs(60);

pub struct SettlementWorker {
    pub store: Arc<dyn Store>,
    pub platforms: Platforms,
    pub terms: Terms,
    /// Wakes the gap fill's deliveries' applier.
    pub stored: Arc<Notify>,
}

impl SettlementWorker {
    #[tracing::instrument(name = "settlement", skip_all)]
    pub async fn run(self) {
        let settler = Settler {
            store: self.store.as_ref(),
            platforms: &self.platforms,
            terms: &self.terms,
            settings: self.terms.settlement,
        };
        let gaps_every = GAPS_EVERY.min(self.terms.settlement.stale_after);
        let mut gaps_at = tokio::time::Instant::now();
        loop {
            if let Err(e) = settler.pass(Utc::now()).await {
                tracing::warn!(error = %e, "looking for due settlements failed; trying again");
            }
            if tokio::time::Instant::now() >= gaps_at {
                gaps_at += gaps_every;
                match settler.fill_gaps(Utc::now()).await {
                    Ok(0) => {}
                    Ok(_) => self.stored.notify_one(),
                    Err(e) => tracing::warn!(error = %e, "gap fill failed; trying again later"),
                }
            }
            tokio::time::sleep(EVERY).await;
        }
    }
}
