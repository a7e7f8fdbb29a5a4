-- What happens when a session would take a division over its month's budget (`/admin
-- over-budget`): `warn` the host in the quote (as before this column existed) or `block` paying.
ALTER TABLE site_settings ADD COLUMN over_budget TEXT NOT NULL DEFAULT 'warn'
    CHECK (over_budget IN ('warn', 'block'));
