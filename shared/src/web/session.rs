//! The session as the browser holds it: the cookie that carries it, and
//! where a signed-in user may be sent back to.

use crate::error::Result;
use crate::host::Host;
use crate::session::{self, Session, COOKIE};
use crate::tenant::TenantCtx;
use crate::web::router::Ctx;

/// A `Set-Cookie` value for `name` under the tenant's cookie path.
pub fn cookie(tctx: &TenantCtx, name: &str, value: &str, max_age_secs: i64) -> String {
    format!("{name}={value}; Path={}; Max-Age={max_age_secs}; HttpOnly; Secure; SameSite=Lax", tctx.cookie_path())
}

impl<H: Host> Ctx<'_, H> {
    /// The signed-in session of this request, if any.
    pub async fn session(&self) -> Result<Option<Session>> {
        session::current(self.host, self.tenant(), self.req.cookie(COOKIE).as_deref()).await
    }

    /// Ends this request's session; returns the cookie that clears it.
    pub async fn end_session(&self) -> Result<String> {
        session::end(self.host, self.tenant(), self.req.cookie(COOKIE).as_deref()).await?;
        Ok(cookie(self.tenant(), COOKIE, "", 0))
    }
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
    use crate::session::COOKIE;
    use crate::tenant::{Settings, Tenant};
    use crate::types::TenantId;

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
