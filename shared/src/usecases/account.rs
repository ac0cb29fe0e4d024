//! Changes to an account that end its sessions and grants: a new password
//! (set by an admin or through a reset link) or a block. The change, the
//! end of every session, and the revocation of every token and unredeemed
//! code are one batch (RFC 9700 §4.14: a credential change must end the
//! grants an attacker may hold).

use crate::error::{Error, Result};
use crate::host::{Db, DbErrorKind, Host, HostExt, Statement};
use crate::types::{TenantId, UserId};
use crate::users::{self, User, UserPatch};

/// What ends with a credential change.
pub(crate) fn end_everything(tenant: &TenantId, user: &UserId, now: i64) -> Vec<Statement> {
    let mut stmts = vec![crate::session::delete_all_statement(tenant, user)];
    stmts.extend(crate::oauth::tokens::revoke_user(tenant, user, None, now));
    stmts
}

/// Applies a patch to a user (management API).
pub async fn update_user<H: Host>(host: &H, tenant: &TenantId, user: &User, patch: UserPatch) -> Result<User> {
    let p = users::patch(host, tenant, user, patch)?;
    let mut stmts = vec![p.statement];
    if p.ends_grants {
        stmts.extend(end_everything(tenant, &user.id, p.user.updated_at));
    }
    match host.db().batch(stmts).await {
        Ok(_) => Ok(p.user),
        Err(e) if e.kind == DbErrorKind::Unique => Err(Error::conflict("a user with this email already exists")),
        Err(e) => Err(e.into()),
    }
}

/// Sets the password chosen through a reset link (`hash` already computed).
pub async fn reset_password<H: Host>(host: &H, tenant: &TenantId, user: &UserId, hash: &str) -> Result<()> {
    let now = host.now();
    let mut stmts = vec![users::reset_password_statement(tenant, user, hash, now)];
    stmts.extend(end_everything(tenant, user, now));
    host.db().batch(stmts).await?;
    Ok(())
}

/// Mails `user` a single-use, one-hour password reset link (unless blocked
/// or over the mail limit); whether it went.
pub async fn send_password_reset<H: Host>(host: &H, t: &crate::tenant::TenantCtx, user: &User) -> Result<bool> {
    use crate::users::email_tokens::{self, Purpose};
    if user.blocked || !crate::session::throttle::allow_mail(host, t.id(), &user.email).await? {
        return Ok(false);
    }
    let token = email_tokens::issue(host, t.id(), &user.id, Purpose::ResetPassword).await?;
    let link = format!("{}?token={}", t.url("/password-reset/confirm"), token.expose());
    crate::email::send(
        host,
        t.id(),
        crate::email::Email {
            to: user.email.clone(),
            subject: format!("Reset your password for {}", t.tenant.name),
            text: format!(
                "Open this link to choose a new password:\n\n{link}\n\nThe link works once and expires in one hour. \
                 If you did not ask for it, ignore this message.\n"
            ),
        },
    )
    .await?;
    Ok(true)
}
