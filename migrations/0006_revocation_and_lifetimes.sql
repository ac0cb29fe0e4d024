-- Revocation that in-flight grants cannot slip past, refresh-token lifetimes,
-- and the management scope that guards tenant administrators.

-- A code is marked revoked when its family is (replay) and when its user's
-- grants end (password change, block, consent withdrawn): an exchange of it
-- still in flight then inserts no tokens.
ALTER TABLE oauth_codes ADD COLUMN revoked_at INTEGER;
CREATE INDEX oauth_codes_user ON oauth_codes(tenant_id, user_id, client_id);

-- When the grant behind a token family was made: a refresh token never lives
-- past it plus the client's absolute lifetime. Rows from before this
-- migration count from their own creation.
ALTER TABLE oauth_tokens ADD COLUMN grant_time INTEGER;
UPDATE oauth_tokens SET grant_time = created_at WHERE grant_time IS NULL;

-- The absolute lifetime of a client's refresh tokens (90 days by default);
-- refresh_token_ttl stays the inactivity lifetime.
ALTER TABLE oauth_clients ADD COLUMN refresh_token_absolute_ttl INTEGER NOT NULL DEFAULT 7776000;

-- write:admins: creating, changing or deleting a tenant administrator
-- (is_admin) through the management API with an OAuth token.
UPDATE api_resources
  SET scopes = '["read:users","write:users","write:admins","read:clients","write:clients","read:resource_servers","write:resource_servers","read:logs"]'
  WHERE identifier = 'urn:tessera:management';
