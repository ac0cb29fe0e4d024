//! `POST /oauth/revoke` (RFC 7009): the client authenticates, names a token,
//! and gets 200 whether or not the token was known (§2.2).

use super::client_auth;
use super::token::respond;
use crate::error::Result;
use crate::host::Host;
use crate::oauth::{revoke, OAuthError, OResult};
use crate::web::response::{no_store_json, HttpResponse};
use crate::web::router::Ctx;

pub async fn post<H: Host>(cx: &Ctx<'_, H>) -> Result<HttpResponse> {
    Ok(respond(cx, revoke(cx).await))
}

async fn revoke<H: Host>(cx: &Ctx<'_, H>) -> OResult<HttpResponse> {
    let t = cx.tenant();
    let form = cx.req.form()?;
    let client = client_auth::authenticate(cx, &form).await?;
    let token =
        form.get("token").filter(|v| !v.is_empty()).ok_or_else(|| OAuthError::invalid_request("token is required"))?;
    if let Some(hint) = form.get("token_type_hint") {
        if hint != "access_token" && hint != "refresh_token" {
            return Err(OAuthError::new(
                "unsupported_token_type",
                "token_type_hint must be access_token or refresh_token",
            ));
        }
    }
    revoke::revoke(cx.host, t, &client, token).await?;
    Ok(no_store_json(Vec::new()))
}
