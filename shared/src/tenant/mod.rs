//! Tenants: each one is its own issuer with its own users, keys and settings.
//!
//! A request reaches a tenant either through the path prefix `/t/{slug}` (the
//! default, and what local use relies on) or through a custom domain mapped to
//! it. Every query below and in the other domains carries the tenant id: a row
//! of another tenant is never visible, whatever id a URL names.

pub mod api_keys;
pub mod settings;

use serde::Serialize;

use crate::error::{Error, Result};
use crate::host::{Db, Host, HostExt, Row, Statement, Value};
use crate::types::TenantId;

pub use settings::{MfaPolicy, Settings};

#[cfg_attr(feature = "openapi", derive(schemars::JsonSchema))]
#[derive(Debug, Clone, Serialize)]
pub struct Tenant {
    pub id: TenantId,
    pub slug: String,
    pub name: String,
    pub settings: Settings,
    pub created_at: i64,
    pub updated_at: i64,
}

impl Tenant {
    fn from_row(r: &Row) -> Result<Self> {
        Ok(Tenant {
            id: TenantId(r.text("id")?),
            slug: r.text("slug")?,
            name: r.text("name")?,
            settings: Settings::from_json(&r.text("settings")?),
            created_at: r.int("created_at")?,
            updated_at: r.int("updated_at")?,
        })
    }
}

/// A tenant as addressed by the current request.
#[derive(Debug, Clone)]
pub struct TenantCtx {
    pub tenant: Tenant,
    /// `/t/{slug}` under the path mount, empty under a custom domain.
    pub base_path: String,
    /// The issuer identifier (OIDC Discovery §4.3: exactly the URL the
    /// discovery document is fetched under, without a trailing slash).
    pub issuer: String,
}

impl TenantCtx {
    pub fn new(tenant: Tenant, origin: &str, via_domain: bool) -> Self {
        let base_path = if via_domain { String::new() } else { format!("/t/{}", tenant.slug) };
        let issuer = format!("{origin}{base_path}");
        TenantCtx { tenant, base_path, issuer }
    }

    pub fn id(&self) -> &TenantId {
        &self.tenant.id
    }

    /// An absolute URL of a path under this tenant.
    pub fn url(&self, path: &str) -> String {
        format!("{}{}", self.issuer, path)
    }

    /// A path under this tenant (for redirects and forms on the same origin).
    pub fn path(&self, path: &str) -> String {
        format!("{}{}", self.base_path, path)
    }

    /// The cookie path that scopes a cookie to this tenant alone, so tenants
    /// sharing an origin under the path mount never see each other's cookies.
    pub fn cookie_path(&self) -> String {
        if self.base_path.is_empty() {
            "/".into()
        } else {
            self.base_path.clone()
        }
    }
}

const COLUMNS: &str = "id, slug, name, settings, created_at, updated_at";

/// A slug is the tenant's name in URLs: 2-63 lowercase letters, digits and
/// inner hyphens (a DNS label, so it can become a subdomain later).
pub fn validate_slug(slug: &str) -> Result<()> {
    let ok = (2..=63).contains(&slug.len())
        && slug.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
        && !slug.starts_with('-')
        && !slug.ends_with('-');
    if ok {
        Ok(())
    } else {
        Err(Error::bad_request("slug must be 2-63 characters of a-z, 0-9 and inner hyphens"))
    }
}

/// How long an isolate trusts a tenant row it read. Every request resolves
/// its tenant first, so this saves a database read on each; a change made in
/// another isolate is seen within this window (changes made here at once).
const TENANT_CACHE_MS: i64 = 5_000;

thread_local! {
    static TENANTS: crate::cache::TtlCache<Tenant> = const { crate::cache::TtlCache::new(TENANT_CACHE_MS) };
}

/// Called after a write commits (see `oauth::clients::forget`).
fn forget(slug: &str) {
    TENANTS.with(|c| c.forget(slug));
}

pub async fn find_by_slug<H: Host>(host: &H, slug: &str) -> Result<Option<Tenant>> {
    let now = host.now();
    if let Some(t) = TENANTS.with(|c| c.get(slug, now)) {
        return Ok(Some(t));
    }
    let found = load_by_slug(host, slug).await?;
    if let Some(t) = &found {
        TENANTS.with(|c| c.put(slug.to_string(), now, t.clone()));
    }
    Ok(found)
}

async fn load_by_slug<H: Host>(host: &H, slug: &str) -> Result<Option<Tenant>> {
    let rows = host.db().query(&format!("SELECT {COLUMNS} FROM tenants WHERE slug = ?1"), &[slug.into()]).await?;
    rows.first().map(Tenant::from_row).transpose()
}

pub async fn find_by_id<H: Host>(host: &H, id: &str) -> Result<Option<Tenant>> {
    let rows = host.db().query(&format!("SELECT {COLUMNS} FROM tenants WHERE id = ?1"), &[id.into()]).await?;
    rows.first().map(Tenant::from_row).transpose()
}

/// An id (`ten_...`) or a slug: slugs cannot contain `_`, so they never clash.
pub async fn find<H: Host>(host: &H, id_or_slug: &str) -> Result<Option<Tenant>> {
    if id_or_slug.starts_with(TenantId::PREFIX) {
        find_by_id(host, id_or_slug).await
    } else {
        find_by_slug(host, id_or_slug).await
    }
}

pub async fn find_by_domain<H: Host>(host: &H, domain: &str) -> Result<Option<Tenant>> {
    let rows = host
        .db()
        .query(
            "SELECT t.id, t.slug, t.name, t.settings, t.created_at, t.updated_at
             FROM custom_domains d JOIN tenants t ON t.id = d.tenant_id WHERE d.domain = ?1",
            &[domain.into()],
        )
        .await?;
    rows.first().map(Tenant::from_row).transpose()
}

pub async fn list<H: Host>(host: &H, after: Option<&str>, limit: u32) -> Result<Vec<Tenant>> {
    let rows = host
        .db()
        .query(
            &format!("SELECT {COLUMNS} FROM tenants WHERE id > ?1 ORDER BY id LIMIT ?2"),
            &[after.unwrap_or("").into(), Value::Integer(limit as i64)],
        )
        .await?;
    rows.iter().map(Tenant::from_row).collect()
}

/// A new tenant and the statement that inserts it. Creating one also gives
/// it keys and its management API, in the same batch
/// (`usecases::tenant::create`).
pub fn new_tenant<H: Host>(host: &H, slug: &str, name: &str) -> Result<(Tenant, Statement)> {
    validate_slug(slug)?;
    let name = validate_name(name)?;
    let now = host.now();
    let id = TenantId::generate(host);
    let settings = Settings::default();
    let insert = Statement::new(
        "INSERT INTO tenants (id, slug, name, settings, created_at, updated_at) VALUES (?1, ?2, ?3, ?4, ?5, ?5)",
        vec![id.as_str().into(), slug.into(), name.clone().into(), settings.to_json().into(), now.into()],
    );
    Ok((Tenant { id, slug: slug.into(), name, settings, created_at: now, updated_at: now }, insert))
}

pub fn validate_name(name: &str) -> Result<String> {
    let name = name.trim();
    if name.is_empty() || name.chars().count() > 200 || name.chars().any(char::is_control) {
        return Err(Error::bad_request("name must be 1-200 printable characters"));
    }
    Ok(name.to_owned())
}

pub async fn update<H: Host>(
    host: &H,
    tenant: &Tenant,
    name: Option<&str>,
    settings: Option<Settings>,
) -> Result<Tenant> {
    let name = match name {
        Some(n) => validate_name(n)?,
        None => tenant.name.clone(),
    };
    let settings = settings.unwrap_or_else(|| tenant.settings.clone());
    let now = host.now();
    host.db()
        .execute(
            "UPDATE tenants SET name = ?1, settings = ?2, updated_at = ?3 WHERE id = ?4",
            &[name.clone().into(), settings.to_json().into(), now.into(), tenant.id.as_str().into()],
        )
        .await?;
    forget(&tenant.slug);
    Ok(Tenant { name, settings, updated_at: now, ..tenant.clone() })
}

/// Deletes a tenant and, through `ON DELETE CASCADE`, everything it owns.
pub async fn delete<H: Host>(host: &H, tenant: &Tenant) -> Result<()> {
    host.db().execute("DELETE FROM tenants WHERE id = ?1", &[tenant.id.as_str().into()]).await?;
    forget(&tenant.slug);
    Ok(())
}

/// A host name as stored for custom domains: lowercase, no port, no dot at
/// the end, only DNS characters.
pub fn normalize_domain(domain: &str) -> Result<String> {
    let d = domain.trim().trim_end_matches('.').to_ascii_lowercase();
    let ok = !d.is_empty()
        && d.len() <= 253
        && d.contains('.')
        && d.split('.').all(|l| {
            !l.is_empty()
                && l.len() <= 63
                && l.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-')
                && !l.starts_with('-')
                && !l.ends_with('-')
        });
    if ok {
        Ok(d)
    } else {
        Err(Error::bad_request("domain must be a DNS host name such as login.example.com"))
    }
}

pub async fn add_domain<H: Host>(host: &H, tenant: &Tenant, domain: &str) -> Result<String> {
    let d = normalize_domain(domain)?;
    match host
        .db()
        .execute(
            "INSERT INTO custom_domains (domain, tenant_id, created_at) VALUES (?1, ?2, ?3)",
            &[d.clone().into(), tenant.id.as_str().into(), host.now().into()],
        )
        .await
    {
        Ok(_) => Ok(d),
        Err(e) if e.kind == crate::host::DbErrorKind::Unique => {
            Err(Error::conflict(format!("domain '{d}' is already mapped")))
        }
        Err(e) => Err(e.into()),
    }
}

pub async fn remove_domain<H: Host>(host: &H, tenant: &Tenant, domain: &str) -> Result<bool> {
    let d = normalize_domain(domain)?;
    let n = host
        .db()
        .execute(
            "DELETE FROM custom_domains WHERE domain = ?1 AND tenant_id = ?2",
            &[d.into(), tenant.id.as_str().into()],
        )
        .await?;
    Ok(n > 0)
}

pub async fn domains<H: Host>(host: &H, tenant: &Tenant) -> Result<Vec<String>> {
    let rows = host
        .db()
        .query("SELECT domain FROM custom_domains WHERE tenant_id = ?1 ORDER BY domain", &[tenant.id.as_str().into()])
        .await?;
    rows.iter().map(|r| r.text("domain").map_err(Into::into)).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn slugs() {
        assert!(validate_slug("demo").is_ok());
        assert!(validate_slug("acme-2").is_ok());
        for bad in ["a", "-x", "x-", "Acme", "a_b", "ten_x", "a/b", ""] {
            assert!(validate_slug(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn domains() {
        assert_eq!(normalize_domain("Login.Example.COM.").unwrap(), "login.example.com");
        for bad in ["localhost", "a..b", "-a.com", "a.com:443", "exa mple.com"] {
            assert!(normalize_domain(bad).is_err(), "{bad}");
        }
    }
}
