-- Hardening: effects set aside because they cannot be read, the write probe behind /readyz,
-- and an index for pruning applied deliveries.

-- An effect whose stored payload no longer reads is quarantined (with why, in last_error)
-- instead of failing every claim after it.
ALTER TABLE outbox ADD COLUMN quarantined_at BIGINT;

-- One row that /readyz's probe writes: a database that answers reads may still refuse writes
-- (a full disk, a read-only file or standby).
CREATE TABLE write_probe (
    id         INTEGER PRIMARY KEY,
    written_at BIGINT NOT NULL
);

-- Retention deletes applied deliveries by age; quarantined ones (error set) are kept.
CREATE INDEX deliveries_applied ON deliveries (processed_at) WHERE error IS NULL;
