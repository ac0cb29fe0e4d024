//! Method + path -> handler. The tenant is resolved first; every route is
//! listed once in [`ROUTES`], which later checks (OpenAPI drift, the internal
//! auth matrix) read too.

use http::StatusCode;

use crate::error::{Error, ErrorKind, Result};
use crate::host::Host;
use crate::tenant::{self, TenantCtx};
use crate::web::origin::{self, Arrival, PublicUrl};
use crate::web::request::{Request, MAX_BODY_BYTES};
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
    // Tenant management API.
    UsersList,
    UsersCreate,
    UserGet,
    UserUpdate,
    UserDelete,
    UserBlock,
    UserUnblock,
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
}

pub struct Route {
    pub method: &'static str,
    /// Segments; `{name}` matches one segment.
    pub path: &'static str,
    pub scope: Scope,
    pub surface: Surface,
    pub id: RouteId,
}

const fn r(method: &'static str, path: &'static str, scope: Scope, surface: Surface, id: RouteId) -> Route {
    Route { method, path, scope, surface, id }
}

use crate::web::render::Render;
use RouteId::*;
use Scope::{Platform as P, Tenant as T};
use Surface::{Html as H, OAuth as O, Problem as J};

pub static ROUTES: &[Route] = &[
    r("GET", "/healthz", P, J, Health),
    r("GET", "/openapi.json", P, J, OpenApi),
    r("GET", "/api/v1/internal/tenants", P, J, TenantsList),
    r("POST", "/api/v1/internal/tenants", P, J, TenantsCreate),
    r("GET", "/api/v1/internal/tenants/{tenant}", P, J, TenantGet),
    r("PATCH", "/api/v1/internal/tenants/{tenant}", P, J, TenantUpdate),
    r("DELETE", "/api/v1/internal/tenants/{tenant}", P, J, TenantDelete),
    r("GET", "/api/v1/internal/tenants/{tenant}/api-keys", P, J, ApiKeysList),
    r("POST", "/api/v1/internal/tenants/{tenant}/api-keys", P, J, ApiKeysCreate),
    r("DELETE", "/api/v1/internal/tenants/{tenant}/api-keys/{key_id}", P, J, ApiKeyRevoke),
    r("GET", "/api/v1/internal/tenants/{tenant}/signing-keys", P, J, SigningKeysList),
    r("POST", "/api/v1/internal/tenants/{tenant}/signing-keys", P, J, SigningKeysRotate),
    r("POST", "/api/v1/internal/tenants/{tenant}/signing-keys/{kid}/retire", P, J, SigningKeyRetire),
    r("GET", "/api/v1/internal/tenants/{tenant}/domains", P, J, DomainsList),
    r("POST", "/api/v1/internal/tenants/{tenant}/domains", P, J, DomainsAdd),
    r("DELETE", "/api/v1/internal/tenants/{tenant}/domains/{domain}", P, J, DomainRemove),
    r("GET", "/api/v1/internal/tenants/{tenant}/logs", P, J, TenantLogs),
    r("GET", "/api/v1/internal/dev/mailbox", P, J, DevMailbox),
    r("POST", "/api/v1/internal/dev/bench/argon2", P, J, DevBenchArgon2),
    r("GET", "/api/v1/internal/.well-known/jwks.json", P, J, PlatformJwks),
    r("POST", "/api/v1/internal/auth/token", P, J, PlatformToken),
    r("GET", "/api/v1/internal/api-keys", P, J, PlatformKeysList),
    r("POST", "/api/v1/internal/api-keys", P, J, PlatformKeysCreate),
    r("POST", "/api/v1/internal/api-keys/{key_id}/rotate", P, J, PlatformKeyRotate),
    r("DELETE", "/api/v1/internal/api-keys/{key_id}", P, J, PlatformKeyRevoke),
    r("POST", "/api/v1/internal/platform-signing-keys", P, J, PlatformSigningKeyRotate),
    r("GET", "/api/v1/internal/audit", P, J, PlatformAudit),
    r("POST", "/api/v1/internal/maintenance", P, J, Maintenance),
    r("GET", "/.well-known/openid-configuration", T, J, Discovery),
    r("GET", "/.well-known/jwks.json", T, J, Jwks),
    r("GET", "/", T, H, Home),
    r("GET", "/login", T, H, LoginShow),
    r("POST", "/login", T, H, LoginSubmit),
    r("GET", "/signup", T, H, SignupShow),
    r("POST", "/signup", T, H, SignupSubmit),
    r("GET", "/logout", T, H, LogoutShow),
    r("POST", "/logout", T, H, LogoutSubmit),
    r("GET", "/account", T, H, Account),
    r("GET", "/verify-email", T, H, VerifyShow),
    r("POST", "/verify-email", T, H, VerifySubmit),
    r("POST", "/verify-email/resend", T, H, VerifyResend),
    r("GET", "/password-reset", T, H, ResetShow),
    r("POST", "/password-reset", T, H, ResetSubmit),
    r("GET", "/password-reset/confirm", T, H, ResetConfirmShow),
    r("POST", "/password-reset/confirm", T, H, ResetConfirmSubmit),
    r("GET", "/api/v1/users", T, J, UsersList),
    r("POST", "/api/v1/users", T, J, UsersCreate),
    r("GET", "/api/v1/users/{user_id}", T, J, UserGet),
    r("PATCH", "/api/v1/users/{user_id}", T, J, UserUpdate),
    r("DELETE", "/api/v1/users/{user_id}", T, J, UserDelete),
    r("POST", "/api/v1/users/{user_id}/block", T, J, UserBlock),
    r("POST", "/api/v1/users/{user_id}/unblock", T, J, UserUnblock),
    r("GET", "/api/v1/logs", T, J, LogsList),
    r("GET", "/authorize", T, H, Authorize),
    r("POST", "/consent", T, H, ConsentSubmit),
    r("POST", "/oauth/token", T, O, Token),
    r("POST", "/oauth/revoke", T, O, Revoke),
    r("POST", "/oauth/introspect", T, O, Introspect),
    r("GET", "/userinfo", T, O, UserInfo),
    r("POST", "/userinfo", T, O, UserInfo),
    r("POST", "/account/consents/revoke", T, H, AccountConsentRevoke),
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
    r("GET", "/admin", T, H, AdminHome),
    r("GET", "/admin/clients", T, H, AdminClients),
    r("GET", "/admin/clients/new", T, H, AdminClientNew),
    r("POST", "/admin/clients", T, H, AdminClientCreate),
    r("GET", "/admin/clients/{client_id}", T, H, AdminClient),
    r("POST", "/admin/clients/{client_id}", T, H, AdminClientUpdate),
    r("POST", "/admin/clients/{client_id}/rotate-secret", T, H, AdminClientRotate),
    r("POST", "/admin/clients/{client_id}/delete", T, H, AdminClientDelete),
    r("POST", "/admin/clients/{client_id}/consents/revoke", T, H, AdminConsentRevoke),
];

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
        }
    }
}

/// Matches `path` against a pattern; returns the captured parameters.
fn match_path(pattern: &str, path: &str) -> Option<Vec<(String, String)>> {
    let pat: Vec<&str> = pattern.split('/').collect();
    let segs: Vec<&str> = path.split('/').collect();
    if pat.len() != segs.len() {
        return None;
    }
    let mut params = Vec::new();
    for (p, s) in pat.iter().zip(&segs) {
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
    Some(params)
}

fn percent_decode(s: &str) -> Option<String> {
    let bytes: Vec<u8> = form_urlencoded::parse(format!("x={}", s.replace('+', "%2B")).as_bytes())
        .next()
        .map(|(_, v)| v.into_owned().into_bytes())?;
    String::from_utf8(bytes).ok()
}

/// The error format for a path no route claimed.
fn surface_for(path: &str) -> Surface {
    if path.contains("/oauth/") || path.ends_with("/userinfo") {
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
    }
}

enum Resolved<'r> {
    Route(&'r Route, Vec<(String, String)>),
    NoMethod(String),
    NotFound,
}

fn resolve(scope: Scope, method: &str, path: &str) -> Resolved<'static> {
    let mut allowed = Vec::new();
    for route in ROUTES.iter().filter(|r| r.scope == scope) {
        if let Some(params) = match_path(route.path, path) {
            if route.method == method {
                return Resolved::Route(route, params);
            }
            allowed.push(route.method);
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
    let mut req = Request::from_http(req);
    let fallback_surface = surface_for(&req.path);
    // The host adapters refuse a large body by its Content-Length before
    // reading it; this catches a body that arrived without one.
    if req.body.len() > MAX_BODY_BYTES || crate::web::request::declared_too_large(req.header("content-length")) {
        let e = Error::new(ErrorKind::PayloadTooLarge, format!("request bodies are limited to {MAX_BODY_BYTES} bytes"));
        return render_error(fallback_surface, &e);
    }
    match route(&mut req, host).await {
        Ok(resp) => resp,
        Err((surface, e)) => {
            if let Some(internal) = &e.internal {
                // The path only: queries can carry one-time tokens.
                host.report_error(&format!("{} {}: {internal}", req.method, req.path));
            }
            render_error(surface, &e)
        }
    }
}

async fn route<H: Host>(req: &mut Request, host: &H) -> Result<HttpResponse, (Surface, Error)> {
    let fallback = surface_for(&req.path);
    // A liveness probe needs no configuration to be right.
    let public = if req.path == "/healthz" { None } else { PublicUrl::configured(host).map_err(|e| (fallback, e))? };
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
                    tenant::find_by_slug(host, slug).await.map_err(|e| (fallback, e))?
                } else {
                    None
                };
                let t = found.ok_or_else(|| (fallback, Error::not_found(format!("no tenant named '{slug}'"))))?;
                (Scope::Tenant, Some(TenantCtx::new(t, &req.origin, false)), rest)
            } else {
                return Err((fallback, Error::not_found("no tenant is served at this address; use /t/{tenant}/...")));
            }
        }
        Arrival::Elsewhere { origin } => {
            let found = tenant::find_by_domain(host, &req.host_name).await.map_err(|e| (fallback, e))?;
            let t = found.ok_or_else(|| (fallback, origin::misdirected(&req.host_name)))?;
            // A custom domain serves its own tenant's routes only: no
            // `/t/{slug}` mount (another tenant's pages would borrow this
            // tenant's origin) and no platform API.
            req.origin = origin;
            (Scope::Tenant, Some(TenantCtx::new(t, &req.origin, true)), req.path.clone())
        }
    };

    let req: &Request = req;
    let (route, params) = match resolve(scope, req.method.as_str(), &rest) {
        Resolved::Route(r, p) => (r, p),
        Resolved::NoMethod(allow) => return Err((surface_for(&rest), Error::method_not_allowed(allow))),
        Resolved::NotFound => return Err((surface_for(&rest), Error::not_found(format!("no route for {}", req.path)))),
    };
    let cx = Ctx { host, req, tenant, params };
    dispatch(route.id, &cx).await.map_err(|e| (route.surface, e))
}

async fn dispatch<H: Host>(id: RouteId, cx: &Ctx<'_, H>) -> Result<HttpResponse> {
    use super::{api, internal, oauth, pages};
    match id {
        Health => Ok(crate::web::response::text(StatusCode::OK, "ok")),
        OpenApi => crate::web::openapi::get(cx).await,
        Discovery => oauth::discovery::get(cx).await,
        Jwks => oauth::jwks::get(cx).await,
        Home => Ok(crate::web::response::see_other(&cx.tenant().path("/account"))),
        LoginShow => pages::login::show(cx).await,
        LoginSubmit => pages::login::submit(cx).await,
        SignupShow => pages::signup::show(cx).await,
        SignupSubmit => pages::signup::submit(cx).await,
        LogoutShow => oauth::end_session::get(cx).await,
        LogoutSubmit => oauth::end_session::post(cx).await,
        Account => pages::account::account(cx).await,
        VerifyShow => pages::verify::show(cx).await,
        VerifySubmit => pages::verify::submit(cx).await,
        VerifyResend => pages::verify::resend(cx).await,
        ResetShow => pages::reset::show_request(cx).await,
        ResetSubmit => pages::reset::submit_request(cx).await,
        ResetConfirmShow => pages::reset::show_confirm(cx).await,
        ResetConfirmSubmit => pages::reset::submit_confirm(cx).await,
        UsersList | UsersCreate | UserGet | UserUpdate | UserDelete | UserBlock | UserUnblock | LogsList
        | ClientsList | ClientsCreate | ClientGet | ClientUpdate | ClientDelete | ClientRotateSecret
        | ResourcesList | ResourcesCreate | ResourceGet | ResourceDelete | ConsentsList | ConsentRevoke => {
            api::dispatch(id, cx).await
        }
        Authorize => oauth::authorize::get(cx).await,
        ConsentSubmit => oauth::consent::submit(cx).await,
        Token => oauth::token::post(cx).await,
        Revoke => oauth::revoke::post(cx).await,
        Introspect => oauth::introspect::post(cx).await,
        UserInfo => oauth::userinfo::get(cx).await,
        AccountConsentRevoke => pages::account::revoke_consent(cx).await,
        AdminHome => crate::web::admin::home(cx).await,
        AdminClients => crate::web::admin::list(cx).await,
        AdminClientNew => crate::web::admin::new(cx).await,
        AdminClientCreate => crate::web::admin::create(cx).await,
        AdminClient => crate::web::admin::show(cx).await,
        AdminClientUpdate => crate::web::admin::update(cx).await,
        AdminClientRotate => crate::web::admin::rotate(cx).await,
        AdminClientDelete => crate::web::admin::delete(cx).await,
        AdminConsentRevoke => crate::web::admin::revoke_consent(cx).await,
        // Everything else is the internal API, guarded route by route there.
        _ => internal::dispatch(id, cx).await,
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
