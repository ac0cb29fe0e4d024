//! The tenant management API (`/t/{tenant}/api/v1/*`). Two credentials work:
//!
//! - a management API key (`tmk_...`, full access), looked up by prefix *and*
//!   tenant id, so another tenant's key is unknown here;
//! - an OAuth access token of this tenant for the management audience
//!   (`urn:tessera:management`), from the client-credentials grant, whose
//!   scopes (`read:users`, `write:clients`, ...) must cover the route.
//!
//! Errors are problem+json.

pub mod actions;
pub mod clients;
pub mod log_streams;
pub mod scim;
pub mod users;

use crate::error::{Error, Result};
use crate::host::Host;
use crate::logs::{self, Audit, EventType};
use crate::oauth::resources::MANAGEMENT_AUDIENCE;
use crate::oauth::{split_scopes, tokens};
use crate::tenant::api_keys::{self, KEY_PREFIX};
use crate::web::response::HttpResponse;
use crate::web::router::{Ctx, RouteId};

use crate::web::router::RouteId::*;
use crate::web::router::Scope::Tenant as T;
use crate::web::router::Surface::Problem as J;
use crate::web::router::{r, Route};

/// The tenant management API's routes.
pub const ROUTES: &[Route] = &[
    r("GET", "/api/v1/users", T, J, UsersList),
    r("POST", "/api/v1/users", T, J, UsersCreate),
    r("GET", "/api/v1/users/{user_id}", T, J, UserGet),
    r("PATCH", "/api/v1/users/{user_id}", T, J, UserUpdate),
    r("DELETE", "/api/v1/users/{user_id}", T, J, UserDelete),
    r("POST", "/api/v1/users/{user_id}/block", T, J, UserBlock),
    r("POST", "/api/v1/users/{user_id}/unblock", T, J, UserUnblock),
    r("GET", "/api/v1/users/{user_id}/mfa", T, J, UserMfaGet),
    r("DELETE", "/api/v1/users/{user_id}/mfa", T, J, UserMfaReset),
    r("PUT", "/api/v1/users/{user_id}/mfa/totp", T, J, UserMfaTotpImport),
    r("DELETE", "/api/v1/users/{user_id}/mfa/totp", T, J, UserMfaTotpDelete),
    r("DELETE", "/api/v1/users/{user_id}/mfa/email", T, J, UserMfaEmailDelete),
    r("GET", "/api/v1/logs", T, J, LogsList),
    r("GET", "/api/v1/clients", T, J, ClientsList),
    r("POST", "/api/v1/clients", T, J, ClientsCreate),
    r("GET", "/api/v1/clients/{client_id}", T, J, ClientGet),
    r("PATCH", "/api/v1/clients/{client_id}", T, J, ClientUpdate),
    r("DELETE", "/api/v1/clients/{client_id}", T, J, ClientDelete),
    r("POST", "/api/v1/clients/{client_id}/rotate-secret", T, J, ClientRotateSecret),
    r("GET", "/api/v1/resource-servers", T, J, ResourcesList),
    r("POST", "/api/v1/resource-servers", T, J, ResourcesCreate),
    r("GET", "/api/v1/resource-servers/{api_id}", T, J, ResourceGet),
    r("DELETE", "/api/v1/resource-servers/{api_id}", T, J, ResourceDelete),
    r("GET", "/api/v1/users/{user_id}/consents", T, J, ConsentsList),
    r("DELETE", "/api/v1/users/{user_id}/consents/{client_id}", T, J, ConsentRevoke),
    r("GET", "/api/v1/log-streams", T, J, LogStreamsList),
    r("POST", "/api/v1/log-streams", T, J, LogStreamsCreate),
    r("GET", "/api/v1/log-streams/{stream_id}", T, J, LogStreamGet),
    r("PATCH", "/api/v1/log-streams/{stream_id}", T, J, LogStreamUpdate),
    r("DELETE", "/api/v1/log-streams/{stream_id}", T, J, LogStreamDelete),
    r("POST", "/api/v1/log-streams/{stream_id}/pause", T, J, LogStreamPause),
    r("POST", "/api/v1/log-streams/{stream_id}/resume", T, J, LogStreamResume),
    r("POST", "/api/v1/log-streams/{stream_id}/test", T, J, LogStreamTest),
    r("GET", "/api/v1/log-streams/{stream_id}/deliveries", T, J, LogStreamDeliveries),
    r("GET", "/api/v1/log-streams/{stream_id}/dead-letters", T, J, LogStreamDeadLetters),
    r("POST", "/api/v1/log-streams/{stream_id}/dead-letters/redeliver", T, J, LogStreamRedeliverAll),
    r("POST", "/api/v1/log-streams/{stream_id}/dead-letters/{log_id}/redeliver", T, J, LogStreamRedeliverOne),
    r("GET", "/api/v1/actions", T, J, ActionsList),
    r("POST", "/api/v1/actions", T, J, ActionsCreate),
    r("GET", "/api/v1/actions/{action_id}", T, J, ActionGet),
    r("PATCH", "/api/v1/actions/{action_id}", T, J, ActionUpdate),
    r("DELETE", "/api/v1/actions/{action_id}", T, J, ActionDelete),
    r("POST", "/api/v1/actions/{action_id}/deploy", T, J, ActionDeploy),
    r("GET", "/api/v1/actions/{action_id}/versions", T, J, ActionVersions),
    r("POST", "/api/v1/actions/{action_id}/versions/{version}/deploy", T, J, ActionRollback),
    r("POST", "/api/v1/actions/{action_id}/test", T, J, ActionTest),
    r("GET", "/api/v1/actions/{action_id}/executions", T, J, ActionExecutions),
    r("GET", "/api/v1/triggers", T, J, TriggersList),
    r("GET", "/api/v1/triggers/{trigger}", T, J, TriggerGet),
    r("PUT", "/api/v1/triggers/{trigger}", T, J, TriggerUpdate),
    r("GET", "/api/v1/scim", T, J, ScimConfigGet),
    r("PATCH", "/api/v1/scim", T, J, ScimConfigUpdate),
    r("GET", "/api/v1/scim/tokens", T, J, ScimTokensList),
    r("POST", "/api/v1/scim/tokens", T, J, ScimTokensCreate),
    r("POST", "/api/v1/scim/tokens/{token_id}/rotate", T, J, ScimTokenRotate),
    r("DELETE", "/api/v1/scim/tokens/{token_id}", T, J, ScimTokenRevoke),
];

/// Who is calling the management API.
pub enum Caller {
    /// A management API key: every scope.
    ApiKey(api_keys::ApiKey),
    /// An OAuth client, with the scopes its access token carries.
    Client { client_id: String, scopes: Vec<String> },
}

impl Caller {
    fn actor(&self) -> serde_json::Value {
        match self {
            Caller::ApiKey(k) => serde_json::json!({ "key_id": k.id }),
            Caller::Client { client_id, .. } => serde_json::json!({ "client_id": client_id }),
        }
    }

    /// Whether the caller holds a management scope (a key holds all).
    pub fn holds(&self, scope: &str) -> bool {
        match self {
            Caller::ApiKey(_) => true,
            Caller::Client { scopes, .. } => scopes.iter().any(|s| s == scope),
        }
    }

    /// A caller may hand out only the management scopes it holds itself:
    /// otherwise `write:clients` would mint a client with every scope, and
    /// `write:users` would make an administrator (who then uses the admin UI).
    pub fn may_grant<'s>(&self, scopes: impl IntoIterator<Item = &'s str>) -> Result<()> {
        match scopes.into_iter().find(|s| !self.holds(s)) {
            None => Ok(()),
            Some(s) => Err(Error::forbidden(format!(
                "the access token does not hold the {s} scope, so it cannot grant it or act on a holder of it"
            ))),
        }
    }
}

/// The scope a route needs when called with an OAuth token.
pub fn required_scope(id: RouteId) -> &'static str {
    use RouteId::*;
    match id {
        UsersList | UserGet | ConsentsList | UserMfaGet => "read:users",
        UsersCreate | UserUpdate | UserDelete | UserBlock | UserUnblock | ConsentRevoke | UserMfaReset
        | UserMfaTotpImport | UserMfaTotpDelete | UserMfaEmailDelete => "write:users",
        ClientsList | ClientGet => "read:clients",
        ClientsCreate | ClientUpdate | ClientDelete | ClientRotateSecret => "write:clients",
        ResourcesList | ResourceGet => "read:resource_servers",
        ResourcesCreate | ResourceDelete => "write:resource_servers",
        LogStreamsList | LogStreamGet | LogStreamDeliveries | LogStreamDeadLetters => "read:log_streams",
        LogStreamsCreate
        | LogStreamUpdate
        | LogStreamDelete
        | LogStreamPause
        | LogStreamResume
        | LogStreamTest
        | LogStreamRedeliverAll
        | LogStreamRedeliverOne => "write:log_streams",
        ActionsList | ActionGet | ActionVersions | ActionExecutions | TriggersList | TriggerGet => "read:actions",
        ActionsCreate | ActionUpdate | ActionDelete | ActionDeploy | ActionRollback | ActionTest | TriggerUpdate => {
            "write:actions"
        }
        ScimConfigGet | ScimTokensList => "read:scim",
        ScimConfigUpdate | ScimTokensCreate | ScimTokenRotate | ScimTokenRevoke => "write:scim",
        _ => "read:logs",
    }
}

async fn authenticate<H: Host>(cx: &Ctx<'_, H>, id: RouteId) -> Result<Caller> {
    let t = cx.tenant();
    let presented = cx.req.bearer().unwrap_or("");
    if presented.is_empty() || presented.starts_with(KEY_PREFIX) {
        return Ok(Caller::ApiKey(api_keys::authenticate(cx.host, t.id(), presented).await?));
    }
    let invalid = || Error::unauthorized("invalid or missing management API key or access token");
    let (claims, _) = tokens::verify_access(cx.host, t, presented).await?.map_err(|_| invalid())?;
    if claims.aud != MANAGEMENT_AUDIENCE {
        return Err(invalid());
    }
    let need = required_scope(id);
    if !split_scopes(&claims.scope).iter().any(|s| s == need) {
        return Err(Error::forbidden(format!("the access token lacks the {need} scope")));
    }
    Ok(Caller::Client { client_id: claims.client_id, scopes: split_scopes(&claims.scope) })
}

pub async fn dispatch<H: Host>(id: RouteId, cx: &Ctx<'_, H>) -> Result<HttpResponse> {
    let who = authenticate(cx, id).await?;
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
        | RouteId::ConsentRevoke => clients::dispatch(id, cx, &who).await,
        RouteId::LogStreamsList
        | RouteId::LogStreamsCreate
        | RouteId::LogStreamGet
        | RouteId::LogStreamUpdate
        | RouteId::LogStreamDelete
        | RouteId::LogStreamPause
        | RouteId::LogStreamResume
        | RouteId::LogStreamTest
        | RouteId::LogStreamDeliveries
        | RouteId::LogStreamDeadLetters
        | RouteId::LogStreamRedeliverAll
        | RouteId::LogStreamRedeliverOne => log_streams::dispatch(id, cx, &who).await,
        RouteId::ActionsList
        | RouteId::ActionsCreate
        | RouteId::ActionGet
        | RouteId::ActionUpdate
        | RouteId::ActionDelete
        | RouteId::ActionDeploy
        | RouteId::ActionVersions
        | RouteId::ActionRollback
        | RouteId::ActionTest
        | RouteId::ActionExecutions
        | RouteId::TriggersList
        | RouteId::TriggerGet
        | RouteId::TriggerUpdate => actions::dispatch(id, cx, &who).await,
        RouteId::ScimConfigGet
        | RouteId::ScimConfigUpdate
        | RouteId::ScimTokensList
        | RouteId::ScimTokensCreate
        | RouteId::ScimTokenRotate
        | RouteId::ScimTokenRevoke => scim::dispatch(id, cx, &who).await,
        _ => users::dispatch(id, cx, &who).await,
    }
}

/// Audits a change made through the management API.
pub async fn audit<H: Host>(cx: &Ctx<'_, H>, who: &Caller, what: &str, details: serde_json::Value) -> Result<()> {
    logs::record(
        cx.host,
        Audit {
            tenant: Some(cx.tenant().id()),
            kind: EventType::ApiOperation,
            description: format!("management API: {what}"),
            user: None,
            client_ip: &cx.req.client_ip,
            details: serde_json::json!({ "caller": who.actor(), "details": details }),
            context: logs::EventContext {
                client_id: match who {
                    Caller::Client { client_id, .. } => Some(client_id.clone()),
                    Caller::ApiKey(_) => None,
                },
                user_agent: cx.req.header("user-agent").map(str::to_owned),
                hostname: Some(cx.req.host_name.clone()).filter(|h| !h.is_empty()),
                ..Default::default()
            },
        },
    )
    .await
}
