-- Hosts who link themselves (`/link`): the nonce of every OAuth `state` a callback has
-- spent, so that a state works once, whichever instance the platform sends the member back
-- to. A state lives 10 minutes; rows older than that only refuse replays.
CREATE TABLE used_oauth_states (
    nonce   TEXT    PRIMARY KEY,
    used_at INTEGER NOT NULL
);
