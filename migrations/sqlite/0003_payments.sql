-- Orders, payments as a state machine with every transition kept, the money-moving steps sent
-- to gateways (reserved before sending, so retries reuse the idempotency key), and callbacks.
-- Times are milliseconds since the Unix epoch (UTC); amounts are exact decimal strings.

CREATE TABLE orders (
    id                    TEXT    PRIMARY KEY,
    kind                  TEXT    NOT NULL CHECK (kind IN ('session', 'registration')),
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

CREATE TABLE payments (
    id             TEXT    PRIMARY KEY,
    order_id       TEXT    NOT NULL REFERENCES orders (id),
    seq            INTEGER NOT NULL,
    gateway        TEXT    NOT NULL,
    action         TEXT    NOT NULL CHECK (action IN ('authorise', 'sale')),
    state          TEXT    NOT NULL,
    amount         TEXT    NOT NULL,
    captured       TEXT    NOT NULL,
    refunded       TEXT    NOT NULL,
    currency       TEXT    NOT NULL,
    reference      TEXT,
    capture_ref    TEXT,
    checkout_ref   TEXT,
    checkout_token TEXT,
    version        INTEGER NOT NULL,
    created_at     INTEGER NOT NULL,
    updated_at     INTEGER NOT NULL,
    UNIQUE (order_id, seq),
    UNIQUE (gateway, checkout_ref)
);

CREATE TABLE payment_transitions (
    id         INTEGER PRIMARY KEY AUTOINCREMENT,
    payment_id TEXT    NOT NULL REFERENCES payments (id),
    from_state TEXT    NOT NULL,
    to_state   TEXT    NOT NULL,
    event      TEXT    NOT NULL,
    reference  TEXT,
    amount     TEXT,
    at         INTEGER NOT NULL
);
CREATE INDEX payment_transitions_payment ON payment_transitions (payment_id);

CREATE TABLE gateway_steps (
    order_id        TEXT    NOT NULL REFERENCES orders (id),
    payment_id      TEXT    NOT NULL REFERENCES payments (id),
    step            TEXT    NOT NULL,
    idempotency_key TEXT    NOT NULL UNIQUE,
    state           TEXT    NOT NULL CHECK (state IN ('pending', 'done', 'failed')),
    detail          TEXT,
    created_at      INTEGER NOT NULL,
    updated_at      INTEGER NOT NULL,
    PRIMARY KEY (payment_id, step)
);

CREATE TABLE gateway_callbacks (
    id           INTEGER PRIMARY KEY AUTOINCREMENT,
    gateway      TEXT    NOT NULL,
    checkout_ref TEXT,
    payment_id   TEXT,
    fields       TEXT    NOT NULL,
    outcome      TEXT    NOT NULL,
    received_at  INTEGER NOT NULL
);
CREATE INDEX gateway_callbacks_gateway ON gateway_callbacks (gateway, id);
