-- Site settings, the versioned price list, divisions and hosts.
-- Times are milliseconds since the Unix epoch (UTC); decimals are exact strings.

CREATE TABLE site_settings (
    id                  INTEGER PRIMARY KEY CHECK (id = 1),
    ecommerce_enabled   INTEGER NOT NULL,
    pay_per_use_enabled INTEGER NOT NULL,
    fee_based_enabled   INTEGER NOT NULL,
    country             TEXT    NOT NULL,
    updated_at          INTEGER NOT NULL
);

-- The operator's configuration as last applied, so that a restart with the same
-- configuration keeps what administrators changed in the meantime.
CREATE TABLE applied_config (
    id                    INTEGER PRIMARY KEY CHECK (id = 1),
    country               TEXT    NOT NULL,
    currency              TEXT    NOT NULL,
    person_minute         TEXT    NOT NULL,
    teleconference_minute TEXT    NOT NULL,
    applied_at            INTEGER NOT NULL
);

CREATE TABLE price_versions (
    id                    INTEGER PRIMARY KEY AUTOINCREMENT,
    currency              TEXT    NOT NULL,
    person_minute         TEXT    NOT NULL,
    teleconference_minute TEXT    NOT NULL,
    effective_from        INTEGER NOT NULL,
    source                TEXT    NOT NULL CHECK (source IN ('config', 'admin'))
);
CREATE INDEX price_versions_effective ON price_versions (effective_from);

CREATE TABLE divisions (
    id         TEXT    PRIMARY KEY,
    name       TEXT    NOT NULL,
    created_at INTEGER NOT NULL
);

CREATE TABLE hosts (
    email       TEXT    PRIMARY KEY,
    division_id TEXT    REFERENCES divisions (id),
    created_at  INTEGER NOT NULL
);
