//! Passes on seats offered from waiting lists whose offer ran out
//! (`tollbooth_core::fee_based::service::expire_offers`). Several instances may sweep at once:
//! each offer is passed on under its session's lock, once.

use std::sync::Arc;
use std::time::Duration;

use chrono::Utc;
use tollbooth_core::fee_based::service::{Offers, expire_offers};
use tollbooth_core::store::Store;

/// How often run-out offers are looked for: an offer lasts hours, so a few seconds late is
/// nothing, and the query is one indexed read.
const EVERY: Duration = Duration::from_secs(5);

pub struct OfferSweep {
    pub store: Arc<dyn Store>,
    pub offers: Offers,
}

impl OfferSweep {
    #[tracing::instrument(name = "offer_sweep", skip_all)]
    pub async fn run(self) {
        loop {
            match expire_offers(self.store.as_ref(), &self.offers, Utc::now()).await {
                Ok(0) => {}
                Ok(n) => tracing::info!(passed_on = n, "offers that ran out were passed on"),
                Err(e) => {
                    tracing::warn!(error = %e, "passing on run-out offers failed; trying again")
                }
            }
            tokio::time::sleep(EVERY).await;
        }
    }
}
