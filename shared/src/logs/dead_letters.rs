//! A stream's dead-letter store: events that failed every attempt, listed
//! and sent again on request.

use crate::error::Result;
use crate::host::{Db, Host, HostExt, Statement, Value};
use crate::types::TenantId;

/// A dead-lettered event.
#[cfg_attr(feature = "openapi", derive(schemars::JsonSchema))]
#[derive(Debug, Clone, serde::Serialize)]
pub struct DeadLetter {
    pub log_id: String,
    pub attempts: i64,
    pub last_error: String,
    /// When it was moved to the dead-letter store.
    pub dead_at: String,
    pub event: serde_json::Value,
}

pub async fn list<H: Host>(
    host: &H,
    tenant: &TenantId,
    stream: &str,
    after: Option<&str>,
    limit: u32,
) -> Result<Vec<DeadLetter>> {
    let rows = host
        .db()
        .query(
            "SELECT event_id, payload, attempts, last_error, dead_at FROM log_stream_dead_letters
             WHERE tenant_id = ?1 AND stream_id = ?2 AND event_id > ?3 ORDER BY event_id LIMIT ?4",
            &[tenant.as_str().into(), stream.into(), after.unwrap_or("").into(), (limit as i64).into()],
        )
        .await?;
    rows.iter()
        .map(|r| {
            Ok(DeadLetter {
                log_id: r.text("event_id")?,
                attempts: r.int("attempts")?,
                last_error: r.text("last_error")?,
                dead_at: super::record::iso_date(r.int("dead_at")?),
                event: serde_json::from_str(&r.text("payload")?).unwrap_or_default(),
            })
        })
        .collect()
}

/// Moves dead-lettered events (one, or all of the stream) back to be
/// delivered now, with fresh attempts. Returns how many.
pub async fn redeliver<H: Host>(host: &H, tenant: &TenantId, stream: &str, event: Option<&str>) -> Result<u64> {
    let now = host.now();
    let params: Vec<Value> = vec![tenant.as_str().into(), stream.into(), event.into(), now.into()];
    let counts = host
        .db()
        .batch(vec![
            Statement::new(
                "INSERT OR IGNORE INTO log_stream_pending (stream_id, event_id, tenant_id, payload, created_at, attempts, next_attempt_at)
                 SELECT stream_id, event_id, tenant_id, payload, created_at, 0, ?4 FROM log_stream_dead_letters
                 WHERE tenant_id = ?1 AND stream_id = ?2 AND (?3 IS NULL OR event_id = ?3)",
                params.clone(),
            ),
            Statement::new(
                "DELETE FROM log_stream_dead_letters WHERE tenant_id = ?1 AND stream_id = ?2 AND (?3 IS NULL OR event_id = ?3) AND ?4 IS NOT NULL",
                params,
            ),
        ])
        .await?;
    Ok(counts.get(1).copied().unwrap_or(0))
}
