-- Fee-based training: meetings scheduled through tollbooth (with a fee, or without), and
-- attendees' registrations for those with a fee. Times are milliseconds since the Unix epoch
-- (UTC); amounts are exact decimal strings.

CREATE TABLE scheduled_sessions (
    platform     TEXT    NOT NULL,
    meeting_id   TEXT    NOT NULL,
    title        TEXT    NOT NULL,
    host_email   TEXT    NOT NULL,
    starts_at    INTEGER  NOT NULL,
    minutes      INTEGER NOT NULL,
    join_url     TEXT    NOT NULL,
    start_url    TEXT    NOT NULL,
    fee          TEXT,
    currency     TEXT,
    capacity     INTEGER,
    deadline     INTEGER,
    cancelled_at INTEGER,
    created_at   INTEGER  NOT NULL,
    PRIMARY KEY (platform, meeting_id)
);
CREATE INDEX scheduled_sessions_meeting ON scheduled_sessions (meeting_id);

-- One order per registration. The partial unique index keeps one open registration per
-- attendee and session, so a second `/register` finds the first and reuses its order.
CREATE TABLE registrations (
    id              TEXT    PRIMARY KEY,
    platform        TEXT    NOT NULL,
    meeting_id      TEXT    NOT NULL,
    discord_user_id TEXT    NOT NULL,
    first_name      TEXT    NOT NULL,
    last_name       TEXT    NOT NULL,
    email           TEXT    NOT NULL,
    -- The attendee's language (`en`, `no`), for the messages tollbooth sends them later.
    lang            TEXT    NOT NULL DEFAULT 'en',
    order_id        TEXT    NOT NULL UNIQUE REFERENCES orders (id),
    state           TEXT    NOT NULL CHECK (state IN ('awaiting_payment', 'paid', 'approved',
                                                      'refunded', 'cancelled')),
    payment_id      TEXT,
    reason          TEXT,
    registrant_id   TEXT,
    join_url        TEXT,
    created_at      INTEGER  NOT NULL,
    updated_at      INTEGER  NOT NULL,
    FOREIGN KEY (platform, meeting_id) REFERENCES scheduled_sessions (platform, meeting_id)
);
CREATE UNIQUE INDEX registrations_open ON registrations (platform, meeting_id, discord_user_id)
    WHERE state IN ('awaiting_payment', 'paid', 'approved');
CREATE INDEX registrations_attendee ON registrations (discord_user_id);
