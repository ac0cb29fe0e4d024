//! Scheduled maintenance, run by the Workers cron trigger and by
//! `POST /api/v1/internal/maintenance` on hosts without one: signing-key
//! rotation for every tenant, re-wrapping data keys after a master-key
//! rotation, then housekeeping of rows that can no longer
//! matter, and the audit-log retention of each tenant.

use serde::Serialize;

use crate::error::Result;
use crate::host::{Db, Host, HostExt, Statement};

const DAY_MS: i64 = 86_400_000;
/// Platform audit events (no tenant) are kept this long.
pub const PLATFORM_AUDIT_RETENTION_DAYS: i64 = 90;
/// Log-stream delivery attempts are kept a week, dead letters a month.
pub const DELIVERY_RETENTION_DAYS: i64 = 7;
pub const DEAD_LETTER_RETENTION_DAYS: i64 = 30;

#[derive(Debug, Default, Serialize)]
pub struct Report {
    pub keys: Vec<serde_json::Value>,
    /// Rows deleted per table.
    pub deleted: Vec<(String, u64)>,
    /// Tenant data keys moved to the current master key.
    pub rewrapped_data_keys: u64,
    /// Expired audit events are left for the next run (retention deletes a
    /// bounded number per run).
    pub audit_backlog: bool,
}

/// Rows kept a day past expiry where their existence still decides
/// something (a replayed code or refresh token after expiry is refused
/// either way, but the family revocation on replay needs the row).
fn housekeeping(now: i64) -> Vec<(&'static str, Statement)> {
    let s = |sql: &str, cutoff: i64| Statement::new(sql, vec![cutoff.into()]);
    vec![
        ("oauth_codes", s("DELETE FROM oauth_codes WHERE expires_at < ?1", now - DAY_MS)),
        ("oauth_tokens", s("DELETE FROM oauth_tokens WHERE expires_at < ?1", now - DAY_MS)),
        ("revoked_access_tokens", s("DELETE FROM revoked_access_tokens WHERE expires_at < ?1", now - DAY_MS)),
        ("oauth_pending_requests", s("DELETE FROM oauth_pending_requests WHERE expires_at < ?1", now)),
        ("email_tokens", s("DELETE FROM email_tokens WHERE expires_at < ?1", now - DAY_MS)),
        ("sessions", s("DELETE FROM sessions WHERE expires_at < ?1", now)),
        ("mfa_remembered_browsers", s("DELETE FROM mfa_remembered_browsers WHERE expires_at < ?1", now)),
        ("platform_jti", s("DELETE FROM platform_jti WHERE expires_at < ?1", now)),
        (
            "login_throttle",
            s("DELETE FROM login_throttle WHERE (locked_until IS NULL OR locked_until < ?1) AND window_start < ?1 - 86400000", now),
        ),
        ("kv_cache", s("DELETE FROM kv_cache WHERE expires_at < ?1", now)),
        ("dev_mailbox", s("DELETE FROM dev_mailbox WHERE created_at < ?1", now - 7 * DAY_MS)),
        ("event_outbox", s("DELETE FROM event_outbox WHERE delivered_at < ?1", now - DAY_MS)),
        (
            "log_stream_deliveries",
            s("DELETE FROM log_stream_deliveries WHERE created_at < ?1", now - DELIVERY_RETENTION_DAYS * DAY_MS),
        ),
        (
            "log_stream_dead_letters",
            s("DELETE FROM log_stream_dead_letters WHERE dead_at < ?1", now - DEAD_LETTER_RETENTION_DAYS * DAY_MS),
        ),
    ]
}

pub async fn run<H: Host>(host: &H) -> Result<Report> {
    let mut report = Report::default();
    for (tenant, outcome) in crate::keys::rotation::maintain_all(host).await? {
        report.keys.push(serde_json::json!({ "tenant": tenant, "keys": outcome }));
    }
    report.rewrapped_data_keys = crate::keys::rewrap_data_keys(host, 1000).await?;
    let now = host.now();
    for (table, st) in housekeeping(now) {
        let n = host.db().execute(&st.sql, &st.params).await?;
        if n > 0 {
            report.deleted.push((table.to_string(), n));
        }
    }
    // Audit retention, each tenant's and the platform's, in bounded batches.
    use crate::logs::retention::{delete_expired, BATCH, MAX_BATCHES};
    let mut after: Option<String> = None;
    let mut audit = 0;
    loop {
        let page = crate::tenant::list(host, after.as_deref(), 100).await?;
        let Some(last) = page.last() else { break };
        after = Some(last.id.to_string());
        for t in &page {
            let cutoff = now - t.settings.audit_retention_days as i64 * DAY_MS;
            let swept = delete_expired(host, Some(&t.id), cutoff, BATCH, MAX_BATCHES).await?;
            audit += swept.deleted;
            report.audit_backlog |= swept.more;
        }
        if page.len() < 100 {
            break;
        }
    }
    if audit > 0 {
        report.deleted.push(("audit_events".into(), audit));
    }
    // Action execution records and dispatch claims, a bounded number of
    // batches per run.
    let cutoff = now - crate::actions::store::EXECUTION_RETENTION_DAYS * DAY_MS;
    for table in crate::actions::store::PRUNED {
        let mut deleted = 0;
        for _ in 0..MAX_BATCHES {
            let n = crate::actions::store::delete_old(host, table, cutoff, BATCH).await?;
            deleted += n;
            if n < BATCH as u64 {
                break;
            }
        }
        if deleted > 0 {
            report.deleted.push((table.0.into(), deleted));
        }
    }
    let cutoff = now - PLATFORM_AUDIT_RETENTION_DAYS * DAY_MS;
    let swept = delete_expired(host, None, cutoff, BATCH, MAX_BATCHES).await?;
    report.audit_backlog |= swept.more;
    if swept.deleted > 0 {
        report.deleted.push(("audit_events (platform)".into(), swept.deleted));
    }
    // The run's own record, so an operator (and a test) can see that the
    // scheduler ran it and what it changed.
    crate::logs::record(
        host,
        crate::logs::Audit {
            tenant: None,
            kind: crate::logs::EventType::Maintenance,
            description: "scheduled maintenance".into(),
            user: None,
            context: Default::default(),
            client_ip: "scheduler",
            details: serde_json::json!({
                "keys": report.keys,
                "deleted": report.deleted,
                "rewrapped_data_keys": report.rewrapped_data_keys,
                "audit_backlog": report.audit_backlog,
            }),
        },
    )
    .await?;
    Ok(report)
}
