-- Webhook deliveries as received (stored before they are acknowledged), and the sessions and
-- connections made from them. Times are milliseconds since the Unix epoch (UTC).

CREATE TABLE deliveries (
    id           INTEGER PRIMARY KEY AUTOINCREMENT,
    platform     TEXT    NOT NULL,
    -- SHA-256 of what the event says: a redelivery has the same digest and is dropped.
    digest       TEXT    NOT NULL,
    meeting_id   TEXT    NOT NULL,
    body         TEXT    NOT NULL,
    received_at  INTEGER NOT NULL,
    processed_at INTEGER,
    error        TEXT,
    CONSTRAINT deliveries_once UNIQUE (platform, digest)
);
CREATE INDEX deliveries_pending ON deliveries (id) WHERE processed_at IS NULL;
CREATE INDEX deliveries_pending_by_session ON deliveries (platform, meeting_id)
    WHERE processed_at IS NULL;

CREATE TABLE sessions (
    platform          TEXT    NOT NULL,
    meeting_id        TEXT    NOT NULL,
    host_email        TEXT,
    started_at        INTEGER,
    ended_at          INTEGER,
    ended_received_at INTEGER,
    blocked           INTEGER NOT NULL,
    created_at        INTEGER NOT NULL,
    updated_at        INTEGER NOT NULL,
    PRIMARY KEY (platform, meeting_id)
);

CREATE TABLE connections (
    platform        TEXT    NOT NULL,
    meeting_id      TEXT    NOT NULL,
    participant     TEXT    NOT NULL,
    device          TEXT    NOT NULL,
    joined_at       INTEGER,
    left_at         INTEGER,
    computer        INTEGER NOT NULL,
    telephone_audio INTEGER NOT NULL,
    PRIMARY KEY (platform, meeting_id, participant, device),
    FOREIGN KEY (platform, meeting_id) REFERENCES sessions (platform, meeting_id)
);
