//! Audit-log retention in bounded batches: each statement deletes at most
//! `batch` of the oldest expired rows, found through the `(tenant_id,
//! created_at)` index, so none holds the database for long however large
//! the backlog; a run stops after `max_batches` and the next one goes on.

use crate::error::Result;
use crate::host::{Db, Host, Value};
use crate::types::TenantId;

/// Rows per DELETE statement.
pub const BATCH: u32 = 1_000;
/// Statements per tenant per maintenance run (the rest waits for the next).
pub const MAX_BATCHES: u32 = 50;

/// What one tenant's (or the platform's) retention did.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct Swept {
    pub deleted: u64,
    pub statements: u32,
    /// Expired rows are left for the next run.
    pub more: bool,
}

/// Deletes the events of `tenant` (None: the platform's own) created before
/// `cutoff` (ms), oldest first, `batch` rows a statement, at most
/// `max_batches` statements.
pub async fn delete_expired<H: Host>(
    host: &H,
    tenant: Option<&TenantId>,
    cutoff: i64,
    batch: u32,
    max_batches: u32,
) -> Result<Swept> {
    let mut swept = Swept::default();
    let tenant: Value = tenant.map(|t| t.as_str()).into();
    while swept.statements < max_batches {
        let n = host
            .db()
            .execute(
                "DELETE FROM audit_events WHERE rowid IN (
                   SELECT rowid FROM audit_events WHERE tenant_id IS ?1 AND created_at < ?2 ORDER BY created_at LIMIT ?3)",
                &[tenant.clone(), cutoff.into(), Value::Integer(batch as i64)],
            )
            .await?;
        swept.statements += 1;
        swept.deleted += n;
        if n < batch as u64 {
            return Ok(swept);
        }
    }
    swept.more = true;
    Ok(swept)
}
