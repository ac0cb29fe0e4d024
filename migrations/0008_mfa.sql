-- Multi-factor authentication: authenticator apps (TOTP), recovery codes,
-- remembered browsers, and how a session and its tokens record the factors.

-- One authenticator app per user. The secret is sealed with the tenant's
-- data key (AES-256-GCM, `v1.<key id>.<nonce|ciphertext>`), bound to tenant
-- and user as associated data. `confirmed_at` is null until the user proves
-- the app works with a first code. `last_step` is the newest RFC 6238 time
-- step accepted: a code is taken by a conditional UPDATE that raises it, so a
-- code (or an older one) is never accepted twice (RFC 6238 §5.2).
CREATE TABLE mfa_totp (
  tenant_id TEXT NOT NULL REFERENCES tenants(id) ON DELETE CASCADE,
  user_id TEXT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
  secret_sealed TEXT NOT NULL,
  created_at INTEGER NOT NULL,
  confirmed_at INTEGER,
  last_step INTEGER,
  last_used_at INTEGER,
  PRIMARY KEY (tenant_id, user_id)
);

-- Recovery codes: one set per user, each code an Argon2id hash (the
-- password parameters). A set shares one salt, so a presented code is
-- hashed once and compared with every unused hash of the set. Used by a
-- conditional UPDATE of used_at.
CREATE TABLE mfa_recovery_codes (
  id TEXT PRIMARY KEY,
  tenant_id TEXT NOT NULL REFERENCES tenants(id) ON DELETE CASCADE,
  user_id TEXT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
  code_hash TEXT NOT NULL,
  created_at INTEGER NOT NULL,
  used_at INTEGER
);
CREATE INDEX mfa_recovery_codes_user ON mfa_recovery_codes(tenant_id, user_id);

-- Email as a second factor, for users without an app: confirmed once the
-- first code sent to the (verified) address is typed back.
CREATE TABLE mfa_email (
  tenant_id TEXT NOT NULL REFERENCES tenants(id) ON DELETE CASCADE,
  user_id TEXT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
  created_at INTEGER NOT NULL,
  confirmed_at INTEGER,
  PRIMARY KEY (tenant_id, user_id)
);

-- Codes sent by email: a digest bound to the row id, a 5-minute expiry, an
-- attempt counter raised before each comparison, and used_at taken by a
-- conditional UPDATE. A new code marks older ones used.
CREATE TABLE mfa_email_codes (
  id TEXT PRIMARY KEY,
  tenant_id TEXT NOT NULL REFERENCES tenants(id) ON DELETE CASCADE,
  user_id TEXT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
  code_hash TEXT NOT NULL,
  created_at INTEGER NOT NULL,
  expires_at INTEGER NOT NULL,
  attempts INTEGER NOT NULL DEFAULT 0,
  used_at INTEGER
);
CREATE INDEX mfa_email_codes_user ON mfa_email_codes(tenant_id, user_id, created_at);

-- "Remember this browser": the browser holds a random token, the row its
-- digest. Resetting a user's factors deletes the rows.
CREATE TABLE mfa_remembered_browsers (
  id_hash TEXT PRIMARY KEY,
  tenant_id TEXT NOT NULL REFERENCES tenants(id) ON DELETE CASCADE,
  user_id TEXT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
  mfa_time INTEGER NOT NULL,
  expires_at INTEGER NOT NULL
);
CREATE INDEX mfa_remembered_browsers_user ON mfa_remembered_browsers(tenant_id, user_id);

-- A session after the password but before the second factor is pending:
-- only the MFA pages accept it. `amr` lists the methods (RFC 8176) this
-- session used; `mfa_time` is when a second factor was last verified.
ALTER TABLE sessions ADD COLUMN mfa_pending INTEGER NOT NULL DEFAULT 0;
ALTER TABLE sessions ADD COLUMN amr TEXT NOT NULL DEFAULT 'pwd';
ALTER TABLE sessions ADD COLUMN mfa_time INTEGER;

-- The authentication a code and its tokens stand for, for the ID token's
-- `amr` and `acr` (also after a refresh).
ALTER TABLE oauth_codes ADD COLUMN amr TEXT;
ALTER TABLE oauth_codes ADD COLUMN acr TEXT;
ALTER TABLE oauth_tokens ADD COLUMN amr TEXT;
ALTER TABLE oauth_tokens ADD COLUMN acr TEXT;

-- A client may override the tenant's MFA policy (null: the tenant's).
ALTER TABLE oauth_clients ADD COLUMN mfa_policy TEXT CHECK (mfa_policy IN ('never', 'optional', 'required'));
