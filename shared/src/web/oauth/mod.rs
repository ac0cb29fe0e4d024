//! The OAuth 2.0 / OpenID Connect endpoints: authorization and consent,
//! token, revocation, introspection, userinfo, RP-initiated logout,
//! discovery and JWKS. Errors are OAuth error objects or redirects.

pub mod authorize;
pub mod client_auth;
pub mod consent;
pub mod discovery;
pub mod end_session;
pub mod introspect;
pub mod jwks;
pub mod revoke;
pub mod token;
pub mod userinfo;

use crate::error::Result;
use crate::host::Host;
use crate::web::response::HttpResponse;
use crate::web::router::RouteId::{self, *};
use crate::web::router::Scope::Tenant as T;
use crate::web::router::Surface::{Html as H, OAuth as O, Problem as J};
use crate::web::router::{r, Ctx, Route};

/// The OAuth / OIDC endpoints' routes.
pub const ROUTES: &[Route] = &[
    r("GET", "/.well-known/openid-configuration", T, J, Discovery),
    r("GET", "/.well-known/jwks.json", T, J, Jwks),
    r("GET", "/logout", T, H, LogoutShow),
    r("POST", "/logout", T, H, LogoutSubmit),
    r("GET", "/authorize", T, H, Authorize),
    r("POST", "/consent", T, H, ConsentSubmit),
    r("POST", "/oauth/token", T, O, Token),
    r("POST", "/oauth/revoke", T, O, Revoke),
    r("POST", "/oauth/introspect", T, O, Introspect),
    r("GET", "/userinfo", T, O, UserInfo),
    r("POST", "/userinfo", T, O, UserInfo),
];

pub async fn dispatch<H: Host>(id: RouteId, cx: &Ctx<'_, H>) -> Result<HttpResponse> {
    match id {
        Discovery => discovery::get(cx).await,
        Jwks => jwks::get(cx).await,
        Authorize => authorize::get(cx).await,
        ConsentSubmit => consent::submit(cx).await,
        Token => token::post(cx).await,
        Revoke => revoke::post(cx).await,
        Introspect => introspect::post(cx).await,
        UserInfo => userinfo::get(cx).await,
        LogoutShow => end_session::get(cx).await,
        LogoutSubmit => end_session::post(cx).await,
        _ => Err(crate::error::Error::not_found("no such endpoint")),
    }
}
