-- The IANA zone that times typed in chat without an offset are read in (`site.timezone`,
-- `/admin timezone`), and the zone the operator's configuration last applied.
ALTER TABLE site_settings ADD COLUMN timezone TEXT NOT NULL DEFAULT 'UTC';
ALTER TABLE applied_config ADD COLUMN timezone TEXT NOT NULL DEFAULT 'UTC';
