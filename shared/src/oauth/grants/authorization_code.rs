//! `authorization_code` (RFC 6749 §4.1.3, RFC 7636 §4.6).
//!
//! A code is used by one conditional UPDATE. A second use is a replay
//! (RFC 6749 §4.1.2: "the authorization server MUST deny the request and
//! SHOULD revoke all tokens previously issued based on that authorization
//! code"), so the code's whole token family is revoked.

use super::{Grant, GrantCx, TokenRequest};
use crate::crypto::token_hash;
use crate::host::{Db, Host, HostExt};
use crate::oauth::clients::Client;
use crate::oauth::tokens::{self, Issue, Minted, Parent};
use crate::oauth::{pkce, split_scopes, OAuthError, OResult};

pub struct AuthorizationCode;

impl Grant for AuthorizationCode {
    const GRANT_TYPE: &'static str = "authorization_code";

    async fn exchange<H: Host>(cx: &GrantCx<'_, H>, client: &Client, req: &TokenRequest) -> OResult<Minted> {
        let t = cx.tenant;
        let code = TokenRequest::require(&req.code, "code")?;
        let code_id = token_hash(code);
        let now = cx.host.now();
        let rows = cx
            .host
            .db()
            .query(
                "UPDATE oauth_codes SET used_at = ?1
                 WHERE code_hash = ?2 AND tenant_id = ?3 AND used_at IS NULL AND revoked_at IS NULL AND expires_at > ?1
                 RETURNING client_id, user_id, redirect_uri, scope, audience, nonce, code_challenge, auth_time, amr, acr, action_claims",
                &[now.into(), code_id.clone().into(), t.id().as_str().into()],
            )
            .await?;
        let Some(row) = rows.first() else {
            let used = cx
                .host
                .db()
                .query(
                    "SELECT used_at FROM oauth_codes WHERE code_hash = ?1 AND tenant_id = ?2 AND used_at IS NOT NULL",
                    &[code_id.clone().into(), t.id().as_str().into()],
                )
                .await?;
            if !used.is_empty() {
                cx.host.db().batch(tokens::revoke_family(t, &code_id, now)).await?;
                return Err(OAuthError::invalid_grant(
                    "the authorization code was already used; tokens issued from it are revoked",
                ));
            }
            return Err(OAuthError::invalid_grant("the authorization code is invalid or expired"));
        };
        if row.text("client_id")? != client.client_id {
            return Err(OAuthError::invalid_grant("the authorization code was issued to another client"));
        }
        if req.redirect_uri.as_deref() != Some(row.text("redirect_uri")?.as_str()) {
            return Err(OAuthError::invalid_grant("redirect_uri does not match the authorization request"));
        }
        match (row.opt_text("code_challenge")?, req.code_verifier.as_deref()) {
            (Some(challenge), Some(verifier)) if pkce::verify(verifier, &challenge) => {}
            (Some(_), Some(_)) => return Err(OAuthError::invalid_grant("PKCE verification failed")),
            (Some(_), None) => return Err(OAuthError::invalid_grant("code_verifier is required")),
            // RFC 9700 §2.1.1: a verifier without a challenge is an attack sign.
            (None, Some(_)) => return Err(OAuthError::invalid_grant("no code_challenge was sent for this code")),
            (None, None) => {}
        }
        let user = crate::users::get(cx.host, t.id(), &row.text("user_id")?)
            .await?
            .filter(|u| !u.blocked)
            .ok_or_else(|| OAuthError::invalid_grant("the user is no longer active"))?;
        let scope = split_scopes(&row.text("scope")?);
        let audience = row.opt_text("audience")?;
        let access_ttl = tokens::access_ttl(cx.host, t, client, audience.as_deref()).await?;
        let has = |s: &str| scope.iter().any(|x| x == s);
        let issue = Issue {
            client,
            user: Some(&user),
            audience,
            access_ttl,
            auth_time: Some(row.int("auth_time")?),
            amr: row.opt_text("amr")?,
            acr: row.opt_text("acr")?,
            action_claims: tokens::parse_action_claims(row.opt_text("action_claims")?),
            nonce: row.opt_text("nonce")?,
            grant_time: now,
            parent: Parent::Code(code_id.clone()),
            family_id: code_id,
            refresh: has("offline_access") && client.allows_grant("refresh_token"),
            id_token: has("openid"),
            grant_scope: scope.clone(),
            scope,
        };
        Ok(tokens::issue(cx.host, t, issue).await?)
    }
}
