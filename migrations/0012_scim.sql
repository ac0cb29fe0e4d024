-- SCIM 2.0 provisioning (RFC 7643, RFC 7644): per-tenant configuration,
-- bearer tokens, the SCIM view of users, and groups.

CREATE TABLE scim_config (
  tenant_id TEXT PRIMARY KEY REFERENCES tenants(id) ON DELETE CASCADE,
  enabled INTEGER NOT NULL DEFAULT 0,
  -- Whether /Groups is served.
  groups_enabled INTEGER NOT NULL DEFAULT 1,
  -- What DELETE /Users/{id} does: block | delete.
  deprovision TEXT NOT NULL DEFAULT 'block',
  -- Which SCIM attribute gives the user's email: emails | userName.
  email_from TEXT NOT NULL DEFAULT 'emails',
  -- Which SCIM attribute gives the user's name: displayName | name.
  name_from TEXT NOT NULL DEFAULT 'displayName',
  updated_at INTEGER NOT NULL
);

-- `tsc_<prefix>_<secret>`: the prefix is public, the whole token is kept as
-- a digest only. A rotated token keeps working until `expires_at`, which the
-- rotation moves to the end of the overlap.
CREATE TABLE scim_tokens (
  id TEXT PRIMARY KEY,
  tenant_id TEXT NOT NULL REFERENCES tenants(id) ON DELETE CASCADE,
  prefix TEXT NOT NULL UNIQUE,
  secret_hash TEXT NOT NULL,
  name TEXT NOT NULL,
  created_at INTEGER NOT NULL,
  expires_at INTEGER,
  last_used_at INTEGER,
  revoked_at INTEGER,
  -- The token that replaced this one by rotation.
  rotated_to TEXT
);
CREATE INDEX scim_tokens_tenant ON scim_tokens(tenant_id, id);

-- What a provisioning client said about a user beyond Tessera's own
-- columns: the SCIM resource as last written (without id, userName,
-- externalId, active, meta, groups and password). A user without a row here
-- (signed up, created by the API) is shown with userName = email. A user
-- deprovisioned by a DELETE under the "block" policy keeps the row with
-- `deprovisioned_at` set: blocked, and gone from SCIM until provisioned
-- again under the same userName.
CREATE TABLE scim_users (
  user_id TEXT PRIMARY KEY REFERENCES users(id) ON DELETE CASCADE,
  tenant_id TEXT NOT NULL REFERENCES tenants(id) ON DELETE CASCADE,
  user_name TEXT NOT NULL,
  -- userName is unique per tenant ignoring case (RFC 7643 §4.1.1).
  user_name_lower TEXT NOT NULL,
  external_id TEXT,
  resource TEXT NOT NULL,
  deprovisioned_at INTEGER,
  UNIQUE (tenant_id, user_name_lower)
);
CREATE INDEX scim_users_external_id ON scim_users(tenant_id, external_id);

CREATE TABLE scim_groups (
  id TEXT PRIMARY KEY,
  tenant_id TEXT NOT NULL REFERENCES tenants(id) ON DELETE CASCADE,
  display_name TEXT NOT NULL,
  display_name_lower TEXT NOT NULL,
  external_id TEXT,
  -- A random value each write (members included) sets anew: the ETag, and
  -- the guard that ties a write's member statements to its own update.
  revision TEXT NOT NULL,
  created_at INTEGER NOT NULL,
  updated_at INTEGER NOT NULL
);
CREATE INDEX scim_groups_tenant ON scim_groups(tenant_id, id);
CREATE INDEX scim_groups_name ON scim_groups(tenant_id, display_name_lower);
CREATE INDEX scim_groups_external_id ON scim_groups(tenant_id, external_id);

CREATE TABLE scim_group_members (
  group_id TEXT NOT NULL REFERENCES scim_groups(id) ON DELETE CASCADE,
  user_id TEXT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
  tenant_id TEXT NOT NULL,
  PRIMARY KEY (group_id, user_id)
);
CREATE INDEX scim_group_members_user ON scim_group_members(user_id);

-- The management API's audience gains read:scim / write:scim (SCIM
-- configuration and tokens).
UPDATE api_resources
  SET scopes = '["read:users","write:users","write:admins","read:clients","write:clients","read:resource_servers","write:resource_servers","read:logs","read:log_streams","write:log_streams","read:actions","write:actions","read:scim","write:scim"]'
  WHERE identifier = 'urn:tessera:management';
