//! One module per grant type; the token endpoint looks the grant up by its
//! `grant_type` and hands it the authenticated client and the request's
//! parameters.

pub mod authorization_code;
pub mod client_credentials;
pub mod refresh_token;

use super::clients::Client;
use super::tokens::Minted;
use super::OResult;
use crate::error::{Error, Result};
use crate::host::Host;
use crate::tenant::TenantCtx;

/// What a grant runs with: the host, the tenant, and the caller's address
/// (for the audit events a grant records).
pub struct GrantCx<'a, H: Host> {
    pub host: &'a H,
    pub tenant: &'a TenantCtx,
    pub client_ip: &'a str,
}

/// The token request's parameters (RFC 6749 §4.1.3, §4.4.2, §6; RFC 8707),
/// as sent; the grant decides which it needs.
#[derive(Debug, Default, Clone)]
pub struct TokenRequest {
    pub grant_type: Option<String>,
    pub code: Option<String>,
    pub redirect_uri: Option<String>,
    pub code_verifier: Option<String>,
    pub refresh_token: Option<String>,
    pub scope: Option<String>,
    pub audience: Option<String>,
    pub resource: Option<String>,
}

impl TokenRequest {
    /// A parameter the grant cannot do without (present and not empty).
    pub fn require<'a>(field: &'a Option<String>, name: &str) -> Result<&'a str> {
        field
            .as_deref()
            .filter(|v| !v.is_empty())
            .ok_or_else(|| Error::bad_request(format!("missing required field '{name}'")))
    }
}

/// A grant type of RFC 6749 §4 / §6.
pub trait Grant {
    const GRANT_TYPE: &'static str;

    #[allow(async_fn_in_trait)]
    async fn exchange<H: Host>(cx: &GrantCx<'_, H>, client: &Client, req: &TokenRequest) -> OResult<Minted>;
}
