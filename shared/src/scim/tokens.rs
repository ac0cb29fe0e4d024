//! SCIM bearer tokens (RFC 7644 §2): `tsc_<prefix>_<secret>`, one tenant's
//! each. Shown once at creation; stored as a digest and found by the public
//! prefix *and* the tenant, so another tenant's token is unknown here.
//!
//! Rotation issues a new token and lets the old one work for an overlap
//! window (the IdP's configuration is changed by a person, not atomically):
//! the old token's expiry moves to the end of the window.

use serde::Serialize;

use crate::crypto::{b64url, ct_eq_str, hex, token_hash};
use crate::error::{Error, Result};
use crate::host::{Db, Host, HostExt, Row, Statement};
use crate::types::{ScimTokenId, Secret, TenantId};

pub const TOKEN_PREFIX: &str = "tsc_";
/// How precisely the last use is recorded (no write per request).
const LAST_USED_GRANULARITY_MS: i64 = 60_000;
/// Longest lifetime and overlap a token may be given: a year, and a week.
pub const MAX_LIFETIME_MS: i64 = 366 * 86_400_000;
pub const MAX_OVERLAP_MS: i64 = 7 * 86_400_000;
/// A tenant's live tokens (one per IdP connection, plus rotations).
pub const MAX_TOKENS: usize = 20;

#[cfg_attr(feature = "openapi", derive(schemars::JsonSchema))]
#[derive(Debug, Clone, Serialize)]
pub struct ScimToken {
    pub id: ScimTokenId,
    /// Public: names the token in lists and logs.
    pub prefix: String,
    pub name: String,
    pub created_at: i64,
    /// When it stops working (null: never).
    pub expires_at: Option<i64>,
    pub last_used_at: Option<i64>,
    /// The token that replaced this one by rotation, if any.
    pub rotated_to: Option<ScimTokenId>,
}

const COLUMNS: &str = "id, prefix, name, created_at, expires_at, last_used_at, rotated_to";

impl ScimToken {
    fn from_row(r: &Row) -> Result<Self> {
        Ok(ScimToken {
            id: ScimTokenId(r.text("id")?),
            prefix: r.text("prefix")?,
            name: r.text("name")?,
            created_at: r.int("created_at")?,
            expires_at: r.opt_int("expires_at")?,
            last_used_at: r.opt_int("last_used_at")?,
            rotated_to: r.opt_text("rotated_to")?.map(ScimTokenId),
        })
    }
}

fn check_lifetime(lifetime_ms: Option<i64>) -> Result<()> {
    match lifetime_ms {
        Some(l) if !(60_000..=MAX_LIFETIME_MS).contains(&l) => Err(Error::bad_request(format!(
            "a token's lifetime must be between one minute and {} days",
            MAX_LIFETIME_MS / 86_400_000
        ))),
        _ => Ok(()),
    }
}

/// A new token and the statement that stores it.
fn issue<H: Host>(
    host: &H,
    tenant: &TenantId,
    name: &str,
    lifetime_ms: Option<i64>,
) -> Result<(ScimToken, Secret<String>, Statement)> {
    let name = crate::tenant::validate_name(name)?;
    check_lifetime(lifetime_ms)?;
    let prefix = hex(&host.random_bytes::<6>());
    let secret = format!("{TOKEN_PREFIX}{prefix}_{}", b64url(&host.random_bytes::<32>()));
    let now = host.now();
    let token = ScimToken {
        id: ScimTokenId::generate(host),
        prefix: prefix.clone(),
        name,
        created_at: now,
        expires_at: lifetime_ms.map(|l| now + l),
        last_used_at: None,
        rotated_to: None,
    };
    let stmt = Statement::new(
        "INSERT INTO scim_tokens (id, tenant_id, prefix, secret_hash, name, created_at, expires_at)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
        vec![
            token.id.as_str().into(),
            tenant.as_str().into(),
            prefix.into(),
            token_hash(&secret).into(),
            token.name.clone().into(),
            now.into(),
            token.expires_at.into(),
        ],
    );
    Ok((token, Secret::new(secret), stmt))
}

/// The live tokens of a tenant: neither revoked nor expired.
pub async fn list<H: Host>(host: &H, tenant: &TenantId) -> Result<Vec<ScimToken>> {
    let rows = host
        .db()
        .query(
            &format!(
                "SELECT {COLUMNS} FROM scim_tokens
                 WHERE tenant_id = ?1 AND revoked_at IS NULL AND (expires_at IS NULL OR expires_at > ?2) ORDER BY id"
            ),
            &[tenant.as_str().into(), host.now().into()],
        )
        .await?;
    rows.iter().map(ScimToken::from_row).collect()
}

pub async fn get<H: Host>(host: &H, tenant: &TenantId, id: &str) -> Result<Option<ScimToken>> {
    let rows = host
        .db()
        .query(
            &format!(
                "SELECT {COLUMNS} FROM scim_tokens
                 WHERE tenant_id = ?1 AND id = ?2 AND revoked_at IS NULL AND (expires_at IS NULL OR expires_at > ?3)"
            ),
            &[tenant.as_str().into(), id.into(), host.now().into()],
        )
        .await?;
    rows.first().map(ScimToken::from_row).transpose()
}

/// Creates a token; the secret is returned once and never stored.
pub async fn create<H: Host>(
    host: &H,
    tenant: &TenantId,
    name: &str,
    lifetime_ms: Option<i64>,
) -> Result<(ScimToken, Secret<String>)> {
    if list(host, tenant).await?.len() >= MAX_TOKENS {
        return Err(Error::conflict(format!("a tenant may hold at most {MAX_TOKENS} SCIM tokens; revoke one first")));
    }
    let (token, secret, stmt) = issue(host, tenant, name, lifetime_ms)?;
    host.db().batch(vec![stmt]).await?;
    Ok((token, secret))
}

/// Replaces a live token: the new one works at once, the old one until
/// `overlap_ms` from now (or its own earlier expiry). `None` when no live
/// token has this id.
pub async fn rotate<H: Host>(
    host: &H,
    tenant: &TenantId,
    id: &str,
    overlap_ms: i64,
    lifetime_ms: Option<i64>,
) -> Result<Option<(ScimToken, Secret<String>)>> {
    if !(0..=MAX_OVERLAP_MS).contains(&overlap_ms) {
        return Err(Error::bad_request(format!("the overlap must be between 0 and {} seconds", MAX_OVERLAP_MS / 1000)));
    }
    let Some(old) = get(host, tenant, id).await? else { return Ok(None) };
    if old.rotated_to.is_some() {
        return Err(Error::conflict("this token was already rotated; rotate its replacement"));
    }
    let (token, secret, insert) = issue(host, tenant, &old.name, lifetime_ms)?;
    let now = host.now();
    let end = old.expires_at.map_or(now + overlap_ms, |e| e.min(now + overlap_ms));
    // The guard on `rotated_to` makes a concurrent second rotation (or a
    // revocation meanwhile) retire nothing; its new token is then removed.
    let retire = Statement::new(
        "UPDATE scim_tokens SET expires_at = ?1, rotated_to = ?2
         WHERE tenant_id = ?3 AND id = ?4 AND rotated_to IS NULL AND revoked_at IS NULL",
        vec![end.into(), token.id.as_str().into(), tenant.as_str().into(), id.into()],
    );
    let counts = host.db().batch(vec![retire, insert]).await?;
    if counts.first() != Some(&1) {
        // Lost a race with another rotation or a revocation: undo ours.
        host.db().execute("DELETE FROM scim_tokens WHERE id = ?1", &[token.id.as_str().into()]).await?;
        return Err(Error::conflict("this token changed meanwhile; list the tokens and try again"));
    }
    Ok(Some((token, secret)))
}

pub async fn revoke<H: Host>(host: &H, tenant: &TenantId, id: &str) -> Result<bool> {
    let n = host
        .db()
        .execute(
            "UPDATE scim_tokens SET revoked_at = ?1 WHERE tenant_id = ?2 AND id = ?3 AND revoked_at IS NULL",
            &[host.now().into(), tenant.as_str().into(), id.into()],
        )
        .await?;
    Ok(n > 0)
}

/// Authenticates a presented token for `tenant`. Another tenant's token, a
/// revoked or expired one and a wrong secret all fail alike.
pub async fn authenticate<H: Host>(host: &H, tenant: &TenantId, presented: &str) -> Result<ScimToken> {
    let invalid = || Error::unauthorized("invalid, expired or missing SCIM bearer token");
    let rest = presented.strip_prefix(TOKEN_PREFIX).ok_or_else(invalid)?;
    let (prefix, _) = rest.split_once('_').ok_or_else(invalid)?;
    let now = host.now();
    let rows = host
        .db()
        .query(
            &format!(
                "SELECT {COLUMNS}, secret_hash FROM scim_tokens
                 WHERE prefix = ?1 AND tenant_id = ?2 AND revoked_at IS NULL AND (expires_at IS NULL OR expires_at > ?3)"
            ),
            &[prefix.into(), tenant.as_str().into(), now.into()],
        )
        .await?;
    let row = rows.first().ok_or_else(invalid)?;
    if !ct_eq_str(&row.text("secret_hash")?, &token_hash(presented)) {
        return Err(invalid());
    }
    let token = ScimToken::from_row(row)?;
    if token.last_used_at.is_none_or(|t| now - t >= LAST_USED_GRANULARITY_MS) {
        host.db()
            .execute("UPDATE scim_tokens SET last_used_at = ?1 WHERE id = ?2", &[now.into(), token.id.as_str().into()])
            .await?;
    }
    Ok(token)
}
