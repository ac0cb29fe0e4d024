//! Server-side sessions of the hosted pages.
//!
//! The browser holds a random 256-bit id in a `Secure; HttpOnly;
//! SameSite=Lax` cookie scoped to the tenant's path; the database holds its
//! digest, the user and the expiry. Ending a session deletes the row, so a
//! stolen cookie stops working at logout, password change or block.
//!
//! A user who must still give a second factor holds a *pending* session:
//! only the MFA pages accept it, and it lives minutes. Completing the factor
//! turns it into a full session under a new id (no fixation across the
//! step).

pub mod throttle;

use crate::crypto::{b64url, token_hash};
use crate::error::Result;
use crate::host::{Db, Host, HostExt, Statement};
use crate::mfa::Amr;
use crate::tenant::TenantCtx;
use crate::types::{TenantId, UserId};
use crate::users::User;

pub const COOKIE: &str = "tessera_session";

pub struct Session {
    pub user: User,
    pub auth_time: i64,
    pub expires_at: i64,
    /// The methods this session used (RFC 8176).
    pub amr: Amr,
    /// When a second factor was last verified (in this session, or by the
    /// remembered browser the session started in).
    pub mfa_time: Option<i64>,
    /// Password given, second factor outstanding.
    pub pending: bool,
}

/// How long a pending session waits for its second factor.
pub const PENDING_LIFETIME_MS: i64 = 10 * 60_000;

/// How a new session was authenticated.
pub enum Start {
    /// Fully signed in, with these methods and second-factor time.
    Full { amr: Amr, mfa_time: Option<i64> },
    /// Password given; the second factor is still to come.
    Pending,
}

/// A started session: the secret the cookie carries, and how long it lives.
pub struct Started {
    pub token: crate::types::Secret<String>,
    pub max_age_secs: i64,
}

/// Starts a session; the web layer puts the token in the cookie.
pub async fn start<H: Host>(host: &H, tctx: &TenantCtx, user: &UserId, how: Start) -> Result<Started> {
    let token = b64url(&host.random_bytes::<32>());
    let now = host.now();
    let full_ms = tctx.tenant.settings.session_lifetime_minutes as i64 * 60_000;
    let (lifetime_ms, pending, amr, mfa_time) = match how {
        Start::Full { amr, mfa_time } => (full_ms, false, amr, mfa_time),
        Start::Pending => (PENDING_LIFETIME_MS, true, Amr::password(), None),
    };
    host.db()
        .batch(vec![
            // Sweep this user's expired sessions while we are here.
            Statement::new(
                "DELETE FROM sessions WHERE tenant_id = ?1 AND user_id = ?2 AND expires_at <= ?3",
                vec![tctx.id().as_str().into(), user.as_str().into(), now.into()],
            ),
            Statement::new(
                "INSERT INTO sessions (id_hash, tenant_id, user_id, created_at, auth_time, expires_at, mfa_pending, amr, mfa_time)
                 VALUES (?1, ?2, ?3, ?4, ?4, ?5, ?6, ?7, ?8)",
                vec![
                    token_hash(&token).into(),
                    tctx.id().as_str().into(),
                    user.as_str().into(),
                    now.into(),
                    (now + lifetime_ms).into(),
                    pending.into(),
                    amr.joined().into(),
                    mfa_time.into(),
                ],
            ),
        ])
        .await?;
    Ok(Started { token: crate::types::Secret::new(token), max_age_secs: lifetime_ms / 1000 })
}

/// The full session the session cookie's `token` names, if it is live,
/// belongs to this tenant, and its user is not blocked.
pub async fn current<H: Host>(host: &H, tctx: &TenantCtx, token: Option<&str>) -> Result<Option<Session>> {
    Ok(any(host, tctx, token).await?.filter(|s| !s.pending))
}

/// The session the cookie names, full or pending (for the MFA pages).
pub async fn any<H: Host>(host: &H, tctx: &TenantCtx, token: Option<&str>) -> Result<Option<Session>> {
    let Some(token) = token else {
        return Ok(None);
    };
    let rows = host
        .db()
        .query(
            "SELECT s.user_id, s.auth_time, s.expires_at, s.mfa_pending, s.amr, s.mfa_time
             FROM sessions s JOIN users u ON u.id = s.user_id AND u.tenant_id = s.tenant_id
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
    Ok(Some(Session {
        user,
        auth_time: row.int("auth_time")?,
        expires_at: row.int("expires_at")?,
        amr: Amr::parse(&row.text("amr")?),
        mfa_time: row.opt_int("mfa_time")?,
        pending: row.bool("mfa_pending")?,
    }))
}

/// Records a verified second factor on the session `token` names (pending
/// or full) and moves it to a new id; returns the new cookie secret.
pub async fn second_factor_verified<H: Host>(
    host: &H,
    tctx: &TenantCtx,
    token: &str,
    session: &Session,
    otp: bool,
) -> Result<Option<Started>> {
    let fresh = b64url(&host.random_bytes::<32>());
    let now = host.now();
    let full_ms = tctx.tenant.settings.session_lifetime_minutes as i64 * 60_000;
    // A pending session becomes full now; a full one keeps its expiry.
    let expires_at = if session.pending { now + full_ms } else { session.expires_at };
    let changed = host
        .db()
        .execute(
            "UPDATE sessions SET id_hash = ?3, mfa_pending = 0, amr = ?4, mfa_time = ?5, expires_at = ?6
             WHERE id_hash = ?1 AND tenant_id = ?2 AND expires_at > ?5",
            &[
                token_hash(token).into(),
                tctx.id().as_str().into(),
                token_hash(&fresh).into(),
                session.amr.with_second_factor(otp).joined().into(),
                now.into(),
                expires_at.into(),
            ],
        )
        .await?;
    Ok((changed == 1)
        .then(|| Started { token: crate::types::Secret::new(fresh), max_age_secs: (expires_at - now) / 1000 }))
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

/// A live session as the admin UI lists it (never its id).
pub struct Summary {
    pub created_at: i64,
    pub expires_at: i64,
    pub amr: Amr,
    pub pending: bool,
}

/// The user's live sessions, newest first.
pub async fn list_for_user<H: Host>(host: &H, tenant: &TenantId, user: &UserId) -> Result<Vec<Summary>> {
    let rows = host
        .db()
        .query(
            "SELECT created_at, expires_at, amr, mfa_pending FROM sessions
             WHERE tenant_id = ?1 AND user_id = ?2 AND expires_at > ?3 ORDER BY created_at DESC LIMIT 50",
            &[tenant.as_str().into(), user.as_str().into(), host.now().into()],
        )
        .await?;
    rows.iter()
        .map(|r| {
            Ok(Summary {
                created_at: r.int("created_at")?,
                expires_at: r.int("expires_at")?,
                amr: Amr::parse(&r.text("amr")?),
                pending: r.bool("mfa_pending")?,
            })
        })
        .collect()
}
