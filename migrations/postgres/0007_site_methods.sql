-- The payment methods an administrator chose (`/admin methods`), comma-separated, among those
-- the operator configured; NULL offers every configured method, as before this column existed.
ALTER TABLE site_settings ADD COLUMN payment_methods TEXT;
