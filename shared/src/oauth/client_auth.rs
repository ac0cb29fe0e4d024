//! Client authentication at the token, revocation and introspection
//! endpoints (RFC 6749 §2.3): `client_secret_basic`, `client_secret_post`,
//! or `none` for public clients. A client must use the method it registered;
//! every failure is the same `invalid_client`.

use base64::engine::general_purpose::STANDARD;
use base64::Engine;

use super::clients::{self, Client};
use super::{OAuthError, OResult};
use crate::host::Host;
use crate::request::{Form, Request};
use crate::types::TenantId;

/// `basic`: the client authenticated with HTTP Basic, so the 401 carries a
/// Basic challenge (RFC 6749 §5.2).
pub(crate) fn invalid_client(basic: bool) -> OAuthError {
    let mut e = OAuthError::new("invalid_client", "client authentication failed");
    e.basic_challenge = basic;
    e
}

/// RFC 6749 §2.3.1: the id and secret are form-urlencoded before Basic.
fn decode(s: &str) -> Option<String> {
    let bytes = format!("v={s}");
    form_urlencoded::parse(bytes.as_bytes()).next().map(|(_, v)| v.into_owned())
}

fn basic_credentials(req: &Request) -> OResult<Option<(String, String)>> {
    let Some(h) = req.header("authorization") else { return Ok(None) };
    let Some((scheme, value)) = h.split_once(' ') else { return Err(invalid_client(true)) };
    if !scheme.eq_ignore_ascii_case("basic") {
        return Ok(None);
    }
    let raw = STANDARD.decode(value.trim()).map_err(|_| invalid_client(true))?;
    let raw = String::from_utf8(raw).map_err(|_| invalid_client(true))?;
    let (id, secret) = raw.split_once(':').ok_or_else(|| invalid_client(true))?;
    Ok(Some((decode(id).ok_or_else(|| invalid_client(true))?, decode(secret).ok_or_else(|| invalid_client(true))?)))
}

/// Authenticates the calling client.
pub async fn authenticate<H: Host>(host: &H, tenant: &TenantId, req: &Request, form: &Form) -> OResult<Client> {
    let basic = basic_credentials(req)?;
    let post_secret = form.get("client_secret");
    let (client_id, secret, method) = match (&basic, post_secret) {
        (Some(_), Some(_)) => {
            return Err(OAuthError::invalid_request("use one client authentication method, not two"));
        }
        (Some((id, s)), None) => {
            if form.get("client_id").is_some_and(|f| f != id) {
                return Err(invalid_client(true));
            }
            (id.clone(), Some(s.clone()), "client_secret_basic")
        }
        (None, Some(s)) => (
            form.get("client_id").ok_or_else(|| invalid_client(false))?.to_string(),
            Some(s.to_string()),
            "client_secret_post",
        ),
        (None, None) => (form.get("client_id").ok_or_else(|| invalid_client(false))?.to_string(), None, "none"),
    };
    let is_basic = method == "client_secret_basic";
    let (client, digests) =
        clients::get_with_secrets(host, tenant, &client_id).await?.ok_or_else(|| invalid_client(is_basic))?;
    if client.token_endpoint_auth_method != method {
        return Err(invalid_client(is_basic));
    }
    if let Some(secret) = secret {
        if !clients::secret_matches(&digests, &secret) {
            return Err(invalid_client(is_basic));
        }
    }
    Ok(client)
}
