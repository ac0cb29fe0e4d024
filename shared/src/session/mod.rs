//! Server-side sessions of the hosted pages.
//!
//! The browser holds a random 256-bit id in a `Secure; HttpOnly;
//! SameSite=Lax` cookie scoped to the tenant's path; the database holds its
//! digest, the user and the expiry. Ending a session deletes the row, so a
//! stolen cookie stops working at logout, password change or block.

pub mod account;
pub mod csrf;
pub mod login;
pub mod throttle;

use crate::crypto::{b64url, token_hash};
use crate::error::Result;
use crate::host::{Db, Host, HostExt, Statement};
use crate::request::Request;
use crate::tenant::TenantCtx;
use crate::types::{TenantId, UserId};
use crate::users::User;

pub const COOKIE: &str = "tessera_session";

pub struct Session {
    pub user: User,
    pub auth_time: i64,
    pub expires_at: i64,
}

/// A `Set-Cookie` value for `name` under the tenant's cookie path.
pub fn cookie(tctx: &TenantCtx, name: &str, value: &str, max_age_secs: i64) -> String {
    format!("{name}={value}; Path={}; Max-Age={max_age_secs}; HttpOnly; Secure; SameSite=Lax", tctx.cookie_path())
}

/// Starts a session and returns the cookie that carries it.
pub async fn start<H: Host>(host: &H, tctx: &TenantCtx, user: &UserId) -> Result<String> {
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
    Ok(cookie(tctx, COOKIE, &token, lifetime_ms / 1000))
}

/// The session the request's cookie names, if it is live, belongs to this
/// tenant, and its user is not blocked.
pub async fn current<H: Host>(host: &H, req: &Request, tctx: &TenantCtx) -> Result<Option<Session>> {
    let Some(token) = req.cookie(COOKIE) else {
        return Ok(None);
    };
    let rows = host
        .db()
        .query(
            "SELECT s.user_id, s.auth_time, s.expires_at FROM sessions s JOIN users u ON u.id = s.user_id AND u.tenant_id = s.tenant_id
             WHERE s.id_hash = ?1 AND s.tenant_id = ?2 AND s.expires_at > ?3 AND u.blocked = 0",
            &[token_hash(&token).into(), tctx.id().as_str().into(), host.now().into()],
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

/// Ends the session named by the request's cookie; returns the cookie that
/// clears it in the browser.
pub async fn end<H: Host>(host: &H, req: &Request, tctx: &TenantCtx) -> Result<String> {
    if let Some(token) = req.cookie(COOKIE) {
        host.db()
            .execute(
                "DELETE FROM sessions WHERE id_hash = ?1 AND tenant_id = ?2",
                &[token_hash(&token).into(), tctx.id().as_str().into()],
            )
            .await?;
    }
    Ok(cookie(tctx, COOKIE, "", 0))
}

/// Ends every session of a user (password change, block).
pub fn delete_all_statement(tenant: &TenantId, user: &UserId) -> Statement {
    Statement::new(
        "DELETE FROM sessions WHERE tenant_id = ?1 AND user_id = ?2",
        vec![tenant.as_str().into(), user.as_str().into()],
    )
}

/// Where to go after login: only a path under this tenant, never another
/// origin (no open redirect: `//evil`, `/\evil` and absolute URLs are refused).
pub fn safe_return_to(tctx: &TenantCtx, candidate: Option<&str>) -> String {
    let fallback = tctx.path("/account");
    let Some(c) = candidate else { return fallback };
    let within = if tctx.base_path.is_empty() {
        c.starts_with('/')
    } else {
        c == tctx.base_path || c.starts_with(&format!("{}/", tctx.base_path))
    };
    let unsafe_chars = c.starts_with("//") || c.contains('\\') || c.chars().any(|ch| ch.is_control());
    if within && !unsafe_chars {
        c.to_owned()
    } else {
        fallback
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::tenant::{Settings, Tenant};

    fn tctx() -> TenantCtx {
        let t = Tenant {
            id: TenantId("ten_1".into()),
            slug: "demo".into(),
            name: "Demo".into(),
            settings: Settings::default(),
            created_at: 0,
            updated_at: 0,
        };
        TenantCtx::new(t, "http://127.0.0.1:8787", false)
    }

    #[test]
    fn return_to_stays_inside_the_tenant() {
        let t = tctx();
        assert_eq!(safe_return_to(&t, Some("/t/demo/account?x=1")), "/t/demo/account?x=1");
        for bad in ["//evil.example", "https://evil.example", "/t/demo2/account", "/t/demo/\\evil", "/other"] {
            assert_eq!(safe_return_to(&t, Some(bad)), "/t/demo/account", "{bad}");
        }
    }

    #[test]
    fn cookies_are_scoped_and_hardened() {
        let c = cookie(&tctx(), COOKIE, "abc", 60);
        assert_eq!(c, "tessera_session=abc; Path=/t/demo; Max-Age=60; HttpOnly; Secure; SameSite=Lax");
    }
}
