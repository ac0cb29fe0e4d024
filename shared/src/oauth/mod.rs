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
pub mod token;
pub mod tokens;

use http::StatusCode;

use crate::error::{Error, ErrorKind};
use crate::response::HttpResponse;

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

    /// The JSON error body of the token, revocation and introspection
    /// endpoints, never cached (RFC 6749 §5.1).
    pub fn to_response(&self) -> HttpResponse {
        let body = serde_json::json!({ "error": self.code, "error_description": self.description });
        let mut b = http::Response::builder()
            .status(self.status)
            .header("content-type", "application/json")
            .header("cache-control", "no-store")
            .header("pragma", "no-cache");
        if self.basic_challenge {
            b = b.header("www-authenticate", "Basic realm=\"tessera\"");
        }
        b.body(body.to_string().into_bytes()).expect("static headers")
    }

    /// The error as a redirect back to a *verified* redirect URI (RFC 6749
    /// §4.1.2.1), with `state` and the issuer (RFC 9207).
    pub fn to_redirect(&self, redirect_uri: &str, state: Option<&str>, issuer: &str) -> HttpResponse {
        let mut params = vec![("error", self.code), ("error_description", self.description.as_str())];
        if let Some(s) = state {
            params.push(("state", s));
        }
        params.push(("iss", issuer));
        redirect_with(redirect_uri, &params)
    }
}

impl From<Error> for OAuthError {
    fn from(e: Error) -> Self {
        let code = match e.kind {
            ErrorKind::Server => "server_error",
            ErrorKind::Unauthorized => "invalid_client",
            ErrorKind::Forbidden => "access_denied",
            ErrorKind::RateLimited => "temporarily_unavailable",
            _ => "invalid_request",
        };
        let mut o = OAuthError::new(code, e.detail);
        if e.kind == ErrorKind::UnsupportedMediaType || e.kind == ErrorKind::PayloadTooLarge {
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

/// A 303 redirect to `base` with `params` appended to its query.
pub fn redirect_with(base: &str, params: &[(&str, &str)]) -> HttpResponse {
    let mut ser = form_urlencoded::Serializer::new(String::new());
    for (k, v) in params {
        ser.append_pair(k, v);
    }
    let sep = if base.contains('?') { '&' } else { '?' };
    let location = format!("{base}{sep}{}", ser.finish());
    http::Response::builder()
        .status(StatusCode::SEE_OTHER)
        .header("location", location)
        .header("cache-control", "no-store")
        .body(Vec::new())
        // Redirect URIs are validated at registration; a bad one is a server fault.
        .unwrap_or_else(|_| Error::server("unencodable redirect URI").to_html())
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
