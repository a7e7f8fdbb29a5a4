-- The session API counts a session's deliveries not yet applied by walking the pending ones
-- (`deliveries_pending`), which the ingest writer keeps to about 2,000 (D-244); an index of
-- its own cost every stored delivery one more insert and every applied one a delete.
DROP INDEX deliveries_pending_by_session;
