-- Site settings, the versioned price list, divisions and hosts.
-- Times are milliseconds since the Unix epoch (UTC); decimals are exact strings, parsed by
-- the application into exact decimals (sqlx's Any driver carries no NUMERIC).

CREATE TABLE site_settings (
    id                  INTEGER PRIMARY KEY CHECK (id = 1),
    ecommerce_enabled   BOOLEAN NOT NULL,
    pay_per_use_enabled BOOLEAN NOT NULL,
    fee_based_enabled   BOOLEAN NOT NULL,
    country             TEXT    NOT NULL,
    updated_at          BIGINT  NOT NULL
);

-- The operator's configuration as last applied, so that a restart with the same
-- configuration keeps what administrators changed in the meantime.
CREATE TABLE applied_config (
    id                    INTEGER PRIMARY KEY CHECK (id = 1),
    country               TEXT    NOT NULL,
    currency              TEXT    NOT NULL,
    person_minute         TEXT    NOT NULL,
    teleconference_minute TEXT    NOT NULL,
    applied_at            BIGINT  NOT NULL
);

CREATE TABLE price_versions (
    id                    BIGSERIAL PRIMARY KEY,
    currency              TEXT    NOT NULL,
    person_minute         TEXT    NOT NULL,
    teleconference_minute TEXT    NOT NULL,
    effective_from        BIGINT  NOT NULL,
    source                TEXT    NOT NULL CHECK (source IN ('config', 'admin'))
);
CREATE INDEX price_versions_effective ON price_versions (effective_from);

CREATE TABLE divisions (
    id         TEXT   PRIMARY KEY,
    name       TEXT   NOT NULL,
    created_at BIGINT NOT NULL
);

CREATE TABLE hosts (
    email       TEXT   PRIMARY KEY,
    division_id TEXT   REFERENCES divisions (id),
    created_at  BIGINT NOT NULL
);
