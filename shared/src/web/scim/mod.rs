//! SCIM 2.0 endpoints (RFC 7644) under `/t/{tenant}/scim/v2`: discovery,
//! Users and Groups. A tenant's SCIM token (`tsc_...`, `scim::tokens`)
//! authenticates every request, discovery included; the tenant must have
//! SCIM switched on. Errors take the SCIM error schema (§3.12) and bodies
//! are `application/scim+json`.

mod discovery;
mod groups;
mod list;
mod users;

use http::StatusCode;
use serde_json::Value;

use crate::error::{Error, ErrorKind, Result};
use crate::host::Host;
use crate::logs::{self, Audit, EventType};
use crate::scim::config::{self, ScimConfig};
use crate::scim::tokens::{self, ScimToken};
use crate::scim::ScimType;
use crate::web::response::HttpResponse;
use crate::web::router::{r, Ctx, Route, RouteId};

use crate::web::router::RouteId::*;
use crate::web::router::Scope::Tenant as T;
use crate::web::router::Surface::Scim as S;

pub const ROUTES: &[Route] = &[
    r("GET", "/scim/v2/ServiceProviderConfig", T, S, ScimServiceProviderConfig),
    r("GET", "/scim/v2/ResourceTypes", T, S, ScimResourceTypes),
    r("GET", "/scim/v2/ResourceTypes/{name}", T, S, ScimResourceType),
    r("GET", "/scim/v2/Schemas", T, S, ScimSchemas),
    r("GET", "/scim/v2/Schemas/{uri}", T, S, ScimSchema),
    r("GET", "/scim/v2/Users", T, S, ScimUsersList),
    r("POST", "/scim/v2/Users", T, S, ScimUsersCreate),
    r("POST", "/scim/v2/Users/.search", T, S, ScimUsersSearch),
    r("GET", "/scim/v2/Users/{id}", T, S, ScimUserGet),
    r("PUT", "/scim/v2/Users/{id}", T, S, ScimUserReplace),
    r("PATCH", "/scim/v2/Users/{id}", T, S, ScimUserPatch),
    r("DELETE", "/scim/v2/Users/{id}", T, S, ScimUserDelete),
    r("GET", "/scim/v2/Groups", T, S, ScimGroupsList),
    r("POST", "/scim/v2/Groups", T, S, ScimGroupsCreate),
    r("POST", "/scim/v2/Groups/.search", T, S, ScimGroupsSearch),
    r("GET", "/scim/v2/Groups/{id}", T, S, ScimGroupGet),
    r("PUT", "/scim/v2/Groups/{id}", T, S, ScimGroupReplace),
    r("PATCH", "/scim/v2/Groups/{id}", T, S, ScimGroupPatch),
    r("DELETE", "/scim/v2/Groups/{id}", T, S, ScimGroupDelete),
    r("POST", "/scim/v2/.search", T, S, ScimSearch),
    r("POST", "/scim/v2/Bulk", T, S, ScimBulk),
];

/// The list response schema (RFC 7644 §3.4.2).
pub const LIST_RESPONSE: &str = "urn:ietf:params:scim:api:messages:2.0:ListResponse";

/// A request's authenticated context.
pub struct Scim<'c, 'a, H: Host> {
    pub cx: &'c Ctx<'a, H>,
    pub token: ScimToken,
    pub config: ScimConfig,
    /// The SCIM root, for `location`s and `$ref`s.
    pub base: String,
}

impl<H: Host> Scim<'_, '_, H> {
    /// Records a SCIM change as an audit event (it reaches the log streams
    /// like every other).
    pub async fn audit(&self, what: &str, user: Option<&crate::types::UserId>, details: Value) -> Result<()> {
        let cx = self.cx;
        logs::record(
            cx.host,
            Audit {
                tenant: Some(cx.tenant().id()),
                kind: EventType::ScimOperation,
                description: format!("SCIM: {what}"),
                user,
                client_ip: &cx.req.client_ip,
                details: serde_json::json!({ "token": { "id": self.token.id, "prefix": self.token.prefix }, "details": details }),
                context: logs::EventContext {
                    user_agent: cx.req.header("user-agent").map(str::to_owned),
                    hostname: Some(cx.req.host_name.clone()).filter(|h| !h.is_empty()),
                    ..Default::default()
                },
            },
        )
        .await
    }

    /// The request body as JSON; a body that is not is `invalidSyntax`.
    pub fn body(&self) -> Result<Value> {
        self.cx.req.json::<Value>().map_err(|e| match e.kind {
            ErrorKind::InvalidRequest => e.with_code(ScimType::InvalidSyntax.as_str()),
            _ => e,
        })
    }

    /// `If-Match` (RFC 7644 §3.14): a write to a resource that changed
    /// since the client read it is refused with 412.
    pub fn check_if_match(&self, current_version: &str) -> Result<()> {
        let Some(header) = self.cx.req.header("if-match") else { return Ok(()) };
        let strip = |v: &str| v.trim().trim_start_matches("W/").to_string();
        let matches = header.split(',').any(|v| v.trim() == "*" || strip(v) == strip(current_version));
        if matches {
            Ok(())
        } else {
            Err(Error::new(ErrorKind::PreconditionFailed, "the resource changed since that version was read"))
        }
    }
}

/// A SCIM resource response, with its `ETag` (and `Location` when created).
pub fn resource(status: StatusCode, value: &Value) -> HttpResponse {
    let mut b = http::Response::builder()
        .status(status)
        .header("content-type", "application/scim+json")
        .header("cache-control", "no-store")
        .header("x-content-type-options", "nosniff");
    if let Some(meta) = value.get("meta") {
        if let Some(v) = meta.get("version").and_then(Value::as_str) {
            b = b.header("etag", v);
        }
        if status == StatusCode::CREATED {
            if let Some(l) = meta.get("location").and_then(Value::as_str) {
                b = b.header("location", l);
            }
        }
    }
    b.body(value.to_string().into_bytes()).unwrap_or_else(|_| Error::server("unencodable SCIM header").to_scim())
}

use crate::web::render::Render;

async fn authenticate<'c, 'a, H: Host>(cx: &'c Ctx<'a, H>) -> Result<Scim<'c, 'a, H>> {
    let t = cx.tenant();
    let presented = cx.req.bearer().unwrap_or("");
    let token = tokens::authenticate(cx.host, t.id(), presented).await?;
    let config = config::get(cx.host, t.id()).await?;
    if !config.enabled {
        return Err(Error::forbidden("SCIM provisioning is switched off for this tenant"));
    }
    Ok(Scim { cx, token, config, base: t.url("/scim/v2") })
}

pub async fn dispatch<H: Host>(id: RouteId, cx: &Ctx<'_, H>) -> Result<HttpResponse> {
    let s = authenticate(cx).await?;
    match id {
        ScimServiceProviderConfig | ScimResourceTypes | ScimResourceType | ScimSchemas | ScimSchema => {
            discovery::dispatch(id, &s)
        }
        ScimUsersList | ScimUsersCreate | ScimUsersSearch | ScimUserGet | ScimUserReplace | ScimUserPatch
        | ScimUserDelete => users::dispatch(id, &s).await,
        ScimGroupsList | ScimGroupsCreate | ScimGroupsSearch | ScimGroupGet | ScimGroupReplace | ScimGroupPatch
        | ScimGroupDelete => {
            if !s.config.groups_enabled {
                return Err(Error::not_found("groups are not provisioned to this tenant"));
            }
            groups::dispatch(id, &s).await
        }
        // Searching across resource types and bulk operations are not
        // offered; ServiceProviderConfig says so for bulk.
        _ => Err(Error::new(
            ErrorKind::NotImplemented,
            "search across resource types and bulk operations are not supported; use /Users or /Groups",
        )),
    }
}
