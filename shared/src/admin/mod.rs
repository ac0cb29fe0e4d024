//! The tenant management API (`/t/{tenant}/api/v1/*`), authenticated by a
//! tenant management API key. A key only ever reaches its own tenant: it is
//! looked up by prefix *and* tenant id, so another tenant's key is unknown
//! here. Errors are problem+json.

pub mod clients;
pub mod users;

use crate::error::Result;
use crate::host::Host;
use crate::logs::{self, Audit, EventType};
use crate::response::HttpResponse;
use crate::router::{Ctx, RouteId};
use crate::tenant::api_keys::{self, ApiKey};

pub async fn dispatch<H: Host>(id: RouteId, cx: &Ctx<'_, H>) -> Result<HttpResponse> {
    let presented = cx.req.bearer().unwrap_or("");
    let key = api_keys::authenticate(cx.host, cx.tenant().id(), presented).await?;
    match id {
        RouteId::LogsList => users::logs(cx).await,
        RouteId::ClientsList
        | RouteId::ClientsCreate
        | RouteId::ClientGet
        | RouteId::ClientUpdate
        | RouteId::ClientDelete
        | RouteId::ClientRotateSecret
        | RouteId::ResourcesList
        | RouteId::ResourcesCreate
        | RouteId::ResourceGet
        | RouteId::ResourceDelete
        | RouteId::ConsentsList
        | RouteId::ConsentRevoke => clients::dispatch(id, cx, &key).await,
        _ => users::dispatch(id, cx, &key).await,
    }
}

/// Audits a change made through the management API.
pub async fn audit<H: Host>(cx: &Ctx<'_, H>, key: &ApiKey, what: &str, details: serde_json::Value) -> Result<()> {
    logs::record(
        cx.host,
        Audit {
            tenant: Some(cx.tenant().id()),
            kind: EventType::ApiOperation,
            description: format!("management API: {what}"),
            user: None,
            client_ip: &cx.req.client_ip,
            details: serde_json::json!({ "key_id": key.id, "details": details }),
        },
    )
    .await
}
