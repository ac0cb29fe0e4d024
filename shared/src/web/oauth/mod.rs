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
