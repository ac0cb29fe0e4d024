//! SCIM 2.0 provisioning (RFC 7643, RFC 7644): what identity providers
//! (Okta, Entra ID, OneLogin, JumpCloud) use to create, update and
//! deactivate a tenant's users and groups.
//!
//! Independent of storage: [`filter`] (the filter grammar of RFC 7644
//! §3.4.2.2 and its evaluation), [`patch`] (PATCH operations, §3.5.2),
//! [`schema`] (the User, enterprise User and Group schemas, RFC 7643) and
//! [`shape`] (a written resource checked against its schema). Stored:
//! [`config`] (the tenant's switch and mapping), [`tokens`] (the bearer
//! tokens IdPs present), [`users`] (the SCIM view of the tenant's users) and
//! [`groups`]. The endpoints are `web::scim`.

pub mod config;
pub mod filter;
pub mod groups;
pub mod patch;
pub mod schema;
pub mod shape;
pub mod tokens;
pub mod users;

use crate::error::{Error, ErrorKind};

/// A SCIM error with its `scimType` (RFC 7644 §3.12): 409 for a
/// uniqueness conflict, 400 for the rest.
pub fn error(scim_type: ScimType, detail: impl Into<String>) -> Error {
    let kind = match scim_type {
        ScimType::Uniqueness => ErrorKind::Conflict,
        _ => ErrorKind::InvalidRequest,
    };
    Error::new(kind, detail).with_code(scim_type.as_str())
}

impl From<filter::FilterError> for Error {
    fn from(e: filter::FilterError) -> Self {
        error(ScimType::InvalidFilter, e.0)
    }
}

impl From<patch::PatchError> for Error {
    fn from(e: patch::PatchError) -> Self {
        error(e.scim_type, e.detail)
    }
}

/// A resource's version (RFC 7644 §3.14): a weak ETag over its content, so
/// any change (an admin blocking the user, a group renamed) is a new one.
pub fn version(resource: &serde_json::Value) -> String {
    let digest = crate::crypto::sha256(resource.to_string().as_bytes());
    format!("W/\"{}\"", crate::crypto::hex(&digest[..12]))
}

/// Milliseconds as an xsd:dateTime (RFC 7643 §2.3.5).
pub fn datetime(ms: i64) -> String {
    chrono::DateTime::from_timestamp_millis(ms)
        .map(|d| d.to_rfc3339_opts(chrono::SecondsFormat::Millis, true))
        .unwrap_or_default()
}

/// The `scimType` of a SCIM error (RFC 7644 §3.12, Table 9).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ScimType {
    InvalidFilter,
    TooMany,
    Uniqueness,
    Mutability,
    InvalidSyntax,
    InvalidPath,
    NoTarget,
    InvalidValue,
    InvalidVers,
    Sensitive,
}

impl ScimType {
    pub fn as_str(self) -> &'static str {
        match self {
            ScimType::InvalidFilter => "invalidFilter",
            ScimType::TooMany => "tooMany",
            ScimType::Uniqueness => "uniqueness",
            ScimType::Mutability => "mutability",
            ScimType::InvalidSyntax => "invalidSyntax",
            ScimType::InvalidPath => "invalidPath",
            ScimType::NoTarget => "noTarget",
            ScimType::InvalidValue => "invalidValue",
            ScimType::InvalidVers => "invalidVers",
            ScimType::Sensitive => "sensitive",
        }
    }
}
