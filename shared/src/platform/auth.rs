//! Who may call `/api/v1/internal/*`, and with which role.
//!
//! A caller presents one bearer credential:
//! - the bootstrap key (the `PLATFORM_API_KEY` secret, a platform admin, so a
//!   fresh deployment can create its first real keys);
//! - a platform API key `tsk_<prefix>_<secret>` with a role;
//! - a super-admin JWT (ES256) from the platform's own issuer or a trusted
//!   one, short-lived and single-use (its `jti` is refused the second time).
//!
//! Missing or bad credentials are 401 with `WWW-Authenticate`; a valid
//! credential whose role lacks the route's permission is 403.

use crate::crypto::ct_eq_str;
use crate::error::{Error, Result};
use crate::host::{Host, Secrets};

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Role {
    Auditor,
    Operator,
    Admin,
}

impl Role {
    pub fn as_str(self) -> &'static str {
        match self {
            Role::Admin => "platform-admin",
            Role::Operator => "platform-operator",
            Role::Auditor => "platform-auditor",
        }
    }

    pub fn parse(s: &str) -> Option<Role> {
        match s {
            "platform-admin" => Some(Role::Admin),
            "platform-operator" => Some(Role::Operator),
            "platform-auditor" => Some(Role::Auditor),
            _ => None,
        }
    }

    pub fn allows(self, p: Permission) -> bool {
        match p {
            Permission::Read => true,
            Permission::TenantWrite => self >= Role::Operator,
            Permission::KeyWrite | Permission::Secrets => self == Role::Admin,
        }
    }
}

/// What a route needs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Permission {
    /// Read metadata (never secrets).
    Read,
    /// Tenant lifecycle: create, update, delete tenants and their domains.
    TenantWrite,
    /// Create, rotate and revoke keys: platform and tenant API keys, signing keys.
    KeyWrite,
    /// Read what can lead to secrets (the dev mailbox holds live links) or
    /// burn resources (benchmarks).
    Secrets,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Credential {
    Bootstrap,
    ApiKey(String),
    Jwt { issuer: String, subject: String },
}

#[derive(Debug, Clone)]
pub struct Principal {
    pub credential: Credential,
    pub role: Role,
}

impl Principal {
    /// How audit events name the caller.
    pub fn actor(&self) -> String {
        match &self.credential {
            Credential::Bootstrap => "bootstrap-key".into(),
            Credential::ApiKey(id) => id.clone(),
            Credential::Jwt { issuer, subject } => format!("jwt:{subject}@{issuer}"),
        }
    }
}

pub fn unauthorized() -> Error {
    Error::unauthorized("a valid platform credential is required (platform API key or super-admin JWT)")
}

/// Authenticates the bearer credential of a platform API call made under
/// the deployment's canonical `origin`.
pub async fn authenticate<H: Host>(host: &H, bearer: Option<&str>, origin: &str) -> Result<Principal> {
    let presented = bearer.ok_or_else(unauthorized)?;
    let bootstrap = host.secrets().secret("PLATFORM_API_KEY").filter(|k| k.expose().len() >= 16);
    if let Some(b) = bootstrap {
        if ct_eq_str(presented, b.expose()) {
            return Ok(Principal { credential: Credential::Bootstrap, role: Role::Admin });
        }
    }
    if presented.starts_with(super::keys::KEY_PREFIX) {
        return super::keys::authenticate(host, presented).await;
    }
    if presented.split('.').count() == 3 {
        return super::jwt::authenticate(host, origin, presented).await;
    }
    Err(unauthorized())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn roles() {
        assert!(Role::Admin.allows(Permission::KeyWrite));
        assert!(Role::Operator.allows(Permission::TenantWrite));
        assert!(!Role::Operator.allows(Permission::KeyWrite));
        assert!(!Role::Operator.allows(Permission::Secrets));
        assert!(Role::Auditor.allows(Permission::Read));
        assert!(!Role::Auditor.allows(Permission::TenantWrite));
        for r in [Role::Admin, Role::Operator, Role::Auditor] {
            assert_eq!(Role::parse(r.as_str()), Some(r));
        }
        assert_eq!(Role::parse("admin"), None);
    }
}
