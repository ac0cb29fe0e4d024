//! Token introspection (RFC 7662) for confidential clients: a token is
//! `active` only if it is live, unrevoked, and the caller is the client it
//! was issued to or an audience of it. Anything else is `{"active": false}`.

use super::clients::Client;
use super::tokens;
use crate::crypto::token_hash;
use crate::error::Result;
use crate::host::{Db, Host, HostExt};
use crate::tenant::TenantCtx;

/// What `client` may learn about `token` (RFC 7662 §2.2): its claims if it
/// is live and the client may see it, otherwise `{"active": false}`.
pub async fn introspect<H: Host>(host: &H, t: &TenantCtx, client: &Client, token: &str) -> Result<serde_json::Value> {
    let inactive = || Ok(serde_json::json!({ "active": false }));
    let now = host.now();
    let rows = host
        .db()
        .query(
            "SELECT t.client_id, t.user_id, t.scope, t.audience, t.created_at, t.expires_at, t.used_at, t.revoked_at,
                    u.blocked
             FROM oauth_tokens t LEFT JOIN users u ON u.id = t.user_id AND u.tenant_id = t.tenant_id
             WHERE t.id = ?1 AND t.tenant_id = ?2 AND t.kind = 'refresh'",
            &[token_hash(token).into(), t.id().as_str().into()],
        )
        .await?;
    if let Some(r) = rows.first() {
        // A blocked user's tokens are inactive (they are revoked at the block;
        // this also covers one minted by a grant that raced it).
        let live = r.opt_int("revoked_at")?.is_none()
            && r.opt_int("used_at")?.is_none()
            && r.int("expires_at")? > now
            && r.opt_int("blocked")? == Some(0);
        if !live || r.text("client_id")? != client.client_id {
            return inactive();
        }
        return Ok(serde_json::json!({
            "active": true,
            "token_type": "refresh_token",
            "client_id": r.text("client_id")?,
            "sub": r.opt_text("user_id")?,
            "scope": r.text("scope")?,
            "iat": r.int("created_at")? / 1000,
            "exp": r.int("expires_at")? / 1000,
            "iss": t.issuer,
        }));
    }
    let Ok((c, exp)) = tokens::verify_access(host, t, token).await? else { return inactive() };
    if c.client_id != client.client_id && !client.audiences.contains(&c.aud) {
        return inactive();
    }
    Ok(serde_json::json!({
        "active": true,
        "token_type": "access_token",
        "client_id": c.client_id,
        "sub": c.sub,
        "aud": c.aud,
        "scope": c.scope,
        "jti": c.jti,
        "exp": exp,
        "iss": c.iss,
    }))
}
