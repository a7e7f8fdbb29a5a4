-- Zoom's meeting number (`payload.object.id`) of a session, which is keyed by the instance's
-- uuid: an order for a scheduled Zoom meeting is bound to the number. NULL on Webex.
ALTER TABLE sessions ADD COLUMN meeting_number TEXT;
