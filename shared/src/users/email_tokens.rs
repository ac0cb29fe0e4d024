//! Single-use, expiring tokens sent by email: address verification and
//! password reset.
//!
//! Only a digest of the token is stored. Use is decided by one conditional
//! `UPDATE ... WHERE used_at IS NULL AND expires_at > now RETURNING`, so two
//! concurrent redemptions cannot both succeed (the database picks one).

use crate::crypto::{b64url, token_hash};
use crate::error::Result;
use crate::host::{Db, Host, HostExt};
use crate::types::{Secret, TenantId, UserId};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Purpose {
    VerifyEmail,
    ResetPassword,
}

impl Purpose {
    fn as_str(self) -> &'static str {
        match self {
            Purpose::VerifyEmail => "verify_email",
            Purpose::ResetPassword => "reset_password",
        }
    }

    /// Verification links live a day; reset links an hour (OWASP Forgot
    /// Password cheat sheet: short-lived).
    pub fn ttl_ms(self) -> i64 {
        match self {
            Purpose::VerifyEmail => 24 * 3600 * 1000,
            Purpose::ResetPassword => 3600 * 1000,
        }
    }
}

/// Issues a token. Earlier unused tokens of the same purpose for the user are
/// invalidated, so only the newest link works.
pub async fn issue<H: Host>(host: &H, tenant: &TenantId, user: &UserId, purpose: Purpose) -> Result<Secret<String>> {
    let token = b64url(&host.random_bytes::<32>());
    let now = host.now();
    host.db()
        .batch(vec![
            crate::host::Statement::new(
                "UPDATE email_tokens SET used_at = ?1 WHERE tenant_id = ?2 AND user_id = ?3 AND purpose = ?4 AND used_at IS NULL",
                vec![now.into(), tenant.as_str().into(), user.as_str().into(), purpose.as_str().into()],
            ),
            crate::host::Statement::new(
                "INSERT INTO email_tokens (token_hash, tenant_id, user_id, purpose, created_at, expires_at)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
                vec![
                    token_hash(&token).into(),
                    tenant.as_str().into(),
                    user.as_str().into(),
                    purpose.as_str().into(),
                    now.into(),
                    (now + purpose.ttl_ms()).into(),
                ],
            ),
        ])
        .await?;
    Ok(Secret::new(token))
}

/// Whether a token would be accepted now, without using it (to decide which
/// page to show).
pub async fn is_valid<H: Host>(host: &H, tenant: &TenantId, token: &str, purpose: Purpose) -> Result<bool> {
    let rows = host
        .db()
        .query(
            "SELECT 1 AS ok FROM email_tokens WHERE token_hash = ?1 AND tenant_id = ?2 AND purpose = ?3
             AND used_at IS NULL AND expires_at > ?4",
            &[token_hash(token).into(), tenant.as_str().into(), purpose.as_str().into(), host.now().into()],
        )
        .await?;
    Ok(!rows.is_empty())
}

/// Uses a token; returns its user when it was valid, unused and unexpired.
pub async fn consume<H: Host>(host: &H, tenant: &TenantId, token: &str, purpose: Purpose) -> Result<Option<UserId>> {
    let now = host.now();
    let rows = host
        .db()
        .query(
            "UPDATE email_tokens SET used_at = ?1
             WHERE token_hash = ?2 AND tenant_id = ?3 AND purpose = ?4 AND used_at IS NULL AND expires_at > ?1
             RETURNING user_id",
            &[now.into(), token_hash(token).into(), tenant.as_str().into(), purpose.as_str().into()],
        )
        .await?;
    match rows.first() {
        Some(r) => Ok(Some(UserId(r.text("user_id")?))),
        None => Ok(None),
    }
}
