-- Audit-log reads that do not depend on the table's size: each list (a
-- tenant's, newest first, and its filters by type, user and client; a date
-- range narrows any of them) is served by an index in the order it returns,
-- so SQLite reads only the rows of the page and sorts nothing. Retention
-- deletes by the same (tenant_id, created_at) order, a bounded batch at a
-- time. The old (tenant_id, id) index served no query.
CREATE INDEX audit_events_tenant_time ON audit_events(tenant_id, created_at);
CREATE INDEX audit_events_tenant_type_time ON audit_events(tenant_id, type, created_at);
CREATE INDEX audit_events_tenant_user_time ON audit_events(tenant_id, user_id, created_at);
CREATE INDEX audit_events_tenant_client_time ON audit_events(tenant_id, client_id, created_at);
DROP INDEX audit_events_tenant;

-- Checkpoint pagination (`from` a log id, `take` N, as Auth0's logs API):
-- each event gets the next number of its tenant's sequence when it is
-- stored, so an exporter that asks for what came after its checkpoint sees
-- every event stored since, in the order they were stored, however their
-- timestamps interleave. (tenant_id, seq) finds the next number and serves
-- the reads.
ALTER TABLE audit_events ADD COLUMN seq INTEGER;
UPDATE audit_events SET seq = rowid;
CREATE UNIQUE INDEX audit_events_tenant_seq ON audit_events(tenant_id, seq);
