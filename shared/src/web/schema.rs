//! Request bodies of the JSON APIs, as named types, so that handlers and the
//! OpenAPI document (`openapi`) read the very same definitions. Unknown
//! fields are refused everywhere: a typo never silently does nothing.

use serde::{Deserialize, Serialize};

#[derive(Debug, Deserialize)]
#[cfg_attr(feature = "openapi", derive(schemars::JsonSchema))]
#[serde(deny_unknown_fields)]
pub struct CreateTenant {
    /// 2-63 characters of a-z, 0-9 and inner hyphens; the tenant's name in URLs.
    pub slug: String,
    pub name: Option<String>,
}

#[derive(Debug, Deserialize)]
#[cfg_attr(feature = "openapi", derive(schemars::JsonSchema))]
#[serde(deny_unknown_fields)]
pub struct UpdateTenant {
    pub name: Option<String>,
    /// Fields of `Settings` to change; the others keep their value.
    pub settings: Option<serde_json::Map<String, serde_json::Value>>,
}

/// A TOTP secret already in use by the user's authenticator app (from an
/// older system), to be encrypted on the way in.
#[derive(Debug, Deserialize)]
#[cfg_attr(feature = "openapi", derive(schemars::JsonSchema))]
#[serde(deny_unknown_fields)]
pub struct ImportTotp {
    /// The secret as the old system stored it: 80-512 bits.
    pub secret: String,
    /// `base32` (RFC 4648, any case, spaces and padding allowed) or `base64`
    /// (standard or URL alphabet).
    pub encoding: crate::mfa::totp::Encoding,
}

#[derive(Debug, Default, Deserialize)]
#[cfg_attr(feature = "openapi", derive(schemars::JsonSchema))]
#[serde(deny_unknown_fields)]
pub struct CreateApiKey {
    pub name: Option<String>,
}

#[derive(Debug, Deserialize)]
#[cfg_attr(feature = "openapi", derive(schemars::JsonSchema))]
#[serde(deny_unknown_fields)]
pub struct AddDomain {
    pub domain: String,
}

/// A rotation that keeps the old secret or key working for a while.
#[derive(Debug, Default, Deserialize)]
#[cfg_attr(feature = "openapi", derive(schemars::JsonSchema))]
#[serde(deny_unknown_fields)]
pub struct Overlap {
    pub overlap_seconds: Option<i64>,
}

#[derive(Debug, Default, Deserialize)]
#[cfg_attr(feature = "openapi", derive(schemars::JsonSchema))]
#[serde(deny_unknown_fields)]
pub struct MintToken {
    /// 30-3600 seconds; 300 by default.
    pub ttl_seconds: Option<i64>,
    /// The key's role or a lower one.
    pub role: Option<String>,
}

#[derive(Debug, Deserialize)]
#[cfg_attr(feature = "openapi", derive(schemars::JsonSchema))]
#[serde(deny_unknown_fields)]
pub struct CreateUser {
    pub email: String,
    pub password: Option<String>,
    pub name: Option<String>,
    #[serde(default)]
    pub email_verified: bool,
    #[serde(default)]
    pub is_admin: bool,
}

/// A partial update; `name: null` clears the name.
#[derive(Debug, Deserialize)]
#[cfg_attr(feature = "openapi", derive(schemars::JsonSchema))]
#[serde(deny_unknown_fields)]
pub struct UpdateUser {
    pub email: Option<String>,
    pub email_verified: Option<bool>,
    #[serde(default)]
    pub name: Option<Option<String>>,
    pub password: Option<String>,
    pub blocked: Option<bool>,
    pub is_admin: Option<bool>,
}

/// A test event on its way to a log stream (see its deliveries for the
/// outcome).
#[derive(Debug, Serialize)]
#[cfg_attr(feature = "openapi", derive(schemars::JsonSchema))]
pub struct TestEvent {
    pub log_id: String,
}

/// How many dead-lettered events were queued again.
#[derive(Debug, Serialize)]
#[cfg_attr(feature = "openapi", derive(schemars::JsonSchema))]
pub struct Redelivered {
    pub redelivered: u64,
}
