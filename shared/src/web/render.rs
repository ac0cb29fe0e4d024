//! How an error looks on each surface: problem JSON (RFC 9457) for the
//! management and platform APIs, the OAuth error object (RFC 6749 §5.2) or a
//! redirect back to the client for protocol endpoints, an HTML page for the
//! hosted pages. Errors themselves are data (`crate::error`,
//! `crate::oauth::OAuthError`).

use http::StatusCode;

use crate::error::{Error, ErrorKind};
use crate::oauth::OAuthError;
use crate::web::response::{no_store_json, HttpResponse};

// The OpenAPI document's `Problem` and `OAuthError` schemas are generated
// from these two types, so the document says what the renderer writes.

/// The problem details body (RFC 9457 §3) of the management and platform
/// APIs.
#[cfg_attr(feature = "openapi", derive(schemars::JsonSchema))]
#[derive(Debug, serde::Serialize)]
pub struct Problem<'a> {
    /// Always `about:blank`: the status code says what kind of problem it is.
    #[serde(rename = "type")]
    pub kind: &'a str,
    pub title: &'a str,
    pub status: u16,
    /// What went wrong, for a person; never a secret.
    pub detail: &'a str,
}

/// The OAuth error body (RFC 6749 §5.2), from the token, revocation,
/// introspection and userinfo endpoints.
#[cfg_attr(feature = "openapi", derive(schemars::JsonSchema))]
#[cfg_attr(feature = "openapi", schemars(rename = "OAuthError"))]
#[derive(Debug, serde::Serialize)]
pub struct OAuthErrorBody<'a> {
    /// The registered error code (`invalid_request`, `invalid_client`, ...).
    pub error: &'a str,
    pub error_description: &'a str,
}

/// An [`Error`] rendered for a surface.
pub trait Render {
    /// `application/problem+json` (RFC 9457).
    fn to_problem(&self) -> HttpResponse;
    /// `{"error", "error_description"}` (RFC 6749 §5.2).
    fn to_oauth(&self) -> HttpResponse;
    /// The hosted pages' error page.
    fn to_html(&self) -> HttpResponse;
    /// The SCIM error schema (RFC 7644 §3.12), with `scimType` when the
    /// error has one.
    fn to_scim(&self) -> HttpResponse;
}

/// The SCIM error body (RFC 7644 §3.12).
#[cfg_attr(feature = "openapi", derive(schemars::JsonSchema))]
#[derive(Debug, serde::Serialize)]
pub struct ScimErrorBody<'a> {
    /// Always `["urn:ietf:params:scim:api:messages:2.0:Error"]`.
    pub schemas: [&'a str; 1],
    /// The HTTP status, as a string.
    pub status: String,
    #[serde(rename = "scimType", skip_serializing_if = "Option::is_none")]
    pub scim_type: Option<&'a str>,
    pub detail: &'a str,
}

pub const SCIM_ERROR_SCHEMA: &str = "urn:ietf:params:scim:api:messages:2.0:Error";

impl Render for Error {
    fn to_problem(&self) -> HttpResponse {
        let body = Problem {
            kind: "about:blank",
            title: self.kind.title(),
            status: self.status().as_u16(),
            detail: &self.detail,
        };
        respond(self, "application/problem+json", serde_json::to_vec(&body).unwrap_or_default())
    }

    fn to_oauth(&self) -> HttpResponse {
        let body = OAuthErrorBody { error: self.kind.oauth_code(), error_description: &self.detail };
        respond(self, "application/json", serde_json::to_vec(&body).unwrap_or_default())
    }

    fn to_scim(&self) -> HttpResponse {
        let body = ScimErrorBody {
            schemas: [SCIM_ERROR_SCHEMA],
            status: self.status().as_u16().to_string(),
            scim_type: self.code,
            detail: &self.detail,
        };
        respond(self, "application/scim+json", serde_json::to_vec(&body).unwrap_or_default())
    }

    fn to_html(&self) -> HttpResponse {
        let page = crate::web::ui::error_page(self.kind.title(), &self.detail);
        respond(self, "text/html; charset=utf-8", page.into_bytes())
    }
}

fn respond(e: &Error, content_type: &str, body: Vec<u8>) -> HttpResponse {
    let mut b = http::Response::builder()
        .status(e.status())
        .header("content-type", content_type)
        .header("cache-control", "no-store");
    if let Some(allow) = &e.allow {
        b = b.header("allow", allow.as_str());
    }
    if e.kind == ErrorKind::Unauthorized {
        b = b.header("www-authenticate", "Bearer realm=\"tessera\"");
    }
    b.body(body).expect("static headers are valid")
}

/// An [`OAuthError`] as the token, revocation and introspection endpoints
/// answer it, or as a redirect back to the client.
pub trait OAuthRender {
    fn to_response(&self) -> HttpResponse;
    fn to_redirect(&self, redirect_uri: &str, state: Option<&str>, issuer: &str) -> HttpResponse;
}

impl OAuthRender for OAuthError {
    /// The JSON error body of the token, revocation and introspection
    /// endpoints, never cached (RFC 6749 §5.1).
    fn to_response(&self) -> HttpResponse {
        let body = OAuthErrorBody { error: self.code, error_description: &self.description };
        let mut resp = no_store_json(serde_json::to_vec(&body).unwrap_or_default());
        *resp.status_mut() = self.status;
        if self.basic_challenge {
            resp.headers_mut()
                .insert(http::header::WWW_AUTHENTICATE, http::HeaderValue::from_static("Basic realm=\"tessera\""));
        }
        resp
    }

    /// The error as a redirect back to a *verified* redirect URI (RFC 6749
    /// §4.1.2.1), with `state` and the issuer (RFC 9207).
    fn to_redirect(&self, redirect_uri: &str, state: Option<&str>, issuer: &str) -> HttpResponse {
        let mut params = vec![("error", self.code), ("error_description", self.description.as_str())];
        if let Some(s) = state {
            params.push(("state", s));
        }
        params.push(("iss", issuer));
        redirect_with(redirect_uri, &params)
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn server_errors_hide_internals() {
        let e = Error::server("db exploded at /secret/path");
        let r = e.to_problem();
        assert_eq!(r.status(), 500);
        let body = String::from_utf8(r.into_body()).unwrap();
        assert!(!body.contains("secret"));
    }

    #[test]
    fn oauth_format() {
        let r = Error::bad_request("missing grant_type").to_oauth();
        let v: serde_json::Value = serde_json::from_slice(r.body()).unwrap();
        assert_eq!(v["error"], "invalid_request");
        assert_eq!(v["error_description"], "missing grant_type");
    }

    #[test]
    fn method_not_allowed_lists_allow() {
        let r = Error::method_not_allowed("GET, POST").to_problem();
        assert_eq!(r.status(), 405);
        assert_eq!(r.headers()["allow"], "GET, POST");
    }
}
