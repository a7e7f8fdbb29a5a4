-- Who checks the platform's webhooks (`serve`, every `webex.hook_check_secs`), and until
-- when: instances sharing this database take turns, so that two never create the same hook.
-- A holder renews its lease before each step; once it runs out, another instance may take it.

CREATE TABLE hook_check_leases (
    platform    TEXT    NOT NULL PRIMARY KEY,
    holder      TEXT    NOT NULL,
    lease_until INTEGER NOT NULL
);
