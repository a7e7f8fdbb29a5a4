//! The background workers that run beside the HTTP application. [`crate::AppState::new`] makes
//! them and starts none; whoever serves starts them, each as its own task and named in its
//! tracing span.

use crate::applier::Applier;
use crate::checkpointer::Checkpointer;
use crate::health::StorageProbe;
use crate::ingest;
use crate::outbox;
use crate::retention::Retention;
use crate::settlement::SettlementWorker;
use crate::waiting_list::OfferSweep;

pub struct Workers {
    /// Stores verified deliveries in group commits; webhooks wait for it.
    pub ingest_writer: ingest::Writer,
    /// Applies stored deliveries to sessions and takes the pay-per-use decisions.
    pub applier: Applier,
    /// Delivers stored effects: messages, platform calls, captures, refunds.
    pub outbox: outbox::Worker,
    /// Writes one row every few seconds for `/readyz`.
    pub storage_probe: StorageProbe,
    /// Deletes applied deliveries past `retention.deliveries_days`.
    pub retention: Retention,
    /// Checkpoints SQLite's write-ahead log beside the writer.
    pub checkpointer: Checkpointer,
    /// Settles ended paid sessions against the platforms' records, and fills gaps.
    pub settlement: SettlementWorker,
    /// Passes seats whose offer ran out to the next on the waiting list.
    pub offer_sweep: OfferSweep,
}

impl Workers {
    /// Starts every worker as a task of its own. Must be called inside a Tokio runtime.
    pub fn spawn(self) {
        let Workers {
            ingest_writer,
            applier,
            outbox,
            storage_probe,
            retention,
            checkpointer,
            settlement,
            offer_sweep,
        } = self;
        tokio::spawn(ingest_writer.run());
        tokio::spawn(applier.run());
        tokio::spawn(outbox.run());
        tokio::spawn(storage_probe.run());
        tokio::spawn(retention.run());
        tokio::spawn(checkpointer.run());
        tokio::spawn(settlement.run());
        tokio::spawn(offer_sweep.run());
    }
}
