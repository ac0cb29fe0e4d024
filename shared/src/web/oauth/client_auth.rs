//! Reads a client's credentials off the request (RFC 6749 §2.3.1: HTTP
//! Basic, or `client_id`/`client_secret` in the form) and authenticates them.

use base64::engine::general_purpose::STANDARD;
use base64::Engine;

use crate::host::Host;
use crate::oauth::client_auth::{self, invalid_client, Presented};
use crate::oauth::clients::Client;
use crate::oauth::{OAuthError, OResult};
use crate::web::request::{Form, Request};
use crate::web::router::Ctx;

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

/// The credentials presented with one method, never two.
fn presented(req: &Request, form: &Form) -> OResult<Presented> {
    let basic = basic_credentials(req)?;
    let post_secret = form.get("client_secret");
    Ok(match (basic, post_secret) {
        (Some(_), Some(_)) => {
            return Err(OAuthError::invalid_request("use one client authentication method, not two"));
        }
        (Some((id, s)), None) => {
            if form.get("client_id").is_some_and(|f| f != id) {
                return Err(invalid_client(true));
            }
            Presented { client_id: id, secret: Some(s), method: "client_secret_basic" }
        }
        (None, Some(s)) => Presented {
            client_id: form.get("client_id").ok_or_else(|| invalid_client(false))?.to_string(),
            secret: Some(s.to_string()),
            method: "client_secret_post",
        },
        (None, None) => Presented {
            client_id: form.get("client_id").ok_or_else(|| invalid_client(false))?.to_string(),
            secret: None,
            method: "none",
        },
    })
}

/// The `client_id` a request claims (Basic or form), checked or not: for
/// the audit event of a failed request.
pub fn claimed_client_id(req: &Request) -> Option<String> {
    let from_basic = basic_credentials(req).ok().flatten().map(|(id, _)| id);
    from_basic.or_else(|| req.form().ok().and_then(|f| f.get("client_id").map(str::to_owned)))
}

/// Authenticates the client calling this endpoint.
pub async fn authenticate<H: Host>(cx: &Ctx<'_, H>, form: &Form) -> OResult<Client> {
    client_auth::authenticate(cx.host, cx.tenant().id(), presented(cx.req, form)?).await
}
