//! SCIM 2.0 provisioning (RFC 7643, RFC 7644): what identity providers
//! (Okta, Entra ID, OneLogin, JumpCloud) use to create, update and
//! deactivate a tenant's users and groups.
//!
//! So far the parts independent of storage: [`filter`] (the filter grammar
//! of RFC 7644 §3.4.2.2 and its evaluation), [`patch`] (PATCH operations,
//! §3.5.2) and [`schema`] (the User, enterprise User and Group schemas, RFC
//! 7643). The endpoints, the tenant's configuration and its tokens build on
//! them.

pub mod filter;
pub mod patch;
pub mod schema;

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
