-- Promotion codes (issue 17): a host's codes for one session, an administrator's for the
-- whole site. `code` is the normal form (upper case), unique among the codes not removed.
-- A discount is a percentage or a fixed amount in `currency`. `uses` counts the orders the
-- code is applied to (taken by a conditional update, given back when such an order is
-- closed unpaid, D-216), never above `max_uses`. Times are milliseconds since the epoch.
CREATE TABLE promotion_codes (
    id          TEXT    PRIMARY KEY,
    code        TEXT    NOT NULL,
    platform    TEXT,
    meeting_id  TEXT,
    percent     TEXT,
    amount      TEXT,
    currency    TEXT,
    max_uses    INTEGER CHECK (max_uses IS NULL OR max_uses > 0),
    uses        INTEGER NOT NULL DEFAULT 0 CHECK (uses >= 0 AND (max_uses IS NULL OR uses <= max_uses)),
    expires_at  INTEGER,
    created_by  TEXT    NOT NULL,
    created_at  INTEGER  NOT NULL,
    removed_at  INTEGER,
    CHECK ((percent IS NULL) <> (amount IS NULL)),
    CHECK ((platform IS NULL) = (meeting_id IS NULL)),
    FOREIGN KEY (platform, meeting_id) REFERENCES scheduled_sessions (platform, meeting_id)
);
CREATE UNIQUE INDEX promotion_codes_live ON promotion_codes (code) WHERE removed_at IS NULL;
CREATE INDEX promotion_codes_session ON promotion_codes (platform, meeting_id);

-- An order records the code applied to it and the discount it gave; `amount` stays what is
-- to be paid (the fee less the discount).
ALTER TABLE orders ADD COLUMN promotion_code_id TEXT REFERENCES promotion_codes (id);
ALTER TABLE orders ADD COLUMN promotion_code TEXT;
ALTER TABLE orders ADD COLUMN discount TEXT;
