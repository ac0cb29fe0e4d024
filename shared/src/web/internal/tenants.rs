//! Tenant lifecycle through the internal API: tenants, their management API
//! keys, signing keys, custom domains and audit logs.

use http::StatusCode;

use crate::error::{Error, Result};
use crate::host::Host;
use crate::keys::{self, RetireOutcome};
use crate::logs::{self, Audit, EventType};
use crate::tenant::{self, api_keys, Settings, Tenant};
use crate::web::response::{json, no_content, HttpResponse};
use crate::web::router::{Ctx, RouteId};

pub async fn dispatch<H: Host>(id: RouteId, cx: &Ctx<'_, H>) -> Result<HttpResponse> {
    match id {
        RouteId::TenantsList => list_tenants(cx).await,
        RouteId::TenantsCreate => create_tenant(cx).await,
        _ => {
            let t =
                tenant::find(cx.host, cx.param("tenant")).await?.ok_or_else(|| Error::not_found("no such tenant"))?;
            match id {
                RouteId::TenantGet => Ok(json(StatusCode::OK, &tenant_json(cx, &t).await?)),
                RouteId::TenantUpdate => update_tenant(cx, &t).await,
                RouteId::TenantDelete => {
                    tenant::delete(cx.host, &t).await?;
                    audit(cx, None, "tenant deleted", serde_json::json!({ "tenant": t.id, "slug": t.slug })).await?;
                    Ok(no_content())
                }
                RouteId::ApiKeysList => {
                    let keys = api_keys::list(cx.host, &t.id).await?;
                    Ok(json(StatusCode::OK, &serde_json::json!({ "api_keys": keys })))
                }
                RouteId::ApiKeysCreate => create_api_key(cx, &t).await,
                RouteId::ApiKeyRevoke => {
                    if !api_keys::revoke(cx.host, &t.id, cx.param("key_id")).await? {
                        return Err(Error::not_found("no such API key"));
                    }
                    audit(
                        cx,
                        Some(&t),
                        "management API key revoked",
                        serde_json::json!({ "key_id": cx.param("key_id") }),
                    )
                    .await?;
                    Ok(no_content())
                }
                RouteId::SigningKeysList => {
                    let keys = keys::list(cx.host, &t.id).await?;
                    Ok(json(StatusCode::OK, &serde_json::json!({ "signing_keys": keys })))
                }
                RouteId::SigningKeysRotate => {
                    let key = keys::rotate(cx.host, &t.id).await?;
                    audit(cx, Some(&t), "signing key rotated", serde_json::json!({ "kid": key.kid })).await?;
                    Ok(json(StatusCode::CREATED, &serde_json::to_value(key).map_err(|e| Error::server(e.to_string()))?))
                }
                RouteId::SigningKeyRetire => match keys::retire(cx.host, &t.id, cx.param("kid")).await? {
                    RetireOutcome::Retired => {
                        audit(cx, Some(&t), "signing key retired", serde_json::json!({ "kid": cx.param("kid") }))
                            .await?;
                        Ok(no_content())
                    }
                    RetireOutcome::NotFound => Err(Error::not_found("no such signing key")),
                    RetireOutcome::IsActive => {
                        Err(Error::conflict("the active signing key cannot be retired; rotate first"))
                    }
                },
                RouteId::DomainsList => {
                    let d = tenant::domains(cx.host, &t).await?;
                    Ok(json(StatusCode::OK, &serde_json::json!({ "domains": d })))
                }
                RouteId::DomainsAdd => {
                    let b: crate::web::schema::AddDomain = cx.req.json()?;
                    let d = tenant::add_domain(cx.host, &t, &b.domain).await?;
                    audit(cx, Some(&t), "custom domain added", serde_json::json!({ "domain": d })).await?;
                    Ok(json(StatusCode::CREATED, &serde_json::json!({ "domain": d })))
                }
                RouteId::DomainRemove => {
                    if !tenant::remove_domain(cx.host, &t, cx.param("domain")).await? {
                        return Err(Error::not_found("no such domain on this tenant"));
                    }
                    audit(cx, Some(&t), "custom domain removed", serde_json::json!({ "domain": cx.param("domain") }))
                        .await?;
                    Ok(no_content())
                }
                RouteId::TenantLogs => crate::web::api::users::list_logs(cx, &t.id).await,
                _ => Err(Error::not_found("no such route")),
            }
        }
    }
}

async fn audit<H: Host>(cx: &Ctx<'_, H>, t: Option<&Tenant>, what: &str, details: serde_json::Value) -> Result<()> {
    logs::record(
        cx.host,
        Audit {
            tenant: t.map(|t| &t.id),
            kind: EventType::ApiOperation,
            description: format!("platform API: {what}"),
            user: None,
            context: Default::default(),
            client_ip: &cx.req.client_ip,
            details,
        },
    )
    .await
}

async fn tenant_json<H: Host>(cx: &Ctx<'_, H>, t: &Tenant) -> Result<serde_json::Value> {
    let mut v = serde_json::to_value(t).map_err(|e| Error::server(e.to_string()))?;
    v["issuer"] = format!("{}/t/{}", cx.req.origin, t.slug).into();
    v["domains"] = tenant::domains(cx.host, t).await?.into();
    Ok(v)
}

async fn list_tenants<H: Host>(cx: &Ctx<'_, H>) -> Result<HttpResponse> {
    let page = cx.req.page()?;
    let rows = tenant::list(cx.host, page.after.as_deref(), page.limit + 1).await?;
    let (items, next) = page.finish(rows, |t| t.id.as_str());
    Ok(json(StatusCode::OK, &serde_json::json!({ "tenants": items, "next_cursor": next })))
}

async fn create_tenant<H: Host>(cx: &Ctx<'_, H>) -> Result<HttpResponse> {
    let b: crate::web::schema::CreateTenant = cx.req.json()?;
    let name = b.name.clone().unwrap_or_else(|| b.slug.clone());
    let t = crate::usecases::tenant::create(cx.host, &b.slug, &name).await?;
    audit(cx, Some(&t), "tenant created", serde_json::json!({ "slug": t.slug })).await?;
    let v = tenant_json(cx, &t).await?;
    Ok(json(StatusCode::CREATED, &v))
}

async fn update_tenant<H: Host>(cx: &Ctx<'_, H>, t: &Tenant) -> Result<HttpResponse> {
    let b: crate::web::schema::UpdateTenant = cx.req.json()?;
    let settings = match b.settings {
        None => None,
        Some(patch) => {
            // Merge the given fields over the current settings, then re-check
            // the whole (unknown fields refused, ranges validated).
            let mut current = serde_json::to_value(&t.settings).map_err(|e| Error::server(e.to_string()))?;
            for (k, v) in patch {
                current[k] = v;
            }
            let s: Settings =
                serde_json::from_value(current).map_err(|e| Error::bad_request(format!("settings: {e}")))?;
            s.validate().map_err(Error::bad_request)?;
            Some(s)
        }
    };
    let updated = tenant::update(cx.host, t, b.name.as_deref(), settings).await?;
    audit(cx, Some(&updated), "tenant updated", serde_json::json!({})).await?;
    Ok(json(StatusCode::OK, &tenant_json(cx, &updated).await?))
}

async fn create_api_key<H: Host>(cx: &Ctx<'_, H>, t: &Tenant) -> Result<HttpResponse> {
    let b: crate::web::schema::CreateApiKey =
        if cx.req.body.is_empty() { Default::default() } else { cx.req.json()? };
    let (key, secret) = api_keys::create(cx.host, &t.id, b.name.as_deref().unwrap_or("management")).await?;
    audit(cx, Some(t), "management API key created", serde_json::json!({ "key_id": key.id })).await?;
    let mut v = serde_json::to_value(&key).map_err(|e| Error::server(e.to_string()))?;
    // Shown this once; only its digest is stored.
    v["key"] = secret.expose().clone().into();
    Ok(json(StatusCode::CREATED, &v))
}
