//! Client authentication (RFC 6749 §2.3): `client_secret_basic`,
//! `client_secret_post`, or `none` for public clients. A client must use the
//! method it registered; every failure is the same `invalid_client`. The web
//! layer reads the credentials off the request (`web::oauth::client_auth`).

use super::clients::{self, Client};
use super::{OAuthError, OResult};
use crate::host::Host;
use crate::types::TenantId;

/// `basic`: the client authenticated with HTTP Basic, so the 401 carries a
/// Basic challenge (RFC 6749 §5.2).
pub fn invalid_client(basic: bool) -> OAuthError {
    let mut e = OAuthError::new("invalid_client", "client authentication failed");
    e.basic_challenge = basic;
    e
}

/// The credentials a client presented, and how.
pub struct Presented {
    pub client_id: String,
    pub secret: Option<String>,
    /// `client_secret_basic`, `client_secret_post` or `none`.
    pub method: &'static str,
}

/// Authenticates the calling client.
pub async fn authenticate<H: Host>(host: &H, tenant: &TenantId, p: Presented) -> OResult<Client> {
    let is_basic = p.method == "client_secret_basic";
    let (client, digests) =
        clients::get_with_secrets(host, tenant, &p.client_id).await?.ok_or_else(|| invalid_client(is_basic))?;
    if client.token_endpoint_auth_method != p.method {
        return Err(invalid_client(is_basic));
    }
    if let Some(secret) = p.secret {
        if !clients::secret_matches(&digests, &secret) {
            return Err(invalid_client(is_basic));
        }
    }
    Ok(client)
}
