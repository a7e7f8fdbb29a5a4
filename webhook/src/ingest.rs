//! Durable before acknowledged, at the speed of one commit for many deliveries.
//!
//! Handlers hand each verified delivery to one writer task and wait. The writer takes every
//! delivery waiting in its channel, stores them in one statement (one commit, one fsync), then
//! answers all their requests and wakes the applier. A delivery is only ever answered 2xx after
//! it is in the database, and the cost of a commit is shared by everything that arrived
//! meanwhile. On PostgreSQL several batches may be committing at once, since each commit
//! waits for the server's disk; SQLite has one writer at a time whatever we do.
//!
//! Acknowledging faster than deliveries can be applied would only grow the backlog, and with
//! it the time until what was acknowledged is metered (the session API, `/session status`):
//! while more than [`Backlog::most`] wait to be applied, each batch waits for the applier
//! before it is committed, at most [`Backlog::longest_hold`]. Then it is stored all the same:
//! a slow applier slows acknowledgements down and never turns deliveries away.
//!
//! A commit has the store's deadline: past it, or in an outage, every request of the batch is
//! answered 503 so that the platforms retry. A batch refused for its data (which validation at
//! the door should have caught) is stored again one delivery at a time, so that only the bad
//! one fails and the good ones beside it are kept.

use std::sync::Arc;
use std::time::{Duration, Instant};

use tokio::sync::{Notify, Semaphore, mpsc, oneshot};
use tollbooth_core::store::{Backend, NewDelivery, Store, StoreError, within};

use crate::health::Health;
use crate::metrics::{Stage, stage};

/// Most deliveries written in one statement.
const MAX_BATCH: usize = 512;
/// Batches committing at once on PostgreSQL: one can gather while another waits for the
/// server's flush. More only compete with the applier for the database's cores: at 64 in
/// flight, six gave 8,600–9,200/s and two 10,200–11,200/s (D-251).
const POSTGRES_COMMITS_IN_FLIGHT: usize = 2;

/// How far acknowledgements may run ahead of the applier (see the module's notes).
#[derive(Clone, Copy, Debug)]
pub struct Backlog {
    /// Deliveries stored but not applied past which batches wait: about a quarter of a
    /// second of the applier's work on PostgreSQL under full load on two cores, and room for
    /// what gathers between two of its passes (D-257).
    pub most: u64,
    /// The longest one batch waits.
    pub longest_hold: Duration,
}

impl Default for Backlog {
    fn default() -> Self {
        Backlog { most: 4_000, longest_hold: Duration::from_secs(1) }
    }
}

/// How often the backlog is counted while it is within bounds, and then while it is not.
const COUNT_EVERY: Duration = Duration::from_millis(50);
const RECOUNT_EVERY: Duration = Duration::from_millis(10);

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
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Failure {
    /// The database is out or slow: try again later.
    Unavailable,
    /// The database refused this delivery's data; why, in words for the sender.
    Refused(String),
    Failed,
}

/// The one writer task, which [`Writer::run`] runs: it takes what handlers submit.
pub struct Writer {
    store: Arc<dyn Store>,
    receiver: mpsc::Receiver<Job>,
    stored: Arc<Notify>,
    health: Health,
    backlog: Backlog,
}

impl Ingest {
    /// The handle handlers submit through, and the writer that must be running for them to
    /// be answered.
    pub fn new(store: Arc<dyn Store>, health: Health) -> (Ingest, Writer) {
        Ingest::with_backlog(store, health, Backlog::default())
    }

    /// As [`Ingest::new`], with other bounds on the backlog.
    pub fn with_backlog(
        store: Arc<dyn Store>,
        health: Health,
        backlog: Backlog,
    ) -> (Ingest, Writer) {
        let (jobs, receiver) = mpsc::channel(MAX_BATCH * 8);
        let stored = Arc::new(Notify::new());
        let writer = Writer { store, receiver, stored: stored.clone(), health, backlog };
        (Ingest { jobs, stored }, writer)
    }

    /// Returns once the delivery is committed (or was already there).
    pub async fn submit(&self, delivery: NewDelivery) -> Result<(), Failure> {
        let (done, answer) = oneshot::channel();
        self.jobs.send(Job { delivery, done }).await.map_err(|_| Failure::Failed)?;
        answer.await.map_err(|_| Failure::Failed)?
    }
}

impl Writer {
    /// Runs until every [`Ingest`] handle is gone.
    #[tracing::instrument(name = "ingest_writer", skip_all)]
    pub async fn run(self) {
        let Writer { store, mut receiver, stored, health, backlog } = self;
        write(store, &mut receiver, stored, health, backlog).await;
    }
}

async fn write(
    store: Arc<dyn Store>,
    receiver: &mut mpsc::Receiver<Job>,
    stored: Arc<Notify>,
    health: Health,
    backlog: Backlog,
) {
    let mut counted: Option<Instant> = None;
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
        if counted.is_none_or(|at| at.elapsed() >= COUNT_EVERY) {
            wait_for_the_applier(store.as_ref(), backlog).await;
            counted = Some(Instant::now());
        }
        let (store, stored, health) = (store.clone(), stored.clone(), health.clone());
        tokio::spawn(async move {
            commit(store.as_ref(), batch, &stored, &health).await;
            drop(permit);
        });
    }
}

/// Returns once the backlog is within bounds, or after `backlog.longest_hold`. A backlog that
/// cannot be counted holds nothing: the commit will meet the same outage and say so.
async fn wait_for_the_applier(store: &dyn Store, backlog: Backlog) {
    let started = Instant::now();
    while started.elapsed() < backlog.longest_hold {
        match within(store.deadline(), store.unapplied_deliveries(backlog.most + 1)).await {
            Ok(waiting) if waiting > backlog.most => {
                metrics::counter!("webhook_backlog_holds_total").increment(1);
                tokio::time::sleep(RECOUNT_EVERY).await;
            }
            _ => break,
        }
    }
    stage(Stage::Hold, started);
}

/// How long a failed commit keeps `/readyz` at 503 (see [`Health::report_for`]).
const FAILURE_SHOWS_FOR: Duration = Duration::from_secs(10);

#[tracing::instrument(skip_all, fields(deliveries = batch.len()))]
async fn commit(store: &dyn Store, batch: Vec<Job>, stored: &Notify, health: &Health) {
    let (deliveries, answers): (Vec<NewDelivery>, Vec<_>) =
        batch.into_iter().map(|job| (job.delivery, job.done)).unzip();
    let started = Instant::now();
    let outcome = store_within_deadline(store, &deliveries).await;
    stage(Stage::Commit, started);
    let outage = match &outcome {
        Err(Failure::Unavailable) => Err("deliveries could not be stored".to_owned()),
        _ => Ok(()),
    };
    health.report_for("ingest", outage, FAILURE_SHOWS_FOR);
    if matches!(outcome, Err(Failure::Refused(_)) | Err(Failure::Failed)) && deliveries.len() > 1 {
        for (delivery, done) in deliveries.iter().zip(answers) {
            let alone = store_within_deadline(store, std::slice::from_ref(delivery)).await;
            if alone.is_ok() {
                stored.notify_one();
            }
            let _ = done.send(alone);
        }
        return;
    }
    if outcome.is_ok() {
        stored.notify_one();
    }
    for done in answers {
        // The requester may have gone away; the delivery is stored all the same.
        let _ = done.send(outcome.clone());
    }
}

async fn store_within_deadline(
    store: &dyn Store,
    deliveries: &[NewDelivery],
) -> Result<(), Failure> {
    match within(store.deadline(), store.store_deliveries(deliveries)).await {
        Ok(new) => {
            metrics::counter!("webhook_deliveries_stored_total").increment(new);
            metrics::counter!("webhook_deliveries_duplicate_total")
                .increment(deliveries.len() as u64 - new);
            metrics::histogram!("webhook_commit_batch_size").record(deliveries.len() as f64);
            Ok(())
        }
        Err(e @ StoreError::Unavailable { .. }) => {
            tracing::warn!(error = %e, count = deliveries.len(), "deliveries refused with 503");
            Err(Failure::Unavailable)
        }
        Err(StoreError::Invalid(why)) => Err(Failure::Refused(why)),
        Err(e) => {
            tracing::error!(error = %e, cause = ?std::error::Error::source(&e), "storing deliveries failed");
            Err(Failure::Failed)
        }
    }
}
