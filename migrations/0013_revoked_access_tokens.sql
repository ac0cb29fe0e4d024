-- Revoked self-contained access tokens (client_credentials, RFC 7009): such
-- a token has no row in oauth_tokens (issuing it writes nothing, #15), so
-- its revocation is a deny-list entry that resource checks (introspection,
-- userinfo, the management API) read, kept until the token has expired.
CREATE TABLE revoked_access_tokens (
  tenant_id TEXT NOT NULL REFERENCES tenants(id) ON DELETE CASCADE,
  jti TEXT NOT NULL,
  expires_at INTEGER NOT NULL,
  revoked_at INTEGER NOT NULL,
  PRIMARY KEY (tenant_id, jti)
);
CREATE INDEX revoked_access_tokens_expiry ON revoked_access_tokens(expires_at);
