-- The secret of each platform webhook that `tollbooth register webhooks` created or
-- re-enabled, so that the receiver can verify deliveries signed with it. Kept in clear: an
-- HMAC key must be known to verify, so it cannot be hashed.

CREATE TABLE webhook_secrets (
    platform   TEXT    NOT NULL,
    hook_id    TEXT    NOT NULL,
    secret     TEXT    NOT NULL,
    updated_at INTEGER NOT NULL,
    PRIMARY KEY (platform, hook_id)
);
