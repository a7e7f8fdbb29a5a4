-- The division a host who links themselves lands in while nobody booked them to another one
-- (`/admin setup`, `/link`); none until an administrator names one.
ALTER TABLE site_settings ADD COLUMN default_division TEXT REFERENCES divisions (id);
