//! The internal platform API (`/api/v1/internal/*`): tenant lifecycle, their
//! management API keys, signing keys and domains, and the dev mailbox.
//!
//! Every route here passes [`authenticate`] first: a platform API key from the
//! `PLATFORM_API_KEY` secret, compared in constant time. Without that secret
//! configured, nothing here is reachable at all.

use http::StatusCode;
use serde::Deserialize;

use crate::crypto::ct_eq_str;
use crate::error::{Error, Result};
use crate::host::{Host, Secrets};
use crate::keys::{self, RetireOutcome};
use crate::logs::{self, Audit, EventType};
use crate::pagination::Page;
use crate::response::{json, no_content, HttpResponse};
use crate::router::{Ctx, RouteId};
use crate::tenant::{self, api_keys, Settings, Tenant};

/// Checks the platform credential. Missing and wrong credentials are the same
/// 401; no detail says which.
pub fn authenticate<H: Host>(cx: &Ctx<'_, H>) -> Result<()> {
    let expected = cx
        .host
        .secrets()
        .secret("PLATFORM_API_KEY")
        .filter(|k| k.expose().len() >= 16);
    match (cx.req.bearer(), expected) {
        (Some(presented), Some(expected)) if ct_eq_str(presented, expected.expose()) => Ok(()),
        _ => Err(Error::unauthorized("a valid platform API key is required")),
    }
}

pub async fn dispatch<H: Host>(id: RouteId, cx: &Ctx<'_, H>) -> Result<HttpResponse> {
    authenticate(cx)?;
    match id {
        RouteId::TenantsList => list_tenants(cx).await,
        RouteId::TenantsCreate => create_tenant(cx).await,
        RouteId::DevMailbox => dev_mailbox(cx).await,
        RouteId::DevBenchArgon2 => bench_argon2(cx),
        _ => {
            let t = tenant::find(cx.host, cx.param("tenant"))
                .await?
                .ok_or_else(|| Error::not_found("no such tenant"))?;
            match id {
                RouteId::TenantGet => Ok(json(StatusCode::OK, &tenant_json(cx, &t).await?)),
                RouteId::TenantUpdate => update_tenant(cx, &t).await,
                RouteId::TenantDelete => {
                    tenant::delete(cx.host, &t).await?;
                    audit(
                        cx,
                        None,
                        "tenant deleted",
                        serde_json::json!({ "tenant": t.id, "slug": t.slug }),
                    )
                    .await?;
                    Ok(no_content())
                }
                RouteId::ApiKeysList => {
                    let keys = api_keys::list(cx.host, &t.id).await?;
                    Ok(json(
                        StatusCode::OK,
                        &serde_json::json!({ "api_keys": keys }),
                    ))
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
                    Ok(json(
                        StatusCode::OK,
                        &serde_json::json!({ "signing_keys": keys }),
                    ))
                }
                RouteId::SigningKeysRotate => {
                    let key = keys::rotate(cx.host, &t.id).await?;
                    audit(
                        cx,
                        Some(&t),
                        "signing key rotated",
                        serde_json::json!({ "kid": key.kid }),
                    )
                    .await?;
                    Ok(json(
                        StatusCode::CREATED,
                        &serde_json::to_value(key).map_err(|e| Error::server(e.to_string()))?,
                    ))
                }
                RouteId::SigningKeyRetire => {
                    match keys::retire(cx.host, &t.id, cx.param("kid")).await? {
                        RetireOutcome::Retired => {
                            audit(
                                cx,
                                Some(&t),
                                "signing key retired",
                                serde_json::json!({ "kid": cx.param("kid") }),
                            )
                            .await?;
                            Ok(no_content())
                        }
                        RetireOutcome::NotFound => Err(Error::not_found("no such signing key")),
                        RetireOutcome::IsActive => Err(Error::conflict(
                            "the active signing key cannot be retired; rotate first",
                        )),
                    }
                }
                RouteId::DomainsList => {
                    let d = tenant::domains(cx.host, &t).await?;
                    Ok(json(StatusCode::OK, &serde_json::json!({ "domains": d })))
                }
                RouteId::DomainsAdd => {
                    #[derive(Deserialize)]
                    #[serde(deny_unknown_fields)]
                    struct Body {
                        domain: String,
                    }
                    let b: Body = cx.req.json()?;
                    let d = tenant::add_domain(cx.host, &t, &b.domain).await?;
                    audit(
                        cx,
                        Some(&t),
                        "custom domain added",
                        serde_json::json!({ "domain": d }),
                    )
                    .await?;
                    Ok(json(
                        StatusCode::CREATED,
                        &serde_json::json!({ "domain": d }),
                    ))
                }
                RouteId::DomainRemove => {
                    if !tenant::remove_domain(cx.host, &t, cx.param("domain")).await? {
                        return Err(Error::not_found("no such domain on this tenant"));
                    }
                    audit(
                        cx,
                        Some(&t),
                        "custom domain removed",
                        serde_json::json!({ "domain": cx.param("domain") }),
                    )
                    .await?;
                    Ok(no_content())
                }
                RouteId::TenantLogs => {
                    let page = Page::from_request(cx.req)?;
                    let events =
                        logs::list(cx.host, &t.id, cx.req.query_param("type"), page.limit).await?;
                    Ok(json(StatusCode::OK, &serde_json::json!({ "logs": events })))
                }
                _ => Err(Error::not_found("no such route")),
            }
        }
    }
}

async fn audit<H: Host>(
    cx: &Ctx<'_, H>,
    t: Option<&Tenant>,
    what: &str,
    details: serde_json::Value,
) -> Result<()> {
    logs::record(
        cx.host,
        Audit {
            tenant: t.map(|t| &t.id),
            kind: EventType::ApiOperation,
            description: format!("platform API: {what}"),
            user: None,
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
    let page = Page::from_request(cx.req)?;
    let rows = tenant::list(cx.host, page.after.as_deref(), page.limit + 1).await?;
    let (items, next) = page.finish(rows, |t| t.id.as_str());
    Ok(json(
        StatusCode::OK,
        &serde_json::json!({ "tenants": items, "next_cursor": next }),
    ))
}

async fn create_tenant<H: Host>(cx: &Ctx<'_, H>) -> Result<HttpResponse> {
    #[derive(Deserialize)]
    #[serde(deny_unknown_fields)]
    struct Body {
        slug: String,
        name: Option<String>,
    }
    let b: Body = cx.req.json()?;
    let name = b.name.clone().unwrap_or_else(|| b.slug.clone());
    let t = tenant::create(cx.host, &b.slug, &name).await?;
    audit(
        cx,
        Some(&t),
        "tenant created",
        serde_json::json!({ "slug": t.slug }),
    )
    .await?;
    let v = tenant_json(cx, &t).await?;
    Ok(json(StatusCode::CREATED, &v))
}

async fn update_tenant<H: Host>(cx: &Ctx<'_, H>, t: &Tenant) -> Result<HttpResponse> {
    #[derive(Deserialize)]
    #[serde(deny_unknown_fields)]
    struct Body {
        name: Option<String>,
        settings: Option<serde_json::Map<String, serde_json::Value>>,
    }
    let b: Body = cx.req.json()?;
    let settings = match b.settings {
        None => None,
        Some(patch) => {
            // Merge the given fields over the current settings, then re-check
            // the whole (unknown fields refused, ranges validated).
            let mut current =
                serde_json::to_value(&t.settings).map_err(|e| Error::server(e.to_string()))?;
            for (k, v) in patch {
                current[k] = v;
            }
            let s: Settings = serde_json::from_value(current)
                .map_err(|e| Error::bad_request(format!("settings: {e}")))?;
            s.validate().map_err(Error::bad_request)?;
            Some(s)
        }
    };
    let updated = tenant::update(cx.host, t, b.name.as_deref(), settings).await?;
    audit(cx, Some(&updated), "tenant updated", serde_json::json!({})).await?;
    Ok(json(StatusCode::OK, &tenant_json(cx, &updated).await?))
}

async fn create_api_key<H: Host>(cx: &Ctx<'_, H>, t: &Tenant) -> Result<HttpResponse> {
    #[derive(Deserialize, Default)]
    #[serde(deny_unknown_fields)]
    struct Body {
        name: Option<String>,
    }
    let b: Body = if cx.req.body.is_empty() {
        Body::default()
    } else {
        cx.req.json()?
    };
    let (key, secret) =
        api_keys::create(cx.host, &t.id, b.name.as_deref().unwrap_or("management")).await?;
    audit(
        cx,
        Some(t),
        "management API key created",
        serde_json::json!({ "key_id": key.id }),
    )
    .await?;
    let mut v = serde_json::to_value(&key).map_err(|e| Error::server(e.to_string()))?;
    // Shown this once; only its digest is stored.
    v["key"] = secret.expose().clone().into();
    Ok(json(StatusCode::CREATED, &v))
}

async fn dev_mailbox<H: Host>(cx: &Ctx<'_, H>) -> Result<HttpResponse> {
    if crate::email::provider(cx.host) != crate::email::Provider::Dev {
        return Err(Error::not_found(
            "the dev mailbox exists only with EMAIL_PROVIDER=dev",
        ));
    }
    let page = Page::from_request(cx.req)?;
    let messages = crate::email::dev_mailbox(cx.host, cx.req.query_param("to"), page.limit).await?;
    Ok(json(
        StatusCode::OK,
        &serde_json::json!({ "messages": messages }),
    ))
}

/// Runs `n` Argon2id hashes with the production parameters, so a benchmark
/// can time hashing inside the real runtime from outside (Workers freeze
/// `Date.now()` during execution, so the worker cannot time itself). Exists
/// only where the operator sets `BENCH_ENDPOINTS=true`.
fn bench_argon2<H: Host>(cx: &Ctx<'_, H>) -> Result<HttpResponse> {
    if cx.host.secrets().var("BENCH_ENDPOINTS").as_deref() != Some("true") {
        return Err(Error::not_found("benchmark endpoints are disabled"));
    }
    let n: u32 = cx
        .req
        .query_param("n")
        .and_then(|n| n.parse().ok())
        .filter(|n| *n <= 20)
        .ok_or_else(|| Error::bad_request("n must be an integer from 0 to 20"))?;
    let pw = crate::types::Secret::new("benchmark password".to_string());
    for i in 0..n {
        crate::users::password::hash(&pw, [i as u8; 16])?;
    }
    Ok(json(StatusCode::OK, &serde_json::json!({ "hashes": n })))
}
