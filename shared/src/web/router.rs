//! Method + path -> handler. The tenant is resolved first; every route is
//! listed once in [`ROUTES`], which later checks (OpenAPI drift, the internal
//! auth matrix) read too.

use http::StatusCode;

use crate::error::{Error, ErrorKind, Result};
use crate::host::Host;
use crate::tenant::{self, TenantCtx};
use crate::web::origin::{self, Arrival, PublicUrl};
use crate::web::request::{body_limit, Request};
use crate::web::response::HttpResponse;

/// Where a route lives.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Scope {
    /// Outside tenants: health and the internal platform API.
    Platform,
    /// Under `/t/{slug}` or a tenant's custom domain.
    Tenant,
}

/// The format errors take on a route.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Surface {
    Html,
    Problem,
    /// `{"error", "error_description"}` (RFC 6749 §5.2).
    OAuth,
    /// The SCIM error schema (RFC 7644 §3.12).
    Scim,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RouteId {
    Health,
    OpenApi,
    // Internal platform API.
    TenantsList,
    TenantsCreate,
    TenantGet,
    TenantUpdate,
    TenantDelete,
    ApiKeysList,
    ApiKeysCreate,
    ApiKeyRevoke,
    SigningKeysList,
    SigningKeysRotate,
    SigningKeyRetire,
    DomainsList,
    DomainsAdd,
    DomainRemove,
    TenantLogs,
    DevMailbox,
    DevBenchArgon2,
    PlatformJwks,
    PlatformToken,
    PlatformKeysList,
    PlatformKeysCreate,
    PlatformKeyRotate,
    PlatformKeyRevoke,
    PlatformSigningKeyRotate,
    PlatformAudit,
    Maintenance,
    // OIDC.
    Discovery,
    Jwks,
    // Hosted pages.
    Home,
    LoginShow,
    LoginSubmit,
    SignupShow,
    SignupSubmit,
    LogoutShow,
    LogoutSubmit,
    Account,
    VerifyShow,
    VerifySubmit,
    VerifyResend,
    ResetShow,
    ResetSubmit,
    ResetConfirmShow,
    ResetConfirmSubmit,
    MfaShow,
    MfaSubmit,
    MfaEnrollShow,
    MfaEnrollSubmit,
    MfaEmailSend,
    UserMfaEmailDelete,
    AccountMfaRemove,
    AccountMfaRecoveryCodes,
    // Tenant management API.
    UsersList,
    UsersCreate,
    UserGet,
    UserUpdate,
    UserDelete,
    UserBlock,
    UserUnblock,
    UserMfaGet,
    UserMfaReset,
    UserMfaTotpImport,
    UserMfaTotpDelete,
    LogsList,
    // OAuth / OIDC.
    Authorize,
    ConsentSubmit,
    Token,
    Revoke,
    Introspect,
    UserInfo,
    AccountConsentRevoke,
    ClientsList,
    ClientsCreate,
    ClientGet,
    ClientUpdate,
    ClientDelete,
    ClientRotateSecret,
    ResourcesList,
    ResourcesCreate,
    ResourceGet,
    ResourceDelete,
    ConsentsList,
    ConsentRevoke,
    LogStreamsList,
    LogStreamsCreate,
    LogStreamGet,
    LogStreamUpdate,
    LogStreamDelete,
    LogStreamPause,
    LogStreamResume,
    LogStreamTest,
    LogStreamDeliveries,
    LogStreamDeadLetters,
    LogStreamRedeliverAll,
    LogStreamRedeliverOne,
    ActionsList,
    ActionsCreate,
    ActionGet,
    ActionUpdate,
    ActionDelete,
    ActionDeploy,
    ActionVersions,
    ActionRollback,
    ActionTest,
    ActionExecutions,
    TriggersList,
    TriggerGet,
    TriggerUpdate,
    AdminActions,
    AdminActionCreate,
    AdminAction,
    AdminActionUpdate,
    AdminActionDeploy,
    AdminActionRollback,
    AdminActionDelete,
    AdminTriggerUpdate,
    // Admin UI.
    AdminHome,
    AdminClients,
    AdminClientNew,
    AdminClientCreate,
    AdminClient,
    AdminClientUpdate,
    AdminClientRotate,
    AdminClientDelete,
    AdminConsentRevoke,
    AdminLogStreams,
    AdminLogStreamCreate,
    AdminLogStream,
    AdminLogStreamUpdate,
    AdminLogStreamPause,
    AdminLogStreamResume,
    AdminLogStreamTest,
    AdminLogStreamDelete,
    AdminLogStreamRedeliver,
    AdminLogs,
    AdminUsers,
    AdminUser,
    AdminUserBlock,
    AdminUserUnblock,
    AdminUserPasswordReset,
    AdminUserMfaReset,
    AdminScim,
    AdminScimUpdate,
    AdminScimTokenCreate,
    AdminScimTokenRotate,
    AdminScimTokenRevoke,
    // Management API: SCIM configuration and tokens.
    ScimConfigGet,
    ScimConfigUpdate,
    ScimTokensList,
    ScimTokensCreate,
    ScimTokenRotate,
    ScimTokenRevoke,
    // SCIM 2.0 (RFC 7644).
    ScimServiceProviderConfig,
    ScimResourceTypes,
    ScimResourceType,
    ScimSchemas,
    ScimSchema,
    ScimUsersList,
    ScimUsersCreate,
    ScimUsersSearch,
    ScimUserGet,
    ScimUserReplace,
    ScimUserPatch,
    ScimUserDelete,
    ScimGroupsList,
    ScimGroupsCreate,
    ScimGroupsSearch,
    ScimGroupGet,
    ScimGroupReplace,
    ScimGroupPatch,
    ScimGroupDelete,
    ScimSearch,
    ScimBulk,
}

#[derive(Debug, Clone, Copy)]
pub struct Route {
    pub method: &'static str,
    /// Segments; `{name}` matches one segment.
    pub path: &'static str,
    pub scope: Scope,
    pub surface: Surface,
    pub id: RouteId,
}

pub const fn r(method: &'static str, path: &'static str, scope: Scope, surface: Surface, id: RouteId) -> Route {
    Route { method, path, scope, surface, id }
}

use crate::web::render::Render;
use RouteId::*;
use Scope::Platform as P;
use Surface::Problem as J;

/// Routes outside every surface: health and the OpenAPI document.
const SERVICE: &[Route] = &[r("GET", "/healthz", P, J, Health), r("GET", "/openapi.json", P, J, OpenApi)];

/// Who dispatches a route: the router itself, or one surface.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Part {
    Service,
    Internal,
    OAuth,
    Pages,
    Api,
    Admin,
    Scim,
}

/// Each surface's own route list, in matching order.
const PARTS: [(Part, &[Route]); 7] = [
    (Part::Service, SERVICE),
    (Part::Internal, super::internal::ROUTES),
    (Part::OAuth, super::oauth::ROUTES),
    (Part::Pages, super::pages::ROUTES),
    (Part::Api, super::api::ROUTES),
    (Part::Admin, super::admin::ROUTES),
    (Part::Scim, super::scim::ROUTES),
];

const TOTAL: usize = {
    let mut n = 0;
    let mut i = 0;
    while i < PARTS.len() {
        n += PARTS[i].1.len();
        i += 1;
    }
    n
};

/// Every surface's routes in one list, built at compile time.
const ALL: [Route; TOTAL] = {
    let mut out = [SERVICE[0]; TOTAL];
    let (mut k, mut i) = (0, 0);
    while i < PARTS.len() {
        let list = PARTS[i].1;
        let mut j = 0;
        while j < list.len() {
            out[k] = list[j];
            k += 1;
            j += 1;
        }
        i += 1;
    }
    out
};

/// Every route, once: the OpenAPI document and the platform-auth matrix
/// read this list.
pub static ROUTES: &[Route] = &ALL;

/// Everything a handler sees.
pub struct Ctx<'a, H: Host> {
    pub host: &'a H,
    pub req: &'a Request,
    pub tenant: Option<TenantCtx>,
    pub params: Vec<(String, String)>,
}

impl<H: Host> Ctx<'_, H> {
    /// The tenant of a tenant-scoped route (always resolved before dispatch).
    pub fn tenant(&self) -> &TenantCtx {
        self.tenant.as_ref().expect("tenant routes are dispatched with a tenant")
    }

    pub fn param(&self, name: &str) -> &str {
        self.params.iter().find(|(n, _)| *n == name).map(|(_, v)| v.as_str()).unwrap_or("")
    }

    /// Records an audit event for this request's tenant and client.
    pub async fn audit(
        &self,
        kind: crate::logs::EventType,
        description: &str,
        user: Option<&crate::types::UserId>,
        details: serde_json::Value,
    ) -> Result<()> {
        crate::logs::record(self.host, self.audit_event(kind, description, user, details)).await
    }

    /// The same event, for a handler that stores it with its own writes
    /// ([`crate::logs::prepare`]).
    pub fn audit_event<'e>(
        &'e self,
        kind: crate::logs::EventType,
        description: &str,
        user: Option<&'e crate::types::UserId>,
        details: serde_json::Value,
    ) -> crate::logs::Audit<'e> {
        crate::logs::Audit {
            tenant: self.tenant.as_ref().map(|t| t.id()),
            kind,
            description: description.into(),
            user,
            client_ip: &self.req.client_ip,
            details,
            context: crate::logs::EventContext {
                user_agent: self.req.header("user-agent").map(str::to_owned),
                hostname: Some(self.req.host_name.clone()).filter(|h| !h.is_empty()),
                ..Default::default()
            },
        }
    }
}

/// Matches `path` against a pattern; returns the captured parameters.
fn match_path(pattern: &str, path: &str) -> Option<Vec<(String, String)>> {
    // Segment by segment, in step: a route that does not match (most of
    // those tried) costs no allocation.
    let (mut pat, mut segs) = (pattern.split('/'), path.split('/'));
    let mut params = Vec::new();
    loop {
        match (pat.next(), segs.next()) {
            (None, None) => return Some(params),
            (Some(p), Some(s)) => {
                if let Some(name) = p.strip_prefix('{').and_then(|n| n.strip_suffix('}')) {
                    if s.is_empty() {
                        return None;
                    }
                    let decoded = percent_decode(s)?;
                    params.push((name.to_string(), decoded));
                } else if p != s {
                    return None;
                }
            }
            _ => return None,
        }
    }
}

fn percent_decode(s: &str) -> Option<String> {
    let bytes: Vec<u8> = form_urlencoded::parse(format!("x={}", s.replace('+', "%2B")).as_bytes())
        .next()
        .map(|(_, v)| v.into_owned().into_bytes())?;
    String::from_utf8(bytes).ok()
}

/// The error format for a path no route claimed.
fn surface_for(path: &str) -> Surface {
    if path.contains("/scim/v2/") || path.ends_with("/scim/v2") {
        Surface::Scim
    } else if path.contains("/oauth/") || path.ends_with("/userinfo") {
        Surface::OAuth
    } else if path.contains("/api/") || path.contains("/.well-known/") || path == "/healthz" {
        Surface::Problem
    } else {
        Surface::Html
    }
}

fn render_error(surface: Surface, e: &Error) -> HttpResponse {
    match surface {
        Surface::Html => e.to_html(),
        Surface::Problem => e.to_problem(),
        Surface::OAuth => e.to_oauth(),
        Surface::Scim => e.to_scim(),
    }
}

enum Resolved<'r> {
    Route(Part, &'r Route, Vec<(String, String)>),
    NoMethod(String),
    NotFound,
}

/// Finds the route for a method and path. A path that a route names
/// literally (`/admin/clients/new`) belongs to the literal routes alone, not
/// also to a pattern that would match it (`/admin/clients/{client_id}`), so
/// its `Allow` lists what it serves.
fn resolve(scope: Scope, method: &str, path: &str) -> Resolved<'static> {
    let literal = |r: &Route| !r.path.contains('{');
    let matching = || {
        PARTS
            .iter()
            .flat_map(|(part, routes)| routes.iter().map(move |r| (*part, r)))
            .filter(move |(_, r)| r.scope == scope)
    };
    let named_literally = matching().any(|(_, r)| literal(r) && r.path == path);
    let mut allowed: Vec<&str> = Vec::new();
    for (part, route) in matching().filter(|(_, r)| !named_literally || literal(r)) {
        if let Some(params) = match_path(route.path, path) {
            if route.method == method {
                return Resolved::Route(part, route, params);
            }
            if !allowed.contains(&route.method) {
                allowed.push(route.method);
            }
        }
    }
    if allowed.is_empty() {
        Resolved::NotFound
    } else {
        Resolved::NoMethod(allowed.join(", "))
    }
}

/// The one entry point: a pure function of the request and the host.
pub async fn handle<H: Host>(req: http::Request<Vec<u8>>, host: &H) -> http::Response<Vec<u8>> {
    handle_request(Request::from_http(req), host).await
}

/// [`handle`] for a host that builds the core's [`Request`] itself (the
/// Workers host, from the request's head as one text:
/// [`Request::from_head`]).
pub async fn handle_request<H: Host>(mut req: Request, host: &H) -> http::Response<Vec<u8>> {
    // The host adapters refuse a large body by its Content-Length before
    // reading it; this catches a body that arrived without one.
    let limit = body_limit(&req.path);
    if req.body.len() > limit || crate::web::request::declared_too_large(req.header("content-length"), limit) {
        let e = Error::new(ErrorKind::PayloadTooLarge, format!("request bodies are limited to {limit} bytes"));
        return render_error(surface_for(&req.path), &e);
    }
    match route(&mut req, host).await {
        Ok(resp) => resp,
        Err((surface, e)) => {
            if let Some(internal) = &e.internal {
                // The path only: queries can carry one-time tokens.
                host.report_error(&format!("{} {}: {internal}", req.method, req.path));
            }
            // An error found before a route was: the path's surface, worked
            // out only now (four substring searches a request does not need
            // when it succeeds).
            render_error(surface.unwrap_or_else(|| surface_for(&req.path)), &e)
        }
    }
}

/// On an error, the surface that answers it, if the route (or its absence)
/// decided one; `None` leaves it to the path.
async fn route<H: Host>(req: &mut Request, host: &H) -> Result<HttpResponse, (Option<Surface>, Error)> {
    // An incomplete configuration refuses everything from the first request
    // on (`crate::config`); the health check names what is missing.
    let missing = crate::config::missing(host);
    if !missing.is_empty() {
        let e = if req.path == "/healthz" {
            Error::new(ErrorKind::Unavailable, format!("not configured: {} missing", missing.join(", ")))
        } else {
            Error {
                internal: Some(format!("not configured: {} missing", missing.join(", "))),
                ..Error::new(ErrorKind::Unavailable, "this deployment is not configured yet")
            }
        };
        return Err((None, e));
    }
    // A liveness probe needs no configuration to be right.
    let public = if req.path == "/healthz" { None } else { PublicUrl::configured(host).map_err(|e| (None, e))? };
    let platform_path = req.path == "/healthz"
        || req.path == "/openapi.json"
        || req.path.starts_with("/api/v1/internal/")
        || req.path == "/api/v1/internal";
    let (scope, tenant, rest) = match origin::arrival(public.as_ref(), &req.authority, &req.host_name) {
        // A liveness probe may come by any name (a load balancer, an IP).
        _ if req.path == "/healthz" => (Scope::Platform, None, req.path.clone()),
        Arrival::Canonical { origin } => {
            req.origin = origin;
            if platform_path {
                (Scope::Platform, None, req.path.clone())
            } else if let Some(after) = req.path.strip_prefix("/t/") {
                let (slug, rest) = match after.find('/') {
                    Some(i) => (&after[..i], after[i..].to_string()),
                    None => (after, "/".to_string()),
                };
                let found = if tenant::validate_slug(slug).is_ok() {
                    tenant::find_by_slug(host, slug).await.map_err(|e| (None, e))?
                } else {
                    None
                };
                let t = found.ok_or_else(|| (None, Error::not_found(format!("no tenant named '{slug}'"))))?;
                (Scope::Tenant, Some(TenantCtx::new(t, &req.origin, false)), rest)
            } else {
                return Err((None, Error::not_found("no tenant is served at this address; use /t/{tenant}/...")));
            }
        }
        Arrival::Elsewhere { origin } => {
            let found = tenant::find_by_domain(host, &req.host_name).await.map_err(|e| (None, e))?;
            let t = found.ok_or_else(|| (None, origin::misdirected(&req.host_name)))?;
            // A custom domain serves its own tenant's routes only: no
            // `/t/{slug}` mount (another tenant's pages would borrow this
            // tenant's origin) and no platform API.
            req.origin = origin;
            (Scope::Tenant, Some(TenantCtx::new(t, &req.origin, true)), req.path.clone())
        }
    };

    let req: &Request = req;
    let (part, route, params) = match resolve(scope, req.method.as_str(), &rest) {
        Resolved::Route(part, r, p) => (part, r, p),
        Resolved::NoMethod(allow) => return Err((Some(surface_for(&rest)), Error::method_not_allowed(allow))),
        Resolved::NotFound => {
            return Err((Some(surface_for(&rest)), Error::not_found(format!("no route for {}", req.path))))
        }
    };
    let cx = Ctx { host, req, tenant, params };
    dispatch(part, route.id, &cx).await.map_err(|e| (Some(route.surface), e))
}

/// Hands a route to the surface that owns it.
async fn dispatch<H: Host>(part: Part, id: RouteId, cx: &Ctx<'_, H>) -> Result<HttpResponse> {
    match part {
        Part::Service => match id {
            Health => Ok(crate::web::response::text(StatusCode::OK, "ok")),
            _ => crate::web::openapi::get(cx).await,
        },
        Part::Internal => super::internal::dispatch(id, cx).await,
        Part::OAuth => super::oauth::dispatch(id, cx).await,
        Part::Pages => super::pages::dispatch(id, cx).await,
        Part::Api => super::api::dispatch(id, cx).await,
        Part::Admin => super::admin::dispatch(id, cx).await,
        Part::Scim => super::scim::dispatch(id, cx).await,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_match_with_params() {
        let p = match_path("/api/v1/users/{user_id}", "/api/v1/users/usr_1").unwrap();
        assert_eq!(p, vec![("user_id".to_string(), "usr_1".to_string())]);
        assert!(match_path("/api/v1/users/{user_id}", "/api/v1/users/").is_none());
        assert!(match_path("/api/v1/users/{user_id}", "/api/v1/users/a/b").is_none());
        let p = match_path("/d/{domain}", "/d/login.example.com").unwrap();
        assert_eq!(p[0].1, "login.example.com");
    }

    #[test]
    fn method_mismatch_lists_allowed() {
        match resolve(Scope::Tenant, "PUT", "/login") {
            Resolved::NoMethod(a) => assert_eq!(a, "GET, POST"),
            _ => panic!("expected 405"),
        }
        assert!(matches!(resolve(Scope::Tenant, "GET", "/nope"), Resolved::NotFound));
        assert!(
            matches!(resolve(Scope::Tenant, "GET", "/admin/clients/new"), Resolved::Route(Part::Admin, r, _) if r.id == AdminClientNew)
        );
    }

    #[test]
    fn every_route_is_unique() {
        for (i, a) in ROUTES.iter().enumerate() {
            for b in &ROUTES[..i] {
                assert!(!(a.method == b.method && a.path == b.path && a.scope == b.scope), "{} {}", a.method, a.path);
            }
        }
    }

    #[test]
    fn internal_routes_are_platform_scoped() {
        for r in ROUTES {
            let outside = [RouteId::Health, RouteId::OpenApi].contains(&r.id);
            assert_eq!(r.path.starts_with("/api/v1/internal/"), r.scope == Scope::Platform && !outside);
        }
    }
}
