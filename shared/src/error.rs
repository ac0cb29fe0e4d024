//! One error type for every domain and handler, as data: a kind (with its
//! HTTP status and RFC 6749 code), a detail safe to show, and operator-only
//! context. How it looks on each surface (problem JSON, OAuth error JSON, an
//! HTML page) is the web layer's business (`web::render`).
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
    /// 412: an `If-Match` precondition did not hold (RFC 9110 §13.1.1).
    PreconditionFailed,
    /// 421: the request's host is not one this deployment answers for.
    MisdirectedRequest,
    PayloadTooLarge,
    UnsupportedMediaType,
    RateLimited,
    Server,
    /// 501: a feature the protocol defines that this service does not
    /// offer (SCIM bulk operations, for instance).
    NotImplemented,
    /// 503: the deployment is not ready (its configuration is incomplete).
    Unavailable,
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
            ErrorKind::PreconditionFailed => StatusCode::PRECONDITION_FAILED,
            ErrorKind::NotImplemented => StatusCode::NOT_IMPLEMENTED,
            ErrorKind::MisdirectedRequest => StatusCode::MISDIRECTED_REQUEST,
            ErrorKind::PayloadTooLarge => StatusCode::PAYLOAD_TOO_LARGE,
            ErrorKind::UnsupportedMediaType => StatusCode::UNSUPPORTED_MEDIA_TYPE,
            ErrorKind::RateLimited => StatusCode::TOO_MANY_REQUESTS,
            ErrorKind::Server => StatusCode::INTERNAL_SERVER_ERROR,
            ErrorKind::Unavailable => StatusCode::SERVICE_UNAVAILABLE,
        }
    }

    /// The RFC 6749 §5.2 / RFC 6750 §3.1 error code closest to this kind.
    pub fn oauth_code(self) -> &'static str {
        match self {
            ErrorKind::Unauthorized => "invalid_token",
            ErrorKind::Forbidden => "access_denied",
            ErrorKind::Server => "server_error",
            ErrorKind::RateLimited | ErrorKind::Unavailable => "temporarily_unavailable",
            _ => "invalid_request",
        }
    }

    pub fn title(self) -> &'static str {
        match self {
            ErrorKind::InvalidRequest => "Invalid request",
            ErrorKind::Unauthorized => "Unauthorized",
            ErrorKind::Forbidden => "Forbidden",
            ErrorKind::NotFound => "Not found",
            ErrorKind::MethodNotAllowed => "Method not allowed",
            ErrorKind::Conflict => "Conflict",
            ErrorKind::PreconditionFailed => "Precondition failed",
            ErrorKind::NotImplemented => "Not implemented",
            ErrorKind::MisdirectedRequest => "Misdirected request",
            ErrorKind::PayloadTooLarge => "Payload too large",
            ErrorKind::UnsupportedMediaType => "Unsupported media type",
            ErrorKind::RateLimited => "Too many requests",
            ErrorKind::Server => "Server error",
            ErrorKind::Unavailable => "Service unavailable",
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
    /// A protocol's own finer code, where it has one: SCIM's `scimType`
    /// (RFC 7644 §3.12).
    pub code: Option<&'static str>,
}

pub type Result<T, E = Error> = std::result::Result<T, E>;

impl Error {
    pub fn new(kind: ErrorKind, detail: impl Into<String>) -> Self {
        Error { kind, detail: detail.into(), allow: None, internal: None, code: None }
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

    /// The same error with a protocol code (SCIM's `scimType`).
    pub fn with_code(mut self, code: &'static str) -> Self {
        self.code = Some(code);
        self
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
