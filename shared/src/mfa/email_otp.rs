//! One-time codes by email: a second factor for users without an
//! authenticator app (enrolled by typing back a first code sent to their
//! verified address).
//!
//! A code is 6 digits, lives 5 minutes, allows 5 attempts and replaces any
//! earlier code; at most 3 are sent per 15 minutes. Only a digest bound to
//! the code's row is stored. Each attempt is counted and the code is taken by
//! conditional UPDATEs in the database, never decided in KV.

use crate::crypto::{ct_eq_str, hex, token_hash};
use crate::error::Result;
use crate::host::{Db, Host, HostExt, Statement};
use crate::types::{TenantId, UserId};
use crate::users::User;

pub const TTL_MS: i64 = 5 * 60_000;
pub const MAX_ATTEMPTS: i64 = 5;
pub const SENDS_PER_WINDOW: i64 = 3;
pub const SEND_WINDOW_MS: i64 = 15 * 60_000;

/// The email factor as the account page and API show it.
#[cfg_attr(feature = "openapi", derive(schemars::JsonSchema))]
#[derive(Debug, Clone, serde::Serialize)]
pub struct EmailFactor {
    pub confirmed: bool,
    pub created_at: i64,
}

pub async fn get<H: Host>(host: &H, tenant: &TenantId, user: &UserId) -> Result<Option<EmailFactor>> {
    let rows = host
        .db()
        .query(
            "SELECT created_at, confirmed_at FROM mfa_email WHERE tenant_id = ?1 AND user_id = ?2",
            &[tenant.as_str().into(), user.as_str().into()],
        )
        .await?;
    rows.first()
        .map(|r| Ok(EmailFactor { confirmed: r.opt_int("confirmed_at")?.is_some(), created_at: r.int("created_at")? }))
        .transpose()
}

/// Records the email factor as confirmed (its first code was typed back).
pub async fn confirm<H: Host>(host: &H, tenant: &TenantId, user: &UserId) -> Result<()> {
    host.db()
        .execute(
            "INSERT INTO mfa_email (tenant_id, user_id, created_at, confirmed_at) VALUES (?1, ?2, ?3, ?3)
             ON CONFLICT (tenant_id, user_id) DO UPDATE SET confirmed_at = COALESCE(confirmed_at, ?3)",
            &[tenant.as_str().into(), user.as_str().into(), host.now().into()],
        )
        .await?;
    Ok(())
}

pub fn delete_statements(tenant: &TenantId, user: &UserId) -> Vec<Statement> {
    [
        "DELETE FROM mfa_email WHERE tenant_id = ?1 AND user_id = ?2",
        "DELETE FROM mfa_email_codes WHERE tenant_id = ?1 AND user_id = ?2",
    ]
    .into_iter()
    .map(|sql| Statement::new(sql, vec![tenant.as_str().into(), user.as_str().into()]))
    .collect()
}

/// Removes the email factor; whether there was one.
pub async fn remove<H: Host>(host: &H, tenant: &TenantId, user: &UserId) -> Result<bool> {
    Ok(host.db().batch(delete_statements(tenant, user)).await?.first().is_some_and(|n| *n > 0))
}

/// 6 uniform digits (rejection sampling: no modulo bias).
fn draw<H: Host>(host: &H) -> String {
    loop {
        let n = u32::from_be_bytes(host.random_bytes::<4>());
        // 4_294_000_000 is the largest multiple of 10^6 below 2^32.
        if n < 4_294_000_000 {
            return format!("{:06}", n % 1_000_000);
        }
    }
}

fn digest(id: &str, code: &str) -> String {
    token_hash(&format!("{id}:{code}"))
}

/// Where a send request ended.
#[derive(Debug, PartialEq, Eq, Clone, Copy)]
pub enum Sent {
    Sent,
    /// The resend limit is reached; nothing was sent.
    TooMany,
}

/// Sends a fresh code to the user's address; earlier codes stop working.
pub async fn send<H: Host>(host: &H, tenant: &TenantId, tenant_name: &str, user: &User) -> Result<Sent> {
    let now = host.now();
    let recent = host
        .db()
        .query(
            "SELECT COUNT(*) AS n FROM mfa_email_codes WHERE tenant_id = ?1 AND user_id = ?2 AND created_at > ?3",
            &[tenant.as_str().into(), user.id.as_str().into(), (now - SEND_WINDOW_MS).into()],
        )
        .await?;
    if recent.first().map(|r| r.int("n")).transpose()?.unwrap_or(0) >= SENDS_PER_WINDOW {
        return Ok(Sent::TooMany);
    }
    let id = format!("eo_{}", hex(&host.random_bytes::<10>()));
    let code = draw(host);
    host.db()
        .batch(vec![
            Statement::new(
                "UPDATE mfa_email_codes SET used_at = ?3 WHERE tenant_id = ?1 AND user_id = ?2 AND used_at IS NULL",
                vec![tenant.as_str().into(), user.id.as_str().into(), now.into()],
            ),
            Statement::new(
                "INSERT INTO mfa_email_codes (id, tenant_id, user_id, code_hash, created_at, expires_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
                vec![
                    id.clone().into(),
                    tenant.as_str().into(),
                    user.id.as_str().into(),
                    digest(&id, &code).into(),
                    now.into(),
                    (now + TTL_MS).into(),
                ],
            ),
        ])
        .await?;
    crate::email::send(
        host,
        tenant,
        crate::email::Email {
            to: user.email.clone(),
            subject: format!("Your {tenant_name} sign-in code"),
            text: format!(
                "Your verification code is {code}\n\nIt expires in {} minutes. If you did not try to sign in, change your password.",
                TTL_MS / 60_000
            ),
        },
    )
    .await?;
    Ok(Sent::Sent)
}

/// What a typed email code came to.
#[derive(Debug, PartialEq, Eq, Clone, Copy)]
pub enum Verdict {
    Accepted,
    Wrong,
    /// No live code (none sent, expired, used, or replaced by a newer one).
    NoCode,
    /// The code's attempts are spent; it no longer works.
    TooManyAttempts,
}

pub async fn verify<H: Host>(host: &H, tenant: &TenantId, user: &UserId, typed: &str) -> Result<Verdict> {
    let now = host.now();
    // Count the attempt first, in the same statement that finds the code.
    let rows = host
        .db()
        .query(
            "UPDATE mfa_email_codes SET attempts = attempts + 1
             WHERE id = (SELECT id FROM mfa_email_codes WHERE tenant_id = ?1 AND user_id = ?2 AND used_at IS NULL
                         AND expires_at > ?3 ORDER BY created_at DESC LIMIT 1)
             RETURNING id, code_hash, attempts",
            &[tenant.as_str().into(), user.as_str().into(), now.into()],
        )
        .await?;
    let Some(r) = rows.first() else {
        return Ok(Verdict::NoCode);
    };
    let id = r.text("id")?;
    if r.int("attempts")? > MAX_ATTEMPTS {
        return Ok(Verdict::TooManyAttempts);
    }
    let typed = typed.trim();
    if !ct_eq_str(&digest(&id, typed), &r.text("code_hash")?) {
        if r.int("attempts")? == MAX_ATTEMPTS {
            return Ok(Verdict::TooManyAttempts);
        }
        return Ok(Verdict::Wrong);
    }
    let taken = host
        .db()
        .execute("UPDATE mfa_email_codes SET used_at = ?2 WHERE id = ?1 AND used_at IS NULL", &[id.into(), now.into()])
        .await?;
    Ok(if taken == 1 { Verdict::Accepted } else { Verdict::NoCode })
}

/// The address with its local part masked, for the challenge page.
pub fn masked(email: &str) -> String {
    match email.split_once('@') {
        Some((local, domain)) => {
            let first: String = local.chars().take(1).collect();
            format!("{first}***@{domain}")
        }
        None => "***".into(),
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn masks_the_local_part() {
        assert_eq!(super::masked("ana@example.com"), "a***@example.com");
        assert_eq!(super::masked("nope"), "***");
    }
}
