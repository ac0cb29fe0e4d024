//! API resources: the audiences a tenant's access tokens can be for, with
//! the scopes each defines (Auth0's "APIs", RFC 8707 resource indicators).

use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};
use crate::host::{Db, DbErrorKind, Host, HostExt, Row};
use crate::types::TenantId;

/// Each tenant's own management API (`/api/v1/*`) as an audience.
pub const MANAGEMENT_AUDIENCE: &str = "urn:tessera:management";
/// Its scopes, one read and one write per area.
pub const MANAGEMENT_SCOPES: [&str; 14] = [
    "read:users",
    "write:users",
    // Creating, changing or deleting a tenant administrator (`is_admin`):
    // an admin can use the admin UI, so `write:users` alone must not make one.
    "write:admins",
    "read:clients",
    "write:clients",
    "read:resource_servers",
    "write:resource_servers",
    "read:logs",
    "read:log_streams",
    "write:log_streams",
    "read:actions",
    "write:actions",
    "read:scim",
    "write:scim",
];

/// The row that gives a new tenant its management API audience.
pub fn management_statement(tenant: &TenantId, now: i64) -> crate::host::Statement {
    crate::host::Statement::new(
        "INSERT INTO api_resources (id, tenant_id, identifier, name, scopes, access_token_ttl, created_at)
         VALUES (?1, ?2, ?3, 'Tessera Management API', ?4, 3600, ?5)",
        vec![
            format!("api_mgmt_{tenant}").into(),
            tenant.as_str().into(),
            MANAGEMENT_AUDIENCE.into(),
            serde_json::to_string(&MANAGEMENT_SCOPES).expect("strings").into(),
            now.into(),
        ],
    )
}

#[cfg_attr(feature = "openapi", derive(schemars::JsonSchema))]
#[derive(Debug, Clone, Serialize)]
pub struct ApiResource {
    pub id: String,
    pub identifier: String,
    pub name: String,
    pub scopes: Vec<String>,
    pub access_token_ttl: i64,
    pub created_at: i64,
}

impl ApiResource {
    fn from_row(r: &Row) -> Result<Self> {
        Ok(ApiResource {
            id: r.text("id")?,
            identifier: r.text("identifier")?,
            name: r.text("name")?,
            scopes: serde_json::from_str(&r.text("scopes")?).map_err(|e| Error::server(e.to_string()))?,
            access_token_ttl: r.int("access_token_ttl")?,
            created_at: r.int("created_at")?,
        })
    }
}

#[cfg_attr(feature = "openapi", derive(schemars::JsonSchema))]
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ResourceSpec {
    pub identifier: Option<String>,
    pub name: Option<String>,
    pub scopes: Option<Vec<String>>,
    pub access_token_ttl: Option<i64>,
}

const COLUMNS: &str = "id, identifier, name, scopes, access_token_ttl, created_at";

pub async fn create<H: Host>(host: &H, tenant: &TenantId, spec: ResourceSpec) -> Result<ApiResource> {
    let identifier = spec.identifier.ok_or_else(|| Error::bad_request("identifier is required"))?;
    if identifier.is_empty()
        || identifier.len() > 600
        || identifier.chars().any(|c| c.is_whitespace() || c.is_control())
    {
        return Err(Error::bad_request("identifier must be a URI-like string without spaces"));
    }
    let name = crate::tenant::validate_name(spec.name.as_deref().unwrap_or(&identifier))?;
    let scopes = spec.scopes.unwrap_or_default();
    for s in &scopes {
        super::scopes::validate_scope_token(s)?;
        if super::scopes::OIDC_SCOPES.contains(&s.as_str()) {
            return Err(Error::bad_request(format!("'{s}' is an OpenID Connect scope, not an API scope")));
        }
    }
    let ttl = spec.access_token_ttl.unwrap_or(3600);
    if !(60..=86400).contains(&ttl) {
        return Err(Error::bad_request("access_token_ttl must be from 60 to 86400 seconds"));
    }
    let id = format!("api_{}", crate::crypto::hex(&host.random_bytes::<10>()));
    let res = host
        .db()
        .execute(
            "INSERT INTO api_resources (id, tenant_id, identifier, name, scopes, access_token_ttl, created_at)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
            &[
                id.clone().into(),
                tenant.as_str().into(),
                identifier.into(),
                name.into(),
                serde_json::to_string(&scopes).expect("strings").into(),
                ttl.into(),
                host.now().into(),
            ],
        )
        .await;
    match res {
        Ok(_) => {}
        Err(e) if e.kind == DbErrorKind::Unique => return Err(Error::conflict("an API with this identifier exists")),
        Err(e) => return Err(e.into()),
    }
    get(host, tenant, &id).await?.ok_or_else(|| Error::server("API vanished after insert"))
}

pub async fn get<H: Host>(host: &H, tenant: &TenantId, id: &str) -> Result<Option<ApiResource>> {
    let rows = host
        .db()
        .query(
            &format!("SELECT {COLUMNS} FROM api_resources WHERE tenant_id = ?1 AND id = ?2"),
            &[tenant.as_str().into(), id.into()],
        )
        .await?;
    rows.first().map(ApiResource::from_row).transpose()
}

/// How long an isolate reuses an API it looked up by identifier (the token
/// endpoint reads one on every client-credentials request). A scope removed
/// or an API deleted through another isolate is seen within this window.
const RESOURCE_CACHE_MS: i64 = 5_000;

thread_local! {
    // Per "tenant/identifier".
    static BY_IDENTIFIER: crate::cache::TtlCache<ApiResource> =
        const { crate::cache::TtlCache::new(RESOURCE_CACHE_MS) };
}

pub async fn by_identifier<H: Host>(host: &H, tenant: &TenantId, identifier: &str) -> Result<Option<ApiResource>> {
    let now = host.now();
    let key = format!("{tenant}/{identifier}");
    if let Some(api) = BY_IDENTIFIER.with(|c| c.get(&key, now)) {
        return Ok(Some(api));
    }
    let rows = host
        .db()
        .query(
            &format!("SELECT {COLUMNS} FROM api_resources WHERE tenant_id = ?1 AND identifier = ?2"),
            &[tenant.as_str().into(), identifier.into()],
        )
        .await?;
    let found = rows.first().map(ApiResource::from_row).transpose()?;
    if let Some(api) = &found {
        BY_IDENTIFIER.with(|c| c.put(key, now, api.clone()));
    }
    Ok(found)
}

pub async fn list<H: Host>(host: &H, tenant: &TenantId) -> Result<Vec<ApiResource>> {
    let rows = host
        .db()
        .query(
            &format!("SELECT {COLUMNS} FROM api_resources WHERE tenant_id = ?1 ORDER BY id"),
            &[tenant.as_str().into()],
        )
        .await?;
    rows.iter().map(ApiResource::from_row).collect()
}

pub async fn delete<H: Host>(host: &H, tenant: &TenantId, id: &str) -> Result<bool> {
    if get(host, tenant, id).await?.is_some_and(|r| r.identifier == MANAGEMENT_AUDIENCE) {
        return Err(Error::bad_request("the management API cannot be deleted"));
    }
    let n = host
        .db()
        .execute("DELETE FROM api_resources WHERE tenant_id = ?1 AND id = ?2", &[tenant.as_str().into(), id.into()])
        .await?;
    // After the write: see clients::forget.
    BY_IDENTIFIER.with(|c| c.forget_prefix(&format!("{tenant}/")));
    Ok(n > 0)
}
