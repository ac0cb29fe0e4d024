//! Multi-factor authentication: the policy, a user's factors, when a sign-in
//! needs a second factor, and remembered browsers.
//!
//! Factors: an authenticator app ([`totp`]), codes by email
//! ([`email_otp`]) and recovery codes ([`recovery`]). A session records the methods it used (RFC 8176 `amr`)
//! and when a second factor was last verified; the ID token carries both as
//! `amr` and `acr`.

pub mod email_otp;
pub mod recovery;
pub mod totp;

use serde::Serialize;

use crate::crypto::{b64url, token_hash};
use crate::error::Result;
use crate::host::{Db, Host, HostExt, Statement};
use crate::types::{Secret, TenantId, UserId};

/// The policy lives with the tenant's settings (which this module reads).
pub use crate::tenant::MfaPolicy as Policy;

/// `acr` of a sign-in with a second factor: the PAPE multi-factor policy,
/// the value Auth0 and others use in `acr_values` to ask for MFA.
pub const ACR_MFA: &str = "http://schemas.openid.net/pape/policies/2007/06/multi-factor";
/// `acr` of a sign-in with a password alone.
pub const ACR_PASSWORD: &str = "urn:tessera:acr:pwd";

/// What a session proved, as RFC 8176 methods.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Amr(pub Vec<String>);

impl Amr {
    pub fn password() -> Amr {
        Amr(vec!["pwd".into()])
    }

    pub fn parse(s: &str) -> Amr {
        Amr(s.split(' ').filter(|m| !m.is_empty()).map(str::to_owned).collect())
    }

    /// The methods after a second factor: `otp` for a one-time code, and
    /// `mfa` for any second factor.
    pub fn with_second_factor(&self, otp: bool) -> Amr {
        let mut out = self.0.clone();
        for m in otp.then_some("otp").into_iter().chain(["mfa"]) {
            if !out.iter().any(|x| x == m) {
                out.push(m.into());
            }
        }
        Amr(out)
    }

    pub fn has_mfa(&self) -> bool {
        self.0.iter().any(|m| m == "mfa")
    }

    pub fn acr(&self) -> &'static str {
        if self.has_mfa() {
            ACR_MFA
        } else {
            ACR_PASSWORD
        }
    }

    pub fn joined(&self) -> String {
        self.0.join(" ")
    }
}

/// A user's factors.
#[cfg_attr(feature = "openapi", derive(schemars::JsonSchema))]
#[derive(Debug, Clone, Serialize)]
pub struct Factors {
    /// The authenticator app, if one is set up or being set up.
    pub totp: Option<totp::TotpFactor>,
    /// Codes by email, if enrolled.
    pub email: Option<email_otp::EmailFactor>,
    /// Unused recovery codes.
    pub recovery_codes_remaining: u32,
}

impl Factors {
    /// Whether the user has a second factor to be asked for.
    pub fn enrolled(&self) -> bool {
        self.has_app() || self.has_email()
    }

    pub fn has_app(&self) -> bool {
        self.totp.as_ref().is_some_and(|t| t.confirmed)
    }

    pub fn has_email(&self) -> bool {
        self.email.as_ref().is_some_and(|e| e.confirmed)
    }
}

pub async fn factors<H: Host>(host: &H, tenant: &TenantId, user: &UserId) -> Result<Factors> {
    Ok(Factors {
        totp: totp::get(host, tenant, user).await?,
        email: email_otp::get(host, tenant, user).await?,
        recovery_codes_remaining: recovery::remaining(host, tenant, user).await?,
    })
}

/// Whether the user has a confirmed factor: one query, for the paths that
/// need only this answer (every sign-in and authorization request).
pub async fn enrolled<H: Host>(host: &H, tenant: &TenantId, user: &UserId) -> Result<bool> {
    let rows = host
        .db()
        .query(
            "SELECT EXISTS (SELECT 1 FROM mfa_totp WHERE tenant_id = ?1 AND user_id = ?2 AND confirmed_at IS NOT NULL)
                 OR EXISTS (SELECT 1 FROM mfa_email WHERE tenant_id = ?1 AND user_id = ?2 AND confirmed_at IS NOT NULL) AS yes",
            &[tenant.as_str().into(), user.as_str().into()],
        )
        .await?;
    Ok(rows.first().map(|r| r.bool("yes")).transpose()?.unwrap_or(false))
}

/// Removes every factor and remembered browser of a user; whether there was
/// anything to remove.
pub async fn reset<H: Host>(host: &H, tenant: &TenantId, user: &UserId) -> Result<bool> {
    let mut stmts = vec![
        totp::delete_statement(tenant, user),
        recovery::delete_statement(tenant, user),
        forget_browsers_statement(tenant, user),
    ];
    stmts.extend(email_otp::delete_statements(tenant, user));
    let counts = host.db().batch(stmts).await?;
    Ok(counts.iter().any(|c| *c > 0))
}

/// What an authorization request asks of the session.
pub struct Demand {
    pub policy: Policy,
    /// `acr_values` named the multi-factor policy.
    pub acr_mfa: bool,
    /// `max_age` in seconds: a second factor older than this is stale.
    pub max_age: Option<i64>,
}

/// Whether a signed-in session must (re)verify a second factor before the
/// request goes on (OIDC Core §3.1.2.1 `acr_values`, `max_age`).
pub fn step_up_needed(d: &Demand, enrolled: bool, amr: &Amr, mfa_time: Option<i64>, now: i64) -> bool {
    if d.acr_mfa && !amr.has_mfa() {
        return true;
    }
    let applies = match d.policy {
        Policy::Never => false,
        Policy::Optional => enrolled,
        Policy::Required => true,
    };
    let stale = |t: i64| d.max_age.is_some_and(|m| now - t > m * 1000);
    applies && mfa_time.is_none_or(stale)
}

/// The cookie of a remembered browser.
pub const REMEMBER_COOKIE: &str = "tessera_mfa_remember";

/// Remembers this browser for `days` after a second factor verified at
/// `mfa_time`; returns the cookie value and its max age in seconds.
pub async fn remember_browser<H: Host>(
    host: &H,
    tenant: &TenantId,
    user: &UserId,
    mfa_time: i64,
    days: u32,
) -> Result<(Secret<String>, i64)> {
    let token = b64url(&host.random_bytes::<32>());
    let lifetime_ms = days as i64 * 86_400_000;
    host.db()
        .execute(
            "INSERT INTO mfa_remembered_browsers (id_hash, tenant_id, user_id, mfa_time, expires_at) VALUES (?1, ?2, ?3, ?4, ?5)",
            &[
                token_hash(&token).into(),
                tenant.as_str().into(),
                user.as_str().into(),
                mfa_time.into(),
                (host.now() + lifetime_ms).into(),
            ],
        )
        .await?;
    Ok((Secret::new(token), lifetime_ms / 1000))
}

/// When the second factor that made this browser remembered for `user` was
/// verified, if the cookie is live and the user's.
pub async fn remembered<H: Host>(
    host: &H,
    tenant: &TenantId,
    user: &UserId,
    token: Option<&str>,
) -> Result<Option<i64>> {
    let Some(token) = token else {
        return Ok(None);
    };
    let rows = host
        .db()
        .query(
            "SELECT mfa_time FROM mfa_remembered_browsers
             WHERE id_hash = ?1 AND tenant_id = ?2 AND user_id = ?3 AND expires_at > ?4",
            &[token_hash(token).into(), tenant.as_str().into(), user.as_str().into(), host.now().into()],
        )
        .await?;
    rows.first().map(|r| r.int("mfa_time")).transpose().map_err(Into::into)
}

pub fn forget_browsers_statement(tenant: &TenantId, user: &UserId) -> Statement {
    Statement::new(
        "DELETE FROM mfa_remembered_browsers WHERE tenant_id = ?1 AND user_id = ?2",
        vec![tenant.as_str().into(), user.as_str().into()],
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn demand(policy: Policy) -> Demand {
        Demand { policy, acr_mfa: false, max_age: None }
    }

    #[test]
    fn who_is_asked_for_a_second_factor() {
        let pwd = Amr::password();
        let mfa = pwd.with_second_factor(true);
        assert_eq!(mfa.joined(), "pwd otp mfa");
        // Optional asks only the enrolled; required everyone; never no one.
        assert!(!step_up_needed(&demand(Policy::Optional), false, &pwd, None, 0));
        assert!(step_up_needed(&demand(Policy::Optional), true, &pwd, None, 0));
        assert!(step_up_needed(&demand(Policy::Required), false, &pwd, None, 0));
        assert!(!step_up_needed(&demand(Policy::Never), true, &pwd, None, 0));
        assert!(!step_up_needed(&demand(Policy::Required), true, &mfa, Some(0), 0));
        // acr_values asks for a factor verified in this session, whatever
        // the policy: a remembered browser (mfa_time without `mfa`) is not it.
        let acr = Demand { policy: Policy::Never, acr_mfa: true, max_age: None };
        assert!(step_up_needed(&acr, true, &pwd, Some(0), 0));
        assert!(!step_up_needed(&acr, true, &mfa, Some(0), 0));
        // max_age makes an old second factor stale.
        let fresh = Demand { policy: Policy::Optional, acr_mfa: false, max_age: Some(60) };
        assert!(!step_up_needed(&fresh, true, &mfa, Some(1_000), 30_000));
        assert!(step_up_needed(&fresh, true, &mfa, Some(1_000), 120_000));
    }
}
