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
