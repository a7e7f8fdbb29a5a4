-- Self-service cancellation and refunds asked for (issue 17). The site's cancellation terms:
-- until how many hours before a session's start an attendee may cancel themselves (NULL: they
-- may not) and the fee kept, in percent of what was paid (an exact decimal string).
ALTER TABLE site_settings ADD COLUMN cancel_until_hours INTEGER;
ALTER TABLE site_settings ADD COLUMN cancellation_fee_percent TEXT NOT NULL DEFAULT '0';

-- One row per refund decided for a registration's payment, under the request that asked for
-- it: the same request again finds its row and refunds nothing. What was decided is what the
-- outbox gives back (`payments.refunded` records what the gateway has given back so far).
-- Times are milliseconds since the Unix epoch; amounts exact decimal strings.
CREATE TABLE registration_refunds (
    payment_id      TEXT    NOT NULL REFERENCES payments (id),
    request_id      TEXT    NOT NULL,
    registration_id TEXT    NOT NULL REFERENCES registrations (id),
    amount          TEXT    NOT NULL,
    fee             TEXT    NOT NULL,
    currency        TEXT    NOT NULL,
    -- `attendee` (cancelled themselves), `host` or `admin`, and the Discord member who asked.
    asked_by        TEXT    NOT NULL CHECK (asked_by IN ('attendee', 'host', 'admin')),
    discord_user_id TEXT    NOT NULL,
    decided_at      BIGINT  NOT NULL,
    PRIMARY KEY (payment_id, request_id)
);
CREATE INDEX registration_refunds_registration ON registration_refunds (registration_id);
