-- The deliveries not yet applied, kept apart from the stored ones (D-252). Marking a delivery
-- applied in `deliveries` rewrote its row, body and all, and every index entry of it too (the
-- pending index's predicate named the column, so the update could not be HOT); deleting its id
-- here writes a few small pages. The statement that stores deliveries queues them.
-- `processed_at` is now written only when a delivery is set aside (with `error`).
-- With the session each is for, which the session API counts its pending deliveries by.
CREATE TABLE pending_deliveries (
    id         BIGINT PRIMARY KEY,
    platform   TEXT NOT NULL,
    meeting_id TEXT NOT NULL
);
INSERT INTO pending_deliveries (id, platform, meeting_id)
    SELECT id, platform, meeting_id FROM deliveries WHERE processed_at IS NULL;
DROP INDEX deliveries_pending;
