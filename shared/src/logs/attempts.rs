//! The record of each delivery attempt of a stream (`log_stream_deliveries`).

use crate::error::Result;
use crate::host::{Db, Host};
use crate::types::TenantId;

/// A stream's recent delivery attempts, newest first.
#[cfg_attr(feature = "openapi", derive(schemars::JsonSchema))]
#[derive(Debug, Clone, serde::Serialize)]
pub struct Delivery {
    pub id: String,
    pub batch_id: String,
    pub attempt: i64,
    pub events: i64,
    pub status_code: Option<i64>,
    pub error: Option<String>,
    pub duration_ms: i64,
    pub date: String,
}

pub async fn deliveries<H: Host>(host: &H, tenant: &TenantId, stream: &str, limit: u32) -> Result<Vec<Delivery>> {
    let rows = host
        .db()
        .query(
            "SELECT id, batch_id, attempt, events, status_code, error, duration_ms, created_at FROM log_stream_deliveries
             WHERE tenant_id = ?1 AND stream_id = ?2 ORDER BY created_at DESC, id DESC LIMIT ?3",
            &[tenant.as_str().into(), stream.into(), (limit as i64).into()],
        )
        .await?;
    rows.iter()
        .map(|r| {
            Ok(Delivery {
                id: r.text("id")?,
                batch_id: r.text("batch_id")?,
                attempt: r.int("attempt")?,
                events: r.int("events")?,
                status_code: r.opt_int("status_code")?,
                error: r.opt_text("error")?,
                duration_ms: r.int("duration_ms")?,
                date: super::record::iso_date(r.int("created_at")?),
            })
        })
        .collect()
}
