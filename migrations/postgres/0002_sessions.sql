-- Webhook deliveries as received (stored before they are acknowledged), and the sessions and
-- connections made from them. Times are milliseconds since the Unix epoch (UTC).

CREATE TABLE deliveries (
    id           BIGSERIAL PRIMARY KEY,
    platform     TEXT    NOT NULL,
    -- SHA-256 of what the event says: a redelivery has the same digest and is dropped.
    digest       TEXT    NOT NULL,
    meeting_id   TEXT    NOT NULL,
    body         TEXT    NOT NULL,
    received_at  BIGINT  NOT NULL,
    processed_at BIGINT,
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
    started_at        BIGINT,
    ended_at          BIGINT,
    ended_received_at BIGINT,
    blocked           BOOLEAN NOT NULL,
    created_at        BIGINT  NOT NULL,
    updated_at        BIGINT  NOT NULL,
    PRIMARY KEY (platform, meeting_id)
);

CREATE TABLE connections (
    platform        TEXT    NOT NULL,
    meeting_id      TEXT    NOT NULL,
    participant     TEXT    NOT NULL,
    device          TEXT    NOT NULL,
    joined_at       BIGINT,
    left_at         BIGINT,
    computer        BOOLEAN NOT NULL,
    telephone_audio BOOLEAN NOT NULL,
    PRIMARY KEY (platform, meeting_id, participant, device),
    FOREIGN KEY (platform, meeting_id) REFERENCES sessions (platform, meeting_id)
);
