//! Token introspection (RFC 7662) for confidential clients: a token is
//! `active` only if it is live, unrevoked, and the caller is the client it
//! was issued to or an audience of it. Anything else is `{"active": false}`.

use super::token::{no_store_json, respond};
use super::{client_auth, tokens, OAuthError, OResult};
use crate::crypto::token_hash;
use crate::error::Result;
use crate::host::{Db, Host, HostExt};
use crate::response::HttpResponse;
use crate::router::Ctx;

pub async fn post<H: Host>(cx: &Ctx<'_, H>) -> Result<HttpResponse> {
    Ok(respond(cx, introspect(cx).await))
}

async fn introspect<H: Host>(cx: &Ctx<'_, H>) -> OResult<HttpResponse> {
    let t = cx.tenant();
    let form = cx.req.form()?;
    let client = client_auth::authenticate(cx.host, t.id(), cx.req, &form).await?;
    if client.is_public() {
        return Err(OAuthError::unauthorized_client("public clients cannot introspect tokens"));
    }
    let token =
        form.get("token").filter(|v| !v.is_empty()).ok_or_else(|| OAuthError::invalid_request("token is required"))?;
    let inactive = || no_store_json(serde_json::json!({ "active": false }).to_string().into_bytes());
    let now = cx.host.now();
    let rows = cx
        .host
        .db()
        .query(
            "SELECT t.client_id, t.user_id, t.scope, t.audience, t.created_at, t.expires_at, t.used_at, t.revoked_at,
                    u.blocked
             FROM oauth_tokens t LEFT JOIN users u ON u.id = t.user_id AND u.tenant_id = t.tenant_id
             WHERE t.id = ?1 AND t.tenant_id = ?2 AND t.kind = 'refresh'",
            &[token_hash(token).into(), t.id().as_str().into()],
        )
        .await?;
    let body = if let Some(r) = rows.first() {
        // A blocked user's tokens are inactive (they are revoked at the block;
        // this also covers one minted by a grant that raced it).
        let live = r.opt_int("revoked_at")?.is_none()
            && r.opt_int("used_at")?.is_none()
            && r.int("expires_at")? > now
            && r.opt_int("blocked")? == Some(0);
        if !live || r.text("client_id")? != client.client_id {
            return Ok(inactive());
        }
        serde_json::json!({
            "active": true,
            "token_type": "refresh_token",
            "client_id": r.text("client_id")?,
            "sub": r.opt_text("user_id")?,
            "scope": r.text("scope")?,
            "iat": r.int("created_at")? / 1000,
            "exp": r.int("expires_at")? / 1000,
            "iss": t.issuer,
        })
    } else {
        let Ok((c, exp)) = tokens::verify_access(cx.host, t, token).await? else { return Ok(inactive()) };
        if c.client_id != client.client_id && !client.audiences.contains(&c.aud) {
            return Ok(inactive());
        }
        serde_json::json!({
            "active": true,
            "token_type": "access_token",
            "client_id": c.client_id,
            "sub": c.sub,
            "aud": c.aud,
            "scope": c.scope,
            "jti": c.jti,
            "exp": exp,
            "iss": c.iss,
        })
    };
    Ok(no_store_json(body.to_string().into_bytes()))
}
