-- Orders, payments as a state machine with every transition kept, the money-moving steps sent
-- to gateways (reserved before sending, so retries reuse the idempotency key), and callbacks.
-- Times are milliseconds since the Unix epoch (UTC); amounts are exact decimal strings, parsed
-- by the application (sqlx's Any driver carries no NUMERIC).

CREATE TABLE orders (
    id                    TEXT    PRIMARY KEY,
    kind                  TEXT    NOT NULL CHECK (kind IN ('session', 'registration')),
    session               TEXT    NOT NULL,
    payer                 TEXT    NOT NULL,
    amount                TEXT    NOT NULL,
    currency              TEXT    NOT NULL,
    action                TEXT    NOT NULL CHECK (action IN ('authorise', 'sale')),
    plan_minutes          BIGINT,
    plan_computers        BIGINT,
    plan_phones           BIGINT,
    person_minute         TEXT,
    teleconference_minute TEXT,
    change_url            TEXT,
    created_at            BIGINT  NOT NULL
);

CREATE TABLE payments (
    id             TEXT    PRIMARY KEY,
    order_id       TEXT    NOT NULL REFERENCES orders (id),
    seq            BIGINT  NOT NULL,
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
    version        BIGINT  NOT NULL,
    created_at     BIGINT  NOT NULL,
    updated_at     BIGINT  NOT NULL,
    UNIQUE (order_id, seq),
    UNIQUE (gateway, checkout_ref)
);

CREATE TABLE payment_transitions (
    id         BIGSERIAL PRIMARY KEY,
    payment_id TEXT    NOT NULL REFERENCES payments (id),
    from_state TEXT    NOT NULL,
    to_state   TEXT    NOT NULL,
    event      TEXT    NOT NULL,
    reference  TEXT,
    amount     TEXT,
    at         BIGINT  NOT NULL
);
CREATE INDEX payment_transitions_payment ON payment_transitions (payment_id);

CREATE TABLE gateway_steps (
    order_id        TEXT    NOT NULL REFERENCES orders (id),
    payment_id      TEXT    NOT NULL REFERENCES payments (id),
    step            TEXT    NOT NULL,
    idempotency_key TEXT    NOT NULL UNIQUE,
    state           TEXT    NOT NULL CHECK (state IN ('pending', 'done', 'failed')),
    detail          TEXT,
    created_at      BIGINT  NOT NULL,
    updated_at      BIGINT  NOT NULL,
    PRIMARY KEY (payment_id, step)
);

CREATE TABLE gateway_callbacks (
    id           BIGSERIAL PRIMARY KEY,
    gateway      TEXT    NOT NULL,
    checkout_ref TEXT,
    payment_id   TEXT,
    fields       TEXT    NOT NULL,
    outcome      TEXT    NOT NULL,
    received_at  BIGINT  NOT NULL
);
CREATE INDEX gateway_callbacks_gateway ON gateway_callbacks (gateway, id);
