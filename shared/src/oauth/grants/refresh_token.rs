//! `refresh_token` (RFC 6749 §6) with rotation on every use (RFC 9700
//! §4.14.2): the old token is marked used by one conditional UPDATE, and
//! presenting a used token again (after the client's grace period) is
//! treated as theft: the whole family is revoked.

use super::{Grant, GrantCx, TokenRequest};
use crate::crypto::token_hash;
use crate::host::{Db, Host, HostExt};
use crate::oauth::clients::Client;
use crate::oauth::tokens::{self, Issue, Minted, Parent};
use crate::oauth::{split_scopes, OAuthError, OResult};

pub struct RefreshToken;

impl Grant for RefreshToken {
    const GRANT_TYPE: &'static str = "refresh_token";

    async fn exchange<H: Host>(cx: &GrantCx<'_, H>, client: &Client, req: &TokenRequest) -> OResult<Minted> {
        let t = cx.tenant;
        let presented = TokenRequest::require(&req.refresh_token, "refresh_token")?;
        let id = token_hash(presented);
        let now = cx.host.now();
        let rows = cx
            .host
            .db()
            .query(
                "SELECT client_id, user_id, family_id, scope, audience, auth_time, amr, acr, action_claims, expires_at, used_at, revoked_at,
                        COALESCE(grant_time, created_at) AS grant_time
                 FROM oauth_tokens WHERE id = ?1 AND tenant_id = ?2 AND kind = 'refresh'",
                &[id.clone().into(), t.id().as_str().into()],
            )
            .await?;
        let invalid = || OAuthError::invalid_grant("the refresh token is invalid, expired or revoked");
        let row = rows.first().ok_or_else(invalid)?;
        let grant_time = row.int("grant_time")?;
        // The absolute lifetime is checked against the client's current
        // setting too, so shortening it takes effect on live families.
        if row.text("client_id")? != client.client_id
            || row.opt_int("revoked_at")?.is_some()
            || row.int("expires_at")? <= now
            || grant_time + client.refresh_token_absolute_ttl * 1000 <= now
        {
            return Err(invalid());
        }
        let family = row.text("family_id")?;
        let grace_ms = client.refresh_grace_seconds * 1000;
        let within_grace = |used_at: i64| grace_ms > 0 && now - used_at <= grace_ms;
        match row.opt_int("used_at")? {
            Some(used_at) if within_grace(used_at) => {}
            Some(_) => return Err(reuse(cx, &family, now).await?),
            None => {
                let n = cx
                    .host
                    .db()
                    .execute(
                        "UPDATE oauth_tokens SET used_at = ?1 WHERE id = ?2 AND tenant_id = ?3 AND used_at IS NULL",
                        &[now.into(), id.clone().into(), t.id().as_str().into()],
                    )
                    .await?;
                if n == 0 && grace_ms == 0 {
                    // Another request rotated it in between.
                    return Err(reuse(cx, &family, now).await?);
                }
            }
        }
        let granted = split_scopes(&row.text("scope")?);
        let scope = match req.scope.as_deref() {
            None | Some("") => granted.clone(),
            Some(s) => {
                let asked = split_scopes(s);
                if !asked.iter().all(|a| granted.contains(a)) {
                    return Err(OAuthError::invalid_scope("a refresh may only narrow the granted scopes"));
                }
                asked
            }
        };
        let user_id = row.opt_text("user_id")?.ok_or_else(invalid)?;
        let user = crate::users::get(cx.host, t.id(), &user_id)
            .await?
            .filter(|u| !u.blocked)
            .ok_or_else(|| OAuthError::invalid_grant("the user is no longer active"))?;
        let audience = row.opt_text("audience")?.filter(|a| *a != tokens::userinfo_audience(t));
        let access_ttl = tokens::access_ttl(cx.host, t, client, audience.as_deref()).await?;
        let has = |s: &str| scope.iter().any(|x| x == s);
        let issue = Issue {
            client,
            user: Some(&user),
            audience,
            access_ttl,
            auth_time: row.opt_int("auth_time")?,
            amr: row.opt_text("amr")?,
            acr: row.opt_text("acr")?,
            action_claims: tokens::parse_action_claims(row.opt_text("action_claims")?),
            nonce: None,
            family_id: family,
            refresh: true,
            id_token: has("openid"),
            scope,
            // RFC 6749 §6: the new refresh token keeps the original grant's
            // scope; only this access token is narrowed.
            grant_scope: granted,
            grant_time,
            parent: Parent::RefreshToken(id),
        };
        Ok(tokens::issue(cx.host, t, issue).await?)
    }
}

async fn reuse<H: Host>(cx: &GrantCx<'_, H>, family: &str, now: i64) -> OResult<OAuthError> {
    cx.host.db().batch(tokens::revoke_family(cx.tenant, family, now)).await?;
    crate::logs::record(
        cx.host,
        crate::logs::Audit {
            tenant: Some(cx.tenant.id()),
            kind: crate::logs::EventType::RefreshTokenReuse,
            description: "refresh token reuse detected; token family revoked".into(),
            user: None,
            context: Default::default(),
            client_ip: cx.client_ip,
            details: serde_json::json!({ "family": family }),
        },
    )
    .await?;
    Ok(OAuthError::invalid_grant("the refresh token was already used; its token family is revoked"))
}
