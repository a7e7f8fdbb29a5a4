-- Settlement: a paid session that ended waits for the platform's own record before it is
-- charged, and what changes its cost afterwards is an adjustment. Times are milliseconds since
-- the Unix epoch (UTC); amounts are exact decimal strings; usages are JSON objects as the
-- session API shows them.

-- One row per session from its end (`order_id` the order that paid for it, if one did). `due_at` is when a worker next looks at it (asking
-- for the record, checking late data, the final check); a worker that takes it moves `due_at`
-- on first, so that two instances never work on one settlement at once.
CREATE TABLE settlements (
    platform               TEXT    NOT NULL,
    meeting_id             TEXT    NOT NULL,
    order_id               TEXT    REFERENCES orders (id),
    stage                  TEXT    NOT NULL CHECK (stage IN ('waiting', 'settled', 'final')),
    source                 TEXT    CHECK (source IN ('webhooks', 'platform', 'both')),
    ended_at               BIGINT  NOT NULL,
    due_at                 BIGINT  NOT NULL,
    attempts               BIGINT  NOT NULL DEFAULT 0,
    late_data              BIGINT  NOT NULL DEFAULT 0,
    billed                 TEXT,
    metered                TEXT,
    platform_usage         TEXT,
    reported_person_minutes         BIGINT,
    reported_teleconference_minutes BIGINT,
    flagged                BIGINT  NOT NULL DEFAULT 0,
    note                   TEXT,
    updated_at             BIGINT  NOT NULL,
    PRIMARY KEY (platform, meeting_id)
);
CREATE INDEX settlements_due ON settlements (due_at);
CREATE INDEX settlements_ended ON settlements (ended_at);

-- What changed a settled bill: `amount` is the difference between the totals, `refund` the
-- part given back from the capture (the rest lowered what the host owed).
CREATE TABLE adjustments (
    order_id   TEXT    NOT NULL REFERENCES orders (id),
    seq        BIGINT  NOT NULL,
    kind       TEXT    NOT NULL CHECK (kind IN ('charge', 'refund')),
    amount     TEXT    NOT NULL,
    refund     TEXT    NOT NULL,
    currency   TEXT    NOT NULL,
    reason     TEXT    NOT NULL,
    reference  TEXT    NOT NULL,
    at         BIGINT  NOT NULL,
    PRIMARY KEY (order_id, seq)
);

-- Gap fill: when an open session that went quiet was last looked up on its platform; open
-- sessions are found by when they last heard anything without reading the ended ones.
ALTER TABLE sessions ADD COLUMN looked_up_at BIGINT;
CREATE INDEX sessions_open ON sessions (updated_at) WHERE ended_received_at IS NULL;
