-- Log streaming: per-tenant streams, the events waiting for each, the
-- dead-letter store, and one row per delivery attempt.

-- Auth0's log event fields that were missing (client, user name, user agent,
-- host name), so a SIEM parser written for Auth0 reads Tessera's events.
ALTER TABLE audit_events ADD COLUMN client_id TEXT;
ALTER TABLE audit_events ADD COLUMN client_name TEXT;
ALTER TABLE audit_events ADD COLUMN user_name TEXT;
ALTER TABLE audit_events ADD COLUMN user_agent TEXT;
ALTER TABLE audit_events ADD COLUMN hostname TEXT;

-- The outbox rows still to fan out (Spin and native hosts), oldest first.
CREATE INDEX event_outbox_pending ON event_outbox(created_at) WHERE delivered_at IS NULL;

CREATE TABLE log_streams (
  id TEXT PRIMARY KEY,
  tenant_id TEXT NOT NULL REFERENCES tenants(id) ON DELETE CASCADE,
  name TEXT NOT NULL,
  -- http | webhook | datadog | splunk | s3
  sink_type TEXT NOT NULL,
  -- The sink's settings without its secrets (JSON).
  sink TEXT NOT NULL,
  -- The sink's secrets (JSON), sealed under the tenant's data key and bound
  -- to tenant and stream; never returned by the API.
  sink_secrets TEXT NOT NULL,
  filters TEXT NOT NULL DEFAULT '{}',
  -- active | paused | suspended
  state TEXT NOT NULL DEFAULT 'active',
  suspend_after INTEGER NOT NULL DEFAULT 86400,
  failing_since INTEGER,
  last_success_at INTEGER,
  last_error TEXT,
  last_error_at INTEGER,
  delivered_count INTEGER NOT NULL DEFAULT 0,
  failed_count INTEGER NOT NULL DEFAULT 0,
  -- One delivery worker at a time per stream (the lease expires if it dies).
  lease_owner TEXT,
  lease_until INTEGER,
  created_at INTEGER NOT NULL,
  updated_at INTEGER NOT NULL
);
CREATE INDEX log_streams_tenant ON log_streams(tenant_id, id);

-- Events a stream still has to deliver, retried with backoff.
CREATE TABLE log_stream_pending (
  stream_id TEXT NOT NULL REFERENCES log_streams(id) ON DELETE CASCADE,
  event_id TEXT NOT NULL,
  tenant_id TEXT NOT NULL,
  payload TEXT NOT NULL,
  -- When the event happened (the stream's lag is measured from it).
  created_at INTEGER NOT NULL,
  attempts INTEGER NOT NULL DEFAULT 0,
  next_attempt_at INTEGER NOT NULL,
  last_error TEXT,
  PRIMARY KEY (stream_id, event_id)
);
CREATE INDEX log_stream_pending_due ON log_stream_pending(stream_id, next_attempt_at, created_at);

-- Events that failed every attempt, kept until redelivered or deleted.
CREATE TABLE log_stream_dead_letters (
  stream_id TEXT NOT NULL REFERENCES log_streams(id) ON DELETE CASCADE,
  event_id TEXT NOT NULL,
  tenant_id TEXT NOT NULL,
  payload TEXT NOT NULL,
  created_at INTEGER NOT NULL,
  attempts INTEGER NOT NULL,
  last_error TEXT NOT NULL,
  dead_at INTEGER NOT NULL,
  PRIMARY KEY (stream_id, event_id)
);

-- One row per delivery attempt of a batch; pruned by maintenance.
CREATE TABLE log_stream_deliveries (
  id TEXT PRIMARY KEY,
  stream_id TEXT NOT NULL REFERENCES log_streams(id) ON DELETE CASCADE,
  tenant_id TEXT NOT NULL,
  batch_id TEXT NOT NULL,
  attempt INTEGER NOT NULL,
  events INTEGER NOT NULL,
  status_code INTEGER,
  error TEXT,
  duration_ms INTEGER NOT NULL,
  created_at INTEGER NOT NULL
);
CREATE INDEX log_stream_deliveries_stream ON log_stream_deliveries(stream_id, created_at);
CREATE INDEX log_stream_deliveries_age ON log_stream_deliveries(created_at);

-- read:log_streams / write:log_streams for OAuth callers of the management API.
UPDATE api_resources
  SET scopes = '["read:users","write:users","write:admins","read:clients","write:clients","read:resource_servers","write:resource_servers","read:logs","read:log_streams","write:log_streams"]'
  WHERE identifier = 'urn:tessera:management';
