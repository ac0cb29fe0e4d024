-- OAuth 2.0 / OpenID Connect: clients and their secrets, API resources,
-- authorization codes, issued tokens, consents and pending authorization
-- requests.

CREATE TABLE oauth_clients (
  id TEXT PRIMARY KEY,
  tenant_id TEXT NOT NULL REFERENCES tenants(id) ON DELETE CASCADE,
  name TEXT NOT NULL,
  client_type TEXT NOT NULL CHECK (client_type IN ('confidential', 'public')),
  token_endpoint_auth_method TEXT NOT NULL
    CHECK (token_endpoint_auth_method IN ('client_secret_basic', 'client_secret_post', 'none')),
  -- JSON arrays.
  redirect_uris TEXT NOT NULL DEFAULT '[]',
  post_logout_redirect_uris TEXT NOT NULL DEFAULT '[]',
  grant_types TEXT NOT NULL,
  scopes TEXT NOT NULL,
  audiences TEXT NOT NULL DEFAULT '[]',
  require_pkce INTEGER NOT NULL DEFAULT 1,
  first_party INTEGER NOT NULL DEFAULT 0,
  access_token_ttl INTEGER NOT NULL,
  id_token_ttl INTEGER NOT NULL,
  refresh_token_ttl INTEGER NOT NULL,
  refresh_grace_seconds INTEGER NOT NULL DEFAULT 0,
  created_at INTEGER NOT NULL,
  updated_at INTEGER NOT NULL
);
CREATE INDEX oauth_clients_tenant ON oauth_clients(tenant_id, id);

-- Several secrets may be valid at once: the current one and, during a
-- rotation's overlap window, the previous one (until expires_at).
CREATE TABLE oauth_client_secrets (
  id TEXT PRIMARY KEY,
  tenant_id TEXT NOT NULL REFERENCES tenants(id) ON DELETE CASCADE,
  client_id TEXT NOT NULL REFERENCES oauth_clients(id) ON DELETE CASCADE,
  secret_hash TEXT NOT NULL,
  created_at INTEGER NOT NULL,
  expires_at INTEGER
);
CREATE INDEX oauth_client_secrets_client ON oauth_client_secrets(client_id);

-- APIs (audiences) a tenant protects, with the scopes they define.
CREATE TABLE api_resources (
  id TEXT PRIMARY KEY,
  tenant_id TEXT NOT NULL REFERENCES tenants(id) ON DELETE CASCADE,
  identifier TEXT NOT NULL,
  name TEXT NOT NULL,
  scopes TEXT NOT NULL DEFAULT '[]',
  access_token_ttl INTEGER NOT NULL,
  created_at INTEGER NOT NULL,
  UNIQUE (tenant_id, identifier)
);

CREATE TABLE oauth_codes (
  code_hash TEXT PRIMARY KEY,
  tenant_id TEXT NOT NULL REFERENCES tenants(id) ON DELETE CASCADE,
  client_id TEXT NOT NULL REFERENCES oauth_clients(id) ON DELETE CASCADE,
  user_id TEXT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
  redirect_uri TEXT NOT NULL,
  scope TEXT NOT NULL,
  audience TEXT,
  nonce TEXT,
  code_challenge TEXT,
  auth_time INTEGER NOT NULL,
  created_at INTEGER NOT NULL,
  expires_at INTEGER NOT NULL,
  used_at INTEGER
);

-- Refresh tokens (by digest) and access tokens (by jti). A family is every
-- token descending from one authorization code: replaying the code, or
-- reusing a rotated refresh token, revokes the whole family.
CREATE TABLE oauth_tokens (
  id TEXT PRIMARY KEY,
  tenant_id TEXT NOT NULL REFERENCES tenants(id) ON DELETE CASCADE,
  client_id TEXT NOT NULL REFERENCES oauth_clients(id) ON DELETE CASCADE,
  user_id TEXT REFERENCES users(id) ON DELETE CASCADE,
  kind TEXT NOT NULL CHECK (kind IN ('refresh', 'access')),
  family_id TEXT NOT NULL,
  scope TEXT NOT NULL,
  audience TEXT,
  auth_time INTEGER,
  nonce TEXT,
  created_at INTEGER NOT NULL,
  expires_at INTEGER NOT NULL,
  used_at INTEGER,
  revoked_at INTEGER
);
CREATE INDEX oauth_tokens_family ON oauth_tokens(family_id);
CREATE INDEX oauth_tokens_user_client ON oauth_tokens(tenant_id, user_id, client_id);

CREATE TABLE oauth_consents (
  tenant_id TEXT NOT NULL REFERENCES tenants(id) ON DELETE CASCADE,
  user_id TEXT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
  client_id TEXT NOT NULL REFERENCES oauth_clients(id) ON DELETE CASCADE,
  scopes TEXT NOT NULL,
  created_at INTEGER NOT NULL,
  updated_at INTEGER NOT NULL,
  PRIMARY KEY (tenant_id, user_id, client_id)
);

-- An authorization request waiting for the user's consent.
CREATE TABLE oauth_pending_requests (
  id_hash TEXT PRIMARY KEY,
  tenant_id TEXT NOT NULL REFERENCES tenants(id) ON DELETE CASCADE,
  user_id TEXT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
  client_id TEXT NOT NULL REFERENCES oauth_clients(id) ON DELETE CASCADE,
  query TEXT NOT NULL,
  created_at INTEGER NOT NULL,
  expires_at INTEGER NOT NULL,
  used_at INTEGER
);
