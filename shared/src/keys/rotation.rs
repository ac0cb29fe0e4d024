//! Scheduled signing-key rotation per tenant.
//!
//! Every run (a cron trigger on Workers, `POST /api/v1/internal/maintenance`
//! elsewhere) moves each tenant's keys along:
//!
//! 1. When the active key is within [`PUBLISH_LEAD_MS`] of its rotation age
//!    (`signing_key_rotation_days`), a `next` key is created and published in
//!    the JWKS, but does not sign yet.
//! 2. When the active key reaches its rotation age and the next key has been
//!    published for at least the lead time (so caches of the JWKS, which
//!    live at most 5 minutes, have picked it up), the next key becomes active
//!    and the old one `verify_only`, with `retire_after` set past the expiry
//!    of the last token it can have signed.
//! 3. A verify-only key past `retire_after` is retired: it leaves the JWKS and
//!    its private half is erased.

use crate::error::Result;
use crate::host::{Db, Host, HostExt, Statement};
use crate::tenant::Tenant;
use crate::types::TenantId;

/// How long a key is published before it signs.
pub const PUBLISH_LEAD_MS: i64 = 3_600_000;

/// Demotes the active key and promotes `kid` (a `next` key), atomically when
/// run in one batch: the demotion first, for the one-active index.
pub fn promote_statements(tenant: &TenantId, kid: &str, now: i64) -> Vec<Statement> {
    vec![
        Statement::new(
            "UPDATE signing_keys SET status = 'verify_only', retire_after = ?1 WHERE tenant_id = ?2 AND status = 'active'",
            vec![(now + super::MAX_TOKEN_LIFETIME_MS).into(), tenant.as_str().into()],
        ),
        Statement::new(
            "UPDATE signing_keys SET status = 'active', activated_at = ?1 WHERE tenant_id = ?2 AND kid = ?3 AND status = 'next'",
            vec![now.into(), tenant.as_str().into(), kid.into()],
        ),
    ]
}

/// What a run did to one tenant.
#[derive(Debug, Default, PartialEq, Eq, serde::Serialize)]
pub struct Outcome {
    pub published: Option<String>,
    pub activated: Option<String>,
    pub retired: Vec<String>,
}

pub async fn maintain<H: Host>(host: &H, tenant: &Tenant) -> Result<Outcome> {
    let t = &tenant.id;
    let now = host.now();
    let period_ms = tenant.settings.signing_key_rotation_days as i64 * 86_400_000;
    let mut out = Outcome::default();
    let rows = host
        .db()
        .query(
            "SELECT kid, status, created_at, activated_at, retire_after FROM signing_keys
             WHERE tenant_id = ?1 AND status IN ('next', 'active', 'verify_only')",
            &[t.as_str().into()],
        )
        .await?;
    let mut active = None;
    let mut next = None;
    for r in &rows {
        let kid = r.text("kid")?;
        match r.text("status")?.as_str() {
            "active" => active = Some((kid, r.opt_int("activated_at")?.unwrap_or(r.int("created_at")?))),
            "next" => next = Some((kid, r.int("created_at")?)),
            _ => {
                if r.opt_int("retire_after")?.is_some_and(|ra| ra <= now) {
                    let n = host
                        .db()
                        .execute(
                            "UPDATE signing_keys SET status = 'retired', retired_at = ?1, private_key_enc = ''
                             WHERE tenant_id = ?2 AND kid = ?3 AND status = 'verify_only'",
                            &[now.into(), t.as_str().into(), kid.clone().into()],
                        )
                        .await?;
                    if n == 1 {
                        out.retired.push(kid);
                    }
                }
            }
        }
    }
    if let Some((_, since)) = &active {
        let age = now - since;
        match &next {
            None if age >= period_ms - PUBLISH_LEAD_MS => {
                let dek = super::data_key(host, t).await?;
                let stmt = super::new_signing_key_statement(host, t, &dek, now, "next");
                if let Some(crate::host::Value::Text(kid)) = stmt.params.first() {
                    out.published = Some(kid.clone());
                }
                host.db().batch(vec![stmt]).await?;
            }
            Some((kid, published_at)) if age >= period_ms && now - published_at >= PUBLISH_LEAD_MS => {
                host.db().batch(promote_statements(t, kid, now)).await?;
                super::forget_signing_key(t);
                out.activated = Some(kid.clone());
            }
            _ => {}
        }
    }
    if out != Outcome::default() {
        super::forget_jwks(host, t).await?;
    }
    Ok(out)
}

/// Runs [`maintain`] for every tenant.
pub async fn maintain_all<H: Host>(host: &H) -> Result<Vec<(String, Outcome)>> {
    let mut done = Vec::new();
    let mut after: Option<String> = None;
    loop {
        let page = crate::tenant::list(host, after.as_deref(), 100).await?;
        let Some(last) = page.last() else { break };
        after = Some(last.id.to_string());
        for tenant in &page {
            let o = maintain(host, tenant).await?;
            if o != Outcome::default() {
                done.push((tenant.slug.clone(), o));
            }
        }
        if page.len() < 100 {
            break;
        }
    }
    Ok(done)
}
