//! Token revocation (RFC 7009). Revoking a refresh token also revokes the
//! access tokens of the same grant (§2.1); revoking an access token revokes
//! that token. Only the client a token was issued to can revoke it, and an
//! unknown token is no error (§2.2), so the endpoint cannot probe tokens.

use super::clients::Client;
use super::tokens;
use crate::crypto::token_hash;
use crate::error::Result;
use crate::host::{Db, Host, HostExt};
use crate::tenant::TenantCtx;

/// Revokes `token` if `client` owns it; says nothing either way.
pub async fn revoke<H: Host>(host: &H, t: &TenantCtx, client: &Client, token: &str) -> Result<()> {
    let now = host.now();
    let refresh = host
        .db()
        .query(
            "SELECT family_id FROM oauth_tokens WHERE id = ?1 AND tenant_id = ?2 AND client_id = ?3 AND kind = 'refresh'",
            &[token_hash(token).into(), t.id().as_str().into(), client.client_id.clone().into()],
        )
        .await?;
    if let Some(r) = refresh.first() {
        host.db().batch(tokens::revoke_family(t, &r.text("family_id")?, now)).await?;
    } else if let Ok((claims, exp)) = tokens::verify_access(host, t, token).await? {
        if claims.client_id == client.client_id {
            host.db().batch(tokens::revoke_access(t, &claims.jti, exp, now)).await?;
        }
    }
    Ok(())
}
