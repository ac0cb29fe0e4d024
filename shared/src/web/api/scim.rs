//! `/api/v1/scim`: a tenant's SCIM configuration and its tokens, through
//! the management API. A token's secret is in the creation (or rotation)
//! response only.

use http::StatusCode;
use serde::Deserialize;
use serde_json::json;

use super::{audit, Caller};
use crate::error::{Error, Result};
use crate::host::Host;
use crate::scim::config::{self, ScimConfig, ScimConfigPatch};
use crate::scim::tokens;
use crate::web::response::{json, no_content, HttpResponse};
use crate::web::router::{Ctx, RouteId};

/// `POST /api/v1/scim/tokens`.
#[cfg_attr(feature = "openapi", derive(schemars::JsonSchema))]
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NewScimToken {
    /// What the token is for (the IdP connection).
    pub name: String,
    /// Seconds until it stops working; absent: it does not expire.
    pub lifetime_seconds: Option<i64>,
}

/// `POST /api/v1/scim/tokens/{token_id}/rotate`.
#[cfg_attr(feature = "openapi", derive(schemars::JsonSchema))]
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RotateScimToken {
    /// How long the old token keeps working, in seconds (default one day,
    /// at most a week).
    pub overlap_seconds: Option<i64>,
    /// The new token's lifetime in seconds; absent: it does not expire.
    pub lifetime_seconds: Option<i64>,
}

/// The configuration as the API shows it: with the SCIM base URL an IdP is
/// given.
#[cfg_attr(feature = "openapi", derive(schemars::JsonSchema))]
#[derive(Debug, serde::Serialize)]
pub struct ScimSettings {
    #[serde(flatten)]
    pub config: ScimConfig,
    /// The SCIM 2.0 base URL to configure in the identity provider.
    pub base_url: String,
}

fn millis(seconds: Option<i64>) -> Option<i64> {
    seconds.map(|s| s.saturating_mul(1000))
}

fn not_found() -> Error {
    Error::not_found("no such SCIM token")
}

pub async fn dispatch<H: Host>(id: RouteId, cx: &Ctx<'_, H>, who: &Caller) -> Result<HttpResponse> {
    let t = cx.tenant();
    let settings = |config: ScimConfig| ScimSettings { config, base_url: t.url("/scim/v2") };
    match id {
        RouteId::ScimConfigGet => {
            let c = config::get(cx.host, t.id()).await?;
            Ok(json(StatusCode::OK, &serde_json::to_value(settings(c)).unwrap_or_default()))
        }
        RouteId::ScimConfigUpdate => {
            let patch: ScimConfigPatch = cx.req.json()?;
            let c = config::update(cx.host, t.id(), patch).await?;
            audit(cx, who, "SCIM configuration changed", serde_json::to_value(c).unwrap_or_default()).await?;
            Ok(json(StatusCode::OK, &serde_json::to_value(settings(c)).unwrap_or_default()))
        }
        RouteId::ScimTokensList => {
            let list = tokens::list(cx.host, t.id()).await?;
            Ok(json(StatusCode::OK, &json!({ "tokens": list })))
        }
        RouteId::ScimTokensCreate => {
            let spec: NewScimToken = cx.req.json()?;
            let (token, secret) = tokens::create(cx.host, t.id(), &spec.name, millis(spec.lifetime_seconds)).await?;
            audit(cx, who, "SCIM token created", json!({ "token_id": token.id, "prefix": token.prefix })).await?;
            let mut body = serde_json::to_value(&token).unwrap_or_default();
            body["token"] = secret.expose().clone().into();
            Ok(json(StatusCode::CREATED, &body))
        }
        RouteId::ScimTokenRotate => {
            // An empty body takes the defaults.
            let spec: RotateScimToken = if cx.req.body.is_empty() { Default::default() } else { cx.req.json()? };
            let overlap = millis(spec.overlap_seconds).unwrap_or(86_400_000);
            let old = cx.param("token_id");
            let (token, secret) = tokens::rotate(cx.host, t.id(), old, overlap, millis(spec.lifetime_seconds))
                .await?
                .ok_or_else(not_found)?;
            audit(cx, who, "SCIM token rotated", json!({ "token_id": old, "new_token_id": token.id })).await?;
            let mut body = serde_json::to_value(&token).unwrap_or_default();
            body["token"] = secret.expose().clone().into();
            Ok(json(StatusCode::CREATED, &body))
        }
        _ => {
            let token = cx.param("token_id");
            if !tokens::revoke(cx.host, t.id(), token).await? {
                return Err(not_found());
            }
            audit(cx, who, "SCIM token revoked", json!({ "token_id": token })).await?;
            Ok(no_content())
        }
    }
}
