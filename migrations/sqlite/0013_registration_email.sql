-- One open registration per session and e-mail address, whatever its case. The platforms know
-- registrants by e-mail (admitting looks the attendee up by it, to be safe to retry), so a
-- second attendee with the same address would be handed the first one's registrant and
-- personal join link. The same open states as `registrations_open`.
CREATE UNIQUE INDEX registrations_open_email ON registrations (platform, meeting_id, lower(email))
    WHERE state IN ('awaiting_payment', 'paid', 'approved');
