//! CSRF protection for every hosted form (OWASP: signed double-submit
//! cookie).
//!
//! A random value lives in an HttpOnly cookie scoped to the tenant; each form
//! carries HMAC(csrf key, tenant id | cookie value | session digest). An
//! attacker's page can make the browser send the cookie but can neither read
//! it nor compute the MAC, and the MAC binds the token to one tenant. The
//! CSRF key is derived from the master key, so it is the same on every edge
//! location.
//!
//! The MAC also covers the session cookie (its digest, or nothing before
//! sign-in). Someone who can plant cookies for the site (a sibling
//! subdomain) can plant a `tessera_csrf` value whose token they fetched for
//! themselves; bound to the session, that token is worthless against a
//! signed-in victim, whose session cookie they cannot read. Signing in
//! changes the binding, so forms rendered before it must be reloaded.

use crate::crypto::{b64url, ct_eq_str, hmac_sha256, token_hash};
use crate::error::{Error, Result};
use crate::host::{Host, HostExt};
use crate::keys::MasterKeys;
use crate::tenant::TenantCtx;
use crate::web::request::{Form, Request};

pub const COOKIE: &str = "tessera_csrf";
pub const FIELD: &str = "csrf_token";

fn mac<H: Host>(host: &H, req: &Request, tctx: &TenantCtx, cookie_value: &str) -> Result<String> {
    let master = MasterKeys::load(host)?;
    let key = master.derive(b"tessera:csrf:v2");
    let session = req.cookie(crate::session::COOKIE).map(|s| token_hash(&s)).unwrap_or_default();
    let data = format!("{}|{}|{}", tctx.id(), cookie_value, session);
    Ok(b64url(&hmac_sha256(&key, data.as_bytes())))
}

fn well_formed(v: &str) -> bool {
    v.len() == 43 && v.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
}

/// The token to embed in a form, and the cookie to set if the browser has
/// none yet.
pub fn issue<H: Host>(host: &H, req: &Request, tctx: &TenantCtx) -> Result<(String, Option<String>)> {
    match req.cookie(COOKIE).filter(|v| well_formed(v)) {
        Some(v) => Ok((mac(host, req, tctx, &v)?, None)),
        None => {
            let v = b64url(&host.random_bytes::<32>());
            let set = format!("{COOKIE}={v}; Path={}; HttpOnly; Secure; SameSite=Lax", tctx.cookie_path());
            Ok((mac(host, req, tctx, &v)?, Some(set)))
        }
    }
}

/// Checks a submitted form's token against the cookie.
pub fn verify<H: Host>(host: &H, req: &Request, tctx: &TenantCtx, form: &Form) -> Result<()> {
    let refused = || Error::forbidden("the form's CSRF token is missing or invalid; reload the page and try again");
    let cookie = req.cookie(COOKIE).filter(|v| well_formed(v)).ok_or_else(refused)?;
    let submitted = form.get(FIELD).ok_or_else(refused)?;
    if ct_eq_str(submitted, &mac(host, req, tctx, &cookie)?) {
        Ok(())
    } else {
        Err(refused())
    }
}
