-- PostgreSQL checked this foreign key with a trigger run for each row the applier upserts:
-- most of the time of each upsert of connections (EXPLAIN ANALYZE of 512 new rows: 6.1 of
-- 8.5 ms). Only the applier writes connections, in the transaction that first writes the
-- session of each, and nothing deletes a session (D-255). SQLite checks it in its own B-tree
-- for next to nothing, and keeps it.
ALTER TABLE connections DROP CONSTRAINT connections_platform_meeting_id_fkey;
