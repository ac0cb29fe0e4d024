//! The discovery endpoints (RFC 7644 §4): what this service supports, told
//! truthfully, for the tenant's configuration (no Group resource type when
//! groups are not provisioned).

use http::StatusCode;
use serde_json::{json, Value};

use super::{resource, Scim, LIST_RESPONSE};
use crate::error::{Error, Result};
use crate::host::Host;
use crate::scim::schema::{self, ENTERPRISE_USER, GROUP, USER};
use crate::web::response::HttpResponse;
use crate::web::router::RouteId;

/// Most resources one list page returns (`filter.maxResults`).
pub const MAX_RESULTS: i64 = 1000;

fn list(items: Vec<Value>) -> Value {
    json!({
        "schemas": [LIST_RESPONSE],
        "totalResults": items.len(),
        "itemsPerPage": items.len(),
        "startIndex": 1,
        "Resources": items,
    })
}

fn service_provider_config(base: &str) -> Value {
    json!({
        "schemas": ["urn:ietf:params:scim:schemas:core:2.0:ServiceProviderConfig"],
        "patch": { "supported": true },
        "bulk": { "supported": false, "maxOperations": 0, "maxPayloadSize": 0 },
        "filter": { "supported": true, "maxResults": MAX_RESULTS },
        "changePassword": { "supported": true },
        "sort": { "supported": true },
        "etag": { "supported": true },
        "authenticationSchemes": [{
            "type": "oauthbearertoken",
            "name": "SCIM bearer token",
            "description": "A tenant's SCIM token (tsc_...), created in the admin UI or the management API",
            "primary": true,
        }],
        "meta": { "resourceType": "ServiceProviderConfig", "location": format!("{base}/ServiceProviderConfig") },
    })
}

fn resource_types(base: &str, groups: bool) -> Vec<Value> {
    let mut types = vec![json!({
        "schemas": ["urn:ietf:params:scim:schemas:core:2.0:ResourceType"],
        "id": "User",
        "name": "User",
        "endpoint": "/Users",
        "description": "The tenant's users",
        "schema": USER,
        "schemaExtensions": [{ "schema": ENTERPRISE_USER, "required": false }],
        "meta": { "resourceType": "ResourceType", "location": format!("{base}/ResourceTypes/User") },
    })];
    if groups {
        types.push(json!({
            "schemas": ["urn:ietf:params:scim:schemas:core:2.0:ResourceType"],
            "id": "Group",
            "name": "Group",
            "endpoint": "/Groups",
            "description": "Groups of the tenant's users",
            "schema": GROUP,
            "meta": { "resourceType": "ResourceType", "location": format!("{base}/ResourceTypes/Group") },
        }));
    }
    types
}

fn schemas(base: &str, groups: bool) -> Vec<Value> {
    schema::all(base).into_iter().filter(|s| groups || s["id"] != GROUP).collect()
}

pub fn dispatch<H: Host>(id: RouteId, s: &Scim<'_, '_, H>) -> Result<HttpResponse> {
    let groups = s.config.groups_enabled;
    let body = match id {
        RouteId::ScimServiceProviderConfig => service_provider_config(&s.base),
        RouteId::ScimResourceTypes => list(resource_types(&s.base, groups)),
        RouteId::ScimSchemas => list(schemas(&s.base, groups)),
        RouteId::ScimResourceType => {
            let name = s.cx.param("name");
            resource_types(&s.base, groups)
                .into_iter()
                .find(|t| t["id"] == name)
                .ok_or_else(|| Error::not_found(format!("no resource type \"{name}\"")))?
        }
        _ => {
            let uri = s.cx.param("uri");
            schemas(&s.base, groups)
                .into_iter()
                .find(|t| t["id"].as_str().is_some_and(|i| i.eq_ignore_ascii_case(uri)))
                .ok_or_else(|| Error::not_found(format!("no schema \"{uri}\"")))?
        }
    };
    Ok(resource(StatusCode::OK, &body))
}
