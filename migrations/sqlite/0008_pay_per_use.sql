-- no-transaction
-- (SQLite cannot change a CHECK constraint in place: `orders` is rebuilt as SQLite documents,
-- with foreign keys off, which only works outside a transaction; the rest runs in one.)
PRAGMA foreign_keys = OFF;
BEGIN;

-- Pay-per-use: which paid authorisation each start used, starts that were blocked and why,
-- hosts and divisions exempted by the site, and the charges made when sessions ended, booked
-- to the host's division. Times are milliseconds since the Unix epoch (UTC); amounts are exact
-- decimal strings.

-- Why tollbooth ended a session (sessions.blocked says that it did), and what it decided about
-- the start, so that a replayed `started` is never decided twice.
ALTER TABLE sessions ADD COLUMN blocked_reason TEXT;
ALTER TABLE sessions ADD COLUMN start_decision TEXT;

-- One authorised pay-per-use order pays for one start: the unique keys make an order used once
-- and a session paid by at most one order.
CREATE TABLE paid_starts (
    order_id   TEXT    PRIMARY KEY REFERENCES orders (id),
    platform   TEXT    NOT NULL,
    meeting_id TEXT    NOT NULL,
    host_email TEXT    NOT NULL,
    used_at    INTEGER NOT NULL,
    UNIQUE (platform, meeting_id)
);

-- Hosts and divisions that pay-per-use does not apply to.
CREATE TABLE pay_per_use_exemptions (
    subject    TEXT    PRIMARY KEY,
    created_at INTEGER NOT NULL
);

-- One charge per paid session, made when it first ended: what was used, at which prices, what
-- the authorisation covered (`captured`) and what it did not (`outstanding`). A host owes the
-- sum of `outstanding` less what their paid `balance` orders paid.
CREATE TABLE charges (
    order_id               TEXT    PRIMARY KEY REFERENCES orders (id),
    platform               TEXT    NOT NULL,
    meeting_id             TEXT    NOT NULL,
    host_email             TEXT    NOT NULL,
    division_id            TEXT,
    currency               TEXT    NOT NULL,
    person_minutes         INTEGER NOT NULL,
    teleconference_minutes INTEGER NOT NULL,
    person_minute          TEXT    NOT NULL,
    teleconference_minute  TEXT    NOT NULL,
    person                 TEXT    NOT NULL,
    teleconference         TEXT    NOT NULL,
    total                  TEXT    NOT NULL,
    authorised             TEXT    NOT NULL,
    captured               TEXT    NOT NULL,
    outstanding            TEXT    NOT NULL,
    payment_id             TEXT    NOT NULL,
    payment_reference      TEXT,
    started_at             INTEGER NOT NULL,
    ended_at               INTEGER NOT NULL,
    billed_at              INTEGER NOT NULL,
    UNIQUE (platform, meeting_id)
);
CREATE INDEX charges_division ON charges (division_id, started_at);
CREATE INDEX charges_host ON charges (host_email);

-- A division's training budget for one calendar month (`YYYY-MM`): quotes warn a host whose
-- division's spend plus the estimate would go over it.
CREATE TABLE division_budgets (
    division_id TEXT    NOT NULL REFERENCES divisions (id),
    month       TEXT    NOT NULL,
    amount      TEXT    NOT NULL,
    currency    TEXT    NOT NULL,
    updated_at  INTEGER NOT NULL,
    PRIMARY KEY (division_id, month)
);

-- Orders that pay a host's outstanding balance.
CREATE TABLE orders_new (
    id                    TEXT    PRIMARY KEY,
    kind                  TEXT    NOT NULL CHECK (kind IN ('session', 'registration', 'balance')),
    session               TEXT    NOT NULL,
    payer                 TEXT    NOT NULL,
    amount                TEXT    NOT NULL,
    currency              TEXT    NOT NULL,
    action                TEXT    NOT NULL CHECK (action IN ('authorise', 'sale')),
    plan_minutes          INTEGER,
    plan_computers        INTEGER,
    plan_phones           INTEGER,
    person_minute         TEXT,
    teleconference_minute TEXT,
    change_url            TEXT,
    created_at            INTEGER NOT NULL
);
INSERT INTO orders_new SELECT * FROM orders;
DROP TABLE orders;
ALTER TABLE orders_new RENAME TO orders;

COMMIT;
PRAGMA foreign_keys = ON;
