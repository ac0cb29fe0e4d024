//! Failed-login throttling: a lock per account and a limit per IP address.
//!
//! Counters are keyed by what the client typed (the normalised email), not by
//! whether an account exists, so a locked-out response looks the same for an
//! address with an account and one without: the lock itself reveals nothing.
//! Counts live in the database (not KV) because they must be exact.

use crate::error::Result;
use crate::host::{Db, Host, HostExt, Value};
use crate::types::TenantId;

pub fn account_key(email: &str) -> String {
    format!("acct:{}", email.trim().to_lowercase())
}

pub fn ip_key(ip: &str) -> String {
    format!("ip:{ip}")
}

/// When the key is locked, until when (ms since epoch).
pub async fn locked_until<H: Host>(host: &H, tenant: &TenantId, key: &str) -> Result<Option<i64>> {
    let rows = host
        .db()
        .query(
            "SELECT locked_until FROM login_throttle WHERE tenant_id = ?1 AND key = ?2 AND locked_until > ?3",
            &[tenant.as_str().into(), key.into(), host.now().into()],
        )
        .await?;
    match rows.first() {
        Some(r) => Ok(r.opt_int("locked_until")?),
        None => Ok(None),
    }
}

/// Counts a failure in a window of `window_ms`; at `threshold` failures the
/// key is locked for the same duration. Returns whether it is now locked.
pub async fn record_failure<H: Host>(
    host: &H,
    tenant: &TenantId,
    key: &str,
    threshold: u32,
    window_ms: i64,
) -> Result<bool> {
    let now = host.now();
    // One statement: start a window, or count within the current one.
    let rows = host
        .db()
        .query(
            "INSERT INTO login_throttle (tenant_id, key, failures, window_start) VALUES (?1, ?2, 1, ?3)
             ON CONFLICT (tenant_id, key) DO UPDATE SET
               failures = CASE WHEN window_start <= ?3 - ?4 THEN 1 ELSE failures + 1 END,
               window_start = CASE WHEN window_start <= ?3 - ?4 THEN ?3 ELSE window_start END
             RETURNING failures",
            &[tenant.as_str().into(), key.into(), now.into(), Value::Integer(window_ms)],
        )
        .await?;
    let failures = rows.first().map(|r| r.int("failures")).transpose()?.unwrap_or(1);
    if failures >= threshold as i64 {
        host.db()
            .execute(
                "UPDATE login_throttle SET locked_until = ?1, failures = 0, window_start = ?2
                 WHERE tenant_id = ?3 AND key = ?4",
                &[(now + window_ms).into(), now.into(), tenant.as_str().into(), key.into()],
            )
            .await?;
        return Ok(true);
    }
    Ok(false)
}

pub async fn clear<H: Host>(host: &H, tenant: &TenantId, key: &str) -> Result<()> {
    host.db()
        .execute("DELETE FROM login_throttle WHERE tenant_id = ?1 AND key = ?2", &[tenant.as_str().into(), key.into()])
        .await?;
    Ok(())
}

/// Unsolicited emails (reset links, resent verifications, sign-up notices)
/// per address per hour: enough for a person, too few to bomb a mailbox.
pub const MAILS_PER_HOUR: u32 = 5;

/// Whether one more such email may go to `email` now; counts it if so.
pub async fn allow_mail<H: Host>(host: &H, tenant: &TenantId, email: &str) -> Result<bool> {
    let key = format!("mail:{}", email.trim().to_lowercase());
    if locked_until(host, tenant, &key).await?.is_some() {
        return Ok(false);
    }
    // The (limit + 1)-th mail within the hour locks the key instead of going.
    Ok(!record_failure(host, tenant, &key, MAILS_PER_HOUR + 1, 3_600_000).await?)
}
