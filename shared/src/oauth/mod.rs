//! OAuth 2.0 authorization server (RFC 6749, RFC 7636, RFC 9068, RFC 7009,
//! RFC 7662) following the security BCP (RFC 9700): PKCE S256 only, exact
//! redirect URI match, single-use codes, refresh rotation with reuse
//! detection, constant-time secret comparison.

pub mod authorize;
pub mod client_auth;
pub mod clients;
pub mod consent;
pub mod grants;
pub mod introspect;
pub mod pkce;
pub mod resources;
pub mod revoke;
pub mod scopes;
pub mod tokens;

use http::StatusCode;

use crate::error::{Error, ErrorKind};

/// An OAuth error (RFC 6749 §4.1.2.1 and §5.2, OIDC Core §3.1.2.6): the
/// registered code, a description safe to show, and the HTTP status.
#[derive(Debug, Clone)]
pub struct OAuthError {
    pub code: &'static str,
    pub description: String,
    pub status: StatusCode,
    /// For `invalid_client` after HTTP Basic: answer with a Basic challenge.
    pub basic_challenge: bool,
    pub internal: Option<String>,
}

pub type OResult<T> = std::result::Result<T, OAuthError>;

impl OAuthError {
    pub fn new(code: &'static str, description: impl Into<String>) -> Self {
        let status = match code {
            "invalid_client" => StatusCode::UNAUTHORIZED,
            "server_error" => StatusCode::INTERNAL_SERVER_ERROR,
            "temporarily_unavailable" => StatusCode::SERVICE_UNAVAILABLE,
            _ => StatusCode::BAD_REQUEST,
        };
        OAuthError { code, description: description.into(), status, basic_challenge: false, internal: None }
    }
    pub fn invalid_request(d: impl Into<String>) -> Self {
        Self::new("invalid_request", d)
    }
    pub fn invalid_grant(d: impl Into<String>) -> Self {
        Self::new("invalid_grant", d)
    }
    pub fn invalid_scope(d: impl Into<String>) -> Self {
        Self::new("invalid_scope", d)
    }
    pub fn unauthorized_client(d: impl Into<String>) -> Self {
        Self::new("unauthorized_client", d)
    }
}

impl From<Error> for OAuthError {
    fn from(e: Error) -> Self {
        let code = match e.kind {
            ErrorKind::Server => "server_error",
            ErrorKind::Unauthorized => "invalid_client",
            ErrorKind::Forbidden => "access_denied",
            ErrorKind::RateLimited | ErrorKind::Unavailable => "temporarily_unavailable",
            _ => "invalid_request",
        };
        let mut o = OAuthError::new(code, e.detail);
        if matches!(e.kind, ErrorKind::UnsupportedMediaType | ErrorKind::PayloadTooLarge | ErrorKind::Unavailable) {
            o.status = e.kind.status();
        }
        o.internal = e.internal;
        o
    }
}

impl From<crate::host::DbError> for OAuthError {
    fn from(e: crate::host::DbError) -> Self {
        Error::from(e).into()
    }
}

/// Space-separated strings (scopes) to a list, without duplicates.
pub fn split_scopes(s: &str) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    for p in s.split(' ').filter(|p| !p.is_empty()) {
        if !out.iter().any(|o| o == p) {
            out.push(p.to_string());
        }
    }
    out
}
