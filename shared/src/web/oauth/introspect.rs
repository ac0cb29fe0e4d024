//! `POST /oauth/introspect` (RFC 7662) for confidential clients.

use super::client_auth;
use super::token::respond;
use crate::error::Result;
use crate::host::Host;
use crate::oauth::{introspect, OAuthError, OResult};
use crate::web::response::{no_store_json, HttpResponse};
use crate::web::router::Ctx;

pub async fn post<H: Host>(cx: &Ctx<'_, H>) -> Result<HttpResponse> {
    Ok(respond(cx, introspect(cx).await))
}

async fn introspect<H: Host>(cx: &Ctx<'_, H>) -> OResult<HttpResponse> {
    let form = cx.req.form()?;
    let client = client_auth::authenticate(cx, &form).await?;
    if client.is_public() {
        return Err(OAuthError::unauthorized_client("public clients cannot introspect tokens"));
    }
    let token =
        form.get("token").filter(|v| !v.is_empty()).ok_or_else(|| OAuthError::invalid_request("token is required"))?;
    let body = introspect::introspect(cx.host, cx.tenant(), &client, token).await?;
    Ok(no_store_json(body.to_string().into_bytes()))
}
