-- Platform credentials for /api/v1/internal/*: API keys with roles, the
-- platform's own JWT signing keys, and the jti ledger that refuses replays.

CREATE TABLE platform_api_keys (
  id TEXT PRIMARY KEY,
  prefix TEXT NOT NULL UNIQUE,
  secret_hash TEXT NOT NULL,
  name TEXT NOT NULL,
  role TEXT NOT NULL CHECK (role IN ('platform-admin', 'platform-operator', 'platform-auditor')),
  created_at INTEGER NOT NULL,
  expires_at INTEGER,
  last_used_at INTEGER,
  revoked_at INTEGER,
  -- Set on rotation: the key that replaced this one, and until when this
  -- one still works (the overlap window).
  replaced_by TEXT,
  valid_until INTEGER
);

CREATE TABLE platform_signing_keys (
  kid TEXT PRIMARY KEY,
  public_jwk TEXT NOT NULL,
  -- Sealed by the master key; emptied when retired.
  private_key_enc TEXT NOT NULL,
  status TEXT NOT NULL CHECK (status IN ('active', 'verify_only', 'retired')),
  created_at INTEGER NOT NULL
);
CREATE UNIQUE INDEX platform_signing_keys_one_active ON platform_signing_keys(status) WHERE status = 'active';

-- JWT ids already used, kept until the token would have expired anyway.
CREATE TABLE platform_jti (
  jti TEXT PRIMARY KEY,
  expires_at INTEGER NOT NULL
);
CREATE INDEX platform_jti_expiry ON platform_jti(expires_at);

CREATE INDEX audit_events_category ON audit_events(category, created_at);
