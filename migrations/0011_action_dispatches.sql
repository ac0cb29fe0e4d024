-- Audit events that started an asynchronous trigger (post-user-registration):
-- the queue and the outbox deliver at least once, and a redelivered event
-- must not run the tenant's actions a second time.
CREATE TABLE action_dispatches (
  event_id TEXT PRIMARY KEY,
  tenant_id TEXT NOT NULL,
  created_at INTEGER NOT NULL
);
CREATE INDEX action_dispatches_created ON action_dispatches(created_at);
