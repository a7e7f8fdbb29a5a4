-- Hardening: effects set aside because they cannot be read, and the write probe behind
-- /readyz. (Retention walks deliveries by id, oldest first: an index on processed_at would
-- cost every stored and applied delivery an index write for an hourly prune.)

-- An effect whose stored payload no longer reads is quarantined (with why, in last_error)
-- instead of failing every claim after it.
ALTER TABLE outbox ADD COLUMN quarantined_at INTEGER;

-- One row that /readyz's probe writes: a database that answers reads may still refuse writes
-- (a full disk, a read-only file or standby).
CREATE TABLE write_probe (
    id         INTEGER PRIMARY KEY,
    written_at INTEGER NOT NULL
);
