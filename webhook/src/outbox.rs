//! The outbox worker: delivers stored effects (direct messages through Discord's REST API)
//! once each. Claims are leased, so two instances never send the same effect at once; a
//! failed attempt is retried with backoff; Discord's message nonce makes a retry after a lost
//! answer harmless.

use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, Utc};
use serenity::all::Http;
use tollbooth_core::outbox::{Effect, next_attempt};
use tollbooth_core::store::{Store, StoreError};

/// How long a claim holds an effect: longer than any one delivery takes.
const LEASE: chrono::Duration = chrono::Duration::seconds(60);
/// How often the worker looks for due effects.
const POLL: Duration = Duration::from_secs(1);
const BATCH: u32 = 20;

/// Starts the worker in the background; `worker` names this instance in leases.
pub fn start(store: Arc<dyn Store>, http: Arc<Http>, worker: String) {
    tokio::spawn(async move {
        loop {
            if let Err(e) = run_once(store.as_ref(), &http, &worker, Utc::now()).await {
                tracing::warn!(error = %e, "outbox: could not claim effects");
            }
            tokio::time::sleep(POLL).await;
        }
    });
}

/// Delivers what is due at `now`; returns how many effects were delivered.
pub async fn run_once(
    store: &dyn Store,
    http: &Http,
    worker: &str,
    now: DateTime<Utc>,
) -> Result<usize, StoreError> {
    let mut delivered = 0;
    for claimed in store.claim(worker, now, now + LEASE, BATCH).await? {
        let result = match &claimed.effect {
            Effect::ChatMessage(message) => {
                tollbooth_bot::api::send_dm(http, message, &claimed.key).await
            }
        };
        match result {
            Ok(()) => {
                if store.mark_sent(claimed.id, worker, Utc::now()).await? {
                    delivered += 1;
                } else {
                    tracing::warn!(key = claimed.key, "outbox: lease lost while delivering");
                }
            }
            Err(e) => {
                let retry_at = next_attempt(claimed.attempts, now);
                tracing::warn!(key = claimed.key, attempts = claimed.attempts, %retry_at, error = %e, "outbox: delivery failed");
                store.mark_failed(claimed.id, worker, &e.to_string(), retry_at).await?;
            }
        }
    }
    Ok(delivered)
}
