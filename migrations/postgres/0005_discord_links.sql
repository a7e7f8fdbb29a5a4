-- The chat bot: which Discord user acts as which platform host, and the outbox of effects
-- (direct messages now, platform calls and captures later) that must happen exactly once.
-- Times are milliseconds since the Unix epoch (UTC).

-- Assigned by an administrator (`/admin link`); a host acts in chat only on meetings the
-- platform says they host. One host e-mail per Discord user; a host may use several accounts.
CREATE TABLE discord_links (
    discord_user_id TEXT    PRIMARY KEY,
    host_email      TEXT    NOT NULL,
    linked_by       TEXT    NOT NULL,
    linked_at       BIGINT  NOT NULL
);
CREATE INDEX discord_links_host ON discord_links (host_email);

-- One row per effect. `effect_key` is unique, so enqueueing the same effect twice (a retried
-- decision, two instances) stores it once. A worker claims due rows with a lease; a crashed
-- worker's lease runs out and another worker takes the row over.
CREATE TABLE outbox (
    id              BIGSERIAL PRIMARY KEY,
    effect_key      TEXT    NOT NULL UNIQUE,
    kind            TEXT    NOT NULL,
    payload         TEXT    NOT NULL,
    created_at      BIGINT  NOT NULL,
    next_attempt_at BIGINT  NOT NULL,
    attempts        BIGINT  NOT NULL DEFAULT 0,
    lease_owner     TEXT,
    lease_until     BIGINT,
    last_error      TEXT,
    sent_at         BIGINT
);
CREATE INDEX outbox_due ON outbox (sent_at, next_attempt_at);
