//! Server-side sessions of the hosted pages.
//!
//! The browser holds a random 256-bit id in a `Secure; HttpOnly;
//! SameSite=Lax` cookie scoped to the tenant's path; the database holds its
//! digest, the user and the expiry. Ending a session deletes the row, so a
//! stolen cookie stops working at logout, password change or block.

pub mod throttle;

use crate::crypto::{b64url, token_hash};
use crate::error::Result;
use crate::host::{Db, Host, HostExt, Statement};
use crate::tenant::TenantCtx;
use crate::types::{TenantId, UserId};
use crate::users::User;

pub const COOKIE: &str = "tessera_session";

pub struct Session {
    pub user: User,
    pub auth_time: i64,
    pub expires_at: i64,
}

/// A started session: the secret the cookie carries, and how long it lives.
pub struct Started {
    pub token: crate::types::Secret<String>,
    pub max_age_secs: i64,
}

/// Starts a session; the web layer puts the token in the cookie.
pub async fn start<H: Host>(host: &H, tctx: &TenantCtx, user: &UserId) -> Result<Started> {
    let token = b64url(&host.random_bytes::<32>());
    let now = host.now();
    let lifetime_ms = tctx.tenant.settings.session_lifetime_minutes as i64 * 60_000;
    host.db()
        .batch(vec![
            // Sweep this user's expired sessions while we are here.
            Statement::new(
                "DELETE FROM sessions WHERE tenant_id = ?1 AND user_id = ?2 AND expires_at <= ?3",
                vec![tctx.id().as_str().into(), user.as_str().into(), now.into()],
            ),
            Statement::new(
                "INSERT INTO sessions (id_hash, tenant_id, user_id, created_at, auth_time, expires_at)
                 VALUES (?1, ?2, ?3, ?4, ?4, ?5)",
                vec![
                    token_hash(&token).into(),
                    tctx.id().as_str().into(),
                    user.as_str().into(),
                    now.into(),
                    (now + lifetime_ms).into(),
                ],
            ),
        ])
        .await?;
    Ok(Started { token: crate::types::Secret::new(token), max_age_secs: lifetime_ms / 1000 })
}

/// The session the session cookie's `token` names, if it is live, belongs
/// to this tenant, and its user is not blocked.
pub async fn current<H: Host>(host: &H, tctx: &TenantCtx, token: Option<&str>) -> Result<Option<Session>> {
    let Some(token) = token else {
        return Ok(None);
    };
    let rows = host
        .db()
        .query(
            "SELECT s.user_id, s.auth_time, s.expires_at FROM sessions s JOIN users u ON u.id = s.user_id AND u.tenant_id = s.tenant_id
             WHERE s.id_hash = ?1 AND s.tenant_id = ?2 AND s.expires_at > ?3 AND u.blocked = 0",
            &[token_hash(token).into(), tctx.id().as_str().into(), host.now().into()],
        )
        .await?;
    let Some(row) = rows.first() else {
        return Ok(None);
    };
    let Some(user) = crate::users::get(host, tctx.id(), &row.text("user_id")?).await? else {
        return Ok(None);
    };
    Ok(Some(Session { user, auth_time: row.int("auth_time")?, expires_at: row.int("expires_at")? }))
}

/// Ends the session the cookie's `token` names.
pub async fn end<H: Host>(host: &H, tctx: &TenantCtx, token: Option<&str>) -> Result<()> {
    if let Some(token) = token {
        host.db()
            .execute(
                "DELETE FROM sessions WHERE id_hash = ?1 AND tenant_id = ?2",
                &[token_hash(token).into(), tctx.id().as_str().into()],
            )
            .await?;
    }
    Ok(())
}

/// Ends every session of a user (password change, block).
pub fn delete_all_statement(tenant: &TenantId, user: &UserId) -> Statement {
    Statement::new(
        "DELETE FROM sessions WHERE tenant_id = ?1 AND user_id = ?2",
        vec![tenant.as_str().into(), user.as_str().into()],
    )
}
