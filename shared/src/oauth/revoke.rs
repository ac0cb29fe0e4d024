//! Token revocation (RFC 7009). Revoking a refresh token also revokes the
//! access tokens of the same grant (§2.1); revoking an access token revokes
//! that token. The answer is 200 whether or not the token was known (§2.2),
//! so the endpoint cannot be used to probe tokens.

use super::token::{no_store_json, respond};
use super::{client_auth, tokens, OAuthError, OResult};
use crate::crypto::token_hash;
use crate::error::Result;
use crate::host::{Db, Host, HostExt, Statement};
use crate::response::HttpResponse;
use crate::router::Ctx;

pub async fn post<H: Host>(cx: &Ctx<'_, H>) -> Result<HttpResponse> {
    Ok(respond(cx, revoke(cx).await))
}

async fn revoke<H: Host>(cx: &Ctx<'_, H>) -> OResult<HttpResponse> {
    let t = cx.tenant();
    let form = cx.req.form()?;
    let client = client_auth::authenticate(cx.host, t.id(), cx.req, &form).await?;
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
    let now = cx.host.now();
    let refresh = cx
        .host
        .db()
        .query(
            "SELECT family_id FROM oauth_tokens WHERE id = ?1 AND tenant_id = ?2 AND client_id = ?3 AND kind = 'refresh'",
            &[token_hash(token).into(), t.id().as_str().into(), client.client_id.clone().into()],
        )
        .await?;
    if let Some(r) = refresh.first() {
        cx.host.db().batch(tokens::revoke_family(t, &r.text("family_id")?, now)).await?;
    } else if let Ok((claims, _)) = tokens::verify_access(cx.host, t, token).await? {
        if claims.client_id == client.client_id {
            cx.host
                .db()
                .batch(vec![Statement::new(
                    "UPDATE oauth_tokens SET revoked_at = ?1 WHERE id = ?2 AND tenant_id = ?3 AND revoked_at IS NULL",
                    vec![now.into(), claims.jti.into(), t.id().as_str().into()],
                )])
                .await?;
        }
    }
    Ok(no_store_json(Vec::new()))
}
