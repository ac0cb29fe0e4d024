//! Per-tenant settings, stored as JSON on the tenant row. Unknown fields are
//! refused on update so a typo never silently does nothing.

use serde::{Deserialize, Serialize};

#[cfg_attr(feature = "openapi", derive(schemars::JsonSchema))]
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Settings {
    /// Failed logins on one account before it is locked.
    pub lockout_threshold: u32,
    /// How long a lock lasts, and the window failures are counted in.
    pub lockout_minutes: u32,
    /// Failed logins from one IP address within the window before further
    /// attempts from it are refused with 429.
    pub ip_failure_limit: u32,
    /// Whether login waits until the email address is verified.
    pub require_email_verification: bool,
    pub session_lifetime_minutes: u32,
    pub password_min_length: u32,
    /// Lifetime of authorization codes (RFC 6749 §4.1.2: short).
    pub authorization_code_ttl_seconds: u32,
    /// Age at which the signing key is replaced by scheduled rotation.
    pub signing_key_rotation_days: u32,
    /// How long the tenant's audit events are kept.
    pub audit_retention_days: u32,
    /// When users are asked for a second factor: `never`, `optional` (users
    /// who enrolled one) or `required` (everyone; enrolment at next sign-in).
    /// A client may override it.
    pub mfa_policy: MfaPolicy,
    /// For how many days a browser may skip the second factor after the user
    /// ticks "remember this browser" (0: the option is not offered).
    pub mfa_remember_browser_days: u32,
}

impl Default for Settings {
    fn default() -> Self {
        Settings {
            lockout_threshold: 5,
            lockout_minutes: 15,
            ip_failure_limit: 50,
            require_email_verification: true,
            session_lifetime_minutes: 7 * 24 * 60,
            password_min_length: 8,
            authorization_code_ttl_seconds: 60,
            signing_key_rotation_days: 90,
            audit_retention_days: 30,
            mfa_policy: MfaPolicy::Optional,
            mfa_remember_browser_days: 30,
        }
    }
}

impl Settings {
    pub fn from_json(s: &str) -> Self {
        // Stored settings were validated on write; fall back to defaults field
        // by field if an older row lacks a newer field.
        serde_json::from_str(s).unwrap_or_default()
    }

    pub fn to_json(&self) -> String {
        serde_json::to_string(self).expect("settings serialize")
    }

    pub fn validate(&self) -> Result<(), String> {
        if !(1..=100).contains(&self.lockout_threshold) {
            return Err("lockout_threshold must be 1-100".into());
        }
        if !(1..=24 * 60).contains(&self.lockout_minutes) {
            return Err("lockout_minutes must be 1-1440".into());
        }
        if !(1..=100_000).contains(&self.ip_failure_limit) {
            return Err("ip_failure_limit must be 1-100000".into());
        }
        if !(5..=365 * 24 * 60).contains(&self.session_lifetime_minutes) {
            return Err("session_lifetime_minutes must be 5-525600".into());
        }
        if !(8..=128).contains(&self.password_min_length) {
            return Err("password_min_length must be 8-128".into());
        }
        if !(1..=3650).contains(&self.audit_retention_days) {
            return Err("audit_retention_days must be 1-3650".into());
        }
        if !(1..=3650).contains(&self.signing_key_rotation_days) {
            return Err("signing_key_rotation_days must be 1-3650".into());
        }
        if self.mfa_remember_browser_days > 365 {
            return Err("mfa_remember_browser_days must be 0-365".into());
        }
        if !(1..=600).contains(&self.authorization_code_ttl_seconds) {
            return Err("authorization_code_ttl_seconds must be 1-600".into());
        }
        Ok(())
    }
}

/// When a second factor is asked for (per tenant, overridable per client).
#[cfg_attr(feature = "openapi", derive(schemars::JsonSchema))]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "lowercase")]
pub enum MfaPolicy {
    /// Never: enrolled factors are not asked for (an `acr_values` request
    /// for MFA still is honoured).
    Never,
    /// Users who enrolled a factor are asked for it.
    #[default]
    Optional,
    /// Every user must use a second factor, enrolling at the next sign-in.
    Required,
}

impl MfaPolicy {
    pub fn as_str(self) -> &'static str {
        match self {
            MfaPolicy::Never => "never",
            MfaPolicy::Optional => "optional",
            MfaPolicy::Required => "required",
        }
    }

    pub fn parse(s: &str) -> Option<MfaPolicy> {
        match s {
            "never" => Some(MfaPolicy::Never),
            "optional" => Some(MfaPolicy::Optional),
            "required" => Some(MfaPolicy::Required),
            _ => None,
        }
    }
}
