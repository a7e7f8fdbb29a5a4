-- The deliveries not yet applied, kept apart from the stored ones (D-252). Marking a delivery
-- applied in `deliveries` rewrote its row, body and all, and on PostgreSQL every index entry
-- of it too (the pending index's predicate named the column, so the update could not be HOT);
-- deleting its id here writes a few small pages. A trigger queues every stored delivery in the
-- same statement, as an index would, so that nothing stored can be missed by the applier.
-- `processed_at` is now written only when a delivery is set aside (with `error`).
-- With the session each is for, which the session API counts its pending deliveries by.
CREATE TABLE pending_deliveries (
    id         INTEGER PRIMARY KEY,
    platform   TEXT NOT NULL,
    meeting_id TEXT NOT NULL
);
INSERT INTO pending_deliveries (id, platform, meeting_id)
    SELECT id, platform, meeting_id FROM deliveries WHERE processed_at IS NULL;
DROP INDEX deliveries_pending;
CREATE TRIGGER deliveries_queued AFTER INSERT ON deliveries
BEGIN
    INSERT INTO pending_deliveries (id, platform, meeting_id)
        VALUES (NEW.id, NEW.platform, NEW.meeting_id);
END;
