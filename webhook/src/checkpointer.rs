//! Moves what SQLite's write-ahead log holds into the database file, beside the writer rather
//! than in its way. SQLite would otherwise do it inside whichever commit found the log long
//! enough, and that commit (and every delivery waiting on it) would wait for the file's fsync.
//! Here a read connection checkpoints what it can without waiting for anyone, a few times a
//! second; the log stays short and the writer only appends. A no-op on PostgreSQL.

use std::sync::Arc;
use std::time::Duration;

use tollbooth_core::store::{Store, within};

/// How often the log is checkpointed: short enough that the writer's own threshold (a safety
/// net for processes that run no checkpointer) is never reached under load.
const EVERY: Duration = Duration::from_millis(250);

pub struct Checkpointer {
    pub store: Arc<dyn Store>,
}

impl Checkpointer {
    #[tracing::instrument(name = "checkpointer", skip_all)]
    pub async fn run(self) {
        let mut failing = false;
        loop {
            tokio::time::sleep(EVERY).await;
            match within(self.store.deadline(), self.store.checkpoint()).await {
                Ok(()) => failing = false,
                // Said once per run of failures; the writer's own threshold still bounds the log.
                Err(e) if !failing => {
                    failing = true;
                    tracing::warn!(error = %e, "checkpointing the write-ahead log failed");
                }
                Err(_) => {}
            }
        }
    }
}
