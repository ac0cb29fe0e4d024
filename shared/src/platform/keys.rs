//! Platform API keys: `tsk_<prefix>_<secret>`, a role each, an optional
//! expiry, last-used time, revocation, and rotation with an overlap window
//! (the old key keeps working until the window closes, so a deployment can
//! roll the new key out without downtime).

use serde::{Deserialize, Serialize};

use super::auth::{unauthorized, Credential, Principal, Role};
use crate::crypto::{b64url, ct_eq_str, hex, token_hash};
use crate::error::{Error, Result};
use crate::host::{Db, Host, HostExt, Row, Statement};
use crate::types::Secret;

pub const KEY_PREFIX: &str = "tsk_";
/// Longest overlap a rotation may ask for.
pub const MAX_OVERLAP_SECS: i64 = 30 * 24 * 3600;
pub const DEFAULT_OVERLAP_SECS: i64 = 24 * 3600;

#[cfg_attr(feature = "openapi", derive(schemars::JsonSchema))]
#[derive(Debug, Clone, Serialize)]
pub struct PlatformKey {
    pub id: String,
    pub prefix: String,
    pub name: String,
    pub role: &'static str,
    pub created_at: i64,
    pub expires_at: Option<i64>,
    pub last_used_at: Option<i64>,
    pub revoked_at: Option<i64>,
    pub replaced_by: Option<String>,
    /// After a rotation: the end of the overlap window.
    pub valid_until: Option<i64>,
}

const COLUMNS: &str =
    "id, prefix, name, role, created_at, expires_at, last_used_at, revoked_at, replaced_by, valid_until";

impl PlatformKey {
    fn from_row(r: &Row) -> Result<Self> {
        let role = Role::parse(&r.text("role")?).ok_or_else(|| Error::server("unknown role in platform_api_keys"))?;
        Ok(PlatformKey {
            id: r.text("id")?,
            prefix: r.text("prefix")?,
            name: r.text("name")?,
            role: role.as_str(),
            created_at: r.int("created_at")?,
            expires_at: r.opt_int("expires_at")?,
            last_used_at: r.opt_int("last_used_at")?,
            revoked_at: r.opt_int("revoked_at")?,
            replaced_by: r.opt_text("replaced_by")?,
            valid_until: r.opt_int("valid_until")?,
        })
    }
}

#[cfg_attr(feature = "openapi", derive(schemars::JsonSchema))]
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NewKey {
    pub name: String,
    pub role: String,
    /// Lifetime from now; none for a key that lives until revoked.
    pub expires_in_seconds: Option<i64>,
}

fn mint<H: Host>(host: &H) -> (String, String, Secret<String>) {
    let prefix = hex(&host.random_bytes::<6>());
    let secret = format!("{KEY_PREFIX}{prefix}_{}", b64url(&host.random_bytes::<32>()));
    let id = format!("pak_{}", hex(&host.random_bytes::<10>()));
    (id, prefix, Secret::new(secret))
}

fn insert(
    id: &str,
    prefix: &str,
    secret: &Secret<String>,
    name: &str,
    role: Role,
    now: i64,
    expires_at: Option<i64>,
) -> Statement {
    Statement::new(
        "INSERT INTO platform_api_keys (id, prefix, secret_hash, name, role, created_at, expires_at)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
        vec![
            id.into(),
            prefix.into(),
            token_hash(secret.expose()).into(),
            name.into(),
            role.as_str().into(),
            now.into(),
            expires_at.into(),
        ],
    )
}

pub async fn create<H: Host>(host: &H, new: NewKey) -> Result<(PlatformKey, Secret<String>)> {
    let name = crate::tenant::validate_name(&new.name)?;
    let role = Role::parse(&new.role)
        .ok_or_else(|| Error::bad_request("role must be platform-admin, platform-operator or platform-auditor"))?;
    let now = host.now();
    let expires_at = match new.expires_in_seconds {
        None => None,
        Some(s) if (60..=5 * 365 * 24 * 3600).contains(&s) => Some(now + s * 1000),
        Some(_) => return Err(Error::bad_request("expires_in_seconds must be from 60 to 157680000")),
    };
    let (id, prefix, secret) = mint(host);
    host.db().batch(vec![insert(&id, &prefix, &secret, &name, role, now, expires_at)]).await?;
    let key = get(host, &id).await?.ok_or_else(|| Error::server("key vanished after insert"))?;
    Ok((key, secret))
}

pub async fn get<H: Host>(host: &H, id: &str) -> Result<Option<PlatformKey>> {
    let rows = host.db().query(&format!("SELECT {COLUMNS} FROM platform_api_keys WHERE id = ?1"), &[id.into()]).await?;
    rows.first().map(PlatformKey::from_row).transpose()
}

pub async fn list<H: Host>(host: &H) -> Result<Vec<PlatformKey>> {
    let rows =
        host.db().query(&format!("SELECT {COLUMNS} FROM platform_api_keys ORDER BY created_at, id"), &[]).await?;
    rows.iter().map(PlatformKey::from_row).collect()
}

/// Replaces a key: the new one has the same name, role and expiry; the old
/// one keeps working for `overlap_secs`, then stops.
pub async fn rotate<H: Host>(host: &H, id: &str, overlap_secs: i64) -> Result<(PlatformKey, Secret<String>)> {
    if !(0..=MAX_OVERLAP_SECS).contains(&overlap_secs) {
        return Err(Error::bad_request(format!("overlap_seconds must be from 0 to {MAX_OVERLAP_SECS}")));
    }
    let old = get(host, id).await?.ok_or_else(|| Error::not_found("no such platform API key"))?;
    let now = host.now();
    if old.revoked_at.is_some() || old.replaced_by.is_some() || old.expires_at.is_some_and(|e| e <= now) {
        return Err(Error::conflict("only a live key that has not been rotated can be rotated"));
    }
    let (new_id, prefix, secret) = mint(host);
    let changed = host
        .db()
        .batch(vec![
            // Conditional, so two concurrent rotations cannot both succeed...
            Statement::new(
                "UPDATE platform_api_keys SET replaced_by = ?1, valid_until = ?2
                 WHERE id = ?3 AND replaced_by IS NULL AND revoked_at IS NULL",
                vec![new_id.clone().into(), (now + overlap_secs * 1000).into(), id.into()],
            ),
            // ...and the successor exists only if this rotation won.
            Statement::new(
                "INSERT INTO platform_api_keys (id, prefix, secret_hash, name, role, created_at, expires_at)
                 SELECT ?1, ?2, ?3, name, role, ?4, expires_at FROM platform_api_keys WHERE id = ?5 AND replaced_by = ?1",
                vec![
                    new_id.clone().into(),
                    prefix.into(),
                    token_hash(secret.expose()).into(),
                    now.into(),
                    id.into(),
                ],
            ),
        ])
        .await?;
    if changed.get(1) != Some(&1) {
        return Err(Error::conflict("the key was rotated or revoked concurrently"));
    }
    let key = get(host, &new_id).await?.ok_or_else(|| Error::server("key vanished after insert"))?;
    Ok((key, secret))
}

pub async fn revoke<H: Host>(host: &H, id: &str) -> Result<bool> {
    let n = host
        .db()
        .execute(
            "UPDATE platform_api_keys SET revoked_at = ?1 WHERE id = ?2 AND revoked_at IS NULL",
            &[host.now().into(), id.into()],
        )
        .await?;
    Ok(n > 0)
}

pub async fn authenticate<H: Host>(host: &H, presented: &str) -> Result<Principal> {
    let rest = presented.strip_prefix(KEY_PREFIX).ok_or_else(unauthorized)?;
    let (prefix, _) = rest.split_once('_').ok_or_else(unauthorized)?;
    let rows = host
        .db()
        .query(&format!("SELECT {COLUMNS}, secret_hash FROM platform_api_keys WHERE prefix = ?1"), &[prefix.into()])
        .await?;
    let row = rows.first().ok_or_else(unauthorized)?;
    if !ct_eq_str(&row.text("secret_hash")?, &token_hash(presented)) {
        return Err(unauthorized());
    }
    let key = PlatformKey::from_row(row)?;
    let now = host.now();
    let expired = key.expires_at.is_some_and(|e| e <= now) || key.valid_until.is_some_and(|v| v <= now);
    if key.revoked_at.is_some() || expired {
        return Err(unauthorized());
    }
    if key.last_used_at.is_none_or(|t| now - t >= crate::tenant::api_keys::LAST_USED_GRANULARITY_MS) {
        host.db()
            .execute(
                "UPDATE platform_api_keys SET last_used_at = ?1 WHERE id = ?2",
                &[now.into(), key.id.clone().into()],
            )
            .await?;
    }
    let role = Role::parse(key.role).ok_or_else(|| Error::server("role"))?;
    Ok(Principal { credential: Credential::ApiKey(key.id), role })
}
