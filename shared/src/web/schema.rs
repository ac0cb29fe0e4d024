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

/// A test run of an action: against `event` (Auth0's event object for the
/// action's trigger; `{}` by default), of `version` (the draft by default).
#[derive(Debug, Default, Deserialize)]
#[cfg_attr(feature = "openapi", derive(schemars::JsonSchema))]
#[serde(deny_unknown_fields)]
pub struct ActionTest {
    pub event: Option<serde_json::Value>,
    pub version: Option<i64>,
}

/// What a test run decided and printed; nothing of it was applied.
#[derive(Debug, Serialize)]
#[cfg_attr(feature = "openapi", derive(schemars::JsonSchema))]
pub struct ActionTestResult {
    pub decisions: Vec<serde_json::Value>,
    pub logs: Vec<crate::actions::protocol::LogLine>,
    pub logs_truncated: bool,
    /// Why the run failed (it threw, timed out, ran out of memory...).
    pub error: Option<String>,
    /// Why the edge would refuse these decisions (a reserved claim, a value
    /// too large...), when the run itself succeeded.
    pub validation_error: Option<String>,
    pub duration_ms: f64,
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
    /// Auth0's `app_metadata`: for the application (and actions) to set.
    #[serde(default)]
    pub app_metadata: serde_json::Map<String, serde_json::Value>,
    /// Auth0's `user_metadata`: the user's own settings.
    #[serde(default)]
    pub user_metadata: serde_json::Map<String, serde_json::Value>,
}

/// A partial update; `name: null` clears the name. `app_metadata` and
/// `user_metadata` are merged into what the user has (RFC 7396: a key set
/// to `null` is removed).
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
    pub app_metadata: Option<serde_json::Map<String, serde_json::Value>>,
    pub user_metadata: Option<serde_json::Map<String, serde_json::Value>>,
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
