//! One error type for every handler, rendered in the format of the surface
//! that failed: problem JSON (RFC 9457) for the management APIs, OAuth error
//! JSON (RFC 6749 §5.2) for protocol endpoints, an HTML page for hosted pages.
//!
//! `detail` is shown to the client, so it never carries a secret or an
//! internal failure; `internal` is for logs only.

use http::StatusCode;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ErrorKind {
    InvalidRequest,
    Unauthorized,
    Forbidden,
    NotFound,
    MethodNotAllowed,
    Conflict,
    /// 421: the request's host is not one this deployment answers for.
    MisdirectedRequest,
    PayloadTooLarge,
    UnsupportedMediaType,
    RateLimited,
    Server,
}

impl ErrorKind {
    pub fn status(self) -> StatusCode {
        match self {
            ErrorKind::InvalidRequest => StatusCode::BAD_REQUEST,
            ErrorKind::Unauthorized => StatusCode::UNAUTHORIZED,
            ErrorKind::Forbidden => StatusCode::FORBIDDEN,
            ErrorKind::NotFound => StatusCode::NOT_FOUND,
            ErrorKind::MethodNotAllowed => StatusCode::METHOD_NOT_ALLOWED,
            ErrorKind::Conflict => StatusCode::CONFLICT,
            ErrorKind::MisdirectedRequest => StatusCode::MISDIRECTED_REQUEST,
            ErrorKind::PayloadTooLarge => StatusCode::PAYLOAD_TOO_LARGE,
            ErrorKind::UnsupportedMediaType => StatusCode::UNSUPPORTED_MEDIA_TYPE,
            ErrorKind::RateLimited => StatusCode::TOO_MANY_REQUESTS,
            ErrorKind::Server => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    /// The RFC 6749 §5.2 / RFC 6750 §3.1 error code closest to this kind.
    pub fn oauth_code(self) -> &'static str {
        match self {
            ErrorKind::Unauthorized => "invalid_token",
            ErrorKind::Forbidden => "access_denied",
            ErrorKind::Server => "server_error",
            ErrorKind::RateLimited => "temporarily_unavailable",
            _ => "invalid_request",
        }
    }

    fn title(self) -> &'static str {
        match self {
            ErrorKind::InvalidRequest => "Invalid request",
            ErrorKind::Unauthorized => "Unauthorized",
            ErrorKind::Forbidden => "Forbidden",
            ErrorKind::NotFound => "Not found",
            ErrorKind::MethodNotAllowed => "Method not allowed",
            ErrorKind::Conflict => "Conflict",
            ErrorKind::MisdirectedRequest => "Misdirected request",
            ErrorKind::PayloadTooLarge => "Payload too large",
            ErrorKind::UnsupportedMediaType => "Unsupported media type",
            ErrorKind::RateLimited => "Too many requests",
            ErrorKind::Server => "Server error",
        }
    }
}

#[derive(Debug, Clone)]
pub struct Error {
    pub kind: ErrorKind,
    /// Safe to show to the client.
    pub detail: String,
    /// For `405`: the methods the resource allows.
    pub allow: Option<String>,
    /// Operator-only context (never rendered).
    pub internal: Option<String>,
}

pub type Result<T, E = Error> = std::result::Result<T, E>;

impl Error {
    pub fn new(kind: ErrorKind, detail: impl Into<String>) -> Self {
        Error { kind, detail: detail.into(), allow: None, internal: None }
    }
    pub fn bad_request(detail: impl Into<String>) -> Self {
        Self::new(ErrorKind::InvalidRequest, detail)
    }
    pub fn unauthorized(detail: impl Into<String>) -> Self {
        Self::new(ErrorKind::Unauthorized, detail)
    }
    pub fn forbidden(detail: impl Into<String>) -> Self {
        Self::new(ErrorKind::Forbidden, detail)
    }
    pub fn not_found(detail: impl Into<String>) -> Self {
        Self::new(ErrorKind::NotFound, detail)
    }
    pub fn conflict(detail: impl Into<String>) -> Self {
        Self::new(ErrorKind::Conflict, detail)
    }
    pub fn method_not_allowed(allow: impl Into<String>) -> Self {
        let allow = allow.into();
        Error { ..Self::new(ErrorKind::MethodNotAllowed, format!("allowed methods: {allow}")) }.with_allow(allow)
    }

    fn with_allow(mut self, allow: String) -> Self {
        self.allow = Some(allow);
        self
    }
    /// A server-side failure: the client sees a generic message.
    pub fn server(internal: impl Into<String>) -> Self {
        Error {
            internal: Some(internal.into()),
            ..Self::new(ErrorKind::Server, "the server could not complete the request")
        }
    }

    pub fn status(&self) -> StatusCode {
        self.kind.status()
    }

    /// `application/problem+json` (RFC 9457).
    pub fn to_problem(&self) -> http::Response<Vec<u8>> {
        let body = serde_json::json!({
            "type": "about:blank",
            "title": self.kind.title(),
            "status": self.status().as_u16(),
            "detail": self.detail,
        });
        self.respond("application/problem+json", body.to_string().into_bytes())
    }

    /// `{"error", "error_description"}` (RFC 6749 §5.2).
    pub fn to_oauth(&self) -> http::Response<Vec<u8>> {
        let body = serde_json::json!({
            "error": self.kind.oauth_code(),
            "error_description": self.detail,
        });
        self.respond("application/json", body.to_string().into_bytes())
    }

    pub fn to_html(&self) -> http::Response<Vec<u8>> {
        let page = crate::ui::error_page(self.kind.title(), &self.detail);
        self.respond("text/html; charset=utf-8", page.into_bytes())
    }

    fn respond(&self, content_type: &str, body: Vec<u8>) -> http::Response<Vec<u8>> {
        let mut b = http::Response::builder()
            .status(self.status())
            .header("content-type", content_type)
            .header("cache-control", "no-store");
        if let Some(allow) = &self.allow {
            b = b.header("allow", allow.as_str());
        }
        if self.kind == ErrorKind::Unauthorized {
            b = b.header("www-authenticate", "Bearer realm=\"tessera\"");
        }
        b.body(body).expect("static headers are valid")
    }
}

impl From<crate::host::DbError> for Error {
    fn from(e: crate::host::DbError) -> Self {
        Error::server(e.to_string())
    }
}

impl From<crate::host::KvError> for Error {
    fn from(e: crate::host::KvError) -> Self {
        Error::server(e.to_string())
    }
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
