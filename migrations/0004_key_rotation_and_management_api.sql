-- Scheduled signing-key rotation: a key is published as 'next' before it
-- signs, and a verify-only key is retired after `retire_after` (when the
-- last token it signed has expired). SQLite cannot alter a CHECK
-- constraint, so the table is rebuilt (nothing references it).
CREATE TABLE signing_keys_new (
  kid TEXT PRIMARY KEY,
  tenant_id TEXT NOT NULL REFERENCES tenants(id) ON DELETE CASCADE,
  alg TEXT NOT NULL,
  public_jwk TEXT NOT NULL,
  private_key_enc TEXT NOT NULL,
  status TEXT NOT NULL CHECK (status IN ('next', 'active', 'verify_only', 'retired')),
  created_at INTEGER NOT NULL,
  activated_at INTEGER,
  retired_at INTEGER,
  retire_after INTEGER
);
INSERT INTO signing_keys_new (kid, tenant_id, alg, public_jwk, private_key_enc, status, created_at, activated_at, retired_at)
  SELECT kid, tenant_id, alg, public_jwk, private_key_enc, status, created_at, activated_at, retired_at FROM signing_keys;
DROP TABLE signing_keys;
ALTER TABLE signing_keys_new RENAME TO signing_keys;
CREATE INDEX signing_keys_tenant ON signing_keys(tenant_id, status);
CREATE UNIQUE INDEX signing_keys_one_active ON signing_keys(tenant_id) WHERE status = 'active';
CREATE UNIQUE INDEX signing_keys_one_next ON signing_keys(tenant_id) WHERE status = 'next';

-- Every tenant's management API as an OAuth audience, so client-credentials
-- tokens can call /api/v1/* with scopes (tenants created from now on get it
-- at creation).
INSERT INTO api_resources (id, tenant_id, identifier, name, scopes, access_token_ttl, created_at)
  SELECT 'api_mgmt_' || t.id, t.id, 'urn:tessera:management', 'Tessera Management API',
         '["read:users","write:users","read:clients","write:clients","read:resource_servers","write:resource_servers","read:logs"]',
         3600, t.created_at
  FROM tenants t
  WHERE NOT EXISTS (SELECT 1 FROM api_resources a WHERE a.tenant_id = t.id AND a.identifier = 'urn:tessera:management');
