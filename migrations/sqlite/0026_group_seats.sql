-- One payer, several seats (issue 17, D-230): a registration holds `seats` seats (a group's
-- seats less those refunded alone), which is what the capacity counts. It stays the payer's
-- (their Discord member, order and seat 1), so its unique indexes still mean one open
-- registration per member and per e-mail address and session. Its guests' seats, 2 and on,
-- are rows of their own: each becomes its own registrant on the platform with its own join
-- link, and is refunded alone by setting `refunded_at` (milliseconds since the Unix epoch).
ALTER TABLE registrations ADD COLUMN seats INTEGER NOT NULL DEFAULT 1 CHECK (seats >= 1);

CREATE TABLE registration_guests (
    registration_id TEXT    NOT NULL REFERENCES registrations (id),
    seat            INTEGER NOT NULL CHECK (seat >= 2),
    first_name      TEXT    NOT NULL,
    last_name       TEXT    NOT NULL,
    email           TEXT    NOT NULL,
    registrant_id   TEXT,
    join_url        TEXT,
    refunded_at     INTEGER,
    PRIMARY KEY (registration_id, seat),
    UNIQUE (registration_id, email)
);
