//! Tenant management API keys: `tmk_<prefix>_<secret>`.
//!
//! The prefix is public and identifies the key (so a key can be found without
//! scanning, and named in logs); the whole key is shown once at creation and
//! stored only as a digest, compared in constant time.

use serde::Serialize;

use crate::crypto::{b64url, ct_eq_str, hex, token_hash};
use crate::error::{Error, Result};
use crate::host::{Db, Host, HostExt, Row};
use crate::types::{ApiKeyId, Secret, TenantId};

pub const KEY_PREFIX: &str = "tmk_";
/// How precisely the last use of a key is recorded.
pub const LAST_USED_GRANULARITY_MS: i64 = 60_000;

#[cfg_attr(feature = "openapi", derive(schemars::JsonSchema))]
#[derive(Debug, Clone, Serialize)]
pub struct ApiKey {
    pub id: ApiKeyId,
    pub tenant_id: TenantId,
    pub prefix: String,
    pub name: String,
    pub created_at: i64,
    pub last_used_at: Option<i64>,
}

impl ApiKey {
    fn from_row(r: &Row) -> Result<Self> {
        Ok(ApiKey {
            id: ApiKeyId(r.text("id")?),
            tenant_id: TenantId(r.text("tenant_id")?),
            prefix: r.text("prefix")?,
            name: r.text("name")?,
            created_at: r.int("created_at")?,
            last_used_at: r.opt_int("last_used_at")?,
        })
    }
}

/// Creates a key and returns it with the secret, which is never stored.
pub async fn create<H: Host>(host: &H, tenant: &TenantId, name: &str) -> Result<(ApiKey, Secret<String>)> {
    let name = crate::tenant::validate_name(name)?;
    let prefix = hex(&host.random_bytes::<6>());
    let secret = format!("{KEY_PREFIX}{prefix}_{}", b64url(&host.random_bytes::<32>()));
    let key = ApiKey {
        id: ApiKeyId::generate(host),
        tenant_id: tenant.clone(),
        prefix: prefix.clone(),
        name,
        created_at: host.now(),
        last_used_at: None,
    };
    host.db()
        .execute(
            "INSERT INTO tenant_api_keys (id, tenant_id, prefix, secret_hash, name, created_at)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
            &[
                key.id.as_str().into(),
                tenant.as_str().into(),
                prefix.into(),
                token_hash(&secret).into(),
                key.name.clone().into(),
                key.created_at.into(),
            ],
        )
        .await?;
    Ok((key, Secret::new(secret)))
}

pub async fn list<H: Host>(host: &H, tenant: &TenantId) -> Result<Vec<ApiKey>> {
    let rows = host
        .db()
        .query(
            "SELECT id, tenant_id, prefix, name, created_at, last_used_at FROM tenant_api_keys
             WHERE tenant_id = ?1 AND revoked_at IS NULL ORDER BY id",
            &[tenant.as_str().into()],
        )
        .await?;
    rows.iter().map(ApiKey::from_row).collect()
}

pub async fn revoke<H: Host>(host: &H, tenant: &TenantId, id: &str) -> Result<bool> {
    let n = host
        .db()
        .execute(
            "UPDATE tenant_api_keys SET revoked_at = ?1 WHERE id = ?2 AND tenant_id = ?3 AND revoked_at IS NULL",
            &[host.now().into(), id.into(), tenant.as_str().into()],
        )
        .await?;
    Ok(n > 0)
}

/// Authenticates a presented key for `tenant`. A key of another tenant, a
/// revoked key and a wrong secret all fail the same way.
pub async fn authenticate<H: Host>(host: &H, tenant: &TenantId, presented: &str) -> Result<ApiKey> {
    let invalid = || Error::unauthorized("invalid or missing management API key");
    let rest = presented.strip_prefix(KEY_PREFIX).ok_or_else(invalid)?;
    let (prefix, _) = rest.split_once('_').ok_or_else(invalid)?;
    let rows = host
        .db()
        .query(
            "SELECT id, tenant_id, prefix, name, created_at, last_used_at, secret_hash FROM tenant_api_keys
             WHERE prefix = ?1 AND tenant_id = ?2 AND revoked_at IS NULL",
            &[prefix.into(), tenant.as_str().into()],
        )
        .await?;
    let row = rows.first().ok_or_else(invalid)?;
    if !ct_eq_str(&row.text("secret_hash")?, &token_hash(presented)) {
        return Err(invalid());
    }
    let key = ApiKey::from_row(row)?;
    // Last use to the minute: no write on every request of a busy key.
    let now = host.now();
    if key.last_used_at.is_none_or(|t| now - t >= LAST_USED_GRANULARITY_MS) {
        host.db()
            .execute(
                "UPDATE tenant_api_keys SET last_used_at = ?1 WHERE id = ?2",
                &[now.into(), key.id.as_str().into()],
            )
            .await?;
    }
    Ok(key)
}
