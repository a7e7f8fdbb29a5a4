-- Waiting lists: an unpaid registration for a full session may stand in line
-- (`waiting_since`, milliseconds since the Unix epoch, the order of asking); a seat freed is
-- offered to the first in line and held for them until `offer_until`. A held offer counts
-- against the session's capacity like a paid seat. The sweep that passes an expired offer on
-- clears `waiting_since`.
ALTER TABLE registrations ADD COLUMN waiting_since INTEGER;
ALTER TABLE registrations ADD COLUMN offer_until INTEGER;
CREATE INDEX registrations_line ON registrations (platform, meeting_id, waiting_since)
    WHERE waiting_since IS NOT NULL;
CREATE INDEX registrations_offers ON registrations (offer_until)
    WHERE waiting_since IS NOT NULL AND offer_until IS NOT NULL;
