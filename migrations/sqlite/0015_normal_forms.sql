-- E-mail addresses are stored in the normal form tollbooth gives them in Rust (`Email`:
-- trimmed, Unicode lowercase), so both backends compare them alike; the index on SQL's
-- case folding (0013), which differs between SQLite and PostgreSQL, is replaced by one on the
-- stored address. Rows stored before are brought to the normal form by tollbooth right after
-- migrating (`data_fixes`), since SQL cannot fold them the same way on both.
DROP INDEX registrations_open_email;
CREATE UNIQUE INDEX registrations_open_email ON registrations (platform, meeting_id, email)
    WHERE state IN ('awaiting_payment', 'paid', 'approved');

-- Fixes to stored data that tollbooth makes itself after migrating, each once.
CREATE TABLE data_fixes (
    name    TEXT PRIMARY KEY,
    done_at INTEGER NOT NULL
);

-- A capture refused for good moves what it meant to take to the host's balance once; this
-- marks that it did (rather than comparing amounts as text).
ALTER TABLE charges ADD COLUMN capture_refused_at INTEGER;

-- What a pay-per-use order pays for (`Binding`), in typed columns rather than a text to be
-- taken apart: `quote` (any meeting; `bound_id` names the quote's message), `blocked-start`
-- (any meeting; named after the start) or `meeting` (that meeting only). Orders stored
-- before are read from their `session` text here, once.
ALTER TABLE orders ADD COLUMN bound_kind TEXT;
ALTER TABLE orders ADD COLUMN bound_platform TEXT;
ALTER TABLE orders ADD COLUMN bound_id TEXT;
UPDATE orders SET bound_kind = 'quote', bound_id = substr(session, 15)
    WHERE kind = 'session' AND session LIKE 'discord-quote/%';
UPDATE orders SET bound_kind = 'blocked-start', bound_platform = 'webex',
    bound_id = substr(session, 21)
    WHERE kind = 'session' AND session LIKE 'blocked-start/webex/%';
UPDATE orders SET bound_kind = 'blocked-start', bound_platform = 'zoom',
    bound_id = substr(session, 20)
    WHERE kind = 'session' AND session LIKE 'blocked-start/zoom/%';
UPDATE orders SET bound_kind = 'meeting', bound_platform = 'webex', bound_id = substr(session, 7)
    WHERE kind = 'session' AND bound_kind IS NULL AND session LIKE 'webex/%';
UPDATE orders SET bound_kind = 'meeting', bound_platform = 'zoom', bound_id = substr(session, 6)
    WHERE kind = 'session' AND bound_kind IS NULL AND session LIKE 'zoom/%';
-- Anything else never named a platform, which paid for any meeting, as a quote does.
UPDATE orders SET bound_kind = 'quote', bound_id = session
    WHERE kind = 'session' AND bound_kind IS NULL;
