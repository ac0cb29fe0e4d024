-- Actions: tenant code the actions host runs at fixed points of the flows.

CREATE TABLE actions (
  id TEXT PRIMARY KEY,
  tenant_id TEXT NOT NULL REFERENCES tenants(id) ON DELETE CASCADE,
  name TEXT NOT NULL,
  -- pre-user-registration | post-user-registration | pre-login | post-login | credentials-exchange
  trigger TEXT NOT NULL,
  -- js | wasm
  runtime TEXT NOT NULL,
  -- The draft: JavaScript source, or a component base64-encoded.
  code TEXT NOT NULL,
  code_hash TEXT NOT NULL,
  -- The version bound triggers run (NULL until the first deploy). Deploying
  -- or rolling back changes this one column, so a switch is atomic.
  deployed_version INTEGER,
  created_at INTEGER NOT NULL,
  updated_at INTEGER NOT NULL,
  UNIQUE (tenant_id, name)
);
CREATE INDEX actions_tenant ON actions(tenant_id, id);

-- Deployed versions: immutable, numbered from 1 per action.
CREATE TABLE action_versions (
  action_id TEXT NOT NULL REFERENCES actions(id) ON DELETE CASCADE,
  tenant_id TEXT NOT NULL,
  number INTEGER NOT NULL,
  runtime TEXT NOT NULL,
  code TEXT NOT NULL,
  code_hash TEXT NOT NULL,
  created_at INTEGER NOT NULL,
  PRIMARY KEY (action_id, number)
);

-- Per-action secrets, sealed under the tenant's data key and bound to
-- tenant, action and name; write-only through the API.
CREATE TABLE action_secrets (
  action_id TEXT NOT NULL REFERENCES actions(id) ON DELETE CASCADE,
  tenant_id TEXT NOT NULL,
  name TEXT NOT NULL,
  sealed TEXT NOT NULL,
  updated_at INTEGER NOT NULL,
  PRIMARY KEY (action_id, name)
);

-- The ordered actions of each trigger.
CREATE TABLE action_bindings (
  tenant_id TEXT NOT NULL REFERENCES tenants(id) ON DELETE CASCADE,
  trigger TEXT NOT NULL,
  action_id TEXT NOT NULL REFERENCES actions(id) ON DELETE CASCADE,
  position INTEGER NOT NULL,
  enabled INTEGER NOT NULL DEFAULT 1,
  PRIMARY KEY (tenant_id, trigger, action_id)
);
CREATE INDEX action_bindings_order ON action_bindings(tenant_id, trigger, position);

-- What a trigger does when the host is unreachable or a run fails.
CREATE TABLE action_triggers (
  tenant_id TEXT NOT NULL REFERENCES tenants(id) ON DELETE CASCADE,
  trigger TEXT NOT NULL,
  -- open: the flow goes on without the failed action; closed: it is refused.
  failure_mode TEXT NOT NULL DEFAULT 'open',
  PRIMARY KEY (tenant_id, trigger)
);

-- One row per run: kept after the action is deleted (no foreign key).
CREATE TABLE action_executions (
  id TEXT PRIMARY KEY,
  tenant_id TEXT NOT NULL,
  action_id TEXT NOT NULL,
  version INTEGER NOT NULL,
  trigger TEXT NOT NULL,
  -- success | denied | failed
  outcome TEXT NOT NULL,
  duration_us INTEGER NOT NULL,
  -- Console output (JSON array of {level, message}).
  logs TEXT NOT NULL DEFAULT '[]',
  error TEXT,
  created_at INTEGER NOT NULL
);
CREATE INDEX action_executions_by_action ON action_executions(tenant_id, action_id, id);
CREATE INDEX action_executions_age ON action_executions(created_at);

UPDATE api_resources
  SET scopes = '["read:users","write:users","write:admins","read:clients","write:clients","read:resource_servers","write:resource_servers","read:logs","read:log_streams","write:log_streams","read:actions","write:actions"]'
  WHERE identifier = 'urn:tessera:management';

-- Auth0's two metadata objects on a user: `app_metadata` (set by actions and
-- administrators) and `user_metadata` (the user's own preferences).
ALTER TABLE users ADD COLUMN app_metadata TEXT NOT NULL DEFAULT '{}';
ALTER TABLE users ADD COLUMN user_metadata TEXT NOT NULL DEFAULT '{}';

-- Claims post-login actions set, carried from the code to the tokens and
-- kept with a refresh token (JSON: {"id_token": {...}, "access_token": {...}}).
ALTER TABLE oauth_codes ADD COLUMN action_claims TEXT;
ALTER TABLE oauth_tokens ADD COLUMN action_claims TEXT;
