//! Durable before acknowledged, at the speed of one commit for many deliveries.
//!
//! Handlers hand each verified delivery to one writer task and wait. The writer takes every
//! delivery waiting in its channel, stores them in one statement (one commit, one fsync), then
//! answers all their requests and wakes the applier. A delivery is only ever answered 2xx after
//! it is in the database, and the cost of a commit is shared by everything that arrived
//! meanwhile. On PostgreSQL several batches may be committing at once, since each commit
//! waits for the server's disk; SQLite has one writer at a time whatever we do.

use std::sync::Arc;

use tokio::sync::{Notify, Semaphore, mpsc, oneshot};
use tollbooth_core::store::{Backend, NewDelivery, Store, StoreError};

/// Most deliveries written in one statement.
const MAX_BATCH: usize = 512;
/// Batches committing at once on PostgreSQL (within its connection pool of 16).
const POSTGRES_COMMITS_IN_FLIGHT: usize = 6;

#[derive(Clone)]
pub struct Ingest {
    jobs: mpsc::Sender<Job>,
    /// Woken after each commit so the applier picks the new deliveries up at once.
    pub stored: Arc<Notify>,
}

struct Job {
    delivery: NewDelivery,
    done: oneshot::Sender<Result<(), Failure>>,
}

/// Why a delivery was not stored; cloneable, since one commit answers many requests.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Failure {
    Unavailable,
    Failed,
}

impl Ingest {
    pub fn start(store: Arc<dyn Store>) -> Ingest {
        let (jobs, receiver) = mpsc::channel(MAX_BATCH * 8);
        let stored = Arc::new(Notify::new());
        tokio::spawn(write(store, receiver, stored.clone()));
        Ingest { jobs, stored }
    }

    /// Returns once the delivery is committed (or was already there).
    pub async fn submit(&self, delivery: NewDelivery) -> Result<(), Failure> {
        let (done, answer) = oneshot::channel();
        self.jobs.send(Job { delivery, done }).await.map_err(|_| Failure::Failed)?;
        answer.await.map_err(|_| Failure::Failed)?
    }
}

async fn write(store: Arc<dyn Store>, mut receiver: mpsc::Receiver<Job>, stored: Arc<Notify>) {
    let in_flight = Arc::new(Semaphore::new(match store.backend() {
        Backend::Sqlite => 1,
        Backend::Postgres => POSTGRES_COMMITS_IN_FLIGHT,
    }));
    loop {
        // Wait for a free commit slot first, so that deliveries gather into the next batch
        // while the previous ones commit.
        let Ok(permit) = in_flight.clone().acquire_owned().await else { return };
        let mut batch = Vec::with_capacity(MAX_BATCH);
        if receiver.recv_many(&mut batch, MAX_BATCH).await == 0 {
            return;
        }
        let (store, stored) = (store.clone(), stored.clone());
        tokio::spawn(async move {
            commit(store.as_ref(), batch, &stored).await;
            drop(permit);
        });
    }
}

async fn commit(store: &dyn Store, batch: Vec<Job>, stored: &Notify) {
    let deliveries: Vec<NewDelivery> = batch.iter().map(|job| job.delivery.clone()).collect();
    let outcome = match store.store_deliveries(&deliveries).await {
        Ok(new) => {
            metrics::counter!("webhook_deliveries_stored_total").increment(new);
            metrics::counter!("webhook_deliveries_duplicate_total")
                .increment(deliveries.len() as u64 - new);
            metrics::histogram!("webhook_commit_batch_size").record(deliveries.len() as f64);
            stored.notify_one();
            Ok(())
        }
        Err(StoreError::Unavailable(e)) => {
            tracing::warn!(error = %e, count = deliveries.len(), "database unavailable; deliveries refused with 503");
            Err(Failure::Unavailable)
        }
        Err(e) => {
            tracing::error!(error = %e, cause = ?std::error::Error::source(&e), "storing deliveries failed");
            Err(Failure::Failed)
        }
    };
    for job in batch {
        // The requester may have gone away; the delivery is stored all the same.
        let _ = job.done.send(outcome);
    }
}
