//! `/api/v1/clients`, `/api/v1/resource-servers` and user consents through
//! the management API.

use http::StatusCode;

use super::audit;
use super::Caller;
use crate::error::{Error, Result};
use crate::host::Host;
use crate::oauth::clients::{self, Client, ClientSpec};
use crate::oauth::resources::{MANAGEMENT_AUDIENCE, MANAGEMENT_SCOPES};
use crate::oauth::{consent, resources};
use crate::types::{Secret, UserId};
use crate::web::response::{json, no_content, HttpResponse};
use crate::web::router::{Ctx, RouteId};

fn client_json(c: &Client, secret: Option<&Secret<String>>) -> serde_json::Value {
    let mut v = serde_json::to_value(c).unwrap_or_default();
    if let Some(s) = secret {
        // Shown this once; only its digest is stored.
        v["client_secret"] = s.expose().clone().into();
    }
    v
}

/// The management scopes a client with these audiences and scopes would
/// get tokens for: none unless the management API is one of its audiences.
fn management_scopes<'a>(audiences: &[String], scopes: &'a [String]) -> impl Iterator<Item = &'a str> {
    let managed = audiences.iter().any(|a| a == MANAGEMENT_AUDIENCE);
    scopes.iter().map(String::as_str).filter(move |s| managed && MANAGEMENT_SCOPES.contains(s))
}

pub async fn dispatch<H: Host>(id: RouteId, cx: &Ctx<'_, H>, key: &Caller) -> Result<HttpResponse> {
    let t = cx.tenant().id();
    match id {
        RouteId::ClientsList => {
            let page = cx.req.page()?;
            let rows = clients::list(cx.host, t, page.after.as_deref(), page.limit + 1).await?;
            let (items, next) = page.finish(rows, |c| c.client_id.as_str());
            let items: Vec<_> = items.iter().map(|c| client_json(c, None)).collect();
            Ok(json(StatusCode::OK, &serde_json::json!({ "clients": items, "next_cursor": next })))
        }
        RouteId::ClientsCreate => {
            let spec: ClientSpec = cx.req.json()?;
            key.may_grant(management_scopes(
                spec.audiences.as_deref().unwrap_or_default(),
                spec.scopes.as_deref().unwrap_or(&clients::default_scopes()),
            ))?;
            let (c, secret) = clients::create(cx.host, t, spec).await?;
            audit(cx, key, "client created", serde_json::json!({ "client_id": c.client_id })).await?;
            Ok(json(StatusCode::CREATED, &client_json(&c, secret.as_ref())))
        }
        RouteId::ClientGet | RouteId::ClientUpdate | RouteId::ClientDelete | RouteId::ClientRotateSecret => {
            let c = clients::get(cx.host, t, cx.param("client_id"))
                .await?
                .ok_or_else(|| Error::not_found("no such client"))?;
            // Changing, re-keying or deleting a client that holds management
            // scopes needs those scopes (a rotated secret would hand them over).
            if id != RouteId::ClientGet {
                key.may_grant(management_scopes(&c.audiences, &c.scopes))?;
            }
            match id {
                RouteId::ClientGet => Ok(json(StatusCode::OK, &client_json(&c, None))),
                RouteId::ClientUpdate => {
                    let spec: ClientSpec = cx.req.json()?;
                    key.may_grant(management_scopes(
                        spec.audiences.as_deref().unwrap_or(&c.audiences),
                        spec.scopes.as_deref().unwrap_or(&c.scopes),
                    ))?;
                    let c = clients::update(cx.host, t, &c, spec).await?;
                    audit(cx, key, "client updated", serde_json::json!({ "client_id": c.client_id })).await?;
                    Ok(json(StatusCode::OK, &client_json(&c, None)))
                }
                RouteId::ClientDelete => {
                    clients::delete(cx.host, t, &c.client_id).await?;
                    audit(cx, key, "client deleted", serde_json::json!({ "client_id": c.client_id })).await?;
                    Ok(no_content())
                }
                _ => {
                    let b: crate::web::schema::Overlap =
                        if cx.req.body.is_empty() { Default::default() } else { cx.req.json()? };
                    let secret = clients::rotate_secret(cx.host, t, &c, b.overlap_seconds.unwrap_or(0)).await?;
                    audit(cx, key, "client secret rotated", serde_json::json!({ "client_id": c.client_id })).await?;
                    Ok(json(StatusCode::OK, &client_json(&c, Some(&secret))))
                }
            }
        }
        RouteId::ResourcesList => {
            let items = resources::list(cx.host, t).await?;
            Ok(json(StatusCode::OK, &serde_json::json!({ "resource_servers": items })))
        }
        RouteId::ResourcesCreate => {
            let spec: resources::ResourceSpec = cx.req.json()?;
            let r = resources::create(cx.host, t, spec).await?;
            audit(cx, key, "API created", serde_json::json!({ "identifier": r.identifier })).await?;
            Ok(json(StatusCode::CREATED, &serde_json::to_value(r).unwrap_or_default()))
        }
        RouteId::ResourceGet => {
            let r =
                resources::get(cx.host, t, cx.param("api_id")).await?.ok_or_else(|| Error::not_found("no such API"))?;
            Ok(json(StatusCode::OK, &serde_json::to_value(r).unwrap_or_default()))
        }
        RouteId::ResourceDelete => {
            if !resources::delete(cx.host, t, cx.param("api_id")).await? {
                return Err(Error::not_found("no such API"));
            }
            audit(cx, key, "API deleted", serde_json::json!({ "api_id": cx.param("api_id") })).await?;
            Ok(no_content())
        }
        RouteId::ConsentsList | RouteId::ConsentRevoke => {
            let user = crate::users::get(cx.host, t, cx.param("user_id"))
                .await?
                .ok_or_else(|| Error::not_found("no such user"))?;
            if id == RouteId::ConsentsList {
                let items = consent::list(cx.host, t, &user.id).await?;
                return Ok(json(StatusCode::OK, &serde_json::json!({ "consents": items })));
            }
            if !consent::revoke(cx.host, t, &UserId(user.id.to_string()), cx.param("client_id")).await? {
                return Err(Error::not_found("no such consent"));
            }
            audit(
                cx,
                key,
                "consent revoked",
                serde_json::json!({ "user_id": user.id, "client_id": cx.param("client_id") }),
            )
            .await?;
            Ok(no_content())
        }
        _ => Err(Error::not_found("no such route")),
    }
}
