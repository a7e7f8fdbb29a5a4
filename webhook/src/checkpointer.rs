//! Moves what SQLite's write-ahead log holds into the database file, beside the writer rather
//! than in its way. Here a read connection checkpoints what it can without waiting for anyone,
//! a few times a second: it copies the pages and flushes both files, so the writer mostly
//! appends. What it cannot do while commits go on is start the log over: only a commit that
//! finds the log past its threshold does (D-260), and it then has little left to copy and
//! flush. On PostgreSQL it vacuums the queue of pending deliveries once a second instead, which
//! autovacuum may leave for minutes.

use std::sync::Arc;
use std::time::Duration;

use tollbooth_core::store::{Backend, Store, within};

/// How often the log is checkpointed: what commits wrote since is what a crash of the machine
/// (not of the process) can lose, and what the writer's own checkpoint may have to flush.
const EVERY: Duration = Duration::from_millis(250);
/// How often PostgreSQL's queue is vacuumed: at 10,000 deliveries a second it then holds at
/// most about a megabyte of dead rows.
const VACUUM_EVERY: Duration = Duration::from_secs(1);

pub struct Checkpointer {
    pub store: Arc<dyn Store>,
}

impl Checkpointer {
    #[tracing::instrument(name = "checkpointer", skip_all)]
    pub async fn run(self) {
        let mut failing = false;
        let every = match self.store.backend() {
            Backend::Sqlite => EVERY,
            Backend::Postgres => VACUUM_EVERY,
        };
        loop {
            tokio::time::sleep(every).await;
            match within(self.store.deadline(), self.store.checkpoint()).await {
                Ok(()) => failing = false,
                // Said once per run of failures; the writer's own threshold still bounds the log.
                Err(e) if !failing => {
                    failing = true;
                    tracing::warn!(error = %e, "checkpointing the log or vacuuming the queue failed");
                }
                Err(_) => {}
            }
        }
    }
}
