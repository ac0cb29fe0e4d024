-- Users who may use the tenant's admin UI.
ALTER TABLE users ADD COLUMN is_admin INTEGER NOT NULL DEFAULT 0;
