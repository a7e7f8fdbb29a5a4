-- The language a linked user's Discord client last used with us (`en` or `no`), so that the
-- messages tollbooth sends them later (a blocked start, a receipt) read in it.
ALTER TABLE discord_links ADD COLUMN lang TEXT NOT NULL DEFAULT 'en';
